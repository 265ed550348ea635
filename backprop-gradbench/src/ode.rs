//! `ode`: cmpad's `an_ode`, y₀′ = x₀ and yᵢ′ = xᵢ yᵢ₋₁ from y(0) = 0, solved
//! on [0, 2] by `s` steps of classical Runge–Kutta (as upstream's
//! `ode.hpp`). `primal` returns y(2); `gradient` is the gradient of its
//! last element with respect to x.

use crate::timing::{measure, Runs};
use crate::{parse, unknown_function, Evaluated};
use backprop::core::Workspace;
use backprop::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

/// The last element of the Runge–Kutta solution, the function the eval
/// differentiates.
///
/// Written as one pass over the elements per step: stage j of element i
/// needs only stage j − 1 of element i − 1 (`kⱼ[i] = xᵢ (yᵢ₋₁ + c hkⱼ₋₁[i−1])`),
/// so the previous element's stages ride along as scalars instead of
/// living in four arrays k1…k4. The arithmetic is upstream `ode.hpp`'s,
/// operation for operation (tests compare it bit for bit with a
/// transcription of `ode.hpp`). The four-array form a user would write
/// first is [`ode_last_rk4`]; backprop differentiates it too (since commit
/// a1ec357), but its gradient takes 1.3–1.8× as long as this one's, so the
/// tool answers `gradient` with this form (LIMITATIONS.md, "Bug 1", and
/// BENCHMARKS.md).
#[derive_grad]
pub fn ode_last(x: &[f64], s: usize) -> f64 {
    let h = 2.0 / s as f64;
    let mut y = vec![0.0; x.len()];
    for _ in 0..s {
        // Element 0: every stage is x₀.
        let y0 = y[0];
        y[0] = y0 + h * (x[0] + 2.0 * x[0] + 2.0 * x[0] + x[0]) / 6.0;
        let mut y_prev = y0;
        let mut k1_prev = x[0];
        let mut k2_prev = x[0];
        let mut k3_prev = x[0];
        for i in 1..x.len() {
            let k1 = x[i] * y_prev;
            let k2 = x[i] * (y_prev + h * k1_prev / 2.0);
            let k3 = x[i] * (y_prev + h * k2_prev / 2.0);
            let k4 = x[i] * (y_prev + h * k3_prev);
            y_prev = y[i];
            y[i] += h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0;
            k1_prev = k1;
            k2_prev = k2;
            k3_prev = k3;
        }
    }
    y[x.len() - 1]
}

/// The last element of the Runge–Kutta solution in upstream `ode.hpp`'s
/// own form: per step, the four stage arrays k1…k4 and the intermediate
/// point `tmp`, each filled by a loop over the elements and read by later
/// ones. The same arithmetic as [`ode_last`] (bit for bit, tested), and a
/// gradient that agrees with [`ode_last_grad`] to rounding (tested).
///
/// Not the tool's `gradient`: it is slower. It tapes exactly the values
/// [`ode_last`] tapes (the yᵢ₋₁ or tmpᵢ₋₁ each stage reads, 4 per element
/// and step), but runs 9 loops per step over 6 arrays forward and 9 over
/// their 6 adjoint arrays in reverse, where [`ode_last`] makes one pass
/// each way with the stages in registers.
#[derive_grad]
pub fn ode_last_rk4(x: &[f64], s: usize) -> f64 {
    let n = x.len();
    let h = 2.0 / s as f64;
    let mut y = vec![0.0; n];
    let mut k1 = vec![0.0; n];
    let mut k2 = vec![0.0; n];
    let mut k3 = vec![0.0; n];
    let mut k4 = vec![0.0; n];
    let mut tmp = vec![0.0; n];
    for _ in 0..s {
        // kⱼ = f(point): z₀ = x₀, zᵢ = xᵢ pointᵢ₋₁.
        k1[0] = x[0];
        for i in 1..n {
            k1[i] = x[i] * y[i - 1];
        }
        for i in 0..n {
            tmp[i] = y[i] + h * k1[i] / 2.0;
        }
        k2[0] = x[0];
        for i in 1..n {
            k2[i] = x[i] * tmp[i - 1];
        }
        for i in 0..n {
            tmp[i] = y[i] + h * k2[i] / 2.0;
        }
        k3[0] = x[0];
        for i in 1..n {
            k3[i] = x[i] * tmp[i - 1];
        }
        for i in 0..n {
            tmp[i] = y[i] + h * k3[i];
        }
        k4[0] = x[0];
        for i in 1..n {
            k4[i] = x[i] * tmp[i - 1];
        }
        for i in 0..n {
            y[i] += h * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) / 6.0;
        }
    }
    y[n - 1]
}

/// The primal: the whole solution y(2), as upstream `ode.hpp` computes it
/// (a loop per stage over four arrays, which vectorises; [`ode_last`]'s
/// one-pass form chains each element's stages to the previous element's).
/// [`ode_last_rk4`]'s code, returning all of y. Bit for bit the same values
/// as [`ode_last`] and [`ode_last_rk4`] (tested).
pub fn solve(x: &[f64], s: usize) -> Vec<f64> {
    let n = x.len();
    let h = 2.0 / s as f64;
    let mut y = vec![0.0; n];
    let (mut k1, mut k2, mut k3, mut k4) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut tmp = vec![0.0; n];
    // y' = f(y): z₀ = x₀, zᵢ = xᵢ yᵢ₋₁.
    let f = |y: &[f64], z: &mut [f64]| {
        z[0] = x[0];
        for i in 1..n {
            z[i] = x[i] * y[i - 1];
        }
    };
    for _ in 0..s {
        f(&y, &mut k1);
        for i in 0..n {
            tmp[i] = y[i] + h * k1[i] / 2.0;
        }
        f(&tmp, &mut k2);
        for i in 0..n {
            tmp[i] = y[i] + h * k2[i] / 2.0;
        }
        f(&tmp, &mut k3);
        for i in 0..n {
            tmp[i] = y[i] + h * k3[i];
        }
        f(&tmp, &mut k4);
        for i in 0..n {
            y[i] += h * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) / 6.0;
        }
    }
    y
}

/// The eval's `ODEInput` (without the `Runs` fields).
#[derive(Deserialize)]
struct Input {
    x: Vec<f64>,
    s: usize,
}

/// Answers `primal` and `gradient`.
pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, String> {
    let Input { x, s } = parse(input)?;
    if x.is_empty() {
        return Err("ode needs at least one x".into());
    }
    let runs = Runs::of(input);
    let (output, timings) = match function {
        "primal" => {
            let (y, t) = measure(runs, || solve(&x, s));
            (json!(y), t)
        }
        "gradient" => {
            let mut grad = vec![0.0; x.len()];
            let mut work = Workspace::new();
            let (_, t) = measure(runs, || {
                grad.fill(0.0);
                ode_last_grad_acc_with(&x, s, &mut grad, &mut work)
            });
            (json!(grad), t)
        }
        _ => return Err(unknown_function("ode", function)),
    };
    Ok(Evaluated { output, timings })
}
