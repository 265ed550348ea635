//! Tanh MLPs with softmax cross-entropy at the sizes of issue 9's table,
//! 64-64-10 and 128-64-10, written with `for` loops like the MNIST-size one
//! ([`crate::mnist_mlp`]): `#[derive_grad]`'s `loss_grad_acc_with` against
//! the hand-written accumulating backward pass, and `loss` (forward) alone.

// Index loops, as the tutorials (and users) write them.
#![allow(clippy::needless_range_loop)]

/// One MLP size: `loss` (with `loss_grad`, `loss_grad_acc_with`),
/// `hand_acc`, `sample` and a test against each other.
macro_rules! mlp_size {
    ($name:ident, $n_in:literal, $n_hid:literal, $n_out:literal) => {
        /// A tanh MLP of this size.
        pub mod $name {
            use backprop::prelude::*;

            /// Inputs.
            pub const N_IN: usize = $n_in;
            /// Hidden units.
            pub const N_HID: usize = $n_hid;
            /// Classes.
            pub const N_OUT: usize = $n_out;
            /// `(∂loss/∂w1, ∂loss/∂w2)`.
            pub type Grad = ([[f64; $n_in]; $n_hid], [[f64; $n_hid]; $n_out]);

            /// The loss, and generated, `loss_grad*`.
            #[derive_grad(wrt(w1, w2))]
            pub fn loss(
                w1: &[[f64; $n_in]; $n_hid],
                w2: &[[f64; $n_hid]; $n_out],
                x: &[f64; $n_in],
                label: usize,
            ) -> f64 {
                let mut h = [0.0; $n_hid];
                for j in 0..$n_hid {
                    let mut s = 0.0;
                    for i in 0..$n_in {
                        s += w1[j][i] * x[i];
                    }
                    h[j] = s.tanh();
                }
                let mut z = [0.0; $n_out];
                for k in 0..$n_out {
                    let mut s = 0.0;
                    for j in 0..$n_hid {
                        s += w2[k][j] * h[j];
                    }
                    z[k] = s;
                }
                let mut m = 0.0;
                for k in 0..$n_out {
                    m += z[k].exp();
                }
                m.ln() - z[label]
            }

            /// The weights and input: `(w1, w2, x)`.
            #[allow(clippy::type_complexity)]
            pub fn sample() -> (Box<Grad>, [f64; N_IN]) {
                let x = std::array::from_fn(|i| ((i * 7) % 13) as f64 / 13.0);
                let mut w = zero_grad();
                for j in 0..N_HID {
                    for i in 0..N_IN {
                        w.0[j][i] = (((i + 3 * j) % 17) as f64 - 8.0) * 0.01;
                    }
                }
                for k in 0..N_OUT {
                    for j in 0..N_HID {
                        w.1[k][j] = (((j + 5 * k) % 11) as f64 - 5.0) * 0.05;
                    }
                }
                (w, x)
            }

            /// Zeros, built on the heap.
            pub fn zero_grad() -> Box<Grad> {
                // SAFETY: all-zero bits are `0.0` for every `f64`.
                unsafe { Box::<Grad>::new_zeroed().assume_init() }
            }

            /// The hand-written value, its gradient *added* into `g`.
            pub fn hand_acc(
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
                fn generated_and_hand_written_gradients_agree() {
                    let (w, x) = sample();
                    let (mut a, mut b) = (zero_grad(), zero_grad());
                    let mut work = Workspace::new();
                    for label in [1, 7] {
                        let v = hand_acc(&w.0, &w.1, &x, label, &mut a);
                        let bv = loss_grad_acc_with(&w.0, &w.1, &x, label, &mut b, &mut work);
                        assert_eq!(bv.to_bits(), loss(&w.0, &w.1, &x, label).to_bits());
                        assert!((bv - v).abs() <= 1e-12 * v.abs(), "{bv} vs {v}");
                    }
                    for j in 0..N_HID {
                        for i in 0..N_IN {
                            assert!((a.0[j][i] - b.0[j][i]).abs() <= 1e-12, "w1[{j}][{i}]");
                        }
                    }
                    for k in 0..N_OUT {
                        for j in 0..N_HID {
                            assert!((a.1[k][j] - b.1[k][j]).abs() <= 1e-12, "w2[{k}][{j}]");
                        }
                    }
                }
            }
        }
    };
}

mlp_size!(mlp_64_64_10, 64, 64, 10);
mlp_size!(mlp_128_64_10, 128, 64, 10);
