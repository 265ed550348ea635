//! The companion `NAME_pullback` of a `#[derive_grad]` function with a
//! slice parameter: what a caller that passes it slices calls in its
//! reverse sweep ([`crate::graph::Op::Pullback`]).
//!
//! `NAME_pullback(args…, seed, grad)` adds `seed · ∂f/∂s` into `grad.i`
//! (a `&mut [F]` as long as `s`: the caller's adjoint buffer of the slice
//! it passed, or of the range of one) for each slice parameter
//! `s`, input `i`, and returns a tuple of `seed · ∂f/∂a` for every other
//! input `a` (`()` in place of each slice, integer and bool). The caller's
//! slices' adjoint buffers are updated in place, so no gradient as long as
//! a slice is ever returned by value, and `seed` scales every adjoint of
//! the sweep at its start rather than each element at its end. It runs
//! the function's forward sweep again: the caller's forward sweep called
//! the function itself, for its value only. Its floats go on the caller's
//! `tape`, used as a stack, so a recursion allocates once, not per call.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::{self, Outputs};
use crate::expand::{compile_args, core_checks, grad_tree, input_grad_type, Common};
use crate::signature::{InputTree, ParamKind};
use crate::structs::Context;

/// The name of `NAME_pullback`'s parameter holding the output's adjoint.
pub const PULLBACK_SEED: &str = "seed";

/// `NAME_pullback` (`NAME_pullback_k` for element `k` of a tuple), for a
/// function with a slice parameter; nothing for any other (no caller can
/// pass it a slice) or for a method (other losses do not call methods).
pub fn pullback_fn(
    attr: TokenStream,
    func: &syn::ItemFn,
    ctx: &Context,
    which: Option<usize>,
) -> Result<TokenStream, Vec<syn::Error>> {
    if ctx.self_ty.is_some() {
        return Ok(TokenStream::new());
    }
    let mut args = crate::args::parse(attr).map_err(|e| vec![e])?;
    args.explain = false;
    args.jvp = false;
    args.hessian = false;
    args.hvp = false;
    args.pullback = true;
    let c = compile_args(args, Vec::new(), func, ctx, which.unwrap_or(0))?;
    let sig = &c.sig;
    let is_slice = |t: &InputTree| matches!(t, InputTree::Leaf(p) if matches!(sig.params[*p].kind, ParamKind::Slice { array_len: None, .. }));
    // A slice inside a struct, or of a length fixed by a generic, has no
    // place in the tuple below: no caller can pass one whole anyway.
    let slices = sig.inputs.iter().filter(|i| is_slice(&i.tree)).count();
    let buffers = sig
        .params
        .iter()
        .filter(|p| matches!(p.kind, ParamKind::Slice { .. }))
        .count();
    let other_buffers = buffers != slices;
    if slices == 0 || other_buffers {
        return Ok(TokenStream::new());
    }
    let name = &func.sig.ident;
    let fn_name = match which {
        None => format_ident!("{}_pullback", name),
        Some(k) => format_ident!("{}_pullback_{}", name, k),
    };
    let vis = &func.vis;
    let (impl_generics, _, where_clause) = func.sig.generics.split_for_impl();
    let common = Common::of(func, &c);
    let (elem, inputs, fields) = (&common.elem, &common.inputs, &common.fields);
    let mut grads = Vec::new();
    let returned = (0..sig.inputs.len())
        .map(|i| grad_tree(&sig.inputs[i].tree, &c, &mut grads))
        .collect();
    let grad = emit::local("grad");
    let tape = emit::local("shared_tape");
    let want = emit::local("want");
    let body = emit::body_with_tape(
        &common.source(&c),
        &Outputs {
            value: c.lowered.output,
            grads,
            returned,
            always_tuple: true,
            accumulate: Some(emit::Accumulate {
                grad: grad.clone(),
                tuple: true,
                workspace: None,
                buffers_only: true,
                want: Some(want.clone()),
            }),
            tangent: None,
            extra: None,
            extra_returned: None,
        },
        &tape,
    );
    let (places, returns): (Vec<TokenStream>, Vec<TokenStream>) = (0..sig.inputs.len())
        .map(|i| {
            let ty = input_grad_type(sig, i, elem);
            if let InputTree::Leaf(p) = &sig.inputs[i].tree {
                if is_slice(&sig.inputs[i].tree) {
                    // A slice, so that a caller passing a range of its
                    // slice (`&w[a..b]`) passes that range of its adjoint.
                    let item = sig.params[*p].slice_element(elem.clone());
                    return (quote!(&mut [#item]), quote!(()));
                }
            }
            {
                (quote!(()), ty)
            }
        })
        .unzip();
    let wants = (0..sig.inputs.len()).map(|_| quote!(impl ::backprop::__private::Want));
    let seed = emit::local(PULLBACK_SEED);
    let checks = core_checks(&c.lowered.graph, elem);
    Ok(quote! {
        /// The reverse of a call of this function that passes slices: adds
        /// `seed` times the gradient with respect to each slice into `grad`,
        /// and returns `seed` times the gradient with respect to every
        /// other parameter.
        #[doc(hidden)]
        #[inline]
        #[allow(unused_parens, unused_variables, unused_mut, non_snake_case, dead_code, clippy::all, clippy::pedantic, clippy::nursery)]
        #vis fn #fn_name #impl_generics (#(#inputs,)* #seed: #elem, mut #grad: (#(#places,)*), #tape: &mut ::std::vec::Vec<#elem>, #want: (#(#wants,)*)) -> (#(#returns,)*) #where_clause {
            #fields
            #(#checks)*
            #body
        }
    })
}
