//! Rolled loops: a `for` loop over a range whose bounds are known only at
//! run time, or that runs too many times to unroll, is lowered once into a
//! loop region (see [`crate::graph::region`]) instead of once per
//! iteration. The variables the body assigns become the loop's carried
//! values; run-time indices into array parameters become [`Op::Load`]s.

use syn::visit::Visit;
use syn::Expr;

use crate::graph::{Id, Kind, Op};
use crate::signature::{ParamKind, NAMED_LEN};

use super::*;

/// Loops with compile-time bounds and at most this many iterations are
/// unrolled into straight-line code (which the compiler can fuse and the
/// optimizer can schedule freely); longer ones, and loops with run-time
/// bounds, stay loops. The choice never changes a result: both forms
/// compute the same operations in the same order.
pub const UNROLL_MAX_TRIPS: i128 = 16;

/// The parts of `lo..hi`, `lo..=hi` or `(lo..hi).rev()`.
pub(super) struct RangeParts<'e> {
    pub lo: &'e Expr,
    pub hi: &'e Expr,
    pub inclusive: bool,
    pub reversed: bool,
}

/// Recognizes a range, perhaps reversed, syntactically.
pub(super) fn range_parts(e: &Expr) -> Option<RangeParts<'_>> {
    match strip_parens(e) {
        Expr::Range(r) => Some(RangeParts {
            lo: r.start.as_deref()?,
            hi: r.end.as_deref()?,
            inclusive: matches!(r.limits, syn::RangeLimits::Closed(_)),
            reversed: false,
        }),
        Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() => {
            let mut inner = range_parts(&m.receiver)?;
            inner.reversed = !inner.reversed;
            Some(inner)
        }
        _ => None,
    }
}

/// The names a block assigns (`x = …`, `x += …`, `x[i] = …`), in order of
/// first assignment.
fn assigned_names(block: &syn::Block) -> Vec<String> {
    let mut a = Assignments::default();
    a.visit_block(block);
    let mut names: Vec<String> = Vec::new();
    for (name, _) in a.0 {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Every assignment (`x = …`, `x += …`, `x[i] = …`) in what it visits, in
/// order: the name assigned and where.
#[derive(Default)]
pub(super) struct Assignments(pub Vec<(String, proc_macro2::Span)>);

impl Assignments {
    fn target(&mut self, mut e: &Expr) {
        loop {
            match e {
                Expr::Index(i) => e = &i.expr,
                Expr::Paren(p) => e = &p.expr,
                Expr::Unary(u) => e = &u.expr,
                Expr::Path(p) => {
                    if let Some(id) = p.path.get_ident() {
                        self.0.push((id.to_string(), id.span()));
                    }
                    return;
                }
                _ => return,
            }
        }
    }
}

impl<'ast> Visit<'ast> for Assignments {
    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        self.target(&a.left);
        syn::visit::visit_expr_assign(self, a);
    }
    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        use syn::BinOp::*;
        if matches!(
            b.op,
            AddAssign(_)
                | SubAssign(_)
                | MulAssign(_)
                | DivAssign(_)
                | RemAssign(_)
                | BitXorAssign(_)
                | BitAndAssign(_)
                | BitOrAssign(_)
                | ShlAssign(_)
                | ShrAssign(_)
        ) {
            self.target(&b.left);
        }
        syn::visit::visit_expr_binary(self, b);
    }
}

/// Why a loop could not be rolled.
enum NotRolled {
    /// Nothing said yet: the caller states the general rule (or unrolls).
    Unsaid,
    /// A variable it changes holds a value a loop cannot carry; the
    /// message names it and says what to write.
    Carries(String),
    /// A variable it changes holds a value whose error was reported
    /// already: one error per cause.
    Reported,
}

/// What a rolled loop runs over.
#[derive(Clone, Copy)]
enum Header<'e> {
    /// `for var in lo..hi` (or `lo..=hi`, reversed).
    Range {
        lo: Id,
        hi: Id,
        reversed: bool,
        inclusive: bool,
    },
    /// `while cond`.
    While { cond: &'e Expr },
}

impl Lowerer<'_> {
    /// Lowers `f` as a rolled loop over `lo..hi` (or `lo..=hi`). With
    /// `fallback`, a loop that cannot be rolled leaves no trace and `None`
    /// is returned, so the caller unrolls it; without, its errors stand.
    pub(super) fn rolled_for(
        &mut self,
        f: &syn::ExprForLoop,
        (lo, hi): (Value, Value),
        range: &RangeParts,
        fallback: bool,
    ) -> Option<Value> {
        let scopes = self.scopes.clone();
        let errors = self.errors.len();
        let reported = self.reported.clone();
        let region = self.g.current;
        let why = match self.try_rolled_for(f, lo, hi, range) {
            Ok(v) if self.errors.len() == errors => return Some(v),
            Ok(_) => NotRolled::Reported,
            Err(why) => why,
        };
        // A loop left half-built is dead code: its nodes are never reached
        // from the output.
        self.g.current = region;
        self.scopes = scopes;
        if fallback {
            self.errors.truncate(errors);
            self.reported = reported;
            return None;
        }
        if self.errors.len() == errors {
            self.report_not_rolled(why, f, "this loop cannot stay a loop, and it cannot be written out either (its bounds are known only at run time, or it can `break`): a loop that stays a loop may change floats, integers, bools and arrays of floats declared before it, each keeping its type, not tuples or other values");
        }
        Some(Value::Poison)
    }

    fn try_rolled_for(
        &mut self,
        f: &syn::ExprForLoop,
        lo: Value,
        hi: Value,
        range: &RangeParts,
    ) -> Result<Value, NotRolled> {
        let var_name = match &*f.pat {
            syn::Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                Some(pi.ident.to_string())
            }
            syn::Pat::Wild(_) => None,
            _ => return Err(NotRolled::Unsaid),
        };
        // A literal bound is written as the user wrote it, suffix included
        // (`0..1_000_000u64`): its type is part of the loop's meaning.
        let bound = |lw: &mut Self, e: &Expr, v: &Value| match strip_parens(e) {
            Expr::Lit(lit) if matches!(v, Value::Int(_)) => {
                Some(lw.rt_int(quote::ToTokens::to_token_stream(lit)))
            }
            _ => lw.int_node(v),
        };
        let (Some(lo), Some(hi)) = (bound(self, range.lo, &lo), bound(self, range.hi, &hi)) else {
            return Err(NotRolled::Unsaid);
        };
        self.try_rolled(
            &f.body,
            var_name,
            Header::Range {
                lo,
                hi,
                reversed: range.reversed,
                inclusive: range.inclusive,
            },
        )
    }

    /// Lowers `while cond { body }`: always a loop (its trip count is known
    /// only at run time), counted for its reverse.
    pub(super) fn while_loop(&mut self, w: &syn::ExprWhile) -> Value {
        if let Some(label) = &w.label {
            return self.error_at(label, super::control::LABELLED_LOOP);
        }
        let scopes = self.scopes.clone();
        let errors = self.errors.len();
        let region = self.g.current;
        let why = match self.try_rolled(&w.body, None, Header::While { cond: &w.cond }) {
            Ok(v) if self.errors.len() == errors => return v,
            Ok(_) => NotRolled::Reported,
            Err(why) => why,
        };
        self.g.current = region;
        self.scopes = scopes;
        if self.errors.len() == errors {
            self.report_not_rolled(why, &w.while_token, "this `while` loop cannot be lowered: a loop may change floats, integers, bools and arrays of floats declared before it, each keeping its type, not tuples or other values");
        }
        Value::Poison
    }

    /// Reports at `at` why a loop could not stay a loop: its own message,
    /// or the `general` rule, or nothing when an error was reported already.
    fn report_not_rolled<T: ToTokens + ?Sized>(&mut self, why: NotRolled, at: &T, general: &str) {
        match why {
            NotRolled::Carries(message) => self.error_at(at, message),
            NotRolled::Unsaid => self.error_at(at, general),
            NotRolled::Reported => Value::Poison,
        };
    }

    /// A rolled loop over `header`, with body `body`.
    fn try_rolled(
        &mut self,
        body: &syn::Block,
        var_name: Option<String>,
        header: Header,
    ) -> Result<Value, NotRolled> {
        // The variables declared before the loop that its body assigns.
        let mut carried: Vec<(String, Id)> = Vec::new();
        let mut kinds = Vec::new();
        let mut shapes = Vec::new();
        // For a carried `vec!`, its length.
        let mut vec_lens: Vec<Option<Id>> = Vec::new();
        for name in assigned_names(body) {
            let before = carried.len();
            match self.lookup(&name).map(|b| b.value.clone()) {
                Some(Value::Float(id)) => {
                    carried.push((name, id));
                    kinds.push(Kind::Float);
                    shapes.push(Vec::new());
                }
                None => {}
                // A `vec!` the loop writes: carried like an array.
                Some(Value::Slice { buf, len, .. }) => {
                    self.name_storage(buf, &name);
                    carried.push((name, buf));
                    kinds.push(Kind::Buffer);
                    shapes.push(Vec::new());
                    vec_lens.push(Some(len));
                    continue;
                }
                // An array the loop writes lives in memory.
                Some(v @ (Value::Array(_) | Value::Buffer { .. })) => {
                    let Some(Value::Buffer { buf, shape, .. }) = self.in_memory(&v) else {
                        return Err(NotRolled::Unsaid);
                    };
                    self.name_storage(buf, &name);
                    carried.push((name, buf));
                    kinds.push(Kind::Buffer);
                    shapes.push(shape);
                }
                // An integer the loop changes (a counter of a `while`):
                // its value at the start of each iteration is recorded for
                // the reverse.
                Some(v @ (Value::Int(_) | Value::RtInt(_))) => {
                    let Some(id) = self.int_node(&v) else {
                        return Err(NotRolled::Unsaid);
                    };
                    carried.push((name, id));
                    kinds.push(Kind::Int);
                    shapes.push(Vec::new());
                }
                // A flag the loop sets (`found = true`): like an integer,
                // its value at the start of each iteration is recorded
                // for the reverse.
                Some(Value::Bool(id)) => {
                    carried.push((name, id));
                    kinds.push(Kind::Bool);
                    shapes.push(Vec::new());
                }
                Some(Value::Poison) if !self.errors.is_empty() => return Err(NotRolled::Reported),
                Some(Value::Range { .. } | Value::IntSlice { .. }) => {
                    return Err(NotRolled::Carries(format!(
                        "`{name}` is a range of a slice, which a loop that stays a loop cannot change (`{name} = &{name}[1..];`): keep where it starts in an integer (`let mut start = 0;`, `start += 1;`) and read the slice at `start + i`"
                    )));
                }
                Some(_) => return Err(NotRolled::Unsaid),
            }
            if carried.len() > before {
                vec_lens.push(None);
            }
        }
        let (reversed, inclusive) = match header {
            Header::Range {
                reversed,
                inclusive,
                ..
            } => (reversed, inclusive),
            Header::While { .. } => (false, false),
        };
        let (l, var, at_start) = self.g.begin_loop(kinds.clone(), reversed, inclusive);
        {
            let info = &mut self.g.loops[l as usize];
            info.names = carried
                .iter()
                .map(|(n, _)| Some(n.trim_start_matches("r#").to_owned()))
                .collect();
            info.var_name = var_name
                .as_ref()
                .map(|n| n.trim_start_matches("r#").to_owned());
        }
        for (k, ((name, _), &c)) in carried.iter().zip(&at_start).enumerate() {
            self.lookup_mut(name).expect("looked up above").value = match kinds[k] {
                Kind::Buffer if vec_lens[k].is_some() => Value::Slice {
                    buf: c,
                    len: vec_lens[k].expect("a vec"),
                    inner: Vec::new(),
                },
                Kind::Buffer => Value::Buffer {
                    buf: c,
                    index: Vec::new(),
                    shape: shapes[k].clone(),
                },
                Kind::Int => Value::RtInt(c),
                Kind::Bool => Value::Bool(c),
                _ => Value::Float(c),
            };
        }
        self.scopes.push(Scope::new());
        if let Some(name) = &var_name {
            self.bind(name.clone(), Value::RtInt(var));
        }
        // Nothing in the body runs under the condition of an `if` around
        // the loop: the whole loop does (below).
        let outer_guard = self.g.guard.take();
        let (lo, hi) = match header {
            Header::Range { lo, hi, .. } => (lo, hi),
            Header::While { cond } => {
                self.g.loops[l as usize].is_while = true;
                if let Some(c) = self.condition(cond) {
                    self.g.loops[l as usize].cond = Some(c);
                }
                let zero = self.g.node(Op::IntConst(0), vec![]);
                (zero, zero)
            }
        };
        self.rolled_depth += 1;
        self.loops.push(LoopCtx {
            rolled: true,
            exit: None,
        });
        self.block_stmts(&body.stmts, Position::LoopBody);
        let exit = self.loops.pop().and_then(|c| c.exit);
        self.rolled_depth -= 1;
        self.scopes.pop();
        self.g.guard = outer_guard;
        {
            let info = &mut self.g.loops[l as usize];
            info.exit = exit;
            info.guard = outer_guard;
        }
        let mut yields = Vec::new();
        for (k, (name, _)) in carried.iter().enumerate() {
            let v = self.lookup(name).map(|b| b.value.clone());
            match (kinds[k], v) {
                (Kind::Buffer, Some(Value::Slice { buf, .. })) if vec_lens[k].is_some() => {
                    yields.push(buf)
                }
                (Kind::Float, Some(Value::Float(id))) | (Kind::Bool, Some(Value::Bool(id))) => {
                    yields.push(id)
                }
                (Kind::Int, Some(v @ (Value::Int(_) | Value::RtInt(_)))) => match self.int_node(&v)
                {
                    Some(id) => yields.push(id),
                    None => return Err(NotRolled::Unsaid),
                },
                (Kind::Buffer, Some(v @ (Value::Array(_) | Value::Buffer { .. }))) => {
                    match self.in_memory(&v) {
                        Some(Value::Buffer { buf, shape, .. }) if shape == shapes[k] => {
                            yields.push(buf)
                        }
                        _ => return Err(NotRolled::Unsaid),
                    }
                }
                (_, Some(Value::Poison)) if !self.errors.is_empty() => {
                    return Err(NotRolled::Reported)
                }
                _ => return Err(NotRolled::Unsaid),
            }
        }
        let inits = carried.iter().map(|(_, id)| *id).collect();
        let (_, outs) = self.g.finish_loop(l, lo, hi, inits, yields);
        for (k, ((name, _), out)) in carried.iter().zip(outs).enumerate() {
            self.lookup_mut(name).expect("looked up above").value = match kinds[k] {
                Kind::Buffer if vec_lens[k].is_some() => Value::Slice {
                    buf: out,
                    len: vec_lens[k].expect("a vec"),
                    inner: Vec::new(),
                },
                Kind::Buffer => Value::Buffer {
                    buf: out,
                    index: Vec::new(),
                    shape: shapes[k].clone(),
                },
                Kind::Int => Value::RtInt(out),
                Kind::Bool => Value::Bool(out),
                _ => Value::Float(out),
            };
        }
        Ok(Value::Unit)
    }

    /// The part of an array parameter that `v` is, if it is one whole
    /// sub-array of a parameter's original elements (`w`, or `w[2]` of
    /// `w: [[f64; 4]; 3]`): the parameter's buffer, the leading indices and
    /// the shape left.
    pub(super) fn param_view(&mut self, v: &Value) -> Option<(Id, Vec<Id>, Vec<usize>)> {
        fn leaves(v: &Value, out: &mut Vec<(u32, u32)>, g: &crate::graph::Graph) -> bool {
            match v {
                Value::Float(id) => match g.get(*id).op {
                    Op::Param { param, index } => {
                        out.push((param, index));
                        true
                    }
                    _ => false,
                },
                Value::Array(items) => items.iter().all(|i| leaves(i, out, g)),
                _ => false,
            }
        }
        let mut depth = 0;
        let mut cur = v;
        while let Value::Array(items) = cur {
            depth += 1;
            cur = items.first()?;
        }
        let mut found = Vec::new();
        if depth == 0 || !leaves(v, &mut found, &self.g) {
            return None;
        }
        let (param, base) = found[0];
        let ParamKind::Float { shape } = &self.sig.params[param as usize].kind else {
            return None;
        };
        let rest = shape.get(shape.len().checked_sub(depth)?..)?.to_vec();
        let len: usize = rest.iter().product();
        let consecutive = found.len() == len
            && found
                .iter()
                .enumerate()
                .all(|(t, &(p, i))| p == param && i as usize == base as usize + t);
        if !consecutive || len == 0 || base as usize % len != 0 {
            return None;
        }
        // The leading indices, from the flat offset of the sub-array.
        let lead = self
            .g
            .index_consts(base as usize / len, &shape[..shape.len() - depth]);
        self.g.array_params.insert(param, shape.clone());
        let buf = self.g.node(Op::ArrayParam(param), vec![]);
        Some((buf, lead, rest))
    }

    /// Indexes a buffer's part with one more (run-time or compile-time)
    /// index: a smaller part, or an element read.
    pub(super) fn index_view(
        &mut self,
        buf: Id,
        mut index: Vec<Id>,
        shape: Vec<usize>,
        i: Id,
    ) -> Value {
        index.push(i);
        if shape.len() > 1 {
            return Value::Buffer {
                buf,
                index,
                shape: shape[1..].to_vec(),
            };
        }
        let mut args = vec![buf];
        args.extend(index);
        Value::Float(self.g.node(Op::Load, args))
    }

    /// The elements of a buffer's part, as an array of reads (`at` is
    /// the expression using it whole).
    pub(super) fn materialize(&mut self, v: Value, at: &dyn ToTokens) -> Value {
        match v {
            Value::Buffer { shape, .. } if shape.contains(&NAMED_LEN) => self.error_at(
                at,
                "a row of an array whose length is a named constant is only read element by element: index it (`for i in 0..INPUTS { … w[j][i] … }`)",
            ),
            Value::Buffer { buf, index, shape } => {
                let n = shape[0];
                let items = (0..n)
                    .map(|k| {
                        let i = self.g.node(Op::IntConst(k as i64), vec![]);
                        let part = self.index_view(buf, index.clone(), shape.clone(), i);
                        self.materialize(part, at)
                    })
                    .collect();
                Value::Array(items)
            }
            v => v,
        }
    }

    /// The length of dimension `depth` (0: the outermost) of a slice
    /// parameter's element when it is a named constant: that name, read at
    /// run time.
    pub(super) fn named_len(&mut self, buf: Id, depth: usize) -> Id {
        let Op::ArrayParam(p) = self.g.get(buf).op else {
            unreachable!("only a parameter's type names lengths")
        };
        let ParamKind::Slice { inner_written, .. } = &self.sig.params[p as usize].kind else {
            unreachable!("a parameter with a named length is read as a slice")
        };
        let len = inner_written[depth - 1].clone();
        self.rt_int(quote::quote!(#len))
    }

    /// Gives the memory of a local array the user's name (for `let mut h`
    /// and its adjoint `d_h` in the generated code).
    pub(super) fn name_storage(&mut self, buf: Id, name: &str) {
        let root = self.g.storage(buf);
        if self.g.names[root.index()].is_none() {
            self.g.names[root.index()] = Some(name.trim_start_matches("r#").to_owned());
        }
    }

    /// A local array as a buffer (so it can be written at run-time
    /// indices), or `None` if it is not a rectangular array of floats.
    pub(super) fn in_memory(&mut self, v: &Value) -> Option<Value> {
        match v {
            Value::Buffer { index, .. } if index.is_empty() => Some(v.clone()),
            Value::Array(_) => {
                let (mut flat, mut shape) = (Vec::new(), Vec::new());
                if !call::flatten(v, &mut flat, &mut shape, 0) {
                    return None;
                }
                let k = self.g.shape_index(&shape);
                let buf = self.g.node(Op::NewArray(k), flat);
                Some(Value::Buffer {
                    buf,
                    index: Vec::new(),
                    shape,
                })
            }
            _ => None,
        }
    }
}
