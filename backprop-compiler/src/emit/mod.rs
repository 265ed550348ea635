//! Emission: the graph's nodes needed for the value and the gradient become
//! Rust, one `let` per operation in arena order (so every shared
//! subexpression is computed once), each loop region a `for` (or `loop`)
//! around its body's statements, with the user's names kept.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};

use crate::graph::{Graph, Id, Kind, Op};
use crate::op::IntFn;
use crate::ops::{Spelling, PRIMITIVES};
use crate::signature::{ElemTy, ParamInfo};

mod call_merge;
mod loops;
mod names;
mod pullback;
mod rows;

pub use loops::MAX_TAPE_RESERVE;
use names::Names;
pub use names::{local, UserNames};

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
    /// The marker passed to second-order companions (`NAME_hvp_all`):
    /// `None` for backprop's own `SecondOrder`, or a companion's generic
    /// marker parameter (so that its callees' refusals surface only where
    /// it is called).
    pub marker: Option<&'a TokenStream>,
}

/// What to return besides the value.
pub struct Outputs<'a> {
    /// The loss node.
    pub value: Id,
    /// Per parameter whose gradient is returned: the parameter and its
    /// element nodes, or the buffer holding it.
    pub grads: Vec<(&'a ParamInfo, Grad)>,
    /// The returned gradients, built from [`Outputs::grads`] (a struct's
    /// from its fields').
    pub returned: Vec<GradTree>,
    /// Return a 1-tuple even for a single gradient (the `_vjp` convention).
    pub always_tuple: bool,
    /// Add the gradient into a caller's buffer instead of returning it
    /// (`NAME_grad_acc`): only the value is returned.
    pub accumulate: Option<Accumulate>,
    /// Return `(value, this node)` instead of the gradients
    /// (`NAME_jvp`'s directional derivative).
    pub tangent: Option<Id>,
    /// Return `(value, gradient, this array)`: its elements, row-major,
    /// and its shape (`NAME_hvp`'s H·v, `NAME_hessian`'s H).
    /// (Several: a tuple of them, H·v per parameter.)
    pub extra: Option<Vec<(Grad, Vec<usize>)>>,
    /// Return the extras grouped as the gradients are, by these trees
    /// (`NAME_hvp`'s H·v of a struct is a struct).
    pub extra_returned: Option<Vec<GradTree>>,
}

/// Where `NAME_grad_acc` adds the gradient and finds its workspace.
#[derive(Clone)]
pub struct Accumulate {
    /// The `&mut` gradient parameter: the gradient itself for one
    /// differentiated parameter, else a tuple of them.
    pub grad: Ident,
    /// Whether `grad` is a tuple (several differentiated parameters).
    pub tuple: bool,
    /// The `&mut Workspace` parameter of `NAME_grad_acc_with`, if any.
    pub workspace: Option<Ident>,
    /// Add only the gradients held in buffers (slices') into `grad`, and
    /// return the others, as a tuple with `()` in place of each added
    /// one, instead of the value (`NAME_pullback`).
    pub buffers_only: bool,
    /// `NAME_pullback`'s parameter saying, per input, whether its caller
    /// wants the gradient with respect to a slice (a tuple of values whose
    /// types implement `backprop::__private::Want`): an unwanted one's
    /// additions are skipped, and its buffer may be empty.
    pub want: Option<Ident>,
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

    /// The place of each of [`Outputs::grads`]: `(*grad)`, `grad.1`,
    /// `(*grad).w1`.
    fn places(&self, returned: &[GradTree], count: usize) -> Vec<TokenStream> {
        fn walk(t: &GradTree, at: TokenStream, out: &mut [TokenStream]) {
            match t {
                GradTree::Leaf(i) => out[*i] = at,
                GradTree::Struct { fields, .. } => {
                    for (m, f) in fields {
                        walk(f, quote!(#at.#m), out);
                    }
                }
            }
        }
        let mut out = vec![TokenStream::new(); count];
        for (k, t) in returned.iter().enumerate() {
            walk(t, self.place(k), &mut out);
        }
        out
    }
}

/// A returned gradient: one parameter's, or a struct built from its
/// fields'.
#[derive(Clone, Debug)]
pub enum GradTree {
    /// The gradient of [`Outputs::grads`]`[i]`.
    Leaf(usize),
    /// `path { field: …, … }`.
    Struct {
        /// The struct expression's path (`Mlp`, `Self`).
        path: TokenStream,
        /// Its fields.
        fields: Vec<(syn::Member, GradTree)>,
    },
}

impl GradTree {
    /// The value of this shape made of `leaves` (one per leaf index).
    pub fn build(&self, leaves: &[TokenStream]) -> TokenStream {
        match self {
            GradTree::Leaf(i) => leaves[*i].clone(),
            GradTree::Struct { path, fields } => {
                let fields = fields.iter().map(|(m, t)| {
                    let v = t.build(leaves);
                    quote!(#m: #v)
                });
                quote!(#path { #(#fields),* })
            }
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
    /// A caller's tape to use as a stack (`NAME_pullback`'s parameter):
    /// what this function pushes it pops, and it pops nothing else.
    pub shared_tape: Option<Ident>,
    /// Names of the generated function's own parameters (`grad`,
    /// `seed`), which no local may take: a user's `let seed = …` would
    /// hide one (hygiene does not separate them, both being generated).
    pub reserved: Vec<String>,
    /// In `NAME_pullback`: the caller's gradient buffers of slices (by
    /// storage), each with its element of the `want` parameter (whose
    /// type says whether the caller wants that gradient).
    pub wants: HashMap<Id, TokenStream>,
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
        marker,
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
        marker,
        elem,
        params,
        live: &live,
        names: Names::new(params, user, &memory.reserved),
        expr: vec![None; g.len()],
        emitted_name: vec![None; g.len()],
        adjoint_of,
        const_count: 0,
        call_grads: vec![None; g.len()],
        out_value: value,
        region_nodes,
        tape: None,
        tape_is_ref: false,
        buffers: &memory.buffers,
        wants: &memory.wants,
        trips: HashMap::new(),
        ranges: HashMap::new(),
        guarded_calls: HashSet::new(),
        calls_via_dir: HashSet::new(),
        dir_calls: {
            let mut dirs: HashMap<u32, Vec<usize>> = HashMap::new();
            for i in (0..g.len()).filter(|&i| live[i]) {
                if let Op::CallDir(k) = g.get(Id(i as u32)).op {
                    dirs.entry(k).or_default().push(i);
                }
            }
            dirs
        },
        int_tapes: HashMap::new(),
        restored_slices: HashMap::new(),
        read_after_pullback: (0..g.len())
            .filter(|&i| live[i] && g.get(Id(i as u32)).op == Op::PullbackBuf)
            .map(|i| {
                let args = &g.get(Id(i as u32)).args;
                (args[0], args[1])
            })
            .collect(),
        calls_with_grad: (0..g.len())
            .filter(|&i| live[i] && matches!(g.get(Id(i as u32)).op, Op::Proj(_)))
            .map(|i| g.get(Id(i as u32)).args[0].index())
            .collect(),
        early: HashSet::new(),
        emitted_ahead: HashSet::new(),
        carry_sites: HashMap::new(),
        row_of: HashMap::new(),
    };
    // Floats share one tape; each integer or bool a loop records has its
    // own (typed by what is pushed on it).
    let mut int_tapes = HashMap::new();
    for info in &g.loops {
        for (k, r) in info.restores.iter().enumerate() {
            if live[r.index()] && matches!(info.restore_kinds[k], Kind::Int | Kind::Bool) {
                let name = local(&e.names.fresh("int_tape"));
                int_tapes.insert(*r, name);
            }
        }
    }
    let uses_tape = g.loops.iter().any(|info| {
        info.restores
            .iter()
            .zip(&info.restore_kinds)
            .any(|(r, k)| live[r.index()] && !matches!(k, Kind::Int | Kind::Bool))
    });
    // The pullbacks a function calls share its tape (one stack for a whole
    // recursion: no allocation per call).
    let calls_pullbacks =
        (0..g.len()).any(|i| live[i] && matches!(g.get(Id(i as u32)).op, Op::Pullback(_)));
    let mut stmts = Vec::new();
    if uses_tape || calls_pullbacks {
        let tape = local(&e.names.fresh("tape"));
        let ty = match elem {
            ElemTy::F64 => quote!(f64),
            ElemTy::F32 => quote!(f32),
            ElemTy::Generic(t) => quote!(#t),
        };
        stmts.push(Stmt::Raw(match (&memory.shared_tape, &memory.workspace) {
            (Some(shared), _) => quote!(let #tape: &mut ::std::vec::Vec<#ty> = #shared;),
            // Emptied first: a call that panicked may have left values.
            (None, Some(work)) => {
                quote!(let #tape: &mut ::std::vec::Vec<#ty> = &mut #work.tape; #tape.clear();)
            }
            (None, None) => quote!(let mut #tape: ::std::vec::Vec<#ty> = ::std::vec::Vec::new();),
        }));
        e.tape_is_ref = memory.shared_tape.is_some() || memory.workspace.is_some();
        e.tape = Some(tape);
    }
    for name in int_tapes.values() {
        stmts.push(Stmt::Raw(quote!(let mut #name = ::std::vec::Vec::new();)));
    }
    e.int_tapes = int_tapes;
    // A slice restored from the tape for a call's pullback (a `vec!` of a
    // loop's iteration) is copied into one buffer reused by every
    // iteration, not a new one each time.
    for info in &g.loops {
        for (k, r) in info.restores.iter().enumerate() {
            if live[r.index()] && info.restore_kinds[k] == Kind::Buffer {
                let name = local(&e.names.fresh("restored_slice"));
                stmts.push(Stmt::Raw(quote!(let mut #name = ::std::vec::Vec::new();)));
                e.restored_slices.insert(*r, name);
            }
        }
    }
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
    marker: Option<&'a TokenStream>,
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
    /// Whether [`Emitter::tape`] is a `&mut Vec` (a workspace's or a
    /// caller's), not a local `Vec`.
    tape_is_ref: bool,
    /// Gradient buffers that are the caller's memory.
    buffers: &'a HashMap<Id, TokenStream>,
    /// Those a `NAME_pullback`'s caller may not want, with the element
    /// of `want` that says (see [`Memory::wants`]).
    wants: &'a HashMap<Id, TokenStream>,
    /// The iteration counter of each counted loop emitted.
    trips: HashMap<u32, Ident>,
    /// The range of each counted range loop emitted, as a variable.
    ranges: HashMap<u32, Ident>,
    /// The calls made only under a condition (their result an `Option`).
    guarded_calls: HashSet<usize>,
    /// The calls (not made only under a condition) whose value and
    /// gradient are read from their direction call's `NAME_hvp_all`
    /// result (see `call_merge`).
    calls_via_dir: HashSet<usize>,
    /// The live direction calls ([`Op::CallDir`]) of each call, in arena
    /// order: what `call_merge` looks among.
    dir_calls: HashMap<u32, Vec<usize>>,
    /// The tape of each integer a reverse loop restores (by its restore).
    int_tapes: HashMap<Id, Ident>,
    /// The buffer each slice restored from the tape is copied into.
    restored_slices: HashMap<Id, Ident>,
    /// (adjoint buffer, pullback) for each live [`Op::PullbackBuf`]: the
    /// buffers whose gradient a call's pullback is to add (wanted).
    read_after_pullback: HashSet<(Id, Id)>,
    /// The calls whose gradient is read (the others call the function
    /// itself, not its companion).
    calls_with_grad: HashSet<usize>,
    /// Nodes emitted ahead of their place (a fused reverse loop's initial
    /// values), and reverse loops emitted inside their forward loop.
    early: HashSet<usize>,
    /// Nodes of the block being emitted that were emitted ahead of their
    /// place (a direction call and its tangents, at the call it serves,
    /// see `call_merge`): skipped once, when their place comes.
    emitted_ahead: HashSet<usize>,
    /// Scatter-adds into `b[i]` and `b[i + 1]` of a loop over `i`, whose
    /// `i + 1` contribution is carried to the next iteration in a
    /// register (see `Emitter::plan_carries`).
    carry_sites: HashMap<usize, loops::CarrySite>,
    /// Loads emitted as reads of a row (see `Emitter::row_reads`): the
    /// row's variable and the loop variable.
    row_of: HashMap<usize, (Ident, TokenStream)>,
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
            if !self.early.contains(&i) && !self.emitted_ahead.remove(&i) {
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
            Op::NewVec { array } | Op::ZerosLen { array } => {
                // `vec![c; n]` or `[c; N]`; an adjoint `vec![0.0; n]` or
                // `[0.0; N]`.
                let (fill, len) = if matches!(node.op, Op::NewVec { .. }) {
                    (self.arg(node.args[0]), self.arg(node.args[1]))
                } else {
                    (self.zero(stmts), self.arg(node.args[0]))
                };
                let name = self.name_for(i, "d");
                let ident = local(&name);
                stmts.push(Stmt::Raw(if array {
                    quote!(let mut #ident = [#fill; #len];)
                } else {
                    quote!(let mut #ident = ::std::vec![#fill; #len];)
                }));
                self.expr[i] = Some(quote!(#ident));
                return;
            }
            Op::ZerosLike(p) => {
                // `vec![[0.0; 4]; w.len()]`: as long as the slice.
                let param = &self.params[p as usize];
                let fill = param.slice_element(self.zero(stmts));
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
            // What a call read of a `vec!` written after it.
            Op::Snapshot => {
                let of = self.arg(node.args[0]);
                let name = local(&self.name_for(i, "snapshot"));
                stmts.push(Stmt::Let(vec![name.clone()], quote!(#of.to_vec())));
                self.expr[i] = Some(quote!(#name));
                return;
            }
            Op::AddCallSlice { gradient, arg } => {
                self.emit_add_call_slice(id, gradient, arg, stmts);
                return;
            }
            // Updated in place by the pullback it follows.
            Op::PullbackBuf => {
                self.expr[i] = Some(self.arg(node.args[0]));
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
                let place = match self.row_of.get(&i) {
                    Some((row, var)) => quote!(#row[#var]),
                    None => quote!(#buf #([#idx])*),
                };
                if let Some(site) = self.carry_sites.get(&i) {
                    stmts.push(Stmt::Raw(site.update(&place, &v)));
                    self.expr[i] = Some(buf);
                    return;
                }
                let update = match (node.op, self.elem) {
                    (Op::Store, _) => quote!(#place = #v;),
                    // `F: Float` has no `+=`.
                    (_, ElemTy::Generic(_)) => quote!(#place = #place + #v;),
                    _ => quote!(#place += #v;),
                };
                // Into a gradient its caller may not want: a branch on a
                // constant, removed with what feeds it when unwanted.
                let update = match self.wants.get(&g.storage(node.args[0])) {
                    Some(want) => quote!(if ::backprop::__private::wanted(#want) { #update }),
                    None => update,
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
            // (Its buffers are emitted only where wanted.)
            Op::Pullback(k) => return self.emit_pullback(k, id, stmts),
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
            Op::ArrayParam(p) | Op::IntSliceParam(p) => {
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
            Op::CheckRange => {
                let (start, end, len) = (&a[0], &a[1], &a[2]);
                quote!(::backprop::__private::check_range(#start, #end, #len))
            }
            Op::CheckIndex => {
                let (i, len) = (&a[0], &a[1]);
                quote!(::backprop::__private::check_index(#i, #len))
            }
            Op::IntSliceRange(p) => {
                let (name, start, end) = (&self.params[p as usize].name, &a[0], &a[1]);
                quote!(&#name[#start..#end])
            }
            Op::IntPick => {
                let (i, items) = (&a[0], &a[1..]);
                quote!([#(#items),*][#i])
            }
            Op::IntLoad(p) => {
                let (name, i) = (&self.params[p as usize].name, &a[0]);
                quote!(#name[#i])
            }
            Op::IntBit(b) => {
                let op: TokenStream = b.symbol().parse().unwrap();
                binop(&a, op)
            }
            Op::IntFn(IntFn::Not) => {
                let x = &a[0];
                quote!(!#x)
            }
            Op::IntFn(f) => {
                let (x, m) = (&a[0], format_ident!("{}", f.name()));
                quote!((#x).#m())
            }
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
            Op::SliceDot(depth) => {
                let (x, y) = (&a[0], &a[1]);
                let (x, y) = match &a[2..] {
                    [start, end] => (quote!(#x[(#start)..(#end)]), quote!(#y[(#start)..(#end)])),
                    _ => (quote!(#x[..]), quote!(#y[..])),
                };
                let flat = (0..depth).map(|_| quote!(.flatten()));
                let flat_too = flat.clone();
                let zero = zero_expr(elem);
                let (sum, p, q) = (
                    local(&self.names.fresh("sum")),
                    local(&self.names.fresh("p")),
                    local(&self.names.fresh("q")),
                );
                quote!(#x.iter() #(#flat)* .zip(#y.iter() #(#flat_too)*).fold(#zero, |#sum, (#p, #q)| #sum + *#p * *#q))
            }
            Op::Load => match self.row_of.get(&i) {
                Some((row, var)) => quote!(#row[#var]),
                None => {
                    let (buf, idx) = (&a[0], &a[1..]);
                    quote!(#buf #([#idx])*)
                }
            },
            Op::RangeNth(l) => {
                let (range, k) = (&self.ranges[&l], &a[0]);
                // `k` is below the number of iterations the loop ran.
                if g.loops[l as usize].reversed {
                    quote!(#range.clone().rev().nth(#k).unwrap())
                } else {
                    quote!(#range.clone().nth(#k).unwrap())
                }
            }
            Op::CallDir(k) => {
                let info = &g.calls[k as usize];
                let path = &info.hvp_all_path;
                let n = a.len() / 2;
                let args = call_args(info, &a[..n]);
                // The tangents passed as the arguments are (by value or
                // by reference), `()` for an integer or a bool; a slice's
                // as the same range of its tangent buffer, or zeros of its
                // length where it has none.
                let mut at = 0;
                let tangents: Vec<TokenStream> = info
                    .args
                    .iter()
                    .enumerate()
                    .map(|(j, (shape, by_ref))| {
                        let (first, len) = (at, info.flat_len(j));
                        at += len;
                        if let Some(slice) = &info.slices[j] {
                            if g.kinds[node.args[n + first].index()] != Kind::Buffer {
                                let zero = slice_zero(&slice.inner, elem);
                                let arg = &args[j];
                                return quote!(&::std::vec![#zero; (#arg).len()][..]);
                            }
                            let t = &a[n + first];
                            return match slice.range {
                                true => {
                                    let (start, end) = (&a[first + 1], &a[first + 2]);
                                    quote!(&#t[(#start)..(#end)])
                                }
                                false => quote!(&#t[..]),
                            };
                        }
                        if g.kinds[node.args[first].index()] != Kind::Float {
                            return quote!(());
                        }
                        let t = nest(&a[n + first..n + first + len], shape);
                        match by_ref {
                            true => quote!(&#t),
                            false => t,
                        }
                    })
                    .collect();
                // At the call as written: a callee with no second
                // derivatives refuses the marker there.
                let at = path
                    .clone()
                    .into_iter()
                    .last()
                    .map_or_else(proc_macro2::Span::call_site, |t| t.span());
                let marker = match self.marker {
                    Some(m) => m.clone(),
                    None => quote_spanned!(at=> ::backprop::core::functions::internal::SecondOrder),
                };
                let call = quote!(#path(#marker, #(#args,)* (#(#tangents,)*)));
                let result = local(&self.names.fresh(&format!("{}_hvp", info.callee)));
                let dir = local(&self.names.fresh(&format!("{}_dir", info.callee)));
                match g.guards.get(&id) {
                    Some(&c) => {
                        let c = self.arg(c);
                        let zero = zero_expr(elem);
                        stmts.push(Stmt::Let(
                            vec![result.clone()],
                            quote!(if #c { ::core::option::Option::Some(#call) } else { ::core::option::Option::None }),
                        ));
                        stmts.push(Stmt::Let(
                            vec![dir.clone()],
                            quote!(match &#result { ::core::option::Option::Some(r) => r.3, ::core::option::Option::None => #zero }),
                        ));
                        self.guarded_calls.insert(i);
                    }
                    None => {
                        stmts.push(Stmt::Let(vec![result.clone()], call));
                        stmts.push(Stmt::Let(vec![dir.clone()], quote!(#result.3)));
                    }
                }
                self.call_grads[i] = Some(result);
                self.emitted_name[i] = Some(dir.to_string());
                self.expr[i] = Some(quote!(#dir));
                return;
            }
            Op::Call(k) => {
                if let Some(dir) = self.merged_call_dir(id, k, stmts) {
                    // Its value and gradient are those of `NAME_hvp_all`'s
                    // result (`(value, gradient, H·t, ∇f·t)`).
                    let result = self.call_grads[dir.index()]
                        .clone()
                        .expect("a direction call's result is named");
                    let info = &g.calls[k as usize];
                    let value = local(
                        &self
                            .names
                            .fresh(g.names[i].as_deref().unwrap_or(&info.callee)),
                    );
                    stmts.push(Stmt::Let(
                        vec![value.clone()],
                        if self.guarded_calls.contains(&dir.index()) {
                            self.guarded_calls.insert(i);
                            let zero = zero_expr(elem);
                            quote!(match &#result { ::core::option::Option::Some(r) => r.0, ::core::option::Option::None => #zero })
                        } else {
                            self.calls_via_dir.insert(i);
                            quote!(#result.0)
                        },
                    ));
                    self.call_grads[i] = Some(result);
                    self.emitted_name[i] = Some(value.to_string());
                    self.expr[i] = Some(quote!(#value));
                    return;
                }
                let info = &g.calls[k as usize];
                let path = &info.vjp_path;
                let args = call_args(info, &a);
                let base = self
                    .names
                    .fresh(g.names[i].as_deref().unwrap_or(&info.callee));
                let value = local(&base);
                if !self.calls_with_grad.contains(&i) {
                    // Only its value is needed (a forward loop whose reverse
                    // calls it again): the function itself.
                    let plain = &info.value_path;
                    let call = match info.element {
                        Some(k) => {
                            let k = syn::Index::from(k);
                            quote!(#plain(#(#args),*).#k)
                        }
                        None => quote!(#plain(#(#args),*)),
                    };
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
            Op::Proj(k) | Op::HvProj(k) => {
                let call = g.get(node.args[0]);
                let (Op::Call(ci) | Op::CallDir(ci) | Op::Pullback(ci)) = call.op else {
                    unreachable!("a projection reads a call")
                };
                // The gradient's tuple, or H·t's (of `NAME_hvp_all`'s result).
                // (A pullback returns the gradients' tuple itself.)
                let slot = match (node.op, call.op) {
                    (Op::HvProj(_), _) => quote!(.2),
                    (_, Op::Pullback(_)) => TokenStream::new(),
                    _ => quote!(.1),
                };
                let info = &g.calls[ci as usize];
                let mut k = k as usize;
                let mut arg = 0;
                while k >= info.flat_len(arg) {
                    k -= info.flat_len(arg);
                    arg += 1;
                }
                let grad = self.call_grads[node.args[0].index()].clone();
                let idx = match &info.places[arg] {
                    // A struct's gradient: the field holding element `k`.
                    Some(place) => {
                        let mut k = k;
                        let mut path = TokenStream::new();
                        for (suffix, shape) in &place.leaves {
                            let n: usize = shape.iter().product();
                            if k < n {
                                let idx = unflatten(k, shape);
                                path = quote!(#suffix #(#idx)*);
                                break;
                            }
                            k -= n;
                        }
                        vec![path]
                    }
                    None => unflatten(k, &info.args[arg].0),
                };
                let arg = syn::Index::from(arg);
                if self.guarded_calls.contains(&node.args[0].index()) {
                    let zero = zero_expr(elem);
                    let name = local(&self.names.fresh("v"));
                    stmts.push(Stmt::Let(
                        vec![name.clone()],
                        quote!(match &#grad { ::core::option::Option::Some(r) => (r #slot).#arg #(#idx)*, ::core::option::Option::None => #zero }),
                    ));
                    self.expr[i] = Some(quote!(#name));
                } else {
                    // A result of `NAME_hvp_all`: its gradient is a slot.
                    let whole = matches!(call.op, Op::CallDir(_))
                        || self.calls_via_dir.contains(&node.args[0].index());
                    self.expr[i] = Some(match whole {
                        true => quote!((#grad #slot).#arg #(#idx)*),
                        false => quote!(#grad.#arg #(#idx)*),
                    });
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
    body_in(src, out, None)
}

/// [`body`] pushing and popping on the caller's tape `tape` (a `&mut Vec`
/// parameter, used as a stack) instead of one of its own.
pub fn body_with_tape(src: &Source, out: &Outputs, tape: &Ident) -> TokenStream {
    body_in(src, out, Some(tape))
}

fn body_in(src: &Source, out: &Outputs, shared_tape: Option<&Ident>) -> TokenStream {
    let (g, elem) = (src.g, src.elem);
    // `NAME_pullback` does not return the value: only what its
    // derivatives read of it is computed.
    let buffers_only = out.accumulate.as_ref().is_some_and(|a| a.buffers_only);
    let mut roots = if buffers_only {
        Vec::new()
    } else {
        vec![out.value]
    };
    roots.extend(out.tangent);
    for (extra, _) in out.extra.iter().flatten() {
        match extra {
            Grad::Elements(ids) => roots.extend(ids),
            Grad::Buffer(b) => roots.push(*b),
        }
    }
    roots.extend(g.effect_nodes());
    let mut memory = Memory::default();
    let places = match &out.accumulate {
        Some(acc) => acc.places(&out.returned, out.grads.len()),
        None => Vec::new(),
    };
    // `want.k` beside each `grad.k` of `NAME_pullback`.
    let want_places = match &out.accumulate {
        Some(
            acc @ Accumulate {
                want: Some(want), ..
            },
        ) => Accumulate {
            grad: want.clone(),
            ..acc.clone()
        }
        .places(&out.returned, out.grads.len()),
        _ => Vec::new(),
    };
    for (k, (_, grad)) in out.grads.iter().enumerate() {
        match grad {
            Grad::Elements(ids) => roots.extend(ids),
            Grad::Buffer(b) => {
                roots.push(*b);
                // `NAME_pullback` adds a slice's gradient into the
                // caller's buffer and returns a fixed-size array's.
                let returned = buffers_only
                    && !matches!(
                        out.grads[k].0.kind,
                        crate::signature::ParamKind::Slice { .. }
                    );
                if out.accumulate.is_some() && !returned {
                    // Updated in place: the caller's buffer is the gradient buffer.
                    memory.buffers.insert(g.storage(*b), places[k].clone());
                    if buffers_only {
                        memory.wants.insert(g.storage(*b), want_places[k].clone());
                    }
                }
            }
        }
    }
    if let Some(acc) = &out.accumulate {
        memory.workspace.clone_from(&acc.workspace);
        memory.reserved.push(acc.grad.to_string());
        memory
            .reserved
            .extend(acc.workspace.iter().map(Ident::to_string));
    }
    memory.shared_tape = shared_tape.cloned();
    memory.reserved.extend(shared_tape.map(Ident::to_string));
    if let Some(acc) = out.accumulate.as_ref().filter(|a| a.buffers_only) {
        memory
            .reserved
            .push(crate::pullback::PULLBACK_SEED.to_owned());
        memory
            .reserved
            .extend(acc.want.iter().map(Ident::to_string));
    }
    let (mut stmts, expr) = straight_line(src, &roots, out.value, &memory);
    let value = || expr[out.value.index()].clone().unwrap();
    // The user's `assert!`s and prints, once everything is computed, in
    // program order.
    let mut effects: Vec<(usize, TokenStream)> = Vec::new();
    for check in &g.checks {
        let c = expr[check.cond.index()].clone().unwrap();
        let message = &check.message;
        let mac = if check.debug {
            quote!(::core::debug_assert!)
        } else {
            quote!(::core::assert!)
        };
        effects.push((check.order, quote!(#mac(#c, "{}", #message);)));
    }
    for p in &g.prints {
        let value = |v: &crate::graph::PrintValue| print_expr(v, &expr);
        let positional = p.positional.iter().map(value);
        let named = p.named.iter().map(|(n, v)| {
            let n = Ident::new(n, Span::call_site());
            let v = value(v);
            quote!(#n = #v)
        });
        let mac = Ident::new(&p.mac, Span::call_site());
        let format = &p.format;
        let call = if format.is_empty() {
            quote!(::std::#mac!();)
        } else {
            quote!(::std::#mac!(#format #(, #positional)* #(, #named)*);)
        };
        let call = match p.guard {
            Some(c) => {
                let c = expr[c.index()].clone().unwrap();
                quote!(if #c { #call })
            }
            None => call,
        };
        effects.push((p.order, call));
    }
    effects.sort_by_key(|e| e.0);
    stmts.extend(effects.into_iter().map(|e| e.1));
    if out.accumulate.is_some() {
        // A slice's gradient buffer: an empty `Vec` is sized on first use;
        // any other must be as long as the slice.
        let mut checks = Vec::new();
        for (k, (p, _)) in out.grads.iter().enumerate() {
            let crate::signature::ParamKind::Slice {
                array_len: None, ..
            } = &p.kind
            else {
                continue;
            };
            let place = &places[k];
            let slice = &p.name;
            let fill = p.slice_element(zero_expr(elem));
            let shown = &p.display;
            let message = if buffers_only {
                format!("the gradient buffer of `{shown}` has length {{}} but `{shown}` has length {{}}")
            } else {
                format!(
                    "the gradient buffer of `{shown}` has length {{}} but `{shown}` has length {{}}: pass an empty `Vec` (it is sized on first use) or one as long as `{shown}`"
                )
            };
            // (A pullback's buffers are slices, made by its caller.)
            let resize = (!buffers_only).then(|| {
                quote! {
                    if #place.is_empty() {
                        #place.resize(#slice.len(), #fill);
                    }
                }
            });
            // (An unwanted gradient's buffer may be empty.)
            let wanted = want_places
                .get(k)
                .map(|want| quote!(::backprop::__private::wanted(#want) &&));
            checks.push(quote! {
                #resize
                if #wanted #place.len() != #slice.len() {
                    ::std::panic!(#message, #place.len(), #slice.len());
                }
            });
        }
        if buffers_only {
            let leaves: Vec<TokenStream> = out
                .grads
                .iter()
                .map(|(p, grad)| match (grad, &p.kind) {
                    (Grad::Elements(ids), crate::signature::ParamKind::Float { shape }) => {
                        let flat: Vec<TokenStream> = ids
                            .iter()
                            .map(|id| expr[id.index()].clone().unwrap())
                            .collect();
                        nest(&flat, shape)
                    }
                    (Grad::Buffer(b), crate::signature::ParamKind::Float { .. }) => {
                        expr[b.index()].clone().unwrap()
                    }
                    _ => quote!(()),
                })
                .collect();
            let grads = out.returned.iter().map(|t| t.build(&leaves));
            return quote! {
                #(#checks)*
                #(#stmts)*
                (#(#grads,)*)
            };
        }
        let value = value();
        let mut adds = Vec::new();
        for (k, (_, grad)) in out.grads.iter().enumerate() {
            let Grad::Elements(ids) = grad else {
                continue; // already added in place
            };
            let shape = match &out.grads[k].0.kind {
                crate::signature::ParamKind::Float { shape } => shape.clone(),
                _ => continue,
            };
            let place = &places[k];
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
    let value = value();
    // A gradient-shaped value: its buffer, or its elements nested into an
    // array of `shape`.
    let array = |grad: &Grad, shape: &[usize]| match grad {
        Grad::Buffer(b) => expr[b.index()].clone().unwrap(),
        Grad::Elements(ids) => {
            let flat: Vec<TokenStream> = ids
                .iter()
                .map(|id| expr[id.index()].clone().unwrap())
                .collect();
            nest(&flat, shape)
        }
    };
    let leaves: Vec<TokenStream> = out
        .grads
        .iter()
        .map(|(p, grad)| match (grad, &p.kind) {
            (Grad::Elements(_), crate::signature::ParamKind::Float { shape }) => array(grad, shape),
            (Grad::Elements(_), _) => quote!(()),
            (Grad::Buffer(_), _) => array(grad, &[]),
        })
        .collect();
    if let Some(t) = out.tangent {
        let t = expr[t.index()].clone().unwrap();
        return quote! {
            #(#stmts)*
            (#value, #t)
        };
    }
    let grads: Vec<TokenStream> = out.returned.iter().map(|t| t.build(&leaves)).collect();
    let grad = if grads.len() == 1 && !out.always_tuple {
        grads[0].clone()
    } else {
        quote!((#(#grads,)*))
    };
    if let Some(extras) = &out.extra {
        let mut extras: Vec<TokenStream> = extras
            .iter()
            .map(|(extra, shape)| array(extra, shape))
            .collect();
        if let Some(trees) = &out.extra_returned {
            extras = trees.iter().map(|t| t.build(&extras)).collect();
        }
        let extra = match &extras[..] {
            [one] => one.clone(),
            several => quote!((#(#several,)*)),
        };
        return quote! {
            #(#stmts)*
            (#value, #grad, #extra)
        };
    }
    quote! {
        #(#stmts)*
        (#value, #grad)
    }
}

/// A printed value: the node's expression, or an array literal of them.
fn print_expr(v: &crate::graph::PrintValue, expr: &[Option<TokenStream>]) -> TokenStream {
    match v {
        crate::graph::PrintValue::Node(id) => expr[id.index()].clone().unwrap(),
        crate::graph::PrintValue::Array(items) => {
            let items = items.iter().map(|i| print_expr(i, expr));
            quote!([#(#items),*])
        }
    }
}

/// A zero of the element type, as one expression.
fn zero_expr(elem: &ElemTy) -> TokenStream {
    match elem {
        ElemTy::Generic(ty) => quote!(::backprop::__private::constant::<#ty>(0.0)),
        elem => literal(0.0, elem),
    }
}

/// A zero element of a slice whose elements have shape `inner` (`0.0`,
/// `[[0.0; 3]; 2]`): what a `vec!` of zeros as long as it is filled with.
fn slice_zero(inner: &[usize], elem: &ElemTy) -> TokenStream {
    inner
        .iter()
        .rev()
        .fold(zero_expr(elem), |z, n| quote!([#z; #n]))
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

/// The arguments of a call to another `#[derive_grad]` function, from its
/// flattened arguments' expressions: arrays nested again, `&` where the
/// callee takes a reference, a struct passed as it is.
fn call_args(info: &crate::graph::CallInfo, flat: &[TokenStream]) -> Vec<TokenStream> {
    let mut rest = flat.iter();
    info.args
        .iter()
        .zip(&info.places)
        .enumerate()
        .map(|(k, ((shape, by_ref), place))| {
            let flat: Vec<TokenStream> = rest.by_ref().take(info.flat_len(k)).cloned().collect();
            if let Some(crate::graph::SliceArg { range: true, .. }) = info.slices[k] {
                // Sliced as the original slices it (and panics as it does).
                let (buf, start, end) = (&flat[0], &flat[1], &flat[2]);
                return quote!(&#buf[(#start)..(#end)]);
            }
            // A struct is passed as it is, not rebuilt from its elements.
            if let Some(place) = place {
                let access = &place.access;
                return if *by_ref {
                    quote!(&#access)
                } else {
                    quote!(::core::clone::Clone::clone(&#access))
                };
            }
            let v = nest(&flat, shape);
            if *by_ref {
                quote!(&#v)
            } else {
                v
            }
        })
        .collect()
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
/// pushes, and a live value of a loop's body needs the loop (a forward
/// loop whose results nothing reads still runs for what it tapes, as in
/// `NAME_pullback`, which does not return the value).
pub fn live_nodes(g: &Graph, roots: &[Id]) -> Vec<bool> {
    let loop_of_body: HashMap<u32, Id> = g
        .loops
        .iter()
        .filter_map(|info| Some((info.body, info.node?)))
        .collect();
    let mut live = vec![false; g.len()];
    let mut stack: Vec<Id> = roots.to_vec();
    while let Some(id) = stack.pop() {
        if live[id.index()] {
            continue;
        }
        live[id.index()] = true;
        stack.extend(loop_of_body.get(&g.region_of[id.index()]));
        let node = g.get(id);
        match node.op {
            // A loop's initial values are needed only for the carried
            // values that are (below).
            Op::Loop(l) => {
                stack.extend(&node.args[..2]);
                let info = &g.loops[l as usize];
                stack.extend(info.cond.iter().chain(&info.exit).chain(&info.guard));
            }
            // A slice's adjoint buffer only if what the pullback adds into
            // it is read (its `PullbackBuf` is live): else it gets an
            // empty one and is told the gradient is unwanted.
            Op::Pullback(k) => {
                stack.extend(&node.args[..1 + g.calls[k as usize].flat_total()]);
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
