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

/// xᵀ·L·x over the strictly lower triangle of an `n × n` matrix that `l`
/// holds column by column, copied first into a local `vec!` row by row
/// (`tri[(j·j − j)/2 + r]`, as gmm's tool does): the loops over `r` read
/// that buffer, which nothing in them writes, through a row.
#[derive_grad(wrt(l, x))]
fn triangle(l: &[f64], x: &[f64], n: usize) -> f64 {
    let mut tri = vec![0.0; n * (n - 1) / 2];
    for j in 0..n {
        for r in 0..j {
            tri[(j * j - j) / 2 + r] = l[r * (2 * n - r - 1) / 2 + j - r - 1];
        }
    }
    let mut s = 0.0;
    for j in 0..n {
        let mut o = 0.0;
        for r in 0..j {
            o += tri[(j * j - j) / 2 + r] * x[r];
        }
        s += (o * x[j]).sin();
    }
    s
}

/// [`triangle`] in forward mode along `x` (forward mode takes one slice).
#[derive_grad(wrt(x), jvp)]
fn triangle_in_x(l: &[f64], x: &[f64], n: usize) -> f64 {
    let mut tri = vec![0.0; n * (n - 1) / 2];
    for j in 0..n {
        for r in 0..j {
            tri[(j * j - j) / 2 + r] = l[r * (2 * n - r - 1) / 2 + j - r - 1];
        }
    }
    let mut s = 0.0;
    for j in 0..n {
        let mut o = 0.0;
        for r in 0..j {
            o += tri[(j * j - j) / 2 + r] * x[r];
        }
        s += (o * x[j]).sin();
    }
    s
}

#[test]
fn a_local_vec_is_read_through_rows() {
    for n in [1usize, 2, 3, 6] {
        let l = data(n * (n - 1) / 2);
        let x: Vec<f64> = data(n + 2).into_iter().skip(2).collect();
        let (v, (gl, gx)) = triangle_grad(&l, &x, n);
        assert_eq!(v.to_bits(), triangle(&l, &x, n).to_bits(), "n {n}");
        // By hand: with L[j][r] = l[column index], oⱼ = Σ_{r<j} L[j][r]·x[r]
        // and s = Σⱼ sin(oⱼ·xⱼ), ∂s/∂L[j][r] = cos(oⱼxⱼ)·xⱼ·x[r] and
        // ∂s/∂x[m] = cos(oₘxₘ)·oₘ + Σ_{j>m} cos(oⱼxⱼ)·xⱼ·L[j][m].
        let at = |j: usize, r: usize| r * (2 * n - r - 1) / 2 + j - r - 1;
        let o: Vec<f64> = (0..n)
            .map(|j| (0..j).fold(0.0, |o, r| o + l[at(j, r)] * x[r]))
            .collect();
        let c: Vec<f64> = (0..n).map(|j| (o[j] * x[j]).cos()).collect();
        for j in 0..n {
            for r in 0..j {
                let want = c[j] * x[j] * x[r];
                let got = gl[at(j, r)];
                assert!(
                    (got - want).abs() <= 1e-14,
                    "∂/∂l, j {j}, r {r}: {got} vs {want}"
                );
            }
        }
        for m in 0..n {
            let want = c[m] * o[m] + (m + 1..n).map(|j| c[j] * x[j] * l[at(j, m)]).sum::<f64>();
            assert!(
                (gx[m] - want).abs() <= 1e-13,
                "∂/∂x[{m}]: {} vs {want}",
                gx[m]
            );
        }
        for (m, g) in gx.iter().enumerate().skip(n) {
            assert_eq!(*g, 0.0, "∂/∂x[{m}] past n");
        }
        // Forward mode reads the same rows.
        let t = data(x.len());
        let (vj, dv) = triangle_in_x_jvp(&l, &x, n, &t);
        assert_eq!(vj.to_bits(), v.to_bits());
        assert_eq!(triangle_in_x(&l, &x, n).to_bits(), v.to_bits());
        let want: f64 = gx.iter().zip(&t).map(|(g, t)| g * t).sum();
        assert!((dv - want).abs() <= 1e-13, "n {n}: jvp {dv} vs ∇f·t {want}");
    }
}

#[test]
fn a_local_vec_too_short_panics_where_the_original_does() {
    // `x` shorter than `n`: the original panics reading it, and so do the
    // generated functions; with `n = 0` the triangle's length underflows.
    let l = data(6);
    for (x_len, n) in [(3usize, 4usize), (4, 4), (0, 0)] {
        let x = data(x_len);
        let original = panics(|| triangle(&l, &x, n));
        assert_eq!(original, x_len < n || n == 0, "x {x_len}, n {n}");
        assert_eq!(
            panics(|| triangle_grad(&l, &x, n)),
            original,
            "grad, x {x_len}, n {n}"
        );
    }
}

/// A local array of named-constant length, with the `Params` trait in
/// scope, as in a file that trains a `#[derive(Params)]` network.
mod named_length {
    use super::{data, derive_grad};
    // Not called here: in scope, its `get(index)` is what an array's
    // `.get(range)` would resolve to.
    #[allow(unused_imports)]
    use backprop::core::Params;

    const H: usize = 5;

    /// A local array whose length is a named constant (`[0.0; H]`, a
    /// run-time length to the macro), written by one loop and read by the
    /// next. Its row must be taken with the slice's `get`: on the array
    /// itself, `get` is `Params::get`, which takes an index. The first
    /// version did that, and the benchmarks' digits network did not
    /// compile.
    #[derive_grad]
    #[allow(clippy::needless_range_loop)]
    fn hidden_energy(w: &[f64]) -> f64 {
        let mut h = [0.0; H];
        for j in 0..H {
            h[j] = (0.5 * w[j]).tanh();
        }
        let mut s = 0.0;
        for j in 0..H {
            s += h[j] * h[j];
        }
        s
    }

    #[test]
    fn a_local_array_of_named_length_is_read_through_its_slice() {
        let w = data(H);
        let (v, g) = hidden_energy_grad(&w);
        assert_eq!(v.to_bits(), hidden_energy(&w).to_bits());
        for j in 0..H {
            let h = (0.5 * w[j]).tanh();
            let want = h * (1.0 - h * h);
            assert!(
                (g[j] - want).abs() <= 1e-15,
                "∂/∂w[{j}]: {} vs {want}",
                g[j]
            );
        }
    }
}
