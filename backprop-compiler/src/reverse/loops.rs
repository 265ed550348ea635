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
//! carried values at the start of the iteration) and values that are
//! expensive to recompute (calls of transcendental functions, results of
//! inner loops) are restored from a tape the forward loop pushed them on,
//! at the end of its iteration; everything else (arithmetic, array reads,
//! index arithmetic) is recomputed. One last-in-first-out tape serves all
//! loops: an iteration pushes after its inner loops have pushed, and its
//! reverse pops before its inner loops' reverses pop.

use std::collections::{BTreeSet, HashMap};

use crate::graph::{Graph, Id, Kind, Mode, Op};
use crate::ops::PRIMITIVES;

use super::local_derivative_with;

/// Which nodes depend on a differentiated parameter (carried values by a
/// fixed point, since a loop's body precedes its carried values' updates).
pub fn activity(g: &Graph, is_target: &dyn Fn(u32) -> bool) -> Vec<bool> {
    let n = g.len();
    let mut active = vec![false; n];
    loop {
        let mut changed = false;
        for i in 0..n {
            if active[i] {
                continue;
            }
            let node = g.get(Id(i as u32));
            let now = match node.op {
                Op::Param { param, .. } | Op::ArrayParam(param) => is_target(param),
                op if op.is_bool() => false,
                Op::ToInt(_) | Op::Proj(_) | Op::Restore { .. } | Op::Loop(_) => false,
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
}

/// Builds reverse loops, and threads the gradient buffers through them.
pub(super) struct Reverser<'a> {
    active: &'a [bool],
    live: &'a [bool],
    /// The current gradient buffer of each array parameter read at
    /// run-time indices.
    bufs: HashMap<u32, Id>,
    ctxs: Vec<Ctx>,
    /// The forward nodes of each region, in arena order.
    region_nodes: Vec<Vec<Id>>,
}

impl<'a> Reverser<'a> {
    /// Prepares the buffers of every array parameter read at run-time
    /// indices (zeros, created once in the function's body).
    pub(super) fn new(g: &mut Graph, active: &'a [bool], live: &'a [bool]) -> Reverser<'a> {
        let mut region_nodes = vec![Vec::new(); g.regions.len()];
        let mut bufs = HashMap::new();
        for i in 0..active.len() {
            region_nodes[g.region_of[i] as usize].push(Id(i as u32));
        }
        let saved = g.current;
        g.current = 0;
        for i in 0..active.len() {
            let node = g.get(Id(i as u32));
            if node.op == Op::Load && active[i] && live[i] {
                let buffer = node.args[0];
                let Op::ArrayParam(p) = g.get(buffer).op else {
                    continue;
                };
                if let std::collections::hash_map::Entry::Vacant(e) = bufs.entry(p) {
                    e.insert(g.node(Op::ZeroLike, vec![buffer]));
                }
            }
        }
        g.current = saved;
        Reverser {
            active,
            live,
            bufs,
            ctxs: Vec::new(),
            region_nodes,
        }
    }

    /// The final gradient buffers.
    pub(super) fn into_buffers(self) -> HashMap<u32, Id> {
        self.bufs
    }

    /// Adds `adjoint` to the gradient buffer element a [`Op::Load`] read.
    pub(super) fn scatter(&mut self, g: &mut Graph, load: Id, adjoint: Id) {
        let args = g.get(load).args.clone();
        let Op::ArrayParam(p) = g.get(args[0]).op else {
            return;
        };
        let mut new_args = vec![self.bufs[&p]];
        for &i in &args[1..] {
            new_args.push(self.fwd(g, i));
        }
        new_args.push(adjoint);
        let b = g.node(Op::ScatterAdd, new_args);
        self.bufs.insert(p, b);
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
            Op::LoopVar(_) => g.loops[self.ctxs[c].rev as usize].var,
            Op::Carried { .. } | Op::LoopOut(_) | Op::Call(_) | Op::Proj(_) => {
                self.restore(g, c, id)
            }
            Op::Fun(f) if PRIMITIVES[f as usize].is_expensive() => self.restore(g, c, id),
            op => {
                let args: Vec<Id> = node.args.iter().map(|&a| self.fwd(g, a)).collect();
                let (saved_region, saved_mode) = (g.current, g.mode);
                g.current = g.loops[self.ctxs[c].rev as usize].body;
                // Recomputed exactly as the forward sweep computed it.
                g.mode = Mode::Forward;
                let v = g.node(op, args);
                g.current = saved_region;
                g.mode = saved_mode;
                v
            }
        };
        self.ctxs[c].map.insert(id, value);
        value
    }

    /// Puts forward value `id` of context `c`'s loop on the tape, and
    /// returns its restored value in the reverse body.
    fn restore(&mut self, g: &mut Graph, c: usize, id: Id) -> Id {
        let (l, rev) = (self.ctxs[c].l, self.ctxs[c].rev);
        let k = g.loops[rev as usize].restores.len() as u32;
        g.loops[rev as usize]
            .restore_kinds
            .push(g.kinds[id.index()]);
        let saved = g.current;
        g.current = g.loops[rev as usize].body;
        let r = g.node(Op::Restore { l: rev, k }, vec![]);
        g.current = saved;
        g.loops[rev as usize].restores.push(r);
        g.loops[l as usize].tape.push(id);
        r
    }

    /// The float values from outside loop `l`'s body (and its inner loops'
    /// bodies) that the body reads or yields, and the array parameters it
    /// reads at run-time indices.
    fn outside_reads(&self, g: &Graph, l: u32) -> (Vec<Id>, Vec<u32>) {
        let body = g.loops[l as usize].body;
        let mut free = BTreeSet::new();
        let mut params = BTreeSet::new();
        let outside = |a: Id, free: &mut BTreeSet<Id>| {
            if !g.encloses(body, g.region_of[a.index()])
                && self.active[a.index()]
                && g.kinds[a.index()] == Kind::Float
            {
                free.insert(a);
            }
        };
        for i in 0..self.active.len() {
            if !g.encloses(body, g.region_of[i]) || !self.live[i] {
                continue;
            }
            let node = g.get(Id(i as u32));
            for &a in &node.args {
                outside(a, &mut free);
            }
            if let Op::Loop(inner) = node.op {
                for &y in &g.loops[inner as usize].yields {
                    outside(y, &mut free);
                }
            }
            if node.op == Op::Load && self.active[i] {
                if let Op::ArrayParam(p) = g.get(node.args[0]).op {
                    params.insert(p);
                }
            }
        }
        for &y in &g.loops[l as usize].yields {
            outside(y, &mut free);
        }
        (free.into_iter().collect(), params.into_iter().collect())
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
        let (free, params) = self.outside_reads(g, l);
        let lo = self.fwd(g, args[0]);
        let hi = self.fwd(g, args[1]);
        let zero = g.konst(0.0);
        let n_carried = info.kinds.len();
        let mut kinds = vec![Kind::Float; n_carried + free.len()];
        kinds.extend(params.iter().map(|_| Kind::Buffer));
        let mut inits: Vec<Id> = out_adjoints.iter().map(|a| a.unwrap_or(zero)).collect();
        inits.extend(free.iter().map(|_| zero));
        inits.extend(params.iter().map(|p| self.bufs[p]));

        let (rev, _, carried) = g.begin_loop(kinds, !info.reversed, info.inclusive);
        {
            let r = &mut g.loops[rev as usize];
            r.reverses = Some(l);
            r.var_name = info.var_name.clone();
            let mut names: Vec<Option<String>> = info
                .names
                .iter()
                .map(|n| n.as_ref().map(|n| format!("d_{n}")))
                .collect();
            names.extend(free.iter().map(|_| None));
            names.extend(params.iter().map(|_| None));
            r.names = names;
        }
        for (k, f) in free.iter().enumerate() {
            if let Some(name) = &g.names[f.index()] {
                g.loops[rev as usize].names[n_carried + k] = Some(format!("d_{name}"));
            }
        }
        self.ctxs.push(Ctx {
            l,
            rev,
            map: HashMap::new(),
        });
        for (j, p) in params.iter().enumerate() {
            self.bufs.insert(*p, carried[n_carried + free.len() + j]);
        }
        let free_pos: HashMap<Id, usize> = free.iter().enumerate().map(|(k, &f)| (f, k)).collect();
        let mut acc: Vec<Id> = carried[n_carried..n_carried + free.len()].to_vec();
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
        for (k, &y) in info.yields.iter().enumerate() {
            if self.active[y.index()] {
                contribute(g, &mut adj, y, carried[k]);
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
                if out_adj.iter().all(Option::is_none) {
                    continue;
                }
                for (target, v) in self.reverse_loop(g, inner, out_adj) {
                    contribute(g, &mut adj, target, v);
                }
                continue;
            }
            if !self.active[i] {
                continue;
            }
            let Some(&a) = adj.get(&id) else { continue };
            match op {
                Op::Carried { .. } | Op::LoopOut(_) => {}
                Op::Load => self.scatter(g, id, a),
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
        let mut yields: Vec<Id> = info
            .carried
            .iter()
            .map(|c| adj.get(c).copied().unwrap_or(zero))
            .collect();
        yields.extend(acc.iter().copied());
        yields.extend(params.iter().map(|p| self.bufs[p]));
        let (_, outs) = g.finish_loop(rev, lo, hi, inits, yields);
        self.ctxs.pop();
        for (j, p) in params.iter().enumerate() {
            self.bufs.insert(*p, outs[n_carried + free.len() + j]);
        }
        let mut contributions = Vec::new();
        for k in 0..n_carried {
            let init = args[2 + k];
            if self.active[init.index()] && g.as_const(outs[k]) != Some(0.0) {
                contributions.push((init, outs[k]));
            }
        }
        for (k, &f) in free.iter().enumerate() {
            contributions.push((f, outs[n_carried + k]));
        }
        contributions
    }
}
