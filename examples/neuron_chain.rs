//! seeds/000: ten one-weight neurons in a chain,
//! `out = x·w1·w2·…·w10`, loss `(out − y)²`, `x = 5`, `y = 7`, learning
//! rate `0.01`, starting from the weights NumPy draws with seed 5.
//!
//! The tutorial backpropagates by hand: each neuron's weight gets
//! `grad·input` and passes `grad·weight` back, starting from
//! `grad = 2(out − y)`. Multiplied out, `∂L/∂wi = 2(out − y)·out/wi` — what
//! `loss_grad` computes here by the chain rule.
//!
//! (The tutorial's Python runs one step only; its forward loop also resets
//! `ovtet = x` inside the loop, so it actually prints `x·w10`. This program
//! uses the chain the text describes.)
//!
//! What happens with learning rate 0.01, honestly: the product starts tiny
//! (`out ≈ 0.0012`), so the gradients are tiny and for about 90 steps
//! nothing seems to happen; then the weights grow, `out` shoots past 7 and
//! the iteration blows up (the loss is ∞/NaN within about 100 steps).
//! Near the solution the curvature of the loss along the gradient is
//! about `2·y²·Σ 1/wi² ≈ 900`, and plain gradient descent is only stable
//! for a learning rate below `2/900 ≈ 0.002`. With `0.001` the same chain
//! reaches a loss below `1e-6` after 917 steps (most of them spent
//! climbing off the nearly flat start); both runs are shown.
//!
//! Run it with `cargo run --example neuron_chain`.

use std::fmt::Write;

use backprop::prelude::*;

/// `np.random.seed(5); [np.random.random() for _ in range(10)]`.
pub const W0: [f64; 10] = [
    0.22199317108973948,
    0.8707323061773764,
    0.20671915533942642,
    0.9186109079379216,
    0.48841118879482914,
    0.6117438629026457,
    0.7659078564803156,
    0.5184179878729432,
    0.29680050157622195,
    0.18772122866125163,
];
/// The input.
pub const X: f64 = 5.0;
/// The target.
pub const Y: f64 = 7.0;
/// The tutorial's learning rate.
pub const SEED_LR: f64 = 0.01;
/// A learning rate that converges from the same start.
pub const STABLE_LR: f64 = 0.001;
/// "Small": training stops when the loss is below this.
pub const TOLERANCE: f64 = 1e-6;
/// Give up after this many steps.
pub const MAX_STEPS: usize = 100_000;

/// The chain's output `x·w1·…·w10`.
pub fn forward(w: &[f64; 10], x: f64) -> f64 {
    let mut out = x;
    for wi in w {
        out *= wi;
    }
    out
}

/// The loss, differentiated into `loss_grad(w, x, y) -> (loss, ∂L/∂w)`.
#[derive_grad]
pub fn loss(w: [f64; 10], x: f64, y: f64) -> f64 {
    let mut out = x;
    for wi in w.iter() {
        out *= *wi;
    }
    (out - y) * (out - y)
}

/// How a training run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The loss fell below [`TOLERANCE`] after this many steps.
    Converged {
        /// Steps taken.
        steps: usize,
        /// The final output.
        out: f64,
        /// The final loss.
        loss: f64,
    },
    /// The loss became ∞ or NaN at this step.
    Diverged {
        /// The step whose loss was not finite.
        step: usize,
        /// The largest finite loss seen before.
        peak: f64,
    },
    /// Neither within [`MAX_STEPS`].
    GaveUp,
}

/// One run of plain gradient descent from [`W0`].
#[derive(Clone, Debug)]
pub struct Run {
    /// Learning rate.
    pub lr: f64,
    /// `(step, out, loss)` at each step until the end.
    pub trace: Vec<(usize, f64, f64)>,
    /// How it ended.
    pub outcome: Outcome,
}

/// Trains the chain from [`W0`] with `Sgd::new(lr)` until the loss is below
/// [`TOLERANCE`], it is no longer finite, or [`MAX_STEPS`].
pub fn descend(lr: f64) -> Run {
    let mut w = W0;
    let mut sgd = Sgd::new(lr);
    let mut trace = Vec::new();
    let mut peak = 0.0_f64;
    for step in 0..=MAX_STEPS {
        let (l, g) = loss_grad(w, X, Y);
        let out = forward(&w, X);
        trace.push((step, out, l));
        if !l.is_finite() || g.iter().any(|v| !v.is_finite()) {
            let outcome = Outcome::Diverged { step, peak };
            return Run { lr, trace, outcome };
        }
        peak = peak.max(l);
        if l < TOLERANCE {
            let outcome = Outcome::Converged {
                steps: step,
                out,
                loss: l,
            };
            return Run { lr, trace, outcome };
        }
        if step < MAX_STEPS {
            sgd.step(&mut w, &g);
        }
    }
    Run {
        lr,
        trace,
        outcome: Outcome::GaveUp,
    }
}

/// What the example computes, for the test that checks it.
#[derive(Debug)]
pub struct Report {
    /// The output at the start.
    pub out0: f64,
    /// The loss at the start.
    pub loss0: f64,
    /// The first gradient, from `loss_grad`.
    pub grad0: [f64; 10],
    /// The run with the tutorial's learning rate 0.01.
    pub seed_run: Run,
    /// The run with learning rate 0.001.
    pub stable_run: Run,
    /// The printed text.
    pub text: String,
}

/// Runs the example.
pub fn run() -> Report {
    let mut text = String::new();
    let out0 = forward(&W0, X);
    let (loss0, grad0) = loss_grad(W0, X, Y);
    writeln!(text, "x = {X}, y = {Y}, weights (NumPy seed 5):").unwrap();
    writeln!(text, "  {:?}", W0.map(|v| (v * 1e6).round() / 1e6)).unwrap();
    writeln!(text, "out = {out0:.10}, loss = {loss0:.10}").unwrap();
    writeln!(
        text,
        "first gradient dL/dwi (derive_grad vs 2(out - y)*out/wi):"
    )
    .unwrap();
    for (i, (g, wi)) in grad0.iter().zip(W0).enumerate() {
        let hand = 2.0 * (out0 - Y) * out0 / wi;
        writeln!(text, "  w{:<2} {g:+.12e}  {hand:+.12e}", i + 1).unwrap();
    }

    let seed_run = descend(SEED_LR);
    let stable_run = descend(STABLE_LR);
    for r in [&seed_run, &stable_run] {
        writeln!(text, "plain gradient descent, learning rate {}:", r.lr).unwrap();
        let n = r.trace.len();
        let every = if n > 200 { 100 } else { 20 };
        for &(step, out, l) in &r.trace {
            if step % every == 0 || step + 6 >= n {
                writeln!(text, "  step {step:>4}: out = {out:<22.10e} loss = {l:.6e}").unwrap();
            }
        }
        match &r.outcome {
            Outcome::Converged { steps, out, loss } => writeln!(
                text,
                "  converged: loss {loss:.3e} < {TOLERANCE:e} after {steps} steps, out = {out:.6}"
            ),
            Outcome::Diverged { step, peak } => writeln!(
                text,
                "  DIVERGED: the loss is not finite at step {step} (largest finite loss {peak:.3e}); \
                 learning rate {} is too large for this chain",
                r.lr
            ),
            Outcome::GaveUp => writeln!(text, "  no convergence within {MAX_STEPS} steps"),
        }
        .unwrap();
    }
    Report {
        out0,
        loss0,
        grad0,
        seed_run,
        stable_run,
        text,
    }
}

#[allow(dead_code)] // the test includes this file for `run` only
fn main() {
    print!("{}", run().text);
}
