//! The logistic map `x ← r x (1 − x)`, `r = 3.7`, iterated 8 times: the
//! classic expression-swell case for symbolic differentiation (the
//! expanded polynomial has degree 256).

use backprop::prelude::*;
use candle_core::{Device, Var};
use nalgebra::SVector;
use num_dual::{DualNum, DualSVec64};

pub const X0: f64 = 0.3;

/// 1, 2: the forward function and `logistic_grad`.
#[derive_grad]
#[inline]
pub fn logistic(x0: f64) -> f64 {
    let r = 3.7;
    let mut x = x0;
    for _ in 0..8 {
        x = r * x * (1.0 - x);
    }
    x
}

/// 3: by hand: keep the 8 iterates, then `d ← d · r (1 − 2 x_k)` backwards.
#[inline]
pub fn hand(x0: f64) -> (f64, f64) {
    let r = 3.7;
    let mut xs = [0.0; 8];
    let mut x = x0;
    for xk in xs.iter_mut() {
        *xk = x;
        x = r * x * (1.0 - x);
    }
    let mut d = 1.0;
    for xk in xs.iter().rev() {
        d *= r - 2.0 * r * xk;
    }
    (x, d)
}

/// The map over any dual number type.
#[inline]
pub fn logistic_generic<D: DualNum<Primitive = f64> + Copy>(x0: D) -> D {
    let mut x = x0;
    for _ in 0..8 {
        x = x * 3.7 * (-x + 1.0);
    }
    x
}

/// 4: forward-mode dual numbers (one parameter: the ideal case for forward
/// mode).
#[inline]
pub fn num_dual(x0: f64) -> (f64, f64) {
    let (v, g) = num_dual::gradient(
        |x: SVector<DualSVec64<1>, 1>| logistic_generic(x[0]),
        &SVector::from([x0]),
    );
    (v, g[0])
}

/// 5: central finite differences.
#[inline]
pub fn central_fd(x0: f64) -> (f64, f64) {
    let (v, g) = crate::central_fd(&[x0], |x| logistic(x[0]));
    (v, g[0])
}

/// 6: candle-core: a vector of starting points, the sum of the results.
pub struct Candle {
    x0: Var,
}

impl Candle {
    pub fn new(x0: &[f64]) -> candle_core::Result<Self> {
        Ok(Candle {
            x0: Var::from_slice(x0, x0.len(), &Device::Cpu)?,
        })
    }

    pub fn value_grad(&self) -> candle_core::Result<(f64, Vec<f64>)> {
        let mut x = self.x0.as_tensor().clone();
        for _ in 0..8 {
            x = x.affine(3.7, 0.0)?.mul(&x.affine(-1.0, 1.0)?)?;
        }
        let loss = x.sum_all()?;
        let (v, g) = crate::candle_backward(&loss, &[&self.x0])?;
        Ok((v, g.concat()))
    }
}

/// 7: symdiff: the loop unrolled into `let`s. symdiff hash-conses its
/// expression tree, so the shared iterates are not duplicated. Gradient
/// only.
#[symdiff::gradient(var = x, dim = 1)]
pub fn symdiff_logistic(x: &[f64]) -> f64 {
    let x1 = 3.7 * x[0] * (1.0 - x[0]);
    let x2 = 3.7 * x1 * (1.0 - x1);
    let x3 = 3.7 * x2 * (1.0 - x2);
    let x4 = 3.7 * x3 * (1.0 - x3);
    let x5 = 3.7 * x4 * (1.0 - x4);
    let x6 = 3.7 * x5 * (1.0 - x5);
    let x7 = 3.7 * x6 * (1.0 - x6);
    3.7 * x7 * (1.0 - x7)
}

/// A batch of starting points in (0, 1).
pub fn batch(n: usize) -> Vec<f64> {
    let mut r = crate::Lcg::new(13);
    (0..n).map(|_| r.uniform(0.05, 0.95)).collect()
}
