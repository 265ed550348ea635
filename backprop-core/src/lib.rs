//! The run-time half of backprop: the differentiable helper functions that
//! `#[derive_grad]` knows, and the optimizers, training loops and gradient
//! checking that call the generated `NAME_grad`.
//!
//! - [`Params`]: every parameter / gradient type `NAME_grad` returns —
//!   `f32`, `f64`, arrays, nested arrays and tuples of them.
//! - [`Optimizer`]: `opt.step(&mut params, &grad)` — [`Sgd`], [`Momentum`]
//!   (the seeds' form), [`Nesterov`], [`Adagrad`], [`RmsProp`], [`Adam`],
//!   [`AdamW`], each with an [`LrSchedule`].
//! - [`minimize()`]: descent on a `(value, grad)` closure with stopping rules
//!   and NaN-safe errors ([`Error`]); [`lbfgs()`] (quasi-Newton, strong
//!   Wolfe line search) on the same closure, and [`newton()`] (trust
//!   region, Steihaug–Toint conjugate gradients) with Hessian-vector
//!   products or [`newton_with_hessian`] with a dense Hessian, as
//!   `#[derive_grad(hessian)]` generates them.
//! - [`gradcheck()`]: central differences against a claimed gradient.
//! - [`train()`]: mini-batch training over samples, parallel and
//!   deterministic, with gradient clipping, a per-epoch callback
//!   ([`EpochReport`], [`Control`], [`EarlyStopping`]) and the loss history;
//!   [`datasets::iris`] to try it on.
//! - `argmin` (feature `argmin`): the same functions as an argmin problem,
//!   for argmin's solvers.
//!
//! ```
//! use backprop_core::prelude::*;
//!
//! // the value-and-gradient function #[derive_grad] would generate for
//! // f(w) = (w₀ − 3)² + 10·(w₁ + 1)²
//! fn f_grad(w: [f64; 2]) -> (f64, [f64; 2]) {
//!     let (a, b) = (w[0] - 3.0, w[1] + 1.0);
//!     (a * a + 10.0 * b * b, [2.0 * a, 20.0 * b])
//! }
//!
//! assert!(gradcheck_value_grad(|w| f_grad(*w), &[0.5, 0.5]).passed(1e-8));
//!
//! let mut w = [0.0, 0.0];
//! let result = minimize(
//!     &mut w,
//!     &mut Adam::new(0.1),
//!     &MinimizeOptions::new().max_steps(5000).grad_tol(1e-9),
//!     |w| f_grad(*w),
//! )
//! .unwrap();
//! assert_eq!(result.stop, StopReason::GradientNorm);
//! assert!((w[0] - 3.0).abs() < 1e-9 && (w[1] + 1.0).abs() < 1e-9);
//! ```

#![warn(missing_docs)]

#[cfg(feature = "argmin")]
pub mod argmin;
#[cfg(feature = "serde")]
pub mod checkpoint;
pub mod datasets;
pub mod error;
pub mod explain;
pub use backprop_functions as functions;
pub mod gradcheck;
pub mod minimize;
pub mod optim;
pub mod params;
pub mod rng;
pub mod schedule;
pub mod train;
pub mod workspace;

pub use error::{At, Error};
pub use functions::*;
pub use gradcheck::{
    gradcheck, gradcheck_value_grad, gradcheck_with, numeric_gradient, GradCheck, GradCheckOptions,
};
pub use minimize::{
    lbfgs, minimize, newton, newton_with_hessian, LbfgsOptions, MinimizeOptions, Minimized,
    NewtonOptions, StopReason,
};
pub use optim::{Adagrad, Adam, AdamW, Momentum, Nesterov, Optimizer, RmsProp, Sgd};
pub use params::{Params, Scalar};
pub use rng::SplitMix64;
pub use schedule::LrSchedule;
pub use train::{
    mean_value_and_grad, train, train_acc, Control, EarlyStopping, EpochCallback, EpochReport,
    NoCallback, OnEpoch, Progress, TrainOptions, Trained,
};
pub use workspace::Workspace;

/// Everything a training program usually needs, for `use
/// backprop_core::prelude::*`.
///
/// [`Params`] is left out on purpose: its methods are implemented for
/// arrays, and with the trait in scope `w.len()` on a nested array inside a
/// loss function would mean the flat element count instead of the array's
/// length. Import it by name where its methods are wanted.
pub mod prelude {
    pub use crate::functions::*;
    pub use crate::{
        gradcheck, gradcheck_value_grad, lbfgs, mean_value_and_grad, minimize, newton,
        newton_with_hessian, train, train_acc, Adagrad, Adam, AdamW, Control, EarlyStopping,
        EpochReport, GradCheck, LbfgsOptions, LrSchedule, MinimizeOptions, Minimized, Momentum,
        Nesterov, NewtonOptions, Optimizer, Progress, RmsProp, Sgd, SplitMix64, StopReason,
        TrainOptions, Trained, Workspace,
    };
}
