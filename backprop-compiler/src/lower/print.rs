//! `println!` and friends in a loss: the original function prints as
//! written; the generated functions print the same values (computed by the
//! graph) once everything is computed, in program order with the checks.

use quote::ToTokens;
use syn::Expr;

use super::{Lowerer, Value};
use crate::graph::{Print, PrintValue};

impl Lowerer<'_> {
    /// Records `mac` (a `println!`, `print!`, `eprintln!` or `eprint!`) for
    /// the generated functions, when every value it prints is one the
    /// lowering computes (a float, integer, bool or array of them) and it
    /// is not inside a loop that stays a loop; otherwise only the original
    /// function prints it.
    pub(super) fn print(&mut self, mac: &syn::Macro) {
        let Some(name) = mac.path.get_ident().map(|i| i.to_string()) else {
            return;
        };
        if !matches!(name.as_str(), "println" | "print" | "eprintln" | "eprint")
            || self.rolled_depth > 0
        {
            return;
        }
        let Ok(args) = mac
            .parse_body_with(syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        else {
            return;
        };
        let mut args = args.into_iter();
        let literal = match args.next() {
            None => None,
            Some(Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            })) => Some(s),
            Some(_) => return,
        };
        let format = literal
            .as_ref()
            .map(ToTokens::to_token_stream)
            .unwrap_or_default();
        // Lowered tentatively: a value the lowering cannot compute is no
        // error of the loss.
        let (errors, reported) = (self.errors.len(), self.reported.clone());
        let mut positional = Vec::new();
        let mut named: Vec<(String, PrintValue)> = Vec::new();
        let mut ok = true;
        for a in args {
            let (name, e) = match a {
                Expr::Assign(asg) => match &*asg.left {
                    Expr::Path(p) if p.path.get_ident().is_some() => {
                        (Some(p.path.get_ident().unwrap().to_string()), *asg.right)
                    }
                    _ => return,
                },
                e => (None, e),
            };
            let v = self.expr(&e);
            match self.print_value(&v) {
                Some(pv) => match name {
                    Some(n) => named.push((n, pv)),
                    None => positional.push(pv),
                },
                None => ok = false,
            }
        }
        if let Some(s) = &literal {
            for captured in captures(&s.value()) {
                if named.iter().any(|(n, _)| *n == captured) {
                    continue;
                }
                let id = syn::Ident::new(&captured, s.span());
                let v = self.expr(&syn::parse_quote!(#id));
                match self.print_value(&v) {
                    Some(pv) => named.push((captured, pv)),
                    None => ok = false,
                }
            }
        }
        if !ok || self.errors.len() > errors {
            self.errors.truncate(errors);
            self.reported = reported;
            return;
        }
        let order = self.g.checks.len() + self.g.prints.len();
        self.g.prints.push(Print {
            mac: name,
            format,
            positional,
            named,
            guard: self.g.guard,
            order,
        });
    }

    fn print_value(&mut self, v: &Value) -> Option<PrintValue> {
        match v {
            Value::Float(id) | Value::Bool(id) => Some(PrintValue::Node(*id)),
            Value::Int(_) | Value::RtInt(_) => self.int_node(v).map(PrintValue::Node),
            Value::Array(items) => items
                .iter()
                .map(|i| self.print_value(i))
                .collect::<Option<Vec<_>>>()
                .map(PrintValue::Array),
            _ => None,
        }
    }
}

/// The names a format string captures (`{loss}`, `{w:.3}`), in order,
/// without repeats.
fn captures(format: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
            }
            '{' => {
                let mut name = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '}' || c == ':' {
                        break;
                    }
                    name.push(c);
                    chars.next();
                }
                let name = name.trim().to_owned();
                let is_ident = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_alphanumeric() || c == '_');
                if is_ident && !out.contains(&name) {
                    out.push(name);
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn captures_in_format_strings() {
        assert_eq!(
            super::captures("{loss} {{not}} {} {0} {w:.3} {loss:?} {_x}"),
            vec!["loss", "w", "_x"]
        );
    }
}
