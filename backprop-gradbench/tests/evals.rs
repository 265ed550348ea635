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
fn det_gradient() {
    for ell in [1, 2, 3, 5] {
        let a: Vec<f64> = wavy(ell * ell, 0.3).iter().map(|v| 2.0 * v + 0.1).collect();
        let input = json!({ "A": a, "ell": ell });
        let grad = leaves(&run("det", "gradient", &input));
        check(
            &input,
            &["A"],
            &grad,
            |i| run("det", "primal", i).as_f64().unwrap(),
            1e-7,
        );
    }
}

#[test]
fn det_matches_the_determinant_by_elimination() {
    // Gaussian elimination with partial pivoting, an independent algorithm.
    let ell = 6;
    let a: Vec<f64> = wavy(ell * ell, 0.7);
    let mut m = a.clone();
    let mut det = 1.0;
    for c in 0..ell {
        let p = (c..ell)
            .max_by(|&i, &j| m[i * ell + c].abs().total_cmp(&m[j * ell + c].abs()))
            .unwrap();
        if p != c {
            for k in 0..ell {
                m.swap(p * ell + k, c * ell + k);
            }
            det = -det;
        }
        det *= m[c * ell + c];
        for r in c + 1..ell {
            let f = m[r * ell + c] / m[c * ell + c];
            for k in c..ell {
                m[r * ell + k] -= f * m[c * ell + k];
            }
        }
    }
    let v = run("det", "primal", &json!({ "A": a, "ell": ell }))
        .as_f64()
        .unwrap();
    assert!((v - det).abs() < 1e-12 * det.abs().max(1.0), "{v} vs {det}");
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

/// ode's one-pass form (the differentiated `ode_last`, and `solve`) must
/// compute what upstream's `ode.hpp` computes with its four stage arrays,
/// bit for bit (transcribed here).
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
    // d = 12: the triangle copied row by row (`gmm_objective_tri`).
    for (d, k, n) in [(1, 1, 1), (2, 3, 4), (3, 2, 5), (12, 2, 2)] {
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

#[test]
fn kmeans_cost_gradient() {
    use backprop_gradbench::kmeans::{kmeans_cost, kmeans_cost_grad};
    let (n, k, d) = (30, 4, 3);
    let points = wavy(n * d, 0.3);
    let centroids: Vec<f64> = wavy(k * d, 2.0).iter().map(|v| 0.7 * v).collect();
    let (value, grad) = kmeans_cost_grad(&centroids, &points, d);
    assert_eq!(value, kmeans_cost(&centroids, &points, d));
    let input = json!({ "c": centroids });
    let cost = |i: &Value| kmeans_cost(&leaves(&i["c"]), &points, d);
    check(&input, &["c"], &grad, cost, 1e-6);
    // Through the tool: `cost` and `dir`.
    let rows = |v: &[f64]| v.chunks(d).map(<[f64]>::to_vec).collect::<Vec<_>>();
    let tool_input = json!({"points": rows(&points), "centroids": rows(&centroids)});
    assert_eq!(run("kmeans", "cost", &tool_input).as_f64().unwrap(), value);
    // dir = J / diag(H), against the hand-derived H: 2 per point nearest
    // the centroid, for each of its coordinates.
    let mut count = vec![0.0; k];
    for i in 0..n {
        let dist = |j: usize| -> f64 {
            (0..d)
                .map(|l| (points[i * d + l] - centroids[j * d + l]).powi(2))
                .sum()
        };
        let nearest = (0..k).min_by(|&a, &b| dist(a).total_cmp(&dist(b))).unwrap();
        count[nearest] += 1.0;
    }
    assert!(count.iter().all(|&c| c > 0.0), "every centroid has a point");
    let dir = run("kmeans", "dir", &tool_input);
    for j in 0..k {
        for l in 0..d {
            let want = grad[j * d + l] / (2.0 * count[j]);
            let got = dir[j][l].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                "dir[{j}][{l}]: {got} vs {want}"
            );
        }
    }
    // The Hessian itself is diagonal: off-diagonal entries are zero. And
    // `dir`'s form of the cost (nearest index, then distance) is the same
    // function: value, gradient and H bit for bit.
    use backprop_gradbench::kmeans::{kmeans_cost_hessian, kmeans_nearest_cost_hessian};
    let (v_fold, g_fold, h) = kmeans_cost_hessian(&centroids, &points, d);
    let m = k * d;
    for a in 0..m {
        for b in 0..m {
            let want = if a == b { 2.0 * count[a / d] } else { 0.0 };
            assert_eq!(h[a * m + b], want, "H[{a}][{b}]");
        }
    }
    let (v_nearest, g_nearest, h_nearest) = kmeans_nearest_cost_hessian(&centroids, &points, d);
    assert_eq!(v_nearest.to_bits(), v_fold.to_bits());
    assert_eq!(v_nearest, value);
    assert_eq!(g_nearest, g_fold);
    assert_eq!(g_nearest, grad);
    assert_eq!(h_nearest, h);
    // No centroid: `dir` has no rows (the search needs one to start from).
    let none = json!({"points": rows(&points), "centroids": []});
    assert_eq!(run("kmeans", "dir", &none), json!([]));
}

#[test]
fn lstm_gradient() {
    let rows = |count: usize, width: usize, phase: f64| -> Vec<Vec<f64>> {
        (0..count)
            .map(|r| wavy(width, phase + 1.7 * r as f64))
            .collect()
    };
    for (l, c, b) in [(1, 2, 1), (2, 4, 3)] {
        // Characters as bits, like the eval's one-hot-ish sequence.
        let sequence: Vec<Vec<f64>> = (0..c)
            .map(|t| (0..b).map(|i| ((t * 5 + i * 3) % 2) as f64).collect())
            .collect();
        let input = json!({
            "main_params": rows(2 * l, 4 * b, 0.1),
            "extra_params": rows(3, b, 0.9),
            "state": rows(2 * l, b, 2.2),
            "sequence": sequence,
        });
        let grad = leaves(&run("lstm", "jacobian", &input));
        let objective = |i: &Value| run("lstm", "objective", i).as_f64().unwrap();
        check(
            &input,
            &["main_params", "extra_params"],
            &grad,
            objective,
            1e-6,
        );
    }
}

/// The tool's objective (`lstm_objective_layers`, upstream's form) against
/// a transcription of upstream `lstm.hpp` (a layer at a time, predictions
/// in an array, log-softmax in a second pass): bit for bit; the one-pass
/// `lstm_objective` equal up to rounding.
#[test]
fn lstm_matches_upstream_layer_by_layer() {
    let (l, c, b) = (3, 6, 4);
    let main: Vec<f64> = wavy(8 * b * l, 0.4);
    let extra: Vec<f64> = wavy(3 * b, 1.3);
    let state: Vec<f64> = wavy(2 * b * l, 2.9);
    let seq: Vec<f64> = (0..c * b)
        .map(|k| ((k * 7) % 3 == 0) as u8 as f64)
        .collect();
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    let mut st = state.clone();
    let mut total = 0.0;
    for t in 0..c - 1 {
        let mut out: Vec<f64> = (0..b).map(|i| seq[t * b + i] * extra[i]).collect();
        for layer in 0..l {
            let (p, h) = (&main[8 * b * layer..], 2 * b * layer);
            for i in 0..b {
                let forget = sig(out[i] * p[i] + p[4 * b + i]);
                let ingate = sig(st[h + i] * p[b + i] + p[5 * b + i]);
                let outgate = sig(out[i] * p[2 * b + i] + p[6 * b + i]);
                let change = (st[h + i] * p[3 * b + i] + p[7 * b + i]).tanh();
                st[h + b + i] = st[h + b + i] * forget + ingate * change;
                st[h + i] = outgate * st[h + b + i].tanh();
            }
            out = st[h..h + b].to_vec();
        }
        let ypred: Vec<f64> = (0..b)
            .map(|i| out[i] * extra[b + i] + extra[2 * b + i])
            .collect();
        let lse = (ypred.iter().map(|y| y.exp()).sum::<f64>() + 2.0).ln();
        for i in 0..b {
            total += seq[(t + 1) * b + i] * (ypred[i] - lse);
        }
    }
    let expected = -total / ((c - 1) * b) as f64;
    let layers =
        backprop_gradbench::lstm::lstm_objective_layers(&main, &extra, &state, &seq, l, c, b);
    assert_eq!(layers, expected);
    let got = backprop_gradbench::lstm::lstm_objective(&main, &extra, &state, &seq, l, c, b);
    assert!(
        (got - expected).abs() <= 1e-14 * expected.abs(),
        "{got} vs {expected}"
    );
}

/// A camera with rotation `rot`, and a point in front of it.
fn ba_input(rot: [f64; 3]) -> Value {
    json!({
        "n": 2, "m": 3, "p": 4,
        "cam": [rot[0], rot[1], rot[2], 0.1, -0.2, -3.0, 1.2, 0.05, -0.03, 0.01, -0.002],
        "x": [0.3, -0.4, 1.1],
        "w": 0.8,
        "feat": [0.2, -0.1],
    })
}

#[test]
fn ba_jacobian_rows_against_finite_differences() {
    use backprop_gradbench::ba::{reproj_error, reproj_error_grad, w_error, w_error_grad};
    // Rotated, and the zero-rotation branch (whose first-order expansion
    // the finite differences across both branches agree with).
    for rot in [[0.3, -0.2, 0.5], [0.0, 0.0, 0.0]] {
        let input = ba_input(rot);
        let cam: Vec<f64> = leaves(&input["cam"]);
        let x: Vec<f64> = leaves(&input["x"]);
        let (w, feat) = (0.8, [0.2, -0.1]);
        for row in 0..2 {
            let (v, (gc, gx, gw)) = reproj_error_grad(
                cam.clone().try_into().unwrap(),
                x.clone().try_into().unwrap(),
                w,
                feat,
                row,
            );
            let at = json!({"cam": cam, "x": x, "w": [w]});
            let f = |i: &Value| {
                let c: Vec<f64> = leaves(&i["cam"]);
                let p: Vec<f64> = leaves(&i["x"]);
                reproj_error(
                    c.try_into().unwrap(),
                    p.try_into().unwrap(),
                    leaves(&i["w"])[0],
                    feat,
                    row,
                )
            };
            assert_eq!(v, f(&at));
            let grad: Vec<f64> = gc.iter().chain(&gx).copied().chain([gw]).collect();
            check(&at, &["cam", "x", "w"], &grad, f, 1e-6);

            // The tool's sparse Jacobian starts with these two rows.
            let out = run("ba", "jacobian", &input);
            let vals = leaves(&out["vals"]);
            assert_eq!(&vals[15 * row..15 * row + 15], &grad[..]);
        }
        let (_, gw) = w_error_grad(0.8);
        let fd = (w_error(0.8 + 1e-6) - w_error(0.8 - 1e-6)) / 2e-6;
        assert!((gw - fd).abs() < 1e-8);
        // Layout: row offsets 0, 15, 30, …; camera 0's columns, then point
        // 0's (after 11·n camera columns), then weight 0's (after 3·m).
        let out = run("ba", "jacobian", &input);
        let rows = leaves(&out["rows"]);
        assert_eq!(rows[..3], [0.0, 15.0, 30.0]);
        // 2p reprojection rows of 15 and p weight rows of 1.
        assert_eq!(*rows.last().unwrap(), (2 * 4 * 15 + 4) as f64);
        let cols = leaves(&out["cols"]);
        let expected: Vec<f64> = (0..11)
            .chain(22..25)
            .chain([31])
            .map(|c| c as f64)
            .collect();
        assert_eq!(cols[..15], expected[..]);
        assert_eq!(*cols.last().unwrap(), (22 + 9 + 3) as f64);
        assert_eq!(*leaves(&out["vals"]).last().unwrap(), gw);
    }
}

/// The objective against a transcription of ADBench's
/// `computeReprojError` written here with a rotation matrix (Rodrigues'
/// formula R = I + sin θ K + (1 − cos θ) K², an independent form of the
/// same rotation), and the weight error 1 − w².
#[test]
fn ba_objective_against_a_rotation_matrix() {
    for rot in [[0.3, -0.2, 0.5], [0.0, 0.0, 0.0]] {
        let input = ba_input(rot);
        let cam: Vec<f64> = leaves(&input["cam"]);
        let (x, w, feat) = ([0.3, -0.4, 1.1], 0.8, [0.2, -0.1]);
        let p = [x[0] - cam[3], x[1] - cam[4], x[2] - cam[5]];
        let theta = (rot[0] * rot[0] + rot[1] * rot[1] + rot[2] * rot[2]).sqrt();
        let xc: [f64; 3] = if theta == 0.0 {
            // The first-order form upstream uses at θ = 0: p + r × p.
            [
                p[0] + rot[1] * p[2] - rot[2] * p[1],
                p[1] + rot[2] * p[0] - rot[0] * p[2],
                p[2] + rot[0] * p[1] - rot[1] * p[0],
            ]
        } else {
            let k = rot.map(|r| r / theta);
            let kx = [[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]];
            let mut r = [[0.0; 3]; 3];
            for i in 0..3 {
                for j in 0..3 {
                    let k2: f64 = (0..3).map(|m| kx[i][m] * kx[m][j]).sum();
                    let id = if i == j { 1.0 } else { 0.0 };
                    r[i][j] = id + theta.sin() * kx[i][j] + (1.0 - theta.cos()) * k2;
                }
            }
            std::array::from_fn(|i| (0..3).map(|j| r[i][j] * p[j]).sum())
        };
        let q = [xc[0] / xc[2], xc[1] / xc[2]];
        let rsq = q[0] * q[0] + q[1] * q[1];
        let l = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq;
        let want = [
            w * (q[0] * l * cam[6] + cam[7] - feat[0]),
            w * (q[1] * l * cam[6] + cam[8] - feat[1]),
        ];
        let out = run("ba", "objective", &input);
        let got = leaves(&out["reproj_error"]["elements"]);
        for r in 0..2 {
            assert!(
                (got[r] - want[r]).abs() < 1e-12,
                "row {r}: {} vs {}",
                got[r],
                want[r]
            );
        }
        assert_eq!(out["reproj_error"]["repeated"], 4);
        assert_eq!(leaves(&out["w_err"]["element"]), [1.0 - 0.8 * 0.8]);
    }
}

/// A small hand: 6 bones (the first finger's three, θ of 10) in a chain with a branch, 6 vertices, and the
/// eval's JSON shape (matrices as rows; `us` empty in the simple variant).
fn ht_input(complicated: bool) -> Value {
    let bones = 6;
    let mat = |b: usize, phase: f64| -> Vec<Vec<f64>> {
        let w = wavy(12, phase + b as f64);
        let mut m: Vec<Vec<f64>> = (0..3)
            .map(|r| {
                (0..4)
                    .map(|c| if r == c { 1.0 } else { 0.0 } + 0.3 * w[r * 4 + c])
                    .collect()
            })
            .collect();
        m.push(vec![0.0, 0.0, 0.0, 1.0]);
        m
    };
    let verts = 6;
    let positions: Vec<Vec<f64>> = (0..verts)
        .map(|v| wavy(3, 0.5 * v as f64).into_iter().chain([1.0]).collect())
        .collect();
    let weights: Vec<Vec<f64>> = (0..verts)
        .map(|v| {
            wavy(bones, 2.0 + v as f64)
                .iter()
                .map(|w| 0.5 + 0.4 * w)
                .collect()
        })
        .collect();
    let triangles = vec![[0, 1, 2], [2, 3, 4], [1, 4, 5]];
    let correspondences: Vec<usize> = if complicated {
        vec![0, 2, 1, 1]
    } else {
        // Vertex 5 twice: posed once, read by two correspondences.
        vec![5, 0, 3, 5]
    };
    let points: Vec<Vec<f64>> = (0..4).map(|k| wavy(3, 7.0 + k as f64)).collect();
    let us: Vec<Vec<f64>> = if complicated {
        (0..4)
            .map(|k| vec![0.2 + 0.1 * k as f64, 0.5 - 0.05 * k as f64])
            .collect()
    } else {
        vec![]
    };
    json!({
        "theta": wavy(10, 0.3).iter().map(|t| 0.7 * t).collect::<Vec<f64>>(),
        "us": us,
        "data": {
            "model": {
                "bone_count": bones,
                "bone_names": (0..bones).map(|b| format!("b{b}")).collect::<Vec<_>>(),
                "parents": [-1, 0, 1, 2, 1, 4],
                "base_relatives": (0..bones).map(|b| mat(b, 0.1)).collect::<Vec<_>>(),
                "inverse_base_absolutes": (0..bones).map(|b| mat(b, 4.2)).collect::<Vec<_>>(),
                "base_positions": positions,
                "weights": weights,
                "triangles": triangles,
                "is_mirrored": complicated,
            },
            "correspondences": correspondences,
            "points": points,
        },
    })
}

#[test]
fn ht_jacobian_against_finite_differences() {
    for complicated in [false, true] {
        let input = ht_input(complicated);
        let jac: Vec<Vec<f64>> = serde_json::from_value(run("ht", "jacobian", &input)).unwrap();
        let objective = |i: &Value| leaves(&run("ht", "objective", i));
        assert_eq!(jac.len(), objective(&input).len());
        let skip = if complicated { 2 } else { 0 };
        for (r, row) in jac.iter().enumerate() {
            assert_eq!(row.len(), skip + 10);
            // Row r against differences of error r with respect to θ …
            let error = |i: &Value| objective(i)[r];
            check(&input, &["theta"], &row[skip..], error, 1e-6);
            // … and to its own point's us (the only us it depends on).
            if complicated {
                let k = r / 3;
                let at = json!({"u": input["us"][k]});
                let moved = |i: &Value| {
                    let mut j = input.clone();
                    j["us"][k] = i["u"].clone();
                    error(&j)
                };
                check(&at, &["u"], &row[..2], moved, 1e-6);
            }
        }
    }
}
