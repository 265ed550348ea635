//! Forward mode (`#[derive_grad(jvp)]`) through calls passing slices and
//! ranges of slices: the tangent of such a call is the callee's gradient
//! (from its `NAME_pullback`) dotted with the arguments' tangents. Checked
//! through the macro against the gradient of the same function (`⟨∇f,
//! v⟩`) and central differences along the direction: a slice parameter
//! differentiated (rows passed as ranges), a slice and a float together,
//! a local `vec!` made by each iteration of a loop that stays a loop, and
//! a call under a run-time `if` with a float argument (whose reverse read
//! the wrong element of the pullback's result).

// The losses index slices in loops over ranges, the form the tests exercise.
#![allow(clippy::needless_range_loop)]

mod common;

use backprop::prelude::*;
use common::assert_near;

#[derive_grad]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i] * b[i];
    }
    s
}

/// `Σ_k h_k·tanh(q·h_k)`, a slice and a float.
#[derive_grad]
fn weigh(h: &[f64], q: f64) -> f64 {
    let mut s = 0.0;
    for k in 0..h.len() {
        s += h[k] * (q * h[k]).tanh();
    }
    s
}

fn sample(n: usize, seed: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + 1.0) * seed).sin() * 0.8)
        .collect()
}

/// `f(w + εv)` differentiated at ε = 0 by central differences.
fn along(f: impl Fn(&[f64]) -> f64, w: &[f64], v: &[f64]) -> f64 {
    let h = 1e-6;
    let at = |e: f64| -> Vec<f64> { w.iter().zip(v).map(|(a, b)| a + e * b).collect() };
    (f(&at(h)) - f(&at(-h))) / (2.0 * h)
}

/// Rows of `w` as ranges, the data `x` a slice not differentiated.
#[derive_grad(jvp)]
fn layer(w: &[f64], x: &[f64]) -> f64 {
    let d = x.len();
    let mut t = 0.0;
    for j in 0..w.len() / d {
        t += dot(&w[j * d..(j + 1) * d], x).tanh();
    }
    t
}

#[test]
fn jvp_through_ranges_of_a_differentiated_slice() {
    let (w, x, v) = (sample(12, 0.37), sample(4, 1.13), sample(12, 2.9));
    let (value, dir) = layer_jvp(&w, &x, &v);
    assert_eq!(value.to_bits(), layer(&w, &x).to_bits());
    let (_, g) = layer_grad(&w, &x);
    let want: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
    assert!((dir - want).abs() < 1e-13, "{dir} vs ⟨∇f, v⟩ = {want}");
    let fd = along(|w| layer(w, &x), &w, &v);
    assert!((dir - fd).abs() < 1e-8, "{dir} vs central differences {fd}");
}

/// A local `vec!` made by each iteration of a loop that stays a loop,
/// passed whole and as a range, with a float argument; forward mode
/// along `w` (a slice is alone in `wrt` for `jvp`), and along `q`.
#[derive_grad(wrt(w, q))]
fn per_sample(w: &[f64], q: f64, xs: &[f64]) -> f64 {
    per_sample_along_w(w, q, xs)
}

#[derive_grad(jvp)]
fn per_sample_along_w(w: &[f64], q: f64, xs: &[f64]) -> f64 {
    let d = w.len();
    let mut total = 0.0;
    for s in 0..xs.len() / d {
        let mut h = vec![0.0; d];
        for i in 0..d {
            h[i] = (w[i] * xs[s * d + i]).sin();
        }
        total += weigh(&h, q * 0.5) + dot(&h[1..], &w[..d - 1]);
    }
    total
}

/// Along `q`: through a call passing slices, whose float argument has the
/// tangent.
#[derive_grad(wrt(q), jvp)]
fn per_sample_along_q(w: &[f64], q: f64, xs: &[f64]) -> f64 {
    per_sample_along_w(w, q, xs)
}

#[test]
fn jvp_with_a_slice_and_a_float_through_a_vec_of_each_iteration() {
    let (w, xs) = (sample(4, 0.61), sample(20, 1.7));
    let (q, v, vq) = (0.8, sample(4, 3.1), -0.7);
    let (value, dir_w) = per_sample_along_w_jvp(&w, q, &xs, &v);
    assert_eq!(value.to_bits(), per_sample(&w, q, &xs).to_bits());
    let (value, dir_q) = per_sample_along_q_jvp(&w, q, &xs, vq);
    assert_eq!(value.to_bits(), per_sample_along_q(&w, q, &xs).to_bits());
    let dir = dir_w + dir_q;
    let (_, (gw, gq)) = per_sample_grad(&w, q, &xs);
    let want: f64 = gw.iter().zip(&v).map(|(a, b)| a * b).sum::<f64>() + gq * vq;
    assert!((dir - want).abs() < 1e-12, "{dir} vs ⟨∇f, v⟩ = {want}");
    assert!((dir_q - gq * vq).abs() < 1e-13, "{dir_q} vs {}", gq * vq);
    let h = 1e-6;
    let at = |e: f64| {
        let w: Vec<f64> = w.iter().zip(&v).map(|(a, b)| a + e * b).collect();
        per_sample(&w, q + e * vq, &xs)
    };
    let fd = (at(h) - at(-h)) / (2.0 * h);
    assert!((dir - fd).abs() < 1e-7, "{dir} vs central differences {fd}");
}

/// A call under a run-time `if`, with a float argument: its reverse reads
/// that argument's derivative from the pullback's result only if it ran.
#[derive_grad(wrt(w, q))]
fn guarded(w: &[f64], q: f64) -> f64 {
    guarded_along_q(w, q)
}

#[derive_grad(wrt(q), jvp)]
fn guarded_along_q(w: &[f64], q: f64) -> f64 {
    let mut t = q * q;
    if w[0] > 0.0 {
        t += weigh(w, q);
    }
    t
}

#[test]
fn a_call_under_a_run_time_if_with_a_float_argument() {
    let q = 0.9;
    for w0 in [0.5, -0.5] {
        let mut w = sample(5, 0.7);
        w[0] = w0;
        let (value, (gw, gq)) = guarded_grad(&w, q);
        assert_eq!(value.to_bits(), guarded(&w, q).to_bits());
        // By hand: 2q, plus Σ h_k² (1 − tanh²(q h_k)) when the call runs.
        let ran = w0 > 0.0;
        let hand_q = 2.0 * q
            + if ran {
                w.iter()
                    .map(|h| h * h * (1.0 - (q * h).tanh().powi(2)))
                    .sum::<f64>()
            } else {
                0.0
            };
        assert!((gq - hand_q).abs() < 1e-14, "{gq} vs {hand_q}");
        let hand_w: Vec<f64> = w
            .iter()
            .map(|h| {
                let t = (q * h).tanh();
                if ran {
                    t + h * q * (1.0 - t * t)
                } else {
                    0.0
                }
            })
            .collect();
        assert_near(&gw, &hand_w, 1e-14, "guarded: ∂/∂w by hand");
        let (_, dir) = guarded_along_q_jvp(&w, q, 0.3);
        assert!((dir - gq * 0.3).abs() < 1e-14, "{dir} vs {}", gq * 0.3);
    }
}

/// A `vec!` rewritten after each call that reads it, in straight-line code
/// (a short loop, unrolled): the tangent's pullback, emitted after the
/// function's own statements, must read what each call read (the copy
/// taken there), not the final contents. (Found by the differential test:
/// the derivative was off by a few percent.)
#[derive_grad(jvp)]
fn rewritten(w: &[f64]) -> f64 {
    let mut h = vec![0.0; 3];
    let mut t = 0.0;
    for s in 0..3 {
        for i in 0..3 {
            h[i] = (w[i] * (s as f64 + 1.0)).sin();
        }
        t = t * 0.5 + weigh(&h, w[0]);
    }
    t
}

#[test]
fn jvp_through_calls_reading_a_vec_rewritten_after_them() {
    let (w, v) = (sample(3, 0.9), sample(3, 2.3));
    let (value, dir) = rewritten_jvp(&w, &v);
    assert_eq!(value.to_bits(), rewritten(&w).to_bits());
    let (_, g) = rewritten_grad(&w);
    let want: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
    assert!((dir - want).abs() < 1e-13, "{dir} vs ⟨∇f, v⟩ = {want}");
    let fd = along(rewritten, &w, &v);
    assert!((dir - fd).abs() < 1e-8, "{dir} vs central differences {fd}");
}
