//! seeds/003: the 2-2-2 sigmoid network with per-output binary cross-entropy,
//! weights `w1..w8` and biases `b1..b4` (12 parameters).

use backprop::prelude::*;
use candle_core::{Device, Tensor, Var};
use nalgebra::SVector;
use num_dual::{DualNum, DualSVec64};

pub const W: [f64; 8] = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55];
pub const B: [f64; 4] = [0.35, 0.35, 0.60, 0.60];
/// Input `(x1, x2)` and targets `(y1, y2)`.
pub const X: [f64; 4] = [0.05, 0.10, 0.01, 0.99];

/// The gradient `(dw, db)` flattened to `[dw, db]`.
pub fn flat(g: ([f64; 8], [f64; 4])) -> [f64; 12] {
    let mut out = [0.0; 12];
    out[..8].copy_from_slice(&g.0);
    out[8..].copy_from_slice(&g.1);
    out
}

/// 1, 2: the forward function and `loss_grad`.
#[derive_grad(wrt(w, b))]
#[inline]
pub fn loss(w: [f64; 8], b: [f64; 4], x1: f64, x2: f64, y1: f64, y2: f64) -> f64 {
    let z1 = x1 * w[0] + x2 * w[1] + b[0];
    let a1 = sigmoid(z1);
    let z2 = x1 * w[2] + x2 * w[3] + b[1];
    let a2 = sigmoid(z2);
    let z3 = a1 * w[4] + a2 * w[5] + b[2];
    let p1 = sigmoid(z3);
    let z4 = a1 * w[6] + a2 * w[7] + b[3];
    let p2 = sigmoid(z4);
    let e1 = -(y1 * p1.ln() + (1.0 - y1) * (1.0 - p1).ln());
    let e2 = -(y2 * p2.ln() + (1.0 - y2) * (1.0 - p2).ln());
    e1 + e2
}

/// 3: by hand, with the tutorial's simplification `∂E/∂z = p − y` of a
/// sigmoid followed by binary cross-entropy.
#[inline]
#[allow(clippy::type_complexity)]
pub fn hand(
    w: [f64; 8],
    b: [f64; 4],
    x1: f64,
    x2: f64,
    y1: f64,
    y2: f64,
) -> (f64, ([f64; 8], [f64; 4])) {
    let a1 = sigmoid(x1 * w[0] + x2 * w[1] + b[0]);
    let a2 = sigmoid(x1 * w[2] + x2 * w[3] + b[1]);
    let p1 = sigmoid(a1 * w[4] + a2 * w[5] + b[2]);
    let p2 = sigmoid(a1 * w[6] + a2 * w[7] + b[3]);
    let e1 = -(y1 * p1.ln() + (1.0 - y1) * (1.0 - p1).ln());
    let e2 = -(y2 * p2.ln() + (1.0 - y2) * (1.0 - p2).ln());
    let d3 = p1 - y1;
    let d4 = p2 - y2;
    let d1 = (d3 * w[4] + d4 * w[6]) * a1 * (1.0 - a1);
    let d2 = (d3 * w[5] + d4 * w[7]) * a2 * (1.0 - a2);
    let dw = [
        d1 * x1,
        d1 * x2,
        d2 * x1,
        d2 * x2,
        d3 * a1,
        d3 * a2,
        d4 * a1,
        d4 * a2,
    ];
    (e1 + e2, (dw, [d1, d2, d3, d4]))
}

#[inline]
fn sigmoid_generic<D: DualNum<Primitive = f64> + Copy>(z: D) -> D {
    (D::one() + (-z).exp()).recip()
}

/// The loss over any dual number type; `p = [w, b]`.
#[inline]
pub fn loss_generic<D: DualNum<Primitive = f64> + Copy>(p: &[D], x: [f64; 4]) -> D {
    let [x1, x2, y1, y2] = x;
    let (w, b) = (&p[..8], &p[8..]);
    let a1 = sigmoid_generic(w[0] * x1 + w[1] * x2 + b[0]);
    let a2 = sigmoid_generic(w[2] * x1 + w[3] * x2 + b[1]);
    let p1 = sigmoid_generic(a1 * w[4] + a2 * w[5] + b[2]);
    let p2 = sigmoid_generic(a1 * w[6] + a2 * w[7] + b[3]);
    let e1 = -(p1.ln() * y1 + (-p1 + 1.0).ln() * (1.0 - y1));
    let e2 = -(p2.ln() * y2 + (-p2 + 1.0).ln() * (1.0 - y2));
    e1 + e2
}

/// 4: forward-mode dual numbers, 12-wide.
#[inline]
pub fn num_dual(w: [f64; 8], b: [f64; 4], x: [f64; 4]) -> (f64, [f64; 12]) {
    let mut p = [0.0; 12];
    p[..8].copy_from_slice(&w);
    p[8..].copy_from_slice(&b);
    let (v, g) = num_dual::gradient(
        |p: SVector<DualSVec64<12>, 12>| loss_generic(p.as_slice(), x),
        &SVector::from(p),
    );
    (v, g.into())
}

/// 5: central finite differences of `loss`.
#[inline]
pub fn central_fd(w: [f64; 8], b: [f64; 4], x: [f64; 4]) -> (f64, [f64; 12]) {
    let mut p = [0.0; 12];
    p[..8].copy_from_slice(&w);
    p[8..].copy_from_slice(&b);
    crate::central_fd(&p, |p| {
        let mut w = [0.0; 8];
        let mut b = [0.0; 4];
        w.copy_from_slice(&p[..8]);
        b.copy_from_slice(&p[8..]);
        loss(w, b, x[0], x[1], x[2], x[3])
    })
}

/// 6: candle-core: `z = x A + b`, `A` the 2×2 view of `w[0..4]` transposed,
/// sigmoid, the same for the second layer, binary cross-entropy summed over
/// outputs and rows.
pub struct Candle {
    w: Var,
    b: Var,
    x: Tensor,
    y: Tensor,
    one_minus_y: Tensor,
}

impl Candle {
    pub fn new(w: [f64; 8], b: [f64; 4], samples: &[[f64; 4]]) -> candle_core::Result<Self> {
        let dev = Device::Cpu;
        let n = samples.len();
        let xs: Vec<f64> = samples.iter().flat_map(|s| [s[0], s[1]]).collect();
        let ys: Vec<f64> = samples.iter().flat_map(|s| [s[2], s[3]]).collect();
        let y = Tensor::from_vec(ys, (n, 2), &dev)?;
        Ok(Candle {
            w: Var::from_slice(&w, 8, &dev)?,
            b: Var::from_slice(&b, 4, &dev)?,
            x: Tensor::from_vec(xs, (n, 2), &dev)?,
            one_minus_y: y.affine(-1.0, 1.0)?,
            y,
        })
    }

    fn sigmoid(z: &Tensor) -> candle_core::Result<Tensor> {
        z.neg()?.exp()?.affine(1.0, 1.0)?.recip()
    }

    /// Value and gradient `[dw, db]`.
    pub fn value_grad(&self) -> candle_core::Result<(f64, Vec<f64>)> {
        let a_mat = self.w.narrow(0, 0, 4)?.reshape((2, 2))?.t()?;
        let b_mat = self.w.narrow(0, 4, 4)?.reshape((2, 2))?.t()?;
        let z = self
            .x
            .matmul(&a_mat)?
            .broadcast_add(&self.b.narrow(0, 0, 2)?)?;
        let a = Self::sigmoid(&z)?;
        let z = a.matmul(&b_mat)?.broadcast_add(&self.b.narrow(0, 2, 2)?)?;
        let p = Self::sigmoid(&z)?;
        let ll = self
            .y
            .mul(&p.log()?)?
            .add(&self.one_minus_y.mul(&p.affine(-1.0, 1.0)?.log()?)?)?;
        let loss = ll.sum_all()?.neg()?;
        let (v, g) = crate::candle_backward(&loss, &[&self.w, &self.b])?;
        Ok((v, g.concat()))
    }
}

/// 7: symdiff, with `p = [w, b]` (it differentiates one slice) and
/// `d = [x1, x2, y1, y2]`; sigmoid written out (it knows `exp`, not
/// `sigmoid`). Gradient only.
#[symdiff::gradient(var = p, dim = 12)]
pub fn symdiff_loss(p: &[f64], d: &[f64]) -> f64 {
    let a1 = 1.0 / (1.0 + (-(d[0] * p[0] + d[1] * p[1] + p[8])).exp());
    let a2 = 1.0 / (1.0 + (-(d[0] * p[2] + d[1] * p[3] + p[9])).exp());
    let p1 = 1.0 / (1.0 + (-(a1 * p[4] + a2 * p[5] + p[10])).exp());
    let p2 = 1.0 / (1.0 + (-(a1 * p[6] + a2 * p[7] + p[11])).exp());
    let e1 = -(d[2] * p1.ln() + (1.0 - d[2]) * (1.0 - p1).ln());
    let e2 = -(d[3] * p2.ln() + (1.0 - d[3]) * (1.0 - p2).ln());
    e1 + e2
}

/// A batch of samples `[x1, x2, y1, y2]` with targets in (0, 1).
pub fn batch(n: usize) -> Vec<[f64; 4]> {
    let mut r = crate::Lcg::new(3);
    (0..n)
        .map(|_| {
            [
                r.uniform(-1.0, 1.0),
                r.uniform(-1.0, 1.0),
                r.uniform(0.01, 0.99),
                r.uniform(0.01, 0.99),
            ]
        })
        .collect()
}
