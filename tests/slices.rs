//! Slice and `Vec` parameters, through the real macro: `&[f64]`,
//! `&[[f64; 3]]`, `Vec<f64>`, `&Vec<f64>` and generic `&[F]`, read at
//! indices in loops over their run-time length. Values must equal the
//! original's bit for bit and gradients (a `Vec` as long as the slice)
//! match finite differences of the original (tests/common), taken through
//! arrays passed as slices.

#![allow(clippy::needless_range_loop, clippy::ptr_arg)]

mod common;

use backprop::prelude::*;
use common::check;

/// Least squares of a linear model over rows of run-time count.
#[derive_grad]
fn mse(w: &[f64], x: &[[f64; 3]], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for k in 0..x.len() {
        let mut p = 0.0;
        for j in 0..3 {
            p += w[j] * x[k][j];
        }
        let r = p - y[k];
        s += r * r;
    }
    s / x.len() as f64
}

fn rows(n: usize) -> (Vec<[f64; 3]>, Vec<f64>) {
    let x = (0..n)
        .map(|k| std::array::from_fn(|j| ((k * 3 + j) as f64 * 0.7).sin()))
        .collect();
    let y = (0..n).map(|k| (k as f64 * 0.3).cos()).collect();
    (x, y)
}

#[test]
fn least_squares_over_a_slice_of_rows() {
    for n in [1, 7, 40] {
        let (x, y) = rows(n);
        check(
            "mse",
            |w: [f64; 3]| mse(&w, &x, &y),
            |w| {
                let (v, g) = mse_grad(&w, &x, &y);
                (v, <[f64; 3]>::try_from(g).unwrap())
            },
            [0.3, -0.8, 1.1],
        );
    }
}

/// Log-sum-exp of a `Vec` by value: the gradient is the softmax.
#[derive_grad]
fn lse(x: Vec<f64>) -> f64 {
    let mut m = 0.0;
    for i in 0..x.len() {
        m += x[i].exp();
    }
    m.ln()
}

/// The same through `&Vec`.
#[derive_grad]
fn lse_ref(x: &Vec<f64>) -> f64 {
    let mut m = 0.0;
    for i in 0..x.len() {
        m += x[i].exp();
    }
    m.ln()
}

#[test]
fn log_sum_exp_of_a_vec_has_the_softmax_as_gradient() {
    let x: Vec<f64> = (0..25).map(|i| (i as f64 * 0.9).sin() * 2.0).collect();
    let (v, g) = lse_grad(x.clone());
    assert_eq!(v.to_bits(), lse(x.clone()).to_bits());
    let total: f64 = x.iter().map(|v| v.exp()).sum();
    assert_eq!(g.len(), x.len());
    for i in 0..x.len() {
        assert!((g[i] - x[i].exp() / total).abs() < 1e-15, "x[{i}]");
    }
    let (v2, g2) = lse_ref_grad(&x);
    assert_eq!(v2.to_bits(), lse_ref(&x).to_bits());
    assert_eq!((v2, g2), (v, g));
}

/// A gradient of arrays: `Vec<[f64; 3]>`.
#[derive_grad]
fn rows_energy(x: &[[f64; 3]], c: f64) -> f64 {
    let mut s = 0.0;
    for k in 0..x.len() {
        s += (x[k][0] * x[k][1] + c).tanh() * x[k][2];
    }
    s
}

#[test]
fn a_slice_of_arrays_has_a_vec_of_arrays_as_gradient() {
    let (x, _) = rows(4);
    let at: [[f64; 3]; 4] = x.clone().try_into().unwrap();
    check(
        "rows_energy",
        |x: [[f64; 3]; 4]| rows_energy(&x, 0.2),
        |x| {
            let (v, g) = rows_energy_grad(&x, 0.2);
            (v, <[[f64; 3]; 4]>::try_from(g).unwrap())
        },
        at,
    );
}

/// Reads only some elements; `_z` is never read.
#[derive_grad(wrt(w, _z))]
fn partial(w: &[f64], _z: &[f64], label: usize) -> f64 {
    w[label] * 2.0 + w[0]
}

#[test]
fn elements_never_read_and_slices_never_read_get_zeros() {
    let w = [1.0, 2.0, 3.0, 4.0];
    let (v, (gw, gz)) = partial_grad(&w, &[5.0; 3], 2);
    assert_eq!(v, partial(&w, &[5.0; 3], 2));
    assert_eq!(gw, vec![1.0, 0.0, 2.0, 0.0]);
    assert_eq!(gz, vec![0.0; 3]);
}

#[test]
fn an_empty_slice_runs_no_iteration() {
    let (v, g) = mse_grad(&[1.0, 2.0, 3.0], &[], &[]);
    // 0/0, as the original.
    assert!(v.is_nan() && mse(&[1.0, 2.0, 3.0], &[], &[]).is_nan());
    assert_eq!(g.len(), 3);
    let (v, g) = lse_grad(Vec::new());
    assert_eq!(v, lse(Vec::new()));
    assert!(g.is_empty());
}

#[test]
fn an_index_past_the_end_panics_as_in_the_original() {
    let short = [1.0, 2.0];
    assert!(std::panic::catch_unwind(|| partial(&short, &[], 5)).is_err());
    assert!(std::panic::catch_unwind(|| partial_grad(&short, &[], 5)).is_err());
    // Rows too short for `w[j]`, j < 3.
    let (x, y) = rows(2);
    assert!(std::panic::catch_unwind(|| mse(&short, &x, &y)).is_err());
    assert!(std::panic::catch_unwind(|| mse_grad(&short, &x, &y)).is_err());
}

#[test]
fn acc_sizes_an_empty_vec_and_adds_into_a_sized_one() {
    let (x, y) = rows(5);
    let w = [0.5, 0.25, -1.0];
    let (_, g) = mse_grad(&w, &x, &y);
    let mut acc = Vec::new();
    let mut work = Workspace::new();
    mse_grad_acc_with(&w, &x, &y, &mut acc, &mut work);
    assert_eq!(acc, g);
    // Added term by term onto what is there: 2·g up to rounding.
    mse_grad_acc(&w, &x, &y, &mut acc);
    for (a, g) in acc.iter().zip(&g) {
        assert!(
            (a - 2.0 * g).abs() <= 1e-15 * g.abs().max(1.0),
            "{a} vs 2·{g}"
        );
    }
    let wrong = std::panic::catch_unwind(|| {
        let mut acc = vec![0.0; 2];
        mse_grad_acc(&w, &x, &y, &mut acc)
    });
    let message = *wrong.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("gradient buffer of `w` has length 2 but `w` has length 3"),
        "{message}"
    );
}

/// Generic over the float type.
#[derive_grad]
fn norm2<F: Float>(v: &[F]) -> F {
    let mut s = F::zero();
    for i in 0..v.len() {
        s = s + v[i] * v[i];
    }
    s.sqrt()
}

#[test]
fn generic_slices_in_f32_and_f64() {
    let (v, g) = norm2_grad(&[3.0_f32, 4.0]);
    assert_eq!(v, norm2(&[3.0_f32, 4.0]));
    assert_eq!(g, vec![0.6_f32, 0.8]);
    let (v, g) = norm2_grad(&[0.0_f64, 5.0, 0.0]);
    assert_eq!(v, 5.0);
    assert_eq!(g, vec![0.0, 1.0, 0.0]);
}

#[test]
fn optimizers_step_a_vec_of_parameters() {
    // Fit y = 2·x0 − x1 + 0.5·x2 with SGD on the slice loss.
    let x: Vec<[f64; 3]> = (0..30)
        .map(|k| std::array::from_fn(|j| ((k * k * (j + 1) * 7 + 3 * j) % 17) as f64 / 17.0 - 0.5))
        .collect();
    let y: Vec<f64> = x.iter().map(|r| 2.0 * r[0] - r[1] + 0.5 * r[2]).collect();
    let mut w = vec![0.0; 3];
    let mut opt = Sgd::new(0.5);
    for _ in 0..2000 {
        let (_, g) = mse_grad(&w, &x, &y);
        opt.step(&mut w, &g);
    }
    for (got, want) in w.iter().zip([2.0, -1.0, 0.5]) {
        assert!((got - want).abs() < 1e-6, "{w:?}");
    }
}

/// A hidden layer of run-time size in a `vec![0.0; hidden]`.
#[derive_grad(wrt(w1, w2))]
fn vec_mlp(w1: &[f64], w2: &[f64], x: &[f64], hidden: usize) -> f64 {
    let n = x.len();
    let mut h = vec![0.0; hidden];
    for j in 0..hidden {
        let mut s = 0.0;
        for i in 0..n {
            s += w1[j * n + i] * x[i];
        }
        h[j] = s.tanh();
    }
    // Written again at the top level, and read back through `h.len()`.
    h[hidden - 1] *= h[0];
    let mut out = 0.0;
    for j in 0..h.len() {
        out += w2[j] * h[j];
    }
    out * out
}

#[test]
fn a_local_vec_of_run_time_length() {
    let x = [0.3, -0.7, 1.1, 0.5];
    let w1: [f64; 20] = std::array::from_fn(|k| ((k * 7) % 11) as f64 * 0.1 - 0.5);
    let w2 = [0.4, -0.3, 0.9, 0.1, -0.6];
    check(
        "vec_mlp (w1)",
        |w1: [f64; 20]| vec_mlp(&w1, &w2, &x, 5),
        |w1| {
            let (v, (g1, _)) = vec_mlp_grad(&w1, &w2, &x, 5);
            (v, <[f64; 20]>::try_from(g1).unwrap())
        },
        w1,
    );
    check(
        "vec_mlp (w2)",
        |w2: [f64; 5]| vec_mlp(&w1, &w2, &x, 5),
        |w2| {
            let (v, (_, g2)) = vec_mlp_grad(&w1, &w2, &x, 5);
            (v, <[f64; 5]>::try_from(g2).unwrap())
        },
        w2,
    );
}

/// `vec![c; n]` with a computed `c`: every element starts at `c`, so `c`'s
/// adjoint is the sum of the elements' (a recurrence reads them).
#[derive_grad(jvp, hessian)]
fn computed_fill(x: &[f64; 3], n: usize) -> f64 {
    let mut v = vec![x[0] * x[1]; n];
    for i in 1..n {
        v[i] += v[i - 1] * x[2];
    }
    let mut s = 0.0;
    for i in 0..n {
        s += v[i];
    }
    s
}

/// The same fill inside a loop: a fresh vector per row.
#[derive_grad]
fn computed_fill_per_row(w: &[f64], m: usize) -> f64 {
    let mut total = 0.0;
    for r in 0..w.len() {
        let v = vec![w[r].sin(); m];
        let mut p = 1.0;
        for k in 0..m {
            p *= v[k] + k as f64;
        }
        total += p;
    }
    total
}

#[test]
fn a_computed_fill_sends_its_adjoint_to_the_fill_value() {
    let x = [0.7, -1.3, 0.4];
    for n in [0usize, 1, 2, 5] {
        check(
            &format!("computed_fill n = {n}"),
            |x| computed_fill(&x, n),
            |x| computed_fill_grad(&x, n),
            x,
        );
        // By hand: with c = x0·x1 and r = x2, every element is c·(1 + r + … + r^i),
        // so s = c · Σᵢ Σⱼ≤ᵢ rʲ and ∂s/∂x0 = x1 · Σᵢ Σⱼ≤ᵢ rʲ.
        let weight: f64 = (0..n)
            .map(|i| (0..=i).map(|j| 0.4f64.powi(j as i32)).sum::<f64>())
            .sum();
        let (_, g) = computed_fill_grad(&x, n);
        assert!(
            (g[0] - x[1] * weight).abs() < 1e-12,
            "n = {n}: {} vs {}",
            g[0],
            x[1] * weight
        );
        // jvp against the gradient, H against central differences of it.
        let t = [0.3, 0.5, -0.2];
        let (v, dir) = computed_fill_jvp(&x, n, &t);
        assert_eq!(v.to_bits(), computed_fill(&x, n).to_bits());
        let want: f64 = (0..3).map(|i| g[i] * t[i]).sum();
        assert!(
            (dir - want).abs() < 1e-12 * (1.0 + want.abs()),
            "jvp n = {n}"
        );
        let (_, _, h) = computed_fill_hessian(&x, n);
        for j in 0..3 {
            let step = 1e-6;
            let (mut xp, mut xm) = (x, x);
            xp[j] += step;
            xm[j] -= step;
            let (gp, gm) = (computed_fill_grad(&xp, n).1, computed_fill_grad(&xm, n).1);
            for i in 0..3 {
                let fd = (gp[i] - gm[i]) / (2.0 * step);
                assert!(
                    (h[i][j] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                    "H[{i}][{j}] n = {n}"
                );
            }
        }
    }
}

#[test]
fn a_computed_fill_inside_a_loop() {
    let w = vec![0.3, -0.8, 1.1, 0.05];
    for m in [0usize, 1, 3] {
        let (v, g) = computed_fill_per_row_grad(&w, m);
        assert_eq!(v.to_bits(), computed_fill_per_row(&w, m).to_bits());
        for r in 0..w.len() {
            let h = 1e-6;
            let mut wp = w.clone();
            let mut wm = w.clone();
            wp[r] += h;
            wm[r] -= h;
            let fd = (computed_fill_per_row(&wp, m) - computed_fill_per_row(&wm, m)) / (2.0 * h);
            assert!(
                (g[r] - fd).abs() < 1e-7 * (1.0 + fd.abs()),
                "m = {m}, w[{r}]: {} vs {fd}",
                g[r]
            );
        }
    }
}
