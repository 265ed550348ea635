//! Tests of [`lbfgs`] and [`newton`] / [`newton_with_hessian`] against
//! independent oracles: minima solved by Gaussian elimination or by hand,
//! Rosenbrock's known minimum at (1, …, 1), and gradients and
//! Hessian-vector products written out by hand (backprop-core cannot use
//! the macro).

#![allow(clippy::needless_range_loop)] // index loops read like the formulas

use super::*;
use crate::{At, Error, Sgd};

/// A symmetric positive definite matrix, strictly diagonally dominant with
/// a positive diagonal (hence SPD by Gershgorin), and a right-hand side.
const A: [[f64; 5]; 5] = [
    [4.0, 1.0, 0.0, 0.5, 0.0],
    [1.0, 3.0, 1.0, 0.0, 0.0],
    [0.0, 1.0, 2.5, 0.5, 0.2],
    [0.5, 0.0, 0.5, 2.0, 0.3],
    [0.0, 0.0, 0.2, 0.3, 1.0],
];
const B: [f64; 5] = [1.0, -2.0, 3.0, 0.5, -1.0];

/// `A·x`.
fn mat_vec<const N: usize>(a: &[[f64; N]; N], x: &[f64; N]) -> [f64; N] {
    std::array::from_fn(|i| (0..N).map(|j| a[i][j] * x[j]).sum())
}

/// `½xᵀAx − bᵀx` and its gradient `Ax − b`.
fn quadratic<const N: usize>(a: &[[f64; N]; N], b: &[f64; N], x: &[f64; N]) -> (f64, [f64; N]) {
    let ax = mat_vec(a, x);
    let value = (0..N).map(|i| 0.5 * x[i] * ax[i] - b[i] * x[i]).sum();
    (value, std::array::from_fn(|i| ax[i] - b[i]))
}

/// Solves `A·x = b` by Gaussian elimination with partial pivoting: the
/// oracle for the quadratic's minimum.
fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> [f64; N] {
    for k in 0..N {
        let p = (k..N)
            .max_by(|&i, &j| a[i][k].abs().total_cmp(&a[j][k].abs()))
            .unwrap();
        a.swap(k, p);
        b.swap(k, p);
        for i in k + 1..N {
            let m = a[i][k] / a[k][k];
            for j in k..N {
                a[i][j] -= m * a[k][j];
            }
            b[i] -= m * b[k];
        }
    }
    let mut x = [0.0; N];
    for k in (0..N).rev() {
        let s: f64 = (k + 1..N).map(|j| a[k][j] * x[j]).sum();
        x[k] = (b[k] - s) / a[k][k];
    }
    x
}

/// The chained Rosenbrock function `Σᵢ 100(x[i+1] − x[i]²)² + (1 − x[i])²`
/// and its gradient, by hand.
fn rosenbrock<const N: usize>(x: &[f64; N]) -> (f64, [f64; N]) {
    let mut f = 0.0;
    let mut g = [0.0; N];
    for i in 0..N - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
        g[i] += -400.0 * x[i] * a - 2.0 * b;
        g[i + 1] += 200.0 * a;
    }
    (f, g)
}

/// Rosenbrock's Hessian (tridiagonal) times `v`, by hand: each term
/// contributes `[[1200x_i² − 400x_{i+1} + 2, −400x_i], [−400x_i, 200]]` on
/// the indices `(i, i + 1)`.
fn rosenbrock_hvp<const N: usize>(x: &[f64; N], v: &[f64; N]) -> [f64; N] {
    let mut hv = [0.0; N];
    for i in 0..N - 1 {
        let d = 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        let o = -400.0 * x[i];
        hv[i] += d * v[i] + o * v[i + 1];
        hv[i + 1] += o * v[i] + 200.0 * v[i + 1];
    }
    hv
}

/// Rosenbrock's Hessian, dense, from the same terms.
fn rosenbrock_hessian<const N: usize>(x: &[f64; N]) -> [[f64; N]; N] {
    let mut h = [[0.0; N]; N];
    for i in 0..N - 1 {
        h[i][i] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        h[i + 1][i + 1] += 200.0;
        h[i][i + 1] += -400.0 * x[i];
        h[i + 1][i] += -400.0 * x[i];
    }
    h
}

/// The standard start `(−1.2, 1, −1.2, 1, …)`.
fn rosenbrock_start<const N: usize>() -> [f64; N] {
    std::array::from_fn(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
}

fn assert_at_ones<const N: usize>(x: &[f64; N], tol: f64) {
    for (i, xi) in x.iter().enumerate() {
        assert!((xi - 1.0).abs() <= tol, "x[{i}] = {xi}");
    }
}

#[test]
fn the_oracles_agree_with_each_other() {
    // the solver's answer makes the gradient vanish, and the hand HVP is
    // the hand Hessian times v
    let x = solve(A, B);
    let (_, g) = quadratic(&A, &B, &x);
    assert!(g.iter().all(|gi| gi.abs() < 1e-14), "{g:?}");
    let x = [0.3, -0.7, 1.1, 0.4];
    let v = [1.0, 2.0, -0.5, 0.25];
    let hv = rosenbrock_hvp(&x, &v);
    let h = rosenbrock_hessian(&x);
    for i in 0..4 {
        let want: f64 = (0..4).map(|j| h[i][j] * v[j]).sum();
        assert!((hv[i] - want).abs() < 1e-12);
    }
    // and the hand gradient against central differences
    let (_, g) = rosenbrock(&x);
    for i in 0..4 {
        let (mut p, mut m) = (x, x);
        p[i] += 1e-6;
        m[i] -= 1e-6;
        let fd = (rosenbrock(&p).0 - rosenbrock(&m).0) / 2e-6;
        assert!(
            (g[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
            "{i}: {} vs {fd}",
            g[i]
        );
    }
}

#[test]
fn newton_lands_on_the_minimum_of_a_quadratic_in_one_step() {
    let want = solve(A, B);
    // exact subproblem solves, and a region large enough for the Newton step
    let options = NewtonOptions::new()
        .grad_tol(1e-12)
        .forcing(1e-14)
        .initial_radius(100.0);
    let mut x = [0.0; 5];
    let r = newton(
        &mut x,
        &options,
        |x| quadratic(&A, &B, x),
        |_, v| mat_vec(&A, v),
    )
    .unwrap();
    assert_eq!((r.stop, r.steps), (StopReason::GradientNorm, 1));
    for i in 0..5 {
        assert!((x[i] - want[i]).abs() < 1e-13, "{x:?} vs {want:?}");
    }
    // conjugate gradients end within n products in exact arithmetic
    assert!(r.hessian_evaluations <= 6, "{}", r.hessian_evaluations);
    assert_eq!(r.evaluations, 2);

    // the same with the dense Hessian: one Hessian, one step
    let mut x = [0.0; 5];
    let r = newton_with_hessian(&mut x, &options, |x| quadratic(&A, &B, x), |_| A).unwrap();
    assert_eq!(
        (r.stop, r.steps, r.hessian_evaluations),
        (StopReason::GradientNorm, 1, 1)
    );
    for i in 0..5 {
        assert!((x[i] - want[i]).abs() < 1e-13);
    }
}

#[test]
fn newton_with_default_options_on_a_quadratic() {
    // From 0 the minimum is at distance ‖A⁻¹b‖ ≈ 2.5: with radius 1 the
    // first steps reach the boundary (ρ = 1 exactly, the model being the
    // function), the radius doubles, and the loose forcing 0.1 tightens
    // as the gradient shrinks.
    let want = solve(A, B);
    let mut x = [0.0; 5];
    let r = newton(
        &mut x,
        &NewtonOptions::new().grad_tol(1e-10),
        |x| quadratic(&A, &B, x),
        |_, v| mat_vec(&A, v),
    )
    .unwrap();
    assert_eq!(r.stop, StopReason::GradientNorm);
    assert!(r.steps <= 6, "{} steps", r.steps);
    for i in 0..5 {
        assert!((x[i] - want[i]).abs() < 1e-10);
    }
    // every step of a quadratic's exact model is accepted: the loss falls
    assert!(r.history.windows(2).all(|w| w[1] < w[0]), "{:?}", r.history);
}

#[test]
fn lbfgs_converges_on_a_quadratic_in_about_n_steps() {
    // n = 10, A tridiagonal: 4 on the diagonal, 1 beside it (eigenvalues
    // 4 + 2cos(kπ/11) ∈ (2, 6)).
    const N: usize = 10;
    let mut a = [[0.0; N]; N];
    for i in 0..N {
        a[i][i] = 4.0;
        if i + 1 < N {
            a[i][i + 1] = 1.0;
            a[i + 1][i] = 1.0;
        }
    }
    let b: [f64; N] = std::array::from_fn(|i| (i as f64 - 4.5) / 3.0);
    let want = solve(a, b);
    let mut x = [0.0; N];
    let r = lbfgs(&mut x, &LbfgsOptions::new().grad_tol(1e-10), |x| {
        quadratic(&a, &b, x)
    })
    .unwrap();
    assert_eq!(r.stop, StopReason::GradientNorm);
    assert!(r.steps <= N + 5, "{} steps", r.steps);
    for i in 0..N {
        assert!((x[i] - want[i]).abs() < 1e-10, "{x:?} vs {want:?}");
    }
    // the loss never rises (beyond its rounding, where the last steps
    // are judged by the approximate Wolfe conditions)
    assert!(
        r.history
            .windows(2)
            .all(|w| w[1] <= w[0] + 1e-13 * w[0].abs()),
        "{:?}",
        r.history
    );
}

#[test]
fn rosenbrock_2d_newton_beats_lbfgs_beats_gradient_descent() {
    let tol = 1e-8;
    let mut xn = rosenbrock_start::<2>();
    let rn = newton(
        &mut xn,
        &NewtonOptions::new().grad_tol(tol),
        rosenbrock,
        rosenbrock_hvp,
    )
    .unwrap();
    let mut xd = rosenbrock_start::<2>();
    let rd = newton_with_hessian(
        &mut xd,
        &NewtonOptions::new().grad_tol(tol),
        rosenbrock,
        rosenbrock_hessian,
    )
    .unwrap();
    let mut xl = rosenbrock_start::<2>();
    let rl = lbfgs(&mut xl, &LbfgsOptions::new().grad_tol(tol), rosenbrock).unwrap();
    // gradient descent with the largest fixed rate that is stable along the
    // path (the Hessian's top eigenvalue is about 1000 at (1, 1))
    let mut xg = rosenbrock_start::<2>();
    let rg = minimize(
        &mut xg,
        &mut Sgd::new(1e-3),
        &MinimizeOptions::new().grad_tol(tol).max_steps(200_000),
        rosenbrock,
    )
    .unwrap();
    for (r, x) in [(&rn, &xn), (&rd, &xd), (&rl, &xl), (&rg, &xg)] {
        assert_eq!(r.stop, StopReason::GradientNorm, "{r:?}");
        assert!(r.grad_norm <= tol);
        assert_eq!(r.grad_norm, rosenbrock(x).1.norm());
        // near (1, 1) the smallest eigenvalue of H is about 0.4, so the
        // distance to the minimum is at most ‖g‖/0.4
        assert_at_ones(x, 3e-8);
    }
    // the dense Hessian is the HVP's matrix: the same iterates
    assert_eq!(rn.steps, rd.steps);
    assert!((xn[0] - xd[0]).abs() < 1e-12);
    eprintln!(
        "2-D Rosenbrock to ‖g‖ ≤ 1e-8: Newton {} steps ({} evaluations, {} H·v), \
         L-BFGS {} steps ({} evaluations), gradient descent {} steps",
        rn.steps, rn.evaluations, rn.hessian_evaluations, rl.steps, rl.evaluations, rg.steps
    );
    assert!(
        rn.steps < rl.steps,
        "Newton {} vs L-BFGS {}",
        rn.steps,
        rl.steps
    );
    assert!(
        100 * rl.steps < rg.steps,
        "L-BFGS {} vs descent {}",
        rl.steps,
        rg.steps
    );
}

/// The extended Rosenbrock function of Moré, Garbow & Hillstrom (problem
/// 21): `N/2` independent copies of the 2-D function on the pairs
/// `(x[2k], x[2k+1])`, whose standard start is `(−1.2, 1, −1.2, 1, …)` and
/// only minimum `(1, …, 1)`. Value and gradient, by hand.
fn extended_rosenbrock<const N: usize>(x: &[f64; N]) -> (f64, [f64; N]) {
    let mut f = 0.0;
    let mut g = [0.0; N];
    for k in 0..N / 2 {
        let (i, j) = (2 * k, 2 * k + 1);
        let (a, b) = (x[j] - x[i] * x[i], 1.0 - x[i]);
        f += 100.0 * a * a + b * b;
        g[i] = -400.0 * x[i] * a - 2.0 * b;
        g[j] = 200.0 * a;
    }
    (f, g)
}

/// Its Hessian (block diagonal, 2 × 2 blocks) times `v`.
fn extended_rosenbrock_hvp<const N: usize>(x: &[f64; N], v: &[f64; N]) -> [f64; N] {
    let mut hv = [0.0; N];
    for k in 0..N / 2 {
        let (i, j) = (2 * k, 2 * k + 1);
        let d = 1200.0 * x[i] * x[i] - 400.0 * x[j] + 2.0;
        let o = -400.0 * x[i];
        hv[i] = d * v[i] + o * v[j];
        hv[j] = o * v[i] + 200.0 * v[j];
    }
    hv
}

#[test]
fn extended_rosenbrock_10d_from_the_standard_start() {
    let tol = 1e-8;
    let mut xn = rosenbrock_start::<10>();
    let rn = newton(
        &mut xn,
        &NewtonOptions::new().grad_tol(tol),
        extended_rosenbrock,
        extended_rosenbrock_hvp,
    )
    .unwrap();
    let mut xl = rosenbrock_start::<10>();
    let rl = lbfgs(
        &mut xl,
        &LbfgsOptions::new().grad_tol(tol),
        extended_rosenbrock,
    )
    .unwrap();
    for (r, x) in [(&rn, &xn), (&rl, &xl)] {
        assert_eq!(r.stop, StopReason::GradientNorm, "{r:?}");
        assert_eq!(r.loss, extended_rosenbrock(x).0);
        assert_at_ones(x, 3e-8);
    }
    eprintln!(
        "extended 10-D Rosenbrock to ‖g‖ ≤ 1e-8: Newton {} steps ({} evaluations, {} H·v), \
         L-BFGS {} steps ({} evaluations)",
        rn.steps, rn.evaluations, rn.hessian_evaluations, rl.steps, rl.evaluations
    );
    assert!(
        rn.steps < rl.steps,
        "Newton {} vs L-BFGS {}",
        rn.steps,
        rl.steps
    );
}

#[test]
fn chained_rosenbrock_10d_from_zero() {
    let tol = 1e-8;
    let mut xn = [0.0; 10];
    let rn = newton(
        &mut xn,
        &NewtonOptions::new().grad_tol(tol),
        rosenbrock,
        rosenbrock_hvp,
    )
    .unwrap();
    let mut xd = [0.0; 10];
    let rd = newton_with_hessian(
        &mut xd,
        &NewtonOptions::new().grad_tol(tol),
        rosenbrock,
        rosenbrock_hessian,
    )
    .unwrap();
    let mut xl = [0.0; 10];
    let rl = lbfgs(&mut xl, &LbfgsOptions::new().grad_tol(tol), rosenbrock).unwrap();
    for (r, x) in [(&rn, &xn), (&rd, &xd), (&rl, &xl)] {
        assert_eq!(r.stop, StopReason::GradientNorm, "{r:?}");
        assert_eq!(r.loss, rosenbrock(x).0);
        assert_at_ones(x, 1e-7);
    }
    eprintln!(
        "chained 10-D Rosenbrock from 0 to ‖g‖ ≤ 1e-8: Newton {} steps ({} evaluations, \
         {} H·v), L-BFGS {} steps ({} evaluations)",
        rn.steps, rn.evaluations, rn.hessian_evaluations, rl.steps, rl.evaluations
    );
    assert!(
        rn.steps < rl.steps,
        "Newton {} vs L-BFGS {}",
        rn.steps,
        rl.steps
    );
}

/// `true` if the symmetric matrix is positive definite: Cholesky
/// factorization succeeds.
fn positive_definite<const N: usize>(a: &[[f64; N]; N]) -> bool {
    let mut l = [[0.0; N]; N];
    for i in 0..N {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d <= 0.0 {
                    return false;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    true
}

#[test]
fn chained_rosenbrock_10d_from_the_alternating_start_has_two_minima() {
    // The chained function (unlike the extended one) has, for 4 ≤ n ≤ 30,
    // a second local minimum near (−1, 1, …, 1) (Kok & Sandrock, Evol.
    // Comput. 17, 2009). From (−1.2, 1, −1.2, 1, …) L-BFGS finds the
    // global one and Newton the other: both are minima — the gradient
    // vanishes and the hand Hessian there is positive definite.
    let tol = 1e-8;
    let mut xn = rosenbrock_start::<10>();
    let rn = newton(
        &mut xn,
        &NewtonOptions::new().grad_tol(tol),
        rosenbrock,
        rosenbrock_hvp,
    )
    .unwrap();
    let mut xl = rosenbrock_start::<10>();
    let rl = lbfgs(&mut xl, &LbfgsOptions::new().grad_tol(tol), rosenbrock).unwrap();
    assert_eq!(rl.stop, StopReason::GradientNorm);
    assert_at_ones(&xl, 1e-7);
    assert_eq!(rn.stop, StopReason::GradientNorm);
    assert!(rosenbrock(&xn).1.norm() <= tol);
    assert!((xn[0] + 0.9933).abs() < 1e-4, "{xn:?}");
    assert!(xn[1..].iter().all(|&x| (0.9..=1.0).contains(&x)), "{xn:?}");
    assert!((rn.loss - 3.98658).abs() < 1e-5, "{}", rn.loss);
    assert!(positive_definite(&rosenbrock_hessian(&xn)));
    assert!(positive_definite(&rosenbrock_hessian(&[1.0; 10])));
}

#[test]
fn without_tolerances_both_stop_at_the_rounding_floor() {
    // No grad_tol: run until no step can lower the loss any more. At
    // Rosenbrock's minimum the loss is 0 and its rounding tiny, so they
    // get far below 1e-8.
    let mut x = rosenbrock_start::<2>();
    let r = lbfgs(&mut x, &LbfgsOptions::new(), rosenbrock).unwrap();
    assert!(
        matches!(r.stop, StopReason::NoProgress | StopReason::GradientNorm),
        "{r:?}"
    );
    assert!(r.grad_norm < 1e-10, "{r:?}");
    assert!(r.steps < 1000);
    let mut x = rosenbrock_start::<2>();
    let r = newton(&mut x, &NewtonOptions::new(), rosenbrock, rosenbrock_hvp).unwrap();
    assert!(
        matches!(r.stop, StopReason::NoProgress | StopReason::GradientNorm),
        "{r:?}"
    );
    assert!(r.grad_norm < 1e-10, "{r:?}");
    assert!(r.steps < 1000);
}

#[test]
fn newton_escapes_a_saddle_along_negative_curvature() {
    // f(x, y) = x² − y² + y⁴/4 has a saddle at 0 and minima where x = 0,
    // y² = 2, with f = 1 − 2 = −1. At (1, 0.1) the Hessian diag(2, 3y² − 2)
    // is indefinite.
    let f = |p: &[f64; 2]| {
        let [x, y] = *p;
        (
            x * x - y * y + y.powi(4) / 4.0,
            [2.0 * x, -2.0 * y + y.powi(3)],
        )
    };
    let hvp = |p: &[f64; 2], v: &[f64; 2]| [2.0 * v[0], (3.0 * p[1] * p[1] - 2.0) * v[1]];
    let mut p = [1.0, 0.1];
    let r = newton(&mut p, &NewtonOptions::new().grad_tol(1e-12), f, hvp).unwrap();
    assert_eq!(r.stop, StopReason::GradientNorm);
    assert!(
        p[0].abs() < 1e-12 && (p[1] - 2.0_f64.sqrt()).abs() < 1e-12,
        "{p:?}"
    );
    assert!((r.loss + 1.0).abs() < 1e-15);
}

#[test]
fn tuples_and_nested_arrays_are_parameters() {
    // f(a, [b, c]) = (a − 1)² + 2(b + 2)² + 3(c − a)², minimum 0 at
    // a = 1, b = −2, c = 1; its Hessian is constant:
    // [[2 + 6, 0, −6], [0, 4, 0], [−6, 0, 6]].
    let f = |p: &(f64, [f64; 2])| {
        let (a, [b, c]) = *p;
        let value = (a - 1.0).powi(2) + 2.0 * (b + 2.0).powi(2) + 3.0 * (c - a).powi(2);
        let grad = (
            2.0 * (a - 1.0) - 6.0 * (c - a),
            [4.0 * (b + 2.0), 6.0 * (c - a)],
        );
        (value, grad)
    };
    let hvp = |_: &(f64, [f64; 2]), v: &(f64, [f64; 2])| {
        let (a, [b, c]) = *v;
        (8.0 * a - 6.0 * c, [4.0 * b, -6.0 * a + 6.0 * c])
    };
    let want = (1.0, [-2.0, 1.0]);
    let mut p = (5.0, [5.0, 5.0]);
    let r = newton(&mut p, &NewtonOptions::new().grad_tol(1e-12), f, hvp).unwrap();
    assert_eq!(r.stop, StopReason::GradientNorm);
    assert!((p.0 - want.0).abs() < 1e-12 && (p.1[0] - want.1[0]).abs() < 1e-12);
    assert!((p.1[1] - want.1[1]).abs() < 1e-12);
    // the dense Hessian of a tuple: [[f64; 3]; 3] over the flat elements
    let mut p = (5.0, [5.0, 5.0]);
    let h = [[8.0, 0.0, -6.0], [0.0, 4.0, 0.0], [-6.0, 0.0, 6.0]];
    let r = newton_with_hessian(&mut p, &NewtonOptions::new().grad_tol(1e-12), f, |_| h).unwrap();
    assert_eq!(r.stop, StopReason::GradientNorm);
    assert!((p.0 - 1.0).abs() < 1e-12 && (p.1[0] + 2.0).abs() < 1e-12);
    let mut p = (5.0, [5.0, 5.0]);
    let r = lbfgs(&mut p, &LbfgsOptions::new().grad_tol(1e-12), f).unwrap();
    assert_eq!(r.stop, StopReason::GradientNorm);
    assert!((p.0 - 1.0).abs() < 1e-12 && (p.1[1] - 1.0).abs() < 1e-12);

    // 2-D Rosenbrock on a nested array [[x], [y]], with the Hessian as a
    // row-major Vec of its 4 elements
    let g = |w: &[[f64; 1]; 2]| {
        let (v, g) = rosenbrock(&[w[0][0], w[1][0]]);
        (v, [[g[0]], [g[1]]])
    };
    let hess = |w: &[[f64; 1]; 2]| {
        let h = rosenbrock_hessian(&[w[0][0], w[1][0]]);
        vec![h[0][0], h[0][1], h[1][0], h[1][1]]
    };
    let mut w = [[-1.2], [1.0]];
    let r = newton_with_hessian(&mut w, &NewtonOptions::new().grad_tol(1e-8), g, hess).unwrap();
    assert_eq!(r.stop, StopReason::GradientNorm);
    assert_at_ones(&[w[0][0], w[1][0]], 3e-8);
    let mut w = [[-1.2], [1.0]];
    let r = lbfgs(&mut w, &LbfgsOptions::new().grad_tol(1e-8), g).unwrap();
    assert_eq!(r.stop, StopReason::GradientNorm);
    assert_at_ones(&[w[0][0], w[1][0]], 3e-8);
}

#[test]
fn vec_parameters() {
    // Rosenbrock in 6-D on a Vec, from 0, the Hessian-vector products on
    // Vecs
    let to = |x: &Vec<f64>| -> [f64; 6] { x.as_slice().try_into().unwrap() };
    let mut x = vec![0.0; 6];
    let r = newton(
        &mut x,
        &NewtonOptions::new().grad_tol(1e-8),
        |x| {
            let (v, g) = rosenbrock(&to(x));
            (v, g.to_vec())
        },
        |x, v| rosenbrock_hvp(&to(x), &to(v)).to_vec(),
    )
    .unwrap();
    assert_eq!(r.stop, StopReason::GradientNorm);
    assert_at_ones(&to(&x), 1e-7);
}

#[test]
fn f32_parameters() {
    // f32 Rosenbrock: the gradient's rounding near (1, 1) is about
    // 400·ε_f32 ≈ 5e-5, so ask for 1e-3.
    let f = |x: &[f32; 2]| {
        let (a, b) = (x[1] - x[0] * x[0], 1.0 - x[0]);
        (
            100.0 * a * a + b * b,
            [-400.0 * x[0] * a - 2.0 * b, 200.0 * a],
        )
    };
    let hvp = |x: &[f32; 2], v: &[f32; 2]| {
        let d = 1200.0 * x[0] * x[0] - 400.0 * x[1] + 2.0;
        let o = -400.0 * x[0];
        [d * v[0] + o * v[1], o * v[0] + 200.0 * v[1]]
    };
    let mut x = [-1.2_f32, 1.0];
    let r = newton(&mut x, &NewtonOptions::new().grad_tol(1e-3), f, hvp).unwrap();
    assert_eq!(r.stop, StopReason::GradientNorm);
    assert!(
        (x[0] - 1.0).abs() < 1e-2 && (x[1] - 1.0).abs() < 1e-2,
        "{x:?}"
    );
    assert!(r.loss < 1e-5);
    let mut x = [-1.2_f32, 1.0];
    let r = lbfgs(&mut x, &LbfgsOptions::new().grad_tol(1e-3), f).unwrap();
    assert_eq!(r.stop, StopReason::GradientNorm);
    assert!(
        (x[0] - 1.0).abs() < 1e-2 && (x[1] - 1.0).abs() < 1e-2,
        "{x:?}"
    );
    assert!(r.loss < 1e-5);
}

#[test]
fn a_nan_loss_is_an_error_and_params_stay_finite() {
    // f(x) = (x − 3)² where x ≥ 1, NaN below: from 5 the runs head for 3
    // and never see NaN …
    let f = |x: &f64| {
        if *x < 1.0 {
            (f64::NAN, 2.0 * (x - 3.0))
        } else {
            ((x - 3.0).powi(2), 2.0 * (x - 3.0))
        }
    };
    let mut x = 5.0;
    lbfgs(&mut x, &LbfgsOptions::new().grad_tol(1e-12), f).unwrap();
    assert!((x - 3.0).abs() < 1e-12);
    // … but with the minimum moved into the NaN region the first trial
    // point there is an error, and x stays at the last point accepted.
    let f = |x: &f64| {
        if *x < 1.0 {
            (f64::NAN, 2.0 * x)
        } else {
            (x * x, 2.0 * x)
        }
    };
    let mut x = 5.0;
    let e = lbfgs(&mut x, &LbfgsOptions::new(), f).unwrap_err();
    let Error::NonFiniteLoss {
        at: At::Step(k),
        value,
    } = e
    else {
        panic!("{e:?}")
    };
    assert!(value.is_nan() && k >= 1);
    assert!(x.is_finite() && x >= 1.0, "{x}");
    assert!(e.to_string().starts_with("loss is NaN at step "));

    let mut x = 5.0;
    let e = newton(
        &mut x,
        &NewtonOptions::new().initial_radius(10.0),
        f,
        |_, v| 2.0 * v,
    )
    .unwrap_err();
    // the first step is the Newton step to 0, inside the region: NaN there
    assert_eq!(e.to_string(), "loss is NaN at step 1");
    assert_eq!(x, 5.0);
}

#[test]
fn a_nan_gradient_or_hessian_is_an_error_naming_the_element() {
    let f = |x: &[f64; 2]| (x[0] * x[0] + x[1] * x[1], [2.0 * x[0], f64::NAN]);
    let mut x = [1.0, 2.0];
    let e = lbfgs(&mut x, &LbfgsOptions::new(), f).unwrap_err();
    assert_eq!(e.to_string(), "gradient element 1 ([1]) is NaN at step 0");
    assert_eq!(x, [1.0, 2.0]);
    let e = newton(&mut x, &NewtonOptions::new(), f, |_, v| *v).unwrap_err();
    assert_eq!(e.to_string(), "gradient element 1 ([1]) is NaN at step 0");
    assert_eq!(x, [1.0, 2.0]);

    // a finite gradient but H·v with an infinite element
    let f = |x: &[f64; 2]| (x[0] * x[0] + x[1] * x[1], [2.0 * x[0], 2.0 * x[1]]);
    let e = newton(&mut x, &NewtonOptions::new(), f, |_, v| {
        [2.0 * v[0], f64::INFINITY]
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "Hessian element 1 ([1]) is inf at step 0");
    assert_eq!(x, [1.0, 2.0]);
    let e = newton_with_hessian(&mut x, &NewtonOptions::new(), f, |_| {
        [[2.0, 0.0], [f64::NAN, 2.0]]
    })
    .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::NonFiniteHessian { at: At::Step(0), index: 2, path, value }
                if path == "[1][0]" && value.is_nan()
        ),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "Hessian element 2 ([1][0]) is NaN at step 0");
}

#[test]
fn the_hessian_after_a_step_is_named_by_that_step() {
    // f = (x + 10)² from 2 with radius 1: the first step goes to the
    // boundary, x = 1 (ρ = 1: the model is exact). H·v is NaN away from
    // the start, so the products at x = 1 — the point after step 1 — fail.
    let f = |x: &f64| ((x + 10.0).powi(2), 2.0 * (x + 10.0));
    let hvp = |x: &f64, v: &f64| if *x < 1.5 { f64::NAN } else { 2.0 * v };
    let mut x = 2.0;
    let e = newton(&mut x, &NewtonOptions::new(), f, hvp).unwrap_err();
    assert_eq!(e.to_string(), "Hessian element 0 is NaN at step 1");
    assert_eq!(x, 1.0);
}

#[test]
fn a_zero_gradient_at_the_start_stops_at_once() {
    let f = |x: &[f64; 2]| (x[0] * x[0] + x[1] * x[1], [2.0 * x[0], 2.0 * x[1]]);
    let mut x = [0.0, 0.0];
    let r = lbfgs(&mut x, &LbfgsOptions::new(), f).unwrap();
    assert_eq!(
        (r.stop, r.steps, r.evaluations),
        (StopReason::GradientNorm, 0, 1)
    );
    let r = newton(&mut x, &NewtonOptions::new(), f, |_, v| *v).unwrap();
    assert_eq!(
        (r.stop, r.steps, r.hessian_evaluations),
        (StopReason::GradientNorm, 0, 0)
    );
}

#[test]
fn invalid_options_are_refused_before_evaluating() {
    let f = |_: &f64| -> (f64, f64) { panic!("must not be called") };
    let mut x = 1.0;
    let bad = [
        LbfgsOptions::new().memory(0),
        LbfgsOptions::new().wolfe(0.9, 0.1),
        LbfgsOptions::new().wolfe(0.0, 0.9),
        LbfgsOptions::new().max_line_search(0),
    ];
    for o in bad {
        assert!(
            matches!(lbfgs(&mut x, &o, f), Err(Error::InvalidOptions(_))),
            "{o:?}"
        );
    }
    let bad = [
        NewtonOptions::new().initial_radius(0.0),
        NewtonOptions::new().initial_radius(2000.0),
        NewtonOptions::new().eta(0.25),
        NewtonOptions::new().forcing(1.0),
        NewtonOptions::new().max_cg_iterations(0),
    ];
    for o in bad {
        assert!(
            matches!(
                newton(&mut x, &o, f, |_, v| *v),
                Err(Error::InvalidOptions(_))
            ),
            "{o:?}"
        );
    }
}

#[test]
fn the_path_and_history_follow_the_steps() {
    let mut x = rosenbrock_start::<2>();
    let r = lbfgs(
        &mut x,
        &LbfgsOptions::new().grad_tol(1e-8).record_path(true),
        rosenbrock,
    )
    .unwrap();
    assert_eq!(r.path.len(), r.steps + 1);
    assert_eq!(r.history.len(), r.steps + 1);
    assert_eq!(r.path[0], vec![-1.2, 1.0]);
    assert_eq!(r.path.last().unwrap(), &x.to_vec());
    for (p, &h) in r.path.iter().zip(&r.history) {
        assert_eq!(rosenbrock(&[p[0], p[1]]).0, h);
    }
    // every L-BFGS step lowers the loss (sufficient decrease)
    assert!(r.history.windows(2).all(|w| w[1] < w[0]));
    assert!(r.evaluations > r.steps);

    let mut x = rosenbrock_start::<2>();
    let r = newton(
        &mut x,
        &NewtonOptions::new().grad_tol(1e-8).record_path(true),
        rosenbrock,
        rosenbrock_hvp,
    )
    .unwrap();
    assert_eq!(r.path.len(), r.steps + 1);
    for (p, &h) in r.path.iter().zip(&r.history) {
        assert_eq!(rosenbrock(&[p[0], p[1]]).0, h);
    }
    // a trust-region step is either taken (the loss falls) or not (the
    // point stays): one evaluation per step
    assert!(r.history.windows(2).all(|w| w[1] <= w[0]));
    assert_eq!(r.evaluations, r.steps + 1);
    // without record_path nothing is kept
    let mut x = rosenbrock_start::<2>();
    let r = lbfgs(&mut x, &LbfgsOptions::new().max_steps(3), rosenbrock).unwrap();
    assert!(r.path.is_empty());
    assert_eq!((r.stop, r.steps), (StopReason::MaxSteps, 3));
}

#[test]
fn loss_tol_stops_lbfgs_and_ignores_rejected_newton_steps() {
    let mut x = rosenbrock_start::<2>();
    let r = lbfgs(&mut x, &LbfgsOptions::new().loss_tol(1e-20), rosenbrock).unwrap();
    assert!(
        matches!(r.stop, StopReason::LossChange | StopReason::NoProgress),
        "{r:?}"
    );
    let n = r.history.len();
    if r.stop == StopReason::LossChange {
        assert!((r.history[n - 1] - r.history[n - 2]).abs() <= 1e-20);
    }
    // Newton: a rejected step leaves the loss unchanged but does not count
    // as a change of 0
    let mut x = rosenbrock_start::<2>();
    let r = newton(
        &mut x,
        &NewtonOptions::new().loss_tol(1e-3),
        rosenbrock,
        rosenbrock_hvp,
    )
    .unwrap();
    assert_eq!(r.stop, StopReason::LossChange);
    let n = r.history.len();
    let (a, b) = (r.history[n - 2], r.history[n - 1]);
    assert!(a != b && (a - b).abs() <= 1e-3, "{:?}", r.history);
    // and there were rejected steps (the loss repeated) that did not stop it
    assert!(
        r.history.windows(2).any(|w| w[0] == w[1]),
        "{:?}",
        r.history
    );
}
