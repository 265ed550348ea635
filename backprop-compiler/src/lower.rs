//! Lowering: the body of the user's function, as `syn` syntax, becomes
//! nodes of the [`Graph`]. Loops with compile-time bounds are unrolled,
//! run-time `if`s become `select` nodes, `let`/assignment are tracked in an
//! environment (so shadowing and reassignment are plain SSA), and every
//! unsupported construct is reported at its span with a way to rewrite it.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::spanned::Spanned;
use syn::{BinOp, Expr, Lit, Stmt, UnOp};

use crate::graph::{CallInfo, CmpOp, Graph, Id, Op};
use crate::ops::{self, PRIMITIVES};
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
    /// A run-time integer parameter (an `IntParam` node holding it as float).
    RtInt(Id),
    /// An array of values.
    Array(Vec<Value>),
    /// A tuple (from `enumerate`/`zip` in `for` loops).
    Tuple(Vec<Value>),
    /// `()`.
    Unit,
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

/// Graphs beyond this many nodes stop unrolling with an error.
pub const MAX_NODES: usize = 4_000_000;

/// The result of lowering a function body.
pub struct Lowered {
    /// The graph of the forward computation.
    pub graph: Graph,
    /// The loss node.
    pub output: Id,
    /// For each parameter, the node of each flat element (if it was used).
    pub param_nodes: Vec<Vec<Option<Id>>>,
}

/// Lowers `body`; reports problems into `errors`.
pub fn lower(sig: &SigInfo, body: &syn::Block, errors: &mut Vec<syn::Error>) -> Option<Lowered> {
    let mut graph = Graph::new(sig.elem == ElemTy::F32);
    graph.generic = matches!(sig.elem, ElemTy::Generic(_));
    let mut lw = Lowerer {
        g: graph,
        sig,
        scopes: vec![Scope::new()],
        errors: Vec::new(),
        reported: Default::default(),
    };
    for (p, info) in sig.params.iter().enumerate() {
        let value = match &info.kind {
            ParamKind::Float { shape } => {
                let mut next = 0u32;
                lw.param_value(p as u32, shape, &mut next)
            }
            ParamKind::Int => Value::RtInt(lw.rt_int(info.name.to_token_stream())),
            ParamKind::Bool => Value::Bool(lw.g.node(Op::BoolParam(p as u32), vec![])),
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
        Value::Array(_) => "an array",
        Value::Tuple(_) => "a tuple",
        Value::Unit => "`()`",
        Value::Uninit => "an unassigned variable",
        Value::Poison => "an error",
    }
}

struct Lowerer<'a> {
    g: Graph,
    sig: &'a SigInfo,
    scopes: Vec<Scope>,
    errors: Vec<syn::Error>,
    /// The syntax nodes already reported: an unrolled loop lowers its body
    /// once per iteration, and one cause gets one error, not one per pass.
    reported: std::collections::HashSet<(usize, String)>,
}

/// Where a statement sits, to tell a final `return` from an early one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    FunctionTail,
    Inner,
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

    fn param_value(&mut self, p: u32, shape: &[usize], next: &mut u32) -> Value {
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
        let mut value = Value::Unit;
        for (i, stmt) in stmts.iter().enumerate() {
            let last = i + 1 == stmts.len();
            value = Value::Unit;
            match stmt {
                Stmt::Local(local) => self.local(local),
                Stmt::Item(item) => {
                    self.error_at(
                        item,
                        "items (nested `fn`, `const`, `use`, …) inside a #[derive_grad] body are not supported: move them outside the function",
                    );
                }
                Stmt::Macro(m) => {
                    self.macro_error(&m.mac);
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
                            "early `return` is not supported in a #[derive_grad] function: the derivative follows one path to the end; assign the result to a variable and return it as the last expression (an `if`/`else` can choose the value)",
                        );
                        value = Value::Poison;
                    }
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
            Some(init) => self.expr(&init.expr),
            None => Value::Uninit,
        };
        self.bind_pattern(&local.pat, value);
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
                "macro calls (`{name}!`) are not supported in a #[derive_grad] body: a macro's expansion cannot be seen or differentiated; print or assert outside the loss function, or call a #[derive_grad] helper function"
            ),
        )
    }

    // ---------------------------------------------------------- expressions

    fn expr(&mut self, e: &Expr) -> Value {
        stacker::maybe_grow(crate::expand::RED_ZONE, crate::expand::STACK_CHUNK, || {
            self.expr_here(e)
        })
    }

    fn expr_here(&mut self, e: &Expr) -> Value {
        match e {
            Expr::Lit(l) => self.lit(&l.lit),
            Expr::Path(p) => self.path(p),
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Block(b) => {
                if b.label.is_some() {
                    return self.error_at(b, "labelled blocks are not supported");
                }
                self.block(&b.block)
            }
            Expr::Unsafe(u) => self.error_at(u, "`unsafe` blocks are not supported in a #[derive_grad] function"),
            Expr::Reference(r) => {
                if r.mutability.is_some() {
                    return self.error_at(r, "`&mut` is not supported in a #[derive_grad] function: values are immutable data flow; assign instead");
                }
                self.expr(&r.expr)
            }
            Expr::Unary(u) => self.unary(u),
            Expr::Binary(b) => self.binary(b),
            Expr::Assign(a) => {
                let v = self.expr(&a.right);
                self.assign(&a.left, v);
                Value::Unit
            }
            Expr::If(i) => self.if_expr(i),
            Expr::ForLoop(f) => self.for_loop(f),
            Expr::Index(i) => self.index(i),
            Expr::MethodCall(m) => self.method_call(m),
            Expr::Call(c) => self.call(c),
            Expr::Cast(c) => self.cast(c),
            Expr::Array(a) => Value::Array(a.elems.iter().map(|e| self.expr(e)).collect()),
            Expr::Repeat(r) => {
                let v = self.expr(&r.expr);
                match self.expr(&r.len) {
                    Value::Int(n) if n >= 0 && n as u64 <= MAX_NODES as u64 => Value::Array(vec![v; n as usize]),
                    Value::Int(n) if n >= 0 => self.error_at(
                        &r.len,
                        format!("an array of {n} elements is too large for #[derive_grad] to write out (at most {MAX_NODES})"),
                    ),
                    Value::Poison => Value::Poison,
                    _ => self.error_at(&r.len, "the length of `[value; N]` must be an integer literal"),
                }
            }
            Expr::While(w) => self.error_at(
                &w.while_token,
                "`while` loops are not supported: #[derive_grad] unrolls loops at compile time, so it needs the trip count; write `for i in 0..N` with a literal `N`",
            ),
            Expr::Loop(l) => self.error_at(
                &l.loop_token,
                "`loop` is not supported: #[derive_grad] unrolls loops at compile time, so it needs the trip count; write `for i in 0..N` with a literal `N`",
            ),
            Expr::Break(b) => self.error_at(b, "`break` is not supported: loops run their full literal range; choose values with `if`/`else` instead"),
            Expr::Continue(c) => self.error_at(c, "`continue` is not supported: loops run their full literal range; wrap the rest of the body in `if`"),
            Expr::Return(r) => self.error_at(
                r,
                "early `return` is not supported in a #[derive_grad] function: the derivative follows one path to the end; assign the result to a variable and return it as the last expression",
            ),
            Expr::Closure(c) => self.error_at(
                c,
                "closures are not supported in a #[derive_grad] function: write the computation inline, or as a separate #[derive_grad] function and call it",
            ),
            Expr::Macro(m) => self.macro_error(&m.mac),
            Expr::Match(m) => self.error_at(&m.match_token, "`match` is not supported: use `if`/`else` with comparisons"),
            Expr::Tuple(t) if t.elems.is_empty() => Value::Unit,
            Expr::Tuple(t) => self.error_at(t, "tuples are not supported: the loss is one float; use separate variables or arrays"),
            Expr::Field(f) => self.error_at(f, "field access is not supported: pass the fields' values as parameters (floats or arrays)"),
            Expr::Struct(s) => self.error_at(s, "struct values are not supported: use floats and arrays"),
            Expr::Range(r) => self.error_at(r, "a range is only supported as the bound of a `for` loop"),
            Expr::Let(l) => self.error_at(l, "`if let` is not supported: use a comparison"),
            Expr::Try(t) => self.error_at(t, "the `?` operator is not supported: a loss function does not fail"),
            other => self.error_at(other, "this expression is not supported in a #[derive_grad] function"),
        }
    }

    fn lit(&mut self, lit: &Lit) -> Value {
        match lit {
            // An `f32` literal is rounded from its decimal text directly, as
            // rustc does, not through `f64` (which could round twice).
            Lit::Float(f)
                if f.suffix() == "f32"
                    || (f.suffix().is_empty() && self.sig.elem == ElemTy::F32) =>
            {
                match f.base10_parse::<f32>() {
                    Ok(v) => Value::Float(self.g.konst(v as f64)),
                    Err(e) => self.error_at(f, e),
                }
            }
            Lit::Float(f) => match f.base10_parse::<f64>() {
                Ok(v) => Value::Float(self.g.konst(v)),
                Err(e) => self.error_at(f, e),
            },
            Lit::Int(i) => match i.base10_parse::<i128>() {
                Ok(v) => match i.suffix() {
                    "f32" => Value::Float(self.g.konst(v as f32 as f64)),
                    "f64" => Value::Float(self.g.konst(v as f64)),
                    "" => Value::Int(v),
                    suffix => match int_type(suffix) {
                        Some(ty) if ty.wrap(v) == v => Value::Int(v),
                        _ => self
                            .error_at(i, format!("the literal `{i}` does not fit in `{suffix}`")),
                    },
                },
                Err(e) => self.error_at(i, e),
            },
            Lit::Bool(b) => Value::Bool(self.g.bool_const(b.value)),
            other => self.error_at(other, "only numeric and boolean literals are supported"),
        }
    }

    fn path(&mut self, p: &syn::ExprPath) -> Value {
        if p.qself.is_none() {
            if let Some(id) = p.path.get_ident() {
                let name = id.to_string();
                if let Some(b) = self.lookup(&name) {
                    return match &b.value {
                        Value::Uninit => {
                            self.error_at(id, format!("`{name}` is used before it is assigned"))
                        }
                        v => v.clone(),
                    };
                }
            }
            if let Some(v) = known_constant(&p.path) {
                return Value::Float(self.g.konst(v));
            }
            if let Some(v) = int_constant(&p.path) {
                return Value::Int(v);
            }
        }
        // Anything else (a `const` item, `f64::EPSILON`, …) is a value from
        // outside: used as is, never differentiated.
        Value::Float(self.extern_value(p.to_token_stream()))
    }

    fn extern_value(&mut self, tokens: TokenStream) -> Id {
        let key = tokens.to_string();
        let idx = match self.g.externs.iter().position(|t| t.to_string() == key) {
            Some(i) => i,
            None => {
                self.g.externs.push(tokens);
                self.g.externs.len() - 1
            }
        };
        self.g.node(Op::Extern(idx as u32), vec![])
    }

    fn unary(&mut self, u: &syn::ExprUnary) -> Value {
        let v = self.expr(&u.expr);
        match (&u.op, v) {
            (_, Value::Poison) => Value::Poison,
            (UnOp::Deref(_), v) => v,
            (UnOp::Neg(_), Value::Float(a)) => Value::Float(self.g.neg(a)),
            (UnOp::Neg(_), Value::Int(a)) => Value::Int(-a),
            (UnOp::Not(_), Value::Bool(a)) => Value::Bool(self.g.node(Op::Not, vec![a])),
            (_, v) => self.error_at(
                u,
                format!("this operator is not supported on {}", describe(&v)),
            ),
        }
    }

    fn binary(&mut self, b: &syn::ExprBinary) -> Value {
        use BinOp::*;
        let compound = match b.op {
            AddAssign(_) => Some(Op::Add),
            SubAssign(_) => Some(Op::Sub),
            MulAssign(_) => Some(Op::Mul),
            DivAssign(_) => Some(Op::Div),
            RemAssign(_) | BitXorAssign(_) | BitAndAssign(_) | BitOrAssign(_) | ShlAssign(_)
            | ShrAssign(_) => {
                return self.error_at(b, "only `+= -= *= /=` are supported compound assignments");
            }
            _ => None,
        };
        if let Some(op) = compound {
            // For primitive operands Rust evaluates the right side first,
            // then reads the place (`a += { a = 2.0 * a; a }`).
            let rhs = self.expr(&b.right);
            let current = self.expr(&b.left);
            let v = self.arith(op, current, rhs, b);
            self.assign(&b.left, v);
            return Value::Unit;
        }
        // `&&`/`||` with a compile-time left side skip the right side, as Rust does.
        if let And(_) | Or(_) = b.op {
            let l = self.expr(&b.left);
            let is_and = matches!(b.op, And(_));
            return match l {
                Value::Bool(l) => {
                    if let Some(lb) = self.g.as_bool(l) {
                        if lb != is_and {
                            return Value::Bool(l);
                        }
                    }
                    match self.expr(&b.right) {
                        Value::Bool(r) => Value::Bool(
                            self.g
                                .node(if is_and { Op::And } else { Op::Or }, vec![l, r]),
                        ),
                        Value::Poison => Value::Poison,
                        _ => self.error_at(&b.right, "expected a bool"),
                    }
                }
                Value::Poison => Value::Poison,
                _ => self.error_at(&b.left, "expected a bool"),
            };
        }
        let l = self.expr(&b.left);
        let r = self.expr(&b.right);
        let cmp = match b.op {
            Lt(_) => Some(CmpOp::Lt),
            Le(_) => Some(CmpOp::Le),
            Gt(_) => Some(CmpOp::Gt),
            Ge(_) => Some(CmpOp::Ge),
            Eq(_) => Some(CmpOp::Eq),
            Ne(_) => Some(CmpOp::Ne),
            _ => None,
        };
        if let Some(c) = cmp {
            return self.compare(c, l, r, b);
        }
        let op = match b.op {
            Add(_) => Op::Add,
            Sub(_) => Op::Sub,
            Mul(_) => Op::Mul,
            Div(_) => Op::Div,
            Rem(_) => {
                if let (Value::Int(x), Value::Int(y)) = (&l, &r) {
                    if let Some(v) = x.checked_rem(*y) {
                        return Value::Int(v);
                    }
                }
                return self.error_at(
                    b,
                    "`%` is supported only on compile-time integers (loop indices); for floats write `a - (a / b).trunc() * b`",
                );
            }
            _ => {
                return self.error_at(
                    b,
                    "this operator is not supported: use `+ - * /`, comparisons, `&&`, `||`",
                )
            }
        };
        self.arith(op, l, r, b)
    }

    fn arith(&mut self, op: Op, l: Value, r: Value, at: &dyn ToTokens) -> Value {
        match (l, r) {
            (Value::Poison, _) | (_, Value::Poison) => Value::Poison,
            (Value::Float(a), Value::Float(b)) => Value::Float(self.g.node(op, vec![a, b])),
            (Value::Int(a), Value::Int(b)) => {
                let v = match op {
                    Op::Add => a.checked_add(b),
                    Op::Sub => a.checked_sub(b),
                    Op::Mul => a.checked_mul(b),
                    _ => a.checked_div(b),
                };
                match v {
                    Some(v) => Value::Int(v),
                    None => self.error_at(at, "integer overflow or division by zero at compile time"),
                }
            }
            (Value::Float(_), Value::Int(_) | Value::RtInt(_)) | (Value::Int(_) | Value::RtInt(_), Value::Float(_)) => self.error_at(
                at,
                "integer arithmetic on differentiated values is not supported: mixing a float with an integer has no derivative; convert the integer with `as f64` (or `F::from(i).unwrap()`)",
            ),
            (Value::RtInt(_), _) | (_, Value::RtInt(_)) => self.error_at(
                at,
                "arithmetic on run-time integer parameters is not supported: convert to the float type first (`n as f64`)",
            ),
            (Value::Array(_), _) | (_, Value::Array(_)) => self.error_at(
                at,
                "arithmetic on whole arrays is not supported: index the elements (`a[i] + b[i]`) in a `for` loop",
            ),
            (l, r) => self.error_at(at, format!("cannot do arithmetic on {} and {}", describe(&l), describe(&r))),
        }
    }

    fn compare(&mut self, c: CmpOp, l: Value, r: Value, at: &dyn ToTokens) -> Value {
        match (l, r) {
            (Value::Poison, _) | (_, Value::Poison) => Value::Poison,
            (Value::Int(a), Value::Int(b)) => {
                let v = match c {
                    CmpOp::Lt => a < b,
                    CmpOp::Le => a <= b,
                    CmpOp::Gt => a > b,
                    CmpOp::Ge => a >= b,
                    CmpOp::Eq => a == b,
                    CmpOp::Ne => a != b,
                };
                Value::Bool(self.g.bool_const(v))
            }
            (Value::Float(a) | Value::RtInt(a), Value::Float(b) | Value::RtInt(b)) => {
                Value::Bool(self.g.node(Op::Cmp(c), vec![a, b]))
            }
            (Value::RtInt(a), Value::Int(b)) => {
                let b = self.g.konst(b as f64);
                Value::Bool(self.g.node(Op::Cmp(c), vec![a, b]))
            }
            (Value::Int(a), Value::RtInt(b)) => {
                let a = self.g.konst(a as f64);
                Value::Bool(self.g.node(Op::Cmp(c), vec![a, b]))
            }
            (Value::Bool(a), Value::Bool(b)) if matches!(c, CmpOp::Eq | CmpOp::Ne) => {
                // a == b  is  (a && b) || (!a && !b)
                let both = self.g.node(Op::And, vec![a, b]);
                let na = self.g.node(Op::Not, vec![a]);
                let nb = self.g.node(Op::Not, vec![b]);
                let neither = self.g.node(Op::And, vec![na, nb]);
                let eq = self.g.node(Op::Or, vec![both, neither]);
                Value::Bool(if c == CmpOp::Eq {
                    eq
                } else {
                    self.g.node(Op::Not, vec![eq])
                })
            }
            (l, r) => self.error_at(
                at,
                format!("cannot compare {} with {}", describe(&l), describe(&r)),
            ),
        }
    }

    // ----------------------------------------------------------- assignment

    fn assign(&mut self, lhs: &Expr, value: Value) {
        let mut indices = Vec::new();
        let mut cur = lhs;
        loop {
            match cur {
                Expr::Index(i) => {
                    indices.push(&*i.index);
                    cur = &i.expr;
                }
                Expr::Paren(p) => cur = &p.expr,
                Expr::Unary(syn::ExprUnary {
                    op: UnOp::Deref(_),
                    expr,
                    ..
                }) => cur = expr,
                _ => break,
            }
        }
        indices.reverse();
        let Expr::Path(p) = cur else {
            self.error_at(lhs, "can only assign to a variable or an element of a local array (`x = …`, `h[j] = …`)");
            return;
        };
        let Some(ident) = p.path.get_ident() else {
            self.error_at(p, "can only assign to a local variable");
            return;
        };
        let name = ident.to_string();
        let mut idx = Vec::new();
        for e in indices {
            match self.expr(e) {
                Value::Int(i) => idx.push(i),
                Value::Poison => return,
                _ => {
                    self.error_at(e, "array indices must be known at compile time: integer literals or `for` loop variables");
                    return;
                }
            }
        }
        let elem_name = if idx.is_empty() {
            name.clone()
        } else {
            format!(
                "{name}_{}",
                idx.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join("_")
            )
        };
        self.name_value(&elem_name, &value);
        let Some(binding) = self.lookup_mut(&name) else {
            self.error_at(ident, format!("cannot find `{name}`"));
            return;
        };
        if binding.wrt_param {
            self.error_at(
                ident,
                format!("cannot assign to `{name}`: it is a parameter being differentiated, and the gradient is taken with respect to its value on entry; copy it first (`let mut {name}_local = {name};`) and change the copy"),
            );
            return;
        }
        let mut slot = &mut binding.value;
        for &i in &idx {
            match slot {
                Value::Array(items) => {
                    let len = items.len();
                    match usize::try_from(i).ok().and_then(|i| items.get_mut(i)) {
                        Some(s) => slot = s,
                        None => {
                            self.error_at(
                                lhs,
                                format!("index {i} is out of bounds for an array of length {len}"),
                            );
                            return;
                        }
                    }
                }
                Value::Poison => return,
                _ => {
                    self.error_at(lhs, format!("`{name}` is not an array this deep"));
                    return;
                }
            }
        }
        *slot = value;
    }

    // ---------------------------------------------------------- control flow

    fn if_expr(&mut self, i: &syn::ExprIf) -> Value {
        let cond = match self.expr(&i.cond) {
            Value::Bool(c) => c,
            Value::Poison => return Value::Poison,
            other => {
                return self.error_at(
                    &i.cond,
                    format!(
                        "the condition must be a comparison or a bool, not {}",
                        describe(&other)
                    ),
                );
            }
        };
        if let Some(c) = self.g.as_bool(cond) {
            // Known at compile time (e.g. `if i == 0` in an unrolled loop):
            // only the branch taken exists.
            return if c {
                self.block(&i.then_branch)
            } else if let Some((_, e)) = &i.else_branch {
                self.expr(e)
            } else {
                Value::Unit
            };
        }
        let saved = self.scopes.clone();
        let then_v = self.block(&i.then_branch);
        let then_scopes = std::mem::replace(&mut self.scopes, saved);
        let else_v = match &i.else_branch {
            Some((_, e)) => self.expr(e),
            None => Value::Unit,
        };
        let else_scopes = std::mem::take(&mut self.scopes);
        let mut merged = else_scopes.clone();
        for (level, scope) in merged.iter_mut().enumerate() {
            for (name, binding) in scope.iter_mut() {
                let t = &then_scopes[level][name].value;
                if *t != binding.value {
                    binding.value = self.merge(cond, t.clone(), binding.value.clone(), i, name);
                }
            }
        }
        self.scopes = merged;
        self.merge(cond, then_v, else_v, i, "the `if` expression")
    }

    fn merge(&mut self, c: Id, t: Value, e: Value, at: &syn::ExprIf, what: &str) -> Value {
        match (t, e) {
            (t, e) if t == e => t,
            (Value::Poison, _) | (_, Value::Poison) => Value::Poison,
            (Value::Float(a), Value::Float(b)) => Value::Float(self.g.select(c, a, b)),
            (Value::Bool(a), Value::Bool(b)) => {
                let ta = self.g.node(Op::And, vec![c, a]);
                let nc = self.g.node(Op::Not, vec![c]);
                let eb = self.g.node(Op::And, vec![nc, b]);
                Value::Bool(self.g.node(Op::Or, vec![ta, eb]))
            }
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
                Value::Array(a.into_iter().zip(b).map(|(x, y)| self.merge(c, x, y, at, what)).collect())
            }
            (Value::Uninit, _) | (_, Value::Uninit) => Value::Uninit,
            (Value::Int(_), Value::Int(_)) => self.error_at(
                &at.if_token,
                format!("`{what}` is an integer that this run-time `if` sets differently in its branches; integers must be known at compile time (they index arrays); use a float instead"),
            ),
            _ => self.error_at(&at.if_token, format!("`{what}` has different kinds of values in the two branches")),
        }
    }

    fn for_loop(&mut self, f: &syn::ExprForLoop) -> Value {
        if f.label.is_some() {
            return self.error_at(f, "labelled loops are not supported");
        }
        let Some(items) = self.loop_items(&f.expr) else {
            return Value::Poison;
        };
        for item in items {
            if !self.check_budget(f.for_token.span) {
                return Value::Poison;
            }
            self.scopes.push(Scope::new());
            self.bind_pattern(&f.pat, item);
            self.block_stmts(&f.body.stmts, Position::Inner);
            self.scopes.pop();
        }
        Value::Unit
    }

    /// The values a `for` loop iterates over, all known at compile time.
    fn loop_items(&mut self, e: &Expr) -> Option<Vec<Value>> {
        match e {
            Expr::Paren(p) => self.loop_items(&p.expr),
            Expr::Group(g) => self.loop_items(&g.expr),
            Expr::Range(r) => {
                let bound = |lw: &mut Self, b: &Option<Box<Expr>>| -> Option<i128> {
                    let Some(b) = b else {
                        lw.error_at(r, "the loop range needs both bounds: `for i in 0..N`");
                        return None;
                    };
                    match lw.expr(b) {
                        Value::Int(v) => Some(v),
                        Value::Poison => None,
                        _ => {
                            lw.error_at(
                                b,
                                "the loop bound must be an integer literal (or an expression of literals and enclosing loop variables): #[derive_grad] unrolls loops at compile time, so it needs the trip count",
                            );
                            None
                        }
                    }
                };
                let lo = bound(self, &r.start)?;
                let hi = bound(self, &r.end)?;
                let hi = match r.limits {
                    syn::RangeLimits::HalfOpen(_) => Some(hi),
                    syn::RangeLimits::Closed(_) => hi.checked_add(1),
                };
                // Checked before anything is built: an empty body would
                // never reach the node budget, however long the range.
                let len = hi
                    .and_then(|hi| hi.checked_sub(lo))
                    .map(|n| n.max(0) as u64);
                match (hi, len) {
                    (Some(hi), Some(len)) if len <= MAX_NODES as u64 => {
                        Some((lo..hi).map(Value::Int).collect())
                    }
                    _ => {
                        self.error_at(
                            r,
                            format!("this loop runs more than {MAX_NODES} times, too many for #[derive_grad] to unroll: use fewer iterations or split the computation into several #[derive_grad] functions"),
                        );
                        None
                    }
                }
            }
            Expr::MethodCall(m) => {
                let method = m.method.to_string();
                match method.as_str() {
                    "rev" if m.args.is_empty() => {
                        let mut v = self.loop_items(&m.receiver)?;
                        v.reverse();
                        Some(v)
                    }
                    "step_by" if m.args.len() == 1 => {
                        let v = self.loop_items(&m.receiver)?;
                        match self.expr(&m.args[0]) {
                            Value::Int(s) if s > 0 => {
                                Some(v.into_iter().step_by(s as usize).collect())
                            }
                            _ => {
                                self.error_at(
                                    &m.args[0],
                                    "`step_by` needs a positive integer literal",
                                );
                                None
                            }
                        }
                    }
                    "iter" | "into_iter" | "copied" | "cloned" if m.args.is_empty() => {
                        self.loop_items(&m.receiver)
                    }
                    "enumerate" if m.args.is_empty() => Some(
                        self.loop_items(&m.receiver)?
                            .into_iter()
                            .enumerate()
                            .map(|(i, v)| Value::Tuple(vec![Value::Int(i as i128), v]))
                            .collect(),
                    ),
                    "zip" if m.args.len() == 1 => {
                        let a = self.loop_items(&m.receiver)?;
                        let b = self.loop_items(&m.args[0])?;
                        Some(
                            a.into_iter()
                                .zip(b)
                                .map(|(x, y)| Value::Tuple(vec![x, y]))
                                .collect(),
                        )
                    }
                    _ => {
                        self.error_at(
                            &m.method,
                            "unsupported iterator method in a `for` loop: supported are ranges `a..b`, `a..=b`, arrays, and `.iter()`, `.rev()`, `.step_by(k)`, `.enumerate()`, `.zip(…)`",
                        );
                        None
                    }
                }
            }
            other => match self.expr(other) {
                Value::Array(items) => Some(items),
                Value::Poison => None,
                v => {
                    self.error_at(
                        other,
                        format!("a `for` loop runs over a range with literal bounds (`0..N`) or an array, not {}", describe(&v)),
                    );
                    None
                }
            },
        }
    }

    // ------------------------------------------------------------- indexing

    fn index(&mut self, i: &syn::ExprIndex) -> Value {
        // `w[i][j]` on a variable is read in place: evaluating `w` first
        // would copy the whole array for every element read, which makes
        // unrolled loops over large arrays quadratic.
        let mut chain = vec![&*i.index];
        let mut base = &*i.expr;
        while let Expr::Index(inner) = strip_parens(base) {
            chain.push(&inner.index);
            base = &inner.expr;
        }
        chain.reverse();
        if let Expr::Path(p) = strip_parens(base) {
            if let Some(ident) = p.path.get_ident() {
                let name = ident.to_string();
                if self.lookup(&name).is_some() {
                    let mut idx = Vec::new();
                    for e in &chain {
                        match self.expr(e) {
                            Value::Int(k) => idx.push((k, *e)),
                            Value::Poison => return Value::Poison,
                            _ => return self.runtime_index_error(e),
                        }
                    }
                    let binding = self.lookup(&name).expect("looked up above");
                    let mut cur = &binding.value;
                    for (k, e) in idx {
                        match cur {
                            Value::Array(items) => {
                                match usize::try_from(k).ok().and_then(|k| items.get(k)) {
                                    Some(v) => cur = v,
                                    None => {
                                        let len = items.len();
                                        return self.error_at(e, format!("index {k} is out of bounds for an array of length {len}"));
                                    }
                                }
                            }
                            Value::Poison => return Value::Poison,
                            other => {
                                let what = describe(other);
                                return self.error_at(i, format!("cannot index {what}"));
                            }
                        }
                    }
                    return cur.clone();
                }
                let name = p.to_token_stream().to_string();
                return self.error_at(
                    base,
                    format!("`{name}` is not a parameter or local variable of this function: #[derive_grad] cannot see the contents of `const`/`static` arrays; pass the array as a parameter"),
                );
            }
        }
        let base = self.expr(&i.expr);
        let idx = self.expr(&i.index);
        match (base, idx) {
            (Value::Poison, _) | (_, Value::Poison) => Value::Poison,
            (Value::Array(items), Value::Int(k)) => {
                match usize::try_from(k).ok().and_then(|k| items.get(k)) {
                    Some(v) => v.clone(),
                    None => self.error_at(
                        i,
                        format!(
                            "index {k} is out of bounds for an array of length {}",
                            items.len()
                        ),
                    ),
                }
            }
            (Value::Array(_), _) => self.runtime_index_error(&i.index),
            (v, _) => self.error_at(&i.expr, format!("cannot index {}", describe(&v))),
        }
    }

    fn runtime_index_error(&mut self, at: &Expr) -> Value {
        self.error_at(
            at,
            "array indices must be known at compile time: integer literals, `for` loop variables, or arithmetic on them; to pick an element at run time, loop over the indices and compare: `for i in 0..N { if i == k { … } }`",
        )
    }

    fn cast(&mut self, c: &syn::ExprCast) -> Value {
        let target = c.ty.to_token_stream().to_string();
        let is_float = self.is_elem_type(&c.ty);
        // An outside value (`STEPS as f64` with `const STEPS: usize`) keeps
        // its cast: its type is not known here.
        if let Expr::Path(p) = strip_parens(&c.expr) {
            let local = p
                .path
                .get_ident()
                .is_some_and(|id| self.lookup(&id.to_string()).is_some());
            if !local && known_constant(&p.path).is_none() && is_float {
                return Value::Float(self.extern_value(c.to_token_stream()));
            }
        }
        let v = self.expr(&c.expr);
        let int_target = int_type(&target);
        match v {
            Value::Poison => Value::Poison,
            // Rounded once, from the exact integer, as rustc does.
            Value::Int(i) if is_float && self.sig.elem == ElemTy::F32 => {
                Value::Float(self.g.konst(i as f32 as f64))
            }
            Value::Int(i) if is_float => Value::Float(self.g.konst(i as f64)),
            Value::Int(i) => match int_target {
                Some(ty) => Value::Int(ty.wrap(i)),
                None => self.error_at(c, format!("cannot cast an integer to `{target}` here")),
            },
            Value::RtInt(id) if is_float => Value::Float(id),
            Value::RtInt(id) => match int_target {
                Some(_) => {
                    let Op::RtInt(k) = self.g.get(id).op else {
                        unreachable!("a run-time integer is an RtInt node")
                    };
                    let inner = self.g.rt_ints[k as usize].clone();
                    let ty = &c.ty;
                    Value::RtInt(self.rt_int(quote!((#inner as #ty))))
                }
                None => self.error_at(c, format!("cannot cast an integer to `{target}` here")),
            },
            Value::Float(id) if is_float => Value::Float(id),
            // A constant converts exactly as Rust converts it.
            Value::Float(id) if self.g.as_const(id).is_some() && int_target.is_some() => {
                let v = self.g.as_const(id).expect("checked");
                Value::Int(int_target.expect("checked").saturate(v))
            }
            Value::Float(id) if self.g.as_const(id).is_some() && target == "f32" => {
                let v = self.g.as_const(id).expect("checked");
                Value::Float(self.g.konst(v as f32 as f64))
            }
            Value::Float(id) if self.g.as_const(id).is_some() && target == "f64" => Value::Float(id),
            Value::Float(_) if matches!(target.as_str(), "f32" | "f64") => self.error_at(
                c,
                format!("casting between float types (to `{target}`) is not supported: a #[derive_grad] function computes in one float type throughout; convert its inputs outside the function"),
            ),
            Value::Float(_) => self.error_at(
                c,
                format!("integer arithmetic on differentiated values is not supported: casting a float to `{target}` has no derivative"),
            ),
            other => self.error_at(c, format!("cannot cast {} to `{target}`", describe(&other))),
        }
    }

    /// A run-time integer expression (see [`Graph::rt_ints`]).
    fn rt_int(&mut self, tokens: TokenStream) -> Id {
        let key = tokens.to_string();
        let k = match self.g.rt_ints.iter().position(|t| t.to_string() == key) {
            Some(k) => k,
            None => {
                self.g.rt_ints.push(tokens);
                self.g.rt_ints.len() - 1
            }
        };
        self.g.node(Op::RtInt(k as u32), vec![])
    }

    fn is_elem_type(&self, ty: &syn::Type) -> bool {
        let s = ty.to_token_stream().to_string();
        match &self.sig.elem {
            ElemTy::F64 => s == "f64",
            ElemTy::F32 => s == "f32",
            ElemTy::Generic(g) => *g == s,
        }
    }

    // ----------------------------------------------------- methods and calls

    fn method_call(&mut self, m: &syn::ExprMethodCall) -> Value {
        let recv = self.expr(&m.receiver);
        let args: Vec<&Expr> = m.args.iter().collect();
        self.apply_method(recv, &m.method, &args, m)
    }

    fn apply_method(
        &mut self,
        recv: Value,
        method: &syn::Ident,
        args: &[&Expr],
        at: &dyn ToTokens,
    ) -> Value {
        let name = method.to_string();
        match recv {
            Value::Poison => Value::Poison,
            Value::Float(x) => {
                // `F::from(0.5).unwrap()` / `.expect("…")`: the conversion
                // already produced the float; the message is not evaluated.
                if matches!((name.as_str(), args.len()), ("unwrap" | "clone", 0) | ("expect", 1)) {
                    return Value::Float(x);
                }
                let vals: Vec<Value> = args.iter().map(|a| self.expr(a)).collect();
                if vals.contains(&Value::Poison) {
                    return Value::Poison;
                }
                let floats: Option<Vec<Id>> = vals
                    .iter()
                    .map(|v| if let Value::Float(id) = v { Some(*id) } else { None })
                    .collect();
                match (name.as_str(), vals.as_slice()) {
                    ("powi", [Value::Int(n)]) => {
                        return match i32::try_from(*n) {
                            Ok(n) => Value::Float(self.g.node(Op::Powi(n), vec![x])),
                            Err(_) => self.error_at(args[0], "the exponent of `powi` is out of range"),
                        };
                    }
                    ("powi", _) => {
                        return self.error_at(at, "the exponent of `powi` must be an integer known at compile time; for a run-time exponent use `powf`");
                    }
                    _ => {}
                }
                let floats = match floats {
                    Some(f) => f,
                    None => {
                        return self.error_at(
                            at,
                            format!("the arguments of `.{name}(…)` must be floats of the function's type: integer arithmetic on differentiated values is not supported"),
                        );
                    }
                };
                if let Some(i) = ops::method(&name, floats.len()) {
                    let mut all = vec![x];
                    all.extend(floats);
                    return Value::Float(self.g.node(Op::Fun(i as u8), all));
                }
                self.error_at(method, format!("unknown or unsupported method `.{name}()` on a float: #[derive_grad] supports {}", supported_methods()))
            }
            Value::Array(items) => match (name.as_str(), args.len()) {
                ("len", 0) => Value::Int(items.len() as i128),
                ("iter" | "into_iter" | "copied" | "cloned" | "clone", 0) => Value::Array(items),
                ("sum", 0) | ("product", 0) => {
                    let op = if name == "sum" { Op::Add } else { Op::Mul };
                    let mut acc: Option<Id> = None;
                    for v in items {
                        match v {
                            Value::Float(id) => acc = Some(match acc { None => id, Some(a) => self.g.node(op, vec![a, id]) }),
                            Value::Poison => return Value::Poison,
                            _ => return self.error_at(at, "`sum`/`product` need an array of floats"),
                        }
                    }
                    // Rust's float `Sum` starts from −0.0 (so an empty sum is
                    // −0.0, and −0.0 + x is x for every x).
                    Value::Float(acc.unwrap_or_else(|| self.g.konst(if op == Op::Add { -0.0 } else { 1.0 })))
                }
                _ => self.error_at(
                    method,
                    format!("unsupported method `.{name}()` on an array: supported are `.len()`, `.iter().sum()`, `.iter().product()`, and iteration in `for` loops"),
                ),
            },
            other => self.error_at(method, format!("unsupported method `.{name}()` on {}", describe(&other))),
        }
    }

    fn call(&mut self, c: &syn::ExprCall) -> Value {
        let Expr::Path(fp) = &*c.func else {
            return self.error_at(&c.func, "only calls of functions by name are supported");
        };
        let segs: Vec<String> = fp
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let last = segs.last().cloned().unwrap_or_default();
        let prefix = &segs[..segs.len() - 1];
        let args: Vec<&Expr> = c.args.iter().collect();

        // `F::one()`, `F::from(0.5)`, `f64::max(a, b)`, `Float::exp(x)`:
        // associated functions of the float type or its traits.
        let type_prefix =
            fp.qself.is_some() || prefix.last().is_some_and(|p| self.is_float_type_name(p));
        if type_prefix {
            match (last.as_str(), args.len()) {
                ("from", 1) => {
                    return match self.expr(args[0]) {
                        Value::Int(i) => Value::Float(self.g.konst(i as f64)),
                        Value::Float(id) if self.g.as_const(id).is_some() => Value::Float(id),
                        Value::RtInt(id) => Value::Float(id),
                        Value::Poison => Value::Poison,
                        _ => self.error_at(c, "`F::from(…)` is supported on literals, compile-time integers and integer parameters"),
                    };
                }
                (name, 0) => {
                    if let Some(v) = float_associated_constant(name) {
                        return Value::Float(self.g.konst(v));
                    }
                    // `F::epsilon()`, `F::max_value()`: depend on the type, so
                    // they stay as written, like any outside value.
                    return Value::Float(self.extern_value(c.to_token_stream()));
                }
                (_, n) if n >= 1 => {
                    let recv = self.expr(args[0]);
                    return self.apply_method(
                        recv,
                        &fp.path.segments.last().unwrap().ident,
                        &args[1..],
                        c,
                    );
                }
                _ => {}
            }
            return self.error_at(
                c,
                format!(
                    "unsupported associated function `{}`",
                    fp.path.to_token_stream()
                ),
            );
        }

        // Functions of backprop-core.
        let core_path = prefix.is_empty()
            || prefix
                .iter()
                .any(|p| p.starts_with("backprop") || p == "functions");
        if core_path {
            if let Some(i) = ops::core_function(&last) {
                let name = PRIMITIVES[i].name;
                if !self
                    .g
                    .core_uses
                    .iter()
                    .any(|(n, p)| *n == name && *p == fp.path)
                {
                    self.g.core_uses.push((name, fp.path.clone()));
                }
                return match self.float_args(&args, PRIMITIVES[i].arity(), c) {
                    Some(a) => Value::Float(self.g.node(Op::Fun(i as u8), a)),
                    None => Value::Poison,
                };
            }
        }
        self.derive_grad_call(fp, &args)
    }

    fn is_float_type_name(&self, name: &str) -> bool {
        let generic = matches!(&self.sig.elem, ElemTy::Generic(g) if g == name);
        generic
            || matches!(
                name,
                "f64" | "f32" | "Float" | "NumCast" | "FloatConst" | "One" | "Zero"
            )
    }

    fn float_args(&mut self, args: &[&Expr], n: usize, at: &syn::ExprCall) -> Option<Vec<Id>> {
        if args.len() != n {
            self.error_at(at, format!("this function takes {n} argument(s)"));
            return None;
        }
        let mut out = Vec::new();
        for &a in args {
            match self.expr(a) {
                Value::Float(id) => out.push(id),
                Value::Poison => return None,
                v => {
                    self.error_at(a, format!("expected a float, found {}", describe(&v)));
                    return None;
                }
            }
        }
        Some(out)
    }

    /// A call to another `#[derive_grad]` function, through its companion
    /// `NAME_vjp` (see [`CallInfo`]).
    fn derive_grad_call(&mut self, fp: &syn::ExprPath, args: &[&Expr]) -> Value {
        let mut flat = Vec::new();
        let mut layout = Vec::new();
        for &a in args {
            let by_ref = matches!(strip_parens(a), Expr::Reference(_));
            let v = self.expr(a);
            let mut shape = Vec::new();
            if !flatten(&v, &mut flat, &mut shape, 0) {
                if v != Value::Poison {
                    self.error_at(
                        a,
                        format!("arguments of a call to another #[derive_grad] function must be floats or arrays of floats, not {}", describe(&v)),
                    );
                }
                return Value::Poison;
            }
            layout.push((shape, by_ref));
        }
        let mut path = fp.path.clone();
        let last = path.segments.last_mut().unwrap();
        let callee = last.ident.to_string().trim_start_matches("r#").to_owned();
        last.ident = format_ident!("{}_vjp", last.ident, span = last.ident.span());
        let vjp_path: TokenStream = quote!(#path);
        let key = (vjp_path.to_string(), layout.clone());
        let idx = match self
            .g
            .calls
            .iter()
            .position(|ci| (ci.vjp_path.to_string(), ci.args.clone()) == key)
        {
            Some(i) => i,
            None => {
                self.g.calls.push(CallInfo {
                    vjp_path,
                    callee,
                    args: layout,
                });
                self.g.calls.len() - 1
            }
        };
        let id = self.g.node(Op::Call(idx as u32), flat);
        Value::Float(id)
    }
}

fn strip_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip_parens(&p.expr),
        Expr::Group(g) => strip_parens(&g.expr),
        e => e,
    }
}

/// Flattens a float or (rectangular, nested) array value; records its
/// shape. A ragged array (`[x, [x, x]]`) is refused.
fn flatten(v: &Value, out: &mut Vec<Id>, shape: &mut Vec<usize>, depth: usize) -> bool {
    flatten_at(v, out, shape, depth) && conforms(v, shape)
}

/// Whether `v` is exactly an array of `shape` (a float for `[]`).
fn conforms(v: &Value, shape: &[usize]) -> bool {
    match (v, shape.split_first()) {
        (Value::Float(_), None) => true,
        (Value::Array(items), Some((&n, rest))) => {
            items.len() == n && items.iter().all(|i| conforms(i, rest))
        }
        _ => false,
    }
}

fn flatten_at(v: &Value, out: &mut Vec<Id>, shape: &mut Vec<usize>, depth: usize) -> bool {
    match v {
        Value::Float(id) => {
            out.push(*id);
            shape.len() == depth
        }
        Value::Array(items) => {
            if shape.len() == depth {
                shape.push(items.len());
            } else if shape.get(depth) != Some(&items.len()) {
                return false;
            }
            items.iter().all(|i| flatten_at(i, out, shape, depth + 1))
        }
        _ => false,
    }
}

fn supported_methods() -> String {
    let mut names = ops::method_names();
    names.push("powi");
    names.join(" ")
}

/// `PI`, `E`, … of `std::f64::consts` (or `core::`, or `f32`'s, rounded to
/// `f32`). Any other path, a user's own `mod consts` or a `use`d alias,
/// stays as written and is read at run time.
fn known_constant(path: &syn::Path) -> Option<f64> {
    use std::f64::consts::*;
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let [krate, float, consts, name] = segs.as_slice() else {
        return None;
    };
    if !matches!(krate.as_str(), "std" | "core") || consts != "consts" {
        return None;
    }
    let single = match float.as_str() {
        "f64" => false,
        "f32" => true,
        _ => return None,
    };
    let v = match name.as_str() {
        "PI" => PI,
        "TAU" => TAU,
        "E" => E,
        "LN_2" => LN_2,
        "LN_10" => LN_10,
        "LOG2_E" => LOG2_E,
        "LOG10_E" => LOG10_E,
        "SQRT_2" => SQRT_2,
        "FRAC_1_SQRT_2" => FRAC_1_SQRT_2,
        "FRAC_PI_2" => FRAC_PI_2,
        "FRAC_PI_3" => FRAC_PI_3,
        "FRAC_PI_4" => FRAC_PI_4,
        "FRAC_PI_6" => FRAC_PI_6,
        "FRAC_PI_8" => FRAC_PI_8,
        "FRAC_1_PI" => FRAC_1_PI,
        "FRAC_2_PI" => FRAC_2_PI,
        "FRAC_2_SQRT_PI" => FRAC_2_SQRT_PI,
        _ => return None,
    };
    Some(if single { v as f32 as f64 } else { v })
}

/// `i32::MIN`, `u8::MAX`, `u64::BITS`, …
fn int_constant(path: &syn::Path) -> Option<i128> {
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let [ty, name] = segs.as_slice() else {
        return None;
    };
    let ty = int_type(ty)?;
    let (lo, hi) = ty.range();
    match name.as_str() {
        "MIN" => Some(lo),
        "MAX" if ty.bits != 128 || ty.signed => Some(hi),
        "BITS" => Some(ty.bits as i128),
        _ => None,
    }
}

/// A primitive integer type, for Rust's `as` conversions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntTy {
    bits: u32,
    signed: bool,
}

/// The integer type named `name` (`u8`, `usize`, …).
pub fn int_type(name: &str) -> Option<IntTy> {
    let (signed, bits) = match name {
        "u8" => (false, 8),
        "u16" => (false, 16),
        "u32" => (false, 32),
        "u64" | "usize" => (false, 64),
        "u128" => (false, 128),
        "i8" => (true, 8),
        "i16" => (true, 16),
        "i32" => (true, 32),
        "i64" | "isize" => (true, 64),
        "i128" => (true, 128),
        _ => return None,
    };
    Some(IntTy { bits, signed })
}

impl IntTy {
    /// `v as Self` for an integer `v`: keep the low bits, read them with
    /// this type's sign (values beyond `i128` do not occur: literals are
    /// parsed as `i128` and `u128` is not supported beyond it).
    pub fn wrap(self, v: i128) -> i128 {
        if self.bits == 128 {
            return if self.signed || v >= 0 { v } else { i128::MAX };
        }
        let modulus = 1i128 << self.bits;
        let low = v.rem_euclid(modulus);
        if self.signed && low >= modulus / 2 {
            low - modulus
        } else {
            low
        }
    }

    /// The smallest and largest value.
    pub fn range(self) -> (i128, i128) {
        match (self.signed, self.bits) {
            (true, 128) => (i128::MIN, i128::MAX),
            (false, 128) => (0, i128::MAX),
            (true, b) => (-(1i128 << (b - 1)), (1i128 << (b - 1)) - 1),
            (false, b) => (0, (1i128 << b) - 1),
        }
    }

    /// `v as Self` for a float `v`: truncated toward zero, saturating at
    /// the type's bounds, NaN to 0.
    pub fn saturate(self, v: f64) -> i128 {
        let (lo, hi) = self.range();
        if v.is_nan() {
            0
        } else if v <= lo as f64 {
            lo
        } else if v >= hi as f64 {
            // `hi as f64` rounds up to 2^bits − 1 + 1 for 64 bits and more.
            hi
        } else {
            v.trunc() as i128
        }
    }
}

/// `F::one()`, `F::zero()`, … of `num_traits::Float`.
fn float_associated_constant(name: &str) -> Option<f64> {
    Some(match name {
        "zero" => 0.0,
        "one" => 1.0,
        "infinity" => f64::INFINITY,
        "neg_infinity" => f64::NEG_INFINITY,
        "nan" => f64::NAN,
        "neg_zero" => -0.0,
        _ => return None,
    })
}
