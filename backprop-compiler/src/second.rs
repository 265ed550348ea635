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

/// The most operations `NAME_hessian` may have when H is written out from
/// the unrolled function (value, gradient and every entry of H); past it,
/// H is assembled from the columns H·eⱼ at run time instead, with code the
/// size of the loops rather than of their trip counts. (A difftest fixture
/// with a triangular 35-step double loop wrote out 165,000 lines, and
/// rustc ran out of 24 GB compiling them.)
pub const MAX_WRITTEN_OUT_HESSIAN: usize = 20_000;

/// One generated function's second-order code.
pub struct SecondOrder {
    /// The graph it is emitted from: `None` for the function's own.
    pub graph: Option<Graph>,
    /// The loss.
    pub value: Id,
    /// The gradient, per differentiated parameter.
    pub grad: Vec<Grad>,
    /// H·v (per parameter, shaped as it), or H's entries row-major (one).
    pub out: Vec<Grad>,
    /// `NAME_hvp`'s directional derivative `∇f·v` (what the second-order
    /// companion `NAME_hvp_all` returns too); `None` for `NAME_hessian`.
    pub direction: Option<Id>,
}

/// What `#[derive_grad(hessian)]` emits.
pub struct Hessian {
    /// The index of the tangent parameter of each differentiated one (the
    /// `v` of `NAME_hvp`).
    pub tangents: Vec<usize>,
    /// `NAME_hvp`.
    pub hvp: SecondOrder,
    /// `NAME_hessian` written out entry by entry; `None`: assembled at run
    /// time from the columns `H·e_j` of `NAME_hvp`'s code.
    pub dense: Option<SecondOrder>,
}

/// A differentiated parameter.
pub struct WrtParam<'a> {
    /// Its index among the parameters.
    pub param: usize,
    /// The index of its tangent parameter.
    pub tangent: usize,
    /// Its flat element count.
    pub len: usize,
    /// Its shape.
    pub shape: &'a [usize],
    /// A slice or `Vec` (its length known at run time only).
    pub slice: bool,
}

/// The differentiated parameters, in `wrt` order; H is over their flat
/// elements in that order.
pub struct Wrt<'a> {
    /// Each one.
    pub params: Vec<WrtParam<'a>>,
}

impl Wrt<'_> {
    fn ids(&self) -> Vec<u32> {
        self.params.iter().map(|w| w.param as u32).collect()
    }
    fn tangent_of(&self, p: u32) -> Option<u32> {
        self.params
            .iter()
            .find(|w| w.param as u32 == p)
            .map(|w| w.tangent as u32)
    }
    /// The total flat element count (H is that square).
    pub fn len(&self) -> usize {
        self.params.iter().map(|w| w.len).sum()
    }
    /// Whether there is no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
/// element of each differentiated parameter.
pub struct Lowered {
    /// The graph (forward computation only).
    pub graph: Graph,
    /// The loss.
    pub output: Id,
    /// Each differentiated parameter's element nodes, in `wrt` order.
    pub param_nodes: Vec<Vec<Option<Id>>>,
}

/// Whether the loss reaches a loop that stays a loop, or reads a
/// differentiated parameter at run-time indices.
pub fn has_loops(g: &Graph, output: Id, wrt: &[usize]) -> bool {
    let live = crate::emit::live_nodes(g, &[output]);
    (0..live.len()).any(|i| {
        live[i]
            && match g.get(Id(i as u32)).op {
                Op::Loop(_) => true,
                Op::ArrayParam(p) => wrt.contains(&(p as usize)),
                _ => false,
            }
    })
}

/// The Hessian code of a function whose graph `g` (after its gradient
/// sweep, the gradients of the parameters being `grads`) has no loop that
/// stays a loop: both functions on that graph.
pub fn straight(
    g: &mut Graph,
    output: Id,
    grads: &[Vec<Id>],
    wrt: &Wrt,
    dense: bool,
) -> Result<Hessian, String> {
    let roots: Vec<Id> = grads.concat();
    // The gradient's tangents, then the loss's (`∇f·v`).
    let mut with_loss = roots.clone();
    with_loss.push(output);
    let mut hv = crate::forward::tangents(g, &with_loss, &wrt.ids(), &mut |g, param, index| {
        let t = wrt.tangent_of(param)?;
        Some(g.node(Op::Param { param: t, index }, vec![]))
    })?;
    let direction = hv.pop().flatten().unwrap_or_else(|| g.konst(0.0));
    let mut hv = hv.into_iter();
    let hv: Vec<Grad> = grads
        .iter()
        .map(|gr| {
            Grad::Elements(
                (0..gr.len())
                    .map(|_| hv.next().flatten().unwrap_or_else(|| g.konst(0.0)))
                    .collect(),
            )
        })
        .collect();
    let grad: Vec<Grad> = grads.iter().map(|gr| Grad::Elements(gr.clone())).collect();
    let dense = match dense {
        true => Some(SecondOrder {
            graph: None,
            value: output,
            grad: grad.clone(),
            out: vec![Grad::Elements(rows(g, &roots, wrt)?)],
            direction: None,
        }),
        false => None,
    };
    Ok(Hessian {
        tangents: wrt.params.iter().map(|w| w.tangent).collect(),
        hvp: SecondOrder {
            graph: None,
            value: output,
            grad,
            out: hv,
            direction: Some(direction),
        },
        dense,
    })
}

/// H row-major over the flat elements of the parameters, column by column
/// with unit tangents (`grad`: the gradient's elements in that order).
fn rows(g: &mut Graph, grad: &[Id], wrt: &Wrt) -> Result<Vec<Id>, String> {
    let n = wrt.len();
    // The flat position of each parameter's first element.
    let mut offsets = Vec::new();
    let mut at = 0;
    for w in &wrt.params {
        offsets.push((w.param as u32, at));
        at += w.len;
    }
    let position = |param: u32, index: u32| {
        offsets
            .iter()
            .find(|o| o.0 == param)
            .map(|o| o.1 + index as usize)
    };
    let mut rows: Vec<Vec<Id>> = vec![Vec::with_capacity(n); n];
    for j in 0..n {
        // Column j by a unit tangent: constants fold, so entries that are
        // structurally zero become the constant 0.
        let col = crate::forward::tangents(g, grad, &wrt.ids(), &mut |g, param, index| {
            (position(param, index) == Some(j)).then(|| g.konst(1.0))
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
    for w in &wrt.params {
        tangent_reads_like(g, w.param as u32, w.tangent as u32);
    }
    let tangents: Vec<usize> = wrt.params.iter().map(|w| w.tangent).collect();
    // (Not through a call passing a slice: forward mode over forward
    // mode would differentiate the call's tangent, a pullback.)
    let slice_calls = g.calls.iter().any(|c| c.passes_slices());
    if let [w] = &wrt.params[..] {
        if w.len == 1 && w.shape.is_empty() && !w.slice && !slice_calls {
            // One scalar: forward mode twice, no tape. The first pass
            // carries f' beside each value; the second, seeded with v,
            // carries the derivatives of both: f'' · v. H (1×1) is then
            // that with v = 1.
            let (p, t) = (w.param as u32, w.tangent as u32);
            let first = crate::forward::forward(
                g,
                &[output],
                &[p],
                &mut |g, _, _| Some(g.konst(1.0)),
                &|_| None,
            )?;
            let d1 = first.tangent[0].unwrap_or_else(|| g.konst(0.0));
            let second = crate::forward::forward(
                g,
                &[first.primal[0], d1],
                &[p],
                &mut |g, _, index| Some(g.node(Op::Param { param: t, index }, vec![])),
                &|_| None,
            )?;
            let rebuilt = crate::forward::rebuilt_effects(g, &[&first, &second]);
            g.read_effects_from(&rebuilt);
            let hv = second.tangent[1].unwrap_or_else(|| g.konst(0.0));
            let v = g.node(Op::Param { param: t, index: 0 }, vec![]);
            let direction = g.mul(second.primal[1], v);
            return Ok(Hessian {
                tangents,
                hvp: SecondOrder {
                    graph: Some(graph),
                    value: second.primal[0],
                    grad: vec![Grad::Elements(vec![second.primal[1]])],
                    out: vec![Grad::Elements(vec![hv])],
                    direction: Some(direction),
                },
                dense: None,
            });
        }
    }
    let mut seeds: Vec<Vec<Option<Id>>> = wrt.params.iter().map(|w| vec![None; w.len]).collect();
    let fw = crate::forward::forward_to_differentiate(
        g,
        &[output],
        &wrt.ids(),
        &mut |g, param, index| {
            let k = wrt.params.iter().position(|w| w.param as u32 == param)?;
            let t = wrt.params[k].tangent as u32;
            let id = g.node(Op::Param { param: t, index }, vec![]);
            if let Some(slot) = seeds[k].get_mut(index as usize) {
                *slot = Some(id);
            }
            Some(id)
        },
        &|p| wrt.tangent_of(p),
    )?;
    // Every function generated from this graph returns the values the
    // rebuilt loops compute: the user's checks read those too.
    let rebuilt = crate::forward::rebuilt_effects(g, &[&fw]);
    g.read_effects_from(&rebuilt);
    let adj = match fw.tangent[0] {
        Some(d) => {
            let targets: Vec<u32> = wrt
                .params
                .iter()
                .flat_map(|w| [w.param as u32, w.tangent as u32])
                .collect();
            reverse::sweep(g, d, &|q| targets.contains(&q))
        }
        // Constant in the parameters: both are zero.
        None => Adjoints {
            adjoint: Vec::new(),
            forward_len: 0,
            buffers: Default::default(),
        },
    };
    let mut grad = Vec::new();
    let mut hv = Vec::new();
    for (k, w) in wrt.params.iter().enumerate() {
        grad.push(assemble(g, &adj, w.tangent as u32, &seeds[k], w));
        hv.push(assemble(g, &adj, w.param as u32, &param_nodes[k], w));
    }
    let direction = fw.tangent[0].unwrap_or_else(|| g.konst(0.0));
    let hvp = SecondOrder {
        graph: Some(graph),
        value: fw.primal[0],
        grad,
        out: hv,
        direction: Some(direction),
    };
    // H written out needs fixed sizes: a slice's is assembled at run time.
    let dense = match unrolled {
        Some(u)
            if !wrt.params.iter().any(|w| w.slice)
                && !has_loops(
                    &u.graph,
                    u.output,
                    &wrt.params.iter().map(|w| w.param).collect::<Vec<_>>(),
                ) =>
        {
            let Lowered {
                mut graph,
                output,
                param_nodes,
            } = u;
            let g = &mut graph;
            let ids = wrt.ids();
            let adj = reverse::sweep(g, output, &|q| ids.contains(&q));
            let grads: Vec<Vec<Id>> = param_nodes
                .iter()
                .map(|nodes| elements(g, &adj, nodes, nodes.len()))
                .collect();
            let h = rows(g, &grads.concat(), wrt)?;
            let mut roots = vec![output];
            roots.extend(grads.iter().flatten());
            roots.extend(&h);
            let size = crate::emit::live_nodes(g, &roots)
                .iter()
                .filter(|&&l| l)
                .count();
            (size <= MAX_WRITTEN_OUT_HESSIAN).then(|| SecondOrder {
                graph: Some(graph),
                value: output,
                grad: grads.into_iter().map(Grad::Elements).collect(),
                out: vec![Grad::Elements(h)],
                direction: None,
            })
        }
        _ => None,
    };
    Ok(Hessian {
        tangents,
        hvp,
        dense,
    })
}

/// Parameter `p`'s gradient from a sweep: its elements' adjoints, added
/// into its gradient buffer if it was read at run-time indices.
///
/// A slice's gradient is a buffer as long as the differentiated slice
/// (zero where nothing flowed back).
fn assemble(g: &mut Graph, adj: &Adjoints, p: u32, nodes: &[Option<Id>], wrt: &WrtParam) -> Grad {
    let shape = wrt.shape;
    let elems = elements(g, adj, nodes, wrt.len);
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

/// The adjoints of the first `len` element nodes (an element not read, or
/// nothing flowed back to: the constant 0).
fn elements(g: &mut Graph, adj: &Adjoints, nodes: &[Option<Id>], len: usize) -> Vec<Id> {
    let zero = g.konst(0.0);
    (0..len)
        .map(|j| {
            nodes
                .get(j)
                .copied()
                .flatten()
                .and_then(|n| adj.adjoint.get(n.index()).copied().flatten())
                .unwrap_or(zero)
        })
        .collect()
}
