//! Emission: the graph's nodes needed for the value and the gradient become
//! Rust, one `let` per operation in arena order (so every shared
//! subexpression is computed once), each loop region a `for` (or `loop`)
//! around its body's statements, with the user's names kept.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, ToTokens};

use crate::graph::{Graph, Id, Kind, Op};
use crate::ops::{Spelling, PRIMITIVES};
use crate::signature::{ElemTy, ParamInfo};

/// What code is emitted from: the differentiated graph and the user's
/// function it came from.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    /// The graph, with its adjoint nodes.
    pub g: &'a Graph,
    /// The float type.
    pub elem: &'a ElemTy,
    /// The function's parameters.
    pub params: &'a [ParamInfo],
    /// Names for adjoint nodes (`d_z1`).
    pub adjoint_names: &'a [(Id, AdjointName)],
    /// The names the user's function mentions (never reused).
    pub user: &'a UserNames,
}

/// What to return besides the value.
pub struct Outputs<'a> {
    /// The loss node.
    pub value: Id,
    /// Per returned gradient: the parameter and its element nodes, or the
    /// buffer holding it.
    pub grads: Vec<(&'a ParamInfo, Grad)>,
    /// Return a 1-tuple even for a single gradient (the `_vjp` convention).
    pub always_tuple: bool,
    /// Add the gradient into a caller's buffer instead of returning it
    /// (`NAME_grad_acc`): only the value is returned.
    pub accumulate: Option<Accumulate>,
}

/// Where `NAME_grad_acc` adds the gradient and finds its workspace.
pub struct Accumulate {
    /// The `&mut` gradient parameter: the gradient itself for one
    /// differentiated parameter, else a tuple of them.
    pub grad: Ident,
    /// Whether `grad` is a tuple (several differentiated parameters).
    pub tuple: bool,
    /// The `&mut Workspace` parameter of `NAME_grad_acc_with`, if any.
    pub workspace: Option<Ident>,
}

impl Accumulate {
    /// The place of gradient `k` (in `wrt` order): `(*grad)` or `grad.k`.
    fn place(&self, k: usize) -> TokenStream {
        let grad = &self.grad;
        if self.tuple {
            let k = syn::Index::from(k);
            quote!(#grad.#k)
        } else {
            quote!((*#grad))
        }
    }
}

/// Where the emitted code keeps what it does not declare itself.
#[derive(Default)]
pub struct Memory {
    /// Gradient buffers that are the caller's memory: the [`Op::Zeros`]
    /// node and the place it stands for.
    pub buffers: HashMap<Id, TokenStream>,
    /// The workspace whose tape to use (else a local `Vec`).
    pub workspace: Option<Ident>,
}

/// A parameter's gradient in the graph.
#[derive(Clone, Debug)]
pub enum Grad {
    /// One node per element, row-major.
    Elements(Vec<Id>),
    /// A gradient buffer ([`Op::Zeros`] after its updates).
    Buffer(Id),
}

/// One generated statement.
enum Stmt {
    /// `let names = rhs;` (a tuple pattern for several names).
    Let(Vec<Ident>, TokenStream),
    /// A statement written out whole (a loop, an in-place update).
    Raw(TokenStream),
}

/// One `let` per live operation, in arena order (loops as loops, their
/// bodies in order inside them): the statements, and the expression (a
/// name, literal or parameter read) of every emitted node.
pub fn straight_line(
    src: &Source,
    roots: &[Id],
    value: Id,
    memory: &Memory,
) -> (Vec<TokenStream>, Vec<Option<TokenStream>>) {
    let Source {
        g,
        elem,
        params,
        adjoint_names,
        user,
    } = *src;
    let live = live_nodes(g, roots);
    let mut adjoint_of: Vec<Option<AdjointName>> = vec![None; g.len()];
    for (id, name) in adjoint_names {
        adjoint_of[id.index()].get_or_insert(name.clone());
    }
    let mut region_nodes = vec![Vec::new(); g.regions.len()];
    for (i, &l) in live.iter().enumerate() {
        if l {
            region_nodes[g.region_of[i] as usize].push(i);
        }
    }
    let mut e = Emitter {
        g,
        elem,
        params,
        live: &live,
        names: Names::new(params, user),
        expr: vec![None; g.len()],
        emitted_name: vec![None; g.len()],
        adjoint_of,
        const_count: 0,
        call_grads: vec![None; g.len()],
        out_value: value,
        region_nodes,
        tape: None,
        buffers: &memory.buffers,
        trips: HashMap::new(),
        ranges: HashMap::new(),
        guarded_calls: HashSet::new(),
        int_tapes: HashMap::new(),
        calls_with_grad: (0..g.len())
            .filter(|&i| live[i] && matches!(g.get(Id(i as u32)).op, Op::Proj(_)))
            .map(|i| g.get(Id(i as u32)).args[0].index())
            .collect(),
        early: HashSet::new(),
    };
    // Floats share one tape; each integer a loop records has its own
    // (typed by what is pushed on it).
    let mut int_tapes = HashMap::new();
    for info in &g.loops {
        for (k, r) in info.restores.iter().enumerate() {
            if live[r.index()] && info.restore_kinds[k] == Kind::Int {
                let name = local(&e.names.fresh("int_tape"));
                int_tapes.insert(*r, name);
            }
        }
    }
    let uses_tape = g.loops.iter().any(|info| {
        info.restores
            .iter()
            .zip(&info.restore_kinds)
            .any(|(r, k)| live[r.index()] && *k != Kind::Int)
    });
    let mut stmts = Vec::new();
    if uses_tape {
        let tape = local(&e.names.fresh("tape"));
        let ty = match elem {
            ElemTy::F64 => quote!(f64),
            ElemTy::F32 => quote!(f32),
            ElemTy::Generic(t) => quote!(#t),
        };
        stmts.push(Stmt::Raw(match &memory.workspace {
            // Emptied first: a call that panicked may have left values.
            Some(work) => {
                quote!(let #tape: &mut ::std::vec::Vec<#ty> = &mut #work.tape; #tape.clear();)
            }
            None => quote!(let mut #tape: ::std::vec::Vec<#ty> = ::std::vec::Vec::new();),
        }));
        e.tape = Some(tape);
    }
    for name in int_tapes.values() {
        stmts.push(Stmt::Raw(quote!(let mut #name = ::std::vec::Vec::new();)));
    }
    e.int_tapes = int_tapes;
    e.region(0, &mut stmts);

    // A `let` cannot bind a name that an outside `const`, `static` or unit
    // struct holds, and hygiene does not change that; a local `fn` of the
    // same name hides such an item for the whole block. Invented names
    // never equal a name the user's function mentions, so this hides
    // nothing the user's code refers to.
    let shadows: Vec<TokenStream> = e
        .names
        .invented
        .iter()
        .map(|n| {
            let n = Ident::new(n, Span::mixed_site());
            quote!(fn #n() {})
        })
        .collect();
    let mut out = shadows;
    out.extend(bindings(stmts));
    (out, e.expr)
}

/// The state of emission.
struct Emitter<'a> {
    g: &'a Graph,
    elem: &'a ElemTy,
    params: &'a [ParamInfo],
    live: &'a [bool],
    names: Names<'a>,
    expr: Vec<Option<TokenStream>>,
    emitted_name: Vec<Option<String>>,
    adjoint_of: Vec<Option<AdjointName>>,
    const_count: usize,
    call_grads: Vec<Option<Ident>>,
    out_value: Id,
    /// The live nodes of each region, in arena order.
    region_nodes: Vec<Vec<usize>>,
    /// The tape's variable, if a loop uses one.
    tape: Option<Ident>,
    /// Gradient buffers that are the caller's memory.
    buffers: &'a HashMap<Id, TokenStream>,
    /// The iteration counter of each counted loop emitted.
    trips: HashMap<u32, Ident>,
    /// The range of each counted range loop emitted, as a variable.
    ranges: HashMap<u32, Ident>,
    /// The calls made only under a condition (their result an `Option`).
    guarded_calls: HashSet<usize>,
    /// The tape of each integer a reverse loop restores (by its restore).
    int_tapes: HashMap<Id, Ident>,
    /// The calls whose gradient is read (the others call the function
    /// itself, not its companion).
    calls_with_grad: HashSet<usize>,
    /// Nodes emitted ahead of their place (a fused reverse loop's initial
    /// values), and reverse loops emitted inside their forward loop.
    early: HashSet<usize>,
}

impl Emitter<'_> {
    fn arg(&self, x: Id) -> TokenStream {
        self.expr[x.index()]
            .clone()
            .expect("argument emitted first")
    }

    /// A zero of the element type.
    fn zero(&mut self, stmts: &mut Vec<Stmt>) -> TokenStream {
        match self.elem {
            ElemTy::Generic(ty) => {
                let name = local(&self.names.constant(&mut self.const_count));
                stmts.push(Stmt::Let(
                    vec![name.clone()],
                    quote!(::backprop::__private::constant::<#ty>(0.0)),
                ));
                quote!(#name)
            }
            elem => literal(0.0, elem),
        }
    }

    /// The statements of region `r`.
    fn region(&mut self, r: u32, stmts: &mut Vec<Stmt>) {
        let nodes = self.region_nodes[r as usize].clone();
        for i in nodes {
            if !self.early.contains(&i) {
                self.node(i, stmts);
            }
        }
    }

    fn node(&mut self, i: usize, stmts: &mut Vec<Stmt>) {
        let g = self.g;
        let elem = self.elem;
        let id = Id(i as u32);
        let node = g.get(id);
        match node.op {
            // Emitted with their loop.
            Op::LoopVar(_) | Op::Carried { .. } | Op::Restore { .. } => return,
            // Emitted inside the loop it reverses.
            Op::Loop(_) if self.early.contains(&i) => return,
            Op::Loop(l) => return self.emit_loop(l, id, stmts),
            Op::LoopTrips => {
                let Op::Loop(l) = g.get(node.args[0]).op else {
                    unreachable!("LoopTrips reads a loop")
                };
                let trips = &self.trips[&l];
                self.expr[i] = Some(quote!(#trips));
                return;
            }
            Op::LoopOut(k) => {
                let Op::Loop(l) = g.get(node.args[0]).op else {
                    unreachable!("LoopOut reads a loop")
                };
                let carried = g.loops[l as usize].carried[k as usize];
                self.expr[i] = self.expr[carried.index()].clone();
                return;
            }
            Op::Zeros(_) | Op::ZerosLike(_) if self.buffers.contains_key(&id) => {
                self.expr[i] = Some(self.buffers[&id].clone());
                return;
            }
            Op::ZerosLike(p) => {
                // `vec![[0.0; 4]; w.len()]`: as long as the slice.
                let fill = self.zero(stmts);
                let fill = g.slice_params[&p].iter().rev().fold(fill, |inner, n| {
                    let n = Literal::usize_unsuffixed(*n);
                    quote!([#inner; #n])
                });
                let param = &self.params[p as usize];
                let slice = &param.name;
                let name = self.name_for(i, "d");
                let ident = local(&name);
                stmts.push(Stmt::Raw(match &param.kind {
                    crate::signature::ParamKind::Slice {
                        array_len: Some(n), ..
                    } => quote!(let mut #ident = [#fill; #n];),
                    _ => quote!(let mut #ident = ::std::vec![#fill; #slice.len()];),
                }));
                self.expr[i] = Some(quote!(#ident));
                return;
            }
            Op::Zeros(k) | Op::NewArray(k) => {
                let shape = g.shapes[k as usize].clone();
                // The most common element fills the array (`[0.0; 784]`);
                // the others are written after it.
                let mut counts: HashMap<Id, usize> = HashMap::new();
                for &a in &node.args {
                    *counts.entry(a).or_default() += 1;
                }
                let common = counts
                    .iter()
                    .max_by_key(|&(id, n)| (*n, std::cmp::Reverse(*id)))
                    .map(|(&id, _)| id);
                let fill = match common {
                    Some(x) => self.arg(x),
                    None => self.zero(stmts),
                };
                let value = shape.iter().rev().fold(fill, |inner, n| {
                    let n = Literal::usize_unsuffixed(*n);
                    quote!([#inner; #n])
                });
                let name = self.name_for(i, "d");
                let ident = local(&name);
                stmts.push(Stmt::Raw(quote!(let mut #ident = #value;)));
                for (j, &a) in node.args.iter().enumerate() {
                    if Some(a) != common {
                        let idx = unflatten(j, &shape);
                        let v = self.arg(a);
                        stmts.push(Stmt::Raw(quote!(#ident #(#idx)* = #v;)));
                    }
                }
                self.expr[i] = Some(quote!(#ident));
                return;
            }
            Op::Store | Op::ScatterAdd => {
                // In place: every buffer value is read by exactly one
                // update, so the buffer is one variable throughout.
                let buf = self.arg(node.args[0]);
                let n = node.args.len();
                let idx: Vec<TokenStream> =
                    node.args[1..n - 1].iter().map(|&x| self.arg(x)).collect();
                let v = self.arg(node.args[n - 1]);
                let place = quote!(#buf #([#idx])*);
                let update = match (node.op, self.elem) {
                    (Op::Store, _) => quote!(#place = #v;),
                    // `F: Float` has no `+=`.
                    (_, ElemTy::Generic(_)) => quote!(#place = #place + #v;),
                    _ => quote!(#place += #v;),
                };
                stmts.push(Stmt::Raw(match g.guards.get(&id) {
                    Some(&c) => {
                        let c = self.arg(c);
                        quote!(if #c { #update })
                    }
                    None => update,
                }));
                self.expr[i] = Some(buf);
                return;
            }
            _ => {}
        }
        let a: Vec<TokenStream> = node.args.iter().map(|&x| self.arg(x)).collect();
        let inline = match node.op {
            Op::Const(bits) => {
                let v = f64::from_bits(bits);
                match elem {
                    ElemTy::Generic(ty) => {
                        let name = local(&self.names.constant(&mut self.const_count));
                        let lit = literal(v, &ElemTy::F64);
                        stmts.push(Stmt::Let(
                            vec![name.clone()],
                            quote!(::backprop::__private::constant::<#ty>(#lit)),
                        ));
                        Some(quote!(#name))
                    }
                    _ => Some(literal(v, elem)),
                }
            }
            Op::Param { param, index } => {
                Some(param_expr(&self.params[param as usize], index as usize))
            }
            Op::ArrayParam(p) => {
                let name = &self.params[p as usize].name;
                Some(quote!(#name))
            }
            Op::RtInt(k) => {
                let tokens = &g.rt_ints[k as usize];
                Some(quote!(#tokens))
            }
            Op::IntConst(v) if v < 0 => {
                // As i128: `-i64::MIN` overflows i64.
                let lit = Literal::i128_unsuffixed(-(v as i128));
                Some(quote!((-#lit)))
            }
            Op::IntConst(v) => Some(Literal::i64_unsuffixed(v).into_token_stream()),
            Op::IntToFloat => {
                let x = &a[0];
                Some(match elem {
                    ElemTy::F64 => quote!((#x as f64)),
                    ElemTy::F32 => quote!((#x as f32)),
                    ElemTy::Generic(ty) => quote!(::backprop::__private::cast::<#ty, _>(#x)),
                })
            }
            Op::ToInt(k) => {
                let x = &a[0];
                let ty = format_ident!("{}", crate::graph::INT_TYPE_NAMES[k as usize]);
                Some(quote!((#x as #ty)))
            }
            Op::BoolParam(p) => {
                let name = &self.params[p as usize].name;
                Some(quote!(#name))
            }
            Op::BoolConst(b) => Some(quote!(#b)),
            Op::Extern(k) => {
                let t = &g.externs[k as usize];
                Some(quote!((#t)))
            }
            _ => None,
        };
        if let Some(e) = inline {
            self.expr[i] = Some(e);
            return;
        }
        let rhs = match node.op {
            Op::Add => binop(&a, quote!(+)),
            Op::Sub => binop(&a, quote!(-)),
            Op::Mul => binop(&a, quote!(*)),
            Op::Div => binop(&a, quote!(/)),
            Op::Neg => {
                let x = &a[0];
                quote!(-#x)
            }
            Op::Fun(f) => call_fun(
                PRIMITIVES[f as usize].name,
                PRIMITIVES[f as usize].spelling,
                &a,
            ),
            Op::Powi(n) => {
                let x = &a[0];
                quote!(#x.powi(#n))
            }
            Op::Cmp(c) | Op::IntCmp(c) => {
                let op: TokenStream = c.symbol().parse().unwrap();
                binop(&a, op)
            }
            Op::IntAdd => binop(&a, quote!(+)),
            Op::IntSub => binop(&a, quote!(-)),
            Op::IntMul => binop(&a, quote!(*)),
            Op::IntDiv => binop(&a, quote!(/)),
            Op::IntRem => binop(&a, quote!(%)),
            Op::And => binop(&a, quote!(&&)),
            Op::Or => binop(&a, quote!(||)),
            Op::Not => {
                let x = &a[0];
                quote!(!#x)
            }
            Op::Select => {
                let (c, t, e) = (&a[0], &a[1], &a[2]);
                quote!(if #c { #t } else { #e })
            }
            Op::Load => {
                let (buf, idx) = (&a[0], &a[1..]);
                quote!(#buf #([#idx])*)
            }
            Op::RangeNth(l) => {
                let (range, k) = (&self.ranges[&l], &a[0]);
                // `k` is below the number of iterations the loop ran.
                if g.loops[l as usize].reversed {
                    quote!(#range.clone().rev().nth(#k).unwrap())
                } else {
                    quote!(#range.clone().nth(#k).unwrap())
                }
            }
            Op::Call(k) => {
                let info = &g.calls[k as usize];
                let path = &info.vjp_path;
                let mut rest = a.iter();
                let args = info.args.iter().map(|(shape, by_ref)| {
                    let n: usize = shape.iter().product();
                    let flat: Vec<TokenStream> = rest.by_ref().take(n).cloned().collect();
                    let v = nest(&flat, shape);
                    if *by_ref {
                        quote!(&#v)
                    } else {
                        v
                    }
                });
                let base = self
                    .names
                    .fresh(g.names[i].as_deref().unwrap_or(&info.callee));
                let value = local(&base);
                if !self.calls_with_grad.contains(&i) {
                    // Only its value is needed (a forward loop whose reverse
                    // calls it again): the function itself.
                    let plain = &info.value_path;
                    let call = quote!(#plain(#(#args),*));
                    stmts.push(Stmt::Let(
                        vec![value.clone()],
                        match g.guards.get(&id) {
                            Some(&c) => {
                                let c = self.arg(c);
                                let zero = zero_expr(elem);
                                quote!(if #c { #call } else { #zero })
                            }
                            None => call,
                        },
                    ));
                    self.emitted_name[i] = Some(value.to_string());
                    self.expr[i] = Some(quote!(#value));
                    return;
                }
                let grad = local(&self.names.fresh(&format!("{base}_grad")));
                match g.guards.get(&id) {
                    // Called only when its branch is taken (the callee may
                    // panic or not return where the original never calls
                    // it); otherwise its value and gradient are never used.
                    Some(&c) => {
                        let c = self.arg(c);
                        let zero = zero_expr(elem);
                        stmts.push(Stmt::Let(
                            vec![grad.clone()],
                            quote!(if #c { ::core::option::Option::Some(#path(#(#args),*)) } else { ::core::option::Option::None }),
                        ));
                        stmts.push(Stmt::Let(
                            vec![value.clone()],
                            quote!(match &#grad { ::core::option::Option::Some(r) => r.0, ::core::option::Option::None => #zero }),
                        ));
                        self.guarded_calls.insert(i);
                    }
                    None => stmts.push(Stmt::Let(
                        vec![value.clone(), grad.clone()],
                        quote!(#path(#(#args),*)),
                    )),
                }
                self.call_grads[i] = Some(grad);
                self.emitted_name[i] = Some(value.to_string());
                self.expr[i] = Some(quote!(#value));
                return;
            }
            Op::Proj(k) => {
                let call = g.get(node.args[0]);
                let Op::Call(ci) = call.op else {
                    unreachable!("a projection reads a call")
                };
                let info = &g.calls[ci as usize];
                let mut k = k as usize;
                let mut arg = 0;
                while k >= info.args[arg].0.iter().product::<usize>() {
                    k -= info.args[arg].0.iter().product::<usize>();
                    arg += 1;
                }
                let grad = self.call_grads[node.args[0].index()].clone();
                let arg = syn::Index::from(arg);
                let idx = unflatten(k, &info.args[arg.index as usize].0);
                if self.guarded_calls.contains(&node.args[0].index()) {
                    let zero = zero_expr(elem);
                    let name = local(&self.names.fresh("v"));
                    stmts.push(Stmt::Let(
                        vec![name.clone()],
                        quote!(match &#grad { ::core::option::Option::Some(r) => (r.1).#arg #(#idx)*, ::core::option::Option::None => #zero }),
                    ));
                    self.expr[i] = Some(quote!(#name));
                } else {
                    self.expr[i] = Some(quote!(#grad.#arg #(#idx)*));
                }
                return;
            }
            _ => unreachable!("inline ops handled above"),
        };
        // Run only when the branch it belongs to is taken; the other value
        // is never used (a `select` discards it).
        let rhs = match g.guards.get(&id) {
            Some(&c) => {
                let c = self.arg(c);
                let other = match g.kinds[i] {
                    Kind::Int => quote!(0),
                    _ => zero_expr(elem),
                };
                quote!(if #c { #rhs } else { #other })
            }
            None => rhs,
        };
        let name = self.name_for(i, "v");
        let ident = local(&name);
        stmts.push(Stmt::Let(vec![ident.clone()], rhs));
        self.expr[i] = Some(quote!(#ident));
    }

    /// A fresh name for node `i`: the user's, its adjoint name, or `fallback`.
    fn name_for(&mut self, i: usize, fallback: &str) -> String {
        let base = match (&self.g.names[i], &self.adjoint_of[i]) {
            (Some(p), _) => p.clone(),
            (None, Some(AdjointName::Param(p))) => p.clone(),
            (None, Some(AdjointName::Of(f))) => match &self.emitted_name[f.index()] {
                Some(n) => format!("d_{n}"),
                None => fallback.to_owned(),
            },
            (None, None) if Id(i as u32) == self.out_value => "value".to_owned(),
            (None, None) => fallback.to_owned(),
        };
        let name = self.names.fresh(&base);
        self.emitted_name[i] = Some(name.clone());
        name
    }

    /// A rolled loop: its carried values as mutable variables, then
    /// `for var in lo..hi { body; carried = yields; }`. A loop that
    /// reverses another first pops what that one pushed.
    fn emit_loop(&mut self, l: u32, id: Id, stmts: &mut Vec<Stmt>) {
        let g = self.g;
        let info = &g.loops[l as usize];
        let args = &g.get(id).args;
        let (lo, hi) = (self.arg(args[0]), self.arg(args[1]));
        if g.region_of[id.index()] == 0 {
            // One allocation for everything this loop nest pushes, where
            // the counts are known on entry (else the tape grows).
            if let (Some(tape), Some(count)) = (self.tape.clone(), self.pushes(id)) {
                stmts.push(Stmt::Raw(match count {
                    Count::Known(n) => {
                        let n = Literal::usize_unsuffixed(n.min(MAX_TAPE_RESERVE));
                        quote!(#tape.reserve(#n);)
                    }
                    Count::Expr(n) => {
                        quote!(#tape.reserve(::core::cmp::min(#n, #MAX_TAPE_RESERVE));)
                    }
                }));
            }
        }
        // A reverse loop that needs nothing computed after this loop runs
        // inside it, iteration by iteration (one pass, no tape).
        let fused = self.fusable_reverse(l, id);
        let mut fused_updates = Vec::new();
        if let Some((_, rnode)) = fused {
            fused_updates = self.fused_prologue(rnode, stmts);
        }
        let mut updated = Vec::new();
        for (k, &c) in info.carried.iter().enumerate() {
            if !self.live[c.index()] {
                continue;
            }
            let init = self.arg(args[2 + k]);
            if info.kinds[k] == Kind::Buffer {
                // In place: the buffer is one variable throughout.
                self.expr[c.index()] = Some(init);
                continue;
            }
            let base = info.names[k].clone().unwrap_or_else(|| "carry".to_owned());
            let name = local(&self.names.fresh(&base));
            if info.yields[k] == c {
                stmts.push(Stmt::Raw(quote!(let #name = #init;)));
            } else {
                stmts.push(Stmt::Raw(quote!(let mut #name = #init;)));
                updated.push(k);
            }
            self.emitted_name[c.index()] = Some(name.to_string());
            self.expr[c.index()] = Some(quote!(#name));
        }
        let rev_var_live = fused.is_some_and(|(r, _)| self.live[g.loops[r as usize].var.index()]);
        let var = if self.live[info.var.index()] || rev_var_live {
            let name = local(&self.names.fresh(info.var_name.as_deref().unwrap_or("i")));
            self.expr[info.var.index()] = Some(quote!(#name));
            if let Some((r, _)) = fused {
                // The reverse's iteration is this one.
                self.expr[g.loops[r as usize].var.index()] = Some(quote!(#name));
            }
            quote!(#name)
        } else {
            quote!(_)
        };
        let trips = info.counted().then(|| {
            let trips = local(&self.names.fresh("trips"));
            stmts.push(Stmt::Raw(quote!(let mut #trips = 0usize;)));
            self.trips.insert(l, trips.clone());
            trips
        });
        let mut body = Vec::new();
        // Pops, in the reverse order of the pushes.
        let tape = self.tape.clone();
        for &r in info.restores.iter().rev() {
            if self.live[r.index()] {
                let name = local(&self.names.fresh("restored"));
                let from = self
                    .int_tapes
                    .get(&r)
                    .cloned()
                    .map_or(quote!(#tape), |t| quote!(#t));
                body.push(Stmt::Raw(quote!(let #name = #from.pop().unwrap();)));
                self.expr[r.index()] = Some(quote!(#name));
            }
        }
        // A `while` checks its condition before anything else of the body
        // runs (the condition's own nodes come first in the body).
        let check = |e: &Self, c: Id| {
            let c = e.arg(c);
            Stmt::Raw(quote!(if !(#c) { break; }))
        };
        match info.cond {
            Some(c) if g.region_of[c.index()] == info.body => {
                for n in self.region_nodes[info.body as usize].clone() {
                    self.node(n, &mut body);
                    if n == c.index() {
                        body.push(check(self, c));
                    }
                }
            }
            Some(c) => {
                body.push(check(self, c));
                self.region(info.body, &mut body);
            }
            None => self.region(info.body, &mut body),
        }
        if let Some((r, _)) = fused {
            let rinfo = &g.loops[r as usize];
            self.region(rinfo.body, &mut body);
            if !fused_updates.is_empty() {
                let targets: Vec<TokenStream> = fused_updates
                    .iter()
                    .map(|&k| self.arg(rinfo.carried[k]))
                    .collect();
                let values: Vec<TokenStream> = fused_updates
                    .iter()
                    .map(|&k| self.arg(rinfo.yields[k]))
                    .collect();
                body.push(Stmt::Raw(quote!((#(#targets,)*) = (#(#values,)*);)));
            }
        }
        // Pushes, for the loop that reverses this one.
        if let Some(rev) = g.loops.iter().find(|r| r.reverses == Some(l)) {
            for (k, &v) in info.tape.iter().enumerate() {
                let r = rev.restores[k];
                if self.live[r.index()] {
                    let v = self.arg(v);
                    let to = self
                        .int_tapes
                        .get(&r)
                        .cloned()
                        .map_or(quote!(#tape), |t| quote!(#t));
                    body.push(Stmt::Raw(quote!(#to.push(#v);)));
                }
            }
        }
        if !updated.is_empty() {
            let targets: Vec<TokenStream> =
                updated.iter().map(|&k| self.arg(info.carried[k])).collect();
            let values: Vec<TokenStream> =
                updated.iter().map(|&k| self.arg(info.yields[k])).collect();
            body.push(Stmt::Raw(if updated.len() == 1 {
                let (t, v) = (&targets[0], &values[0]);
                quote!(#t = #v;)
            } else {
                quote!((#(#targets),*) = (#(#values),*);)
            }));
        }
        if let Some(trips) = &trips {
            body.push(Stmt::Raw(quote!(#trips += 1;)));
        }
        if let Some(exit) = info.exit {
            let exit = self.arg(exit);
            body.push(Stmt::Raw(quote!(if #exit { break; })));
        }
        let range = if info.inclusive {
            quote!(#lo..=#hi)
        } else {
            quote!(#lo..#hi)
        };
        // A counted loop's reverse finds its variable in the same range
        // value (so of the type the forward loop's use gave it).
        let range = if info.counted() && !info.is_while {
            let name = local(&self.names.fresh("range"));
            stmts.push(Stmt::Raw(quote!(let #name = #range;)));
            self.ranges.insert(l, name.clone());
            quote!(#name.clone())
        } else {
            range
        };
        let range = if info.reversed {
            quote!((#range).rev())
        } else {
            range
        };
        let body = bindings(body);
        let the_loop = if info.is_while {
            quote!(loop { #(#body)* })
        } else {
            quote!(for #var in #range { #(#body)* })
        };
        stmts.push(Stmt::Raw(match info.guard {
            Some(c) => {
                let c = self.arg(c);
                quote!(if #c { #the_loop })
            }
            None => the_loop,
        }));
    }
}

/// The most values a loop reserves on the tape at once (32 MiB of `f64`):
/// a loop with an enormous trip count grows its tape as it runs instead.
pub const MAX_TAPE_RESERVE: usize = 1 << 22;

impl Emitter<'_> {
    /// The number of values loop node `id` pushes on the tape, as a `usize`
    /// expression valid before the loop (a literal when the trip counts
    /// are), if it pushes any and the trip counts of the loops inside it
    /// are known there.
    fn pushes(&self, id: Id) -> Option<Count> {
        let g = self.g;
        let Op::Loop(l) = g.get(id).op else {
            return None;
        };
        let info = &g.loops[l as usize];
        if info.counted() {
            return None; // it may stop early: grown as it runs
        }
        let args = &g.get(id).args;
        // A bound is known before the outermost loop if it is a literal or
        // a value computed before that loop.
        let known = |x: Id| match g.get(x).op {
            Op::IntConst(v) => Some(Bound::Literal(v.into())),
            Op::RtInt(k) => {
                let tokens = &g.rt_ints[k as usize];
                match syn::parse2::<syn::LitInt>(tokens.clone()) {
                    Ok(lit) => lit.base10_parse::<i128>().ok().map(Bound::Literal),
                    Err(_) => Some(Bound::Expr(tokens.clone())),
                }
            }
            _ if g.region_of[x.index()] == 0 => self.expr[x.index()].clone().map(Bound::Expr),
            _ => None,
        };
        let (lo, hi) = (known(args[0])?, known(args[1])?);
        let direct = g
            .loops
            .iter()
            .find(|r| r.reverses == Some(l))
            .map_or(0, |rev| {
                rev.restores
                    .iter()
                    .zip(&rev.restore_kinds)
                    .filter(|(r, k)| self.live[r.index()] && **k != Kind::Int)
                    .count()
            });
        let mut per_iteration = Count::Known(direct);
        for &n in &self.region_nodes[info.body as usize] {
            if matches!(g.get(Id(n as u32)).op, Op::Loop(_)) {
                if let Some(inner) = self.pushes(Id(n as u32)) {
                    per_iteration = per_iteration.plus(inner);
                }
            }
        }
        if matches!(per_iteration, Count::Known(0)) {
            return None;
        }
        let trips = match (lo, hi) {
            (Bound::Literal(lo), Bound::Literal(hi)) => {
                let n = hi - lo + i128::from(info.inclusive);
                Count::Known(usize::try_from(n.max(0)).unwrap_or(usize::MAX))
            }
            (lo, hi) => {
                let (lo, hi) = (lo.tokens(), hi.tokens());
                Count::Expr(if info.inclusive {
                    quote!((#lo..=#hi).size_hint().0)
                } else {
                    quote!((#lo..#hi).size_hint().0)
                })
            }
        };
        Some(trips.times(per_iteration))
    }
}

impl Emitter<'_> {
    /// The reverse of forward loop `l` (node `id`), if it can run inside
    /// `l`, in the same iteration: `(its loop, its node)`. It can when it
    /// needs nothing the program computes after `l` (its initial adjoints
    /// are constants, its buffers fresh), carries no adjoint that changes
    /// from one iteration to the next (only sums: `s += w[i] * x[i]`), and
    /// restores nothing; `l` writes no memory and holds no loop. The sums
    /// are then added in the forward order (equal up to rounding).
    fn fusable_reverse(&self, l: u32, id: Id) -> Option<(u32, Id)> {
        let g = self.g;
        let info = &g.loops[l as usize];
        if g.region_of[id.index()] != 0
            || info.counted()
            || info.guard.is_some()
            || info.reverses.is_some()
            || info.kinds.iter().any(|k| *k != Kind::Float)
        {
            return None;
        }
        let r = g.loops.iter().position(|r| r.reverses == Some(l))? as u32;
        let rinfo = &g.loops[r as usize];
        let rnode = rinfo.node?;
        if !self.live[rnode.index()]
            || rinfo.guard.is_some()
            || rinfo.restores.iter().any(|x| self.live[x.index()])
        {
            return None;
        }
        let writes_or_loops = |region: u32| {
            self.region_nodes[region as usize].iter().any(|&n| {
                matches!(
                    g.get(Id(n as u32)).op,
                    Op::Store | Op::NewArray(_) | Op::Loop(_)
                )
            })
        };
        if writes_or_loops(info.body) || writes_or_loops(rinfo.body) {
            return None;
        }
        // Known before `l`: computed earlier, or a value written inline.
        let before = |x: Id| {
            x.index() < id.index()
                || matches!(
                    g.get(x).op,
                    Op::Const(_) | Op::IntConst(_) | Op::RtInt(_) | Op::BoolConst(_)
                )
        };
        let rargs = &g.get(rnode).args;
        for (k, &c) in rinfo.carried.iter().enumerate() {
            if !self.live[c.index()] {
                continue;
            }
            let init = rargs[2 + k];
            let fresh_buffer = matches!(g.get(init).op, Op::Zeros(_) | Op::ZerosLike(_));
            if !(before(init) || fresh_buffer) {
                return None;
            }
            // An adjoint carried from iteration to iteration must not change.
            let is_adjoint_of_carried = k < info.kinds.len();
            if rinfo.kinds[k] == Kind::Float && is_adjoint_of_carried && rinfo.yields[k] != c {
                return None;
            }
        }
        for &n in &self.region_nodes[rinfo.body as usize] {
            let node = g.get(Id(n as u32));
            let outside = node
                .args
                .iter()
                .chain(g.guards.get(&Id(n as u32)))
                .filter(|a| !g.encloses(rinfo.body, g.region_of[a.index()]));
            for &a in outside {
                let carried_or_var = rinfo.carried.contains(&a) || a == rinfo.var;
                if !carried_or_var && !before(a) {
                    return None;
                }
            }
        }
        Some((r, rnode))
    }

    /// Before a forward loop that runs its reverse `rnode` inside it: the
    /// reverse's fresh buffers, its constant adjoints and its sums
    /// (`let mut carry = 0.0;`). Returns the carried values the fused body
    /// updates (the sums).
    fn fused_prologue(&mut self, rnode: Id, stmts: &mut Vec<Stmt>) -> Vec<usize> {
        let g = self.g;
        let Op::Loop(r) = g.get(rnode).op else {
            unreachable!("a loop node")
        };
        let rinfo = &g.loops[r as usize];
        let rargs = g.get(rnode).args.clone();
        self.early.insert(rnode.index());
        // Constants of the reverse built after the loop: written before it.
        for n in self.region_nodes[rinfo.body as usize].clone() {
            let id = Id(n as u32);
            let outside: Vec<Id> = g
                .get(id)
                .args
                .iter()
                .chain(g.guards.get(&id))
                .copied()
                .filter(|a| g.region_of[a.index()] == 0)
                .collect();
            for a in outside {
                if self.expr[a.index()].is_none() {
                    self.node(a.index(), stmts);
                    self.early.insert(a.index());
                }
            }
        }
        let mut updated = Vec::new();
        for (k, &c) in rinfo.carried.iter().enumerate() {
            if !self.live[c.index()] {
                continue;
            }
            let init = rargs[2 + k];
            if self.expr[init.index()].is_none() {
                self.node(init.index(), stmts);
                self.early.insert(init.index());
            }
            let init_expr = self.arg(init);
            if rinfo.kinds[k] == Kind::Buffer || rinfo.yields[k] == c {
                self.expr[c.index()] = Some(init_expr);
                continue;
            }
            let base = rinfo.names[k].clone().unwrap_or_else(|| "carry".to_owned());
            let name = local(&self.names.fresh(&base));
            stmts.push(Stmt::Raw(quote!(let mut #name = #init_expr;)));
            self.emitted_name[c.index()] = Some(name.to_string());
            self.expr[c.index()] = Some(quote!(#name));
            updated.push(k);
        }
        updated
    }
}

/// A loop bound, as far as it is known before the outermost loop.
enum Bound {
    Literal(i128),
    Expr(TokenStream),
}

impl Bound {
    fn tokens(self) -> TokenStream {
        match self {
            Bound::Literal(v) if v < 0 => {
                let lit = Literal::i128_unsuffixed(-v);
                quote!((-#lit))
            }
            Bound::Literal(v) => Literal::i128_unsuffixed(v).into_token_stream(),
            Bound::Expr(t) => t,
        }
    }
}

/// A number of tape values: known at compile time, or a `usize` expression.
enum Count {
    Known(usize),
    Expr(TokenStream),
}

impl Count {
    fn tokens(self) -> TokenStream {
        match self {
            Count::Known(n) => Literal::usize_suffixed(n).into_token_stream(),
            Count::Expr(t) => t,
        }
    }

    fn plus(self, other: Count) -> Count {
        match (self, other) {
            (Count::Known(a), Count::Known(b)) => Count::Known(a.saturating_add(b)),
            (a, b) => {
                let (a, b) = (a.tokens(), b.tokens());
                Count::Expr(quote!(#a.saturating_add(#b)))
            }
        }
    }

    fn times(self, other: Count) -> Count {
        match (self, other) {
            (Count::Known(a), Count::Known(b)) => Count::Known(a.saturating_mul(b)),
            (a, b) => {
                let (a, b) = (a.tokens(), b.tokens());
                Count::Expr(quote!(#a.saturating_mul(#b)))
            }
        }
    }
}

/// Above this many bindings in one block, every name is declared once up
/// front (`let (a, b, …);`) and then assigned. Each `let` opens a lexical
/// scope nested in the previous one, and rustc's debug information recurses
/// over that nesting: thousands of `let`s overflow its stack, while one
/// declaration is one scope whatever the count.
pub const MAX_NESTED_LETS: usize = 200;

/// `let a = …;` per binding, or one declaration and assignments.
fn bindings(stmts: Vec<Stmt>) -> Vec<TokenStream> {
    let pattern = |names: &[Ident]| match names {
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    };
    let lets = stmts.iter().filter(|s| matches!(s, Stmt::Let(..))).count();
    if lets <= MAX_NESTED_LETS {
        return stmts
            .iter()
            .map(|s| match s {
                Stmt::Let(names, rhs) => {
                    let p = pattern(names);
                    quote!(let #p = #rhs;)
                }
                Stmt::Raw(t) => t.clone(),
            })
            .collect();
    }
    let all = stmts.iter().flat_map(|s| match s {
        Stmt::Let(names, _) => names.as_slice(),
        Stmt::Raw(_) => &[],
    });
    let mut out = vec![quote!(let (#(#all,)*);)];
    out.extend(stmts.iter().map(|s| match s {
        Stmt::Let(names, rhs) => {
            let p = pattern(names);
            quote!(#p = #rhs;)
        }
        Stmt::Raw(t) => t.clone(),
    }));
    out
}

/// The names a user's function mentions (every identifier in it) and the
/// ones it binds itself (`let`, `for` patterns).
#[derive(Clone, Debug, Default)]
pub struct UserNames {
    mentioned: HashSet<String>,
    bound: HashSet<String>,
}

impl UserNames {
    /// Collects the names of `func`.
    pub fn of(func: &syn::ItemFn) -> UserNames {
        use quote::ToTokens;
        fn idents(ts: TokenStream, out: &mut HashSet<String>) {
            for t in ts {
                match t {
                    proc_macro2::TokenTree::Ident(i) => {
                        out.insert(i.to_string().trim_start_matches("r#").to_owned());
                    }
                    proc_macro2::TokenTree::Group(g) => idents(g.stream(), out),
                    _ => {}
                }
            }
        }
        struct Bound<'a>(&'a mut HashSet<String>);
        impl<'ast> syn::visit::Visit<'ast> for Bound<'_> {
            fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
                self.0
                    .insert(p.ident.to_string().trim_start_matches("r#").to_owned());
                syn::visit::visit_pat_ident(self, p);
            }
        }
        let mut names = UserNames::default();
        idents(func.to_token_stream(), &mut names.mentioned);
        syn::visit::Visit::visit_block(&mut Bound(&mut names.bound), &func.block);
        names
    }
}

/// A local variable of the generated code. Its span is `mixed_site`, so it
/// is hygienic: no name the user wrote (a parameter `c0`, a `const v`
/// outside the function) can refer to it or be shadowed by it, whatever the
/// two names are.
pub fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// How an adjoint node is named in the emitted code.
#[derive(Clone, Debug)]
pub enum AdjointName {
    /// A parameter's gradient element: `d_w_3`.
    Param(String),
    /// The adjoint of a named forward node: `d_` and that node's emitted name.
    Of(Id),
}

/// Emits the body (statements and the final `(value, gradient)` expression,
/// or with [`Outputs::accumulate`] the additions into the caller's gradient
/// and the value).
pub fn body(src: &Source, out: &Outputs) -> TokenStream {
    let (g, elem) = (src.g, src.elem);
    let mut roots = vec![out.value];
    let mut memory = Memory::default();
    for (k, (_, grad)) in out.grads.iter().enumerate() {
        match grad {
            Grad::Elements(ids) => roots.extend(ids),
            Grad::Buffer(b) => {
                roots.push(*b);
                if let Some(acc) = &out.accumulate {
                    // Updated in place: the caller's buffer is the gradient buffer.
                    memory.buffers.insert(g.storage(*b), acc.place(k));
                }
            }
        }
    }
    if let Some(acc) = &out.accumulate {
        memory.workspace.clone_from(&acc.workspace);
    }
    let (stmts, expr) = straight_line(src, &roots, out.value, &memory);
    let value = expr[out.value.index()].clone().unwrap();
    if let Some(acc) = &out.accumulate {
        // A slice's gradient buffer: an empty `Vec` is sized on first use;
        // any other must be as long as the slice.
        let mut checks = Vec::new();
        for (k, (p, _)) in out.grads.iter().enumerate() {
            let crate::signature::ParamKind::Slice {
                inner,
                array_len: None,
            } = &p.kind
            else {
                continue;
            };
            let place = acc.place(k);
            let slice = &p.name;
            let fill = zero_expr(elem);
            let fill = inner.iter().rev().fold(fill, |inner, n| {
                let n = Literal::usize_unsuffixed(*n);
                quote!([#inner; #n])
            });
            let message = format!(
                "the gradient buffer of `{slice}` has length {{}} but `{slice}` has length {{}}: pass an empty `Vec` (it is sized on first use) or one as long as `{slice}`"
            );
            checks.push(quote! {
                if #place.is_empty() {
                    #place.resize(#slice.len(), #fill);
                }
                if #place.len() != #slice.len() {
                    ::std::panic!(#message, #place.len(), #slice.len());
                }
            });
        }
        let mut adds = Vec::new();
        for (k, (_, grad)) in out.grads.iter().enumerate() {
            let Grad::Elements(ids) = grad else {
                continue; // already added in place
            };
            let shape = match &out.grads[k].0.kind {
                crate::signature::ParamKind::Float { shape } => shape.clone(),
                _ => continue,
            };
            let place = acc.place(k);
            for (j, id) in ids.iter().enumerate() {
                if g.as_const(*id) == Some(0.0) {
                    continue;
                }
                let e = expr[id.index()].clone().unwrap();
                let idx = unflatten(j, &shape);
                adds.push(match elem {
                    // `F: Float` has no `+=`.
                    ElemTy::Generic(_) => quote!(#place #(#idx)* = #place #(#idx)* + #e;),
                    _ => quote!(#place #(#idx)* += #e;),
                });
            }
        }
        return quote! {
            #(#checks)*
            #(#stmts)*
            #(#adds)*
            #value
        };
    }
    let grads: Vec<TokenStream> = out
        .grads
        .iter()
        .map(|(p, grad)| match grad {
            Grad::Buffer(b) => expr[b.index()].clone().unwrap(),
            Grad::Elements(ids) => {
                let flat: Vec<TokenStream> = ids
                    .iter()
                    .map(|id| expr[id.index()].clone().unwrap())
                    .collect();
                match &p.kind {
                    crate::signature::ParamKind::Float { shape } => nest(&flat, shape),
                    _ => quote!(()),
                }
            }
        })
        .collect();
    let grad = if grads.len() == 1 && !out.always_tuple {
        grads[0].clone()
    } else {
        quote!((#(#grads,)*))
    };
    quote! {
        #(#stmts)*
        (#value, #grad)
    }
}

/// A zero of the element type, as one expression.
fn zero_expr(elem: &ElemTy) -> TokenStream {
    match elem {
        ElemTy::Generic(ty) => quote!(::backprop::__private::constant::<#ty>(0.0)),
        elem => literal(0.0, elem),
    }
}

fn binop(a: &[TokenStream], op: TokenStream) -> TokenStream {
    let (x, y) = (&a[0], &a[1]);
    quote!(#x #op #y)
}

fn call_fun(name: &str, spelling: Spelling, a: &[TokenStream]) -> TokenStream {
    let f = Ident::new(name, Span::call_site());
    let x = &a[0];
    let rest = &a[1..];
    match spelling {
        Spelling::Method => quote!(#x.#f(#(#rest),*)),
        Spelling::Core => quote!(::backprop::__private::#f(#(#a),*)),
    }
}

/// Nests a flat row-major list into array literals of `shape`.
fn nest(flat: &[TokenStream], shape: &[usize]) -> TokenStream {
    match shape.split_first() {
        None => flat[0].clone(),
        Some((&n, rest)) => {
            let stride: usize = rest.iter().product();
            let items = (0..n).map(|i| nest(&flat[i * stride..(i + 1) * stride], rest));
            quote!([#(#items),*])
        }
    }
}

fn unflatten(k: usize, shape: &[usize]) -> Vec<TokenStream> {
    crate::graph::unflatten(k, shape)
        .into_iter()
        .map(|i| {
            let lit = Literal::usize_unsuffixed(i);
            quote!([#lit])
        })
        .collect()
}

fn param_expr(p: &ParamInfo, index: usize) -> TokenStream {
    let name = &p.name;
    let shape = match &p.kind {
        crate::signature::ParamKind::Float { shape } => shape.clone(),
        _ => Vec::new(),
    };
    if shape.is_empty() {
        return if p.by_ref {
            quote!((*#name))
        } else {
            quote!(#name)
        };
    }
    let idx = unflatten(index, &shape);
    quote!(#name #(#idx)*)
}

/// A float literal of the element type; negative values parenthesised so
/// they can take a method call (`(-2.0f64).exp()`).
pub fn literal(v: f64, elem: &ElemTy) -> TokenStream {
    let ty = match elem {
        ElemTy::F32 => quote!(f32),
        _ => quote!(f64),
    };
    if v.is_nan() {
        return quote!(#ty::NAN);
    }
    if v.is_infinite() {
        return if v > 0.0 {
            quote!(#ty::INFINITY)
        } else {
            quote!(#ty::NEG_INFINITY)
        };
    }
    let lit = match elem {
        ElemTy::F32 => Literal::f32_suffixed(v.abs() as f32),
        _ => Literal::f64_suffixed(v.abs()),
    };
    if v.is_sign_negative() {
        quote!((-#lit))
    } else {
        quote!(#lit)
    }
}

/// Nodes needed for `roots`. A live loop needs its body's final values;
/// a live value restored from the tape needs the value the forward loop
/// pushes.
pub fn live_nodes(g: &Graph, roots: &[Id]) -> Vec<bool> {
    let mut live = vec![false; g.len()];
    let mut stack: Vec<Id> = roots.to_vec();
    while let Some(id) = stack.pop() {
        if live[id.index()] {
            continue;
        }
        live[id.index()] = true;
        let node = g.get(id);
        match node.op {
            // A loop's initial values are needed only for the carried
            // values that are (below).
            Op::Loop(l) => {
                stack.extend(&node.args[..2]);
                let info = &g.loops[l as usize];
                stack.extend(info.cond.iter().chain(&info.exit).chain(&info.guard));
            }
            _ => stack.extend(&node.args),
        }
        stack.extend(g.guards.get(&id));
        match node.op {
            // A carried value is needed if it is read after the loop or
            // inside it; then so is what the body yields for it.
            Op::LoopOut(k) => {
                if let Op::Loop(l) = g.get(node.args[0]).op {
                    let info = &g.loops[l as usize];
                    stack.push(info.carried[k as usize]);
                }
            }
            Op::Carried { l, k } => {
                let info = &g.loops[l as usize];
                if let Some(&y) = info.yields.get(k as usize) {
                    stack.push(y);
                }
                if let Some(n) = info.node {
                    stack.push(n);
                    stack.push(g.get(n).args[2 + k as usize]);
                }
            }
            Op::Restore { l, k } => {
                if let Some(f) = g.loops[l as usize].reverses {
                    stack.push(g.loops[f as usize].tape[k as usize]);
                }
            }
            _ => {}
        }
    }
    live
}

/// Counts the operations (not constants, parameters or reads of a call's
/// result) needed for `roots`.
#[cfg(test)]
pub fn count_ops(g: &Graph, roots: &[Id]) -> usize {
    live_nodes(g, roots)
        .iter()
        .enumerate()
        .filter(|&(i, &l)| l && g.get(Id(i as u32)).op.is_operation())
        .count()
}

/// Unique, valid local names.
struct Names<'a> {
    used: HashSet<String>,
    /// The next suffix to try for each base name, so naming stays linear.
    next_suffix: HashMap<String, usize>,
    user: &'a UserNames,
    /// Names given that the user did not bind: each is hidden from outside
    /// items by a local `fn` (see [`straight_line`]).
    invented: Vec<String>,
}

impl<'a> Names<'a> {
    fn new(params: &[ParamInfo], user: &'a UserNames) -> Names<'a> {
        Names {
            used: params.iter().map(|p| p.name.to_string()).collect(),
            next_suffix: HashMap::new(),
            user,
            invented: Vec::new(),
        }
    }

    /// A name can be used if it is new here and either the user bound it
    /// (so no outside item forbids the binding) or the user's function
    /// never mentions it (so hiding outside items of that name is safe).
    fn usable(&self, name: &str) -> bool {
        !self.used.contains(name)
            && (self.user.bound.contains(name) || !self.user.mentioned.contains(name))
    }

    /// The next name of a generic constant: `c0`, `c1`, …
    fn constant(&mut self, count: &mut usize) -> String {
        let mut name = format!("c{count}");
        while !self.usable(&name) {
            *count += 1;
            name = format!("c{count}");
        }
        *count += 1;
        self.used.insert(name.clone());
        self.invented.push(name.clone());
        name
    }

    fn fresh(&mut self, base: &str) -> String {
        // `c0`, `c1`, … are the generic constants; keywords get a `_`.
        let reserved = base.len() > 1
            && base.starts_with('c')
            && base[1..].chars().all(|c| c.is_ascii_digit());
        let base = if !reserved && is_plain_identifier(base) {
            base.to_owned()
        } else {
            format!("{base}_")
        };
        let mut next = self.next_suffix.get(&base).copied().unwrap_or(0);
        let mut candidate = if next == 0 {
            base.clone()
        } else {
            format!("{base}_{next}")
        };
        while !self.usable(&candidate) {
            next += 1;
            candidate = format!("{base}_{next}");
        }
        self.next_suffix.insert(base, next + 1);
        self.used.insert(candidate.clone());
        if !self.user.bound.contains(&candidate) {
            self.invented.push(candidate.clone());
        }
        candidate
    }
}

/// Whether `s` can be written as a plain (non-raw) identifier. Names come
/// from the user's identifiers and our own prefixes, so a character check
/// and the keyword list suffice (far cheaper than parsing each one).
fn is_plain_identifier(s: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "Self", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
        "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
        "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv",
        "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "try",
        "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield", "_",
    ];
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c == '_' || c.is_alphabetic());
    first_ok && s.chars().all(|c| c == '_' || c.is_alphanumeric()) && !KEYWORDS.contains(&s)
}

#[cfg(test)]
mod tests {
    use super::is_plain_identifier;

    #[test]
    fn identifiers_and_keywords() {
        assert!(
            is_plain_identifier("d_z1")
                && is_plain_identifier("x_hat")
                && is_plain_identifier("état")
        );
        assert!(
            !is_plain_identifier("type")
                && !is_plain_identifier("1x")
                && !is_plain_identifier("a-b")
        );
        assert!(!is_plain_identifier("_") && !is_plain_identifier(""));
    }
}
