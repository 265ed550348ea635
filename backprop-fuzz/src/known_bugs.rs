//! Compiler bugs the fuzzer has found that are not fixed yet.
//!
//! The fixed-seed test skips exactly these (a finding matches an entry when
//! every one of the entry's patterns occurs in its kind, location and
//! message); everything else fails it. Each entry has a minimal reproducer
//! and the symptom. When a bug is fixed, delete its entry: the test then
//! checks that it stays fixed.

use crate::Problem;

/// A known, not yet fixed, bug.
#[derive(Clone, Copy, Debug)]
pub struct KnownBug {
    /// A short name.
    pub id: &'static str,
    /// Substrings that must all occur in `kind|location|message` of a
    /// finding (or in its input, for patterns starting with `input:`).
    pub patterns: &'static [&'static str],
    /// A minimal input that shows it.
    pub reproducer: &'static str,
    /// What goes wrong.
    pub symptom: &'static str,
}

/// KNOWN_BUGS: findings of the fuzzer that are reported and not fixed yet.
pub const KNOWN_BUGS: &[KnownBug] = &[];

/// The id of the known bug `problem` (found on input `text`) is, if any.
pub fn matching(problem: &Problem, text: &str) -> Option<&'static str> {
    let hay = format!("{}|{}|{}", problem.kind, problem.location, problem.message);
    KNOWN_BUGS
        .iter()
        .find(|b| {
            b.patterns.iter().all(|p| match p.strip_prefix("input:") {
                Some(p) => text.contains(p),
                None => hay.contains(p),
            })
        })
        .map(|b| b.id)
}
