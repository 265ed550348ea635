//! Loops that stay loops, through the real `#[derive_grad]` macro: loops
//! with run-time bounds, or more than `UNROLL_MAX_TRIPS` iterations, become
//! a forward loop and a reversed loop in `NAME_grad`. Each function's value
//! must equal the original bit for bit and its gradient match central
//! finite differences of the original (tests/common), including the cases
//! other tools shipped wrong adjoints for (a divisor in a loop, a value
//! from before a loop used after it, a loop that runs zero times).

#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

mod common;

use backprop::prelude::*;
use common::check;

fn ramp<const N: usize>(scale: f64, shift: f64) -> [f64; N] {
    std::array::from_fn(|i| ((i as f64 * 0.37 + shift).sin()) * scale)
}

#[derive_grad]
fn tanh_dot(w: &[f64; 40], x: &[f64; 40]) -> f64 {
    let mut s = 0.0;
    for i in 0..40 {
        s += (w[i] * x[i]).tanh();
    }
    s * s
}

#[test]
fn a_reduction_over_a_long_loop() {
    let x = ramp::<40>(1.3, 0.2);
    check(
        "tanh_dot",
        |w| tanh_dot(&w, &x),
        |w| tanh_dot_grad(&w, &x),
        ramp::<40>(0.8, 1.0),
    );
}

#[derive_grad]
fn logistic(r: f64, x0: f64) -> f64 {
    let mut x = x0;
    for _ in 0..100 {
        x = r * x * (1.0 - x);
    }
    x
}

#[test]
fn a_nonlinear_carried_value_is_taped() {
    for r in [2.5, 3.1] {
        check(
            "logistic",
            |r| logistic(r, 0.3),
            |r| logistic_grad(r, 0.3),
            r,
        );
    }
}

#[derive_grad]
fn partial_sum(w: &[f64; 50], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += w[i] * w[i] * (i as f64 + 1.0);
    }
    s
}

#[test]
fn run_time_bounds_including_zero_trips() {
    for n in [0, 1, 37, 50] {
        check(
            "partial_sum",
            |w| partial_sum(&w, n),
            |w| partial_sum_grad(&w, n),
            ramp::<50>(1.0, 0.4),
        );
    }
    let (v, g) = partial_sum_grad(&ramp::<50>(1.0, 0.4), 0);
    assert_eq!((v, g), (0.0, [0.0; 50]));
}

#[test]
#[should_panic(expected = "index out of bounds")]
fn an_out_of_bounds_run_time_index_panics_as_the_original_does() {
    let _ = partial_sum_grad(&[1.0; 50], 51);
}

#[derive_grad]
fn layer(w: &[[f64; 30]; 20], x: &[f64; 30]) -> f64 {
    let mut loss = 0.0;
    for j in 0..20 {
        let mut s = 0.0;
        for i in 0..30 {
            s += w[j][i] * x[i];
        }
        loss += s.tanh();
    }
    loss
}

#[test]
fn nested_loops_over_a_matrix() {
    let x = ramp::<30>(0.5, 0.0);
    let w: [[f64; 30]; 20] = std::array::from_fn(|j| ramp::<30>(0.3, j as f64));
    check("layer", |w| layer(&w, &x), |w| layer_grad(&w, &x), w);
    check(
        "layer wrt x",
        |x| layer(&w, &x),
        |x| {
            let (v, (_, gx)) = layer_vjp(&w, &x);
            (v, gx)
        },
        x,
    );
}

#[derive_grad]
fn divided(w: &[f64; 24], x0: f64) -> f64 {
    let mut s = x0;
    for i in 0..24 {
        s = s / (1.0 + w[i] * w[i]) + w[i];
    }
    s
}

#[test]
fn a_divisor_inside_a_loop() {
    check(
        "divided",
        |w| divided(&w, 2.0),
        |w| divided_grad(&w, 2.0),
        ramp::<24>(0.9, 0.3),
    );
}

#[derive_grad]
fn before_and_after(w: &[f64; 30], n: usize) -> f64 {
    let a = w[0] * 2.0;
    let mut s = a;
    for i in 0..n {
        s += a * w[i];
    }
    s * a + a
}

#[test]
fn a_value_from_before_the_loop_used_after_it() {
    for n in [0, 3, 30] {
        check(
            "before_and_after",
            |w| before_and_after(&w, n),
            |w| before_and_after_grad(&w, n),
            ramp::<30>(1.1, 0.7),
        );
    }
}

#[derive_grad]
fn backwards_inclusive(w: &[f64; 32], m: usize) -> f64 {
    let mut s = 1.0;
    for i in (0..=m).rev() {
        s = s * 0.5 + (w[i] * s).sin();
    }
    for i in 1..=20 {
        s += w[i] * (i as f64);
    }
    s
}

#[test]
fn reversed_and_inclusive_ranges() {
    for m in [0, 5, 31] {
        check(
            "backwards_inclusive",
            |w| backwards_inclusive(&w, m),
            |w| backwards_inclusive_grad(&w, m),
            ramp::<32>(0.9, 0.1),
        );
    }
}

#[derive_grad]
fn branchy(w: &[f64; 40]) -> f64 {
    let mut s = 0.0;
    for i in 0..40 {
        if w[i] > 0.0 {
            s += w[i] * s.cos();
        } else {
            s -= 0.5 * w[i] * w[i];
        }
    }
    s
}

#[test]
fn an_if_inside_a_loop() {
    check(
        "branchy",
        |w| branchy(&w),
        |w| branchy_grad(&w),
        ramp::<40>(1.0, 0.25),
    );
}

#[derive_grad]
fn pick(z: &[f64; 10], label: usize) -> f64 {
    let mut m = 0.0;
    for k in 0..10 {
        m += z[k].exp();
    }
    m.ln() - z[label]
}

#[test]
fn a_run_time_index_read() {
    for label in [0, 3, 9] {
        check(
            "pick",
            |z| pick(&z, label),
            |z| pick_grad(&z, label),
            ramp::<10>(2.0, 0.5),
        );
    }
}

#[derive_grad]
fn generic_sum<F: Float>(w: &[F; 20], n: usize) -> F {
    let mut s = F::zero();
    for i in 0..n {
        s = s + (w[i] * w[i]).sqrt() * F::from(0.5).unwrap();
    }
    s
}

#[derive_grad]
fn f32_sum(w: [f32; 20]) -> f32 {
    let mut s = 0.0;
    for i in 0..20 {
        s += w[i].exp() * 0.25;
    }
    s
}

#[test]
fn generic_and_f32_element_types() {
    check(
        "generic_sum",
        |w| generic_sum(&w, 17),
        |w| generic_sum_grad(&w, 17),
        ramp::<20>(1.5, 0.1),
    );
    let w32: [f32; 20] = std::array::from_fn(|i| (i as f32 * 0.1).cos());
    check("f32_sum", f32_sum, f32_sum_grad, w32);
}

#[derive_grad]
fn chosen(w: [f64; 4], k: usize) -> f64 {
    w[k] * w[k] + w[0]
}

#[test]
fn a_run_time_index_into_an_array_passed_by_value() {
    for k in 0..4 {
        check(
            "chosen",
            |w| chosen(w, k),
            |w| chosen_grad(w, k),
            [0.5, -1.5, 2.0, 0.25],
        );
    }
}

// Loops far too long to unroll stay loops: these expand to a few lines
// (they once were refused, or took minutes). They are compiled, not run.
#[derive_grad]
fn endless(x: f64) -> f64 {
    let mut y = x;
    for _ in 0..=9223372036854775807u64 {
        y = y * 0.5 + 1.0;
    }
    y
}

#[derive_grad]
fn nested_empty_loops(x0: f64) -> f64 {
    let mut x = x0;
    for _ in 0..8 {
        x = 3.7 * x * (1.0 - x);
        for _ in 0..2000 {
            for _ in 0..2000 {}
        }
    }
    x
}

#[derive_grad]
fn from_i64_min(w: [f64; 10], x: f64) -> f64 {
    let mut out = x;
    for i in i64::MIN..10 {
        out = out * w[i as usize % 10];
    }
    out
}

#[test]
fn loops_too_long_to_unroll_compile_to_loops() {
    // Found by the fuzzer: `i64::MIN` as a bound once panicked the macro.
    let _ = (from_i64_min, from_i64_min_grad);
    let _ = (endless, endless_grad);
    check(
        "nested_empty_loops",
        nested_empty_loops,
        nested_empty_loops_grad,
        0.3,
    );
}

/// A tanh MLP, 30-20-10, with softmax cross-entropy: the layers are local
/// arrays written by one loop and read by the next.
#[derive_grad(wrt(w1, w2))]
fn mlp(w1: &[[f64; 30]; 20], w2: &[[f64; 20]; 10], x: &[f64; 30], label: usize) -> f64 {
    let mut h = [0.0; 20];
    for j in 0..20 {
        let mut s = 0.0;
        for i in 0..30 {
            s += w1[j][i] * x[i];
        }
        h[j] = s.tanh();
    }
    let mut z = [0.0; 10];
    for k in 0..10 {
        let mut s = 0.0;
        for j in 0..20 {
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

#[test]
fn an_mlp_whose_layers_are_local_arrays() {
    let x = ramp::<30>(0.8, 0.3);
    let w1: [[f64; 30]; 20] = std::array::from_fn(|j| ramp::<30>(0.2, j as f64 * 0.7));
    let w2: [[f64; 20]; 10] = std::array::from_fn(|k| ramp::<20>(0.5, k as f64 * 1.3));
    for label in [0, 7] {
        check(
            "mlp wrt w1",
            |w1| mlp(&w1, &w2, &x, label),
            |w1| {
                let (v, (g1, _)) = mlp_grad(&w1, &w2, &x, label);
                (v, g1)
            },
            w1,
        );
        check(
            "mlp wrt w2",
            |w2| mlp(&w1, &w2, &x, label),
            |w2| {
                let (v, (_, g2)) = mlp_grad(&w1, &w2, &x, label);
                (v, g2)
            },
            w2,
        );
    }
}

/// A recurrence through memory: each element is computed from the one
/// before, and an element is overwritten after it was read.
#[derive_grad]
fn recurrence(w: &[f64; 24], x0: f64) -> f64 {
    let mut h = [0.0; 25];
    h[0] = x0;
    for i in 0..24 {
        h[i + 1] = (h[i] * w[i]).sin() + h[i];
        h[i] = h[i] * 0.5;
    }
    let mut s = 0.0;
    for i in 0..25 {
        s += h[i] * h[i];
    }
    s
}

#[test]
fn a_loop_carried_array() {
    check(
        "recurrence",
        |w| recurrence(&w, 0.7),
        |w| recurrence_grad(&w, 0.7),
        ramp::<24>(0.9, 0.2),
    );
    check(
        "recurrence wrt x0",
        |x0| recurrence(&ramp::<24>(0.9, 0.2), x0),
        |x0| {
            let (v, (_, g)) = recurrence_vjp(&ramp::<24>(0.9, 0.2), x0);
            (v, g)
        },
        0.7,
    );
}

#[derive_grad(wrt(a, b))]
fn two_same_shape(a: &[f64; 20], b: &[f64; 20], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += a[i] * a[i] * 3.0 + b[i] * 5.0;
    }
    s
}

#[test]
fn two_gradient_buffers_of_one_shape_stay_apart() {
    let a = ramp::<20>(1.0, 0.3);
    let b = ramp::<20>(0.7, 1.1);
    let (v, (ga, gb)) = two_same_shape_grad(&a, &b, 20);
    assert_eq!(v, two_same_shape(&a, &b, 20));
    for i in 0..20 {
        assert!((ga[i] - 6.0 * a[i]).abs() < 1e-12, "a[{i}]: {}", ga[i]);
        assert_eq!(gb[i], 5.0, "b[{i}]");
    }
}

#[derive_grad]
fn two_local_arrays(w: &[f64; 20], n: usize) -> f64 {
    let mut a = [0.0; 20];
    let mut b = [0.0; 20];
    for i in 0..n {
        a[i] = w[i] * 2.0;
        b[i] = w[i] * w[i];
    }
    let mut s = 0.0;
    for i in 0..n {
        s += a[i] * 3.0 + b[i];
    }
    s
}

#[test]
fn two_local_arrays_of_one_shape_stay_apart() {
    let w = ramp::<20>(1.0, 0.3);
    assert_eq!(two_local_arrays(&w, 20), two_local_arrays_grad(&w, 20).0);
    check(
        "two_local_arrays",
        |w| two_local_arrays(&w, 20),
        |w| two_local_arrays_grad(&w, 20),
        w,
    );
}

/// Reads past the end of `w` only on branches the original does not take.
#[derive_grad]
fn guarded_reads(w: &[f64; 8], n: usize, label: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..20 {
        if i < n {
            s += w[i] * w[i];
        }
        // `i - 1` underflows at i = 0 (a panic in debug builds) and
        // `7 % (i % 3)` divides by zero: neither runs in the original.
        if i > 0 && i < n && i % 3 != 0 {
            s += w[i - 1] * ((7 % (i % 3)) as f64);
        }
    }
    let extra = if label < 8 { w[label] * 3.0 } else { 0.5 };
    s + extra
}

#[test]
fn what_can_panic_runs_only_on_the_branch_taken() {
    let w = ramp::<8>(1.0, 0.4);
    for (n, label) in [(5, 2), (8, 100), (0, 7)] {
        check(
            "guarded_reads",
            |w| guarded_reads(&w, n, label),
            |w| guarded_reads_grad(&w, n, label),
            w,
        );
    }
    // Taken with an index past the end: both panic.
    assert!(std::panic::catch_unwind(|| guarded_reads(&w, 12, 0)).is_err());
    assert!(std::panic::catch_unwind(|| guarded_reads_grad(&w, 12, 0)).is_err());
}

/// Values stored into memory outside any loop (a run-time index at the top
/// level): their adjoints come back through the array's adjoint buffer.
#[derive_grad]
fn stored_at_top_level(w: [f64; 3], k: usize) -> f64 {
    let mut h = [0.0; 3];
    h[k] = w[0] * 2.0;
    let a = [w[1] * 3.0, w[2].sin(), w[0] * w[1]];
    h[k] * a[k] + a[(k + 1) % 3]
}

#[test]
fn values_stored_at_the_top_level_pass_their_gradient_back() {
    for k in 0..3 {
        check(
            "stored_at_top_level",
            |w| stored_at_top_level(w, k),
            |w| stored_at_top_level_grad(w, k),
            [0.7, -0.4, 1.3],
        );
    }
}

#[derive_grad]
fn cell(h: f64, x: f64, w: [f64; 2]) -> f64 {
    (w[0] * h + w[1] * x).tanh()
}

/// A call to another `#[derive_grad]` function in a loop that stays a loop:
/// the forward loop calls the function, the reverse calls its companion
/// for the gradient.
#[derive_grad(wrt(w))]
fn rnn_of_cells(w: [f64; 2], x: &[f64], threshold: f64) -> f64 {
    let mut h = 0.1;
    for t in 0..x.len() {
        h = cell(h, x[t], w);
        if h > threshold {
            h = cell(h, -x[t], w) * 0.5;
        }
    }
    h * h
}

#[test]
fn calls_inside_loops_that_stay_loops() {
    let x: Vec<f64> = (0..30).map(|t| (t as f64 * 0.7).sin()).collect();
    for threshold in [0.3, 2.0] {
        check(
            "rnn_of_cells",
            |w| rnn_of_cells(w, &x, threshold),
            |w| rnn_of_cells_grad(w, &x, threshold),
            [0.8, 1.1],
        );
    }
}

/// A bool the loop changes (`found = true`): its value at the start of
/// each iteration is recorded for the reverse, as an integer's is.
#[derive_grad(jvp, hessian)]
fn after_first_positive(x: &[f64]) -> f64 {
    let mut found = false;
    let mut s = 0.0;
    for i in 0..x.len() {
        if x[i] > 0.0 {
            found = true;
        }
        if found {
            s += x[i] * x[i];
        }
    }
    s
}

/// A `while` that runs until a flag the body sets: a Newton iteration
/// for √a stopped by a bool.
#[derive_grad]
fn sqrt_until_close(a: f64) -> f64 {
    let mut y = a;
    let mut done = false;
    let mut steps = 0;
    while !done && steps < 60 {
        let next = 0.5 * (y + a / y);
        done = (next - y).abs() < 1e-12;
        y = next;
        steps += 1;
    }
    y
}

#[test]
fn a_bool_changed_by_a_loop() {
    for x in [
        vec![-1.0, -0.5, 2.0, -3.0, 0.25],
        vec![-1.0, -2.0],
        vec![0.5],
        vec![],
    ] {
        let (v, g) = after_first_positive_grad(&x);
        assert_eq!(v.to_bits(), after_first_positive(&x).to_bits());
        // By hand: 2·xᵢ from the first positive element on, 0 before.
        let first = x.iter().position(|&v| v > 0.0).unwrap_or(x.len());
        for (i, &xi) in x.iter().enumerate() {
            let want = if i >= first { 2.0 * xi } else { 0.0 };
            assert_eq!(g[i], want, "element {i} of {x:?}");
        }
        // jvp and H·v agree with the hand formulas (H = 2 on the diagonal
        // from the first positive element on).
        let t: Vec<f64> = (0..x.len()).map(|i| 0.5 - 0.25 * i as f64).collect();
        let (_, dir) = after_first_positive_jvp(&x, &t);
        let want: f64 = g.iter().zip(&t).map(|(g, t)| g * t).sum();
        assert!((dir - want).abs() < 1e-12, "{dir} vs {want}");
        let (_, _, hv) = after_first_positive_hvp(&x, &t);
        for i in 0..x.len() {
            let want = if i >= first { 2.0 * t[i] } else { 0.0 };
            assert_eq!(hv[i], want, "H·v element {i} of {x:?}");
        }
    }
}

#[test]
fn a_while_stopped_by_a_flag() {
    for a in [0.25, 2.0, 9.0, 1e4] {
        check(
            &format!("sqrt_until_close({a})"),
            sqrt_until_close,
            sqrt_until_close_grad,
            a,
        );
        let (_, g) = sqrt_until_close_grad(a);
        assert!(
            (g - 0.5 / a.sqrt()).abs() < 1e-9 * (1.0 + g.abs()),
            "{g} at {a}"
        );
    }
}
