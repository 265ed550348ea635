//! Places: assignment to variables and array elements, and indexing.

use quote::ToTokens;
use syn::{Expr, UnOp};

use super::*;

/// Why an array is not written after `if c { return a; }`.
const EARLY_RETURN_WRITE: &str = "an array element cannot be assigned after an early `return` whose condition is known only at run time (`if c { return a; }`: both paths are computed and one is picked): compute the early value at the end instead (`if c { a } else { … }` as the last expression), after the writes";

impl Lowerer<'_> {
    // ----------------------------------------------------------- assignment

    pub(super) fn assign(&mut self, lhs: &Expr, value: Value) {
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
        let mut run_time = false;
        for e in &indices {
            match self.int_expr(e) {
                Value::Int(i) => idx.push(Value::Int(i)),
                v @ Value::RtInt(_) => {
                    run_time = true;
                    idx.push(v);
                }
                Value::Poison => return,
                _ => {
                    self.error_at(*e, "array indices must be integers");
                    return;
                }
            }
        }
        if let Some(Value::Slice { buf, len, inner }) = self.lookup(&name).map(|b| b.value.clone())
        {
            if matches!(self.g.get(self.g.storage(buf)).op, Op::ArrayParam(_)) {
                self.error_at(lhs, format!("`{name}` is a slice parameter (or another name for one), which the function only reads: write into a local array instead (`let mut h = [0.0; N];` or `vec![0.0; n]`)"));
                return;
            }
            if idx.is_empty() {
                if value != Value::Poison {
                    self.error_at(lhs, format!("`{name}` is a `vec!` written at indices, which cannot be given a whole new value (`{name} = …`): write its elements (`{name}[i] = …` in a loop), or give the new value a name of its own (`let {name}_next = …;`)"));
                }
                return;
            }
            self.store_vec(lhs, &name, buf, len, inner, &idx, value);
            return;
        }
        let is_buffer = matches!(
            self.lookup(&name).map(|b| &b.value),
            Some(Value::Buffer { .. })
        );
        if (run_time || is_buffer) && !idx.is_empty() {
            self.store(lhs, ident, &name, &idx, value);
            return;
        }
        let idx: Vec<i128> = idx
            .into_iter()
            .map(|v| match v {
                Value::Int(i) => i,
                _ => unreachable!("compile-time indices"),
            })
            .collect();
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
        let companion = self.sig.companion;
        let Some(binding) = self.lookup_mut(&name) else {
            self.error_at(ident, format!("cannot find `{name}`"));
            return;
        };
        if binding.wrt_param && !companion {
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
                            self.out_of_bounds(lhs, i, len);
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

    /// `name[i][j]… = value` with run-time indices, or into an array that
    /// already lives in memory: an in-place [`Op::Store`].
    fn store(&mut self, lhs: &Expr, ident: &syn::Ident, name: &str, idx: &[Value], value: Value) {
        let Value::Float(v) = value else {
            if value != Value::Poison {
                self.error_at(lhs, "only single elements can be assigned at run-time indices (`h[j] = …` with `h` an array of floats)");
            }
            return;
        };
        if self.early_return_depth > 0 {
            self.error_at(lhs, EARLY_RETURN_WRITE);
            return;
        }
        let Some(binding) = self.lookup(name) else {
            self.error_at(ident, format!("cannot find `{name}`"));
            return;
        };
        if binding.wrt_param {
            self.error_at(ident, format!("cannot assign to `{name}`: it is a parameter being differentiated; copy it first (`let mut {name}_local = {name};`) and change the copy"));
            return;
        }
        let current = binding.value.clone();
        let Some(Value::Buffer { buf, shape, .. }) = self.in_memory(&current) else {
            self.error_at(
                lhs,
                format!(
                    "`{name}` is not an array of floats that can be written at run-time indices"
                ),
            );
            return;
        };
        if idx.len() != shape.len() {
            self.error_at(lhs, "only single elements can be assigned at run-time indices: index every dimension (`h[i][j] = …`)");
            return;
        }
        // Another name for the same array would see the write (arrays are
        // copied on assignment in Rust, but here both names share memory).
        let aliases = self.other_names(name, |v| {
            matches!(v, Value::Buffer { buf: other, index, .. } if *other == buf && index.is_empty())
        });
        if aliases > 0 || matches!(self.g.get(buf).op, Op::ArrayParam(_)) {
            self.error_at(lhs, format!("`{name}` is a copy of another array here; writing it at run-time indices is not supported yet: build it with its own `let mut {name} = [0.0; N];` and a loop"));
            return;
        }
        for (k, i) in idx.iter().enumerate() {
            if let Value::Int(c) = i {
                if usize::try_from(*c).map_or(true, |c| c >= shape[k]) {
                    self.out_of_bounds(lhs, *c, shape[k]);
                    return;
                }
            }
        }
        let Some(stored) = self.store_node(lhs, name, buf, idx, v) else {
            return;
        };
        self.lookup_mut(name).expect("looked up above").value = Value::Buffer {
            buf: stored,
            index: Vec::new(),
            shape,
        };
    }

    /// The store of `v` at `idx` into `buf`, the memory of local `name`
    /// (`None` after reporting an index too large for 64 bits).
    fn store_node(&mut self, lhs: &Expr, name: &str, buf: Id, idx: &[Value], v: Id) -> Option<Id> {
        let mut args = vec![buf];
        for i in idx {
            match self.int_node(i) {
                Some(n) => args.push(n),
                None => {
                    self.error_at(lhs, "this index does not fit in 64 bits");
                    return None;
                }
            }
        }
        args.push(v);
        self.name_storage(buf, name);
        Some(self.g.node(Op::Store, args))
    }

    /// `h[i] = v` into a local `vec![c; n]` or `[c; N]` (`N` named).
    #[allow(clippy::too_many_arguments)]
    fn store_vec(
        &mut self,
        lhs: &Expr,
        name: &str,
        buf: Id,
        len: Id,
        inner: Vec<usize>,
        idx: &[Value],
        value: Value,
    ) {
        let Value::Float(v) = value else {
            if value != Value::Poison {
                self.error_at(
                    lhs,
                    "only floats can be stored in the elements of a `vec!` or `[0.0; N]`",
                );
            }
            return;
        };
        if self.early_return_depth > 0 {
            self.error_at(lhs, EARLY_RETURN_WRITE);
            return;
        }
        if idx.len() != 1 + inner.len() {
            self.error_at(
                lhs,
                "index every dimension of the element assigned (`h[i] = …`)",
            );
            return;
        }
        let aliases = self.other_names(
            name,
            |v| matches!(v, Value::Slice { buf: other, .. } if *other == buf),
        );
        if aliases > 0 {
            self.error_at(lhs, format!("`{name}` is another name for a `vec!` or `[0.0; N]` here; writing it is not supported: give each its own `vec![0.0; n]` or `[0.0; N]`"));
            return;
        }
        let Some(stored) = self.store_node(lhs, name, buf, idx, v) else {
            return;
        };
        self.lookup_mut(name).expect("looked up above").value = Value::Slice {
            buf: stored,
            len,
            inner,
        };
    }

    /// How many bindings other than `name`'s innermost one hold a value
    /// `same` accepts (another name for the same memory). A shadowed binding
    /// of the same name counts (`let mut h = h;` in an inner block).
    fn other_names(&self, name: &str, same: impl Fn(&Value) -> bool) -> usize {
        let target = self
            .scopes
            .iter()
            .rposition(|s| s.contains_key(name))
            .expect("looked up above");
        self.scopes
            .iter()
            .enumerate()
            .flat_map(|(level, s)| s.iter().map(move |(n, b)| (level, n, b)))
            .filter(|(level, n, b)| !(*level == target && n.as_str() == name) && same(&b.value))
            .count()
    }

    // ------------------------------------------------------------- indexing

    pub(super) fn index(&mut self, i: &syn::ExprIndex) -> Value {
        // A range of a slice as a value of its own (`let row = &w[a..b];`).
        if let Expr::Range(r) = strip_parens(&i.index) {
            return self.range_value(&i.expr, r);
        }
        // `w[i][j]` on a variable is read in place: evaluating `w` first
        // would copy the whole array for every element read, which makes
        // unrolled loops over large arrays quadratic.
        let mut chain = vec![&*i.index];
        let mut base = &*i.expr;
        while let Expr::Index(inner) = strip_parens(base) {
            // A read of a range (`w[a..b][j]`) is the range's own.
            if matches!(strip_parens(&inner.index), Expr::Range(_)) {
                break;
            }
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
                        match self.int_expr(e) {
                            v @ (Value::Int(_) | Value::RtInt(_)) => idx.push((v, *e)),
                            Value::Poison => return Value::Poison,
                            _ => return self.runtime_index_error(e),
                        }
                    }
                    // Compile-time indices into a local array are followed
                    // in place: copying the array for every element read
                    // would make unrolled loops over large arrays quadratic.
                    let binding = self.lookup(&name).expect("looked up above");
                    let mut place = &binding.value;
                    let mut rest = idx.as_slice();
                    while let (Value::Array(items), [(Value::Int(k), _), tail @ ..]) = (place, rest)
                    {
                        match usize::try_from(*k).ok().and_then(|k| items.get(k)) {
                            Some(item) => {
                                place = item;
                                rest = tail;
                            }
                            None => break, // reported below
                        }
                    }
                    let mut cur = place.clone();
                    for (k, e) in rest.iter().cloned() {
                        cur = self.index_value(cur, k, e, i);
                    }
                    return cur;
                }
                let name = p.to_token_stream().to_string();
                return self.error_at(
                    base,
                    format!("`{name}` is not a parameter or local variable of this function: #[derive_grad] cannot see the contents of `const`/`static` arrays; pass the array as a parameter"),
                );
            }
        }
        let base = self.expr(&i.expr);
        let idx = self.int_expr(&i.index);
        match (base, idx) {
            (Value::Poison, _) | (_, Value::Poison) => Value::Poison,
            (base, k @ (Value::Int(_) | Value::RtInt(_))) => self.index_value(base, k, &i.index, i),
            (Value::Array(_), _) => self.runtime_index_error(&i.index),
            (v, _) => self.error_at(&i.expr, format!("cannot index {}", describe(&v))),
        }
    }

    /// `base[k]`: a compile-time index picks the element; a run-time one
    /// reads an array parameter in place ([`Op::Load`]).
    fn index_value(&mut self, base: Value, k: Value, e: &Expr, whole: &syn::ExprIndex) -> Value {
        match (base, k) {
            (Value::Poison, _) | (_, Value::Poison) => Value::Poison,
            (Value::Array(items), Value::Int(k)) => {
                match usize::try_from(k).ok().and_then(|k| items.get(k)) {
                    Some(v) => v.clone(),
                    None => {
                        let len = items.len();
                        self.out_of_bounds(e, k, len)
                    }
                }
            }
            (Value::Buffer { buf, index, shape }, k) => {
                if let Value::Int(c) = k {
                    if usize::try_from(c).map_or(true, |c| c >= shape[0]) {
                        return self.out_of_bounds(e, c, shape[0]);
                    }
                }
                match self.int_node(&k) {
                    Some(i) => self.index_view(buf, index, shape, i),
                    None => self.error_at(e, "this index does not fit in 64 bits"),
                }
            }
            (Value::Slice { buf, inner, .. }, k @ (Value::Int(_) | Value::RtInt(_))) => {
                // The length is checked at run time, by the same indexing
                // as the original's (and panics as it does).
                let mut shape = vec![0];
                shape.extend(inner);
                match self.int_node(&k) {
                    Some(i) => self.index_view(buf, Vec::new(), shape, i),
                    None => self.error_at(e, "this index does not fit in 64 bits"),
                }
            }
            (Value::IntSlice { param, start, len }, k @ (Value::Int(_) | Value::RtInt(_))) => {
                let Some(i) = self.int_node(&k) else {
                    return self.error_at(e, "this index does not fit in 64 bits");
                };
                let at = match start {
                    Some(start) => self.range_element(start, len, i),
                    None => i,
                };
                Value::RtInt(self.g.node(Op::IntLoad(param), vec![at]))
            }
            (
                Value::Range {
                    buf,
                    start,
                    len,
                    inner,
                },
                k @ (Value::Int(_) | Value::RtInt(_)),
            ) => {
                let mut shape = vec![0];
                shape.extend(inner);
                match self.int_node(&k) {
                    Some(i) => {
                        let at = self.range_element(start, len, i);
                        self.index_view(buf, Vec::new(), shape, at)
                    }
                    None => self.error_at(e, "this index does not fit in 64 bits"),
                }
            }
            // A local array of integers (`let order = [2, 0, 1];`).
            (Value::Array(items), Value::RtInt(i))
                if !items.is_empty()
                    && items
                        .iter()
                        .all(|v| matches!(v, Value::Int(_) | Value::RtInt(_))) =>
            {
                let mut args = vec![i];
                for v in &items {
                    match self.int_node(v) {
                        Some(id) => args.push(id),
                        None => return self.error_at(e, "this integer does not fit in 64 bits"),
                    }
                }
                Value::RtInt(self.g.node(Op::IntPick, args))
            }
            (base @ Value::Array(_), Value::RtInt(i)) => match self.param_view(&base) {
                Some((buf, index, shape)) => self.index_view(buf, index, shape, i),
                // A local array read at a run-time index is put in memory.
                None => match self.in_memory(&base) {
                    Some(Value::Buffer { buf, index, shape }) => {
                        // Named for explanations (`o[label]`).
                        if let (syn::Expr::Path(p), None) =
                            (&*whole.expr, &self.g.names[buf.index()])
                        {
                            if let Some(name) = p.path.get_ident() {
                                self.g.names[buf.index()] =
                                    Some(name.to_string().trim_start_matches("r#").to_owned());
                            }
                        }
                        self.index_view(buf, index, shape, i)
                    }
                    _ => self.runtime_index_error(e),
                },
            },
            (other, _) => {
                let what = describe(&other);
                self.error_at(whole, format!("cannot index {what}"))
            }
        }
    }

    /// `base[range]` as a value (`let row = &w[a..b];`): of a slice or of a
    /// range of one, a [`Value::Range`], its bounds checked where it is
    /// taken as the original's are; of a fixed-size array, for literal
    /// bounds, its elements.
    fn range_value(&mut self, base: &Expr, range: &syn::ExprRange) -> Value {
        if matches!(range.limits, syn::RangeLimits::Closed(_)) {
            return self.error_at(
                range,
                "an inclusive range (`a..=b`) of a slice is not supported: write `a..b + 1`",
            );
        }
        let v = self.expr(base);
        self.range_of(v, base, range)
    }

    /// `range` of `v`, the value of `base` (see [`Lowerer::range_value`]).
    pub(super) fn range_of(&mut self, v: Value, base: &Expr, range: &syn::ExprRange) -> Value {
        let (buf, offset, len, inner) = match v {
            Value::IntSlice { param, start, len } => {
                let Some((start, len)) = self.checked_range(range, start, len) else {
                    return Value::Poison;
                };
                return Value::IntSlice {
                    param,
                    start: Some(start),
                    len,
                };
            }
            Value::Slice { buf, len, inner } => (buf, None, len, inner),
            Value::Range {
                buf,
                start,
                len,
                inner,
            } => (buf, Some(start), len, inner),
            Value::Array(items) => {
                return self
                    .range_of_array(base, range, items)
                    .unwrap_or(Value::Poison)
            }
            Value::Poison => return Value::Poison,
            Value::Buffer { .. } => {
                return self.error_at(
                    range,
                    "a range of a fixed-size array in memory (read at a run-time index, or written at one) is not supported: read its elements at indices (`w[j][i]`), or make the array a slice (`&[f64]`) or a `Vec`",
                );
            }
            other => {
                return self.error_at(
                    base,
                    format!(
                        "a range (`&w[a..b]`) is taken of a slice or `Vec` parameter, of a local `vec![…]`, of a range of one, or of an array with literal bounds, not of {}",
                        describe(&other)
                    ),
                );
            }
        };
        let Some((start, len)) = self.checked_range(range, offset, len) else {
            return Value::Poison;
        };
        Value::Range {
            buf,
            start,
            len,
            inner,
        }
    }

    /// Where element `i` of a range (starting at `start`, `len` long) is
    /// in its slice's memory: `i` checked against the range's length, as
    /// indexing the range is (the slice may go on past it).
    fn range_element(&mut self, start: Id, len: Id, i: Id) -> Id {
        let checked = self.g.node(Op::CheckIndex, vec![i, len]);
        self.g.node(Op::IntAdd, vec![start, checked])
    }

    /// `range` of a slice (or of a range of one starting at `offset`) of
    /// length `len`: where it starts in the slice's memory and its length,
    /// the range checked as `&w[a..b]` checks it (`None`: reported).
    fn checked_range(
        &mut self,
        range: &syn::ExprRange,
        offset: Option<Id>,
        len: Id,
    ) -> Option<(Id, Id)> {
        let zero = self.g.node(Op::IntConst(0), vec![]);
        let lo = self.range_bound(range.start.as_deref(), zero)?;
        let hi = self.range_bound(range.end.as_deref(), len)?;
        let checked = self.g.node(Op::CheckRange, vec![lo, hi, len]);
        self.g.range_checks.push(checked);
        let len = self.g.node(Op::IntSub, vec![hi, checked]);
        let start = match offset {
            Some(offset) => self.g.node(Op::IntAdd, vec![offset, checked]),
            None => checked,
        };
        Some((start, len))
    }

    fn out_of_bounds<T: ToTokens + ?Sized>(&mut self, at: &T, k: i128, len: usize) -> Value {
        self.error_at(
            at,
            format!("index {k} is out of bounds for an array of length {len}"),
        )
    }

    pub(super) fn runtime_index_error(&mut self, at: &Expr) -> Value {
        self.error_at(
            at,
            "array indices must be known at compile time: integer literals, `for` loop variables, or arithmetic on them; to pick an element at run time, loop over the indices and compare: `for i in 0..N { if i == k { … } }`",
        )
    }
}
