//! Rosenbrock's function of 100 variables, written with a literal loop:
//! `Σ_{i<99} 100 (x[i+1] − x[i]²)² + (1 − x[i])²`.

use backprop::prelude::*;
use candle_core::{Device, Tensor, Var};
use nalgebra::SVector;
use num_dual::{DualNum, DualSVec64};

pub const N: usize = 100;

/// The benchmark point: `x[i] = 0.5 + 0.4 sin(i)`.
pub fn point() -> [f64; N] {
    std::array::from_fn(|i| 0.5 + 0.4 * (i as f64).sin())
}

/// 1, 2: the forward function and `rosenbrock_grad`.
#[derive_grad]
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

/// 3: by hand: one pass, each term adds to two gradient entries.
#[inline]
pub fn hand(x: &[f64; N]) -> (f64, [f64; N]) {
    let mut s = 0.0;
    let mut g = [0.0; N];
    for i in 0..N - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
        let da = 200.0 * a;
        g[i] += -2.0 * (x[i] * da + b);
        g[i + 1] += da;
    }
    (s, g)
}

/// The function over any dual number type.
#[inline]
pub fn rosenbrock_generic<D: DualNum<Primitive = f64> + Copy>(x: &[D]) -> D {
    let mut s = D::zero();
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = -x[i] + 1.0;
        s += a * a * 100.0 + b * b;
    }
    s
}

/// 4: forward-mode dual numbers: every operation carries a 100-wide
/// derivative part.
#[inline]
pub fn num_dual(x: &[f64; N]) -> (f64, [f64; N]) {
    let (v, g) = num_dual::gradient(
        |x: SVector<DualSVec64<N>, N>| rosenbrock_generic(x.as_slice()),
        &SVector::from(*x),
    );
    (v, g.into())
}

/// 5: central finite differences: 201 evaluations.
#[inline]
pub fn central_fd(x: &[f64; N]) -> (f64, [f64; N]) {
    crate::central_fd(x, rosenbrock)
}

/// 6: candle-core, vectorized the way one writes it for a tensor library:
/// rows of `x` are independent points, the loss is the sum over rows.
pub struct Candle {
    x: Var,
}

impl Candle {
    pub fn new(points: &[[f64; N]]) -> candle_core::Result<Self> {
        let flat: Vec<f64> = points.iter().flatten().copied().collect();
        Ok(Candle {
            x: Var::from_slice(&flat, (points.len(), N), &Device::Cpu)?,
        })
    }

    pub fn value_grad(&self) -> candle_core::Result<(f64, Vec<f64>)> {
        let head = self.x.narrow(1, 0, N - 1)?;
        let tail = self.x.narrow(1, 1, N - 1)?;
        let a = tail.sub(&head.sqr()?)?;
        let b = head.affine(-1.0, 1.0)?;
        let loss: Tensor = a.sqr()?.affine(100.0, 0.0)?.add(&b.sqr()?)?.sum_all()?;
        let (v, g) = crate::candle_backward(&loss, &[&self.x])?;
        Ok((v, g.concat()))
    }
}

// 7: symdiff has no loops: the sum is unrolled by build.rs into
// `symdiff_rosenbrock(x: &[f64]) -> f64` and its `symdiff_rosenbrock_gradient`.
include!(concat!(env!("OUT_DIR"), "/symdiff_rosenbrock.rs"));

/// A batch of points.
pub fn batch(n: usize) -> Vec<[f64; N]> {
    let mut r = crate::Lcg::new(5);
    (0..n)
        .map(|_| std::array::from_fn(|_| r.uniform(-1.0, 1.5)))
        .collect()
}
