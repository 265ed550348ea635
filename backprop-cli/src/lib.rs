//! The backprop command line's library: reads a function from Rust source
//! text and explains it with the `#[derive_grad]` compiler's own stages
//! ([`backprop_compiler`]), as the attribute `#[derive_grad(explain)]` would.

use backprop_compiler::{expand, explain, sym};
use backprop_core::explain::{Derivation, Explanation, Graph, Node, NodeKind, Step};

/// Explains `function` in `source`; errors are the macro's own messages.
pub fn explain_source(source: &str, function: &str) -> Result<Explanation, String> {
    let file: syn::File =
        syn::parse_str(source).map_err(|e| format!("cannot parse the file: {e}"))?;
    let mut func = find_function(&file.items, function)
        .ok_or_else(|| format!("no function `{function}` in the file"))?;
    // Keep `wrt(...)` from the function's own attribute; add `explain`.
    let attr = derive_grad_arguments(&func);
    func.attrs.retain(|a| !is_derive_grad(a));
    let attr: proc_macro2::TokenStream = if attr.is_empty() {
        quote::quote!(explain)
    } else {
        quote::quote!(#attr, explain)
    };
    let compiled = expand::compile(attr, &func).map_err(|errors| {
        errors
            .iter()
            .map(|e| format!("error: {e}"))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let data = compiled.explain.expect("explain was requested");
    let nodes = data
        .nodes
        .iter()
        .map(|n| Node {
            name: n.name.clone(),
            kind: match n.kind {
                explain::Kind::Parameter => NodeKind::Parameter,
                explain::Kind::Input => NodeKind::Input,
                explain::Kind::Intermediate => NodeKind::Intermediate,
                explain::Kind::Output => NodeKind::Output,
            },
            definition: n
                .definition
                .as_ref()
                .map(sym::Sym::unicode)
                .unwrap_or_default(),
            inputs: n.inputs.clone(),
            elements: n.elements.clone(),
        })
        .collect();
    let steps = data
        .steps
        .iter()
        .map(|s| Step {
            node: s.node,
            chain: s.chain.unicode(),
            closed: s.closed.unicode(),
            chain_latex: s.chain.latex(),
            closed_latex: s.closed.latex(),
            adjoint_latex: s.adjoint.latex(),
        })
        .collect();
    Ok(Explanation {
        graph: Graph {
            function: data.function.clone(),
            nodes,
        },
        derivation: Derivation { steps },
    })
}

/// The code `#[derive_grad]` generates for `function` in `source` (the
/// original function and `NAME_grad`, with any other generated items),
/// pretty-printed; errors are the macro's own messages.
pub fn expand_source(source: &str, function: &str) -> Result<String, String> {
    let file: syn::File =
        syn::parse_str(source).map_err(|e| format!("cannot parse the file: {e}"))?;
    let mut func = find_function(&file.items, function)
        .ok_or_else(|| format!("no function `{function}` in the file"))?;
    let attr = derive_grad_arguments(&func);
    func.attrs.retain(|a| !is_derive_grad(a));
    let generated = expand::expand(attr, &func).map_err(|errors| {
        errors
            .iter()
            .map(|e| format!("error: {e}"))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let file: syn::File = syn::parse2(quote::quote!(#func #generated))
        .map_err(|e| format!("the generated code does not parse (a compiler bug): {e}"))?;
    Ok(prettyplease::unparse(&file))
}

/// The arguments of the function's own `#[derive_grad(...)]`, if any.
fn derive_grad_arguments(func: &syn::ItemFn) -> proc_macro2::TokenStream {
    let mut attr = proc_macro2::TokenStream::new();
    for a in &func.attrs {
        if is_derive_grad(a) {
            if let syn::Meta::List(list) = &a.meta {
                attr = list.tokens.clone();
            }
        }
    }
    attr
}

fn is_derive_grad(a: &syn::Attribute) -> bool {
    a.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "derive_grad")
}

fn find_function(items: &[syn::Item], name: &str) -> Option<syn::ItemFn> {
    items.iter().find_map(|item| match item {
        syn::Item::Fn(f) if f.sig.ident == name => Some(f.clone()),
        syn::Item::Mod(m) => m
            .content
            .as_ref()
            .and_then(|(_, items)| find_function(items, name)),
        _ => None,
    })
}
