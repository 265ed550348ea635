//! The pipeline: parse → validate → lower → reverse sweep → emit.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

use crate::emit::{self, AdjointName, Outputs};
use crate::explain::{self, ExplainData};
use crate::graph::{Id, Op};
use crate::lower::{self, Lowered};
use crate::pullback::PULLBACK_SEED;
use crate::signature::{self, ElemTy, InputTree, ParamInfo, ParamKind, SigInfo};
use crate::structs::Context;
use crate::{args, reverse};

/// Expands `#[derive_grad(attr)] item`.
///
/// Runs on a large stack of its own (reserved, not committed, memory):
/// a loss nested as deeply as rustc accepts (hundreds of blocks, a chain of
/// a thousand method calls) must not overflow the macro's stack, in syn's
/// recursive parser or in the stages; lowering also grows it as it recurses.
pub fn derive_grad(attr: TokenStream, item: TokenStream) -> TokenStream {
    stacker::grow(ENTRY_STACK, || expand_item(attr, item))
}

/// The stack the macro starts on.
pub const ENTRY_STACK: usize = 256 * 1024 * 1024;

/// The most operations (graph nodes before differentiation) that
/// `#[derive_grad(explain)]` explains.
pub const MAX_EXPLAIN_NODES: usize = 10_000;

/// Stack left below which a recursive stage moves to a new stack segment.
pub const RED_ZONE: usize = 256 * 1024;
/// Size of each new stack segment.
pub const STACK_CHUNK: usize = 16 * 1024 * 1024;

fn expand_item(attr: TokenStream, item: TokenStream) -> TokenStream {
    if let Ok(imp) = syn::parse2::<syn::ItemImpl>(item.clone()) {
        return expand_impl(attr, imp);
    }
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let err = syn::Error::new_spanned(
                &item,
                "#[derive_grad] applies to a function that computes a loss (`#[derive_grad] fn loss(w: [f64; 3], x: f64) -> f64 { … }`), or to an `impl` block whose methods are marked `#[derive_grad]`",
            );
            let err = err.to_compile_error();
            return quote!(#item #err);
        }
    };
    // Parameters that are structs: ask for their definitions first.
    if let Some(ask) = crate::structs::start_fn(&attr, &func) {
        return quote!(#func #ask);
    }
    match expand(attr, &func) {
        Ok(generated) => quote!(#func #generated),
        Err(errors) => {
            let errors = errors.iter().map(syn::Error::to_compile_error);
            // The original function is kept, so the only errors the user sees are ours.
            quote!(#func #(#errors)*)
        }
    }
}

/// `#[derive_grad] impl Model { #[derive_grad] fn loss(&self, …) … }`:
/// the impl as written (without the methods' attributes), and for each
/// marked method its generated methods in an `impl` block of their own.
fn expand_impl(attr: TokenStream, mut imp: syn::ItemImpl) -> TokenStream {
    let mut out = TokenStream::new();
    if !attr.is_empty() {
        out.extend(
            syn::Error::new_spanned(
                &attr,
                "#[derive_grad] on an `impl` block takes no options: write them on each method (`#[derive_grad(wrt(self))] fn loss(&self, …)`)",
            )
            .to_compile_error(),
        );
    }
    let mut marked = Vec::new();
    for item in &mut imp.items {
        let syn::ImplItem::Fn(method) = item else {
            continue;
        };
        let Some(at) = method
            .attrs
            .iter()
            .position(|a| a.path().is_ident("derive_grad"))
        else {
            continue;
        };
        let a = method.attrs.remove(at);
        let method_attr = match &a.meta {
            syn::Meta::Path(_) => TokenStream::new(),
            syn::Meta::List(l) => l.tokens.clone(),
            syn::Meta::NameValue(nv) => {
                out.extend(
                    syn::Error::new_spanned(
                        nv,
                        "write `#[derive_grad]` or `#[derive_grad(wrt(self))]`",
                    )
                    .to_compile_error(),
                );
                continue;
            }
        };
        marked.push((method_attr, method.clone()));
    }
    if marked.is_empty() {
        out.extend(
            syn::Error::new(
                imp.impl_token.span,
                "#[derive_grad] on an `impl` block differentiates the methods in it marked `#[derive_grad]`, and none is",
            )
            .to_compile_error(),
        );
    }
    for (method_attr, method) in &marked {
        if let Some(ask) = crate::structs::start_method(method_attr, &imp, method) {
            out.extend(ask);
            continue;
        }
        let func = crate::structs::method_as_fn(method);
        let ctx = crate::structs::Context {
            self_ty: Some((*imp.self_ty).clone()),
            impl_type_params: crate::structs::impl_type_params(&imp),
            ..Default::default()
        };
        let generated = expand_with(method_attr.clone(), &func, &ctx).unwrap_or_else(|errors| {
            let errors = errors.iter().map(syn::Error::to_compile_error);
            quote!(#(#errors)*)
        });
        out.extend(crate::structs::in_impl(&imp, generated));
    }
    quote!(#imp #out)
}

/// Everything the pipeline produced, for the macro and for tests.
pub struct Compiled {
    /// The validated signature.
    pub sig: SigInfo,
    /// The lowered and differentiated graph.
    pub lowered: Lowered,
    /// For each parameter (in signature order), the gradient node of each
    /// flat element; empty for non-float parameters.
    pub grads: Vec<Vec<Id>>,
    /// For each parameter read at run-time indices, its gradient as a
    /// buffer (which then replaces [`Compiled::grads`]' elements).
    pub grad_buffers: Vec<Option<Id>>,
    /// Names for adjoint nodes (`d_z1`, `d_w_3`).
    pub adjoint_names: Vec<(Id, AdjointName)>,
    /// The adjoint of each forward node (`None`: zero).
    pub adjoint: Vec<Option<Id>>,
    /// With `explain`: the explanation.
    pub explain: Option<ExplainData>,
    /// With `jvp`: forward mode.
    pub jvp: Option<Jvp>,
    /// `NAME_grad`, `NAME_grad_acc` and `NAME_grad_acc_with` by forward
    /// mode, where it is cheaper (see
    /// [`crate::forward::cheaper_by_forward`]): the value and the
    /// derivative.
    pub forward_grad: Option<crate::forward::ForwardGrad>,
    /// With `hessian` or `hvp`: H·tangent and H (row-major), element by
    /// element.
    pub hessian: Option<crate::second::Hessian>,
    /// With `hessian` (not `hvp` alone): `NAME_hessian` is generated too.
    pub hessian_matrix: bool,
}

/// `NAME_jvp` of `#[derive_grad(jvp)]`.
pub struct Jvp {
    /// The value (the loss itself, or read from the loops forward mode
    /// rebuilt).
    pub value: Id,
    /// The directional derivative.
    pub derivative: Id,
    /// The index of the tangent parameter of each differentiated one
    /// (added to [`SigInfo::params`]).
    pub tangents: Vec<usize>,
    /// The effects forward mode rebuilt
    /// ([`crate::forward::rebuilt_effects`]).
    pub rebuilt: HashMap<Id, Id>,
}

/// The most elements a parameter may have for `NAME_hessian` (its H has
/// the square of that many entries, each written out).
pub const MAX_HESSIAN: usize = 256;

/// Runs every stage up to (not including) emission.
pub fn compile(attr: TokenStream, func: &syn::ItemFn) -> Result<Compiled, Vec<syn::Error>> {
    compile_with(attr, func, &Context::default())
}

/// [`compile`], knowing the struct definitions and receiver type of `ctx`.
pub fn compile_with(
    attr: TokenStream,
    func: &syn::ItemFn,
    ctx: &Context,
) -> Result<Compiled, Vec<syn::Error>> {
    compile_output(attr, func, ctx, 0)
}

/// [`compile_with`] for element `which` of a function returning a tuple.
fn compile_output(
    attr: TokenStream,
    func: &syn::ItemFn,
    ctx: &Context,
    which: usize,
) -> Result<Compiled, Vec<syn::Error>> {
    let mut errors = Vec::new();
    let args = args::parse(attr).unwrap_or_else(|e| {
        errors.push(e);
        args::Args::default()
    });
    compile_args(args, errors, func, ctx, which)
}

/// [`compile_output`] with parsed arguments (and the errors of parsing
/// them).
pub(crate) fn compile_args(
    args: args::Args,
    mut errors: Vec<syn::Error>,
    func: &syn::ItemFn,
    ctx: &Context,
    which: usize,
) -> Result<Compiled, Vec<syn::Error>> {
    let mut sig = signature::check_with(&func.sig, &args, ctx, &mut errors);
    if let Some(s) = &mut sig {
        s.companion = args.companion;
    }
    // Struct fields read as the parameters they became.
    let body = match &mut sig {
        Some(s) => match crate::structs::rewrite_body(&func.block, s) {
            Ok((b, struct_args)) => {
                s.struct_args = struct_args;
                Some(b)
            }
            Err(mut e) => {
                errors.append(&mut e);
                None
            }
        },
        None => None,
    };
    let lowered = sig
        .as_ref()
        .zip(body.as_ref())
        .and_then(|(s, b)| lower::lower(s, b, which, &mut errors));
    let (Some(mut sig), Some(mut lowered)) = (sig, lowered) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    // An explanation lists every operation with its derivation: past this
    // size it is unreadable, and its symbolic forms cost memory per node
    // (75 KB each at 50,000 operations). Loops that stay loops count once.
    let operations = || {
        crate::emit::live_nodes(&lowered.graph, &[lowered.output])
            .iter()
            .filter(|&&l| l)
            .count()
    };
    if args.explain && operations() > MAX_EXPLAIN_NODES {
        return Err(vec![syn::Error::new(
            func.sig.ident.span(),
            format!(
                "`explain` writes out every operation and its derivation, and this function has {} (more than {MAX_EXPLAIN_NODES}): remove `explain`, or explain a smaller version (fewer loop iterations, smaller arrays)",
                operations()
            ),
        )]);
    }
    // Second derivatives through loops start again from the forward graph.
    // `hvp` alone: H·v without H written out or returned whole.
    let second_order = args.hessian || args.hvp;
    let matrix = args.hessian && !args.companion;
    let pristine = second_order.then(|| lowered.graph.clone());
    let is_float: Vec<bool> = sig.params.iter().map(ParamInfo::is_float).collect();
    // `NAME_pullback`'s output adjoint is its parameter `seed`.
    let seed = args.pullback.then(|| {
        let g = &mut lowered.graph;
        let seed = emit::local(PULLBACK_SEED);
        g.externs.push(quote!(#seed));
        g.node(Op::Extern(g.externs.len() as u32 - 1), vec![])
    });
    let adj = reverse::sweep_seeded(&mut lowered.graph, lowered.output, seed, &|p| {
        is_float[p as usize]
    });
    let g = &mut lowered.graph;
    let mut adjoint_names = Vec::new();
    let mut grads = Vec::new();
    let n_forward = adj.forward_len;
    // Per element of every parameter (a large array read in place has no
    // element nodes: all its gradient is in its buffer), so nothing here
    // but a lookup unless the element has an adjoint.
    let zero = g.konst(0.0);
    for (p, info) in sig.params.iter().enumerate() {
        let mut ids = Vec::new();
        if let ParamKind::Float { shape } = &info.kind {
            for (j, node) in lowered.param_nodes[p].iter().enumerate() {
                let grad = node.and_then(|n| adj.adjoint.get(n.index()).copied().flatten());
                let id = grad.unwrap_or(zero);
                // Only nodes the sweep created are named as adjoints: a
                // gradient that is a forward value keeps its own name.
                if id.index() >= n_forward {
                    let suffix = if shape.is_empty() {
                        String::new()
                    } else {
                        format!("_{j}")
                    };
                    // `d_loop`, not `d_r#loop`, for a parameter `r#loop`.
                    let base = info.name.to_string();
                    let base = base.trim_start_matches("r#");
                    adjoint_names.push((id, AdjointName::Param(format!("d_{base}{suffix}"))));
                }
                ids.push(id);
            }
        }
        grads.push(ids);
    }
    // Gradients accumulated in buffers get their fixed-index elements' adjoints added too.
    let mut grad_buffers = vec![None; sig.params.len()];
    for (&p, &buffer) in &adj.buffers {
        let base = sig.params[p as usize].name.to_string();
        adjoint_names.push((
            g.storage(buffer),
            AdjointName::Param(format!("d_{}", base.trim_start_matches("r#"))),
        ));
        let shape = match &sig.params[p as usize].kind {
            ParamKind::Float { shape } => shape.clone(),
            _ => Vec::new(),
        };
        let mut b = buffer;
        for (j, &grad) in grads[p as usize].iter().enumerate() {
            if g.as_const(grad) == Some(0.0) {
                continue;
            }
            let mut args = vec![b];
            args.extend(g.index_consts(j, &shape));
            args.push(grad);
            b = g.node(crate::graph::Op::ScatterAdd, args);
        }
        grad_buffers[p as usize] = Some(b);
    }
    // A slice's gradient is a buffer as long as the slice, zero where
    // nothing flowed back (everywhere, if the loss never reads it).
    for (p, info) in sig.params.iter().enumerate() {
        if matches!(info.kind, ParamKind::Slice { .. }) && grad_buffers[p].is_none() {
            let z = g.node(crate::graph::Op::ZerosLike(p as u32), vec![]);
            let base = info.name.to_string();
            adjoint_names.push((
                z,
                AdjointName::Param(format!("d_{}", base.trim_start_matches("r#"))),
            ));
            grad_buffers[p] = Some(z);
        }
    }
    for (i, a) in adj.adjoint.iter().enumerate() {
        if let Some(a) = a {
            if a.index() >= n_forward && g.names[i].is_some() {
                adjoint_names.push((*a, AdjointName::Of(Id(i as u32))));
            }
        }
    }
    // The mode choice of `NAME_grad` and `NAME_grad_acc(_with)`; `NAME_vjp`,
    // which other functions call, stays reverse mode.
    // With `explain`, reverse mode: the gradient `NAME_grad` returns is
    // then the very one the explanation derives and the trace shows.
    let forward_grad = match args.explain || args.pullback {
        true => None,
        false => crate::forward::cheaper_by_forward(&mut lowered.graph, &sig, lowered.output),
    };
    // Forward mode, on the same graph (its nodes are emitted only by
    // `NAME_jvp`, which has them as roots).
    let jvp = match args.jvp {
        false => None,
        true => {
            let at = |m: String| vec![syn::Error::new(func.sig.ident.span(), m)];
            let tangents = crate::forward::add_tangent_params(&mut sig).map_err(at)?;
            let pairs: Vec<(u32, u32)> = sig
                .wrt
                .iter()
                .zip(&tangents)
                .map(|(&p, &t)| (p as u32, t as u32))
                .collect();
            for &(p, t) in &pairs {
                crate::second::tangent_reads_like(&mut lowered.graph, p, t);
            }
            let crate::forward::Directional {
                value,
                derivative: d,
                rebuilt,
            } = crate::forward::tangent_of(&mut lowered.graph, lowered.output, &pairs)
                .map_err(at)?;
            let d = d.unwrap_or_else(|| lowered.graph.konst(0.0));
            Some(Jvp {
                value,
                derivative: d,
                tangents,
                rebuilt,
            })
        }
    };
    let hessian = match second_order {
        false => None,
        true => {
            let at = |m: String| vec![syn::Error::new(func.sig.ident.span(), m)];
            let tangents = match &jvp {
                Some(j) => j.tangents.clone(),
                None => {
                    crate::forward::add_tangent_params_of(&mut sig, args.companion).map_err(at)?
                }
            };
            // A struct's H is laid out over its elements at compile time.
            let run_time_field = has_struct_wrt(&sig)
                && sig
                    .wrt
                    .iter()
                    .any(|&p| matches!(sig.params[p].kind, ParamKind::Slice { .. }));
            if run_time_field {
                return Err(at(format!(
                    "`hessian` of a struct with a `Vec` field is not supported yet (H's size would be known only at run time): make the field an array, or use `jvp` ({} is differentiated)",
                    wrt_names_list(&sig)
                )));
            }
            let n: usize = sig.wrt.iter().map(|&p| grads[p].len()).sum();
            if n > MAX_HESSIAN && matrix {
                return Err(at(format!(
                    "`hessian` writes out every entry of H, and {} {} {n} elements (H would have {} entries, more than {}): write `hvp` instead of `hessian` for `NAME_hvp` alone (Hessian-vector products)",
                    wrt_names_list(&sig),
                    if sig.wrt.len() > 1 { "have" } else { "has" },
                    n * n,
                    MAX_HESSIAN * MAX_HESSIAN
                )));
            }
            let shapes: Vec<Vec<usize>> = sig
                .wrt
                .iter()
                .map(|&p| match &sig.params[p].kind {
                    ParamKind::Float { shape } => shape.clone(),
                    _ => Vec::new(),
                })
                .collect();
            let w = crate::second::Wrt {
                params: sig
                    .wrt
                    .iter()
                    .zip(&tangents)
                    .zip(&shapes)
                    .map(|((&p, &t), shape)| crate::second::WrtParam {
                        param: p,
                        tangent: t,
                        len: grads[p].len(),
                        shape,
                        slice: matches!(sig.params[p].kind, ParamKind::Slice { .. }),
                    })
                    .collect(),
            };
            let nodes_of = |param_nodes: &[Vec<Option<Id>>]| -> Vec<Vec<Option<Id>>> {
                sig.wrt.iter().map(|&p| param_nodes[p].clone()).collect()
            };
            let pristine = pristine.expect("cloned for `hessian`");
            // A slice's derivatives live in run-time buffers, which only
            // the looped construction builds (a function that does not
            // read its slice at all, too: its H·v is zeros of its length).
            // So do the derivatives through a call passing a slice, which
            // that construction takes by the callee's `NAME_hvp_all` (the
            // other would differentiate the call's pullback).
            let slice = w.params.iter().any(|p| p.slice);
            let slice_calls = pristine.calls.iter().any(|c| c.passes_slices());
            let built = if slice
                || slice_calls
                || crate::second::has_loops(&pristine, lowered.output, &sig.wrt)
            {
                // H written out needs the loops unrolled: lowered again
                // (never for a slice, whose H is assembled at run time,
                // nor through a call passing one).
                let unrolled = body
                    .as_ref()
                    .filter(|_| matrix && !slice && !slice_calls)
                    .and_then(|b| {
                        let mut errs = Vec::new();
                        let l = lower::lower_unrolling(
                            &sig,
                            b,
                            which,
                            crate::second::UNROLL_FOR_HESSIAN,
                            &mut errs,
                        )?;
                        errs.is_empty().then(|| crate::second::Lowered {
                            param_nodes: nodes_of(&l.param_nodes),
                            graph: l.graph,
                            output: l.output,
                        })
                    });
                let pristine = crate::second::Lowered {
                    graph: pristine,
                    output: lowered.output,
                    param_nodes: nodes_of(&lowered.param_nodes),
                };
                crate::second::looped(pristine, unrolled, &w)
            } else {
                let wrt_grads: Vec<Vec<Id>> = sig.wrt.iter().map(|&p| grads[p].clone()).collect();
                crate::second::straight(&mut lowered.graph, lowered.output, &wrt_grads, &w, matrix)
            };
            let built = built.map_err(at)?;
            Some(built)
        }
    };
    let explain = match args.explain {
        false => None,
        true => {
            if let Some(call) = lowered.graph.calls.iter().find(|c| c.passes_slices()) {
                // At the call (its path keeps the user's spans).
                return Err(vec![syn::Error::new_spanned(
                    &call.value_path,
                    format!("`explain` does not show calls that pass a slice (to `{}`) yet: remove `explain`, or write the callee's loop in this function", call.callee),
                )]);
            }
            let name = func.sig.ident.to_string();
            let data = explain::explain(
                &mut lowered.graph,
                &sig,
                lowered.output,
                &adj.adjoint,
                &name,
            )
            .map_err(|message| vec![syn::Error::new(func.sig.ident.span(), message)])?;
            Some(data)
        }
    };
    Ok(Compiled {
        sig,
        lowered,
        grads,
        grad_buffers,
        adjoint_names,
        adjoint: adj.adjoint,
        explain,
        jvp,
        forward_grad,
        hessian,
        hessian_matrix: matrix,
    })
}

impl Compiled {
    /// Parameter `p`'s gradient.
    pub fn grad(&self, p: usize) -> emit::Grad {
        match self.grad_buffers[p] {
            Some(b) => emit::Grad::Buffer(b),
            None => emit::Grad::Elements(self.grads[p].clone()),
        }
    }
}

/// Every item `#[derive_grad(attr)]` generates for `func` (the function
/// itself not included).
///
/// # Errors
///
/// The macro's errors.
pub fn expand(attr: TokenStream, func: &syn::ItemFn) -> Result<TokenStream, Vec<syn::Error>> {
    expand_with(attr, func, &Context::default())
}

/// The generated functions for `func`, knowing what `ctx` holds.
pub(crate) fn expand_with(
    attr: TokenStream,
    func: &syn::ItemFn,
    ctx: &Context,
) -> Result<TokenStream, Vec<syn::Error>> {
    let c = compile_with(attr.clone(), func, ctx)?;
    if c.sig.outputs == 1 {
        let mut out = crate::companion::hvp_all_fn(func, &c, ctx, None);
        out.extend(generate(func, &c));
        out.extend(crate::pullback::pullback_fn(attr, func, ctx, None)?);
        return Ok(out);
    }
    if args::parse(attr.clone()).is_ok_and(|a| a.explain) {
        return Err(vec![syn::Error::new(
            func.sig.ident.span(),
            "`explain` explains a loss, a function returning one float; this one returns a tuple",
        )]);
    }
    // A helper returning a tuple: one companion per element, each the
    // value-and-gradient of that element (called by other losses as
    // `let (a, b) = f(…)` or `f(…).k`).
    let mut out = vjp_fn(func, &c, Some(0));
    out.extend(crate::companion::hvp_all_fn(func, &c, ctx, Some(0)));
    out.extend(crate::pullback::pullback_fn(
        attr.clone(),
        func,
        ctx,
        Some(0),
    )?);
    for k in 1..c.sig.outputs {
        let ck = compile_output(attr.clone(), func, ctx, k)?;
        out.extend(vjp_fn(func, &ck, Some(k)));
        out.extend(crate::companion::hvp_all_fn(func, &ck, ctx, Some(k)));
        out.extend(crate::pullback::pullback_fn(
            attr.clone(),
            func,
            ctx,
            Some(k),
        )?);
    }
    Ok(out)
}

/// Emits `NAME_grad`, `NAME_grad_acc`, `NAME_grad_acc_with` and `NAME_vjp`
/// (and with `explain`, `NAME_explain` and `NAME_trace`).
pub fn generate(func: &syn::ItemFn, c: &Compiled) -> TokenStream {
    let sig = &c.sig;
    let g = &c.lowered.graph;
    let vis = &func.vis;
    let name = &func.sig.ident;
    let grad_name = format_ident!("{}_grad", name);
    let (impl_generics, _, where_clause) = func.sig.generics.split_for_impl();
    let common = Common::of(func, c);
    let (elem, inputs, fields) = (&common.elem, &common.inputs, &common.fields);
    let src = common.source(c);
    let outputs_of = |which: &[usize]| {
        let mut grads = Vec::new();
        let returned = which
            .iter()
            .map(|&i| grad_tree(&sig.inputs[i].tree, c, &mut grads))
            .collect();
        (grads, returned)
    };

    let (grads, returned) = outputs_of(&sig.wrt_inputs);
    // By forward mode where it is cheaper: the one derivative.
    let (value, grads) = match &c.forward_grad {
        // One scalar per differentiated input, in `wrt` order.
        Some(fg) => (
            fg.value,
            grads
                .into_iter()
                .zip(&fg.derivatives)
                .map(|((p, _), &d)| (p, emit::Grad::Elements(vec![d])))
                .collect(),
        ),
        None => (c.lowered.output, grads),
    };
    // Forward mode's functions read the loops it rebuilt, and so must the
    // user's checks and prints: they are emitted from a copy of the graph
    // whose effects read those (the other functions run the original
    // loops).
    let forward_graph = c
        .forward_grad
        .as_ref()
        .filter(|fg| !fg.rebuilt.is_empty())
        .map(|fg| g.with_effects_read_from(&fg.rebuilt));
    let grad_src = forward_graph
        .as_ref()
        .map_or(src, |g| emit::Source { g, ..src });
    let grad_outputs = Outputs {
        value,
        grads,
        returned,
        always_tuple: false,
        accumulate: None,
        tangent: None,
        extra: None,
        extra_returned: None,
    };
    let grad_body = emit::body(&grad_src, &grad_outputs);
    let grad_types: Vec<TokenStream> = sig
        .wrt_inputs
        .iter()
        .map(|&i| input_grad_type(sig, i, elem))
        .collect();
    let grad_ty = if grad_types.len() == 1 {
        grad_types[0].clone()
    } else {
        quote!((#(#grad_types),*))
    };

    let vjp = vjp_fn(func, c, None);

    // `NAME_grad_acc` and `NAME_grad_acc_with`: the same sweep, adding into
    // the caller's gradient (hygienic names: no user name can clash).
    let acc_grad = emit::local("grad");
    let acc_work = emit::local("workspace");
    let acc_body = |workspace: Option<&proc_macro2::Ident>| {
        let outputs = Outputs {
            value: grad_outputs.value,
            grads: grad_outputs.grads.clone(),
            returned: grad_outputs.returned.clone(),
            always_tuple: false,
            accumulate: Some(emit::Accumulate {
                grad: acc_grad.clone(),
                tuple: sig.wrt_inputs.len() > 1,
                workspace: workspace.cloned(),
                buffers_only: false,
                want: None,
            }),
            tangent: None,
            extra: None,
            extra_returned: None,
        };
        emit::body(&grad_src, &outputs)
    };
    let acc_name = format_ident!("{}_grad_acc", name);
    let acc_with_name = format_ident!("{}_grad_acc_with", name);
    let acc_plain = acc_body(None);
    let acc_with = acc_body(Some(&acc_work));
    let acc_doc = format!(
        " Value of [`{name}`], adding its gradient with respect to {} into `grad` (which it does not zero: sum over a batch, then step), generated by `#[derive_grad]`. The gradient never passes through the stack.",
        wrt_names_list(sig)
    );
    let acc_with_doc = format!(
        " [`{acc_name}`] with a reusable [`Workspace`](::backprop::core::Workspace): after the first call, it allocates nothing."
    );

    let core_checks = core_checks(g, elem);
    let doc = format!(
        " Value and gradient of [`{name}`] with respect to {}, generated by `#[derive_grad]`: returns `(value, gradient)`.",
        wrt_names_list(sig)
    );
    // The original's `#[inline]` hints carry over: a loss marked
    // `#[inline]` gets gradients that inline into callers in other crates,
    // as the loss does (a call boundary costs a 131-parameter MLP 15%).
    let inline = func.attrs.iter().filter(|a| a.path().is_ident("inline"));
    let allow = quote!(#[allow(unused_parens, unused_variables, unused_mut, non_snake_case, dead_code, clippy::all, clippy::pedantic, clippy::nursery)] #(#inline)*);
    let hessian_fns = c.hessian.as_ref().map(|h| {
        let wrt = sig.wrt[0];
        // H over the flat elements of several parameters (a struct's
        // fields too) is n × n.
        let several = sig.wrt.len() > 1 || has_struct_wrt(sig);
        let (hvp_name, hessian_name) = (format_ident!("{}_hvp", name), format_ident!("{}_hessian", name));
        let tangent = &sig.params[h.tangents[0]];
        let (tname, tty) = (&tangent.name, &tangent.ty);
        let (tangent_param, tangent_bind) = tangent_params(sig);
        let shape_of = |p: usize| match &sig.params[p].kind {
            ParamKind::Float { shape } => shape.clone(),
            _ => Vec::new(),
        };
        let shape = shape_of(wrt);
        // H over the flat elements: shape ++ shape for one parameter, n × n
        // for several.
        let square: Vec<usize> = if several {
            let n: usize = sig.wrt.iter().map(|&p| shape_of(p).iter().product::<usize>()).sum();
            vec![n, n]
        } else {
            shape.iter().chain(&shape).copied().collect()
        };
        // H·v is shaped as the gradient (a struct's by its fields); H is
        // one array.
        let body = |code: &crate::second::SecondOrder, shapes: Vec<Vec<usize>>, like_gradient: bool| {
            let src = match &code.graph {
                Some(graph) => emit::Source {
                    g: graph,
                    adjoint_names: &[],
                    ..common.source(c)
                },
                None => common.source(c),
            };
            emit::body(
                &src,
                &Outputs {
                    value: code.value,
                    grads: sig.wrt.iter().zip(&code.grad).map(|(&p, g)| (&sig.params[p], g.clone())).collect(),
                    returned: wrt_trees(sig),
                    always_tuple: false,
                    accumulate: None,
                    tangent: None,
                    extra: Some(code.out.iter().cloned().zip(shapes).collect()),
                    extra_returned: like_gradient.then(|| wrt_trees(sig)),
                },
            )
        };
        let hvp_body = body(&h.hvp, sig.wrt.iter().map(|&p| shape_of(p)).collect(), true);
        let gtys: Vec<TokenStream> = sig.wrt_inputs.iter().map(|&i| input_grad_type(sig, i, elem)).collect();
        let gty = match &gtys[..] {
            [one] => one.clone(),
            several => quote!((#(#several,)*)),
        };
        let slice = matches!(sig.params[wrt].kind, ParamKind::Slice { .. });
        let hty = if slice {
            quote!(::std::vec::Vec<#elem>)
        } else {
            array_type(elem, &square)
        };
        // H from its columns H·e_j: the H·v code as a closure `hvp`, called
        // on each unit vector in turn (`unit`), its result copied into
        // column j of `h`; the value and gradient are those of the last
        // call (or, with no element, of one call on the zero vector).
        let (hvp, unit, hm, last) = (emit::local("hvp"), emit::local("unit"), emit::local("h"), emit::local("last"));
        let one = quote!(<#elem as ::backprop::__private::num_traits::One>::one());
        let zero = quote!(<#elem as ::backprop::__private::num_traits::Zero>::zero());
        let column_step = |index: TokenStream, pass: &TokenStream, copy: TokenStream| quote! {
            #unit #index = #one;
            let (value, grad, column) = #hvp(#pass);
            #unit #index = #zero;
            #copy
            #last = ::core::option::Option::Some((value, grad));
        };
        let by_columns = |param: TokenStream, bind: TokenStream, unit_init: TokenStream, h_init: TokenStream, columns: TokenStream, pass: &TokenStream| quote! {
            let #hvp = |#param| {
                #bind
                #hvp_body
            };
            #unit_init
            let mut #hm = #h_init;
            let mut #last = ::core::option::Option::None;
            #columns
            let (value, grad) = match #last {
                ::core::option::Option::Some(last) => last,
                ::core::option::Option::None => {
                    let (value, grad, _) = #hvp(#pass);
                    (value, grad)
                }
            };
            (value, grad, #hm)
        };
        let hessian_body = match &h.dense {
            Some(code) => body(code, vec![square.clone()], false),
            // Several parameters, or a struct: the unit tangents are held
            // in one owned value per differentiated input (zeros built as
            // the gradient is), each element set in turn; H's column j is
            // H·eⱼ spread over the flat elements.
            None if several => {
                let units = emit::local("units");
                let (one_input, k_of) = (sig.wrt_inputs.len() == 1, |k: usize| syn::Index::from(k));
                let trees = wrt_trees(sig);
                let zeros: Vec<TokenStream> = sig.wrt.iter().map(|&p| array_zero(elem, &shape_of(p))).collect();
                let unit_values = trees.iter().map(|t| t.build(&zeros));
                // Each leaf: its input, its member path, its parameter.
                let mut leaves: Vec<(usize, TokenStream, usize)> = Vec::new();
                for (k, &i) in sig.wrt_inputs.iter().enumerate() {
                    let mut ls = Vec::new();
                    crate::forward::struct_leaves(&sig.inputs[i].tree, quote!(), &mut ls);
                    leaves.extend(ls.into_iter().map(|(path, p)| (k, path, p)));
                }
                let pass_one = |k: usize| {
                    let ki = k_of(k);
                    match &sig.tangent_inputs[k].1 {
                        syn::Type::Reference(_) => quote!(&#units.#ki),
                        _ => quote!(::core::clone::Clone::clone(&#units.#ki)),
                    }
                };
                let pass = if one_input {
                    pass_one(0)
                } else {
                    let each = (0..sig.wrt_inputs.len()).map(pass_one);
                    quote!((#(#each,)*))
                };
                let (hvp_c, hm, last) = (emit::local("hvp"), emit::local("h"), emit::local("last"));
                let one = quote!(<#elem as ::backprop::__private::num_traits::One>::one());
                let zero = quote!(<#elem as ::backprop::__private::num_traits::Zero>::zero());
                // Loops over a leaf's indices with `flat` its flat position
                // (`offset + row-major index`).
                let over = |p: usize, prefix: &str, offset: usize, inner: &dyn Fn(&[proc_macro2::Ident], TokenStream) -> TokenStream| {
                    let shape = shape_of(p);
                    let vars: Vec<proc_macro2::Ident> = (0..shape.len()).map(|d| emit::local(&format!("{prefix}{d}"))).collect();
                    let mut flat = quote!(0usize);
                    for (v, d) in vars.iter().zip(&shape) {
                        let d = proc_macro2::Literal::usize_unsuffixed(*d);
                        flat = quote!((#flat) * #d + #v);
                    }
                    let offset = proc_macro2::Literal::usize_unsuffixed(offset);
                    let body = inner(&vars, quote!(#offset + #flat));
                    vars.iter().zip(&shape).rev().fold(body, |b, (v, d)| {
                        let d = proc_macro2::Literal::usize_unsuffixed(*d);
                        quote!(for #v in 0..#d { #b })
                    })
                };
                let mut copy = TokenStream::new();
                let mut offset = 0;
                for (k, path, p) in &leaves {
                    let col = if one_input { quote!(column) } else { let ki = k_of(*k); quote!(column.#ki) };
                    copy.extend(over(*p, "r", offset, &|vars, row| quote!(#hm[#row][column_index] = #col #path #([#vars])*;)));
                    offset += shape_of(*p).iter().product::<usize>();
                }
                let mut columns = TokenStream::new();
                let mut offset = 0;
                for (k, path, p) in &leaves {
                    let ki = k_of(*k);
                    let step = |vars: &[proc_macro2::Ident], j: TokenStream| quote! {
                        let column_index = #j;
                        #units.#ki #path #([#vars])* = #one;
                        let (value, grad, column) = #hvp_c(#pass);
                        #units.#ki #path #([#vars])* = #zero;
                        #copy
                        #last = ::core::option::Option::Some((value, grad));
                    };
                    columns.extend(over(*p, "c", offset, &step));
                    offset += shape_of(*p).iter().product::<usize>();
                }
                let h_zero = array_zero(elem, &square);
                quote! {
                    let #hvp_c = |#tangent_param| {
                        #tangent_bind
                        #hvp_body
                    };
                    let mut #units = (#(#unit_values,)*);
                    let mut #hm = #h_zero;
                    let mut #last = ::core::option::Option::None;
                    #columns
                    let (value, grad) = match #last {
                        ::core::option::Option::Some(last) => last,
                        ::core::option::Option::None => {
                            let (value, grad, _) = #hvp_c(#pass);
                            (value, grad)
                        }
                    };
                    (value, grad, #hm)
                }
            }
            // A slice: H row-major in a `Vec` of n², by columns H·e_j.
            None if slice => {
                let (n, j, i) = (emit::local("n"), emit::local("j"), emit::local("i"));
                let x = &sig.params[wrt].name;
                // As the parameter is passed: `&[f64]`, `&Vec<f64>` or `Vec<f64>`.
                let pass = match (&tangent.ty, tangent.by_ref) {
                    (syn::Type::Reference(r), _) if matches!(*r.elem, syn::Type::Slice(_)) => quote!(&#unit[..]),
                    (_, true) => quote!(&#unit),
                    (_, false) => quote!(#unit.clone()),
                };
                // A slice of arrays: flat element k is element k / m of the
                // slice, at the row-major position k % m of its inner shape.
                let inner = match &sig.params[wrt].kind {
                    ParamKind::Slice { inner, .. } => inner.clone(),
                    _ => Vec::new(),
                };
                let m: usize = inner.iter().product();
                let m_lit = proc_macro2::Literal::usize_unsuffixed(m);
                let at = |k: &proc_macro2::Ident| {
                    if inner.is_empty() {
                        return quote!([#k]);
                    }
                    let mut idx = vec![quote!([#k / #m_lit])];
                    let mut stride = m;
                    for &d in &inner {
                        stride /= d;
                        let (st, dl) = (proc_macro2::Literal::usize_unsuffixed(stride), proc_macro2::Literal::usize_unsuffixed(d));
                        idx.push(quote!([(#k % #m_lit) / #st % #dl]));
                    }
                    quote!(#(#idx)*)
                };
                let (at_j, at_i) = (at(&j), at(&i));
                let step = column_step(at_j, &pass, quote! {
                    for #i in 0..#n {
                        #hm[#i * #n + #j] = column #at_i;
                    }
                });
                let inner_zero = array_zero(elem, &inner);
                by_columns(
                    quote!(#tname: #tty),
                    quote!(),
                    quote!(let #n = #x.len() * #m_lit; let mut #unit = ::std::vec![#inner_zero; #x.len()];),
                    quote!(::std::vec![#zero; #n * #n]),
                    quote!(for #j in 0..#n { #step }),
                    &pass,
                )
            }
            None => {
                // The closure takes the tangent by reference, as the
                // columns pass it.
                let column = emit::local("column");
                let (param, bind) = if tangent.by_ref {
                    (quote!(#tname: #tty), quote!())
                } else {
                    (quote!(#column: &#tty), quote!(let #tname: #tty = *#column;))
                };
                let js: Vec<proc_macro2::Ident> = (0..shape.len()).map(|k| emit::local(&format!("j{k}"))).collect();
                let is: Vec<proc_macro2::Ident> = (0..shape.len()).map(|k| emit::local(&format!("i{k}"))).collect();
                let dims: Vec<proc_macro2::Literal> = shape.iter().map(|&d| proc_macro2::Literal::usize_unsuffixed(d)).collect();
                // for i0 in 0..d0 { for i1 in 0..d1 { … } }, innermost first.
                let nest_loops = |vars: &[proc_macro2::Ident], inner: TokenStream| {
                    vars.iter().zip(&dims).rev().fold(inner, |body, (v, d)| quote!(for #v in 0..#d { #body }))
                };
                let copy = nest_loops(&is, quote!(#hm #([#is])* #([#js])* = column #([#is])*;));
                let pass = quote!(&#unit);
                let zero_t = array_zero(elem, &shape);
                by_columns(
                    param,
                    bind,
                    quote!(let mut #unit = #zero_t;),
                    array_zero(elem, &square),
                    nest_loops(&js, column_step(quote!(#([#js])*), &pass, copy)),
                    &pass,
                )
            }
        };
        let hvp_doc = format!(" Value, gradient and Hessian-vector product H·`tangent` of [`{name}`] with respect to {}, generated by `#[derive_grad(hessian)]` or `#[derive_grad(hvp)]`.", wrt_names_list(sig));
        let how = if h.dense.is_some() {
            "entries zero by the function's structure are the constant 0, never computed"
        } else {
            "assembled from one Hessian-vector product per column, since a loop of run-time length (or H's size) keeps it from being written out"
        };
        let hessian_doc = format!(" Value, gradient and Hessian H (`H[i][j] = ∂²{name}/∂wᵢ∂wⱼ`, flat element indices of the parameter; {how}) of [`{name}`] with respect to {}, generated by `#[derive_grad(hessian)]`.", wrt_names_list(sig));
        // `hvp` alone: no `NAME_hessian`.
        let hessian_fn = c.hessian_matrix.then(|| {
            quote! {
                #[doc = #hessian_doc]
                #allow
                #vis fn #hessian_name #impl_generics (#(#inputs),*) -> (#elem, #gty, #hty) #where_clause {
                    #fields
                    #(#core_checks)*
                    #hessian_body
                }
            }
        });
        quote! {
            #[doc = #hvp_doc]
            #allow
            #vis fn #hvp_name #impl_generics (#(#inputs,)* #tangent_param) -> (#elem, #gty, #gty) #where_clause {
                #tangent_bind
                #fields
                #(#core_checks)*
                #hvp_body
            }

            #hessian_fn
        }
    });
    let jvp_fn = c.jvp.as_ref().map(|j| {
        let (value, d) = (j.value, j.derivative);
        let jvp_name = format_ident!("{}_jvp", name);
        let (tangent_param, tangent_bind) = tangent_params(sig);
        // (Its checks read the loops it rebuilt, as `NAME_grad`'s above.)
        let graph = (!j.rebuilt.is_empty()).then(|| g.with_effects_read_from(&j.rebuilt));
        let jvp_src = graph.as_ref().map_or(src, |g| emit::Source { g, ..src });
        let body = emit::body(
            &jvp_src,
            &Outputs {
                value,
                grads: Vec::new(),
                returned: Vec::new(),
                always_tuple: false,
                accumulate: None,
                tangent: Some(d),
                extra: None,
                extra_returned: None,
            },
        );
        let doc = format!(
            " Value of [`{name}`] and its directional derivative along `tangent` (a change of {}; a tuple of changes for several), by forward mode, generated by `#[derive_grad(jvp)]`: returns `(value, derivative)`.",
            wrt_names_list(sig)
        );
        quote! {
            #[doc = #doc]
            #allow
            #vis fn #jvp_name #impl_generics (#(#inputs,)* #tangent_param) -> (#elem, #elem) #where_clause {
                #tangent_bind
                #fields
                #(#core_checks)*
                #body
            }
        }
    });
    let explained = c.explain.as_ref().map(|data| {
        let explain_fn = explain::explain_fn(data, vis, name);
        let explain_name = format_ident!("{}_explain", name);
        let trace_name = format_ident!("{}_trace", name);
        // A family of values (`w1[j][i]`, code whose loops stay loops) is not
        // one number: the trace shows `…` for it.
        let single: Vec<bool> = data.nodes.iter().map(|n| n.elements.is_empty()).collect();
        let ids: Vec<Id> = data.nodes.iter().map(|n| n.id).collect();
        let adjoints: Vec<Id> = data
            .nodes
            .iter()
            .map(|n| if n.id == c.lowered.output { None } else { c.adjoint.get(n.id.index()).copied().flatten() }.unwrap_or(n.id))
            .collect();
        let mut roots: Vec<Id> = ids.iter().zip(&single).filter(|p| *p.1).map(|p| *p.0).collect();
        roots.extend(adjoints.iter().zip(&single).filter(|p| *p.1).map(|p| *p.0));
        let (stmts, expr) = emit::straight_line(&src, &roots, c.lowered.output, &emit::Memory::default());
        let to_f64 = |id: &Id| {
            let e = expr[id.index()].clone().expect("emitted");
            quote!(::backprop::__private::to_f64(#e))
        };
        let nan = quote!(f64::NAN);
        let values = ids.iter().zip(&single).map(|(id, &one)| if one { to_f64(id) } else { nan.clone() });
        // Where nothing flows back the adjoint is 0; the output's is 1.
        let grads = data.nodes.iter().zip(&adjoints).map(|(n, a)| {
            if !n.elements.is_empty() {
                nan.clone()
            } else if n.id == c.lowered.output {
                quote!(1.0)
            } else if *a == n.id {
                quote!(0.0)
            } else {
                to_f64(a)
            }
        });
        let trace_doc = format!(" Every named value of [`{name}`] and its adjoint ∂{name}/∂value at one point, generated by `#[derive_grad(explain)]`.");
        quote! {
            #explain_fn

            #[doc = #trace_doc]
            #allow
            #vis fn #trace_name #impl_generics (#(#inputs),*) -> ::backprop::core::explain::Trace #where_clause {
                #fields
                #(#stmts)*
                ::backprop::core::explain::Trace {
                    graph: #explain_name().graph,
                    values: vec![#(#values),*],
                    grads: vec![#(#grads),*],
                }
            }
        }
    });
    quote! {
        #explained

        #[doc = #doc]
        #allow
        #vis fn #grad_name #impl_generics (#(#inputs),*) -> (#elem, #grad_ty) #where_clause {
            #fields
            #(#core_checks)*
            #grad_body
        }

        #[doc = #acc_doc]
        #allow
        #vis fn #acc_name #impl_generics (#(#inputs,)* #acc_grad: &mut #grad_ty) -> #elem #where_clause {
            #fields
            #(#core_checks)*
            #acc_plain
        }

        #[doc = #acc_with_doc]
        #allow
        #vis fn #acc_with_name #impl_generics (#(#inputs,)* #acc_grad: &mut #grad_ty, #acc_work: &mut ::backprop::core::Workspace<#elem>) -> #elem #where_clause {
            #fields
            #(#core_checks)*
            #acc_with
        }

        #vjp

        #jvp_fn

        #hessian_fns
    }
}

/// Whether a differentiated input is a struct.
fn has_struct_wrt(sig: &SigInfo) -> bool {
    sig.wrt_inputs
        .iter()
        .any(|&i| matches!(sig.inputs[i].tree, InputTree::Struct { .. }))
}

/// The differentiated inputs' trees over their parameters' positions in
/// `wrt` (how a per-parameter result is returned: a struct for a struct).
fn wrt_trees(sig: &SigInfo) -> Vec<emit::GradTree> {
    fn tree(t: &InputTree, wrt: &[usize]) -> emit::GradTree {
        match t {
            InputTree::Leaf(p) => emit::GradTree::Leaf(
                wrt.iter()
                    .position(|w| w == p)
                    .expect("a differentiated parameter"),
            ),
            InputTree::Struct { path, fields } => emit::GradTree::Struct {
                path: path.clone(),
                fields: fields
                    .iter()
                    .map(|(m, f)| (m.clone(), tree(f, wrt)))
                    .collect(),
            },
        }
    }
    sig.wrt_inputs
        .iter()
        .map(|&i| tree(&sig.inputs[i].tree, &sig.wrt))
        .collect()
}

/// The tangent parameter of `NAME_jvp` / `NAME_hvp` and the statements
/// that bind its parts: `tangent: T` alone, or `tangent: (T0, T1)` then
/// `let (tangent_0, tangent_1) = tangent;` for several differentiated
/// inputs; then a struct tangent's fields, each to its own name.
fn tangent_params(sig: &SigInfo) -> (TokenStream, TokenStream) {
    let fields = crate::structs::tangent_field_bindings(sig);
    match &sig.tangent_inputs[..] {
        [(name, ty)] => (quote!(#name: #ty), fields),
        several => {
            let whole = emit::local("tangent");
            let names = several.iter().map(|t| &t.0);
            let tys = several.iter().map(|t| &t.1);
            (
                quote!(#whole: (#(#tys,)*)),
                quote!(let (#(#names,)*) = #whole; #fields),
            )
        }
    }
}

/// The type of an array of `elem` of `shape` (`elem` itself for a scalar).
fn array_type(elem: &TokenStream, shape: &[usize]) -> TokenStream {
    shape.iter().rev().fold(elem.clone(), |inner, n| {
        let n = proc_macro2::Literal::usize_unsuffixed(*n);
        quote!([#inner; #n])
    })
}

/// An array of zeros of `shape`.
fn array_zero(elem: &TokenStream, shape: &[usize]) -> TokenStream {
    let zero = quote!(<#elem as ::backprop::__private::num_traits::Zero>::zero());
    shape.iter().rev().fold(zero, |inner, n| {
        let n = proc_macro2::Literal::usize_unsuffixed(*n);
        quote!([#inner; #n])
    })
}

/// What every generated function of one `#[derive_grad]` item shares.
pub(crate) struct Common<'a> {
    /// The element type.
    pub elem: TokenStream,
    /// The names the user's function mentions.
    pub user: emit::UserNames,
    /// The user's parameters, repeated by every generated function.
    pub inputs: Vec<&'a syn::FnArg>,
    /// The fields of struct parameters bound to their own names.
    pub fields: TokenStream,
}

impl<'a> Common<'a> {
    pub fn of(func: &syn::ItemFn, c: &'a Compiled) -> Self {
        Common {
            elem: elem_tokens(&c.sig.elem),
            user: emit::UserNames::of(func),
            inputs: c.sig.inputs.iter().map(|i| &i.arg).collect(),
            fields: crate::structs::field_bindings(&c.sig),
        }
    }

    pub fn source<'s>(&'s self, c: &'s Compiled) -> emit::Source<'s> {
        emit::Source {
            g: &c.lowered.graph,
            elem: &c.sig.elem,
            params: &c.sig.params,
            adjoint_names: &c.adjoint_names,
            user: &self.user,
            marker: None,
        }
    }
}

/// `NAME_vjp` (or `NAME_vjp_k`, for element `k` of a function returning a
/// tuple): the value and its gradient with respect to every parameter,
/// the convention by which other `#[derive_grad]` functions call this one.
fn vjp_fn(func: &syn::ItemFn, c: &Compiled, which: Option<usize>) -> TokenStream {
    let sig = &c.sig;
    let g = &c.lowered.graph;
    let vis = &func.vis;
    let name = &func.sig.ident;
    let vjp_name = match which {
        None => format_ident!("{}_vjp", name),
        Some(k) => format_ident!("{}_vjp_{}", name, k),
    };
    let (impl_generics, _, where_clause) = func.sig.generics.split_for_impl();
    let common = Common::of(func, c);
    let (elem, inputs, fields) = (&common.elem, &common.inputs, &common.fields);
    let src = common.source(c);
    let mut grads = Vec::new();
    let returned = (0..sig.inputs.len())
        .map(|i| grad_tree(&sig.inputs[i].tree, c, &mut grads))
        .collect();
    let body = emit::body(
        &src,
        &Outputs {
            value: c.lowered.output,
            grads,
            returned,
            always_tuple: true,
            accumulate: None,
            tangent: None,
            extra: None,
            extra_returned: None,
        },
    );
    let types = (0..sig.inputs.len()).map(|i| input_grad_type(sig, i, elem));
    let checks = core_checks(g, elem);
    quote! {
        /// The value of this function and its gradient with respect to every
        /// parameter: the convention by which other `#[derive_grad]`
        /// functions call this one.
        #[doc(hidden)]
        #[inline]
        #[allow(unused_parens, unused_variables, unused_mut, non_snake_case, dead_code, clippy::all, clippy::pedantic, clippy::nursery)]
        #vis fn #vjp_name #impl_generics (#(#inputs),*) -> (#elem, (#(#types,)*)) #where_clause {
            #fields
            #(#checks)*
            #body
        }
    }
}

/// `relu(x)` was differentiated as backprop's `relu`: make sure the name
/// resolves to it. Distinct functions have distinct types (and behind a
/// reference they are not coerced to one function-pointer type), so a
/// user's own `relu` in scope is a type error at the call instead of a
/// wrong derivative.
pub(crate) fn core_checks(g: &crate::graph::Graph, elem: &TokenStream) -> Vec<TokenStream> {
    g.core_uses
        .iter()
        .map(|(name, path)| {
            let ours = format_ident!("{}", name);
            quote_spanned!(path.span()=> ::backprop::__private::the_name_must_resolve_to_backprops_own_function(&::backprop::__private::#ours::<#elem>, &#path);)
        })
        .collect()
}

/// "`a`, `b`": the differentiated parameters, for documentation.
fn wrt_names_list(sig: &SigInfo) -> String {
    let names: Vec<String> = sig
        .wrt_inputs
        .iter()
        .map(|&i| format!("`{}`", sig.inputs[i].name))
        .collect();
    names.join(", ")
}

/// The gradient of an input: its leaves pushed onto `grads`.
pub(crate) fn grad_tree<'a>(
    t: &InputTree,
    c: &'a Compiled,
    grads: &mut Vec<(&'a ParamInfo, emit::Grad)>,
) -> emit::GradTree {
    match t {
        InputTree::Leaf(p) => {
            grads.push((&c.sig.params[*p], c.grad(*p)));
            emit::GradTree::Leaf(grads.len() - 1)
        }
        InputTree::Struct { path, fields } => emit::GradTree::Struct {
            path: path.clone(),
            fields: fields
                .iter()
                .map(|(m, f)| (m.clone(), grad_tree(f, c, grads)))
                .collect(),
        },
    }
}

/// The type of input `i`'s gradient: its own type for a struct (`Mlp`,
/// `Self`), else the parameter's gradient type.
pub(crate) fn input_grad_type(sig: &SigInfo, i: usize, elem: &TokenStream) -> TokenStream {
    let input = &sig.inputs[i];
    match (&input.tree, &input.arg) {
        (InputTree::Leaf(p), _) => grad_type(&sig.params[*p], elem),
        (InputTree::Struct { .. }, syn::FnArg::Receiver(_)) => quote!(Self),
        (InputTree::Struct { .. }, syn::FnArg::Typed(pt)) => {
            let mut ty = &*pt.ty;
            while let syn::Type::Reference(r) = ty {
                ty = &r.elem;
            }
            ty.to_token_stream()
        }
    }
}

pub(crate) fn elem_tokens(e: &ElemTy) -> TokenStream {
    match e {
        ElemTy::F64 => quote!(f64),
        ElemTy::F32 => quote!(f32),
        ElemTy::Generic(g) => g.to_token_stream(),
    }
}

pub(crate) fn grad_type(p: &ParamInfo, elem: &TokenStream) -> TokenStream {
    let nest = |shape: &[usize]| {
        shape.iter().rev().fold(elem.clone(), |inner, n| {
            let n = proc_macro2::Literal::usize_unsuffixed(*n);
            quote!([#inner; #n])
        })
    };
    match &p.kind {
        ParamKind::Slice {
            array_len: None, ..
        } => {
            let item = p.slice_element(elem.clone());
            quote!(::std::vec::Vec<#item>)
        }
        ParamKind::Slice {
            array_len: Some(n), ..
        } => {
            let item = p.slice_element(elem.clone());
            quote!([#item; #n])
        }
        ParamKind::Float { shape } => nest(shape),
        _ => quote!(()),
    }
}
