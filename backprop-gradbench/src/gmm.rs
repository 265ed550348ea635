//! `gmm`: the log posterior of a Gaussian mixture with a Wishart prior on
//! the precision matrices (ADBench's GMM with upstream's three fixes), in
//! the simplified form of the eval's README ("Implementation"), and its
//! gradient with respect to alpha, mu, q and l.

use crate::timing::{measure, Runs};
use crate::{parse, unknown_function, Evaluated};
use backprop::core::Workspace;
use backprop::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

/// The log posterior F = −N(D/2 ln 2π + lse(α)) + Σᵢ lseₖ(βᵢₖ) + log p(θ),
/// with βᵢₖ = αₖ + Σⱼ qₖⱼ − ½‖Qₖ(xᵢ − μₖ)‖², Qₖ lower triangular with
/// diagonal exp(qₖ) and `l` filling the rest column by column.
///
/// Arrays are flat and row-major (`mu[c·d + j]`, `l[c·d(d−1)/2 + t]`).
/// `log_gamma_d` is ln Γ_D(n/2), a constant the caller computes (the
/// gradient does not depend on it).
///
/// Each βᵢ row's log-sum-exp is accumulated in one pass, rescaling the sum
/// when a larger β appears (with one exponential per component, see the
/// body), instead of storing the row and taking its
/// maximum first, and x − μ is recomputed where it is read instead of
/// being stored in a local array. This was written when backprop could
/// not differentiate local arrays written and read by loops inside the
/// loop over points (LIMITATIONS.md, "Bug 1", fixed in commit a1ec357).
/// Upstream's form is now [`gmm_objective_rows`], but its gradient takes
/// about 1.2× as long as this one's at d ≥ 10, so the tool's `jacobian`
/// is this function's.
#[allow(clippy::too_many_arguments)]
#[derive_grad(wrt(alpha, mu, q, l))]
pub fn gmm_objective(
    alpha: &[f64],
    mu: &[f64],
    q: &[f64],
    l: &[f64],
    x: &[f64],
    d: usize,
    k: usize,
    n: usize,
    m: usize,
    gamma: f64,
    log_gamma_d: f64,
) -> f64 {
    let lsz = d * (d - 1) / 2;
    let mut qdiag = vec![0.0; d * k];
    for t in 0..d * k {
        qdiag[t] = q[t].exp();
    }
    let mut sum_qs = vec![0.0; k];
    for c in 0..k {
        let mut s = 0.0;
        for j in 0..d {
            s += q[c * d + j];
        }
        sum_qs[c] = s;
    }
    let mut slse = 0.0;
    for i in 0..n {
        let mut mx = f64::NEG_INFINITY;
        let mut se = 0.0;
        for c in 0..k {
            // ‖Qₖ(xᵢ − μₖ)‖², row j of the product at a time.
            let mut sq = 0.0;
            for j in 0..d {
                let mut o = qdiag[c * d + j] * (x[i * d + j] - mu[c * d + j]);
                for r in 0..j {
                    o += l[c * lsz + r * (2 * d - r - 1) / 2 + j - r - 1]
                        * (x[i * d + r] - mu[c * d + r]);
                }
                sq += o * o;
            }
            let b = alpha[c] + sum_qs[c] - 0.5 * sq;
            // One exponential, exp(−|b − mx|), whichever is larger: an
            // `exp` in each arm of the `if` would compute both, since the
            // generated code evaluates both arms of an `if` and selects.
            let e = (if b > mx { mx - b } else { b - mx }).exp();
            if b > mx {
                se = se * e + 1.0;
                mx = b;
            } else {
                se += e;
            }
        }
        slse += se.ln() + mx;
    }
    let mut amx = alpha[0];
    for c in 1..k {
        amx = amx.max(alpha[c]);
    }
    let mut ase = 0.0;
    for c in 0..k {
        ase += (alpha[c] - amx).exp();
    }
    let lse_alpha = ase.ln() + amx;
    // The Wishart prior, n = D + m + 1.
    let dof = (d + m + 1) as f64;
    let cst = dof * d as f64 * (gamma.ln() - 0.5 * 2.0f64.ln()) - log_gamma_d;
    let mut prior = 0.0;
    for c in 0..k {
        let mut frob = 0.0;
        for j in 0..d {
            frob += qdiag[c * d + j] * qdiag[c * d + j];
        }
        for t in 0..lsz {
            frob += l[c * lsz + t] * l[c * lsz + t];
        }
        prior += 0.5 * gamma * gamma * frob - m as f64 * sum_qs[c];
    }
    let constant = -(n as f64) * d as f64 * 0.5 * (2.0 * std::f64::consts::PI).ln();
    constant + slse - n as f64 * lse_alpha - prior + k as f64 * cst
}

/// The same log posterior as [`gmm_objective`], with Qₖ's strictly lower
/// triangle first copied row by row into a local `vec!`, so that row j of
/// Qₖ(xᵢ − μₖ) reads `tri[c·lsz + (j² − j)/2 + r]` for r = 0, 1, …, j − 1:
/// contiguous, where `l` (column by column) is read at a stride that
/// changes with r. The loops over r then read `tri`, `x` and `μ` through
/// rows without bounds checks, and the reverse adds into the rows of
/// their gradients.
///
/// The tool's `jacobian` from d = [`TRI_FROM_D`]: it costs one more loop
/// over the triangle and its reverse, and two more rows per row j of the
/// product, which is what it loses at small d. Timed beside `manual`'s
/// C++ in one process, [`gmm_objective`]'s gradient over this one's is
/// 0.76–0.78 at d = 2, about 1 at d = 8, 1.03–1.19 at d = 10 and
/// 1.30–1.35 at d = 20 (BENCHMARKS.md, GradBench).
#[allow(clippy::too_many_arguments)]
#[derive_grad(wrt(alpha, mu, q, l))]
pub fn gmm_objective_tri(
    alpha: &[f64],
    mu: &[f64],
    q: &[f64],
    l: &[f64],
    x: &[f64],
    d: usize,
    k: usize,
    n: usize,
    m: usize,
    gamma: f64,
    log_gamma_d: f64,
) -> f64 {
    let lsz = d * (d - 1) / 2;
    let mut qdiag = vec![0.0; d * k];
    for t in 0..d * k {
        qdiag[t] = q[t].exp();
    }
    let mut sum_qs = vec![0.0; k];
    for c in 0..k {
        let mut s = 0.0;
        for j in 0..d {
            s += q[c * d + j];
        }
        sum_qs[c] = s;
    }
    // Qₖ's strictly lower triangle row by row: row j at (j² − j)/2.
    let mut tri = vec![0.0; k * lsz];
    for c in 0..k {
        for j in 0..d {
            for r in 0..j {
                tri[c * lsz + (j * j - j) / 2 + r] =
                    l[c * lsz + r * (2 * d - r - 1) / 2 + j - r - 1];
            }
        }
    }
    let mut slse = 0.0;
    for i in 0..n {
        let mut mx = f64::NEG_INFINITY;
        let mut se = 0.0;
        for c in 0..k {
            // ‖Qₖ(xᵢ − μₖ)‖², row j of the product at a time.
            let mut sq = 0.0;
            for j in 0..d {
                let mut o = qdiag[c * d + j] * (x[i * d + j] - mu[c * d + j]);
                for r in 0..j {
                    o += tri[c * lsz + (j * j - j) / 2 + r] * (x[i * d + r] - mu[c * d + r]);
                }
                sq += o * o;
            }
            let b = alpha[c] + sum_qs[c] - 0.5 * sq;
            // One exponential, exp(−|b − mx|), whichever is larger: an
            // `exp` in each arm of the `if` would compute both, since the
            // generated code evaluates both arms of an `if` and selects.
            let e = (if b > mx { mx - b } else { b - mx }).exp();
            if b > mx {
                se = se * e + 1.0;
                mx = b;
            } else {
                se += e;
            }
        }
        slse += se.ln() + mx;
    }
    let mut amx = alpha[0];
    for c in 1..k {
        amx = amx.max(alpha[c]);
    }
    let mut ase = 0.0;
    for c in 0..k {
        ase += (alpha[c] - amx).exp();
    }
    let lse_alpha = ase.ln() + amx;
    // The Wishart prior, n = D + m + 1.
    let dof = (d + m + 1) as f64;
    let cst = dof * d as f64 * (gamma.ln() - 0.5 * 2.0f64.ln()) - log_gamma_d;
    let mut prior = 0.0;
    for c in 0..k {
        let mut frob = 0.0;
        for j in 0..d {
            frob += qdiag[c * d + j] * qdiag[c * d + j];
        }
        for t in 0..lsz {
            frob += l[c * lsz + t] * l[c * lsz + t];
        }
        prior += 0.5 * gamma * gamma * frob - m as f64 * sum_qs[c];
    }
    let constant = -(n as f64) * d as f64 * 0.5 * (2.0 * std::f64::consts::PI).ln();
    constant + slse - n as f64 * lse_alpha - prior + k as f64 * cst
}

/// The same log posterior as [`gmm_objective`], written as upstream
/// `gmm.hpp` computes it: per point and component, the centred point
/// `xc = xᵢ − μₖ` and `qx = Qₖ·xc` in local arrays (`Qtimesx`: the diagonal,
/// then `l` a column at a time), βᵢₖ into the row `main_term`; then the
/// row's maximum and Σₖ exp(βᵢₖ − max) (`logsumexp`). Equal to
/// [`gmm_objective`] up to rounding (that one rescales a running sum
/// instead of taking the maximum first), and so are the gradients
/// (tested).
///
/// The tool's `objective` from d = [`ROWS_FROM_D`] (faster than
/// [`gmm_objective`] there: x − μ is computed d times per point and
/// component instead of d²/2). Not
/// its `jacobian`, which is about 1.2× slower at d ≥ 10 than
/// [`gmm_objective`]'s: the reverse sweep needs each `xc[r]` that the
/// triangular loop reads, and the generated code tapes it once per read,
/// d(d−1)/2 values per point and component (plus d for `xc`, d for `qx`),
/// where [`gmm_objective`] tapes d.
#[allow(clippy::too_many_arguments)]
#[derive_grad(wrt(alpha, mu, q, l))]
pub fn gmm_objective_rows(
    alpha: &[f64],
    mu: &[f64],
    q: &[f64],
    l: &[f64],
    x: &[f64],
    d: usize,
    k: usize,
    n: usize,
    m: usize,
    gamma: f64,
    log_gamma_d: f64,
) -> f64 {
    let lsz = d * (d - 1) / 2;
    let mut qdiag = vec![0.0; d * k];
    for t in 0..d * k {
        qdiag[t] = q[t].exp();
    }
    let mut sum_qs = vec![0.0; k];
    for c in 0..k {
        for j in 0..d {
            sum_qs[c] += q[c * d + j];
        }
    }
    let mut xc = vec![0.0; d];
    let mut qx = vec![0.0; d];
    let mut main_term = vec![0.0; k];
    let mut slse = 0.0;
    for i in 0..n {
        for c in 0..k {
            for j in 0..d {
                xc[j] = x[i * d + j] - mu[c * d + j];
            }
            for j in 0..d {
                qx[j] = qdiag[c * d + j] * xc[j];
            }
            // Column r of the strictly lower triangle, stored column by column.
            for r in 0..d {
                for j in r + 1..d {
                    qx[j] += l[c * lsz + r * (2 * d - r - 1) / 2 + j - r - 1] * xc[r];
                }
            }
            let mut sq = 0.0;
            for j in 0..d {
                sq += qx[j] * qx[j];
            }
            main_term[c] = alpha[c] + sum_qs[c] - 0.5 * sq;
        }
        let mut mx = main_term[0];
        for c in 1..k {
            mx = mx.max(main_term[c]);
        }
        let mut se = 0.0;
        for c in 0..k {
            se += (main_term[c] - mx).exp();
        }
        slse += se.ln() + mx;
    }
    let mut amx = alpha[0];
    for c in 1..k {
        amx = amx.max(alpha[c]);
    }
    let mut ase = 0.0;
    for c in 0..k {
        ase += (alpha[c] - amx).exp();
    }
    let lse_alpha = ase.ln() + amx;
    let dof = (d + m + 1) as f64;
    let cst = dof * d as f64 * (gamma.ln() - 0.5 * 2.0f64.ln()) - log_gamma_d;
    let mut prior = 0.0;
    for c in 0..k {
        let mut frob = 0.0;
        for j in 0..d {
            frob += qdiag[c * d + j] * qdiag[c * d + j];
        }
        for t in 0..lsz {
            frob += l[c * lsz + t] * l[c * lsz + t];
        }
        prior += 0.5 * gamma * gamma * frob - m as f64 * sum_qs[c];
    }
    let constant = -(n as f64) * d as f64 * 0.5 * (2.0 * std::f64::consts::PI).ln();
    constant + slse - n as f64 * lse_alpha - prior + k as f64 * cst
}

/// ln Γ_p(a), the multivariate gamma function's logarithm:
/// p(p−1)/4 ln π + Σⱼ₌₁..ₚ ln Γ(a + (1 − j)/2). A constant of the objective.
pub fn log_multigamma(a: f64, p: usize) -> f64 {
    let mut out = 0.25 * (p * (p.saturating_sub(1))) as f64 * std::f64::consts::PI.ln();
    for j in 1..=p {
        out += ln_gamma(a + 0.5 * (1.0 - j as f64));
    }
    out
}

/// ln Γ(x) for x > 0 by the Lanczos approximation (g = 7, 9 terms; relative
/// error about 1e-15), with Γ(x) = Γ(x + 1)/x below 0.5. Rust's standard
/// library has no stable `lgamma`.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return ln_gamma(x + 1.0) - x.ln();
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// From this dimension on the Jacobian is [`gmm_objective_tri`]'s, below
/// it [`gmm_objective`]'s (they break even between d = 8 and 10).
pub const TRI_FROM_D: usize = 10;

/// From this dimension on the objective is [`gmm_objective_rows`], below
/// it [`gmm_objective`] (0.85–0.96× `manual` at d ≤ 4, where upstream's
/// form takes 1.14–1.30×; they break even at d = 5 and 6).
pub const ROWS_FROM_D: usize = 5;

/// A mixture and its data, flat and row-major as the functions above take
/// them: what the tool times.
pub struct Mixture {
    /// The components' log weights, `k`.
    pub alpha: Vec<f64>,
    /// The means, `k` rows of `d`.
    pub mu: Vec<f64>,
    /// The log diagonals of the Qₖ, `k` rows of `d`.
    pub q: Vec<f64>,
    /// The Qₖ's strictly lower triangles, column by column, `k` rows of
    /// d(d−1)/2.
    pub l: Vec<f64>,
    /// The points, `n` rows of `d`.
    pub x: Vec<f64>,
    /// The dimension.
    pub d: usize,
    /// The number of components.
    pub k: usize,
    /// The number of points.
    pub n: usize,
    /// The Wishart prior's `m`.
    pub m: usize,
    /// The Wishart prior's γ.
    pub gamma: f64,
}

/// The gradient with respect to α, μ, q and l, flat as in [`Mixture`].
pub type MixtureGradient = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

impl Mixture {
    /// The eval's `objective`, by the fastest of the forms for this d:
    /// [`gmm_objective`] below [`ROWS_FROM_D`], else
    /// [`gmm_objective_rows`]. All are validated against `manual`.
    pub fn objective(&self) -> f64 {
        let Mixture {
            d, k, n, m, gamma, ..
        } = *self;
        let (alpha, mu, q, l, x) = (&self.alpha, &self.mu, &self.q, &self.l, &self.x);
        let lg = log_multigamma(0.5 * (d + m + 1) as f64, d);
        if d >= ROWS_FROM_D {
            gmm_objective_rows(alpha, mu, q, l, x, d, k, n, m, gamma, lg)
        } else {
            gmm_objective(alpha, mu, q, l, x, d, k, n, m, gamma, lg)
        }
    }

    /// A zero gradient of the right lengths, for [`Mixture::jacobian`].
    pub fn zero_gradient(&self) -> MixtureGradient {
        let (d, k) = (self.d, self.k);
        let lsz = d * d.saturating_sub(1) / 2;
        (
            vec![0.0; k],
            vec![0.0; k * d],
            vec![0.0; k * d],
            vec![0.0; k * lsz],
        )
    }

    /// The eval's `jacobian` (the gradient) into `grad`, which it zeroes
    /// first, and the objective: [`gmm_objective`]'s below
    /// [`TRI_FROM_D`], else [`gmm_objective_tri`]'s.
    pub fn jacobian(&self, grad: &mut MixtureGradient, work: &mut Workspace<f64>) -> f64 {
        let Mixture {
            d, k, n, m, gamma, ..
        } = *self;
        let (alpha, mu, q, l, x) = (&self.alpha, &self.mu, &self.q, &self.l, &self.x);
        grad.0.fill(0.0);
        grad.1.fill(0.0);
        grad.2.fill(0.0);
        grad.3.fill(0.0);
        let lg = log_multigamma(0.5 * (d + m + 1) as f64, d);
        if d >= TRI_FROM_D {
            gmm_objective_tri_grad_acc_with(alpha, mu, q, l, x, d, k, n, m, gamma, lg, grad, work)
        } else {
            gmm_objective_grad_acc_with(alpha, mu, q, l, x, d, k, n, m, gamma, lg, grad, work)
        }
    }
}

/// The eval's input (without the `Runs` fields).
#[derive(Deserialize)]
struct Input {
    d: usize,
    k: usize,
    n: usize,
    alpha: Vec<f64>,
    mu: Vec<Vec<f64>>,
    q: Vec<Vec<f64>>,
    l: Vec<Vec<f64>>,
    x: Vec<Vec<f64>>,
    m: usize,
    gamma: f64,
}

/// Splits a flat row-major array into `count` rows of `width` (which may
/// be 0: `l` when d = 1).
fn rows(flat: &[f64], count: usize, width: usize) -> Vec<&[f64]> {
    (0..count)
        .map(|r| &flat[r * width..(r + 1) * width])
        .collect()
}

/// Answers `objective` and `jacobian`.
pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, String> {
    let i: Input = parse(input)?;
    let (d, k, n) = (i.d, i.k, i.n);
    let lsz = d * d.saturating_sub(1) / 2;
    let flat = |v: &[Vec<f64>], count: usize, width: usize| -> Result<Vec<f64>, String> {
        if v.len() != count || v.iter().any(|r| r.len() != width) {
            return Err(format!("expected {count} rows of {width}"));
        }
        Ok(v.concat())
    };
    let (mu, q, l, x) = (
        flat(&i.mu, k, d)?,
        flat(&i.q, k, d)?,
        flat(&i.l, k, lsz)?,
        flat(&i.x, n, d)?,
    );
    if k == 0 || i.alpha.len() != k {
        return Err(format!("expected {k} > 0 alphas"));
    }
    let alpha = i.alpha;
    let (m, gamma) = (i.m, i.gamma);
    let runs = Runs::of(input);
    let problem = Mixture {
        alpha,
        mu,
        q,
        l,
        x,
        d,
        k,
        n,
        m,
        gamma,
    };
    let (output, timings) = match function {
        "objective" => {
            let (v, t) = measure(runs, || problem.objective());
            (json!(v), t)
        }
        "jacobian" => {
            let mut grad = problem.zero_gradient();
            let mut work = Workspace::new();
            let (_, t) = measure(runs, || problem.jacobian(&mut grad, &mut work));
            let out = json!({
                "alpha": grad.0,
                "mu": rows(&grad.1, k, d),
                "q": rows(&grad.2, k, d),
                "l": rows(&grad.3, k, lsz),
            });
            (out, t)
        }
        _ => return Err(unknown_function("gmm", function)),
    };
    Ok(Evaluated { output, timings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_at_known_points() {
        let pi = std::f64::consts::PI;
        for (x, exact) in [
            (1.0, 0.0),
            (2.0, 0.0),
            (5.0, 24f64.ln()),
            (0.5, pi.sqrt().ln()),
            (10.5, (1_133_278.388_948_441_4f64).ln()),
            (0.1, 9.513_507_698_668_732f64.ln()),
        ] {
            let got = ln_gamma(x);
            assert!(
                (got - exact).abs() <= 1e-13 * exact.abs().max(1.0),
                "{x}: {got} vs {exact}"
            );
        }
        // Γ_1(a) = Γ(a).
        assert_eq!(log_multigamma(3.0, 1), ln_gamma(3.0));
    }
}
