//! Lowering: the body of the user's function, as `syn` syntax, becomes
//! nodes of the [`Graph`]. Short loops with compile-time bounds are
//! unrolled and the others stay loops (regions, see `rolled`), run-time
//! `if`s become `select` nodes, `let`/assignment are tracked in an
//! environment (so shadowing and reassignment are plain SSA), and every
//! unsupported construct is reported at its span with a way to rewrite it.

use std::collections::HashMap;

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Expr, Stmt};

use crate::graph::{Graph, Id, Op};
use crate::signature::{ElemTy, ParamKind, SigInfo};

/// A value while lowering.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A float node.
    Float(Id),
    /// A boolean node (compile-time when it is a `BoolConst`).
    Bool(Id),
    /// A compile-time integer (literal, loop variable, `.len()`), exact:
    /// casts apply Rust's conversions to it (`300 as u8` is 44).
    Int(i128),
    /// An integer known at run time only (an integer parameter, a loop
    /// variable, `w.len()`): an integer node.
    RtInt(Id),
    /// An array of values.
    Array(Vec<Value>),
    /// An array in memory, or a part of one picked by indices: an array
    /// parameter read at run-time indices (`w[j]` of `w: &[[f64; 4]; 8]`,
    /// `j` a loop variable), or a local array written at run-time indices.
    Buffer {
        /// The buffer node ([`Op::ArrayParam`], [`Op::NewArray`], …).
        buf: Id,
        /// The indices so far (integer nodes), outermost first.
        index: Vec<Id>,
        /// The dimensions left.
        shape: Vec<usize>,
    },
    /// A slice or `Vec` parameter, or a local `vec![0.0; n]`, as a whole:
    /// its length is known at run time only, so it is read (and a local one
    /// written) at indices ([`Op::Load`], [`Op::Store`]).
    Slice {
        /// Its buffer node ([`Op::ArrayParam`], [`Op::NewVec`], …).
        buf: Id,
        /// Its length (an integer node).
        len: Id,
        /// The shape of one element (empty for a float).
        inner: Vec<usize>,
    },
    /// A range of a slice bound to a name (`let row = &w[a..b];`), read
    /// in place: `row[j]` reads the slice at `start + j`, after checking
    /// `j` against the range's length as indexing `row` does.
    Range {
        /// The buffer of the slice it is a range of.
        buf: Id,
        /// Where it starts in that buffer (an integer node, which checked
        /// the range as `&w[a..b]` does).
        start: Id,
        /// Its length (an integer node).
        len: Id,
        /// The shape of one element (empty for a float).
        inner: Vec<usize>,
    },
    /// An integer slice, `Vec` or array parameter (`labels: &[usize]`),
    /// or a range of one bound to a name, read at indices ([`Op::IntLoad`]).
    IntSlice {
        /// The parameter.
        param: u32,
        /// For a range, where it starts (an integer node that checked the
        /// range, as for [`Value::Range`]); `None` for the whole parameter.
        start: Option<Id>,
        /// Its length (an integer node).
        len: Id,
    },
    /// A tuple (from `enumerate`/`zip` in `for` loops).
    Tuple(Vec<Value>),
    /// `()`.
    Unit,
    /// A closure bound with `let` (an index into the lowerer's closures),
    /// expanded where it is called.
    Closure(u32),
    /// A `let x;` not yet assigned.
    Uninit,
    /// The result of an expression that already reported an error.
    Poison,
}

#[derive(Clone, Debug)]
struct Binding {
    value: Value,
    /// The differentiated parameter this name is bound to, if any.
    wrt_param: bool,
}

type Scope = HashMap<String, Binding>;

/// Array parameters of at most this many elements are one graph node per
/// element (straight-line code reads them as values, the Hessian's
/// structural zeros are per element); larger ones are read in place.
pub(crate) const EAGER_ELEMENTS: usize = 4096;

/// Graphs beyond this many nodes stop unrolling with an error. Straight-line
/// code of this size already takes rustc minutes and gigabytes (measured in
/// issue 9: ~150 KB per operation in a release build), so beyond it the
/// expansion would only produce code that cannot be compiled, after minutes
/// of expanding it.
pub const MAX_NODES: usize = 200_000;

/// Loop iterations unrolled in all (`for i in 0..2000 { for j in 0..2000 {} }`
/// builds no node but still takes time).
pub const MAX_ITERATIONS: u64 = 1_000_000;

/// The result of lowering a function body.
pub struct Lowered {
    /// The graph of the forward computation.
    pub graph: Graph,
    /// The loss node.
    pub output: Id,
    /// For each parameter, the node of each flat element (if it was used).
    pub param_nodes: Vec<Vec<Option<Id>>>,
}

/// Lowers `body`; reports problems into `errors`. For a function returning
/// a tuple of floats, `which` element is the output.
pub fn lower(
    sig: &SigInfo,
    body: &syn::Block,
    which: usize,
    errors: &mut Vec<syn::Error>,
) -> Option<Lowered> {
    lower_unrolling(sig, body, which, UNROLL_MAX_TRIPS, errors)
}

/// [`lower`], unrolling loops of compile-time length up to `max_trips`
/// iterations (within the limits on the graph's size) instead of
/// [`UNROLL_MAX_TRIPS`].
pub fn lower_unrolling(
    sig: &SigInfo,
    body: &syn::Block,
    which: usize,
    max_trips: i128,
    errors: &mut Vec<syn::Error>,
) -> Option<Lowered> {
    let mut graph = Graph::new(sig.elem == ElemTy::F32);
    graph.generic = matches!(sig.elem, ElemTy::Generic(_));
    let mut lw = Lowerer {
        tuple_call: None,
        unroll_max_trips: max_trips,
        g: graph,
        sig,
        scopes: vec![Scope::new()],
        errors: Vec::new(),
        reported: Default::default(),
        iterations: 0,
        rolled_depth: 0,
        early_return_depth: 0,
        loops: Vec::new(),
        desugared: HashMap::new(),
        closures: Vec::new(),
        slice_args: Vec::new(),
        snapshot_candidates: HashMap::new(),
    };
    for (p, info) in sig.params.iter().enumerate() {
        let value = match &info.kind {
            // A large array is read in place, as a buffer: its elements
            // become graph nodes only where they are read, so compiling
            // it costs the same whatever its length.
            ParamKind::Float { shape } if shape.iter().product::<usize>() > EAGER_ELEMENTS => {
                lw.g.array_params.insert(p as u32, shape.clone());
                Value::Buffer {
                    buf: lw.g.node(Op::ArrayParam(p as u32), vec![]),
                    index: Vec::new(),
                    shape: shape.clone(),
                }
            }
            ParamKind::Float { shape } => {
                let mut next = 0u32;
                lw.param_value(p as u32, shape, &mut next)
            }
            ParamKind::Int => Value::RtInt(lw.rt_int(info.name.to_token_stream())),
            ParamKind::IntSlice => {
                let name = &info.name;
                Value::IntSlice {
                    param: p as u32,
                    start: None,
                    len: lw.rt_int(quote::quote!(#name.len())),
                }
            }
            ParamKind::Bool => Value::Bool(lw.g.node(Op::BoolParam(p as u32), vec![])),
            ParamKind::Slice { inner, .. } => {
                lw.g.slice_params.insert(p as u32, inner.clone());
                let name = &info.name;
                Value::Slice {
                    buf: lw.g.node(Op::ArrayParam(p as u32), vec![]),
                    len: lw.rt_int(quote::quote!(#name.len())),
                    inner: inner.clone(),
                }
            }
        };
        lw.scopes[0].insert(
            info.name.to_string(),
            Binding {
                value,
                wrt_param: sig.wrt.contains(&p),
            },
        );
    }
    let result = lw.function_body(body);
    let result = match result {
        Value::Tuple(items) if sig.outputs > 1 && items.len() == sig.outputs => {
            items.into_iter().nth(which).unwrap_or(Value::Poison)
        }
        Value::Tuple(_) if sig.outputs > 1 => {
            lw.error(
                body.span(),
                format!(
                    "the function must end with a tuple of {} floats",
                    sig.outputs
                ),
            );
            Value::Poison
        }
        other => other,
    };
    let output = match result {
        Value::Float(id) => Some(id),
        Value::Poison => None,
        other => {
            lw.error(
                body.stmts
                    .last()
                    .map(|s| s.span())
                    .unwrap_or_else(|| body.span()),
                format!(
                    "the function must end with the loss, a float; this evaluates to {}",
                    describe(&other)
                ),
            );
            None
        }
    };
    lw.check_slice_arguments();
    errors.append(&mut lw.errors);
    let output = output?;
    if !errors.is_empty() {
        return None;
    }
    let mut param_nodes: Vec<Vec<Option<Id>>> =
        sig.params.iter().map(|p| vec![None; p.len()]).collect();
    for (id, node) in lw.g.nodes.iter().enumerate() {
        if let Op::Param { param, index } = node.op {
            param_nodes[param as usize][index as usize] = Some(Id(id as u32));
        }
    }
    Some(Lowered {
        graph: lw.g,
        output,
        param_nodes,
    })
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Float(_) => "a float",
        Value::Bool(_) => "a bool",
        Value::Int(_) | Value::RtInt(_) => "an integer",
        Value::Array(_) | Value::Buffer { .. } => "an array",
        Value::Slice { .. } => "a slice",
        Value::Range { .. } => "a range of a slice",
        Value::IntSlice { .. } => "a slice of integers",
        Value::Tuple(_) => "a tuple",
        Value::Unit => "`()`",
        Value::Closure(_) => "a closure",
        Value::Uninit => "an unassigned variable",
        Value::Poison => "an error",
    }
}

/// How a call to another `#[derive_grad]` function is used when it may
/// return a tuple (a helper `-> (f64, f64)` has one companion per element,
/// `NAME_vjp_k`).
#[derive(Clone, Copy, Debug)]
enum TupleCall {
    /// `let (a, b, …) = f(…)`: all `n` elements.
    All(usize),
    /// `f(…).k`: element `k`.
    One(usize),
}

struct Lowerer<'a> {
    /// Loops of compile-time length up to this many iterations are
    /// unrolled ([`UNROLL_MAX_TRIPS`], unless a caller asks for more).
    unroll_max_trips: i128,
    /// Set while lowering a call whose result is destructured or indexed
    /// as a tuple; taken by the call.
    tuple_call: Option<TupleCall>,
    g: Graph,
    sig: &'a SigInfo,
    scopes: Vec<Scope>,
    errors: Vec<syn::Error>,
    /// The syntax nodes already reported: an unrolled loop lowers its body
    /// once per iteration, and one cause gets one error, not one per pass.
    reported: std::collections::HashSet<(usize, String)>,
    /// Loop iterations unrolled so far, nested loops included: bounded by
    /// [`MAX_ITERATIONS`] even where the bodies build no node.
    iterations: u64,
    /// How many rolled loops enclose the code being lowered.
    rolled_depth: u32,
    /// How many of those `if`s are early `return`s (`if c { return a; }`),
    /// whose run-time `else` is the rest of the function.
    early_return_depth: u32,
    /// The loops whose bodies are being lowered, innermost last.
    loops: Vec<LoopCtx>,
    /// Iterator chains already rewritten as loops, by the address of their
    /// syntax: an unrolled loop lowers its body once per iteration, and the
    /// rewritten syntax must be the same each time (one error per cause).
    desugared: HashMap<usize, iter::Desugared>,
    /// The closures bound with `let`, with the values they captured.
    closures: Vec<closure::ClosureDef>,
    /// Slices passed whole to calls: the buffer value passed, and the
    /// argument as written (see `Lowerer::check_slice_arguments`).
    slice_args: Vec<(Id, syn::Expr)>,
    /// Copies of local `vec!`s taken where calls read them, by the version
    /// read ([`Graph::snapshots`] keeps those written after the call).
    snapshot_candidates: HashMap<Id, Id>,
}

/// A loop whose body is being lowered.
struct LoopCtx {
    /// Whether it stays a loop (else it is unrolled).
    rolled: bool,
    /// For a rolled loop: when it ends after the iteration (its `break`s).
    exit: Option<Id>,
}

/// Where a statement sits, to tell a final `return` from an early one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    FunctionTail,
    Inner,
    /// The statements of a loop body (or what follows a `continue` or
    /// `break` in it): where `if c { …; continue; }` may stand.
    LoopBody,
}

impl Lowerer<'_> {
    fn error(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, msg));
    }

    /// Reports an error at a syntax node (once per node, however many times
    /// it is lowered).
    fn error_at<T: ToTokens + ?Sized>(&mut self, tokens: &T, msg: impl std::fmt::Display) -> Value {
        // The node's address, and its text as a guard should the address be
        // a reference's rather than the node's own.
        let node = (
            tokens as *const T as *const () as usize,
            tokens.to_token_stream().to_string(),
        );
        if self.reported.insert(node) {
            self.errors.push(syn::Error::new_spanned(tokens, msg));
        }
        Value::Poison
    }

    /// Reports an error at an expression once per text and message (an
    /// unrolled loop lowers it, a clone, once per iteration).
    fn error_once(&mut self, e: &syn::Expr, msg: &str) {
        let key = (0, format!("{} {msg}", e.to_token_stream()));
        if self.reported.insert(key) {
            self.errors.push(syn::Error::new_spanned(e, msg));
        }
    }

    pub(super) fn param_value(&mut self, p: u32, shape: &[usize], next: &mut u32) -> Value {
        match shape.split_first() {
            None => {
                let id = self.g.node(
                    Op::Param {
                        param: p,
                        index: *next,
                    },
                    vec![],
                );
                *next += 1;
                Value::Float(id)
            }
            Some((&n, rest)) => {
                Value::Array((0..n).map(|_| self.param_value(p, rest, next)).collect())
            }
        }
    }

    fn check_budget(&mut self, span: Span) -> bool {
        self.iterations += 1;
        if self.iterations > MAX_ITERATIONS {
            if self.iterations == MAX_ITERATIONS + 1 {
                self.error(
                    span,
                    format!("these loops unroll to more than {MAX_ITERATIONS} iterations in all, too many to write out: use fewer iterations or split the computation into several #[derive_grad] functions"),
                );
            }
            return false;
        }
        if self.g.len() > MAX_NODES {
            self.error(
                span,
                format!("this loop unrolls to more than {MAX_NODES} operations, too many to write out: use fewer iterations or split the computation into several #[derive_grad] functions"),
            );
            return false;
        }
        true
    }

    // ---------------------------------------------------------------- names

    fn lookup(&self, name: &str) -> Option<&Binding> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn lookup_mut(&mut self, name: &str) -> Option<&mut Binding> {
        self.scopes.iter_mut().rev().find_map(|s| s.get_mut(name))
    }

    fn bind(&mut self, name: String, value: Value) {
        self.name_value(&name, &value);
        self.scopes.last_mut().unwrap().insert(
            name,
            Binding {
                value,
                wrt_param: false,
            },
        );
    }

    /// Gives an unnamed operation node the user's name (for readable
    /// generated code and explanations).
    fn name_value(&mut self, name: &str, value: &Value) {
        if let Value::Float(id) = value {
            if self.g.get(*id).op.is_operation() && self.g.names[id.index()].is_none() {
                self.g.names[id.index()] = Some(name.trim_start_matches("r#").to_owned());
            }
        }
    }

    // ----------------------------------------------------------- statements

    fn function_body(&mut self, body: &syn::Block) -> Value {
        self.block_stmts(&body.stmts, Position::FunctionTail)
    }

    fn block(&mut self, block: &syn::Block) -> Value {
        self.scopes.push(Scope::new());
        let v = self.block_stmts(&block.stmts, Position::Inner);
        self.scopes.pop();
        v
    }

    fn block_stmts(&mut self, stmts: &[Stmt], pos: Position) -> Value {
        // `break`/`continue` nested in `if`s: rewritten with a flag into the
        // form below (`if c { …; break; } rest`).
        let flattened;
        let stmts = match pos {
            Position::LoopBody => match jumps::flatten_nested(stmts) {
                Some(s) => {
                    flattened = s;
                    &flattened[..]
                }
                None => stmts,
            },
            _ => stmts,
        };
        let mut value = Value::Unit;
        for (i, stmt) in stmts.iter().enumerate() {
            let last = i + 1 == stmts.len();
            value = Value::Unit;
            match stmt {
                Stmt::Local(local) => self.local(local),
                Stmt::Item(syn::Item::Const(c)) => self.local_const(&c.ident, &c.ty, &c.expr),
                Stmt::Item(syn::Item::Static(s))
                    if matches!(s.mutability, syn::StaticMutability::None) =>
                {
                    self.local_const(&s.ident, &s.ty, &s.expr)
                }
                Stmt::Item(item) => {
                    self.error_at(
                        item,
                        "items other than `const` and `static` (nested `fn`, `use`, `struct`, …) inside a #[derive_grad] body are not supported: move them outside the function",
                    );
                }
                // Checks and printing while debugging: the original function
                // keeps them as written; they compute nothing to differentiate.
                Stmt::Macro(m) if is_diagnostic(&m.mac) => {
                    self.check(&m.mac);
                    self.print(&m.mac);
                }
                Stmt::Macro(m) => {
                    self.macro_error(&m.mac);
                }
                Stmt::Expr(Expr::If(branch), _)
                    if pos == Position::FunctionTail && control::returns_early(branch) =>
                {
                    return self.early_return(branch, &stmts[i + 1..]);
                }
                Stmt::Expr(Expr::Return(ret), _) => {
                    if last && pos == Position::FunctionTail {
                        value = match &ret.expr {
                            Some(e) => self.expr(e),
                            None => {
                                self.error_at(ret, "`return` needs the loss value: `return loss;`")
                            }
                        };
                    } else {
                        self.error_at(
                            ret,
                            "this `return` is not supported in a #[derive_grad] function: an early return stands in an `if` at the function's level (`if c { …; return a; }`), not inside a loop or a nested block; assign the result to a variable and return it as the last expression",
                        );
                        value = Value::Poison;
                    }
                }
                Stmt::Expr(Expr::If(branch), _) if pos == Position::LoopBody => {
                    if let Some(jump) = control::loop_jump(branch) {
                        // `if c { A; continue; } B` is `if c { A } else { B }`.
                        self.jump_branch(branch, jump, &stmts[i + 1..]);
                        return Value::Unit;
                    }
                    self.if_expr(branch);
                }
                Stmt::Expr(e, semi) => {
                    let v = self.expr(e);
                    if semi.is_none() {
                        value = v;
                    }
                }
            }
        }
        value
    }

    fn local(&mut self, local: &syn::Local) {
        if let Some(init) = &local.init {
            if let Some((_, diverge)) = &init.diverge {
                self.error_at(
                    diverge,
                    "`let … else` is not supported in a #[derive_grad] function",
                );
                return;
            }
        }
        let value = match &local.init {
            Some(init) => {
                // `let (a, b) = f(…);`: every element of a helper returning
                // a tuple.
                let mut pat = &local.pat;
                if let syn::Pat::Type(t) = pat {
                    pat = &t.pat;
                }
                if let (syn::Pat::Tuple(t), Expr::Call(_)) = (pat, strip_parens(&init.expr)) {
                    self.tuple_call = Some(TupleCall::All(t.elems.len()));
                }
                let v = self.expr(&init.expr);
                self.tuple_call = None;
                v
            }
            None => Value::Uninit,
        };
        self.bind_pattern(&local.pat, value);
    }

    /// `const N: usize = 3;` or `const C: f64 = 0.5;` inside the body: a
    /// name for a value known at compile time.
    pub(super) fn local_const(&mut self, name: &syn::Ident, ty: &syn::Type, value: &syn::Expr) {
        let v = match ty {
            syn::Type::Path(p)
                if p.path
                    .get_ident()
                    .is_some_and(|i| int_type(&i.to_string()).is_some()) =>
            {
                self.int_expr(value)
            }
            _ => self.expr(value),
        };
        let known = match &v {
            Value::Int(_) | Value::Poison => true,
            Value::Float(id) => self.g.as_const(*id).is_some(),
            Value::Bool(b) => self.g.as_bool(*b).is_some(),
            _ => false,
        };
        if !known {
            self.error_at(value, "a `const` or `static` inside a #[derive_grad] body must be an integer, float or bool known at compile time");
            return;
        }
        self.bind(name.to_string(), v);
    }

    fn bind_pattern(&mut self, pat: &syn::Pat, value: Value) {
        match pat {
            syn::Pat::Ident(pi) if pi.subpat.is_none() => self.bind(pi.ident.to_string(), value),
            syn::Pat::Type(pt) => self.bind_pattern(&pt.pat, value),
            syn::Pat::Wild(_) => {}
            syn::Pat::Reference(r) => self.bind_pattern(&r.pat, value),
            syn::Pat::Paren(p) => self.bind_pattern(&p.pat, value),
            syn::Pat::Tuple(t) => match value {
                Value::Tuple(items) if items.len() == t.elems.len() => {
                    for (p, v) in t.elems.iter().zip(items) {
                        self.bind_pattern(p, v);
                    }
                }
                Value::Poison => {}
                _ => {
                    self.error_at(
                        t,
                        "tuple patterns are supported only over `enumerate()`/`zip()` in `for` loops: bind each value with its own `let`",
                    );
                }
            },
            other => {
                self.error_at(
                    other,
                    "unsupported pattern: bind a plain name (`let x = …;`)",
                );
            }
        }
    }

    fn macro_error(&mut self, mac: &syn::Macro) -> Value {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        self.error_at(
            mac,
            format!(
                "macro calls (`{name}!`) are not supported in a #[derive_grad] body: a macro's expansion cannot be seen or differentiated; compute the value in the function or in a #[derive_grad] helper (`assert!`, `debug_assert!`, `println!` and `eprintln!` are fine as statements)"
            ),
        )
    }
}

impl Lowerer<'_> {
    /// `assert!(c)`, `assert_eq!(a, b)`, … : the condition, when it is one
    /// the lowering can compute, becomes a check of the generated functions
    /// (not inside a loop that stays a loop, whose body runs many times from
    /// one node). A condition it cannot compute (`x.is_finite()`) is left to
    /// the original function, as are `println!` and friends.
    fn check(&mut self, mac: &syn::Macro) {
        let Some(name) = mac.path.get_ident().map(|i| i.to_string()) else {
            return;
        };
        let debug = name.starts_with("debug_");
        let (kind, rest) = match name.trim_start_matches("debug_") {
            "assert" => (None, 1),
            "assert_eq" => (Some(crate::op::CmpOp::Eq), 2),
            "assert_ne" => (Some(crate::op::CmpOp::Ne), 2),
            _ => return,
        };
        if self.rolled_depth > 0 {
            return;
        }
        let Ok(args) = mac
            .parse_body_with(syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        else {
            return;
        };
        let args: Vec<&Expr> = args.iter().take(rest).collect();
        if args.len() < rest {
            return;
        }
        // Lowered tentatively: what the condition needs that the lowering
        // does not support is no error of the loss.
        let (errors, reported) = (self.errors.len(), self.reported.clone());
        let cond = match kind {
            None => self.expr(args[0]),
            Some(op) => {
                let (a, b) = (self.expr(args[0]), self.expr(args[1]));
                self.compare(op, a, b, mac)
            }
        };
        if self.errors.len() > errors {
            self.errors.truncate(errors);
            self.reported = reported;
            return;
        }
        let Value::Bool(c) = cond else {
            return;
        };
        // In a branch of a run-time `if`: only when the branch is taken.
        let c = match self.g.guard {
            Some(taken) => {
                let not_taken = self.g.node(Op::Not, vec![taken]);
                self.g.node(Op::Or, vec![not_taken, c])
            }
            None => c,
        };
        if self.g.as_bool(c) == Some(true) {
            return;
        }
        let message = format!(
            "the `{name}!` of the original function failed: {}",
            mac.tokens
        );
        let order = self.g.checks.len() + self.g.prints.len();
        self.g.checks.push(crate::graph::Check {
            cond: c,
            debug,
            message,
            order,
        });
    }
}

/// `assert!`, `debug_assert!`, `println!` and the like, as statements.
fn is_diagnostic(mac: &syn::Macro) -> bool {
    const NAMES: &[&str] = &[
        "assert",
        "assert_eq",
        "assert_ne",
        "debug_assert",
        "debug_assert_eq",
        "debug_assert_ne",
        "println",
        "eprintln",
        "print",
        "eprint",
    ];
    mac.path
        .get_ident()
        .is_some_and(|i| NAMES.contains(&i.to_string().as_str()))
}

fn strip_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip_parens(&p.expr),
        Expr::Group(g) => strip_parens(&g.expr),
        e => e,
    }
}

mod assign;
mod call;
mod closure;
mod consts;
mod control;
mod expr;
mod iter;
mod jumps;
mod matching;
mod print;
mod rolled;

pub use rolled::UNROLL_MAX_TRIPS;

use consts::{float_associated_constant, int_constant, known_constant};
pub use consts::{int_type, IntTy};
