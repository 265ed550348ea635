//! The run-time half of backprop: the differentiable helper functions that
//! `#[derive_grad]` knows, and (see the other modules) optimizers, training
//! loops and gradient checking that call the generated `NAME_grad`.

#![warn(missing_docs)]

pub mod datasets;
pub mod error;
pub mod functions;
pub mod gradcheck;
pub mod minimize;
pub mod optim;
pub mod params;
pub mod rng;
pub mod schedule;
pub mod train;

pub use error::{At, Error};
pub use functions::{leaky_relu, log_sigmoid, relu, sigmoid, silu, softplus, square};
pub use gradcheck::{
    gradcheck, gradcheck_value_grad, gradcheck_with, numeric_gradient, GradCheck, GradCheckOptions,
};
pub use minimize::{minimize, MinimizeOptions, Minimized, StopReason};
pub use optim::{Adagrad, Adam, AdamW, Momentum, Nesterov, Optimizer, RmsProp, Sgd};
pub use params::{Params, Scalar};
pub use rng::SplitMix64;
pub use schedule::LrSchedule;
pub use train::{mean_value_and_grad, train, Progress, TrainOptions, Trained};
