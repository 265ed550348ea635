//! backprop: exact gradients of ordinary Rust loss functions, derived at
//! compile time by the chain rule.
//!
//! ```
//! use backprop::prelude::*;
//!
//! /// The 2-3-1 linear network of seeds/001.
//! #[derive_grad]
//! fn loss(w: [f64; 9], x1: f64, x2: f64, t: f64) -> f64 {
//!     let z1 = x1 * w[0] + x2 * w[3];
//!     let z2 = x1 * w[1] + x2 * w[4];
//!     let z3 = x1 * w[2] + x2 * w[5];
//!     let y = z1 * w[6] + z2 * w[7] + z3 * w[8];
//!     0.5 * (t - y) * (t - y)
//! }
//!
//! let w = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0];
//! let (value, grad) = loss_grad(w, 40.0, 80.0, 60.0);
//! assert_eq!(value, 7200.0);
//! assert_eq!(value, loss(w, 40.0, 80.0, 60.0));
//! assert_eq!(grad, [4800.0, 4800.0, 4800.0, 9600.0, 9600.0, 9600.0, 7200.0, 7200.0, 7200.0]);
//! ```

#![warn(missing_docs)]

pub use backprop_core as core;

pub use backprop_core::functions::*;
/// Differentiates a loss function at compile time: keeps the function and
/// adds `NAME_grad(args) -> (value, gradient)` beside it.
///
/// ```
/// use backprop::prelude::*;
///
/// #[derive_grad(wrt(w, b))]
/// fn loss<F: Float>(w: [F; 2], b: F, x: [F; 2], t: F) -> F {
///     let z = w[0] * x[0] + w[1] * x[1] + b;
///     let y = z.tanh();
///     F::from(0.5).unwrap() * (y - t) * (y - t)
/// }
///
/// let (w, b, x, t) = ([0.3, -0.2], 0.1, [1.0, 2.0], 0.5);
/// let (value, (dw, db)) = loss_grad(w, b, x, t);
/// assert_eq!(value, loss(w, b, x, t));
/// // By hand: ∂L/∂z = (y − t)·(1 − y²), ∂L/∂w = ∂L/∂z·x, ∂L/∂b = ∂L/∂z.
/// let y = (0.3f64 * 1.0 - 0.2 * 2.0 + 0.1).tanh();
/// let dz = (y - t) * (1.0 - y * y);
/// assert!((db - dz).abs() < 1e-15);
/// assert!((dw[0] - dz * 1.0).abs() < 1e-15 && (dw[1] - dz * 2.0).abs() < 1e-15);
/// ```
///
/// `#[derive_grad(hessian)]` adds `NAME_hvp` and `NAME_hessian`, also
/// through calls to other `#[derive_grad]` functions:
///
/// ```
/// use backprop::prelude::*;
///
/// #[derive_grad]
/// fn sq(a: f64) -> f64 {
///     a * a
/// }
///
/// #[derive_grad(hessian)]
/// fn loss(w: [f64; 2]) -> f64 {
///     sq(w[0] * w[1]) + w[1].sin()
/// }
///
/// let w = [0.5, 2.0];
/// let (value, grad, h) = loss_hessian(w);
/// assert_eq!(value, loss(w));
/// // By hand: f = w₀²w₁² + sin w₁.
/// assert_eq!(grad, loss_grad(w).1);
/// let want = [[2.0 * w[1] * w[1], 4.0 * w[0] * w[1]], [4.0 * w[0] * w[1], 2.0 * w[0] * w[0] - w[1].sin()]];
/// for i in 0..2 {
///     for j in 0..2 {
///         assert!((h[i][j] - want[i][j]).abs() < 1e-14, "H[{i}][{j}]");
///     }
/// }
/// ```
///
/// `#[derive_grad(explain)]` adds `NAME_explain()` and `NAME_trace(args)`;
/// see the crate documentation and README for everything a body may contain.
pub use backprop_macros::derive_grad;
pub use num_traits::Float;

/// States the gradient of a function `#[derive_grad]` cannot see into, so
/// that losses can call it:
///
/// ```
/// use backprop::prelude::*;
///
/// /// Softplus through a library call the macro cannot read.
/// #[custom_grad(softplus_grad)]
/// fn my_softplus(x: f64) -> f64 {
///     x.exp().ln_1p()
/// }
///
/// /// d/dx ln(1 + eˣ) = 1 / (1 + e⁻ˣ).
/// fn softplus_grad(x: f64) -> f64 {
///     1.0 / (1.0 + (-x).exp())
/// }
///
/// #[derive_grad]
/// fn loss(w: [f64; 2]) -> f64 {
///     my_softplus(w[0] * w[1]) + w[1]
/// }
///
/// let (value, grad) = loss_grad([0.5, 2.0]);
/// assert_eq!(value, loss([0.5, 2.0]));
/// let s = 1.0 / (1.0 + (-1.0f64).exp());
/// assert!((grad[0] - 2.0 * s).abs() < 1e-15 && (grad[1] - (0.5 * s + 1.0)).abs() < 1e-15);
/// ```
///
/// With `#[custom_grad(softplus_grad)]` it states first derivatives only
/// (`#[custom_grad(softplus_grad, hvp = softplus_hvp)]` states a
/// Hessian-vector product too): a function with
/// `#[derive_grad(hessian)]` that calls it, directly or through other
/// `#[derive_grad]` functions, does not build ("second derivatives through
/// `my_softplus` are not supported (a `#[custom_grad]` function states its
/// first derivatives only) …", reported by `cargo build`, not by `cargo
/// check`), while `NAME_grad` and `jvp` go through it:
///
/// ```compile_fail,E0080
/// use backprop::prelude::*;
///
/// #[custom_grad(softplus_grad)]
/// fn my_softplus(x: f64) -> f64 {
///     x.exp().ln_1p()
/// }
///
/// fn softplus_grad(x: f64) -> f64 {
///     1.0 / (1.0 + (-x).exp())
/// }
///
/// #[derive_grad(hessian)]
/// fn loss(w: [f64; 2]) -> f64 {
///     my_softplus(w[0] * w[1]) + w[1]
/// }
///
/// let _ = loss_hessian([0.5, 2.0]);
/// ```
pub use backprop_macros::custom_grad;

pub use backprop_macros::Params;

/// Everything a loss function and its training loop need.
pub mod prelude {
    pub use crate::{custom_grad, derive_grad, Params};
    pub use backprop_core::prelude::*;
    pub use num_traits::Float;
}

/// Items the generated code refers to; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use backprop_core::functions::*;
    pub use backprop_macros::derive_grad_continue;
    pub use num_traits;

    /// A constant of a generic float type. `NumCast` from `f64` to a float
    /// type cannot fail; NaN is the (unreachable) fallback, never a panic.
    #[inline(always)]
    pub fn constant<F: num_traits::Float>(v: f64) -> F {
        F::from(v).unwrap_or_else(F::nan)
    }

    /// Compiles only when `T` is a [`Params`](backprop_core::Params) type:
    /// the check by which `#[derive_grad]` says a struct parameter needs
    /// `#[derive(Params)]`.
    pub fn must_be_params<T: backprop_core::Params>() {}

    /// Compiles only when both arguments are the same function: the
    /// generated code's proof that a name it differentiated as one of
    /// backprop's functions (`relu`) is not a user's function of that name.
    #[inline(always)]
    pub fn the_name_must_resolve_to_backprops_own_function<T>(_ours: &T, _theirs: &T) {}

    /// A value of the element type as `f64`, for traces (NaN if it has no
    /// `f64` value, which no float type has).
    #[inline(always)]
    pub fn to_f64<F: num_traits::Float>(x: F) -> f64 {
        x.to_f64().unwrap_or(f64::NAN)
    }

    /// An integer parameter converted to a generic float type.
    #[inline(always)]
    pub fn cast<F: num_traits::Float, I: num_traits::ToPrimitive>(i: I) -> F {
        F::from(i).unwrap_or_else(F::nan)
    }

    /// Whether a caller wants a `NAME_pullback` to add the gradient with
    /// respect to one of its slices: a type ([`Wanted`], [`Unwanted`]), so
    /// that the additions nobody reads are a branch on a constant, which
    /// the optimizer removes with what feeds them.
    pub trait Want: Copy {
        /// Wanted.
        const ON: bool;
    }

    /// The gradient is wanted (see [`Want`]).
    #[derive(Clone, Copy)]
    pub struct Wanted;

    /// The gradient is not wanted (see [`Want`]): its buffer may be empty.
    #[derive(Clone, Copy)]
    pub struct Unwanted;

    impl Want for Wanted {
        const ON: bool = true;
    }

    impl Want for Unwanted {
        const ON: bool = false;
    }

    /// [`Want::ON`] of a value's type.
    #[inline(always)]
    pub fn wanted<W: Want>(_: W) -> bool {
        W::ON
    }

    /// `start`, after checking the range `start..end` of a slice of `len`
    /// elements as `&slice[start..end]` does: a range bound to a name
    /// (`let row = &w[a..b];`) panics where the original's does, with its
    /// message, whether or not the generated code reads the slice there.
    #[inline(always)]
    #[track_caller]
    pub fn check_range(start: usize, end: usize, len: usize) -> usize {
        if start > end {
            panic!("slice index starts at {start} but ends at {end}");
        }
        if end > len {
            panic!("range end index {end} out of range for slice of length {len}");
        }
        start
    }

    /// `index`, after checking it as indexing a slice of `len` elements
    /// does: a read `row[j]` of a range bound to a name panics when `j` is
    /// past the range, even where the slice it is cut from goes on.
    #[inline(always)]
    #[track_caller]
    pub fn check_index(index: usize, len: usize) -> usize {
        if index >= len {
            panic!("index out of bounds: the len is {len} but the index is {index}");
        }
        index
    }
}
