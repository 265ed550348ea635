//! `llsq`: the linear least-squares objective of cmpad's `llsq_obj`,
//! y(x) = ½ Σᵢ (sᵢ − x₀ − x₁tᵢ − x₂tᵢ² − …)² with tᵢ = −1 + 2i/(n − 1) and
//! sᵢ = sign(tᵢ), and its gradient with respect to x.

use crate::timing::{measure, Runs};
use crate::{parse, unknown_function, Evaluated};
use backprop::core::Workspace;
use backprop::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

/// The objective as the README writes it: for every sample the residual
/// sᵢ − Σⱼ xⱼ tᵢʲ, with the powers of tᵢ built up as the loop goes.
#[derive_grad]
pub fn llsq(x: &[f64], n: usize) -> f64 {
    let mut sum = 0.0;
    for i in 0..n {
        let ti = -1.0 + i as f64 * 2.0 / (n as f64 - 1.0);
        // sign(t), 0 at 0 (`f64::signum` would give 1 there).
        let si = if ti > 0.0 {
            1.0
        } else if ti < 0.0 {
            -1.0
        } else {
            0.0
        };
        let mut r = si;
        let mut mul = 1.0;
        for j in 0..x.len() {
            r -= x[j] * mul;
            mul *= ti;
        }
        sum += r * r;
    }
    sum / 2.0
}

/// The eval's `LLSQInput` (without the `Runs` fields).
#[derive(Deserialize)]
struct Input {
    x: Vec<f64>,
    n: usize,
}

/// Answers `primal` and `gradient`.
pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, String> {
    let Input { x, n } = parse(input)?;
    let runs = Runs::of(input);
    let (output, timings) = match function {
        "primal" => {
            let (v, t) = measure(runs, || llsq(&x, n));
            (json!(v), t)
        }
        "gradient" => {
            let mut grad = vec![0.0; x.len()];
            let mut work = Workspace::new();
            let (_, t) = measure(runs, || {
                grad.fill(0.0);
                llsq_grad_acc_with(&x, n, &mut grad, &mut work)
            });
            (json!(grad), t)
        }
        _ => return Err(unknown_function("llsq", function)),
    };
    Ok(Evaluated { output, timings })
}
