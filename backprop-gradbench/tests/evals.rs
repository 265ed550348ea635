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

/// A small mixture in the eval's input shape (`l` has d(d−1)/2 entries per
/// component, column by column).
fn gmm_input(d: usize, k: usize, n: usize) -> Value {
    let lsz = d * (d - 1) / 2;
    let rows = |count: usize, width: usize, phase: f64, amp: f64| -> Vec<Vec<f64>> {
        (0..count)
            .map(|r| {
                wavy(width, phase + r as f64)
                    .iter()
                    .map(|v| amp * v)
                    .collect()
            })
            .collect()
    };
    json!({
        "d": d, "k": k, "n": n, "m": 2, "gamma": 1.3,
        "alpha": wavy(k, 0.2),
        "mu": rows(k, d, 0.4, 1.0),
        "q": rows(k, d, 1.1, 0.3),
        "l": rows(k, lsz, 2.3, 0.5),
        "x": rows(n, d, 3.7, 1.5),
        "min_runs": 1, "min_seconds": 0.0,
    })
}

#[test]
fn gmm_gradient() {
    for (d, k, n) in [(1, 1, 1), (2, 3, 4), (3, 2, 5)] {
        let input = gmm_input(d, k, n);
        let out = run("gmm", "jacobian", &input);
        let keys = ["alpha", "mu", "q", "l"];
        let grad: Vec<f64> = keys.iter().flat_map(|key| leaves(&out[*key])).collect();
        let objective = |i: &Value| run("gmm", "objective", i).as_f64().unwrap();
        check(&input, &keys, &grad, objective, 1e-6);
    }
}

/// The objective against the README's definition taken literally:
/// log(Πᵢ Σₖ φₖ N(xᵢ; μₖ, Σₖ) · Πₖ Wishart(Σₖ⁻¹)) with Σₖ⁻¹ = QₖᵀQₖ,
/// computed here with explicit matrices (the eval's `--validate-naive`).
#[test]
fn gmm_objective_matches_the_definition() {
    let (d, k, n) = (2, 3, 4);
    let input = gmm_input(d, k, n);
    let got = run("gmm", "objective", &input).as_f64().unwrap();
    let num = |v: &Value| v.as_f64().unwrap();
    let (m, gamma) = (2.0, 1.3);
    let alpha: Vec<f64> = leaves(&input["alpha"]);
    let total: f64 = alpha.iter().map(|a| a.exp()).sum();
    let pi = std::f64::consts::PI;
    // Qₖ and the precision Qₖᵀ Qₖ.
    let prec: Vec<[[f64; 2]; 2]> = (0..k)
        .map(|c| {
            let q = [num(&input["q"][c][0]).exp(), num(&input["q"][c][1]).exp()];
            let l = num(&input["l"][c][0]);
            let qm = [[q[0], 0.0], [l, q[1]]];
            let mut p = [[0.0; 2]; 2];
            for a in 0..2 {
                for b in 0..2 {
                    p[a][b] = (0..2).map(|r| qm[r][a] * qm[r][b]).sum();
                }
            }
            p
        })
        .collect();
    let det = |p: &[[f64; 2]; 2]| p[0][0] * p[1][1] - p[0][1] * p[1][0];
    let mut log_lik = 0.0;
    for i in 0..n {
        let xi = [num(&input["x"][i][0]), num(&input["x"][i][1])];
        let mut sum = 0.0;
        for c in 0..k {
            let e = [
                xi[0] - num(&input["mu"][c][0]),
                xi[1] - num(&input["mu"][c][1]),
            ];
            let p = &prec[c];
            let quad: f64 = (0..2)
                .map(|a| (0..2).map(|b| e[a] * p[a][b] * e[b]).sum::<f64>())
                .sum();
            let pdf = (-0.5 * quad).exp() / ((2.0 * pi).powi(2) / det(p)).sqrt();
            sum += alpha[c].exp() / total * pdf;
        }
        log_lik += sum.ln();
    }
    // Wishart with V = I/γ², n = D + m + 1, p = D = 2: Γ₂(a) = √π Γ(a) Γ(a − ½).
    let dof = d as f64 + m + 1.0;
    let gamma2 = pi.sqrt()
        * backprop_gradbench::gmm::ln_gamma(dof / 2.0).exp()
        * backprop_gradbench::gmm::ln_gamma(dof / 2.0 - 0.5).exp();
    let mut log_prior = 0.0;
    for p in &prec {
        let trace = gamma * gamma * (p[0][0] + p[1][1]);
        let pdf = det(p).powf((dof - 3.0) / 2.0) * (-trace / 2.0).exp()
            / (2f64.powf(dof) * (1.0 / gamma.powi(4)).powf(dof / 2.0) * gamma2);
        log_prior += pdf.ln();
    }
    let expected = log_lik + log_prior;
    assert!(
        (got - expected).abs() <= 1e-10 * expected.abs(),
        "{got} vs {expected}"
    );
}
