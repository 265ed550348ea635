//! [`lbfgs`]: the limited-memory BFGS quasi-Newton method (Nocedal &
//! Wright, *Numerical Optimization*, 2nd ed., Algorithms 7.4 and 7.5).

use std::collections::VecDeque;

use num_traits::{Float, One, Zero};

use super::line_search::{strong_wolfe, Found, Wolfe};
use super::{constant, MinimizeOptions, Minimized, Record, StopReason};
use crate::error::{check_grad, check_loss, At, Error};
use crate::params::{Params, Scalar};

/// How [`lbfgs`] runs: its stopping rules ([`MinimizeOptions`]), its memory
/// and its line search. Built with [`LbfgsOptions::new`] and the chained
/// setters.
///
/// ```
/// use backprop_core::LbfgsOptions;
/// let o = LbfgsOptions::<f64>::new().grad_tol(1e-8).memory(5);
/// assert_eq!(o.stop.grad_tol, Some(1e-8));
/// assert_eq!((o.memory, o.c1, o.c2), (5, 1e-4, 0.9));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LbfgsOptions<F> {
    /// When to stop: step limit (default 1000), gradient-norm and
    /// loss-change tolerances (default none), path recording.
    pub stop: MinimizeOptions<F>,
    /// How many recent steps `(s, y)` the inverse-Hessian approximation is
    /// built from (default 10).
    pub memory: usize,
    /// The sufficient-decrease constant of the Wolfe conditions (default
    /// `1e-4`).
    pub c1: F,
    /// The curvature constant of the strong Wolfe conditions (default
    /// `0.9`, the usual value for quasi-Newton methods); `0 < c1 < c2 < 1`.
    pub c2: F,
    /// The most evaluations of the function in one line search (default
    /// 20).
    pub max_line_search: usize,
    /// An update `(s, y)` is skipped when `sᵀy ≤ curvature_eps·‖s‖·‖y‖`:
    /// without positive curvature along the step the BFGS update would not
    /// stay positive definite (default: the machine epsilon of `F`). The
    /// strong Wolfe conditions rule that out in exact arithmetic, so this
    /// only catches rounding.
    pub curvature_eps: F,
}

impl<F: Scalar> Default for LbfgsOptions<F> {
    fn default() -> Self {
        LbfgsOptions {
            stop: MinimizeOptions::default(),
            memory: 10,
            c1: constant(1e-4),
            c2: constant(0.9),
            max_line_search: 20,
            curvature_eps: F::epsilon(),
        }
    }
}

impl<F: Scalar> LbfgsOptions<F> {
    /// Memory 10, Wolfe constants `1e-4` and `0.9`, at most 1000 steps, no
    /// tolerances.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the step (iteration) limit.
    pub fn max_steps(mut self, n: usize) -> Self {
        self.stop.max_steps = n;
        self
    }

    /// Stops once `‖grad‖ ≤ tol`.
    pub fn grad_tol(mut self, tol: F) -> Self {
        self.stop.grad_tol = Some(tol);
        self
    }

    /// Stops once `|loss_k − loss_(k−1)| ≤ tol`.
    pub fn loss_tol(mut self, tol: F) -> Self {
        self.stop.loss_tol = Some(tol);
        self
    }

    /// Records the parameters after every step in [`Minimized::path`].
    pub fn record_path(mut self, on: bool) -> Self {
        self.stop.record_path = on;
        self
    }

    /// Sets the number of `(s, y)` pairs kept.
    pub fn memory(mut self, m: usize) -> Self {
        self.memory = m;
        self
    }

    /// Sets the Wolfe constants `c1` (sufficient decrease) and `c2`
    /// (curvature).
    pub fn wolfe(mut self, c1: F, c2: F) -> Self {
        self.c1 = c1;
        self.c2 = c2;
        self
    }

    /// Sets the evaluation budget of one line search.
    pub fn max_line_search(mut self, n: usize) -> Self {
        self.max_line_search = n;
        self
    }

    fn check(&self) -> Result<(), Error> {
        let (zero, one) = (F::zero(), F::one());
        if self.memory == 0 {
            return Err(Error::InvalidOptions("L-BFGS memory must be at least 1"));
        }
        if !(zero < self.c1 && self.c1 < self.c2 && self.c2 < one) {
            return Err(Error::InvalidOptions(
                "Wolfe constants must satisfy 0 < c1 < c2 < 1",
            ));
        }
        if self.max_line_search == 0 {
            return Err(Error::InvalidOptions(
                "a line search needs at least one evaluation",
            ));
        }
        if self.curvature_eps.is_nan() || self.curvature_eps < zero {
            return Err(Error::InvalidOptions("curvature_eps must be at least 0"));
        }
        Ok(())
    }
}

/// The `m` most recent steps `s = x_(k+1) − x_k` and gradient changes
/// `y = ∇f_(k+1) − ∇f_k`, with `ρ = 1 / sᵀy`.
struct Memory<P: Params> {
    pairs: VecDeque<(P, P, P::Scalar)>,
    capacity: usize,
    /// scratch for the two-loop recursion's `αᵢ`
    alphas: Vec<P::Scalar>,
}

impl<P: Params> Memory<P> {
    fn new(capacity: usize) -> Self {
        Memory {
            pairs: VecDeque::with_capacity(capacity),
            capacity,
            alphas: Vec::with_capacity(capacity),
        }
    }

    fn push(&mut self, s: P, y: P, sy: P::Scalar) {
        if self.pairs.len() == self.capacity {
            self.pairs.pop_front();
        }
        self.pairs.push_back((s, y, P::Scalar::one() / sy));
    }

    /// The search direction `d = −H·g` by the two-loop recursion
    /// (Algorithm 7.4), with `H₀ = γI`, `γ = sᵀy / yᵀy` of the newest pair
    /// (eq. 7.20): the scaling that makes the unit step usually acceptable.
    /// With no pairs, `d = −g`.
    fn direction(&mut self, g: &P) -> P {
        let mut q = g.clone();
        self.alphas.clear();
        for (s, y, rho) in self.pairs.iter().rev() {
            let a = *rho * s.dot(&q);
            q.axpy(-a, y);
            self.alphas.push(a);
        }
        if let Some((s, y, _)) = self.pairs.back() {
            q.scale(s.dot(y) / y.norm_squared());
        }
        for ((s, y, rho), &a) in self.pairs.iter().zip(self.alphas.iter().rev()) {
            let b = *rho * y.dot(&q);
            q.axpy(a - b, s);
        }
        q.scale(-P::Scalar::one());
        q
    }
}

/// Minimizes `f` by L-BFGS, starting from and updating `params`.
///
/// `f` returns the loss and its gradient, as [`minimize`](crate::minimize())
/// takes it (a `#[derive_grad]` function's `NAME_grad` in a closure). Each
/// step builds the direction `d = −H·∇f` from the last
/// [`memory`](LbfgsOptions::memory) steps by the two-loop recursion, and
/// searches along it for a step length satisfying the strong Wolfe
/// conditions, first trying `α = 1` (at the first step, and after the
/// memory is cleared, where `d = −∇f` has no curvature information behind
/// its length, a step of length `min(1, ‖∇f‖)`). Updates without positive
/// curvature are skipped; a direction that is not downhill (from rounding)
/// clears the memory. Where the loss has reached its rounding floor, so
/// that a decrease can no longer be measured, a step is accepted by Hager
/// and Zhang's approximate Wolfe conditions (slopes instead of values).
///
/// The stopping rules are those of [`MinimizeOptions`], checked at the
/// start and after every step, plus: a gradient exactly zero stops with
/// [`StopReason::GradientNorm`], and when no step along even the
/// steepest-descent direction is acceptable it stops with
/// [`StopReason::NoProgress`] (a run without tolerances ends there, at the
/// floor the loss's rounding allows).
///
/// On a quadratic with an `n × n` Hessian it converges in about `n` steps;
/// on smooth functions, superlinearly near a minimum. [`Minimized::steps`]
/// counts iterations, [`Minimized::evaluations`] calls of `f`.
///
/// # Errors
///
/// [`Error::InvalidOptions`] for memory 0 or Wolfe constants outside
/// `0 < c1 < c2 < 1`. If the loss or a gradient element is NaN or ±∞ —
/// at an accepted point or at a trial point of the line search — or a
/// trial point overflows, an [`Error`] naming the step, with `params` at
/// the last accepted point: they are never left NaN.
///
/// ```
/// use backprop_core::{lbfgs, LbfgsOptions, StopReason};
///
/// // Rosenbrock's function and its gradient, by hand (with
/// // #[derive_grad] this is `|x| rosenbrock_grad(*x)`).
/// let f = |x: &[f64; 2]| {
///     let (a, b) = (x[1] - x[0] * x[0], 1.0 - x[0]);
///     (100.0 * a * a + b * b, [-400.0 * x[0] * a - 2.0 * b, 200.0 * a])
/// };
/// let mut x = [-1.2, 1.0];
/// let r = lbfgs(&mut x, &LbfgsOptions::new().grad_tol(1e-8), f).unwrap();
/// assert_eq!(r.stop, StopReason::GradientNorm);
/// assert!((x[0] - 1.0).abs() < 1e-8 && (x[1] - 1.0).abs() < 1e-8);
/// assert!(r.steps < 60, "{} steps", r.steps);
/// ```
pub fn lbfgs<P, G>(
    params: &mut P,
    options: &LbfgsOptions<P::Scalar>,
    mut f: G,
) -> Result<Minimized<P::Scalar>, Error>
where
    P: Params,
    G: FnMut(&P) -> (P::Scalar, P),
{
    options.check()?;
    let zero = P::Scalar::zero();
    let wolfe = Wolfe {
        c1: options.c1,
        c2: options.c2,
        max_evaluations: options.max_line_search,
    };
    let mut record = Record::new(&options.stop);
    let (mut value, mut grad) = f(params);
    record.evaluations += 1;
    check_loss(value, At::Step(0))?;
    check_grad(&grad, At::Step(0))?;
    record.push(value, params);

    let mut memory = Memory::new(options.memory);
    let mut steps = 0;
    let mut change = None;
    loop {
        let grad_norm = grad.norm();
        if grad_norm == zero {
            return Ok(record.finish(grad_norm, steps, StopReason::GradientNorm));
        }
        if let Some(stop) = options.stop.reached(grad_norm, change, steps) {
            return Ok(record.finish(grad_norm, steps, stop));
        }
        let at = At::Step(steps + 1);
        let found = loop {
            let mut d = memory.direction(&grad);
            let mut slope = grad.dot(&d);
            if slope.is_nan() || slope >= zero {
                // Rounding can make −H·g point uphill; start afresh.
                memory.pairs.clear();
                d = grad.clone();
                d.scale(-P::Scalar::one());
                slope = -grad_norm * grad_norm;
            }
            // Without curvature information the scale of d is the
            // gradient's: try a step of length 1 (capped at α = 1).
            let alpha1 = if memory.pairs.is_empty() {
                P::Scalar::one().min(P::Scalar::one() / grad_norm)
            } else {
                P::Scalar::one()
            };
            let found = strong_wolfe(
                params,
                value,
                slope,
                &d,
                alpha1,
                &wolfe,
                &mut f,
                &mut record,
                at,
            )?;
            match found {
                Found::Nothing if !memory.pairs.is_empty() => {
                    // retry along the steepest-descent direction
                    memory.pairs.clear();
                }
                found => break found,
            }
        };
        let trial = match found {
            Found::Wolfe(t) | Found::Decrease(t) => t,
            Found::Nothing => {
                return Ok(record.finish(grad_norm, steps, StopReason::NoProgress));
            }
        };
        // s = x_(k+1) − x_k, y = ∇f_(k+1) − ∇f_k
        let mut s = trial.x.clone();
        s.axpy(-P::Scalar::one(), params);
        let mut y = trial.grad.clone();
        y.axpy(-P::Scalar::one(), &grad);
        let sy = s.dot(&y);
        if sy > options.curvature_eps * s.norm() * y.norm() {
            memory.push(s, y, sy);
        }
        change = Some((value - trial.value).abs());
        *params = trial.x;
        value = trial.value;
        grad = trial.grad;
        steps += 1;
        record.push(value, params);
    }
}
