//! Gradient checking by central differences.
//!
//! [`gradcheck`] compares a claimed gradient (hand-written, or from
//! `#[derive_grad]`) with the central difference
//! `(f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h` for every element `i`, and reports the
//! worst relative error `|a − n| / max(|a|, |n|, floor)` and where it is, as
//! a flat index and a readable path such as `.0[3]` or `[1][2]`.
//!
//! The step is `hᵢ = step·max(1, |xᵢ|)` with `step = ∛ε` by default
//! (≈ 6.1e-6 for `f64`, 4.9e-3 for `f32`), the size that balances the
//! method's `O(h²)` truncation error against rounding. The floor in the
//! denominator (default also `∛ε`) keeps an element whose true derivative
//! is zero from being judged against pure rounding noise. With these
//! defaults a correct `f64` gradient of a smooth function typically shows a
//! relative error below `1e-7`.
//!
//! ```
//! use backprop_core::gradcheck;
//!
//! // f(w) = w₀·w₁ + w₁², ∇f = (w₁, w₀ + 2w₁)
//! let f = |w: &[f64; 2]| w[0] * w[1] + w[1] * w[1];
//! let w = [3.0, -2.0];
//! let good = gradcheck(f, &w, &[-2.0, -1.0]);
//! assert!(good.max_rel_error < 1e-8, "{good}");
//!
//! let bad = gradcheck(f, &w, &[-2.0, 1.0]); // wrong sign on w₁
//! assert_eq!(bad.index, 1);
//! assert_eq!(bad.path, "[1]");
//! assert!((bad.max_rel_error - 2.0).abs() < 1e-6);
//! ```

use std::fmt;

use num_traits::{Float, One, Zero};

use crate::params::{Params, Scalar};

/// Step size and denominator floor for [`gradcheck_with`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradCheckOptions<F> {
    /// The relative step: element `i` is moved by `±step·max(1, |xᵢ|)`.
    pub step: F,
    /// The smallest denominator of the relative error.
    pub floor: F,
}

impl<F: Scalar> Default for GradCheckOptions<F> {
    /// `step = floor = ∛ε` of the scalar type.
    fn default() -> Self {
        let c = F::epsilon().cbrt();
        GradCheckOptions { step: c, floor: c }
    }
}

/// The result of [`gradcheck`].
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheck<P: Params> {
    /// The largest relative error over all elements (∞ if an element of
    /// either gradient is NaN or ∞; 0 if there are no elements).
    pub max_rel_error: P::Scalar,
    /// The largest absolute difference over all elements.
    pub max_abs_error: P::Scalar,
    /// The flat index of the element with the largest relative error.
    pub index: usize,
    /// Its readable path, e.g. `.0[3]` (empty for a bare scalar).
    pub path: String,
    /// The claimed derivative there.
    pub claimed: P::Scalar,
    /// The central-difference derivative there.
    pub numeric: P::Scalar,
    /// The whole central-difference gradient.
    pub numeric_gradient: P,
}

impl<P: Params> GradCheck<P> {
    /// `true` if the worst relative error is at most `tol`.
    pub fn passed(&self, tol: P::Scalar) -> bool {
        self.max_rel_error <= tol
    }
}

impl<P: Params> fmt::Display for GradCheck<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.path.is_empty() {
            String::new()
        } else {
            format!(" at {}", self.path)
        };
        write!(
            f,
            "worst relative error {:e}{at} (flat index {}): claimed {}, numeric {}",
            self.max_rel_error, self.index, self.claimed, self.numeric
        )
    }
}

/// The central-difference gradient of `f` at `at`, moving element `i` by
/// `±step·max(1, |xᵢ|)`.
///
/// ```
/// use backprop_core::numeric_gradient;
/// let g = numeric_gradient(|x: &(f64, f64)| x.0 * x.0 * x.1, &(2.0, 3.0), 1e-5);
/// assert!((g.0 - 12.0).abs() < 1e-8 && (g.1 - 4.0).abs() < 1e-8);
/// ```
pub fn numeric_gradient<P, G>(mut f: G, at: &P, step: P::Scalar) -> P
where
    P: Params,
    G: FnMut(&P) -> P::Scalar,
{
    let xs = at.to_vec();
    let mut probe = at.clone();
    let mut grad = at.zeros_like();
    for (i, &x) in xs.iter().enumerate() {
        let h = step * x.abs().max(P::Scalar::one());
        let (hi, lo) = (x + h, x - h);
        probe.set(i, hi);
        let f_hi = f(&probe);
        probe.set(i, lo);
        let f_lo = f(&probe);
        probe.set(i, x);
        grad.set(i, (f_hi - f_lo) / (hi - lo));
    }
    grad
}

/// Checks `claimed` against the central-difference gradient of `f` at `at`
/// with the default [`GradCheckOptions`].
pub fn gradcheck<P, G>(f: G, at: &P, claimed: &P) -> GradCheck<P>
where
    P: Params,
    G: FnMut(&P) -> P::Scalar,
{
    gradcheck_with(f, at, claimed, &GradCheckOptions::default())
}

/// Checks a value-and-gradient function (such as a `NAME_grad`) against
/// central differences of its own value, at `at`.
///
/// ```
/// use backprop_core::gradcheck_value_grad;
/// let fg = |w: &[f64; 2]| (w[0].sin() * w[1], [w[0].cos() * w[1], w[0].sin()]);
/// assert!(gradcheck_value_grad(fg, &[0.3, 2.0]).passed(1e-8));
/// ```
pub fn gradcheck_value_grad<P, G>(mut fg: G, at: &P) -> GradCheck<P>
where
    P: Params,
    G: FnMut(&P) -> (P::Scalar, P),
{
    let (_, claimed) = fg(at);
    gradcheck(|p: &P| fg(p).0, at, &claimed)
}

/// [`gradcheck`] with explicit options.
///
/// # Panics
///
/// If `claimed` does not have as many elements as `at`.
pub fn gradcheck_with<P, G>(
    f: G,
    at: &P,
    claimed: &P,
    options: &GradCheckOptions<P::Scalar>,
) -> GradCheck<P>
where
    P: Params,
    G: FnMut(&P) -> P::Scalar,
{
    assert_eq!(
        at.len(),
        claimed.len(),
        "the claimed gradient has a different number of elements from the point"
    );
    let numeric_gradient = numeric_gradient(f, at, options.step);
    let zero = P::Scalar::zero();
    let mut worst = (zero, zero, 0, zero, zero); // (rel, abs, index, claimed, numeric)
    let mut first = true;
    let mut i = 0;
    let mut claimed_iter = claimed.to_vec().into_iter();
    numeric_gradient.for_each(&mut |n| {
        let a = claimed_iter.next().expect("same length");
        let diff = (a - n).abs();
        let denom = a.abs().max(n.abs()).max(options.floor);
        let mut rel = diff / denom;
        if !rel.is_finite() {
            rel = P::Scalar::infinity();
        }
        if first || rel > worst.0 {
            worst = (rel, worst.1, i, a, n);
            first = false;
        }
        if diff > worst.1 || diff.is_nan() {
            worst.1 = if diff.is_nan() {
                P::Scalar::infinity()
            } else {
                diff
            };
        }
        i += 1;
    });
    let (max_rel_error, max_abs_error, index, claimed_v, numeric) = worst;
    GradCheck {
        max_rel_error,
        max_abs_error,
        index,
        path: if at.is_empty() {
            String::new()
        } else {
            at.path(index)
        },
        claimed: claimed_v,
        numeric,
        numeric_gradient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f(a, W) = a·Σⱼₖ W[j][k]² + sin(W[0][1])·W[1][2] + e^a.
    /// By hand: ∂f/∂a = ΣW² + e^a; ∂f/∂W[j][k] = 2a·W[j][k], plus
    /// cos(W[0][1])·W[1][2] on [0][1] and sin(W[0][1]) on [1][2].
    fn f(p: &(f64, [[f64; 3]; 2])) -> f64 {
        let (a, w) = p;
        let sq: f64 = w.iter().flatten().map(|x| x * x).sum();
        a * sq + w[0][1].sin() * w[1][2] + a.exp()
    }

    fn grad(p: &(f64, [[f64; 3]; 2])) -> (f64, [[f64; 3]; 2]) {
        let (a, w) = *p;
        let sq: f64 = w.iter().flatten().map(|x| x * x).sum();
        let mut gw = w.map(|row| row.map(|x| 2.0 * a * x));
        gw[0][1] += w[0][1].cos() * w[1][2];
        gw[1][2] += w[0][1].sin();
        (sq + a.exp(), gw)
    }

    const P: (f64, [[f64; 3]; 2]) = (0.7, [[0.5, -1.2, 2.0], [0.0, 0.3, -0.8]]);

    #[test]
    fn correct_gradient_passes() {
        let r = gradcheck(f, &P, &grad(&P));
        assert!(r.max_rel_error < 1e-8, "{r}");
        assert!(r.passed(1e-8));
        // the element W[1][0] = 0 has true derivative 0: the floor keeps
        // its rounding noise from counting as a large relative error
        assert_eq!(grad(&P).1[1][0], 0.0);
    }

    #[test]
    fn wrong_gradient_is_located() {
        let mut g = grad(&P);
        g.1[1][2] *= -1.0; // flat index 1 + 3 + 2 = 6
        let r = gradcheck(f, &P, &g);
        assert_eq!(r.index, 6);
        assert_eq!(r.path, ".1[1][2]");
        // |a − (−a)| / |a| = 2
        assert!((r.max_rel_error - 2.0).abs() < 1e-6, "{r}");
        assert!(!r.passed(1e-4));
        assert!((r.numeric - grad(&P).1[1][2]).abs() < 1e-8);
        assert!(r.to_string().contains("at .1[1][2] (flat index 6)"));
    }

    #[test]
    fn missing_term_is_found_in_f32() {
        // forgetting e^a in ∂f/∂a
        let fp = |p: &(f32, [f32; 2])| p.0.exp() * p.1[0] + p.1[1] * p.1[1];
        let at = (0.5_f32, [2.0_f32, -1.0]);
        let right = (0.5_f32.exp() * 2.0, [0.5_f32.exp(), -2.0]);
        assert!(gradcheck(fp, &at, &right).passed(1e-3));
        let wrong = (2.0, [0.5_f32.exp(), -2.0]);
        let r = gradcheck(fp, &at, &wrong);
        assert_eq!((r.index, r.path.as_str()), (0, ".0"));
    }

    #[test]
    fn nan_claim_is_worst() {
        let r = gradcheck(|x: &[f64; 2]| x[0] + x[1], &[1.0, 1.0], &[1.0, f64::NAN]);
        assert_eq!(r.index, 1);
        assert!(r.max_rel_error.is_infinite());
    }

    #[test]
    fn value_grad_form_and_seed_001_gradient() {
        // the 2-3-1 network of seeds/001 at its starting point: the hand
        // gradient is (y − t)·w[6+j]·x for the first layer and (y − t)·z_j for
        // the second, i.e. 4800 (x1 weights), 9600 (x2 weights), 7200
        let fg = |w: &[f64; 9]| {
            let (x1, x2, t) = (40.0, 80.0, 60.0);
            let z = [0, 1, 2].map(|j| x1 * w[j] + x2 * w[3 + j]);
            let y = z[0] * w[6] + z[1] * w[7] + z[2] * w[8];
            let mut g = [0.0; 9];
            for j in 0..3 {
                g[j] = (y - t) * w[6 + j] * x1;
                g[3 + j] = (y - t) * w[6 + j] * x2;
                g[6 + j] = (y - t) * z[j];
            }
            (0.5 * (t - y) * (t - y), g)
        };
        let w = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0];
        assert_eq!(
            fg(&w).1,
            [4800.0, 4800.0, 4800.0, 9600.0, 9600.0, 9600.0, 7200.0, 7200.0, 7200.0]
        );
        let r = gradcheck_value_grad(fg, &w);
        assert!(r.passed(1e-8), "{r}");
    }
}
