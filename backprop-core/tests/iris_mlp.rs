//! A 4-8-3 multilayer perceptron (tanh hidden layer, softmax output,
//! cross-entropy loss) trained on Fisher's iris data with a hand-written
//! per-sample gradient, through `train` with Adam.

// index loops mirror the subscripts of the hand derivation
#![allow(clippy::needless_range_loop)]

use backprop_core::datasets::{iris, IrisSample};
use backprop_core::{
    gradcheck_value_grad, train, Adam, Params, Progress, SplitMix64, TrainOptions,
};

const H: usize = 8;

/// (W1: hidden × input, b1, W2: output × hidden, b2)
type Mlp = ([[f64; 4]; H], [f64; H], [[f64; H]; 3], [f64; 3]);

/// Standardized features and the label.
type Sample = ([f64; 4], usize);

fn forward(p: &Mlp, x: &[f64; 4]) -> ([f64; H], [f64; 3]) {
    let (w1, b1, w2, b2) = p;
    let h: [f64; H] =
        std::array::from_fn(|j| (b1[j] + (0..4).map(|k| w1[j][k] * x[k]).sum::<f64>()).tanh());
    let z: [f64; 3] = std::array::from_fn(|c| b2[c] + (0..H).map(|j| w2[c][j] * h[j]).sum::<f64>());
    (h, z)
}

/// Loss −log softmax(z)[y] and its gradient, derived by hand:
/// ∂L/∂z_c = p_c − [c = y]; ∂L/∂W2[c][j] = ∂L/∂z_c·h_j; ∂L/∂b2 = ∂L/∂z;
/// ∂L/∂h_j = Σ_c ∂L/∂z_c·W2[c][j]; ∂L/∂a_j = ∂L/∂h_j·(1 − h_j²);
/// ∂L/∂W1[j][k] = ∂L/∂a_j·x_k; ∂L/∂b1 = ∂L/∂a.
fn loss_grad(p: &Mlp, (x, y): &Sample) -> (f64, Mlp) {
    let (h, z) = forward(p, x);
    let zmax = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e = z.map(|zc| (zc - zmax).exp());
    let sum: f64 = e.iter().sum();
    let loss = sum.ln() + zmax - z[*y];
    let dz: [f64; 3] = std::array::from_fn(|c| e[c] / sum - if c == *y { 1.0 } else { 0.0 });

    let mut g: Mlp = p.zeros_like();
    for c in 0..3 {
        g.3[c] = dz[c];
        for j in 0..H {
            g.2[c][j] = dz[c] * h[j];
        }
    }
    for j in 0..H {
        let dh: f64 = (0..3).map(|c| dz[c] * p.2[c][j]).sum();
        let da = dh * (1.0 - h[j] * h[j]);
        g.1[j] = da;
        for k in 0..4 {
            g.0[j][k] = da * x[k];
        }
    }
    (loss, g)
}

fn standardized(data: &[IrisSample]) -> Vec<Sample> {
    let n = data.len() as f64;
    let mean: [f64; 4] =
        std::array::from_fn(|k| data.iter().map(|s| s.features[k]).sum::<f64>() / n);
    let sd: [f64; 4] = std::array::from_fn(|k| {
        (data
            .iter()
            .map(|s| (s.features[k] - mean[k]).powi(2))
            .sum::<f64>()
            / n)
            .sqrt()
    });
    data.iter()
        .map(|s| {
            (
                std::array::from_fn(|k| (s.features[k] - mean[k]) / sd[k]),
                s.species,
            )
        })
        .collect()
}

fn init(seed: u64) -> Mlp {
    let mut rng = SplitMix64::new(seed);
    let mut p: Mlp = ([[0.0; 4]; H], [0.0; H], [[0.0; H]; 3], [0.0; 3]);
    // uniform(−1/√fan_in, 1/√fan_in) weights, zero biases
    for row in &mut p.0 {
        row.for_each_mut(&mut |w| *w = rng.uniform(-0.5, 0.5));
    }
    let s = 1.0 / (H as f64).sqrt();
    for row in &mut p.2 {
        row.for_each_mut(&mut |w| *w = rng.uniform(-s, s));
    }
    p
}

fn accuracy(p: &Mlp, data: &[Sample]) -> f64 {
    let correct = data
        .iter()
        .filter(|(x, y)| {
            let (_, z) = forward(p, x);
            let pred = (0..3).max_by(|&a, &b| z[a].total_cmp(&z[b])).unwrap();
            pred == *y
        })
        .count();
    correct as f64 / data.len() as f64
}

#[test]
fn hand_written_gradient_matches_central_differences() {
    let data = standardized(&iris());
    let p = init(1);
    for s in [&data[0], &data[75], &data[149]] {
        let r = gradcheck_value_grad(|p| loss_grad(p, s), &p);
        assert!(r.passed(1e-6), "{r}");
    }
}

#[test]
fn mlp_reaches_95_percent_training_accuracy_on_iris() {
    let data = standardized(&iris());
    let mut p = init(1);
    let before = accuracy(&p, &data);
    let report = train(
        &mut p,
        &mut Adam::new(0.02),
        &data,
        &TrainOptions::new()
            .epochs(100)
            .batch_size(16)
            .seed(42)
            .progress(Progress::Never),
        loss_grad,
    )
    .unwrap();
    let acc = accuracy(&p, &data);
    eprintln!(
        "iris: training accuracy {before:.3} → {acc:.3}, epoch loss {:.4} → {:.4}",
        report.epoch_losses[0],
        report.epoch_losses[report.epoch_losses.len() - 1]
    );
    let losses = &report.epoch_losses;
    assert!(
        acc >= 0.95,
        "accuracy {acc} (from {before}); losses {:?} … {:?}",
        &losses[..3],
        &losses[losses.len() - 3..]
    );
    // cross-entropy of a uniform guess is ln 3 ≈ 1.0986
    assert!(
        losses[0] < 1.2 && *losses.last().unwrap() < 0.15,
        "{losses:?}"
    );
}
