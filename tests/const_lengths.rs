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
