//! `#[derive_grad(explain)]` on code whose loops stay loops: the derivation
//! in the tutorials' index notation, one node per family of values, so an
//! MNIST-size network explains in a page. Expected formulas are derived by
//! hand from the definitions; values are checked against the function.

#![allow(clippy::needless_range_loop)] // loops as users write them

use backprop::prelude::*;

const INPUTS: usize = 784;
const HIDDEN: usize = 128;

#[derive_grad(explain, wrt(w1, w2))]
fn mnist(w1: &[[f64; 784]; 128], w2: &[[f64; 128]; 10], x: &[f64; 784], label: usize) -> f64 {
    let mut h = [0.0; 128];
    for j in 0..HIDDEN {
        let mut z = 0.0;
        for i in 0..INPUTS {
            z += w1[j][i] * x[i];
        }
        h[j] = z.tanh();
    }
    let mut o = [0.0; 10];
    for k in 0..10 {
        let mut s = 0.0;
        for j in 0..HIDDEN {
            s += w2[k][j] * h[j];
        }
        o[k] = s;
    }
    let mut total = 0.0;
    for k in 0..10 {
        total += o[k].exp();
    }
    total.ln() - o[label]
}

/// The same loss without `explain`: explaining must not change `NAME_grad`.
#[derive_grad(wrt(w1, w2))]
fn mnist_plain(w1: &[[f64; 784]; 128], w2: &[[f64; 128]; 10], x: &[f64; 784], label: usize) -> f64 {
    let mut h = [0.0; 128];
    for j in 0..HIDDEN {
        let mut z = 0.0;
        for i in 0..INPUTS {
            z += w1[j][i] * x[i];
        }
        h[j] = z.tanh();
    }
    let mut o = [0.0; 10];
    for k in 0..10 {
        let mut s = 0.0;
        for j in 0..HIDDEN {
            s += w2[k][j] * h[j];
        }
        o[k] = s;
    }
    let mut total = 0.0;
    for k in 0..10 {
        total += o[k].exp();
    }
    total.ln() - o[label]
}

#[test]
fn an_mnist_size_network_explains_in_index_notation() {
    let e = mnist_explain();
    // One node per family of values, not per weight (101,632 of them).
    assert!(e.graph.nodes.len() < 60, "{} nodes", e.graph.nodes.len());
    let w1 = e.graph.index_of("w1[j][i]").expect("w1 is one node");
    assert_eq!(e.graph.nodes[w1].elements, "j ∈ 0..HIDDEN, i ∈ 0..INPUTS");
    let z = e.graph.index_of("z[j]").unwrap();
    assert_eq!(e.graph.nodes[z].definition, "Σ_i w1[j][i]·x[i]");
    assert_eq!(
        e.graph.nodes[e.graph.index_of("h[j]").unwrap()].definition,
        "tanh(z[j])"
    );
    // By hand: ∂loss/∂w1[j][i] = ∂loss/∂z[j]·x[i], ∂z[j] = ∂h[j]·tanh' = ∂h[j]·(1 − h[j]²).
    let step = e.step("w1[j][i]").unwrap();
    assert_eq!(step.chain, "∂mnist/∂z[j]·∂z[j]/∂w1[j][i]");
    assert_eq!(step.closed, "∂mnist/∂h[j]·(1 − h[j]²)·x[i]");
    // h[j] feeds each of the ten (unrolled) output sums.
    let h = &e.step("h[j]").unwrap().closed;
    for k in 0..10 {
        assert!(h.contains(&format!("w2[{k}][j]")), "{h}");
    }
    // o = [s, s₁, …, s₉] is read at a run-time index, o[label]: an Iverson
    // bracket picks the element. By hand, ∂(ln Σ exp(s_k) − s_label)/∂s₃ =
    // exp(s₃)/Σ − [label = 3].
    let s3 = e.step("s₃").unwrap();
    assert_eq!(
        s3.chain,
        "∂mnist/∂total₃·∂total₃/∂s₃ + [label = 3]·∂mnist/∂o[label]"
    );
    assert_eq!(s3.closed, "exp(s₃)/total₉ − [label = 3]");
    let latex = e.to_latex();
    assert!(
        latex.contains("\\frac{\\partial mnist}{\\partial {w_{1}}_{j,i}}"),
        "{latex}"
    );
    // The picture has one box per family.
    let svg = e.graph.to_svg();
    assert!(svg.contains("j ∈ 0..HIDDEN, i ∈ 0..INPUTS"));
    assert!(svg.len() < 200_000, "{} bytes", svg.len());
}

#[test]
fn the_trace_of_a_large_network_shows_families_as_ellipses() {
    // 814 KB of weights and as much gradient: a thread with room for them.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let mut w1 = Box::new([[0.0; INPUTS]; HIDDEN]);
            let mut w2 = Box::new([[0.0; HIDDEN]; 10]);
            let mut x = Box::new([0.0; INPUTS]);
            for (j, row) in w1.iter_mut().enumerate() {
                for (i, w) in row.iter_mut().enumerate() {
                    *w = ((i * 7 + j * 13) % 17) as f64 / 170.0 - 0.05;
                }
            }
            for (k, row) in w2.iter_mut().enumerate() {
                for (j, w) in row.iter_mut().enumerate() {
                    *w = ((j * 5 + k * 3) % 11) as f64 / 55.0 - 0.1;
                }
            }
            for (i, v) in x.iter_mut().enumerate() {
                *v = (i % 10) as f64 / 10.0;
            }
            let t = mnist_trace(&w1, &w2, &x, 3);
            assert_eq!(t.value("mnist"), Some(mnist(&w1, &w2, &x, 3)));
            assert_eq!(t.value("w1[j][i]"), None);
            assert_eq!(t.grad("h[j]"), None);
            // A value named outside the loops is one number: the softmax
            // denominator Σ exp(o[k]) by hand.
            let total = t.value("total₉").expect("the last partial sum");
            let o: Vec<f64> = (0..10)
                .map(|k| {
                    (0..HIDDEN)
                        .map(|j| {
                            w2[k][j] * (0..INPUTS).map(|i| w1[j][i] * x[i]).sum::<f64>().tanh()
                        })
                        .sum()
                })
                .collect();
            let by_hand: f64 = o.iter().map(|v| v.exp()).sum();
            assert!(
                (total - by_hand).abs() < 1e-12 * by_hand,
                "{total} vs {by_hand}"
            );
            let table = t.to_string();
            assert!(table.contains('…'), "{table}");
            assert!(table.lines().count() < 80);
            // Explaining does not change the gradient.
            let (v, (g1, g2)) = mnist_grad(&w1, &w2, &x, 3);
            let (vp, (p1, p2)) = mnist_plain_grad(&w1, &w2, &x, 3);
            assert_eq!(v, vp);
            assert_eq!(mnist_plain(&w1, &w2, &x, 3), v);
            assert!(g1 == p1 && g2 == p2);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[derive_grad(explain, wrt(w, u))]
fn rnn(w: f64, u: f64, x: &[f64], n: usize) -> f64 {
    let mut h = 0.0;
    for t in 0..n {
        h = (w * h + u * x[t]).tanh();
    }
    h * h
}

#[test]
fn a_recurrence_is_explained_through_time() {
    let e = rnn_explain();
    let h = e.graph.index_of("h[t]").unwrap();
    assert_eq!(e.graph.nodes[h].definition, "tanh(w·h[t−1] + u·x[t])");
    assert_eq!(e.graph.nodes[h].elements, "t ∈ 0..n");
    // Backpropagation through time, by hand: h[t] feeds h[t + 1], and the
    // last one the loss h[n−1]².
    assert_eq!(
        e.step("h[t]").unwrap().closed,
        "∂rnn/∂h[t+1]·(1 − h[t+1]²)·w + 2·[t = n−1]·h[n−1]"
    );
    assert_eq!(
        e.step("w").unwrap().closed,
        "Σ_t ∂rnn/∂h[t]·(1 − h[t]²)·h[t−1]"
    );
    assert_eq!(
        e.step("u").unwrap().closed,
        "Σ_t ∂rnn/∂h[t]·(1 − h[t]²)·x[t]"
    );
    let t = rnn_trace(0.5, -0.3, &[0.1, 0.2, 0.3], 3);
    assert_eq!(t.value("rnn"), Some(rnn(0.5, -0.3, &[0.1, 0.2, 0.3], 3)));
    // w and u are single values: their gradients are in the trace.
    let (_, (gw, gu)) = rnn_grad(0.5, -0.3, &[0.1, 0.2, 0.3], 3);
    assert_eq!(t.grad("w"), Some(gw));
    assert_eq!(t.grad("u"), Some(gu));
}

#[derive_grad(explain)]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

#[test]
fn every_read_of_a_parameter_adds_to_one_gradient() {
    let e = rosenbrock_explain();
    // x[i + 1] read in iteration i is x[i] read in iteration i − 1: by
    // hand, ∂s/∂x[i] = 200·a[i−1] − 400·a[i]·x[i] − 2·b[i].
    assert_eq!(
        e.graph
            .nodes
            .iter()
            .filter(|n| n.name.starts_with("x["))
            .count(),
        1
    );
    assert_eq!(
        e.step("x[i]").unwrap().closed,
        "∂s/∂a[i−1] − 400·a[i]·x[i] − 2·b[i]"
    );
    assert_eq!(e.step("a[i]").unwrap().closed, "200·a[i]");
    // The formula, evaluated, is the gradient (with a[−1] = 0: x[0] is
    // read only as x[i]).
    let x = [0.3, -1.2, 0.8, 1.5, 0.1];
    let a = |i: usize| x[i + 1] - x[i] * x[i];
    let b = |i: usize| 1.0 - x[i];
    let (value, grad) = rosenbrock_grad(&x);
    assert_eq!(value, rosenbrock(&x));
    for i in 0..x.len() {
        let from_prev = if i > 0 { 200.0 * a(i - 1) } else { 0.0 };
        let own = if i + 1 < x.len() {
            -400.0 * a(i) * x[i] - 2.0 * b(i)
        } else {
            0.0
        };
        let formula = from_prev + own;
        assert!(
            (grad[i] - formula).abs() < 1e-12 * formula.abs().max(1.0),
            "x[{i}]: {} vs {formula}",
            grad[i]
        );
    }
}

/// An output layer written as the tutorials write it: each element starts
/// from its bias and the innermost loop adds (here subtracts) to it.
#[derive_grad(explain, wrt(w, b))]
fn residual_layer(w: &[[f64; 300]], b: &[f64], x: &[f64; 300]) -> f64 {
    let mut o = vec![0.0; b.len()];
    for c in 0..b.len() {
        o[c] = b[c];
        for j in 0..300 {
            o[c] -= w[c][j] * x[j];
        }
    }
    let mut s = 0.0;
    for c in 0..b.len() {
        s += o[c] * o[c];
    }
    s
}

#[test]
fn an_element_a_loop_adds_to_is_a_sum() {
    let e = residual_layer_explain();
    let o = e.graph.index_of("o[c]").expect("o is one node");
    assert_eq!(e.graph.nodes[o].definition, "b[c] + Σ_j −w[c][j]·x[j]");
    // By hand: s = Σ_c o[c]², o[c] = b[c] − Σ_j w[c][j]·x[j], so
    // ∂s/∂w[c][j] = −2·o[c]·x[j] and ∂s/∂b[c] = 2·o[c].
    assert_eq!(e.step("w[c][j]").unwrap().closed, "−2·o[c]·x[j]");
    assert_eq!(e.step("b[c]").unwrap().closed, "2·o[c]");
    let w: Vec<[f64; 300]> = (0..3)
        .map(|c| std::array::from_fn(|j| ((c * 7 + j * 3) % 13) as f64 / 130.0))
        .collect();
    let b = [0.5, -0.25, 1.0];
    let x: [f64; 300] = std::array::from_fn(|j| (j % 5) as f64 / 50.0 - 0.04);
    let (value, (gw, gb)) = residual_layer_grad(&w, &b, &x);
    assert_eq!(value, residual_layer(&w, &b, &x));
    for c in 0..3 {
        let o = b[c] - (0..300).map(|j| w[c][j] * x[j]).sum::<f64>();
        assert!((gb[c] - 2.0 * o).abs() < 1e-12, "b[{c}]");
        for j in [0, 17, 299] {
            let formula = -2.0 * o * x[j];
            assert!((gw[c][j] - formula).abs() < 1e-12, "w[{c}][{j}]");
        }
    }
}

/// A product of matrices accumulated element by element, and a sum over
/// two loops: the outer loop's sum is a recurrence through its partial sums.
#[derive_grad(explain)]
fn matmul_norm(a: &[[f64; 40]; 40], b: &[[f64; 40]; 40]) -> f64 {
    let mut p = [[0.0; 40]; 40];
    for i in 0..40 {
        for k in 0..40 {
            for j in 0..40 {
                p[i][k] += a[i][j] * b[j][k];
            }
        }
    }
    let mut s = 0.0;
    for i in 0..40 {
        for k in 0..40 {
            s += p[i][k] * p[i][k];
        }
    }
    s
}

#[test]
fn a_matrix_product_and_a_double_sum_explain_in_index_notation() {
    let e = matmul_norm_explain();
    let p = e.graph.index_of("p[i][k]").unwrap();
    assert_eq!(e.graph.nodes[p].definition, "Σ_j a[i][j]·b[j][k]");
    let s = e.graph.index_of("s[i]").unwrap();
    assert_eq!(e.graph.nodes[s].definition, "s[i−1] + Σ_k p[i][k]²");
    // By hand: s[i] feeds s[i + 1] with derivative 1, the last one is the
    // output, so every ∂/∂s[i] is 1; ∂s/∂p[i][k] = 2·p[i][k], and
    // ∂/∂a[i][j] = Σ_k ∂/∂p[i][k]·b[j][k].
    assert_eq!(
        e.step("s[i]").unwrap().closed,
        "∂matmul_norm/∂s[i+1] + [i = 39]"
    );
    assert_eq!(
        e.step("p[i][k]").unwrap().closed,
        "2·∂matmul_norm/∂s[i]·p[i][k]"
    );
    assert_eq!(
        e.step("a[i][j]").unwrap().closed,
        "Σ_k ∂matmul_norm/∂p[i][k]·b[j][k]"
    );
    let mut a = Box::new([[0.0; 40]; 40]);
    let mut b = Box::new([[0.0; 40]; 40]);
    for i in 0..40 {
        for j in 0..40 {
            a[i][j] = ((i * 3 + j * 5) % 7) as f64 / 7.0 - 0.4;
            b[i][j] = ((i * 11 + j) % 5) as f64 / 5.0 - 0.3;
        }
    }
    let (value, g) = matmul_norm_grad(&a, &b);
    assert_eq!(value, matmul_norm(&a, &b));
    // The formula, evaluated: ∂/∂a[i][j] = Σ_k 2·p[i][k]·b[j][k].
    for (i, j) in [(0, 0), (7, 31), (39, 39)] {
        let p = |k: usize| (0..40).map(|m| a[i][m] * b[m][k]).sum::<f64>();
        let formula: f64 = (0..40).map(|k| 2.0 * p(k) * b[j][k]).sum();
        assert!(
            (g[i][j] - formula).abs() < 1e-12 * formula.abs().max(1.0),
            "a[{i}][{j}]: {} vs {formula}",
            g[i][j]
        );
    }
}
