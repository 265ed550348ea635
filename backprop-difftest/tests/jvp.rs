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
