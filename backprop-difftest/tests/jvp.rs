//! `#[derive_grad(jvp)]` (forward mode, issue 11): `NAME_jvp(args…, v)`
//! returns the value, bit for bit the original's, and the directional
//! derivative, checked against num-dual's dual numbers (the same generic
//! function run on `Dual64F` seeded with `v`) and against `NAME_grad · v`.

use backprop::prelude::*;
use backprop_difftest::Dual64F;

/// Straight-line, with a select (`max`), a power and a sum of products.
#[derive_grad(jvp)]
fn mixed<F: Float>(w: [F; 4], x: F) -> F {
    let a = w[0] * x + w[1].sin();
    let b = (w[2] * w[3]).exp() / (F::one() + a * a);
    let c = a.max(b) + w[3].powi(3);
    let mut s = F::zero();
    for i in 0..4 {
        s = s + w[i] * w[(i + 1) % 4];
    }
    c * s.tanh()
}

/// A scalar parameter by value, and one that is not differentiated.
#[derive_grad(jvp, wrt(r))]
fn logistic<F: Float>(x0: F, r: F) -> F {
    let mut x = x0;
    for _ in 0..8 {
        x = r * x * (F::one() - x);
    }
    x
}

/// A call to another `#[derive_grad]` function, by reference.
#[derive_grad]
fn norm2<F: Float>(v: &[F; 3]) -> F {
    v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
}

#[derive_grad(jvp)]
fn calls<F: Float>(v: &[F; 3]) -> F {
    norm2(v).sqrt() + v[0] * norm2(v)
}

fn dual<const N: usize>(w: [f64; N], v: [f64; N]) -> [Dual64F; N] {
    std::array::from_fn(|i| Dual64F::new(w[i], v[i]))
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
}

#[test]
fn jvp_matches_dual_numbers_and_the_gradient() {
    let w = [0.3f64, -1.2, 0.8, 0.45];
    let x = 0.7f64;
    for v in [[1.0, 0.0, 0.0, 0.0], [0.2, -0.5, 1.5, 0.3], [0.0; 4]] {
        let (value, d) = mixed_jvp(w, x, v);
        assert_eq!(value.to_bits(), mixed(w, x).to_bits());
        close(d, mixed(dual(w, v), Dual64F::new(x, 0.0)).eps());
        let (_, g) = mixed_grad(w, x);
        close(d, (0..4).map(|i| g[i] * v[i]).sum());
    }

    let (value, d) = logistic_jvp(0.2f64, 3.7, 1.0);
    assert_eq!(value.to_bits(), logistic(0.2f64, 3.7).to_bits());
    close(
        d,
        logistic(Dual64F::new(0.2, 0.0), Dual64F::new(3.7, 1.0)).eps(),
    );

    let p = [0.5f64, -1.5, 2.0];
    let v = [1.0, 2.0, -0.5];
    let (value, d) = calls_jvp(&p, &v);
    assert_eq!(value.to_bits(), calls(&p).to_bits());
    close(d, calls(&dual(p, v)).eps());
}

#[test]
fn f32_jvp() {
    let (value, d) = mixed_jvp([0.3f32, -1.2, 0.8, 0.45], 0.7, [0.2, -0.5, 1.5, 0.3]);
    assert_eq!(value, mixed([0.3f32, -1.2, 0.8, 0.45], 0.7));
    let want = mixed(
        dual([0.3, -1.2, 0.8, 0.45], [0.2, -0.5, 1.5, 0.3]),
        Dual64F::new(0.7, 0.0),
    )
    .eps();
    assert!(
        (f64::from(d) - want).abs() < 1e-4 * (1.0 + want.abs()),
        "{d} vs {want}"
    );
}

// Loops that stay loops (more than 16 iterations, run-time lengths): the
// loop is rebuilt carrying the tangents beside the values.

/// The logistic map iterated 1000 times: a rolled loop whose carried
/// value is active (the mode-choice example of issue 11).
#[derive_grad(jvp, wrt(r))]
fn logistic_long<F: Float>(x0: F, r: F) -> F {
    let mut x = x0;
    for _ in 0..1000 {
        x = r * x * (F::one() - x);
    }
    x
}

/// The 100-dimensional Rosenbrock function: the parameter read at
/// run-time indices in a rolled loop.
#[derive_grad(jvp)]
fn rosenbrock<F: Float>(x: &[F; 100]) -> F {
    let mut s = F::zero();
    for i in 0..99 {
        let a = x[i + 1] - x[i] * x[i];
        let b = F::one() - x[i];
        s = s + F::from(100.0).unwrap() * a * a + b * b;
    }
    s
}

/// A local array written by one rolled loop and read by the next (an MLP
/// layer), nested loops, an `if` in a loop, and a run-time length.
#[derive_grad(jvp)]
fn layers<F: Float>(w: &[[F; 20]; 20], x: &[F; 20], n: usize) -> F {
    let mut h = [F::zero(); 20];
    for j in 0..20 {
        let mut z = F::zero();
        for i in 0..20 {
            z = z + w[j][i] * x[i];
        }
        h[j] = if z > F::zero() {
            z.tanh()
        } else {
            F::from(0.1).unwrap() * z
        };
    }
    let mut s = F::zero();
    for j in 0..n {
        s = s + h[j % 20] * h[(j + 3) % 20];
    }
    s
}

/// A `while` loop with a run-time condition and a `break`.
#[derive_grad(jvp, wrt(a))]
fn halving<F: Float>(a: F, x0: F) -> F {
    let mut x = x0;
    let mut k = 0;
    while x > F::from(1e-3).unwrap() {
        x = x * a.sin().abs() + F::from(1e-4).unwrap() * a;
        k += 1;
        if k >= 200 {
            break;
        }
    }
    x
}

#[test]
fn jvp_through_rolled_loops() {
    let (value, d) = logistic_long_jvp(0.2f64, 3.2, 1.0);
    assert_eq!(value.to_bits(), logistic_long(0.2f64, 3.2).to_bits());
    close(
        d,
        logistic_long(Dual64F::new(0.2, 0.0), Dual64F::new(3.2, 1.0)).eps(),
    );
    let (_, g) = logistic_long_grad(0.2f64, 3.2);
    close(d, g);

    let x: [f64; 100] = std::array::from_fn(|i| 0.5 + 0.3 * (i as f64 * 0.7).sin());
    let v: [f64; 100] = std::array::from_fn(|i| (i as f64 * 1.3).cos());
    let (value, d) = rosenbrock_jvp(&x, &v);
    assert_eq!(value.to_bits(), rosenbrock(&x).to_bits());
    close(d, rosenbrock(&dual(x, v)).eps());
    let (_, g) = rosenbrock_grad(&x);
    close(d, (0..100).map(|i| g[i] * v[i]).sum());

    let w: [[f64; 20]; 20] =
        std::array::from_fn(|j| std::array::from_fn(|i| ((j * 20 + i) as f64 * 0.37).sin() * 0.4));
    let vw: [[f64; 20]; 20] =
        std::array::from_fn(|j| std::array::from_fn(|i| ((j * 7 + i) as f64 * 0.11).cos()));
    let xs: [f64; 20] = std::array::from_fn(|i| (i as f64 * 0.9).cos());
    for n in [0, 7, 45] {
        let (value, d) = layers_jvp(&w, &xs, n, &vw);
        assert_eq!(value.to_bits(), layers(&w, &xs, n).to_bits());
        let wd: [[Dual64F; 20]; 20] =
            std::array::from_fn(|j| std::array::from_fn(|i| Dual64F::new(w[j][i], vw[j][i])));
        let xd: [Dual64F; 20] = std::array::from_fn(|i| Dual64F::new(xs[i], 0.0));
        close(d, layers(&wd, &xd, n).eps());
    }

    for (a, x0) in [(0.7f64, 2.0), (1.4, 0.5), (0.9, 1e-4)] {
        let (value, d) = halving_jvp(a, x0, 1.0);
        assert_eq!(value.to_bits(), halving(a, x0).to_bits());
        close(
            d,
            halving(Dual64F::new(a, 1.0), Dual64F::new(x0, 0.0)).eps(),
        );
    }
}

/// A `Vec` parameter: the tangent is a `Vec` as long.
#[allow(clippy::ptr_arg)] // a `&Vec` is what is being tested
#[derive_grad(jvp)]
fn vec_norm<F: Float>(w: &Vec<F>) -> F {
    let mut s = F::zero();
    for i in 0..w.len() {
        s = s + w[i] * w[i] * w[(i + 1) % w.len()].sin();
    }
    s.sqrt()
}

#[test]
fn jvp_of_a_vec_parameter() {
    let w = vec![0.3f64, -1.2, 0.8, 0.45, 2.0];
    let v = vec![0.1, 0.2, -0.3, 1.0, 0.5];
    let (value, d) = vec_norm_jvp(&w, &v);
    assert_eq!(value.to_bits(), vec_norm(&w).to_bits());
    let wd: Vec<Dual64F> = w
        .iter()
        .zip(&v)
        .map(|(&a, &b)| Dual64F::new(a, b))
        .collect();
    close(d, vec_norm(&wd).eps());
}

/// The logistic map with respect to both its start and its rate: the mode
/// choice takes forward mode for a few scalars too, one loop carrying a
/// tangent per scalar beside the iterate (no tape).
#[derive_grad(wrt(x0, r))]
fn logistic_both<F: Float>(x0: F, r: F, steps: usize) -> F {
    let mut x = x0;
    for _ in 0..steps {
        x = r * x * (F::one() - x);
    }
    x
}

/// Three scalars, one of them not read in the loop, and an `if` in it.
#[derive_grad(wrt(a, b, c))]
fn three<F: Float>(a: F, b: F, c: F) -> F {
    let mut s = a;
    // A contraction (derivatives well-conditioned through 300 steps).
    for i in 0..300 {
        s = if s > F::zero() {
            F::from(0.5).unwrap() * (s * b).sin() + F::from(0.001).unwrap() * F::from(i).unwrap()
        } else {
            F::from(0.5).unwrap() * s * s - b
        };
    }
    s * c
}

#[test]
fn forward_mode_chosen_for_a_few_scalars() {
    for steps in [0, 1, 20, 1000] {
        let (value, (dx0, dr)) = logistic_both_grad(0.2f64, 3.2, steps);
        assert_eq!(value.to_bits(), logistic_both(0.2f64, 3.2, steps).to_bits());
        let by_x0 = logistic_both(Dual64F::new(0.2, 1.0), Dual64F::constant(3.2), steps).eps();
        let by_r = logistic_both(Dual64F::constant(0.2), Dual64F::new(3.2, 1.0), steps).eps();
        close(dx0, by_x0);
        close(dr, by_r);
        let mut acc = (0.5, -0.25);
        let v = logistic_both_grad_acc(0.2f64, 3.2, steps, &mut acc);
        assert_eq!(v.to_bits(), value.to_bits());
        close(acc.0, 0.5 + dx0);
        close(acc.1, -0.25 + dr);
    }
    let (a, b, c) = (0.7f64, 1.3, -0.4);
    let (value, (da, db, dc)) = three_grad(a, b, c);
    assert_eq!(value.to_bits(), three(a, b, c).to_bits());
    let d = |k: usize| {
        let e = |j: usize| if j == k { 1.0 } else { 0.0 };
        three(
            Dual64F::new(a, e(0)),
            Dual64F::new(b, e(1)),
            Dual64F::new(c, e(2)),
        )
        .eps()
    };
    close(da, d(0));
    close(db, d(1));
    close(dc, d(2));
}
