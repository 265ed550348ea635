//! `kmeans`: the k-means cost f(P, C) = Σᵢ minⱼ ‖Cⱼ − Pᵢ‖² and, from
//! `#[derive_grad]`, its gradient with respect to the centroids C.
//!
//! The eval's `dir` is J·H⁻¹ with H the Hessian, which is diagonal (the
//! cost is a sum of squares of one coordinate each, whichever centroid is
//! nearest): H's diagonal is therefore H·1, one Hessian-vector product
//! from `#[derive_grad(hessian)]`'s `NAME_hvp` (reverse mode over forward
//! mode through the loops), which returns J with it.
//!
//! The cost is written twice, as upstream writes it twice: `cost` answers
//! with the minimum taken by a fold ([`kmeans_cost`], upstream's
//! `objective`), and `dir` differentiates the same sum written as a
//! search for the nearest centroid's index followed by the distance to it
//! ([`kmeans_nearest_cost`], upstream's `manual` `dir`). Both give the
//! same value, gradient and H (a test checks it bit for bit). They cost
//! the same to evaluate, but not to differentiate: the fold's minimum is
//! a chain of selects, whose reverse walks every candidate again (a tape
//! bit each, the distance loop re-run under `if` for each candidate that
//! was the minimum so far); the index is an integer, which needs no
//! derivative, so the reverse reads one row per point.

use crate::timing::{measure, Runs};
use crate::{parse, unknown_function, Evaluated};
use backprop::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

/// The cost: every point's squared distance to its nearest centroid,
/// summed. Flat row-major arrays of rows of `d`: `centroids` and `points`
/// cut into rows by `chunks_exact(d)`, as a Rust user writes it. The
/// iterators read the rows without bounds checks, where indexing
/// `points[i·d + l]` checks every read and took twice as long. Every row
/// is whole, so `chunks_exact` cuts the same rows as `chunks`, with bounds
/// by a multiplication where `chunks` takes a minimum (one harness run
/// each: the cost 5–6% faster, `dir` 14–23%). The minimum is a comparison,
/// as upstream's `std::min` (a NaN distance is never the nearest), not
/// `f64::min`, whose NaN handling costs two more instructions per centroid.
#[derive_grad(hessian)]
pub fn kmeans_cost(centroids: &[f64], points: &[f64], d: usize) -> f64 {
    points
        .chunks_exact(d)
        .map(|p| {
            centroids
                .chunks_exact(d)
                .map(|c| p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum::<f64>())
                .fold(f64::INFINITY, |m, v| if v < m { v } else { m })
        })
        .sum()
}

/// [`kmeans_cost`] as `dir` differentiates it: each point's nearest
/// centroid found first, by its index (a comparison keeps the first of
/// equal distances, and never takes a NaN one, as the fold does), then the
/// squared distance to that centroid added: d more operations per point.
/// The rows are cut by `chunks_exact` as in [`kmeans_cost`]: indexing
/// `&centroids[j * d..(j + 1) * d]` instead made `NAME_hvp` 10% slower at
/// k = 100 (a row's length is then not known to be `d`).
/// Where some distance of each point is a number, its value is
/// [`kmeans_cost`]'s (the same distances, summed in the same order; only
/// a total of zero may differ, in its sign); a point all of whose
/// distances are NaN adds NaN here and ∞ there. It needs a centroid.
#[derive_grad(hessian)]
pub fn kmeans_nearest_cost(centroids: &[f64], points: &[f64], d: usize) -> f64 {
    let mut total = 0.0;
    for p in points.chunks_exact(d) {
        let mut nearest = 0;
        let mut closest = f64::INFINITY;
        for (j, c) in centroids.chunks_exact(d).enumerate() {
            let dist: f64 = p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
            if dist < closest {
                closest = dist;
                nearest = j;
            }
        }
        let c = &centroids[nearest * d..(nearest + 1) * d];
        total += p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
    }
    total
}

/// `dir`: J ⊘ diag(H), row by row (`k` rows of `d`). H is diagonal, so
/// its diagonal is H·1: one Hessian-vector product, which comes with J.
pub fn kmeans_dir(centroids: &[f64], points: &[f64], d: usize) -> Vec<f64> {
    if centroids.is_empty() {
        return Vec::new();
    }
    let ones = vec![1.0; centroids.len()];
    let (_, j, h) = kmeans_nearest_cost_hvp(centroids, points, d, &ones);
    j.iter().zip(&h).map(|(j, h)| j / h).collect()
}

/// The eval's `KMeansInput` (without the `Runs` fields).
#[derive(Deserialize)]
struct Input {
    points: Vec<Vec<f64>>,
    centroids: Vec<Vec<f64>>,
}

/// Answers `cost` and `dir`.
pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, String> {
    let Input { points, centroids } = parse(input)?;
    let d = points.first().map_or(0, Vec::len);
    if points.iter().chain(&centroids).any(|p| p.len() != d) {
        return Err("points and centroids must all have the same dimension".into());
    }
    if d == 0 {
        return Err("points must have at least one coordinate".into());
    }
    let (points, centroids) = (points.concat(), centroids.concat());
    let runs = Runs::of(input);
    match function {
        "cost" => {
            let (v, timings) = measure(runs, || kmeans_cost(&centroids, &points, d));
            Ok(Evaluated {
                output: json!(v),
                timings,
            })
        }
        "dir" => {
            let (dir, timings) = measure(runs, || kmeans_dir(&centroids, &points, d));
            Ok(Evaluated {
                output: json!(dir.chunks(d).collect::<Vec<_>>()),
                timings,
            })
        }
        _ => Err(unknown_function("kmeans", function)),
    }
}
