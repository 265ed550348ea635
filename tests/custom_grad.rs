//! `#[custom_grad]`: functions whose gradient the user states, called from
//! `#[derive_grad]` losses (straight-line and in loops that stay loops).
//! Gradients of the losses are checked against finite differences of the
//! original functions; values are bit-equal.

#![allow(clippy::needless_range_loop)] // loops as users write them

mod common;

use backprop::prelude::*;
use common::check;

/// Lambert's W on x > −1/e (principal branch) by Newton's method, a `loop`
/// the macro does not differentiate; its gradient by the implicit function
/// theorem: W' = W / (x (1 + W)), and 1 at 0.
#[custom_grad(lambert_w_grad)]
fn lambert_w(x: f64) -> f64 {
    let mut w = if x > 1.0 { x.ln() } else { 0.5 * x };
    loop {
        let e = w.exp();
        let next = w - (w * e - x) / (e * (w + 1.0));
        if (next - w).abs() <= 1e-15 * next.abs().max(1e-300) {
            return next;
        }
        w = next;
    }
}

fn lambert_w_grad(x: f64) -> f64 {
    let w = lambert_w(x);
    if x == 0.0 {
        1.0
    } else {
        w / (x * (1.0 + w))
    }
}

/// Several parameters, one an integer: the gradient has an entry per float
/// parameter, in order.
#[custom_grad(scaled_power_grad)]
fn scaled_power(a: f64, n: i32, b: [f64; 2]) -> f64 {
    a.powi(n) * (b[0] + b[1])
}

fn scaled_power_grad(a: f64, n: i32, b: [f64; 2]) -> (f64, [f64; 2]) {
    let p = a.powi(n);
    (n as f64 * a.powi(n - 1) * (b[0] + b[1]), [p, p])
}

/// Generic over the float type.
#[custom_grad(cube_grad)]
fn cube<F: Float>(x: F) -> F {
    x * x * x
}

fn cube_grad<F: Float>(x: F) -> F {
    F::from(3.0).unwrap() * x * x
}

#[derive_grad]
fn loss(w: [f64; 3]) -> f64 {
    lambert_w(w[0] * w[1]) + scaled_power(w[2], 3, [w[0], w[1]]) + cube(w[2] - w[0])
}

#[derive_grad]
fn over_slice(x: &[f64], k: i32) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += lambert_w(x[i] * x[i]) * scaled_power(x[i], k, [1.0, x[i]]);
    }
    s
}

#[test]
fn stated_gradients_chain_into_losses() {
    for w in [[0.5, 1.5, -0.7], [2.0, 3.0, 0.25], [-0.2, 0.9, 1.1]] {
        check("loss", loss, loss_grad, w);
    }
}

#[test]
fn stated_gradients_in_loops_that_stay_loops() {
    let x: Vec<f64> = (0..30).map(|i| (i as f64 * 0.37).sin() + 0.1).collect();
    for k in [1, 2] {
        let (v, g) = over_slice_grad(&x, k);
        assert_eq!(v.to_bits(), over_slice(&x, k).to_bits());
        let h = 1e-6;
        for i in 0..x.len() {
            let mut up = x.clone();
            let mut down = x.clone();
            up[i] += h;
            down[i] -= h;
            let fd = (over_slice(&up, k) - over_slice(&down, k)) / (2.0 * h);
            assert!(
                (g[i] - fd).abs() < 1e-6 * fd.abs().max(1.0),
                "k {k}, x[{i}]: {} vs {fd}",
                g[i]
            );
        }
    }
}
