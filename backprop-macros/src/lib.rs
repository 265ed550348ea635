//! The `#[derive_grad]` attribute of backprop.
//!
//! This crate only converts between `proc_macro` and `proc_macro2`: the
//! compiler itself is the plain library `backprop-compiler`.

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
    backprop_compiler::derive_grad(attr.into(), item.into()).into()
}

/// States the gradient of a function the macro cannot differentiate (a
/// library call such as `libm::erf`, a closed form), so that
/// `#[derive_grad]` functions can call it.
///
/// `#[custom_grad(gelu_grad)] fn gelu(x: f64) -> f64 { … }` keeps `gelu` as
/// written; `gelu_grad` takes the same arguments and returns the gradient
/// with respect to the float parameters: one value of the parameter's type,
/// or a tuple in parameter order when there are several (integer and bool
/// parameters get no entry).
#[proc_macro_attribute]
pub fn custom_grad(attr: TokenStream, item: TokenStream) -> TokenStream {
    backprop_compiler::custom_grad(attr.into(), item.into()).into()
}

/// Makes a struct of weights a parameter type: implements
/// `backprop::core::Params` for it (so optimizers, `train` and `minimize`
/// take it), and lets `#[derive_grad]` functions and methods take it as a
/// parameter and read its fields (`net.w1[j][i]`), returning its gradient
/// as the struct itself.
///
/// The fields must be floats, (nested) arrays or `Vec`s of floats, or other
/// `#[derive(Params)]` structs, all of one float type; the struct must also
/// be `Clone`.
#[proc_macro_derive(Params)]
pub fn derive_params(item: TokenStream) -> TokenStream {
    backprop_compiler::derive_params(item.into()).into()
}

/// The step by which `#[derive_grad]` gathers the definitions of the
/// structs a function takes (called by the macros `#[derive(Params)]`
/// defines); not part of the public API.
#[doc(hidden)]
#[proc_macro]
pub fn derive_grad_continue(input: TokenStream) -> TokenStream {
    backprop_compiler::derive_grad_continue(input.into()).into()
}
