//! Integer slices, `Vec`s and arrays as parameters (`labels: &[usize]`),
//! never differentiated: read at indices (`row[labels[s]]`, the adjoint
//! going to that element), by `.len()`, in `for` loops and iterator chains,
//! cast to floats, a `Vec` by value, passed to helpers, ranges of them
//! (bound to a name, passed to a helper), a batch loss of a
//! `#[derive(Params)]` MLP zipping samples with labels; and a local array
//! of integers read at a run-time index. Checked through the macro against
//! the original functions (values bit for bit), hand formulas and central
//! differences; out-of-bounds reads panic as the original's do.

#![allow(clippy::needless_range_loop)]

mod common;

use backprop::core::Params as _;
use backprop::prelude::*;
use common::{assert_near, central_slice, panic_message};

fn sample(n: usize, seed: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + 1.0) * seed).sin() * 1.3)
        .collect()
}

/// The mean softmax cross-entropy of a batch of logits (rows of `k`),
/// each sample's class in `labels`.
#[derive_grad(jvp, hessian)]
fn batch_cross_entropy(z: &[f64], labels: &[usize], k: usize) -> f64 {
    let mut total = 0.0;
    for s in 0..labels.len() {
        let row = &z[s * k..(s + 1) * k];
        let mut m = row[0];
        for c in 1..k {
            m = m.max(row[c]);
        }
        let mut e = 0.0;
        for c in 0..k {
            e += (row[c] - m).exp();
        }
        total += e.ln() + m - row[labels[s]];
    }
    total / labels.len() as f64
}

/// By hand: (softmax(row) − onehot(label)) / n per row.
fn batch_cross_entropy_by_hand(z: &[f64], labels: &[usize], k: usize) -> Vec<f64> {
    let n = labels.len();
    let mut g = vec![0.0; z.len()];
    for s in 0..n {
        let row = &z[s * k..(s + 1) * k];
        let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let sum: f64 = row.iter().map(|v| (v - m).exp()).sum();
        for c in 0..k {
            let p = (row[c] - m).exp() / sum;
            g[s * k + c] = (p - if c == labels[s] { 1.0 } else { 0.0 }) / n as f64;
        }
    }
    g
}

#[test]
fn labels_pick_the_elements_their_adjoints_go_to() {
    let (n, k) = (5, 4);
    let z = sample(n * k, 0.77);
    let labels = vec![2usize, 0, 3, 3, 1];
    let (v, g) = batch_cross_entropy_grad(&z, &labels, k);
    assert_eq!(v.to_bits(), batch_cross_entropy(&z, &labels, k).to_bits());
    assert_near(
        &g,
        &batch_cross_entropy_by_hand(&z, &labels, k),
        1e-15,
        "cross-entropy: by hand",
    );
    assert_near(
        &g,
        &central_slice(|z| batch_cross_entropy(z, &labels, k), &z),
        1e-8,
        "cross-entropy: central differences",
    );
    // Forward mode along t, and H·t against central differences of the
    // gradient.
    let t = sample(n * k, 0.31);
    let (jv, dir) = batch_cross_entropy_jvp(&z, &labels, k, &t);
    assert_eq!(jv.to_bits(), v.to_bits());
    let want: f64 = g.iter().zip(&t).map(|(g, t)| g * t).sum();
    assert!((dir - want).abs() < 1e-14, "jvp: {dir} vs {want}");
    let (_, _, hv) = batch_cross_entropy_hvp(&z, &labels, k, &t);
    let h = 1e-6;
    let shifted = |sign: f64| {
        let zs: Vec<f64> = z.iter().zip(&t).map(|(z, t)| z + sign * h * t).collect();
        batch_cross_entropy_grad(&zs, &labels, k).1
    };
    let (gp, gm) = (shifted(1.0), shifted(-1.0));
    let fd: Vec<f64> = gp
        .iter()
        .zip(&gm)
        .map(|(p, m)| (p - m) / (2.0 * h))
        .collect();
    assert_near(&hv, &fd, 1e-7, "hvp: central differences of the gradient");
}

/// Labels of other integer types, in iterator chains and `for` loops over
/// the slice, cast to floats; a `Vec` of them by value.
#[derive_grad]
fn weighted(w: &[f64], picks: &Vec<i32>, counts: Vec<u8>) -> f64 {
    let mut s = 0.0;
    for &p in picks {
        s += w[p as usize] * w[p as usize];
    }
    let t: f64 = counts.iter().zip(w).map(|(&c, x)| c as f64 * x).sum();
    s + t * picks.len() as f64
}

#[test]
fn integer_vecs_in_loops_chains_and_casts() {
    let w = sample(4, 0.53);
    let picks = vec![3, 1, 3];
    let counts = vec![2u8, 0, 5, 1];
    let (v, g) = weighted_grad(&w, &picks, counts.clone());
    assert_eq!(v.to_bits(), weighted(&w, &picks, counts.clone()).to_bits());
    // By hand: s = Σ_p w_p², t = Σ_i c_i·w_i; ∂/∂w_i = 2·w_i·#{p = i} + 3·c_i.
    let hand: Vec<f64> = (0..4)
        .map(|i| {
            let times = picks.iter().filter(|&&p| p as usize == i).count() as f64;
            2.0 * w[i] * times + 3.0 * f64::from(counts[i])
        })
        .collect();
    assert_near(&g, &hand, 1e-14, "weighted: by hand");
}

#[test]
fn a_label_out_of_bounds_panics_as_the_original_does() {
    let original = panic_message(|| batch_cross_entropy(&sample(8, 0.7), &[1, 4], 4));
    assert!(original.contains("index out of bounds"), "{original}");
    let generated = panic_message(|| batch_cross_entropy_grad(&sample(8, 0.7), &[1, 4], 4).0);
    assert_eq!(generated, original);
}

/// `Σ_s w[labels[s]]·x_s`: a helper given the labels whole.
#[derive_grad]
fn picked_dot(w: &[f64], labels: &[usize], x: &[f64]) -> f64 {
    let mut s = 0.0;
    for k in 0..labels.len() {
        s += w[labels[k]] * x[k];
    }
    s
}

/// The helpers called with the labels passed on (a `Vec` by reference,
/// and a reference to it, as users write either).
#[allow(clippy::needless_borrow)]
#[derive_grad(jvp)]
fn through_helpers(w: &[f64], labels: &Vec<usize>, x: &[f64]) -> f64 {
    let a = picked_dot(w, labels, x);
    let b = picked_dot(w, &labels, x);
    a * b + batch_cross_entropy(w, labels, w.len() / labels.len())
}

#[test]
fn integer_slices_passed_to_helpers() {
    let w = sample(6, 0.41);
    let labels = vec![1usize, 2];
    let x = sample(2, 1.3);
    let (v, g) = through_helpers_grad(&w, &labels, &x);
    assert_eq!(v.to_bits(), through_helpers(&w, &labels, &x).to_bits());
    // By hand: a = b = Σ_k w[l_k]·x_k, so ∂(a·b)/∂w_i = 2a·Σ_{k: l_k = i} x_k;
    // plus the cross-entropy's gradient (rows of 3).
    let a: f64 = (0..2).map(|k| w[labels[k]] * x[k]).sum();
    let ce = batch_cross_entropy_by_hand(&w, &labels, 3);
    let hand: Vec<f64> = (0..6)
        .map(|i| {
            let xs: f64 = (0..2).filter(|&k| labels[k] == i).map(|k| x[k]).sum();
            2.0 * a * xs + ce[i]
        })
        .collect();
    assert_near(&g, &hand, 1e-14, "through helpers: by hand");
    assert_near(
        &g,
        &central_slice(|w| through_helpers(w, &labels, &x), &w),
        1e-8,
        "through helpers: central differences",
    );
    let t = sample(6, 0.87);
    let (jv, dir) = through_helpers_jvp(&w, &labels, &x, &t);
    assert_eq!(jv.to_bits(), v.to_bits());
    let want: f64 = g.iter().zip(&t).map(|(g, t)| g * t).sum();
    assert!((dir - want).abs() < 1e-13, "jvp: {dir} vs {want}");
}

/// A fixed-size array of integers (by value), read at a loop's index.
#[derive_grad]
fn pick_pairs(w: &[f64; 4], idx: [usize; 3]) -> f64 {
    let mut s = 0.0;
    for k in 0..idx.len() {
        s += w[idx[k]] * w[idx[(k + 1) % 3]];
    }
    s
}

#[test]
fn an_array_of_integers() {
    let w = [0.3, -1.1, 0.8, 2.0];
    let idx = [2, 0, 3];
    let (v, g) = pick_pairs_grad(&w, idx);
    assert_eq!(v.to_bits(), pick_pairs(&w, idx).to_bits());
    // s = w2·w0 + w0·w3 + w3·w2.
    let hand = [w[2] + w[3], 0.0, w[0] + w[3], w[0] + w[2]];
    assert_near(&g, &hand, 1e-15, "array of integers: by hand");
}

/// A local array of integers read at a run-time index, one element known
/// at run time only.
#[derive_grad]
fn local_order(w: &[f64], n: usize) -> f64 {
    let order = [2usize, 0, w.len() - 1];
    let mut s = 0.0;
    for i in 0..n {
        s += w[order[i % 3]] * w[i];
    }
    s + w[order[n]]
}

#[test]
fn a_local_array_of_integers_read_at_run_time() {
    let w = sample(5, 0.66);
    let n = 2;
    let (v, g) = local_order_grad(&w, n);
    assert_eq!(v.to_bits(), local_order(&w, n).to_bits());
    // s = w2·w0 + w0·w1 + w4.
    let hand = [w[2] + w[1], w[0], w[0], 0.0, 1.0];
    assert_near(&g, &hand, 1e-15, "local order: by hand");
    let original = panic_message(|| local_order(&sample(5, 0.66), 3));
    assert!(
        original.contains("the len is 3 but the index is 3"),
        "{original}"
    );
    assert_eq!(
        panic_message(|| local_order_grad(&sample(5, 0.66), 3).0),
        original
    );
}

/// Ranges of the labels: one bound to a name, read and passed to a
/// helper, another passed as `&labels[a..]`.
#[derive_grad]
fn label_ranges(w: &[f64], labels: &[usize], x: &[f64]) -> f64 {
    let half = labels.len() / 2;
    let first = &labels[..half];
    let mut s = 0.0;
    for k in 0..first.len() {
        s += w[first[k]];
    }
    s + picked_dot(w, &labels[half..], &x[half..]) + picked_dot(w, first, x)
}

#[test]
fn ranges_of_integer_slices() {
    let w = sample(4, 0.59);
    let labels = [3usize, 0, 3, 2, 1];
    let x = sample(5, 1.1);
    let (v, g) = label_ranges_grad(&w, &labels, &x);
    assert_eq!(v.to_bits(), label_ranges(&w, &labels, &x).to_bits());
    // ∂/∂w_i = Σ_{k < 2, l_k = i} (1 + x_k) + Σ_{k ≥ 2, l_k = i} x_k.
    let hand: Vec<f64> = (0..4)
        .map(|i| {
            (0..5)
                .filter(|&k| labels[k] == i)
                .map(|k| if k < 2 { 1.0 + x[k] } else { x[k] })
                .sum()
        })
        .collect();
    assert_near(&g, &hand, 1e-15, "label ranges: by hand");
    assert_near(
        &g,
        &central_slice(|w| label_ranges(w, &labels, &x), &w),
        1e-8,
        "label ranges: central differences",
    );
}

/// A read past a range of the labels (inside the slice).
#[derive_grad]
fn label_past(w: &[f64], labels: &[usize], j: usize) -> f64 {
    let head = &labels[..2];
    w[head[j]]
}

#[test]
fn a_read_past_a_range_of_labels_panics_as_the_original_does() {
    let w = sample(4, 0.2);
    let labels = [3usize, 1, 2, 0];
    assert_eq!(
        label_past_grad(&w, &labels, 1).0.to_bits(),
        label_past(&w, &labels, 1).to_bits()
    );
    let original = panic_message(|| label_past(&sample(4, 0.2), &[3, 1, 2, 0], 2));
    assert!(
        original.contains("the len is 2 but the index is 2"),
        "{original}"
    );
    let generated = panic_message(|| label_past_grad(&sample(4, 0.2), &[3, 1, 2, 0], 2).0);
    assert_eq!(generated, original);
}

/// A PyTorch-style batch loss: a `#[derive(Params)]` MLP, samples as a
/// slice of arrays zipped with the labels, iterator chains inside.
#[derive(Params, Clone, Debug)]
struct Mlp {
    w1: [[f64; 4]; 5],
    b1: [f64; 5],
    w2: [[f64; 5]; 3],
    b2: [f64; 3],
}

#[derive_grad]
fn batch_loss(net: &Mlp, xs: &[[f64; 4]], labels: &[usize]) -> f64 {
    let mut total = 0.0;
    for (x, &y) in xs.iter().zip(labels) {
        let mut h = [0.0; 5];
        for j in 0..5 {
            h[j] = (net.b1[j] + (0..4).map(|i| net.w1[j][i] * x[i]).sum::<f64>()).tanh();
        }
        let mut o = [0.0; 3];
        for c in 0..3 {
            o[c] = net.b2[c] + net.w2[c].iter().zip(&h).map(|(a, b)| a * b).sum::<f64>();
        }
        let m = o.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let s: f64 = o.iter().map(|v| (v - m).exp()).sum();
        total += s.ln() + m - o[y];
    }
    total / labels.len() as f64
}

#[test]
fn a_batch_loss_zipping_samples_with_labels() {
    let mut net = Mlp {
        w1: [[0.0; 4]; 5],
        b1: [0.1; 5],
        w2: [[0.0; 5]; 3],
        b2: [0.0; 3],
    };
    let len = net.len();
    for i in 0..len {
        net.set(i, (i as f64 * 0.37).sin() * 0.5);
    }
    let xs: Vec<[f64; 4]> = (0..40)
        .map(|s| {
            let t = s as f64;
            [t * 0.1, 1.0 - t * 0.05, t.sin(), 0.3]
        })
        .collect();
    let labels: Vec<usize> = (0..40).map(|s| (s * 7) % 3).collect();
    let (v, g) = batch_loss_grad(&net, &xs, &labels);
    assert_eq!(v.to_bits(), batch_loss(&net, &xs, &labels).to_bits());
    let flat: Vec<f64> = (0..len).map(|i| net.get(i).unwrap()).collect();
    let fd = central_slice(
        |p| {
            let mut n = net.clone();
            for (i, &v) in p.iter().enumerate() {
                n.set(i, v);
            }
            batch_loss(&n, &xs, &labels)
        },
        &flat,
    );
    let got: Vec<f64> = (0..len).map(|i| g.get(i).unwrap()).collect();
    assert_near(&got, &fd, 1e-8, "batch loss: central differences");
}
