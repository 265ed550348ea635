//! The shift of a log-sum-exp gets no adjoint: `a + ln Σ exp(xᵢ − a)` does
//! not depend on `a`, so the reverse sweep skips the `max` that computes it
//! (its comparisons, and for a rolled `max` loop its tape). Checked here
//! through the macro:
//!
//! - the gradients are the analytic ones (softmax, softmax − one-hot), to
//!   rounding, and agree with central differences of the original;
//! - where the shift is a differentiated parameter, its derivative is 0
//!   exactly, as finite differences say;
//! - near misses that are *not* invariant (an extra term in the sum, the
//!   shift with another coefficient, used once more, a second shift)
//!   keep their derivative with respect to the shift, checked against
//!   central differences.

#![allow(clippy::needless_range_loop)] // index loops read like the formulas

mod common;

use backprop::prelude::*;
use common::{assert_grad, check};

/// GradBench's lse: a rolled `max` loop, then a rolled sum.
#[derive_grad]
fn lse(x: &[f64]) -> f64 {
    let mut a = x[0];
    for i in 1..x.len() {
        a = a.max(x[i]);
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] - a).exp();
    }
    s.ln() + a
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-14 * want.abs().max(1e-300),
        "{what}: {got:e} vs {want:e}"
    );
}

#[test]
fn rolled_log_sum_exp_gradient_is_the_softmax() {
    for n in [1usize, 2, 7, 100] {
        let x: Vec<f64> = (0..n).map(|i| ((i * 37 % 11) as f64 - 5.0) * 3.1).collect();
        let (v, g) = lse_grad(&x);
        assert_eq!(v.to_bits(), lse(&x).to_bits(), "value at n = {n}");
        let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = x.iter().map(|xi| (xi - m).exp()).sum();
        for i in 0..n {
            assert_close(g[i], (x[i] - m).exp() / s, &format!("n = {n}, element {i}"));
        }
        // Central differences of the original, element by element.
        for i in 0..n {
            let h = 1e-5;
            let at = |d: f64| {
                let mut y = x.clone();
                y[i] += d;
                lse(&y)
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (g[i] - fd).abs() < 1e-8,
                "n = {n}, element {i}: {} vs {fd}",
                g[i]
            );
        }
    }
}

/// Softmax cross-entropy over a fixed array (short loops, unrolled), the
/// loss written `ln s − (z[y] − m)` with the maximum by `fold`.
#[derive_grad]
fn cross_entropy(z: [f64; 4], y: usize) -> f64 {
    let m = z.iter().fold(f64::NEG_INFINITY, |acc, &v| acc.max(v));
    let s: f64 = z.iter().map(|&v| (v - m).exp()).sum();
    s.ln() - (z[y] - m)
}

#[test]
fn unrolled_cross_entropy_gradient_is_softmax_minus_one_hot() {
    let z = [0.3, -1.2, 2.5, 2.5];
    for y in 0..4 {
        let (v, g) = cross_entropy_grad(z, y);
        assert_eq!(v.to_bits(), cross_entropy(z, y).to_bits());
        let s: f64 = z.iter().map(|&v| (v - 2.5f64).exp()).sum();
        for i in 0..4 {
            let p = (z[i] - 2.5).exp() / s;
            let want = if i == y { p - 1.0 } else { p };
            assert!(
                (g[i] - want).abs() < 1e-15,
                "y = {y}, element {i}: {} vs {want}",
                g[i]
            );
        }
        check(
            "cross_entropy",
            |z| cross_entropy(z, y),
            |z| cross_entropy_grad(z, y),
            z,
        );
    }
}

/// The shift as a parameter of its own: the function does not depend on
/// it, and its derivative is exactly 0.
#[derive_grad(wrt(x, a))]
fn shifted(x: &[f64; 3], a: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += (x[i] - a).exp();
    }
    a + s.ln()
}

#[test]
fn a_shift_parameter_has_derivative_zero() {
    let x = [0.5, -0.25, 1.75];
    for a in [-3.0, 0.0, 1.75, 10.0] {
        let (_, (gx, ga)) = shifted_grad(&x, a);
        assert_eq!(ga, 0.0, "at a = {a}");
        assert_grad("shifted wrt a", &ga, |a| shifted(&x, a), a);
        assert_grad("shifted wrt x", &gx, |x| shifted(&x, a), x);
    }
}

/// `a + ln(1 + Σ exp(xᵢ − a))`: the 1 makes it depend on `a`.
#[derive_grad(wrt(x, a))]
fn extra_term(x: &[f64], a: f64) -> f64 {
    let mut s = 1.0;
    for i in 0..x.len() {
        s += (x[i] - a).exp();
    }
    a + s.ln()
}

/// The shift counted twice.
#[derive_grad(wrt(x, a))]
fn twice(x: &[f64], a: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] - a).exp();
    }
    2.0 * a + s.ln()
}

/// `a − ln s`: the signs differ.
#[derive_grad(wrt(x, a))]
fn opposite(x: &[f64], a: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] - a).exp();
    }
    a - s.ln()
}

/// The shift read once more, outside the log-sum-exp.
#[derive_grad(wrt(x, a))]
fn read_again(x: &[f64], a: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] - a).exp();
    }
    a + s.ln() + 0.5 * a * a
}

/// Two different shifts in one sum.
#[derive_grad(wrt(x, a))]
fn two_shifts(x: &[f64], a: f64) -> f64 {
    let b = 0.5 * a;
    let mut s = (x[0] - b).exp();
    for i in 1..x.len() {
        s += (x[i] - a).exp();
    }
    a + s.ln()
}

/// The sum read once more.
#[derive_grad(wrt(x, a))]
fn sum_read_again(x: &[f64], a: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] - a).exp();
    }
    a + s.ln() + s
}

#[test]
fn near_misses_keep_the_derivative_of_the_shift() {
    type Grad = fn(&[f64], f64) -> (f64, (Vec<f64>, f64));
    type Value = fn(&[f64], f64) -> f64;
    let cases: [(&str, Value, Grad); 6] = [
        ("extra_term", extra_term, extra_term_grad),
        ("twice", twice, twice_grad),
        ("opposite", opposite, opposite_grad),
        ("read_again", read_again, read_again_grad),
        ("two_shifts", two_shifts, two_shifts_grad),
        ("sum_read_again", sum_read_again, sum_read_again_grad),
    ];
    let x = [0.5, -0.25, 1.75];
    for (name, f, f_grad) in cases {
        let a = 0.8;
        let (v, (gx, ga)) = f_grad(&x, a);
        assert_eq!(v.to_bits(), f(&x, a).to_bits(), "{name}: value");
        assert!(
            ga.abs() > 1e-3,
            "{name}: the derivative of the shift was dropped"
        );
        assert_grad(name, &ga, |a| f(&x, a), a);
        let gx: [f64; 3] = gx.try_into().unwrap();
        assert_grad(name, &gx, |x| f(&x, a), x);
    }
}

/// A log-sum-exp per row inside an outer loop, over a row computed from
/// the parameters (GradBench gmm's shape): Σᵣ (mᵣ + ln Σₖ exp(βᵣₖ − mᵣ)).
#[derive_grad]
fn rows(w: &[f64; 4], data: &[f64], n: usize) -> f64 {
    let mut total = 0.0;
    for r in 0..n {
        let mut beta = [0.0; 4];
        for k in 0..4 {
            beta[k] = w[k] * data[r] - 0.5 * w[k] * w[k];
        }
        let mut m = beta[0];
        for k in 1..4 {
            m = m.max(beta[k]);
        }
        let mut s = 0.0;
        for k in 0..4 {
            s += (beta[k] - m).exp();
        }
        total += m + s.ln();
    }
    total
}

#[test]
fn log_sum_exp_per_row_in_a_loop() {
    let data: Vec<f64> = (0..40).map(|i| (i as f64 * 0.37).sin() * 3.0).collect();
    let w = [0.5, -1.0, 2.0, 1.5];
    check(
        "rows",
        |w| rows(&w, &data, 40),
        |w| rows_grad(&w, &data, 40),
        w,
    );
}
