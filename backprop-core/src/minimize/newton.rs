//! [`newton`] and [`newton_with_hessian`]: Newton's method with a trust
//! region (Nocedal & Wright, *Numerical Optimization*, 2nd ed., Algorithm
//! 4.1), the subproblem solved by the Steihaug–Toint truncated conjugate
//! gradient method (their Algorithm 7.2).
//!
//! The conjugate gradient method touches the Hessian only through products
//! `H·v`, so any [`Params`] type works — nested arrays, tuples, `Vec`s,
//! structs — and nothing of size `n²` is formed unless the caller hands in
//! a dense Hessian.

use num_traits::{Float, One, Zero};

use super::line_search::rounding_floor;
use super::{constant, MinimizeOptions, Minimized, Record, StopReason};
use crate::error::{check_grad, check_hessian, check_loss, check_params, At, Error};
use crate::params::{Params, Scalar};

/// How [`newton`] and [`newton_with_hessian`] run: their stopping rules
/// ([`MinimizeOptions`]) and trust region. Built with
/// [`NewtonOptions::new`] and the chained setters; the trust-region
/// defaults are SciPy's `trust-ncg` ones (radius 1, at most 1000, steps
/// accepted when they achieve more than 15% of the predicted decrease).
///
/// ```
/// use backprop_core::NewtonOptions;
/// let o = NewtonOptions::<f64>::new().grad_tol(1e-10).initial_radius(10.0);
/// assert_eq!(o.stop.grad_tol, Some(1e-10));
/// assert_eq!((o.initial_radius, o.max_radius, o.eta), (10.0, 1000.0, 0.15));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NewtonOptions<F> {
    /// When to stop: step limit (default 1000), gradient-norm and
    /// loss-change tolerances (default none), path recording.
    pub stop: MinimizeOptions<F>,
    /// The trust region's first radius (default 1).
    pub initial_radius: F,
    /// The largest radius (default 1000).
    pub max_radius: F,
    /// A step is taken when the loss falls by more than `eta` times the
    /// decrease the quadratic model predicted (default 0.15; `0 ≤ eta <
    /// ¼`).
    pub eta: F,
    /// The conjugate gradient iterations stop once the model's gradient is
    /// at most `min(forcing, √‖g‖)·‖g‖` (default 0.1): loose far from a
    /// minimum, tight near it, which makes the convergence superlinear
    /// (Nocedal & Wright eq. 7.3). A tiny value solves every Newton system
    /// exactly.
    pub forcing: F,
    /// The most conjugate gradient iterations (Hessian-vector products) per
    /// step; `None` (the default) means the number of elements, where the
    /// method ends in exact arithmetic.
    pub max_cg_iterations: Option<usize>,
}

impl<F: Scalar> Default for NewtonOptions<F> {
    fn default() -> Self {
        NewtonOptions {
            stop: MinimizeOptions::default(),
            initial_radius: F::one(),
            max_radius: constant(1000.0),
            eta: constant(0.15),
            forcing: constant(0.1),
            max_cg_iterations: None,
        }
    }
}

impl<F: Scalar> NewtonOptions<F> {
    /// Radius 1 (at most 1000), `eta` 0.15, forcing 0.1, at most 1000
    /// steps, no tolerances.
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

    /// Stops once the loss changes by at most `tol` in a step that is taken
    /// (a rejected trial step does not count: the point did not move).
    pub fn loss_tol(mut self, tol: F) -> Self {
        self.stop.loss_tol = Some(tol);
        self
    }

    /// Records the parameters after every step in [`Minimized::path`].
    pub fn record_path(mut self, on: bool) -> Self {
        self.stop.record_path = on;
        self
    }

    /// Sets the first radius of the trust region.
    pub fn initial_radius(mut self, r: F) -> Self {
        self.initial_radius = r;
        self
    }

    /// Sets the largest radius of the trust region.
    pub fn max_radius(mut self, r: F) -> Self {
        self.max_radius = r;
        self
    }

    /// Sets the acceptance threshold `eta`.
    pub fn eta(mut self, eta: F) -> Self {
        self.eta = eta;
        self
    }

    /// Sets the forcing constant of the conjugate gradient stopping rule.
    pub fn forcing(mut self, forcing: F) -> Self {
        self.forcing = forcing;
        self
    }

    /// Caps the conjugate gradient iterations per step.
    pub fn max_cg_iterations(mut self, n: usize) -> Self {
        self.max_cg_iterations = Some(n);
        self
    }

    fn check(&self) -> Result<(), Error> {
        let zero = F::zero();
        if !(self.initial_radius > zero && self.initial_radius.is_finite()) {
            return Err(Error::InvalidOptions(
                "the initial trust radius must be positive and finite",
            ));
        }
        if self.max_radius.is_nan() || self.max_radius < self.initial_radius {
            return Err(Error::InvalidOptions(
                "the largest trust radius must be at least the initial one",
            ));
        }
        if !(zero <= self.eta && self.eta < constant(0.25)) {
            return Err(Error::InvalidOptions("eta must satisfy 0 ≤ eta < 1/4"));
        }
        if !(zero < self.forcing && self.forcing < F::one()) {
            return Err(Error::InvalidOptions("forcing must be in (0, 1)"));
        }
        if self.max_cg_iterations == Some(0) {
            return Err(Error::InvalidOptions(
                "at least one conjugate gradient iteration is needed",
            ));
        }
        Ok(())
    }
}

/// Where the Hessian comes from: products `H(x)·v` computed on demand, or a
/// dense Hessian computed once per point.
trait Curvature<P: Params> {
    /// Called at every new point before its products.
    fn at_point(&mut self, x: &P, at: At, record: &mut Record<P::Scalar>) -> Result<(), Error>;
    /// `H(x)·v`.
    fn product(&mut self, x: &P, v: &P, at: At, record: &mut Record<P::Scalar>)
        -> Result<P, Error>;
}

/// `H·v` from a closure `hvp(x, v)`.
struct Products<H>(H);

impl<P: Params, H: FnMut(&P, &P) -> P> Curvature<P> for Products<H> {
    fn at_point(&mut self, _: &P, _: At, _: &mut Record<P::Scalar>) -> Result<(), Error> {
        Ok(())
    }

    fn product(
        &mut self,
        x: &P,
        v: &P,
        at: At,
        record: &mut Record<P::Scalar>,
    ) -> Result<P, Error> {
        record.hessian_evaluations += 1;
        let hv = (self.0)(x, v);
        check_hessian(&hv, at)?;
        Ok(hv)
    }
}

/// `H·v` from a dense Hessian: any [`Params`] value with `n²` elements,
/// read in flat order as a row-major `n × n` matrix.
struct Dense<P: Params, H> {
    hessian: H,
    /// the Hessian at the current point, row-major
    matrix: Vec<P::Scalar>,
    /// scratch for `v`'s elements
    v: Vec<P::Scalar>,
}

impl<P, H, M> Curvature<P> for Dense<P, H>
where
    P: Params,
    H: FnMut(&P) -> M,
    M: Params<Scalar = P::Scalar>,
{
    fn at_point(&mut self, x: &P, at: At, record: &mut Record<P::Scalar>) -> Result<(), Error> {
        record.hessian_evaluations += 1;
        let h = (self.hessian)(x);
        let n = x.len();
        assert!(
            h.len() == n * n,
            "the Hessian has {} elements; {n} parameters need {n}² = {}",
            h.len(),
            n * n
        );
        check_hessian(&h, at)?;
        self.matrix.clear();
        h.for_each(&mut |e| self.matrix.push(e));
        Ok(())
    }

    fn product(&mut self, _: &P, v: &P, _: At, _: &mut Record<P::Scalar>) -> Result<P, Error> {
        self.v.clear();
        v.for_each(&mut |e| self.v.push(e));
        let n = self.v.len();
        let mut out = v.clone();
        let mut rows = self.matrix.chunks_exact(n.max(1));
        out.for_each_mut(&mut |o| {
            let row = rows.next().expect("n rows");
            *o = row
                .iter()
                .zip(&self.v)
                .fold(P::Scalar::zero(), |s, (&h, &v)| s + h * v);
        });
        Ok(out)
    }
}

/// An approximate solution of the trust-region subproblem
/// `min gᵀp + ½pᵀHp` subject to `‖p‖ ≤ Δ`.
struct Step<P: Params> {
    p: P,
    /// `−(gᵀp + ½pᵀHp)`: the decrease the model promises.
    predicted: P::Scalar,
    /// `‖p‖ = Δ`: the step was cut by the region.
    on_boundary: bool,
}

/// The two solutions `τ₋ ≤ 0 ≤ τ₊` of `‖z + τd‖ = Δ` for `‖z‖ ≤ Δ`,
/// computed without cancellation.
fn boundary_roots<P: Params>(z: &P, d: &P, radius: P::Scalar) -> (P::Scalar, P::Scalar) {
    let two = constant::<P::Scalar>(2.0);
    let a = d.norm_squared();
    let b = two * z.dot(d);
    let c = (z.norm_squared() - radius * radius).min(P::Scalar::zero());
    let disc = (b * b - constant::<P::Scalar>(4.0) * a * c).max(P::Scalar::zero());
    let q = -(b + b.signum() * disc.sqrt()) / two;
    let (r1, r2) = (q / a, if q == P::Scalar::zero() { q } else { c / q });
    (r1.min(r2), r1.max(r2))
}

/// Steihaug–Toint conjugate gradients (Nocedal & Wright, Algorithm 7.2) on
/// the model `gᵀp + ½pᵀHp` within radius `Δ`: from `p = 0`, stop at the
/// boundary, on negative curvature (going to the boundary along it) or
/// once the model's gradient is small.
#[allow(clippy::too_many_arguments)] // the state of one subproblem
fn steihaug<P: Params, C: Curvature<P>>(
    x: &P,
    g: &P,
    radius: P::Scalar,
    forcing: P::Scalar,
    max_iterations: usize,
    curvature: &mut C,
    record: &mut Record<P::Scalar>,
    at: At,
) -> Result<Step<P>, Error> {
    let zero = P::Scalar::zero();
    let one = P::Scalar::one();
    let half = constant::<P::Scalar>(0.5);
    let gnorm = g.norm();
    let tolerance = forcing.min(gnorm.sqrt()) * gnorm;
    // z: the iterate; r = g + Hz: the model's gradient at z; d: the
    // direction. H·z is r − g, so the model's value needs no extra product.
    let mut z = g.zeros_like();
    let mut r = g.clone();
    let mut d = g.clone();
    d.scale(-one);
    let mut rr = r.norm_squared();
    // The step p = z + τd, with H·p = (r − g) + τ·Hd.
    let finish = |z: &P, r: &P, d: &P, hd: Option<&P>, tau: P::Scalar, on_boundary: bool| {
        let mut p = z.clone();
        let mut hp = r.clone();
        hp.axpy(-one, g);
        if let Some(hd) = hd {
            p.axpy(tau, d);
            hp.axpy(tau, hd);
        }
        let predicted = -(g.dot(&p) + half * p.dot(&hp));
        Step {
            p,
            predicted,
            on_boundary,
        }
    };
    for _ in 0..max_iterations {
        let hd = curvature.product(x, &d, at, record)?;
        let dhd = d.dot(&hd);
        if dhd <= zero {
            // Negative (or no) curvature along d: the model falls without
            // bound along it, so go to the boundary, to whichever of the
            // two crossing points has the lower model value
            // m(z + τd) − m(z) = τ·rᵀd + ½τ²·dᵀHd.
            let (t1, t2) = boundary_roots(&z, &d, radius);
            let rd = r.dot(&d);
            let m = |t: P::Scalar| t * rd + half * t * t * dhd;
            let tau = if m(t1) < m(t2) { t1 } else { t2 };
            return Ok(finish(&z, &r, &d, Some(&hd), tau, true));
        }
        let alpha = rr / dhd;
        let mut z_next = z.clone();
        z_next.axpy(alpha, &d);
        if z_next.norm() >= radius {
            let (_, tau) = boundary_roots(&z, &d, radius);
            return Ok(finish(&z, &r, &d, Some(&hd), tau, true));
        }
        z = z_next;
        r.axpy(alpha, &hd);
        let rr_next = r.norm_squared();
        if rr_next.sqrt() < tolerance {
            break;
        }
        d.scale(rr_next / rr);
        d.axpy(-one, &r);
        rr = rr_next;
    }
    Ok(finish(&z, &r, &d, None, zero, false))
}

/// Minimizes `f` by Newton's method with a trust region, starting from and
/// updating `params`, with the Hessian given through products:
/// `hvp(x, v)` returns `H(x)·v`, the Hessian of the loss at `x` times `v`
/// (both of `x`'s type).
///
/// `f` returns the loss and its gradient, as for
/// [`minimize`](crate::minimize()). With `#[derive_grad(hessian)]` both
/// come from the generated functions: `f` is `|x| NAME_grad(*x)` and `hvp`
/// is `|x, v| NAME_hvp(*x, *v).2` (`NAME_hvp(x, v)` returns `(value,
/// gradient, H·v)`, `v` of the parameter's type; for a parameter taken by
/// reference, `NAME_grad` itself and `|x, v| NAME_hvp(x, v).2`).
///
/// Each step minimizes the quadratic model `f + gᵀp + ½pᵀHp` within the
/// trust region `‖p‖ ≤ Δ` by Steihaug–Toint conjugate gradients (which
/// handles negative curvature by going to the region's boundary), then
/// compares the model's predicted decrease with the actual one (ratio ρ):
/// the step is taken if `ρ > eta`; the radius shrinks to a quarter of the
/// step's length if `ρ < ¼`, and doubles (up to
/// [`max_radius`](NewtonOptions::max_radius)) if `ρ > ¾` and the step
/// reached the boundary. This is Nocedal & Wright's Algorithm 4.1, except
/// that the shrink is from the step's length rather than the radius, so
/// a rejected step that did not reach the boundary is not tried again.
///
/// Near a minimum with a positive definite Hessian the convergence is
/// superlinear, quadratic in the limit; on a quadratic with the Newton step
/// inside the region, one step with a small enough
/// [`forcing`](NewtonOptions::forcing) lands on the minimum. The stopping
/// rules are those of [`MinimizeOptions`], plus: a gradient exactly zero
/// stops with [`StopReason::GradientNorm`]. Once the predicted decrease is
/// below the rounding error of the loss (a thousand units in its last
/// place), ρ is noise, and a step is taken if it lowers the gradient norm
/// without raising the loss beyond that rounding; when it does not, the run
/// stops with [`StopReason::NoProgress`].
/// [`Minimized::steps`] counts iterations (rejected steps included),
/// [`Minimized::evaluations`] calls of `f`,
/// [`Minimized::hessian_evaluations`] calls of `hvp`.
///
/// # Errors
///
/// [`Error::InvalidOptions`] for options out of range. If the loss, a
/// gradient element or a Hessian-vector product element is NaN or ±∞ — at
/// an accepted point or at a trial point — or a trial point overflows, an
/// [`Error`] naming the step, with `params` at the last accepted point:
/// they are never left NaN.
///
/// ```
/// use backprop_core::{newton, NewtonOptions, StopReason};
///
/// // Rosenbrock's function, its gradient and H·v by hand; with
/// // #[derive_grad(hessian)] on `fn rosenbrock(x: [f64; 2]) -> f64` these
/// // are `|x| rosenbrock_grad(*x)` and `|x, v| rosenbrock_hvp(*x, *v).2`.
/// let f = |x: &[f64; 2]| {
///     let (a, b) = (x[1] - x[0] * x[0], 1.0 - x[0]);
///     (100.0 * a * a + b * b, [-400.0 * x[0] * a - 2.0 * b, 200.0 * a])
/// };
/// let hvp = |x: &[f64; 2], v: &[f64; 2]| {
///     let h00 = 1200.0 * x[0] * x[0] - 400.0 * x[1] + 2.0;
///     let h01 = -400.0 * x[0];
///     [h00 * v[0] + h01 * v[1], h01 * v[0] + 200.0 * v[1]]
/// };
/// let mut x = [-1.2, 1.0];
/// let r = newton(&mut x, &NewtonOptions::new().grad_tol(1e-8), f, hvp).unwrap();
/// assert_eq!(r.stop, StopReason::GradientNorm);
/// assert!((x[0] - 1.0).abs() < 1e-8 && (x[1] - 1.0).abs() < 1e-8);
/// assert!(r.steps < 40, "{} steps", r.steps);
/// ```
pub fn newton<P, G, H>(
    params: &mut P,
    options: &NewtonOptions<P::Scalar>,
    f: G,
    hvp: H,
) -> Result<Minimized<P::Scalar>, Error>
where
    P: Params,
    G: FnMut(&P) -> (P::Scalar, P),
    H: FnMut(&P, &P) -> P,
{
    trust_region(params, options, f, Products(hvp))
}

/// [`newton`] with a dense Hessian: `hessian(x)` returns `H(x)` as any
/// [`Params`] value with `n²` elements (`n` = the number of parameter
/// elements) in row-major flat order — `[[F; N]; N]` for `x: [F; N]`, the
/// nested arrays `NAME_hessian` returns for nested-array parameters
/// (`[[[[f64; 2]; 3]; 2]; 3]` for `[[f64; 2]; 3]`), or a `Vec<F>` of
/// length `n²`.
///
/// With `#[derive_grad(hessian)]`, `hessian` is `|x| NAME_hessian(*x).2`.
/// The Hessian is computed once per point reached (not again after a
/// rejected step), and the conjugate gradient iterations multiply by it:
/// for small `n`, or when `NAME_hessian`'s structural zeros make it cheap,
/// this costs less than one `NAME_hvp` per iteration.
/// [`Minimized::hessian_evaluations`] counts Hessians.
///
/// # Errors
///
/// As [`newton`]; a NaN or ±∞ in the Hessian is
/// [`Error::NonFiniteHessian`] with its row-major index.
///
/// # Panics
///
/// If the Hessian does not have `n²` elements.
///
/// ```
/// use backprop_core::{newton_with_hessian, NewtonOptions, StopReason};
///
/// // f(x) = ½xᵀAx − bᵀx has the constant Hessian A and its minimum at
/// // A⁻¹b = (1, −1) for A = [[4, 1], [1, 3]], b = (3, −2).
/// let a = [[4.0, 1.0], [1.0, 3.0]];
/// let f = |x: &[f64; 2]| {
///     let ax = [a[0][0] * x[0] + a[0][1] * x[1], a[1][0] * x[0] + a[1][1] * x[1]];
///     let value = 0.5 * (x[0] * ax[0] + x[1] * ax[1]) - (3.0 * x[0] - 2.0 * x[1]);
///     (value, [ax[0] - 3.0, ax[1] + 2.0])
/// };
/// let mut x = [0.0, 0.0];
/// let options = NewtonOptions::new().grad_tol(1e-12).forcing(1e-12).initial_radius(10.0);
/// let r = newton_with_hessian(&mut x, &options, f, |_| a).unwrap();
/// assert_eq!((r.stop, r.steps, r.hessian_evaluations), (StopReason::GradientNorm, 1, 1));
/// assert!((x[0] - 1.0).abs() < 1e-14 && (x[1] + 1.0).abs() < 1e-14);
/// ```
pub fn newton_with_hessian<P, G, H, M>(
    params: &mut P,
    options: &NewtonOptions<P::Scalar>,
    f: G,
    hessian: H,
) -> Result<Minimized<P::Scalar>, Error>
where
    P: Params,
    G: FnMut(&P) -> (P::Scalar, P),
    H: FnMut(&P) -> M,
    M: Params<Scalar = P::Scalar>,
{
    let dense = Dense {
        hessian,
        matrix: Vec::new(),
        v: Vec::new(),
    };
    trust_region(params, options, f, dense)
}

/// Algorithm 4.1 around [`steihaug`].
fn trust_region<P, G, C>(
    params: &mut P,
    options: &NewtonOptions<P::Scalar>,
    mut f: G,
    mut curvature: C,
) -> Result<Minimized<P::Scalar>, Error>
where
    P: Params,
    G: FnMut(&P) -> (P::Scalar, P),
    C: Curvature<P>,
{
    options.check()?;
    let zero = P::Scalar::zero();
    let quarter = constant::<P::Scalar>(0.25);
    let mut record = Record::new(&options.stop);
    let (mut value, mut grad) = f(params);
    record.evaluations += 1;
    check_loss(value, At::Step(0))?;
    check_grad(&grad, At::Step(0))?;
    record.push(value, params);

    let max_cg = options.max_cg_iterations.unwrap_or(params.len()).max(1);
    let mut radius = options.initial_radius;
    let mut steps = 0;
    let mut change = None;
    let mut moved = true;
    loop {
        let grad_norm = grad.norm();
        if grad_norm == zero {
            return Ok(record.finish(grad_norm, steps, StopReason::GradientNorm));
        }
        if let Some(stop) = options.stop.reached(grad_norm, change, steps) {
            return Ok(record.finish(grad_norm, steps, stop));
        }
        // the Hessian belongs to the current point, reached after `steps`
        let here = At::Step(steps);
        if moved {
            curvature.at_point(params, here, &mut record)?;
        }
        let step = steihaug(
            params,
            &grad,
            radius,
            options.forcing,
            max_cg,
            &mut curvature,
            &mut record,
            here,
        )?;
        let at = At::Step(steps + 1);
        let mut trial = params.clone();
        trial.add_assign(&step.p);
        check_params(&trial, at)?;
        let (trial_value, trial_grad) = f(&trial);
        record.evaluations += 1;
        check_loss(trial_value, at)?;
        check_grad(&trial_grad, at)?;
        let floor = rounding_floor(value);
        if step.predicted.is_nan() || step.predicted <= floor {
            // The model promises less than the loss's rounding can show,
            // so ρ would be noise: judge the step by the gradient instead
            // (near a minimum the Newton step still shrinks it), and stop
            // once that fails too.
            let better = trial_grad.norm() < grad_norm && trial_value <= value + floor;
            if !better {
                return Ok(record.finish(grad_norm, steps, StopReason::NoProgress));
            }
            moved = true;
        } else {
            let rho = (value - trial_value) / step.predicted;
            if rho < quarter {
                radius = quarter * step.p.norm();
            } else if rho > constant(0.75) && step.on_boundary {
                radius = (radius + radius).min(options.max_radius);
            }
            moved = rho > options.eta;
        }
        steps += 1;
        if moved {
            change = Some((value - trial_value).abs());
            *params = trial;
            value = trial_value;
            grad = trial_grad;
        } else {
            change = None;
        }
        record.push(value, params);
    }
}
