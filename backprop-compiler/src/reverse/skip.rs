//! Reverse loops that add nothing unless a condition holds run only then.
//!
//! The adjoint of a selection `if c { a } else { b }` reaches `a` only
//! when `c` holds: the reverse sweep sends `a` the adjoint `select(c, ā,
//! 0)`, and the simplifier moves the `select` outwards, so an inner loop
//! that backpropagates into `a` ends up adding `select(c, x, 0)` into
//! gradient buffers and adjoint sums. When `c` does not hold, such a loop
//! adds zeros: it is work without effect, and for a minimum over a loop
//! (k-means' nearest centroid, a max-pool) it is nearly all the reverse
//! sweep's work, since only one candidate wins. Such a loop gets `c` as
//! its guard ([`LoopInfo::guard`]), as if the user had written the `if`
//! around it, which is what Tapenade's and a hand-written adjoint do.
//!
//! Exact up to the sign of a zero (adding `+0` to a `−0` gives `+0`), the
//! latitude every derivative rule of the simplifier has
//! ([`crate::rules::Exactness::GradientOnly`]); `select` already discards
//! what the branch not taken computes, so no NaN or infinity is lost.

use crate::graph::region::LoopInfo;
use crate::graph::{Graph, Id, Kind, Op};

/// A condition and whether the loop's effects vanish when it is false
/// (`true`) or when it is true (`false`).
type Cond = (Id, bool);

/// The guard for reverse loop `rev`, whose body is built and which will
/// start from `inits` and yield `yields`, when every value it carries out
/// is its initial value plus terms that are zero unless one condition
/// from outside its body holds (and it is nested in another loop's
/// reverse). Called before the loop node is built, so that a negated
/// condition comes before it.
pub(super) fn neutral_guard(g: &mut Graph, rev: u32, inits: &[Id], yields: &[Id]) -> Option<Id> {
    let info = &g.loops[rev as usize];
    let region = g.regions[info.body as usize].parent;
    if region == 0 || info.guard.is_some() || info.counted() || !info.restores.is_empty() {
        return None;
    }
    if nested_loops_pop(g, info) {
        return None;
    }
    let mut cond: Option<Cond> = None;
    for k in 0..info.kinds.len() {
        if !neutral_yield(g, info, k, inits[k], yields[k], &mut cond) {
            return None;
        }
    }
    let (c, when_true) = cond?;
    Some(if when_true {
        c
    } else {
        g.node_in(region, Op::Not, vec![c])
    })
}

/// Whether a loop nested in `info`'s body restores values from the tape
/// (skipping it would leave them for the wrong reader) or may stop early.
fn nested_loops_pop(g: &Graph, info: &LoopInfo) -> bool {
    g.loops.iter().any(|inner| {
        inner
            .node
            .is_some_and(|n| g.encloses(info.body, g.region_of[n.index()]))
            && (!inner.restores.is_empty() || inner.counted())
    })
}

/// Whether carried value `k` of `info`, initially `init` and yielding
/// `end`, comes out as it went in unless the shared condition `cond` (set
/// by the first term met) holds.
fn neutral_yield(
    g: &Graph,
    info: &LoopInfo,
    k: usize,
    init: Id,
    end: Id,
    cond: &mut Option<Cond>,
) -> bool {
    let start = info.carried[k];
    // Unchanged, or set to its initial value (the adjoint of a sum, which
    // every iteration passes through).
    if start == end || end == init {
        return true;
    }
    match info.kinds[k] {
        Kind::Float => {
            let node = g.get(end);
            match node.op {
                Op::Add if node.args[0] == start => vanishes(g, info, node.args[1], cond),
                Op::Add if node.args[1] == start => vanishes(g, info, node.args[0], cond),
                Op::Sub if node.args[0] == start => vanishes(g, info, node.args[1], cond),
                _ => false,
            }
        }
        Kind::Buffer => {
            // A chain of scatter-adds from the carried buffer, or the
            // buffer an inner loop guarded by the same condition yields.
            let mut b = end;
            loop {
                if b == start {
                    return true;
                }
                let node = g.get(b);
                match node.op {
                    Op::ScatterAdd => {
                        let value = *node.args.last().expect("a scatter-add adds a value");
                        if !vanishes(g, info, value, cond) {
                            return false;
                        }
                        b = node.args[0];
                    }
                    Op::LoopOut(j) => {
                        let inner_node = node.args[0];
                        let Op::Loop(inner) = g.get(inner_node).op else {
                            return false;
                        };
                        let Some(guard) = g.loops[inner as usize].guard else {
                            return false;
                        };
                        if !agrees(g, info, (guard, true), cond) {
                            return false;
                        }
                        b = g.get(inner_node).args[2 + j as usize];
                    }
                    _ => return false,
                }
            }
        }
        Kind::Int | Kind::Bool | Kind::Loop => false,
    }
}

/// Whether `x` is `select(c, v, 0)` or `select(c, 0, v)` for a condition
/// `c` computed outside `info`'s body, the same for every term.
fn vanishes(g: &Graph, info: &LoopInfo, x: Id, cond: &mut Option<Cond>) -> bool {
    let node = g.get(x);
    if node.op != Op::Select {
        return false;
    }
    let (c, a, b) = (node.args[0], node.args[1], node.args[2]);
    let zero = |v: Id| g.as_const(v) == Some(0.0);
    if zero(b) {
        agrees(g, info, (c, true), cond)
    } else if zero(a) {
        agrees(g, info, (c, false), cond)
    } else {
        false
    }
}

/// Whether condition `found` is computed outside `info`'s body and is the
/// one met before (recording it if it is the first).
fn agrees(g: &Graph, info: &LoopInfo, found: Cond, cond: &mut Option<Cond>) -> bool {
    if g.encloses(info.body, g.region_of[found.0.index()]) {
        return false;
    }
    match cond {
        Some(c) => *c == found,
        None => {
            *cond = Some(found);
            true
        }
    }
}
