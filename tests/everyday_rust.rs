//! Everyday Rust in a loss, through the real macro (issue 12): `match` on
//! integers and bools, an early `return` inside `if`, `const` and `static`
//! items in the body, `assert!`/`debug_assert!`/`println!` statements, and
//! tuple destructuring. Values must equal the original's bit for bit and
//! gradients match finite differences of the original (tests/common).

// Loops and checks as users write them.
#![allow(clippy::needless_range_loop, clippy::assertions_on_constants)]

mod common;

use backprop::prelude::*;
use common::check;

/// A loss picked by a run-time integer, with every kind of arm.
#[derive_grad]
fn by_kind(w: [f64; 2], kind: usize) -> f64 {
    let base = match kind {
        0 => w[0] * w[0],
        1 | 2 => w[0] * w[1],
        3..=5 => (w[0] - w[1]).abs(),
        k if k % 2 == 0 => w[1].exp() * k as f64,
        _ => w[0].sin(),
    };
    base + w[1]
}

/// `match` on a bool and on a loop variable known at compile time.
#[derive_grad]
fn by_flag(w: [f64; 3], squared: bool) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += match i {
            0 => w[i],
            _ => 2.0 * w[i],
        };
    }
    match squared {
        true => s * s,
        false => s,
    }
}

/// Early returns at run time, and one decided at compile time.
#[derive_grad]
fn clipped(w: [f64; 2], limit: f64) -> f64 {
    const SCALE: f64 = 0.5;
    static OFFSET: f64 = 0.25;
    const TERMS: usize = 2;
    let r = w[0] * w[1];
    if r > limit {
        return limit * SCALE;
    }
    if TERMS == 3 {
        return 0.0;
    }
    debug_assert!(r <= limit, "checked above");
    assert!(TERMS > 0);
    if r < -limit {
        println!("clipped below: {r}");
        return -limit + w[0] * OFFSET;
    }
    let (a, b) = (r * SCALE, w[1] * OFFSET);
    a + b * TERMS as f64
}

#[test]
fn match_on_integers_and_bools() {
    let w = [0.7, -0.4];
    for kind in [0, 1, 2, 3, 5, 6, 8, 7, 9] {
        check(
            "by_kind",
            |w| by_kind(w, kind),
            |w| by_kind_grad(w, kind),
            w,
        );
    }
    for squared in [true, false] {
        check(
            "by_flag",
            |w| by_flag(w, squared),
            |w| by_flag_grad(w, squared),
            [0.3, -1.1, 0.8],
        );
    }
}

#[test]
fn early_returns_consts_and_debugging_statements() {
    for (w, limit) in [
        ([0.5, 0.5], 1.0),
        ([2.0, 3.0], 1.0),
        ([-2.0, 3.0], 1.0),
        ([0.1, -0.2], 0.05),
    ] {
        check(
            "clipped",
            |w| clipped(w, limit),
            |w| clipped_grad(w, limit),
            w,
        );
    }
    // The branches by hand: above the limit the loss is constant in w.
    let (_, g) = clipped_grad([2.0, 3.0], 1.0);
    assert_eq!(g, [0.0, 0.0]);
    // Below −limit: −limit + 0.25·w[0].
    let (_, g) = clipped_grad([-2.0, 3.0], 1.0);
    assert_eq!(g, [0.25, 0.0]);
}

/// A helper taking an integer and a bool, called with literals and with
/// values known only at run time, in a loop that stays a loop.
#[derive_grad]
fn act(z: f64, kind: u8, leaky: bool) -> f64 {
    match kind {
        0 => z.tanh(),
        _ => {
            if leaky {
                z.max(0.01 * z)
            } else {
                z.max(0.0)
            }
        }
    }
}

#[derive_grad]
fn net(w: &[f64], kind: u8) -> f64 {
    let mut s = act(w[0], 0, false);
    for i in 0..w.len() {
        s += act(w[i] * (i as f64 + 1.0), kind, i % 2 == 0);
    }
    s
}

#[test]
fn calls_with_integer_and_bool_arguments() {
    let w: Vec<f64> = (0..24).map(|i| ((i as f64) * 0.9 + 0.3).sin()).collect();
    for kind in [0u8, 1] {
        let (v, g) = net_grad(&w, kind);
        assert_eq!(v.to_bits(), net(&w, kind).to_bits());
        let h = 1e-6;
        for i in 0..w.len() {
            let mut up = w.clone();
            let mut down = w.clone();
            up[i] += h;
            down[i] -= h;
            let fd = (net(&up, kind) - net(&down, kind)) / (2.0 * h);
            assert!(
                (g[i] - fd).abs() < 1e-6,
                "kind {kind}, w[{i}]: {} vs {fd}",
                g[i]
            );
        }
    }
}

/// `powi` with an exponent known only at run time.
#[derive_grad]
fn power_sum(x: &[f64], n: i32) -> f64 {
    x.iter().map(|v| v.powi(n)).sum::<f64>() + x[0].powi(n - 1)
}

#[test]
fn powi_with_a_run_time_exponent() {
    let x = [0.7, -1.3, 2.1];
    for n in [0, 1, 2, 3, -1, -2, 5] {
        check(
            "power_sum",
            |x: [f64; 3]| power_sum(&x, n),
            |x| {
                let (v, g) = power_sum_grad(&x, n);
                (v, <[f64; 3]>::try_from(g).unwrap())
            },
            x,
        );
    }
    // At 0 by hand: d/dx xⁿ = n·xⁿ⁻¹ is 0 for n = 0 (x⁰ = 1 everywhere), 1
    // for n = 1, 0 for n ≥ 2, and −∞ for n = −1 (the derivative itself).
    for (n, d) in [
        (0, 0.0),
        (1, 1.0),
        (2, 0.0),
        (3, 0.0),
        (-1, f64::NEG_INFINITY),
    ] {
        let (v, g) = power_only_grad(&[0.0, 1.0], n);
        assert_eq!(v.to_bits(), power_only(&[0.0, 1.0], n).to_bits());
        assert_eq!(g[0], d, "n = {n}");
    }
}

#[derive_grad]
fn power_only(x: &[f64], n: i32) -> f64 {
    x.iter().map(|v| v.powi(n)).sum::<f64>()
}

/// `assert!`s hold in the generated functions as in the original: checked
/// after the computation, and in a run-time branch only when it is taken.
#[derive_grad]
fn checked(w: [f64; 2]) -> f64 {
    assert!(w[0] > -10.0, "w[0] is out of range");
    let s = w[0] * w[1];
    if s > 100.0 {
        assert_eq!(w[1], 4.0);
        return s;
    }
    assert_ne!(s, 7.0);
    s.sin()
}

#[test]
fn assertions_hold_in_the_generated_functions() {
    check("checked", checked, checked_grad, [0.5, 2.0]);
    // Branch taken and its assertion holding: 26 · 4 > 100, and by hand
    // the gradient of w[0]·w[1] is (w[1], w[0]). (Not by finite
    // differences: moving w[1] off 4 fails the assertion.)
    assert_eq!(
        checked_grad([26.0, 4.0]),
        (checked([26.0, 4.0]), [4.0, 26.0])
    );
    for (w, panics) in [
        ([-11.0, 1.0], true),  // the first assertion
        ([30.0, 5.0], true),   // assert_eq! in the branch taken
        ([3.5, 2.0], true),    // assert_ne!: s = 7
        ([30.0, -5.0], false), // the branch's assertion is not reached
    ] {
        let original = std::panic::catch_unwind(|| checked(w)).is_err();
        let generated = std::panic::catch_unwind(|| checked_grad(w)).is_err();
        let companion = std::panic::catch_unwind(|| {
            let mut g = [0.0; 2];
            checked_grad_acc(w, &mut g)
        })
        .is_err();
        assert_eq!(original, panics, "{w:?}");
        assert_eq!((generated, companion), (panics, panics), "{w:?}");
    }
}
