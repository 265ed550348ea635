//! Iterator chains and closures over arrays, slices and ranges, read as the
//! indexed loops they stand for.
//!
//! `w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>()` is lowered as
//!
//! ```text
//! { let mut acc = -0.0; for i in 0..w.len().min(x.len()) { acc += { let (a, b) = (w[i], x[i]); a * b }; } acc }
//! ```
//!
//! so everything a loop can do (stay a loop with a run-time length, be
//! unrolled when short, be differentiated) a chain does too, with no
//! iterator machinery of its own. A chain is a list of positions `0..len`
//! and, for each, its item: an expression of the position variable (a
//! tuple after `zip`/`enumerate`, a window of an array after
//! `windows`/`chunks`). The rewriting is purely syntactic; the original
//! function is emitted as written, so the values it returns are Rust's own.
//!
//! Sums start from −0.0 as Rust's float `Sum` does (an empty sum is −0.0),
//! products from 1.0, so the lowered loops add and multiply exactly what
//! the iterator would, in the same order.

use std::collections::HashSet;
use std::rc::Rc;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::Expr;

use super::*;

/// The item of a chain at one position.
#[derive(Clone)]
enum Item {
    /// A value.
    Expr(Expr),
    /// `(a, b)` from `zip`/`enumerate`, kept apart so that a window inside
    /// it can be bound by a tuple pattern.
    Tuple(Vec<Item>),
    /// `base[start..end]`, a window or chunk of an array: bound to a name,
    /// its reads `w[k]` become `base[start + k]`.
    Window(Box<Window>),
}

#[derive(Clone)]
struct Window {
    base: Expr,
    start: Expr,
    end: Expr,
    /// The most elements it can have (`k` of `windows(k)`, `chunks(k)`), if
    /// a literal: a read at a literal index beyond it always panics.
    max_len: Option<u64>,
}

/// An iterator chain: the items at positions `var` ∈ `0..len`.
struct Chain {
    var: syn::Ident,
    len: Expr,
    item: Item,
    /// Conditions under which the item at a position is kept (`filter`):
    /// positions then no longer count the items, so nothing that depends
    /// on positions may follow.
    keep: Vec<Expr>,
}

/// Refuses an adapter that depends on positions after a `filter`.
fn unfiltered(c: Chain, name: &str, span: Span) -> Parsed {
    if c.keep.is_empty() {
        Ok(c)
    } else {
        Err(refuse(
            span,
            format!("`.{name}(…)` after `.filter(…)` is not supported in a #[derive_grad] function (the positions no longer count the items): put `.{name}(…)` before the `filter`, or write a `for` loop"),
        ))
    }
}

/// Why a chain cannot be read as a loop.
struct Refusal {
    span: Span,
    message: String,
}

type Parsed = Result<Chain, Refusal>;

/// A chain rewritten as a loop, or why it could not be (span, message).
pub(super) type Desugared = Rc<Result<Expr, (Span, String)>>;

const ADAPTERS: &str = "`.iter()`, `.into_iter()`, `.copied()`, `.cloned()`, `.map(|x| …)`, `.zip(…)`, `.enumerate()`, `.rev()`, `.filter(|x| …)`, `.skip(n)`, `.take(n)`, `.step_by(n)`, `.windows(k)`, `.chunks(k)`, `.chunks_exact(k)` over arrays, slices, `Vec`s and ranges";
const CONSUMERS: &str = "`.sum()`, `.product()`, `.fold(init, |acc, x| …)`, `.count()`, `.for_each(|x| …)`, or a `for` loop";

fn refuse(span: Span, message: impl Into<String>) -> Refusal {
    Refusal {
        span,
        message: message.into(),
    }
}

fn parse_expr(tokens: TokenStream) -> Expr {
    syn::parse2(tokens).expect("a generated expression parses")
}

/// Whether `e` is an iterator chain (what [`Desugarer::chain`] reads),
/// told from its outermost method alone.
fn is_chain(e: &Expr) -> bool {
    match strip_parens(e) {
        Expr::MethodCall(m) => is_chain_call(m),
        Expr::Reference(r) => is_chain(&r.expr),
        _ => false,
    }
}

/// Whether `m` is a source or adapter of an iterator chain (or one refused
/// with a message of its own).
fn is_chain_call(m: &syn::ExprMethodCall) -> bool {
    matches!(
        (m.method.to_string().as_str(), m.args.len()),
        (
            "iter" | "into_iter" | "copied" | "cloned" | "by_ref" | "enumerate" | "rev",
            0
        ) | (
            "windows"
                | "chunks"
                | "chunks_exact"
                | "map"
                | "zip"
                | "skip"
                | "step_by"
                | "take"
                | "filter",
            1
        ) | (
            "filter_map" | "flat_map" | "chain" | "peekable" | "scan" | "take_while" | "skip_while",
            _
        )
    )
}

/// Every identifier in `tokens`, to name the loop variables with names the
/// user's code does not mention.
pub(super) fn idents_of(tokens: TokenStream, out: &mut HashSet<String>) {
    for t in tokens {
        match t {
            proc_macro2::TokenTree::Ident(i) => {
                out.insert(i.to_string());
            }
            proc_macro2::TokenTree::Group(g) => idents_of(g.stream(), out),
            _ => {}
        }
    }
}

/// Turns an iterator chain into loops; one per consumer or `for` loop.
struct Desugarer {
    /// Names the chain's code mentions, and names already handed out.
    taken: HashSet<String>,
}

impl Desugarer {
    fn new(whole: &Expr) -> Desugarer {
        /// The variables `whole` may read or bind (method names and paths
        /// of several segments are not variables).
        struct Names(HashSet<String>);
        impl<'ast> Visit<'ast> for Names {
            fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
                if let Some(i) = p.path.get_ident() {
                    self.0.insert(i.to_string());
                }
            }
            fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
                self.0.insert(p.ident.to_string());
            }
            fn visit_macro(&mut self, m: &'ast syn::Macro) {
                idents_of(m.tokens.clone(), &mut self.0);
            }
        }
        let mut names = Names(HashSet::new());
        names.visit_expr(whole);
        Desugarer { taken: names.0 }
    }

    /// A fresh name, readable in generated code and explanations: `i`,
    /// `j`, `k`, … unless the user's code uses it.
    fn fresh(&mut self, preferred: &[&str]) -> syn::Ident {
        let mut n = 0;
        loop {
            for p in preferred {
                let name = if n == 0 {
                    (*p).to_owned()
                } else {
                    format!("{p}{n}")
                };
                if self.taken.insert(name.clone()) {
                    return format_ident!("{}", name);
                }
            }
            n += 1;
        }
    }

    fn position(&mut self) -> syn::Ident {
        self.fresh(&["i", "j", "k", "t", "m"])
    }

    /// The chain `e` stands for, `None` if `e` is not an iterator chain.
    fn chain(&mut self, e: &Expr) -> Option<Parsed> {
        if !is_chain(e) {
            return None;
        }
        let m = match strip_parens(e) {
            Expr::MethodCall(m) => m,
            Expr::Reference(r) => return self.chain(&r.expr),
            _ => return None,
        };
        let name = m.method.to_string();
        let span = m.method.span();
        let arity = m.args.len();
        Some(match (name.as_str(), arity) {
            ("iter" | "into_iter", 0) => Ok(self.source(&m.receiver)),
            ("copied" | "cloned" | "by_ref", 0) => self.chain_or_source(&m.receiver),
            ("windows" | "chunks" | "chunks_exact", 1) => {
                Ok(self.windows(&name, &m.receiver, &m.args[0]))
            }
            ("map", 1) => self.chain_or_source(&m.receiver).and_then(|c| {
                let f = self.closure(&m.args[0], 1, "map")?;
                let item = Item::Expr(self.apply(&f, vec![c.item])?);
                Ok(Chain { item, ..c })
            }),
            ("enumerate", 0) => self.chain_or_source(&m.receiver).and_then(|c| unfiltered(c, &name, span)).map(|c| {
                let var = &c.var;
                let item = Item::Tuple(vec![Item::Expr(parse_expr(quote!(#var))), c.item]);
                Chain { item, ..c }
            }),
            ("zip", 1) => self.chain_or_source(&m.receiver).and_then(|a| {
                let a = unfiltered(a, &name, span)?;
                let b = unfiltered(self.chain_or_source(&m.args[0])?, &name, span)?;
                let var = self.position();
                let (la, lb) = (&a.len, &b.len);
                let len = parse_expr(quote!((#la).min(#lb)));
                let item = Item::Tuple(vec![
                    rename(a.item, &a.var, &var),
                    rename(b.item, &b.var, &var),
                ]);
                Ok(Chain {
                    var,
                    len,
                    item,
                    keep: Vec::new(),
                })
            }),
            ("rev", 0) => self.chain_or_source(&m.receiver).and_then(|c| unfiltered(c, &name, span)).map(|c| {
                // Position p yields the item at len − 1 − p: the loop runs
                // forwards and adds in the reversed chain's order.
                let var = self.position();
                let len = &c.len;
                let from_end = parse_expr(quote!((#len) - 1 - #var));
                let item = substitute(c.item, &c.var, &from_end);
                Chain {
                    var,
                    len: c.len,
                    item,
                    keep: Vec::new(),
                }
            }),
            ("skip", 1) => self.chain_or_source(&m.receiver).and_then(|c| unfiltered(c, &name, span)).map(|c| {
                let n = &m.args[0];
                let (len, var) = (&c.len, self.position());
                let shifted = parse_expr(quote!(#var + (#n)));
                Chain {
                    len: parse_expr(quote!((#len).max(#n) - (#n))),
                    item: substitute(c.item, &c.var, &shifted),
                    var,
                    keep: Vec::new(),
                }
            }),
            ("step_by", 1) => self.chain_or_source(&m.receiver).and_then(|c| unfiltered(c, &name, span)).map(|c| {
                let (s, len, var) = (&m.args[0], &c.len, self.position());
                let scaled = parse_expr(quote!(#var * (#s)));
                Chain {
                    len: parse_expr(quote!(((#len) + (#s) - 1) / (#s))),
                    item: substitute(c.item, &c.var, &scaled),
                    var,
                    keep: Vec::new(),
                }
            }),
            ("take", 1) => self.chain_or_source(&m.receiver).and_then(|c| unfiltered(c, &name, span)).map(|c| {
                let (n, len) = (&m.args[0], &c.len);
                Chain {
                    len: parse_expr(quote!((#len).min(#n))),
                    ..c
                }
            }),
            ("filter", 1) => self.chain_or_source(&m.receiver).and_then(|mut c| {
                let f = self.closure(&m.args[0], 1, "filter")?;
                let cond = self.apply(&f, vec![c.item.clone()])?;
                c.keep.push(cond);
                Ok(c)
            }),
            ("filter_map" | "flat_map" | "chain" | "peekable" | "scan"
            | "take_while" | "skip_while", _) => Err(refuse(
                span,
                format!("`.{name}(…)` is not supported in an iterator chain of a #[derive_grad] function: supported are {ADAPTERS}; write a `for` loop with an `if` instead"),
            )),
            _ => return None,
        })
    }

    /// A chain, or an array, slice or range iterated as one (`zip(&x)`).
    fn chain_or_source(&mut self, e: &Expr) -> Parsed {
        match self.chain(e) {
            Some(c) => c,
            None => Ok(self.source(e)),
        }
    }

    /// The elements of an array, slice, `Vec` or range `e`.
    fn source(&mut self, e: &Expr) -> Chain {
        let e = match strip_parens(e) {
            Expr::Reference(r) => &*r.expr,
            e => e,
        };
        let var = self.position();
        match strip_parens(e) {
            Expr::Range(r) => {
                let hi = match &r.end {
                    Some(hi) if matches!(r.limits, syn::RangeLimits::Closed(_)) => {
                        parse_expr(quote!((#hi) + 1))
                    }
                    Some(hi) => (**hi).clone(),
                    // An open range has no end: zip it with something that has one.
                    None => parse_expr(quote!(usize::MAX)),
                };
                let Some(lo) = r.start.as_deref().filter(|lo| !is_zero(lo)) else {
                    return Chain {
                        len: hi,
                        item: Item::Expr(parse_expr(quote!(#var))),
                        var,
                        keep: Vec::new(),
                    };
                };
                Chain {
                    len: parse_expr(quote!((#hi).max(#lo) - (#lo))),
                    item: Item::Expr(parse_expr(quote!((#lo) + #var))),
                    var,
                    keep: Vec::new(),
                }
            }
            // A part of an array: `x[a..b].iter()`, and a window bound to a name.
            Expr::Index(ix) if matches!(strip_parens(&ix.index), Expr::Range(_)) => {
                let Expr::Range(r) = strip_parens(&ix.index) else {
                    unreachable!("matched above")
                };
                let base = &ix.expr;
                let lo = r
                    .start
                    .as_deref()
                    .cloned()
                    .unwrap_or_else(|| parse_expr(quote!(0)));
                let hi = match &r.end {
                    Some(hi) if matches!(r.limits, syn::RangeLimits::Closed(_)) => {
                        parse_expr(quote!((#hi) + 1))
                    }
                    Some(hi) => (**hi).clone(),
                    None => parse_expr(quote!((#base).len())),
                };
                Chain {
                    len: parse_expr(quote!((#hi) - (#lo))),
                    item: Item::Expr(parse_expr(quote!((#base)[(#lo) + #var]))),
                    var,
                    keep: Vec::new(),
                }
            }
            e => Chain {
                len: parse_expr(quote!((#e).len())),
                item: Item::Expr(parse_expr(quote!((#e)[#var]))),
                var,
                keep: Vec::new(),
            },
        }
    }

    /// `x.windows(k)`, `x.chunks(k)`, `x.chunks_exact(k)`.
    fn windows(&mut self, name: &str, base: &Expr, k: &Expr) -> Chain {
        let var = self.position();
        let n = parse_expr(quote!((#base).len()));
        let max_len = match strip_parens(k) {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(i),
                ..
            }) => i.base10_parse::<u64>().ok(),
            _ => None,
        };
        let (len, start, end) = match name {
            // Windows start at 0, 1, …, n − k (none when n < k).
            "windows" => (
                parse_expr(quote!((#n + 1).max(#k) - (#k))),
                parse_expr(quote!(#var)),
                parse_expr(quote!(#var + (#k))),
            ),
            // Chunks start at 0, k, 2k, …; the last may be shorter.
            "chunks" => (
                parse_expr(quote!((#n + (#k) - 1) / (#k))),
                parse_expr(quote!(#var * (#k))),
                parse_expr(quote!((#var * (#k) + (#k)).min(#n))),
            ),
            _ => (
                parse_expr(quote!(#n / (#k))),
                parse_expr(quote!(#var * (#k))),
                parse_expr(quote!(#var * (#k) + (#k))),
            ),
        };
        Chain {
            var,
            len,
            item: Item::Window(Box::new(Window {
                base: base.clone(),
                start,
                end,
                max_len,
            })),
            keep: Vec::new(),
        }
    }

    /// A closure of `arity` parameters, or a function path (`f64::max`).
    fn closure(&mut self, e: &Expr, arity: usize, what: &str) -> Result<Callee, Refusal> {
        match strip_parens(e) {
            Expr::Closure(c) => {
                if c.inputs.len() != arity {
                    return Err(refuse(
                        c.span(),
                        format!("the closure of `.{what}(…)` takes {arity} parameter(s)"),
                    ));
                }
                if c.asyncness.is_some() {
                    return Err(refuse(c.span(), "async closures are not supported"));
                }
                Ok(Callee::Closure(Box::new(c.clone())))
            }
            Expr::Path(p) => Ok(Callee::Path(p.clone())),
            other => Err(refuse(
                other.span(),
                format!("`.{what}(…)` takes a closure (`|x| …`) or a function name in a #[derive_grad] function"),
            )),
        }
    }

    /// `f(args…)` as a block: the parameters bound by `let`, then the body.
    fn apply(&mut self, f: &Callee, args: Vec<Item>) -> Result<Expr, Refusal> {
        match f {
            Callee::Closure(c) => {
                let mut stmts = Vec::new();
                let mut body = (*c.body).clone();
                for (pat, arg) in c.inputs.iter().zip(args) {
                    bind(pat, arg, &mut stmts, &mut body)?;
                }
                Ok(parse_expr(quote!({ #(#stmts)* (#body) })))
            }
            Callee::Path(p) => {
                let args = args
                    .into_iter()
                    .map(|a| item_expr(a, p.span()))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(parse_expr(quote!(#p(#(#args),*))))
            }
        }
    }
}

enum Callee {
    Closure(Box<syn::ExprClosure>),
    Path(syn::ExprPath),
}

fn is_zero(e: &Expr) -> bool {
    matches!(strip_parens(e), Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_digits() == "0")
}

/// The item as one expression (a window cannot be one).
fn item_expr(item: Item, span: Span) -> Result<Expr, Refusal> {
    match item {
        Item::Expr(e) => Ok(e),
        Item::Tuple(items) => {
            let items = items
                .into_iter()
                .map(|i| item_expr(i, span))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(parse_expr(quote!((#(#items,)*))))
        }
        Item::Window(_) => Err(refuse(
            span,
            "a window or chunk (`windows(k)`, `chunks(k)`) must be bound to a name by a closure or `for` pattern (`|w| w[0] * w[1]`), and read at literal indices or iterated",
        )),
    }
}

/// Binds pattern `pat` to `item`: `let` statements for values, and for a
/// window its reads in `body` rewritten as reads of the array.
fn bind(
    pat: &syn::Pat,
    item: Item,
    stmts: &mut Vec<TokenStream>,
    body: &mut Expr,
) -> Result<(), Refusal> {
    match (pat, item) {
        (syn::Pat::Type(t), item) => bind(&t.pat, item, stmts, body),
        (syn::Pat::Reference(r), item) => bind(&r.pat, item, stmts, body),
        (syn::Pat::Paren(p), item) => bind(&p.pat, item, stmts, body),
        (syn::Pat::Wild(_), _) => Ok(()),
        (syn::Pat::Tuple(t), Item::Tuple(items)) if t.elems.len() == items.len() => {
            for (p, i) in t.elems.iter().zip(items) {
                bind(p, i, stmts, body)?;
            }
            Ok(())
        }
        (syn::Pat::Ident(pi), Item::Window(w)) if pi.subpat.is_none() => {
            let mut rewrite = WindowReads {
                name: pi.ident.to_string(),
                window: *w,
                error: None,
            };
            rewrite.visit_expr_mut(body);
            match rewrite.error {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
        (pat, item) => {
            let e = item_expr(item, pat.span())?;
            stmts.push(quote_spanned!(pat.span()=> let #pat = #e;));
            Ok(())
        }
    }
}

/// Rewrites reads of window `name` in a closure or loop body: `w[k]` is
/// `base[start + k]`, `w.len()` is `end − start`, and `w` elsewhere (as a
/// chain's source: `w.iter()`) is `base[start..end]`.
struct WindowReads {
    name: String,
    window: Window,
    error: Option<Refusal>,
}

impl WindowReads {
    fn is_name(&self, e: &Expr) -> bool {
        matches!(strip_parens(e), Expr::Path(p) if p.path.is_ident(&self.name))
    }
}

impl VisitMut for WindowReads {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        let Window {
            base,
            start,
            end,
            max_len,
        } = self.window.clone();
        match e {
            Expr::Index(ix) if self.is_name(&ix.expr) => {
                let k = match strip_parens(&ix.index) {
                    Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Int(i),
                        ..
                    }) => i.base10_parse::<u64>().ok(),
                    _ => None,
                };
                match (k, max_len) {
                    (Some(k), Some(max)) if k < max => {
                        let index = &ix.index;
                        *e = parse_expr(quote_spanned!(ix.span()=> (#base)[(#start) + (#index)]));
                    }
                    (Some(_), Some(max)) => {
                        self.error.get_or_insert(refuse(
                            ix.span(),
                            format!("this index is outside every window of {max} elements"),
                        ));
                    }
                    _ => {
                        self.error.get_or_insert(refuse(
                            ix.index.span(),
                            "a window or chunk is read at literal indices (`w[0]`, `w[1]`) when its length is a literal (`windows(2)`), or iterated (`w.iter()`)",
                        ));
                    }
                }
            }
            Expr::MethodCall(m)
                if m.method == "len" && m.args.is_empty() && self.is_name(&m.receiver) =>
            {
                *e = parse_expr(quote!(((#end) - (#start))));
            }
            Expr::Path(p) if p.path.is_ident(&self.name) => {
                *e = parse_expr(quote!((#base)[(#start)..(#end)]));
            }
            Expr::Closure(c) if c.inputs.iter().any(|p| binds(p, &self.name)) => {}
            _ => syn::visit_mut::visit_expr_mut(self, e),
        }
    }
}

/// Whether pattern `p` binds `name` (a closure parameter shadowing it).
fn binds(p: &syn::Pat, name: &str) -> bool {
    struct Finder<'a>(&'a str, bool);
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
            self.1 |= i.ident == self.0;
        }
    }
    let mut f = Finder(name, false);
    f.visit_pat(p);
    f.1
}

/// The item with position variable `from` renamed `to`.
fn rename(item: Item, from: &syn::Ident, to: &syn::Ident) -> Item {
    substitute(item, from, &parse_expr(quote!(#to)))
}

/// The item with every read of variable `var` replaced by `with`.
fn substitute(item: Item, var: &syn::Ident, with: &Expr) -> Item {
    struct Subst<'a> {
        var: &'a syn::Ident,
        with: &'a Expr,
    }
    impl VisitMut for Subst<'_> {
        fn visit_expr_mut(&mut self, e: &mut Expr) {
            match e {
                Expr::Path(p) if p.path.is_ident(self.var) => {
                    let with = self.with;
                    *e = parse_expr(quote!((#with)));
                }
                _ => syn::visit_mut::visit_expr_mut(self, e),
            }
        }
    }
    let mut s = Subst { var, with };
    match item {
        Item::Expr(mut e) => {
            s.visit_expr_mut(&mut e);
            Item::Expr(e)
        }
        Item::Tuple(items) => Item::Tuple(
            items
                .into_iter()
                .map(|i| substitute(i, var, with))
                .collect(),
        ),
        Item::Window(mut w) => {
            s.visit_expr_mut(&mut w.start);
            s.visit_expr_mut(&mut w.end);
            Item::Window(w)
        }
    }
}

impl Lowerer<'_> {
    /// A consumer at the end of an iterator chain (`.sum()`, `.fold(…)`),
    /// lowered as its loop; `None` if `m` is not one.
    pub(super) fn chain_consumer(&mut self, m: &syn::ExprMethodCall) -> Option<Value> {
        let name = m.method.to_string();
        let consumer = matches!(
            (name.as_str(), m.args.len()),
            ("sum" | "product" | "count", 0) | ("fold", 2) | ("for_each", 1)
        );
        if !consumer {
            // A chain that ends in something else (`.collect()`, `.max_by(…)`)
            // or is not consumed at all (`let it = w.iter().map(…);`). Told
            // from the syntax alone: this runs on every method call.
            let adapter = is_chain_call(m);
            if !adapter && !is_chain(&m.receiver) {
                return None;
            }
            let message = if adapter {
                format!("this iterator chain is not consumed: in a #[derive_grad] function a chain ends in {CONSUMERS}")
            } else {
                format!("`.{name}(…)` does not end an iterator chain in a #[derive_grad] function: end it in {CONSUMERS} (a maximum is `.fold(f64::NEG_INFINITY, f64::max)`)")
            };
            return Some(self.error_at(&m.method, message));
        }
        let key = m as *const syn::ExprMethodCall as usize;
        if let std::collections::hash_map::Entry::Vacant(slot) = self.desugared.entry(key) {
            let is_range = matches!(strip_parens(&m.receiver), Expr::Range(_));
            if !is_range && !is_chain(&m.receiver) {
                // A method of that name on a value that is not a chain.
                return None;
            }
            let mut d = Desugarer::new(&Expr::MethodCall(m.clone()));
            let chain = match d.chain(&m.receiver) {
                Some(c) => c,
                None => Ok(d.source(&m.receiver)),
            };
            let desugared = chain.and_then(|c| consume(&mut d, m, &name, c));
            slot.insert(Rc::new(desugared.map_err(|r| (r.span, r.message))));
        }
        Some(self.lower_rewritten(key))
    }

    /// The rewriting cached under `key` (`desugared`), lowered; or its
    /// refusal, reported.
    pub(super) fn lower_rewritten(&mut self, key: usize) -> Value {
        let cached = self.desugared[&key].clone();
        match &*cached {
            Ok(e) => self.expr(e),
            Err((span, msg)) => {
                self.error(*span, msg);
                Value::Poison
            }
        }
    }

    /// `for pat in chain { body }` as `for i in 0..len { let pat = item; body }`;
    /// `None` if the loop does not run over an iterator chain.
    pub(super) fn chain_for(&mut self, f: &syn::ExprForLoop) -> Option<Value> {
        let key = f as *const syn::ExprForLoop as usize;
        // `for v in w` over a slice or an array in memory: its elements.
        let in_memory = match strip_parens(&f.expr) {
            Expr::Reference(r) => self.names_memory(&r.expr),
            Expr::MethodCall(_) => false,
            // Ranges and arrays of values are the unrolled loop's.
            e if !self.names_memory(e) => return None,
            _ => true,
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = self.desugared.entry(key) {
            let mut d = Desugarer::new(&Expr::ForLoop(f.clone()));
            let chain = match d.chain(&f.expr) {
                Some(c) => c,
                None if in_memory => Ok(d.source(&f.expr)),
                None => return None,
            };
            let desugared = chain.and_then(|c| {
                let Chain {
                    var,
                    len,
                    item,
                    keep,
                } = c;
                let mut stmts = Vec::new();
                // A filtered-out item: the iteration does nothing.
                if !keep.is_empty() {
                    stmts.push(quote!(if !(#((#keep))&&*) { continue; }));
                }
                let mut body = Expr::Block(syn::ExprBlock {
                    attrs: Vec::new(),
                    label: None,
                    block: f.body.clone(),
                });
                bind(&f.pat, item, &mut stmts, &mut body)?;
                let Expr::Block(body) = body else {
                    unreachable!("a block stays a block")
                };
                let inner = &body.block.stmts;
                let for_token = f.for_token;
                Ok(parse_expr(quote_spanned!(for_token.span=> for #var in 0..(#len) { #(#stmts)* #(#inner)* })))
            });
            slot.insert(Rc::new(desugared.map_err(|r| (r.span, r.message))));
        }
        Some(self.lower_rewritten(key))
    }
}

impl Lowerer<'_> {
    /// Whether `e` names a slice, `Vec`, range of one or array in memory
    /// (read at indices) rather than an array of values.
    fn names_memory(&self, e: &Expr) -> bool {
        let Expr::Path(p) = strip_parens(e) else {
            return false;
        };
        p.path.get_ident().is_some_and(|i| {
            matches!(
                self.lookup(&i.to_string()).map(|b| &b.value),
                Some(
                    Value::Slice { .. }
                        | Value::Range { .. }
                        | Value::IntSlice { .. }
                        | Value::Buffer { .. }
                )
            )
        })
    }
}

/// The loop a consumer stands for.
fn consume(
    d: &mut Desugarer,
    m: &syn::ExprMethodCall,
    name: &str,
    c: Chain,
) -> Result<Expr, Refusal> {
    let Chain {
        var,
        len,
        item,
        keep,
    } = c;
    let span = m.method.span();
    // With `filter`: an update only where every condition holds.
    let kept = |update: TokenStream, acc: &syn::Ident| -> TokenStream {
        if keep.is_empty() {
            quote!(#acc = #update;)
        } else {
            quote!(#acc = if #((#keep))&&* { #update } else { #acc };)
        }
    };
    // Named after what it holds: partial sums read `sum`, `sum_1`, … in
    // the generated code and in explanations.
    let acc = d.fresh(&[match name {
        "sum" | "product" => name,
        _ => "acc",
    }]);
    Ok(match name {
        "count" if keep.is_empty() => parse_expr(quote!((#len))),
        "count" => {
            let update = kept(quote!(#acc + 1), &acc);
            parse_expr(quote_spanned!(span=> {
                let mut #acc: usize = 0;
                for #var in 0..(#len) { #update }
                #acc
            }))
        }
        "sum" | "product" => {
            let item = item_expr(item, span)?;
            let integer = m.turbofish.as_ref().is_some_and(|t| {
                t.args.iter().any(|a| {
                    matches!(a, syn::GenericArgument::Type(syn::Type::Path(p))
                        if p.path.get_ident().is_some_and(|i| super::int_type(&i.to_string()).is_some()))
                })
            });
            let (init, op) = match (name, integer) {
                ("sum", false) => (quote!(-0.0), quote!(+)),
                ("sum", true) => (quote!(0), quote!(+)),
                (_, false) => (quote!(1.0), quote!(*)),
                (_, true) => (quote!(1), quote!(*)),
            };
            let update = kept(quote!(#acc #op (#item)), &acc);
            parse_expr(quote_spanned!(span=> {
                let mut #acc = #init;
                for #var in 0..(#len) { #update }
                #acc
            }))
        }
        "fold" => {
            let init = &m.args[0];
            let f = d.closure(&m.args[1], 2, "fold")?;
            let step = d.apply(&f, vec![Item::Expr(parse_expr(quote!(#acc))), item])?;
            let update = kept(quote!((#step)), &acc);
            parse_expr(quote_spanned!(span=> {
                let mut #acc = #init;
                for #var in 0..(#len) { #update }
                #acc
            }))
        }
        _ => {
            let f = d.closure(&m.args[0], 1, "for_each")?;
            let step = d.apply(&f, vec![item])?;
            let body = if keep.is_empty() {
                quote!((#step);)
            } else {
                quote!(if #((#keep))&&* { (#step); })
            };
            parse_expr(quote_spanned!(span=> for #var in 0..(#len) { #body }))
        }
    })
}

/// What to write instead of an unsupported consumer.
pub(crate) fn chain_help() -> String {
    format!("an iterator chain in a #[derive_grad] function is {ADAPTERS}, ending in {CONSUMERS}")
}
