//! Structs of parameters (`#[derive(Params)]`) as `#[derive_grad]`
//! parameters, through the real macro, against finite differences.

// Loops as a user writes them; hand formulas as derived.
#![allow(clippy::needless_range_loop, clippy::neg_multiply)]

use backprop::prelude::*;

#[derive(Clone, Debug, PartialEq, Params)]
struct Mlp {
    w1: [[f64; 3]; 4],
    b1: [f64; 4],
    w2: [f64; 4],
    b2: f64,
}

#[derive_grad]
fn mlp_loss(net: &Mlp, x: &[f64; 3], y: f64) -> f64 {
    let mut out = net.b2;
    for j in 0..4 {
        let mut z = net.b1[j];
        for i in 0..3 {
            z += net.w1[j][i] * x[i];
        }
        out += net.w2[j] * z.tanh();
    }
    (out - y) * (out - y)
}

fn sample() -> Mlp {
    let mut k = 0.0;
    let mut next = || {
        k += 1.0;
        (k * 0.37_f64).sin() * 0.8
    };
    Mlp {
        w1: std::array::from_fn(|_| std::array::from_fn(|_| next())),
        b1: std::array::from_fn(|_| next()),
        w2: std::array::from_fn(|_| next()),
        b2: next(),
    }
}

#[test]
fn mlp_struct_gradient_matches_finite_differences() {
    use backprop::core::Params;
    let net = sample();
    let x = [0.3, -1.2, 0.8];
    let (v, g) = mlp_loss_grad(&net, &x, 0.5);
    assert_eq!(v.to_bits(), mlp_loss(&net, &x, 0.5).to_bits());
    let n = net.len();
    assert_eq!(n, 12 + 4 + 4 + 1);
    let mut flat = Vec::new();
    g.for_each(&mut |e| flat.push(e));
    for k in 0..n {
        let h = 1e-6;
        let mut plus = net.clone();
        let mut minus = net.clone();
        let mut i = 0;
        plus.for_each_mut(&mut |e| {
            if i == k {
                *e += h
            }
            i += 1
        });
        i = 0;
        minus.for_each_mut(&mut |e| {
            if i == k {
                *e -= h
            }
            i += 1
        });
        let fd = (mlp_loss(&plus, &x, 0.5) - mlp_loss(&minus, &x, 0.5)) / (2.0 * h);
        assert!(
            (fd - flat[k]).abs() < 1e-6,
            "{}: {} vs {}",
            net.path(k),
            flat[k],
            fd
        );
    }
}

/// The finite-difference gradient of `f` at `p`, flattened in `Params` order.
fn fd_grad<P: backprop::core::Params<Scalar = f64>>(p: &P, f: impl Fn(&P) -> f64) -> Vec<f64> {
    let n = p.len();
    (0..n)
        .map(|k| {
            let shifted = |h: f64| {
                let mut q = p.clone();
                let mut i = 0;
                q.for_each_mut(&mut |e| {
                    if i == k {
                        *e += h
                    }
                    i += 1
                });
                f(&q)
            };
            let h = 1e-6;
            (shifted(h) - shifted(-h)) / (2.0 * h)
        })
        .collect()
}

fn flat<P: backprop::core::Params<Scalar = f64>>(p: &P) -> Vec<f64> {
    let mut v = Vec::new();
    p.for_each(&mut |e| v.push(e));
    v
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "element {k}: {g} vs {w}"
        );
    }
}

mod model {
    use backprop::prelude::*;

    #[derive(Clone, Debug, Params)]
    pub struct Layer<F> {
        pub w: Vec<[F; 2]>,
        pub b: Vec<F>,
    }

    #[derive(Clone, Debug, Params)]
    pub struct Net<F> {
        pub hidden: Layer<F>,
        pub out: [F; 3],
        pub scale: F,
    }
}

/// A struct from another module, generic, nested, with `Vec` fields read
/// in loops whose length is the field's (rolled loops).
#[derive_grad]
fn net_loss<F: Float>(net: model::Net<F>, x: [F; 2]) -> F {
    let mut s = net.scale * net.scale;
    for j in 0..net.hidden.b.len() {
        let z = net.hidden.w[j][0] * x[0] + net.hidden.w[j][1] * x[1] + net.hidden.b[j];
        s = s + net.out[j % 3] * z.tanh();
    }
    s * s
}

fn sample_net(hidden: usize) -> model::Net<f64> {
    let v = |k: usize| (k as f64 * 0.61).cos() * 0.7;
    model::Net {
        hidden: model::Layer {
            w: (0..hidden).map(|j| [v(2 * j), v(2 * j + 1)]).collect(),
            b: (0..hidden).map(|j| v(100 + j)).collect(),
        },
        out: [v(200), v(201), v(202)],
        scale: 0.9,
    }
}

#[test]
fn nested_generic_struct_by_value_with_vec_fields() {
    for hidden in [0, 1, 5] {
        let net = sample_net(hidden);
        let x = [0.4, -0.7];
        let (v, g) = net_loss_grad(net.clone(), x);
        assert_eq!(v.to_bits(), net_loss(net.clone(), x).to_bits());
        assert_eq!(g.hidden.w.len(), hidden);
        let want = fd_grad(&net, |n| net_loss(n.clone(), x));
        assert_close(&flat(&g), &want, 1e-7);
    }
}

#[test]
fn f32_struct() {
    #[derive(Clone, Params)]
    struct P {
        a: [f32; 2],
        c: f32,
    }
    #[derive_grad]
    fn f(p: &P) -> f32 {
        p.a[0] * p.a[1] + p.c.sin()
    }
    let p = P {
        a: [2.0, 3.0],
        c: 0.5,
    };
    let (v, g) = f_grad(&p);
    assert_eq!(v, f(&p));
    assert_eq!(g.a, [3.0, 2.0]);
    assert_eq!(g.c, 0.5f32.cos());
}

/// Several differentiated parameters: a struct and an array; the gradient is a tuple.
#[derive_grad(wrt(net, x))]
#[allow(dead_code)] // only its generated gradient is called
fn two_wrt(x: &[f64; 3], net: &Mlp, y: f64) -> f64 {
    let mut out = net.b2;
    for j in 0..4 {
        let mut z = net.b1[j];
        for i in 0..3 {
            z += net.w1[j][i] * x[i];
        }
        out += net.w2[j] * z.tanh();
    }
    (out - y) * (out - y)
}

#[test]
fn struct_and_array_wrt_and_calls() {
    let net = sample();
    let x = [0.3, -1.2, 0.8];
    let (v, (gn, gx)) = two_wrt_grad(&x, &net, 0.5);
    assert_eq!(v.to_bits(), mlp_loss(&net, &x, 0.5).to_bits());
    let (_, want_net) = mlp_loss_grad(&net, &x, 0.5);
    assert_eq!(gn, want_net);
    let want_x = fd_grad(&x, |x| mlp_loss(&net, x, 0.5));
    assert_close(&gx, &want_x, 1e-6);
}

#[test]
fn grad_acc_adds_into_a_struct() {
    let net = sample();
    let x = [0.3, -1.2, 0.8];
    let (_, g) = mlp_loss_grad(&net, &x, 0.5);
    let mut acc = net.clone();
    backprop::core::Params::fill(&mut acc, 1.0);
    let v = mlp_loss_grad_acc(&net, &x, 0.5, &mut acc);
    assert_eq!(v.to_bits(), mlp_loss(&net, &x, 0.5).to_bits());
    let want: Vec<f64> = flat(&g).iter().map(|g| g + 1.0).collect();
    assert_eq!(flat(&acc), want);
}

/// Iterator chains and helpers over fields; a field passed to another
/// `#[derive_grad]` function; an `assert!` reading a field.
#[derive_grad]
fn dot(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
}

#[derive_grad]
fn chains(net: &Mlp, x: &[f64; 4]) -> f64 {
    assert!(net.b2.abs() < 1e6, "b2 out of range");
    let spread = net.b1.iter().fold(f64::NEG_INFINITY, |m, &b| m.max(b));
    let rows: f64 = net
        .w1
        .iter()
        .map(|r| r.iter().map(|w| w * w).sum::<f64>())
        .sum();
    dot(&net.w2, x) + spread + rows.sqrt()
}

#[test]
fn chains_over_fields() {
    let net = sample();
    let x = [0.5, -0.25, 1.5, 2.0];
    let (v, g) = chains_grad(&net, &x);
    assert_eq!(v.to_bits(), chains(&net, &x).to_bits());
    assert_close(&flat(&g), &fd_grad(&net, |n| chains(n, &x)), 1e-6);
}

#[test]
#[should_panic(expected = "b2 out of range")]
fn assert_on_a_field_is_checked() {
    let mut net = sample();
    net.b2 = 1e9;
    let _ = chains_grad(&net, &[0.0; 4]);
}

/// A tuple struct.
#[derive(Clone, Debug, PartialEq, Params)]
struct Pair([f64; 2], f64);

#[derive_grad]
fn pair(p: Pair) -> f64 {
    p.0[0] * p.1 + p.0[1].exp()
}

#[test]
fn tuple_struct() {
    let p = Pair([2.0, 0.5], 3.0);
    let (v, g) = pair_grad(p.clone());
    assert_eq!(v, pair(p));
    assert_eq!(g, Pair([3.0, 0.5f64.exp()], 2.0));
}

/// Optimizers step a struct, and `train` fits one.
#[test]
fn optimizers_and_train_take_structs() {
    let mut net = sample();
    let data: Vec<([f64; 3], f64)> = (0..32)
        .map(|k| {
            let t = k as f64 / 8.0;
            ([t.sin(), t.cos(), 0.5 * t - 1.0], (1.3 * t).sin() * 0.5)
        })
        .collect();
    let mean_loss = |n: &Mlp| data.iter().map(|(x, y)| mlp_loss(n, x, *y)).sum::<f64>() / 32.0;
    let before = mean_loss(&net);
    let mut opt = Adam::new(0.01);
    for _ in 0..200 {
        let mut g = net.clone();
        backprop::core::Params::fill(&mut g, 0.0);
        for (x, y) in &data {
            mlp_loss_grad_acc(&net, x, *y, &mut g);
        }
        backprop::core::Params::scale(&mut g, 1.0 / 32.0);
        opt.step(&mut net, &g);
    }
    let after = mean_loss(&net);
    assert!(
        after < 0.5 * before,
        "Adam on a struct: {before} -> {after}"
    );
}

/// Methods: `&self` read as constants (the first parameter after it is
/// differentiated), and `wrt(self)`.
#[derive(Clone, Debug, PartialEq, Params)]
struct Quadratic {
    a: [f64; 2],
    c: f64,
}

#[derive_grad]
impl Quadratic {
    #[derive_grad]
    fn at(&self, x: [f64; 2]) -> f64 {
        self.a[0] * x[0] * x[0] + self.a[1] * x[1] * x[1] + self.c * x[0] * x[1]
    }

    #[derive_grad(wrt(self))]
    fn fit(&self, x: &[f64; 2], y: f64) -> f64 {
        let p = self.a[0] * x[0] + self.a[1] * x[1] + self.c;
        (p - y).powi(2)
    }

    /// Not differentiated: stays as it is.
    fn sum(&self) -> f64 {
        self.a[0] + self.a[1] + self.c
    }
}

#[test]
fn methods_with_self() {
    let q = Quadratic {
        a: [1.0, 2.0],
        c: 0.5,
    };
    let (v, g) = q.at_grad([3.0, -1.0]);
    assert_eq!(v, q.at([3.0, -1.0]));
    assert_eq!(g, [2.0 * 3.0 + 0.5 * -1.0, 2.0 * 2.0 * -1.0 + 0.5 * 3.0]);
    let (v, g) = q.fit_grad(&[3.0, -1.0], 2.0);
    assert_eq!(v, q.fit(&[3.0, -1.0], 2.0));
    let r = 2.0 * (1.0 * 3.0 + 2.0 * -1.0 + 0.5 - 2.0);
    assert_eq!(
        g,
        Quadratic {
            a: [r * 3.0, -r],
            c: r
        }
    );
    assert_eq!(q.sum(), 3.5);
}

/// Composition: structs passed whole to other `#[derive_grad]` functions,
/// and methods of sub-structs called as a PyTorch module calls its layers.
mod layers {
    use backprop::prelude::*;

    #[derive(Clone, Debug, PartialEq, Params)]
    pub struct Dense {
        pub w: [[f64; 3]; 2],
        pub b: [f64; 2],
    }

    #[derive_grad]
    impl Dense {
        /// Sum of tanh of the layer's outputs.
        #[derive_grad(wrt(self))]
        pub fn forward_sum(&self, x: &[f64; 3]) -> f64 {
            let mut s = 0.0;
            for j in 0..2 {
                let z = self.w[j][0] * x[0] + self.w[j][1] * x[1] + self.w[j][2] * x[2] + self.b[j];
                s += z.tanh();
            }
            s
        }
    }

    #[derive(Clone, Debug, PartialEq, Params)]
    pub struct Model {
        pub l1: Dense,
        pub l2: Dense,
        pub scale: f64,
    }

    #[derive_grad]
    impl Model {
        /// The module's loss: its layers' methods, a helper on itself.
        #[derive_grad(wrt(self))]
        pub fn loss(&self, x: &[f64; 3]) -> f64 {
            self.l1.forward_sum(x) * self.scale + self.penalty(x)
        }

        #[derive_grad(wrt(self))]
        pub fn penalty(&self, x: &[f64; 3]) -> f64 {
            self.l2.forward_sum(x).powi(2) + 0.1 * self.scale * self.scale
        }
    }
}

#[derive_grad]
fn dense_norm(d: &layers::Dense) -> f64 {
    let rows: f64 =
        d.w.iter()
            .map(|r| r.iter().map(|w| w * w).sum::<f64>())
            .sum();
    rows + d.b[0] * d.b[1]
}

#[derive_grad]
fn composed(m: &layers::Model, x: &[f64; 3]) -> f64 {
    m.scale * m.l1.forward_sum(x) + m.l2.forward_sum(x).powi(2) + dense_norm(&m.l1) + m.loss(x)
}

fn sample_model() -> layers::Model {
    let d = |k: f64| layers::Dense {
        w: [[0.3 * k, -0.2, 0.5], [0.1, 0.4 * k, -0.3]],
        b: [0.05 * k, -0.1],
    };
    layers::Model {
        l1: d(1.0),
        l2: d(-1.5),
        scale: 0.7,
    }
}

#[test]
fn structs_passed_whole_and_methods_of_sub_structs() {
    let m = sample_model();
    let x = [0.5, -1.0, 2.0];
    let (v, g) = composed_grad(&m, &x);
    assert_eq!(v.to_bits(), composed(&m, &x).to_bits());
    assert_close(&flat(&g), &fd_grad(&m, |m| composed(m, &x)), 1e-6);
    let (v, g) = m.loss_grad(&x);
    assert_eq!(v.to_bits(), m.loss(&x).to_bits());
    assert_close(&flat(&g), &fd_grad(&m, |m| m.loss(&x)), 1e-6);
    let (v, g) = dense_norm_grad(&m.l2);
    assert_eq!(v, dense_norm(&m.l2));
    assert_close(&flat(&g), &fd_grad(&m.l2, dense_norm), 1e-6);
}

/// A layer's method called in a loop over a batch of run-time length (the
/// loop stays a loop).
#[derive_grad]
fn batch_loss(m: &layers::Model, xs: &[[f64; 3]]) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        let x = [xs[i][0], xs[i][1], xs[i][2]];
        s += m.l1.forward_sum(&x) * m.scale;
    }
    s
}

#[test]
fn sub_struct_methods_in_a_rolled_loop() {
    let m = sample_model();
    for n in [0, 1, 7] {
        let xs: Vec<[f64; 3]> = (0..n)
            .map(|k| [k as f64 * 0.3, 1.0 - k as f64 * 0.2, 0.5])
            .collect();
        let (v, g) = batch_loss_grad(&m, &xs);
        assert_eq!(v.to_bits(), batch_loss(&m, &xs).to_bits());
        assert_close(&flat(&g), &fd_grad(&m, |m| batch_loss(m, &xs)), 1e-6);
    }
}
