//! seeds/002: backpropagation as gradient descent on the error surface, and
//! the momentum update `Δw = lr·g + α·Δw_prev` (the seed's
//! `link.weight += main·alpha·momentum; link.momentum = main`).
//!
//! A 2-3-1 network (tanh hidden layer, sigmoid output) learns XOR from a
//! fixed seeded start, once with plain gradient descent and once with
//! [`Momentum`] in the seed's form, both with the same learning rate. The
//! loss is the mean over the four samples of `(p − t)²`; each step uses the
//! full-batch gradient, the mean of the per-sample gradients `loss_grad`
//! returns (`backprop::core::mean_value_and_grad`). The program prints how
//! many steps each takes to bring the loss below 0.01.
//!
//! Run it with `cargo run --example momentum_xor`.

use std::fmt::Write;

use backprop::core::mean_value_and_grad;
use backprop::prelude::*;

/// The network's parameters: hidden weights `w1[j] = [from x1, from x2]`,
/// hidden biases, output weights, output bias.
pub type Params = ([[f64; 2]; 3], [f64; 3], [f64; 3], f64);

/// The four XOR samples `(x, t)`.
pub const XOR: [([f64; 2], f64); 4] = [
    ([0.0, 0.0], 0.0),
    ([0.0, 1.0], 1.0),
    ([1.0, 0.0], 1.0),
    ([1.0, 1.0], 0.0),
];
/// Learning rate of both runs.
pub const LEARNING_RATE: f64 = 0.5;
/// The momentum coefficient `α`.
pub const ALPHA: f64 = 0.9;
/// The target loss.
pub const TARGET: f64 = 0.01;
/// Give up after this many steps.
pub const MAX_STEPS: usize = 50_000;
/// The seed of the starting weights.
pub const SEED: u64 = 2;

/// One sample's squared error, differentiated with respect to all four
/// parameter groups.
#[derive_grad(wrt(w1, b1, w2, b2))]
pub fn loss(w1: [[f64; 2]; 3], b1: [f64; 3], w2: [f64; 3], b2: f64, x: [f64; 2], t: f64) -> f64 {
    let mut s = b2;
    for j in 0..3 {
        let h = (w1[j][0] * x[0] + w1[j][1] * x[1] + b1[j]).tanh();
        s += w2[j] * h;
    }
    let p = sigmoid(s);
    (p - t) * (p - t)
}

/// The network's output for one input.
pub fn predict(p: &Params, x: [f64; 2]) -> f64 {
    let mut s = p.3;
    for j in 0..3 {
        s += p.2[j] * (p.0[j][0] * x[0] + p.0[j][1] * x[1] + p.1[j]).tanh();
    }
    sigmoid(s)
}

/// The full-batch loss and gradient: means over the four samples.
pub fn batch_grad(p: &Params) -> (f64, Params) {
    mean_value_and_grad(p, &XOR, |p, &(x, t)| loss_grad(p.0, p.1, p.2, p.3, x, t))
}

/// The fixed starting point: every parameter uniform in `[−1, 1)` from
/// `SplitMix64::new(SEED)`.
pub fn init() -> Params {
    let mut rng = SplitMix64::new(SEED);
    let mut u = || rng.uniform(-1.0, 1.0);
    let w1 = [[u(), u()], [u(), u()], [u(), u()]];
    let b1 = [u(), u(), u()];
    let w2 = [u(), u(), u()];
    (w1, b1, w2, u())
}

/// One training run.
#[derive(Clone, Debug)]
pub struct Run {
    /// Steps until the loss was below [`TARGET`] (`None`: not within
    /// [`MAX_STEPS`]).
    pub steps: Option<usize>,
    /// The loss every 50 steps, from step 0.
    pub losses: Vec<f64>,
    /// The final loss.
    pub final_loss: f64,
    /// The outputs on the four samples at the end.
    pub outputs: [f64; 4],
}

/// Descends from [`init`] with `opt` until the loss is below [`TARGET`].
pub fn descend(opt: &mut impl Optimizer<Params>) -> Run {
    let mut p = init();
    let mut losses = Vec::new();
    let mut steps = None;
    let mut final_loss = f64::NAN;
    for step in 0..=MAX_STEPS {
        let (l, g) = batch_grad(&p);
        final_loss = l;
        if step % 50 == 0 {
            losses.push(l);
        }
        if l < TARGET {
            steps = Some(step);
            break;
        }
        opt.step(&mut p, &g);
    }
    let outputs = XOR.map(|(x, _)| predict(&p, x));
    Run {
        steps,
        losses,
        final_loss,
        outputs,
    }
}

/// What the example computes, for the test that checks it.
#[derive(Debug)]
pub struct Report {
    /// Plain gradient descent.
    pub sgd: Run,
    /// Gradient descent with momentum.
    pub momentum: Run,
    /// The printed text.
    pub text: String,
}

/// Runs the example.
pub fn run() -> Report {
    let mut text = String::new();
    let (l0, _) = batch_grad(&init());
    writeln!(
        text,
        "XOR with a 2-3-1 tanh/sigmoid network, loss = mean (p - t)^2, start loss {l0:.6}"
    )
    .unwrap();
    let sgd = descend(&mut Sgd::new(LEARNING_RATE));
    let momentum = descend(&mut Momentum::new(LEARNING_RATE, ALPHA));
    for (name, r) in [
        (format!("plain SGD, lr {LEARNING_RATE}"), &sgd),
        (
            format!("momentum, lr {LEARNING_RATE}, alpha {ALPHA}"),
            &momentum,
        ),
    ] {
        writeln!(text, "{name}:").unwrap();
        let shown: Vec<String> = r.losses.iter().map(|l| format!("{l:.4}")).collect();
        writeln!(text, "  loss every 50 steps: {}", shown.join(" ")).unwrap();
        match r.steps {
            Some(n) => writeln!(
                text,
                "  loss {:.6} < {TARGET} after {n} steps; outputs {:?}",
                r.final_loss,
                r.outputs.map(|o| (o * 1000.0).round() / 1000.0)
            ),
            None => writeln!(
                text,
                "  loss still {:.6} after {MAX_STEPS} steps",
                r.final_loss
            ),
        }
        .unwrap();
    }
    if let (Some(a), Some(b)) = (sgd.steps, momentum.steps) {
        writeln!(
            text,
            "momentum reached loss < {TARGET} in {b} steps, plain SGD in {a} ({:.1}x fewer)",
            a as f64 / b as f64
        )
        .unwrap();
    }
    Report {
        sgd,
        momentum,
        text,
    }
}

#[allow(dead_code)] // the test includes this file for `run` only
fn main() {
    print!("{}", run().text);
}
