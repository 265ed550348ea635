//! Slices and `Vec`s passed whole to other `#[derive_grad]` functions
//! (`dot(w, x)`, `dot(&h, &h)`): the caller's forward sweep calls the
//! function itself, its reverse sweep the callee's `NAME_pullback`, which
//! adds into the caller's adjoint buffers in place. Checked through the
//! macro against the original functions (values bit for bit), hand-derived
//! gradients and central differences: straight-line calls, the same slice
//! twice in one call, a local `vec!` built by a loop and then passed,
//! calls inside a loop that stays a loop (with a float argument read from
//! a slice, whose adjoint the pullback returns), a call in a branch not
//! taken where the callee would panic, and a function that calls itself.

// The losses index slices in loops over ranges, the form the tests exercise.
#![allow(clippy::needless_range_loop)]

mod common;
#[path = "common/per_sample.rs"]
mod per_sample;

use backprop::prelude::*;
use common::{assert_near, central_slice};
// (A glob: a call to `cross_entropy` needs its hidden companions too.)
use per_sample::*;

#[derive_grad]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i] * b[i];
    }
    s
}

/// `tanh(c·w·x) + ½‖w‖²`: `w` twice in one call.
#[derive_grad(wrt(w, c))]
fn straight(w: &[f64], x: &[f64], c: f64) -> f64 {
    let d = dot(w, x);
    (d * c).tanh() + dot(w, w) * 0.5
}

fn sample(n: usize, seed: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + 1.0) * seed).sin() * 0.8)
        .collect()
}

#[test]
fn straight_line_calls_with_the_same_slice_twice() {
    let (w, x, c) = (sample(7, 0.37), sample(7, 1.13), 0.7);
    let (v, (gw, gc)) = straight_grad(&w, &x, c);
    assert_eq!(v.to_bits(), straight(&w, &x, c).to_bits());
    // By hand: t = tanh(c·d), d = w·x; ∂/∂w = (1 − t²)·c·x + w, ∂/∂c = (1 − t²)·d.
    let d: f64 = w.iter().zip(&x).map(|(a, b)| a * b).sum();
    let t = (c * d).tanh();
    let hand: Vec<f64> = (0..7).map(|i| (1.0 - t * t) * c * x[i] + w[i]).collect();
    assert_near(&gw, &hand, 1e-14, "straight: ∂/∂w by hand");
    assert!(
        (gc - (1.0 - t * t) * d).abs() < 1e-14,
        "straight: ∂/∂c {gc}"
    );
    let fd = central_slice(|w| straight(w, &x, c), &w);
    assert_near(&gw, &fd, 1e-8, "straight: ∂/∂w by central differences");
    // `NAME_grad_acc` adds into the caller's buffer, which the pullbacks
    // receive in place.
    let mut acc = (vec![1.0; 7], 0.5);
    let va = straight_grad_acc(&w, &x, c, &mut acc);
    assert_eq!(va.to_bits(), v.to_bits());
    let plus_one: Vec<f64> = gw.iter().map(|g| g + 1.0).collect();
    assert_near(&acc.0, &plus_one, 1e-15, "straight: grad_acc");
    assert_eq!(acc.1, gc + 0.5);
}

/// A local `vec!` written by a loop that stays a loop, then passed twice.
#[derive_grad]
fn through_local(w: &[f64], x: &[f64]) -> f64 {
    let n = x.len();
    let mut h = vec![0.0; n];
    for i in 0..n {
        h[i] = (w[i] * x[i]).tanh();
    }
    dot(&h, &h) + dot(&h, x)
}

#[test]
fn a_local_vec_built_by_a_loop_and_passed() {
    let (w, x) = (sample(9, 0.71), sample(9, 0.29));
    let (v, g) = through_local_grad(&w, &x);
    assert_eq!(v.to_bits(), through_local(&w, &x).to_bits());
    // ∂/∂w_i = (2h_i + x_i)·(1 − h_i²)·x_i.
    let hand: Vec<f64> = (0..9)
        .map(|i| {
            let h = (w[i] * x[i]).tanh();
            (2.0 * h + x[i]) * (1.0 - h * h) * x[i]
        })
        .collect();
    assert_near(&g, &hand, 1e-14, "through_local: by hand");
    let fd = central_slice(|w| through_local(w, &x), &w);
    assert_near(&g, &fd, 1e-8, "through_local: central differences");
}

/// `Σ_i (a·w_i − x_i)²`: a scalar argument beside the slices.
#[derive_grad]
fn spread(w: &[f64], x: &[f64], a: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() {
        s += (a * w[i] - x[i]).powi(2);
    }
    s
}

/// `Σ_k √spread(w, x, scales[k])`: a call in a loop that stays a loop,
/// its float argument read from a slice.
#[derive_grad(wrt(w, scales))]
fn looped(w: &[f64], x: &[f64], scales: &[f64]) -> f64 {
    let mut t = 0.0;
    for k in 0..scales.len() {
        t += spread(w, x, scales[k]).sqrt();
    }
    t
}

#[test]
fn calls_in_a_rolled_loop() {
    let (w, x) = (sample(6, 0.53), sample(6, 1.71));
    let scales = vec![0.5, -1.25, 2.0, 0.75];
    let (v, (gw, gs)) = looped_grad(&w, &x, &scales);
    assert_eq!(v.to_bits(), looped(&w, &x, &scales).to_bits());
    // By hand: r_k = √s_k; ∂/∂w_i = Σ_k a_k (a_k w_i − x_i) / r_k,
    // ∂/∂a_k = Σ_i w_i (a_k w_i − x_i) / r_k.
    let r: Vec<f64> = scales.iter().map(|&a| spread(&w, &x, a).sqrt()).collect();
    let hand_w: Vec<f64> = (0..6)
        .map(|i| {
            (0..4)
                .map(|k| scales[k] * (scales[k] * w[i] - x[i]) / r[k])
                .sum()
        })
        .collect();
    let hand_s: Vec<f64> = (0..4)
        .map(|k| {
            (0..6)
                .map(|i| w[i] * (scales[k] * w[i] - x[i]) / r[k])
                .sum()
        })
        .collect();
    assert_near(&gw, &hand_w, 1e-13, "looped: ∂/∂w by hand");
    assert_near(&gs, &hand_s, 1e-13, "looped: ∂/∂scales by hand");
    let fd_w = central_slice(|w| looped(w, &x, &scales), &w);
    assert_near(&gw, &fd_w, 1e-8, "looped: ∂/∂w by central differences");
    let fd_s = central_slice(|s| looped(&w, &x, s), &scales);
    assert_near(&gs, &fd_s, 1e-8, "looped: ∂/∂scales by central differences");
}

/// `dot` panics when `x` is shorter than `w`; the original calls it only
/// when it is not.
#[derive_grad]
fn guarded(w: &[f64], x: &[f64]) -> f64 {
    if x.len() >= w.len() {
        dot(w, x)
    } else {
        w[0] * 3.0
    }
}

#[test]
fn a_call_in_a_branch_not_taken_is_not_reversed() {
    let w = sample(5, 0.9);
    let short = sample(3, 0.4);
    let (v, g) = guarded_grad(&w, &short);
    assert_eq!(v.to_bits(), guarded(&w, &short).to_bits());
    assert_eq!(g, vec![3.0, 0.0, 0.0, 0.0, 0.0]);
    let long = sample(5, 0.4);
    let (v, g) = guarded_grad(&w, &long);
    assert_eq!(v.to_bits(), guarded(&w, &long).to_bits());
    assert_near(&g, &long, 0.0, "guarded: ∂(w·x)/∂w = x");
}

/// `w_i·sin(w_i)·(1 + rest)` from `i` on: a function that calls itself.
#[derive_grad]
fn nested_product(w: &[f64], i: usize) -> f64 {
    if i == w.len() {
        return 0.0;
    }
    w[i].sin() * (1.0 + nested_product(w, i + 1))
}

#[test]
fn a_function_that_calls_itself() {
    let w = sample(6, 0.83);
    let (v, g) = nested_product_grad(&w, 0);
    assert_eq!(v.to_bits(), nested_product(&w, 0).to_bits());
    let fd = central_slice(|w| nested_product(w, 0), &w);
    assert_near(&g, &fd, 1e-8, "nested_product: central differences");
    // By hand: f_i = sin(w_i)·(1 + f_{i+1}); ∂f_0/∂w_i = Π_{j<i} sin(w_j) · cos(w_i)·(1 + f_{i+1}).
    let mut tail = [0.0; 7];
    for i in (0..6).rev() {
        tail[i] = w[i].sin() * (1.0 + tail[i + 1]);
    }
    let mut prefix = 1.0;
    let mut hand = Vec::new();
    for i in 0..6 {
        hand.push(prefix * w[i].cos() * (1.0 + tail[i + 1]));
        prefix *= w[i].sin();
    }
    assert_near(&g, &hand, 1e-14, "nested_product: by hand");
}

/// The determinant of the minor of the `n × n` row-major matrix `a` made
/// of rows `row..n` and the columns not in the bit set `used`, expanded
/// along its first row: GradBench's `det`, recursive.
#[derive_grad]
fn minor(a: &[f64], n: usize, row: usize, used: u64) -> f64 {
    if row == n {
        return 1.0;
    }
    let mut total = 0.0;
    let mut sign = 1.0;
    for j in 0..n {
        if used & (1 << j) == 0 {
            total += sign * a[row * n + j] * minor(a, n, row + 1, used | (1 << j));
            sign = -sign;
        }
    }
    total
}

#[test]
fn a_determinant_by_expansion_in_minors() {
    // 3 × 3, by hand: the gradient of det A is its cofactor matrix.
    let a = [2.0, -1.0, 0.5, 1.5, 3.0, -2.0, 0.25, 1.0, 4.0];
    let det = a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6])
        + a[2] * (a[3] * a[7] - a[4] * a[6]);
    let (v, g) = minor_grad(&a, 3, 0, 0);
    assert_eq!(v.to_bits(), minor(&a, 3, 0, 0).to_bits());
    assert!((v - det).abs() < 1e-13, "{v} vs {det}");
    let cofactors = [
        a[4] * a[8] - a[5] * a[7],
        -(a[3] * a[8] - a[5] * a[6]),
        a[3] * a[7] - a[4] * a[6],
        -(a[1] * a[8] - a[2] * a[7]),
        a[0] * a[8] - a[2] * a[6],
        -(a[0] * a[7] - a[1] * a[6]),
        a[1] * a[5] - a[2] * a[4],
        -(a[0] * a[5] - a[2] * a[3]),
        a[0] * a[4] - a[1] * a[3],
    ];
    assert_near(&g, &cofactors, 1e-14, "det 3×3: cofactors");
    // 6 × 6: det A · A⁻ᵀ by central differences of the original.
    let b = sample(36, 0.61);
    let (v, g) = minor_grad(&b, 6, 0, 0);
    assert_eq!(v.to_bits(), minor(&b, 6, 0, 0).to_bits());
    let fd = central_slice(|b| minor(b, 6, 0, 0), &b);
    assert_near(&g, &fd, 1e-8, "det 6×6: central differences");
    // Laplace along any row: Σ_j a_ij · ∂det/∂a_ij = det.
    for i in 0..6 {
        let s: f64 = (0..6).map(|j| b[i * 6 + j] * g[i * 6 + j]).sum();
        assert!(
            (s - v).abs() < 1e-12 * v.abs().max(1.0),
            "row {i}: {s} vs {v}"
        );
    }
}

/// A callee whose parameter and locals are named like `NAME_pullback`'s
/// own parameters (`grad`, `seed`, `shared_tape`): none hides another.
#[derive_grad]
fn named_like_the_pullback(a: &[f64], grad: f64) -> f64 {
    let mut seed = 0.0;
    for i in 0..a.len() {
        seed += a[i] * grad;
    }
    let shared_tape = seed * seed;
    shared_tape + 0.0
}

#[derive_grad]
fn calls_named_like_the_pullback(a: &[f64]) -> f64 {
    3.0 * named_like_the_pullback(a, 0.5)
}

#[test]
fn locals_named_like_the_pullbacks_parameters() {
    let a = sample(5, 0.47);
    let (v, g) = calls_named_like_the_pullback_grad(&a);
    assert_eq!(v.to_bits(), calls_named_like_the_pullback(&a).to_bits());
    // 3·(Σ a_i / 2)²: ∂/∂a_i = 3·(Σ a / 2).
    let s: f64 = a.iter().map(|x| x * 0.5).sum();
    assert_near(&g, &[3.0 * s; 5], 1e-15, "named like the pullback");
    // In `NAME_grad_acc` too, whose own parameter is `grad`.
    let mut acc = vec![0.0; 5];
    named_like_the_pullback_grad_acc(&a, 0.5, &mut acc);
    assert_near(&acc, &[2.0 * s * 0.5; 5], 1e-15, "grad_acc");
}

/// A tanh layer per sample in a `vec!` declared inside the loop over
/// samples (a loop that stays a loop), passed to a helper: the reverse
/// finds each sample's layer on the tape.
#[derive_grad]
fn per_sample(w: &[f64], xs: &[f64], k: usize) -> f64 {
    let d = w.len() / k;
    let n = xs.len() / d;
    let mut total = 0.0;
    for s in 0..n {
        let mut h = vec![0.0; k];
        for c in 0..k {
            let mut z = 0.0;
            for j in 0..d {
                z += w[c * d + j] * xs[s * d + j];
            }
            h[c] = z.tanh();
        }
        total += cross_entropy(&h, s % k);
    }
    total
}

#[test]
fn a_vec_declared_in_a_rolled_loop_and_passed() {
    let (k, d, n) = (3, 4, 5);
    let w = sample(k * d, 0.37);
    let xs = sample(n * d, 1.91);
    let (v, g) = per_sample_grad(&w, &xs, k);
    assert_eq!(v.to_bits(), per_sample(&w, &xs, k).to_bits());
    let (vi, gi) = per_sample_inline_grad(&w, &xs, k);
    assert_eq!(vi.to_bits(), per_sample_inline(&w, &xs, k).to_bits());
    assert!((v - vi).abs() < 1e-13, "{v} vs {vi}");
    assert_near(&g, &gi, 1e-13, "per_sample: against the helper written out");
    let fd = central_slice(|w| per_sample(w, &xs, k), &w);
    assert_near(&g, &fd, 1e-8, "per_sample: central differences");
    // `NAME_grad_acc_with` and a reused workspace: the same, twice.
    let mut work = backprop::core::Workspace::new();
    for _ in 0..2 {
        let mut acc = vec![0.0; k * d];
        per_sample_grad_acc_with(&w, &xs, k, &mut acc, &mut work);
        assert_near(&acc, &g, 0.0, "per_sample: grad_acc_with");
    }
}

/// A function whose own forward loop tapes what its reverse needs, called
/// with slices: its `NAME_pullback`, which does not return the value,
/// must still run that loop (it dropped it, the loop's results being
/// unread, and popped values it had never pushed).
#[derive_grad]
fn calls_per_sample(w: &[f64], xs: &[f64], k: usize) -> f64 {
    let half = per_sample(w, xs, k) * 0.5;
    half * half
}

#[test]
fn a_callee_that_tapes_in_a_loop() {
    let (k, d, n) = (3, 4, 5);
    let w = sample(k * d, 0.37);
    let xs = sample(n * d, 1.91);
    let (v, g) = calls_per_sample_grad(&w, &xs, k);
    assert_eq!(v.to_bits(), calls_per_sample(&w, &xs, k).to_bits());
    // By hand: ∂(p/2)²/∂w = (p/2)·∂p/∂w, with ∂p/∂w from `per_sample_grad`.
    let (p, gp) = per_sample_grad(&w, &xs, k);
    let hand: Vec<f64> = gp.iter().map(|g| 0.5 * p * g).collect();
    assert_near(&g, &hand, 1e-14, "calls_per_sample: by hand");
    let fd = central_slice(|w| calls_per_sample(w, &xs, k), &w);
    assert_near(&g, &fd, 1e-8, "calls_per_sample: central differences");
}

/// One `vec!` declared before the loop, rewritten every iteration and
/// passed to a helper each time: each iteration's reverse must see what
/// that iteration's call read, not what the memory holds at the end.
#[derive_grad]
fn reused_buffer(w: &[f64], xs: &[f64]) -> f64 {
    let mut h = vec![0.0; 2];
    let mut t = 0.0;
    for s in 0..xs.len() {
        h[0] = (w[0] * xs[s]).sin();
        h[1] = w[1] * xs[s] + w[0];
        t += dot(&h, &h) * xs[s];
    }
    t
}

#[test]
fn a_buffer_rewritten_every_iteration_and_passed() {
    let w = [0.7, -0.4];
    let xs = sample(5, 0.83);
    let (v, g) = reused_buffer_grad(&w, &xs);
    assert_eq!(v.to_bits(), reused_buffer(&w, &xs).to_bits());
    // Σ_s x_s (sin²(w0 x_s) + (w1 x_s + w0)²).
    let mut hand = [0.0; 2];
    for &x in &xs {
        let (a, b) = ((w[0] * x).sin(), w[1] * x + w[0]);
        hand[0] += x * (2.0 * a * (w[0] * x).cos() * x + 2.0 * b);
        hand[1] += x * 2.0 * b * x;
    }
    assert_near(&g, &hand, 1e-14, "reused_buffer: by hand");
    let fd = central_slice(|w| reused_buffer(w, &xs), &w);
    assert_near(&g, &fd, 1e-8, "reused_buffer: central differences");
}

/// One scalar parameter carried through a loop, and a call passing a
/// slice that depends on it: `NAME_grad` would take forward mode, which
/// does not go through such a call; it must fall back to reverse mode,
/// not drop the call's contribution.
#[derive_grad]
fn scalar_chain(r: f64, x: &[f64]) -> f64 {
    let mut h = vec![0.0; x.len()];
    for i in 0..x.len() {
        h[i] = (r * x[i]).sin();
    }
    let mut s = r;
    for i in 0..x.len() {
        s = s * dot(&h, x) * 0.1 + h[i];
    }
    s
}

#[test]
fn the_mode_choice_falls_back_to_reverse_mode() {
    let x = sample(4, 0.9);
    let r = 0.6;
    let (v, g) = scalar_chain_grad(r, &x);
    assert_eq!(v.to_bits(), scalar_chain(r, &x).to_bits());
    let h = 1e-6;
    let fd = (scalar_chain(r + h, &x) - scalar_chain(r - h, &x)) / (2.0 * h);
    assert!((g - fd).abs() < 1e-8, "{g} vs {fd}");
    // By hand: q = 0.1·Σ sin(r x_j) x_j, s ← s·q + sin(r x_i), so
    // s' ← s'·q + s·q' + x_i cos(r x_i), q' = 0.1·Σ x_j² cos(r x_j).
    let q = 0.1 * x.iter().map(|a| (r * a).sin() * a).sum::<f64>();
    let dq = 0.1 * x.iter().map(|a| a * a * (r * a).cos()).sum::<f64>();
    let (mut s, mut ds) = (r, 1.0);
    for &xi in &x {
        ds = ds * q + s * dq + xi * (r * xi).cos();
        s = s * q + (r * xi).sin();
    }
    assert!((g - ds).abs() < 1e-14, "{g} vs {ds}");
}
