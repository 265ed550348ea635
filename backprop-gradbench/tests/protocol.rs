//! A recorded GradBench conversation fed through `protocol::serve`, as the
//! intermediary would send it: every message must get exactly one reply
//! with its `id`, in order, and the replies must have the protocol's
//! shapes. Values are checked against arithmetic done here (hello), and
//! llsq's gradient against central differences of the primal the same
//! conversation returns, so the oracle never comes from `#[derive_grad]`.

use backprop_gradbench::protocol::serve;
use serde_json::{json, Value};

/// Runs `lines` through the tool and returns one parsed reply per line.
fn converse(lines: &[String]) -> Vec<Value> {
    let input = lines.join("\n") + "\n";
    let mut out = Vec::new();
    serve(input.as_bytes(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let replies: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(replies.len(), lines.len(), "{text}");
    for (line, reply) in lines.iter().zip(&replies) {
        let message: Value = serde_json::from_str(line).unwrap();
        assert_eq!(reply["id"], message["id"]);
    }
    replies
}

/// Checks an `evaluate` reply: success, one `evaluate` timing per run (at
/// least `min_runs`), and returns the output.
fn output(reply: &Value, min_runs: usize) -> &Value {
    assert_eq!(reply["success"], json!(true), "{reply}");
    let timings = reply["timings"].as_array().unwrap();
    assert!(timings.len() >= min_runs, "{reply}");
    for t in timings {
        assert_eq!(t["name"], "evaluate");
        assert!(t["nanoseconds"].is_u64());
    }
    &reply["output"]
}

#[test]
fn a_hello_session() {
    let lines: Vec<String> = [
        r#"{"id": 0, "kind": "start", "eval": "hello"}"#,
        r#"{"id": 1, "kind": "define", "module": "hello"}"#,
        r#"{"id": 2, "kind": "evaluate", "module": "hello", "function": "square", "input": 1.5}"#,
        r#"{"id": 3, "kind": "analysis", "of": 2, "valid": true}"#,
        r#"{"id": 4, "kind": "evaluate", "module": "hello", "function": "double", "input": 2.25}"#,
        r#"{"id": 5, "kind": "analysis", "of": 4, "valid": true}"#,
        r#"{"id": 6, "kind": "evaluate", "module": "hello", "function": "cube", "input": 2.0}"#,
    ]
    .map(String::from)
    .to_vec();
    let r = converse(&lines);
    assert_eq!(r[0], json!({"id": 0, "tool": "backprop"}));
    assert_eq!(r[1], json!({"id": 1, "success": true}));
    assert_eq!(output(&r[2], 1), &json!(2.25));
    assert_eq!(r[3], json!({"id": 3}));
    assert_eq!(output(&r[4], 1), &json!(4.5));
    assert_eq!(r[5], json!({"id": 5}));
    // An unknown function is an unsuccessful evaluate with an error.
    assert_eq!(r[6]["success"], json!(false));
    assert!(r[6]["error"].as_str().unwrap().contains("cube"));
}

#[test]
fn an_llsq_session_with_runs() {
    let x = [0.3, -0.2, 0.7, 0.1];
    let n = 9;
    let h = 1e-6;
    let mut lines = vec![
        r#"{"id": 0, "kind": "start"}"#.to_string(),
        r#"{"id": 1, "kind": "define", "module": "llsq"}"#.to_string(),
    ];
    let evaluate = |id: usize, function: &str, x: &[f64]| {
        json!({"id": id, "kind": "evaluate", "module": "llsq", "function": function,
               "input": {"x": x, "n": n, "min_runs": 3, "min_seconds": 0.0},
               "description": "n=9,m=4"})
        .to_string()
    };
    lines.push(evaluate(2, "primal", &x));
    lines.push(evaluate(3, "gradient", &x));
    for j in 0..x.len() {
        for sign in [1.0, -1.0] {
            let mut xs = x;
            xs[j] += sign * h;
            lines.push(evaluate(lines.len(), "primal", &xs));
        }
    }
    let r = converse(&lines);
    assert_eq!(r[1], json!({"id": 1, "success": true}));

    // The primal against the README's formula, summed here.
    let mut expected = 0.0;
    for i in 0..n {
        let t = -1.0 + i as f64 * 2.0 / (n as f64 - 1.0);
        let s = if t > 0.0 {
            1.0
        } else if t < 0.0 {
            -1.0
        } else {
            0.0
        };
        let p: f64 = x
            .iter()
            .enumerate()
            .map(|(j, xj)| xj * t.powi(j as i32))
            .sum();
        expected += (s - p) * (s - p);
    }
    expected /= 2.0;
    let primal = output(&r[2], 3).as_f64().unwrap();
    assert!(
        (primal - expected).abs() <= 1e-12 * expected.abs(),
        "{primal} vs {expected}"
    );

    // The gradient against central differences of the returned primals.
    let grad: Vec<f64> = serde_json::from_value(output(&r[3], 3).clone()).unwrap();
    assert_eq!(grad.len(), x.len());
    for j in 0..x.len() {
        let plus = output(&r[4 + 2 * j], 3).as_f64().unwrap();
        let minus = output(&r[5 + 2 * j], 3).as_f64().unwrap();
        let fd = (plus - minus) / (2.0 * h);
        assert!(
            (grad[j] - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
            "x[{j}]: {} vs {fd}",
            grad[j]
        );
    }
}

#[test]
fn an_unsupported_module_is_refused_at_define_with_a_reason() {
    let lines = vec![
        r#"{"id": 0, "kind": "start", "eval": "saddle"}"#.to_string(),
        r#"{"id": 1, "kind": "define", "module": "saddle"}"#.to_string(),
    ];
    let r = converse(&lines);
    assert_eq!(r[1]["success"], json!(false));
    assert!(
        r[1]["error"]
            .as_str()
            .unwrap()
            .contains("no such GradBench eval"),
        "{}",
        r[1]
    );
}

#[test]
fn malformed_input_is_an_unsuccessful_evaluate_not_a_crash() {
    let lines = vec![
        r#"{"id": 0, "kind": "evaluate", "module": "lse", "function": "primal", "input": {"y": [1.0]}}"#.to_string(),
        r#"{"id": 1, "kind": "evaluate", "module": "lse", "function": "primal", "input": {"x": [1.0, 2.0]}}"#.to_string(),
    ];
    let r = converse(&lines);
    assert_eq!(r[0]["success"], json!(false));
    assert!(r[0]["error"].as_str().unwrap().contains("malformed"));
    // Without Runs fields: one run.
    let v = output(&r[1], 1).as_f64().unwrap();
    let expected = 2.0 + (1.0 + (-1.0f64).exp()).ln();
    assert!((v - expected).abs() < 1e-15);
}
