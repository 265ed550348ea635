//! `NAME_grad_acc` and `NAME_grad_acc_with`, through the real macro: they
//! must add exactly what `NAME_grad` returns into the caller's gradient
//! (which they do not zero), return the original's value bit for bit, and
//! reuse a workspace's tape from call to call.

#![allow(clippy::needless_range_loop)]

use backprop::prelude::*;

/// A rolled loop whose reverse needs the tape (the `tanh` values) and a
/// gradient buffer (`w` read at run-time indices), beside a scalar.
#[derive_grad(wrt(w, b))]
fn layer(w: &[[f64; 20]; 3], b: f64, x: &[f64; 20], n: usize) -> f64 {
    let mut out = 0.0;
    for j in 0..3 {
        let mut s = b;
        for i in 0..n {
            s += (w[j][i] * x[i]).tanh();
        }
        out += s * s;
    }
    out
}

fn inputs() -> ([[f64; 20]; 3], [f64; 20]) {
    let w =
        std::array::from_fn(|j| std::array::from_fn(|i| ((i * 3 + j) as f64 * 0.31).sin() * 0.4));
    let x = std::array::from_fn(|i| (i as f64 * 0.17).cos());
    (w, x)
}

#[test]
fn acc_adds_what_grad_returns_into_a_buffer_it_does_not_zero() {
    let (w, x) = inputs();
    let (value, (gw, gb)) = layer_grad(&w, 0.3, &x, 17);
    assert_eq!(value.to_bits(), layer(&w, 0.3, &x, 17).to_bits());
    // A buffer that already holds something: the gradient is added to it.
    let start: [[f64; 20]; 3] =
        std::array::from_fn(|j| std::array::from_fn(|i| (i + 20 * j) as f64));
    let mut acc = (start, 5.0);
    let v = layer_grad_acc(&w, 0.3, &x, 17, &mut acc);
    assert_eq!(v.to_bits(), value.to_bits());
    for j in 0..3 {
        for i in 0..20 {
            assert_eq!(acc.0[j][i], start[j][i] + gw[j][i], "w[{j}][{i}]");
        }
    }
    assert_eq!(acc.1, 5.0 + gb);
    // Elements past `n` get no gradient.
    assert_eq!(gw[0][19], 0.0);
}

#[test]
fn a_workspace_is_reused_and_a_batch_sums() {
    let (w, x) = inputs();
    let mut work = Workspace::new();
    let mut sum = ([[0.0; 20]; 3], 0.0);
    let mut expected = ([[0.0; 20]; 3], 0.0);
    let mut capacity = None;
    for n in [20, 20, 9, 20] {
        let (v, (gw, gb)) = layer_grad(&w, 0.1, &x, n);
        let v_acc = layer_grad_acc_with(&w, 0.1, &x, n, &mut sum, &mut work);
        assert_eq!(v.to_bits(), v_acc.to_bits());
        for j in 0..3 {
            for i in 0..20 {
                expected.0[j][i] += gw[j][i];
            }
        }
        expected.1 += gb;
        // The tape (3·n `tanh` values) is allocated on the first call only.
        let cap = *capacity.get_or_insert(work.capacity());
        assert!(cap >= 60, "{cap}");
        assert_eq!(work.capacity(), cap);
    }
    assert_eq!(sum, expected);
}

#[test]
fn a_workspace_left_by_a_panicking_call_still_gives_the_right_gradient() {
    let (w, x) = inputs();
    let mut work = Workspace::new();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut g = ([[0.0; 20]; 3], 0.0);
        // Index 20 is out of bounds, as in the original: a panic after the
        // tape got values.
        layer_grad_acc_with(&w, 0.2, &x, 21, &mut g, &mut work)
    }));
    assert!(panicked.is_err());
    assert!(std::panic::catch_unwind(|| layer(&w, 0.2, &x, 21)).is_err());
    let mut g = ([[0.0; 20]; 3], 0.0);
    layer_grad_acc_with(&w, 0.2, &x, 20, &mut g, &mut work);
    let (_, (gw, gb)) = layer_grad(&w, 0.2, &x, 20);
    assert_eq!((g.0, g.1), (gw, gb));
}

/// Straight-line code, one scalar parameter, generic float type.
#[derive_grad]
fn cube<F: Float>(x: F, c: F) -> F {
    x * x * x * c
}

#[test]
fn scalar_and_generic_gradients_add_too() {
    let mut g = 1.0_f32;
    let v = cube_grad_acc(2.0_f32, 0.5, &mut g);
    assert_eq!(v, cube(2.0_f32, 0.5));
    assert_eq!(g, 1.0 + 6.0);
    let mut g = 0.25_f64;
    let mut work = Workspace::new();
    cube_grad_acc_with(3.0_f64, 1.0, &mut g, &mut work);
    assert_eq!(g, 0.25 + 27.0);
    assert_eq!(work.capacity(), 0, "no loop, no tape");
}

/// The generated parameters cannot clash with the user's.
#[derive_grad]
fn clash(grad: [f64; 2], workspace: f64) -> f64 {
    grad[0] * workspace + grad[1]
}

#[test]
fn user_parameters_named_grad_and_workspace() {
    let mut g = [0.0; 2];
    let mut work = Workspace::new();
    let v = clash_grad_acc_with([2.0, 3.0], 4.0, &mut g, &mut work);
    assert_eq!(v, clash([2.0, 3.0], 4.0));
    assert_eq!(g, [4.0, 1.0]);
}

#[test]
fn train_acc_trains_with_the_generated_function() {
    #[derive_grad]
    fn sq(w: [f64; 2], x: f64, y: f64) -> f64 {
        let r = w[0] * x + w[1] - y;
        0.5 * r * r
    }
    let data: Vec<(f64, f64)> = (0..32)
        .map(|i| (i as f64 / 16.0, 3.0 * i as f64 / 16.0 - 0.5))
        .collect();
    let opts = TrainOptions::new()
        .epochs(400)
        .batch_size(8)
        .progress(Progress::Never);
    let mut w = [0.0, 0.0];
    let a = train_acc(
        &mut w,
        &mut Sgd::new(0.3),
        &data,
        &opts,
        |w, &(x, y), g, work| sq_grad_acc_with(*w, x, y, g, work),
    )
    .unwrap();
    assert!(
        (w[0] - 3.0).abs() < 1e-6 && (w[1] + 0.5).abs() < 1e-6,
        "{w:?}"
    );
    assert!(sq(w, 1.0, 2.5) < 1e-12);
    // The same epochs as `train` with `NAME_grad` (the same mean gradient,
    // summed in another grouping: equal to rounding).
    let mut w2 = [0.0, 0.0];
    let b = train(&mut w2, &mut Sgd::new(0.3), &data, &opts, |w, &(x, y)| {
        sq_grad(*w, x, y)
    })
    .unwrap();
    for (la, lb) in a.epoch_losses.iter().zip(&b.epoch_losses) {
        assert!(
            (la - lb).abs() <= 1e-12 * lb.abs().max(1e-300),
            "{la} vs {lb}"
        );
    }
}

#[test]
fn train_acc_names_the_sample_with_a_non_finite_gradient() {
    #[derive_grad]
    fn root(w: f64, x: f64) -> f64 {
        (w * x).sqrt()
    }
    // Sample 5 has x = 0: value 0, gradient x/(2√(wx)) = 0/0 = NaN.
    let data: Vec<f64> = (0..8)
        .map(|i| if i == 5 { 0.0 } else { 1.0 + i as f64 })
        .collect();
    let opts = TrainOptions::new()
        .epochs(1)
        .batch_size(8)
        .shuffle(false)
        .progress(Progress::Never);
    let mut w = 1.0;
    let err = train_acc(&mut w, &mut Sgd::new(0.1), &data, &opts, |w, x, g, work| {
        root_grad_acc_with(*w, *x, g, work)
    })
    .unwrap_err();
    assert!(root(1.0, 0.0) == 0.0);
    let msg = err.to_string();
    assert!(msg.contains("sample 5"), "{msg}");
    assert_eq!(w, 1.0, "no step taken");
}
