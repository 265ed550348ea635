//! Array parameters too large to be one graph node per element (more than
//! 4,096 elements) are read in place, so that compiling a loss costs the
//! same whatever its arrays' lengths (`backprop-bench/scripts/length_build.sh`).
//! Every way of reading such an array, through the real macro: in rolled
//! loops, at literal indices, by rows of a nested array, in an iterator
//! chain, passed whole to another `#[derive_grad]` function; with
//! `NAME_grad`, `NAME_grad_acc`, `NAME_jvp` and `NAME_hvp` (`hvp`). Values
//! bit for bit against the original, gradients against hand formulas,
//! `jvp` against ⟨∇f, t⟩, `hvp` against the hand Hessian.

#![allow(clippy::needless_range_loop)]

mod common;

use backprop::prelude::*;
use common::assert_near;

const N: usize = 5000;

fn sample(seed: f64) -> Box<[f64; N]> {
    let v: Vec<f64> = (0..N)
        .map(|i| ((i as f64 + 1.0) * seed).sin() * 0.9)
        .collect();
    v.into_boxed_slice().try_into().unwrap()
}

/// A weighted squared error, the ends read at literal indices on top.
#[derive_grad(jvp, hvp, wrt(w))]
fn weighted_error(w: &[f64; 5000], x: &[f64; 5000], y: &[f64; 5000]) -> f64 {
    let mut s = 0.0;
    for i in 0..5000 {
        let r = w[i] * x[i] - y[i];
        s += r * r * (1.0 + i as f64);
    }
    s / 5000.0 + w[0] * w[4999]
}

#[test]
fn rolled_loops_and_literal_indices() {
    let (w, x, y) = (sample(0.7), sample(1.3), sample(2.1));
    let (v, g) = weighted_error_grad(&w, &x, &y);
    assert_eq!(v.to_bits(), weighted_error(&w, &x, &y).to_bits());
    let mut by_hand: Vec<f64> = (0..N)
        .map(|i| 2.0 * (w[i] * x[i] - y[i]) * x[i] * (1.0 + i as f64) / N as f64)
        .collect();
    by_hand[0] += w[N - 1];
    by_hand[N - 1] += w[0];
    assert_near(&g[..], &by_hand, 1e-12, "weighted error");

    // Added into a caller's buffer.
    let mut acc = Box::new([1.0; N]);
    let v2 = weighted_error_grad_acc(&w, &x, &y, &mut acc);
    assert_eq!(v2.to_bits(), v.to_bits());
    let plus_one: Vec<f64> = by_hand.iter().map(|d| d + 1.0).collect();
    assert_near(&acc[..], &plus_one, 1e-12, "weighted error, accumulated");

    // Forward mode and the Hessian-vector product (`hvp`: `NAME_hvp`
    // alone, H having 25 million entries), against the gradient and the
    // hand Hessian: diagonal 2·x²·(1 + i)/N, plus 1 at (0, N−1) and
    // (N−1, 0).
    let t = sample(3.7);
    let (vj, dj) = weighted_error_jvp(&w, &x, &y, &t);
    assert_eq!(vj.to_bits(), v.to_bits());
    let dot: f64 = by_hand.iter().zip(t.iter()).map(|(a, b)| a * b).sum();
    assert!(
        (dj - dot).abs() <= 1e-12 * dot.abs().max(1.0),
        "{dj} vs {dot}"
    );
    let (vh, gh, hv) = weighted_error_hvp(&w, &x, &y, &t);
    assert_eq!(vh.to_bits(), v.to_bits());
    assert_near(&gh[..], &by_hand, 1e-12, "gradient from hvp");
    let mut hv_hand: Vec<f64> = (0..N)
        .map(|i| 2.0 * x[i] * x[i] * (1.0 + i as f64) / N as f64 * t[i])
        .collect();
    hv_hand[0] += t[N - 1];
    hv_hand[N - 1] += t[0];
    assert_near(&hv[..], &hv_hand, 1e-12, "H·t");
}

/// A log-sum-exp with its max shift, over a chain and a loop, and a
/// penalty from a helper given the whole array.
#[derive_grad]
fn log_sum_exp(z: &[f64; 5000]) -> f64 {
    let m = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let mut s = 0.0;
    for i in 0..5000 {
        s += (z[i] - m).exp();
    }
    m + s.ln() + 1e-3 * dot(z, z)
}

#[test]
fn an_iterator_chain_and_a_loop() {
    let z = sample(0.37);
    let (v, g) = log_sum_exp_grad(&z);
    assert_eq!(v.to_bits(), log_sum_exp(&z).to_bits());
    let penalty: f64 = z.iter().map(|zi| zi * zi).sum::<f64>() * 1e-3;
    let by_hand: Vec<f64> = z
        .iter()
        .map(|zi| (zi - (v - penalty)).exp() + 2e-3 * zi)
        .collect();
    assert_near(&g[..], &by_hand, 1e-12, "softmax plus penalty");
}

/// Rows of a nested array (50 × 100 = 5,000 elements) in nested loops,
/// and a row passed to a helper.
#[derive_grad]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[derive_grad(wrt(w))]
fn tanh_layer(w: &[[f64; 100]; 50], x: &[f64; 100]) -> f64 {
    let mut s = 0.0;
    for j in 0..50 {
        let mut a = 0.0;
        for i in 0..100 {
            a += w[j][i] * x[i];
        }
        s += a.tanh();
    }
    s + dot(&w[7], x)
}

#[test]
fn rows_of_a_nested_array_and_a_helper() {
    let flat = sample(0.11);
    let w: Box<[[f64; 100]; 50]> = {
        let rows: Vec<[f64; 100]> = flat
            .chunks_exact(100)
            .map(|r| r.try_into().unwrap())
            .collect();
        rows.into_boxed_slice().try_into().unwrap()
    };
    let x: [f64; 100] = std::array::from_fn(|i| (i as f64 * 0.3).cos() * 0.2);
    let (v, g) = tanh_layer_grad(&w, &x);
    assert_eq!(v.to_bits(), tanh_layer(&w, &x).to_bits());
    for j in 0..50 {
        let a: f64 = (0..100).map(|i| w[j][i] * x[i]).sum();
        let da = 1.0 - a.tanh() * a.tanh();
        let want: Vec<f64> = (0..100)
            .map(|i| da * x[i] + if j == 7 { x[i] } else { 0.0 })
            .collect();
        assert_near(&g[j], &want, 1e-12, &format!("row {j}"));
    }
}
