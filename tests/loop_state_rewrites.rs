//! The rewrites that the errors of `tests/ui/fail_40_loop_state_limits.rs`
//! and `fail_41_explain_and_branch_limits.rs` suggest compile and give the
//! right answers: integer counts kept in floats, a range's start kept in
//! an integer, a labelled `break` replaced by a flag, a `vec!` and an
//! array in memory given new contents element by element. Each through
//! the macro, values bit for bit against the original and gradients
//! against hand formulas and central differences.

// Losses copy with indexed loops, which the macro reads
// (`copy_from_slice` it does not).
#![allow(clippy::needless_range_loop, clippy::manual_memcpy)]

mod common;

use backprop::prelude::*;
use common::{assert_near, central_slice};

/// `Σᵢ wᵢ · (number of labels equal to i)`, the counts in floats.
#[derive_grad]
fn weighted_counts(w: &[f64], labels: &[usize]) -> f64 {
    let mut counts = vec![0.0; w.len()];
    for &l in labels {
        counts[l] += 1.0;
    }
    let mut s = 0.0;
    for i in 0..w.len() {
        s += w[i] * counts[i];
    }
    s
}

#[test]
fn counts_kept_in_floats() {
    let w = [0.5, -1.25, 2.0, 3.5];
    let labels = [2, 0, 2, 3, 2];
    let (v, g) = weighted_counts_grad(&w, &labels);
    assert_eq!(v.to_bits(), weighted_counts(&w, &labels).to_bits());
    // ∂/∂wᵢ is the count of label i.
    assert_eq!(g, vec![1.0, 0.0, 3.0, 1.0]);
}

/// `Σᵢ wᵢ · wᵢ₊₁`, walking a start index along the slice.
#[derive_grad]
fn adjacent_products(w: &[f64]) -> f64 {
    let mut start = 0;
    let mut s = 0.0;
    while w.len() - start > 1 {
        s += w[start] * w[start + 1];
        start += 1;
    }
    s
}

#[test]
fn a_range_start_kept_in_an_integer() {
    let w = [0.3, -1.1, 2.4, 0.7, -0.2];
    let (v, g) = adjacent_products_grad(&w);
    assert_eq!(v.to_bits(), adjacent_products(&w).to_bits());
    let n = w.len();
    let by_hand: Vec<f64> = (0..n)
        .map(|i| {
            let left = if i > 0 { w[i - 1] } else { 0.0 };
            let right = if i + 1 < n { w[i + 1] } else { 0.0 };
            left + right
        })
        .collect();
    assert_near(&g, &by_hand, 1e-15, "adjacent products");
}

/// `Σ wᵢ·wⱼ` over pairs in row-major order, stopping at the first product
/// above 1: a flag leaves both loops.
#[derive_grad]
fn pairs_until_large(w: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    let mut done = false;
    for i in 0..n {
        for j in 0..n {
            if w[i] * w[j] > 1.0 {
                done = true;
                break;
            }
            s += w[i] * w[j];
        }
        if done {
            break;
        }
    }
    s
}

#[test]
fn a_flag_instead_of_a_labelled_break() {
    // w[0]·w[0], w[0]·w[1], then w[0]·w[2] = 1.2 > 1 stops both loops.
    let w = [0.5, -0.75, 2.4, 0.1];
    let (v, g) = pairs_until_large_grad(&w, 4);
    assert_eq!(v.to_bits(), pairs_until_large(&w, 4).to_bits());
    assert_eq!(v, 0.25 - 0.375);
    let by_hand = [2.0 * w[0] + w[1], w[0], 0.0, 0.0];
    assert_near(&g, &by_hand, 1e-15, "pairs until large");
    let fd = central_slice(|w| pairs_until_large(w, 4), &w);
    assert_near(&g, &fd, 1e-8, "pairs until large, central differences");
}

/// A `vec!` given new contents under a run-time `if`, element by element.
#[derive_grad]
fn doubled_or_ones(w: &[f64], n: usize, reset: bool) -> f64 {
    let mut h = vec![0.0; n];
    for i in 0..n {
        h[i] = w[i] * w[i];
    }
    let g = vec![1.0; n];
    if reset {
        for i in 0..n {
            h[i] = g[i];
        }
    }
    let mut s = 0.0;
    for i in 0..n {
        s += h[i] * w[i];
    }
    s
}

#[test]
fn new_contents_written_element_by_element() {
    let w = [0.5, -1.5, 2.0];
    for reset in [false, true] {
        let (v, g) = doubled_or_ones_grad(&w, 3, reset);
        assert_eq!(v.to_bits(), doubled_or_ones(&w, 3, reset).to_bits());
        let by_hand: Vec<f64> = w
            .iter()
            .map(|x| if reset { 1.0 } else { 3.0 * x * x })
            .collect();
        assert_near(&g, &by_hand, 1e-15, "doubled or ones");
    }
}

/// An array held in memory given new values under a run-time `if`, element
/// by element (what `tests/ui/fail_41_explain_and_branch_limits.rs`'s
/// error asks for instead of `h = [1.0, 2.0, 3.0];`).
#[derive_grad]
fn sums_or_constants(w: [f64; 3], n: usize, reset: bool) -> f64 {
    let mut h = [0.0; 3];
    for i in 0..n {
        h[i % 3] += w[i % 3];
    }
    if reset {
        h[0] = 1.0;
        h[1] = 2.0;
        h[2] = 3.0;
    }
    h[0] + h[1] * h[2]
}

#[test]
fn an_array_in_memory_given_new_elements_in_a_branch() {
    let w = [0.5, -1.5, 2.0];
    // n = 7: w[0] is added three times, w[1] and w[2] twice.
    let (v, g) = sums_or_constants_grad(w, 7, false);
    assert_eq!(v.to_bits(), sums_or_constants(w, 7, false).to_bits());
    let (h0, h1, h2) = (3.0 * w[0], 2.0 * w[1], 2.0 * w[2]);
    assert_eq!(v, h0 + h1 * h2);
    assert_near(&g, &[3.0, 2.0 * h2, 2.0 * h1], 1e-15, "sums");
    let (v, g) = sums_or_constants_grad(w, 7, true);
    assert_eq!(v.to_bits(), sums_or_constants(w, 7, true).to_bits());
    assert_eq!(v, 7.0);
    assert_eq!(g, [0.0, 0.0, 0.0]);
}
