//! `match` on integers and bools, read as the `if`/`else` chain it is:
//! each arm's pattern becomes a comparison (`0 => …` is `x == 0`, `1 | 2`
//! an `||`, `3..=5` two comparisons, a name binds the value), its guard is
//! and-ed in, and the last arm is the `else` (the compiler has checked that
//! the arms cover every value, so what reaches the last arm matches it).

use std::rc::Rc;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Expr;

use super::*;

/// The condition under which `pat` matches the value named `v`, and the
/// names it binds; `Err` (span, message) for a pattern that is not a
/// literal, range, constant, name, `_` or an `|` of those.
fn condition(
    pat: &syn::Pat,
    v: &syn::Ident,
    binds: &mut Vec<syn::Ident>,
) -> Result<TokenStream, (Span, String)> {
    Ok(match pat {
        syn::Pat::Lit(l) => quote!((#v == (#l))),
        syn::Pat::Path(p) => quote!((#v == #p)),
        syn::Pat::Paren(p) => condition(&p.pat, v, binds)?,
        syn::Pat::Wild(_) => quote!(true),
        syn::Pat::Ident(i) if i.subpat.is_none() && i.by_ref.is_none() => {
            binds.push(i.ident.clone());
            quote!(true)
        }
        syn::Pat::Range(r) => {
            let lo = r.start.as_ref().map(|lo| quote!((#v >= #lo)));
            let hi = r.end.as_ref().map(|hi| match r.limits {
                syn::RangeLimits::HalfOpen(_) => quote!((#v < #hi)),
                syn::RangeLimits::Closed(_) => quote!((#v <= #hi)),
            });
            match (lo, hi) {
                (Some(lo), Some(hi)) => quote!((#lo && #hi)),
                (Some(c), None) | (None, Some(c)) => c,
                (None, None) => quote!(true),
            }
        }
        syn::Pat::Or(o) => {
            let mut parts = Vec::new();
            for case in &o.cases {
                let mut inner = Vec::new();
                parts.push(condition(case, v, &mut inner)?);
                if !inner.is_empty() {
                    return Err((case.span(), "a name bound inside an `|` pattern is not supported: bind it with a separate arm".into()));
                }
            }
            quote!((#(#parts)||*))
        }
        other => {
            return Err((
                other.span(),
                "this `match` pattern is not supported in a #[derive_grad] function: arms match integer or bool literals, ranges (`1..=3`), constants, `|` of those, a name or `_`".into(),
            ))
        }
    })
}

/// The `if` chain a `match` stands for.
fn as_if_chain(m: &syn::ExprMatch) -> Result<Expr, (Span, String)> {
    let Some((last, arms)) = m.arms.split_last() else {
        return Err((m.span(), "a `match` with no arms has no value".into()));
    };
    // A name the arms cannot mean.
    let mut taken = std::collections::HashSet::new();
    super::iter::idents_of(quote!(#m), &mut taken);
    let name = (0..)
        .map(|k| {
            if k == 0 {
                "scrutinee".to_owned()
            } else {
                format!("scrutinee{k}")
            }
        })
        .find(|n| !taken.contains(n))
        .expect("a free name");
    let v = quote::format_ident!("{}", name, span = m.expr.span());
    let body = |arm: &syn::Arm, binds: &[syn::Ident]| {
        let b = &arm.body;
        quote!({ #(let #binds = #v;)* (#b) })
    };
    let mut binds = Vec::new();
    // The last arm's pattern is checked only for what it binds.
    condition(&last.pat, &v, &mut binds)?;
    let mut chain = body(last, &binds);
    for arm in arms.iter().rev() {
        let mut binds = Vec::new();
        let mut cond = condition(&arm.pat, &v, &mut binds)?;
        if let Some((_, guard)) = &arm.guard {
            cond = quote!((#cond && { #(let #binds = #v;)* (#guard) }));
        }
        let then = body(arm, &binds);
        chain = quote_spanned!(arm.pat.span()=> if #cond #then else { #chain });
    }
    let scrutinee = &m.expr;
    syn::parse2(quote!({ let #v = #scrutinee; #chain })).map_err(|e| (m.span(), e.to_string()))
}

impl Lowerer<'_> {
    pub(super) fn match_expr(&mut self, m: &syn::ExprMatch) -> Value {
        let key = m as *const syn::ExprMatch as usize;
        self.desugared
            .entry(key)
            .or_insert_with(|| Rc::new(as_if_chain(m)));
        self.lower_rewritten(key)
    }
}
