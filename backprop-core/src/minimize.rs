//! Minimizing a function given its gradient (and, for Newton's method, its
//! second derivatives), all on any [`Params`] type:
//!
//! - [`minimize`]: first-order descent with any [`Optimizer`] (`Sgd`,
//!   `Adam`, …) on a closure returning `(value, grad)`;
//! - [`lbfgs()`]: the quasi-Newton method L-BFGS, from the same closure,
//!   with a line search satisfying the strong Wolfe conditions;
//! - [`newton()`]: Newton's method with a trust region, from the closure and
//!   Hessian-vector products (`NAME_hvp` of `#[derive_grad(hessian)]`), or
//!   [`newton_with_hessian`] from a dense Hessian (`NAME_hessian`).
//!
//! All three return a [`Minimized`] and stop by the same rules
//! ([`MinimizeOptions`]); on a NaN or ±∞ they return an [`Error`] naming
//! the step and leave the parameters at the last point whose loss and
//! gradient were finite.

use std::fmt;

use num_traits::Float;

use crate::error::{check_grad, check_loss, guarded_step, At, Error};
use crate::optim::Optimizer;
use crate::params::{Params, Scalar};

pub mod lbfgs;
mod line_search;
pub mod newton;
#[cfg(test)]
mod solver_tests;

pub use lbfgs::{lbfgs, LbfgsOptions};
pub use newton::{newton, newton_with_hessian, NewtonOptions};

/// When [`minimize`] stops. Built with [`MinimizeOptions::new`] and the
/// chained setters; by default it runs 1000 steps with no tolerance.
///
/// [`LbfgsOptions`] and [`NewtonOptions`] hold one of these as their
/// `stop` field, with the same setters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinimizeOptions<F> {
    /// The most optimizer steps to take.
    pub max_steps: usize,
    /// Stop (before stepping) once the gradient's Euclidean norm is at most
    /// this.
    pub grad_tol: Option<F>,
    /// Stop once the loss changes by at most this (in absolute value) from
    /// one step to the next.
    pub loss_tol: Option<F>,
    /// Record the parameters after every step in [`Minimized::path`] (off by
    /// default: it keeps `steps + 1` copies of them).
    pub record_path: bool,
}

impl<F: Scalar> Default for MinimizeOptions<F> {
    fn default() -> Self {
        MinimizeOptions {
            max_steps: 1000,
            grad_tol: None,
            loss_tol: None,
            record_path: false,
        }
    }
}

impl<F: Scalar> MinimizeOptions<F> {
    /// 1000 steps, no tolerances.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the step limit.
    pub fn max_steps(mut self, n: usize) -> Self {
        self.max_steps = n;
        self
    }

    /// Stops once `‖grad‖ ≤ tol`.
    pub fn grad_tol(mut self, tol: F) -> Self {
        self.grad_tol = Some(tol);
        self
    }

    /// Stops once `|loss_k − loss_(k−1)| ≤ tol`.
    pub fn loss_tol(mut self, tol: F) -> Self {
        self.loss_tol = Some(tol);
        self
    }

    /// Records the parameters after every step in [`Minimized::path`] (for
    /// plotting the way a method went).
    pub fn record_path(mut self, on: bool) -> Self {
        self.record_path = on;
        self
    }

    /// The rule every minimizer applies after evaluating the loss: which
    /// tolerance is met, if any. `loss_change` is `|loss − previous loss|`
    /// when there is a previous loss to compare with (a trust-region step
    /// that was rejected leaves none: the loss did not change because the
    /// point did not move).
    pub(crate) fn reached(
        &self,
        grad_norm: F,
        loss_change: Option<F>,
        steps: usize,
    ) -> Option<StopReason> {
        if self.grad_tol.is_some_and(|tol| grad_norm <= tol) {
            Some(StopReason::GradientNorm)
        } else if self
            .loss_tol
            .is_some_and(|tol| loss_change.is_some_and(|d| d <= tol))
        {
            Some(StopReason::LossChange)
        } else if steps >= self.max_steps {
            Some(StopReason::MaxSteps)
        } else {
            None
        }
    }
}

/// Why [`minimize`], [`lbfgs()`] or [`newton()`] stopped (successfully).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// It took [`MinimizeOptions::max_steps`] steps.
    MaxSteps,
    /// The gradient norm fell to [`MinimizeOptions::grad_tol`].
    GradientNorm,
    /// The loss changed by no more than [`MinimizeOptions::loss_tol`].
    LossChange,
    /// [`lbfgs()`] or [`newton()`] could not make progress: the line search
    /// found no acceptable step even along the steepest-descent direction,
    /// or the trust region's model promised a decrease below the loss's
    /// rounding error and its step did not lower the gradient norm either.
    /// This is where a run without tolerances ends at a minimum (the
    /// gradient is then about as small as the function's rounding allows;
    /// see [`Minimized::grad_norm`]), but also where it ends on a function
    /// that is not smooth.
    NoProgress,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::MaxSteps => "step limit reached",
            StopReason::GradientNorm => "gradient norm below tolerance",
            StopReason::LossChange => "loss change below tolerance",
            StopReason::NoProgress => "no further decrease possible",
        })
    }
}

/// What [`minimize`], [`lbfgs()`] and [`newton()`] return.
#[derive(Clone, Debug, PartialEq)]
pub struct Minimized<F> {
    /// The loss at the final parameters.
    pub loss: F,
    /// The gradient norm at the final parameters.
    pub grad_norm: F,
    /// The number of steps taken: optimizer steps for [`minimize`],
    /// iterations (each one line search) for [`lbfgs()`], iterations (each
    /// one trust-region subproblem, the step accepted or not) for
    /// [`newton()`].
    pub steps: usize,
    /// The loss after `k` steps, for `k = 0..=steps` (so `history[0]` is the
    /// starting loss and `history.last()` is [`loss`](Minimized::loss)).
    pub history: Vec<F>,
    /// With [`MinimizeOptions::record_path`], the parameters after `k`
    /// steps, for `k = 0..=steps`, each as its elements in flat-index order
    /// ([`Params::to_vec`]); empty otherwise.
    pub path: Vec<Vec<F>>,
    /// How many times the `(value, gradient)` function was called: once per
    /// step and once at the start for [`minimize`] and [`newton()`] (whose
    /// rejected steps are steps too), once per trial point of the line
    /// searches for [`lbfgs()`].
    pub evaluations: usize,
    /// How many Hessian-vector products (or dense Hessians, for
    /// [`newton_with_hessian`]) were computed; 0 for the first-order
    /// methods.
    pub hessian_evaluations: usize,
    /// Why it stopped.
    pub stop: StopReason,
}

/// The record a minimizer keeps as it goes: the loss (and, when asked, the
/// parameters) after every step, and how many evaluations it made.
pub(crate) struct Record<F> {
    history: Vec<F>,
    path: Vec<Vec<F>>,
    record_path: bool,
    pub(crate) evaluations: usize,
    pub(crate) hessian_evaluations: usize,
}

impl<F: Scalar> Record<F> {
    pub(crate) fn new(options: &MinimizeOptions<F>) -> Self {
        // one entry per step: reserve for the step limit, within reason
        let cap = options.max_steps.saturating_add(1).min(1 << 16);
        Record {
            history: Vec::with_capacity(cap),
            path: Vec::new(),
            record_path: options.record_path,
            evaluations: 0,
            hessian_evaluations: 0,
        }
    }

    /// Notes the loss and parameters after one more step.
    pub(crate) fn push<P: Params<Scalar = F>>(&mut self, loss: F, params: &P) {
        self.history.push(loss);
        if self.record_path {
            self.path.push(params.to_vec());
        }
    }

    /// The loss before the last one pushed.
    pub(crate) fn previous(&self) -> Option<F> {
        self.history.len().checked_sub(2).map(|i| self.history[i])
    }

    pub(crate) fn finish(self, grad_norm: F, steps: usize, stop: StopReason) -> Minimized<F> {
        Minimized {
            loss: *self.history.last().expect("the starting loss is recorded"),
            grad_norm,
            steps,
            history: self.history,
            path: self.path,
            evaluations: self.evaluations,
            hessian_evaluations: self.hessian_evaluations,
            stop,
        }
    }
}

/// A constant of the element type (a float type converts every `f64`).
pub(crate) fn constant<F: Scalar>(x: f64) -> F {
    F::from(x).unwrap_or_else(F::nan)
}

/// Minimizes a function with `optimizer`, starting from and updating
/// `params`.
///
/// `f` returns the loss and its gradient at the given parameters — a
/// `#[derive_grad]` function's `NAME_grad` wrapped in a closure. Each round
/// evaluates `f`, checks the stopping rules, then steps:
///
/// 1. evaluate `(loss, grad) = f(params)` and record `loss`;
/// 2. stop with [`StopReason::GradientNorm`] if `‖grad‖ ≤ grad_tol`, with
///    [`StopReason::LossChange`] if `|loss − previous loss| ≤ loss_tol`, with
///    [`StopReason::MaxSteps`] after `max_steps` steps;
/// 3. otherwise `optimizer.step(params, &grad)`.
///
/// # Errors
///
/// If the loss or a gradient element is NaN or ±∞, or a step would make a
/// parameter non-finite, it stops with an [`Error`] naming the step, and
/// `params` are those of the last round whose loss and gradient were finite
/// (the offending step is undone): they are never overwritten with NaN.
///
/// ```
/// use backprop_core::{minimize, MinimizeOptions, Sgd, StopReason};
///
/// // f(x, y) = x² + y² from (1.5, 1.5) with learning rate 0.1 (seeds/001)
/// let mut p = [1.5_f64, 1.5];
/// let res = minimize(
///     &mut p,
///     &mut Sgd::new(0.1),
///     &MinimizeOptions::new().max_steps(50),
///     |p| (p[0] * p[0] + p[1] * p[1], [2.0 * p[0], 2.0 * p[1]]),
/// )
/// .unwrap();
/// assert_eq!(res.stop, StopReason::MaxSteps);
/// assert_eq!(res.history.len(), 51);
/// // each step multiplies the point by 0.8
/// assert!((p[0] - 1.5 * 0.8_f64.powi(50)).abs() < 1e-15);
/// ```
pub fn minimize<P, O, G>(
    params: &mut P,
    optimizer: &mut O,
    options: &MinimizeOptions<P::Scalar>,
    mut f: G,
) -> Result<Minimized<P::Scalar>, Error>
where
    P: Params,
    O: Optimizer<P> + ?Sized,
    G: FnMut(&P) -> (P::Scalar, P),
{
    let mut record = Record::new(options);
    let mut backup = params.clone();
    let mut steps = 0;
    loop {
        let at = At::Step(steps);
        let (loss, grad) = f(params);
        record.evaluations += 1;
        let bad = check_loss(loss, at).and_then(|()| check_grad(&grad, at));
        if let Err(e) = bad {
            if steps > 0 {
                // back to the last point whose loss and gradient were finite
                params.clone_from(&backup);
            }
            return Err(e);
        }
        record.push(loss, params);
        let grad_norm = grad.norm();
        let change = record.previous().map(|prev| (loss - prev).abs());
        if let Some(stop) = options.reached(grad_norm, change, steps) {
            return Ok(record.finish(grad_norm, steps, stop));
        }
        guarded_step(optimizer, params, &grad, &mut backup, at)?;
        steps += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Adam, Momentum, Sgd};

    #[test]
    fn seed_001_parabola_path() {
        // f(x) = x², x₀ = 5, lr 0.1: x_k = 5·0.8^k, f = 25·0.64^k (seeds/001)
        let mut x = 5.0_f64;
        let r = minimize(
            &mut x,
            &mut Sgd::new(0.1),
            &MinimizeOptions::new().max_steps(50),
            |&x| (x * x, 2.0 * x),
        )
        .unwrap();
        assert_eq!(r.steps, 50);
        assert_eq!(r.stop, StopReason::MaxSteps);
        for (k, &fk) in r.history.iter().enumerate() {
            let want = 25.0 * 0.64_f64.powi(k as i32);
            assert!((fk - want).abs() <= 1e-12 * want, "k = {k}");
        }
        assert!((x - 5.0 * 0.8_f64.powi(50)).abs() < 1e-15);
    }

    #[test]
    fn records_the_path_and_counts_evaluations() {
        // x_k = 5·0.8^k again, now kept step by step
        let mut x = 5.0_f64;
        let r = minimize(
            &mut x,
            &mut Sgd::new(0.1),
            &MinimizeOptions::new().max_steps(10).record_path(true),
            |&x| (x * x, 2.0 * x),
        )
        .unwrap();
        assert_eq!((r.evaluations, r.hessian_evaluations), (11, 0));
        assert_eq!(r.path.len(), 11);
        for (k, p) in r.path.iter().enumerate() {
            assert_eq!(p.len(), 1);
            assert!(
                (p[0] - 5.0 * 0.8_f64.powi(k as i32)).abs() < 1e-14,
                "k = {k}"
            );
        }
        assert_eq!(r.path[10], vec![x]);
        // off by default
        let r = minimize(
            &mut x,
            &mut Sgd::new(0.1),
            &MinimizeOptions::new().max_steps(3),
            |&x| (x * x, 2.0 * x),
        )
        .unwrap();
        assert!(r.path.is_empty());
    }

    #[test]
    fn stops_on_gradient_norm() {
        // x_k = 5·0.8^k, |g| = 10·0.8^k ≤ 1e-3 first at k = ⌈ln(1e-4)/ln 0.8⌉ = 42
        let mut x = 5.0_f64;
        let r = minimize(
            &mut x,
            &mut Sgd::new(0.1),
            &MinimizeOptions::new().grad_tol(1e-3),
            |&x| (x * x, 2.0 * x),
        )
        .unwrap();
        assert_eq!(r.stop, StopReason::GradientNorm);
        assert_eq!(r.steps, 42);
        assert!(r.grad_norm <= 1e-3);
        assert_eq!(r.history.len(), 43);
    }

    #[test]
    fn stops_on_loss_change() {
        // f_k − f_(k+1) = 25·0.64^k·0.36 ≤ 1e-6 first for k+1 = 38:
        // 9·0.64^k ≤ 1e-6 ⇔ k ≥ ln(1e-6/9)/ln 0.64 = 35.7… → k = 36, so the
        // loss after 37 steps is the first within tolerance of the one before.
        let mut x = 5.0_f64;
        let r = minimize(
            &mut x,
            &mut Sgd::new(0.1),
            &MinimizeOptions::new().loss_tol(1e-6),
            |&x| (x * x, 2.0 * x),
        )
        .unwrap();
        assert_eq!(r.stop, StopReason::LossChange);
        assert_eq!(r.steps, 37);
    }

    #[test]
    fn nan_loss_stops_and_keeps_last_finite_params() {
        // f(x) = x² but "NaN" once x < 1: from 5 with lr 0.1, x_k = 5·0.8^k
        // first drops below 1 at k = 8 (5·0.8^8 = 0.839); params must be x_7.
        let mut x = 5.0_f64;
        let err = minimize(&mut x, &mut Sgd::new(0.1), &MinimizeOptions::new(), |&x| {
            if x < 1.0 {
                (f64::NAN, 2.0 * x)
            } else {
                (x * x, 2.0 * x)
            }
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "loss is NaN at step 8");
        assert!((x - 5.0 * 0.8_f64.powi(7)).abs() < 1e-12);
    }

    #[test]
    fn infinite_gradient_at_start_leaves_params_untouched() {
        let mut p = ([1.0_f64, 2.0], 3.0);
        let err = minimize(&mut p, &mut Adam::new(0.1), &MinimizeOptions::new(), |p| {
            (1.0, ([0.0, f64::INFINITY], p.1))
        })
        .unwrap_err();
        assert_eq!(
            err,
            Error::NonFiniteGradient {
                at: At::Step(0),
                index: 1,
                path: ".0[1]".into(),
                value: f64::INFINITY
            }
        );
        assert_eq!(p, ([1.0, 2.0], 3.0));
    }

    #[test]
    fn overflowing_step_is_undone() {
        // finite loss and gradient 1e308, lr 1e10: the step overflows to −inf
        let mut x = 1.0_f64;
        let err = minimize(&mut x, &mut Sgd::new(1e10), &MinimizeOptions::new(), |_| {
            (0.0, 1e308)
        })
        .unwrap_err();
        assert!(matches!(
            err,
            Error::NonFiniteParams {
                at: At::Step(0),
                ..
            }
        ));
        assert_eq!(x, 1.0);
    }

    #[test]
    fn momentum_minimizes_a_nested_tuple() {
        // f(w) = ½‖w − c‖², minimum 0 at c
        let c = (1.0_f64, [[2.0, -1.0], [0.5, 3.0]]);
        let mut w = (0.0, [[0.0; 2]; 2]);
        let r = minimize(
            &mut w,
            &mut Momentum::new(0.1, 0.5),
            &MinimizeOptions::new().grad_tol(1e-10).max_steps(10_000),
            |w| {
                let mut d = *w;
                d.axpy(-1.0, &c);
                (0.5 * d.norm_squared(), d)
            },
        )
        .unwrap();
        assert_eq!(r.stop, StopReason::GradientNorm);
        assert!(r.loss < 1e-19);
    }
}
