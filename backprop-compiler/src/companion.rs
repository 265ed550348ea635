//! The second-order companion `NAME_hvp_all` of every `#[derive_grad]`
//! function: what a caller with `#[derive_grad(hessian)]` calls to take
//! second derivatives through it ([`crate::graph::Op::CallDir`]).
//!
//! `NAME_hvp_all(marker, args…, t)` takes a tangent `t` of every argument
//! (a tuple, `()` for an integer or a bool, each passed as its argument
//! is: by value, by reference, a slice's as a slice) and returns
//! `(value, gradient, H·t, ∇f·t)`, the gradient and `H·t` with respect to
//! every argument (tuples shaped as `NAME_vjp`'s gradient).
//!
//! The marker is generic (`SecondOrderMarker`), and a companion passes its
//! own on to the companions it calls: none is compiled into code unless a
//! `hessian` function calls it, at the end of a chain of instantiations.
//! A function whose second derivatives backprop cannot take (a struct
//! parameter, a construct forward mode refuses, a `#[custom_grad]`
//! function) gets a companion whose body evaluates a constant that
//! panics with the reason: an error at build time (`cargo build`, not
//! `cargo check`), only if a `hessian` function reaches it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::{self, Grad, Outputs};
use crate::expand::{compile_args, core_checks, input_grad_type, Common, Compiled};
use crate::signature::{InputTree, ParamKind};
use crate::structs::Context;

/// `NAME_hvp_all` (`NAME_hvp_all_k` for element `k` of a tuple), given
/// the function compiled for its first derivatives (`first`).
pub fn hvp_all_fn(
    func: &syn::ItemFn,
    first: &Compiled,
    ctx: &Context,
    which: Option<usize>,
) -> TokenStream {
    // A method's companion would live in its `impl` block, where its
    // trait cannot (and methods are not called by other losses): none.
    if ctx.self_ty.is_some() {
        return TokenStream::new();
    }
    let sig = &first.sig;
    let name = &func.sig.ident;
    let fn_name = match which {
        None => format_ident!("{}_hvp_all", name),
        Some(k) => format_ident!("{}_hvp_all_{}", name, k),
    };
    let mut floats = Vec::new();
    let mut refused = None;
    for input in &sig.inputs {
        match &input.tree {
            InputTree::Leaf(p) => match &sig.params[*p].kind {
                ParamKind::Float { .. } | ParamKind::Slice { .. } => {
                    floats.push(input.name.clone());
                }
                _ => {}
            },
            InputTree::Struct { .. } => {
                refused = Some(format!(
                    "its parameter `{}` is a struct of parameters",
                    input.name
                ));
            }
        }
    }
    if floats.is_empty() && refused.is_none() {
        refused = Some("it has no float parameter".into());
    }
    let compiled = match refused {
        Some(why) => Err(why),
        None => {
            let args = crate::args::Args {
                wrt: Some(floats),
                hessian: true,
                companion: true,
                ..Default::default()
            };
            compile_args(args, Vec::new(), func, ctx, which.unwrap_or(0))
                .map_err(|e| e.first().map(ToString::to_string).unwrap_or_default())
        }
    };
    match compiled {
        Ok(c) => emit_hvp_all(func, &c, &fn_name),
        Err(why) => {
            let elem = crate::expand::elem_tokens(&sig.elem);
            let types = slot_types(first, &elem);
            refusal(func, &elem, &types, &fn_name, &why)
        }
    }
}

/// The types of `NAME_hvp_all`'s tangent (and of its gradient and H·t):
/// per input, its gradient's type, `()` for an integer or a bool.
fn slot_types(c: &Compiled, elem: &TokenStream) -> Vec<TokenStream> {
    (0..c.sig.inputs.len())
        .map(|i| input_grad_type(&c.sig, i, elem))
        .collect()
}

/// The types of `NAME_hvp_all`'s tangent: per input, its gradient's type,
/// by reference where the input is a reference (`&[f64; 3]`), a slice of
/// its elements for a slice or `Vec` (`&[f64]`), `()` for an integer or a
/// bool. A caller passes each tangent as it passes the argument.
fn tangent_types(c: &Compiled, elem: &TokenStream) -> Vec<TokenStream> {
    c.sig
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let by_value = input_grad_type(&c.sig, i, elem);
            let InputTree::Leaf(p) = input.tree else {
                return by_value;
            };
            let param = &c.sig.params[p];
            match &param.kind {
                ParamKind::Slice { .. } => {
                    let item = param.slice_element(elem.clone());
                    quote!(&[#item])
                }
                ParamKind::Float { .. } if param.by_ref => quote!(&#by_value),
                _ => by_value,
            }
        })
        .collect()
}

/// The name of a companion's generic marker type, and its bound.
pub(crate) const MARKER_TYPE: &str = "BackpropMarker";

/// `func`'s generics with the companion's marker type parameter added.
pub(crate) fn marker_generics(func: &syn::ItemFn) -> syn::Generics {
    let marker_ty = format_ident!("{}", MARKER_TYPE);
    let mut generics = func.sig.generics.clone();
    generics.params.push(syn::parse_quote!(
        #marker_ty: ::backprop::core::functions::internal::SecondOrderMarker
    ));
    generics
}

fn emit_hvp_all(func: &syn::ItemFn, c: &Compiled, fn_name: &syn::Ident) -> TokenStream {
    let sig = &c.sig;
    let h = c.hessian.as_ref().expect("compiled with `hessian`");
    let vis = &func.vis;
    let common = Common::of(func, c);
    let (elem, inputs, fields) = (&common.elem, &common.inputs, &common.fields);
    let marker = format_ident!("__backprop_marker");
    let marker_tokens = quote!(#marker);
    let graph = h.hvp.graph.as_ref().unwrap_or(&c.lowered.graph);
    let src = emit::Source {
        g: graph,
        adjoint_names: if h.hvp.graph.is_some() {
            &[]
        } else {
            &c.adjoint_names
        },
        marker: Some(&marker_tokens),
        ..common.source(c)
    };
    let marker_ty = format_ident!("{}", MARKER_TYPE);
    let generics = marker_generics(func);
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let shape_of = |p: usize| match &sig.params[p].kind {
        ParamKind::Float { shape } => shape.clone(),
        _ => Vec::new(),
    };
    let direction = h.hvp.direction.expect("`NAME_hvp`'s direction");
    let mut extra: Vec<(Grad, Vec<usize>)> = h
        .hvp
        .out
        .iter()
        .cloned()
        .zip(sig.wrt.iter().map(|&p| shape_of(p)))
        .collect();
    extra.push((Grad::Elements(vec![direction]), Vec::new()));
    let body = emit::body(
        &src,
        &Outputs {
            value: h.hvp.value,
            grads: sig
                .wrt
                .iter()
                .zip(&h.hvp.grad)
                .map(|(&p, g)| (&sig.params[p], g.clone()))
                .collect(),
            returned: (0..sig.wrt.len()).map(emit::GradTree::Leaf).collect(),
            always_tuple: true,
            accumulate: None,
            tangent: None,
            extra: Some(extra),
            extra_returned: None,
        },
    );
    // The tangent's parts bound to the tangent parameters the body reads
    // (by reference where the parameter is one); the results spread back
    // over every argument, `()` where it is not differentiated.
    // Its own locals: names the user's function does not mention, each
    // hidden from outside items of the same name by a local `fn` (as the
    // emitted bodies' are).
    let mut invented = Vec::new();
    let mentioned = common.user.mentioned();
    let fresh = |invented: &mut Vec<String>, base: &str| {
        let mut name = base.to_string();
        let mut k = 0;
        while mentioned.contains(&name) {
            k += 1;
            name = format!("{base}_{k}");
        }
        invented.push(name.clone());
        emit::local(&name)
    };
    let whole = emit::local("tangents");
    let (value, dir) = (fresh(&mut invented, "value"), fresh(&mut invented, "dir"));
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    let (mut gs, mut hs, mut grads_out, mut hvs_out) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for input in &sig.inputs {
        let InputTree::Leaf(p) = input.tree else {
            unreachable!("refused before")
        };
        match sig.wrt.iter().position(|&w| w == p) {
            Some(k) => {
                let t = &sig.params[h.tangents[k]];
                let part = fresh(&mut invented, &format!("tangent_part_{k}"));
                let tname = &t.name;
                if !mentioned.contains(&tname.to_string()) {
                    invented.push(tname.to_string());
                }
                // Passed as the argument is: by reference where it is
                // one, a slice's as a slice.
                binds.push(quote!(let #tname = #part;));
                parts.push(quote!(#part));
                let (g, hv) = (
                    fresh(&mut invented, &format!("grad_{k}")),
                    fresh(&mut invented, &format!("hv_{k}")),
                );
                gs.push(g.clone());
                hs.push(hv.clone());
                grads_out.push(quote!(#g));
                hvs_out.push(quote!(#hv));
            }
            None => {
                parts.push(quote!(_));
                grads_out.push(quote!(()));
                hvs_out.push(quote!(()));
            }
        }
    }
    let shadows = invented.iter().map(|n| {
        let n = emit::local(n);
        quote!(fn #n() {})
    });
    let types = slot_types(c, elem);
    let tangent_types = tangent_types(c, elem);
    let checks = core_checks(&c.lowered.graph, elem);
    quote! {
        /// The value of this function, its gradient, its Hessian times a
        /// tangent `t` and its derivative along `t`, with respect to every
        /// argument: the convention by which other `#[derive_grad]`
        /// functions take second derivatives through this one.
        #[doc(hidden)]
        #[inline]
        #[allow(unused_parens, unused_variables, unused_mut, non_snake_case, dead_code, clippy::all, clippy::pedantic, clippy::nursery)]
        #vis fn #fn_name #impl_generics (#marker: #marker_ty, #(#inputs,)* #whole: (#(#tangent_types,)*)) -> (#elem, (#(#types,)*), (#(#types,)*), #elem) #where_clause {
            #(#shadows)*
            let (#(#parts,)*) = #whole;
            #(#binds)*
            #fields
            #(#checks)*
            let (#value, (#(#gs,)*), (#(#hs,)* #dir,)) = { #body };
            (#value, (#(#grads_out,)*), (#(#hvs_out,)*), #dir)
        }
    }
}

/// A `NAME_hvp_all` that refuses: its body evaluates a constant of its
/// marker type that panics with the reason, so the error comes when (and
/// only if) a `hessian` function's code instantiates it.
/// `types`: of each argument's gradient (`()` for an integer or a bool).
/// The tangents may be of any type: a caller passing a fixed-size array
/// to a slice parameter passes an array as its tangent.
pub fn refusal(
    func: &syn::ItemFn,
    elem: &TokenStream,
    types: &[TokenStream],
    fn_name: &syn::Ident,
    why: &str,
) -> TokenStream {
    let name = &func.sig.ident;
    let vis = &func.vis;
    let inputs = func.sig.inputs.iter();
    let message = format!(
        "second derivatives through `{name}` are not supported ({why}): a function with `#[derive_grad(hessian)]` calls it, directly or through other functions (see the instantiations below). `NAME_grad` and `jvp` go through it; for `hessian`, write its computation in the caller instead of calling it"
    )
    .replace('{', "{{")
    .replace('}', "}}");
    let marker_ty = format_ident!("{}", MARKER_TYPE);
    let generics = marker_generics(func);
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    quote! {
        #[doc(hidden)]
        #[allow(unused_variables, unused_mut, non_snake_case, dead_code, clippy::all, clippy::pedantic, clippy::nursery)]
        #vis fn #fn_name #impl_generics (_: #marker_ty, #(#inputs,)* _: impl ::core::marker::Sized) -> (#elem, (#(#types,)*), (#(#types,)*), #elem) #where_clause {
            struct Refused<M>(::core::marker::PhantomData<M>);
            impl<M> Refused<M> {
                const REASON: () = ::core::panic!(#message);
            }
            let () = Refused::<#marker_ty>::REASON;
            ::core::unreachable!()
        }
    }
}
