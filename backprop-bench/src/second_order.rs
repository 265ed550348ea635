//! Forward mode and second derivatives (issue 11), each against the best
//! hand-written code for the same quantity and against num-dual:
//!
//! - the logistic map `x ← r x (1 − x)` iterated 1000 times, differentiated
//!   with respect to `r` (one parameter, a long chain: the case where
//!   `NAME_grad` picks forward mode);
//! - the 100-dimensional Rosenbrock function: value, `NAME_jvp`,
//!   `NAME_hvp` and the tridiagonal Hessian `NAME_hessian`.

use backprop::prelude::*;
use nalgebra::DVector;
use num_dual::{Dual2DVec64, Dual64, DualNum};

/// The logistic map's starting point.
pub const X0: f64 = 0.3;
/// Its rate.
pub const R: f64 = 3.2;
/// Rosenbrock's dimension.
pub const N: usize = 100;

/// 1000 iterations of the logistic map (a loop that stays a loop).
#[derive_grad(jvp, hessian, wrt(r))]
#[inline]
pub fn logistic(x0: f64, r: f64) -> f64 {
    let mut x = x0;
    for _ in 0..1000 {
        x = r * x * (1.0 - x);
    }
    x
}

/// By hand, forward mode: the derivative carried beside the iterate.
#[inline]
pub fn logistic_hand_forward(x0: f64, r: f64) -> (f64, f64) {
    let (mut x, mut dx) = (x0, 0.0);
    for _ in 0..1000 {
        // d/dr [r x (1 − x)] = x (1 − x) + r (1 − 2x) dx
        let next = r * x * (1.0 - x);
        dx = x * (1.0 - x) + r * (1.0 - 2.0 * x) * dx;
        x = next;
    }
    (x, dx)
}

/// The same map differentiated with respect to both its start and its
/// rate: the mode choice takes forward mode for a few scalars.
#[derive_grad(wrt(x0, r))]
#[inline]
pub fn logistic_both(x0: f64, r: f64) -> f64 {
    let mut x = x0;
    for _ in 0..1000 {
        x = r * x * (1.0 - x);
    }
    x
}

/// By hand, forward mode with two tangents carried beside the iterate.
#[inline]
pub fn logistic_both_hand_forward(x0: f64, r: f64) -> (f64, (f64, f64)) {
    let (mut x, mut dx0, mut dr) = (x0, 1.0, 0.0);
    for _ in 0..1000 {
        let c = r * (1.0 - 2.0 * x);
        let next = r * x * (1.0 - x);
        dr = x * (1.0 - x) + c * dr;
        dx0 *= c;
        x = next;
    }
    (x, (dx0, dr))
}

/// By hand, reverse mode with respect to both: the iterates kept, then
/// swept backwards.
#[inline]
pub fn logistic_both_hand_reverse(x0: f64, r: f64) -> (f64, (f64, f64)) {
    let mut xs = [0.0; 1000];
    let mut x = x0;
    for xk in xs.iter_mut() {
        *xk = x;
        x = r * x * (1.0 - x);
    }
    let (mut dx, mut dr) = (1.0, 0.0);
    for &xk in xs.iter().rev() {
        dr += dx * xk * (1.0 - xk);
        dx *= r * (1.0 - 2.0 * xk);
    }
    (x, (dx, dr))
}

/// By hand, reverse mode: the iterates kept, then swept backwards.
#[inline]
pub fn logistic_hand_reverse(x0: f64, r: f64) -> (f64, f64) {
    let mut xs = [0.0; 1000];
    let mut x = x0;
    for xk in xs.iter_mut() {
        *xk = x;
        x = r * x * (1.0 - x);
    }
    let (mut dx, mut dr) = (1.0, 0.0);
    for &xk in xs.iter().rev() {
        dr += dx * xk * (1.0 - xk);
        dx *= r * (1.0 - 2.0 * xk);
    }
    (x, dr)
}

/// num-dual's forward mode (`Dual64`, the rate seeded).
#[inline]
pub fn logistic_num_dual(x0: f64, r: f64) -> (f64, f64) {
    let r = Dual64::new(r, 1.0);
    let mut x = Dual64::from_re(x0);
    for _ in 0..1000 {
        x = r * x * (-x + 1.0);
    }
    (x.re, x.eps)
}

/// The 100-dimensional Rosenbrock function.
#[derive_grad(jvp, hessian)]
#[inline]
pub fn rosenbrock(x: &[f64; 100]) -> f64 {
    let mut s = 0.0;
    for i in 0..99 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

/// Its Hessian by hand: tridiagonal, written into a zeroed matrix.
#[inline]
pub fn rosenbrock_hand_hessian(x: &[f64; N]) -> [[f64; N]; N] {
    let mut h = [[0.0; N]; N];
    for i in 0..N - 1 {
        let off = -400.0 * x[i];
        h[i][i] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        h[i + 1][i + 1] += 200.0;
        h[i][i + 1] = off;
        h[i + 1][i] = off;
    }
    h
}

/// Its Hessian-vector product by hand: the band times `v`.
#[inline]
pub fn rosenbrock_hand_hvp(x: &[f64; N], v: &[f64; N]) -> [f64; N] {
    let mut hv = [0.0; N];
    for i in 0..N - 1 {
        let diag = 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        let off = -400.0 * x[i];
        hv[i] += diag * v[i] + off * v[i + 1];
        hv[i + 1] += 200.0 * v[i + 1] + off * v[i];
    }
    hv
}

/// Its directional derivative by hand (forward mode): the value and
/// `∇f·v` in one pass. Not inlined into the benchmark, as the generated
/// functions are not (inlining it changed nothing measurable).
#[inline(never)]
pub fn rosenbrock_hand_jvp(x: &[f64; N], v: &[f64; N]) -> (f64, f64) {
    let (mut s, mut t) = (0.0, 0.0);
    for i in 0..N - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
        t += 200.0 * a * (v[i + 1] - 2.0 * x[i] * v[i]) - 2.0 * b * v[i];
    }
    (s, t)
}

/// What `NAME_hvp` returns, by hand, as fast as it can be written: the
/// value, the gradient and H·v in one pass, each iteration's contribution
/// to element `i + 1` carried in a register to the next (no store-to-load
/// chain through memory).
#[inline]
pub fn rosenbrock_hand_grad_hvp(x: &[f64; N], v: &[f64; N]) -> (f64, [f64; N], [f64; N]) {
    let mut s = 0.0;
    let (mut g, mut hv) = ([0.0; N], [0.0; N]);
    let (mut carry_g, mut carry_hv) = (0.0, 0.0);
    for i in 0..N - 1 {
        let (xi, xj, vi, vj) = (x[i], x[i + 1], v[i], v[i + 1]);
        let a = xj - xi * xi;
        let b = 1.0 - xi;
        s += 100.0 * a * a + b * b;
        let off = -400.0 * xi;
        g[i] = carry_g + (off * a - 2.0 * b);
        carry_g = 200.0 * a;
        let diag = 1200.0 * xi * xi - 400.0 * xj + 2.0;
        hv[i] = carry_hv + diag * vi + off * vj;
        carry_hv = 200.0 * vj + off * vi;
    }
    g[N - 1] = carry_g;
    hv[N - 1] = carry_hv;
    (s, g, hv)
}

/// Rosenbrock over any dual number type.
pub fn rosenbrock_generic<D: DualNum<Primitive = f64>>(x: &[D]) -> D {
    let mut s = D::zero();
    for i in 0..x.len() - 1 {
        let a = x[i + 1].clone() - x[i].clone() * x[i].clone();
        let b = -x[i].clone() + 1.0;
        s += a.clone() * a * 100.0 + b.clone() * b;
    }
    s
}

/// num-dual's Hessian (`Dual2DVec64`: one pass carrying the gradient and
/// the whole Hessian).
pub fn rosenbrock_num_dual_hessian(x: &[f64; N]) -> (f64, Vec<f64>, Vec<f64>) {
    let x = DVector::from_column_slice(x);
    let (v, g, h) = num_dual::hessian(
        |x: DVector<Dual2DVec64>| rosenbrock_generic(x.as_slice()),
        &x,
    );
    (v, g.as_slice().to_vec(), h.as_slice().to_vec())
}

/// The point both benchmarks use.
pub fn point() -> [f64; N] {
    std::array::from_fn(|i| 0.6 + 0.5 * (i as f64 * 0.9).sin())
}

/// The direction of the JVP and HVP.
pub fn direction() -> [f64; N] {
    std::array::from_fn(|i| (i as f64 * 0.37).cos())
}
