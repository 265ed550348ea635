//! Regression tests, through the real macro, for bugs a review of rolled
//! loops, `while`/`break`, guards and slices found (each once a wrong
//! gradient, a panic the original does not have, generated code that did
//! not compile, or a panic of the macro).

#![allow(clippy::needless_range_loop)]

mod common;

use backprop::prelude::*;
use common::check;

/// The macro panicked: the loss is a loop's carried value built before
/// another carried value (the counter `t`).
#[derive_grad]
fn power_by_counting(w: f64, n: f64) -> f64 {
    let mut t = 0.0;
    let mut s = w;
    while t < n {
        s *= w;
        t += 1.0;
    }
    s
}

#[test]
fn the_loss_may_be_any_carried_value_of_a_loop() {
    check(
        "power_by_counting",
        |w| power_by_counting(w, 3.0),
        |w| power_by_counting_grad(w, 3.0),
        1.3,
    );
    let (v, g) = power_by_counting_grad(2.0, 3.0);
    assert_eq!((v, g), (16.0, 32.0));
}

#[derive_grad]
fn doubling(x: f64) -> f64 {
    let mut y = x;
    while y < 10.0 {
        y *= 2.0;
    }
    y
}

/// A call in a branch not taken ran anyway (here it would never return).
#[derive_grad]
fn calls_in_a_branch(x: f64) -> f64 {
    let mut r = x;
    if x > 0.0 {
        r = doubling(x) * x;
    }
    r
}

#[test]
fn a_call_runs_only_when_its_branch_is_taken() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        tx.send((calls_in_a_branch_grad(-1.0), calls_in_a_branch_grad(3.0)))
            .unwrap()
    });
    let ((v1, g1), (v2, g2)) = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("calls_in_a_branch_grad returns");
    assert_eq!((v1, g1), (calls_in_a_branch(-1.0), 1.0));
    // doubling(3) = 3·4 = 12 (two doublings); r = 12·x = 4x² near 3: 8x = 24.
    assert_eq!((v2, g2), (calls_in_a_branch(3.0), 24.0));
}

/// `&&` and `||` evaluated their right side when the left one decided.
#[derive_grad(wrt(w))]
fn short_circuits(x: &[f64], i: usize, k: usize, w: f64) -> f64 {
    let mut s = w;
    if i < x.len() && x[i] > 0.0 {
        s *= x[i];
    }
    if k == 0 || 7 % k == 1 {
        s += w * w;
    }
    s
}

#[test]
fn the_right_side_of_and_or_runs_only_when_needed() {
    for (i, k) in [(5, 0), (0, 3), (0, 2)] {
        let x = [2.0];
        check(
            "short_circuits",
            |w| short_circuits(&x, i, k, w),
            |w| short_circuits_grad(&x, i, k, w),
            0.7,
        );
    }
}

/// `clamp` panics when its bounds cross: it ran on a branch not taken, and
/// was hoisted out of a loop that runs zero times.
#[derive_grad(wrt(w))]
fn clamped(x: &[f64], w: f64, lo: f64, hi: f64) -> f64 {
    let mut y = w;
    if lo <= hi {
        y = w.clamp(lo, hi) * 2.0;
    }
    for i in 0..x.len() {
        y += x[i] * w.clamp(lo, hi);
    }
    y
}

#[test]
fn clamp_runs_only_where_the_original_runs_it() {
    let (v, g) = clamped_grad(&[], 0.5, 2.0, 1.0);
    assert_eq!((v, g), (clamped(&[], 0.5, 2.0, 1.0), 1.0));
    check(
        "clamped",
        |w| clamped(&[1.0, 2.0], w, 0.0, 1.0),
        |w| clamped_grad(&[1.0, 2.0], w, 0.0, 1.0),
        0.4,
    );
}

/// A loop that can break over a literal range: the reverse found the loop
/// variable as `i32` while the forward loop's was `u64`.
#[derive_grad]
fn break_at(w: f64, m: u64) -> f64 {
    let mut s = 0.0;
    for i in 0..100000 {
        s += w * ((i * i) as f64);
        if i == m {
            break;
        }
    }
    s
}

#[test]
fn the_reverse_of_a_loop_that_breaks_uses_the_forward_loop_s_integer_type() {
    let (v, g) = break_at_grad(1.5, 50000);
    assert_eq!(v, break_at(1.5, 50000));
    let expected: f64 = (0..=50000u64).map(|i| (i * i) as f64).sum();
    assert!(
        (g - expected).abs() <= 1e-12 * expected,
        "{g} vs {expected}"
    );
}

/// A shadowing copy (`let mut h = h;`) wrote into the original array.
#[derive_grad]
fn shadowed_copy(w: f64, k: usize) -> f64 {
    let mut h = [w, 0.0];
    h[k] = 1.0;
    let t = {
        let h2 = h;
        h2[0] * 2.0
    };
    h[0] + t
}

#[test]
fn a_copy_of_an_array_in_memory_is_read_not_written() {
    check(
        "shadowed_copy",
        |w| shadowed_copy(w, 1),
        |w| shadowed_copy_grad(w, 1),
        3.0,
    );
}

/// An array written and read back in the same iteration: the generated code
/// did not compile (the buffer was put on the float tape).
#[derive_grad]
fn write_then_read(x: &[f64; 8], n: usize) -> f64 {
    let mut h = [0.0; 8];
    let mut s = 0.0;
    for i in 0..n {
        h[i] = x[i] + s;
        s += h[i] * h[i];
    }
    s
}

#[test]
fn memory_written_and_read_in_one_iteration() {
    let x: [f64; 8] = std::array::from_fn(|i| (i as f64 * 0.3).sin());
    for n in [0, 3, 8] {
        check(
            "write_then_read",
            |x| write_then_read(&x, n),
            |x| write_then_read_grad(&x, n),
            x,
        );
    }
}

/// A sum whose new value is read again in the same iteration (`w5` reads
/// the new `w1`): its adjoint does not pass through the loop unchanged.
/// Found by the differential test (case_183) when sums started passing
/// their adjoint through.
#[derive_grad]
fn sum_read_again(x: [f64; 2], n: usize) -> f64 {
    let mut w1 = x[0];
    let mut w5 = x[1];
    let mut k = 0;
    while k < n {
        w1 += w5;
        w5 = w5 * 0.5 + w1 * x[1];
        k += 1;
    }
    let mut s = 0.0;
    let mut t = 0.0;
    for i in 0..40 {
        s += x[i % 2] * 0.1;
        t = t * 0.5 + s;
    }
    w1 + w5 + t
}

#[test]
fn a_sum_read_again_in_its_iteration_gets_its_whole_adjoint() {
    let x = [0.3, -0.7];
    let (value, grad) = sum_read_again_grad(x, 5);
    assert_eq!(value, sum_read_again(x, 5));
    for i in 0..2 {
        let h = 1e-6;
        let (mut up, mut down) = (x, x);
        up[i] += h;
        down[i] -= h;
        let fd = (sum_read_again(up, 5) - sum_read_again(down, 5)) / (2.0 * h);
        assert!(
            (grad[i] - fd).abs() < 1e-6 * fd.abs().max(1.0),
            "x[{i}]: {} vs {fd}",
            grad[i]
        );
    }
}

/// A local array written by one inner loop and read by a later one, both
/// inside a rolled outer loop (an MLP layer inside a loop over samples or
/// time steps): the generated code pushed the whole array onto the `f64`
/// tape and did not compile. Found by the GradBench tool (ode, gmm, lstm).
#[derive_grad]
fn layer_in_outer_loop(x: &[f64; 20], s: usize) -> f64 {
    let mut k = [0.0; 20];
    let mut y = 1.0;
    for _ in 0..s {
        for i in 0..20 {
            k[i] = x[i] * y;
        }
        for i in 0..20 {
            y += k[i] * x[i];
        }
    }
    y
}

/// The same with the array declared in the outer loop's body, a second
/// layer that reads the first one many times, and a read in the outer
/// body itself after the inner loops.
#[derive_grad]
fn two_layers_per_sample(w: &[[f64; 6]; 4], samples: usize) -> f64 {
    let mut loss = 0.0;
    for n in 0..samples {
        let mut h = [0.0; 4];
        for j in 0..4 {
            let mut z = 0.0;
            for i in 0..6 {
                z += w[j][i] * ((n + i) as f64 * 0.1).sin();
            }
            h[j] = z.tanh();
        }
        let mut o = [0.0; 3];
        for c in 0..3 {
            for j in 0..4 {
                o[c] += h[j] * w[j][c + 1];
            }
        }
        let target = n % 3;
        loss += (o[target] - 1.0) * (o[target] - 1.0) + h[0] * o[2];
    }
    loss
}

/// Run-time sizes: a `Vec` the outer loop rewrites, each element written
/// once per iteration at a computed index, and read by the next loop.
#[derive_grad]
fn vec_rewritten_per_step(x: &[f64], steps: usize) -> f64 {
    let n = x.len();
    let mut k = vec![0.0; 2 * n];
    let mut y = 0.5;
    for t in 0..steps {
        for i in 0..n {
            k[2 * i] = x[i] * y;
            k[2 * i + 1] = (x[i] + t as f64).sin();
        }
        let mut s = 0.0;
        for i in 0..n {
            s += k[2 * i] * k[2 * i + 1];
        }
        y = y * 0.5 + s;
    }
    y
}

#[test]
fn an_array_rewritten_by_an_outer_loop_is_read_back_per_iteration() {
    let x: [f64; 20] = std::array::from_fn(|i| 0.05 * (i as f64 * 0.7).cos());
    for s in [0, 1, 4] {
        check(
            "layer_in_outer_loop",
            |x| layer_in_outer_loop(&x, s),
            |x| layer_in_outer_loop_grad(&x, s),
            x,
        );
    }
    let w: [[f64; 6]; 4] =
        std::array::from_fn(|j| std::array::from_fn(|i| 0.3 * ((j * 6 + i) as f64).sin()));
    for samples in [0, 1, 5] {
        check(
            "two_layers_per_sample",
            |w| two_layers_per_sample(&w, samples),
            |w| two_layers_per_sample_grad(&w, samples),
            w,
        );
    }
    let x: [f64; 5] = [0.3, -0.2, 0.5, 0.1, -0.4];
    for steps in [0, 1, 3] {
        check(
            "vec_rewritten_per_step",
            |x: [f64; 5]| vec_rewritten_per_step(&x, steps),
            |x: [f64; 5]| {
                let (v, g) = vec_rewritten_per_step_grad(&x, steps);
                (v, <[f64; 5]>::try_from(g.as_slice()).unwrap())
            },
            x,
        );
    }
}

/// A loop-invariant value computed before the loop (here an `if`
/// expression, not a named `let`) that the loop assigns to a carried
/// variable: its only other use made it part of that use's expression
/// tree, and the adjoint the reverse loop sent it was dropped (∂/∂x[0]
/// came out 0). Found by the differential test (seed 2, case_042).
#[derive_grad]
fn invariant_assigned_in_loop(x: [f64; 2], c: f64) -> f64 {
    let mut w2: f64 = x[1];
    let mut w6: f64 = x[1];
    let mut k: usize = 0;
    while k < 3 {
        if x[1] > 2.0 {
            w2 = c;
        } else {
            w2 = x[0].atan();
        }
        w6 = w6 * 0.5 + (x[0] - w2).powi(0);
        k += 1;
    }
    w2 + w6
}

#[test]
fn a_value_a_loop_assigns_gets_the_adjoint_of_every_iteration() {
    for x in [[0.09, 1.45], [-0.53, 2.5]] {
        check(
            "invariant_assigned_in_loop",
            |x| invariant_assigned_in_loop(x, 0.5),
            |x| invariant_assigned_in_loop_grad(x, 0.5),
            x,
        );
    }
}

/// A `while` whose body declares an array and fills it in a loop that stays
/// a loop (17 iterations), differentiated with respect to two scalars: the
/// second forward pass (one per scalar) rebuilt the inner loop with the
/// first pass's tangent buffer as the initial value of a carried value it
/// does not read, a node of a region the new loop is not in, and the macro
/// panicked (differential test, seed 5, case_011). Through a helper, so
/// the helper's second-order companion (with respect to both scalars) is
/// compiled too.
#[derive_grad(jvp, hessian)]
fn while_with_inner_fill(x: f64, c: f64, n: i32) -> f64 {
    let mut w = x;
    let mut k: usize = 0;
    while k < (n as usize % 6) {
        let mut h = [0.0; 17];
        for i in 0..17 {
            h[i] = x;
        }
        w = w * 0.5 + (if 0.7 > h[16] { c * c } else { 0.7 });
        k += 1;
    }
    w
}

#[derive_grad(hessian)]
fn calls_while_with_inner_fill(p: [f64; 2], n: i32) -> f64 {
    while_with_inner_fill(p[0], p[1], n) * p[0]
}

#[test]
fn a_while_filling_an_array_in_a_rolled_loop_through_two_forward_passes() {
    for (x, c) in [(0.3, -0.8), (-1.2, 0.4), (0.9, -20.0)] {
        for n in [0, 1, 3] {
            check(
                "while_with_inner_fill",
                |x| while_with_inner_fill(x, c, n),
                |x| while_with_inner_fill_grad(x, c, n),
                x,
            );
            let p = [x, c];
            check(
                "calls_while_with_inner_fill",
                |p| calls_while_with_inner_fill(p, n),
                |p| calls_while_with_inner_fill_grad(p, n),
                p,
            );
            // H against central differences of the generated gradient.
            let (_, _, h) = calls_while_with_inner_fill_hessian(p, n);
            for j in 0..2 {
                let step = 1e-6;
                let (mut pp, mut pm) = (p, p);
                pp[j] += step;
                pm[j] -= step;
                let gp = calls_while_with_inner_fill_grad(pp, n).1;
                let gm = calls_while_with_inner_fill_grad(pm, n).1;
                for i in 0..2 {
                    let fd = (gp[i] - gm[i]) / (2.0 * step);
                    assert!(
                        (h[i][j] - fd).abs() < 1e-5 * (1.0 + fd.abs()),
                        "H[{i}][{j}] at ({x}, {c}), n = {n}: {} vs {fd}",
                        h[i][j]
                    );
                }
            }
        }
    }
}

/// A `while` loop reads an array element that straight-line code after it
/// overwrites. Forward mode rebuilds the loop (a new node, later in the
/// arena) but kept the later writes, so `NAME_jvp` wrote them before the
/// loop read the element and returned another value than the original
/// (differential test, seed 17, case_086; present at `fed0de0`).
#[derive_grad(jvp, hessian)]
fn loop_reads_before_a_later_write(x: [f64; 3], c: f64, n: i32) -> f64 {
    let mut h = [0.0; 3];
    h[n as usize % 3] = x[1];
    let mut w = x[1];
    let mut k: usize = 0;
    while k < 1 {
        w = w * 0.5 + h[2];
        k += 1;
    }
    for _ in 0..2 {
        for i in 0..23 {
            w *= x[i % 3];
        }
        for i in 0..3 {
            h[i] = h[i] * 0.5 + c;
        }
    }
    w + h[2]
}

#[test]
fn a_loop_read_before_a_later_write_keeps_its_value_in_forward_mode() {
    let points = [
        (
            [1.343994140625, 0.390869140625, -1.390380859375],
            -0.624755859375,
            -1,
        ),
        (
            [-1.421630859375, -1.124755859375, 1.265869140625],
            0.953369140625,
            -129,
        ),
        ([0.9, 1.05, -0.95], 0.25, 2),
    ];
    for (x, c, n) in points {
        let v = loop_reads_before_a_later_write(x, c, n);
        let t = [0.25, -0.5, 0.75];
        let (vj, dir) = loop_reads_before_a_later_write_jvp(x, c, n, t);
        assert_eq!(vj.to_bits(), v.to_bits(), "NAME_jvp's value at n = {n}");
        let (vh, g, _) = loop_reads_before_a_later_write_hvp(x, c, n, t);
        assert_eq!(vh.to_bits(), v.to_bits(), "NAME_hvp's value at n = {n}");
        let (vg, g_rev) = loop_reads_before_a_later_write_grad(x, c, n);
        assert_eq!(vg.to_bits(), v.to_bits());
        let want: f64 = (0..3).map(|i| g_rev[i] * t[i]).sum();
        assert!(
            (dir - want).abs() <= 1e-9 * (1.0 + want.abs()),
            "jvp {dir} vs {want}"
        );
        for i in 0..3 {
            assert!(
                (g[i] - g_rev[i]).abs() <= 1e-9 * (1.0 + g_rev[i].abs()),
                "gradient {i}"
            );
        }
        check(
            "loop_reads_before_a_later_write",
            |x| loop_reads_before_a_later_write(x, c, n),
            |x| loop_reads_before_a_later_write_grad(x, c, n),
            x,
        );
    }
}

/// The macro panicked (`emit::nest` indexing an empty list; found by the
/// fuzzer's fixed-seed run): `hessian` of a slice parameter the value does
/// not depend on took the straight-line construction, which has no
/// run-time buffers for a slice's H·v and H.
#[derive_grad(jvp, hessian)]
fn reads_but_ignores(x: &[f64]) -> f64 {
    let mut found = false;
    let s = 0.0;
    for i in 0..x.len() {
        if x[i] > 0.0 {
            found = true;
        }
    }
    let _ = found;
    s
}

#[test]
fn a_slice_the_value_does_not_depend_on_has_zero_second_derivatives() {
    for n in [0usize, 1, 3] {
        let x: Vec<f64> = (0..n).map(|i| i as f64 - 1.0).collect();
        let v = vec![1.5; n];
        let want = reads_but_ignores(&x);
        let (value, grad) = reads_but_ignores_grad(&x);
        assert_eq!(
            (value.to_bits(), grad.clone()),
            (want.to_bits(), vec![0.0; n]),
            "n = {n}"
        );
        let (value, dir) = reads_but_ignores_jvp(&x, &v);
        assert_eq!(
            (value.to_bits(), dir),
            (want.to_bits(), 0.0),
            "n = {n}: jvp"
        );
        let (value, grad, hv) = reads_but_ignores_hvp(&x, &v);
        assert_eq!(
            (value.to_bits(), &grad, &hv),
            (want.to_bits(), &vec![0.0; n], &vec![0.0; n]),
            "n = {n}: hvp"
        );
        let (value, grad, h) = reads_but_ignores_hessian(&x);
        assert_eq!(
            (value.to_bits(), &grad, &h),
            (want.to_bits(), &vec![0.0; n], &vec![0.0; n * n]),
            "n = {n}: hessian"
        );
    }
}
