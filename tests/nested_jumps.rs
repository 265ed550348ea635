//! `break` and `continue` nested in `if`s of a loop body (rewritten with a
//! flag into the form `if c { …; break; } rest`, `lower/jumps.rs`).
//! Checked through the macro: values bit for bit against the original,
//! gradients against central differences of the original, `jvp` and H·v
//! against the gradient and its central differences, at points on both
//! sides of every jump.

#![allow(
    clippy::needless_range_loop,
    clippy::collapsible_if,
    clippy::collapsible_else_if
)]

mod common;

use backprop::prelude::*;
use common::{assert_near, central_slice};

/// A `break` two `if`s deep, statements after it in both blocks.
#[derive_grad(jvp, hessian)]
fn nested_break(w: [f64; 6]) -> f64 {
    let mut s = 0.0;
    for i in 0..6 {
        if w[i] < 0.0 {
            if s > 1.0 {
                break;
            }
            s += 1.0;
        }
        s += w[i] * w[i];
    }
    s
}

/// `continue` and `break` in `else if` chains, over a slice in a `while`.
#[derive_grad(jvp, hessian)]
fn chains(x: &[f64], a: f64) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    while i < x.len() {
        let v = x[i] * a;
        i += 1;
        if v > 2.0 {
            s += v.sin();
            if s > 3.0 {
                break;
            } else if s < -3.0 {
                continue;
            }
            s *= 0.9;
        } else if v < -1.0 {
            continue;
        } else {
            if v.abs() < 0.1 {
                break;
            }
        }
        s += v * v;
    }
    s
}

/// An inner loop's `break` ends the inner loop only; the outer one has a
/// nested `continue`.
#[derive_grad]
fn inner_and_outer(w: [f64; 4], x: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for j in 0..4 {
        if x[j] > 0.0 {
            if w[j] < 0.0 {
                continue;
            }
        }
        let mut t = 0.0;
        for k in 0..4 {
            t += w[k] * x[(j + k) % 4];
            if t > 2.0 {
                if k > 1 {
                    break;
                }
            }
        }
        s += t.tanh();
    }
    s
}

#[test]
fn a_break_two_ifs_deep() {
    for w in [
        [0.5, -0.2, 0.9, -0.4, 0.3, 0.8],  // breaks at i = 3 (s > 1 by then)
        [0.1, -0.2, 0.1, -0.4, 0.1, -0.1], // never breaks
        [-0.5, 0.2, 1.3, 0.4, -0.3, 0.8],  // breaks at i = 4
        [2.0, -1.0, 0.0, 0.0, 0.0, 0.0],   // breaks at i = 1
    ] {
        let what = format!("w = {w:?}");
        let (v, g) = nested_break_grad(w);
        assert_eq!(v.to_bits(), nested_break(w).to_bits(), "{what}");
        let fd = central_slice(|y| nested_break(std::array::from_fn(|i| y[i])), &w);
        assert_near(&g, &fd, 1e-6, &format!("{what}: gradient"));
        let t = [0.3, -0.1, 0.2, 0.5, -0.4, 0.1];
        let (v2, dir) = nested_break_jvp(w, t);
        assert_eq!(v2.to_bits(), v.to_bits());
        let want: f64 = g.iter().zip(&t).map(|(a, b)| a * b).sum();
        assert!(
            (dir - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{what}: jvp"
        );
        let (_, _, h) = nested_break_hessian(w);
        // The iterations that ran to their end (the loop by hand).
        let mut ran = [false; 6];
        let mut s = 0.0;
        for i in 0..6 {
            if w[i] < 0.0 {
                if s > 1.0 {
                    break;
                }
                s += 1.0;
            }
            s += w[i] * w[i];
            ran[i] = true;
        }
        for r in 0..6 {
            // s is Σ w² over the iterations run (plus counts): H is 2 on the
            // diagonal up to the break, 0 after.
            for c in 0..6 {
                if r != c {
                    assert_eq!(h[r][c], 0.0, "{what}: H[{r}][{c}]");
                }
            }
            assert_eq!(
                h[r][r],
                if ran[r] { 2.0 } else { 0.0 },
                "{what}: H[{r}][{r}]"
            );
        }
    }
}

#[test]
fn jumps_in_else_if_chains_of_a_while() {
    for (x, a) in [
        (vec![1.2, 3.5, -0.9, 2.2, 0.05, 1.7], 1.0),
        (vec![1.2, 3.5, -0.9, 2.2, 0.5, 1.7, 4.0, 3.0], 1.3),
        (vec![-2.0, -3.0, 0.5], 0.9),
        (vec![], 1.0),
    ] {
        let what = format!("x = {x:?}, a = {a}");
        let (v, g) = chains_grad(&x, a);
        assert_eq!(v.to_bits(), chains(&x, a).to_bits(), "{what}");
        assert_near(
            &g,
            &central_slice(|y| chains(y, a), &x),
            1e-6,
            &format!("{what}: gradient"),
        );
        // H·v against central differences of the gradient.
        let t: Vec<f64> = (0..x.len()).map(|i| 0.2 - 0.1 * i as f64).collect();
        let (_, _, hv) = chains_hvp(&x, a, &t);
        let eps = 1e-6;
        let at = |s: f64| {
            let y: Vec<f64> = x.iter().zip(&t).map(|(p, q)| p + s * q).collect();
            chains_grad(&y, a).1
        };
        let (gp, gm) = (at(eps), at(-eps));
        let fd: Vec<f64> = gp
            .iter()
            .zip(&gm)
            .map(|(p, m)| (p - m) / (2.0 * eps))
            .collect();
        assert_near(&hv, &fd, 1e-5, &format!("{what}: H·t"));
    }
}

#[test]
fn an_inner_break_ends_only_the_inner_loop() {
    for (w, x) in [
        ([0.9, 0.8, 0.7, -0.2], [1.0, 1.5, -0.5, 2.0]),
        ([0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5]),
        ([1.5, 1.0, 0.9, 0.8], [2.0, -1.0, 1.0, 1.0]),
    ] {
        let what = format!("w = {w:?}, x = {x:?}");
        let (v, g) = inner_and_outer_grad(w, x);
        assert_eq!(v.to_bits(), inner_and_outer(w, x).to_bits(), "{what}");
        common::assert_grad(&what, &g, |w| inner_and_outer(w, x), w);
    }
}
