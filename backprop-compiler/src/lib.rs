//! The `#[derive_grad]` compiler of backprop, as a plain library.
//!
//! Every stage is ordinary `proc-macro2`/`syn` code, each in its own module,
//! so it can be unit- and snapshot-tested and reused by tools (the
//! `backprop-cli` explainer, the expansion benchmarks); the proc-macro crate
//! `backprop-macros` is a few lines over [`derive_grad`].
//!
//! ```text
//! args, signature ─► lower ─► graph (hash-consed arena) ─► reverse ─► emit
//!                              ▲ rules (simplifier table)   ▲ ops (local derivatives)
//! ```

#![warn(missing_docs)]

pub mod algebra;
pub mod args;
pub mod companion;
pub mod custom;
pub mod emit;
pub mod expand;
pub mod explain;
pub mod forward;
pub mod graph;
pub mod lower;
pub mod op;
pub mod ops;
pub mod pattern;
pub mod pullback;
pub mod reverse;
pub mod rules;
pub mod second;
pub mod signature;
pub mod structs;
pub mod sym;

#[cfg(test)]
mod tests;

pub use custom::custom_grad;
pub use expand::{compile, derive_grad, generate, Compiled};
pub use structs::{derive_grad_continue, derive_params};
