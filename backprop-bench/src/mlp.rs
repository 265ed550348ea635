//! A 4-16-3 tanh MLP with softmax cross-entropy for one sample:
//! `w1: 16×4`, `b1: 16`, `w2: 3×16`, `b2: 3` (131 parameters).

use backprop::prelude::*;
use candle_core::{Device, Tensor, Var, D};
use nalgebra::SVector;
use num_dual::{DualNum, DualSVec64};

pub const H: usize = 16;
pub const P: usize = 4 * H + H + 3 * H + 3;

pub type Params = ([[f64; 4]; H], [f64; H], [[f64; H]; 3], [f64; 3]);

/// 1, 2: the forward function and `loss_grad`.
#[derive_grad(wrt(w1, b1, w2, b2))]
#[inline]
pub fn loss(
    w1: [[f64; 4]; 16],
    b1: [f64; 16],
    w2: [[f64; 16]; 3],
    b2: [f64; 3],
    x: [f64; 4],
    y: [f64; 3],
) -> f64 {
    let mut h = [0.0; 16];
    for j in 0..16 {
        let mut a = b1[j];
        for k in 0..4 {
            a += w1[j][k] * x[k];
        }
        h[j] = a.tanh();
    }
    let mut z = [0.0; 3];
    for c in 0..3 {
        let mut s = b2[c];
        for j in 0..16 {
            s += w2[c][j] * h[j];
        }
        z[c] = s;
    }
    let m = z[0].max(z[1]).max(z[2]);
    let lse = m + ((z[0] - m).exp() + (z[1] - m).exp() + (z[2] - m).exp()).ln();
    lse - (y[0] * z[0] + y[1] * z[1] + y[2] * z[2])
}

/// 3: by hand: forward pass keeping `h`, then `dz = softmax(z)·Σy − y`,
/// `dW2 = dz hᵀ`, `dh = W2ᵀ dz`, `da = dh (1 − h²)`, `dW1 = da xᵀ`.
#[inline]
pub fn hand(
    w1: [[f64; 4]; H],
    b1: [f64; H],
    w2: [[f64; H]; 3],
    b2: [f64; 3],
    x: [f64; 4],
    y: [f64; 3],
) -> (f64, Params) {
    let mut h = [0.0; H];
    for j in 0..H {
        let a = b1[j] + w1[j][0] * x[0] + w1[j][1] * x[1] + w1[j][2] * x[2] + w1[j][3] * x[3];
        h[j] = a.tanh();
    }
    let mut z = [0.0; 3];
    for c in 0..3 {
        let mut s = b2[c];
        for j in 0..H {
            s += w2[c][j] * h[j];
        }
        z[c] = s;
    }
    let m = z[0].max(z[1]).max(z[2]);
    let e = [(z[0] - m).exp(), (z[1] - m).exp(), (z[2] - m).exp()];
    let sum = e[0] + e[1] + e[2];
    let value = m + sum.ln() - (y[0] * z[0] + y[1] * z[1] + y[2] * z[2]);
    let k = (y[0] + y[1] + y[2]) / sum;
    let dz = [e[0] * k - y[0], e[1] * k - y[1], e[2] * k - y[2]];
    let mut dw2 = [[0.0; H]; 3];
    for c in 0..3 {
        for j in 0..H {
            dw2[c][j] = dz[c] * h[j];
        }
    }
    let mut dw1 = [[0.0; 4]; H];
    let mut db1 = [0.0; H];
    for j in 0..H {
        let dh = dz[0] * w2[0][j] + dz[1] * w2[1][j] + dz[2] * w2[2][j];
        let da = dh * (1.0 - h[j] * h[j]);
        db1[j] = da;
        for k in 0..4 {
            dw1[j][k] = da * x[k];
        }
    }
    (value, (dw1, db1, dw2, dz))
}

/// The parameters flattened in the order `w1, b1, w2, b2`, row-major.
pub fn flatten(p: &Params) -> [f64; P] {
    let mut out = [0.0; P];
    let all =
        p.0.iter()
            .flatten()
            .chain(&p.1)
            .chain(p.2.iter().flatten())
            .chain(&p.3);
    for (slot, v) in out.iter_mut().zip(all) {
        *slot = *v;
    }
    out
}

pub fn unflatten(f: &[f64; P]) -> Params {
    let mut p: Params = ([[0.0; 4]; H], [0.0; H], [[0.0; H]; 3], [0.0; 3]);
    let mut it = f.iter().copied();
    for v in p.0.iter_mut().flatten() {
        *v = it.next().unwrap();
    }
    for v in p.1.iter_mut() {
        *v = it.next().unwrap();
    }
    for v in p.2.iter_mut().flatten() {
        *v = it.next().unwrap();
    }
    for v in p.3.iter_mut() {
        *v = it.next().unwrap();
    }
    p
}

/// The loss over any dual number type, parameters flattened as [`flatten`].
#[inline]
pub fn loss_generic<T: DualNum<Primitive = f64> + Copy>(p: &[T], x: [f64; 4], y: [f64; 3]) -> T {
    let (w1, rest) = p.split_at(4 * H);
    let (b1, rest) = rest.split_at(H);
    let (w2, b2) = rest.split_at(3 * H);
    let mut h = [T::zero(); H];
    for j in 0..H {
        let mut a = b1[j];
        for k in 0..4 {
            a += w1[4 * j + k] * x[k];
        }
        h[j] = a.tanh();
    }
    let mut z = [T::zero(); 3];
    for c in 0..3 {
        let mut s = b2[c];
        for j in 0..H {
            s += w2[H * c + j] * h[j];
        }
        z[c] = s;
    }
    let max = |a: T, b: T| if a >= b { a } else { b };
    let m = max(max(z[0], z[1]), z[2]);
    let lse = m + ((z[0] - m).exp() + (z[1] - m).exp() + (z[2] - m).exp()).ln();
    lse - (z[0] * y[0] + z[1] * y[1] + z[2] * y[2])
}

/// 4: forward-mode dual numbers, 131-wide.
#[inline]
pub fn num_dual(p: &[f64; P], x: [f64; 4], y: [f64; 3]) -> (f64, [f64; P]) {
    let (v, g) = num_dual::gradient(
        |p: SVector<DualSVec64<P>, P>| loss_generic(p.as_slice(), x, y),
        &SVector::from(*p),
    );
    (v, g.into())
}

/// 5: central finite differences of `loss`: 263 evaluations.
#[inline]
pub fn central_fd(p: &[f64; P], x: [f64; 4], y: [f64; 3]) -> (f64, [f64; P]) {
    crate::central_fd(p, |f| {
        let (w1, b1, w2, b2) = unflatten(f);
        loss(w1, b1, w2, b2, x, y)
    })
}

/// 6: candle-core: `h = tanh(x W1ᵀ + b1)`, `z = h W2ᵀ + b2`, log-softmax
/// (max shift detached), cross-entropy summed over rows.
pub struct Candle {
    w1: Var,
    b1: Var,
    w2: Var,
    b2: Var,
    x: Tensor,
    y: Tensor,
}

impl Candle {
    pub fn new(p: &Params, samples: &[([f64; 4], [f64; 3])]) -> candle_core::Result<Self> {
        let dev = Device::Cpu;
        let n = samples.len();
        let w1: Vec<f64> = p.0.iter().flatten().copied().collect();
        let w2: Vec<f64> = p.2.iter().flatten().copied().collect();
        let xs: Vec<f64> = samples.iter().flat_map(|s| s.0).collect();
        let ys: Vec<f64> = samples.iter().flat_map(|s| s.1).collect();
        Ok(Candle {
            w1: Var::from_slice(&w1, (H, 4), &dev)?,
            b1: Var::from_slice(&p.1, H, &dev)?,
            w2: Var::from_slice(&w2, (3, H), &dev)?,
            b2: Var::from_slice(&p.3, 3, &dev)?,
            x: Tensor::from_vec(xs, (n, 4), &dev)?,
            y: Tensor::from_vec(ys, (n, 3), &dev)?,
        })
    }

    /// Value and gradient flattened as [`flatten`].
    pub fn value_grad(&self) -> candle_core::Result<(f64, Vec<f64>)> {
        let h = self
            .x
            .matmul(&self.w1.t()?)?
            .broadcast_add(&self.b1)?
            .tanh()?;
        let z = h.matmul(&self.w2.t()?)?.broadcast_add(&self.b2)?;
        let m = z.max_keepdim(D::Minus1)?.detach();
        let zs = z.broadcast_sub(&m)?;
        let lse = zs.exp()?.sum_keepdim(D::Minus1)?.log()?;
        let logp = zs.broadcast_sub(&lse)?;
        let loss = self.y.mul(&logp)?.sum_all()?.neg()?;
        let (v, g) = crate::candle_backward(&loss, &[&self.w1, &self.b1, &self.w2, &self.b2])?;
        Ok((v, g.concat()))
    }
}

/// The benchmark parameters (uniform in ±0.5) and sample (one-hot label).
pub fn params() -> Params {
    let mut r = crate::Lcg::new(7);
    let mut f = [0.0; P];
    for v in f.iter_mut() {
        *v = r.uniform(-0.5, 0.5);
    }
    unflatten(&f)
}

pub const X: [f64; 4] = [0.3, -1.2, 0.8, 0.5];
pub const Y: [f64; 3] = [0.0, 1.0, 0.0];

/// A batch of samples with one-hot labels.
pub fn batch(n: usize) -> Vec<([f64; 4], [f64; 3])> {
    let mut r = crate::Lcg::new(11);
    (0..n)
        .map(|i| {
            let x = std::array::from_fn(|_| r.uniform(-2.0, 2.0));
            let mut y = [0.0; 3];
            y[i % 3] = 1.0;
            (x, y)
        })
        .collect()
}
