//! The seed corpus for mutations: every function carrying `#[derive_grad]`
//! in the project's tests and examples, and the compiler's own fixtures.

use std::path::{Path, PathBuf};

use quote::ToTokens;

/// A function of the corpus.
#[derive(Clone, Debug)]
pub struct Seed {
    /// Where it comes from (`tests/constructs.rs: bindings`).
    pub origin: String,
    /// Its attribute arguments (`wrt(w, b)`), as text.
    pub attr: String,
    /// The function without the `#[derive_grad]` attribute, as parsed.
    pub func: syn::ItemFn,
}

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

/// Loads the corpus from the workspace's `tests/*.rs`, `tests/ui/*.rs`,
/// `examples/*.rs` and `backprop-compiler/src/tests/fixtures.rs`, in a
/// fixed (sorted) order, so a seed gives the same inputs on the same
/// checkout. Files that do not parse are skipped.
pub fn load() -> Vec<Seed> {
    let root = workspace_root();
    let mut files = Vec::new();
    for dir in ["tests", "tests/ui", "examples"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    let mut seeds = Vec::new();
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Ok(file) = syn::parse_file(&text) else {
            continue;
        };
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        collect_items(&file.items, &rel, &mut seeds);
    }
    let fixtures = root.join("backprop-compiler/src/tests/fixtures.rs");
    if let Ok(text) = std::fs::read_to_string(&fixtures) {
        if let Ok(file) = syn::parse_file(&text) {
            collect_fixtures(&file, &mut seeds);
        }
    }
    seeds
}

fn collect_items(items: &[syn::Item], origin: &str, out: &mut Vec<Seed>) {
    for item in items {
        match item {
            syn::Item::Fn(f) => {
                if let Some(seed) = derive_grad_fn(f, origin) {
                    out.push(seed);
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    collect_items(items, origin, out);
                }
            }
            _ => {}
        }
    }
}

/// A function with `#[derive_grad]` / `#[derive_grad(args)]` /
/// `#[backprop::derive_grad]`: the function without that attribute, and the
/// arguments.
fn derive_grad_fn(f: &syn::ItemFn, origin: &str) -> Option<Seed> {
    let pos = f.attrs.iter().position(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "derive_grad")
    })?;
    let attr = match &f.attrs[pos].meta {
        syn::Meta::List(l) => l.tokens.to_string(),
        _ => String::new(),
    };
    let mut func = f.clone();
    func.attrs.remove(pos);
    Some(Seed {
        origin: format!("{origin}: {}", f.sig.ident),
        attr,
        func,
    })
}

/// `FIXTURES: &[(&str, &str, &str)]` of (name, attribute arguments, source).
fn collect_fixtures(file: &syn::File, out: &mut Vec<Seed>) {
    for item in &file.items {
        let syn::Item::Const(c) = item else { continue };
        let syn::Expr::Reference(r) = &*c.expr else {
            continue;
        };
        let syn::Expr::Array(arr) = &*r.expr else {
            continue;
        };
        for elem in &arr.elems {
            let syn::Expr::Tuple(t) = elem else { continue };
            let strs: Vec<String> = t
                .elems
                .iter()
                .filter_map(|e| match e {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) => Some(s.value()),
                    _ => None,
                })
                .collect();
            if let [name, attr, src] = strs.as_slice() {
                if let Ok(func) = syn::parse_str::<syn::ItemFn>(src) {
                    out.push(Seed {
                        origin: format!("fixtures.rs: {name}"),
                        attr: attr.clone(),
                        func,
                    });
                }
            }
        }
    }
}

impl Seed {
    /// The function's source text.
    pub fn src(&self) -> String {
        self.func.to_token_stream().to_string()
    }
}
