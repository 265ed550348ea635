//! An MNIST-size network trained end to end: a 784-128-10 tanh MLP with
//! softmax cross-entropy (101,632 weights), written once for one sample
//! with `for` loops as a `#[derive_grad]` function. Its loops stay loops, so
//! the crate builds in well under a second; `train_acc` sums the
//! per-sample gradients with `loss_grad_acc_with` straight into its batch
//! buffers (the 814 KB gradient is never returned by value, and nothing is
//! allocated per sample), and Adam steps the weights.
//!
//! The data are synthetic, MNIST-shaped: 784 inputs in [0, 1], ten classes,
//! each sample a class prototype with noise (no download needed). The
//! program prints each epoch's mean loss and the accuracy on held-out
//! samples.
//!
//! Run it with `cargo run --release --example mnist_size_mlp`.

// Index loops, as the tutorials write them.
#![allow(clippy::needless_range_loop)]

use std::fmt::Write;

use backprop::prelude::*;

/// Inputs (a 28×28 image).
pub const N_IN: usize = 784;
/// Hidden units.
pub const N_HID: usize = 128;
/// Classes.
pub const N_OUT: usize = 10;

/// The weights: `(W1, W2)`.
pub type Weights = ([[f64; N_IN]; N_HID], [[f64; N_HID]; N_OUT]);

/// One sample: an image and its class.
pub struct Sample {
    /// Pixels in [0, 1].
    pub x: [f64; N_IN],
    /// The class, 0–9.
    pub label: usize,
}

/// Softmax cross-entropy of the network's output for one sample.
#[derive_grad(wrt(w1, w2))]
pub fn loss(w1: &[[f64; 784]; 128], w2: &[[f64; 128]; 10], x: &[f64; 784], label: usize) -> f64 {
    let mut h = [0.0; 128];
    for j in 0..128 {
        let mut s = 0.0;
        for i in 0..784 {
            s += w1[j][i] * x[i];
        }
        h[j] = s.tanh();
    }
    let mut z = [0.0; 10];
    for k in 0..10 {
        let mut s = 0.0;
        for j in 0..128 {
            s += w2[k][j] * h[j];
        }
        z[k] = s;
    }
    let mut m = 0.0;
    for k in 0..10 {
        m += z[k].exp();
    }
    m.ln() - z[label]
}

/// The class the network predicts (the largest output).
pub fn predict(w: &Weights, x: &[f64; N_IN]) -> usize {
    let mut h = [0.0; N_HID];
    for j in 0..N_HID {
        let s: f64 = (0..N_IN).map(|i| w.0[j][i] * x[i]).sum();
        h[j] = s.tanh();
    }
    (0..N_OUT)
        .map(|k| (k, (0..N_HID).map(|j| w.1[k][j] * h[j]).sum::<f64>()))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |(k, _)| k)
}

/// `n` samples: class prototypes (fixed by the seed) with uniform noise.
pub fn synthetic(n: usize, seed: u64) -> Vec<Sample> {
    let mut rng = SplitMix64::new(20261124);
    let prototypes: Vec<[f64; N_IN]> = (0..N_OUT)
        .map(|_| std::array::from_fn(|_| if rng.next_f64() < 0.2 { 1.0 } else { 0.0 }))
        .collect();
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            let label = rng.below(N_OUT);
            let x = std::array::from_fn(|i| {
                (prototypes[label][i] + rng.uniform(-0.45, 0.45)).clamp(0.0, 1.0)
            });
            Sample { x, label }
        })
        .collect()
}

/// What a run produced.
pub struct Run {
    /// Mean loss of each epoch.
    pub epoch_losses: Vec<f64>,
    /// Accuracy on held-out samples before and after training.
    pub accuracy: (f64, f64),
    /// The printed report.
    pub text: String,
}

/// Trains on `n_train` samples for `epochs` epochs.
pub fn run(n_train: usize, epochs: usize) -> Run {
    let train_data = synthetic(n_train, 1);
    let test_data = synthetic(500, 2);
    // Small random weights (on the heap: 814 KB).
    let mut rng = SplitMix64::new(7);
    let mut w: Box<Weights> = Box::new(([[0.0; N_IN]; N_HID], [[0.0; N_HID]; N_OUT]));
    w.0.iter_mut()
        .flatten()
        .for_each(|v| *v = rng.uniform(-0.05, 0.05));
    w.1.iter_mut()
        .flatten()
        .for_each(|v| *v = rng.uniform(-0.2, 0.2));
    let accuracy = |w: &Weights| {
        let right = test_data
            .iter()
            .filter(|s| predict(w, &s.x) == s.label)
            .count();
        right as f64 / test_data.len() as f64
    };
    let before = accuracy(&w);
    let mut text = String::new();
    let options = TrainOptions::new()
        .epochs(epochs)
        .batch_size(32)
        .seed(3)
        .progress(Progress::Never);
    let report = train_acc(
        &mut *w,
        &mut Adam::new(1e-3),
        &train_data,
        &options,
        |w, s, g, work| loss_grad_acc_with(&w.0, &w.1, &s.x, s.label, g, work),
    )
    .expect("the losses and gradients stay finite");
    for (e, l) in report.epoch_losses.iter().enumerate() {
        writeln!(text, "epoch {:2}: mean loss {l:.4}", e + 1).unwrap();
    }
    let after = accuracy(&w);
    let test_loss = test_data
        .iter()
        .map(|s| loss(&w.0, &w.1, &s.x, s.label))
        .sum::<f64>()
        / test_data.len() as f64;
    writeln!(
        text,
        "held-out accuracy: {:.1}% before training, {:.1}% after (held-out mean loss {test_loss:.4})",
        100.0 * before,
        100.0 * after
    )
    .unwrap();
    Run {
        epoch_losses: report.epoch_losses,
        accuracy: (before, after),
        text,
    }
}

#[allow(dead_code)]
fn main() {
    // A stack with room for the weights, the batch gradient and Adam's state.
    let run = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| run(3000, 5))
        .expect("a thread")
        .join()
        .expect("training finished");
    print!("{}", run.text);
}
