//! Ranges of slices passed to other `#[derive_grad]` functions
//! (`dot(&w[j * d..(j + 1) * d], x)`, a chunk `row` of `w.chunks(d)`):
//! the callee's `NAME_pullback` adds into that range of the caller's
//! adjoint buffer. Checked through the macro against the original
//! functions (values bit for bit), the same losses written without the
//! helper, hand formulas and central differences: ranges in a loop that
//! stays a loop and in straight-line code, open ranges, chunks from an
//! iterator chain and from a `for` loop, two ranges of one slice in one
//! call (disjoint and overlapping), a slice of arrays, a range of a local
//! `vec!` made by each iteration, and a bad range panicking as the
//! original does.

// The losses index slices in loops over ranges, the form the tests exercise.
#![allow(clippy::needless_range_loop)]
// `&w[..]` is one of the forms of range tested.
#![allow(clippy::redundant_slicing)]

mod common;
#[path = "common/per_sample.rs"]
mod per_sample;

use backprop::prelude::*;
use common::{assert_near, central_slice, panic_message, tanh_rows_by_hand};
// (A glob: a call to `cross_entropy` needs its hidden companions too.)
use per_sample::*;

#[derive_grad]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i] * b[i];
    }
    s
}

fn sample(n: usize, seed: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + 1.0) * seed).sin() * 0.8)
        .collect()
}

/// `Σ_j tanh(w_j · x)`, the rows `w_j` ranges of a flat `w`.
#[derive_grad]
fn layer(w: &[f64], x: &[f64]) -> f64 {
    let d = x.len();
    let mut t = 0.0;
    for j in 0..w.len() / d {
        t += dot(&w[j * d..(j + 1) * d], x).tanh();
    }
    t
}

/// The same rows as chunks, through an iterator chain.
#[derive_grad]
fn layer_chunks(w: &[f64], x: &[f64]) -> f64 {
    w.chunks(x.len()).map(|row| dot(row, x).tanh()).sum()
}

/// The same rows as chunks, in a `for` loop.
#[derive_grad]
fn layer_for_chunks(w: &[f64], x: &[f64]) -> f64 {
    let mut t = 0.0;
    for row in w.chunks(x.len()) {
        t += dot(row, x).tanh();
    }
    t
}

#[test]
fn ranges_of_a_slice_in_a_rolled_loop() {
    let (rows, d) = (5, 4);
    let (w, x) = (sample(rows * d, 0.37), sample(d, 1.13));
    let (hand_value, hand) = tanh_rows_by_hand(&w, &x);
    let (v, g) = layer_grad(&w, &x);
    assert_eq!(v.to_bits(), layer(&w, &x).to_bits());
    assert!((v - hand_value).abs() < 1e-14);
    assert_near(&g, &hand, 1e-14, "layer: by hand");
    assert_near(
        &g,
        &central_slice(|w| layer(w, &x), &w),
        1e-8,
        "layer: central differences",
    );
    // `NAME_grad_acc` adds into the caller's buffer, whose ranges the
    // pullbacks receive.
    let mut acc = vec![1.0; rows * d];
    assert_eq!(layer_grad_acc(&w, &x, &mut acc).to_bits(), v.to_bits());
    let plus_one: Vec<f64> = g.iter().map(|g| g + 1.0).collect();
    assert_near(&acc, &plus_one, 1e-15, "layer: grad_acc");
}

#[test]
fn chunks_passed_to_a_helper() {
    // A last chunk shorter than the others (w is 3 rows and a half):
    // `dot` reads `x` only as far as the chunk goes.
    let d = 4;
    let (w, x) = (sample(3 * d + 2, 0.41), sample(d, 0.93));
    let (v, g) = layer_chunks_grad(&w, &x);
    assert_eq!(v.to_bits(), layer_chunks(&w, &x).to_bits());
    let (vf, gf) = layer_for_chunks_grad(&w, &x);
    assert_eq!(vf.to_bits(), layer_for_chunks(&w, &x).to_bits());
    assert_near(&g, &gf, 0.0, "chunks: chain against for loop");
    // By hand, the short chunk included.
    let mut hand = vec![0.0; w.len()];
    for (j, row) in w.chunks(d).enumerate() {
        let t = row.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>().tanh();
        for i in 0..row.len() {
            hand[j * d + i] = (1.0 - t * t) * x[i];
        }
    }
    assert_near(&g, &hand, 1e-14, "chunks: by hand");
    assert_near(
        &g,
        &central_slice(|w| layer_chunks(w, &x), &w),
        1e-8,
        "chunks: central differences",
    );
}

/// Open ranges, in straight-line code: `w[1..]·w[..n−1]` (two ranges of
/// one slice, overlapping, in one call), `w[..]·x`, and two disjoint
/// halves of `x`, which is not differentiated.
#[derive_grad]
fn open_ranges(w: &[f64], x: &[f64]) -> f64 {
    let n = w.len();
    let lag = dot(&w[1..], &w[..n - 1]);
    let all = dot(&w[..], x);
    let h = x.len() / 2;
    let halves = dot(&x[..h], &x[h..2 * h]);
    lag * all + halves
}

#[test]
fn open_and_overlapping_ranges() {
    let n = 6;
    let (w, x) = (sample(n, 0.53), sample(n, 1.71));
    let (v, g) = open_ranges_grad(&w, &x);
    assert_eq!(v.to_bits(), open_ranges(&w, &x).to_bits());
    // By hand: lag = Σ_i w[i+1]·w[i], all = w·x;
    // ∂/∂w_k = (w[k−1] + w[k+1])·all + lag·x_k.
    let lag: f64 = (0..n - 1).map(|i| w[i + 1] * w[i]).sum();
    let all: f64 = (0..n).map(|i| w[i] * x[i]).sum();
    let hand: Vec<f64> = (0..n)
        .map(|k| {
            let left = if k > 0 { w[k - 1] } else { 0.0 };
            let right = if k + 1 < n { w[k + 1] } else { 0.0 };
            (left + right) * all + lag * x[k]
        })
        .collect();
    assert_near(&g, &hand, 1e-14, "open ranges: by hand");
    assert_near(
        &g,
        &central_slice(|w| open_ranges(w, &x), &w),
        1e-8,
        "open ranges: central differences",
    );
}

/// `Σ_k a_k · b_k` over rows of two floats.
#[derive_grad]
fn dot_pairs(a: &[[f64; 2]], b: &[[f64; 2]]) -> f64 {
    let mut s = 0.0;
    for k in 0..a.len() {
        s += a[k][0] * b[k][0] + a[k][1] * b[k][1];
    }
    s
}

/// A slice of arrays: its first half against its second, and itself.
#[derive_grad]
fn pairs(w: &[[f64; 2]]) -> f64 {
    let h = w.len() / 2;
    dot_pairs(&w[..h], &w[h..]) + 0.5 * dot_pairs(w, w)
}

#[test]
fn ranges_of_a_slice_of_arrays() {
    let w: Vec<[f64; 2]> = (0..6)
        .map(|i| [(i as f64 * 0.7).sin(), (i as f64 * 1.3).cos()])
        .collect();
    let (v, g) = pairs_grad(&w);
    assert_eq!(v.to_bits(), pairs(&w).to_bits());
    // By hand: ∂/∂w_k = w_{k±3} + w_k.
    for k in 0..6 {
        let other = w[(k + 3) % 6];
        for c in 0..2 {
            let want = other[c] + w[k][c];
            assert!(
                (g[k][c] - want).abs() < 1e-14,
                "pairs[{k}][{c}]: {} vs {want}",
                g[k][c]
            );
        }
    }
}

/// A layer per sample in a `vec!` made by each iteration of a loop that
/// stays a loop; only its first `k` elements go to the helper (the
/// others are a scratch the loss does not read), and each sample's
/// input is a range of `xs`.
#[derive_grad]
fn per_sample(w: &[f64], xs: &[f64], k: usize) -> f64 {
    let d = w.len() / k;
    let n = xs.len() / d;
    let mut total = 0.0;
    for s in 0..n {
        let mut h = vec![0.0; k + 2];
        for c in 0..k {
            h[c] = dot(&w[c * d..(c + 1) * d], &xs[s * d..(s + 1) * d]).tanh();
        }
        h[k] = 7.0;
        total += cross_entropy(&h[..k], s % k);
    }
    total
}

#[test]
fn a_range_of_a_vec_made_by_each_iteration() {
    let (k, d, n) = (3, 4, 5);
    let (w, xs) = (sample(k * d, 0.37), sample(n * d, 1.91));
    let (v, g) = per_sample_grad(&w, &xs, k);
    assert_eq!(v.to_bits(), per_sample(&w, &xs, k).to_bits());
    let (vi, gi) = per_sample_inline_grad(&w, &xs, k);
    assert_eq!(vi.to_bits(), per_sample_inline(&w, &xs, k).to_bits());
    assert!((v - vi).abs() < 1e-13, "{v} vs {vi}");
    assert_near(&g, &gi, 1e-13, "per_sample: against the loss written out");
    assert_near(
        &g,
        &central_slice(|w| per_sample(w, &xs, k), &w),
        1e-8,
        "per_sample: central differences",
    );
}

/// A range whose end comes before its start when `cut` is past the middle.
#[derive_grad]
fn bad_range(w: &[f64], cut: usize) -> f64 {
    dot(&w[cut..w.len() - cut], &w[cut..w.len() - cut])
}

#[test]
fn a_bad_range_panics_as_the_original_does() {
    let w = sample(6, 0.3);
    assert_eq!(
        bad_range_grad(&w, 2).0.to_bits(),
        bad_range(&w, 2).to_bits()
    );
    let original = panic_message(|| bad_range(&sample(6, 0.3), 4));
    let generated = panic_message(|| bad_range_grad(&sample(6, 0.3), 4).0);
    assert!(
        original.contains("slice index starts at 4 but ends at 2"),
        "{original}"
    );
    assert_eq!(generated, original);
}

/// Literal ranges of a fixed-size array: their elements, passed as the
/// callee's slice, as the whole array is (whose tangent, in the
/// second-order companion every function has, did not compile: an array
/// where the refusing callee's signature said `Vec`).
#[derive_grad]
fn halves(w: [f64; 4]) -> f64 {
    dot(&w[..2], &w[2..])
        + w.chunks(2).map(|pair| dot(pair, pair)).sum::<f64>()
        + 0.25 * dot(&w, &w)
}

#[test]
fn literal_ranges_of_a_fixed_size_array() {
    let w = [0.3, -1.2, 0.7, 2.1];
    let (v, g) = halves_grad(w);
    assert_eq!(v.to_bits(), halves(w).to_bits());
    // By hand: w0·w2 + w1·w3 + 1.25·‖w‖², so ∂/∂w_k = w_{k±2} + 2.5·w_k.
    let hand = [
        w[2] + 2.5 * w[0],
        w[3] + 2.5 * w[1],
        w[0] + 2.5 * w[2],
        w[1] + 2.5 * w[3],
    ];
    assert_near(&g, &hand, 1e-15, "halves: by hand");
}

/// A `vec!` rewritten after each call that reads it, in straight-line code
/// (a short loop is unrolled): each call's pullback reads a copy taken at
/// the call, not what the `vec!` holds at the end. (In a loop that stays
/// a loop, the same was supported already; this was refused.)
#[derive_grad]
fn rewritten_after_calls(w: &[f64], x: &[f64]) -> f64 {
    let mut h = vec![0.0; 2];
    let mut t = 0.0;
    for s in 0..3 {
        h[0] = (w[0] * x[s]).sin();
        h[1] = w[1] * x[s] + w[0];
        t += dot(&h, &h[..]) * x[s];
    }
    h[1] = 5.0;
    t + dot(&h[1..], &h[1..])
}

#[test]
fn a_vec_rewritten_after_calls_in_straight_line_code() {
    let w = [0.7, -0.4];
    let x = sample(3, 0.83);
    let (v, g) = rewritten_after_calls_grad(&w, &x);
    assert_eq!(v.to_bits(), rewritten_after_calls(&w, &x).to_bits());
    // Σ_s x_s (sin²(w0 x_s) + (w1 x_s + w0)²) + 25.
    let mut hand = [0.0; 2];
    for &xs in &x {
        let (a, b) = ((w[0] * xs).sin(), w[1] * xs + w[0]);
        hand[0] += xs * (2.0 * a * (w[0] * xs).cos() * xs + 2.0 * b);
        hand[1] += xs * 2.0 * b * xs;
    }
    assert_near(&g, &hand, 1e-14, "rewritten_after_calls: by hand");
    let fd = central_slice(|w| rewritten_after_calls(w, &x), &w);
    assert_near(&g, &fd, 1e-8, "rewritten_after_calls: central differences");
}

/// The same in a loop that stays a loop (a run-time trip count), the
/// `vec!` passed before it is rewritten in each iteration and once more
/// after the call: each iteration's copy goes on the tape.
#[derive_grad]
fn rewritten_after_calls_rolled(w: &[f64], x: &[f64]) -> f64 {
    let mut h = vec![0.0; 2];
    let mut t = 0.0;
    for s in 0..x.len() {
        t += dot(&h[..1], &h[1..]) * 0.5;
        h[0] = (w[0] * x[s]).sin();
        h[1] = w[1] * x[s] + w[0];
        t += dot(&h, &h[..]) * x[s];
        h[1] *= h[0];
    }
    t + dot(&h, &h)
}

#[test]
fn a_vec_rewritten_after_calls_in_a_rolled_loop() {
    let w = [0.7, -0.4];
    let x = sample(5, 0.83);
    let (v, g) = rewritten_after_calls_rolled_grad(&w, &x);
    assert_eq!(v.to_bits(), rewritten_after_calls_rolled(&w, &x).to_bits());
    let fd = central_slice(|w| rewritten_after_calls_rolled(w, &x), &w);
    assert_near(
        &g,
        &fd,
        1e-8,
        "rewritten_after_calls_rolled: central differences",
    );
    // The same loss with the calls written out, through the macro: dot
    // products by hand.
    let (vi, gi) = rewritten_after_calls_inline_grad(&w, &x);
    assert_eq!(vi.to_bits(), rewritten_after_calls_inline(&w, &x).to_bits());
    assert!((v - vi).abs() < 1e-13, "{v} vs {vi}");
    assert_near(&g, &gi, 1e-13, "rewritten_after_calls_rolled: written out");
}

#[derive_grad]
fn rewritten_after_calls_inline(w: &[f64], x: &[f64]) -> f64 {
    let mut h = [0.0; 2];
    let mut t = 0.0;
    for s in 0..x.len() {
        t += h[0] * h[1] * 0.5;
        h[0] = (w[0] * x[s]).sin();
        h[1] = w[1] * x[s] + w[0];
        t += (h[0] * h[0] + h[1] * h[1]) * x[s];
        h[1] *= h[0];
    }
    t + h[0] * h[0] + h[1] * h[1]
}
