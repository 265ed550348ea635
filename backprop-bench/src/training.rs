//! The cost of `train_acc` itself (issue 12): one epoch of mini-batch Adam
//! on the digits data (1,797 8×8 images) for a 64-32-10 tanh MLP held in a
//! `#[derive(Params)]` struct, against the batched loop a user would write
//! by hand around the same generated `loss_grad_acc_with`, and against the
//! same loop around a hand-written backward pass.

use backprop::core::datasets::digits;
use backprop::core::{
    train_acc, Adam, Optimizer, Params, Progress, SplitMix64, TrainOptions, Workspace,
};
use backprop::prelude::*;

/// Hidden units.
pub const H: usize = 32;

/// The network.
#[derive(Clone, Debug, PartialEq, Params)]
pub struct Net {
    /// First layer's weights.
    pub w1: [[f64; 64]; H],
    /// First layer's biases.
    pub b1: [f64; H],
    /// Output layer's weights.
    pub w2: [[f64; H]; 10],
    /// Output layer's biases.
    pub b2: [f64; 10],
}

/// Softmax cross-entropy of the logits for one image.
#[derive_grad]
#[allow(clippy::needless_range_loop)]
pub fn loss(net: &Net, x: &[f64; 64], label: usize) -> f64 {
    let mut h = [0.0; H];
    for j in 0..H {
        let mut a = net.b1[j];
        for i in 0..64 {
            a += net.w1[j][i] * x[i];
        }
        h[j] = a.tanh();
    }
    let mut z = [0.0; 10];
    for c in 0..10 {
        let mut s = net.b2[c];
        for j in 0..H {
            s += net.w2[c][j] * h[j];
        }
        z[c] = s;
    }
    let mut m = z[0];
    for c in 1..10 {
        m = m.max(z[c]);
    }
    let mut e = 0.0;
    for c in 0..10 {
        e += (z[c] - m).exp();
    }
    m + e.ln() - z[label]
}

/// The same loss and its gradient, added into `g`, by hand: the forward
/// pass keeps `h` and the softmax, the backward pass is the textbook one.
#[allow(clippy::needless_range_loop)]
pub fn hand_acc(net: &Net, x: &[f64; 64], label: usize, g: &mut Net) -> f64 {
    let mut h = [0.0; H];
    for j in 0..H {
        let mut a = net.b1[j];
        for i in 0..64 {
            a += net.w1[j][i] * x[i];
        }
        h[j] = a.tanh();
    }
    let mut z = [0.0; 10];
    for c in 0..10 {
        let mut s = net.b2[c];
        for j in 0..H {
            s += net.w2[c][j] * h[j];
        }
        z[c] = s;
    }
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut e = [0.0; 10];
    let mut sum = 0.0;
    for c in 0..10 {
        e[c] = (z[c] - m).exp();
        sum += e[c];
    }
    let mut dh = [0.0; H];
    for c in 0..10 {
        let dz = e[c] / sum - if c == label { 1.0 } else { 0.0 };
        g.b2[c] += dz;
        for j in 0..H {
            g.w2[c][j] += dz * h[j];
            dh[j] += dz * net.w2[c][j];
        }
    }
    for j in 0..H {
        let da = dh[j] * (1.0 - h[j] * h[j]);
        g.b1[j] += da;
        for i in 0..64 {
            g.w1[j][i] += da * x[i];
        }
    }
    m + sum.ln() - z[label]
}

/// One image.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Pixels scaled to 0..1.
    pub x: [f64; 64],
    /// The digit.
    pub label: usize,
}

/// All 1,797 digits.
pub fn data() -> Vec<Sample> {
    digits()
        .iter()
        .map(|d| Sample {
            x: d.pixels.map(|p| p / 16.0),
            label: d.label,
        })
        .collect()
}

/// A fixed starting point.
pub fn init() -> Net {
    let mut rng = SplitMix64::new(3);
    let mut net = Net {
        w1: [[0.0; 64]; H],
        b1: [0.0; H],
        w2: [[0.0; H]; 10],
        b2: [0.0; 10],
    };
    net.for_each_mut(&mut |w| *w = rng.uniform(-0.15, 0.15));
    net
}

/// One epoch with `train_acc` (shuffled with seed 1).
pub fn epoch_train_acc(net: &mut Net, opt: &mut Adam<Net>, data: &[Sample], batch: usize) -> f64 {
    let trained = train_acc(
        net,
        opt,
        data,
        &TrainOptions::new()
            .epochs(1)
            .batch_size(batch)
            .seed(1)
            .progress(Progress::Never),
        |n: &Net, s: &Sample, g: &mut Net, w: &mut Workspace<f64>| {
            loss_grad_acc_with(n, &s.x, s.label, g, w)
        },
    )
    .expect("finite");
    trained.epoch_losses[0]
}

/// One epoch with `train` and the generated `loss_grad` (the gradient
/// returned by value).
pub fn epoch_train(net: &mut Net, opt: &mut Adam<Net>, data: &[Sample], batch: usize) -> f64 {
    let trained = backprop::core::train(
        net,
        opt,
        data,
        &TrainOptions::new()
            .epochs(1)
            .batch_size(batch)
            .seed(1)
            .progress(Progress::Never),
        |n: &Net, s: &Sample| loss_grad(n, &s.x, s.label),
    )
    .expect("finite");
    trained.epoch_losses[0]
}

/// One epoch as a user writes the loop: the same shuffle, a gradient
/// buffer zeroed per batch, `per_sample` adding into it, the mean, a step.
pub fn epoch_manual(
    net: &mut Net,
    opt: &mut Adam<Net>,
    data: &[Sample],
    batch: usize,
    mut per_sample: impl FnMut(&Net, &Sample, &mut Net) -> f64,
) -> f64 {
    let mut order: Vec<usize> = (0..data.len()).collect();
    SplitMix64::new(1).shuffle(&mut order);
    let mut g = net.zeros_like();
    let mut total = 0.0;
    for idx in order.chunks(batch) {
        g.fill(0.0);
        for &i in idx {
            total += per_sample(net, &data[i], &mut g);
        }
        g.scale(1.0 / idx.len() as f64);
        opt.step(net, &g);
    }
    total / data.len() as f64
}

/// [`epoch_manual`] around the generated `loss_grad_acc_with`.
pub fn epoch_manual_generated(
    net: &mut Net,
    opt: &mut Adam<Net>,
    data: &[Sample],
    batch: usize,
) -> f64 {
    let mut work = Workspace::new();
    epoch_manual(net, opt, data, batch, |n, s, g| {
        loss_grad_acc_with(n, &s.x, s.label, g, &mut work)
    })
}

/// [`epoch_manual`] around [`hand_acc`].
pub fn epoch_manual_hand(net: &mut Net, opt: &mut Adam<Net>, data: &[Sample], batch: usize) -> f64 {
    epoch_manual(net, opt, data, batch, |n, s, g| {
        hand_acc(n, &s.x, s.label, g)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_epochs_agree() {
        let data = data();
        let mut runs = Vec::new();
        for f in [
            epoch_train_acc,
            epoch_train,
            epoch_manual_generated,
            epoch_manual_hand,
        ] {
            let (mut net, mut opt) = (init(), Adam::new(0.01));
            let l = f(&mut net, &mut opt, &data, 32);
            runs.push((l, net));
        }
        for (l, net) in &runs[1..] {
            assert!(
                (l - runs[0].0).abs() < 1e-12 * runs[0].0,
                "{l} vs {}",
                runs[0].0
            );
            let mut diff = 0.0f64;
            let mut net = net.clone();
            net.zip_states([], &runs[0].1, &mut |a, [], b| {
                diff = diff.max((*a - b).abs())
            });
            assert!(diff < 1e-9, "{diff}");
        }
    }

    #[test]
    fn hand_gradient_is_the_generated_one() {
        let data = data();
        let net = init();
        for s in &data[..20] {
            let (mut a, mut b) = (net.zeros_like(), net.zeros_like());
            let va = loss_grad_acc(&net, &s.x, s.label, &mut a);
            let vb = hand_acc(&net, &s.x, s.label, &mut b);
            assert!((va - vb).abs() < 1e-13);
            a.zip_states([], &b, &mut |x, [], y| {
                assert!((*x - y).abs() < 1e-13 * (1.0 + y.abs()))
            });
        }
    }
}
