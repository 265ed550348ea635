//! Method calls, calls of backprop's functions and of other `#[derive_grad]` functions.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::Expr;

use crate::graph::{CallInfo, Id, Kind, Op, SliceArg};
use crate::op::{CmpOp, IntFn};
use crate::ops::{self, PRIMITIVES};
use crate::signature::{ElemTy, ParamKind, NAMED_LEN};

use super::*;

/// What can be done with a slice parameter.
pub(super) const SLICE_USE: &str = "a slice or `Vec` parameter is read at indices, in loops over its length (`for i in 0..w.len() { … w[i] … }`) or through an iterator chain (`w.iter().map(|x| …).sum()`); using it as a whole value is not supported yet";

impl Lowerer<'_> {
    // ----------------------------------------------------- methods and calls

    pub(super) fn method_call(&mut self, m: &syn::ExprMethodCall) -> Value {
        if let Some(v) = self.chain_consumer(m) {
            return v;
        }
        let recv = self.expr(&m.receiver);
        let args: Vec<&Expr> = m.args.iter().collect();
        self.apply_method(recv, &m.method, &args, m)
    }

    pub(super) fn apply_method(
        &mut self,
        recv: Value,
        method: &syn::Ident,
        args: &[&Expr],
        at: &dyn ToTokens,
    ) -> Value {
        let name = method.to_string();
        let recv = match recv {
            Value::Buffer { buf, index, shape } if name == "len" && args.is_empty() => {
                return match shape[0] {
                    NAMED_LEN => Value::RtInt(self.named_len(buf, index.len())),
                    n => Value::Int(n as i128),
                };
            }
            v @ Value::Buffer { .. } => self.materialize(v, at),
            Value::Slice { len, .. } | Value::Range { len, .. } | Value::IntSlice { len, .. }
                if name == "len" && args.is_empty() =>
            {
                return Value::RtInt(len);
            }
            Value::Slice { .. } | Value::Range { .. } | Value::IntSlice { .. } => {
                return self.error_at(
                    method,
                    format!(
                        "unsupported method `.{name}()` here: {}",
                        iter::chain_help()
                    ),
                );
            }
            v => v,
        };
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
                    // A run-time exponent: backprop's own `powi`, whose
                    // companion returns n·xⁿ⁻¹.
                    ("powi", [n @ Value::RtInt(_)]) => {
                        let Some(n) = self.int_node(n) else {
                            return Value::Poison;
                        };
                        let core = quote!(::backprop::core::functions::internal);
                        return self.call_node(
                            CompanionPaths {
                                vjp: quote!(#core::powi_vjp),
                                hvp_all: quote!(#core::powi_hvp_all),
                                pullback: TokenStream::new(),
                                value: quote!(#core::powi),
                            },
                            "powi".into(),
                            vec![x, n],
                            vec![(Vec::new(), false), (Vec::new(), false)],
                            vec![None, None],
                            vec![None, None],
                        );
                    }
                    ("powi", _) => {
                        return self.error_at(at, "the exponent of `powi` must be an integer (`i32`)");
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
                    format!("unsupported method `.{name}()` on an array: supported are `.len()` and iterator chains; {}", iter::chain_help()),
                ),
            },
            a @ (Value::Int(_) | Value::RtInt(_)) if matches!(name.as_str(), "min" | "max") && args.len() == 1 => {
                let b = self.int_expr(args[0]);
                let op = if name == "min" { CmpOp::Lt } else { CmpOp::Gt };
                match (&a, &b) {
                    (Value::Int(x), Value::Int(y)) => Value::Int(if name == "min" { *x.min(y) } else { *x.max(y) }),
                    (Value::Poison, _) | (_, Value::Poison) => Value::Poison,
                    _ => match (self.int_node(&a), self.int_node(&b)) {
                        (Some(x), Some(y)) => {
                            let c = self.g.node(Op::IntCmp(op), vec![x, y]);
                            Value::RtInt(self.g.select(c, x, y))
                        }
                        _ => self.error_at(at, "this integer does not fit in 64 bits"),
                    },
                }
            }
            Value::RtInt(x) if args.is_empty() && IntFn::method(&name).is_some() => {
                let f = IntFn::method(&name).expect("checked");
                Value::RtInt(self.g.node(Op::IntFn(f), vec![x]))
            }
            Value::Int(_) if args.is_empty() && IntFn::method(&name).is_some() => self.error_at(
                at,
                format!("`.{name}()` is supported on integers known at run time (computed from integer parameters, as in `(!used).{name}()`); of a constant, whose result depends on its integer type, write the result"),
            ),
            other => self.error_at(method, format!("unsupported method `.{name}()` on {}", describe(&other))),
        }
    }

    pub(super) fn call(&mut self, c: &syn::ExprCall) -> Value {
        // Only this call's own result is destructured, not its arguments'.
        let tuple = self.tuple_call.take();
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
        if let Some(ident) = fp.path.get_ident() {
            if let Some(Value::Closure(k)) =
                self.lookup(&ident.to_string()).map(|b| b.value.clone())
            {
                return self.call_closure(k, &args, c);
            }
        }

        // `F::one()`, `F::from(0.5)`, `f64::max(a, b)`, `Float::exp(x)`:
        // associated functions of the float type or its traits.
        let type_prefix =
            fp.qself.is_some() || prefix.last().is_some_and(|p| self.is_float_type_name(p));
        if type_prefix {
            match (last.as_str(), args.len()) {
                ("from", 1) => {
                    // An outside value (`F::from(SCALE)` with `const SCALE:
                    // f64`) is converted as written: its type is not known here.
                    if let Expr::Path(p) = strip_parens(args[0]) {
                        let local = p
                            .path
                            .get_ident()
                            .is_some_and(|id| self.lookup(&id.to_string()).is_some());
                        if !local && known_constant(&p.path).is_none() {
                            return Value::Float(self.extern_value(quote!(#c.unwrap())));
                        }
                    }
                    return match self.expr(args[0]) {
                        Value::Int(i) => Value::Float(self.g.konst(i as f64)),
                        Value::Float(id) if self.g.as_const(id).is_some() => Value::Float(id),
                        Value::RtInt(id) => Value::Float(self.g.node(Op::IntToFloat, vec![id])),
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
        match tuple {
            None => self.derive_grad_call(fp, &args, None),
            Some(super::TupleCall::One(k)) => self.derive_grad_call(fp, &args, Some(k)),
            Some(super::TupleCall::All(n)) => {
                let items: Vec<Value> = (0..n)
                    .map(|k| self.derive_grad_call(fp, &args, Some(k)))
                    .collect();
                if items.contains(&Value::Poison) {
                    Value::Poison
                } else {
                    Value::Tuple(items)
                }
            }
        }
    }

    pub(super) fn is_float_type_name(&self, name: &str) -> bool {
        let generic = matches!(&self.sig.elem, ElemTy::Generic(g) if g == name);
        generic
            || matches!(
                name,
                "f64" | "f32" | "Float" | "NumCast" | "FloatConst" | "One" | "Zero"
            )
    }

    pub(super) fn float_args(
        &mut self,
        args: &[&Expr],
        n: usize,
        at: &syn::ExprCall,
    ) -> Option<Vec<Id>> {
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

    /// Whether `a` is an array parameter passed by reference (and not
    /// shadowed), as `x` of `x: &[f64; 4]`.
    fn names_reference_param(&self, a: &Expr) -> bool {
        self.names_reference(
            a,
            |k| matches!(k, ParamKind::Float { shape } if !shape.is_empty()),
        )
    }

    /// Whether `a` names a parameter whose type is a reference, of a kind
    /// `kind_ok` accepts, not shadowed by a local.
    fn names_reference(&self, a: &Expr, kind_ok: impl Fn(&ParamKind) -> bool) -> bool {
        let Expr::Path(p) = strip_parens(a) else {
            return false;
        };
        let Some(id) = p.path.get_ident() else {
            return false;
        };
        let name = id.to_string();
        let innermost = self.scopes.iter().rposition(|s| s.contains_key(&name));
        innermost == Some(0)
            && self
                .sig
                .params
                .iter()
                .any(|q| q.name == name && q.by_ref && kind_ok(&q.kind))
    }

    /// A call to another `#[derive_grad]` function, through its companion
    /// `NAME_vjp` (see [`CallInfo`]).
    pub(super) fn derive_grad_call(
        &mut self,
        fp: &syn::ExprPath,
        args: &[&Expr],
        element: Option<usize>,
    ) -> Value {
        let mut flat = Vec::new();
        let mut layout = Vec::new();
        let mut places = Vec::new();
        let mut slices = Vec::new();
        for &a in args {
            slices.push(None);
            // A range of a slice (`&w[a..b]`, a chunk `row` of
            // `w.chunks(d)`): the slice, the range's start and its end.
            // (A literal range of a fixed-size array is its elements.)
            let mut of_array = None;
            if let Some((base, range)) = range_of_slice(a) {
                match self.range_argument(a, base, range) {
                    RangeArgument::OfSlice(ids, inner) => {
                        flat.extend(ids);
                        layout.push((Vec::new(), true));
                        places.push(None);
                        *slices.last_mut().expect("pushed above") =
                            Some(SliceArg { inner, range: true });
                        continue;
                    }
                    RangeArgument::OfValue(v) => of_array = Some(v),
                    RangeArgument::Refused => return Value::Poison,
                }
            }
            // A struct of parameters passed whole: its fields' elements.
            if let Some(arg) = self.struct_arg(a) {
                let Some((ids, place)) = self.struct_elements(a, &arg) else {
                    return Value::Poison;
                };
                layout.push((
                    vec![ids.len()],
                    matches!(strip_parens(a), Expr::Reference(_)),
                ));
                flat.extend(ids);
                places.push(Some(place));
                continue;
            }
            places.push(None);
            // `&w`, or a parameter that is itself a reference (`x` of
            // `x: &[f64; 4]`, a struct field `net.w`) passed on as it is.
            // (A range is a slice: passed by reference even as a chunk
            // `row` of an iterator chain, read as `w[a..b]`.)
            let by_ref = of_array.is_some()
                || matches!(strip_parens(a), Expr::Reference(_))
                || self.names_reference_param(a);
            let v = match of_array {
                Some(v) => v,
                None => self.expr(a),
            };
            // An integer or a bool is passed as it is (its gradient is `()`).
            match v {
                Value::Int(_) | Value::RtInt(_) => {
                    let Some(id) = self.int_node(&v) else {
                        return self.error_at(a, "this integer does not fit in 64 bits");
                    };
                    flat.push(id);
                    layout.push((Vec::new(), by_ref));
                    continue;
                }
                Value::Bool(b) => {
                    flat.push(b);
                    layout.push((Vec::new(), by_ref));
                    continue;
                }
                // An integer slice parameter, passed on as it is, or a
                // range of one (a reference to it, `&labels[a..b]`).
                Value::IntSlice {
                    param, start: None, ..
                } => {
                    flat.push(self.g.node(Op::IntSliceParam(param), vec![]));
                    layout.push((Vec::new(), by_ref));
                    continue;
                }
                Value::IntSlice {
                    param,
                    start: Some(start),
                    len,
                } => {
                    let end = self.g.node(Op::IntAdd, vec![start, len]);
                    flat.push(self.g.node(Op::IntSliceRange(param), vec![start, end]));
                    layout.push((Vec::new(), false));
                    continue;
                }
                _ => {}
            }
            // A range bound to a name (`let row = &w[a..b]; dot(row, x)`).
            if let Value::Range {
                buf,
                start,
                len,
                inner,
            } = v
            {
                let Some(ids) = self.named_range_argument(a, buf, start, len) else {
                    return Value::Poison;
                };
                flat.extend(ids);
                layout.push((Vec::new(), true));
                *slices.last_mut().expect("pushed above") = Some(SliceArg { inner, range: true });
                continue;
            }
            if let Value::Slice { buf, inner, .. } = v {
                if !self.slice_argument(a, buf, by_ref) {
                    return Value::Poison;
                }
                self.snapshot_candidate(buf);
                flat.push(buf);
                layout.push((Vec::new(), by_ref));
                *slices.last_mut().expect("pushed above") = Some(SliceArg {
                    inner,
                    range: false,
                });
                continue;
            }
            // A large array parameter (or a row of one), read in place:
            // its elements, as the parameter's element nodes where the
            // row is known at compile time (as a small array's are), else
            // read where the call is.
            let v = match v {
                Value::Buffer { buf, index, shape }
                    if matches!(self.g.get(self.g.storage(buf)).op, Op::ArrayParam(_)) =>
                {
                    match self.param_elements(buf, &index, &shape) {
                        Some(elements) => elements,
                        None => self.materialize(Value::Buffer { buf, index, shape }, a),
                    }
                }
                v => v,
            };
            let mut shape = Vec::new();
            if !flatten(&v, &mut flat, &mut shape, 0) {
                if v != Value::Poison {
                    let instead = "pass the floats it is made of";
                    self.error_at(
                        a,
                        format!("arguments of a call to another #[derive_grad] function must be floats, arrays of floats, integers or bools, not {}: {instead}", describe(&v)),
                    );
                }
                return Value::Poison;
            }
            layout.push((shape, by_ref));
        }
        let value_path = fp.path.to_token_stream();
        let companion = |suffix: &str| {
            let mut path = fp.path.clone();
            let last = path.segments.last_mut().unwrap();
            last.ident = match element {
                None => format_ident!("{}_{}", last.ident, suffix, span = last.ident.span()),
                Some(k) => {
                    format_ident!("{}_{}_{}", last.ident, suffix, k, span = last.ident.span())
                }
            };
            path
        };
        let mut hvp_all = companion("hvp_all");
        // Its marker is a generic parameter after the function's own: an
        // explicit `::<f64>` needs `::<f64, _>`.
        if let syn::PathArguments::AngleBracketed(a) =
            &mut hvp_all.segments.last_mut().unwrap().arguments
        {
            a.args.push(syn::parse_quote!(_));
        }

        let last = &fp.path.segments.last().unwrap().ident;
        let callee = last.to_string().trim_start_matches("r#").to_owned();
        let vjp = companion("vjp");
        let pullback = companion("pullback");
        let paths = CompanionPaths {
            vjp: quote!(#vjp),
            hvp_all: quote!(#hvp_all),
            pullback: quote!(#pullback),
            value: value_path,
        };
        let id = self.call_node(paths, callee, flat, layout, places, slices);
        if let (Some(k), Value::Float(call)) = (element, &id) {
            // The plain call (`f(…)`, where only the value is needed) gives
            // the whole tuple: element `k` of it.
            if let Op::Call(ci) = self.g.get(*call).op {
                self.g.calls[ci as usize].element = Some(k);
            }
        }
        id
    }

    /// A range passed to a call (`&w[a..b]`, `&w[a..]`, `&w[..b]`): of a
    /// slice, its buffer, start and end (integer nodes) and the shape of
    /// one element, the forward call slicing as the original does (and
    /// panicking as it does for a bad range); of a fixed-size array, with
    /// literal bounds, its elements.
    fn range_argument(&mut self, a: &Expr, base: &Expr, range: &syn::ExprRange) -> RangeArgument {
        if matches!(range.limits, syn::RangeLimits::Closed(_)) {
            self.error_at(
                range,
                "an inclusive range (`a..=b`) of a slice passed to another #[derive_grad] function is not supported: write `a..b + 1`",
            );
            return RangeArgument::Refused;
        }
        let (buf, len, inner) = match self.expr(base) {
            Value::Slice { buf, len, inner } => (buf, len, inner),
            // A range of integers (`&labels[a..b]`), passed as a value.
            v @ Value::IntSlice { .. } => {
                return match self.range_of(v, base, range) {
                    Value::Poison => RangeArgument::Refused,
                    v => RangeArgument::OfValue(v),
                };
            }
            // A range of a range bound to a name (`&row[1..]`).
            v @ Value::Range { .. } => {
                let Value::Range {
                    buf,
                    start,
                    len,
                    inner,
                } = self.range_of(v, base, range)
                else {
                    return RangeArgument::Refused;
                };
                return match self.named_range_argument(a, buf, start, len) {
                    Some(ids) => RangeArgument::OfSlice(ids, inner),
                    None => RangeArgument::Refused,
                };
            }
            Value::Array(items) => {
                return match self.range_of_array(base, range, items) {
                    Some(v) => RangeArgument::OfValue(v),
                    None => RangeArgument::Refused,
                }
            }
            Value::Poison => return RangeArgument::Refused,
            other => {
                self.error_at(
                    base,
                    format!(
                        "a range passed to another #[derive_grad] function must be a range of a slice or `Vec` parameter, of a local `vec![…]`, of a range of one, or of an array with literal bounds, not of {}",
                        describe(&other)
                    ),
                );
                return RangeArgument::Refused;
            }
        };
        let zero = self.g.node(Op::IntConst(0), vec![]);
        let (Some(start), Some(end)) = (
            self.range_bound(range.start.as_deref(), zero),
            self.range_bound(range.end.as_deref(), len),
        ) else {
            return RangeArgument::Refused;
        };
        if !self.slice_argument(a, buf, true) {
            return RangeArgument::Refused;
        }
        self.snapshot_candidate(buf);
        RangeArgument::OfSlice([buf, start, end], inner)
    }

    /// A [`Value::Range`] (its buffer, start and length) passed to a call:
    /// the buffer, start and end the call node takes (`None`: reported).
    fn named_range_argument(&mut self, a: &Expr, buf: Id, start: Id, len: Id) -> Option<[Id; 3]> {
        if !self.slice_argument(a, buf, true) {
            return None;
        }
        self.snapshot_candidate(buf);
        let end = self.g.node(Op::IntAdd, vec![start, len]);
        Some([buf, start, end])
    }

    /// `items[range]` of a fixed-size array, for literal bounds (`None`:
    /// reported).
    pub(super) fn range_of_array(
        &mut self,
        base: &Expr,
        range: &syn::ExprRange,
        items: Vec<Value>,
    ) -> Option<Value> {
        let n = items.len();
        let mut literal = |e: Option<&Expr>, default: usize| -> Option<usize> {
            match e {
                None => Some(default),
                Some(e) => match self.int_expr(e) {
                    Value::Int(k) => usize::try_from(k).ok(),
                    _ => None,
                },
            }
        };
        let start = literal(range.start.as_deref(), 0);
        let end = literal(range.end.as_deref(), n);
        match (start, end) {
            (Some(s), Some(e)) if s <= e && e <= n => Some(Value::Array(items[s..e].to_vec())),
            (Some(s), Some(e)) => {
                self.error_at(
                    range,
                    format!(
                        "the range {s}..{e} is not within the array `{}` of {n} elements",
                        base.to_token_stream()
                    ),
                );
                None
            }
            _ => {
                self.error_at(
                    range,
                    "a range of a fixed-size array must have literal bounds (`&w[0..2]`): for bounds known at run time, make the array a slice (`&[f64]`) or a `Vec`",
                );
                None
            }
        }
    }

    /// A bound of a range of a slice (an integer node), or `default`.
    pub(super) fn range_bound(&mut self, e: Option<&Expr>, default: Id) -> Option<Id> {
        let Some(e) = e else { return Some(default) };
        match self.int_expr(e) {
            v @ (Value::Int(_) | Value::RtInt(_)) => {
                let id = self.int_node(&v);
                if id.is_none() {
                    self.error_at(e, "this index does not fit in 64 bits");
                }
                id
            }
            Value::Poison => None,
            other => {
                self.error_at(
                    e,
                    format!(
                        "the bounds of a range of a slice are integers (`usize`), not {}",
                        describe(&other)
                    ),
                );
                None
            }
        }
    }

    /// Checks a slice or `Vec` passed whole to another `#[derive_grad]`
    /// function (`dot(&w, x)`), and records it for
    /// [`Lowerer::check_slice_arguments`]: whether it can be passed.
    fn slice_argument(&mut self, a: &Expr, buf: Id, by_ref: bool) -> bool {
        // The generated gradient reads the slice again after the call
        // (the callee's derivative runs in the reverse sweep): it is
        // borrowed, not moved.
        if !by_ref && !self.names_reference(a, |k| matches!(k, ParamKind::Slice { .. })) {
            self.error_at(
                a,
                format!(
                    "a `Vec` passed by value to another #[derive_grad] function is not supported (its derivative reads it again after the call): make the parameter a slice (`x: &[f64]`) and pass `&{}`",
                    a.to_token_stream()
                ),
            );
            return false;
        }
        self.slice_args.push((buf, a.clone()));
        true
    }

    /// A copy of a local `vec!` passed to a call, for the call's pullback
    /// should the `vec!` be written after the call (known only once the
    /// function is lowered: see [`Lowerer::check_slice_arguments`], which
    /// keeps it then, and otherwise leaves it unread, so never emitted).
    fn snapshot_candidate(&mut self, buf: Id) {
        // (Inside a loop not yet finished, a `vec!` the loop carries is
        // not yet known to be one: only parameters are ruled out here.)
        if matches!(
            self.g.get(self.g.storage(buf)).op,
            Op::ArrayParam(_) | Op::NewVec { array: true }
        ) {
            return;
        }
        let snapshot = self.g.node(Op::Snapshot, vec![buf]);
        self.snapshot_candidates.insert(buf, snapshot);
    }

    /// A slice passed to a call must still hold, when the whole function
    /// has run, what the callee read: the callee's derivative reads it
    /// again in the reverse sweep. Reports each one written afterwards.
    pub(super) fn check_slice_arguments(&mut self) {
        let mut written = std::collections::HashSet::new();
        for node in &self.g.nodes {
            match node.op {
                Op::Store | Op::ScatterAdd => {
                    written.insert(node.args[0]);
                }
                Op::Loop(l) => {
                    let info = &self.g.loops[l as usize];
                    for (k, kind) in info.kinds.iter().enumerate() {
                        if *kind == Kind::Buffer && info.yields[k] != info.carried[k] {
                            written.insert(node.args[2 + k]);
                            written.insert(info.carried[k]);
                        }
                    }
                }
                _ => {}
            }
        }
        for (buf, a) in std::mem::take(&mut self.slice_args) {
            // Where it lives (known once the loops that carry it are
            // finished).
            let storage = self.g.storage(buf);
            let supported = match self.g.get(storage).op {
                // As the caller received it (rustc refuses a write through
                // `&[f64]` anyway).
                Op::ArrayParam(p) => {
                    buf == storage
                        && matches!(
                            self.sig.params[p as usize].kind,
                            ParamKind::Slice {
                                array_len: None,
                                ..
                            }
                        )
                }
                Op::NewVec { array } => !array,
                _ => false,
            };
            if !supported {
                let written_param = matches!(self.g.get(storage).op, Op::ArrayParam(_));
                self.error_once(
                    &a,
                    if written_param {
                        "this slice parameter is written before the call, and a slice passed to another #[derive_grad] function must be passed as the caller received it: write the new values into a local `vec!` and pass that"
                    } else {
                        "a slice passed to another #[derive_grad] function must be a slice or `Vec` parameter, or a local `vec![…]`: pass one of those"
                    },
                );
                continue;
            }
            if written.contains(&buf) {
                // In straight-line code, the pullback reads a copy taken
                // at the call.
                if let Some(&snapshot) = self.snapshot_candidates.get(&buf) {
                    self.g.snapshots.insert(buf, snapshot);
                    continue;
                }
                self.error_once(
                    &a,
                    "this slice is written after it is passed to another #[derive_grad] function, whose derivative reads it again once the whole function has run: pass a local `vec!` instead (a copy is taken at the call), or write the new values into one",
                );
            }
        }
    }

    /// The struct argument `a` stands for (`&__bp_struct_0`), if any.
    fn struct_arg(&self, a: &Expr) -> Option<crate::structs::StructArg> {
        let mut e = strip_parens(a);
        if let Expr::Reference(r) = e {
            e = strip_parens(&r.expr);
        }
        let Expr::Path(p) = e else { return None };
        let id = p.path.get_ident()?;
        self.sig
            .struct_args
            .iter()
            .find(|s| id == &s.marker)
            .cloned()
    }

    /// The element nodes of a struct argument's fields, and its place.
    fn struct_elements(
        &mut self,
        a: &Expr,
        arg: &crate::structs::StructArg,
    ) -> Option<(Vec<Id>, crate::graph::StructPlace)> {
        let mut ids = Vec::new();
        let mut leaves = Vec::new();
        for (suffix, p) in &arg.leaves {
            let info = &self.sig.params[*p];
            let ParamKind::Float { shape } = &info.kind else {
                self.error_at(
                    a,
                    format!("`{}` has a field of run-time length (`{}`): a struct passed whole to another #[derive_grad] function may hold floats and fixed-size arrays only; pass that field separately", arg.shown, info.display),
                );
                return None;
            };
            let name = info.name.to_string();
            let v = self.scopes[0].get(&name).map(|b| b.value.clone())?;
            let mut s = Vec::new();
            if !flatten(&v, &mut ids, &mut s, 0) {
                return None;
            }
            leaves.push((suffix.clone(), shape.clone()));
        }
        Some((
            ids,
            crate::graph::StructPlace {
                access: arg.access.clone(),
                leaves,
            },
        ))
    }

    /// A call of `value_path` whose companion `vjp_path` returns the value
    /// and a gradient slot per argument; `flat` holds the arguments' nodes
    /// (arrays flattened), `layout` each argument's shape and `&`-ness.
    fn call_node(
        &mut self,
        paths: CompanionPaths,
        callee: String,
        flat: Vec<Id>,
        layout: Vec<(Vec<usize>, bool)>,
        places: Vec<Option<crate::graph::StructPlace>>,
        slices: Vec<Option<SliceArg>>,
    ) -> Value {
        let place_key = |p: &[Option<crate::graph::StructPlace>]| -> Vec<String> {
            p.iter()
                .map(|p| p.as_ref().map(|p| p.access.to_string()).unwrap_or_default())
                .collect()
        };
        let key = (
            paths.vjp.to_string(),
            layout.clone(),
            place_key(&places),
            slices.clone(),
        );
        let idx = match self.g.calls.iter().position(|ci| {
            (
                ci.vjp_path.to_string(),
                ci.args.clone(),
                place_key(&ci.places),
                ci.slices.clone(),
            ) == key
        }) {
            Some(i) => i,
            None => {
                self.g.calls.push(CallInfo {
                    vjp_path: paths.vjp,
                    hvp_all_path: paths.hvp_all,
                    value_path: paths.value,
                    callee,
                    args: layout,
                    places,
                    element: None,
                    slices,
                    pullback_path: paths.pullback,
                });
                self.g.calls.len() - 1
            }
        };
        let id = self.g.node(Op::Call(idx as u32), flat);
        Value::Float(id)
    }
}

/// What a range passed to a call is ([`Lowerer::range_argument`]).
enum RangeArgument {
    /// Of a slice: its buffer, start and end, and the shape of an element.
    OfSlice([Id; 3], Vec<usize>),
    /// Of a fixed-size array: the elements in the range; of an integer
    /// slice, the range ([`Value::IntSlice`]).
    OfValue(Value),
    /// Refused (an error was reported).
    Refused,
}

/// `base` and the range of an argument `&base[range]` (or `base[range]`,
/// a window's reads rewritten by the lowering of iterator chains).
fn range_of_slice(a: &Expr) -> Option<(&Expr, &syn::ExprRange)> {
    let mut e = strip_parens(a);
    if let Expr::Reference(r) = e {
        e = strip_parens(&r.expr);
    }
    let Expr::Index(ix) = e else { return None };
    match strip_parens(&ix.index) {
        Expr::Range(r) => Some((&ix.expr, r)),
        _ => None,
    }
}

/// The paths of a called function and of its companions.
struct CompanionPaths {
    /// `NAME_vjp` (`NAME_vjp_k`): value and gradient.
    vjp: TokenStream,
    /// `NAME_hvp_all` (`NAME_hvp_all_k`): also H·t, for second derivatives.
    hvp_all: TokenStream,
    /// `NAME_pullback` (`NAME_pullback_k`): the reverse of a call passing slices.
    pullback: TokenStream,
    /// The function itself, as written.
    value: TokenStream,
}

/// Flattens a float or (rectangular, nested) array value; records its
/// shape. A ragged array (`[x, [x, x]]`) is refused.
pub(super) fn flatten(v: &Value, out: &mut Vec<Id>, shape: &mut Vec<usize>, depth: usize) -> bool {
    flatten_at(v, out, shape, depth) && conforms(v, shape)
}

/// Whether `v` is exactly an array of `shape` (a float for `[]`).
pub(super) fn conforms(v: &Value, shape: &[usize]) -> bool {
    match (v, shape.split_first()) {
        (Value::Float(_), None) => true,
        (Value::Array(items), Some((&n, rest))) => {
            items.len() == n && items.iter().all(|i| conforms(i, rest))
        }
        _ => false,
    }
}

pub(super) fn flatten_at(
    v: &Value,
    out: &mut Vec<Id>,
    shape: &mut Vec<usize>,
    depth: usize,
) -> bool {
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

pub(super) fn supported_methods() -> String {
    let mut names = ops::method_names();
    names.push("powi");
    names.join(" ")
}

impl Lowerer<'_> {
    /// The elements of part `index` (compile-time indices) of the array
    /// parameter `buf`, of shape `shape`, as the parameter's own element
    /// nodes (`Op::Param`), nested as the part is; `None` if an index is
    /// known only at run time.
    fn param_elements(&mut self, buf: Id, index: &[Id], shape: &[usize]) -> Option<Value> {
        let Op::ArrayParam(p) = self.g.get(buf).op else {
            return None;
        };
        let full = self.g.array_params.get(&p)?.clone();
        let mut offset = 0usize;
        for (k, &i) in index.iter().enumerate() {
            let Op::IntConst(i) = self.g.get(i).op else {
                return None;
            };
            offset = offset * full[k] + usize::try_from(i).ok()?;
        }
        let part: usize = shape.iter().product();
        let mut next = u32::try_from(offset * part).ok()?;
        Some(self.param_value(p, shape, &mut next))
    }
}
