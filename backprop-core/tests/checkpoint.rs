//! Checkpoints (feature `serde`): a training run resumed from a checkpoint
//! continues bit for bit as the uninterrupted run; every malformed or
//! mismatched file is an error that names it.
#![cfg(feature = "serde")]

use backprop_core::checkpoint::{self, CheckpointError};
use backprop_core::{Adam, Momentum, Optimizer, Params, RmsProp, Sgd};

type P = ([[f64; 40]; 3], Vec<f64>, f64);

fn dir(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("checkpoint")
        .join(name)
}

/// A made-up gradient that depends on the parameters (so that a wrong
/// restore shows).
fn grad(p: &P, k: usize) -> P {
    let mut g = p.clone();
    let mut i = 0;
    g.for_each_mut(&mut |x| {
        *x = (*x * 0.7 + (i as f64 * 0.1 + k as f64).sin()) * 0.3;
        i += 1;
    });
    g
}

fn start() -> P {
    let mut p: P = ([[0.0; 40]; 3], vec![0.0; 7], 0.0);
    let mut i = 0;
    p.for_each_mut(&mut |x| {
        *x = (i as f64 * 0.37).cos();
        i += 1;
    });
    p.2 = 0.25;
    p
}

fn resumes_exactly<O: Optimizer<P>>(name: &str, make: impl Fn() -> O) {
    let file = dir(name).join("ckpt.json");
    let mut p = start();
    let mut opt = make();
    for k in 0..5 {
        let g = grad(&p, k);
        opt.step(&mut p, &g);
    }
    checkpoint::save(&file, &p, &opt).expect("saved");
    let mut uninterrupted = (p.clone(), opt);
    let (mut q, mut opt2) = (start(), make());
    checkpoint::load(&file, &mut q, &mut opt2).expect("loaded");
    assert_eq!(q, p);
    assert_eq!(opt2.steps(), 5);
    for k in 5..10 {
        let g = grad(&uninterrupted.0, k);
        uninterrupted.1.step(&mut uninterrupted.0, &g);
        let g = grad(&q, k);
        opt2.step(&mut q, &g);
    }
    assert_eq!(q, uninterrupted.0, "{name}: resumed run differs");
}

#[test]
fn resumed_training_is_bit_identical() {
    resumes_exactly("adam", || Adam::new(0.05));
    resumes_exactly("momentum", || Momentum::new(0.05, 0.9));
    resumes_exactly("rmsprop", || RmsProp::new(0.01));
    resumes_exactly("sgd", || Sgd::new(0.1));
}

#[test]
fn params_only_round_trip_and_refusals() {
    let d = dir("params");
    let file = d.join("p.json");
    let p = start();
    checkpoint::save_params(&file, &p).expect("saved");
    let mut q = p.clone();
    q.fill(9.0);
    checkpoint::load_params(&file, &mut q).expect("loaded");
    assert_eq!(q, p);
    // a whole checkpoint needs optimizer state
    let err = checkpoint::load(&file, &mut q, &mut Adam::new(0.1)).unwrap_err();
    assert!(matches!(err, CheckpointError::Format { .. }), "{err}");
    assert!(err.to_string().contains("load_params"), "{err}");
    // another shape: a Vec of another length, then another nesting
    let mut other: P = ([[0.0; 40]; 3], vec![0.0; 6], 0.0);
    let err = checkpoint::load_params(&file, &mut other).unwrap_err();
    assert!(matches!(err, CheckpointError::Shape { .. }), "{err}");
    assert!(
        err.to_string().contains("128 elements") || err.to_string().contains("elements"),
        "{err}"
    );
    let mut flat = ([0.0f64; 120], vec![0.0; 7], 0.0);
    let err = checkpoint::load_params(&file, &mut flat).unwrap_err();
    assert!(
        err.to_string()
            .contains("`.0[0][0]` in the file and `.0[0]` here"),
        "{err}"
    );
    assert_eq!(flat.0, [0.0; 120], "unchanged on error");
    // a NaN cannot be saved; the message names the element
    let mut bad = start();
    bad.1[3] = f64::NAN;
    let err = checkpoint::save_params(d.join("nan.json"), &bad).unwrap_err();
    assert!(err.to_string().contains("`.1[3]`"), "{err}");
    // not JSON; missing file
    std::fs::write(d.join("junk.json"), "not json").unwrap();
    let err = checkpoint::load_params(d.join("junk.json"), &mut q).unwrap_err();
    assert!(
        matches!(err, CheckpointError::Format { .. }) && err.to_string().contains("junk.json"),
        "{err}"
    );
    let err = checkpoint::load_params(d.join("missing.json"), &mut q).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }), "{err}");
}

/// f32 values come back with the same bits.
#[test]
fn f32_values_round_trip_exactly() {
    let file = dir("f32").join("w.json");
    let w: [f32; 4] = [0.1, -3.4028235e38, 1.0e-45, 7.25];
    checkpoint::save_params(&file, &w).unwrap();
    let mut back = [0.0f32; 4];
    checkpoint::load_params(&file, &mut back).unwrap();
    assert_eq!(back.map(f32::to_bits), w.map(f32::to_bits));
}
