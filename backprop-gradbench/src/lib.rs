//! backprop as a [GradBench](https://github.com/gradbench/gradbench) tool.
//!
//! GradBench runs the same evals on many automatic-differentiation tools
//! through one JSON-lines protocol (upstream `CONTRIBUTING.md`, "Protocol")
//! and validates every answer against hand-written C++ derivatives. This
//! crate is that tool for backprop: [`protocol`] speaks the protocol, and
//! one module per eval holds the eval's formula written as a user would
//! write it from the eval's README, under `#[derive_grad]`. **No derivative
//! in this crate is written by hand**: every gradient is what the macro
//! generates. An eval the macro cannot express yet is answered with
//! `success: false` and the reason (see `LIMITATIONS.md`), never with a
//! hand-derived substitute.
//!
//! The `gradbench` binary in `backprop-bench` only calls [`protocol::serve`]
//! on stdin/stdout; keeping the logic here lets `cargo test` exercise it
//! without building backprop-bench's heavy dependencies.

#![warn(missing_docs)]
// The losses index slices in `for` loops over ranges: `#[derive_grad]`
// differentiates that form (iterator methods on slices are not supported),
// so clippy's iterator suggestions cannot be followed here.
#![allow(clippy::needless_range_loop, clippy::manual_memcpy)]

pub mod ba;
pub mod det;
pub mod gmm;
pub mod hello;
pub mod ht;
pub mod kmeans;
pub mod llsq;
pub mod lse;
pub mod lstm;
pub mod ode;
pub mod protocol;
pub mod timing;
pub mod unsupported;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// What one `evaluate` produced: the output to send back and the duration
/// of every timed run, in nanoseconds (one `evaluate` timing each).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    /// The function's result at the input, in the eval's JSON shape.
    pub output: Value,
    /// Nanoseconds of each run of the compute alone (no JSON work).
    pub timings: Vec<u64>,
}

/// Answers one `evaluate` message of a module: the function name and its
/// input, or an error string that goes back as `success: false`.
pub type EvalFn = fn(&str, &Value) -> Result<Evaluated, String>;

/// The module named `name`, or why backprop cannot run it. `define` is
/// answered from this, so an unsupported eval stops before any input is
/// generated for it.
pub fn module(name: &str) -> Result<EvalFn, String> {
    match name {
        "hello" => Ok(hello::evaluate),
        "llsq" => Ok(llsq::evaluate),
        "lse" => Ok(lse::evaluate),
        "ode" => Ok(ode::evaluate),
        "gmm" => Ok(gmm::evaluate),
        "kmeans" => Ok(kmeans::evaluate),
        "lstm" => Ok(lstm::evaluate),
        "ba" => Ok(ba::evaluate),
        "ht" => Ok(ht::evaluate),
        "det" => Ok(det::evaluate),
        other => Err(unsupported::reason(other)),
    }
}

/// Decodes an eval's input. Done before timing starts: GradBench times the
/// compute only.
pub(crate) fn parse<T: DeserializeOwned>(input: &Value) -> Result<T, String> {
    T::deserialize(input).map_err(|e| format!("malformed input: {e}"))
}

/// The error for a function name a module does not have.
pub(crate) fn unknown_function(module: &str, function: &str) -> String {
    format!("module {module} has no function {function:?}")
}
