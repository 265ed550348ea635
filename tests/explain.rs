//! `#[derive_grad(explain)]` through the real macro: the derivation reads
//! like seeds/003's hand derivation, and every gradient the trace prints
//! matches finite differences of the original function.

mod common;

use backprop::prelude::*;
use common::fd_grad;

/// seeds/003: 2-2-2 network, sigmoid activations, per-output cross-entropy.
#[derive_grad(wrt(w, b), explain)]
fn loss(w: [f64; 8], b: [f64; 4], x: [f64; 2], y: [f64; 2]) -> f64 {
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

const W: [f64; 8] = [0.15, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55];
const B: [f64; 4] = [0.35, 0.35, 0.6, 0.6];
const X: [f64; 2] = [0.05, 0.1];
const Y: [f64; 2] = [0.01, 0.99];

#[test]
fn derivation_reads_like_the_seed() {
    let e = loss_explain();
    // seeds/003: ∂E/∂w5 = ∂E/∂p1 · ∂p1/∂z3 · ∂z3/∂w5 = (p1 − y1)·a1 (w5 is w[4]).
    assert_eq!(e.step("z3").unwrap().closed, "p1 − y[0]");
    assert_eq!(e.step("w[4]").unwrap().closed, "(p1 − y[0])·a1");
    assert_eq!(
        e.step("w[4]").unwrap().chain,
        "∂loss/∂e1·∂e1/∂p1·∂p1/∂z3·∂z3/∂w[4]"
    );
    // seeds/003: ∂E/∂a1 = (p1 − y1)·w5 + (p2 − y2)·w7.
    assert_eq!(
        e.step("a1").unwrap().closed,
        "(p1 − y[0])·w[4] + (p2 − y[1])·w[6]"
    );
    assert_eq!(e.step("w[0]").unwrap().closed, "∂loss/∂a1·(1 − a1)·a1·x[0]");
    let text = e.to_string();
    assert!(
        text.contains("∂loss/∂w[4] = ∂loss/∂e1·∂e1/∂p1·∂p1/∂z3·∂z3/∂w[4] = (p1 − y[0])·a1"),
        "{text}"
    );
    let latex = e.to_latex();
    assert!(
        latex.contains("\\left(p_{1} - y_{0}\\right) \\cdot a_{1}"),
        "{latex}"
    );
}

#[test]
fn trace_values_and_gradients_match_the_function() {
    let t = loss_trace(W, B, X, Y);
    let (value, (gw, gb)) = loss_grad(W, B, X, Y);
    assert_eq!(t.value("loss"), Some(value));
    assert_eq!(t.grad("loss"), Some(1.0));
    // Forward values by hand (Matt Mazur's worked example: z1 = 0.3775).
    assert!((t.value("z1").unwrap() - 0.3775).abs() < 1e-15);
    let a1 = 1.0 / (1.0 + (-0.3775f64).exp());
    assert!((t.value("a1").unwrap() - a1).abs() < 1e-15);
    // Every parameter's printed gradient against central differences of `loss`.
    let fd_w = fd_grad(|w| loss(w, B, X, Y), W);
    let fd_b = fd_grad(|b| loss(W, b, X, Y), B);
    for (i, fd) in fd_w.iter().enumerate() {
        let g = t.grad(&format!("w[{i}]")).unwrap();
        assert_eq!(g, gw[i]);
        assert!(
            (g - fd).abs() < 1e-8 * fd.abs().max(1.0),
            "w[{i}]: trace {g}, fd {fd}"
        );
    }
    for (i, fd) in fd_b.iter().enumerate() {
        let g = t.grad(&format!("b[{i}]")).unwrap();
        assert_eq!(g, gb[i]);
        assert!(
            (g - fd).abs() < 1e-8 * fd.abs().max(1.0),
            "b[{i}]: trace {g}, fd {fd}"
        );
    }
    // An intermediate's adjoint against finite differences through it:
    // perturbing z3 changes only p1 and so e1.
    let e_of_z3 = |z3: f64| {
        let p1 = 1.0 / (1.0 + (-z3).exp());
        -(Y[0] * p1.ln() + (1.0 - Y[0]) * (1.0 - p1).ln())
    };
    let z3 = t.value("z3").unwrap();
    let h = 1e-6;
    let fd = (e_of_z3(z3 + h) - e_of_z3(z3 - h)) / (2.0 * h);
    assert!((t.grad("z3").unwrap() - fd).abs() < 1e-8);
    // … and the closed form p1 − y1 at this point.
    assert!((t.grad("z3").unwrap() - (t.value("p1").unwrap() - Y[0])).abs() < 1e-15);
}

/// seeds/000's chain: a name bound again in a loop (out, out₁, …) must
/// reach the LaTeX as `out^{(1)}`, never as a Unicode subscript.
#[derive_grad(explain)]
#[allow(clippy::needless_range_loop, clippy::assign_op_pattern)] // the seed's spelling
fn chain(w: [f64; 3], x: f64, y: f64) -> f64 {
    let mut out = x;
    for i in 0..3 {
        out = out * w[i];
    }
    (out - y) * (out - y)
}

#[test]
fn reassigned_names_are_valid_latex() {
    let e = chain_explain();
    assert_eq!(e.step("out₁").unwrap().closed, "2·(out₂ − y)·w[2]");
    let latex = e.to_latex();
    assert!(
        latex.contains("\\frac{\\partial chain}{\\partial out^{(1)}} &= "),
        "{latex}"
    );
    assert!(!latex.contains('₁') && !latex.contains('·'), "{latex}");
    // The value the derivation describes is the function's own.
    let (w, x, y) = ([0.5, 2.0, 1.5], 3.0, 1.0);
    assert_eq!(chain_trace(w, x, y).value("chain"), Some(chain(w, x, y)));
}
