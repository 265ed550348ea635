//! `#[derive_grad]` helpers returning a tuple of floats, called from
//! losses as `let (a, b) = f(…)` and `f(…).k`, straight-line and in loops
//! that stay loops; gradients against central differences, values
//! bit-equal.

#![allow(clippy::needless_range_loop)] // loops as users write them

use backprop::prelude::*;

/// Mean and variance.
#[derive_grad]
fn stats(x: &[f64; 4]) -> (f64, f64) {
    let m = (x[0] + x[1] + x[2] + x[3]) / 4.0;
    let v =
        ((x[0] - m).powi(2) + (x[1] - m).powi(2) + (x[2] - m).powi(2) + (x[3] - m).powi(2)) / 4.0;
    (m, v)
}

#[derive_grad]
fn standardized(x: [f64; 4], t: f64) -> f64 {
    let (m, v) = stats(&x);
    let z = (x[0] - m) / (v + 1e-3).sqrt();
    (z - t).powi(2) + stats(&x).1
}

/// Generic, three elements, one of them unused by the caller.
#[derive_grad]
fn polar<F: Float>(p: [F; 2]) -> (F, F, F) {
    let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
    (r, p[1].atan2(p[0]), r * r)
}

#[derive_grad]
fn uses_polar<F: Float>(p: [F; 2]) -> F {
    let (r, theta, _) = polar(p);
    r * theta.sin() + polar(p).2
}

/// In a loop of run-time length.
#[derive_grad]
fn pair(x: f64, w: [f64; 2]) -> (f64, f64) {
    (w[0] * x.tanh(), w[1] + x * x)
}

#[derive_grad]
fn over_samples(w: [f64; 2], xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        let (a, b) = pair(xs[i], w);
        s += a * b;
    }
    s
}

fn fd<const N: usize>(x: [f64; N], f: impl Fn([f64; N]) -> f64) -> [f64; N] {
    std::array::from_fn(|k| {
        let h = 1e-6;
        let (mut a, mut b) = (x, x);
        a[k] += h;
        b[k] -= h;
        (f(a) - f(b)) / (2.0 * h)
    })
}

fn close<const N: usize>(a: [f64; N], b: [f64; N]) {
    for k in 0..N {
        assert!(
            (a[k] - b[k]).abs() < 1e-6 * (1.0 + b[k].abs()),
            "{k}: {} vs {}",
            a[k],
            b[k]
        );
    }
}

#[test]
fn destructured_and_indexed_tuple_helpers() {
    let x = [0.3, -1.2, 2.0, 0.7];
    let (v, g) = standardized_grad(x, 0.5);
    assert_eq!(v.to_bits(), standardized(x, 0.5).to_bits());
    close(g, fd(x, |x| standardized(x, 0.5)));

    let p = [0.8f64, -0.6];
    let (v, g) = uses_polar_grad(p);
    assert_eq!(v.to_bits(), uses_polar(p).to_bits());
    close(g, fd(p, uses_polar));
    let (v, g) = uses_polar_grad([0.8f32, -0.6]);
    assert_eq!(v, uses_polar([0.8f32, -0.6]));
    assert!(g.iter().all(|g| g.is_finite()));
}

#[test]
fn tuple_helper_in_a_rolled_loop() {
    let w = [0.7, -0.4];
    for n in [0, 1, 20] {
        let xs: Vec<f64> = (0..n).map(|k| (k as f64 * 0.37).sin()).collect();
        let (v, g) = over_samples_grad(w, &xs);
        assert_eq!(v.to_bits(), over_samples(w, &xs).to_bits());
        close(g, fd(w, |w| over_samples(w, &xs)));
    }
}

/// The companions themselves: element `k`'s value and gradient.
#[test]
fn companions_per_element() {
    let x = [1.0, 2.0, 4.0, 5.0];
    let (m, (gm,)) = stats_vjp_0(&x);
    let (v, (gv,)) = stats_vjp_1(&x);
    assert_eq!((m, v), stats(&x));
    assert_eq!(gm, [0.25; 4]);
    // ∂v/∂x_i = 2(x_i − m)/4
    close(gv, [-1.0, -0.5, 0.5, 1.0]);
}
