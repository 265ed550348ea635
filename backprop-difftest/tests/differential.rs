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
//!   f64 dual evaluation disagree, or the f64 one moves when the point moves
//!   by a relative 2⁻⁴⁰), the component is not compared; fewer than 5% may
//!   be skipped.
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

    /// `v as i32` for the dual-number twins (`as` truncates and saturates).
    fn trunc_i32<D: Float>(v: D) -> i32 {
        v.to_f64().map_or(0, |f| f as i32)
    }

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
}

/// `a` and `b` are the same float bit for bit, or both NaN.
fn same_value(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Whether floating-point arithmetic determines the derivative `d` at a
/// point, to `tol`: `d64(scale)` is the same derivative in f64 dual numbers
/// with the point's coordinates multiplied by `scale`. An f32 derivative
/// must agree with the f64 one, and the f64 one must not move when the
/// point moves by a relative 2⁻⁴⁰ (it does where an ill-conditioned chain,
/// such as `sin` of a huge product, amplifies rounding beyond `tol`).
fn determined(d: f64, d64: impl Fn(f64) -> f64, tol: f64) -> bool {
    let at = d64(1.0);
    close(d, at, tol) && close(at, d64(1.0 + 2f64.powi(-40)), tol)
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

#[test]
fn every_generated_function_agrees_with_dual_numbers() {
    let mut failures = Vec::new();
    let (mut checks, mut points, mut skipped, mut skipped_grads) = (0, 0, 0, 0);
    for (name, check) in cases::CASES {
        let checked = check();
        for problem in checked.problems {
            failures.push(format!("{name}: {problem}"));
        }
        checks += 1;
        points += checked.points;
        skipped += checked.skipped;
        skipped_grads += checked.skipped_grads;
    }
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
