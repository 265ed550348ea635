//! Second derivatives (`#[derive_grad(hessian)]`): the Hessian-vector
//! product `NAME_hvp` and the Hessian `NAME_hessian`.
//!
//! - In straight-line code, H·v is forward mode over the reverse sweep,
//!   on the function's own graph, and H's column `j` is the same with the
//!   constant unit tangent `e_j`: the constants fold, so an entry that is
//!   zero by the function's structure is the constant 0 and computes
//!   nothing (Rosenbrock's H is exactly tridiagonal).
//! - Through a loop that stays a loop, with respect to one scalar, H·v is
//!   forward mode over forward mode (no tape), and H the same with v = 1.
//! - Through a loop that stays a loop otherwise, H·v is reverse mode over
//!   forward mode, on a graph of its own: forward mode rebuilds the loop carrying
//!   tangents ([`crate::forward`]), giving `t = ∇f·v`, and one reverse
//!   sweep of `t` with respect to both the parameter and the tangent
//!   gives `∂t/∂x = H·v` and `∂t/∂v = ∇f`. For H, the function is lowered
//!   again with its loops of compile-time length unrolled
//!   ([`UNROLL_FOR_HESSIAN`]), and H is written out as in straight-line
//!   code; if a loop still stays a loop (a run-time length), H is
//!   assembled at run time from the `n` columns `H·e_j`.

use crate::emit::Grad;
use crate::graph::{Graph, Id, Op};
use crate::reverse::{self, Adjoints};

/// For `NAME_hessian`, loops of compile-time length up to this many
/// iterations are unrolled (H is written out entry by entry anyway, so the
/// code is as large as H), within the lowering's limits on graph size.
pub const UNROLL_FOR_HESSIAN: i128 = 100_000;

/// Why a Hessian through a call is refused.
pub const CALLS: &str = "second derivatives through a call to another #[derive_grad] function are not supported yet: its companion returns first derivatives only (write the callee's computation in this function)";

/// One generated function's second-order code.
pub struct SecondOrder {
    /// The graph it is emitted from: `None` for the function's own.
    pub graph: Option<Graph>,
    /// The loss.
    pub value: Id,
    /// The gradient.
    pub grad: Grad,
    /// H·v (shaped as the parameter), or H's entries row-major.
    pub out: Grad,
}

/// What `#[derive_grad(hessian)]` emits.
pub struct Hessian {
    /// The index of the tangent parameter `v` of `NAME_hvp`.
    pub tangent: usize,
    /// `NAME_hvp`.
    pub hvp: SecondOrder,
    /// `NAME_hessian` written out entry by entry; `None`: assembled at run
    /// time from the columns `H·e_j` of `NAME_hvp`'s code.
    pub dense: Option<SecondOrder>,
}

/// The differentiated parameter.
pub struct Wrt<'a> {
    /// Its index among the parameters.
    pub param: usize,
    /// The index of the tangent parameter.
    pub tangent: usize,
    /// Its flat element count.
    pub len: usize,
    /// Its shape.
    pub shape: &'a [usize],
    /// A slice or `Vec` (its length known at run time only).
    pub slice: bool,
}

/// Makes the tangent parameter `t` readable at run-time indices as
/// parameter `p` is (same shape, or same slice element).
pub fn tangent_reads_like(g: &mut Graph, p: u32, t: u32) {
    if let Some(shape) = g.array_params.get(&p).cloned() {
        g.array_params.insert(t, shape);
    }
    if let Some(inner) = g.slice_params.get(&p).cloned() {
        g.slice_params.insert(t, inner);
    }
}

/// A lowered function: graph, loss node, and the node of each flat
/// element of the differentiated parameter.
pub struct Lowered {
    /// The graph (forward computation only).
    pub graph: Graph,
    /// The loss.
    pub output: Id,
    /// The differentiated parameter's element nodes.
    pub param_nodes: Vec<Option<Id>>,
}

/// Whether the loss reaches a loop that stays a loop, or reads the
/// parameter at run-time indices.
pub fn has_loops(g: &Graph, output: Id, wrt: usize) -> bool {
    let live = crate::emit::live_nodes(g, &[output]);
    (0..live.len()).any(|i| {
        live[i]
            && match g.get(Id(i as u32)).op {
                Op::Loop(_) => true,
                Op::ArrayParam(p) => p as usize == wrt,
                _ => false,
            }
    })
}

/// The Hessian code of a function whose graph `g` (after its gradient
/// sweep, the gradient of the parameter being `grad`) has no loop that
/// stays a loop: both functions on that graph.
pub fn straight(
    g: &mut Graph,
    output: Id,
    grad: &[Id],
    wrt: &Wrt,
    dense: bool,
) -> Result<Hessian, String> {
    let zero = |g: &mut Graph, t: Option<Id>| t.unwrap_or_else(|| g.konst(0.0));
    let t = wrt.tangent as u32;
    let hv = crate::forward::tangents(g, grad, wrt.param as u32, &mut |g, index| {
        Some(g.node(Op::Param { param: t, index }, vec![]))
    })?;
    let hv = hv.into_iter().map(|x| zero(g, x)).collect();
    let rows = if dense {
        Some(rows(g, grad, wrt)?)
    } else {
        None
    };
    let code = |out| SecondOrder {
        graph: None,
        value: output,
        grad: Grad::Elements(grad.to_vec()),
        out,
    };
    Ok(Hessian {
        tangent: wrt.tangent,
        hvp: code(Grad::Elements(hv)),
        dense: rows.map(|r| code(Grad::Elements(r))),
    })
}

/// H row-major, column by column with unit tangents.
fn rows(g: &mut Graph, grad: &[Id], wrt: &Wrt) -> Result<Vec<Id>, String> {
    let n = wrt.len;
    let mut rows: Vec<Vec<Id>> = vec![Vec::with_capacity(n); n];
    for j in 0..n as u32 {
        // Column j by a unit tangent: constants fold, so entries that are
        // structurally zero become the constant 0.
        let col = crate::forward::tangents(g, grad, wrt.param as u32, &mut |g, index| {
            (index == j).then(|| g.konst(1.0))
        })?;
        for (i, x) in col.into_iter().enumerate() {
            let x = x.unwrap_or_else(|| g.konst(0.0));
            rows[i].push(x);
        }
    }
    Ok(rows.concat())
}

/// The Hessian code of a function with loops that stay loops: `NAME_hvp`
/// by reverse mode over forward mode on `pristine` (the function's graph
/// before any sweep); `NAME_hessian` on `unrolled` (the function lowered
/// again with long loops unrolled) if it has no loop left, else `None`.
pub fn looped(pristine: Lowered, unrolled: Option<Lowered>, wrt: &Wrt) -> Result<Hessian, String> {
    let Lowered {
        mut graph,
        output,
        param_nodes,
    } = pristine;
    let g = &mut graph;
    // The tangent reads a call's gradient (its companion's first
    // derivatives), which the reverse sweep cannot differentiate again.
    let live = crate::emit::live_nodes(g, &[output]);
    if (0..live.len()).any(|i| live[i] && matches!(g.get(Id(i as u32)).op, Op::Call(_))) {
        return Err(CALLS.into());
    }
    let (p, t) = (wrt.param as u32, wrt.tangent as u32);
    tangent_reads_like(g, p, t);
    if wrt.len == 1 && wrt.shape.is_empty() && !wrt.slice {
        // One scalar: forward mode twice, no tape. The first pass carries
        // f' beside each value; the second, seeded with v, carries the
        // derivatives of both: f'' · v. H (1×1) is then that with v = 1.
        let first = crate::forward::forward(g, &[output], p, &mut |g, _| Some(g.konst(1.0)), None)?;
        let d1 = first.tangent[0].unwrap_or_else(|| g.konst(0.0));
        let second = crate::forward::forward(
            g,
            &[first.primal[0], d1],
            p,
            &mut |g, index| Some(g.node(Op::Param { param: t, index }, vec![])),
            None,
        )?;
        let hv = second.tangent[1].unwrap_or_else(|| g.konst(0.0));
        return Ok(Hessian {
            tangent: wrt.tangent,
            hvp: SecondOrder {
                graph: Some(graph),
                value: second.primal[0],
                grad: Grad::Elements(vec![second.primal[1]]),
                out: Grad::Elements(vec![hv]),
            },
            dense: None,
        });
    }
    let mut seeds: Vec<Option<Id>> = vec![None; wrt.len];
    let fw = crate::forward::forward(
        g,
        &[output],
        p,
        &mut |g, index| {
            let id = g.node(Op::Param { param: t, index }, vec![]);
            seeds[index as usize] = Some(id);
            Some(id)
        },
        Some(t),
    )?;
    let (grad, hv) = match fw.tangent[0] {
        Some(d) => {
            let adj = reverse::sweep(g, d, &|q| q == p || q == t);
            (
                assemble(g, &adj, t, &seeds, wrt),
                assemble(g, &adj, p, &param_nodes, wrt),
            )
        }
        // Constant in the parameter: both are zero.
        None => {
            let empty = Adjoints {
                adjoint: Vec::new(),
                forward_len: 0,
                buffers: Default::default(),
            };
            (
                assemble(g, &empty, t, &[], wrt),
                assemble(g, &empty, p, &[], wrt),
            )
        }
    };
    let hvp = SecondOrder {
        graph: None,
        value: fw.primal[0],
        grad,
        out: hv,
    };
    let hvp = SecondOrder {
        graph: Some(graph),
        ..hvp
    };
    let dense = match unrolled {
        Some(u) if !has_loops(&u.graph, u.output, wrt.param) => {
            let Lowered {
                mut graph,
                output,
                param_nodes,
            } = u;
            let g = &mut graph;
            let adj = reverse::sweep(g, output, &|q| q == p);
            let grad: Vec<Id> = param_nodes
                .iter()
                .map(|n| {
                    n.and_then(|n| adj.adjoint.get(n.index()).copied().flatten())
                        .unwrap_or_else(|| g.konst(0.0))
                })
                .collect();
            let h = rows(g, &grad, wrt)?;
            Some(SecondOrder {
                graph: Some(graph),
                value: output,
                grad: Grad::Elements(grad),
                out: Grad::Elements(h),
            })
        }
        _ => None,
    };
    Ok(Hessian {
        tangent: wrt.tangent,
        hvp,
        dense,
    })
}

/// Parameter `p`'s gradient from a sweep: its elements' adjoints, added
/// into its gradient buffer if it was read at run-time indices.
///
/// A slice's gradient is a buffer as long as the differentiated slice
/// (zero where nothing flowed back).
fn assemble(g: &mut Graph, adj: &Adjoints, p: u32, nodes: &[Option<Id>], wrt: &Wrt) -> Grad {
    let shape = wrt.shape;
    let elems: Vec<Id> = (0..wrt.len)
        .map(|j| {
            nodes
                .get(j)
                .copied()
                .flatten()
                .and_then(|n| adj.adjoint.get(n.index()).copied().flatten())
                .unwrap_or_else(|| g.konst(0.0))
        })
        .collect();
    let Some(&buffer) = adj.buffers.get(&p) else {
        if wrt.slice {
            return Grad::Buffer(g.node(Op::ZerosLike(wrt.param as u32), vec![]));
        }
        return Grad::Elements(elems);
    };
    let mut b = buffer;
    for (j, &e) in elems.iter().enumerate() {
        if g.as_const(e) == Some(0.0) {
            continue;
        }
        let mut args = vec![b];
        args.extend(g.index_consts(j, shape));
        args.push(e);
        b = g.node(Op::ScatterAdd, args);
    }
    Grad::Buffer(b)
}
