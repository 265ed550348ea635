//! examples/argmin_rosenbrock.rs (feature `argmin`): the generated
//! derivatives of the 100-dimensional Rosenbrock function against the hand
//! formulas, and every solver's result against the known minimum.
//!
//! Without the feature this file compiles to nothing.
#![cfg(feature = "argmin")]
#![allow(clippy::needless_range_loop)] // index loops read like the formulas

#[path = "../examples/argmin_rosenbrock.rs"]
mod argmin_rosenbrock;

use argmin_rosenbrock::{rosenbrock, rosenbrock_grad, rosenbrock_hessian, rosenbrock_hvp, N};

/// The tridiagonal Hessian by hand: each term `100(x[i+1] − x[i]²)² +
/// (1 − x[i])²` adds `[[1200x_i² − 400x_{i+1} + 2, −400x_i], [−400x_i,
/// 200]]` on `(i, i + 1)`.
fn hand_hessian(x: &[f64; N]) -> Vec<[f64; N]> {
    let mut h = vec![[0.0; N]; N];
    for i in 0..N - 1 {
        h[i][i] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        h[i + 1][i + 1] += 200.0;
        h[i][i + 1] -= 400.0 * x[i];
        h[i + 1][i] -= 400.0 * x[i];
    }
    h
}

#[test]
fn the_generated_derivatives_are_the_hand_ones() {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let x: [f64; N] = std::array::from_fn(|i| (i as f64 * 0.37).sin());
            let v: [f64; N] = std::array::from_fn(|i| (i as f64 * 0.11).cos());
            let (value, grad, h) = rosenbrock_hessian(&x);
            assert_eq!(value, rosenbrock(&x));
            assert_eq!(grad, rosenbrock_grad(&x).1);
            let want = hand_hessian(&x);
            for i in 0..N {
                for j in 0..N {
                    let tol = 1e-12 * (1.0 + want[i][j].abs());
                    assert!((h[i][j] - want[i][j]).abs() <= tol, "H[{i}][{j}]");
                }
            }
            let hv = rosenbrock_hvp(&x, &v).2;
            for i in 0..N {
                let row: f64 = (0..N).map(|j| want[i][j] * v[j]).sum();
                assert!(
                    (hv[i] - row).abs() <= 1e-10 * (1.0 + row.abs()),
                    "(H·v)[{i}]"
                );
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn the_solvers_reach_the_minimum_except_argmins_newton_cg() {
    let report = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| argmin_rosenbrock::run([0.0; N]))
        .unwrap()
        .join()
        .unwrap();
    let by_name = |name: &str| report.runs.iter().find(|r| r.name == name).unwrap();
    for name in [
        "argmin trust region, Hessian",
        "argmin L-BFGS",
        "backprop newton, H.v",
        "backprop lbfgs",
    ] {
        let r = by_name(name);
        assert_eq!(r.x.len(), N);
        // the reported value is f at the reported point
        let x: [f64; N] = r.x.as_slice().try_into().unwrap();
        assert_eq!(r.value, rosenbrock(&x), "{name}");
        assert!(r.value < 1e-15, "{name}: f = {}", r.value);
        assert!(r.distance() < 1e-6, "{name}: {}", r.distance());
        assert!(r.iterations < argmin_rosenbrock::MAX_ITERS, "{name}");
    }
    // argmin 0.11's Newton-CG truncates its inner CG to one iteration once
    // ‖g‖ < 1 (it compares a squared norm with a norm), so it descends
    // from f(0) = 99 but does not converge within the limit, with either
    // form of the Hessian.
    for name in ["argmin Newton-CG, Hessian", "argmin Newton-CG, H.v"] {
        let r = by_name(name);
        assert!(r.value < 0.1, "{name}: f = {}", r.value);
        assert_eq!(r.iterations, argmin_rosenbrock::MAX_ITERS, "{name}");
    }
    assert!(report.text.contains("argmin L-BFGS"));
}
