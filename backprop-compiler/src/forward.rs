//! Forward mode (`#[derive_grad(jvp)]`): the directional derivative of the
//! loss along a tangent of the differentiated parameter, in the same pass
//! as the value.
//!
//! Walking the arena forwards visits every node after its arguments, so
//! each node's tangent is `Σ_k ∂node/∂arg_k · tangent(arg_k)`, with the
//! local derivatives of the same table the reverse sweep uses
//! ([`crate::reverse::local_derivative`]). The tangent of the parameter's
//! element `j` is element `j` of the `tangent` argument, a parameter of
//! its own ([`add_tangent_param`]).
//!
//! Loops that stay loops are not differentiated in forward mode yet: a
//! function whose differentiated values pass through one gets an error.

use crate::graph::{Graph, Id, Mode, Op};
use crate::signature::{ParamInfo, ParamKind, SigInfo};

/// Adds the tangent of the differentiated parameter as a parameter of its
/// own (same type, a hygienic name) and returns its index, or an error if
/// the function is not one forward mode supports yet.
pub fn add_tangent_param(sig: &mut SigInfo) -> Result<usize, String> {
    if sig.outputs != 1 {
        return Err(
            "`jvp` and `hessian` differentiate a loss, a function returning one float".into(),
        );
    }
    let [input] = sig.wrt_inputs[..] else {
        return Err(
            "`jvp` takes a tangent of one differentiated parameter: name one in `wrt(…)`".into(),
        );
    };
    let crate::signature::InputTree::Leaf(p) = sig.inputs[input].tree else {
        return Err("`jvp` and `hessian` of a struct parameter are not supported yet: differentiate a float or an array of floats".into());
    };
    let wrt = &sig.params[p];
    if !matches!(wrt.kind, ParamKind::Float { .. }) {
        return Err(format!(
            "forward mode (`jvp`, `hessian`) needs the differentiated parameter `{}` to be a float or an array of literal length (not a slice or `Vec`, or an array whose length is a named constant) for now",
            wrt.display
        ));
    }
    let tangent = ParamInfo {
        name: crate::emit::local("tangent"),
        kind: wrt.kind.clone(),
        by_ref: wrt.by_ref,
        ty: wrt.ty.clone(),
        display: "tangent".into(),
        access: None,
    };
    sig.params.push(tangent);
    Ok(sig.params.len() - 1)
}

/// The tangent of `output` when the elements of parameter `wrt` move
/// along those of parameter `tangent` (`None`: zero).
///
/// # Errors
///
/// A message if a differentiated value passes through a loop that stays a
/// loop (or an array read at run-time indices).
pub fn tangent_of(g: &mut Graph, output: Id, wrt: u32, tangent: u32) -> Result<Option<Id>, String> {
    let t = tangents(g, &[output], wrt, &mut |g, index| {
        Some(g.node(
            Op::Param {
                param: tangent,
                index,
            },
            vec![],
        ))
    })?;
    Ok(t[0])
}

/// The tangents of `roots` when element `index` of parameter `wrt` moves
/// by `seed(index)` (`None`: not at all). The roots may be gradient nodes
/// of the reverse sweep: their tangents are Hessian-vector products.
///
/// # Errors
///
/// As [`tangent_of`].
pub fn tangents(
    g: &mut Graph,
    roots: &[Id],
    wrt: u32,
    seed: &mut dyn FnMut(&mut Graph, u32) -> Option<Id>,
) -> Result<Vec<Option<Id>>, String> {
    let saved = g.mode;
    g.mode = Mode::Gradient;
    let result = sweep(g, roots, wrt, seed);
    g.mode = saved;
    result
}

const LOOPS: &str = "forward mode (`jvp`, `hessian`) does not yet differentiate through a loop that stays a loop (more than 16 iterations, or a run-time length) or an array read at run-time indices: write the loop with fewer iterations, or use `NAME_grad`";

fn sweep(
    g: &mut Graph,
    roots: &[Id],
    wrt: u32,
    seed: &mut dyn FnMut(&mut Graph, u32) -> Option<Id>,
) -> Result<Vec<Option<Id>>, String> {
    let n = roots.iter().map(|r| r.index() + 1).max().unwrap_or(0);
    // The parameter read whole (at run-time indices, or by a loop that
    // stays a loop) has no element nodes to seed: refuse rather than
    // return a derivative that misses those reads.
    let live = crate::emit::live_nodes(g, roots);
    let whole = |op: &Op| matches!(op, Op::Loop(_)) || matches!(op, Op::ArrayParam(p) if *p == wrt);
    if (0..n).any(|i| live[i] && whole(&g.get(Id(i as u32)).op)) {
        return Err(LOOPS.into());
    }
    let mut tangents: Vec<Option<Id>> = vec![None; n];
    for i in 0..n {
        if !live[i] {
            continue;
        }
        let id = Id(i as u32);
        let node = g.get(id).clone();
        if let Op::Param { param, index } = node.op {
            if param == wrt {
                tangents[i] = seed(g, index);
            }
            continue;
        }
        let active: Vec<(usize, Id)> = node
            .args
            .iter()
            .enumerate()
            .filter_map(|(k, a)| tangents.get(a.index()).copied().flatten().map(|t| (k, t)))
            .collect();
        if active.is_empty() {
            continue;
        }
        if g.region_of[i] != 0
            || matches!(
                node.op,
                Op::Load | Op::Store | Op::NewArray(_) | Op::ScatterAdd
            )
        {
            return Err(LOOPS.into());
        }
        if matches!(node.op, Op::Proj(_)) {
            return Err("second derivatives through a call to another #[derive_grad] function are not supported yet: its companion returns first derivatives only".into());
        }
        let mut sum: Option<Id> = None;
        for (k, t) in active {
            // Integer and bool arguments have no tangent: only float ones
            // got one above.
            let Some(d) = crate::reverse::local_derivative(g, id, k) else {
                continue;
            };
            let term = g.mul(d, t);
            sum = Some(match sum {
                Some(s) => g.add(s, term),
                None => term,
            });
        }
        tangents[i] = sum;
    }
    Ok(roots.iter().map(|r| tangents[r.index()]).collect())
}
