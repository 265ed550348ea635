//! The reverse sweep: backpropagation over the graph, building the
//! adjoint (∂loss/∂node) of every node as new graph nodes.
//!
//! Walking the arena backwards visits every node after all its users, so
//! when a node is reached its adjoint is complete; each argument then
//! receives `adjoint · local derivative`, accumulated with `+=` where a value
//! feeds several places. The local derivatives come from the op table in
//! [`crate::ops`], instantiated with the node's own arguments and value.
//!
//! One sweep (`run`) serves every consumer: the gradient of a function
//! ([`sweep`], [`sweep_seeded`]) and, for explanations, the chain rule of
//! one statement down to the named values it reads ([`local_adjoints`]).

use std::collections::{HashMap, HashSet};

use crate::graph::{Graph, Id, Kind, Mode, Op};
use crate::pattern::{Pat, SLOTS, TEMPLATES};

mod invariance;
mod loops;
mod skip;

pub use loops::{activity, activity_except};

/// The adjoints of a sweep.
pub struct Adjoints {
    /// `adjoint[i]` of forward node `i` (`None`: symbolically zero).
    pub adjoint: Vec<Option<Id>>,
    /// Number of nodes before the sweep: nodes from here on are new.
    pub forward_len: usize,
    /// For each array parameter read at run-time indices (in a rolled
    /// loop, or `z[label]`), its gradient buffer at the end of the sweep:
    /// the contributions of those reads, added in place. The adjoints of
    /// its elements read at fixed indices come on top.
    pub buffers: HashMap<u32, Id>,
}

/// Differentiates `output` with respect to the parameters for which
/// `is_target(param)` holds.
///
/// Local Jacobians are preaccumulated over single-use subexpressions: a
/// node used once, by one other operation, is part of its user's *tree*,
/// and instead of an adjoint it gets the forward-only factor ∂root/∂node.
/// Each value a tree reads from outside it then receives one product,
/// `adjoint(root) · Σ factors`, so the chain of adjoint-dependent
/// multiplications is one per tree rather than one per operation (for the
/// logistic map, `d·(b·r − a)` instead of `d·b·r − d·a`). Values the user
/// named stay roots, so they keep adjoints of their own (`d_z1`, traces).
pub fn sweep(g: &mut Graph, output: Id, is_target: &dyn Fn(u32) -> bool) -> Adjoints {
    sweep_seeded(g, output, None, is_target)
}

/// [`sweep`], with the output's adjoint `seed` (a node) instead of 1:
/// every adjoint is then `seed` times the derivative (`NAME_pullback`).
pub fn sweep_seeded(
    g: &mut Graph,
    output: Id,
    seed: Option<Id>,
    is_target: &dyn Fn(u32) -> bool,
) -> Adjoints {
    let forward_len = g.len();
    // Activity analysis: only nodes that depend on a target need adjoints;
    // a value the output is invariant to (a log-sum-exp's shift) needs
    // none, although the output reads it.
    let live = crate::emit::live_nodes(g, &[output]);
    let invariant = invariance::shift_invariant(g, &live);
    let active = activity_except(g, is_target, &invariant);
    let one = g.konst(1.0);
    let (adjoint, buffers) = run(
        g,
        &Scope {
            output,
            seed: seed.unwrap_or(one),
            live: &live,
            active: &active,
            stops: &|_| false,
        },
    );
    Adjoints {
        adjoint,
        forward_len,
        buffers,
    }
}

/// ∂`top`/∂(each value its definition reads, down to the values
/// `is_leaf` accepts): the chain rule of one statement, as
/// explanations show it (`∂z/∂w = x` for `z = w·x + b`, holding the named
/// values it reads fixed). The same sweep as [`sweep`], with `top` as its
/// output and the leaves where it stops; a loop's results, memory reads
/// and calls passing slices are leaves too. Returns the leaves `is_leaf`
/// accepts whose derivative is not zero, in arena order.
pub fn local_adjoints(g: &mut Graph, top: Id, is_leaf: &dyn Fn(Id) -> bool) -> Vec<(Id, Id)> {
    let stops = |g: &Graph, id: Id| {
        id != top
            && (is_leaf(id)
                || matches!(
                    g.get(id).op,
                    Op::Loop(_) | Op::LoopOut(_) | Op::Load | Op::Store | Op::NewArray(_)
                )
                || passes_slices(g, id))
    };
    let n = top.index() + 1;
    let mut live = vec![false; n];
    live[top.index()] = true;
    let mut stack = vec![top];
    let mut stopped = Vec::new();
    while let Some(id) = stack.pop() {
        if stops(g, id) {
            stopped.push(id);
            continue;
        }
        for &a in &g.get(id).args {
            if !live[a.index()] {
                live[a.index()] = true;
                stack.push(a);
            }
        }
    }
    let active: Vec<bool> = (0..n)
        .map(|i| {
            live[i] && g.kinds[i] == Kind::Float && !matches!(g.get(Id(i as u32)).op, Op::Const(_))
        })
        .collect();
    let stopped: HashSet<Id> = stopped.into_iter().collect();
    let one = g.konst(1.0);
    let (adjoint, _) = run(
        g,
        &Scope {
            output: top,
            seed: one,
            live: &live,
            active: &active,
            stops: &|id| stopped.contains(&id),
        },
    );
    let mut leaves: Vec<(Id, Id)> = stopped
        .iter()
        .filter(|&&id| is_leaf(id))
        .filter_map(|&id| Some((id, adjoint[id.index()]?)))
        .filter(|&(_, d)| g.as_const(d) != Some(0.0))
        .collect();
    leaves.sort_unstable();
    leaves
}

/// What one sweep covers.
struct Scope<'a> {
    /// The value differentiated, and the region it is in: nodes of loop
    /// bodies inside that region are reversed with their loop.
    output: Id,
    /// Its adjoint.
    seed: Id,
    /// The nodes the output reads.
    live: &'a [bool],
    /// The nodes whose adjoints are wanted.
    active: &'a [bool],
    /// Nodes that get an adjoint but pass nothing on to what they read.
    stops: &'a dyn Fn(Id) -> bool,
}

/// The reverse sweep over `scope`: the adjoint of every node up to the
/// output (`None`: symbolically zero), and the gradient buffers of the
/// array parameters read at run-time indices.
fn run(g: &mut Graph, scope: &Scope) -> (Vec<Option<Id>>, HashMap<u32, Id>) {
    let Scope {
        output,
        seed,
        live,
        active,
        stops,
    } = *scope;
    let n = output.index() + 1;
    let region = g.region_of[output.index()];
    // Uses of each active node by active nodes that the output needs. A
    // node read by a loop (as a bound, an initial value or from its body)
    // or by an in-place operation is never part of a tree: its adjoint
    // is needed whole.
    let mut uses = vec![0u32; n];
    for i in 0..n {
        let node = g.get(Id(i as u32));
        // A loop is never active itself, but its arguments are read whole.
        let counts = matches!(node.op, Op::Loop(_)) || (live[i] && active[i]);
        if !counts {
            continue;
        }
        // A call passing slices is reversed by its callee's pullback,
        // which returns whole adjoints of its arguments.
        let whole = g.region_of[i] != region
            || matches!(
                node.op,
                Op::Loop(_) | Op::Load | Op::Store | Op::NewArray(_) | Op::ScatterAdd
            )
            || passes_slices(g, Id(i as u32));
        for a in &node.args {
            if a.index() < n && active[a.index()] {
                uses[a.index()] += if whole { 2 } else { 1 };
            }
        }
        // A loop also reads the values its body yields without being an
        // argument of any node there (`w = v` with `v` computed before the
        // loop): the reverse loop sends them whole adjoints.
        if let Op::Loop(l) = node.op {
            for y in &g.loops[l as usize].yields {
                if y.index() < n && active[y.index()] {
                    uses[y.index()] += 2;
                }
            }
        }
    }
    let in_tree = |g: &Graph, i: usize| {
        uses[i] == 1
            && g.get(Id(i as u32)).op.is_operation()
            && !matches!(g.get(Id(i as u32)).op, Op::Load | Op::Loop(_))
            && !passes_slices(g, Id(i as u32))
            && g.names[i].is_none()
            && i != output.index()
            && !stops(Id(i as u32))
    };
    let saved_mode = g.mode;
    g.mode = Mode::Gradient;
    let one = g.konst(1.0);
    let mut adjoint: Vec<Option<Id>> = vec![None; n];
    // For a tree node: (its root, ∂root/∂node).
    let mut in_root: Vec<Option<(usize, Id)>> = vec![None; n];
    // For a root or leaf: Σ ∂root/∂(this value) for each tree reading it.
    let mut pending: Vec<Vec<(usize, Id)>> = vec![Vec::new(); n];
    // Whole adjoint contributions (from the reverse of a loop).
    let mut direct: Vec<Vec<Id>> = vec![Vec::new(); n];
    let mut rev = loops::Reverser::new(g, active, live);
    for i in (0..n).rev() {
        let id = Id(i as u32);
        // Nodes of a loop body inside the output's region are reversed
        // with their loop.
        let r = g.region_of[i];
        if !live[i] || (r != region && g.encloses(region, r)) || (stops(id) && !active[i]) {
            continue;
        }
        if let Op::Loop(l) = g.get(id).op {
            let outs = g.loops[l as usize].outs.clone();
            // A final value built after the output (the loop's other
            // carried values) does not reach it: no adjoint.
            let out_adj: Vec<Option<Id>> = outs
                .iter()
                .map(|o| adjoint.get(o.index()).copied().flatten())
                .collect();
            for (target, value) in rev.reverse_loop(g, l, out_adj) {
                direct[target.index()].push(value);
            }
            continue;
        }
        if !active[i] {
            continue;
        }
        if matches!(g.get(id).op, Op::Store | Op::NewArray(_)) {
            rev.buffer_op(g, id, &mut |_, target, value| {
                direct[target.index()].push(value)
            });
            continue;
        }
        let (root, factor) = if in_tree(g, i) {
            debug_assert!(
                direct[i].is_empty(),
                "a node in a tree has no whole adjoint contributions"
            );
            match in_root[i] {
                Some(rf) => rf,
                None => continue,
            }
        } else {
            // Every tree reading this value has been processed (they all
            // come later in the arena), and their roots' adjoints are final.
            let adj = if i == output.index() {
                Some(seed)
            } else {
                let mut total: Option<Id> = None;
                for c in std::mem::take(&mut direct[i]) {
                    total = Some(match total {
                        None => c,
                        Some(t) => g.add(t, c),
                    });
                }
                for (r, jac) in std::mem::take(&mut pending[i]) {
                    let Some(ar) = adjoint[r] else { continue };
                    let c = g.mul(ar, jac);
                    if g.as_const(c) == Some(0.0) {
                        continue;
                    }
                    total = Some(match total {
                        None => c,
                        Some(t) => g.add(t, c),
                    });
                }
                total
            };
            let Some(adj) = adj else { continue };
            adjoint[i] = Some(adj);
            if stops(id) {
                continue;
            }
            if g.get(id).op == Op::Load {
                rev.scatter(g, id, adj);
                continue;
            }
            if passes_slices(g, id) {
                rev.pullback(g, id, adj, &mut |_, target, value| {
                    direct[target.index()].push(value)
                });
                continue;
            }
            (i, one)
        };
        let args = g.get(id).args.clone();
        for (k, &child) in args.iter().enumerate() {
            if !active[child.index()] {
                continue;
            }
            let Some(local) = local_derivative(g, id, k) else {
                continue;
            };
            let f = g.mul(factor, local);
            if g.as_const(f) == Some(0.0) {
                continue;
            }
            let c = child.index();
            if in_tree(g, c) {
                in_root[c] = Some((root, f));
            } else {
                match pending[c].iter_mut().find(|(r, _)| *r == root) {
                    Some(entry) => entry.1 = g.add(entry.1, f),
                    None => pending[c].push((root, f)),
                }
            }
        }
    }
    g.mode = saved_mode;
    let buffers = rev.into_buffers(g);
    (adjoint, buffers)
}

/// Whether `id` is a call passing a slice whole (reversed by
/// [`Op::Pullback`]), or a direction call of one (reversed by adding its
/// result's slice parts into adjoint buffers, [`Op::AddCallSlice`]).
pub fn passes_slices(g: &Graph, id: Id) -> bool {
    match g.get(id).op {
        Op::Call(k) | Op::CallDir(k) => g.calls[k as usize].passes_slices(),
        _ => false,
    }
}

/// ∂node/∂(argument `k`), or `None` where it is zero.
pub fn local_derivative(g: &mut Graph, id: Id, k: usize) -> Option<Id> {
    local_derivative_with(g, id, k, &mut |_, x| x)
}

/// ∂node/∂(argument `k`), reading the node's arguments and value through
/// `value_of` (the identity in straight-line code; in a reversed loop, the
/// restored or recomputed value of the iteration being reversed). Only the
/// values the derivative reads are asked for.
pub fn local_derivative_with(
    g: &mut Graph,
    id: Id,
    k: usize,
    value_of: &mut dyn FnMut(&mut Graph, Id) -> Id,
) -> Option<Id> {
    let node = g.get(id).clone();
    let t = &*TEMPLATES;
    let template = match node.op {
        Op::Add => &t.add[k],
        Op::Sub => &t.sub[k],
        Op::Mul => &t.mul[k],
        Op::Div => &t.div[k],
        Op::Neg => &t.neg[k],
        Op::Select => &t.select[k],
        Op::Fun(i) => &t.prims[i as usize][k],
        Op::Powi(n) => {
            // d/dx xⁿ = n·xⁿ⁻¹
            return match n {
                0 => None,
                1 => Some(g.konst(1.0)),
                2 => {
                    let x = value_of(g, node.args[0]);
                    let two = g.konst(2.0);
                    Some(g.mul(two, x))
                }
                _ => {
                    let x = value_of(g, node.args[0]);
                    let nn = g.konst(n as f64);
                    Some(match n.checked_sub(1) {
                        Some(m) => {
                            let p = g.node(Op::Powi(m), vec![x]);
                            g.mul(nn, p)
                        }
                        // n = i32::MIN: xⁿ⁻¹ = xⁿ / x.
                        None => {
                            let y = value_of(g, id);
                            let q = g.node(Op::Div, vec![y, x]);
                            g.mul(nn, q)
                        }
                    })
                }
            };
        }
        // The callee's companion function returned the whole gradient.
        Op::Call(_) => {
            let call = value_of(g, id);
            return Some(g.node(Op::Proj(k as u32), vec![call]));
        }
        // `∇f(a)·t`: ∂/∂a = H·t, ∂/∂t = ∇f, both from the callee's
        // companion `NAME_hvp_all`.
        Op::CallDir(_) => {
            let n = node.args.len() / 2;
            let dir = value_of(g, id);
            return Some(if k < n {
                g.node(Op::HvProj(k as u32), vec![dir])
            } else {
                g.node(Op::Proj((k - n) as u32), vec![dir])
            });
        }
        _ => return None,
    };
    let mut binds = [None; SLOTS];
    for (slot, &a) in node.args.iter().enumerate().take(3) {
        if reads_slot(template, slot) {
            binds[slot] = Some(value_of(g, a));
        }
    }
    if reads_slot(template, 3) {
        binds[3] = Some(value_of(g, id));
    }
    let d = g.build(template, &binds);
    if g.as_const(d) == Some(0.0) {
        None
    } else {
        Some(d)
    }
}

/// Whether a template reads variable slot `slot`.
fn reads_slot(pat: &Pat, slot: usize) -> bool {
    match pat {
        Pat::Num(_) => false,
        Pat::Var(s, _) => *s == slot,
        Pat::Op(_, args) => args.iter().any(|a| reads_slot(a, slot)),
    }
}
