//! Elements written at run-time indices inside a branch of a run-time
//! `if`: the write happens only when the branch is taken (and so does
//! its index's bounds check), and its reverse moves the element's adjoint
//! to the written value only then. Checked through the macro against the
//! original (values bit for bit, panics), hand formulas and central
//! differences, for `NAME_grad`, `NAME_jvp`, `NAME_hvp` and
//! `NAME_hessian`.

// Loops and nested `if`s written out, as the shapes under test.
#![allow(
    clippy::needless_range_loop,
    clippy::manual_memcpy,
    clippy::collapsible_if
)]

mod common;

use backprop::prelude::*;
use common::{assert_near, central_slice};

/// Squares, clipped in place to `lim·x` where they exceed `lim`, then
/// weighted by `x` again.
#[derive_grad(jvp, hessian)]
fn clip_in_place(x: &[f64], lim: f64) -> f64 {
    let mut h = vec![0.0; x.len()];
    for i in 0..x.len() {
        h[i] = x[i] * x[i];
        if h[i] > lim {
            h[i] = lim * x[i];
        }
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += h[i] * x[i];
    }
    s
}

/// Both branches write, at different run-time indices, one of them
/// possibly out of bounds when its branch is not taken.
#[derive_grad(jvp, hessian)]
fn either_side(x: &[f64], k: usize) -> f64 {
    let mut h = vec![0.0; x.len()];
    for i in 0..x.len() {
        h[i] = x[i];
    }
    if x[0] > 0.0 {
        h[k] = x[0] * x[1];
    } else {
        h[k + 1] = x[0].exp();
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += h[i] * h[i];
    }
    s
}

/// A write under two nested conditions, in a loop.
#[derive_grad(jvp, hessian)]
fn nested(x: &[f64], a: f64) -> f64 {
    let mut h = vec![0.0; x.len()];
    for i in 0..x.len() {
        h[i] = x[i];
        if x[i] > 0.0 {
            if x[i] < a {
                h[i] = a * x[i] * x[i];
            }
        }
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (h[i] * a).sin();
    }
    s
}

/// A fixed-size array first written at a run-time index inside a branch
/// (moved into memory there), and at a fixed index by the other branch.
#[derive_grad(jvp, hessian)]
fn fixed_first_written_in_branch(x: [f64; 4], k: usize) -> f64 {
    let mut h = [x[0], x[1], x[2], x[3]];
    if x[0] > 0.0 {
        h[k] = x[0] * x[2];
    } else {
        h[1] = x[3].sin();
    }
    h[0] * h[1] + h[2] * h[3]
}

/// The `then` branch changes an element at a fixed index, the `else`
/// branch writes one at a run-time index.
#[derive_grad(jvp, hessian)]
fn fixed_then_run_time_else(x: [f64; 4], k: usize) -> f64 {
    let mut h = [x[0], x[1], x[2], x[3]];
    if x[0] > 0.0 {
        h[1] = x[1] * x[2];
    } else {
        h[k] = x[0].cos();
    }
    h[0] * h[1] + h[2] * h[3]
}

/// The same in plain Rust, for comparison.
fn fixed_then_run_time_else_plain(x: [f64; 4], k: usize) -> f64 {
    let mut h = x;
    if x[0] > 0.0 {
        h[1] = x[1] * x[2];
    } else {
        h[k] = x[0].cos();
    }
    h[0] * h[1] + h[2] * h[3]
}

/// The same computed with `if` expressions, for comparison.
fn fixed_by_selects(x: [f64; 4], k: usize) -> f64 {
    let mut h = x;
    if x[0] > 0.0 {
        h[k] = x[0] * x[2];
    } else {
        h[1] = x[3].sin();
    }
    h[0] * h[1] + h[2] * h[3]
}

/// Writes after a `continue` and before a `break` (the rest of the body
/// after a jump is the jump's `else` branch).
#[derive_grad(jvp, hessian)]
fn after_jumps(x: &[f64]) -> f64 {
    let mut h = vec![0.0; x.len()];
    for i in 0..x.len() {
        if x[i] < 0.0 {
            continue;
        }
        h[i] = x[i] * x[i];
        if h[i] > 4.0 {
            break;
        }
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += h[i] * x[i];
    }
    s
}

/// A `vec!` with a computed fill declared in a branch of a run-time `if`.
#[derive_grad(jvp, hessian)]
fn fill_in_branch(x: &[f64], b: bool) -> f64 {
    let mut s = 0.0;
    if b {
        let h = vec![x[0] * x[1]; x.len()];
        for i in 0..x.len() {
            s += h[i] * x[i];
        }
    }
    s
}

type Fixed = [f64; 4];

/// Every generated function of a loss of `[f64; 4]` at `x` against the
/// original `f`, the same loss in plain Rust, central differences of it
/// and of the gradient: the value bit for bit, the gradient, `jvp` as the
/// gradient along a tangent, the Hessian's rows against H·t, and H·t
/// against central differences of the gradient.
#[allow(clippy::too_many_arguments)]
fn check_fixed(
    what: &str,
    f: &dyn Fn(Fixed) -> f64,
    plain: &dyn Fn(Fixed) -> f64,
    grad: &dyn Fn(Fixed) -> (f64, Fixed),
    jvp: &dyn Fn(Fixed, Fixed) -> (f64, f64),
    hvp: &dyn Fn(Fixed, Fixed) -> (f64, Fixed, Fixed),
    hessian: &dyn Fn(Fixed) -> (f64, Fixed, [Fixed; 4]),
    x: Fixed,
) {
    let (v, g) = grad(x);
    assert_eq!(v.to_bits(), f(x).to_bits(), "{what}");
    assert_eq!(
        v.to_bits(),
        plain(x).to_bits(),
        "{what}: against plain Rust"
    );
    let fd = central_slice(|y: &[f64]| plain([y[0], y[1], y[2], y[3]]), &x);
    assert_near(&g, &fd, 1e-6, &format!("{what}: gradient"));
    let t = [0.2, -0.5, 0.7, 0.1];
    let (_, dir) = jvp(x, t);
    let want: f64 = g.iter().zip(&t).map(|(a, b)| a * b).sum();
    assert!(
        (dir - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{what}: jvp"
    );
    let (_, _, h) = hessian(x);
    let hv = hvp(x, t).2;
    let gp = grad(std::array::from_fn(|i| x[i] + 1e-6 * t[i])).1;
    let gm = grad(std::array::from_fn(|i| x[i] - 1e-6 * t[i])).1;
    for r in 0..4 {
        let row: f64 = (0..4).map(|c| h[r][c] * t[c]).sum();
        assert!(
            (row - hv[r]).abs() <= 1e-12 * hv[r].abs().max(1.0),
            "{what}: H row {r}"
        );
        let fd = (gp[r] - gm[r]) / 2e-6;
        assert!(
            (hv[r] - fd).abs() <= 1e-5 * fd.abs().max(1.0),
            "{what}: H·t row {r}: {} vs {fd}",
            hv[r]
        );
    }
}

type Grad = dyn Fn(&[f64]) -> (f64, Vec<f64>);
type Jvp = dyn Fn(&[f64], &[f64]) -> (f64, f64);
type Hvp = dyn Fn(&[f64], &[f64]) -> (f64, Vec<f64>, Vec<f64>);
type Hessian = dyn Fn(&[f64]) -> (f64, Vec<f64>, Vec<f64>);

/// Every generated function at `x` against the original `f`.
fn check_all(
    what: &str,
    f: &dyn Fn(&[f64]) -> f64,
    grad: &Grad,
    jvp: &Jvp,
    hvp: &Hvp,
    hessian: &Hessian,
    x: &[f64],
) {
    let n = x.len();
    let value = f(x);
    let (v, g) = grad(x);
    assert_eq!(v.to_bits(), value.to_bits(), "{what}: value");
    assert_near(&g, &central_slice(f, x), 1e-6, &format!("{what}: gradient"));
    let t: Vec<f64> = (0..n).map(|i| 0.3 - 0.2 * i as f64).collect();
    let (v, dir) = jvp(x, &t);
    assert_eq!(v.to_bits(), value.to_bits(), "{what}: value from jvp");
    let want: f64 = g.iter().zip(&t).map(|(a, b)| a * b).sum();
    assert!(
        (dir - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{what}: jvp {dir:e} vs {want:e}"
    );
    let (v, g2, hv) = hvp(x, &t);
    assert_eq!(v.to_bits(), value.to_bits(), "{what}: value from hvp");
    assert_near(&g2, &g, 1e-13, &format!("{what}: gradient from hvp"));
    // H·t against central differences of the gradient along t.
    let eps = 1e-6;
    let shifted = |s: f64| -> Vec<f64> {
        let y: Vec<f64> = x.iter().zip(&t).map(|(a, b)| a + s * b).collect();
        grad(&y).1
    };
    let (gp, gm) = (shifted(eps), shifted(-eps));
    let fd: Vec<f64> = gp
        .iter()
        .zip(&gm)
        .map(|(a, b)| (a - b) / (2.0 * eps))
        .collect();
    assert_near(&hv, &fd, 1e-5, &format!("{what}: H·t"));
    let (v, g3, h) = hessian(x);
    assert_eq!(v.to_bits(), value.to_bits(), "{what}: value from hessian");
    assert_near(&g3, &g, 1e-13, &format!("{what}: gradient from hessian"));
    let ht: Vec<f64> = (0..n)
        .map(|r| (0..n).map(|c| h[r * n + c] * t[c]).sum())
        .collect();
    assert_near(&ht, &hv, 1e-12, &format!("{what}: H from hessian times t"));
}

#[test]
fn a_clip_written_in_place_in_a_loop() {
    for (x, lim) in [
        (vec![0.5, -1.5, 2.0, 0.1], 1.0),
        (vec![3.0, 2.5], 0.5),
        (vec![0.2], 4.0),
    ] {
        let what = format!("clip_in_place at {x:?}, lim {lim}");
        check_all(
            &what,
            &move |x| clip_in_place(x, lim),
            &move |x| clip_in_place_grad(x, lim),
            &move |x, t| clip_in_place_jvp(x, lim, t),
            &move |x, t| clip_in_place_hvp(x, lim, t),
            &move |x| clip_in_place_hessian(x, lim),
            &x,
        );
        // The hand formula: ∂/∂xᵢ of xᵢ³ (not clipped) or lim·xᵢ² (clipped).
        let (_, g) = clip_in_place_grad(&x, lim);
        for i in 0..x.len() {
            let want = if x[i] * x[i] > lim {
                2.0 * lim * x[i]
            } else {
                3.0 * x[i] * x[i]
            };
            assert!(
                (g[i] - want).abs() <= 1e-12 * want.abs().max(1.0),
                "{what}, element {i}"
            );
        }
    }
    let (v, g) = clip_in_place_grad(&[], 1.0);
    assert_eq!((v, g), (0.0, vec![]));
}

#[test]
fn both_branches_write_and_an_index_out_of_bounds_in_the_branch_not_taken_does_not_panic() {
    // k + 1 = 3 is past the end, but only the branch not taken writes it.
    let x = [0.7, -1.2, 0.4];
    check_all(
        "either_side, then",
        &|x| either_side(x, 2),
        &|x| either_side_grad(x, 2),
        &|x, t| either_side_jvp(x, 2, t),
        &|x, t| either_side_hvp(x, 2, t),
        &|x| either_side_hessian(x, 2),
        &x,
    );
    let x = [-0.7, -1.2, 0.4];
    check_all(
        "either_side, else",
        &|x| either_side(x, 0),
        &|x| either_side_grad(x, 0),
        &|x, t| either_side_jvp(x, 0, t),
        &|x, t| either_side_hvp(x, 0, t),
        &|x| either_side_hessian(x, 0),
        &x,
    );
    // The branch taken writes past the end: both panic.
    let x = [-0.7, -1.2, 0.4];
    assert!(std::panic::catch_unwind(|| either_side(&x, 2)).is_err());
    assert!(std::panic::catch_unwind(|| either_side_grad(&x, 2)).is_err());
    assert!(std::panic::catch_unwind(|| either_side_jvp(&x, 2, &[1.0; 3])).is_err());
    assert!(std::panic::catch_unwind(|| either_side_hvp(&x, 2, &[1.0; 3])).is_err());
}

#[test]
fn a_write_under_two_nested_conditions() {
    for a in [0.5, 2.0] {
        let x = [0.3, -0.4, 1.5, 0.9, 2.5];
        check_all(
            &format!("nested, a = {a}"),
            &move |x| nested(x, a),
            &move |x| nested_grad(x, a),
            &move |x, t| nested_jvp(x, a, t),
            &move |x, t| nested_hvp(x, a, t),
            &move |x| nested_hessian(x, a),
            &x,
        );
    }
}

#[test]
fn a_fixed_array_first_written_in_a_branch() {
    for (x, k) in [
        ([0.6, -0.3, 1.1, 0.8], 3usize),
        ([0.6, -0.3, 1.1, 0.8], 0),
        ([-0.6, 0.3, 1.1, 0.8], 2),
    ] {
        check_fixed(
            &format!("x = {x:?}, k = {k}"),
            &|x| fixed_first_written_in_branch(x, k),
            &|x| fixed_by_selects(x, k),
            &|x| fixed_first_written_in_branch_grad(x, k),
            &|x, t| fixed_first_written_in_branch_jvp(x, k, t),
            &|x, t| fixed_first_written_in_branch_hvp(x, k, t),
            &|x| fixed_first_written_in_branch_hessian(x, k),
            x,
        );
    }
    // Out of bounds in the branch taken: both panic; in the branch not
    // taken: neither does.
    assert!(
        std::panic::catch_unwind(|| fixed_first_written_in_branch([0.6, -0.3, 1.1, 0.8], 4))
            .is_err()
    );
    assert!(
        std::panic::catch_unwind(|| fixed_first_written_in_branch_grad([0.6, -0.3, 1.1, 0.8], 4))
            .is_err()
    );
    let x = [-0.6, -0.3, 1.1, 0.8];
    assert_eq!(
        fixed_first_written_in_branch_grad(x, 9).0.to_bits(),
        fixed_first_written_in_branch(x, 9).to_bits()
    );
}

#[test]
fn writes_after_a_continue_and_before_a_break() {
    for x in [
        vec![0.5, -1.0, 1.5, 2.5, 0.7],
        vec![-0.5, -1.0],
        vec![1.0, 0.3, 1.9],
        vec![],
    ] {
        check_all(
            &format!("after_jumps at {x:?}"),
            &after_jumps,
            &after_jumps_grad,
            &after_jumps_jvp,
            &after_jumps_hvp,
            &after_jumps_hessian,
            &x,
        );
    }
}

#[test]
fn a_computed_fill_declared_in_a_branch() {
    for b in [true, false] {
        let x = [0.4, -1.3, 0.8, 2.0];
        check_all(
            &format!("fill_in_branch, b = {b}"),
            &move |x| fill_in_branch(x, b),
            &move |x| fill_in_branch_grad(x, b),
            &move |x, t| fill_in_branch_jvp(x, b, t),
            &move |x, t| fill_in_branch_hvp(x, b, t),
            &move |x| fill_in_branch_hessian(x, b),
            &x,
        );
        // By hand: s = x0·x1·Σxᵢ when b.
        let (_, g) = fill_in_branch_grad(&x, b);
        let sum: f64 = x.iter().sum();
        let p = x[0] * x[1];
        let want: Vec<f64> = (0..4)
            .map(|i| {
                if !b {
                    return 0.0;
                }
                p + match i {
                    0 => x[1] * sum,
                    1 => x[0] * sum,
                    _ => 0.0,
                }
            })
            .collect();
        assert_near(&g, &want, 1e-13, &format!("b = {b}: hand gradient"));
    }
}

#[test]
fn a_fixed_index_in_one_branch_and_a_run_time_index_in_the_other() {
    for (x, k) in [
        ([0.6, -0.3, 1.1, 0.8], 3usize),
        ([-0.6, -0.3, 1.1, 0.8], 3),
        ([-0.6, 0.3, 1.1, 0.8], 1),
    ] {
        check_fixed(
            &format!("x = {x:?}, k = {k}"),
            &|x| fixed_then_run_time_else(x, k),
            &|x| fixed_then_run_time_else_plain(x, k),
            &|x| fixed_then_run_time_else_grad(x, k),
            &|x, t| fixed_then_run_time_else_jvp(x, k, t),
            &|x, t| fixed_then_run_time_else_hvp(x, k, t),
            &|x| fixed_then_run_time_else_hessian(x, k),
            x,
        );
    }
    // The run-time index out of bounds only in the branch not taken.
    let x = [0.6, -0.3, 1.1, 0.8];
    assert_eq!(
        fixed_then_run_time_else_grad(x, 7).0.to_bits(),
        fixed_then_run_time_else(x, 7).to_bits()
    );
}
