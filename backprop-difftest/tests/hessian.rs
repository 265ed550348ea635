//! `#[derive_grad(hessian)]` (issue 11): `NAME_hvp(args…, v)` and
//! `NAME_hessian(args…)`, checked against a hand-derived Hessian
//! (Rosenbrock), against central differences of the generated gradient,
//! and against dual numbers run through the gradient; H is symmetric and
//! its structural zeros are exact zeros.

#![allow(clippy::needless_range_loop)] // index loops read like the formulas

use backprop::prelude::*;
use backprop_difftest::Dual64F;

const N: usize = 8;

/// Rosenbrock in 8 dimensions (the loop of 7 is written out).
#[derive_grad(hessian)]
fn rosenbrock<F: Float>(x: [F; 8]) -> F {
    let mut s = F::zero();
    for i in 0..7 {
        let a = x[i + 1] - x[i] * x[i];
        let b = F::one() - x[i];
        s = s + F::from(100.0).unwrap() * a * a + b * b;
    }
    s
}

/// The Hessian by hand: tridiagonal.
fn hand_hessian(x: [f64; N]) -> [[f64; N]; N] {
    let mut h = [[0.0; N]; N];
    for i in 0..N - 1 {
        // terms of 100(x[i+1] − x[i]²)² + (1 − x[i])²
        h[i][i] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        h[i + 1][i + 1] += 200.0;
        h[i][i + 1] += -400.0 * x[i];
        h[i + 1][i] += -400.0 * x[i];
    }
    h
}

/// Mixed functions and a parameter that is not differentiated.
#[derive_grad(hessian, jvp)]
fn mixed<F: Float>(w: [F; 3], c: F) -> F {
    let a = (w[0] * w[1]).sin() + c * w[2].exp();
    let b = a.tanh() * w[0] / (F::one() + w[1] * w[1]);
    b + (w[2] - c).powi(3)
}

#[test]
fn rosenbrock_hessian_is_the_hand_one_with_exact_zeros() {
    let x = [-1.2f64, 1.0, 0.5, 0.3, -0.7, 1.1, 0.9, 0.2];
    let (v, g, h) = rosenbrock_hessian(x);
    assert_eq!(v.to_bits(), rosenbrock(x).to_bits());
    assert_eq!(g, rosenbrock_grad(x).1);
    let want = hand_hessian(x);
    for i in 0..N {
        for j in 0..N {
            if i.abs_diff(j) > 1 {
                assert_eq!(
                    h[i][j].to_bits(),
                    0.0f64.to_bits(),
                    "H[{i}][{j}] is a structural zero"
                );
            } else {
                assert!(
                    (h[i][j] - want[i][j]).abs() <= 1e-12 * (1.0 + want[i][j].abs()),
                    "H[{i}][{j}]: {} vs {}",
                    h[i][j],
                    want[i][j]
                );
            }
            assert_eq!(h[i][j], h[j][i], "symmetric");
        }
    }
    // H·v agrees with H times v.
    let v: [f64; N] = std::array::from_fn(|k| (k as f64 * 0.7).sin());
    let (val, g2, hv) = rosenbrock_hvp(x, v);
    assert_eq!(val.to_bits(), rosenbrock(x).to_bits());
    assert_eq!(g2, g);
    for i in 0..N {
        let row: f64 = (0..N).map(|j| want[i][j] * v[j]).sum();
        assert!(
            (hv[i] - row).abs() <= 1e-10 * (1.0 + row.abs()),
            "Hv[{i}]: {} vs {row}",
            hv[i]
        );
    }
}

#[test]
fn mixed_second_derivatives_against_differences_and_duals() {
    let w = [0.4f64, -0.9, 0.3];
    let c = 0.6;
    let (_, _, h) = mixed_hessian(w, c);
    // Column j: the derivative of the gradient along e_j, by dual numbers
    // run through the generated gradient (generic in F).
    for j in 0..3 {
        let wd: [Dual64F; 3] =
            std::array::from_fn(|k| Dual64F::new(w[k], if k == j { 1.0 } else { 0.0 }));
        let (_, gd) = mixed_grad(wd, Dual64F::new(c, 0.0));
        for i in 0..3 {
            assert!(
                (h[i][j] - gd[i].eps()).abs() <= 1e-12 * (1.0 + h[i][j].abs()),
                "H[{i}][{j}]: {} vs {}",
                h[i][j],
                gd[i].eps()
            );
        }
    }
    // H·v against central differences of the gradient along v.
    let v = [0.3, 1.0, -0.5];
    let (value, g, hv) = mixed_hvp(w, c, v);
    assert_eq!(value.to_bits(), mixed(w, c).to_bits());
    assert_eq!(g, mixed_grad(w, c).1);
    let eps = 1e-6;
    let plus = mixed_grad(std::array::from_fn(|k| w[k] + eps * v[k]), c).1;
    let minus = mixed_grad(std::array::from_fn(|k| w[k] - eps * v[k]), c).1;
    for i in 0..3 {
        let fd = (plus[i] - minus[i]) / (2.0 * eps);
        assert!(
            (hv[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
            "Hv[{i}]: {} vs {fd}",
            hv[i]
        );
    }
    // jvp and hessian together.
    let (_, d) = mixed_jvp(w, c, v);
    assert!((d - (0..3).map(|k| g[k] * v[k]).sum::<f64>()).abs() < 1e-12);
}

// Loops that stay loops: H·v by reverse mode over forward mode; H written
// out after unrolling (compile-time lengths), or assembled from columns
// H·e_j (run-time lengths).

/// Rosenbrock in 100 dimensions: a loop of 99 iterations, so `NAME_grad`
/// and `NAME_hvp` keep it a loop.
#[derive_grad(hessian)]
fn rosenbrock100<F: Float>(x: &[F; 100]) -> F {
    let mut s = F::zero();
    for i in 0..99 {
        let a = x[i + 1] - x[i] * x[i];
        let b = F::one() - x[i];
        s = s + F::from(100.0).unwrap() * a * a + b * b;
    }
    s
}

/// A loop of run-time length (`m` terms), a local array written in one
/// loop and read in the next, and an `if` in a loop.
#[derive_grad(hessian)]
fn runtime_len<F: Float>(w: [F; 5], m: usize) -> F {
    let mut h = [F::zero(); 5];
    for j in 0..5 {
        h[j] = if w[j] > F::zero() {
            w[j].sin() * w[(j + 1) % 5]
        } else {
            w[j] * w[j]
        };
    }
    let mut s = F::zero();
    for k in 0..m {
        s = s + h[k % 5] * w[(k + 2) % 5] + (w[k % 5] * F::from(0.1).unwrap()).exp();
    }
    s
}

/// `H[i][j]` against the hand-derived tridiagonal H of an `n`-dimensional
/// Rosenbrock, with exact zeros off the band.
fn check_rosenbrock_h(x: &[f64], h: &dyn Fn(usize, usize) -> f64) {
    let n = x.len();
    for i in 0..n {
        for j in 0..n {
            let mut want = 0.0;
            if i == j {
                if i + 1 < n {
                    want += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
                }
                if i > 0 {
                    want += 200.0;
                }
            } else if i.abs_diff(j) == 1 {
                want = -400.0 * x[i.min(j)];
            }
            let got = h(i, j);
            if i.abs_diff(j) > 1 {
                assert_eq!(got.to_bits(), 0.0f64.to_bits(), "H[{i}][{j}]");
            } else {
                assert!(
                    (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                    "H[{i}][{j}]: {got} vs {want}"
                );
            }
            assert_eq!(got, h(j, i), "symmetric");
        }
    }
}

#[test]
fn rosenbrock100_hessian_and_hvp_through_a_rolled_loop() {
    let x: [f64; 100] = std::array::from_fn(|i| 0.6 + 0.5 * (i as f64 * 0.9).sin());
    let (v, g, h) = rosenbrock100_hessian(&x);
    assert_eq!(v.to_bits(), rosenbrock100(&x).to_bits());
    let g_ref = rosenbrock100_grad(&x).1;
    for i in 0..100 {
        assert!((g[i] - g_ref[i]).abs() <= 1e-12 * (1.0 + g_ref[i].abs()));
    }
    check_rosenbrock_h(&x, &|i, j| h[i][j]);

    let dir: [f64; 100] = std::array::from_fn(|k| (k as f64 * 0.37).cos());
    let (value, g2, hv) = rosenbrock100_hvp(&x, &dir);
    assert_eq!(value.to_bits(), rosenbrock100(&x).to_bits());
    for i in 0..100 {
        assert!(
            (g2[i] - g_ref[i]).abs() <= 1e-12 * (1.0 + g_ref[i].abs()),
            "grad[{i}]"
        );
        let row: f64 = (0..100).map(|j| h[i][j] * dir[j]).sum();
        assert!(
            (hv[i] - row).abs() <= 1e-10 * (1.0 + row.abs()),
            "Hv[{i}]: {} vs {row}",
            hv[i]
        );
    }
    // H·v also against dual numbers run through the generated gradient.
    let xd: [Dual64F; 100] = std::array::from_fn(|k| Dual64F::new(x[k], dir[k]));
    let (_, gd) = rosenbrock100_grad(&xd);
    for i in 0..100 {
        assert!(
            (hv[i] - gd[i].eps()).abs() <= 1e-10 * (1.0 + hv[i].abs()),
            "Hv[{i}] vs duals"
        );
    }
}

#[test]
fn hessian_of_a_run_time_length_loop_from_columns() {
    let w = [0.4f64, -0.9, 0.3, 1.1, -0.2];
    for m in [0, 3, 12] {
        let (value, g, h) = runtime_len_hessian(w, m);
        assert_eq!(value.to_bits(), runtime_len(w, m).to_bits());
        let g_ref = runtime_len_grad(w, m).1;
        for i in 0..5 {
            assert!((g[i] - g_ref[i]).abs() <= 1e-12 * (1.0 + g_ref[i].abs()));
        }
        for j in 0..5 {
            let wd: [Dual64F; 5] =
                std::array::from_fn(|k| Dual64F::new(w[k], if k == j { 1.0 } else { 0.0 }));
            let (_, gd) = runtime_len_grad(wd, m);
            for i in 0..5 {
                assert!(
                    (h[i][j] - gd[i].eps()).abs() <= 1e-12 * (1.0 + h[i][j].abs()),
                    "m = {m}, H[{i}][{j}]: {} vs {}",
                    h[i][j],
                    gd[i].eps()
                );
                assert!((h[i][j] - h[j][i]).abs() <= 1e-12 * (1.0 + h[i][j].abs()));
            }
        }
        let v = [0.3, 1.0, -0.5, 0.2, 0.8];
        let (_, _, hv) = runtime_len_hvp(w, m, v);
        let eps = 1e-6;
        let plus = runtime_len_grad(std::array::from_fn(|k| w[k] + eps * v[k]), m).1;
        let minus = runtime_len_grad(std::array::from_fn(|k| w[k] - eps * v[k]), m).1;
        for i in 0..5 {
            let fd = (plus[i] - minus[i]) / (2.0 * eps);
            assert!(
                (hv[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "Hv[{i}]: {} vs {fd}",
                hv[i]
            );
        }
    }
}

/// A slice parameter: `NAME_hvp` returns `Vec`s, `NAME_hessian` H
/// row-major in a `Vec` of n².
#[derive_grad(hessian)]
fn spread<F: Float>(w: &[F]) -> F {
    let mut s = F::zero();
    for i in 1..w.len() {
        let d = w[i] - w[i - 1];
        s = s + d * d * d.exp() + w[i] * w[0];
    }
    s
}

#[test]
fn slice_hessian_is_a_row_major_vec() {
    let w = vec![0.3f64, -0.2, 0.9, 0.1, -0.5, 0.7];
    let n = w.len();
    let (value, g, h) = spread_hessian(&w);
    assert_eq!(value.to_bits(), spread(&w).to_bits());
    assert_eq!(h.len(), n * n);
    let g_ref = spread_grad(&w).1;
    for i in 0..n {
        assert!((g[i] - g_ref[i]).abs() <= 1e-12 * (1.0 + g_ref[i].abs()));
    }
    for j in 0..n {
        let wd: Vec<Dual64F> = (0..n)
            .map(|k| Dual64F::new(w[k], if k == j { 1.0 } else { 0.0 }))
            .collect();
        let (_, gd) = spread_grad(&wd);
        for i in 0..n {
            let hij = h[i * n + j];
            assert!(
                (hij - gd[i].eps()).abs() <= 1e-12 * (1.0 + hij.abs()),
                "H[{i}][{j}]: {hij} vs {}",
                gd[i].eps()
            );
            assert!(
                (hij - h[j * n + i]).abs() <= 1e-12 * (1.0 + hij.abs()),
                "symmetric"
            );
        }
    }
    let v = vec![1.0, -0.5, 0.25, 2.0, 0.0, -1.0];
    let (value, g2, hv) = spread_hvp(&w, &v);
    assert_eq!(value.to_bits(), spread(&w).to_bits());
    assert_eq!((g2.len(), hv.len()), (n, n));
    for i in 0..n {
        assert!((g2[i] - g_ref[i]).abs() <= 1e-12 * (1.0 + g_ref[i].abs()));
        let row: f64 = (0..n).map(|j| h[i * n + j] * v[j]).sum();
        assert!((hv[i] - row).abs() <= 1e-10 * (1.0 + row.abs()), "Hv[{i}]");
    }
    // An empty slice: nothing to differentiate.
    let (value, g, h) = spread_hessian::<f64>(&[]);
    assert_eq!((value, g.len(), h.len()), (0.0, 0, 0));
}

/// One scalar through a long loop (the logistic map, 200 iterations):
/// forward mode over forward mode.
#[derive_grad(hessian, wrt(r))]
fn logistic200<F: Float>(x0: F, r: F) -> F {
    let mut x = x0;
    for _ in 0..200 {
        x = r * x * (F::one() - x);
    }
    x
}

#[test]
fn scalar_through_a_long_loop() {
    for (x0, r) in [(0.3f64, 2.9), (0.7, 3.3), (0.2, 1.5)] {
        let (value, g, hv) = logistic200_hvp(x0, r, 0.5);
        assert_eq!(value.to_bits(), logistic200(x0, r).to_bits());
        let g_ref = logistic200_grad(x0, r).1;
        assert!(
            (g - g_ref).abs() <= 1e-10 * (1.0 + g_ref.abs()),
            "{g} vs {g_ref}"
        );
        // f'' by dual numbers run through the generated gradient.
        let (_, gd) = logistic200_grad(Dual64F::new(x0, 0.0), Dual64F::new(r, 1.0));
        let f2 = gd.eps();
        assert!(
            (hv - 0.5 * f2).abs() <= 1e-9 * (1.0 + f2.abs()),
            "{hv} vs {}",
            0.5 * f2
        );
        let (_, _, h) = logistic200_hessian(x0, r);
        assert!((h - f2).abs() <= 1e-9 * (1.0 + f2.abs()), "{h} vs {f2}");
    }
}

/// Several differentiated parameters: the tangent is a tuple, H is over
/// their flat elements in `wrt` order (here 1 + 3 = 4), `[[F; 4]; 4]`.
#[derive_grad(jvp, hessian, wrt(a, w))]
fn pair<F: Float>(a: F, w: [F; 3], c: F) -> F {
    let s = w[0] * a.sin() + w[1] * w[2] * c;
    (s * a).tanh() + w[2].powi(3) * a
}

/// Several parameters through a loop that stays a loop (40 iterations):
/// H·v by reverse over forward, H from the loop unrolled.
#[derive_grad(jvp, hessian, wrt(x0, r))]
fn logistic_pair<F: Float>(x0: F, r: F) -> F {
    let mut x = x0;
    for _ in 0..40 {
        x = r * x * (F::one() - x);
    }
    x
}

#[test]
fn several_parameters() {
    let (a, w, c) = (0.7f64, [0.3, -1.1, 0.5], 0.9);
    let (value, g, h) = pair_hessian(a, w, c);
    assert_eq!(value.to_bits(), pair(a, w, c).to_bits());
    let g_ref = pair_grad(a, w, c).1;
    assert_eq!(g, g_ref);
    // Column j of H: dual numbers along e_j through the generic gradient.
    for j in 0..4 {
        let e = |k: usize| if k == j { 1.0 } else { 0.0 };
        let ad = Dual64F::new(a, e(0));
        let wd: [Dual64F; 3] = std::array::from_fn(|k| Dual64F::new(w[k], e(k + 1)));
        let (_, (ga, gw)) = pair_grad(ad, wd, Dual64F::new(c, 0.0));
        let col = [ga.eps(), gw[0].eps(), gw[1].eps(), gw[2].eps()];
        for i in 0..4 {
            assert!(
                (h[i][j] - col[i]).abs() <= 1e-12 * (1.0 + col[i].abs()),
                "H[{i}][{j}]: {} vs {}",
                h[i][j],
                col[i]
            );
        }
    }
    let v = (0.5, [1.0, -0.25, 2.0]);
    let vf = [v.0, v.1[0], v.1[1], v.1[2]];
    let (value, g2, (hva, hvw)) = pair_hvp(a, w, c, v);
    assert_eq!(value.to_bits(), pair(a, w, c).to_bits());
    assert_eq!(g2, g_ref);
    let hv = [hva, hvw[0], hvw[1], hvw[2]];
    for i in 0..4 {
        let row: f64 = (0..4).map(|j| h[i][j] * vf[j]).sum();
        assert!((hv[i] - row).abs() <= 1e-12 * (1.0 + row.abs()), "Hv[{i}]");
    }
    let (value, d) = pair_jvp(a, w, c, v);
    assert_eq!(value.to_bits(), pair(a, w, c).to_bits());
    let dot = g_ref.0 * v.0 + (0..3).map(|k| g_ref.1[k] * v.1[k]).sum::<f64>();
    assert!((d - dot).abs() <= 1e-12 * (1.0 + dot.abs()));

    let (x0, r) = (0.3f64, 2.7);
    let (value, g, h) = logistic_pair_hessian(x0, r);
    assert_eq!(value.to_bits(), logistic_pair(x0, r).to_bits());
    let g_ref = logistic_pair_grad(x0, r).1;
    assert!((g.0 - g_ref.0).abs() <= 1e-12 * (1.0 + g_ref.0.abs()));
    assert!((g.1 - g_ref.1).abs() <= 1e-12 * (1.0 + g_ref.1.abs()));
    for j in 0..2 {
        let e = |k: usize| if k == j { 1.0 } else { 0.0 };
        let (_, (gx, gr)) = logistic_pair_grad(Dual64F::new(x0, e(0)), Dual64F::new(r, e(1)));
        let col = [gx.eps(), gr.eps()];
        for i in 0..2 {
            assert!(
                (h[i][j] - col[i]).abs() <= 1e-9 * (1.0 + col[i].abs()),
                "H[{i}][{j}]: {} vs {}",
                h[i][j],
                col[i]
            );
        }
    }
    let v = (0.5, -1.5);
    let (value, g2, hv) = logistic_pair_hvp(x0, r, v);
    assert_eq!(value.to_bits(), logistic_pair(x0, r).to_bits());
    assert!((g2.0 - g_ref.0).abs() <= 1e-12 * (1.0 + g_ref.0.abs()));
    let rows = [h[0][0] * v.0 + h[0][1] * v.1, h[1][0] * v.0 + h[1][1] * v.1];
    assert!(
        (hv.0 - rows[0]).abs() <= 1e-9 * (1.0 + rows[0].abs()),
        "{} vs {}",
        hv.0,
        rows[0]
    );
    assert!(
        (hv.1 - rows[1]).abs() <= 1e-9 * (1.0 + rows[1].abs()),
        "{} vs {}",
        hv.1,
        rows[1]
    );
    let (_, d) = logistic_pair_jvp(x0, r, v);
    let dot = g_ref.0 * v.0 + g_ref.1 * v.1;
    assert!((d - dot).abs() <= 1e-9 * (1.0 + dot.abs()));
}

/// Found by the differential test with `BACKPROP_DIFFTEST_SEED=99` (its
/// case_050, reduced): an adjoint buffer updated with a constant before an
/// active update (`d_h7[3] += 1`, then `d_h7[2] += x₁·…`) had no tangent
/// update for the constant one, so the tangent buffer's chain broke there
/// and row 2 of H lost half of ∂²f/∂x₂∂x₁ and ∂²f/∂x₂² (H not symmetric).
/// The dead loop of run-time length and the write at a run-time index are
/// what made that order of updates appear.
#[derive_grad(hessian)]
fn dead_loop_and_run_time_write<F: Float>(x: [F; 3], n: i32) -> F {
    // A loop of run-time length whose results nothing reads.
    for i1 in 0..(n as usize % 5) {
        let mut a3: F = F::from(i1).unwrap();
        a3 = a3 - x[1];
    }
    let mut h7 = [F::zero(); 4];
    for i8 in 0..4 {
        h7[i8] = F::from(1.3333333333333333).unwrap() * (if i8 < 3 { x[i8] } else { x[0] });
    }
    // A write at a run-time index.
    h7[n as usize % 4] = x[1] / (x[0] * x[0] + F::from(0.5).unwrap());
    let mut h9 = [F::zero(); 3];
    for i10 in 0..3 {
        h9[i10] = (F::from(0.765625).unwrap()).min(x[i10 % 3]) * (x[1] * h7[2]);
    }
    h7[3] + h9[2]
}

#[test]
fn hessian_through_an_adjoint_buffer_updated_with_a_constant() {
    let x = [-0.031005859375f64, -0.827880859375, 0.140869140625];
    let (value, _, h) = dead_loop_and_run_time_write_hessian(x, 300);
    assert_eq!(
        value.to_bits(),
        dead_loop_and_run_time_write(x, 300).to_bits()
    );
    for j in 0..3 {
        let xd: [Dual64F; 3] =
            std::array::from_fn(|k| Dual64F::new(x[k], if k == j { 1.0 } else { 0.0 }));
        let (_, gd) = dead_loop_and_run_time_write_grad(xd, 300);
        for i in 0..3 {
            assert!(
                (h[i][j] - gd[i].eps()).abs() <= 1e-9 * (1.0 + h[i][j].abs()),
                "H[{i}][{j}]: {} vs {}",
                h[i][j],
                gd[i].eps()
            );
        }
    }
}
