//! Differentiable helper functions that `#[derive_grad]` knows by name.
//!
//! Each one is ordinary Rust, generic over [`num_traits::Float`], so a loss
//! function that calls them compiles and runs as plain code. Inside a
//! `#[derive_grad]` function the macro recognises a call to one of these
//! names (as `sigmoid(x)`, `backprop::sigmoid(x)`, …) and differentiates it
//! with the local derivative written next to each function below.
//!
//! This crate is the one implementation of these functions: backprop-core
//! re-exports it as `backprop_core::functions`, and the compiler calls the
//! same code to fold constants.

#![warn(missing_docs)]

use num_traits::Float;

/// The logistic function `1 / (1 + e^(−x))`.
///
/// Local derivative (used by the macro): `s · (1 − s)` where `s = sigmoid(x)`.
///
/// Numerically stable for large `|x|`: for negative `x` it is evaluated as
/// `e^x / (1 + e^x)` so that `e^(−x)` never overflows.
///
/// ```
/// use backprop_functions::sigmoid;
/// assert_eq!(sigmoid(0.0_f64), 0.5);
/// assert!((sigmoid(2.0_f64) - 0.8807970779778823).abs() < 1e-15);
/// assert!(sigmoid(-800.0_f64) >= 0.0 && sigmoid(800.0_f64) == 1.0);
/// ```
#[inline]
pub fn sigmoid<F: Float>(x: F) -> F {
    // `1 / (1 + e^(−x))` for x ≥ 0, `e^x / (1 + e^x)` below, with one
    // exponential `e^(−|x|)` and the numerator chosen by a select rather
    // than a branch (a branch on the sign of x mispredicts about half the
    // time on data of either sign; the values are the same bit for bit).
    let e = (-x.abs()).exp();
    let numerator = if x >= F::zero() { F::one() } else { e };
    numerator / (F::one() + e)
}

/// The rectifier `max(x, 0)`.
///
/// Local derivative: `1` where `x > 0`, else `0` (the subgradient `0` is
/// taken at `x = 0`, as PyTorch and JAX do).
///
/// ```
/// use backprop_functions::relu;
/// assert_eq!(relu(-2.0_f64), 0.0);
/// assert_eq!(relu(3.0_f32), 3.0);
/// ```
#[inline]
pub fn relu<F: Float>(x: F) -> F {
    if x > F::zero() {
        x
    } else {
        F::zero()
    }
}

/// The leaky rectifier: `x` where `x > 0`, else `slope · x`.
///
/// Local derivatives: `∂/∂x` is `1` where `x > 0`, else `slope`;
/// `∂/∂slope` is `0` where `x > 0`, else `x`.
///
/// ```
/// use backprop_functions::leaky_relu;
/// assert_eq!(leaky_relu(-2.0_f64, 0.01), -0.02);
/// assert_eq!(leaky_relu(2.0_f64, 0.01), 2.0);
/// ```
#[inline]
pub fn leaky_relu<F: Float>(x: F, slope: F) -> F {
    if x > F::zero() {
        x
    } else {
        slope * x
    }
}

/// `ln(1 + e^x)`, the smooth rectifier.
///
/// Local derivative: `sigmoid(x)`.
///
/// Evaluated as `max(x, 0) + ln(1 + e^(−|x|))`, which neither overflows for
/// large `x` nor loses the small values for very negative `x`.
///
/// ```
/// use backprop_functions::softplus;
/// assert!((softplus(0.0_f64) - std::f64::consts::LN_2).abs() < 1e-15);
/// assert_eq!(softplus(1000.0_f64), 1000.0);
/// ```
#[inline]
pub fn softplus<F: Float>(x: F) -> F {
    x.max(F::zero()) + (-x.abs()).exp().ln_1p()
}

/// `ln(sigmoid(x)) = −softplus(−x)`, the log-probability of a logistic
/// output, computed without forming `sigmoid(x)` (so it stays finite where
/// `sigmoid(x)` underflows to 0).
///
/// Local derivative: `1 − sigmoid(x) = sigmoid(−x)`.
///
/// ```
/// use backprop_functions::log_sigmoid;
/// assert!((log_sigmoid(0.0_f64) + std::f64::consts::LN_2).abs() < 1e-15);
/// assert_eq!(log_sigmoid(-1000.0_f64), -1000.0);
/// ```
#[inline]
pub fn log_sigmoid<F: Float>(x: F) -> F {
    -softplus(-x)
}

/// The sigmoid-weighted linear unit (swish) `x · sigmoid(x)`.
///
/// Local derivative: `s · (1 + x · (1 − s))` where `s = sigmoid(x)`.
///
/// ```
/// use backprop_functions::silu;
/// assert_eq!(silu(0.0_f64), 0.0);
/// assert!((silu(1.0_f64) - 0.7310585786300049).abs() < 1e-15);
/// ```
#[inline]
pub fn silu<F: Float>(x: F) -> F {
    x * sigmoid(x)
}

/// `x²`, a square that reads better than `x.powi(2)` in losses.
///
/// Local derivative: `2x`.
///
/// ```
/// use backprop_functions::square;
/// assert_eq!(square(-3.0_f64), 9.0);
/// ```
#[inline]
pub fn square<F: Float>(x: F) -> F {
    x * x
}

/// The error function `erf(x) = 2/√π ∫₀ˣ e^(−t²) dt`.
///
/// Local derivative: `2/√π · e^(−x²)`.
///
/// Computed in `f64` by `libm` (for `f32` too, then rounded), so it has the
/// same value wherever it runs; a type with no `f64` value gives NaN.
///
/// ```
/// use backprop_functions::erf;
/// assert_eq!(erf(0.0_f64), 0.0);
/// assert!((erf(1.0_f64) - 0.8427007929497149).abs() < 1e-15);
/// assert!((erf(-0.5_f32) + 0.5204999).abs() < 1e-6);
/// ```
#[inline]
pub fn erf<F: Float>(x: F) -> F {
    x.to_f64()
        .and_then(|v| F::from(libm::erf(v)))
        .unwrap_or_else(F::nan)
}

/// What generated code calls; not part of the public API.
#[doc(hidden)]
pub mod internal {
    use num_traits::Float;

    /// `x.powi(n)` with an exponent known only at run time.
    #[inline]
    pub fn powi<F: Float>(x: F, n: i32) -> F {
        x.powi(n)
    }

    /// `x.powi(n)` and its derivative n·xⁿ⁻¹ (0 for n = 0, also at x = 0;
    /// n·xⁿ/x for n = i32::MIN, whose n − 1 does not exist), in the
    /// calling convention of `#[derive_grad]` functions.
    #[inline]
    pub fn powi_vjp<F: Float>(x: F, n: i32) -> (F, (F, ())) {
        let y = x.powi(n);
        let nf = F::from(n).expect("an i32 converts to a float");
        let d = match n {
            0 => F::zero(),
            i32::MIN => nf * y / x,
            _ => nf * x.powi(n - 1),
        };
        (y, (d, ()))
    }

    /// The marker the second-order companions of `#[derive_grad]`
    /// functions (`NAME_hvp_all`) take first: a function that has none
    /// takes a type this is not, and its error names the reason.
    #[derive(Clone, Copy, Debug)]
    pub struct SecondOrder;

    /// The bound of the marker of the second-order companions: generic,
    /// so that a companion is instantiated (and a refusal's constant
    /// evaluated) only where a function with `hessian` calls it.
    pub trait SecondOrderMarker: Copy {}

    impl SecondOrderMarker for SecondOrder {}

    /// `x.powi(n)`, its derivative, its second derivative times the
    /// tangent `t.0` of `x`, and its derivative times it, in the calling
    /// convention of the second-order companions of `#[derive_grad]`
    /// functions: `(value, gradient, H·t, ∇f·t)`.
    #[inline]
    pub fn powi_hvp_all<F: Float, M: SecondOrderMarker>(
        _: M,
        x: F,
        n: i32,
        t: (F, ()),
    ) -> (F, (F, ()), (F, ()), F) {
        let (y, (d, ())) = powi_vjp(x, n);
        let nf = F::from(n).expect("an i32 converts to a float");
        // n·(n−1)·xⁿ⁻², with xⁿ/x² where n − 2 does not exist.
        let d2 = match n {
            0 | 1 => F::zero(),
            i32::MIN | -2_147_483_647 => nf * (nf - F::one()) * y / (x * x),
            _ => nf * (nf - F::one()) * x.powi(n - 2),
        };
        (y, (d, ()), (d2 * t.0, ()), d * t.0)
    }
}

#[cfg(test)]
mod tests {
    use super::sigmoid;

    /// The textbook stable form, one exponential per branch.
    fn two_branches<F: num_traits::Float>(x: F) -> F {
        if x >= F::zero() {
            F::one() / (F::one() + (-x).exp())
        } else {
            let e = x.exp();
            e / (F::one() + e)
        }
    }

    #[test]
    fn sigmoid_is_the_two_branch_form_bit_for_bit() {
        let specials = [
            0.0,
            -0.0,
            1e-300,
            -1e-300,
            f64::MIN_POSITIVE,
            -745.2,
            -709.0,
            709.0,
            800.0,
            -800.0,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // A grid of both signs and many magnitudes.
        let grid = (-4000..=4000).map(|k| f64::from(k) * 0.0123 + 1e-7);
        for x in specials.into_iter().chain(grid) {
            assert_eq!(sigmoid(x).to_bits(), two_branches(x).to_bits(), "x = {x}");
            let x = x as f32;
            assert_eq!(
                sigmoid(x).to_bits(),
                two_branches(x).to_bits(),
                "x = {x} (f32)"
            );
        }
        assert!(sigmoid(f64::NAN).is_nan() && sigmoid(f32::NAN).is_nan());
    }
}
