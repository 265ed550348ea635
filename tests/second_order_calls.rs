//! Second derivatives through calls to another `#[derive_grad]` function:
//! `NAME_hvp` reads the helper's value, gradient and H·t from one call of
//! its second-order companion (straight-line code, a loop that stays a
//! loop, a `while` loop, a loop over a slice whose body is emitted twice,
//! a call under a condition), and every result is checked against
//! the original (value, bit for bit), `NAME_grad` (gradient) and central
//! differences of `NAME_grad` (H·v). `tests/printing.rs` checks that the
//! helper runs once.

use backprop::prelude::*;

#[derive_grad]
fn helper(a: [f64; 2]) -> f64 {
    (a[0] * a[1]).sin() + a[0] * a[0]
}

#[derive_grad(hessian)]
fn straight(x: [f64; 2]) -> f64 {
    helper([x[0] * 2.0, x[1]]).exp()
}

#[derive_grad(hessian)]
fn looped(x: [f64; 2], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s = s * 0.5 + helper([x[0] + s, x[1] * i as f64]);
    }
    s
}

#[derive_grad(hessian)]
fn branchy(x: [f64; 2]) -> f64 {
    if x[0] > 0.0 {
        helper([x[0] * x[1], x[1]]).exp()
    } else {
        x[1] * x[1]
    }
}

/// Checks `hvp` at `x` along `v` against `f` and `grad`.
fn check(
    f: impl Fn([f64; 2]) -> f64,
    grad: impl Fn([f64; 2]) -> (f64, [f64; 2]),
    hvp: impl Fn([f64; 2], [f64; 2]) -> (f64, [f64; 2], [f64; 2]),
    x: [f64; 2],
    v: [f64; 2],
) {
    let (value, g, hv) = hvp(x, v);
    assert_eq!(value.to_bits(), f(x).to_bits(), "value at {x:?}");
    let (_, want) = grad(x);
    for j in 0..2 {
        assert!(
            (g[j] - want[j]).abs() <= 1e-12 * want[j].abs().max(1.0),
            "gradient {g:?} vs {want:?} at {x:?}"
        );
    }
    let h = 1e-6;
    let at = |t: f64| grad([x[0] + t * v[0], x[1] + t * v[1]]).1;
    let (plus, minus) = (at(h), at(-h));
    for j in 0..2 {
        let fd = (plus[j] - minus[j]) / (2.0 * h);
        assert!(
            (hv[j] - fd).abs() <= 1e-5 * fd.abs().max(1.0),
            "H·v {hv:?}, differences give {fd} at [{j}], x = {x:?}"
        );
    }
}

#[test]
fn hvp_through_a_call_in_straight_line_code() {
    for x in [[0.3, -0.7], [-1.1, 0.4], [0.05, 2.0]] {
        check(straight, straight_grad, straight_hvp, x, [0.6, -1.3]);
    }
}

#[test]
fn hvp_through_a_call_in_a_loop() {
    for n in [0, 1, 4] {
        for x in [[0.3, -0.7], [-0.4, 0.25]] {
            check(
                |x| looped(x, n),
                |x| looped_grad(x, n),
                |x, v| looped_hvp(x, n, v),
                x,
                [0.6, -1.3],
            );
        }
    }
}

#[test]
fn hvp_through_a_call_under_a_condition() {
    for x in [[0.3, -0.7], [-0.4, 0.25]] {
        check(branchy, branchy_grad, branchy_hvp, x, [0.6, -1.3]);
    }
}

#[test]
fn hessian_through_a_call_is_its_columns() {
    let x = [0.3, -0.7];
    let (value, g, h) = straight_hessian(x);
    assert_eq!(value.to_bits(), straight(x).to_bits());
    for (j, e) in [[1.0, 0.0], [0.0, 1.0]].into_iter().enumerate() {
        let (_, gv, col) = straight_hvp(x, e);
        for i in 0..2 {
            assert!((g[i] - gv[i]).abs() <= 1e-12 * g[i].abs().max(1.0));
            assert!(
                (h[i][j] - col[i]).abs() <= 1e-12 * col[i].abs().max(1.0),
                "H[{i}][{j}] = {} vs {}",
                h[i][j],
                col[i]
            );
        }
    }
}

#[derive_grad(hvp)]
fn while_loop(x: [f64; 2], n: usize) -> f64 {
    let mut s = 0.0;
    let mut k = 0;
    while k < n {
        s = s * 0.5 + helper([x[0] + s, x[1]]);
        k += 1;
    }
    s
}

/// Reads a slice along the loop (the row fast path, which emits the
/// loop's body twice: when every row is in bounds, and as written).
#[derive_grad(hvp)]
#[allow(clippy::needless_range_loop)] // `x[i]` is what takes the rows
fn along(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s = s * 0.5 + helper([x[i], s]);
    }
    s
}

#[test]
fn hvp_through_a_call_in_a_while_loop() {
    for n in [0, 1, 3] {
        check(
            |x| while_loop(x, n),
            |x| while_loop_grad(x, n),
            |x, v| while_loop_hvp(x, n, v),
            [0.3, -0.7],
            [0.6, -1.3],
        );
    }
}

#[test]
fn hvp_through_a_call_in_a_loop_over_a_slice() {
    let x: Vec<f64> = (0..300)
        .map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0)
        .collect();
    let v: Vec<f64> = (0..300)
        .map(|i| ((i * 53) % 97) as f64 / 48.0 - 1.0)
        .collect();
    let n = 40;
    let (value, g, hv) = along_hvp(&x, n, &v);
    assert_eq!(value.to_bits(), along(&x, n).to_bits());
    let (_, want) = along_grad(&x, n);
    let h = 1e-6;
    let shifted = |t: f64| {
        let y: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + t * b).collect();
        along_grad(&y, n).1
    };
    let (plus, minus) = (shifted(h), shifted(-h));
    for j in 0..300 {
        assert!(
            (g[j] - want[j]).abs() <= 1e-12 * want[j].abs().max(1.0),
            "gradient [{j}]"
        );
        let fd = (plus[j] - minus[j]) / (2.0 * h);
        assert!(
            (hv[j] - fd).abs() <= 1e-5 * fd.abs().max(1.0),
            "H·v [{j}]: {} vs {fd}",
            hv[j]
        );
    }
    // Past the slice (the rows are out of bounds, so the loop as written
    // runs): panics as the original does.
    assert!(std::panic::catch_unwind(|| along_hvp(&x, 301, &v)).is_err());
    assert!(std::panic::catch_unwind(|| along(&x, 301)).is_err());
}
