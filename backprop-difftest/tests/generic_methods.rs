//! `#[derive_grad]` methods in a generic `impl<F: Float> Model<F>` block
//! (issue 12): the impl's type parameter is the float type, as a
//! function's own `F` is. Each generated method is checked against dual
//! numbers run through the *original* method, instantiated at `F =
//! Dual64F` (possible precisely because it is generic), and at `f32`.

#![allow(clippy::needless_range_loop)] // index loops read like the formulas

use backprop::prelude::*;
use backprop_difftest::Dual64F;

/// A linear model; its own parameter is named `T`, the impl's `F`.
#[derive(Clone, Debug, PartialEq, Params)]
struct Linear<T> {
    w: [T; 3],
    b: T,
}

#[derive_grad]
impl<F: Float> Linear<F> {
    /// The prediction: differentiated with respect to `x` by default.
    #[derive_grad(jvp, hessian)]
    fn predict(&self, x: [F; 3]) -> F {
        let mut p = self.b;
        for i in 0..3 {
            p = p + self.w[i] * x[i];
        }
        (p * x[0]).tanh()
    }

    /// The squared error with respect to the model itself, calling
    /// another method.
    #[derive_grad(wrt(self))]
    fn loss(&self, x: &[F; 3], y: F) -> F {
        let e = self.predict(*x) - y;
        e * e
    }
}

/// A struct with a `Vec` field, in a generic impl of its own.
#[derive(Clone, Debug, PartialEq, Params)]
struct Penalty<F> {
    extra: Vec<F>,
    scale: F,
}

#[derive_grad]
impl<F: Float> Penalty<F> {
    /// `scale · Σ extra[k]² · x`, the `Vec` read in a rolled loop.
    #[derive_grad(wrt(self))]
    fn value(&self, x: F) -> F {
        let mut s = F::zero();
        for k in 0..self.extra.len() {
            s = s + self.extra[k] * self.extra[k];
        }
        self.scale * s * x
    }
}

fn model<F: Float>() -> Linear<F> {
    let c = |v: f64| F::from(v).unwrap();
    Linear {
        w: [c(0.5), c(-0.25), c(0.75)],
        b: c(0.1),
    }
}

fn dual(m: &Linear<f64>) -> Linear<Dual64F> {
    Linear {
        w: m.w.map(Dual64F::constant),
        b: Dual64F::constant(m.b),
    }
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
        "{what}: {got} vs {want}"
    );
}

#[test]
fn default_parameter_gradient_jvp_and_hessian() {
    let m = model::<f64>();
    let x = [0.4, -1.2, 0.9];
    let (v, g) = m.predict_grad(x);
    assert_eq!(v.to_bits(), m.predict(x).to_bits());
    let md = dual(&m);
    for i in 0..3 {
        let xd: [Dual64F; 3] =
            std::array::from_fn(|k| Dual64F::new(x[k], if k == i { 1.0 } else { 0.0 }));
        close(g[i], md.predict(xd).eps(), &format!("gradient {i}"));
    }
    let t = [0.3, 0.2, -0.5];
    let (v, dir) = m.predict_jvp(x, t);
    assert_eq!(v.to_bits(), m.predict(x).to_bits());
    let xd: [Dual64F; 3] = std::array::from_fn(|k| Dual64F::new(x[k], t[k]));
    close(dir, md.predict(xd).eps(), "jvp");
    // H by dual numbers through the generated gradient, itself generic.
    let (_, _, h) = m.predict_hessian(x);
    for j in 0..3 {
        let xd: [Dual64F; 3] =
            std::array::from_fn(|k| Dual64F::new(x[k], if k == j { 1.0 } else { 0.0 }));
        let (_, gd) = md.predict_grad(xd);
        for i in 0..3 {
            close(h[i][j], gd[i].eps(), &format!("H[{i}][{j}]"));
            close(h[i][j], h[j][i], &format!("symmetry at {i}, {j}"));
        }
    }
}

#[test]
fn gradient_with_respect_to_the_generic_model() {
    let m = model::<f64>();
    let (x, y) = ([0.4, -1.2, 0.9], 0.3);
    let (v, g) = m.loss_grad(&x, y);
    assert_eq!(v.to_bits(), m.loss(&x, y).to_bits());
    // Each element of the model along a unit dual direction.
    let md = dual(&m);
    let xd = x.map(Dual64F::constant);
    let yd = Dual64F::constant(y);
    let along = |set: &dyn Fn(&mut Linear<Dual64F>)| {
        let mut d = md.clone();
        set(&mut d);
        d.loss(&xd, yd).eps()
    };
    let unit = Dual64F::new;
    for i in 0..3 {
        close(
            g.w[i],
            along(&|d| d.w[i] = unit(m.w[i], 1.0)),
            &format!("w[{i}]"),
        );
    }
    close(g.b, along(&|d| d.b = unit(m.b, 1.0)), "b");
}

#[test]
fn a_vec_field_in_a_generic_impl() {
    for n in [0usize, 1, 4] {
        let p = Penalty {
            extra: (0..n).map(|k| 0.5 - 0.3 * k as f64).collect::<Vec<f64>>(),
            scale: 1.5,
        };
        let x = -0.7;
        let (v, g) = p.value_grad(x);
        assert_eq!(v.to_bits(), p.value(x).to_bits());
        // ∂/∂extra[k] = 2·scale·extra[k]·x, ∂/∂scale = Σ extra² · x.
        let s: f64 = p.extra.iter().map(|e| e * e).sum();
        close(g.scale, s * x, "scale");
        assert_eq!(g.extra.len(), n);
        for k in 0..n {
            close(
                g.extra[k],
                2.0 * p.scale * p.extra[k] * x,
                &format!("extra[{k}]"),
            );
        }
    }
}

#[test]
fn the_same_methods_at_f32() {
    let m = model::<f32>();
    let (x, y) = ([0.4f32, -1.2, 0.9], 0.3f32);
    let (v, g) = m.loss_grad(&x, y);
    assert_eq!(v.to_bits(), m.loss(&x, y).to_bits());
    let g64 = model::<f64>().loss_grad(&x.map(f64::from), f64::from(y)).1;
    for i in 0..3 {
        assert!((f64::from(g.w[i]) - g64.w[i]).abs() < 1e-5, "w[{i}]");
    }
    assert!((f64::from(g.b) - g64.b).abs() < 1e-5, "b");
}
