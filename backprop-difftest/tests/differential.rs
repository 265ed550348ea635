//! The compiled differential test (issue 8): a few hundred generated loss
//! functions (`build.rs`, fixed seed) go through the real `#[derive_grad]`
//! macro. At three points each:
//!
//! - the value of `NAME_grad` is bit-for-bit the value of `NAME`;
//! - each gradient component equals the derivative that num-dual's dual
//!   numbers give for the same program (the function itself when it is
//!   generic, otherwise its generated generic twin), whose plain-float
//!   value must also be bit-for-bit `NAME`'s, so the twin is the same
//!   program.
//!
//! Every case also gets `jvp` (issue 11); the cases that pass no slice to
//! a helper (about 190 of the 320) get `hessian` too, and their twins
//! `#[derive_grad]` (a generic gradient):
//! `NAME_jvp` is checked against dual numbers along a direction `v`,
//! `NAME_hvp`'s H·v against dual numbers along `v` run through the generic
//! generated gradient (forward mode over reverse mode, computed by num-dual
//! instead of the compiler), and `NAME_hessian`'s H for symmetry and
//! against H·v (see `check_second!`).
//!
//! Where the two methods may legitimately differ, the oracle follows these
//! conventions, each of which the run's summary counts:
//!
//! - Activity: dual numbers carry a flag, as reverse mode's activity
//!   analysis does, so a value computed only from constants has tangent
//!   exactly 0 (see `backprop_difftest`).
//! - Points are never on a kink: coordinates are multiples of 1/64 plus
//!   1/4096, literals multiples of 1/64, so `x - 0.25` is never 0.
//! - Where the function's value is not finite, only the value is compared.
//! - Where floating point does not determine the derivative (an f32 and an
//!   f64 dual evaluation disagree by more than an eighth of the tolerance,
//!   the f64 one moves when the point moves by a relative 2⁻⁴⁰, or it is
//!   NaN where the function is finite), the component is not compared;
//!   fewer than 5% may be skipped.
//! - Tolerance: 10⁻⁶ relative for f64 (reverse and forward accumulation
//!   round differently; chains of `sin` of products amplify it), 10⁻³ for
//!   f32.

use backprop_difftest::{Dual32F, Dual64F};

/// Calls `$f` with the case's arguments (`n` and `flag` only if it takes them).
macro_rules! call {
    (floats, $f:expr, $x:expr, $c:expr, $p:expr) => {
        $f($x, $c)
    };
    (ints, $f:expr, $x:expr, $c:expr, $p:expr) => {
        $f($x, $c, $p.n, $p.flag)
    };
}

/// `NAME_grad_acc_with` called with the same arguments and a gradient
/// buffer and workspace.
macro_rules! call_acc {
    (floats, $f:expr, $x:expr, $c:expr, $p:expr, $acc:expr, $work:expr) => {
        $f($x, $c, $acc, $work)
    };
    (ints, $f:expr, $x:expr, $c:expr, $p:expr, $acc:expr, $work:expr) => {
        $f($x, $c, $p.n, $p.flag, $acc, $work)
    };
}

/// The gradient with respect to `x` out of `NAME_grad`'s second result, and
/// the one with respect to `c` if `c` is differentiated.
macro_rules! split_grad {
    (wrt_x, $g:expr) => {
        ($g, None::<f64>)
    };
    (wrt_x_c, $g:expr) => {
        ($g.0, Some($g.1))
    };
}

/// `c` as a dual number in the passes that seed `x`: an active input with
/// tangent 0 when it is differentiated too, a constant otherwise.
macro_rules! c_dual {
    (wrt_x, $dual:ty, $c:expr) => {
        <$dual>::constant($c)
    };
    (wrt_x_c, $dual:ty, $c:expr) => {
        <$dual>::new($c, 0.0)
    };
}

/// A check of one case: a closure over its points returning the problems.
/// `$tol` is the relative tolerance of gradients, `$dual` the dual type.
macro_rules! check_case {
    ($dual:ty, $tol:expr, $f:ident, $grad:ident, $acc:ident, $twin:ident, $wrt:ident, $ints:ident, [$($p:expr),*]) => {
        || -> $crate::Checked {
            let mut problems = Vec::new();
            let mut skipped = 0;
            let mut skipped_grads = 0;
            let mut work = backprop::core::Workspace::new();
            let points = [$($p),*];
            for p in points {
                let Point { x, c, .. } = p;
                let original = call!($ints, $f, x, c, p);
                let (value, grad) = call!($ints, $grad, x, c, p);
                let at = format!("at x = {:?}, c = {:?}, n = {}, flag = {}", x, c, p.n, p.flag);
                if !$crate::same_value(f64::from(value), f64::from(original)) {
                    problems.push(format!("value {value:?} of the gradient function, {original:?} of the original, {at}"));
                }
                // `NAME_grad_acc_with` adds the same gradient into zeros
                // (equal as numbers: `0.0 + -0.0` is `0.0`), with the same value.
                let mut acc = backprop::core::Params::zeros_like(&grad);
                let acc_value = call_acc!($ints, $acc, x, c, p, &mut acc, &mut work);
                if !$crate::same_value(f64::from(acc_value), f64::from(original)) {
                    problems.push(format!("value {acc_value:?} of NAME_grad_acc_with, {original:?} of the original, {at}"));
                }
                let (added, returned) = (backprop::core::Params::to_vec(&acc), backprop::core::Params::to_vec(&grad));
                if added.iter().zip(&returned).any(|(a, r)| a != r && !(a.is_nan() && r.is_nan())) {
                    problems.push(format!("NAME_grad_acc_with added {added:?}, NAME_grad returned {returned:?}, {at}"));
                }
                let twin = call!($ints, $twin, x, c, p);
                if !$crate::same_value(f64::from(twin), f64::from(original)) {
                    problems.push(format!("the dual twin is not the same program: {twin:?} vs {original:?} {at}"));
                }
                // A derivative at a point where the function is ±∞ or NaN
                // is not defined (dual numbers and adjoints then disagree
                // on which 0·∞ terms to drop): only the value is checked.
                if !f64::from(original).is_finite() {
                    skipped += 1;
                    continue;
                }
                let (gx, gc) = split_grad!($wrt, grad);
                for j in 0..x.components() {
                    let d = call!($ints, $twin, x.lift(Some(j)), c_dual!($wrt, $dual, c), p).eps();
                    let g = Lift::comp(&gx, j);
                    if !$crate::determined(f64::from(d), |scale| {
                        call!($ints, $twin, x.lift64(Some(j), scale), c_dual!($wrt, Dual64F, f64::from(c) * scale), p).eps()
                    }, $tol) {
                        skipped_grads += 1;
                        continue;
                    }
                    if !$crate::close(g, f64::from(d), $tol) {
                        problems.push(format!("d/dx[{j}]: {g:?} generated, {d:?} by dual numbers, {at}"));
                    }
                }
                if let Some(gc) = gc {
                    let d = call!($ints, $twin, x.lift(None), <$dual>::new(c, 1.0), p).eps();
                    if !$crate::determined(f64::from(d), |scale| {
                        call!($ints, $twin, x.lift64(None, scale), Dual64F::new(f64::from(c) * scale, 1.0), p).eps()
                    }, $tol) {
                        skipped_grads += 1;
                        continue;
                    }
                    let g = Lift::comp(&gc, 0);
                    if !$crate::close(g, f64::from(d), $tol) {
                        problems.push(format!("d/dc: {g:?} generated, {d:?} by dual numbers, {at}"));
                    }
                }
            }
            $crate::Checked { problems, points: points.len(), skipped, skipped_grads }
        }
    };
}

macro_rules! check_f64 {
    ($f:ident, $grad:ident, $acc:ident, $twin:ident, $shape:ident, $wrt:ident, $ints:ident, [$($p:expr),*]) => {
        check_case!(backprop_difftest::Dual64F, 1e-6, $f, $grad, $acc, $twin, $wrt, $ints, [$($p),*])
    };
}
macro_rules! check_generic {
    ($f:ident, $grad:ident, $acc:ident, $twin:ident, $shape:ident, $wrt:ident, $ints:ident, [$($p:expr),*]) => {
        check_case!(backprop_difftest::Dual64F, 1e-6, $f, $grad, $acc, $twin, $wrt, $ints, [$($p),*])
    };
}
macro_rules! check_f32 {
    ($f:ident, $grad:ident, $acc:ident, $twin:ident, $shape:ident, $wrt:ident, $ints:ident, [$($p:expr),*]) => {
        check_case!(backprop_difftest::Dual32F, 1e-3, $f, $grad, $acc, $twin, $wrt, $ints, [$($p),*])
    };
}

/// Calls `$f` with the case's arguments and one more (a tangent).
macro_rules! call_t {
    (floats, $f:expr, $x:expr, $c:expr, $p:expr, $t:expr) => {
        $f($x, $c, $t)
    };
    (ints, $f:expr, $x:expr, $c:expr, $p:expr, $t:expr) => {
        $f($x, $c, $p.n, $p.flag, $t)
    };
}

/// The tangent argument: `v`, or `(v, vc)` when `c` is differentiated too.
macro_rules! tangent {
    (wrt_x, $v:expr, $vc:expr) => {
        $v
    };
    (wrt_x_c, $v:expr, $vc:expr) => {
        ($v, $vc)
    };
}

/// `c` as a dual number: constant, or moving along `vc`.
macro_rules! c_along {
    (wrt_x, $dual:ty, $c:expr, $vc:expr) => {
        <$dual>::constant($c)
    };
    (wrt_x_c, $dual:ty, $c:expr, $vc:expr) => {
        <$dual>::new($c, $vc)
    };
}

/// Element `i` of a dual-number gradient's derivative parts, over `x`'s
/// `nx` components then `c`'s.
macro_rules! eps_of {
    (wrt_x, $g:expr, $i:expr, $nx:expr) => {
        $crate::Eps::eps_at($g, $i)
    };
    (wrt_x_c, $g:expr, $i:expr, $nx:expr) => {{
        let (gx, gc) = $g;
        if $i < $nx {
            $crate::Eps::eps_at(gx, $i)
        } else {
            $crate::Eps::eps_at(gc, 0)
        }
    }};
}

/// How `NAME_jvp`'s derivative `$d` along `($v, $vc)` disagrees with the
/// dual-number derivative of the twin along it, if it does; a derivative
/// floating point does not determine counts in `$skipped` instead.
macro_rules! jvp_disagreement {
    ($dual:ty, $tol:expr, $twin:ident, $wrt:ident, $ints:ident, $x:expr, $c:expr, $p:expr, $v:expr, $vc:expr, $d:expr, $at:expr, $skipped:expr) => {{
        let (x, c, p, v, vc, d, tol) = ($x, $c, $p, &$v, $vc, $d, $tol);
        let dd = call!(
            $ints,
            $twin,
            x.lift_dir(v, 1.0),
            c_along!($wrt, $dual, c, vc),
            p
        )
        .eps();
        if !$crate::determined(
            f64::from(dd),
            |scale| {
                call!(
                    $ints,
                    $twin,
                    x.lift64_dir(v, scale),
                    c_along!($wrt, Dual64F, f64::from(c) * scale, f64::from(vc)),
                    p
                )
                .eps()
            },
            tol,
        ) {
            *$skipped += 1;
            None
        } else if !$crate::close(f64::from(d), f64::from(dd), tol) {
            Some(format!(
                "jvp: {d:?} generated, {dd:?} by dual numbers, {}",
                $at
            ))
        } else {
            None
        }
    }};
}

/// The second-order check of one case (issue 11): at each point, with the
/// direction `v` of [`Lift::direction`],
///
/// - `NAME_jvp`, `NAME_hvp` and `NAME_hessian` return `NAME`'s value bit
///   for bit;
/// - `NAME_jvp`'s derivative is the dual-number derivative of the twin
///   along `v`;
/// - `NAME_hvp`'s H·v is the dual-number derivative along `v` of a
///   generic generated gradient (the case's own, or its twin's), and its
///   gradient is `NAME_grad`'s;
/// - `NAME_hessian`'s H is symmetric, its gradient is `NAME_grad`'s, and
///   H times v is H·v.
macro_rules! check_second {
    ($dual:ty, $tol:expr, $f:ident, $jvp:ident, $hvp:ident, $hess:ident, $grad:ident, $twin:ident, $g2:ident, $wrt:ident, $ints:ident, [$($p:expr),*]) => {
        || -> $crate::Checked {
            use backprop::core::Params;
            let tol = $tol;
            let mut problems = Vec::new();
            let mut skipped = 0;
            let mut skipped_grads = 0;
            let points = [$($p),*];
            for p in points {
                let Point { x, c, .. } = p;
                let at = format!("at x = {:?}, c = {:?}, n = {}, flag = {}", x, c, p.n, p.flag);
                let original = call!($ints, $f, x, c, p);
                let v = Lift::direction(&x);
                // `c`'s direction, when it is differentiated too.
                let vc = Lift::direction_at(&c, x.components());
                let (jvalue, d) = call_t!($ints, $jvp, x, c, p, tangent!($wrt, v, vc));
                let (hvalue, hg, hv) = call_t!($ints, $hvp, x, c, p, tangent!($wrt, v, vc));
                let (evalue, eg, h) = call!($ints, $hess, x, c, p);
                for (what, value) in [("NAME_jvp", jvalue), ("NAME_hvp", hvalue), ("NAME_hessian", evalue)] {
                    if !$crate::same_value(f64::from(value), f64::from(original)) {
                        problems.push(format!("value {value:?} of {what}, {original:?} of the original, {at}"));
                    }
                }
                if !f64::from(original).is_finite() {
                    skipped += 1;
                    continue;
                }
                let nx = x.components();
                let n = nx + usize::from(stringify!($wrt) == "wrt_x_c");
                let to64 = |v: Vec<_>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
                let (g, hg, eg, hv, h) = (
                    to64(call!($ints, $grad, x, c, p).1.to_vec()),
                    to64(hg.to_vec()),
                    to64(eg.to_vec()),
                    to64(hv.to_vec()),
                    to64(h.to_vec()),
                );
                // The directional derivative, by dual numbers along v.
                if let Some(problem) = jvp_disagreement!($dual, tol, $twin, $wrt, $ints, x, c, p, v, vc, d, &at, &mut skipped_grads) {
                    problems.push(problem);
                }
                for j in 0..n {
                    for (what, got) in [("NAME_hvp", hg[j]), ("NAME_hessian", eg[j])] {
                        if !$crate::close(got, g[j], tol) {
                            problems.push(format!("{what}'s gradient [{j}]: {got:?}, NAME_grad's {:?}, {at}", g[j]));
                        }
                    }
                }
                // H·v: dual numbers along v through a generated gradient.
                let gd = call!($ints, $g2, x.lift_dir(&v, 1.0), c_along!($wrt, $dual, c, vc), p).1;
                for i in 0..n {
                    let want = eps_of!($wrt, &gd, i, nx);
                    if !$crate::determined(want, |scale| {
                        eps_of!($wrt, &call!($ints, $g2, x.lift64_dir(&v, scale), c_along!($wrt, Dual64F, f64::from(c) * scale, f64::from(vc)), p).1, i, nx)
                    }, tol) {
                        skipped_grads += 1;
                        continue;
                    }
                    if !$crate::close(hv[i], want, tol) {
                        problems.push(format!("(H·v)[{i}]: {:?} generated, {want:?} by dual numbers through the gradient, {at}", hv[i]));
                    }
                }
                // H: symmetric, and H times v is H·v.
                let mut vs: Vec<f64> = (0..nx).map(|j| Lift::comp(&v, j)).collect();
                if n > nx {
                    vs.push(f64::from(vc));
                }
                let scale = h.iter().fold(1.0f64, |m, e| m.max(e.abs()));
                for i in 0..n {
                    for j in 0..i {
                        if (h[i * n + j] - h[j * n + i]).abs() > tol * scale {
                            problems.push(format!("H[{i}][{j}] = {:?} but H[{j}][{i}] = {:?}, {at}", h[i * n + j], h[j * n + i]));
                        }
                    }
                    let row: f64 = (0..n).map(|j| h[i * n + j] * vs[j]).sum();
                    let size = (0..n).map(|j| (h[i * n + j] * vs[j]).abs()).sum::<f64>().max(1.0);
                    if (row - hv[i]).abs() > tol * size {
                        problems.push(format!("(H v)[{i}] = {row:?} but H·v gives {:?}, {at}", hv[i]));
                    }
                }
            }
            $crate::Checked { problems, points: points.len(), skipped, skipped_grads }
        }
    };
}

#[allow(
    unused_mut,
    unused_variables,
    unused_assignments,
    unused_parens,
    unused_braces,
    clippy::all,
    clippy::pedantic,
    dead_code,
    non_snake_case
)]
mod cases {
    use backprop::prelude::*;
    use num_traits::Float;

    use super::{Lift, Point};
    use backprop_difftest::Dual64F;

    include!(concat!(env!("OUT_DIR"), "/cases.rs"));
}

/// What one case's check found.
pub struct Checked {
    /// Disagreements, described.
    problems: Vec<String>,
    /// Points checked.
    points: usize,
    /// Points whose value is not finite, where only the value was checked.
    skipped: usize,
    /// Gradient components not compared because floating-point arithmetic
    /// does not determine them at the point (see [`determined`]).
    skipped_grads: usize,
}

/// The arguments of one check.
#[derive(Clone, Copy, Debug)]
pub struct Point<X, C> {
    x: X,
    c: C,
    n: i32,
    flag: bool,
}

/// A differentiated argument: its components, and its dual-number version
/// with the tangent 1 in component `seed`.
pub trait Lift: Copy {
    /// The dual-number type of the same shape.
    type Dual;
    /// How many components.
    fn components(&self) -> usize;
    /// Component `j` as f64.
    fn comp(&self, j: usize) -> f64;
    /// The dual version, with tangent 1 in component `seed` (if any).
    fn lift(&self, seed: Option<usize>) -> Self::Dual;
    /// The same shape of f64 dual numbers.
    type Dual64;
    /// As [`lift`](Self::lift), in f64 dual numbers, each component
    /// multiplied by `scale`.
    fn lift64(&self, seed: Option<usize>, scale: f64) -> Self::Dual64;
    /// A direction of the same shape: component `j` is `0.75 − 0.5·j`.
    fn direction(&self) -> Self {
        self.direction_at(0)
    }
    /// A scalar's direction as component `j`: `0.75 − 0.5·j`.
    fn direction_at(&self, j: usize) -> Self;
    /// The dual version with tangent `v`, each component multiplied by
    /// `scale` (1: exactly the point).
    fn lift_dir(&self, v: &Self, scale: f64) -> Self::Dual;
    /// As [`lift_dir`](Self::lift_dir), in f64 dual numbers.
    fn lift64_dir(&self, v: &Self, scale: f64) -> Self::Dual64;
}

/// The derivative part of component `j` of a dual-number value (a
/// gradient computed in dual numbers).
pub trait Eps {
    /// Component `j`'s derivative part, as f64.
    fn eps_at(&self, j: usize) -> f64;
}

impl Eps for Dual64F {
    fn eps_at(&self, _: usize) -> f64 {
        self.eps()
    }
}

impl Eps for Dual32F {
    fn eps_at(&self, _: usize) -> f64 {
        f64::from(self.eps())
    }
}

impl<T: Eps, const N: usize> Eps for [T; N] {
    fn eps_at(&self, j: usize) -> f64 {
        self[j].eps_at(0)
    }
}

impl Lift for f64 {
    type Dual = Dual64F;
    fn components(&self) -> usize {
        1
    }
    fn comp(&self, _: usize) -> f64 {
        *self
    }
    fn lift(&self, seed: Option<usize>) -> Dual64F {
        Dual64F::new(*self, if seed == Some(0) { 1.0 } else { 0.0 })
    }
    type Dual64 = Dual64F;
    fn lift64(&self, seed: Option<usize>, scale: f64) -> Dual64F {
        Dual64F::new(*self * scale, if seed == Some(0) { 1.0 } else { 0.0 })
    }
    fn direction_at(&self, j: usize) -> f64 {
        0.75 - 0.5 * j as f64
    }
    fn lift_dir(&self, v: &f64, scale: f64) -> Dual64F {
        Dual64F::new(*self * scale, *v)
    }
    fn lift64_dir(&self, v: &f64, scale: f64) -> Dual64F {
        Dual64F::new(*self * scale, *v)
    }
}

impl Lift for f32 {
    type Dual = Dual32F;
    fn components(&self) -> usize {
        1
    }
    fn comp(&self, _: usize) -> f64 {
        f64::from(*self)
    }
    fn lift(&self, seed: Option<usize>) -> Dual32F {
        Dual32F::new(*self, if seed == Some(0) { 1.0 } else { 0.0 })
    }
    type Dual64 = Dual64F;
    fn lift64(&self, seed: Option<usize>, scale: f64) -> Dual64F {
        Dual64F::new(
            f64::from(*self) * scale,
            if seed == Some(0) { 1.0 } else { 0.0 },
        )
    }
    fn direction_at(&self, j: usize) -> f32 {
        0.75 - 0.5 * j as f32
    }
    fn lift_dir(&self, v: &f32, scale: f64) -> Dual32F {
        Dual32F::new((f64::from(*self) * scale) as f32, *v)
    }
    fn lift64_dir(&self, v: &f32, scale: f64) -> Dual64F {
        Dual64F::new(f64::from(*self) * scale, f64::from(*v))
    }
}

impl<T: Lift, const N: usize> Lift for [T; N] {
    type Dual = [T::Dual; N];
    fn components(&self) -> usize {
        N
    }
    fn comp(&self, j: usize) -> f64 {
        self[j].comp(0)
    }
    fn lift(&self, seed: Option<usize>) -> [T::Dual; N] {
        std::array::from_fn(|k| self[k].lift(if seed == Some(k) { Some(0) } else { None }))
    }
    type Dual64 = [T::Dual64; N];
    fn lift64(&self, seed: Option<usize>, scale: f64) -> [T::Dual64; N] {
        std::array::from_fn(|k| self[k].lift64(if seed == Some(k) { Some(0) } else { None }, scale))
    }
    fn direction(&self) -> [T; N] {
        // 0.75, 0.25, −0.25, −0.75: every component moves.
        std::array::from_fn(|k| self[k].direction_at(k))
    }
    fn direction_at(&self, _: usize) -> [T; N] {
        self.direction()
    }
    fn lift_dir(&self, v: &[T; N], scale: f64) -> [T::Dual; N] {
        std::array::from_fn(|k| self[k].lift_dir(&v[k], scale))
    }
    fn lift64_dir(&self, v: &[T; N], scale: f64) -> [T::Dual64; N] {
        std::array::from_fn(|k| self[k].lift64_dir(&v[k], scale))
    }
}

/// `a` and `b` are the same float bit for bit, or both NaN.
fn same_value(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Whether floating-point arithmetic determines the derivative `d` at a
/// point, to `tol`: `d64(scale)` is the same derivative in f64 dual numbers
/// with the point's coordinates multiplied by `scale`. An f32 derivative
/// must agree with the f64 one to `tol / 8`, and the f64 one must not move
/// when the point moves by a relative 2⁻⁴⁰ (it does where an ill-conditioned
/// chain, such as `sin` of a huge product, amplifies rounding beyond `tol`).
///
/// The margin of 8 is there because forward accumulation (the dual numbers)
/// and reverse accumulation (the generated code) round differently: where
/// f32 dual numbers already lose a relative 3·10⁻⁴ to rounding, reverse mode
/// in f32 can lose several times that (seed 72's `case_244`: the f32
/// gradient 1.9·10⁻³ from the f64 one, which the generated f64 gradient
/// matches to 10⁻¹⁴).
///
/// A NaN derivative of dual numbers at a point where the function is finite
/// determines nothing either: it comes from a `0 · ∞` in the tangent (as
/// `d/dc (c − c)⁻¹`, whose value `∞` the function then discards) that the
/// generated code may never form (it folds `c − c` to 0; seeds 75 and 76).
fn determined(d: f64, d64: impl Fn(f64) -> f64, tol: f64) -> bool {
    const ROUNDING_MARGIN: f64 = 8.0;
    let at = d64(1.0);
    !at.is_nan() && close(d, at, tol / ROUNDING_MARGIN) && close(at, d64(1.0 + 2f64.powi(-40)), tol)
}

/// A generated gradient component agrees with the dual-number derivative:
/// within `tol` relative to the derivative's size (rounding differs between
/// reverse and forward accumulation), infinities and NaN alike.
fn close(g: f64, d: f64, tol: f64) -> bool {
    if d.is_nan() || g.is_nan() {
        return d.is_nan() && g.is_nan();
    }
    if d.is_infinite() || g.is_infinite() {
        return d == g;
    }
    (g - d).abs() <= tol * d.abs().max(1.0)
}

/// What running a list of cases' checks found, in all.
struct Summary {
    /// Every disagreement, prefixed with its case's name.
    failures: Vec<String>,
    /// Cases checked.
    checks: usize,
    /// Points checked.
    points: usize,
    /// Points with a non-finite value.
    skipped: usize,
    /// Derivatives too ill-conditioned to compare.
    skipped_grads: usize,
}

/// A case: its name and its check.
type Case = (&'static str, fn() -> Checked);

/// Runs every check of `cases`.
fn run(cases: &[Case]) -> Summary {
    let mut sum = Summary {
        failures: Vec::new(),
        checks: 0,
        points: 0,
        skipped: 0,
        skipped_grads: 0,
    };
    for (name, check) in cases {
        let checked = check();
        for problem in checked.problems {
            sum.failures.push(format!("{name}: {problem}"));
        }
        sum.checks += 1;
        sum.points += checked.points;
        sum.skipped += checked.skipped;
        sum.skipped_grads += checked.skipped_grads;
    }
    sum
}

#[test]
fn every_generated_function_agrees_with_dual_numbers() {
    let Summary {
        failures,
        checks,
        points,
        skipped,
        skipped_grads,
    } = run(cases::CASES);
    eprintln!(
        "{checks} generated functions checked at {points} points \
         ({skipped} with a non-finite value: value only; \
         {skipped_grads} gradient components too ill-conditioned to compare)"
    );
    assert!(
        skipped_grads * 20 < points,
        "{skipped_grads} gradient components skipped"
    );
    assert!(checks >= 300, "only {checks} generated functions");
    assert!(
        skipped * 20 < points,
        "{skipped} of {points} points skipped"
    );
    assert!(
        failures.is_empty(),
        "{} disagreement(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The comparisons themselves fail where they should: not the silence of a
/// check that cannot fail.
#[test]
fn the_comparisons_can_fail() {
    assert!(!same_value(0.0, -0.0));
    assert!(!same_value(1.0, 1.0 + f64::EPSILON));
    assert!(same_value(f64::NAN, -f64::NAN));
    assert!(!close(1.0, 1.0 + 1e-6, 1e-9));
    assert!(!close(f64::NAN, 1.0, 1e-9));
    assert!(!close(f64::INFINITY, 1e300, 1e-9));
    assert!(close(2.0, 2.0 + 1e-12, 1e-9));
}

/// A function whose "gradient" is wrong by one part in ten thousand and whose
/// value is one ulp off: the check macro reports both.
mod wrong {
    use super::{Lift, Point};
    use backprop_difftest::Dual64F;

    pub fn f<D: num_traits::Float>(x: [D; 2], c: D) -> D {
        x[0] * x[1] + c
    }
    pub fn f_grad(x: [f64; 2], c: f64) -> (f64, [f64; 2]) {
        let v = f(x, c);
        (f64::from_bits(v.to_bits() + 1), [x[1] * (1.0 + 1e-4), x[0]])
    }
    /// Adds the right gradient: not what `f_grad` returns.
    pub fn f_grad_acc_with(
        x: [f64; 2],
        c: f64,
        grad: &mut [f64; 2],
        _: &mut backprop::core::Workspace<f64>,
    ) -> f64 {
        grad[0] += x[1];
        grad[1] += x[0];
        f(x, c)
    }
    pub const CHECK: fn() -> crate::Checked = check_generic!(
        f,
        f_grad,
        f_grad_acc_with,
        f,
        array,
        wrt_x,
        floats,
        [Point {
            x: [0.5, 2.0],
            c: 0.25,
            n: 0,
            flag: false
        }]
    );
}

#[test]
fn the_check_reports_a_wrong_value_and_a_wrong_gradient() {
    let problems = wrong::CHECK().problems;
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].contains("value"), "{}", problems[0]);
    assert!(
        problems[1].contains("NAME_grad_acc_with added"),
        "{}",
        problems[1]
    );
    assert!(problems[2].contains("x[0]"), "{}", problems[2]);
}

#[test]
fn every_jvp_hvp_and_hessian_agrees_with_dual_numbers() {
    let Summary {
        failures,
        checks,
        points,
        skipped,
        skipped_grads,
    } = run(cases::SECOND);
    eprintln!(
        "{checks} generated functions with jvp and hessian ({} of them calling helpers with slices) \
         checked at {points} points ({skipped} with a non-finite value: values only; \
         {skipped_grads} derivatives too ill-conditioned to compare)",
        cases::PASSING_SLICES
    );
    assert!(
        checks >= 100,
        "only {checks} functions with jvp and hessian"
    );
    // Second derivatives through calls passing slices (a `vec!`, ranges,
    // chunks, `x`, nested and recursive helpers).
    const {
        assert!(
            cases::PASSING_SLICES >= 50,
            "fewer than 50 functions call helpers with slices"
        );
    }
    assert!(
        skipped * 20 < points,
        "{skipped} of {points} points skipped"
    );
    assert!(
        skipped_grads * 10 < points,
        "{skipped_grads} derivatives skipped"
    );
    assert!(
        failures.is_empty(),
        "{} disagreement(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
