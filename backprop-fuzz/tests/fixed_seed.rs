//! The fixed-seed fuzz run: 20,000 inputs, no panic (or other finding)
//! outside `KNOWN_BUGS`.

use std::time::Instant;

use backprop_fuzz::{run_with, Config};

/// The seed of the fixed run (any change of generator or corpus gives new
/// inputs; the long runs of `cargo run --release -p backprop-fuzz` vary it).
const SEED: u64 = 0x5EED_0001;
const INPUTS: u64 = 20_000;
/// Stress sizes up to a tenth of the long runs' (a 200-term sum instead of
/// 2,000): full sizes are covered by the long runs and by the regression
/// tests through the real macro (`tests/regressions.rs`).
const STRESS_SCALE: f64 = 0.1;

#[test]
fn fixed_seed_run_finds_no_new_panic() {
    let t0 = Instant::now();
    let report = run_with(&Config {
        seed: SEED,
        start: 0,
        iterations: INPUTS,
        jobs: 2,
        progress: 0,
        // An input that hangs the macro ends the run with its index and a
        // command that reproduces it, instead of hanging CI.
        watchdog: Some((backprop_fuzz::SLOW, std::time::Duration::from_secs(120))),
        stress_scale: STRESS_SCALE,
    });
    eprintln!("{report}");
    eprintln!("fixed-seed fuzz run took {:.1?}", t0.elapsed());
    assert_eq!(report.total.inputs, INPUTS);
    // The run must reach deep stages, not only error paths.
    assert!(
        report.total.compiled > INPUTS / 10,
        "only {} of {INPUTS} inputs compiled: the generator has drifted",
        report.total.compiled
    );
    assert!(report.total.rejected > INPUTS / 10);
    assert!(report.corpus > 50, "corpus of {} functions", report.corpus);
    let new = report.new_findings();
    assert!(
        new.is_empty(),
        "{} new finding(s) (see the report above; add them to KNOWN_BUGS only once reported): {:#?}",
        new.len(),
        new.iter().map(|f| (&f.problem, &f.example.text)).collect::<Vec<_>>()
    );
}

/// The harness itself catches a panic, keeps its message and location and
/// reports it: the zero above is not the zero of a blind harness.
#[test]
fn the_harness_catches_and_reports_panics() {
    backprop_fuzz::install_quiet_hook();
    let outcome = backprop_fuzz::run_input_with(|| -> u8 { panic!("deliberate {}", 42) });
    match outcome {
        backprop_fuzz::Outcome::Bad(p) => {
            assert_eq!(p.kind, "panic");
            assert_eq!(p.message, "deliberate 42");
            assert!(p.location.contains("fixed_seed.rs"), "{}", p.location);
            assert!(p.key().contains("deliberate #"));
        }
        other => panic!("not caught: {other:?}"),
    }
}
