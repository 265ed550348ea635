//! seeds/001: the 2-3-1 linear network, loss `0.5 (t - y)²`, 9 weights.

use backprop::prelude::*;
use candle_core::{Device, Tensor, Var};
use nalgebra::SVector;
use num_dual::{DualNum, DualSVec64};

/// The tutorial's weights and sample: prediction 180, loss 7200.
pub const W: [f64; 9] = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0];
pub const X1: f64 = 40.0;
pub const X2: f64 = 80.0;
pub const T: f64 = 60.0;

/// 1, 2: the forward function and, generated beside it, `loss_grad`.
#[derive_grad]
#[inline]
pub fn loss(w: [f64; 9], x1: f64, x2: f64, t: f64) -> f64 {
    let z1 = x1 * w[0] + x2 * w[3];
    let z2 = x1 * w[1] + x2 * w[4];
    let z3 = x1 * w[2] + x2 * w[5];
    let y = z1 * w[6] + z2 * w[7] + z3 * w[8];
    0.5 * (t - y) * (t - y)
}

/// 3: by hand.
#[inline]
pub fn hand(w: [f64; 9], x1: f64, x2: f64, t: f64) -> (f64, [f64; 9]) {
    let z1 = x1 * w[0] + x2 * w[3];
    let z2 = x1 * w[1] + x2 * w[4];
    let z3 = x1 * w[2] + x2 * w[5];
    let y = z1 * w[6] + z2 * w[7] + z3 * w[8];
    let r = y - t;
    let value = 0.5 * r * r;
    let (d1, d2, d3) = (r * w[6], r * w[7], r * w[8]);
    let g = [
        x1 * d1,
        x1 * d2,
        x1 * d3,
        x2 * d1,
        x2 * d2,
        x2 * d3,
        r * z1,
        r * z2,
        r * z3,
    ];
    (value, g)
}

/// The loss over any dual number type.
#[inline]
pub fn loss_generic<D: DualNum<Primitive = f64> + Copy>(w: &[D], x1: f64, x2: f64, t: f64) -> D {
    let z1 = w[0] * x1 + w[3] * x2;
    let z2 = w[1] * x1 + w[4] * x2;
    let z3 = w[2] * x1 + w[5] * x2;
    let y = z1 * w[6] + z2 * w[7] + z3 * w[8];
    let r = -y + t;
    r * 0.5 * r
}

/// 4: forward-mode dual numbers, one pass with a 9-wide derivative part.
#[inline]
pub fn num_dual(w: [f64; 9], x1: f64, x2: f64, t: f64) -> (f64, [f64; 9]) {
    let (v, g) = num_dual::gradient(
        |w: SVector<DualSVec64<9>, 9>| loss_generic(w.as_slice(), x1, x2, t),
        &SVector::from(w),
    );
    (v, g.into())
}

/// 5: central finite differences of `loss`.
#[inline]
pub fn central_fd(w: [f64; 9], x1: f64, x2: f64, t: f64) -> (f64, [f64; 9]) {
    crate::central_fd(&w, |w| loss(*w, x1, x2, t))
}

/// 6: candle-core on the CPU: `y = x W1 W2`, `W1: 2×3`, `W2: 3×1`, loss
/// summed over the rows of `x`.
pub struct Candle {
    w1: Var,
    w2: Var,
    x: Tensor,
    t: Tensor,
}

impl Candle {
    pub fn new(w: [f64; 9], samples: &[(f64, f64, f64)]) -> candle_core::Result<Self> {
        let dev = Device::Cpu;
        let n = samples.len();
        let xs: Vec<f64> = samples.iter().flat_map(|s| [s.0, s.1]).collect();
        let ts: Vec<f64> = samples.iter().map(|s| s.2).collect();
        Ok(Candle {
            w1: Var::from_slice(&w[..6], (2, 3), &dev)?,
            w2: Var::from_slice(&w[6..], (3, 1), &dev)?,
            x: Tensor::from_vec(xs, (n, 2), &dev)?,
            t: Tensor::from_vec(ts, (n, 1), &dev)?,
        })
    }

    /// Value and gradient `[W1 row-major, W2]`, the same layout as `w`.
    pub fn value_grad(&self) -> candle_core::Result<(f64, Vec<f64>)> {
        let y = self.x.matmul(&self.w1)?.matmul(&self.w2)?;
        let loss = y.sub(&self.t)?.sqr()?.sum_all()?.affine(0.5, 0.0)?;
        let (v, g) = crate::candle_backward(&loss, &[&self.w1, &self.w2])?;
        Ok((v, g.concat()))
    }
}

/// 7: symdiff. It differentiates one slice parameter and reads every input
/// as `name[i]`, so the data travel in `d = [x1, x2, t]`; it returns the
/// gradient only (no value).
#[symdiff::gradient(var = w, dim = 9)]
pub fn symdiff_loss(w: &[f64], d: &[f64]) -> f64 {
    let z1 = d[0] * w[0] + d[1] * w[3];
    let z2 = d[0] * w[1] + d[1] * w[4];
    let z3 = d[0] * w[2] + d[1] * w[5];
    let y = z1 * w[6] + z2 * w[7] + z3 * w[8];
    0.5 * (d[2] - y) * (d[2] - y)
}

/// A batch of samples around the tutorial's.
pub fn batch(n: usize) -> Vec<(f64, f64, f64)> {
    let mut r = crate::Lcg::new(1);
    (0..n)
        .map(|_| {
            (
                r.uniform(30.0, 50.0),
                r.uniform(70.0, 90.0),
                r.uniform(50.0, 70.0),
            )
        })
        .collect()
}
