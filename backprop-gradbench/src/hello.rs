//! `hello`: `square` is x², `double` is its derivative 2x — here the
//! gradient `#[derive_grad]` generates for `square`, not a hand-written 2x.

use crate::timing::{measure, Runs};
use crate::{parse, unknown_function, Evaluated};
use backprop::prelude::*;
use serde_json::{json, Value};

/// f(x) = x², the eval's primal.
#[derive_grad]
pub fn square(x: f64) -> f64 {
    x * x
}

/// Answers `square` and `double` (the gradient of `square`).
pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, String> {
    let x: f64 = parse(input)?;
    let runs = Runs::of(input);
    let (output, timings) = match function {
        "square" => measure(runs, || square(x)),
        "double" => measure(runs, || square_grad(x).1),
        _ => return Err(unknown_function("hello", function)),
    };
    Ok(Evaluated {
        output: json!(output),
        timings,
    })
}
