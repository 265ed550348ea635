//! Control flow: run-time `if` as `select` (what can panic in a branch runs
//! under its condition), `continue`/`break` as branches, and `for` loops:
//! unrolled here, or handed to `rolled` to stay loops.

use syn::Expr;

use crate::graph::{Id, Op};

use super::*;

/// A jump out of a loop body's iteration.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Jump {
    Continue,
    Break,
}

/// Whether a loop body has a `break` of its own (not one of an inner loop).
fn has_break(body: &syn::Block) -> bool {
    super::jumps::own_jumps(&body.stmts).0.brk
}

/// `Some` if `branch` is `if c { …; continue; }` or `if c { …; break; }`
/// (no `else`, no label, no value): the form a loop body may jump in.
/// Whether `if c { …; return v; }` (no `else`) ends the function early.
pub(super) fn returns_early(branch: &syn::ExprIf) -> bool {
    branch.else_branch.is_none()
        && matches!(branch.then_branch.stmts.last(), Some(syn::Stmt::Expr(Expr::Return(r), _)) if r.expr.is_some())
}

pub(super) fn loop_jump(branch: &syn::ExprIf) -> Option<Jump> {
    if branch.else_branch.is_some() {
        return None;
    }
    match branch.then_branch.stmts.last()? {
        syn::Stmt::Expr(Expr::Continue(c), _) if c.label.is_none() => Some(Jump::Continue),
        syn::Stmt::Expr(Expr::Break(b), _) if b.label.is_none() && b.expr.is_none() => {
            Some(Jump::Break)
        }
        _ => None,
    }
}

/// The error at a loop's label: what to write instead.
pub(super) const LABELLED_LOOP: &str = "labelled loops (`'outer: for …`) are not supported: to leave several loops at once, set a flag and `break` out of each in turn (`done = true; break;` inside, `if done { break; }` after the inner loop)";

impl Lowerer<'_> {
    // ---------------------------------------------------------- control flow

    /// The bool node of a condition (`if`, `while`), or `None` after
    /// reporting why it is not one.
    pub(super) fn condition(&mut self, cond: &Expr) -> Option<Id> {
        match self.expr(cond) {
            Value::Bool(c) => Some(c),
            Value::Poison => None,
            other => {
                self.error_at(
                    cond,
                    format!(
                        "the condition must be a comparison or a bool, not {}",
                        describe(&other)
                    ),
                );
                None
            }
        }
    }

    pub(super) fn if_expr(&mut self, i: &syn::ExprIf) -> Value {
        let Some(cond) = self.condition(&i.cond) else {
            return Value::Poison;
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
        self.runtime_branches(
            cond,
            i,
            |lw| lw.block(&i.then_branch),
            |lw| match &i.else_branch {
                Some((_, e)) => lw.expr(e),
                None => Value::Unit,
            },
        )
    }

    /// `if c { A; return a; } rest` at the end of the function is
    /// `if c { A; a } else { rest }`: both paths end the function.
    pub(super) fn early_return(&mut self, i: &syn::ExprIf, rest: &[syn::Stmt]) -> Value {
        let Some(cond) = self.condition(&i.cond) else {
            return Value::Poison;
        };
        let then = |lw: &mut Self| {
            lw.scopes.push(Scope::new());
            let v = lw.block_stmts(&i.then_branch.stmts, Position::FunctionTail);
            lw.scopes.pop();
            v
        };
        // Each path gets a scope of its own: what one binds, the other
        // never sees (both end the function).
        let otherwise = |lw: &mut Self| {
            lw.scopes.push(Scope::new());
            lw.early_return_depth += 1;
            let v = lw.block_stmts(rest, Position::FunctionTail);
            lw.early_return_depth -= 1;
            lw.scopes.pop();
            v
        };
        match self.g.as_bool(cond) {
            Some(true) => then(self),
            Some(false) => otherwise(self),
            None => self.runtime_branches(cond, i, then, otherwise),
        }
    }

    /// Lowers both branches of a run-time `if` on `cond` (each under its
    /// condition) and merges what they leave with `select`.
    fn runtime_branches(
        &mut self,
        cond: Id,
        i: &syn::ExprIf,
        then: impl FnOnce(&mut Self) -> Value,
        otherwise: impl FnOnce(&mut Self) -> Value,
    ) -> Value {
        let saved = self.scopes.clone();
        let before = self.g.len();
        // What can panic in a branch runs only when the branch is taken.
        let outer_guard = self.g.guard;
        let not_cond = self.g.node(Op::Not, vec![cond]);
        let guard_then = self.and_guard(outer_guard, cond);
        let guard_else = self.and_guard(outer_guard, not_cond);
        self.g.guard = Some(guard_then);
        let then_v = then(self);
        let then_scopes = std::mem::replace(&mut self.scopes, saved);
        // Memory the `then` branch wrote (under its condition, so not when
        // the `else` branch runs) is where the `else` branch reads and
        // writes: one chain of writes, each guarded by its branch. The
        // values before the `if` of what the `then` branch changed are
        // kept for the merge.
        let mut changed_from: Vec<HashMap<String, Value>> = vec![HashMap::new(); self.scopes.len()];
        for (level, scope) in self.scopes.iter_mut().enumerate() {
            for (name, binding) in scope.iter_mut() {
                let Some(t) = then_scopes[level].get(name) else {
                    continue;
                };
                if t.value == binding.value {
                    continue;
                }
                changed_from[level].insert(name.clone(), binding.value.clone());
                if written_in_place(&self.g, &binding.value, &t.value, before) {
                    binding.value = t.value.clone();
                }
            }
        }
        self.g.guard = Some(guard_else);
        let else_v = otherwise(self);
        self.g.guard = outer_guard;
        let else_scopes = std::mem::take(&mut self.scopes);
        let mut merged = else_scopes.clone();
        for (level, scope) in merged.iter_mut().enumerate() {
            // In the order of the names, not the map's (random per run):
            // the merges' nodes, and so the emitted code, are the same at
            // every build.
            let mut names: Vec<String> = scope.keys().cloned().collect();
            names.sort_unstable();
            for name in &names {
                let binding = scope.get_mut(name).expect("a key of the scope");
                let t = &then_scopes[level][name].value;
                let before_if = changed_from[level].get(name).unwrap_or(t);
                // Memory: the end of the chain of both branches' writes.
                // (An array moved into memory by the `else` branch chains
                // only if the `then` branch left it as it was.)
                let unchanged = memory_of(t).is_some() || before_if == t;
                let chained = unchanged && written_in_place(&self.g, t, &binding.value, before);
                // The `then` branch changed elements at fixed indices, the
                // `else` branch moved the array into memory and wrote it:
                // the `then` branch's elements are written into that
                // memory under its condition, continuing the chain.
                if !chained {
                    if let Some(Value::Buffer { buf, index, shape }) =
                        self.then_writes_after(before_if, t, &binding.value, before, guard_then)
                    {
                        binding.value = Value::Buffer { buf, index, shape };
                        continue;
                    }
                }
                if *t != binding.value && !chained {
                    binding.value = self.merge(cond, t.clone(), binding.value.clone(), i, name);
                }
            }
        }
        self.scopes = merged;
        self.merge(cond, then_v, else_v, i, "the `if` expression")
    }

    /// For an array `pre` before a run-time `if`, `then` after its `then`
    /// branch (changed at fixed indices, not in memory) and `after_else`
    /// after its `else` branch (moved into memory there and written): the
    /// memory with the `then` branch's changed elements written into it
    /// under `guard_then` (when the `then` branch runs, the `else` branch's
    /// writes do not, and the memory holds `pre`).
    fn then_writes_after(
        &mut self,
        pre: &Value,
        then: &Value,
        after_else: &Value,
        since: usize,
        guard_then: Id,
    ) -> Option<Value> {
        if !matches!((pre, then), (Value::Array(_), Value::Array(_)))
            || !written_in_place(&self.g, pre, after_else, since)
        {
            return None;
        }
        let Value::Buffer { buf, index, shape } = after_else else {
            return None;
        };
        let (mut was, mut now) = (Vec::new(), Vec::new());
        let (mut shape_was, mut shape_now) = (Vec::new(), Vec::new());
        if !call::flatten(pre, &mut was, &mut shape_was, 0)
            || !call::flatten(then, &mut now, &mut shape_now, 0)
            || shape_was != shape_now
            || shape_now != *shape
        {
            return None;
        }
        let saved = self.g.guard.replace(guard_then);
        let mut buf = *buf;
        for (j, (&a, &b)) in was.iter().zip(&now).enumerate() {
            if a != b {
                let mut args = vec![buf];
                args.extend(self.g.index_consts(j, shape));
                args.push(b);
                buf = self.g.node(Op::Store, args);
            }
        }
        self.g.guard = saved;
        Some(Value::Buffer {
            buf,
            index: index.clone(),
            shape: shape.clone(),
        })
    }

    /// `if c { A; continue; } rest` as `if c { A } else { rest }`, and the
    /// same with `break`, which also ends the loop after this iteration
    /// when `c` holds.
    pub(super) fn jump_branch(&mut self, branch: &syn::ExprIf, jump: Jump, rest: &[syn::Stmt]) {
        let then_stmts = &branch.then_branch.stmts[..branch.then_branch.stmts.len() - 1];
        let in_rolled = self.loops.last().is_some_and(|l| l.rolled);
        if jump == Jump::Break && !in_rolled {
            self.error_at(&branch.then_branch.stmts[then_stmts.len()], "`break` here is in a loop that is written out iteration by iteration; it is supported in `while` loops and in `for` loops that stay loops");
            return;
        }
        let record_exit = |lw: &mut Self| {
            if jump == Jump::Break {
                let here = match lw.g.guard {
                    Some(c) => c,
                    None => lw.g.node(Op::BoolConst(true), vec![]),
                };
                let ctx = lw.loops.last_mut().expect("in a loop");
                let previous = ctx.exit;
                let exit = match previous {
                    Some(e) => lw.g.node(Op::Or, vec![e, here]),
                    None => here,
                };
                lw.loops.last_mut().expect("in a loop").exit = Some(exit);
            }
        };
        let Some(cond) = self.condition(&branch.cond) else {
            return;
        };
        if let Some(c) = self.g.as_bool(cond) {
            if c {
                self.scopes.push(Scope::new());
                self.block_stmts(then_stmts, Position::Inner);
                self.scopes.pop();
                record_exit(self);
            } else {
                self.block_stmts(rest, Position::LoopBody);
            }
            return;
        }
        self.runtime_branches(
            cond,
            branch,
            |lw| {
                lw.scopes.push(Scope::new());
                lw.block_stmts(then_stmts, Position::Inner);
                lw.scopes.pop();
                record_exit(lw);
                Value::Unit
            },
            |lw| {
                lw.scopes.push(Scope::new());
                lw.block_stmts(rest, Position::LoopBody);
                lw.scopes.pop();
                Value::Unit
            },
        );
    }

    /// `outer && c`: the condition of a branch inside another.
    fn and_guard(&mut self, outer: Option<Id>, c: Id) -> Id {
        match outer {
            Some(o) => self.g.node(Op::And, vec![o, c]),
            None => c,
        }
    }

    pub(super) fn merge(
        &mut self,
        c: Id,
        t: Value,
        e: Value,
        at: &syn::ExprIf,
        what: &str,
    ) -> Value {
        // A variable's name in backticks; "the `if` expression" as it is.
        let subject = if what.contains(' ') {
            what.to_owned()
        } else {
            format!("`{what}`")
        };
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
            // Integers of a loop that stays a loop (a counter a `break`
            // skips): picked at run time.
            (a @ (Value::Int(_) | Value::RtInt(_)), b @ (Value::Int(_) | Value::RtInt(_)))
                if matches!(a, Value::RtInt(_)) || matches!(b, Value::RtInt(_)) =>
            {
                match (self.int_node(&a), self.int_node(&b)) {
                    (Some(a), Some(b)) => Value::RtInt(self.g.select(c, a, b)),
                    _ => self.error_at(&at.if_token, "this index does not fit in 64 bits"),
                }
            }
            // Two ranges of one slice (`if c { &w[..k] } else { &w[k..] }`):
            // where it starts and its length picked at run time (each
            // branch's range checked only when that branch is taken).
            (
                Value::Range {
                    buf,
                    start: s1,
                    len: l1,
                    inner,
                },
                Value::Range {
                    buf: buf2,
                    start: s2,
                    len: l2,
                    inner: inner2,
                },
            ) if buf == buf2 && inner == inner2 => Value::Range {
                buf,
                start: self.g.select(c, s1, s2),
                len: self.g.select(c, l1, l2),
                inner,
            },
            (Value::Range { .. }, Value::Range { .. }) => self.error_at(
                &at.if_token,
                format!("{subject} is a range of a different slice in each branch of this run-time `if`: a range picked at run time is supported between ranges of the same slice; index the slices in each branch instead"),
            ),
            (Value::Int(_), Value::Int(_)) => self.error_at(
                &at.if_token,
                format!("{subject} is an integer that this run-time `if` sets differently in its branches; integers must be known at compile time (they index arrays); use a float instead"),
            ),
            (Value::Array(_), Value::Buffer { .. }) => self.error_at(
                &at.if_token,
                format!("`{what}` is an array held in memory (written at run-time indices) after one branch of this run-time `if`, and a whole other array assigned to it after the other: write the new values into its elements (`{what}[k] = …`) instead of assigning a whole array, or compute the values with `if` expressions and assign them after"),
            ),
            _ => self.error_at(&at.if_token, format!("{subject} has different kinds of values in the two branches")),
        }
    }

    pub(super) fn for_loop(&mut self, f: &syn::ExprForLoop) -> Value {
        if let Some(label) = &f.label {
            return self.error_at(label, LABELLED_LOOP);
        }
        if let Some(v) = self.chain_for(f) {
            return v;
        }
        if let Some(range) = rolled::range_parts(&f.expr) {
            let lo = self.int_expr(range.lo);
            let hi = self.int_expr(range.hi);
            match (&lo, &hi) {
                (Value::Poison, _) | (_, Value::Poison) => return Value::Poison,
                (Value::Int(a), Value::Int(b)) => {
                    let trips = b.saturating_sub(*a).saturating_add(range.inclusive as i128);
                    // A loop that can `break` stays a loop: where it stops
                    // is known only at run time.
                    if has_break(&f.body) {
                        return self
                            .rolled_for(f, (lo, hi), &range, false)
                            .unwrap_or(Value::Poison);
                    }
                    if trips > self.unroll_max_trips {
                        // A loop too long to unroll keeps the reasons it
                        // could not stay a loop.
                        let fallback = trips <= MAX_NODES as i128;
                        if let Some(v) = self.rolled_for(f, (lo, hi), &range, fallback) {
                            return v;
                        }
                    }
                }
                (Value::Int(_) | Value::RtInt(_), Value::Int(_) | Value::RtInt(_)) => {
                    return self
                        .rolled_for(f, (lo, hi), &range, false)
                        .unwrap_or(Value::Poison);
                }
                _ => {}
            }
        }
        let Some(items) = self.loop_items(&f.expr) else {
            return Value::Poison;
        };
        let errors_before = self.errors.len();
        for item in items {
            if !self.check_budget(f.for_token.span) {
                return Value::Poison;
            }
            self.scopes.push(Scope::new());
            self.bind_pattern(&f.pat, item);
            self.loops.push(LoopCtx {
                rolled: false,
                exit: None,
            });
            self.block_stmts(&f.body.stmts, Position::LoopBody);
            self.loops.pop();
            self.scopes.pop();
            // The rest of an erroneous loop would only repeat the error
            // (one per cause), after minutes of unrolling a large one.
            if self.errors.len() > errors_before {
                return Value::Poison;
            }
        }
        Value::Unit
    }

    /// The values a `for` loop iterates over, all known at compile time.
    pub(super) fn loop_items(&mut self, e: &Expr) -> Option<Vec<Value>> {
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
                // (Compared as i128: `0..=u64::MAX` has 2^64 items, which
                // `as u64` would wrap to 0.)
                let len = hi.and_then(|hi| hi.checked_sub(lo)).map(|n| n.max(0));
                match (hi, len) {
                    (Some(hi), Some(len)) if len <= MAX_NODES as i128 => {
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
                v @ Value::Buffer { .. } => match self.materialize(v, other) {
                    Value::Array(items) => Some(items),
                    _ => None,
                },
                Value::Poison => None,
                Value::Slice { .. } => {
                    self.error_at(other, call::SLICE_USE);
                    None
                }
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
}

/// The buffer of an array in memory as a whole (written in place).
fn memory_of(v: &Value) -> Option<Id> {
    match v {
        Value::Buffer { buf, index, .. } if index.is_empty() => Some(*buf),
        Value::Slice { buf, .. } => Some(*buf),
        _ => None,
    }
}

/// Whether `after` is `before` written in place by a branch (the same
/// memory, or an array moved into memory in the branch, at a node from
/// `since` on, to be written there): the other branch then continues the
/// same chain of writes. Not when the branch assigned another array to
/// the name (`h = other;`).
fn written_in_place(g: &Graph, before: &Value, after: &Value, since: usize) -> bool {
    let Some(now) = memory_of(after) else {
        return false;
    };
    let root = g.storage(now);
    match (before, memory_of(before)) {
        (_, Some(was)) => g.storage(was) == root,
        (Value::Array(_), None) => {
            root.index() >= since && matches!(g.get(root).op, Op::NewArray(_))
        }
        _ => false,
    }
}
