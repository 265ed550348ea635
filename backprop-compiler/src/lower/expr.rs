//! Expressions: literals, paths, operators, comparisons and casts.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{BinOp, Expr, Lit, UnOp};

use crate::graph::{int_type_index, CmpOp, Id, Op};
use crate::op::{BitOp, IntFn};
use crate::signature::ElemTy;

use super::*;

impl Lowerer<'_> {
    // ---------------------------------------------------------- expressions

    pub(super) fn expr(&mut self, e: &Expr) -> Value {
        stacker::maybe_grow(crate::expand::RED_ZONE, crate::expand::STACK_CHUNK, || {
            self.expr_here(e)
        })
    }

    pub(super) fn expr_here(&mut self, e: &Expr) -> Value {
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
                let len = self.int_expr(&r.len);
                if matches!(len, Value::RtInt(_)) && crate::signature::is_const_path(&r.len) {
                    // `[0.0; HIDDEN]`: a length rustc knows, the macro not.
                    return self.local_buffer(&r.expr, len, true, r);
                }
                let v = self.expr(&r.expr);
                match len {
                    Value::Int(n) if n >= 0 && n as u64 <= MAX_NODES as u64 => Value::Array(vec![v; n as usize]),
                    Value::Int(n) if n >= 0 => self.error_at(
                        &r.len,
                        format!("an array of {n} elements is too large for #[derive_grad] to write out (at most {MAX_NODES})"),
                    ),
                    Value::Poison => Value::Poison,
                    _ => self.error_at(&r.len, "the length of `[value; N]` must be an integer literal or a named constant (`[0.0; N]`): give the length a name (`const TWICE: usize = 2 * N;`)"),
                }
            }
            Expr::While(w) => self.while_loop(w),
            Expr::Loop(l) => self.error_at(
                &l.loop_token,
                "`loop` is not supported: write `while cond { … }`, or `for i in 0..n`",
            ),
            Expr::Break(b) => self.error_at(b, "`break` is supported as a statement in the `if`s of a loop's body (nested `if`s too), with no label or value: `if c { …; break; }`; not inside an expression (`let y = if c { break } else { … };`) or a block of its own: make the `if` a statement"),
            Expr::Continue(c) => self.error_at(c, "`continue` is supported as a statement in the `if`s of a loop's body (nested `if`s too), with no label: `if c { …; continue; }`; not inside an expression (`let y = if c { continue } else { … };`) or a block of its own: make the `if` a statement"),
            Expr::Return(r) => self.error_at(
                r,
                "early `return` is not supported in a #[derive_grad] function: the derivative follows one path to the end; assign the result to a variable and return it as the last expression",
            ),
            Expr::Closure(c) => self.closure_value(c),
            Expr::Macro(m) if m.mac.path.is_ident("vec") => self.vec_macro(&m.mac),
            Expr::Macro(m) => self.macro_error(&m.mac),
            Expr::Match(m) => self.match_expr(m),
            Expr::Tuple(t) if t.elems.is_empty() => Value::Unit,
            Expr::Tuple(t) => Value::Tuple(t.elems.iter().map(|e| self.expr(e)).collect()),
            // `f(…).k`: element `k` of a helper returning a tuple.
            Expr::Field(f)
                if matches!((strip_parens(&f.base), &f.member), (Expr::Call(_), syn::Member::Unnamed(_))) =>
            {
                let (Expr::Call(c), syn::Member::Unnamed(k)) = (strip_parens(&f.base), &f.member) else {
                    unreachable!()
                };
                self.tuple_call = Some(super::TupleCall::One(k.index as usize));
                match self.call(c) {
                    // not a helper call: a tuple value of its own
                    Value::Tuple(items) if (k.index as usize) < items.len() => items[k.index as usize].clone(),
                    v @ (Value::Float(_) | Value::Poison) => v,
                    _ => self.error_at(&f.member, "no such element of this tuple"),
                }
            }
            Expr::Field(f) => match (self.expr(&f.base), &f.member) {
                (Value::Tuple(items), syn::Member::Unnamed(k)) if (k.index as usize) < items.len() => {
                    items[k.index as usize].clone()
                }
                (Value::Poison, _) => Value::Poison,
                (Value::Tuple(_), _) => self.error_at(&f.member, "no such element of this tuple"),
                _ => self.error_at(f, "field access is not supported: pass the fields' values as parameters (floats or arrays)"),
            },
            Expr::Struct(s) => self.error_at(s, "struct values are not supported: use floats and arrays"),
            Expr::Range(r) => self.error_at(r, "a range is only supported as the bound of a `for` loop"),
            Expr::Let(l) => self.error_at(l, "`if let` is not supported: use a comparison"),
            Expr::Try(t) => self.error_at(t, "the `?` operator is not supported: a loss function does not fail"),
            other => self.error_at(other, "this expression is not supported in a #[derive_grad] function"),
        }
    }

    pub(super) fn lit(&mut self, lit: &Lit) -> Value {
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

    pub(super) fn path(&mut self, p: &syn::ExprPath) -> Value {
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
            if let Some(id) = p.path.get_ident() {
                if self.sig.const_generics.iter().any(|n| id == n) {
                    return Value::RtInt(self.rt_int(p.to_token_stream()));
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

    /// `vec![c; n]`: a local array of run-time length `n`, every element
    /// the constant `c`, written and read at indices.
    fn vec_macro(&mut self, mac: &syn::Macro) -> Value {
        struct Repeat {
            fill: Expr,
            len: Expr,
        }
        impl syn::parse::Parse for Repeat {
            fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
                let fill = input.parse()?;
                input.parse::<syn::Token![;]>()?;
                let len = input.parse()?;
                Ok(Repeat { fill, len })
            }
        }
        let Ok(Repeat { fill, len }) = mac.parse_body::<Repeat>() else {
            return self.error_at(mac, "`vec!` is supported as `vec![c; n]`: `n` floats, all the constant `c` (then written at indices: `h[i] = …`)");
        };
        let len_value = self.int_expr(&len);
        self.local_buffer(&fill, len_value, false, mac)
    }

    /// A local `vec![c; n]` (or, with `array`, `[c; N]` with `N` a named
    /// constant) of length `len`: a buffer written and read at indices.
    fn local_buffer(&mut self, fill: &Expr, len: Value, array: bool, at: &dyn ToTokens) -> Value {
        let fill_value = self.expr(fill);
        let (Value::Float(f), Some(n)) = (fill_value.clone(), self.int_node(&len)) else {
            if fill_value == Value::Poison || len == Value::Poison {
                return Value::Poison;
            }
            let what = if matches!(fill_value, Value::Int(_) | Value::RtInt(_)) {
                "a local array of integers written at run time is not supported: count in floats (`vec![0.0; n]`, `counts[l] += 1.0`, exact up to 2^53), or compute the integers outside and pass them as a parameter (`counts: &[usize]`)"
            } else if array {
                "a local array whose length is a named constant is supported with one dimension (`[0.0; N]`); for a table, use a flat `vec![0.0; ROWS * COLS]` and index it `h[r * COLS + c]`"
            } else {
                "`vec![c; n]` needs a float `c` and an integer `n`"
            };
            return self.error_at(at, what);
        };
        if self.is_constant(f) {
            let buf = self.g.node(Op::NewVec { array }, vec![f, n]);
            return Value::Slice {
                buf,
                len: n,
                inner: Vec::new(),
            };
        }
        // A computed fill: zeros, then a rolled loop writing `c` into every
        // element, so the adjoint of `c` is the sum of the elements'
        // (built by the reverse of that loop like any other store). Under
        // a run-time `if`, the loop runs only when its branch is taken.
        let zero = self.g.konst(0.0);
        let zeros = self.g.node(Op::NewVec { array }, vec![zero, n]);
        let outer_guard = self.g.guard.take();
        let (l, var, carried) = self
            .g
            .begin_loop(vec![crate::graph::Kind::Buffer], false, false);
        let filled = self.g.node(Op::Store, vec![carried[0], var, f]);
        let lo = self.g.node(Op::IntConst(0), vec![]);
        self.g.loops[l as usize].guard = outer_guard;
        let (_, outs) = self.g.finish_loop(l, lo, n, vec![zeros], vec![filled]);
        self.g.guard = outer_guard;
        Value::Slice {
            buf: outs[0],
            len: n,
            inner: Vec::new(),
        }
    }

    /// Whether a float node depends on nothing that varies (literals and
    /// outside constants only).
    fn is_constant(&self, id: Id) -> bool {
        let node = self.g.get(id);
        match node.op {
            Op::Const(_) | Op::Extern(_) => true,
            Op::Param { .. } | Op::ArrayParam(_) | Op::Load => false,
            _ if node.args.is_empty() => false,
            _ => node.args.iter().all(|&a| self.is_constant(a)),
        }
    }

    /// `e` where an integer is expected (a loop bound, an index): a value
    /// from outside (`N` of `const N: usize`) is then a run-time integer.
    pub(super) fn int_expr(&mut self, e: &Expr) -> Value {
        match self.expr(e) {
            Value::Float(id) => self.int_expr_of(id),
            v => v,
        }
    }

    /// A name from outside the function read as an integer (it was taken
    /// for a float); any other float as it is.
    fn int_expr_of(&mut self, id: Id) -> Value {
        match self.g.get(id).op {
            Op::Extern(k) => {
                let tokens = self.g.externs[k as usize].clone();
                Value::RtInt(self.rt_int(tokens))
            }
            _ => Value::Float(id),
        }
    }

    /// Whether a float is a name from outside the function.
    fn is_extern(&self, id: Id) -> bool {
        matches!(self.g.get(id).op, Op::Extern(_))
    }

    pub(super) fn extern_value(&mut self, tokens: TokenStream) -> Id {
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

    pub(super) fn unary(&mut self, u: &syn::ExprUnary) -> Value {
        let v = self.expr(&u.expr);
        match (&u.op, v) {
            (_, Value::Poison) => Value::Poison,
            (UnOp::Deref(_), v) => v,
            (UnOp::Neg(_), Value::Float(a)) => Value::Float(self.g.neg(a)),
            (UnOp::Neg(_), Value::Int(a)) => Value::Int(-a),
            (UnOp::Not(_), Value::Bool(a)) => Value::Bool(self.g.node(Op::Not, vec![a])),
            // The complement of an integer depends on its type: written
            // out, even for a constant.
            (UnOp::Not(_), v @ (Value::Int(_) | Value::RtInt(_))) => match self.int_node(&v) {
                Some(x) => Value::RtInt(self.g.node(Op::IntFn(IntFn::Not), vec![x])),
                None => self.error_at(u, "this integer does not fit in 64 bits"),
            },
            (_, v) => self.error_at(
                u,
                format!("this operator is not supported on {}", describe(&v)),
            ),
        }
    }

    pub(super) fn binary(&mut self, b: &syn::ExprBinary) -> Value {
        use BinOp::*;
        let compound = match b.op {
            AddAssign(_) => Some(Op::Add),
            SubAssign(_) => Some(Op::Sub),
            MulAssign(_) => Some(Op::Mul),
            DivAssign(_) => Some(Op::Div),
            RemAssign(_) | BitXorAssign(_) | BitAndAssign(_) | BitOrAssign(_) | ShlAssign(_)
            | ShrAssign(_) => {
                // Integers only: `used |= 1 << j`.
                let bit = match b.op {
                    RemAssign(_) => None,
                    BitXorAssign(_) => Some(BitOp::Xor),
                    BitAndAssign(_) => Some(BitOp::And),
                    BitOrAssign(_) => Some(BitOp::Or),
                    ShlAssign(_) => Some(BitOp::Shl),
                    _ => Some(BitOp::Shr),
                };
                let rhs = self.expr(&b.right);
                let current = self.expr(&b.left);
                let v = self.int_binary(bit, current, rhs, b);
                if v == Value::Poison {
                    return v;
                }
                self.assign(&b.left, v);
                return Value::Unit;
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
                    // The right side runs only when the left one does not
                    // decide (`i < n && x[i] > 0.0` reads `x[i]` only if `i < n`).
                    let outer = self.g.guard;
                    let decides_not = if is_and {
                        l
                    } else {
                        self.g.node(Op::Not, vec![l])
                    };
                    self.g.guard = Some(match outer {
                        Some(o) => self.g.node(Op::And, vec![o, decides_not]),
                        None => decides_not,
                    });
                    let right = self.expr(&b.right);
                    self.g.guard = outer;
                    match right {
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
            Rem(_) => return self.int_binary(None, l, r, b),
            BitAnd(_) => return self.int_binary(Some(BitOp::And), l, r, b),
            BitOr(_) => return self.int_binary(Some(BitOp::Or), l, r, b),
            BitXor(_) => return self.int_binary(Some(BitOp::Xor), l, r, b),
            Shl(_) => return self.int_binary(Some(BitOp::Shl), l, r, b),
            Shr(_) => return self.int_binary(Some(BitOp::Shr), l, r, b),
            _ => {
                return self.error_at(
                    b,
                    "this operator is not supported: use `+ - * /`, comparisons, `&&`, `||`",
                )
            }
        };
        self.arith(op, l, r, b)
    }

    /// `%` (`bit` is `None`) or a bitwise operator or shift: integers only,
    /// written out as the user wrote them (Rust's types, its panic on a
    /// zero divisor or an overlong shift), or folded where both sides are
    /// known and the result does not depend on their type.
    fn int_binary(&mut self, bit: Option<BitOp>, l: Value, r: Value, at: &dyn ToTokens) -> Value {
        if let (Value::Int(x), Value::Int(y)) = (&l, &r) {
            let folded = match bit {
                None => x.checked_rem(*y),
                // The same bits in every type that holds both operands.
                Some(BitOp::And) => Some(x & y),
                Some(BitOp::Or) => Some(x | y),
                Some(BitOp::Xor) => Some(x ^ y),
                // A shift's result depends on the type's width.
                Some(BitOp::Shl | BitOp::Shr) => None,
            };
            if let Some(v) = folded {
                return Value::Int(v);
            }
        }
        match (&l, &r) {
            (Value::Poison, _) | (_, Value::Poison) => Value::Poison,
            (Value::Int(_) | Value::RtInt(_), Value::Int(_) | Value::RtInt(_)) => {
                let op = bit.map_or(Op::IntRem, Op::IntBit);
                match (self.int_node(&l), self.int_node(&r)) {
                    (Some(a), Some(b)) => Value::RtInt(self.g.node(op, vec![a, b])),
                    _ => self.error_at(at, "this integer does not fit in 64 bits"),
                }
            }
            _ => match bit {
                None => self.error_at(
                    at,
                    "`%` is supported only on integers; for floats write `a - (a / b).trunc() * b`",
                ),
                Some(b) => self.error_at(
                    at,
                    format!("`{}` is supported only on integers", b.symbol()),
                ),
            },
        }
    }

    pub(super) fn arith(&mut self, op: Op, l: Value, r: Value, at: &dyn ToTokens) -> Value {
        // A name from outside the function (`INPUTS`) is taken for a float
        // until it meets an integer: then it is one (`2 * INPUTS`).
        let (l, r) = match (l, r) {
            (Value::Float(a), b @ (Value::Int(_) | Value::RtInt(_))) if self.is_extern(a) => {
                (self.int_expr_of(a), b)
            }
            (a @ (Value::Int(_) | Value::RtInt(_)), Value::Float(b)) if self.is_extern(b) => {
                (a, self.int_expr_of(b))
            }
            lr => lr,
        };
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
            (l @ (Value::RtInt(_) | Value::Int(_)), r @ (Value::RtInt(_) | Value::Int(_))) => {
                // Run-time integer arithmetic is written out as the user
                // wrote it, so it keeps Rust's types and overflow checks.
                let int_op = match op {
                    Op::Add => Op::IntAdd,
                    Op::Sub => Op::IntSub,
                    Op::Mul => Op::IntMul,
                    _ => Op::IntDiv,
                };
                match (self.int_node(&l), self.int_node(&r)) {
                    (Some(a), Some(b)) => Value::RtInt(self.g.node(int_op, vec![a, b])),
                    _ => self.error_at(at, "this integer does not fit in 64 bits"),
                }
            }
            (Value::Array(_), _) | (_, Value::Array(_)) => self.error_at(
                at,
                "arithmetic on whole arrays is not supported: index the elements (`a[i] + b[i]`) in a `for` loop",
            ),
            (l, r) => self.error_at(at, format!("cannot do arithmetic on {} and {}", describe(&l), describe(&r))),
        }
    }

    pub(super) fn compare(&mut self, c: CmpOp, l: Value, r: Value, at: &dyn ToTokens) -> Value {
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
            (Value::Float(a), Value::Float(b)) => Value::Bool(self.g.node(Op::Cmp(c), vec![a, b])),
            (l @ (Value::RtInt(_) | Value::Int(_)), r @ (Value::RtInt(_) | Value::Int(_))) => {
                match (self.int_node(&l), self.int_node(&r)) {
                    (Some(a), Some(b)) => Value::Bool(self.g.node(Op::IntCmp(c), vec![a, b])),
                    _ => self.error_at(at, "this integer does not fit in 64 bits"),
                }
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

    pub(super) fn cast(&mut self, c: &syn::ExprCast) -> Value {
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
            Value::RtInt(id) if is_float => Value::Float(self.g.node(Op::IntToFloat, vec![id])),
            Value::RtInt(id) => match (int_target, int_type_index(&target)) {
                (Some(_), Some(k)) => match self.g.get(id).op {
                    // A parameter's cast stays one token expression.
                    Op::RtInt(r) => {
                        let inner = self.g.rt_ints[r as usize].clone();
                        let ty = &c.ty;
                        Value::RtInt(self.rt_int(quote!((#inner as #ty))))
                    }
                    _ => Value::RtInt(self.g.node(Op::ToInt(k), vec![id])),
                },
                _ => self.error_at(c, format!("cannot cast an integer to `{target}` here")),
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
            // Truncation is piecewise constant: its derivative is 0.
            Value::Float(id) => match int_type_index(&target) {
                Some(k) => Value::RtInt(self.g.node(Op::ToInt(k), vec![id])),
                None => self.error_at(c, format!("cannot cast a float to `{target}`")),
            },
            other => self.error_at(c, format!("cannot cast {} to `{target}`", describe(&other))),
        }
    }

    /// The integer node of an integer value.
    pub(super) fn int_node(&mut self, v: &Value) -> Option<Id> {
        match v {
            Value::RtInt(id) => Some(*id),
            Value::Int(i) => i64::try_from(*i)
                .ok()
                .map(|i| self.g.node(Op::IntConst(i), vec![])),
            _ => None,
        }
    }

    /// A run-time integer expression (see [`Graph::rt_ints`]).
    pub(super) fn rt_int(&mut self, tokens: TokenStream) -> Id {
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

    pub(super) fn is_elem_type(&self, ty: &syn::Type) -> bool {
        let s = ty.to_token_stream().to_string();
        match &self.sig.elem {
            ElemTy::F64 => s == "f64",
            ElemTy::F32 => s == "f32",
            ElemTy::Generic(g) => *g == s,
        }
    }
}
