//! Interoperation with [argmin](https://argmin-rs.org), the optimisation
//! crate (feature `argmin`): [`ArgminProblem`] presents a loss, its
//! gradient and its Hessian — the functions `#[derive_grad(hessian)]`
//! generates — as argmin's [`CostFunction`], [`Gradient`] and [`Hessian`],
//! so that argmin's solvers (Newton-CG, L-BFGS, BFGS, trust regions,
//! nonlinear conjugate gradients, …) run on them.
//!
//! argmin's parameter type here is `Vec<F>` (argmin-math's `vec` backend):
//! the elements of your parameter type in flat-index order
//! ([`Params::to_vec`]). [`ArgminProblem`] converts on every call, so your
//! functions keep their own types — `[f64; 100]`, nested arrays, tuples,
//! structs with `#[derive(Params)]`. A dense Hessian goes to argmin as
//! `Vec<Vec<F>>` rows; Hessian-vector products go as a [`HessianAt`]
//! operator that argmin's Newton-CG multiplies by without any `n × n`
//! matrix.
//!
//! argmin's traits take `&self`, so the closures must be `Fn` (not
//! `FnMut`). The argmin crates this was built against are re-exported as
//! [`core`], [`solver`] and [`math`], for programs that do not depend on
//! argmin themselves (a second copy of argmin of another version would not
//! accept this problem).
//!
//! ```
//! use backprop_core::argmin::core::{Executor, State};
//! use backprop_core::argmin::solver::trustregion::{Steihaug, TrustRegion};
//! use backprop_core::argmin::ArgminProblem;
//!
//! // Rosenbrock's function with its gradient and Hessian by hand; with
//! // #[derive_grad(hessian)] on `fn rosenbrock(x: [f64; 2]) -> f64` these
//! // closures are `rosenbrock`, `|x| rosenbrock_grad(*x).1` and
//! // `|x| rosenbrock_hessian(*x).2`.
//! let f = |x: &[f64; 2]| 100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2);
//! let g = |x: &[f64; 2]| {
//!     let a = x[1] - x[0] * x[0];
//!     [-400.0 * x[0] * a - 2.0 * (1.0 - x[0]), 200.0 * a]
//! };
//! let h = |x: &[f64; 2]| {
//!     [[1200.0 * x[0] * x[0] - 400.0 * x[1] + 2.0, -400.0 * x[0]], [-400.0 * x[0], 200.0]]
//! };
//! let problem = ArgminProblem::new([0.0; 2], f).with_gradient(g).with_hessian(h);
//! let x0 = problem.to_argmin(&[-1.2, 1.0]);
//! // argmin's Newton method with a trust region (Steihaug's CG)
//! let solver = TrustRegion::new(Steihaug::new());
//! let result = Executor::new(problem, solver)
//!     .configure(|state| state.param(x0).max_iters(100))
//!     .run()
//!     .unwrap();
//! let best = result.state().get_best_param().unwrap();
//! assert!((best[0] - 1.0).abs() < 1e-8 && (best[1] - 1.0).abs() < 1e-8);
//! ```

use std::sync::Arc;

use ::argmin::core::{ArgminError, CostFunction, Error, Gradient, Hessian};
use ::argmin_math::ArgminDot;

use crate::params::Params;

pub use ::argmin::{core, solver};
pub use ::argmin_math as math;

/// The type parameter of an [`ArgminProblem`] part not given (no gradient,
/// no Hessian): the trait it would provide is then not implemented.
#[derive(Clone, Copy, Debug, Default)]
pub struct NotGiven;

/// A dense Hessian function `x ↦ H(x)` (see
/// [`ArgminProblem::with_hessian`]).
#[derive(Clone, Copy, Debug)]
pub struct DenseHessian<H>(pub H);

/// A Hessian-vector product function `(x, v) ↦ H(x)·v` (see
/// [`ArgminProblem::with_hessian_vector_product`]).
#[derive(Debug)]
pub struct HessianProducts<H>(pub Arc<H>);

impl<H> Clone for HessianProducts<H> {
    fn clone(&self) -> Self {
        HessianProducts(Arc::clone(&self.0))
    }
}

/// A loss, and optionally its gradient and Hessian, as an argmin problem
/// over `Vec<F>` parameters.
///
/// Built with [`new`](ArgminProblem::new) from a value of the parameter
/// type (its shape: the values of its elements do not matter) and the loss
/// `Fn(&P) -> F`, then [`with_gradient`](ArgminProblem::with_gradient)
/// (`Fn(&P) -> P`) for argmin's [`Gradient`], and
/// [`with_hessian`](ArgminProblem::with_hessian) (a dense Hessian) or
/// [`with_hessian_vector_product`](ArgminProblem::with_hessian_vector_product)
/// for argmin's [`Hessian`].
///
/// A vector of the wrong length is an [`ArgminError::InvalidParameter`].
#[derive(Clone, Debug)]
pub struct ArgminProblem<P, C, G = NotGiven, H = NotGiven> {
    shape: P,
    cost: C,
    gradient: G,
    hessian: H,
}

impl<P, C> ArgminProblem<P, C>
where
    P: Params,
    C: Fn(&P) -> P::Scalar,
{
    /// A problem over parameters shaped like `shape`, with the loss `cost`
    /// (a `#[derive_grad]` function itself, or a closure calling it).
    pub fn new(shape: P, cost: C) -> Self {
        ArgminProblem {
            shape,
            cost,
            gradient: NotGiven,
            hessian: NotGiven,
        }
    }
}

impl<P, C, G, H> ArgminProblem<P, C, G, H>
where
    P: Params,
{
    /// Adds the gradient `Fn(&P) -> P`: `|x| NAME_grad(*x).1` (or
    /// `NAME_grad(x).1` for a parameter taken by reference).
    pub fn with_gradient<G2>(self, gradient: G2) -> ArgminProblem<P, C, G2, H>
    where
        G2: Fn(&P) -> P,
    {
        ArgminProblem {
            shape: self.shape,
            cost: self.cost,
            gradient,
            hessian: self.hessian,
        }
    }

    /// Adds a dense Hessian `Fn(&P) -> M`, where `M` is any [`Params`] with
    /// `n²` elements in row-major flat order — `NAME_hessian`'s `H`:
    /// `|x| NAME_hessian(*x).2` gives `[[f64; N]; N]` for `x: [f64; N]`, and
    /// the nested arrays it gives for nested-array parameters have the same
    /// order. argmin receives it as `Vec<Vec<F>>` rows.
    pub fn with_hessian<H2, M>(self, hessian: H2) -> ArgminProblem<P, C, G, DenseHessian<H2>>
    where
        H2: Fn(&P) -> M,
        M: Params<Scalar = P::Scalar>,
    {
        ArgminProblem {
            shape: self.shape,
            cost: self.cost,
            gradient: self.gradient,
            hessian: DenseHessian(hessian),
        }
    }

    /// Adds Hessian-vector products `Fn(&P, &P) -> P`, `(x, v) ↦ H(x)·v`:
    /// `|x, v| NAME_hvp(*x, *v).2` (`|x, v| NAME_hvp(x, v).2` for a
    /// parameter taken by reference). argmin's [`Hessian`] then returns a
    /// [`HessianAt`] that multiplies by calling it — what Newton-CG needs,
    /// with no `n × n` matrix formed.
    pub fn with_hessian_vector_product<H2>(
        self,
        hvp: H2,
    ) -> ArgminProblem<P, C, G, HessianProducts<H2>>
    where
        H2: Fn(&P, &P) -> P,
    {
        ArgminProblem {
            shape: self.shape,
            cost: self.cost,
            gradient: self.gradient,
            hessian: HessianProducts(Arc::new(hvp)),
        }
    }

    /// `params` as argmin's parameter vector: the elements in flat-index
    /// order (for the starting point of a run).
    pub fn to_argmin(&self, params: &P) -> Vec<P::Scalar> {
        params.to_vec()
    }

    /// argmin's parameter vector as the parameter type (for the result of
    /// a run).
    ///
    /// # Errors
    ///
    /// If `x` does not have as many elements as the parameters.
    pub fn from_argmin(&self, x: &[P::Scalar]) -> Result<P, Error> {
        params_from(&self.shape, x)
    }
}

/// A value shaped like `shape` holding the elements of `x`.
fn params_from<P: Params>(shape: &P, x: &[P::Scalar]) -> Result<P, Error> {
    let n = shape.len();
    if x.len() != n {
        return Err(ArgminError::InvalidParameter {
            text: format!(
                "the parameter vector has {} elements; the parameters have {n}",
                x.len()
            ),
        }
        .into());
    }
    let mut p = shape.clone();
    let mut elements = x.iter();
    p.for_each_mut(&mut |e| {
        if let Some(&v) = elements.next() {
            *e = v;
        }
    });
    Ok(p)
}

impl<P, C, G, H> CostFunction for ArgminProblem<P, C, G, H>
where
    P: Params,
    C: Fn(&P) -> P::Scalar,
{
    type Param = Vec<P::Scalar>;
    type Output = P::Scalar;

    fn cost(&self, x: &Self::Param) -> Result<Self::Output, Error> {
        Ok((self.cost)(&params_from(&self.shape, x)?))
    }
}

impl<P, C, G, H> Gradient for ArgminProblem<P, C, G, H>
where
    P: Params,
    G: Fn(&P) -> P,
{
    type Param = Vec<P::Scalar>;
    type Gradient = Vec<P::Scalar>;

    fn gradient(&self, x: &Self::Param) -> Result<Self::Gradient, Error> {
        Ok((self.gradient)(&params_from(&self.shape, x)?).to_vec())
    }
}

impl<P, C, G, H, M> Hessian for ArgminProblem<P, C, G, DenseHessian<H>>
where
    P: Params,
    H: Fn(&P) -> M,
    M: Params<Scalar = P::Scalar>,
{
    type Param = Vec<P::Scalar>;
    type Hessian = Vec<Vec<P::Scalar>>;

    fn hessian(&self, x: &Self::Param) -> Result<Self::Hessian, Error> {
        let h = (self.hessian.0)(&params_from(&self.shape, x)?);
        let n = x.len();
        if h.len() != n * n {
            return Err(ArgminError::InvalidParameter {
                text: format!(
                    "the Hessian has {} elements; {n} parameters need {n}² = {}",
                    h.len(),
                    n * n
                ),
            }
            .into());
        }
        Ok(h.to_vec().chunks(n.max(1)).map(<[_]>::to_vec).collect())
    }
}

/// The Hessian at one point as an operator: argmin's Newton-CG multiplies
/// it by vectors ([`ArgminDot`]), and each product is one call of the
/// Hessian-vector product function given to
/// [`ArgminProblem::with_hessian_vector_product`].
#[derive(Clone, Debug)]
pub struct HessianAt<P, H> {
    x: P,
    hvp: HessianProducts<H>,
}

impl<P, H> HessianAt<P, H> {
    /// The point the Hessian belongs to.
    pub fn point(&self) -> &P {
        &self.x
    }
}

impl<P, H> ArgminDot<Vec<P::Scalar>, Vec<P::Scalar>> for HessianAt<P, H>
where
    P: Params,
    H: Fn(&P, &P) -> P,
{
    /// `H(x)·v`.
    ///
    /// # Panics
    ///
    /// If `v` does not have as many elements as the parameters (argmin's
    /// `dot` cannot return an error).
    fn dot(&self, v: &Vec<P::Scalar>) -> Vec<P::Scalar> {
        let v = params_from(&self.x, v).unwrap_or_else(|e| panic!("H·v: {e}"));
        (self.hvp.0)(&self.x, &v).to_vec()
    }
}

impl<P, C, G, H> Hessian for ArgminProblem<P, C, G, HessianProducts<H>>
where
    P: Params,
    H: Fn(&P, &P) -> P,
{
    type Param = Vec<P::Scalar>;
    type Hessian = HessianAt<P, H>;

    fn hessian(&self, x: &Self::Param) -> Result<Self::Hessian, Error> {
        Ok(HessianAt {
            x: params_from(&self.shape, x)?,
            hvp: self.hessian.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::argmin::core::{Executor, IterState, State};
    use ::argmin::solver::linesearch::MoreThuenteLineSearch;
    use ::argmin::solver::newton::NewtonCG;
    use ::argmin::solver::quasinewton::LBFGS;
    use ::argmin::solver::trustregion::{Steihaug, TrustRegion};

    /// Rosenbrock's 2-D function, gradient and Hessian, by hand.
    fn f(x: &[f64; 2]) -> f64 {
        100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2)
    }
    fn g(x: &[f64; 2]) -> [f64; 2] {
        let a = x[1] - x[0] * x[0];
        [-400.0 * x[0] * a - 2.0 * (1.0 - x[0]), 200.0 * a]
    }
    fn h(x: &[f64; 2]) -> [[f64; 2]; 2] {
        [
            [1200.0 * x[0] * x[0] - 400.0 * x[1] + 2.0, -400.0 * x[0]],
            [-400.0 * x[0], 200.0],
        ]
    }
    fn hvp(x: &[f64; 2], v: &[f64; 2]) -> [f64; 2] {
        let h = h(x);
        [
            h[0][0] * v[0] + h[0][1] * v[1],
            h[1][0] * v[0] + h[1][1] * v[1],
        ]
    }

    #[test]
    fn the_traits_convert_and_call_through() {
        let p = ArgminProblem::new([0.0; 2], f)
            .with_gradient(g)
            .with_hessian(h);
        let x = vec![-1.2, 1.0];
        // f(−1.2, 1) = 100·(1 − 1.44)² + 2.2² = 19.36 + 4.84 = 24.2
        assert!((p.cost(&x).unwrap() - 24.2).abs() < 1e-12);
        // ∂f/∂x₀ = −400·(−1.2)·(−0.44) − 2·2.2 = −215.6, ∂f/∂x₁ = 200·(−0.44) = −88
        let grad = Gradient::gradient(&p, &x).unwrap();
        assert!((grad[0] + 215.6).abs() < 1e-10 && (grad[1] + 88.0).abs() < 1e-10);
        // H = [[1200·1.44 − 400 + 2, 480], [480, 200]] = [[1330, 480], [480, 200]]
        let hess = Hessian::hessian(&p, &x).unwrap();
        assert_eq!(hess.len(), 2);
        assert!((hess[0][0] - 1330.0).abs() < 1e-9 && hess[0][1] == 480.0);
        assert!(hess[1][0] == 480.0 && hess[1][1] == 200.0);
        // the wrong length is argmin's error, not a panic
        let e = p.cost(&vec![1.0, 2.0, 3.0]).unwrap_err();
        assert!(
            e.to_string()
                .contains("has 3 elements; the parameters have 2"),
            "{e}"
        );

        // Hessian-vector products: the operator's products are H·v
        let q = ArgminProblem::new([0.0; 2], f).with_hessian_vector_product(hvp);
        let op = Hessian::hessian(&q, &x).unwrap();
        assert_eq!(op.point(), &[-1.2, 1.0]);
        let hv: Vec<f64> = op.dot(&vec![1.0, -2.0]);
        assert!((hv[0] - (1330.0 - 960.0)).abs() < 1e-9 && (hv[1] - (480.0 - 400.0)).abs() < 1e-9);
    }

    #[test]
    fn nested_parameters_keep_their_flat_order() {
        // f(p) = Σ (k+1)·p_k² over the flat elements of ([a, b], [[c], [d]])
        type P = ([f64; 2], [[f64; 1]; 2]);
        let cost = |p: &P| {
            let v = p.to_vec();
            v.iter()
                .enumerate()
                .map(|(k, x)| (k + 1) as f64 * x * x)
                .sum::<f64>()
        };
        let grad = |p: &P| {
            let mut g = *p;
            let mut k = 0.0;
            g.for_each_mut(&mut |x| {
                k += 1.0;
                *x *= 2.0 * k;
            });
            g
        };
        let p = ArgminProblem::new(([0.0; 2], [[0.0]; 2]), cost).with_gradient(grad);
        let start = ([1.0, 2.0], [[3.0], [4.0]]);
        let x = p.to_argmin(&start);
        assert_eq!(x, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(p.from_argmin(&x).unwrap(), start);
        assert_eq!(p.cost(&x).unwrap(), 1.0 + 8.0 + 27.0 + 64.0);
        assert_eq!(
            Gradient::gradient(&p, &x).unwrap(),
            vec![2.0, 8.0, 18.0, 32.0]
        );
        assert!(p.from_argmin(&[1.0]).is_err());
    }

    /// argmin's Newton-CG from (−1.2, 1) for `iters` iterations, with the
    /// Hessian dense or as products: the best point and its loss.
    fn newton_cg(dense: bool, iters: u64) -> (Vec<f64>, f64) {
        let x0 = vec![-1.2, 1.0];
        let solver = NewtonCG::new(MoreThuenteLineSearch::new());
        let problem = ArgminProblem::new([0.0; 2], f).with_gradient(g);
        fn best<H>(s: &IterState<Vec<f64>, Vec<f64>, (), H, (), f64>) -> (Vec<f64>, f64) {
            (s.get_best_param().unwrap().clone(), s.get_best_cost())
        }
        if dense {
            let p = problem.with_hessian(h);
            let r = Executor::new(p, solver).configure(|s| s.param(x0).max_iters(iters));
            best(r.run().unwrap().state())
        } else {
            let p = problem.with_hessian_vector_product(hvp);
            let r = Executor::new(p, solver).configure(|s| s.param(x0).max_iters(iters));
            best(r.run().unwrap().state())
        }
    }

    #[test]
    fn argmin_newton_cg_runs_the_same_on_both_hessian_forms() {
        // The dense Hessian and the H·v operator are the same linear map,
        // so argmin takes the same steps (up to the order of additions).
        let (xd, fd) = newton_cg(true, 100);
        let (xp, fp) = newton_cg(false, 100);
        assert!(
            (xd[0] - xp[0]).abs() < 1e-9 && (xd[1] - xp[1]).abs() < 1e-9,
            "{xd:?} {xp:?}"
        );
        assert!((fd - fp).abs() <= 1e-9 * fd.max(1e-30));
        // From f = 24.2 it descends far; it does not converge tightly,
        // because argmin 0.11's Newton-CG compares the CG residual's
        // squared norm with a norm (min(½, √‖g‖)·‖g‖), so once ‖g‖ < 1 it
        // stops the inner CG after one iteration and the step is a
        // steepest-descent one (see examples/argmin_rosenbrock.rs).
        assert!(fd < 1e-3, "{fd}");
    }

    #[test]
    fn argmin_trust_region_with_our_hessian_reaches_the_minimum() {
        // argmin's trust-region Newton with Steihaug's CG: the same method
        // as backprop's `newton`, here through the adapter, both forms.
        for dense in [true, false] {
            let x0 = vec![-1.2, 1.0];
            let solver = TrustRegion::new(Steihaug::new());
            let problem = ArgminProblem::new([0.0; 2], f).with_gradient(g);
            let best = if dense {
                let p = problem.with_hessian(h);
                let r = Executor::new(p, solver).configure(|s| s.param(x0).max_iters(100));
                r.run().unwrap().state().get_best_param().unwrap().clone()
            } else {
                let p = problem.with_hessian_vector_product(hvp);
                let r = Executor::new(p, solver).configure(|s| s.param(x0).max_iters(100));
                r.run().unwrap().state().get_best_param().unwrap().clone()
            };
            assert!(
                (best[0] - 1.0).abs() < 1e-8 && (best[1] - 1.0).abs() < 1e-8,
                "dense {dense}: {best:?}"
            );
        }
    }

    #[test]
    fn argmin_lbfgs_with_our_gradient_reaches_the_minimum() {
        let p = ArgminProblem::new([0.0; 2], f).with_gradient(g);
        let x0 = p.to_argmin(&[-1.2, 1.0]);
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
            .with_tolerance_grad(1e-10)
            .unwrap();
        let r = Executor::new(p, solver)
            .configure(|s| s.param(x0).max_iters(200))
            .run()
            .unwrap();
        let best = r.state().get_best_param().unwrap();
        assert!(
            (best[0] - 1.0).abs() < 1e-8 && (best[1] - 1.0).abs() < 1e-8,
            "{best:?}"
        );
    }
}
