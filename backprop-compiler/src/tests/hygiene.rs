//! The integration test `tests/hygiene.rs` must name every local the
//! emitter writes for its functions (as an outside item or a parameter), so
//! that it really tests every name the emitter can produce there.

use std::collections::HashSet;

use quote::ToTokens;
use syn::visit::Visit;

use crate::expand;

struct Bindings(HashSet<String>);

impl<'ast> Visit<'ast> for Bindings {
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.0.insert(p.ident.to_string());
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        // The body's bindings, not the parameters (the user's own names).
        self.visit_block(&f.block);
    }
}

fn functions(items: &[syn::Item], out: &mut Vec<syn::ItemFn>) {
    for item in items {
        match item {
            syn::Item::Fn(f) => out.push(f.clone()),
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    functions(items, out);
                }
            }
            _ => {}
        }
    }
}

fn item_names(items: &[syn::Item], out: &mut HashSet<String>) {
    for item in items {
        match item {
            syn::Item::Const(c) => {
                out.insert(c.ident.to_string());
            }
            syn::Item::Static(s) => {
                out.insert(s.ident.to_string());
            }
            syn::Item::Struct(s) => {
                out.insert(s.ident.to_string());
            }
            // `outside!(a b c)`: one `const` per name.
            syn::Item::Macro(m) if m.mac.path.is_ident("outside") => {
                for t in m.mac.tokens.clone() {
                    if let proc_macro2::TokenTree::Ident(i) = t {
                        out.insert(i.to_string());
                    }
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    item_names(items, out);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn hygiene_fixture_covers_every_emitted_name() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/hygiene.rs");
    let file: syn::File = syn::parse_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut outside = HashSet::new();
    item_names(&file.items, &mut outside);
    let mut fns = Vec::new();
    functions(&file.items, &mut fns);
    let mut checked = 0;
    let mut missing = Vec::new();
    for mut func in fns {
        let Some(pos) = func
            .attrs
            .iter()
            .position(|a| a.path().is_ident("derive_grad"))
        else {
            continue;
        };
        let attr = match &func.attrs[pos].meta {
            syn::Meta::List(l) => l.tokens.clone(),
            _ => proc_macro2::TokenStream::new(),
        };
        func.attrs.remove(pos);
        let compiled = expand::compile(attr.clone(), &func).unwrap_or_else(|_| panic!("compiles"));
        let mut tokens = expand::generate(&func, &compiled);
        tokens.extend(crate::companion::hvp_all_fn(
            &func,
            &compiled,
            &Default::default(),
            None,
        ));
        tokens.extend(
            crate::pullback::pullback_fn(attr, &func, &Default::default(), None)
                .unwrap_or_else(|_| panic!("compiles")),
        );
        let generated: syn::File = syn::parse2(tokens).unwrap();
        let mut user = Bindings(HashSet::new());
        user.visit_item_fn(&func);
        let params: HashSet<String> = func
            .sig
            .inputs
            .iter()
            .map(|a| a.to_token_stream().to_string())
            .filter_map(|s| s.split(':').next().map(|n| n.trim().to_owned()))
            .collect();
        let mut emitted = Bindings(HashSet::new());
        emitted.visit_file(&generated);
        for name in emitted.0.difference(&user.0) {
            if !(outside.contains(name) || params.contains(name)) {
                missing.push(format!("{}: {name}", func.sig.ident));
            }
            checked += 1;
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "locals emitted that tests/hygiene.rs names neither as an outside item nor as a parameter: {missing:?}"
    );
    assert!(checked >= 10, "only {checked} emitted names were checked");
}
