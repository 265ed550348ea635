//! Unit and snapshot tests of the compiler stages, on source text.

mod errors;
mod explain;
mod fixtures;
mod hygiene;
mod random;
mod snapshots;

use proc_macro2::TokenStream;

use crate::emit;
use crate::expand::{self, Compiled};

/// Parses `src` as a function and runs the pipeline up to emission.
pub fn compile(attr: &str, src: &str) -> Result<(syn::ItemFn, Compiled), Vec<syn::Error>> {
    let func: syn::ItemFn = syn::parse_str(src).expect("fixture parses");
    let attr: TokenStream = attr.parse().expect("attribute parses");
    expand::compile(attr, &func).map(|c| (func, c))
}

/// The generated items, pretty-printed.
pub fn expand_pretty(attr: &str, src: &str) -> String {
    let (func, c) = compile(attr, src).unwrap_or_else(|e| {
        panic!(
            "{src}\n{:?}",
            e.iter().map(|e| e.to_string()).collect::<Vec<_>>()
        )
    });
    let tokens = expand::generate(&func, &c);
    let file: syn::File = syn::parse2(tokens).expect("generated code parses");
    prettyplease::unparse(&file)
}

/// The second-order companion `NAME_hvp_all`, pretty-printed.
pub fn companion_pretty(src: &str) -> String {
    let (func, c) = compile("", src).expect("compiles");
    let tokens = crate::companion::hvp_all_fn(&func, &c, &Default::default(), None);
    let file: syn::File = syn::parse2(tokens).expect("generated code parses");
    prettyplease::unparse(&file)
}

/// The companion `NAME_pullback` of a function with a slice parameter,
/// pretty-printed.
pub fn pullback_pretty(src: &str) -> String {
    let func: syn::ItemFn = syn::parse_str(src).expect("a function");
    let tokens = crate::pullback::pullback_fn(quote::quote!(), &func, &Default::default(), None)
        .expect("compiles");
    let file: syn::File = syn::parse2(tokens).expect("generated code parses");
    prettyplease::unparse(&file)
}

/// The messages of the errors the pipeline reports on `src`.
pub fn errors(attr: &str, src: &str) -> Vec<String> {
    match compile(attr, src) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

/// (forward operations, operations of `NAME_grad`).
pub fn op_counts(attr: &str, src: &str) -> (usize, usize) {
    let (_, c) = compile(attr, src).unwrap();
    let g = &c.lowered.graph;
    let forward = emit::count_ops(g, &[c.lowered.output]);
    let mut roots = vec![c.lowered.output];
    for &p in &c.sig.wrt {
        roots.extend(&c.grads[p]);
    }
    (forward, emit::count_ops(g, &roots))
}
