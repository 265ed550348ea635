//! A rolled loop reading a slice at `base + i` (or writing a gradient
//! buffer there) runs in two versions: when every row the loop touches is
//! in bounds, with reads from the rows (no bounds check per read); else as
//! written. Checked through the macro: the same values and gradients as
//! the original and a hand formula in bounds, and a panic exactly where
//! the original panics (out of bounds, or the offset overflowing), and
//! none where it does not (an empty loop at an offset past the end).

mod common;

use backprop::prelude::*;
use std::panic::catch_unwind;

/// Σᵢ w[i]·x[start + i]² over `n` elements from `start`.
#[derive_grad(wrt(w, x))]
fn window(w: &[f64], x: &[f64], start: usize, n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += w[i] * x[start + i] * x[start + i];
    }
    s
}

/// The same, the offset computed in the loop (`k * n`, a row of a flat
/// matrix), and the reverse loop adding into the gradient at `k·n + i`.
#[derive_grad(wrt(x))]
fn row_of(x: &[f64], k: usize, n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += (x[k * n + i] * (i as f64 + 1.0)).sin();
    }
    s
}

fn data(n: usize) -> Vec<f64> {
    (0..n).map(|i| (i as f64 * 0.7).sin() + 0.1).collect()
}

#[test]
fn in_bounds_the_rows_give_the_original_value_and_the_hand_gradient() {
    let x = data(10);
    let w = data(6);
    for (start, n) in [(0usize, 0usize), (0, 6), (4, 6), (9, 1), (10, 0)] {
        let (v, (gw, gx)) = window_grad(&w, &x, start, n);
        assert_eq!(
            v.to_bits(),
            window(&w, &x, start, n).to_bits(),
            "start {start}, n {n}"
        );
        for i in 0..w.len() {
            let want = if i < n {
                x[start + i] * x[start + i]
            } else {
                0.0
            };
            assert_eq!(gw[i], want, "∂/∂w[{i}], start {start}, n {n}");
        }
        for j in 0..x.len() {
            let want = if j >= start && j < start + n {
                2.0 * w[j - start] * x[j]
            } else {
                0.0
            };
            assert_eq!(gx[j], want, "∂/∂x[{j}], start {start}, n {n}");
        }
        // Added into the caller's buffers (the rows are theirs).
        let mut acc = (vec![1.0; w.len()], vec![1.0; x.len()]);
        let v_acc = window_grad_acc(&w, &x, start, n, &mut acc);
        assert_eq!(v_acc.to_bits(), v.to_bits());
        assert_eq!(acc.0, gw.iter().map(|g| g + 1.0).collect::<Vec<_>>());
        assert_eq!(acc.1, gx.iter().map(|g| g + 1.0).collect::<Vec<_>>());
    }
}

#[test]
fn a_computed_offset_reads_and_writes_its_row() {
    let x = data(12);
    for (k, n) in [(0usize, 4usize), (2, 4), (1, 6), (3, 0)] {
        let (v, g) = row_of_grad(&x, k, n);
        assert_eq!(v.to_bits(), row_of(&x, k, n).to_bits(), "k {k}, n {n}");
        for j in 0..x.len() {
            let want = if j >= k * n && j < (k + 1) * n {
                let c = (j - k * n) as f64 + 1.0;
                c * (x[j] * c).cos()
            } else {
                0.0
            };
            assert_eq!(g[j], want, "∂/∂x[{j}], k {k}, n {n}");
        }
    }
}

/// Whether `f` panics, with the panic message printed by the hook muted.
fn panics<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> bool {
    catch_unwind(f).is_err()
}

#[test]
fn out_of_bounds_it_panics_where_the_original_does() {
    let x = data(10);
    let w = data(8);
    // (start, n): past the end by one, from past the end, an offset that
    // overflows, and an empty loop at offsets the original never reads.
    for (start, n, original_panics) in [
        (5usize, 6usize, true),
        (11, 1, true),
        (usize::MAX, 1, true),
        (usize::MAX, 0, false),
        (12, 0, false),
    ] {
        let what = format!("start {start}, n {n}");
        assert_eq!(
            panics(|| window(&w, &x, start, n)),
            original_panics,
            "original, {what}"
        );
        assert_eq!(
            panics(|| window_grad(&w, &x, start, n)),
            original_panics,
            "grad, {what}"
        );
        assert_eq!(
            panics(|| {
                let mut acc = (Vec::new(), Vec::new());
                window_grad_acc(&w, &x, start, n, &mut acc)
            }),
            original_panics,
            "grad_acc, {what}"
        );
    }
    for (k, n, original_panics) in [(2usize, 5usize, true), (usize::MAX, 2, true), (5, 0, false)] {
        let what = format!("k {k}, n {n}");
        assert_eq!(
            panics(|| row_of(&x, k, n)),
            original_panics,
            "original, {what}"
        );
        assert_eq!(
            panics(|| row_of_grad(&x, k, n)),
            original_panics,
            "grad, {what}"
        );
    }
}
