//! Names in the emitted code: hygienic locals, the user's own names (never
//! reused), and fresh readable names (`v_3`, `d_w`).

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Span, TokenStream};

use crate::signature::ParamInfo;

/// The names a user's function mentions (every identifier in it) and the
/// ones it binds itself (`let`, `for` patterns).
#[derive(Clone, Debug, Default)]
pub struct UserNames {
    mentioned: HashSet<String>,
    bound: HashSet<String>,
}

impl UserNames {
    /// Collects the names of `func`.
    pub fn of(func: &syn::ItemFn) -> UserNames {
        use quote::ToTokens;
        fn idents(ts: TokenStream, out: &mut HashSet<String>) {
            for t in ts {
                match t {
                    proc_macro2::TokenTree::Ident(i) => {
                        out.insert(i.to_string().trim_start_matches("r#").to_owned());
                    }
                    proc_macro2::TokenTree::Group(g) => idents(g.stream(), out),
                    _ => {}
                }
            }
        }
        struct Bound<'a>(&'a mut HashSet<String>);
        impl<'ast> syn::visit::Visit<'ast> for Bound<'_> {
            fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
                self.0
                    .insert(p.ident.to_string().trim_start_matches("r#").to_owned());
                syn::visit::visit_pat_ident(self, p);
            }
        }
        let mut names = UserNames::default();
        idents(func.to_token_stream(), &mut names.mentioned);
        syn::visit::Visit::visit_block(&mut Bound(&mut names.bound), &func.block);
        names
    }

    /// Every identifier the function mentions.
    pub fn mentioned(&self) -> &HashSet<String> {
        &self.mentioned
    }
}

/// A local variable of the generated code. Its span is `mixed_site`, so it
/// is hygienic: no name the user wrote (a parameter `c0`, a `const v`
/// outside the function) can refer to it or be shadowed by it, whatever the
/// two names are.
pub fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// Unique, valid local names.
pub(super) struct Names<'a> {
    used: HashSet<String>,
    /// The next suffix to try for each base name, so naming stays linear.
    next_suffix: HashMap<String, usize>,
    user: &'a UserNames,
    /// Names given that the user did not bind: each is hidden from outside
    /// items by a local `fn` (see [`straight_line`]).
    pub(super) invented: Vec<String>,
}

impl<'a> Names<'a> {
    pub(super) fn new(params: &[ParamInfo], user: &'a UserNames, reserved: &[String]) -> Names<'a> {
        Names {
            used: params
                .iter()
                .map(|p| p.name.to_string())
                .chain(reserved.iter().cloned())
                .collect(),
            next_suffix: HashMap::new(),
            user,
            invented: Vec::new(),
        }
    }

    /// A name can be used if it is new here and either the user bound it
    /// (so no outside item forbids the binding) or the user's function
    /// never mentions it (so hiding outside items of that name is safe).
    pub(super) fn usable(&self, name: &str) -> bool {
        !self.used.contains(name)
            && (self.user.bound.contains(name) || !self.user.mentioned.contains(name))
    }

    /// The next name of a generic constant: `c0`, `c1`, …
    pub(super) fn constant(&mut self, count: &mut usize) -> String {
        let mut name = format!("c{count}");
        while !self.usable(&name) {
            *count += 1;
            name = format!("c{count}");
        }
        *count += 1;
        self.used.insert(name.clone());
        self.invented.push(name.clone());
        name
    }

    pub(super) fn fresh(&mut self, base: &str) -> String {
        // `c0`, `c1`, … are the generic constants; keywords get a `_`.
        let reserved = base.len() > 1
            && base.starts_with('c')
            && base[1..].chars().all(|c| c.is_ascii_digit());
        let base = if !reserved && is_plain_identifier(base) {
            base.to_owned()
        } else {
            format!("{base}_")
        };
        let mut next = self.next_suffix.get(&base).copied().unwrap_or(0);
        let mut candidate = if next == 0 {
            base.clone()
        } else {
            format!("{base}_{next}")
        };
        while !self.usable(&candidate) {
            next += 1;
            candidate = format!("{base}_{next}");
        }
        self.next_suffix.insert(base, next + 1);
        self.used.insert(candidate.clone());
        if !self.user.bound.contains(&candidate) {
            self.invented.push(candidate.clone());
        }
        candidate
    }
}

/// Whether `s` can be written as a plain (non-raw) identifier. Names come
/// from the user's identifiers and our own prefixes, so a character check
/// and the keyword list suffice (far cheaper than parsing each one).
fn is_plain_identifier(s: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "Self", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
        "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
        "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv",
        "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "try",
        "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield", "_",
    ];
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c == '_' || c.is_alphabetic());
    first_ok && s.chars().all(|c| c == '_' || c.is_alphanumeric()) && !KEYWORDS.contains(&s)
}

#[cfg(test)]
mod tests {
    use super::is_plain_identifier;

    #[test]
    fn identifiers_and_keywords() {
        assert!(
            is_plain_identifier("d_z1")
                && is_plain_identifier("x_hat")
                && is_plain_identifier("état")
        );
        assert!(
            !is_plain_identifier("type")
                && !is_plain_identifier("1x")
                && !is_plain_identifier("a-b")
        );
        assert!(!is_plain_identifier("_") && !is_plain_identifier(""));
    }
}
