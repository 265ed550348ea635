//! `kmeans`: the k-means cost f(P, C) = Σᵢ minⱼ ‖Cⱼ − Pᵢ‖² and, from
//! `#[derive_grad]`, its gradient with respect to the centroids C.
//!
//! The eval's `dir` is J·H⁻¹ with H the Hessian, which is diagonal (the
//! cost is a sum of squares of one coordinate each, whichever centroid is
//! nearest): H's diagonal is therefore H·1, one Hessian-vector product
//! from `#[derive_grad(hessian)]`'s `kmeans_cost_hvp` (reverse mode over
//! forward mode through the loops), which returns J with it.

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

/// `dir`: J ⊘ diag(H), row by row (`k` rows of `d`). H is diagonal, so
/// its diagonal is H·1: one Hessian-vector product, which comes with J.
pub fn kmeans_dir(centroids: &[f64], points: &[f64], d: usize) -> Vec<f64> {
    let ones = vec![1.0; centroids.len()];
    let (_, j, h) = kmeans_cost_hvp(centroids, points, d, &ones);
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
