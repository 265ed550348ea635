//! The functions the snapshot, op-count and numeric tests run on: the seed
//! networks and one fixture for each kind of construct.

/// (name, attribute arguments, source).
pub const FIXTURES: &[(&str, &str, &str)] = &[
    (
        "seed001_linear_2_3_1",
        "",
        "fn loss(w: [f64; 9], x1: f64, x2: f64, t: f64) -> f64 {
            let z1 = x1 * w[0] + x2 * w[3];
            let z2 = x1 * w[1] + x2 * w[4];
            let z3 = x1 * w[2] + x2 * w[5];
            let y = z1 * w[6] + z2 * w[7] + z3 * w[8];
            0.5 * (t - y) * (t - y)
        }",
    ),
    (
        "seed003_sigmoid_2_2_2",
        "wrt(w, b)",
        "fn loss(w: [f64; 8], b: [f64; 4], x1: f64, x2: f64, y1: f64, y2: f64) -> f64 {
            let z1 = x1 * w[0] + x2 * w[1] + b[0];
            let a1 = sigmoid(z1);
            let z2 = x1 * w[2] + x2 * w[3] + b[1];
            let a2 = sigmoid(z2);
            let z3 = a1 * w[4] + a2 * w[5] + b[2];
            let p1 = sigmoid(z3);
            let z4 = a1 * w[6] + a2 * w[7] + b[3];
            let p2 = sigmoid(z4);
            let e1 = -(y1 * p1.ln() + (1.0 - y1) * (1.0 - p1).ln());
            let e2 = -(y2 * p2.ln() + (1.0 - y2) * (1.0 - p2).ln());
            e1 + e2
        }",
    ),
    (
        "seed000_neuron_chain",
        "",
        "fn loss(w: [f64; 10], x: f64, y: f64) -> f64 {
            let mut out = x;
            for i in 0..10 {
                out = out * w[i];
            }
            (out - y) * (out - y)
        }",
    ),
    (
        "logistic_map_8",
        "",
        "fn logistic(x0: f64) -> f64 {
            let r = 3.7;
            let mut x = x0;
            for _ in 0..8 {
                x = r * x * (1.0 - x);
            }
            x
        }",
    ),
    (
        "rosenbrock_loop",
        "",
        "fn rosenbrock(x: &[f64; 6]) -> f64 {
            let mut s = 0.0;
            for i in 0..5 {
                let a = x[i + 1] - x[i] * x[i];
                let b = 1.0 - x[i];
                s += 100.0 * a * a + b * b;
            }
            s
        }",
    ),
    (
        "tanh_layer_nested_arrays",
        "wrt(w1, w2)",
        "fn mlp(w1: [[f64; 3]; 2], w2: [f64; 2], x: [f64; 3], t: f64) -> f64 {
            let mut h = [0.0; 2];
            for j in 0..2 {
                let mut s = 0.0;
                for i in 0..3 {
                    s += w1[j][i] * x[i];
                }
                h[j] = s.tanh();
            }
            let y = w2[0] * h[0] + w2[1] * h[1];
            (y - t).powi(2)
        }",
    ),
    (
        "softmax_cross_entropy",
        "",
        "fn xent(z: [f64; 3], label: [f64; 3]) -> f64 {
            let m = z[0].max(z[1]).max(z[2]);
            let mut sum = 0.0;
            for k in 0..3 {
                sum += (z[k] - m).exp();
            }
            let lse = m + sum.ln();
            let mut loss = 0.0;
            for k in 0..3 {
                loss -= label[k] * (z[k] - lse);
            }
            loss
        }",
    ),
    (
        "runtime_if_branches",
        "",
        "fn huber(r: f64, delta: f64) -> f64 {
            let a = r.abs();
            if a <= delta {
                0.5 * r * r
            } else {
                delta * (a - 0.5 * delta)
            }
        }",
    ),
    (
        "if_statement_assigns",
        "",
        "fn f(x: f64) -> f64 {
            let mut y = x * x;
            if x > 1.0 {
                y = x.ln();
            } else if x < -1.0 {
                y += 1.0;
            }
            y * 3.0
        }",
    ),
    (
        "generic_float",
        "",
        "fn g<F: Float>(x: [F; 2]) -> F {
            let half = F::from(0.5).unwrap();
            half * x[0] * x[0] + F::one() * x[1].sin() + F::from(2).unwrap() * x[0] * x[1]
        }",
    ),
    (
        "f32_by_reference",
        "",
        "fn f(w: &[[f32; 2]; 2], v: &f32) -> f32 {
            let mut s = 0.0f32;
            for i in 0..2 {
                for j in 0..2 {
                    s += w[i][j] * *v;
                }
            }
            s.sqrt() + (w[0][1] / w[1][0]).atan()
        }",
    ),
    (
        "many_methods",
        "",
        "fn f(x: f64) -> f64 {
            let a = x.exp() + x.exp2() + x.exp_m1() + (x + 2.0).ln() + x.ln_1p();
            let b = (x + 2.0).log(3.0) + (x + 2.0).log2() + (x + 2.0).log10() + (x + 2.0).sqrt() + x.cbrt();
            let c = x.recip() + x.sin() * x.cos() + x.tan() + (x / 4.0).asin() + (x / 4.0).acos() + x.atan();
            let d = x.atan2(2.0) + x.sinh() + x.cosh() + x.tanh() + x.abs() + x.max(0.3) + x.min(0.2);
            let e = x.hypot(1.5) + x.mul_add(2.0, 1.0) + x.powf(1.5) + x.powi(3) + x.signum();
            a + b + c + d + e
        }",
    ),
    (
        "core_functions",
        "wrt(x, s)",
        "fn f(x: [f64; 2], s: f64) -> f64 {
            sigmoid(x[0]) + relu(x[1]) + softplus(x[0] * x[1]) + leaky_relu(x[1], s)
                + log_sigmoid(x[0]) + silu(x[1]) + square(x[0] - s)
        }",
    ),
    (
        "shadowing_and_return",
        "",
        "fn f(x: f64, y: f64) -> f64 {
            let x = x * 2.0;
            let x = x + y;
            let mut z = x;
            z *= x;
            z -= 1.0;
            z /= y;
            return z;
        }",
    ),
    (
        "calls_other_derive_grad",
        "wrt(w)",
        "fn outer(w: [f64; 2], x: f64) -> f64 {
            let a = inner(w, x);
            let b = inner([w[1], w[0]], a);
            a * b + scalar_helper(&w[0])
        }",
    ),
    (
        "iterators_sum_enumerate_zip",
        "",
        "fn f(w: [f64; 3], x: [f64; 3]) -> f64 {
            let mut s = 0.0;
            for (i, (&wi, &xi)) in w.iter().zip(x.iter()).enumerate() {
                s += wi * xi * (i as f64 + 1.0);
            }
            s + w.iter().sum::<f64>()
        }",
    ),
];
