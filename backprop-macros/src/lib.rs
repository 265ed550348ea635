//! The `#[derive_grad]` compiler of backprop.
//!
//! This file is the only one that touches `proc_macro`; the stages are
//! plain `proc-macro2`/`syn` code, each in its own module, so they can be
//! unit- and snapshot-tested:
//!
//! ```text
//! args, signature ─► lower ─► graph (hash-consed arena) ─► reverse ─► emit
//!                              ▲ rules (simplifier table)   ▲ ops (local derivatives)
//! ```

mod algebra;
mod args;
mod emit;
mod expand;
mod explain;
mod graph;
mod lower;
mod ops;
mod pattern;
mod reverse;
mod rules;
mod signature;
mod sym;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Differentiates a loss function at compile time.
///
/// `#[derive_grad]` keeps the function as it is and adds `NAME_grad` beside
/// it, with the same visibility, generics and parameters, returning
/// `(value, gradient)`. The gradient is taken with respect to the first
/// parameter, or the ones named in `#[derive_grad(wrt(a, b))]`; it has the
/// parameter's own value type (`[f64; 9]` for `w: [f64; 9]` or
/// `w: &[f64; 9]`), or a tuple of them in `wrt` order.
///
/// See the `backprop` crate's documentation for a runnable example and the
/// list of supported constructs.
#[proc_macro_attribute]
pub fn derive_grad(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::derive_grad(attr.into(), item.into()).into()
}
