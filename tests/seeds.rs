//! The worked examples of seeds/, through the real macro: 001's exact
//! numbers, 003's hand-derived partial derivatives of a 2-2-2 sigmoid
//! network with cross-entropy, and 000's chain of one-weight neurons against
//! the product formula the tutorial derives.

mod common;

use backprop::prelude::*;
use common::{assert_grad, assert_same_value, check};

/// |a − b| within `rel` of the larger magnitude (the macro and the hand
/// formula multiply in different orders, so not bit for bit).
#[track_caller]
fn assert_close(what: &str, a: f64, b: f64, rel: f64) {
    assert!(
        (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300),
        "{what}: derived {a:e}, by hand {b:e}"
    );
}

// ================================================================= 001

/// seeds/001: the 2-3-1 linear network, loss ½(t − y)².
#[derive_grad]
fn loss_001(w: [f64; 9], x1: f64, x2: f64, t: f64) -> f64 {
    let z1 = x1 * w[0] + x2 * w[3];
    let z2 = x1 * w[1] + x2 * w[4];
    let z3 = x1 * w[2] + x2 * w[5];
    let y = z1 * w[6] + z2 * w[7] + z3 * w[8];
    0.5 * (t - y) * (t - y)
}

#[test]
fn seed_001_exact_loss_and_gradient() {
    let w = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0];
    let (value, grad) = loss_001_grad(w, 40.0, 80.0, 60.0);
    assert_eq!(value, 7200.0);
    assert_same_value("loss_001", value, loss_001(w, 40.0, 80.0, 60.0));
    assert_eq!(
        grad,
        [4800.0, 4800.0, 4800.0, 9600.0, 9600.0, 9600.0, 7200.0, 7200.0, 7200.0]
    );
    // One step of plain gradient descent, learning rate 1e-5, as the seed
    // prints it: prediction 140.3136, loss 3225.13717248.
    let mut w2 = w;
    for (wi, gi) in w2.iter_mut().zip(grad) {
        *wi -= 1e-5 * gi;
    }
    let loss = loss_001(w2, 40.0, 80.0, 60.0);
    let prediction = 60.0 + (2.0 * loss).sqrt();
    assert!((prediction - 140.3136).abs() < 1e-9, "{prediction}");
    assert!((loss - 3225.13717248).abs() < 1e-7, "{loss}");
    check(
        "loss_001",
        |w| loss_001(w, 40.0, 80.0, 60.0),
        |w| loss_001_grad(w, 40.0, 80.0, 60.0),
        w,
    );
}

// ================================================================= 003

/// seeds/003: 2-2-2 network, sigmoid activations, per-output binary
/// cross-entropy; `w[0..8]` are w1..w8, `b[0..4]` are b1..b4.
#[derive_grad(wrt(w, b))]
fn loss_003(w: [f64; 8], b: [f64; 4], x1: f64, x2: f64, y1: f64, y2: f64) -> f64 {
    let z1 = x1 * w[0] + x2 * w[1] + b[0];
    let a1 = sigmoid(z1);
    let z2 = x1 * w[2] + x2 * w[3] + b[1];
    let a2 = sigmoid(z2);
    let z3 = a1 * w[4] + a2 * w[5] + b[2];
    let p1 = sigmoid(z3);
    let z4 = a1 * w[6] + a2 * w[7] + b[3];
    let p2 = sigmoid(z4);
    let e1 = -(y1 * p1.ln() + (1.0 - y1) * (1.0 - p1).ln());
    let e2 = -(y2 * p2.ln() + (1.0 - y2) * (1.0 - p2).ln());
    e1 + e2
}

fn s(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[test]
fn seed_003_hand_derived_partials() {
    let cases = [
        (
            [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55],
            [0.35, 0.35, 0.60, 0.60],
            0.05,
            0.10,
            1.0,
            0.0,
        ),
        (
            [-0.7, 1.1, 0.3, -0.2, 0.9, -1.4, 0.6, 0.25],
            [0.1, -0.3, 0.2, -0.05],
            1.5,
            -0.8,
            0.3,
            0.8,
        ),
    ];
    for (w, b, x1, x2, y1, y2) in cases {
        let (value, (gw, gb)) = loss_003_grad(w, b, x1, x2, y1, y2);
        assert_same_value("loss_003", value, loss_003(w, b, x1, x2, y1, y2));
        // The forward pass, by hand.
        let a1 = s(x1 * w[0] + x2 * w[1] + b[0]);
        let a2 = s(x1 * w[2] + x2 * w[3] + b[1]);
        let p1 = s(a1 * w[4] + a2 * w[5] + b[2]);
        let p2 = s(a1 * w[6] + a2 * w[7] + b[3]);
        // The seed's derivation: ∂E/∂z3 = p1 − y1, so ∂E/∂w5 = (p1 − y1)·a1.
        let (d3, d4) = (p1 - y1, p2 - y2);
        assert_close("∂E/∂w5", gw[4], d3 * a1, 1e-12);
        assert_close("∂E/∂w6", gw[5], d3 * a2, 1e-12);
        assert_close("∂E/∂w7", gw[6], d4 * a1, 1e-12);
        assert_close("∂E/∂w8", gw[7], d4 * a2, 1e-12);
        assert_close("∂E/∂b3", gb[2], d3, 1e-12);
        assert_close("∂E/∂b4", gb[3], d4, 1e-12);
        // ∂E/∂a1 = (p1 − y1)·w5 + (p2 − y2)·w7, then through the sigmoid
        // a1(1 − a1) and z1's coefficient: ∂E/∂w1 = ∂E/∂a1 · a1(1 − a1) · x1.
        let da1 = d3 * w[4] + d4 * w[6];
        let da2 = d3 * w[5] + d4 * w[7];
        let (dz1, dz2) = (da1 * a1 * (1.0 - a1), da2 * a2 * (1.0 - a2));
        assert_close("∂E/∂w1", gw[0], dz1 * x1, 1e-12);
        assert_close("∂E/∂w2", gw[1], dz1 * x2, 1e-12);
        assert_close("∂E/∂w3", gw[2], dz2 * x1, 1e-12);
        assert_close("∂E/∂w4", gw[3], dz2 * x2, 1e-12);
        assert_close("∂E/∂b1", gb[0], dz1, 1e-12);
        assert_close("∂E/∂b2", gb[1], dz2, 1e-12);
        // And against finite differences of the original.
        assert_grad("loss_003 wrt w", &gw, |w| loss_003(w, b, x1, x2, y1, y2), w);
        assert_grad("loss_003 wrt b", &gb, |b| loss_003(w, b, x1, x2, y1, y2), b);
    }
}

// ================================================================= 000

/// seeds/000: ten one-weight neurons in a chain, loss (out − y)².
#[allow(clippy::needless_range_loop, clippy::assign_op_pattern)] // the seed's own spelling
#[derive_grad]
fn loss_000(w: [f64; 10], x: f64, y: f64) -> f64 {
    let mut out = x;
    for i in 0..10 {
        out = out * w[i];
    }
    (out - y) * (out - y)
}

/// The initial weights the seed draws with `np.random.seed(5)`.
const W000: [f64; 10] = [
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

#[test]
fn seed_000_chain_matches_the_product_formula() {
    let (x, y) = (5.0, 7.0);
    let (value, grad) = loss_000_grad(W000, x, y);
    assert_same_value("loss_000", value, loss_000(W000, x, y));
    let out: f64 = x * W000.iter().product::<f64>();
    assert_close("loss", value, (out - y) * (out - y), 1e-14);
    for i in 0..10 {
        // ∂L/∂w_i = 2(out − y) · x · ∏_{j≠i} w_j: the seed's "derivative of
        // the outer function × this neuron's input", carried down the chain.
        let others: f64 = (0..10).filter(|&j| j != i).map(|j| W000[j]).product();
        assert_close(
            &format!("∂L/∂w{i}"),
            grad[i],
            2.0 * (out - y) * x * others,
            1e-12,
        );
        // The seed's backward pass, neuron by neuron.
        let input: f64 = x * W000[..i].iter().product::<f64>();
        let upstream: f64 = 2.0 * (out - y) * W000[i + 1..].iter().product::<f64>();
        assert_close(
            &format!("seed backward w{i}"),
            grad[i],
            upstream * input,
            1e-12,
        );
    }
    check(
        "loss_000",
        |w| loss_000(w, x, y),
        |w| loss_000_grad(w, x, y),
        W000,
    );
}

/// "When one value feeds several neurons, their backward contributions add
/// up": one weight used by two neurons, and one input feeding two branches.
#[derive_grad]
fn shared_weight(w: [f64; 2], x: f64, y: f64) -> f64 {
    let h = x * w[0];
    let out = h * w[0] + h * w[1];
    (out - y) * (out - y)
}

#[test]
fn seed_000_contributions_add_up() {
    let (w, x, y) = ([0.3, 0.8], 5.0, 7.0);
    let (value, g) = shared_weight_grad(w, x, y);
    assert_same_value("shared_weight", value, shared_weight(w, x, y));
    let out = x * w[0] * w[0] + x * w[0] * w[1];
    let d = 2.0 * (out - y);
    // w0 reaches the loss through h (twice) and directly: d·(2x·w0 + x·w1).
    assert_close("∂L/∂w0", g[0], d * (2.0 * x * w[0] + x * w[1]), 1e-12);
    assert_close("∂L/∂w1", g[1], d * x * w[0], 1e-12);
}
