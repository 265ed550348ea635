//! seeds/001: the 2-3-1 linear network worked by hand in the tutorial.
//!
//! Inputs `x1 = 40`, `x2 = 80`, target `60`; first-layer weights all `0.5`,
//! second-layer weights all `1.0`; loss `½(t − y)²`; one step of plain
//! gradient descent with learning rate `1e-5`. The tutorial prints
//! prediction `180.0` and loss `7200.0`, then after the step prediction
//! `140.3136` and loss `3225.13717248` — and so does this program.
//!
//! Run it with `cargo run --example linear_net_2_3_1`.

use std::fmt::Write;

use backprop::prelude::*;

/// The network's output. Weights: `w[0..3]` from `x1` to the hidden
/// units, `w[3..6]` from `x2`, `w[6..9]` from the hidden units to `y`.
pub fn predict(w: &[f64; 9], x1: f64, x2: f64) -> f64 {
    let z1 = x1 * w[0] + x2 * w[3];
    let z2 = x1 * w[1] + x2 * w[4];
    let z3 = x1 * w[2] + x2 * w[5];
    z1 * w[6] + z2 * w[7] + z3 * w[8]
}

/// The loss, differentiated by `#[derive_grad]` into `loss_grad`; with
/// `explain` it also gets `loss_explain` (the derivation) and `loss_trace`.
#[derive_grad(explain)]
pub fn loss(w: [f64; 9], x1: f64, x2: f64, t: f64) -> f64 {
    let z1 = x1 * w[0] + x2 * w[3];
    let z2 = x1 * w[1] + x2 * w[4];
    let z3 = x1 * w[2] + x2 * w[5];
    let y = z1 * w[6] + z2 * w[7] + z3 * w[8];
    0.5 * (t - y) * (t - y)
}

/// What the example computes, for the test that checks it.
#[derive(Debug)]
pub struct Report {
    /// Prediction and loss at the start.
    pub before: (f64, f64),
    /// The gradient at the start.
    pub grad: [f64; 9],
    /// Prediction and loss after one SGD step.
    pub after: (f64, f64),
    /// The weights after the step.
    pub weights: [f64; 9],
    /// The chain-rule derivation `loss_explain()` prints.
    pub derivation: String,
    /// The computation graph at the start, with values and gradients, as SVG.
    pub svg: String,
    /// The printed text.
    pub text: String,
}

/// Runs the worked example.
pub fn run() -> Report {
    let (x1, x2, t) = (40.0, 80.0, 60.0);
    let mut w = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0];
    let mut text = String::new();

    let (value, grad) = loss_grad(w, x1, x2, t);
    let before = (predict(&w, x1, x2), value);
    writeln!(text, "prediction {:.1}, loss {:.1}", before.0, before.1).unwrap();
    writeln!(text, "gradient dL/dw (x1→h, x2→h, h→y):").unwrap();
    for (row, name) in ["x1→h", "x2→h", "h→y "].iter().enumerate() {
        let g = &grad[row * 3..row * 3 + 3];
        writeln!(text, "  {name}  {:>8.1} {:>8.1} {:>8.1}", g[0], g[1], g[2]).unwrap();
    }

    let derivation = loss_explain().to_string();
    writeln!(text, "\n{derivation}").unwrap();
    let trace = loss_trace(w, x1, x2, t);
    writeln!(text, "every value and its gradient at the start:\n{trace}").unwrap();
    let svg = trace.to_svg();

    let mut sgd = Sgd::new(1e-5);
    sgd.step(&mut w, &grad);
    let after = (predict(&w, x1, x2), loss(w, x1, x2, t));
    writeln!(text, "after one SGD step (learning rate 1e-5):").unwrap();
    writeln!(text, "  weights {:?}", w.map(|v| (v * 1e6).round() / 1e6)).unwrap();
    writeln!(text, "prediction {:.4}, loss {:.8}", after.0, after.1).unwrap();
    Report {
        before,
        grad,
        after,
        weights: w,
        derivation,
        svg,
        text,
    }
}

#[allow(dead_code)] // the test includes this file for `run` only
fn main() {
    let report = run();
    print!("{}", report.text);
    // The picture of the computation: the first argument, or target/.
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/linear_net_2_3_1_graph.svg".into());
    match std::fs::write(&path, &report.svg) {
        Ok(()) => println!("wrote the computation graph to {path}"),
        Err(e) => eprintln!("cannot write {path}: {e}"),
    }
}
