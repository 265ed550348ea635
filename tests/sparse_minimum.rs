//! The adjoint of a minimum or maximum taken in a loop reaches only the
//! candidate that won: the reverse of the loop computing a candidate runs
//! under `if` that candidate was selected (`reverse/skip.rs`), and the
//! forward sweep tapes the comparison's outcome, not the two values it
//! compared. Checked through the macro against hand-derived gradients
//! and Hessian-vector products, and central differences of the original:
//!
//! - k-means' cost (a nearest centroid per point), written with `fold`
//!   and with an explicit `if dist < closest`;
//! - a maximum written `best = if s <= best { best } else { s }` (the
//!   adjoint is `select(c, 0, ā)`: the guard is the negated comparison);
//! - ties (the first minimum wins, as in the original), a centroid no
//!   point is nearest to, a centroid at infinity, zero points.

mod common;

use backprop::prelude::*;

/// k-means' cost as GradBench states it, with iterators.
#[derive_grad(hessian)]
fn nearest_fold(centroids: &[f64], points: &[f64], d: usize) -> f64 {
    points
        .chunks(d)
        .map(|p| {
            centroids
                .chunks(d)
                .map(|c| p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum::<f64>())
                .fold(f64::INFINITY, |m, v| if v < m { v } else { m })
        })
        .sum()
}

/// The same cost with loops and an explicit `if`.
#[derive_grad(hessian)]
fn nearest_if(centroids: &[f64], points: &[f64], d: usize) -> f64 {
    let mut total = 0.0;
    for p in points.chunks(d) {
        let mut closest = f64::INFINITY;
        for c in centroids.chunks(d) {
            let dist: f64 = p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
            if dist < closest {
                closest = dist;
            }
        }
        total += closest;
    }
    total
}

/// The largest of `x.len() / k` window scores `Σₘ w[m]·x[j·k + m]`, then
/// squared, so that its Hessian is not zero.
#[derive_grad(hessian)]
fn max_window(w: &[f64], x: &[f64], k: usize) -> f64 {
    let mut best = f64::NEG_INFINITY;
    for j in 0..x.len() / k {
        let mut s = 0.0;
        for m in 0..k {
            s += w[m] * x[j * k + m];
        }
        best = if s <= best { best } else { s };
    }
    best * best
}

/// The index of each point's nearest centroid (the first of equals).
fn nearest_index(centroids: &[f64], points: &[f64], d: usize) -> Vec<usize> {
    points
        .chunks(d)
        .map(|p| {
            let mut best = (f64::INFINITY, usize::MAX);
            for (j, c) in centroids.chunks(d).enumerate() {
                let dist: f64 = p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
                if dist < best.0 {
                    best = (dist, j);
                }
            }
            best.1
        })
        .collect()
}

/// ∂cost/∂c_{jl} = Σ over the points nearest to j of 2(c_{jl} − p_{il}),
/// and (H·v)_{jl} = 2·(number of those points)·v_{jl}.
fn hand_kmeans(centroids: &[f64], points: &[f64], d: usize, v: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut grad = vec![0.0; centroids.len()];
    let mut hv = vec![0.0; centroids.len()];
    for (p, j) in points.chunks(d).zip(nearest_index(centroids, points, d)) {
        if j == usize::MAX {
            continue;
        }
        for l in 0..d {
            grad[j * d + l] += 2.0 * (centroids[j * d + l] - p[l]);
            hv[j * d + l] += 2.0 * v[j * d + l];
        }
    }
    (grad, hv)
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-12 * w.abs().max(1.0),
            "{what}, element {i}: {g:e} vs {w:e}"
        );
    }
}

/// A deterministic spread of numbers in [−2, 2).
fn data(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 4000) as f64 / 1000.0 - 2.0
        })
        .collect()
}

type KmeansGrad = fn(&[f64], &[f64], usize) -> (f64, Vec<f64>);
type KmeansHvp = fn(&[f64], &[f64], usize, &[f64]) -> (f64, Vec<f64>, Vec<f64>);

fn check_kmeans(name: &str, f: fn(&[f64], &[f64], usize) -> f64, grad: KmeansGrad, hvp: KmeansHvp) {
    for (k, n, d, seed) in [(1, 5, 2, 1), (3, 20, 2, 2), (10, 100, 8, 3), (4, 0, 3, 4)] {
        let centroids = data(k * d, seed);
        let points = data(n * d, seed + 100);
        let v = data(k * d, seed + 200);
        let what = format!("{name}, k = {k}, n = {n}, d = {d}");
        let (value, g) = grad(&centroids, &points, d);
        assert_eq!(
            value.to_bits(),
            f(&centroids, &points, d).to_bits(),
            "{what}: value"
        );
        let (want_g, want_hv) = hand_kmeans(&centroids, &points, d, &v);
        assert_close(&g, &want_g, &format!("{what}: gradient"));
        let (value_h, g_h, hv) = hvp(&centroids, &points, d, &v);
        assert_eq!(value_h.to_bits(), value.to_bits(), "{what}: value from hvp");
        assert_close(&g_h, &want_g, &format!("{what}: gradient from hvp"));
        assert_close(&hv, &want_hv, &format!("{what}: H·v"));
        // Central differences of the original (no point is near a tie
        // in these data, so the cost is smooth where it is probed).
        for i in 0..centroids.len() {
            let h = 1e-6;
            let at = |dx: f64| {
                let mut c = centroids.clone();
                c[i] += dx;
                f(&c, &points, d)
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (fd - g[i]).abs() <= 1e-6 * g[i].abs().max(1.0),
                "{what}: element {i}, central difference {fd:e} vs {:e}",
                g[i]
            );
        }
    }
}

#[test]
fn kmeans_cost_with_fold_against_the_hand_gradient_and_hessian() {
    check_kmeans("fold", nearest_fold, nearest_fold_grad, nearest_fold_hvp);
}

#[test]
fn kmeans_cost_with_if_against_the_hand_gradient_and_hessian() {
    check_kmeans("if", nearest_if, nearest_if_grad, nearest_if_hvp);
}

#[test]
fn the_first_of_equal_distances_gets_the_gradient() {
    // Two identical centroids: every point is equally near both, and the
    // original keeps the first (`dist < closest` is false for the second).
    let centroids = [0.5, -1.0, 0.5, -1.0, 3.0, 3.0];
    let points = [0.0, 0.0, 1.0, -2.0, 2.5, 3.5];
    for (name, grad) in [
        ("fold", nearest_fold_grad as KmeansGrad),
        ("if", nearest_if_grad),
    ] {
        let (_, g) = grad(&centroids, &points, 2);
        let (want, _) = hand_kmeans(&centroids, &points, 2, &[0.0; 6]);
        assert_close(&g, &want, name);
        assert_eq!(
            &g[2..4],
            &[0.0, 0.0],
            "{name}: the second of two equals gets nothing"
        );
    }
}

#[test]
fn a_centroid_at_infinity_or_nearest_to_nothing_gets_a_zero_gradient() {
    let centroids = [0.0, 0.0, f64::INFINITY, 1.0, 10.0, 10.0];
    let points = [0.5, 0.5, -1.0, 2.0];
    for (name, grad, hvp) in [
        (
            "fold",
            nearest_fold_grad as KmeansGrad,
            nearest_fold_hvp as KmeansHvp,
        ),
        ("if", nearest_if_grad, nearest_if_hvp),
    ] {
        let (value, g) = grad(&centroids, &points, 2);
        assert_eq!(value, 0.5 + 1.0 + 4.0, "{name}: value");
        assert_eq!(
            g,
            vec![
                2.0 * (0.0 - 0.5) + 2.0,
                2.0 * (0.0 - 0.5) - 4.0,
                0.0,
                0.0,
                0.0,
                0.0
            ],
            "{name}"
        );
        let (_, _, hv) = hvp(&centroids, &points, 2, &[1.0; 6]);
        assert_eq!(hv, vec![4.0, 4.0, 0.0, 0.0, 0.0, 0.0], "{name}: H·1");
    }
}

#[test]
fn a_maximum_written_with_its_negated_comparison() {
    for (k, windows, seed) in [(1, 1, 5), (3, 4, 6), (5, 9, 7)] {
        let w = data(k, seed);
        let x = data(k * windows, seed + 50);
        let v = data(k, seed + 60);
        let what = format!("k = {k}, {windows} windows");
        let (value, g) = max_window_grad(&w, &x, k);
        assert_eq!(
            value.to_bits(),
            max_window(&w, &x, k).to_bits(),
            "{what}: value"
        );
        // The winning window (the first of equals) and its score.
        let scores: Vec<f64> = x
            .chunks(k)
            .map(|row| row.iter().zip(&w).map(|(a, b)| a * b).sum())
            .collect();
        let mut j_best = 0;
        for j in 1..windows {
            if scores[j] > scores[j_best] {
                j_best = j;
            }
        }
        let row = &x[j_best * k..(j_best + 1) * k];
        let s = scores[j_best];
        let want_g: Vec<f64> = row.iter().map(|xm| 2.0 * s * xm).collect();
        assert_close(&g, &want_g, &format!("{what}: gradient"));
        // H = 2·x*·x*ᵀ for the winning row x*.
        let row_v: f64 = row.iter().zip(&v).map(|(a, b)| a * b).sum();
        let want_hv: Vec<f64> = row.iter().map(|xm| 2.0 * xm * row_v).collect();
        let (_, g_h, hv) = max_window_hvp(&w, &x, k, &v);
        assert_close(&g_h, &want_g, &format!("{what}: gradient from hvp"));
        assert_close(&hv, &want_hv, &format!("{what}: H·v"));
        common::assert_grad(
            &what,
            &<[f64; 1]>::try_from(&g[..1]).unwrap(),
            |w0: [f64; 1]| {
                let mut w = w.clone();
                w[0] = w0[0];
                max_window(&w, &x, k)
            },
            [w[0]],
        );
    }
}
