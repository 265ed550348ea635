//! `det`: the determinant of an ℓ × ℓ matrix by expansion in minors
//! (cmpad's `det_by_minor`), and its gradient with respect to the matrix.

use crate::timing::{measure, Runs};
use crate::{parse, unknown_function, Evaluated};
use backprop::core::Workspace;
use backprop::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

/// The determinant of the minor of the `n × n` row-major matrix `a` made of
/// rows `row..n` and the columns not in the bit set `used`, expanded along
/// its first row: `Σ_j ±a[row][j] · det(minor without row and column j)`,
/// the signs alternating over the columns left. `minor(a, n, 0, 0)` is
/// `det a`.
#[derive_grad]
pub fn minor(a: &[f64], n: usize, row: usize, used: u64) -> f64 {
    // The last row: one column is left.
    if row + 1 == n {
        return a[row * n + (!used).trailing_zeros() as usize];
    }
    let mut total = 0.0;
    let mut sign = 1.0;
    for j in 0..n {
        if used & (1 << j) == 0 {
            total += sign * a[row * n + j] * minor(a, n, row + 1, used | (1 << j));
            sign = -sign;
        }
    }
    total
}

/// The eval's `DetByMinorInput` (without the `Runs` fields).
#[derive(Deserialize)]
struct Input {
    #[serde(rename = "A")]
    a: Vec<f64>,
    ell: usize,
}

/// Answers `primal` and `gradient`.
pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, String> {
    let Input { a, ell } = parse(input)?;
    if ell.checked_mul(ell) != Some(a.len()) {
        return Err(format!(
            "`A` has {} elements, not ell² = {ell}² of a square matrix",
            a.len()
        ));
    }
    // The bit set of used columns is a `u64`; the expansion ends at a
    // 1 × 1 minor.
    if ell == 0 || ell > 64 {
        return Err(format!("ell = {ell}: between 1 and 64 columns"));
    }
    let runs = Runs::of(input);
    let (output, timings) = match function {
        "primal" => {
            let (v, t) = measure(runs, || minor(&a, ell, 0, 0));
            (json!(v), t)
        }
        "gradient" => {
            let mut grad = vec![0.0; a.len()];
            let mut work = Workspace::new();
            let (_, t) = measure(runs, || {
                grad.fill(0.0);
                minor_grad_acc_with(&a, ell, 0, 0, &mut grad, &mut work)
            });
            (json!(grad), t)
        }
        _ => return Err(unknown_function("det", function)),
    };
    Ok(Evaluated { output, timings })
}
