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
/// summed. Flat row-major arrays: `centroids[j·d + l]`, `points[i·d + l]`.
#[derive_grad(hessian)]
pub fn kmeans_cost(centroids: &[f64], points: &[f64], n: usize, k: usize, d: usize) -> f64 {
    let mut cost = 0.0;
    for i in 0..n {
        let mut closest = f64::INFINITY;
        for j in 0..k {
            let mut dist = 0.0;
            for l in 0..d {
                let t = points[i * d + l] - centroids[j * d + l];
                dist += t * t;
            }
            closest = closest.min(dist);
        }
        cost += closest;
    }
    cost
}

/// `dir`: J ⊘ diag(H), row by row (`k` rows of `d`). H is diagonal, so
/// its diagonal is H·1: one Hessian-vector product, which comes with J.
pub fn kmeans_dir(centroids: &[f64], points: &[f64], n: usize, k: usize, d: usize) -> Vec<f64> {
    let ones = vec![1.0; centroids.len()];
    let (_, j, h) = kmeans_cost_hvp(centroids, points, n, k, d, &ones);
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
    let (n, k) = (points.len(), centroids.len());
    let d = points.first().map_or(0, Vec::len);
    if points.iter().chain(&centroids).any(|p| p.len() != d) {
        return Err("points and centroids must all have the same dimension".into());
    }
    let (points, centroids) = (points.concat(), centroids.concat());
    let runs = Runs::of(input);
    match function {
        "cost" => {
            let (v, timings) = measure(runs, || kmeans_cost(&centroids, &points, n, k, d));
            Ok(Evaluated {
                output: json!(v),
                timings,
            })
        }
        "dir" => {
            let (dir, timings) = measure(runs, || kmeans_dir(&centroids, &points, n, k, d));
            Ok(Evaluated {
                output: json!(dir.chunks(d.max(1)).collect::<Vec<_>>()),
                timings,
            })
        }
        _ => Err(unknown_function("kmeans", function)),
    }
}
