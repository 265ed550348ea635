//! The attribute's arguments: `#[derive_grad]`, `#[derive_grad(wrt(a, b))]`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::Ident;

/// Parsed attribute arguments.
#[derive(Debug, Default)]
pub struct Args {
    /// The parameters named in `wrt(...)`, if given.
    pub wrt: Option<Vec<Ident>>,
    /// `explain`: also generate `NAME_explain` and `NAME_trace`.
    pub explain: bool,
    /// `jvp`: also generate `NAME_jvp` (forward mode).
    pub jvp: bool,
    /// `hessian`: also generate `NAME_hvp` and `NAME_hessian`.
    pub hessian: bool,
    /// `hvp`: also generate `NAME_hvp` alone (for parameters whose H is
    /// too large to be returned whole).
    pub hvp: bool,
    /// Not an attribute argument: compiling the second-order companion
    /// `NAME_hvp_all` (H·t only, never H written out, for element `k` of
    /// a tuple too).
    pub companion: bool,
    /// Not an attribute argument: compiling the companion `NAME_pullback`
    /// (the output's adjoint a parameter, not 1).
    pub pullback: bool,
}

/// Parses the tokens inside `#[derive_grad(...)]`.
pub fn parse(tokens: TokenStream) -> syn::Result<Args> {
    let mut args = Args::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("wrt") {
            if args.wrt.is_some() {
                return Err(meta.error("`wrt` is given twice"));
            }
            let content;
            syn::parenthesized!(content in meta.input);
            let names = content.parse_terminated(Ident::parse_any_ident, syn::Token![,])?;
            if names.is_empty() {
                return Err(meta.error(
                    "`wrt()` names no parameter: write `wrt(w)` or `wrt(w, b)`, or leave it out to differentiate with respect to the first parameter",
                ));
            }
            args.wrt = Some(names.into_iter().collect());
            Ok(())
        } else if meta.path.is_ident("explain") {
            args.explain = true;
            Ok(())
        } else if meta.path.is_ident("jvp") {
            args.jvp = true;
            Ok(())
        } else if meta.path.is_ident("hessian") {
            args.hessian = true;
            Ok(())
        } else if meta.path.is_ident("hvp") {
            args.hvp = true;
            Ok(())
        } else {
            Err(meta.error(
                "unknown argument of #[derive_grad]: the supported ones are `wrt(param, ...)`, `explain`, `jvp`, `hvp` and `hessian`",
            ))
        }
    });
    parser.parse2(tokens)?;
    Ok(args)
}

trait ParseAnyIdent {
    fn parse_any_ident(input: syn::parse::ParseStream) -> syn::Result<Ident>;
}

impl ParseAnyIdent for Ident {
    fn parse_any_ident(input: syn::parse::ParseStream) -> syn::Result<Ident> {
        // `self` too: `wrt(self)` differentiates a method's receiver.
        if input.peek(syn::Token![self]) {
            return syn::ext::IdentExt::parse_any(input);
        }
        input.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn parses_wrt() {
        let a = parse(quote!(wrt(w, b))).unwrap();
        let names: Vec<String> = a.wrt.unwrap().iter().map(|i| i.to_string()).collect();
        assert_eq!(names, ["w", "b"]);
        assert!(parse(quote!()).unwrap().wrt.is_none());
    }

    #[test]
    fn rejects_unknown() {
        let e = parse(quote!(with(w))).unwrap_err();
        assert!(e.to_string().contains("unknown argument"));
    }
}
