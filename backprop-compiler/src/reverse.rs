//! The reverse sweep: backpropagation over the graph, building the
//! adjoint (∂loss/∂node) of every node as new graph nodes.
//!
//! Walking the arena backwards visits every node after all its users, so
//! when a node is reached its adjoint is complete; each argument then
//! receives `adjoint · local derivative`, accumulated with `+=` where a value
//! feeds several places. The local derivatives come from the op table in
//! [`crate::ops`], instantiated with the node's own arguments and value.

use crate::graph::{Graph, Id, Mode, Op};
use crate::pattern::SLOTS;
use crate::pattern::TEMPLATES;

/// The adjoints of a sweep.
pub struct Adjoints {
    /// `adjoint[i]` of forward node `i` (`None`: symbolically zero).
    pub adjoint: Vec<Option<Id>>,
    /// Number of nodes before the sweep: nodes from here on are new.
    pub forward_len: usize,
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
    let n = output.index() + 1;
    let forward_len = g.len();
    // Activity analysis: only nodes that depend on a target need adjoints.
    let mut active = vec![false; n];
    for i in 0..n {
        let node = g.get(Id(i as u32));
        active[i] = match node.op {
            Op::Param { param, .. } => is_target(param),
            op if op.is_bool() => false,
            // Integers carry no derivative (`(x * 3.0) as i32` is piecewise constant).
            Op::ToInt(_) => false,
            Op::Proj(_) => false,
            _ => node.args.iter().any(|a| active[a.index()]),
        };
    }
    // Uses of each active node by active nodes that the output needs.
    let live = crate::emit::live_nodes(g, &[output]);
    let mut uses = vec![0u32; n];
    for i in 0..n {
        if live[i] && active[i] {
            for a in &g.get(Id(i as u32)).args {
                if active[a.index()] {
                    uses[a.index()] += 1;
                }
            }
        }
    }
    let in_tree = |g: &Graph, i: usize| {
        uses[i] == 1
            && g.get(Id(i as u32)).op.is_operation()
            && g.names[i].is_none()
            && i != output.index()
    };

    let saved_mode = g.mode;
    g.mode = Mode::Gradient;
    let one = g.konst(1.0);
    let mut adjoint: Vec<Option<Id>> = vec![None; n];
    // For a tree node: (its root, ∂root/∂node).
    let mut in_root: Vec<Option<(usize, Id)>> = vec![None; n];
    // For a root or leaf: Σ ∂root/∂(this value) for each tree reading it.
    let mut pending: Vec<Vec<(usize, Id)>> = vec![Vec::new(); n];
    for i in (0..n).rev() {
        if !active[i] || !live[i] {
            continue;
        }
        let id = Id(i as u32);
        let (root, factor) = if in_tree(g, i) {
            match in_root[i] {
                Some(rf) => rf,
                None => continue,
            }
        } else {
            // Every tree reading this value has been processed (they all
            // come later in the arena), and their roots' adjoints are final.
            let adj = if i == output.index() {
                Some(one)
            } else {
                let mut total: Option<Id> = None;
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
    Adjoints {
        adjoint,
        forward_len,
    }
}

/// ∂node/∂(argument `k`), or `None` where it is zero.
pub fn local_derivative(g: &mut Graph, id: Id, k: usize) -> Option<Id> {
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
            let x = node.args[0];
            return match n {
                0 => None,
                1 => Some(g.konst(1.0)),
                2 => {
                    let two = g.konst(2.0);
                    Some(g.mul(two, x))
                }
                _ => {
                    let nn = g.konst(n as f64);
                    Some(match n.checked_sub(1) {
                        Some(m) => {
                            let p = g.node(Op::Powi(m), vec![x]);
                            g.mul(nn, p)
                        }
                        // n = i32::MIN: xⁿ⁻¹ = xⁿ / x.
                        None => {
                            let q = g.node(Op::Div, vec![id, x]);
                            g.mul(nn, q)
                        }
                    })
                }
            };
        }
        // The callee's companion function returned the whole gradient.
        Op::Call(_) => return Some(g.node(Op::Proj(k as u32), vec![id])),
        _ => return None,
    };
    let mut binds = [None; SLOTS];
    for (slot, &a) in node.args.iter().enumerate().take(3) {
        binds[slot] = Some(a);
    }
    binds[3] = Some(id);
    let d = g.build(template, &binds);
    if g.as_const(d) == Some(0.0) {
        None
    } else {
        Some(d)
    }
}
