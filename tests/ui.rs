//! Compile-fail (ui) tests of `#[derive_grad]`: every unsupported construct
//! gets an error at its own span that says what is supported and how to
//! rewrite it. Each `tests/ui/*.stderr` has been read and reviewed; files
//! whose message is known to be wrong or unclear say so in a `KNOWN ISSUE`
//! comment at the top.
//!
//! Regenerate after a deliberate change of wording with
//! `TRYBUILD=overwrite cargo test --test ui`, then review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
