//! An MNIST-size tanh MLP, 784-128-10, with softmax cross-entropy for one
//! sample, written with `for` loops (101,632 weights): `#[derive_grad]`
//! keeps its loops as loops. The hand-written gradient is the textbook
//! backward pass, as tight as I can write it.

// Index loops, as the tutorials (and users) write them.
#![allow(clippy::needless_range_loop)]

use backprop::prelude::*;

/// Inputs.
pub const N_IN: usize = 784;
/// Hidden units.
pub const N_HID: usize = 128;
/// Classes.
pub const N_OUT: usize = 10;

/// The loss and, generated, `loss_grad`.
#[derive_grad(wrt(w1, w2))]
pub fn loss(w1: &[[f64; 784]; 128], w2: &[[f64; 128]; 10], x: &[f64; 784], label: usize) -> f64 {
    let mut h = [0.0; 128];
    for j in 0..128 {
        let mut s = 0.0;
        for i in 0..784 {
            s += w1[j][i] * x[i];
        }
        h[j] = s.tanh();
    }
    let mut z = [0.0; 10];
    for k in 0..10 {
        let mut s = 0.0;
        for j in 0..128 {
            s += w2[k][j] * h[j];
        }
        z[k] = s;
    }
    let mut m = 0.0;
    for k in 0..10 {
        m += z[k].exp();
    }
    m.ln() - z[label]
}

/// The weights and input the benchmark and the test use: `(w1, w2, x)`.
#[allow(clippy::type_complexity)]
pub fn sample() -> (
    Box<[[f64; N_IN]; N_HID]>,
    [[f64; N_HID]; N_OUT],
    [f64; N_IN],
) {
    let x: [f64; N_IN] = std::array::from_fn(|i| ((i * 7) % 13) as f64 / 13.0);
    let w1: Box<[[f64; N_IN]; N_HID]> = (0..N_HID)
        .map(|j| std::array::from_fn(|i| (((i + 3 * j) % 17) as f64 - 8.0) * 0.004))
        .collect::<Vec<_>>()
        .into_boxed_slice()
        .try_into()
        .unwrap();
    let w2 =
        std::array::from_fn(|k| std::array::from_fn(|j| (((j + 5 * k) % 11) as f64 - 5.0) * 0.05));
    (w1, w2, x)
}

/// The gradient buffers of [`hand`].
pub struct Grad {
    /// ∂loss/∂w1.
    pub w1: Box<[[f64; N_IN]; N_HID]>,
    /// ∂loss/∂w2.
    pub w2: Box<[[f64; N_HID]; N_OUT]>,
}

impl Grad {
    /// Zeros.
    pub fn new() -> Grad {
        Grad {
            w1: vec![[0.0; N_IN]; N_HID]
                .into_boxed_slice()
                .try_into()
                .unwrap(),
            w2: Box::new([[0.0; N_HID]; N_OUT]),
        }
    }
}

impl Default for Grad {
    fn default() -> Self {
        Grad::new()
    }
}

/// The hand-written value and gradient (written into `g`, overwriting it).
pub fn hand(
    w1: &[[f64; N_IN]; N_HID],
    w2: &[[f64; N_HID]; N_OUT],
    x: &[f64; N_IN],
    label: usize,
    g: &mut Grad,
) -> f64 {
    let mut h = [0.0; N_HID];
    for j in 0..N_HID {
        let mut s = 0.0;
        for i in 0..N_IN {
            s += w1[j][i] * x[i];
        }
        h[j] = s.tanh();
    }
    let mut z = [0.0; N_OUT];
    for k in 0..N_OUT {
        let mut s = 0.0;
        for j in 0..N_HID {
            s += w2[k][j] * h[j];
        }
        z[k] = s;
    }
    let mut e = [0.0; N_OUT];
    let mut m = 0.0;
    for k in 0..N_OUT {
        e[k] = z[k].exp();
        m += e[k];
    }
    let value = m.ln() - z[label];
    // Backward: dz = softmax − onehot; dh = w2ᵀ dz; ds = dh (1 − h²).
    let mut dh = [0.0; N_HID];
    for k in 0..N_OUT {
        let dz = e[k] / m - if k == label { 1.0 } else { 0.0 };
        for j in 0..N_HID {
            g.w2[k][j] = dz * h[j];
            dh[j] += dz * w2[k][j];
        }
    }
    for j in 0..N_HID {
        let ds = dh[j] * (1.0 - h[j] * h[j]);
        for i in 0..N_IN {
            g.w1[j][i] = ds * x[i];
        }
    }
    value
}

/// The gradient as `loss_grad_acc` takes it: `(∂loss/∂w1, ∂loss/∂w2)`.
pub type GradTuple = ([[f64; N_IN]; N_HID], [[f64; N_HID]; N_OUT]);

/// A zero [`GradTuple`] on the heap (built there: 800 KB).
pub fn zero_grad_tuple() -> Box<GradTuple> {
    // SAFETY: all-zero bits are `0.0` for every `f64` of the tuple.
    unsafe { Box::<GradTuple>::new_zeroed().assume_init() }
}

/// The hand-written value and gradient *added* into `g`, as mini-batch
/// training sums per-sample gradients: the reference for `loss_grad_acc`.
pub fn hand_acc(
    w1: &[[f64; N_IN]; N_HID],
    w2: &[[f64; N_HID]; N_OUT],
    x: &[f64; N_IN],
    label: usize,
    g: &mut GradTuple,
) -> f64 {
    let mut h = [0.0; N_HID];
    for j in 0..N_HID {
        let mut s = 0.0;
        for i in 0..N_IN {
            s += w1[j][i] * x[i];
        }
        h[j] = s.tanh();
    }
    let mut z = [0.0; N_OUT];
    for k in 0..N_OUT {
        let mut s = 0.0;
        for j in 0..N_HID {
            s += w2[k][j] * h[j];
        }
        z[k] = s;
    }
    let mut e = [0.0; N_OUT];
    let mut m = 0.0;
    for k in 0..N_OUT {
        e[k] = z[k].exp();
        m += e[k];
    }
    let value = m.ln() - z[label];
    let mut dh = [0.0; N_HID];
    for k in 0..N_OUT {
        let dz = e[k] / m - if k == label { 1.0 } else { 0.0 };
        for j in 0..N_HID {
            g.1[k][j] += dz * h[j];
            dh[j] += dz * w2[k][j];
        }
    }
    for j in 0..N_HID {
        let ds = dh[j] * (1.0 - h[j] * h[j]);
        for i in 0..N_IN {
            g.0[j][i] += ds * x[i];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_gradient_is_the_hand_written_one() {
        let (w1, w2, x) = sample();
        let mut g = Grad::new();
        let v = hand(&w1, &w2, &x, 3, &mut g);
        // On a thread with room for the 800 KB gradient returned by value.
        let (bv, (g1, g2)) = std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || {
                let (v, (g1, g2)) = loss_grad(&w1, &w2, &x, 3);
                (v, (Box::new(g1), g2))
            })
            .unwrap()
            .join()
            .unwrap();
        assert!((bv - v).abs() <= 1e-12 * v.abs(), "{bv} vs {v}");
        for j in 0..N_HID {
            for i in 0..N_IN {
                assert!((g1[j][i] - g.w1[j][i]).abs() <= 1e-12, "w1[{j}][{i}]");
            }
        }
        for k in 0..N_OUT {
            for j in 0..N_HID {
                assert!((g2[k][j] - g.w2[k][j]).abs() <= 1e-12, "w2[{k}][{j}]");
            }
        }
    }

    #[test]
    fn the_generated_accumulating_gradient_is_the_hand_written_one() {
        let (w1, w2, x) = sample();
        // Two samples summed, into buffers that start non-zero.
        let mut by_hand = zero_grad_tuple();
        by_hand.0[5][7] = 1.5;
        let mut generated = zero_grad_tuple();
        generated.0[5][7] = 1.5;
        let mut work = Workspace::new();
        for label in [3, 8] {
            let v = hand_acc(&w1, &w2, &x, label, &mut by_hand);
            let bv = loss_grad_acc_with(&w1, &w2, &x, label, &mut generated, &mut work);
            assert!((bv - v).abs() <= 1e-12 * v.abs(), "{bv} vs {v}");
        }
        for j in 0..N_HID {
            for i in 0..N_IN {
                assert!(
                    (generated.0[j][i] - by_hand.0[j][i]).abs() <= 1e-12,
                    "w1[{j}][{i}]"
                );
            }
        }
        for k in 0..N_OUT {
            for j in 0..N_HID {
                assert!(
                    (generated.1[k][j] - by_hand.1[k][j]).abs() <= 1e-12,
                    "w2[{k}][{j}]"
                );
            }
        }
    }
}
