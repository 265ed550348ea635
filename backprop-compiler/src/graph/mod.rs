//! The expression graph: a flat, hash-consed arena whose nodes are stored
//! children before parents, so a forward walk over the arena is the forward
//! pass and a backward walk is backpropagation.
//!
//! Nodes are built only through [`Graph::node`], which folds constants,
//! applies the simplifier's rule table ([`crate::rules`]) and shares every
//! structurally equal subexpression, so the emitted code computes each
//! shared value once.

use std::collections::HashMap;

use proc_macro2::TokenStream;

pub mod region;

pub use crate::op::{int_type_index, CmpOp, Id, Op, INT_TYPE_NAMES};
use crate::ops::{Fold, PRIMITIVES};
use crate::pattern::{Pat, Terms, VarKind, SLOTS};
use crate::rules::{self, RuleSet};

/// One node: an operation and its arguments (all with smaller ids).
#[derive(Clone, Debug)]
pub struct Node {
    /// What it computes.
    pub op: Op,
    /// Its arguments.
    pub args: Vec<Id>,
}

/// A call to another `#[derive_grad]` function, following the convention
/// that `NAME` has a companion `NAME_vjp(args) -> (value, (grad_arg0, …))`
/// returning the gradient with respect to every argument.
#[derive(Clone, Debug)]
pub struct CallInfo {
    /// The path of the companion function (`foo_vjp`, `m::foo_vjp::<F>`).
    pub vjp_path: TokenStream,
    /// The path of the second-order companion (`foo_hvp_all`), which
    /// returns the value, the gradient, `H·t` and `∇f·t` for a tangent `t`
    /// of every argument (see [`crate::graph::Op::CallDir`]).
    pub hvp_all_path: TokenStream,
    /// The path of the function itself, as written (`foo`, `m::foo::<F>`).
    pub value_path: TokenStream,
    /// The called function's own name (`foo`), for naming its results.
    pub callee: String,
    /// Shape (array dimensions, empty for a scalar) and `&`-ness of each argument.
    pub args: Vec<(Vec<usize>, bool)>,
    /// For each argument that is a struct of parameters (`&net.hidden`),
    /// where it is and its fields' layout; its shape is then the flat
    /// count of its elements.
    pub places: Vec<Option<StructPlace>>,
    /// For element `k` of a function returning a tuple (`f_vjp_k`): `k`,
    /// the element of the plain call's result.
    pub element: Option<usize>,
    /// Which arguments are slices (or `Vec`s) passed whole or as a range
    /// of one (`&w[a..b]`): the buffer node, then for a range its start
    /// and end. A call passing one is reversed by the callee's
    /// `NAME_pullback` ([`crate::graph::Op::Pullback`]) instead of reading
    /// a gradient its forward call returned.
    pub slices: Vec<Option<SliceArg>>,
    /// The path of the companion `NAME_pullback` (`NAME_pullback_k`).
    pub pullback_path: TokenStream,
}

impl CallInfo {
    /// Whether the call passes a slice whole (see [`CallInfo::slices`]).
    pub fn passes_slices(&self) -> bool {
        self.slices.iter().any(Option::is_some)
    }

    /// How many of the call node's arguments argument `k` takes: its
    /// elements, or a slice's buffer (and a range's start and end).
    pub fn flat_len(&self, k: usize) -> usize {
        match &self.slices[k] {
            Some(SliceArg { range: true, .. }) => 3,
            Some(_) => 1,
            None => self.args[k].0.iter().product(),
        }
    }

    /// How many arguments the call node has.
    pub fn flat_total(&self) -> usize {
        (0..self.args.len()).map(|k| self.flat_len(k)).sum()
    }
}

/// A slice (or `Vec`) argument of a call ([`CallInfo::slices`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceArg {
    /// The shape of one element (empty for a float, `[4]` for `&[[f64; 4]]`).
    pub inner: Vec<usize>,
    /// Passed as a range of the slice (`&w[a..b]`, a chunk of it): the
    /// call node's next two arguments are the range's start and end.
    pub range: bool,
}

/// A struct of parameters passed whole to a call: it is passed as it is
/// (`&net.hidden`), and its gradient's elements are read by field.
#[derive(Clone, Debug)]
pub struct StructPlace {
    /// The expression that reaches it (`net.hidden`, `self`).
    pub access: TokenStream,
    /// Each float field, in flat order: the member path from the struct
    /// (`.w`, `.inner.b`) and its array shape.
    pub leaves: Vec<(TokenStream, Vec<usize>)>,
}

/// An `assert!` (or `debug_assert!`) of the user's function.
#[derive(Clone, Debug)]
pub struct Check {
    /// The condition that must hold (a bool node; under a run-time `if`,
    /// "the branch is not taken, or the condition holds").
    pub cond: Id,
    /// `debug_assert!`: checked only in debug builds.
    pub debug: bool,
    /// The panic message: the condition as the user wrote it.
    pub message: String,
    /// Its place among the checks and prints, in program order.
    pub order: usize,
}

/// A `println!` (`print!`, `eprintln!`, `eprint!`) of the user's function,
/// outside loops that stay loops: the generated functions print it too,
/// once everything is computed, in program order with the checks.
#[derive(Clone, Debug)]
pub struct Print {
    /// The macro's name (`println`).
    pub mac: String,
    /// The format string as written (empty for `println!()`).
    pub format: TokenStream,
    /// The positional arguments' values.
    pub positional: Vec<PrintValue>,
    /// The named arguments' values, those the format string captures
    /// (`{loss}`) included.
    pub named: Vec<(String, PrintValue)>,
    /// In a branch of a run-time `if`: the bool saying it is taken.
    pub guard: Option<Id>,
    /// Its place among the checks and prints, in program order.
    pub order: usize,
}

/// A value printed: one node, or an array of them.
#[derive(Clone, Debug)]
pub enum PrintValue {
    /// A float, integer or bool node.
    Node(Id),
    /// An array (printed with `{:?}`).
    Array(Vec<PrintValue>),
}

impl PrintValue {
    /// Its nodes.
    pub fn nodes(&self, out: &mut Vec<Id>) {
        match self {
            PrintValue::Node(id) => out.push(*id),
            PrintValue::Array(items) => items.iter().for_each(|v| v.nodes(out)),
        }
    }

    /// Replaces each of its nodes by `f` of it.
    pub fn map_nodes(&mut self, f: &dyn Fn(&mut Id)) {
        match self {
            PrintValue::Node(id) => f(id),
            PrintValue::Array(items) => items.iter_mut().for_each(|v| v.map_nodes(f)),
        }
    }
}

/// Which part of the rule table may fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only rules that leave every forward value bit-for-bit unchanged,
    /// so `NAME_grad(..).0 == NAME(..)` exactly.
    Forward,
    /// All rules: used while building the derivative.
    Gradient,
}

/// The arena.
#[derive(Clone)]
pub struct Graph {
    /// The nodes, children before parents.
    pub nodes: Vec<Node>,
    /// The user's name for a node (the first `let` that bound it).
    pub names: Vec<Option<String>>,
    /// Calls to other `#[derive_grad]` functions.
    pub calls: Vec<CallInfo>,
    /// The user's `assert!`s outside loops that stay loops: checked by the
    /// generated functions too, after their computation.
    pub checks: Vec<Check>,
    /// The user's prints outside loops that stay loops (see [`Print`]).
    pub prints: Vec<Print>,
    /// Where ranges bound to names are checked ([`Op::CheckRange`]): in
    /// every generated function, whether or not anything reads the range,
    /// as the original's `&w[a..b]` is (`let _ = &w[..n];` included).
    pub range_checks: Vec<Id>,
    /// Paths of outside values ([`Op::Extern`]), as written.
    pub externs: Vec<TokenStream>,
    /// Run-time integer expressions ([`Op::RtInt`]): a parameter's name,
    /// perhaps with casts (`(n as u8)`), evaluated in the emitted code with
    /// Rust's own integer semantics.
    pub rt_ints: Vec<TokenStream>,
    /// Each backprop-core function the body calls, with the path the user
    /// wrote, so the generated code can check the name really is that
    /// function and not a user's own `relu` shadowing it.
    pub core_uses: Vec<(&'static str, syn::Path)>,
    /// Round folded constants to `f32` (the element type is `f32`).
    pub f32_consts: bool,
    /// The element type is a generic `F`, whose precision is not known.
    pub generic: bool,
    /// Which rules apply.
    pub mode: Mode,
    /// The region of each node (see [`crate::graph::region`]).
    pub region_of: Vec<u32>,
    /// The kind of value of each node.
    pub kinds: Vec<Kind>,
    /// The regions: 0 is the function's body, each loop body another.
    pub regions: Vec<crate::graph::region::RegionInfo>,
    /// The rolled loops.
    pub loops: Vec<crate::graph::region::LoopInfo>,
    /// Array shapes ([`Op::Zeros`], [`Op::NewArray`]).
    pub shapes: Vec<Vec<usize>>,
    /// The shape of each array parameter read as a buffer ([`Op::ArrayParam`]).
    pub array_params: HashMap<u32, Vec<usize>>,
    /// The slice and `Vec` parameters: the shape of one element.
    pub slice_params: HashMap<u32, Vec<usize>>,
    /// The region new nodes are built in.
    pub current: u32,
    /// The condition under which new nodes that can panic are built (in a
    /// branch of a run-time `if`): they run only when it holds, as in the
    /// original function ([`Op::is_guarded`]).
    pub guard: Option<Id>,
    /// The nodes that run only under a condition, and that condition.
    pub guards: HashMap<Id, Id>,
    /// A local `vec!` passed to a call and written after it (the version
    /// the call read), and its [`Op::Snapshot`] taken at the call: what
    /// the call's pullback reads (in a loop that stays a loop, what goes
    /// on the tape for it). Second-order code adds the versions a
    /// direction call read, of the `vec!` and of its tangent.
    pub snapshots: HashMap<Id, Id>,
    /// In second-order code, the direction call ([`Op::CallDir`]) made
    /// beside each call passing slices (by the value call's node): the
    /// call's reverse reads the gradient from its result instead of
    /// running the callee again through its pullback.
    pub call_dirs: HashMap<Id, Id>,
    memo: HashMap<(Op, Vec<Id>, u32, Option<Id>), Id>,
    depth: u32,
    /// Build the next node anew even if an identical one exists
    /// ([`Graph::node_anew`]).
    anew: bool,
}

/// What kind of value a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A float of the element type.
    Float,
    /// A `bool`.
    Bool,
    /// An integer.
    Int,
    /// A float array in memory.
    Buffer,
    /// A loop (its values are read through [`Op::LoopOut`]).
    Loop,
}

impl Default for Graph {
    fn default() -> Self {
        Graph::new(false)
    }
}

impl Graph {
    /// An empty graph.
    pub fn new(f32_consts: bool) -> Graph {
        Graph {
            nodes: Vec::new(),
            names: Vec::new(),
            calls: Vec::new(),
            checks: Vec::new(),
            prints: Vec::new(),
            range_checks: Vec::new(),
            externs: Vec::new(),
            rt_ints: Vec::new(),
            core_uses: Vec::new(),
            f32_consts,
            generic: false,
            mode: Mode::Forward,
            region_of: Vec::new(),
            kinds: Vec::new(),
            regions: vec![crate::graph::region::RegionInfo::root()],
            loops: Vec::new(),
            shapes: Vec::new(),
            array_params: HashMap::new(),
            slice_params: HashMap::new(),
            guard: None,
            guards: HashMap::new(),
            snapshots: HashMap::new(),
            call_dirs: HashMap::new(),
            current: 0,
            memo: HashMap::new(),
            depth: 0,
            anew: false,
        }
    }

    /// The index of `shape` in [`Graph::shapes`].
    pub fn shape_index(&mut self, shape: &[usize]) -> u32 {
        match self.shapes.iter().position(|s| s == shape) {
            Some(k) => k as u32,
            None => {
                self.shapes.push(shape.to_vec());
                (self.shapes.len() - 1) as u32
            }
        }
    }

    /// Integer constants indexing flat element `flat` of an array of `shape`.
    pub fn index_consts(&mut self, flat: usize, shape: &[usize]) -> Vec<Id> {
        unflatten(flat, shape)
            .into_iter()
            .map(|i| self.node(Op::IntConst(i as i64), vec![]))
            .collect()
    }

    /// The nodes the user's checks, range checks and prints read: roots
    /// of every function generated from the graph, whatever it returns.
    pub fn effect_nodes(&self) -> Vec<Id> {
        let mut nodes: Vec<Id> = self.checks.iter().map(|c| c.cond).collect();
        nodes.extend(&self.range_checks);
        for p in &self.prints {
            nodes.extend(p.guard);
            p.positional.iter().for_each(|v| v.nodes(&mut nodes));
            p.named.iter().for_each(|(_, v)| v.nodes(&mut nodes));
        }
        nodes
    }

    /// Makes the checks, range checks and prints read the node `rebuilt`
    /// maps each old one to (the loops a forward sweep rebuilt carrying
    /// tangents): every function generated from the graph then runs the
    /// rebuilt loop alone, not the original beside it for its checks.
    pub fn read_effects_from(&mut self, rebuilt: &HashMap<Id, Id>) {
        let new = |id: &mut Id| *id = rebuilt.get(id).copied().unwrap_or(*id);
        self.checks.iter_mut().for_each(|c| new(&mut c.cond));
        self.range_checks.iter_mut().for_each(new);
        for p in &mut self.prints {
            p.guard.iter_mut().for_each(new);
            let values = p
                .positional
                .iter_mut()
                .chain(p.named.iter_mut().map(|(_, v)| v));
            values.for_each(|v| v.map_nodes(&new));
        }
    }

    /// A copy of the graph whose effects read the nodes `rebuilt` maps
    /// them to ([`Graph::read_effects_from`]), for the functions that
    /// return a forward sweep's values when others share this graph.
    pub fn with_effects_read_from(&self, rebuilt: &HashMap<Id, Id>) -> Graph {
        let mut copy = self.clone();
        copy.read_effects_from(rebuilt);
        copy
    }

    /// The storage a buffer value lives in: the parameter or local array
    /// it was made from, or the zeros it started as (every update of a
    /// buffer is in place, so all its values share one variable).
    pub fn storage(&self, mut b: Id) -> Id {
        loop {
            let node = self.get(b);
            match node.op {
                Op::Store | Op::ScatterAdd | Op::PullbackBuf | Op::AddCallSlice { .. } => {
                    b = node.args[0]
                }
                Op::LoopOut(k) => b = self.get(node.args[0]).args[2 + k as usize],
                Op::Carried { l, k } => match self.loops[l as usize].node {
                    Some(n) => b = self.get(n).args[2 + k as usize],
                    None => return b,
                },
                _ => return b,
            }
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph has no node yet.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node behind an id.
    pub fn get(&self, id: Id) -> &Node {
        &self.nodes[id.index()]
    }

    /// The constant value of a node, if it is one.
    pub fn as_const(&self, id: Id) -> Option<f64> {
        match self.get(id).op {
            Op::Const(bits) => Some(f64::from_bits(bits)),
            _ => None,
        }
    }

    /// The compile-time value of a boolean node, if it has one.
    pub fn as_bool(&self, id: Id) -> Option<bool> {
        match self.get(id).op {
            Op::BoolConst(b) => Some(b),
            _ => None,
        }
    }

    /// A float constant (rounded to `f32` in an `f32` function).
    pub fn konst(&mut self, v: f64) -> Id {
        let v = if self.f32_consts { v as f32 as f64 } else { v };
        self.intern(Op::Const(v.to_bits()), Vec::new())
    }

    /// A boolean constant.
    pub fn bool_const(&mut self, b: bool) -> Id {
        self.intern(Op::BoolConst(b), Vec::new())
    }

    /// `a + b`
    pub fn add(&mut self, a: Id, b: Id) -> Id {
        self.node(Op::Add, vec![a, b])
    }
    /// `a - b`
    #[cfg(test)]
    pub fn sub(&mut self, a: Id, b: Id) -> Id {
        self.node(Op::Sub, vec![a, b])
    }
    /// `a * b`
    pub fn mul(&mut self, a: Id, b: Id) -> Id {
        self.node(Op::Mul, vec![a, b])
    }
    /// `-a`
    pub fn neg(&mut self, a: Id) -> Id {
        self.node(Op::Neg, vec![a])
    }
    /// `if c { a } else { b }`
    pub fn select(&mut self, c: Id, a: Id, b: Id) -> Id {
        self.node(Op::Select, vec![c, a, b])
    }

    /// Builds a node: folds constants, applies the rule table, shares
    /// structurally equal nodes.
    pub fn node(&mut self, op: Op, mut args: Vec<Id>) -> Id {
        if let Some(id) = self.fold(op, &args) {
            return id;
        }
        if op.is_commutative() && self.order_key(args[1]) < self.order_key(args[0]) {
            args.swap(0, 1);
        }
        // The rules only ever make expressions smaller or push a `select`
        // outwards, so they terminate; the depth bound is a second guard.
        if self.depth < 32 {
            self.depth += 1;
            let rewritten = rules::rewrite(self, self.rule_set(), op, &args);
            self.depth -= 1;
            if let Some(id) = rewritten {
                return id;
            }
        }
        self.intern(op, args)
    }

    /// Constants first, then by id: the canonical order of `+` and `*`.
    fn order_key(&self, id: Id) -> (bool, u32) {
        (self.as_const(id).is_none(), id.0)
    }

    /// [`Graph::node`], but a new node even where an identical one exists:
    /// a write to memory that must come after something built since (the
    /// emitter writes a region's nodes in arena order).
    pub fn node_anew(&mut self, op: Op, args: Vec<Id>) -> Id {
        self.anew = true;
        let id = self.node(op, args);
        self.anew = false;
        id
    }

    fn intern(&mut self, op: Op, args: Vec<Id>) -> Id {
        // An anchored node is shared only within its region; any other is
        // placed in the innermost region among its arguments' (so a value
        // that does not depend on a loop is computed once, outside it).
        let anchor = if op.is_anchored() {
            self.current
        } else {
            u32::MAX
        };
        let guard = if op.is_guarded() { self.guard } else { None };
        let key = (op, args, anchor, guard);
        // Two arrays are two memories even when built alike (`let mut a =
        // [0.0; 20]; let mut b = [0.0; 20];`): an allocation is never shared.
        let allocates = op.allocates();
        let anew = std::mem::take(&mut self.anew);
        if !allocates && !anew {
            if let Some(&id) = self.memo.get(&key) {
                return id;
            }
        }
        let region = if op.is_anchored() {
            self.current
        } else {
            self.innermost(&key.1)
        };
        debug_assert!(
            key.1
                .iter()
                .all(|a| self.encloses(self.region_of[a.index()], self.current)),
            "{op:?} in region {} reads a value of a region that does not enclose it",
            self.current
        );
        let kind = self.kind_of(op, &key.1);
        let id = Id(self.nodes.len() as u32);
        self.nodes.push(Node {
            op,
            args: key.1.clone(),
        });
        self.names.push(None);
        self.region_of.push(region);
        self.kinds.push(kind);
        if let Some(c) = guard {
            self.guards.insert(id, c);
        }
        if !allocates {
            self.memo.insert(key, id);
        }
        id
    }

    /// The kind of value `op` on `args` produces.
    fn kind_of(&self, op: Op, args: &[Id]) -> Kind {
        match op {
            Op::RtInt(_)
            | Op::IntConst(_)
            | Op::LoopVar(_)
            | Op::IntAdd
            | Op::IntSub
            | Op::IntMul
            | Op::IntDiv
            | Op::IntRem
            | Op::IntBit(_)
            | Op::IntFn(_)
            | Op::CheckRange
            | Op::CheckIndex
            | Op::IntLoad(_)
            | Op::IntSliceParam(_)
            | Op::IntSliceRange(_)
            | Op::IntPick
            | Op::ToInt(_)
            | Op::LoopTrips
            | Op::RangeNth(_) => Kind::Int,
            op if op.is_bool() => Kind::Bool,
            Op::ArrayParam(_)
            | Op::Zeros(_)
            | Op::ZerosLike(_)
            | Op::NewVec { .. }
            | Op::ZerosLen { .. }
            | Op::NewArray(_)
            | Op::Store
            | Op::ScatterAdd
            | Op::PullbackBuf
            | Op::AddCallSlice { .. }
            | Op::Snapshot => Kind::Buffer,
            Op::Loop(_) => Kind::Loop,
            // `if c { m + 1 } else { m }` picks integers too.
            Op::Select => self.kinds[args[1].index()],
            Op::Carried { l, k } => self.loops[l as usize].kinds[k as usize],
            Op::Restore { l, k } => self.loops[l as usize].restore_kinds[k as usize],
            Op::LoopOut(k) => match self.get(args[0]).op {
                Op::Loop(l) => self.loops[l as usize].kinds[k as usize],
                _ => unreachable!("LoopOut reads a loop"),
            },
            _ => Kind::Float,
        }
    }

    /// Constant folding and the boolean/`select` simplifications that need
    /// no pattern: every one leaves values unchanged.
    fn fold(&mut self, op: Op, args: &[Id]) -> Option<Id> {
        match op {
            // i + 0 and i − 0 (an offset of zero in an iterator chain's
            // rewriting: the first element of a window).
            Op::IntAdd | Op::IntSub if matches!(self.get(args[1]).op, Op::IntConst(0)) => {
                Some(args[0])
            }
            Op::IntAdd if matches!(self.get(args[0]).op, Op::IntConst(0)) => Some(args[1]),
            // −0 + x is x for every x, −0, +0, ∞ and NaN included (+0 + x
            // is not: +0 + −0 = +0). Rust's float `Sum` starts from −0.
            Op::Add if args.iter().any(|&a| self.is_negative_zero(a)) => {
                let k = usize::from(self.is_negative_zero(args[0]));
                Some(args[k])
            }
            Op::Select => {
                if let Some(c) = self.as_bool(args[0]) {
                    return Some(if c { args[1] } else { args[2] });
                }
                if args[1] == args[2] {
                    return Some(args[1]);
                }
                None
            }
            Op::Cmp(c) => {
                let (a, b) = (self.as_const(args[0])?, self.as_const(args[1])?);
                Some(self.bool_const(c.apply(a, b)))
            }
            Op::Not => {
                if let Some(b) = self.as_bool(args[0]) {
                    return Some(self.bool_const(!b));
                }
                None
            }
            Op::And | Op::Or => {
                let is_and = op == Op::And;
                for (k, &arg) in args.iter().enumerate() {
                    if let Some(b) = self.as_bool(arg) {
                        // true && x = x, false && x = false; dually for ||.
                        return Some(if b == is_and { args[1 - k] } else { arg });
                    }
                }
                None
            }
            _ => {
                let values = args
                    .iter()
                    .map(|&a| self.as_const(a))
                    .collect::<Option<Vec<f64>>>()?;
                if self.mode == Mode::Forward && !self.folds_exactly(op) {
                    return None;
                }
                let v = eval_float(op, &values)?;
                Some(self.konst(v))
            }
        }
    }

    /// Whether folding `op` at compile time gives, bit for bit, what the
    /// user's function computes at run time. IEEE 754 rounds `+ − × ÷` and
    /// `sqrt` exactly, and computing them in `f64` then rounding to `f32`
    /// is exact too (53 ≥ 2·24 + 2 bits); transcendental functions depend on
    /// the math library, and for a generic `F` the precision is unknown, so
    /// those stay as run-time operations in the forward pass.
    fn is_negative_zero(&self, id: Id) -> bool {
        self.as_const(id)
            .is_some_and(|c| c.to_bits() == (-0.0f64).to_bits())
    }

    fn folds_exactly(&self, op: Op) -> bool {
        let fold = match op {
            Op::Neg => Fold::Always,
            Op::Add | Op::Sub | Op::Mul | Op::Div => Fold::CorrectlyRounded,
            Op::Fun(i) => PRIMITIVES[i as usize].fold,
            _ => Fold::Never,
        };
        match fold {
            Fold::Always => true,
            Fold::CorrectlyRounded => !self.generic,
            Fold::F64Only => !self.generic && !self.f32_consts,
            Fold::Never => false,
        }
    }

    /// Builds an s-expression template with its variables bound to nodes.
    pub fn build(&mut self, pat: &Pat, binds: &[Option<Id>; SLOTS]) -> Id {
        match pat {
            Pat::Num(v) => self.konst(*v),
            Pat::Var(slot, _) => binds[*slot].expect("unbound template variable"),
            Pat::Op(op, args) => {
                let args = args.iter().map(|a| self.build(a, binds)).collect();
                self.node(*op, args)
            }
        }
    }

    /// Matches a pattern against an existing node, extending `binds`.
    pub fn matches(&self, pat: &Pat, id: Id, binds: &mut [Option<Id>; SLOTS]) -> bool {
        match pat {
            Pat::Num(v) => self.as_const(id) == Some(*v),
            Pat::Var(slot, kind) => {
                if *kind == VarKind::Const && self.as_const(id).is_none() {
                    return false;
                }
                match binds[*slot] {
                    Some(bound) => bound == id,
                    None => {
                        binds[*slot] = Some(id);
                        true
                    }
                }
            }
            Pat::Op(op, pargs) => {
                // A value the user named stays in the forward graph as
                // written (`let e2 = -(…); e1 + e2` is not rewritten to
                // `e1 - (…)`), so explanations and the generated code keep
                // the user's structure.
                if self.mode == Mode::Forward && self.names[id.index()].is_some() {
                    return false;
                }
                let node = self.get(id);
                self.matches_op(*op, pargs, node.op, &node.args, binds)
            }
        }
    }

    /// Matches `(op pargs…)` against an operation and its arguments, trying
    /// both argument orders of a commutative operation.
    pub fn matches_op(
        &self,
        pop: Op,
        pargs: &[Pat],
        op: Op,
        args: &[Id],
        binds: &mut [Option<Id>; SLOTS],
    ) -> bool {
        if pop != op || pargs.len() != args.len() {
            return false;
        }
        let saved = *binds;
        if pargs
            .iter()
            .zip(args)
            .all(|(p, &a)| self.matches(p, a, binds))
        {
            return true;
        }
        *binds = saved;
        if op.is_commutative() {
            if self.matches(&pargs[0], args[1], binds) && self.matches(&pargs[1], args[0], binds) {
                return true;
            }
            *binds = saved;
        }
        false
    }

    /// The rule set in force.
    pub fn rule_set(&self) -> RuleSet {
        match self.mode {
            Mode::Forward => RuleSet::Exact,
            Mode::Gradient => RuleSet::All,
        }
    }

    /// Evaluates the graph on `f64` (parameters from `param`, booleans as
    /// 0/1). Calls cannot be evaluated here; they give NaN. Used by tests.
    #[cfg(test)]
    pub fn eval(&self, param: &dyn Fn(u32, u32) -> f64) -> Vec<f64> {
        let mut vals: Vec<f64> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let a: Vec<f64> = node.args.iter().map(|x| vals[x.index()]).collect();
            let v = match node.op {
                Op::Param { param: p, index } => param(p, index),
                Op::RtInt(_)
                | Op::BoolParam(_)
                | Op::Extern(_)
                | Op::Call(_)
                | Op::Proj(_)
                | Op::CallDir(_)
                | Op::HvProj(_) => f64::NAN,
                Op::BoolConst(b) => b as u8 as f64,
                Op::Cmp(c) => c.apply(a[0], a[1]) as u8 as f64,
                Op::And => ((a[0] != 0.0) && (a[1] != 0.0)) as u8 as f64,
                Op::Or => ((a[0] != 0.0) || (a[1] != 0.0)) as u8 as f64,
                Op::Not => (a[0] == 0.0) as u8 as f64,
                Op::Select => {
                    if a[0] != 0.0 {
                        a[1]
                    } else {
                        a[2]
                    }
                }
                op => eval_float(op, &a).unwrap_or(f64::NAN),
            };
            vals.push(v);
        }
        vals
    }
}

/// The row-major indices of flat element `flat` of an array of `shape`.
pub fn unflatten(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
    idx
}

/// The forward value of a float operation on constant arguments.
pub fn eval_float(op: Op, a: &[f64]) -> Option<f64> {
    Some(match op {
        Op::Const(bits) => f64::from_bits(bits),
        Op::Add => a[0] + a[1],
        Op::Sub => a[0] - a[1],
        Op::Mul => a[0] * a[1],
        Op::Div => a[0] / a[1],
        Op::Neg => -a[0],
        Op::Fun(i) => return (PRIMITIVES[i as usize].eval)(a),
        Op::Powi(n) => a[0].powi(n),
        _ => return None,
    })
}

impl Terms for Graph {
    fn matches_op(
        &self,
        head: Op,
        pats: &[Pat],
        op: Op,
        args: &[Id],
        binds: &mut [Option<Id>; SLOTS],
    ) -> bool {
        Graph::matches_op(self, head, pats, op, args, binds)
    }
    fn build(&mut self, pat: &Pat, binds: &[Option<Id>; SLOTS]) -> Id {
        Graph::build(self, pat, binds)
    }
    fn as_const(&self, id: Id) -> Option<f64> {
        Graph::as_const(self, id)
    }
    fn loop_depth(&self, id: Id) -> u32 {
        self.regions[self.region_of[id.index()] as usize].depth
    }
}
