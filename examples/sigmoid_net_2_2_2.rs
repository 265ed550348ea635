//! seeds/003: the 2-2-2 sigmoid network with per-output binary
//! cross-entropy, whose gradient the tutorial works out by hand.
//!
//! Wiring (the tutorial's names; `w1..w8` are `w[0..8]`, `b1..b4` are
//! `b[0..4]`):
//!
//! ```text
//! z1 = x1·w1 + x2·w2 + b1   a1 = σ(z1)      z3 = a1·w5 + a2·w6 + b3   p1 = σ(z3)
//! z2 = x1·w3 + x2·w4 + b2   a2 = σ(z2)      z4 = a1·w7 + a2·w8 + b4   p2 = σ(z4)
//! E  = −[y1 ln p1 + (1 − y1) ln(1 − p1)] − [y2 ln p2 + (1 − y2) ln(1 − p2)]
//! ```
//!
//! The tutorial derives `∂E/∂w5 = (p1 − y1)·a1` and
//! `∂E/∂a1 = (p1 − y1)·w5 + (p2 − y2)·w7`, then `∂E/∂w1 = ∂E/∂a1 · a1(1 − a1) · x1`.
//! This program prints both sides of each formula — the right-hand side
//! evaluated from the forward values, the left-hand side from
//! `#[derive_grad]` — and then trains the network with gradient descent.
//! The tutorial has no numbers of its own; the inputs and starting weights
//! are the familiar ones of Matt Mazur's worked example (`x = (0.05, 0.10)`,
//! `w = 0.15…0.55`, `b = 0.35, 0.35, 0.60, 0.60`, targets `0.01, 0.99`).
//!
//! Run it with `cargo run --example sigmoid_net_2_2_2`.

use std::fmt::Write;

use backprop::prelude::*;

/// Inputs `x1, x2`.
pub const X: [f64; 2] = [0.05, 0.10];
/// Targets `y1, y2`.
pub const Y: [f64; 2] = [0.01, 0.99];
/// Starting weights `w1..w8`.
pub const W0: [f64; 8] = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55];
/// Starting biases `b1..b4`.
pub const B0: [f64; 4] = [0.35, 0.35, 0.60, 0.60];

/// The binary cross-entropy of one output `p` against its target `y`.
fn bce(p: f64, y: f64) -> f64 {
    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
}

/// The output layer and the error, as a function of the hidden outputs
/// `a1, a2`: differentiating it with respect to them gives `∂E/∂a1`,
/// `∂E/∂a2` directly.
#[derive_grad(wrt(a1, a2))]
pub fn head(a1: f64, a2: f64, w: [f64; 8], b: [f64; 4], y: [f64; 2]) -> f64 {
    let p1 = sigmoid(a1 * w[4] + a2 * w[5] + b[2]);
    let p2 = sigmoid(a1 * w[6] + a2 * w[7] + b[3]);
    let e1 = -(y[0] * p1.ln() + (1.0 - y[0]) * (1.0 - p1).ln());
    let e2 = -(y[1] * p2.ln() + (1.0 - y[1]) * (1.0 - p2).ln());
    e1 + e2
}

/// The whole network's error `E`, differentiated with respect to the
/// weights and biases into `loss_grad(..) -> (E, (∂E/∂w, ∂E/∂b))`.
#[derive_grad(wrt(w, b), explain)]
pub fn loss(w: [f64; 8], b: [f64; 4], x: [f64; 2], y: [f64; 2]) -> f64 {
    let z1 = x[0] * w[0] + x[1] * w[1] + b[0];
    let a1 = sigmoid(z1);
    let z2 = x[0] * w[2] + x[1] * w[3] + b[1];
    let a2 = sigmoid(z2);
    let z3 = a1 * w[4] + a2 * w[5] + b[2];
    let p1 = sigmoid(z3);
    let z4 = a1 * w[6] + a2 * w[7] + b[3];
    let p2 = sigmoid(z4);
    let e1 = -(y[0] * p1.ln() + (1.0 - y[0]) * (1.0 - p1).ln());
    let e2 = -(y[1] * p2.ln() + (1.0 - y[1]) * (1.0 - p2).ln());
    e1 + e2
}

/// The forward pass: hidden outputs `[a1, a2]` and outputs `[p1, p2]`.
pub fn forward(w: &[f64; 8], b: &[f64; 4], x: &[f64; 2]) -> ([f64; 2], [f64; 2]) {
    let a1 = sigmoid(x[0] * w[0] + x[1] * w[1] + b[0]);
    let a2 = sigmoid(x[0] * w[2] + x[1] * w[3] + b[1]);
    let p1 = sigmoid(a1 * w[4] + a2 * w[5] + b[2]);
    let p2 = sigmoid(a1 * w[6] + a2 * w[7] + b[3]);
    ([a1, a2], [p1, p2])
}

/// What the example computes, for the test that checks it.
#[derive(Debug)]
pub struct Report {
    /// Hidden outputs `a1, a2` at the start.
    pub a: [f64; 2],
    /// Outputs `p1, p2` at the start.
    pub p: [f64; 2],
    /// The error `E` at the start.
    pub error: f64,
    /// `∂E/∂w` from `loss_grad` at the start.
    pub grad_w: [f64; 8],
    /// `∂E/∂b` from `loss_grad` at the start.
    pub grad_b: [f64; 4],
    /// The chain-rule derivation `loss_explain()` prints.
    pub derivation: String,
    /// The computation graph at the start, with values and gradients, as SVG.
    pub svg: String,
    /// `(∂E/∂a1, ∂E/∂a2)` from `head_grad` at the start.
    pub grad_a: (f64, f64),
    /// `(p1 − y1)·a1`, the tutorial's formula for `∂E/∂w5`.
    pub formula_w5: f64,
    /// `(p1 − y1)·w5 + (p2 − y2)·w7`, the tutorial's formula for `∂E/∂a1`.
    pub formula_a1: f64,
    /// `∂E/∂a1 · a1(1 − a1) · x1`, the tutorial's formula for `∂E/∂w1`.
    pub formula_w1: f64,
    /// `E` after every 100 training steps (index 0: before training).
    pub losses: Vec<f64>,
    /// Outputs after training.
    pub p_trained: [f64; 2],
    /// The smallest possible error, `bce(y1, y1) + bce(y2, y2)`.
    pub min_error: f64,
    /// The printed text.
    pub text: String,
}

/// Learning rate of the training run.
pub const LEARNING_RATE: f64 = 0.5;
/// Steps of the training run.
pub const STEPS: usize = 1000;

/// Runs the example.
pub fn run() -> Report {
    let mut text = String::new();
    let (mut w, mut b) = (W0, B0);
    let (a, p) = forward(&w, &b, &X);
    let (error, (grad_w, grad_b)) = loss_grad(w, b, X, Y);
    let (_, grad_a) = head_grad(a[0], a[1], w, b, Y);

    // The derivation, from the same graph `loss_grad` was generated from
    // (`w[4]` is the tutorial's w5, `y[0]` its y1).
    let explanation = loss_explain();
    let derivation = explanation.to_string();
    writeln!(text, "{derivation}").unwrap();
    let trace = loss_trace(w, b, X, Y);
    writeln!(text, "{trace}").unwrap();
    let svg = trace.to_svg();

    writeln!(text, "forward: a1 = {:.9}, a2 = {:.9}", a[0], a[1]).unwrap();
    writeln!(text, "         p1 = {:.9}, p2 = {:.9}", p[0], p[1]).unwrap();
    writeln!(text, "error E = {error:.9}").unwrap();
    writeln!(text, "gradient from loss_grad:").unwrap();
    writeln!(text, "  dE/dw1..w8 = {:?}", grad_w.map(round9)).unwrap();
    writeln!(text, "  dE/db1..b4 = {:?}", grad_b.map(round9)).unwrap();

    let formula_w5 = (p[0] - Y[0]) * a[0];
    let formula_a1 = (p[0] - Y[0]) * w[4] + (p[1] - Y[1]) * w[6];
    let formula_w1 = grad_a.0 * a[0] * (1.0 - a[0]) * X[0];
    writeln!(text, "the tutorial's formulas, both sides:").unwrap();
    writeln!(
        text,
        "  dE/dw5 = (p1 - y1)*a1:                {:.12} (derive_grad) vs {:.12} (formula)",
        grad_w[4], formula_w5
    )
    .unwrap();
    writeln!(
        text,
        "  dE/da1 = (p1 - y1)*w5 + (p2 - y2)*w7: {:.12} (head_grad)   vs {:.12} (formula)",
        grad_a.0, formula_a1
    )
    .unwrap();
    writeln!(
        text,
        "  dE/dw1 = dE/da1 * a1(1 - a1) * x1:    {:.12} (derive_grad) vs {:.12} (formula)",
        grad_w[0], formula_w1
    )
    .unwrap();

    writeln!(
        text,
        "training: plain gradient descent, learning rate {LEARNING_RATE}, {STEPS} steps"
    )
    .unwrap();
    let mut sgd = Sgd::new(LEARNING_RATE);
    let mut params = (w, b);
    let mut losses = vec![error];
    for step in 1..=STEPS {
        let (_, grad) = loss_grad(params.0, params.1, X, Y);
        sgd.step(&mut params, &grad);
        if step % 100 == 0 {
            losses.push(loss(params.0, params.1, X, Y));
        }
    }
    (w, b) = params;
    for (i, l) in losses.iter().enumerate() {
        writeln!(text, "  step {:>4}: E = {l:.6}", i * 100).unwrap();
    }
    let (_, p_trained) = forward(&w, &b, &X);
    let min_error = bce(Y[0], Y[0]) + bce(Y[1], Y[1]);
    writeln!(
        text,
        "outputs after training: p1 = {:.4}, p2 = {:.4} (targets {}, {}); the smallest possible E is {min_error:.6}",
        p_trained[0], p_trained[1], Y[0], Y[1]
    )
    .unwrap();

    Report {
        a,
        p,
        error,
        derivation,
        svg,
        grad_w,
        grad_b,
        grad_a,
        formula_w5,
        formula_a1,
        formula_w1,
        losses,
        p_trained,
        min_error,
        text,
    }
}

fn round9(v: f64) -> f64 {
    (v * 1e9).round() / 1e9
}

#[allow(dead_code)] // the test includes this file for `run` only
fn main() {
    let report = run();
    print!("{}", report.text);
    // The picture of the computation: the first argument, or target/.
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/sigmoid_net_2_2_2_graph.svg".into());
    match std::fs::write(&path, &report.svg) {
        Ok(()) => println!("wrote the computation graph to {path}"),
        Err(e) => eprintln!("cannot write {path}: {e}"),
    }
}
