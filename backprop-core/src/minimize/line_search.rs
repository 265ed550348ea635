//! A line search satisfying the strong Wolfe conditions: Nocedal & Wright,
//! *Numerical Optimization* (2nd ed.), Algorithm 3.5 (bracketing) and
//! Algorithm 3.6 (zoom), with the zoom's trial steps by safeguarded cubic
//! interpolation (their eq. 3.59).
//!
//! Every evaluation of the objective returns the gradient too (that is what
//! `NAME_grad` computes), so each trial point's slope `φ'(α) = ∇f(x + αd)·d`
//! comes for free and every interpolation is cubic.

use num_traits::{Float, One, Zero};

use super::{constant, Record};
use crate::error::{check_grad, check_loss, check_params, At, Error};
use crate::params::{Params, Scalar};

/// The two constants of the strong Wolfe conditions and the evaluation
/// budget of one search.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wolfe<F> {
    /// Sufficient decrease: `φ(α) ≤ φ(0) + c1·α·φ'(0)`.
    pub c1: F,
    /// Curvature: `|φ'(α)| ≤ c2·|φ'(0)|`.
    pub c2: F,
    /// The most evaluations of the objective in one search.
    pub max_evaluations: usize,
}

/// A point on the search line `x + α·d`, evaluated.
pub(crate) struct Trial<P: Params> {
    pub alpha: P::Scalar,
    pub x: P,
    pub value: P::Scalar,
    pub grad: P,
    /// `φ'(α) = ∇f(x + αd)·d`.
    pub slope: P::Scalar,
}

/// How a search ended.
pub(crate) enum Found<P: Params> {
    /// A step satisfying both strong Wolfe conditions.
    Wolfe(Trial<P>),
    /// The budget ran out, or the bracket shrank to nothing, after a step
    /// with sufficient decrease but not the curvature condition: the best
    /// such step (it still lowers the loss).
    Decrease(Trial<P>),
    /// No step with sufficient decrease was found.
    Nothing,
}

/// Searches along `d` from `x` (where the loss is `value0` and the slope
/// `slope0 < 0`), first trying the step `alpha1`.
///
/// A loss or gradient that is not finite at a trial point, or a trial point
/// that overflows, is an [`Error`] at `at`.
#[allow(clippy::too_many_arguments)] // the state of one search, passed once
pub(crate) fn strong_wolfe<P, G>(
    x: &P,
    value0: P::Scalar,
    slope0: P::Scalar,
    d: &P,
    alpha1: P::Scalar,
    wolfe: &Wolfe<P::Scalar>,
    f: &mut G,
    record: &mut Record<P::Scalar>,
    at: At,
) -> Result<Found<P>, Error>
where
    P: Params,
    G: FnMut(&P) -> (P::Scalar, P),
{
    let zero = P::Scalar::zero();
    let mut evaluations = 0;
    let mut eval = |alpha: P::Scalar| -> Result<Trial<P>, Error> {
        record.evaluations += 1;
        let mut xt = x.clone();
        xt.axpy(alpha, d);
        check_params(&xt, at)?;
        let (value, grad) = f(&xt);
        check_loss(value, at)?;
        check_grad(&grad, at)?;
        let slope = grad.dot(d);
        Ok(Trial {
            alpha,
            x: xt,
            value,
            grad,
            slope,
        })
    };
    let armijo = |t: &Trial<P>| t.value <= value0 + wolfe.c1 * t.alpha * slope0;
    let curvature = |t: &Trial<P>| t.slope.abs() <= -wolfe.c2 * slope0;
    let floor = rounding_floor(value0);

    // Algorithm 3.5: step forward until the interval [previous, current]
    // brackets a Wolfe point. `prev` is `None` for α = 0 (the start).
    let mut prev: Option<Trial<P>> = None;
    let mut alpha = alpha1;
    loop {
        let t = eval(alpha)?;
        evaluations += 1;
        if approximately_wolfe(&t, value0, floor, slope0, wolfe) {
            return Ok(Found::Wolfe(t));
        }
        let prev_value = prev.as_ref().map_or(value0, |p| p.value);
        if !armijo(&t) || (prev.is_some() && t.value >= prev_value) {
            return zoom(prev, t, value0, slope0, wolfe, &mut eval, evaluations);
        }
        if curvature(&t) {
            return Ok(Found::Wolfe(t));
        }
        if t.slope >= zero {
            // the minimum along the line is behind: bracket [t, prev]
            return zoom(
                Some(t),
                End::from(prev),
                value0,
                slope0,
                wolfe,
                &mut eval,
                evaluations,
            );
        }
        if evaluations >= wolfe.max_evaluations {
            // still going down: the step is good, if not the best
            return Ok(Found::Decrease(t));
        }
        // Extrapolate by the factor 4 that Moré and Thuente use.
        alpha = t.alpha * constant(4.0);
        prev = Some(t);
    }
}

/// How far a loss near `value` may be off by rounding, for judging
/// decreases: a thousand units in its last place. Differences of losses
/// below this say nothing about the function.
pub(crate) fn rounding_floor<F: Scalar>(value: F) -> F {
    constant::<F>(1000.0) * F::epsilon() * value.abs()
}

/// Hager & Zhang's approximate Wolfe conditions (SIAM J. Optim. 16, 2005),
/// for when the loss has reached its rounding floor and sufficient
/// decrease can no longer be verified from values: the loss is within
/// rounding of `φ(0)`, and the slope satisfies both the curvature
/// condition and `φ'(α) ≤ (2c1 − 1)·φ'(0)`, which on a quadratic is
/// exactly the sufficient-decrease condition (there `φ(α) − φ(0) =
/// α(φ'(0) + φ'(α))/2`). Without it a line search at the floor fails and
/// the gradient stops short of what its own rounding allows whenever the
/// minimum's loss is not 0.
fn approximately_wolfe<P: Params>(
    t: &Trial<P>,
    value0: P::Scalar,
    floor: P::Scalar,
    slope0: P::Scalar,
    wolfe: &Wolfe<P::Scalar>,
) -> bool {
    let two = constant::<P::Scalar>(2.0);
    t.value <= value0 + floor
        && t.slope <= (two * wolfe.c1 - P::Scalar::one()) * slope0
        && t.slope.abs() <= -wolfe.c2 * slope0
}

/// The far end of a zoom's bracket: a trial, or the start (α = 0).
enum End<P: Params> {
    Start,
    At(Trial<P>),
}

impl<P: Params> From<Option<Trial<P>>> for End<P> {
    fn from(t: Option<Trial<P>>) -> Self {
        t.map_or(End::Start, End::At)
    }
}

impl<P: Params> From<Trial<P>> for End<P> {
    fn from(t: Trial<P>) -> Self {
        End::At(t)
    }
}

/// Algorithm 3.6: `lo` (`None`: the start) is the best point with
/// sufficient decrease so far, and the interval between `lo` and `hi`
/// contains a strong Wolfe point; shrink it until one is found.
fn zoom<P, E>(
    lo: Option<Trial<P>>,
    hi: impl Into<End<P>>,
    value0: P::Scalar,
    slope0: P::Scalar,
    wolfe: &Wolfe<P::Scalar>,
    eval: &mut E,
    mut evaluations: usize,
) -> Result<Found<P>, Error>
where
    P: Params,
    E: FnMut(P::Scalar) -> Result<Trial<P>, Error>,
{
    let zero = P::Scalar::zero();
    let mut lo = lo;
    let mut hi = hi.into();
    // (α, φ, φ') of either end
    let ends = |t: &Option<Trial<P>>| {
        t.as_ref()
            .map_or((zero, value0, slope0), |t| (t.alpha, t.value, t.slope))
    };
    let end = |t: &End<P>| match t {
        End::Start => (zero, value0, slope0),
        End::At(t) => (t.alpha, t.value, t.slope),
    };
    loop {
        let (a_lo, f_lo, g_lo) = ends(&lo);
        let (a_hi, f_hi, g_hi) = end(&hi);
        let width = (a_hi - a_lo).abs();
        if evaluations >= wolfe.max_evaluations
            || width <= P::Scalar::epsilon() * a_lo.abs().max(a_hi.abs())
        {
            return Ok(lo.map_or(Found::Nothing, Found::Decrease));
        }
        let alpha = cubic_step(a_lo, f_lo, g_lo, a_hi, f_hi, g_hi);
        let t = eval(alpha)?;
        evaluations += 1;
        if approximately_wolfe(&t, value0, rounding_floor(value0), slope0, wolfe) {
            return Ok(Found::Wolfe(t));
        }
        if t.value > value0 + wolfe.c1 * t.alpha * slope0 || t.value >= f_lo {
            hi = End::At(t);
        } else {
            if t.slope.abs() <= -wolfe.c2 * slope0 {
                return Ok(Found::Wolfe(t));
            }
            if t.slope * (a_hi - a_lo) >= zero {
                hi = End::from(lo);
            }
            lo = Some(t);
        }
    }
}

/// The minimizer of the cubic through `(a, fa)`, `(b, fb)` with slopes
/// `ga`, `gb` (Nocedal & Wright eq. 3.59), kept at least a tenth of the
/// interval away from either end; the midpoint when the cubic has no
/// minimizer there or rounding spoils it.
fn cubic_step<F: Scalar>(a: F, fa: F, ga: F, b: F, fb: F, gb: F) -> F {
    let mid = (a + b) / constant(2.0);
    let d1 = ga + gb - constant::<F>(3.0) * (fa - fb) / (a - b);
    let disc = d1 * d1 - ga * gb;
    if disc.is_nan() || disc < F::zero() {
        return mid;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    let t = b - (b - a) * ((gb + d2 - d1) / (gb - ga + constant::<F>(2.0) * d2));
    let (lo, hi) = (a.min(b), a.max(b));
    let margin = (hi - lo) * constant(0.1);
    if t.is_finite() && t >= lo + margin && t <= hi - margin {
        t
    } else {
        mid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minimize::MinimizeOptions;

    const W: Wolfe<f64> = Wolfe {
        c1: 1e-4,
        c2: 0.9,
        max_evaluations: 20,
    };

    #[test]
    fn cubic_step_is_exact_on_a_cubic() {
        // φ(α) = (α − 1)³ − 3(α − 1) + 5 has its local minimum at α = 2;
        // φ'(α) = 3(α − 1)² − 3. From a = 1.5 and b = 3 the cubic through
        // both ends is φ itself.
        let phi = |a: f64| (a - 1.0).powi(3) - 3.0 * (a - 1.0) + 5.0;
        let dphi = |a: f64| 3.0 * (a - 1.0).powi(2) - 3.0;
        let t = cubic_step(1.5, phi(1.5), dphi(1.5), 3.0, phi(3.0), dphi(3.0));
        assert!((t - 2.0).abs() < 1e-14, "{t}");
        // and from the other side
        let t = cubic_step(3.0, phi(3.0), dphi(3.0), 1.5, phi(1.5), dphi(1.5));
        assert!((t - 2.0).abs() < 1e-14, "{t}");
    }

    #[test]
    fn a_quadratic_line_is_searched_to_its_minimum() {
        // f(x) = (x − 3)², from 0 along d = 1: φ(α) = (α − 3)², minimum at
        // α = 3; with c2 = 0.1 a Wolfe point needs |φ'(α)| ≤ 0.6. α = 1 has
        // φ'(1) = −4: extrapolate to α = 4, where φ'(4) = 2 > 0 brackets
        // [1, 4]; the cubic through two points of a parabola with their
        // slopes is the parabola, so the third trial is α = 3 exactly.
        let mut record = Record::new(&MinimizeOptions::<f64>::new());
        let mut f = |x: &f64| ((x - 3.0) * (x - 3.0), 2.0 * (x - 3.0));
        let wolfe = Wolfe { c2: 0.1, ..W };
        let found = strong_wolfe(
            &0.0,
            9.0,
            -6.0,
            &1.0,
            1.0,
            &wolfe,
            &mut f,
            &mut record,
            At::Step(1),
        );
        let Ok(Found::Wolfe(t)) = found else {
            panic!("no Wolfe point")
        };
        assert!((t.alpha - 3.0).abs() < 1e-12, "{}", t.alpha);
        assert_eq!(record.evaluations, 3);
    }

    #[test]
    fn a_step_too_long_is_cut_back() {
        // φ(α) = (α − 0.01)² along d = 1 from 0: α = 1 fails sufficient
        // decrease; the zoom must find a point with |φ'| ≤ 0.9·0.02.
        let mut record = Record::new(&MinimizeOptions::<f64>::new());
        let mut f = |x: &f64| ((x - 0.01) * (x - 0.01), 2.0 * (x - 0.01));
        let found = strong_wolfe(
            &0.0,
            1e-4,
            -0.02,
            &1.0,
            1.0,
            &W,
            &mut f,
            &mut record,
            At::Step(1),
        );
        let Ok(Found::Wolfe(t)) = found else {
            panic!("no Wolfe point")
        };
        assert!(t.value <= 1e-4 + 1e-4 * t.alpha * -0.02);
        assert!((2.0 * (t.alpha - 0.01)).abs() <= 0.9 * 0.02);
    }

    #[test]
    fn unbounded_below_gives_a_decrease_within_budget() {
        // φ(α) = −α never satisfies the curvature condition.
        let mut record = Record::new(&MinimizeOptions::<f64>::new());
        let mut f = |x: &f64| (-x, -1.0);
        let found = strong_wolfe(
            &0.0,
            0.0,
            -1.0,
            &1.0,
            1.0,
            &W,
            &mut f,
            &mut record,
            At::Step(1),
        );
        let Ok(Found::Decrease(t)) = found else {
            panic!("expected a plain decrease")
        };
        assert_eq!(record.evaluations, 20);
        assert_eq!(t.alpha, 4.0_f64.powi(19));
    }

    #[test]
    fn nan_at_a_trial_point_is_an_error_at_the_step() {
        let mut record = Record::new(&MinimizeOptions::<f64>::new());
        let mut f = |x: &f64| {
            if *x > 0.5 {
                (f64::NAN, 0.0)
            } else {
                (x * x, 2.0 * x)
            }
        };
        let found = strong_wolfe(
            &0.0,
            0.0,
            -1.0,
            &1.0,
            1.0,
            &W,
            &mut f,
            &mut record,
            At::Step(7),
        );
        let Err(e) = found else {
            panic!("expected an error")
        };
        assert_eq!(e.to_string(), "loss is NaN at step 7");
    }
}
