//! Iterator chains and closures in a loss, through the real macro: `.iter()`,
//! `.map(|x| …)`, `.zip(…)`, `.enumerate()`, `.rev()`, `.skip`/`.take`,
//! `.windows(k)`, `.chunks(k)`, ending in `.sum()`, `.product()`,
//! `.fold(…)`, `.count()`, `.for_each(…)` or a `for` loop, over fixed
//! arrays (short ones unrolled, long ones rolled), slices and ranges.
//! Values must equal the original's bit for bit (the original is what the
//! user wrote, run by Rust's own iterators), and gradients match finite
//! differences of the original (tests/common).

#![allow(clippy::ptr_arg)]

mod common;

use backprop::prelude::*;
use common::check;

#[derive_grad]
fn dot_sq(w: &[f64], x: &[f64]) -> f64 {
    let d: f64 = w.iter().zip(x).map(|(a, b)| a * b).sum();
    d * d
}

#[derive_grad]
fn log_sum_exp(x: &[f64]) -> f64 {
    let m = x.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    x.iter().map(|v| (v - m).exp()).sum::<f64>().ln() + m
}

#[derive_grad]
fn max_by_path(x: &[f64]) -> f64 {
    x.iter().copied().fold(f64::NEG_INFINITY, f64::max) * 2.0
}

#[derive_grad]
fn weighted_by_position(x: &[f64; 40]) -> f64 {
    x.iter()
        .enumerate()
        .map(|(i, v)| (i as f64 + 1.0) * v * v)
        .sum::<f64>()
}

#[derive_grad]
fn short_product(x: [f64; 4]) -> f64 {
    x.iter().map(|v| 1.0 + v * v).product::<f64>()
}

#[derive_grad]
fn rosenbrock_windows(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
        .sum()
}

#[derive_grad]
fn pair_products(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for c in x.chunks(3) {
        let p: f64 = c.iter().product();
        s += p.sin();
    }
    s
}

#[derive_grad]
fn reversed_horner(c: &[f64], t: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &a| acc * t + a)
}

#[derive_grad]
fn middle_part(x: &[f64]) -> f64 {
    let n = x.iter().skip(1).take(3).count() as f64;
    x.iter().skip(1).take(3).map(|v| v.exp()).sum::<f64>() / n
}

#[derive_grad]
fn loops_over_chains(w: &[[f64; 3]], x: &[f64; 3]) -> f64 {
    let mut total = 0.0;
    for (k, row) in w.iter().enumerate() {
        let z: f64 = row.iter().zip(x.iter()).map(|(a, b)| a * b).sum();
        total += (k as f64 + 0.5) * z.tanh();
    }
    let mut extra = 0.0;
    (0..w.len()).for_each(|k| extra += w[k][0] * w[k][2]);
    total + extra
}

fn data(n: usize, phase: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64) * 0.7 + phase).sin() * 1.3)
        .collect()
}

/// `&[f64]` parameters checked through fixed arrays of each length.
macro_rules! check_slice {
    ($name:literal, $n:literal, $f:expr, $g:expr) => {{
        let at: [f64; $n] = data($n, 0.4).try_into().unwrap();
        check(
            $name,
            |x: [f64; $n]| $f(&x),
            |x| {
                let (v, g): (f64, Vec<f64>) = $g(&x);
                (v, <[f64; $n]>::try_from(g).unwrap())
            },
            at,
        );
    }};
}

#[test]
fn zip_map_sum_is_a_dot_product() {
    for n in [0usize, 3, 30] {
        let x = data(n, 1.0);
        let w = data(n, 0.2);
        let (v, g) = dot_sq_grad(&w, &x);
        assert_eq!(v.to_bits(), dot_sq(&w, &x).to_bits(), "n = {n}");
        // By hand: ∂(w·x)²/∂w = 2(w·x)·x.
        let d: f64 = w.iter().zip(&x).map(|(a, b)| a * b).sum();
        for i in 0..n {
            assert!((g[i] - 2.0 * d * x[i]).abs() < 1e-12, "n = {n}, i = {i}");
        }
    }
    // Different lengths: zip stops at the shorter.
    let (v, g) = dot_sq_grad(&data(5, 0.2), &data(3, 1.0));
    assert_eq!(v.to_bits(), dot_sq(&data(5, 0.2), &data(3, 1.0)).to_bits());
    assert_eq!(g.len(), 5);
    assert_eq!(&g[3..], &[0.0, 0.0]);
}

#[test]
fn folds_and_maps_over_slices() {
    check_slice!("log_sum_exp", 7, log_sum_exp, log_sum_exp_grad);
    check_slice!("max_by_path", 6, max_by_path, max_by_path_grad);
    check_slice!(
        "rosenbrock_windows",
        9,
        rosenbrock_windows,
        rosenbrock_windows_grad
    );
    check_slice!(
        "rosenbrock_windows",
        2,
        rosenbrock_windows,
        rosenbrock_windows_grad
    );
    check_slice!("pair_products", 7, pair_products, pair_products_grad);
    check_slice!("pair_products", 9, pair_products, pair_products_grad);
    check_slice!("middle_part", 6, middle_part, middle_part_grad);
    // Empty and too-short inputs: Rust's iterators yield nothing, and so
    // do the loops (an empty float sum is −0.0).
    for n in [0, 1] {
        let x = data(n, 0.3);
        let (v, g) = rosenbrock_windows_grad(&x);
        assert_eq!(v.to_bits(), rosenbrock_windows(&x).to_bits());
        assert_eq!(v.to_bits(), (-0.0f64).to_bits());
        assert_eq!(g, vec![0.0; n]);
    }
    let (v, _) = log_sum_exp_grad(&[]);
    assert_eq!(v.to_bits(), log_sum_exp(&[]).to_bits());
}

#[test]
fn chains_over_fixed_arrays_short_and_long() {
    let x: [f64; 40] = data(40, 0.1).try_into().unwrap();
    check(
        "weighted_by_position",
        |x: [f64; 40]| weighted_by_position(&x),
        |x| weighted_by_position_grad(&x),
        x,
    );
    check(
        "short_product",
        short_product,
        short_product_grad,
        [0.5, -1.0, 2.0, 0.25],
    );
}

#[test]
fn rev_fold_is_horner() {
    let c = data(6, 0.8);
    for t in [-1.5, 0.3, 2.0] {
        let (v, gc) = reversed_horner_grad(&c, t);
        assert_eq!(v.to_bits(), reversed_horner(&c, t).to_bits());
        // By hand: p(t) = Σ c[i]·tⁱ, so ∂p/∂c[i] = tⁱ.
        for (i, g) in gc.iter().enumerate() {
            let by_hand = t.powi(i as i32);
            assert!(
                (g - by_hand).abs() < 1e-12 * by_hand.abs().max(1.0),
                "c[{i}]"
            );
        }
    }
}

#[test]
fn for_loops_over_enumerate_and_zip_of_rows() {
    let x = [0.4, -0.7, 1.2];
    for rows in [1usize, 4, 20] {
        let w0: Vec<[f64; 3]> = (0..rows)
            .map(|k| std::array::from_fn(|j| ((k * 3 + j) as f64 * 0.37).cos()))
            .collect();
        let (v, g) = loops_over_chains_grad(&w0, &x);
        assert_eq!(v.to_bits(), loops_over_chains(&w0, &x).to_bits());
        // Finite differences, element by element.
        let h = 1e-6;
        for k in 0..rows {
            for j in 0..3 {
                let mut up = w0.clone();
                let mut down = w0.clone();
                up[k][j] += h;
                down[k][j] -= h;
                let fd = (loops_over_chains(&up, &x) - loops_over_chains(&down, &x)) / (2.0 * h);
                assert!(
                    (g[k][j] - fd).abs() < 1e-6,
                    "rows {rows}, w[{k}][{j}]: {} vs {fd}",
                    g[k][j]
                );
            }
        }
    }
}

const INPUTS: usize = 3;
const HIDDEN: usize = 2;

/// Rows whose lengths are named constants, iterated; a tuple built and
/// read by field.
#[derive_grad]
fn named_rows(w: &[[f64; INPUTS]; HIDDEN]) -> f64 {
    let mut s = 0.0;
    for &v in w[0].iter() {
        s += v * v;
    }
    let pair = (w[1][0], w[1].iter().sum::<f64>());
    let (a, b) = pair;
    s + pair.0 * b - a
}

#[test]
fn rows_with_named_lengths_and_tuples() {
    let w = [[0.3, -0.2, 0.9], [1.1, 0.4, -0.6]];
    check("named_rows", |w| named_rows(&w), |w| named_rows_grad(&w), w);
}

/// Closures bound with `let`: called directly, passed to `map`, capturing
/// a value that is shadowed afterwards (the closure keeps the one it saw).
#[derive_grad]
fn with_closures(w: &[f64], x: [f64; 2]) -> f64 {
    let scale = 0.5;
    let act = |z: f64| (scale * z).tanh();
    let scale = 100.0;
    let softplus = |z: f64| -> f64 { (1.0 + z.exp()).ln() };
    let hidden: f64 = w.iter().map(|&v| act(v * x[0])).sum();
    let out: f64 = w.iter().copied().map(softplus).sum();
    act(hidden) + out * x[1] + scale * 1e-3
}

#[test]
fn closures_bound_with_let() {
    let x = [0.7, -1.3];
    for n in [0usize, 2, 25] {
        let w = data(n, 0.9);
        let (v, g) = with_closures_grad(&w, x);
        assert_eq!(v.to_bits(), with_closures(&w, x).to_bits(), "n = {n}");
        let h = 1e-6;
        for i in 0..n {
            let mut up = w.clone();
            let mut down = w.clone();
            up[i] += h;
            down[i] -= h;
            let fd = (with_closures(&up, x) - with_closures(&down, x)) / (2.0 * h);
            assert!(
                (g[i] - fd).abs() < 1e-7,
                "n = {n}, w[{i}]: {} vs {fd}",
                g[i]
            );
        }
    }
}

/// Nested chains (a layer as a map over rows of a zip-map-sum), an outer
/// variable named like the chain's index, a `Vec` by value, and a generic
/// fold.
#[derive_grad]
fn nested(w: &[[f64; 3]], x: [f64; 3]) -> f64 {
    let i = 2;
    w.iter()
        .map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum::<f64>().tanh() * x[i])
        .sum()
}

#[derive_grad]
fn owned(x: Vec<f64>) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

#[derive_grad]
fn generic_fold<F: Float>(x: &[F]) -> F {
    x.iter().fold(F::zero(), |a, &b| a + b * b.sin())
}

#[derive_grad(wrt(a, b))]
fn breaks_out(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (k, (p, q)) in a.iter().zip(b.iter()).enumerate() {
        if p * q > 0.8 {
            break;
        }
        s += p * q * (k as f64 + 1.0);
    }
    s
}

#[test]
fn nested_chains_owned_vecs_generic_folds_and_breaks() {
    let x = [0.3, -0.6, 0.9];
    let w: Vec<[f64; 3]> = (0..5)
        .map(|k| std::array::from_fn(|j| ((k * 3 + j) as f64 * 0.41).sin()))
        .collect();
    let (v, g) = nested_grad(&w, x);
    assert_eq!(v.to_bits(), nested(&w, x).to_bits());
    let h = 1e-6;
    for k in 0..w.len() {
        for j in 0..3 {
            let (mut up, mut down) = (w.clone(), w.clone());
            up[k][j] += h;
            down[k][j] -= h;
            let fd = (nested(&up, x) - nested(&down, x)) / (2.0 * h);
            assert!(
                (g[k][j] - fd).abs() < 1e-7,
                "w[{k}][{j}]: {} vs {fd}",
                g[k][j]
            );
        }
    }
    check_slice!(
        "owned",
        6,
        |x: &[f64; 6]| owned(x.to_vec()),
        |x: &[f64; 6]| owned_grad(x.to_vec())
    );
    check_slice!(
        "generic_fold",
        8,
        generic_fold::<f64>,
        generic_fold_grad::<f64>
    );
    let (v32, g32) = generic_fold_grad(&[0.5f32, -1.0, 2.0]);
    assert_eq!(v32.to_bits(), generic_fold(&[0.5f32, -1.0, 2.0]).to_bits());
    assert_eq!(g32.len(), 3);
    let a = data(12, 0.2);
    let b = data(9, 1.1);
    let (v, (ga, gb)) = breaks_out_grad(&a, &b);
    assert_eq!(v.to_bits(), breaks_out(&a, &b).to_bits());
    for i in 0..a.len() {
        let (mut up, mut down) = (a.clone(), a.clone());
        up[i] += h;
        down[i] -= h;
        let fd = (breaks_out(&up, &b) - breaks_out(&down, &b)) / (2.0 * h);
        assert!((ga[i] - fd).abs() < 1e-6, "a[{i}]: {} vs {fd}", ga[i]);
    }
    assert_eq!(gb.len(), b.len());
}

/// `filter` before `map`, `sum`, `fold`, `count` and a `for` loop: only the
/// kept items count, in order.
#[derive_grad]
fn positive_part(x: &[f64]) -> f64 {
    let s: f64 = x.iter().filter(|v| **v > 0.0).map(|v| v * v).sum();
    let n = x.iter().filter(|v| **v > 0.0).count() as f64;
    let m = x
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .fold(0.0, |a, (_, v)| a + v.sin());
    let mut t = 0.0;
    for v in x.iter().filter(|v| **v < 0.0) {
        t += v.exp();
    }
    s / (n + 1.0) + m + t
}

#[test]
fn filters_keep_only_their_items() {
    check_slice!("positive_part", 9, positive_part, positive_part_grad);
    check_slice!("positive_part", 2, positive_part, positive_part_grad);
    let (v, g) = positive_part_grad(&[]);
    assert_eq!(v.to_bits(), positive_part(&[]).to_bits());
    assert!(g.is_empty());
}
