//! Array lengths the macro cannot read, through the real macro: `const N`
//! items and `const N: usize` generic parameters, as array lengths and loop
//! bounds. Such arrays are read at indices (the length checked at run time
//! by the same indexing as the original's); the gradient is an array of the
//! same length. Checked against finite differences (tests/common).

#![allow(clippy::needless_range_loop)]

mod common;

use backprop::prelude::*;
use common::check;

const N: usize = 12;

#[derive_grad]
fn squared_distance(w: &[f64; N], x: &[f64; N]) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        s += (w[i] - x[i]).powi(2) * (1.0 + i as f64);
    }
    s
}

#[test]
fn a_const_item_as_array_length_and_loop_bound() {
    let x: [f64; N] = std::array::from_fn(|i| (i as f64 * 0.4).sin());
    let w: [f64; N] = std::array::from_fn(|i| (i as f64 * 0.9).cos());
    check(
        "squared_distance",
        |w| squared_distance(&w, &x),
        |w| squared_distance_grad(&w, &x),
        w,
    );
}

#[derive_grad]
fn dot<const M: usize>(w: [f64; M], x: [f64; M]) -> f64 {
    let mut s = 0.0;
    for i in 0..M {
        s += w[i] * x[i];
    }
    s * s
}

/// Generic over the float type and the length, with rows of a fixed size.
#[derive_grad]
fn rows_norm<F: Float, const R: usize>(v: &[[F; 2]; R]) -> F {
    let mut s = F::zero();
    for r in 0..v.len() {
        s = s + v[r][0] * v[r][0] + v[r][1].sin();
    }
    s.sqrt()
}

#[test]
fn const_generic_lengths() {
    let (x3, w3) = ([1.0, 2.0, 3.0], [0.5, -1.0, 2.0]);
    check("dot::<3>", |w| dot(w, x3), |w| dot_grad(w, x3), w3);
    let x20: [f64; 20] = std::array::from_fn(|i| i as f64 * 0.1);
    check("dot::<20>", |w| dot(w, x20), |w| dot_grad(w, x20), x20);
    check(
        "rows_norm::<f64, 4>",
        |v: [[f64; 2]; 4]| rows_norm(&v),
        |v| rows_norm_grad(&v),
        [[0.3, 0.1], [0.5, -0.2], [1.0, 0.7], [-0.4, 0.2]],
    );
    let (v, g) = rows_norm_grad(&[[3.0_f32, 0.0]]);
    assert_eq!(v, rows_norm(&[[3.0_f32, 0.0]]));
    assert_eq!(g, [[1.0_f32, 1.0 / 6.0]]);
}

#[test]
fn acc_adds_into_an_array_of_const_length() {
    let x = [1.0, 2.0, 3.0];
    let mut g = [10.0, 20.0, 30.0];
    let v = dot_grad_acc([1.0, 1.0, 1.0], x, &mut g);
    assert_eq!(v, 36.0);
    // ∂(w·x)²/∂w = 2(w·x)·x = 12·x.
    assert_eq!(g, [22.0, 44.0, 66.0]);
}

const INPUTS: usize = 5;
const HIDDEN: usize = 4;
const CLASSES: usize = 3;

/// The MLP every tutorial writes, with its sizes as `const` items in every
/// dimension: one hidden tanh layer, softmax cross-entropy, rows indexed
/// and their lengths read with `.len()`.
#[derive_grad]
fn mlp_named_sizes(
    w1: &[[f64; INPUTS]; HIDDEN],
    w2: &[[f64; HIDDEN]; CLASSES],
    x: &[f64; INPUTS],
    label: usize,
) -> f64 {
    let mut h = [0.0; HIDDEN];
    for j in 0..HIDDEN {
        let mut z = 0.0;
        for i in 0..w1[j].len() {
            z += w1[j][i] * x[i];
        }
        h[j] = z.tanh();
    }
    let mut logits = [0.0; CLASSES];
    for c in 0..CLASSES {
        for j in 0..HIDDEN {
            logits[c] += w2[c][j] * h[j];
        }
    }
    let mut m = f64::NEG_INFINITY;
    for c in 0..CLASSES {
        m = m.max(logits[c]);
    }
    let mut s = 0.0;
    for c in 0..CLASSES {
        s += (logits[c] - m).exp();
    }
    m + s.ln() - logits[label]
}

/// A literal outer length with named rows, and a slice of named rows.
#[derive_grad]
fn named_rows(a: [[f64; INPUTS]; 2], b: &[[f64; INPUTS]]) -> f64 {
    let mut s = 0.0;
    for r in 0..b.len() {
        for i in 0..INPUTS {
            s += a[r % 2][i] * b[r][i] + (a[1][i] * b[r][i]).sin();
        }
    }
    s
}

/// A length computed from constants, in the parameter's type.
#[derive_grad]
fn pairs(w: &[f64; 2 * INPUTS]) -> f64 {
    let mut s = 0.0;
    for i in 0..INPUTS {
        s += w[2 * i] * w[2 * i + 1];
    }
    s
}

/// Generic over the float type and both dimensions.
#[derive_grad]
fn frobenius<F: Float, const R: usize, const C: usize>(m: &[[F; C]; R]) -> F {
    let mut s = F::zero();
    for r in 0..R {
        for c in 0..m[r].len() {
            s = s + m[r][c] * m[r][c];
        }
    }
    s.sqrt()
}

#[test]
fn const_items_in_every_dimension_of_a_parameter() {
    let w1: [[f64; INPUTS]; HIDDEN] =
        std::array::from_fn(|j| std::array::from_fn(|i| 0.4 * ((3 * j + i) as f64).sin()));
    let w2: [[f64; HIDDEN]; CLASSES] =
        std::array::from_fn(|c| std::array::from_fn(|j| 0.5 * ((2 * c + j) as f64).cos()));
    let x: [f64; INPUTS] = std::array::from_fn(|i| 0.3 * i as f64 - 0.5);
    for label in 0..CLASSES {
        check(
            "mlp_named_sizes w1",
            |w1| mlp_named_sizes(&w1, &w2, &x, label),
            |w1| mlp_named_sizes_grad(&w1, &w2, &x, label),
            w1,
        );
    }
    // The gradient has the parameter's own type.
    let (_, g): (f64, [[f64; INPUTS]; HIDDEN]) = mlp_named_sizes_grad(&w1, &w2, &x, 0);
    assert!(g.iter().flatten().any(|&d| d != 0.0));

    let b: [[f64; INPUTS]; 3] =
        std::array::from_fn(|r| std::array::from_fn(|i| ((r + 2 * i) as f64 * 0.7).cos()));
    let a: [[f64; INPUTS]; 2] =
        std::array::from_fn(|r| std::array::from_fn(|i| 0.2 * (r + i) as f64));
    check(
        "named_rows",
        |a| named_rows(a, &b),
        |a| named_rows_grad(a, &b),
        a,
    );
    let w: [f64; 2 * INPUTS] = std::array::from_fn(|i| 0.1 * i as f64 - 0.3);
    check("pairs", |w| pairs(&w), |w| pairs_grad(&w), w);
    check(
        "frobenius::<f64, 2, 3>",
        |m: [[f64; 3]; 2]| frobenius(&m),
        |m| frobenius_grad(&m),
        [[0.3, -1.0, 2.0], [0.5, 0.25, -0.75]],
    );
}

#[test]
#[should_panic(expected = "index out of bounds")]
fn an_index_past_a_named_length_panics_as_the_original_does() {
    #[derive_grad]
    fn past_the_row(m: &[[f64; INPUTS]; 2], k: usize) -> f64 {
        m[0][k] * 2.0
    }
    let m = [[1.0; INPUTS]; 2];
    assert_eq!(past_the_row(&m, 1), past_the_row_grad(&m, 1).0);
    let _ = past_the_row_grad(&m, INPUTS);
}
