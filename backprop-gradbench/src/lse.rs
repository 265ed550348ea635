//! `lse`: LogSumExp with the max trick, LSE(x) = a + ln Σᵢ exp(xᵢ − a) with
//! a = max x, written from its primitives (a maximum, a sum) as the README
//! asks, and its gradient.

use crate::timing::{measure, Runs};
use crate::{parse, unknown_function, Evaluated};
use backprop::core::Workspace;
use backprop::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

/// LogSumExp: the maximum first, then the shifted sum of exponentials.
#[derive_grad]
pub fn lse(x: &[f64]) -> f64 {
    let mut a = x[0];
    for i in 1..x.len() {
        a = a.max(x[i]);
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] - a).exp();
    }
    s.ln() + a
}

/// The eval's `LogSumExpInput` (without the `Runs` fields).
#[derive(Deserialize)]
struct Input {
    x: Vec<f64>,
}

/// Answers `primal` and `gradient`.
pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, String> {
    let Input { x } = parse(input)?;
    if x.is_empty() {
        return Err("lse of an empty vector".into());
    }
    let runs = Runs::of(input);
    let (output, timings) = match function {
        "primal" => {
            let (v, t) = measure(runs, || lse(&x));
            (json!(v), t)
        }
        "gradient" => {
            let mut grad = vec![0.0; x.len()];
            let mut work = Workspace::new();
            let (_, t) = measure(runs, || {
                grad.fill(0.0);
                lse_grad_acc_with(&x, &mut grad, &mut work)
            });
            (json!(grad), t)
        }
        _ => return Err(unknown_function("lse", function)),
    };
    Ok(Evaluated { output, timings })
}
