//! A loop whose reverse carries no adjoint from one iteration to the next
//! (its active carried values are sums) and that carries a recurrence the
//! derivative does not flow through (`mul *= t`) is reversed in the
//! forward order, computing the recurrence again instead of taping every
//! value of it. Checked through the macro: the original's value bit for
//! bit, and gradients equal to hand formulas evaluated with the same
//! recurrence (to rounding: the sums are added in another order).

#![allow(clippy::needless_range_loop)] // the losses index as GradBench's C++ does

mod common;

use backprop::prelude::*;

/// Half the squared residuals of a polynomial fit, as GradBench's llsq
/// writes it: the powers of `tᵢ` built up in the inner loop.
#[derive_grad]
fn poly_fit(x: &[f64], n: usize) -> f64 {
    let mut sum = 0.0;
    for i in 0..n {
        let t = -1.0 + i as f64 * 2.0 / (n as f64 - 1.0);
        let mut r = t.sin();
        let mut mul = 1.0;
        for j in 0..x.len() {
            r -= x[j] * mul;
            mul *= t;
        }
        sum += r * r;
    }
    sum / 2.0
}

/// A recurrence in a loop counting down, read by an active term. Replayed:
/// its reverse runs inside the forward loop (nothing after the loop is
/// needed) and computes the recurrence again beside it.
#[derive_grad]
fn discounted(w: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut p = 1.0;
    for j in (0..w.len()).rev() {
        s += w[j] * w[j] * p;
        p = p * 0.9 + 0.05;
    }
    s
}

/// The same recurrence through `exp`: not replayed (computing `exp` again
/// costs more than taping it), reversed with a tape as before.
#[derive_grad]
fn damped(w: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut p = 1.0;
    for j in (0..w.len()).rev() {
        s += w[j] * w[j] * p;
        p = (p * 0.5).exp() - 1.0;
    }
    s
}

/// [`discounted`] with the rate a float parameter: the reverse serves
/// every float parameter, so a derivative flows through `p`, and the loop
/// is reversed with a tape.
#[derive_grad]
fn discounted_by(w: &[f64], rate: f64) -> f64 {
    let mut s = 0.0;
    let mut p = 1.0;
    for j in (0..w.len()).rev() {
        s += w[j] * w[j] * p;
        p = p * rate + 0.05;
    }
    s
}

fn data(n: usize, phase: f64) -> Vec<f64> {
    (0..n)
        .map(|i| (i as f64 * 0.7 + phase).sin() * 0.5)
        .collect()
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-13 * want.abs().max(1.0),
        "{what}: {got} vs {want}"
    );
}

#[test]
fn a_polynomial_fit_replays_its_powers() {
    for (m, n) in [(0usize, 3usize), (1, 2), (4, 7), (9, 16)] {
        let x = data(m, 0.3);
        let (v, g) = poly_fit_grad(&x, n);
        assert_eq!(v.to_bits(), poly_fit(&x, n).to_bits(), "m {m}, n {n}");
        // ∂/∂xⱼ = −Σᵢ rᵢ tᵢʲ.
        let mut want = vec![0.0; m];
        for i in 0..n {
            let t = -1.0 + i as f64 * 2.0 / (n as f64 - 1.0);
            let mut r = t.sin();
            let mut mul = 1.0;
            for xj in &x {
                r -= xj * mul;
                mul *= t;
            }
            let mut mul = 1.0;
            for w in want.iter_mut() {
                *w -= r * mul;
                mul *= t;
            }
        }
        for j in 0..m {
            close(g[j], want[j], &format!("∂/∂x[{j}], m {m}, n {n}"));
        }
        let mut acc = vec![0.5; m];
        let v_acc = poly_fit_grad_acc(&x, n, &mut acc);
        assert_eq!(v_acc.to_bits(), v.to_bits());
        for j in 0..m {
            close(acc[j] - 0.5, g[j], &format!("grad_acc ∂/∂x[{j}]"));
        }
    }
}

#[test]
fn a_recurrence_in_a_loop_counting_down_is_replayed() {
    for m in [0usize, 1, 6, 11] {
        let w = data(m, 1.1);
        let (v, g) = discounted_grad(&w);
        assert_eq!(v.to_bits(), discounted(&w).to_bits(), "m {m}");
        // ∂/∂wⱼ = 2wⱼpⱼ, with pⱼ the recurrence's value at j (from the
        // last j down).
        let mut p = 1.0f64;
        let mut want = vec![0.0; m];
        for j in (0..m).rev() {
            want[j] = 2.0 * w[j] * p;
            p = p * 0.9 + 0.05;
        }
        for j in 0..m {
            close(g[j], want[j], &format!("∂/∂w[{j}], m {m}"));
        }
        // Reversed with a tape: the same gradient.
        let (v_by, g_by) = discounted_by_grad(&w, 0.9);
        assert_eq!(v_by.to_bits(), v.to_bits());
        assert_eq!(discounted_by(&w, 0.9).to_bits(), v.to_bits());
        for j in 0..m {
            close(g_by[j], g[j], &format!("taped ∂/∂w[{j}], m {m}"));
        }
    }
}

#[test]
fn a_recurrence_through_exp_is_taped_and_right() {
    for m in [0usize, 1, 6, 11] {
        let w = data(m, 0.4);
        let (v, g) = damped_grad(&w);
        assert_eq!(v.to_bits(), damped(&w).to_bits(), "m {m}");
        let mut p = 1.0f64;
        for j in (0..m).rev() {
            close(g[j], 2.0 * w[j] * p, &format!("∂/∂w[{j}], m {m}"));
            p = (p * 0.5).exp() - 1.0;
        }
    }
}
