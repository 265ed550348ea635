//! `break` and `continue` nested in `if`s of a loop body, rewritten into
//! the one form the lowering takes (`if c { …; break; } rest`, standing
//! directly in the body) with a flag, as a user would:
//!
//! ```text
//! if a { A; if b { B; break; } C } rest
//! ```
//!
//! becomes
//!
//! ```text
//! let mut brk = false;
//! if a { A; if b { B; brk = true; } else { C } }
//! if brk { break; }
//! rest
//! ```
//!
//! Statements after an `if` that may jump run only if it did not
//! (`if !brk { … }`); statements after the jump itself never run, as in
//! the original.

use syn::{parse_quote, Expr, Stmt};

/// The flags' names: not a name a user writes.
const BREAK_FLAG: &str = "__backprop_break";
const CONTINUE_FLAG: &str = "__backprop_continue";

/// Which jumps of a loop's own a piece of its body holds.
#[derive(Clone, Copy, Default)]
pub(super) struct Jumps {
    /// A `break`.
    pub brk: bool,
    /// A `continue`.
    pub cont: bool,
}

/// The jumps of this loop in `stmts` (not an inner loop's or closure's),
/// and whether all are plain (no label, no value).
pub(super) fn own_jumps(stmts: &[Stmt]) -> (Jumps, bool) {
    struct Finder {
        jumps: Jumps,
        plain: bool,
    }
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
            self.jumps.brk = true;
            self.plain &= b.label.is_none() && b.expr.is_none();
        }
        fn visit_expr_continue(&mut self, c: &'ast syn::ExprContinue) {
            self.jumps.cont = true;
            self.plain &= c.label.is_none();
        }
        fn visit_expr_for_loop(&mut self, _: &'ast syn::ExprForLoop) {}
        fn visit_expr_while(&mut self, _: &'ast syn::ExprWhile) {}
        fn visit_expr_loop(&mut self, _: &'ast syn::ExprLoop) {}
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    }
    let mut f = Finder {
        jumps: Jumps::default(),
        plain: true,
    };
    for s in stmts {
        syn::visit::Visit::visit_stmt(&mut f, s);
    }
    (f.jumps, f.plain)
}

/// The plain jumps of this loop in `stmts`, or `None` if one has a label
/// or a value (left to the lowering's error).
fn jumps_in(stmts: &[Stmt]) -> Option<Jumps> {
    let (jumps, plain) = own_jumps(stmts);
    plain.then_some(jumps)
}

/// Whether statement `s` is an `if` with a jump that the lowering does not
/// take as it is: deeper than the last statement of an `if` without `else`.
fn needs_flag(s: &Stmt) -> Option<Jumps> {
    let Stmt::Expr(Expr::If(branch), _) = s else {
        return None;
    };
    let jumps = jumps_in(std::slice::from_ref(s))?;
    if !(jumps.brk || jumps.cont) {
        return None;
    }
    if super::control::loop_jump(branch).is_some() {
        let stmts = &branch.then_branch.stmts;
        let before = jumps_in(&stmts[..stmts.len() - 1])?;
        if !(before.brk || before.cont) {
            return None;
        }
    }
    Some(jumps)
}

/// The body with its nested jumps rewritten, or `None` if it has none.
pub(super) fn flatten_nested(stmts: &[Stmt]) -> Option<Vec<Stmt>> {
    let i = stmts.iter().position(|s| needs_flag(s).is_some())?;
    let jumps = needs_flag(&stmts[i])?;
    let mut out = stmts[..i].to_vec();
    let (brk, cont) = (ident(BREAK_FLAG), ident(CONTINUE_FLAG));
    if jumps.brk {
        out.push(parse_quote!(let mut #brk = false;));
    }
    if jumps.cont {
        out.push(parse_quote!(let mut #cont = false;));
    }
    out.extend(rewrite_block(std::slice::from_ref(&stmts[i]), jumps));
    if jumps.brk {
        out.push(parse_quote!(if #brk { break; }));
    }
    if jumps.cont {
        out.push(parse_quote!(if #cont { continue; }));
    }
    out.extend_from_slice(&stmts[i + 1..]);
    Some(out)
}

fn ident(name: &str) -> syn::Ident {
    syn::Ident::new(name, proc_macro2::Span::call_site())
}

/// `stmts` with each jump setting its flag, and what follows an `if` that
/// may jump run only if it did not.
fn rewrite_block(stmts: &[Stmt], flags: Jumps) -> Vec<Stmt> {
    let (brk, cont) = (ident(BREAK_FLAG), ident(CONTINUE_FLAG));
    let mut out = Vec::new();
    for (i, s) in stmts.iter().enumerate() {
        match s {
            Stmt::Expr(Expr::Break(_), _) => {
                out.push(parse_quote!(#brk = true;));
                return out;
            }
            Stmt::Expr(Expr::Continue(_), _) => {
                out.push(parse_quote!(#cont = true;));
                return out;
            }
            Stmt::Expr(Expr::If(branch), semi) => {
                let jumps = jumps_in(std::slice::from_ref(s)).unwrap_or_default();
                if !(jumps.brk || jumps.cont) {
                    out.push(s.clone());
                    continue;
                }
                out.push(Stmt::Expr(Expr::If(rewrite_if(branch, flags)), *semi));
                let rest = &stmts[i + 1..];
                if !rest.is_empty() {
                    let rest = rewrite_block(rest, flags);
                    let jumped: Expr = match (flags.brk, flags.cont) {
                        (true, true) => parse_quote!(#brk || #cont),
                        (true, false) => parse_quote!(#brk),
                        _ => parse_quote!(#cont),
                    };
                    out.push(parse_quote!(if !(#jumped) { #(#rest)* }));
                }
                return out;
            }
            _ => out.push(s.clone()),
        }
    }
    out
}

/// An `if` (and its `else if`s and `else`) with its branches rewritten.
fn rewrite_if(branch: &syn::ExprIf, flags: Jumps) -> syn::ExprIf {
    let mut new = branch.clone();
    new.then_branch.stmts = rewrite_block(&branch.then_branch.stmts, flags);
    if let Some((else_token, other)) = &branch.else_branch {
        let other: Expr = match &**other {
            Expr::If(inner) => Expr::If(rewrite_if(inner, flags)),
            Expr::Block(block) => {
                let mut block = block.clone();
                block.block.stmts = rewrite_block(&block.block.stmts, flags);
                Expr::Block(block)
            }
            e => e.clone(),
        };
        new.else_branch = Some((*else_token, Box::new(other)));
    }
    new
}
