//! Ranges of slices bound to a name (`let row = &w[a..b];`), the row of a
//! matrix every user writes: read at indices, by `.len()`, through an
//! iterator chain, in a `for` loop, passed to another `#[derive_grad]`
//! function, and cut again (`&row[1..]`). Checked through the macro
//! against the original functions (values bit for bit), hand formulas
//! and central differences; a range bound in a loop that stays a loop and
//! in straight-line code, or picked by a run-time `if`; `jvp` and
//! `hessian` through ranges; a range that is never read; bad ranges and
//! reads past a range (inside the slice) panicking as the original does.

// The losses index slices in loops over ranges, the form the tests exercise.
#![allow(clippy::needless_range_loop)]

mod common;

use backprop::prelude::*;
use common::{assert_near, central_slice, panic_message, tanh_rows_by_hand};

fn sample(n: usize, seed: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + 1.0) * seed).sin() * 0.8)
        .collect()
}

/// `Σ_j tanh(w_j · x)`, each row `w_j` bound to a name and read at
/// indices, in a loop that stays a loop (run-time bounds).
#[derive_grad]
fn rows_indexed(w: &[f64], x: &[f64]) -> f64 {
    let d = x.len();
    let mut t = 0.0;
    for j in 0..w.len() / d {
        let row = &w[j * d..(j + 1) * d];
        let mut z = 0.0;
        for i in 0..row.len() {
            z += row[i] * x[i];
        }
        t += z.tanh();
    }
    t
}

/// The same, each row read by an iterator chain.
#[derive_grad]
fn rows_chained(w: &[f64], x: &[f64]) -> f64 {
    let d = x.len();
    let mut t = 0.0;
    for j in 0..w.len() / d {
        let row = &w[j * d..(j + 1) * d];
        t += row.iter().zip(x).map(|(a, b)| a * b).sum::<f64>().tanh();
    }
    t
}

#[derive_grad]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i] * b[i];
    }
    s
}

/// The same, each row passed to a helper.
#[derive_grad]
fn rows_helper(w: &[f64], x: &[f64]) -> f64 {
    let d = x.len();
    let mut t = 0.0;
    for j in 0..w.len() / d {
        let row = &w[j * d..(j + 1) * d];
        t += dot(row, x).tanh();
    }
    t
}

#[test]
fn a_row_bound_to_a_name_in_a_rolled_loop() {
    let (rows, d) = (6, 5);
    let (w, x) = (sample(rows * d, 0.37), sample(d, 1.13));
    let (hand_value, hand) = tanh_rows_by_hand(&w, &x);
    type Grad = fn(&[f64], &[f64]) -> (f64, Vec<f64>);
    type Original = fn(&[f64], &[f64]) -> f64;
    let losses: [(&str, Original, Grad); 3] = [
        ("indexed", rows_indexed, rows_indexed_grad),
        ("chained", rows_chained, rows_chained_grad),
        ("helper", rows_helper, rows_helper_grad),
    ];
    for (what, original, grad) in losses {
        let (v, g) = grad(&w, &x);
        assert_eq!(v.to_bits(), original(&w, &x).to_bits(), "{what}: value");
        assert!((v - hand_value).abs() < 1e-14, "{what}: value by hand");
        assert_near(&g, &hand, 1e-14, &format!("{what}: by hand"));
        assert_near(
            &g,
            &central_slice(|w| original(w, &x), &w),
            1e-8,
            &format!("{what}: central differences"),
        );
    }
}

/// Straight-line code: a range of a range (`&head[1..]`), a range read
/// at literal indices, open ranges, and a range of a fixed-size array.
#[derive_grad(jvp, hessian)]
fn nested(w: &[f64], v: [f64; 4]) -> f64 {
    let head = &w[..4];
    let tail = &head[1..];
    let ends = &v[1..3];
    head[0] * tail[2] + tail[0] * tail[0] * tail.len() as f64 + ends[0] * ends[1] * w[4]
}

#[test]
fn ranges_of_ranges_and_of_arrays() {
    let w = sample(6, 0.71);
    let v = [0.3, -1.1, 0.6, 2.0];
    let (value, g) = nested_grad(&w, v);
    assert_eq!(value.to_bits(), nested(&w, v).to_bits());
    // By hand: head = w[0..4], tail = w[1..4], ends = v[1..3]:
    // w0·w3 + 3·w1² + v1·v2·w4.
    let mut hand = vec![0.0; 6];
    hand[0] = w[3];
    hand[3] = w[0];
    hand[1] = 6.0 * w[1];
    hand[4] = v[1] * v[2];
    assert_near(&g, &hand, 1e-14, "nested: by hand");
    assert_near(
        &g,
        &central_slice(|w| nested(w, v), &w),
        1e-8,
        "nested: central differences",
    );
    // Forward mode along t, and H (row-major, 6 × 6): by hand, the only
    // entries are H[0][3] = H[3][0] = 1 and H[1][1] = 6.
    let t = sample(6, 1.9);
    let (jv, dir) = nested_jvp(&w, v, &t);
    assert_eq!(jv.to_bits(), value.to_bits());
    let want: f64 = g.iter().zip(&t).map(|(g, t)| g * t).sum();
    assert!((dir - want).abs() < 1e-14, "jvp: {dir} vs {want}");
    let mut hand_h = vec![0.0; 36];
    hand_h[3] = 1.0;
    hand_h[3 * 6] = 1.0;
    hand_h[6 + 1] = 6.0;
    let (hv_value, hv_grad, h) = nested_hessian(&w, v);
    assert_eq!(hv_value.to_bits(), value.to_bits());
    assert_near(&hv_grad, &g, 0.0, "hessian: its gradient");
    assert_near(&h, &hand_h, 0.0, "hessian: by hand");
    let (_, _, hv) = nested_hvp(&w, v, &t);
    let hand_hv: Vec<f64> = (0..6)
        .map(|i| (0..6).map(|j| hand_h[i * 6 + j] * t[j]).sum())
        .collect();
    assert_near(&hv, &hand_hv, 1e-15, "hvp: by hand");
}

/// A range picked by a run-time `if` between two ranges of one slice:
/// where it starts and its length chosen at run time, each branch's
/// range checked only when that branch is taken.
#[derive_grad]
fn picked(w: &[f64], first: bool) -> f64 {
    let half = w.len() / 2;
    let part = if first { &w[..half] } else { &w[half..] };
    let mut s = 0.0;
    for i in 0..part.len() {
        s += (i as f64 + 1.0) * part[i] * part[i];
    }
    s
}

#[test]
fn a_range_picked_at_run_time() {
    let w = sample(7, 0.61);
    for first in [true, false] {
        let (v, g) = picked_grad(&w, first);
        assert_eq!(v.to_bits(), picked(&w, first).to_bits());
        let start = if first { 0 } else { 3 };
        let len = if first { 3 } else { 4 };
        let mut hand = vec![0.0; 7];
        for i in 0..len {
            hand[start + i] = 2.0 * (i as f64 + 1.0) * w[start + i];
        }
        assert_near(&g, &hand, 1e-15, &format!("picked {first}: by hand"));
        assert_near(
            &g,
            &central_slice(|w| picked(w, first), &w),
            1e-8,
            &format!("picked {first}: central differences"),
        );
    }
}

/// A range bound in a loop and cut at a run-time offset, read in a
/// nested loop; `x` too is read through a range.
#[derive_grad]
fn windows_sum(w: &[f64], x: &[f64], k: usize) -> f64 {
    let mut s = 0.0;
    for start in 0..w.len() - k + 1 {
        let window = &w[start..start + k];
        let weights = &x[..k];
        let mut z = 0.0;
        for i in 0..k {
            z += window[i] * weights[i];
        }
        s += z * z;
    }
    s
}

#[test]
fn windows_bound_to_a_name() {
    let (n, k) = (9, 3);
    let (w, x) = (sample(n, 0.29), sample(5, 0.83));
    let (v, g) = windows_sum_grad(&w, &x, k);
    assert_eq!(v.to_bits(), windows_sum(&w, &x, k).to_bits());
    let mut hand = vec![0.0; n];
    for start in 0..n - k + 1 {
        let z: f64 = (0..k).map(|i| w[start + i] * x[i]).sum();
        for i in 0..k {
            hand[start + i] += 2.0 * z * x[i];
        }
    }
    assert_near(&g, &hand, 1e-14, "windows: by hand");
    assert_near(
        &g,
        &central_slice(|w| windows_sum(w, &x, k), &w),
        1e-8,
        "windows: central differences",
    );
}

/// A range read at `j`, which may be past the range while still inside
/// the slice; and a range that is never read.
#[derive_grad]
fn read_past(w: &[f64], a: usize, b: usize, j: usize) -> f64 {
    let row = &w[a..b];
    #[allow(unused_variables)]
    let unread = &w[b..a + 4];
    row[j] * row[0]
}

/// A range taken in a loop that stays a loop and never read: checked
/// still (`let _ = &w[..n];` is how users state a bound).
#[derive_grad(jvp, hvp)]
fn unread_in_a_loop(w: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        let _ = &w[i..i + 2];
        s += w[i] * w[i];
    }
    s
}

/// A loop over a range that may run past its end (inside the slice):
/// the loop through the rows without checks must not be taken then.
#[derive_grad(jvp, hvp)]
fn loop_past(w: &[f64], n: usize) -> f64 {
    let head = &w[..3];
    let mut s = 0.0;
    for i in 0..n {
        s += head[i] * head[i];
    }
    s
}

#[test]
fn bad_ranges_and_reads_past_a_range_panic_as_the_original_does() {
    let w = sample(8, 0.3);
    let (v, g) = read_past_grad(&w, 1, 3, 1);
    assert_eq!(v.to_bits(), read_past(&w, 1, 3, 1).to_bits());
    let mut hand = vec![0.0; 8];
    hand[2] = w[1];
    hand[1] = w[2];
    assert_near(&g, &hand, 1e-15, "read_past: by hand");
    // Past the range (index 2 of w[1..3]) though inside w; a range whose
    // end comes before its start; one past the slice's end; and a range
    // never read whose end comes before its start.
    for (a, b, j, expected) in [
        (
            1,
            3,
            2,
            "index out of bounds: the len is 2 but the index is 2",
        ),
        (3, 2, 0, "slice index starts at 3 but ends at 2"),
        (
            2,
            9,
            0,
            "range end index 9 out of range for slice of length 8",
        ),
        (1, 6, 0, "slice index starts at 6 but ends at 5"),
    ] {
        let original = panic_message(|| read_past(&sample(8, 0.3), a, b, j));
        assert!(original.contains(expected), "{original}");
        let generated = panic_message(|| read_past_grad(&sample(8, 0.3), a, b, j).0);
        assert_eq!(generated, original, "a={a} b={b} j={j}");
    }
    assert_eq!(
        unread_in_a_loop_grad(&w, 7).0.to_bits(),
        unread_in_a_loop(&w, 7).to_bits()
    );
    let original = panic_message(|| unread_in_a_loop(&sample(8, 0.3), 8));
    assert!(
        original.contains("range end index 9 out of range for slice of length 8"),
        "{original}"
    );
    let generated = panic_message(|| unread_in_a_loop_grad(&sample(8, 0.3), 8).0);
    assert_eq!(generated, original, "unread in a loop");
    let (v, g) = loop_past_grad(&w, 3);
    assert_eq!(v.to_bits(), loop_past(&w, 3).to_bits());
    let hand: Vec<f64> = (0..8)
        .map(|i| if i < 3 { 2.0 * w[i] } else { 0.0 })
        .collect();
    assert_near(&g, &hand, 0.0, "loop_past: by hand");
    let original = panic_message(|| loop_past(&sample(8, 0.3), 4));
    assert!(
        original.contains("index out of bounds: the len is 3 but the index is 3"),
        "{original}"
    );
    let generated = panic_message(|| loop_past_grad(&sample(8, 0.3), 4).0);
    assert_eq!(generated, original, "a loop past the range");
}

/// A network whose weights are `Vec` fields of a `#[derive(Params)]`
/// struct: its rows bound to names, and passed as ranges to a helper.
#[derive(Params, Clone, Debug, PartialEq)]
struct Layer {
    w: Vec<f64>,
    b: Vec<f64>,
}

#[derive_grad]
fn layer_loss(net: &Layer, x: &[f64]) -> f64 {
    let d = x.len();
    let mut t = 0.0;
    for j in 0..net.b.len() {
        let row = &net.w[j * d..(j + 1) * d];
        let mut z = net.b[j];
        for i in 0..row.len() {
            z += row[i] * x[i];
        }
        t += z.tanh() + 0.5 * dot(&net.w[j * d..(j + 1) * d], x);
    }
    t
}

#[test]
fn rows_of_a_struct_field() {
    let (rows, d) = (4, 3);
    let net = Layer {
        w: sample(rows * d, 0.47),
        b: sample(rows, 1.7),
    };
    let x = sample(d, 0.9);
    let (v, g) = layer_loss_grad(&net, &x);
    assert_eq!(v.to_bits(), layer_loss(&net, &x).to_bits());
    // By hand: t = Σ_j tanh(b_j + w_j·x) + ½ w_j·x.
    let mut hand = Layer {
        w: vec![0.0; rows * d],
        b: vec![0.0; rows],
    };
    for j in 0..rows {
        let z = net.b[j] + (0..d).map(|i| net.w[j * d + i] * x[i]).sum::<f64>();
        let dz = 1.0 - z.tanh() * z.tanh();
        hand.b[j] = dz;
        for i in 0..d {
            hand.w[j * d + i] = (dz + 0.5) * x[i];
        }
    }
    assert_near(&g.w, &hand.w, 1e-14, "struct field rows: w by hand");
    assert_near(&g.b, &hand.b, 1e-14, "struct field rows: b by hand");
    let fd = central_slice(
        |w| {
            let n = Layer {
                w: w.to_vec(),
                b: net.b.clone(),
            };
            layer_loss(&n, &x)
        },
        &net.w,
    );
    assert_near(&g.w, &fd, 1e-8, "struct field rows: central differences");
}

/// A range taken and read in a loop that stays a loop.
#[derive_grad(jvp, hvp)]
fn pairs_in_a_loop(w: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        let pair = &w[i..i + 2];
        s += pair[0] * pair[1];
    }
    s
}

/// Forward mode rebuilds a loop to carry tangents; the ranges the loop
/// takes are checked in the rebuilt loop (read or not), so `NAME_jvp` and
/// `NAME_hvp` panic where the original does, with its message, and return
/// its value where it returns.
#[test]
fn forward_mode_checks_ranges_as_the_original_does() {
    let w = sample(8, 0.3);
    let t = sample(8, 1.1);
    let (v, d) = loop_past_jvp(&w, 3, &t);
    assert_eq!(v.to_bits(), loop_past(&w, 3).to_bits());
    let hand: f64 = (0..3).map(|i| 2.0 * w[i] * t[i]).sum();
    assert!((d - hand).abs() <= 1e-15, "{d} vs {hand}");
    let (v, g, hv) = loop_past_hvp(&w, 3, &t);
    assert_eq!(v.to_bits(), loop_past(&w, 3).to_bits());
    for i in 0..8 {
        let (gi, hi) = if i < 3 {
            (2.0 * w[i], 2.0 * t[i])
        } else {
            (0.0, 0.0)
        };
        assert_eq!((g[i], hv[i]), (gi, hi), "loop_past_hvp at {i}");
    }
    let (v, d) = unread_in_a_loop_jvp(&w, 7, &t);
    assert_eq!(v.to_bits(), unread_in_a_loop(&w, 7).to_bits());
    let hand: f64 = (0..7).map(|i| 2.0 * w[i] * t[i]).sum();
    assert!((d - hand).abs() <= 1e-15, "{d} vs {hand}");
    let (v, d) = pairs_in_a_loop_jvp(&w, 7, &t);
    assert_eq!(v.to_bits(), pairs_in_a_loop(&w, 7).to_bits());
    let hand: f64 = (0..7).map(|i| t[i] * w[i + 1] + w[i] * t[i + 1]).sum();
    assert!((d - hand).abs() <= 1e-15, "{d} vs {hand}");
    let (v, _, hv) = pairs_in_a_loop_hvp(&w, 7, &t);
    assert_eq!(v.to_bits(), pairs_in_a_loop(&w, 7).to_bits());
    for j in 0..8 {
        let hand = if j < 7 { t[j + 1] } else { 0.0 } + if j >= 1 { t[j - 1] } else { 0.0 };
        assert_eq!(hv[j], hand, "pairs_in_a_loop_hvp at {j}");
    }
    let original = panic_message(|| pairs_in_a_loop(&sample(8, 0.3), 8));
    assert!(original.contains("out of range"), "{original}");
    let jvp = panic_message(|| pairs_in_a_loop_jvp(&sample(8, 0.3), 8, &sample(8, 1.1)).0);
    let hvp = panic_message(|| pairs_in_a_loop_hvp(&sample(8, 0.3), 8, &sample(8, 1.1)).0);
    assert_eq!((&jvp, &hvp), (&original, &original), "a pair past the end");
    let original = panic_message(|| loop_past(&sample(8, 0.3), 4));
    let jvp = panic_message(|| loop_past_jvp(&sample(8, 0.3), 4, &sample(8, 1.1)).0);
    let hvp = panic_message(|| loop_past_hvp(&sample(8, 0.3), 4, &sample(8, 1.1)).0);
    assert_eq!(
        (&jvp, &hvp),
        (&original, &original),
        "a loop past the range"
    );
    let original = panic_message(|| unread_in_a_loop(&sample(8, 0.3), 8));
    assert!(original.contains("out of range"), "{original}");
    let jvp = panic_message(|| unread_in_a_loop_jvp(&sample(8, 0.3), 8, &sample(8, 1.1)).0);
    let hvp = panic_message(|| unread_in_a_loop_hvp(&sample(8, 0.3), 8, &sample(8, 1.1)).0);
    assert_eq!((&jvp, &hvp), (&original, &original), "unread in a loop");
}
