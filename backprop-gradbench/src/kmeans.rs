//! `kmeans`: the k-means cost f(P, C) = Σᵢ minⱼ ‖Cⱼ − Pᵢ‖² and, from
//! `#[derive_grad]`, its gradient with respect to the centroids C.
//!
//! The eval's `dir` is J·H⁻¹ with H the Hessian's diagonal: a second
//! derivative, which `#[derive_grad]` does not generate (no `hessian`/`jvp`
//! option, and a generated `NAME_grad` cannot itself be differentiated).
//! `dir` is therefore answered with `success: false` and that reason; the
//! gradient J is [`kmeans_cost_grad`], tested against finite differences.

use crate::timing::{measure, Runs};
use crate::{parse, unknown_function, Evaluated};
use backprop::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

/// The cost: every point's squared distance to its nearest centroid,
/// summed. Flat row-major arrays: `centroids[j·d + l]`, `points[i·d + l]`.
#[derive_grad]
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

/// Why `dir` is not answered.
pub const DIR_UNSUPPORTED: &str = "kmeans dir needs the diagonal of the Hessian (J·H⁻¹); \
    #[derive_grad] generates first derivatives only (no hessian/jvp, and NAME_grad cannot \
    be differentiated again), see backprop-gradbench/LIMITATIONS.md";

/// The eval's `KMeansInput` (without the `Runs` fields).
#[derive(Deserialize)]
struct Input {
    points: Vec<Vec<f64>>,
    centroids: Vec<Vec<f64>>,
}

/// Answers `cost`; `dir` gets `success: false` ([`DIR_UNSUPPORTED`]).
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
        "dir" => Err(DIR_UNSUPPORTED.into()),
        _ => Err(unknown_function("kmeans", function)),
    }
}
