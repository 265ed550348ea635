//! Closures bound with `let` and called in the body (`let act = |z: f64|
//! z.tanh(); act(a) + act(b)`): each call is the closure's body, lowered
//! with its parameters bound to the arguments and its free variables to the
//! values they had where the closure was written (what Rust captures).

use std::collections::HashSet;
use std::rc::Rc;

use syn::visit::Visit;
use syn::Expr;

use super::*;

/// A closure and what it captured.
pub(super) struct ClosureDef {
    closure: Rc<syn::ExprClosure>,
    /// The values of the variables its body reads, when it was created.
    captured: Vec<(String, Binding)>,
    /// The names its body reads that were not variables when it was
    /// created (functions, constants): a variable bound later under one of
    /// those names is not what the closure means.
    unbound: Vec<String>,
}

/// The variables an expression reads (single-segment paths).
#[derive(Default)]
struct Reads(HashSet<String>);

impl<'ast> Visit<'ast> for Reads {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if let Some(i) = p.path.get_ident() {
            self.0.insert(i.to_string());
        }
    }
}

impl Lowerer<'_> {
    /// A closure as a value: its syntax and the values it captures.
    pub(super) fn closure_value(&mut self, c: &syn::ExprClosure) -> Value {
        if c.asyncness.is_some() {
            return self.error_at(
                c,
                "async closures are not supported in a #[derive_grad] function",
            );
        }
        let mut reads = Reads::default();
        reads.visit_expr(&c.body);
        let mut assigns = super::rolled::Assignments::default();
        assigns.visit_expr(&c.body);
        let params: HashSet<String> = c.inputs.iter().flat_map(pattern_names).collect();
        // A closure that assigns to a variable outside it (`|v| total += v`)
        // would change that variable wherever it is called, out of sight of
        // the loops around the call.
        if let Some((name, span)) = assigns
            .0
            .iter()
            .find(|(n, _)| !params.contains(n) && self.lookup(n).is_some())
        {
            self.error(
                *span,
                format!("this closure assigns to `{name}`, a variable outside it: in a #[derive_grad] function a closure bound with `let` computes a value; return the value and assign it where the closure is called (`{name} += f(v)`), or use `.for_each(|v| …)` or a `for` loop"),
            );
            return Value::Poison;
        }
        let mut captured = Vec::new();
        let mut unbound = Vec::new();
        let mut reads: Vec<&String> = reads.0.iter().filter(|n| !params.contains(*n)).collect();
        reads.sort();
        for name in reads {
            match self.lookup(name) {
                Some(b) => captured.push((name.clone(), b.clone())),
                None => unbound.push(name.clone()),
            }
        }
        self.closures.push(ClosureDef {
            closure: Rc::new(c.clone()),
            captured,
            unbound,
        });
        Value::Closure(self.closures.len() as u32 - 1)
    }

    /// A call of closure `k`: its body with the parameters bound.
    pub(super) fn call_closure(&mut self, k: u32, args: &[&Expr], call: &syn::ExprCall) -> Value {
        let def = &self.closures[k as usize];
        let closure = def.closure.clone();
        let captured = def.captured.clone();
        // A name bound after the closure was written (the closure itself:
        // `let f = |x| f(x)`, or a later variable shadowing a function the
        // closure calls) would change what its body means.
        if let Some(name) = def
            .unbound
            .iter()
            .find(|n| self.lookup(n).is_some())
            .cloned()
        {
            return self.error_at(
                call,
                format!("this closure reads `{name}`, which is bound only after the closure is written (a closure cannot call itself, and it sees the names of the place where it is written): rename the later `{name}`"),
            );
        }
        if closure.inputs.len() != args.len() {
            return self.error_at(
                call,
                format!("this closure takes {} argument(s)", closure.inputs.len()),
            );
        }
        let values: Vec<Value> = args.iter().map(|a| self.expr(a)).collect();
        if values.contains(&Value::Poison) {
            return Value::Poison;
        }
        self.scopes.push(captured.into_iter().collect());
        self.scopes.push(Scope::new());
        for (pat, v) in closure.inputs.iter().zip(values) {
            self.bind_pattern(pat, v);
        }
        let result = self.expr(&closure.body);
        self.scopes.pop();
        self.scopes.pop();
        result
    }
}

/// The names a pattern binds.
fn pattern_names(p: &syn::Pat) -> Vec<String> {
    struct Names(Vec<String>);
    impl<'ast> Visit<'ast> for Names {
        fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
            self.0.push(i.ident.to_string());
        }
    }
    let mut n = Names(Vec::new());
    n.visit_pat(p);
    n.0
}
