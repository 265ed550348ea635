//! One call of a helper where second derivatives would make two.
//!
//! `NAME_hvp` and `NAME_hessian` of a function calling another
//! `#[derive_grad]` function read the callee's value and gradient from
//! `NAME_vjp` ([`Op::Call`]) and H·t from `NAME_hvp_all` ([`Op::CallDir`]),
//! which computes the value and the gradient again. The direction call is
//! built after everything that reads the first call's results, so in
//! arena order it comes too late to serve them. Where its tangents can be
//! computed at the first call (arithmetic on values already there), the
//! emitter computes them there, calls `NAME_hvp_all` once, and reads the
//! value and gradient from its result: the callee runs once instead of
//! twice. (The value is the callee's own either way; the gradient is the
//! same derivative, rounded as the callee's second-order code rounds it.)

use std::collections::HashSet;

use super::{Emitter, Stmt};
use crate::graph::{Id, Op};
use crate::signature::ElemTy;

impl Emitter<'_> {
    /// For call node `call` (call `k`): a direction call of the same call
    /// (same arguments, region and guard) whose result can serve it. One
    /// emitted before it in this block is reused; else one built after it
    /// is emitted here, with the tangents it reads, if they can be
    /// computed here. `None`: there is none (nothing emitted).
    pub(super) fn merged_call_dir(
        &mut self,
        call: Id,
        k: u32,
        stmts: &mut Vec<Stmt>,
    ) -> Option<Id> {
        let g = self.g;
        let args = &g.get(call).args;
        let region = g.region_of[call.index()];
        let guard = g.guards.get(&call).copied();
        let same = |d: usize| {
            g.region_of[d] == region
                && g.guards.get(&Id(d as u32)).copied() == guard
                && g.get(Id(d as u32)).args.get(..args.len()) == Some(&args[..])
        };
        // The live direction calls of call `k`, in arena order. A region's
        // nodes are emitted in arena order: one before the call is emitted
        // in this block already.
        let dirs = self.dir_calls.get(&k)?;
        if let Some(&d) = dirs.iter().find(|&&d| d < call.index() && same(d)) {
            return Some(Id(d as u32));
        }
        let dir = Id(*dirs.iter().find(|&&d| d > call.index() && same(d))? as u32);
        let order = self.computable_here(&g.get(dir).args[args.len()..], call)?;
        for n in order {
            self.node(n, stmts);
            if g.region_of[n] == region {
                self.emitted_ahead.insert(n);
            }
        }
        self.node(dir.index(), stmts);
        self.emitted_ahead.insert(dir.index());
        Some(dir)
    }

    /// The nodes `roots` need that are not emitted yet at `call`'s place,
    /// in an order that emits every argument first, if all of them can be
    /// emitted there ahead of their own place: arithmetic of the call's
    /// region (no load, call, loop or anything that can panic), and leaves
    /// written inline wherever they are (parameters, constants). `None`
    /// if one cannot.
    ///
    /// In the call's region, the nodes before it are emitted (a loop body
    /// emitted twice, see `rows`, emits them again before the call) and
    /// those after it are not, whatever an earlier copy left in `expr`.
    /// Elsewhere, a node with an expression is one emitted before.
    fn computable_here(&self, roots: &[Id], call: Id) -> Option<Vec<usize>> {
        let g = self.g;
        let region = g.region_of[call.index()];
        let generic = matches!(self.elem, ElemTy::Generic(_));
        let emitted = |i: usize| match g.region_of[i] == region {
            true => i < call.index(),
            false => self.expr[i].is_some(),
        };
        let mut order = Vec::new();
        let mut seen: HashSet<usize> = HashSet::new();
        // Depth-first, iteratively (a tangent may hang on a long chain):
        // (node, whether its arguments were pushed already).
        let mut stack: Vec<(Id, bool)> = roots.iter().rev().map(|&r| (r, false)).collect();
        while let Some((id, expanded)) = stack.pop() {
            let i = id.index();
            if expanded {
                order.push(i);
                continue;
            }
            if emitted(i) || !seen.insert(i) {
                continue;
            }
            let op = g.get(id).op;
            // Leaves emitted as an expression, no statement: anywhere.
            let inline_leaf = match op {
                Op::Const(_) => !generic,
                Op::Param { .. }
                | Op::IntConst(_)
                | Op::BoolConst(_)
                | Op::BoolParam(_)
                | Op::Extern(_)
                | Op::RtInt(_)
                // A slice parameter (a tangent passed to a call): its name.
                | Op::ArrayParam(_) => true,
                _ => false,
            };
            let here = op.is_pure_arithmetic() && g.region_of[i] == region;
            if !self.live[i] || !(inline_leaf || here) {
                return None;
            }
            stack.push((id, true));
            let node = g.get(id);
            for &a in node.args.iter().chain(g.guards.get(&id)).rev() {
                stack.push((a, false));
            }
        }
        Some(order)
    }
}
