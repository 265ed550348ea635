//! Second derivatives through calls to other `#[derive_grad]` functions
//! (issue 11): `NAME_jvp`, `NAME_hvp` and `NAME_hessian` of losses that
//! call helpers, in straight-line code, in loops that stay loops, under a
//! run-time `if`, with integer arguments, tuple-returning helpers, nested
//! calls and a run-time `powi` exponent. Every H is checked against dual
//! numbers run through the generated gradient (generic in `F`), which goes
//! through the helpers' own first-order companions: an oracle independent
//! of the second-order companions under test. Values are bit-equal to the
//! original function's.

#![allow(clippy::needless_range_loop)] // index loops read like the formulas

use backprop::prelude::*;
use backprop_difftest::Dual64F;

/// H by dual numbers through a generated gradient: column j is the
/// derivative of the gradient along e_j.
fn dual_hessian<const N: usize>(
    x: [f64; N],
    grad: &dyn Fn([Dual64F; N]) -> [Dual64F; N],
) -> [[f64; N]; N] {
    let mut h = [[0.0; N]; N];
    for j in 0..N {
        let xd: [Dual64F; N] =
            std::array::from_fn(|k| Dual64F::new(x[k], if k == j { 1.0 } else { 0.0 }));
        let g = grad(xd);
        for i in 0..N {
            h[i][j] = g[i].eps();
        }
    }
    h
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-10 * (1.0 + want.abs()),
        "{what}: {got} vs {want}"
    );
}

/// Checks `NAME_hessian`'s H and `NAME_hvp`'s H·v against the dual H.
fn check<const N: usize>(h: [[f64; N]; N], hv: [f64; N], v: [f64; N], want: [[f64; N]; N]) {
    for i in 0..N {
        for j in 0..N {
            assert_close(h[i][j], want[i][j], &format!("H[{i}][{j}]"));
        }
        let row: f64 = (0..N).map(|j| want[i][j] * v[j]).sum();
        assert_close(hv[i], row, &format!("Hv[{i}]"));
    }
}

#[derive_grad]
fn sq<F: Float>(a: F) -> F {
    a * a
}

/// A helper of an array by reference and a float.
#[derive_grad]
fn inner<F: Float>(w: &[F; 3], c: F) -> F {
    (w[0] * w[1]).sin() + c * w[2].exp() + sq(w[0] - c)
}

#[derive_grad(hessian, jvp)]
fn straight<F: Float>(w: [F; 3], c: F) -> F {
    let a = inner(&w, c);
    let b = inner(&[w[2], w[0], w[1]], w[1] * c);
    a * b + sq(w[1]).tanh()
}

#[test]
fn straight_line_calls() {
    let w = [0.4f64, -0.9, 0.3];
    let c = 0.6;
    let v = [0.3, 1.0, -0.5];
    let (value, g, h) = straight_hessian(w, c);
    assert_eq!(value.to_bits(), straight(w, c).to_bits());
    assert_eq!(g, straight_grad(w, c).1);
    let (value, g2, hv) = straight_hvp(w, c, v);
    assert_eq!(value.to_bits(), straight(w, c).to_bits());
    assert_eq!(g2, g);
    let want = dual_hessian(w, &|wd| straight_grad(wd, Dual64F::constant(c)).1);
    check(h, hv, v, want);
    let (value, d) = straight_jvp(w, c, v);
    assert_eq!(value.to_bits(), straight(w, c).to_bits());
    assert_close(d, (0..3).map(|k| g[k] * v[k]).sum(), "jvp");
    // Symmetric up to rounding: H[i][j] and H[j][i] come from the
    // helpers' H·e_j and H·e_i.
    for i in 0..3 {
        for j in 0..3 {
            assert_close(h[i][j], h[j][i], "symmetric");
        }
    }
}

/// A helper with an integer flag, taken under a run-time `if`.
#[derive_grad]
fn pick<F: Float>(x: F, y: F, mode: i32) -> F {
    match mode {
        0 => x * y,
        _ => (x - y).powi(mode + 1),
    }
}

#[derive_grad(hessian)]
fn branches<F: Float>(w: [F; 2], k: i32) -> F {
    if w[0] > w[1] {
        pick(w[0], w[1], k) + w[0].exp()
    } else {
        pick(w[1], w[0], 0) * pick(w[0], w[0], 2)
    }
}

#[test]
fn calls_under_a_run_time_if_with_integer_arguments() {
    for (w, k) in [([0.7f64, -0.4], 2), ([-0.3, 0.8], 1), ([0.5, 0.1], 0)] {
        let v = [0.6, -1.1];
        let (value, _, h) = branches_hessian(w, k);
        assert_eq!(value.to_bits(), branches(w, k).to_bits());
        let (_, _, hv) = branches_hvp(w, k, v);
        let want = dual_hessian(w, &|wd| branches_grad(wd, k).1);
        check(h, hv, v, want);
    }
}

/// A helper returning a tuple.
#[derive_grad]
fn polar<F: Float>(x: F, y: F) -> (F, F) {
    ((x * x + y * y).sqrt(), y.atan2(x))
}

#[derive_grad(hessian)]
fn through_tuple<F: Float>(p: [F; 2]) -> F {
    let (r, t) = polar(p[0], p[1]);
    r * t.cos() + polar(p[1], p[0]).1 * r
}

#[test]
fn a_helper_returning_a_tuple() {
    let p = [0.8f64, -0.5];
    let v = [1.0, 0.25];
    let (value, _, h) = through_tuple_hessian(p);
    assert_eq!(value.to_bits(), through_tuple(p).to_bits());
    let (_, _, hv) = through_tuple_hvp(p, v);
    check(h, hv, v, dual_hessian(p, &|pd| through_tuple_grad(pd).1));
}

/// Nested: the helper calls a helper.
#[derive_grad]
fn mid<F: Float>(x: F, y: F) -> F {
    sq(x * y) + inner(&[x, y, x], y).ln_1p()
}

/// Calls in a loop that stays a loop (100 iterations): `NAME_hvp` by
/// reverse mode over forward mode through the helpers; `NAME_hessian`
/// written out after unrolling.
#[derive_grad(hessian)]
fn in_loop<F: Float>(w: &[F; 100]) -> F {
    let mut s = F::zero();
    for i in 0..99 {
        s = s + mid(w[i], w[i + 1]) * F::from(0.01).unwrap() + sq(s * F::from(0.1).unwrap());
    }
    s
}

#[test]
fn calls_in_a_rolled_loop_with_a_carried_value() {
    let w: [f64; 100] = std::array::from_fn(|k| 0.3 + 0.5 * (k as f64 * 0.37).sin());
    let v: [f64; 100] = std::array::from_fn(|k| (k as f64 * 0.11).cos());
    let (value, g, h) = in_loop_hessian(&w);
    assert_eq!(value.to_bits(), in_loop(&w).to_bits());
    let (value, g2, hv) = in_loop_hvp(&w, &v);
    assert_eq!(value.to_bits(), in_loop(&w).to_bits());
    let gg = in_loop_grad(&w).1;
    for i in 0..100 {
        assert_close(g[i], gg[i], "gradient of NAME_hessian");
        assert_close(g2[i], gg[i], "gradient of NAME_hvp");
    }
    let want = dual_hessian(w, &|wd| in_loop_grad(&wd).1);
    check(h, hv, v, want);
}

/// A loop of run-time length calling a helper: H from its columns.
#[derive_grad(hessian)]
fn run_time<F: Float>(w: [F; 3], n: usize) -> F {
    let mut s = F::zero();
    for i in 0..n {
        s = mid(s + w[i % 3], w[(i + 1) % 3]) * F::from(0.5).unwrap();
    }
    s
}

#[test]
fn calls_in_a_loop_of_run_time_length() {
    let w = [0.2f64, -0.6, 0.9];
    let v = [0.5, 0.5, -1.0];
    for n in [0, 1, 7] {
        let (value, _, h) = run_time_hessian(w, n);
        assert_eq!(value.to_bits(), run_time(w, n).to_bits());
        let (_, _, hv) = run_time_hvp(w, n, v);
        check(h, hv, v, dual_hessian(w, &|wd| run_time_grad(wd, n).1));
    }
}

/// One scalar through a long loop calling a helper: forward over forward.
#[derive_grad(hessian)]
fn scalar<F: Float>(r: F, x0: F) -> F {
    let mut x = x0;
    for _ in 0..50 {
        x = r * mid(x, F::one() - x).tanh();
    }
    x
}

#[test]
fn one_scalar_through_a_loop_calling_a_helper() {
    let (r, x0) = (0.9f64, 0.3);
    let (value, g, h) = scalar_hessian(r, x0);
    assert_eq!(value.to_bits(), scalar(r, x0).to_bits());
    let (_, _, hv) = scalar_hvp(r, x0, 2.0);
    let gd = scalar_grad(Dual64F::new(r, 1.0), Dual64F::constant(x0)).1;
    assert_close(g, gd.re(), "gradient");
    assert_close(h, gd.eps(), "H");
    assert_close(hv, 2.0 * gd.eps(), "H·v");
}

/// `powi` with a run-time exponent (backprop's own helper).
#[derive_grad(hessian)]
fn run_time_powi<F: Float>(w: [F; 2], n: i32) -> F {
    (w[0] * w[1] + F::one()).powi(n) + w[1].powi(n - 1)
}

#[test]
fn powi_with_a_run_time_exponent() {
    let w = [0.7f64, 1.3];
    let v = [1.0, -2.0];
    for n in [0, 1, 2, 3, -2] {
        let (value, _, h) = run_time_powi_hessian(w, n);
        assert_eq!(value.to_bits(), run_time_powi(w, n).to_bits());
        let (_, _, hv) = run_time_powi_hvp(w, n, v);
        check(h, hv, v, dual_hessian(w, &|wd| run_time_powi_grad(wd, n).1));
    }
}

/// A helper that assigns to its own float parameter (not one it is
/// differentiated with respect to): its companion, which differentiates
/// every float parameter, takes `a` at its value on entry.
#[derive_grad(wrt(b))]
fn reassigns<F: Float>(mut a: F, b: F) -> F {
    a = a * b + a.sin();
    a = a * a;
    a
}

#[derive_grad(hessian)]
fn calls_reassigns<F: Float>(w: [F; 2]) -> F {
    reassigns(w[0], w[1]) * w[1]
}

#[test]
fn a_helper_assigning_to_its_parameter() {
    let w = [0.6f64, -0.8];
    let v = [0.5, 1.5];
    let (value, _, h) = calls_reassigns_hessian(w);
    assert_eq!(value.to_bits(), calls_reassigns(w).to_bits());
    let (_, _, hv) = calls_reassigns_hvp(w, v);
    check(h, hv, v, dual_hessian(w, &|wd| calls_reassigns_grad(wd).1));
}
