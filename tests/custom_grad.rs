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

/// A custom function with its Hessian-vector product stated too
/// (`hvp = …`): `hessian` callers take second derivatives through it.
/// q(w, s) = s·(w₀² + 3·w₀·w₁).
#[custom_grad(quad_grad, hvp = quad_hvp)]
fn quad(w: [f64; 2], s: f64) -> f64 {
    s * (w[0] * w[0] + 3.0 * w[0] * w[1])
}

fn quad_grad(w: [f64; 2], s: f64) -> ([f64; 2], f64) {
    (
        [s * (2.0 * w[0] + 3.0 * w[1]), s * 3.0 * w[0]],
        w[0] * w[0] + 3.0 * w[0] * w[1],
    )
}

/// H·(tw, ts): H = [[2s, 3s, 2w₀+3w₁], [3s, 0, 3w₀], [2w₀+3w₁, 3w₀, 0]].
fn quad_hvp(w: [f64; 2], s: f64, t: ([f64; 2], f64)) -> ([f64; 2], f64) {
    let ([t0, t1], ts) = t;
    let a = 2.0 * w[0] + 3.0 * w[1];
    (
        [
            2.0 * s * t0 + 3.0 * s * t1 + a * ts,
            3.0 * s * t0 + 3.0 * w[0] * ts,
        ],
        a * t0 + 3.0 * w[0] * t1,
    )
}

#[derive_grad(hessian)]
fn through_quad(p: [f64; 3]) -> f64 {
    quad([p[0], p[1]], p[2]).sin() + p[2] * p[0]
}

#[test]
fn a_stated_hessian_vector_product_gives_second_derivatives() {
    let p = [0.4, -0.7, 1.3];
    let (value, g, h) = through_quad_hessian(p);
    assert_eq!(value.to_bits(), through_quad(p).to_bits());
    assert_eq!(g, through_quad_grad(p).1);
    // Columns of H by central differences of the generated gradient.
    let eps = 1e-6;
    for j in 0..3 {
        let (mut up, mut down) = (p, p);
        up[j] += eps;
        down[j] -= eps;
        let (gu, gd) = (through_quad_grad(up).1, through_quad_grad(down).1);
        for i in 0..3 {
            let fd = (gu[i] - gd[i]) / (2.0 * eps);
            assert!(
                (h[i][j] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "H[{i}][{j}]: {} vs {fd}",
                h[i][j]
            );
        }
    }
    let v = [0.3, 1.0, -0.5];
    let (_, _, hv) = through_quad_hvp(p, v);
    for i in 0..3 {
        let row: f64 = (0..3).map(|j| h[i][j] * v[j]).sum();
        assert!((hv[i] - row).abs() < 1e-12 * (1.0 + row.abs()), "Hv[{i}]");
    }
}
