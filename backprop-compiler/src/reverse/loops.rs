//! The reverse of a rolled loop: a loop that runs the other way.
//!
//! For a forward loop `l` whose final carried values have adjoints, the
//! reverse loop runs over the same range backwards and carries
//!
//! - the adjoint of each of `l`'s carried values (starting from the
//!   adjoints of its final values; at the end, the adjoints of its initial
//!   values),
//! - one accumulator per value from outside the body that the body reads
//!   (an outer scalar's adjoint sums over all iterations), and
//! - the gradient buffer of each array parameter the body reads at
//!   run-time indices (`d_w[i] += …`, in place).
//!
//! Its body backpropagates through `l`'s body, reading forward values
//! through [`Reverser::fwd`]: values the forward sweep overwrote (the
//! carried values at the start of the iteration, reads of memory written
//! later) and values that are expensive to recompute (calls of
//! transcendental functions, results of inner loops) are restored from a
//! tape the forward loop pushed them on, at the end of its iteration;
//! everything else (arithmetic, reads of memory not written later, index
//! arithmetic) is recomputed. A loop that may stop early (a `while`, a
//! `break`) is reversed over the number of iterations it ran. One last-in-first-out tape serves all
//! loops: an iteration pushes after its inner loops have pushed, and its
//! reverse pops before its inner loops' reverses pop.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::graph::region::LoopInfo;
use crate::graph::{Graph, Id, Kind, Mode, Op};
use crate::ops::PRIMITIVES;

use super::local_derivative_with;

/// Which nodes depend on a differentiated parameter (carried values by a
/// fixed point, since a loop's body precedes its carried values' updates).
pub fn activity(g: &Graph, is_target: &dyn Fn(u32) -> bool) -> Vec<bool> {
    activity_except(g, is_target, &[])
}

/// [`activity`], with the nodes in `constant` treated as constants: they
/// and what depends on the targets only through them are inactive.
pub fn activity_except(g: &Graph, is_target: &dyn Fn(u32) -> bool, constant: &[Id]) -> Vec<bool> {
    let n = g.len();
    let mut active = vec![false; n];
    let mut blocked = vec![false; n];
    for c in constant {
        blocked[c.index()] = true;
    }
    loop {
        let mut changed = false;
        for i in 0..n {
            if active[i] || blocked[i] {
                continue;
            }
            let node = g.get(Id(i as u32));
            let now = match node.op {
                Op::Param { param, .. } | Op::ArrayParam(param) => is_target(param),
                op if op.is_bool() => false,
                Op::ToInt(_) | Op::Restore { .. } | Op::Loop(_) => false,
                _ if g.kinds[i] == Kind::Int => false,
                Op::Carried { l, k } => {
                    let info = &g.loops[l as usize];
                    let init = info
                        .node
                        .is_some_and(|nd| active[g.get(nd).args[2 + k as usize].index()]);
                    let yielded = info
                        .yields
                        .get(k as usize)
                        .is_some_and(|y| active[y.index()]);
                    init || yielded
                }
                Op::LoopOut(k) => match g.get(node.args[0]).op {
                    Op::Loop(l) => active[g.loops[l as usize].carried[k as usize].index()],
                    _ => false,
                },
                _ => node.args.iter().any(|a| active[a.index()]),
            };
            if now {
                active[i] = true;
                changed = true;
            }
        }
        if !changed {
            return active;
        }
    }
}

/// A loop being reversed.
struct Ctx {
    /// The forward loop.
    l: u32,
    /// Its reverse.
    rev: u32,
    /// Forward body node → its value in the reverse body.
    map: HashMap<Id, Id>,
    /// Whether the reverse runs in the forward order and computes the
    /// forward loop's carried values again ([`Reverser::replayable`]):
    /// then nothing is restored from the tape, every forward value is
    /// computed again.
    replay: bool,
}

/// Builds reverse loops, and threads the adjoint buffers through them.
pub(super) struct Reverser<'a> {
    active: &'a [bool],
    live: &'a [bool],
    /// The current adjoint buffer of each array storage (an array
    /// parameter read at run-time indices, a local array in memory), by
    /// the storage's node.
    bufs: HashMap<Id, Id>,
    ctxs: Vec<Ctx>,
    /// The forward nodes of each region, in arena order.
    region_nodes: Vec<Vec<Id>>,
    /// Buffer values whose memory is written afterwards (by a store, or
    /// by a loop that carries them): a read of one cannot be repeated in
    /// the reverse sweep, so its value goes on the tape.
    overwritten: HashSet<Id>,
    /// The storages some active value is written to.
    active_storages: HashSet<Id>,
}

impl<'a> Reverser<'a> {
    /// Prepares the reversal of `g`'s loops.
    pub(super) fn new(g: &mut Graph, active: &'a [bool], live: &'a [bool]) -> Reverser<'a> {
        let mut region_nodes = vec![Vec::new(); g.regions.len()];
        let mut overwritten = HashSet::new();
        for i in 0..active.len() {
            region_nodes[g.region_of[i] as usize].push(Id(i as u32));
            let node = g.get(Id(i as u32));
            match node.op {
                Op::Store => {
                    overwritten.insert(node.args[0]);
                }
                Op::Loop(l) => {
                    let info = &g.loops[l as usize];
                    for (k, kind) in info.kinds.iter().enumerate() {
                        if *kind == Kind::Buffer && info.yields[k] != info.carried[k] {
                            overwritten.insert(node.args[2 + k]);
                            overwritten.insert(info.carried[k]);
                        }
                    }
                }
                _ => {}
            }
        }
        let active_storages = (0..active.len())
            .filter(|&i| active[i] && g.kinds[i] == Kind::Buffer)
            .map(|i| g.storage(Id(i as u32)))
            .collect();
        Reverser {
            active,
            live,
            bufs: HashMap::new(),
            ctxs: Vec::new(),
            region_nodes,
            overwritten,
            active_storages,
        }
    }

    /// The final gradient buffers of the array parameters.
    pub(super) fn into_buffers(self, g: &Graph) -> HashMap<u32, Id> {
        self.bufs
            .into_iter()
            .filter_map(|(root, b)| match g.get(root).op {
                Op::ArrayParam(p) => Some((p, b)),
                _ => None,
            })
            .collect()
    }

    /// The adjoint buffer of storage `root`, created (zeros) where the
    /// storage is: in the function's body, or in the reverse of the loop
    /// whose body declares it.
    fn dbuf(&mut self, g: &mut Graph, root: Id) -> Id {
        if let Some(&b) = self.bufs.get(&root) {
            return b;
        }
        let region = g.region_of[root.index()];
        let target = self
            .ctxs
            .iter()
            .rev()
            .find(|c| g.loops[c.l as usize].body == region)
            .map_or(0, |c| g.loops[c.rev as usize].body);
        let shape = match g.get(root).op {
            Op::NewVec { array } => {
                let len = g.get(root).args[1];
                let len = self.fwd(g, len);
                let z = g.node_in(target, Op::ZerosLen { array }, vec![len]);
                if let Some(name) = &g.names[root.index()] {
                    g.names[z.index()] = Some(format!("d_{name}"));
                }
                self.bufs.insert(root, z);
                return z;
            }
            Op::ArrayParam(p) if g.slice_params.contains_key(&p) => {
                let z = g.node_in(target, Op::ZerosLike(p), vec![]);
                self.bufs.insert(root, z);
                return z;
            }
            Op::ArrayParam(p) => g.array_params[&p].clone(),
            Op::NewArray(k) | Op::Zeros(k) => g.shapes[k as usize].clone(),
            _ => unreachable!("a storage is an array parameter or a local array"),
        };
        let k = g.shape_index(&shape);
        let z = g.node_in(target, Op::Zeros(k), vec![]);
        if let Some(name) = &g.names[root.index()] {
            g.names[z.index()] = Some(format!("d_{name}"));
        }
        self.bufs.insert(root, z);
        z
    }

    /// The storage of a forward buffer value, if derivatives flow into it.
    fn active_storage(&self, g: &Graph, buf: Id) -> Option<Id> {
        let root = g.storage(buf);
        self.active_storages.contains(&root).then_some(root)
    }

    /// Adds `adjoint` to the adjoint buffer element a [`Op::Load`] read.
    pub(super) fn scatter(&mut self, g: &mut Graph, load: Id, adjoint: Id) {
        let args = g.get(load).args.clone();
        let Some(root) = self.active_storage(g, args[0]) else {
            return;
        };
        let mut new_args = vec![self.dbuf(g, root)];
        for &i in &args[1..] {
            new_args.push(self.fwd(g, i));
        }
        new_args.push(adjoint);
        // A read under a run-time condition is written back under it.
        let guard = g.guards.get(&load).copied().map(|c| self.fwd(g, c));
        let saved = std::mem::replace(&mut g.guard, guard);
        let b = g.node(Op::ScatterAdd, new_args);
        g.guard = saved;
        self.bufs.insert(root, b);
    }

    /// The reverse of a call passing slices: the callee's pullback with
    /// `seed` (the call's adjoint) adds into the slices' adjoint buffers
    /// and returns the other arguments' adjoints, which go to
    /// `contribute(target, adjoint)`.
    pub(super) fn pullback(
        &mut self,
        g: &mut Graph,
        call: Id,
        seed: Id,
        contribute: &mut dyn FnMut(&mut Graph, Id, Id),
    ) {
        let node = g.get(call).clone();
        let k = match node.op {
            Op::Call(k) => match g.call_dirs.get(&call) {
                Some(&dir) => return self.pullback_from_direction(g, call, dir, seed, contribute),
                None => k,
            },
            Op::CallDir(_) => return self.direction_pullback(g, call, seed, contribute),
            _ => unreachable!("a pullback reverses a call"),
        };
        let info = g.calls[k as usize].clone();
        let mut args = vec![seed];
        for &a in &node.args {
            let v = match g.kinds[a.index()] {
                Kind::Buffer => self.slice_value(g, a),
                _ => self.fwd(g, a),
            };
            args.push(v);
        }
        // Each slice's adjoint buffer, where derivatives flow into it.
        let mut at = 0;
        let mut roots = Vec::new();
        for (k, slice) in info.slices.iter().enumerate() {
            if slice.is_some() {
                match self.active_storage(g, node.args[at]) {
                    Some(root) => {
                        args.push(self.dbuf(g, root));
                        roots.push(root);
                    }
                    None => args.push(seed),
                }
            }
            at += info.flat_len(k);
        }
        // Where the call ran only in a branch, so does its reverse.
        let guard = g.guards.get(&call).copied().map(|c| self.fwd(g, c));
        let saved = std::mem::replace(&mut g.guard, guard);
        let pb = g.node_anew(Op::Pullback(k), args);
        g.guard = saved;
        for root in roots {
            let before = self.bufs[&root];
            let after = g.node(Op::PullbackBuf, vec![before, pb]);
            self.bufs.insert(root, after);
        }
        for (j, &a) in node.args.iter().enumerate() {
            if self.active[a.index()] && g.kinds[a.index()] == Kind::Float {
                let adjoint = g.node(Op::Proj(j as u32), vec![pb]);
                contribute(g, a, adjoint);
            }
        }
    }

    /// The reverse of a direction call passing slices ([`Op::CallDir`],
    /// `∇f(a)·t`): `seed · H·t` goes to the arguments and `seed · ∇f` to
    /// their tangents. The call's result is read again where the reverse
    /// runs (recomputed in a reversed loop).
    fn direction_pullback(
        &mut self,
        g: &mut Graph,
        call: Id,
        seed: Id,
        contribute: &mut dyn FnMut(&mut Graph, Id, Id),
    ) {
        let n = g.get(call).args.len() / 2;
        let result = self.fwd(g, call);
        let part = |j: usize| match j < n {
            true => (false, j),
            false => (true, j - n),
        };
        self.add_call_result(g, call, result, seed, &part, contribute);
    }

    /// The reverse of a call passing slices that has a direction call
    /// beside it (second-order code, [`Graph::call_dirs`]): `seed · ∇f`,
    /// read from the direction call's result. The callee is not run again
    /// (its pullback would run it forward and backward).
    fn pullback_from_direction(
        &mut self,
        g: &mut Graph,
        call: Id,
        dir: Id,
        seed: Id,
        contribute: &mut dyn FnMut(&mut Graph, Id, Id),
    ) {
        let result = self.fwd(g, dir);
        self.add_call_result(g, call, result, seed, &|j| (true, j), contribute);
    }

    /// Adds `seed ·` parts of a direction call's `result` to the arguments
    /// of `node` (a call passing slices, or its direction call): argument
    /// `j` gets the part `part(j)` (whether the gradient, else H·t, and
    /// the flat argument it is of), added into its adjoint buffer by
    /// [`Op::AddCallSlice`] for a slice (of the call's own or of a
    /// tangent), handed to `contribute` for a float.
    fn add_call_result(
        &mut self,
        g: &mut Graph,
        node: Id,
        result: Id,
        seed: Id,
        part: &dyn Fn(usize) -> (bool, usize),
        contribute: &mut dyn FnMut(&mut Graph, Id, Id),
    ) {
        let args = g.get(node).args.clone();
        let (Op::Call(k) | Op::CallDir(k)) = g.get(node).op else {
            unreachable!("the arguments of a call")
        };
        let info = g.calls[k as usize].clone();
        // The argument each flat argument belongs to, and for a range its
        // start and end.
        let mut slice_of = vec![None; info.flat_total()];
        let mut at = 0;
        for (arg, slice) in info.slices.iter().enumerate() {
            if let Some(slice) = slice {
                let range = slice.range.then(|| (args[at + 1], args[at + 2]));
                slice_of[at] = Some((arg, range));
            }
            at += info.flat_len(arg);
        }
        for (j, &a) in args.iter().enumerate() {
            let (gradient, flat) = part(j);
            match g.kinds[a.index()] {
                Kind::Float if self.active[a.index()] => {
                    let op = match gradient {
                        true => Op::Proj(flat as u32),
                        false => Op::HvProj(flat as u32),
                    };
                    let d = g.node(op, vec![result]);
                    let adjoint = g.mul(seed, d);
                    contribute(g, a, adjoint);
                }
                // (A slice with no tangent has the constant 0 instead.)
                Kind::Buffer => {
                    let Some((arg, range)) = slice_of[flat] else {
                        continue;
                    };
                    let Some(root) = self.active_storage(g, a) else {
                        continue;
                    };
                    let mut add = vec![self.dbuf(g, root), seed, result];
                    if let Some((start, end)) = range {
                        add.push(self.fwd(g, start));
                        add.push(self.fwd(g, end));
                    }
                    let op = Op::AddCallSlice {
                        gradient,
                        arg: arg as u32,
                    };
                    let after = g.node(op, add);
                    self.bufs.insert(root, after);
                }
                _ => {}
            }
        }
    }

    /// A slice a call read, as the reverse sweep passes it to the callee's
    /// pullback: the memory itself, or the copy taken at the call where
    /// the `vec!` is written after it ([`Graph::snapshots`]); unless what
    /// it held was made by an iteration of a loop being reversed (a
    /// `vec!` declared in the loop's body, or one the body writes), whose
    /// contents (or copy) then go on the tape at the end of that
    /// iteration.
    fn slice_value(&mut self, g: &mut Graph, buf: Id) -> Id {
        // A `vec!` written after the call: the copy taken at the call.
        let buf = g.snapshots.get(&buf).copied().unwrap_or(buf);
        let region = g.region_of[buf.index()];
        let Some(c) = self
            .ctxs
            .iter()
            .rposition(|ctx| g.encloses(g.loops[ctx.l as usize].body, region))
        else {
            // Not written after the call (the lowering checked), or a
            // copy.
            return buf;
        };
        if let Some(&v) = self.ctxs[c].map.get(&buf) {
            return v;
        }
        // Its length first (an integer of the same iteration), which
        // the pop of the contents needs. (Only a local `vec!` is written
        // in a loop: the lowering refuses a written slice parameter.)
        let mut storage = g.storage(buf);
        if g.get(storage).op == Op::Snapshot {
            storage = g.storage(g.get(storage).args[0]);
        }
        let Op::NewVec { .. } = g.get(storage).op else {
            return buf;
        };
        // Taped, not recomputed: the pops come before the body's nodes.
        let len = g.get(storage).args[1];
        let body = g.loops[self.ctxs[c].l as usize].body;
        let len = if g.encloses(body, g.region_of[len.index()]) {
            self.restore(g, c, len)
        } else {
            self.fwd(g, len)
        };
        debug_assert!(
            !self.ctxs[c].replay,
            "a reverse loop run in the forward order restores nothing"
        );
        let (l, rev) = (self.ctxs[c].l, self.ctxs[c].rev);
        let k = g.loops[rev as usize].restores.len() as u32;
        g.loops[rev as usize].restore_kinds.push(Kind::Buffer);
        let body = g.loops[rev as usize].body;
        let r = g.node_in(body, Op::Restore { l: rev, k }, vec![len]);
        g.loops[rev as usize].restores.push(r);
        g.loops[l as usize].tape.push(buf);
        self.ctxs[c].map.insert(buf, r);
        r
    }

    /// The reverse of a buffer operation: a [`Op::Store`] hands the
    /// stored value the element's adjoint and clears it; a
    /// [`Op::NewArray`] hands each element its adjoint. Contributions go
    /// to `contribute(target, adjoint)`.
    pub(super) fn buffer_op(
        &mut self,
        g: &mut Graph,
        id: Id,
        contribute: &mut dyn FnMut(&mut Graph, Id, Id),
    ) {
        let node = g.get(id).clone();
        let Some(root) = self.active_storage(g, id) else {
            return;
        };
        if !self.bufs.contains_key(&root) {
            return; // nothing flowed back into it
        }
        match node.op {
            Op::Store => {
                let n = node.args.len();
                let value = node.args[n - 1];
                let idx: Vec<Id> = node.args[1..n - 1]
                    .iter()
                    .map(|&i| self.fwd(g, i))
                    .collect();
                // A write in a branch of a run-time `if` is reversed in it:
                // the element's adjoint moves to the value only if the
                // write happened (else the load gives 0, the clear is
                // skipped).
                let guard = g.guards.get(&id).copied().map(|c| self.fwd(g, c));
                let saved = std::mem::replace(&mut g.guard, guard);
                let d = self.bufs[&root];
                let mut load = vec![d];
                load.extend(&idx);
                let a = g.node(Op::Load, load);
                let zero = g.konst(0.0);
                let mut store = vec![d];
                store.extend(&idx);
                store.push(zero);
                let cleared = g.node(Op::Store, store);
                g.guard = saved;
                self.bufs.insert(root, cleared);
                if self.active[value.index()] {
                    contribute(g, value, a);
                }
            }
            Op::NewArray(k) => {
                let shape = g.shapes[k as usize].clone();
                let d = self.bufs[&root];
                for (j, &elem) in node.args.iter().enumerate() {
                    if !self.active[elem.index()] {
                        continue;
                    }
                    let mut load = vec![d];
                    load.extend(g.index_consts(j, &shape));
                    let a = g.node(Op::Load, load);
                    contribute(g, elem, a);
                }
            }
            _ => {}
        }
    }

    /// The value a forward node has in the iteration being reversed.
    pub(super) fn fwd(&mut self, g: &mut Graph, id: Id) -> Id {
        let region = g.region_of[id.index()];
        let Some(c) = self
            .ctxs
            .iter()
            .rposition(|ctx| g.loops[ctx.l as usize].body == region)
        else {
            return id;
        };
        if let Some(&v) = self.ctxs[c].map.get(&id) {
            return v;
        }
        let node = g.get(id).clone();
        let value = match node.op {
            Op::LoopVar(l) => {
                let var = g.loops[self.ctxs[c].rev as usize].var;
                let info = &g.loops[l as usize];
                let nested = info.node.is_some_and(|n| g.region_of[n.index()] != 0);
                if !info.counted() || info.is_while {
                    var
                } else if nested {
                    // A `for` that may break, inside another loop: its
                    // range is gone by the reverse, so its variable is
                    // recorded per iteration.
                    self.restore(g, c, id)
                } else {
                    // The iteration number's element of the forward range.
                    let body = g.loops[self.ctxs[c].rev as usize].body;
                    g.node_in(body, Op::RangeNth(l), vec![var])
                }
            }
            Op::Carried { .. } | Op::LoopOut(_) | Op::LoopTrips => self.restore(g, c, id),
            // A comparison of values that would each come from the tape
            // (`dist < closest`, a running minimum): the outcome is what
            // the reverse needs (a `select`'s local derivatives), and one
            // bool is taped instead of two floats.
            Op::Cmp(_) if self.all_from_tape(g, c, &node.args) => self.restore(g, c, id),
            Op::Fun(f) if PRIMITIVES[f as usize].is_expensive() => self.restore(g, c, id),
            // A call's value, where its reverse is a pullback (not read
            // from the gradient its forward call returned): recomputing it
            // would run the callee again.
            Op::Call(k) if g.calls[k as usize].passes_slices() => self.restore(g, c, id),
            // A direction call passing slices: its result holds vectors,
            // which the tape does not take. It is made again, reading the
            // slices as a pullback does.
            Op::CallDir(k) if g.calls[k as usize].passes_slices() => {
                let args: Vec<Id> = node
                    .args
                    .iter()
                    .map(|&a| match g.kinds[a.index()] {
                        Kind::Buffer => self.slice_value(g, a),
                        _ => self.fwd(g, a),
                    })
                    .collect();
                let guard = g.guards.get(&id).copied().map(|c| self.fwd(g, c));
                let (saved_region, saved_mode) = (g.current, g.mode);
                let saved_guard = std::mem::replace(&mut g.guard, guard);
                g.current = g.loops[self.ctxs[c].rev as usize].body;
                g.mode = Mode::Forward;
                let v = g.node(Op::CallDir(k), args);
                g.current = saved_region;
                g.mode = saved_mode;
                g.guard = saved_guard;
                v
            }
            // A read of memory written later, or of memory some iteration
            // being reversed wrote: its value is not what the buffer holds
            // when the reverse sweep runs, and the array itself is not on
            // the tape (only floats and integers are), so the value read is.
            // An inner loop's read of an array its enclosing loop rewrites
            // every iteration (an MLP layer inside a loop over samples)
            // is one of these.
            Op::Load
                if self.overwritten.contains(&node.args[0])
                    || self.ctxs[..=c].iter().any(|ctx| {
                        g.encloses(
                            g.loops[ctx.l as usize].body,
                            g.region_of[node.args[0].index()],
                        )
                    }) =>
            {
                self.restore(g, c, id)
            }
            op => {
                let args: Vec<Id> = node.args.iter().map(|&a| self.fwd(g, a)).collect();
                let guard = g.guards.get(&id).copied().map(|c| self.fwd(g, c));
                let (saved_region, saved_mode) = (g.current, g.mode);
                let saved_guard = std::mem::replace(&mut g.guard, guard);
                g.current = g.loops[self.ctxs[c].rev as usize].body;
                // Recomputed exactly as the forward sweep computed it.
                g.mode = Mode::Forward;
                let v = g.node(op, args);
                g.current = saved_region;
                g.mode = saved_mode;
                g.guard = saved_guard;
                v
            }
        };
        self.ctxs[c].map.insert(id, value);
        value
    }

    /// Whether every one of `args` is a value of context `c`'s loop body
    /// that the reverse would restore from the tape and has not yet.
    fn all_from_tape(&self, g: &Graph, c: usize, args: &[Id]) -> bool {
        let body = g.loops[self.ctxs[c].l as usize].body;
        args.iter().all(|a| {
            g.region_of[a.index()] == body
                && !self.ctxs[c].map.contains_key(a)
                && matches!(g.get(*a).op, Op::Carried { .. } | Op::LoopOut(_))
                && g.kinds[a.index()] == Kind::Float
        })
    }

    /// Puts forward value `id` of context `c`'s loop on the tape, and
    /// returns its restored value in the reverse body.
    fn restore(&mut self, g: &mut Graph, c: usize, id: Id) -> Id {
        debug_assert_ne!(
            g.kinds[id.index()],
            Kind::Buffer,
            "an array is never put on the scalar tape"
        );
        debug_assert!(
            !self.ctxs[c].replay,
            "a reverse loop run in the forward order restores nothing"
        );
        let (l, rev) = (self.ctxs[c].l, self.ctxs[c].rev);
        let k = g.loops[rev as usize].restores.len() as u32;
        g.loops[rev as usize]
            .restore_kinds
            .push(g.kinds[id.index()]);
        let body = g.loops[rev as usize].body;
        let r = g.node_in(body, Op::Restore { l: rev, k }, vec![]);
        g.loops[rev as usize].restores.push(r);
        g.loops[l as usize].tape.push(id);
        r
    }

    /// The float values from outside loop `l`'s body (and its inner loops'
    /// bodies) that the body reads or yields, and the array storages from
    /// outside it that the body reads or writes, and which of those it
    /// writes.
    fn outside_reads(&self, g: &Graph, l: u32) -> (Vec<Id>, Vec<Id>, BTreeSet<Id>) {
        let body = g.loops[l as usize].body;
        let mut free = BTreeSet::new();
        let mut storages = BTreeSet::new();
        let mut written = BTreeSet::new();
        let outside = |a: Id, free: &mut BTreeSet<Id>| {
            if !g.encloses(body, g.region_of[a.index()])
                && self.active[a.index()]
                && g.kinds[a.index()] == Kind::Float
            {
                free.insert(a);
            }
        };
        // The body's region and those nested in it.
        let inside = (0..self.region_nodes.len() as u32).filter(|&r| g.encloses(body, r));
        for id in inside.flat_map(|r| self.region_nodes[r as usize].iter().copied()) {
            let i = id.index();
            if !self.live[i] {
                continue;
            }
            let node = g.get(id);
            // A comparison passes no derivative to what it compares.
            if !node.op.is_bool() {
                for &a in &node.args {
                    outside(a, &mut free);
                }
            }
            if let Op::Loop(inner) = node.op {
                for &y in &g.loops[inner as usize].yields {
                    outside(y, &mut free);
                }
            }
            // A call passing a slice reads it (its pullback adds into
            // the slice's adjoint buffer).
            if super::passes_slices(g, id) {
                for &a in &node.args {
                    if g.kinds[a.index()] != Kind::Buffer {
                        continue;
                    }
                    if let Some(root) = self.active_storage(g, a) {
                        if !g.encloses(body, g.region_of[root.index()]) {
                            storages.insert(root);
                        }
                    }
                }
            }
            if matches!(node.op, Op::Load | Op::Store) {
                if let Some(root) = self.active_storage(g, node.args[0]) {
                    if !g.encloses(body, g.region_of[root.index()]) {
                        storages.insert(root);
                        if node.op == Op::Store {
                            written.insert(root);
                        }
                    }
                }
            }
        }
        for &y in &g.loops[l as usize].yields {
            outside(y, &mut free);
        }
        (
            free.into_iter().collect(),
            storages.into_iter().collect(),
            written,
        )
    }

    /// Whether the reverse of loop `info` can run in the forward order,
    /// computing the loop's carried values again as it goes instead of
    /// restoring them from the tape (as a hand-written reverse loop does
    /// with `term *= t`, where the forward tapes every power). It can when
    /// no adjoint is carried from one iteration to the next (every active
    /// carried float is a sum, whose adjoint is the same in every
    /// iteration) and the body only computes: it reads only parameters'
    /// memory, which nothing writes, and has no loop or call inside, so
    /// that computing it again gives the same values. It calls no
    /// function the tape would keep instead of computing again (`exp`,
    /// `sin`, …: one push and pop cost less than another call). It is chosen when
    /// some carried float is not active (a recurrence such as `mul *= t`
    /// that the reverse would otherwise tape). Activity is with respect
    /// to every float parameter (the reverse serves all of them), so a
    /// recurrence through a float parameter outside `wrt` is not replayed.
    fn replayable(&self, g: &Graph, info: &LoopInfo) -> bool {
        if info.counted() || info.kinds.iter().any(|k| *k != Kind::Float) {
            return false;
        }
        let floats = 0..info.carried.len();
        let sums = floats
            .clone()
            .all(|k| !self.active[info.carried[k].index()] || self.is_sum(g, info, k));
        let recurrence = floats.clone().any(|k| {
            let c = info.carried[k];
            !self.active[c.index()] && self.live[c.index()]
        });
        if !sums || !recurrence {
            return false;
        }
        let inside = (0..self.region_nodes.len() as u32).filter(|&r| g.encloses(info.body, r));
        inside
            .flat_map(|r| self.region_nodes[r as usize].iter())
            .all(|&id| {
                let node = g.get(id);
                let cheap = match node.op {
                    Op::Fun(f) => !PRIMITIVES[f as usize].is_expensive(),
                    _ => true,
                };
                cheap
                    && (node.op.is_pure_arithmetic()
                        || (node.op == Op::Load
                            && matches!(g.get(node.args[0]).op, Op::ArrayParam(_)))
                        || matches!(
                            node.op,
                            Op::Param { .. }
                                | Op::RtInt(_)
                                | Op::IntConst(_)
                                | Op::LoopVar(_)
                                | Op::IntAdd
                                | Op::IntSub
                                | Op::IntMul
                                | Op::IntDiv
                                | Op::IntRem
                                | Op::IntBit(_)
                                | Op::IntFn(_)
                                | Op::IntCmp(_)
                                | Op::CheckIndex
                                | Op::Carried { .. }
                                | Op::BoolParam(_)
                                | Op::BoolConst(_)
                        ))
            })
    }

    /// Whether loop `info`'s carried float `k` is a sum: its only use is
    /// `c + term` (or `c − term`), which is what the loop yields for it and
    /// which nothing else in the body reads (`w1 += w5; w5 = … w1 …` is not
    /// a sum: the new `w1` sends adjoint into `w5` as well).
    fn is_sum(&self, g: &Graph, info: &LoopInfo, k: usize) -> bool {
        let (c, y) = (info.carried[k], info.yields[k]);
        let node = g.get(y);
        let shape = match node.op {
            Op::Add => (node.args[0] == c) != (node.args[1] == c),
            Op::Sub => node.args[0] == c && node.args[1] != c,
            _ => false,
        };
        if !shape {
            return false;
        }
        let inside = (0..self.region_nodes.len() as u32).filter(|&r| g.encloses(info.body, r));
        let (mut uses_c, mut uses_y) = (0, 0);
        for r in inside {
            for &id in &self.region_nodes[r as usize] {
                if self.live[id.index()] {
                    let args = &g.get(id).args;
                    uses_c += args.iter().filter(|&&a| a == c).count();
                    uses_y += args.iter().filter(|&&a| a == y).count();
                }
            }
        }
        let in_conditions = [info.cond, info.exit, info.guard]
            .iter()
            .flatten()
            .any(|&x| x == c || x == y || g.get(x).args.contains(&c) || g.get(x).args.contains(&y));
        let other_yield = info
            .yields
            .iter()
            .enumerate()
            .any(|(j, &v)| j != k && v == y);
        uses_c == 1 && uses_y == 0 && !in_conditions && !other_yield
    }

    /// Builds the reverse of loop `l`, given the adjoints of its final
    /// carried values; returns the adjoint contributions to the loop's
    /// initial values and to the outside values its body reads.
    pub(super) fn reverse_loop(
        &mut self,
        g: &mut Graph,
        l: u32,
        out_adjoints: Vec<Option<Id>>,
    ) -> Vec<(Id, Id)> {
        let info = g.loops[l as usize].clone();
        let node = info.node.expect("a finished loop");
        let args = g.get(node).args.clone();
        let (free, storages, written) = self.outside_reads(g, l);
        // Nothing flows back: no adjoint of a final float, and no adjoint
        // in the memory the loop wrote (memory it only reads gets adjoint
        // from it only if some float in it has one).
        let any_float = out_adjoints.iter().any(Option::is_some);
        if !any_float && !written.iter().any(|r| self.bufs.contains_key(r)) {
            return Vec::new();
        }
        // A counted loop (a `while`, or one that can `break`) is reversed
        // over its iteration numbers, `(0..trips).rev()`; the forward loop
        // variable is then the range's element of that number.
        let (lo, hi) = if info.counted() {
            // The count is read where the forward loop ended; inside a loop
            // being reversed, it is restored from the tape (each outer
            // iteration ran the loop its own number of times).
            let region = g.region_of[node.index()];
            let trips = g.node_in(region, Op::LoopTrips, vec![node]);
            (g.node(Op::IntConst(0), vec![]), self.fwd(g, trips))
        } else {
            (self.fwd(g, args[0]), self.fwd(g, args[1]))
        };
        let zero = g.konst(0.0);
        // The adjoints of the carried floats (buffers' adjoints live in
        // their storages' adjoint buffers).
        let floats: Vec<usize> = (0..info.kinds.len())
            .filter(|&k| info.kinds[k] == Kind::Float)
            .collect();
        let n_floats = floats.len();
        let mut kinds = vec![Kind::Float; n_floats + free.len()];
        kinds.extend(storages.iter().map(|_| Kind::Buffer));
        let mut inits: Vec<Id> = floats
            .iter()
            .map(|&k| out_adjoints[k].unwrap_or(zero))
            .collect();
        inits.extend(free.iter().map(|_| zero));
        for &r in &storages {
            let d = self.dbuf(g, r);
            inits.push(d);
        }

        // Replayed: one more carried float per forward carried value,
        // from the forward's initial values.
        let replay = self.replayable(g, &info);
        let replayed_at = kinds.len();
        if replay {
            for k in 0..info.carried.len() {
                kinds.push(Kind::Float);
                inits.push(self.fwd(g, args[2 + k]));
            }
        }
        let (reversed, inclusive) = if info.counted() {
            (true, false)
        } else if replay {
            (info.reversed, info.inclusive)
        } else {
            (!info.reversed, info.inclusive)
        };
        // A loop that ran only if a condition held is reversed only then.
        let guard = info.guard.map(|c| self.fwd(g, c));
        let (rev, _, carried) = g.begin_loop(kinds, reversed, inclusive);
        {
            let r = &mut g.loops[rev as usize];
            r.reverses = Some(l);
            r.guard = guard;
            r.var_name = info.var_name.clone();
            let mut names: Vec<Option<String>> = floats
                .iter()
                .map(|&k| info.names[k].as_ref().map(|n| format!("d_{n}")))
                .collect();
            names.extend(free.iter().map(|_| None));
            names.extend(storages.iter().map(|_| None));
            if replay {
                names.extend(info.names.iter().cloned());
            }
            r.names = names;
        }
        for (k, f) in free.iter().enumerate() {
            if let Some(name) = &g.names[f.index()] {
                g.loops[rev as usize].names[n_floats + k] = Some(format!("d_{name}"));
            }
        }
        let mut map = HashMap::new();
        if replay {
            for (k, &c) in info.carried.iter().enumerate() {
                map.insert(c, carried[replayed_at + k]);
            }
        }
        self.ctxs.push(Ctx {
            l,
            rev,
            map,
            replay,
        });
        for (j, r) in storages.iter().enumerate() {
            self.bufs.insert(*r, carried[n_floats + free.len() + j]);
        }
        let free_pos: HashMap<Id, usize> = free.iter().enumerate().map(|(k, &f)| (f, k)).collect();
        let mut acc: Vec<Id> = carried[n_floats..n_floats + free.len()].to_vec();
        let mut adj: HashMap<Id, Id> = HashMap::new();
        let body = info.body;
        let mut contribute = |g: &mut Graph, adj: &mut HashMap<Id, Id>, target: Id, v: Id| {
            if g.as_const(v) == Some(0.0) {
                return;
            }
            if g.region_of[target.index()] == body {
                let sum = match adj.get(&target) {
                    Some(&a) => g.add(a, v),
                    None => v,
                };
                adj.insert(target, sum);
            } else if let Some(&k) = free_pos.get(&target) {
                acc[k] = g.add(acc[k], v);
            }
        };
        for (j, &k) in floats.iter().enumerate() {
            let y = info.yields[k];
            if self.active[y.index()] {
                // A sum (`s += term`) passes its adjoint through unchanged:
                // every iteration reads the incoming one, a constant or a
                // value outside the loop, which then simplifies with the
                // body (`1·x` folds, `100·a + a·100` is one node doubled).
                let through = if self.is_sum(g, &info, k) {
                    inits[j]
                } else {
                    carried[j]
                };
                contribute(g, &mut adj, y, through);
            }
        }
        let nodes = self.region_nodes[body as usize].clone();
        for &id in nodes.iter().rev() {
            let i = id.index();
            if !self.live[i] {
                continue;
            }
            let op = g.get(id).op;
            if let Op::Loop(inner) = op {
                let outs = g.loops[inner as usize].outs.clone();
                let out_adj: Vec<Option<Id>> = outs.iter().map(|o| adj.get(o).copied()).collect();
                for (target, v) in self.reverse_loop(g, inner, out_adj) {
                    contribute(g, &mut adj, target, v);
                }
                continue;
            }
            if !self.active[i] {
                continue;
            }
            if matches!(op, Op::Store | Op::NewArray(_)) {
                let mut found = Vec::new();
                self.buffer_op(g, id, &mut |_, t, v| found.push((t, v)));
                for (t, v) in found {
                    contribute(g, &mut adj, t, v);
                }
                continue;
            }
            let Some(&a) = adj.get(&id) else { continue };
            match op {
                Op::Carried { .. } | Op::LoopOut(_) => {}
                Op::Load => self.scatter(g, id, a),
                _ if super::passes_slices(g, id) => {
                    let mut found = Vec::new();
                    self.pullback(g, id, a, &mut |_, t, v| found.push((t, v)));
                    for (t, v) in found {
                        contribute(g, &mut adj, t, v);
                    }
                }
                _ => {
                    let children = g.get(id).args.clone();
                    for (k, &child) in children.iter().enumerate() {
                        if !self.active[child.index()] || g.kinds[child.index()] != Kind::Float {
                            continue;
                        }
                        let Some(local) =
                            local_derivative_with(g, id, k, &mut |g, x| self.fwd(g, x))
                        else {
                            continue;
                        };
                        let c = g.mul(a, local);
                        contribute(g, &mut adj, child, c);
                    }
                }
            }
        }
        let mut yields: Vec<Id> = floats
            .iter()
            .map(|&k| adj.get(&info.carried[k]).copied().unwrap_or(zero))
            .collect();
        yields.extend(acc.iter().copied());
        yields.extend(storages.iter().map(|r| self.bufs[r]));
        if replay {
            // The forward recurrence, computed again from the replayed values.
            for &y in &info.yields {
                let v = self.fwd(g, y);
                yields.push(v);
            }
        }
        let skip_unless = super::skip::neutral_guard(g, rev, &inits, &yields);
        let (_, outs) = g.finish_loop(rev, lo, hi, inits, yields);
        if skip_unless.is_some() {
            g.loops[rev as usize].guard = skip_unless;
        }
        self.ctxs.pop();
        for (j, r) in storages.iter().enumerate() {
            self.bufs.insert(*r, outs[n_floats + free.len() + j]);
        }
        // Adjoint buffers of storages declared inside the body belong to
        // one iteration.
        self.bufs
            .retain(|root, _| !g.encloses(body, g.region_of[root.index()]));
        let mut contributions = Vec::new();
        for (j, &k) in floats.iter().enumerate() {
            let init = args[2 + k];
            if self.active[init.index()] && g.as_const(outs[j]) != Some(0.0) {
                contributions.push((init, outs[j]));
            }
        }
        for (k, &f) in free.iter().enumerate() {
            contributions.push((f, outs[n_floats + k]));
        }
        contributions
    }
}
