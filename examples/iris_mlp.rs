//! A 4-8-3 multilayer perceptron on Fisher's iris data: tanh hidden layer,
//! softmax output, cross-entropy loss — written once, for one sample, as a
//! `#[derive_grad]` function, and trained with `backprop::core::train`
//! (mini-batches of 16, Adam, seeded shuffling).
//!
//! The features are standardized (mean 0, standard deviation 1 over the
//! data set) before training. The program prints the mean loss of each
//! epoch and the final training accuracy.
//!
//! Run it with `cargo run --example iris_mlp`.

use std::fmt::Write;

use backprop::core::datasets::{iris, IrisSample, IRIS_SPECIES};
use backprop::prelude::*;

/// Hidden units.
pub const H: usize = 8;
/// Epochs of training.
pub const EPOCHS: usize = 60;
/// Mini-batch size.
pub const BATCH: usize = 16;
/// Adam's learning rate.
pub const LEARNING_RATE: f64 = 0.02;

/// The parameters: `W1` (hidden × input), `b1`, `W2` (output × hidden),
/// `b2`.
pub type Mlp = ([[f64; 4]; H], [f64; H], [[f64; H]; 3], [f64; 3]);

/// A training sample: standardized features and the one-hot species.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// The four measurements, standardized.
    pub x: [f64; 4],
    /// One-hot label.
    pub y: [f64; 3],
    /// The species index (0, 1, 2).
    pub species: usize,
}

/// Cross-entropy of the softmax of the network's output against the
/// one-hot label `y`, for one sample. `log_softmax` is computed stably, by
/// subtracting the largest logit.
#[derive_grad(wrt(w1, b1, w2, b2))]
pub fn loss(
    w1: [[f64; 4]; 8],
    b1: [f64; 8],
    w2: [[f64; 8]; 3],
    b2: [f64; 3],
    x: [f64; 4],
    y: [f64; 3],
) -> f64 {
    let mut h = [0.0; 8];
    for j in 0..8 {
        let a = w1[j][0] * x[0] + w1[j][1] * x[1] + w1[j][2] * x[2] + w1[j][3] * x[3] + b1[j];
        h[j] = a.tanh();
    }
    let mut z = [0.0; 3];
    for c in 0..3 {
        let mut s = b2[c];
        for j in 0..8 {
            s += w2[c][j] * h[j];
        }
        z[c] = s;
    }
    let m = z[0].max(z[1]).max(z[2]);
    let lse = m + ((z[0] - m).exp() + (z[1] - m).exp() + (z[2] - m).exp()).ln();
    lse - (y[0] * z[0] + y[1] * z[1] + y[2] * z[2])
}

/// The network's logits for one input.
pub fn logits(p: &Mlp, x: &[f64; 4]) -> [f64; 3] {
    let h: [f64; H] =
        std::array::from_fn(|j| (p.1[j] + (0..4).map(|k| p.0[j][k] * x[k]).sum::<f64>()).tanh());
    std::array::from_fn(|c| p.3[c] + (0..H).map(|j| p.2[c][j] * h[j]).sum::<f64>())
}

/// The predicted species (the largest logit).
pub fn predict(p: &Mlp, x: &[f64; 4]) -> usize {
    let z = logits(p, x);
    (0..3).max_by(|&a, &b| z[a].total_cmp(&z[b])).unwrap_or(0)
}

/// The fraction of `data` classified correctly.
pub fn accuracy(p: &Mlp, data: &[Sample]) -> f64 {
    let correct = data
        .iter()
        .filter(|s| predict(p, &s.x) == s.species)
        .count();
    correct as f64 / data.len() as f64
}

/// One sample's loss and gradient as `train` wants it.
pub fn sample_grad(p: &Mlp, s: &Sample) -> (f64, Mlp) {
    loss_grad(p.0, p.1, p.2, p.3, s.x, s.y)
}

/// The iris data with standardized features and one-hot labels.
pub fn standardized(data: &[IrisSample]) -> Vec<Sample> {
    let n = data.len() as f64;
    let mean: [f64; 4] =
        std::array::from_fn(|k| data.iter().map(|s| s.features[k]).sum::<f64>() / n);
    let sd: [f64; 4] = std::array::from_fn(|k| {
        let var = data
            .iter()
            .map(|s| (s.features[k] - mean[k]).powi(2))
            .sum::<f64>()
            / n;
        var.sqrt()
    });
    data.iter()
        .map(|s| {
            let mut y = [0.0; 3];
            y[s.species] = 1.0;
            Sample {
                x: std::array::from_fn(|k| (s.features[k] - mean[k]) / sd[k]),
                y,
                species: s.species,
            }
        })
        .collect()
}

/// The fixed starting point: first-layer weights uniform in `[−0.5, 0.5)`,
/// second-layer weights uniform in `±1/√8`, biases 0 (`SplitMix64::new(seed)`).
pub fn init(seed: u64) -> Mlp {
    let mut rng = SplitMix64::new(seed);
    let w1 = std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-0.5, 0.5)));
    let s = 1.0 / (H as f64).sqrt();
    let w2 = std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-s, s)));
    (w1, [0.0; H], w2, [0.0; 3])
}

/// What the example computes, for the test that checks it.
#[derive(Debug)]
pub struct Report {
    /// The standardized data.
    pub data: Vec<Sample>,
    /// The starting parameters.
    pub initial: Mlp,
    /// The trained parameters.
    pub params: Mlp,
    /// Mean loss of each epoch.
    pub epoch_losses: Vec<f64>,
    /// Training accuracy before training.
    pub accuracy_before: f64,
    /// Training accuracy after training.
    pub accuracy: f64,
    /// Per species: (correct, total).
    pub per_species: [(usize, usize); 3],
    /// The printed text.
    pub text: String,
}

/// Runs the example (`progress`: whether `train` may draw its progress bar).
pub fn run_with(progress: Progress) -> Report {
    let mut text = String::new();
    let data = standardized(&iris());
    let initial = init(1);
    let mut p = initial;
    let accuracy_before = accuracy(&p, &data);
    writeln!(
        text,
        "iris: {} samples, 4-8-3 tanh MLP, softmax cross-entropy, Adam lr {LEARNING_RATE}, \
         batch {BATCH}, {EPOCHS} epochs",
        data.len()
    )
    .unwrap();
    let trained = train(
        &mut p,
        &mut Adam::new(LEARNING_RATE),
        &data,
        &TrainOptions::new()
            .epochs(EPOCHS)
            .batch_size(BATCH)
            .seed(42)
            .progress(progress),
        sample_grad,
    )
    .expect("training stays finite");
    for (e, l) in trained.epoch_losses.iter().enumerate() {
        if e < 5 || (e + 1) % 5 == 0 {
            writeln!(text, "  epoch {:>3}: mean loss {l:.4}", e + 1).unwrap();
        }
    }
    let acc = accuracy(&p, &data);
    let mut per_species = [(0, 0); 3];
    for s in &data {
        per_species[s.species].1 += 1;
        if predict(&p, &s.x) == s.species {
            per_species[s.species].0 += 1;
        }
    }
    writeln!(
        text,
        "training accuracy: {:.1}% before, {:.1}% after ({} of {})",
        100.0 * accuracy_before,
        100.0 * acc,
        per_species.iter().map(|c| c.0).sum::<usize>(),
        data.len()
    )
    .unwrap();
    for (name, (ok, n)) in IRIS_SPECIES.iter().zip(per_species) {
        writeln!(text, "  {name:<16} {ok}/{n}").unwrap();
    }
    Report {
        data,
        initial,
        params: p,
        epoch_losses: trained.epoch_losses,
        accuracy_before,
        accuracy: acc,
        per_species,
        text,
    }
}

/// Runs the example without a progress bar.
pub fn run() -> Report {
    run_with(Progress::Never)
}

#[allow(dead_code)] // the test includes this file for `run` only
fn main() {
    print!("{}", run_with(Progress::Auto).text);
}
