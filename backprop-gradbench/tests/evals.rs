//! Every supported eval through the tool's own entry point
//! (`backprop_gradbench::module(name)`, the function `evaluate` messages
//! reach), on small inputs: the gradient it returns must match central
//! finite differences of the primal it returns. The oracle is the primal
//! alone; no expected output is written down.

use backprop_gradbench::module;
use serde_json::{json, Value};

/// Evaluates `function` of `eval` at `input` and returns the output.
fn run(eval: &str, function: &str, input: &Value) -> Value {
    let f = module(eval).unwrap();
    f(function, input).unwrap().output
}

/// The numbers of a JSON value in row-major order.
fn leaves(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(leaves).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not numeric: {other}"),
    }
}

/// `v` with its `k`-th leaf (row-major) moved by `h`.
fn nudge(v: &Value, k: &mut usize, h: f64) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(|e| nudge(e, k, h)).collect()),
        Value::Number(n) => {
            let x = n.as_f64().unwrap();
            let out = if *k == 0 { x + h } else { x };
            *k = k.wrapping_sub(1);
            json!(out)
        }
        other => other.clone(),
    }
}

/// Checks `grad` (the gradient with respect to `input[keys…]`, flattened in
/// that order) against central differences of `primal`, with step
/// `1e-6·max(1, |x|)` and a tolerance relative to the gradient's scale.
fn check(
    input: &Value,
    keys: &[&str],
    grad: &[f64],
    primal: impl Fn(&Value) -> f64,
    tolerance: f64,
) {
    let scale = grad.iter().fold(1.0f64, |m, g| m.max(g.abs()));
    let mut at = 0;
    for key in keys {
        let n = leaves(&input[*key]).len();
        for k in 0..n {
            let x = leaves(&input[*key])[k];
            let h = 1e-6 * x.abs().max(1.0);
            let moved = |h: f64| {
                let mut i = input.clone();
                i[*key] = nudge(&input[*key], &mut k.clone(), h);
                primal(&i)
            };
            let fd = (moved(h) - moved(-h)) / (2.0 * h);
            let g = grad[at];
            assert!(
                (g - fd).abs() <= tolerance * scale,
                "d/d{key}[{k}]: gradient {g}, finite differences {fd}"
            );
            at += 1;
        }
    }
    assert_eq!(
        at,
        grad.len(),
        "gradient has {} entries, inputs {at}",
        grad.len()
    );
}

fn wavy(n: usize, phase: f64) -> Vec<f64> {
    (0..n).map(|i| (i as f64 * 0.77 + phase).sin()).collect()
}

#[test]
fn llsq_gradient() {
    for (m, n) in [(1, 2), (5, 17), (8, 64)] {
        let input = json!({"x": wavy(m, 0.3), "n": n, "min_runs": 1, "min_seconds": 0.0});
        let grad = leaves(&run("llsq", "gradient", &input));
        check(
            &input,
            &["x"],
            &grad,
            |i| run("llsq", "primal", i).as_f64().unwrap(),
            1e-6,
        );
    }
}

#[test]
fn lse_gradient() {
    for n in [1, 2, 50] {
        let x: Vec<f64> = wavy(n, 1.0).iter().map(|v| 3.0 * v).collect();
        let input = json!({ "x": x });
        let grad = leaves(&run("lse", "gradient", &input));
        check(
            &input,
            &["x"],
            &grad,
            |i| run("lse", "primal", i).as_f64().unwrap(),
            1e-7,
        );
    }
}

#[test]
fn ode_gradient_of_the_last_element() {
    for (n, s) in [(1, 3), (4, 1), (9, 5)] {
        let x: Vec<f64> = wavy(n, 0.5).iter().map(|v| 1.0 + 0.5 * v).collect();
        let input = json!({ "x": x, "s": s });
        let grad = leaves(&run("ode", "gradient", &input));
        let last = |i: &Value| *leaves(&run("ode", "primal", i)).last().unwrap();
        check(&input, &["x"], &grad, last, 1e-7);
    }
}

/// ode's one-pass form must compute what upstream's `ode.hpp` computes
/// with its four stage arrays, bit for bit (transcribed here).
#[test]
fn ode_matches_the_four_array_runge_kutta_of_upstream() {
    let x: Vec<f64> = wavy(12, 0.1).iter().map(|v| 1.0 + v).collect();
    for s in [1, 3, 10] {
        let n = x.len();
        let h = 2.0 / s as f64;
        let mut y = vec![0.0; n];
        let (mut k1, mut k2, mut k3, mut k4, mut t) = (
            vec![0.0; n],
            vec![0.0; n],
            vec![0.0; n],
            vec![0.0; n],
            vec![0.0; n],
        );
        let f = |y: &[f64], z: &mut [f64]| {
            z[0] = x[0];
            for i in 1..n {
                z[i] = x[i] * y[i - 1];
            }
        };
        for _ in 0..s {
            f(&y, &mut k1);
            for i in 0..n {
                t[i] = y[i] + h * k1[i] / 2.0;
            }
            f(&t, &mut k2);
            for i in 0..n {
                t[i] = y[i] + h * k2[i] / 2.0;
            }
            f(&t, &mut k3);
            for i in 0..n {
                t[i] = y[i] + h * k3[i];
            }
            f(&t, &mut k4);
            for i in 0..n {
                y[i] += h * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) / 6.0;
            }
        }
        let ours = backprop_gradbench::ode::solve(&x, s);
        assert_eq!(ours, y, "s = {s}");
        assert_eq!(backprop_gradbench::ode::ode_last(&x, s), y[n - 1]);
    }
}
