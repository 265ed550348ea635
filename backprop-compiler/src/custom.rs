//! `#[custom_grad(GRAD_FN)]`: a function whose derivative the user states,
//! for what the macro cannot see into (a library function such as
//! `libm::erf`, a helper with a loop it does not support, a closed form that
//! is cheaper or more accurate than the chain rule through the code).
//!
//! The function stays as written. Beside it the attribute emits the hidden
//! companion `NAME_vjp` of the calling convention between `#[derive_grad]`
//! functions (value, and a gradient slot per parameter), built from the
//! function and `GRAD_FN`, so any loss can call `NAME` as it calls another
//! `#[derive_grad]` function. `GRAD_FN` takes the same arguments and returns
//! the gradient with respect to the float parameters (the float itself, or
//! an array of the parameter's type, …): one of them alone, or a tuple in
//! parameter order when there are several. Integer and bool parameters get
//! no entry.
//!
//! `#[custom_grad(GRAD_FN, hvp = HVP_FN)]` also states the Hessian-vector
//! product: `HVP_FN(args…, t)`, `t` and the result shaped as `GRAD_FN`'s
//! result; the attribute then emits the second-order companion
//! `NAME_hvp_all` (see [`crate::companion`]) from the three functions, so
//! `hessian` callers go through it. Without it, the companion refuses at
//! build time, only where a `hessian` caller reaches it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::args::Args;
use crate::expand::{elem_tokens, grad_type};
use crate::signature::{self, ParamKind};

/// Expands `#[custom_grad(attr)] item`.
pub fn custom_grad(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let err = syn::Error::new_spanned(
                &item,
                "#[custom_grad(f_grad)] applies to a free function returning a float: `#[custom_grad(gelu_grad)] fn gelu(x: f64) -> f64 { … }`",
            )
            .to_compile_error();
            return quote!(#item #err);
        }
    };
    match expand(attr, &func) {
        Ok(ts) => ts,
        Err(errors) => {
            let errors = errors.iter().map(syn::Error::to_compile_error);
            quote!(#func #(#errors)*)
        }
    }
}

/// `GRAD_FN` and, optionally, `hvp = HVP_FN`.
struct Attr {
    grad_fn: syn::Path,
    hvp_fn: Option<syn::Path>,
}

impl syn::parse::Parse for Attr {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let grad_fn: syn::Path = input.parse()?;
        let mut hvp_fn = None;
        if input.parse::<Option<syn::Token![,]>>()?.is_some() && !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key != "hvp" {
                return Err(syn::Error::new(
                    key.span(),
                    "the only option of #[custom_grad] is `hvp = f_hvp`",
                ));
            }
            input.parse::<syn::Token![=]>()?;
            hvp_fn = Some(input.parse()?);
            input.parse::<Option<syn::Token![,]>>()?;
        }
        Ok(Attr { grad_fn, hvp_fn })
    }
}

fn expand(attr: TokenStream, func: &syn::ItemFn) -> Result<TokenStream, Vec<syn::Error>> {
    let Attr { grad_fn, hvp_fn } = syn::parse2(attr.clone()).map_err(|e| {
        let message = if e.to_string().contains("#[custom_grad]") {
            e.to_string()
        } else {
            "name the function that computes the gradient: `#[custom_grad(gelu_grad)]`, with `fn gelu_grad(x: f64) -> f64` taking the same arguments (and optionally its Hessian-vector product: `#[custom_grad(gelu_grad, hvp = gelu_hvp)]`)".to_string()
        };
        vec![syn::Error::new(
            if attr.is_empty() { func.sig.ident.span() } else { e.span() },
            message,
        )]
    })?;
    let mut errors = Vec::new();
    let args = Args::default();
    let Some(sig) = signature::check(&func.sig, &args, &mut errors) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let elem = elem_tokens(&sig.elem);
    let name = &func.sig.ident;
    let vis = &func.vis;
    let vjp_name = format_ident!("{}_vjp", name);
    let (impl_generics, ty_generics, where_clause) = func.sig.generics.split_for_impl();
    let turbofish = ty_generics.as_turbofish();
    let inputs = func.sig.inputs.iter();
    // Each argument is passed on twice: to the function and to its
    // gradient. A `Vec` taken by value is cloned for the first.
    let pass = |p: &signature::ParamInfo, first: bool| {
        let n = &p.name;
        let by_value_vec = matches!(&p.ty, syn::Type::Path(t) if t.path.segments.last().is_some_and(|s| s.ident == "Vec"));
        if first && by_value_vec {
            quote!(::core::clone::Clone::clone(&#n))
        } else {
            quote!(#n)
        }
    };
    let first_args: Vec<TokenStream> = sig.params.iter().map(|p| pass(p, true)).collect();
    let second_args: Vec<TokenStream> = sig.params.iter().map(|p| pass(p, false)).collect();
    let floats: Vec<usize> = (0..sig.params.len())
        .filter(|&k| {
            matches!(
                sig.params[k].kind,
                ParamKind::Float { .. } | ParamKind::Slice { .. }
            )
        })
        .collect();
    let grads = format_ident!("__backprop_grads");
    // Parameter `k`'s part of a value shaped as the stated gradient (one
    // float parameter's alone, several's a tuple): `()` for the others.
    let part_of = |value: &proc_macro2::Ident, k: usize| -> TokenStream {
        match floats.iter().position(|&f| f == k) {
            None => quote!(()),
            Some(_) if floats.len() == 1 => quote!(#value),
            Some(i) => {
                let i = syn::Index::from(i);
                quote!(#value.#i)
            }
        }
    };
    let slot = |k: usize| part_of(&grads, k);
    let slots: Vec<TokenStream> = (0..sig.params.len()).map(slot).collect();
    let slot_types: Vec<TokenStream> = sig.params.iter().map(|p| grad_type(p, &elem)).collect();
    let grad_fn_call = quote_spanned!(grad_fn.span()=> #grad_fn(#(#second_args),*));
    let hvp_all_name = format_ident!("{}_hvp_all", name);
    let has_slice = sig
        .params
        .iter()
        .any(|p| matches!(p.kind, ParamKind::Slice { .. }));
    let second = match (&hvp_fn, has_slice) {
        (Some(hvp_fn), false) => {
            // H·t from the user's `HVP_FN(args…, t)`, `t` shaped as the
            // gradient; ∇f·t summed over every float element.
            let tangents = format_ident!("__backprop_tangents");
            let hv = format_ident!("__backprop_hv");
            let dir = format_ident!("__backprop_dir");
            let t_of = |k: usize| {
                let k = syn::Index::from(k);
                quote!(#tangents.#k)
            };
            let t_arg = match &floats[..] {
                [one] => t_of(*one),
                several => {
                    let each = several.iter().map(|&k| t_of(k));
                    quote!((#(#each,)*))
                }
            };
            let hv_slots: Vec<TokenStream> =
                (0..sig.params.len()).map(|k| part_of(&hv, k)).collect();
            let zero = quote!(<#elem as ::backprop::__private::num_traits::Zero>::zero());
            let dots = floats.iter().map(|&k| {
                let (g, t) = (slot(k), t_of(k));
                let shape = match &sig.params[k].kind {
                    ParamKind::Float { shape } => shape.clone(),
                    _ => Vec::new(),
                };
                let vars: Vec<proc_macro2::Ident> = (0..shape.len()).map(|d| format_ident!("__backprop_i{}", d)).collect();
                let inner = quote!(#dir = #dir + #g #([#vars])* * #t #([#vars])*;);
                vars.iter().zip(&shape).rev().fold(inner, |body, (v, d)| {
                    let d = proc_macro2::Literal::usize_unsuffixed(*d);
                    quote!(for #v in 0..#d { #body })
                })
            });
            let hvp_call = quote_spanned!(hvp_fn.span()=> #hvp_fn(#(#second_args,)* #t_arg));
            let generics = crate::companion::marker_generics(func);
            let marker_ty = format_ident!("{}", crate::companion::MARKER_TYPE);
            let (impl_generics, _, where_clause) = generics.split_for_impl();
            let inputs = func.sig.inputs.iter();
            quote! {
                /// The value, gradient, Hessian times a tangent and derivative
                /// along it of this function, from its stated gradient and
                /// Hessian-vector product (generated by `#[custom_grad]`).
                #[doc(hidden)]
                #[inline]
                #[allow(clippy::all, clippy::pedantic, unused_variables, unused_mut, non_snake_case)]
                #vis fn #hvp_all_name #impl_generics (_: #marker_ty, #(#inputs,)* #tangents: (#(#slot_types,)*)) -> (#elem, (#(#slot_types,)*), (#(#slot_types,)*), #elem) #where_clause {
                    let __backprop_value = #name #turbofish (#(#first_args),*);
                    let #grads = #grad_fn_call;
                    let #hv = #hvp_call;
                    let mut #dir = #zero;
                    #(#dots)*
                    (__backprop_value, (#(#slots,)*), (#(#hv_slots,)*), #dir)
                }
            }
        }
        (Some(_), true) => crate::companion::refusal(
            func,
            &elem,
            &slot_types,
            &hvp_all_name,
            "its slice or `Vec` parameter cannot be passed by a caller's code yet",
        ),
        (None, _) => crate::companion::refusal(
            func,
            &elem,
            &slot_types,
            &hvp_all_name,
            "a `#[custom_grad]` function states its first derivatives only; state its Hessian-vector product too (`#[custom_grad(f_grad, hvp = f_hvp)]`)",
        ),
    };
    let doc = format!(" Value and gradient of [`{name}`] from its stated gradient: the convention by which `#[derive_grad]` functions call it (generated by `#[custom_grad]`).");
    Ok(quote! {
        #func

        #[doc = #doc]
        #[doc(hidden)]
        #[allow(clippy::all, clippy::pedantic, unused_variables)]
        #vis fn #vjp_name #impl_generics (#(#inputs),*) -> (#elem, (#(#slot_types,)*)) #where_clause {
            let __backprop_value = #name #turbofish (#(#first_args),*);
            let #grads = #grad_fn_call;
            (__backprop_value, (#(#slots,)*))
        }

        #second
    })
}
