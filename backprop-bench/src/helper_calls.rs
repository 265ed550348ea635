//! The cost of a helper called with a slice: a tanh layer per sample, its
//! softmax cross-entropy computed by a `#[derive_grad]` helper that takes
//! the layer as `&[f64]` (the caller's reverse calls the helper's
//! `NAME_pullback`, which runs the helper's forward sweep again), against
//! the same loss written out in one function, and a hand-written gradient;
//! and the same loss with each of the layer's dot products by a helper too,
//! on ranges of the weights and of the samples (`dot(&w[c·d..(c+1)·d],
//! &xs[s·d..(s+1)·d])`). k = 10 classes, d = 64 inputs, 64 samples (a
//! digits-sized batch).

#![allow(clippy::needless_range_loop)]

use backprop::prelude::*;

/// Classes.
pub const K: usize = 10;
/// Inputs per sample.
pub const D: usize = 64;
/// Samples.
pub const N: usize = 64;

/// Weights (`K × D`, row-major) and samples (`N × D`).
pub fn data() -> (Vec<f64>, Vec<f64>) {
    let w = (0..K * D)
        .map(|i| 0.1 * ((i as f64) * 0.37).sin())
        .collect();
    let xs = (0..N * D).map(|i| ((i as f64) * 0.11).cos()).collect();
    (w, xs)
}

/// `log Σ_i exp(h_i) − h[label]`, shifted by the maximum.
#[derive_grad]
pub fn cross_entropy(h: &[f64], label: usize) -> f64 {
    let mut m = h[0];
    for i in 1..h.len() {
        m = m.max(h[i]);
    }
    let mut s = 0.0;
    for i in 0..h.len() {
        s += (h[i] - m).exp();
    }
    s.ln() + m - h[label]
}

/// 1, 2: the loss through the helper; sample `s` has label `s % k`.
#[derive_grad]
pub fn with_helper(w: &[f64], xs: &[f64], k: usize) -> f64 {
    let d = w.len() / k;
    let n = xs.len() / d;
    let mut total = 0.0;
    for s in 0..n {
        let mut h = vec![0.0; k];
        for c in 0..k {
            let mut z = 0.0;
            for j in 0..d {
                z += w[c * d + j] * xs[s * d + j];
            }
            h[c] = z.tanh();
        }
        total += cross_entropy(&h, s % k);
    }
    total
}

/// `Σ_j a_j·b_j`.
#[derive_grad]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for j in 0..a.len() {
        s += a[j] * b[j];
    }
    s
}

/// 5: the layer's dot products by a helper too, on ranges of `w` and `xs`.
#[derive_grad]
pub fn with_row_helper(w: &[f64], xs: &[f64], k: usize) -> f64 {
    let d = w.len() / k;
    let n = xs.len() / d;
    let mut total = 0.0;
    for s in 0..n {
        let mut h = vec![0.0; k];
        for c in 0..k {
            h[c] = dot(&w[c * d..(c + 1) * d], &xs[s * d..(s + 1) * d]).tanh();
        }
        total += cross_entropy(&h, s % k);
    }
    total
}

/// 7: the loss written out, with each sample and each row of the
/// weights bound to a name (`let row = &w[c·d..(c+1)·d];`) and read at
/// indices, as a Rust user writes a matrix-vector product.
#[derive_grad]
pub fn with_named_rows(w: &[f64], xs: &[f64], k: usize) -> f64 {
    let d = w.len() / k;
    let n = xs.len() / d;
    let mut total = 0.0;
    for s in 0..n {
        let x = &xs[s * d..(s + 1) * d];
        let mut h = vec![0.0; k];
        for c in 0..k {
            let row = &w[c * d..(c + 1) * d];
            let mut z = 0.0;
            for j in 0..row.len() {
                z += row[j] * x[j];
            }
            h[c] = z.tanh();
        }
        let mut m = h[0];
        for i in 1..k {
            m = m.max(h[i]);
        }
        let mut e = 0.0;
        for i in 0..k {
            e += (h[i] - m).exp();
        }
        total += e.ln() + m - h[s % k];
    }
    total
}

/// 3: the same loss in one function.
#[derive_grad]
pub fn written_out(w: &[f64], xs: &[f64], k: usize) -> f64 {
    let d = w.len() / k;
    let n = xs.len() / d;
    let mut total = 0.0;
    for s in 0..n {
        let mut h = vec![0.0; k];
        for c in 0..k {
            let mut z = 0.0;
            for j in 0..d {
                z += w[c * d + j] * xs[s * d + j];
            }
            h[c] = z.tanh();
        }
        let mut m = h[0];
        for i in 1..k {
            m = m.max(h[i]);
        }
        let mut e = 0.0;
        for i in 0..k {
            e += (h[i] - m).exp();
        }
        total += e.ln() + m - h[s % k];
    }
    total
}

/// 4: by hand, adding into `grad`: per sample, the layer, the softmax's
/// adjoint `e_c / S − [c = label]` through tanh, then one pass over `w`.
pub fn hand(w: &[f64], xs: &[f64], grad: &mut [f64]) -> f64 {
    let mut total = 0.0;
    for s in 0..N {
        let x = &xs[s * D..(s + 1) * D];
        let mut h = [0.0; K];
        for c in 0..K {
            let row = &w[c * D..(c + 1) * D];
            let z: f64 = row.iter().zip(x).map(|(a, b)| a * b).sum();
            h[c] = z.tanh();
        }
        let m = h.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let mut e = [0.0; K];
        let mut sum = 0.0;
        for c in 0..K {
            e[c] = (h[c] - m).exp();
            sum += e[c];
        }
        let label = s % K;
        total += sum.ln() + m - h[label];
        for c in 0..K {
            let dh = e[c] / sum - if c == label { 1.0 } else { 0.0 };
            let dz = dh * (1.0 - h[c] * h[c]);
            for (g, xj) in grad[c * D..(c + 1) * D].iter_mut().zip(x) {
                *g += dz * xj;
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_gradients_agree() {
        let (w, xs) = data();
        let (mut a, mut b, mut c) = (vec![0.0; K * D], vec![0.0; K * D], vec![0.0; K * D]);
        let mut r = vec![0.0; K * D];
        let va = with_helper_grad_acc(&w, &xs, K, &mut a);
        let vb = written_out_grad_acc(&w, &xs, K, &mut b);
        let vr = with_row_helper_grad_acc(&w, &xs, K, &mut r);
        let mut named = vec![0.0; K * D];
        let vn = with_named_rows_grad_acc(&w, &xs, K, &mut named);
        assert_eq!(vn.to_bits(), with_named_rows(&w, &xs, K).to_bits());
        assert!((vn - vb).abs() < 1e-10);
        let vc = hand(&w, &xs, &mut c);
        assert!((va - vc).abs() < 1e-10 && (vb - vc).abs() < 1e-10 && (vr - vc).abs() < 1e-10);
        assert_eq!(vr.to_bits(), with_row_helper(&w, &xs, K).to_bits());
        for i in 0..K * D {
            assert!((a[i] - c[i]).abs() < 1e-12, "{i}: {} vs {}", a[i], c[i]);
            assert!((b[i] - c[i]).abs() < 1e-12, "{i}: {} vs {}", b[i], c[i]);
            assert!((r[i] - c[i]).abs() < 1e-12, "{i}: {} vs {}", r[i], c[i]);
            assert!(
                (named[i] - c[i]).abs() < 1e-12,
                "{i}: {} vs {}",
                named[i],
                c[i]
            );
        }
    }
}
