//! The softmax cross-entropy helper taking a slice, and the per-sample
//! tanh layer and softmax cross-entropy loss written out in one function:
//! the oracle of the tests that compute the same loss through helpers
//! taking slices (`tests/slice_calls.rs`,
//! `tests/sub_slice_calls.rs`). Sample `s` has label `s % k`.

// The loss indexes slices in loops over ranges, as the helpers' callers do.
#![allow(clippy::needless_range_loop)]

use backprop::prelude::*;

/// `log Σ_i exp(h_i) − h[label]` (cross-entropy of softmax), with the
/// maximum shift: the helper the tests call with a slice.
#[derive_grad]
pub fn cross_entropy(h: &[f64], label: usize) -> f64 {
    let mut m = h[0];
    for i in 1..h.len() {
        m = m.max(h[i]);
    }
    let mut s = 0.0;
    for i in 0..h.len() {
        s += (h[i] - m).exp();
    }
    s.ln() + m - h[label]
}

/// `Σ_s log Σ_c exp(h_c) − h[s % k]`, `h_c = tanh(w_c · x_s)`, `w` rows of
/// `d = w.len() / k`.
#[derive_grad]
pub fn per_sample_inline(w: &[f64], xs: &[f64], k: usize) -> f64 {
    let d = w.len() / k;
    let n = xs.len() / d;
    let mut total = 0.0;
    for s in 0..n {
        let mut h = vec![0.0; k];
        for c in 0..k {
            let mut z = 0.0;
            for j in 0..d {
                z += w[c * d + j] * xs[s * d + j];
            }
            h[c] = z.tanh();
        }
        let mut m = h[0];
        for i in 1..k {
            m = m.max(h[i]);
        }
        let mut e = 0.0;
        for i in 0..k {
            e += (h[i] - m).exp();
        }
        total += e.ln() + m - h[s % k];
    }
    total
}
