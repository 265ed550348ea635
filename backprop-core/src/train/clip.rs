//! Clipping the mean batch gradient before a step: by global norm, then
//! per component.

use num_traits::{Float, NumCast, Zero};

use crate::params::{Params, Scalar};

/// A clipping bound in the parameters' scalar type; one too large for it
/// (1e300 for `f32`) means no clipping.
pub(super) fn bound<F: Scalar>(max: Option<f64>) -> Option<F> {
    max.map(|m| <F as NumCast>::from(m).unwrap_or_else(F::infinity))
}

/// Clips `grad` in place: by global norm (scaled to norm `max_norm` if
/// above it), then each component to `[−max_value, max_value]`.
pub(super) fn clip<P: Params>(
    grad: &mut P,
    max_norm: Option<P::Scalar>,
    max_value: Option<P::Scalar>,
) {
    if let Some(max) = max_norm {
        let mut norm = grad.norm();
        if norm.is_infinite() {
            // The sum of squares overflowed although every element is
            // finite (elements near 1e155 in f64): compute it on the
            // gradient divided by its largest element instead.
            let largest = grad.max_abs();
            let mut sum = P::Scalar::zero();
            grad.for_each(&mut |x| sum = sum + (x / largest) * (x / largest));
            norm = largest * sum.sqrt();
        }
        if norm > max {
            grad.scale(max / norm);
        }
    }
    if let Some(max) = max_value {
        grad.for_each_mut(&mut |x| *x = x.max(-max).min(max));
    }
}
