//! `while` loops, `break` and `continue`, through the real macro. A loop
//! that may stop early counts its iterations; its reverse runs that many,
//! in reverse. Values must equal the original's bit for bit and gradients
//! match finite differences of the original (tests/common), or a
//! hand-derived formula.

#![allow(clippy::needless_range_loop)]

mod common;

use backprop::prelude::*;
use common::check;

/// Newton's iteration for √a, run until it converges.
#[derive_grad]
fn newton_sqrt(a: f64) -> f64 {
    let mut x = a;
    while (x * x - a).abs() > 1e-12 * a {
        x = 0.5 * (x + a / x);
    }
    x
}

#[test]
fn a_while_loop_runs_until_its_condition_fails() {
    for a in [0.5, 2.0, 9.0, 1e6] {
        let (v, g) = newton_sqrt_grad(a);
        assert_eq!(v.to_bits(), newton_sqrt(a).to_bits());
        // The derivative of the converged iteration is that of √a.
        let exact = 0.5 / a.sqrt();
        assert!((g - exact).abs() <= 1e-9 * exact, "a = {a}: {g} vs {exact}");
    }
}

/// Zero iterations: the condition fails at once.
#[derive_grad]
fn grow(x0: f64, r: f64, limit: f64) -> f64 {
    let mut x = x0;
    while x < limit {
        x = x * r + 0.1;
    }
    x * x
}

#[test]
fn a_while_loop_that_runs_zero_or_many_times() {
    for (x0, limit) in [(5.0, 1.0), (0.3, 1.0), (0.3, 50.0)] {
        check(
            "grow",
            |v: [f64; 2]| grow(v[0], v[1], limit),
            |v| {
                let (value, g) = grow_grad_all(v[0], v[1], limit);
                (value, g)
            },
            [x0, 1.7],
        );
    }
}

#[derive_grad(wrt(x0, r))]
fn grow_all(x0: f64, r: f64, limit: f64) -> f64 {
    grow(x0, r, limit)
}

fn grow_grad_all(x0: f64, r: f64, limit: f64) -> (f64, [f64; 2]) {
    let (v, (gx, gr)) = grow_all_grad(x0, r, limit);
    assert_eq!(v.to_bits(), grow_all(x0, r, limit).to_bits());
    (v, [gx, gr])
}

/// `continue` skips negative entries, `break` stops past a threshold.
#[derive_grad]
fn first_big(w: &[f64], t: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() {
        if w[i] < 0.0 {
            continue;
        }
        s += w[i] * w[i];
        if s > t {
            break;
        }
    }
    s
}

#[test]
fn continue_and_break_in_a_loop_over_a_slice() {
    let w = [0.5, -1.0, 0.8, 1.2, -0.3, 2.0, 0.1];
    // Breaks after w[3], after w[5], never; and an empty slice.
    for t in [1.5, 3.0, 100.0] {
        check(
            "first_big",
            |w: [f64; 7]| first_big(&w, t),
            |w| {
                let (v, g) = first_big_grad(&w, t);
                (v, <[f64; 7]>::try_from(g).unwrap())
            },
            w,
        );
    }
    let (v, g) = first_big_grad(&[], 1.0);
    assert_eq!((v, g), (first_big(&[], 1.0), Vec::new()));
}

/// `break` in a reversed inclusive range: the reverse must visit exactly
/// the indices the forward loop did, in reverse.
#[derive_grad]
fn tail_product(w: &[f64; 12], n: usize, stop: f64) -> f64 {
    let mut p = 1.0;
    for i in (2..=n).rev() {
        p *= w[i] + i as f64 * 0.1;
        if p.abs() > stop {
            break;
        }
    }
    p
}

#[test]
fn break_in_a_reversed_inclusive_range() {
    let w: [f64; 12] = std::array::from_fn(|i| 0.9 + ((i * 5) % 7) as f64 * 0.1);
    for (n, stop) in [(11, 2.0), (11, 1e9), (2, 0.5), (1, 1.0)] {
        check(
            "tail_product",
            |w| tail_product(&w, n, stop),
            |w| tail_product_grad(&w, n, stop),
            w,
        );
    }
}

/// A short literal loop with `break` stays a loop (where it stops is known
/// only at run time); `continue` in a short loop that is unrolled.
#[derive_grad]
fn short_loops(x: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        s += x[i].exp();
        if s > 3.0 {
            break;
        }
    }
    let mut t = 0.0;
    for i in 0..4 {
        if x[i] > 0.5 {
            continue;
        }
        t += x[i] * s;
    }
    s + t
}

#[test]
fn break_and_continue_in_short_literal_loops() {
    for x in [
        [0.1, 0.2, 0.3, 0.4],
        [0.9, 0.1, 0.2, 0.7],
        [-1.0, 2.0, 0.3, 0.0],
    ] {
        check("short_loops", short_loops, short_loops_grad, x);
    }
}

/// A `while` that would never end if it ran when the original skips it.
#[derive_grad]
fn guarded_while(x0: f64, k: f64) -> f64 {
    let mut x = x0;
    if k > 1.5 {
        while x < 100.0 {
            x *= k;
        }
    }
    x * k
}

#[test]
fn a_loop_inside_a_branch_runs_only_when_the_branch_is_taken() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        tx.send((guarded_while_grad(2.0, 1.0), guarded_while_grad(2.0, 3.0)))
            .unwrap()
    });
    let ((v1, g1), (v3, g3)) = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the generated function returns (the loop is skipped with the branch)");
    assert_eq!(v1, guarded_while(2.0, 1.0));
    assert_eq!(g1, 1.0);
    assert_eq!(v3, guarded_while(2.0, 3.0));
    // x = x0·3⁴ = 162 after four steps; value x·k = x0·k⁵: ∂/∂x0 = k⁵.
    assert_eq!(g3, 243.0);
}

/// `continue` on a condition known at compile time in an unrolled loop.
#[derive_grad]
fn skip_second(w: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        if i == 2 {
            continue;
        }
        s += w[i] * w[i];
    }
    s
}

#[test]
fn continue_on_a_compile_time_condition() {
    let w = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(skip_second_grad(w), (skip_second(w), [2.0, 4.0, 0.0, 8.0]));
}

/// An integer counter carried by a `while` loop, used as an index.
#[derive_grad]
fn count_up(w: &[f64], n: usize) -> f64 {
    let mut i = 0;
    let mut s = 0.0;
    while i < n {
        s = (s + w[i]).sin();
        i += 2;
    }
    s
}

/// Integers carried by a `for` loop: a second index and a running count.
#[derive_grad]
fn strided(w: &[f64; 9], n: usize) -> f64 {
    let mut j = 1;
    let mut count = 0;
    let mut s = 0.0;
    for i in 0..n {
        s += w[i] * w[j];
        j = (j * 4 + 1) % 9;
        count += i;
    }
    s * (count as f64)
}

#[test]
fn integers_changed_by_a_loop_are_recorded_for_the_reverse() {
    let w: [f64; 9] = std::array::from_fn(|i| (i as f64 * 0.7).sin() + 0.2);
    for n in [0, 1, 5, 9] {
        check(
            "count_up",
            |w: [f64; 9]| count_up(&w, n),
            |w| {
                let (v, g) = count_up_grad(&w, n);
                (v, <[f64; 9]>::try_from(g).unwrap())
            },
            w,
        );
        check("strided", |w| strided(&w, n), |w| strided_grad(&w, n), w);
    }
}

/// A `while` inside a loop that stays a loop: each outer iteration runs it
/// its own number of times (0 for some), recorded for the reverse.
#[derive_grad]
fn halve_each(w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() {
        let mut x = w[i];
        while x > 1.0 {
            x = (x * 0.5).sin() + x * 0.3;
        }
        s += x * x * w[i];
    }
    s
}

/// A `while` with a `break`, inside a `while`, reading the outer loop's
/// carried value and writing one of its own.
#[derive_grad]
fn nested_whiles(x: f64, n: usize) -> f64 {
    let mut y = x;
    let mut k = 0;
    while k < n {
        let mut z = y;
        let mut m = 0;
        while m < k + 2 {
            z = z * 0.9 + (y * z).sin();
            if z > 3.0 {
                break;
            }
            m += 1;
        }
        y = y * 0.5 + z.tanh();
        k += 1;
    }
    y
}

#[test]
fn while_loops_inside_loops_that_stay_loops() {
    let w = [0.5, 3.0, 1.5, 9.0, -2.0, 1.01];
    check(
        "halve_each",
        |w: [f64; 6]| halve_each(&w),
        |w: [f64; 6]| {
            let (v, g) = halve_each_grad(&w);
            (v, <[f64; 6]>::try_from(g.as_slice()).unwrap())
        },
        w,
    );
    for n in [0, 1, 4] {
        for x in [0.3, 2.5, -1.2] {
            check(
                "nested_whiles",
                |x| nested_whiles(x, n),
                |x| nested_whiles_grad(x, n),
                x,
            );
        }
    }
}

/// A `for` loop that can `break`, inside a loop that stays a loop, using its
/// variable (a reversed inclusive range not starting at 0): the variable is
/// recorded per iteration, the trip count per outer iteration.
#[derive_grad]
fn nested_breaks(w: &[f64; 8], n: usize) -> f64 {
    let mut s = 0.0;
    for r in 0..n {
        let mut x = w[r % 8];
        for k in (2..=7).rev() {
            if x > 4.0 {
                break;
            }
            x = x * 1.3 + w[k] * (k as f64);
        }
        s += x.sin();
    }
    s
}

#[test]
fn a_loop_that_breaks_inside_a_loop_that_stays_a_loop() {
    let w = [0.5, -0.3, 0.2, 0.8, -0.1, 0.4, 0.05, 0.3];
    for n in [0, 1, 9] {
        check(
            "nested_breaks",
            |w| nested_breaks(&w, n),
            |w| nested_breaks_grad(&w, n),
            w,
        );
    }
    // Some outer iterations break early, some run the whole range.
    let w = [3.9, 0.1, 0.0, 0.01, 0.02, 0.0, 0.0, 0.0];
    check(
        "nested_breaks",
        |w| nested_breaks(&w, 3),
        |w| nested_breaks_grad(&w, 3),
        w,
    );
}
