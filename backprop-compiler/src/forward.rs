//! Forward mode (`#[derive_grad(jvp)]`): the directional derivative of the
//! loss along a tangent of the differentiated parameter, in the same pass
//! as the value.
//!
//! Walking the arena forwards visits every node after its arguments, so
//! each node's tangent is `Σ_k ∂node/∂arg_k · tangent(arg_k)`, with the
//! local derivatives of the same table the reverse sweep uses
//! ([`crate::reverse::local_derivative`]). The tangent of the parameter's
//! element `j` is element `j` of the `tangent` argument, a parameter of
//! its own ([`add_tangent_params`]).
//!
//! A loop that stays a loop is rebuilt: the new loop carries, beside each
//! value the old one carried, its tangent, and its body computes the old
//! body's values and their tangents, so forward mode stores nothing per
//! iteration. An array written in the loop gets an array of tangents
//! beside it, and the parameter read at run-time indices is read with its
//! tangent at the same indices.

use std::collections::{HashMap, HashSet};

use crate::graph::{Graph, Id, Kind, Mode, Op};
use crate::signature::{ParamInfo, ParamKind, SigInfo};

/// Adds the tangent of each differentiated parameter as a parameter of
/// its own (same type, a hygienic name: `tangent`, or `tangent_0`,
/// `tangent_1`, … for several differentiated inputs) and returns their
/// indices, in `wrt` order, or an error if the function is not one
/// forward mode supports yet. A struct's tangent is a struct of the same
/// type (in [`SigInfo::tangent_inputs`]), whose fields become tangent
/// parameters bound from it ([`SigInfo::tangent_fields`]).
pub fn add_tangent_params(sig: &mut SigInfo) -> Result<Vec<usize>, String> {
    add_tangent_params_of(sig, false)
}

/// [`add_tangent_params`]; `element`: differentiating one element of a
/// function returning a tuple (its second-order companion).
pub fn add_tangent_params_of(sig: &mut SigInfo, element: bool) -> Result<Vec<usize>, String> {
    use crate::signature::InputTree;
    if sig.outputs != 1 && !element {
        return Err(
            "`jvp` and `hessian` differentiate a loss, a function returning one float".into(),
        );
    }
    let several = sig.wrt_inputs.len() > 1;
    // A slice beside other differentiated parameters has no documented
    // layout of H for the user's functions; the second-order companion
    // (`element`) returns H·t per argument, which needs none.
    let slice_ok = !several || element;
    let mut tangent_of: Vec<(usize, usize)> = Vec::new();
    for (k, &input) in sig.wrt_inputs.clone().iter().enumerate() {
        let tname = crate::emit::local(&if several {
            format!("tangent_{k}")
        } else {
            "tangent".to_string()
        });
        match sig.inputs[input].tree.clone() {
            InputTree::Leaf(p) => {
                let param = &sig.params[p];
                if !has_tangent(&param.kind, slice_ok) {
                    return Err(format!(
                        "forward mode (`jvp`, `hessian`) needs the differentiated parameter `{}` to be a float, an array of literal length, a struct of those, or (alone in `wrt`) a slice or `Vec` of either (not an array whose length is a named constant) for now",
                        param.display
                    ));
                }
                let tangent = ParamInfo {
                    name: tname.clone(),
                    kind: param.kind.clone(),
                    by_ref: param.by_ref,
                    ty: param.ty.clone(),
                    display: tname.to_string(),
                    access: None,
                };
                sig.tangent_inputs.push((tname, param.ty.clone()));
                sig.params.push(tangent);
                tangent_of.push((p, sig.params.len() - 1));
            }
            InputTree::Struct { .. } => {
                // The struct's own type (`&Mlp`, `Self` for a receiver).
                let ty: syn::Type = match &sig.inputs[input].arg {
                    syn::FnArg::Typed(pt) => (*pt.ty).clone(),
                    syn::FnArg::Receiver(r) if r.reference.is_some() => syn::parse_quote!(&Self),
                    syn::FnArg::Receiver(_) => syn::parse_quote!(Self),
                };
                sig.tangent_inputs.push((tname.clone(), ty));
                let mut leaves = Vec::new();
                struct_leaves(&sig.inputs[input].tree, quote::quote!(), &mut leaves);
                for (path, p) in leaves {
                    let param = &sig.params[p];
                    if !has_tangent(&param.kind, true) {
                        return Err(format!(
                            "forward mode (`jvp`, `hessian`) of a struct needs its fields to be floats, arrays of literal length or `Vec`s of those; `{}` is not, for now",
                            param.display
                        ));
                    }
                    let j = tangent_of.len();
                    let tangent = ParamInfo {
                        name: crate::emit::local(&format!("{tname}__{j}")),
                        kind: param.kind.clone(),
                        by_ref: true,
                        ty: param.ty.clone(),
                        display: format!("{tname}{}", path.to_string().replace(' ', "")),
                        access: Some(quote::quote!(#tname #path)),
                    };
                    sig.params.push(tangent);
                    sig.tangent_fields.push(sig.params.len() - 1);
                    tangent_of.push((p, sig.params.len() - 1));
                }
            }
        }
    }
    // In `wrt` order.
    Ok(sig
        .wrt
        .iter()
        .map(|&p| {
            tangent_of
                .iter()
                .find(|pt| pt.0 == p)
                .expect("every differentiated parameter has a tangent")
                .1
        })
        .collect())
}

/// Whether forward mode gives a parameter of this kind a tangent: floats
/// and arrays of literal length, and (`slice_ok`: alone in `wrt`, or a
/// struct's field) slices and `Vec`s of those, whose tangents are as long
/// and read like them ([`crate::second::tangent_reads_like`]).
fn has_tangent(kind: &ParamKind, slice_ok: bool) -> bool {
    match kind {
        ParamKind::Float { .. } => true,
        ParamKind::Slice {
            inner, array_len, ..
        } => {
            slice_ok
                && array_len.is_none()
                && inner.iter().all(|&d| d != crate::signature::NAMED_LEN)
        }
        _ => false,
    }
}

/// The float parameters of a struct input's tree, with their member paths
/// (`.w1`, `.inner.b`), depth first.
pub fn struct_leaves(
    tree: &crate::signature::InputTree,
    at: proc_macro2::TokenStream,
    out: &mut Vec<(proc_macro2::TokenStream, usize)>,
) {
    match tree {
        crate::signature::InputTree::Leaf(p) => out.push((at, *p)),
        crate::signature::InputTree::Struct { fields, .. } => {
            for (m, t) in fields {
                struct_leaves(t, quote::quote!(#at . #m), out);
            }
        }
    }
}

/// The value and the tangent of `output` when the elements of each
/// parameter `p` of `pairs` move along those of its tangent parameter
/// `t`.
///
/// # Errors
///
/// As [`forward`].
pub fn tangent_of(g: &mut Graph, output: Id, pairs: &[(u32, u32)]) -> Result<Directional, String> {
    let tangent = |p: u32| pairs.iter().find(|pt| pt.0 == p).map(|pt| pt.1);
    let wrt: Vec<u32> = pairs.iter().map(|pt| pt.0).collect();
    let f = forward(
        g,
        &[output],
        &wrt,
        &mut |g, param, index| {
            let t = tangent(param)?;
            Some(g.node(Op::Param { param: t, index }, vec![]))
        },
        &tangent,
    )?;
    Ok(Directional {
        value: f.primal[0],
        derivative: f.tangent[0],
        rebuilt: rebuilt_effects(g, &[&f]),
    })
}

/// What [`tangent_of`] builds.
pub struct Directional {
    /// The value (the output itself, or read from the rebuilt loops).
    pub value: Id,
    /// The derivative (`None`: zero).
    pub derivative: Option<Id>,
    /// The effects forward mode rebuilt ([`rebuilt_effects`]).
    pub rebuilt: HashMap<Id, Id>,
}

/// `NAME_grad` by forward mode ([`cheaper_by_forward`]).
pub struct ForwardGrad {
    /// The value, read from the rebuilt loops.
    pub value: Id,
    /// The derivative with respect to each differentiated scalar.
    pub derivatives: Vec<Id>,
    /// The effects the passes rebuilt ([`rebuilt_effects`]).
    pub rebuilt: HashMap<Id, Id>,
}

/// The tangents of `roots`, gradient nodes of straight-line code, when
/// element `index` of parameter `param` (one of `wrt`) moves by
/// `seed(param, index)`: Hessian-vector products (forward mode over the
/// reverse sweep).
///
/// # Errors
///
/// As [`forward`]; and a loop that stays a loop (its reverse restores
/// values from a tape: differentiate such functions by reverse mode over
/// forward mode instead).
pub fn tangents(
    g: &mut Graph,
    roots: &[Id],
    wrt: &[u32],
    seed: &mut dyn FnMut(&mut Graph, u32, u32) -> Option<Id>,
) -> Result<Vec<Option<Id>>, String> {
    Ok(forward(g, roots, wrt, seed, &|_| None)?.tangent)
}

/// The most scalar parameters the mode choice differentiates by forward
/// mode: each adds one tangent to every loop it passes through (carried
/// beside the value in the same loop), while reverse mode's cost does not
/// grow with their number; past a few, reverse mode's tape is cheaper.
pub const MAX_FORWARD_SCALARS: usize = 4;

/// The mode choice of `NAME_grad`: forward mode when the function is
/// differentiated with respect to a few floats (at most
/// [`MAX_FORWARD_SCALARS`] scalar parameters) and a loop that stays a loop
/// carries a value that depends on one of them (the logistic map
/// iterated: reverse mode would store every iterate on a tape and run the
/// loop again backwards; forward mode runs it once, carrying the
/// derivatives, and stores nothing). Returns the value and the derivative
/// with respect to each, or `None` where reverse mode is kept: arrays or
/// more scalars (one tangent per element), or straight-line code (the
/// reverse sweep is as cheap, and fused).
///
/// Several scalars: one forward pass per scalar, each over the graph the
/// previous one built, so the loop is rebuilt carrying every tangent
/// beside its value, in one loop.
pub fn cheaper_by_forward(g: &mut Graph, sig: &SigInfo, output: Id) -> Option<ForwardGrad> {
    if sig.outputs != 1
        || sig.wrt.is_empty()
        || sig.wrt.len() > MAX_FORWARD_SCALARS
        || sig.wrt_inputs.len() != sig.wrt.len()
    {
        return None;
    }
    let scalar =
        |p: usize| matches!(&sig.params[p].kind, ParamKind::Float { shape } if shape.is_empty());
    if !sig.wrt.iter().all(|&p| scalar(p)) {
        return None;
    }
    let live = crate::emit::live_nodes(g, &[output]);
    let active = crate::reverse::activity(g, &|q| sig.wrt.contains(&(q as usize)));
    let carries_active = g.loops.iter().any(|l| {
        l.node.is_some_and(|n| live[n.index()])
            && l.carried
                .iter()
                .zip(&l.kinds)
                .any(|(c, k)| *k == Kind::Float && active[c.index()])
    });
    if !carries_active {
        return None;
    }
    // roots: the value, then the derivatives found so far.
    let mut roots = vec![output];
    let mut passes = Vec::new();
    for &p in &sig.wrt {
        let mut f = forward(
            g,
            &roots,
            &[p as u32],
            &mut |g, _, _| Some(g.konst(1.0)),
            &|_| None,
        )
        .ok()?;
        let d = f.tangent[0].unwrap_or_else(|| g.konst(0.0));
        roots = std::mem::take(&mut f.primal);
        roots.push(d);
        passes.push(f);
    }
    let value = roots.remove(0);
    let rebuilt = rebuilt_effects(g, &passes.iter().collect::<Vec<_>>());
    Some(ForwardGrad {
        value,
        derivatives: roots,
        rebuilt,
    })
}

/// `sum += x`, where `None` is an empty sum.
fn add_to(g: &mut Graph, sum: &mut Option<Id>, x: Id) {
    *sum = Some(match *sum {
        Some(s) => g.add(s, x),
        None => x,
    });
}

/// Why the tangent of a second derivative through a call is refused.
const THIRD: &str = "third derivatives through a call to another #[derive_grad] function are not supported: backprop differentiates at most twice";

const LOOPS: &str = "forward mode (`jvp`, `hessian`) does not differentiate this use of a loop or of the parameter read at run-time indices yet: use `NAME_grad`";

/// The tangents of `roots` when element `index` of parameter `param` (one
/// of `wrt`) moves by `seed(param, index)` (`None`: not at all), and the roots' values as the
/// new graph computes them: where the tangents pass through a loop that
/// stays a loop, that loop is rebuilt carrying the tangents beside its
/// own values, and the values after it are read from the new loop.
/// `buffer(param)` is the tangent of the parameter read whole (an array
/// read at run-time indices): its tangent parameter, read the same way. The roots
/// may be gradient nodes of the reverse sweep of straight-line code: their
/// tangents are Hessian-vector products.
///
/// # Errors
///
/// A message if the tangents pass through what forward mode does not
/// differentiate: a call's gradient (second derivatives through a call),
/// or the parameter read whole with no `buffer`.
pub fn forward(
    g: &mut Graph,
    roots: &[Id],
    wrt: &[u32],
    seed: &mut dyn FnMut(&mut Graph, u32, u32) -> Option<Id>,
    buffer: &dyn Fn(u32) -> Option<u32>,
) -> Result<Forward, String> {
    run(g, roots, wrt, seed, buffer, false)
}

/// [`forward`], for tangents a reverse sweep will differentiate again
/// (reverse mode over forward mode): the tangent of a call to another
/// `#[derive_grad]` function is an [`Op::CallDir`], whose derivatives the
/// callee's companion gives, rather than its gradient's elements times
/// the arguments' tangents (which no sweep can differentiate).
///
/// # Errors
///
/// As [`forward`].
pub fn forward_to_differentiate(
    g: &mut Graph,
    roots: &[Id],
    wrt: &[u32],
    seed: &mut dyn FnMut(&mut Graph, u32, u32) -> Option<Id>,
    buffer: &dyn Fn(u32) -> Option<u32>,
) -> Result<Forward, String> {
    run(g, roots, wrt, seed, buffer, true)
}

fn run(
    g: &mut Graph,
    roots: &[Id],
    wrt: &[u32],
    seed: &mut dyn FnMut(&mut Graph, u32, u32) -> Option<Id>,
    buffer: &dyn Fn(u32) -> Option<u32>,
    dir_calls: bool,
) -> Result<Forward, String> {
    let saved = (g.mode, g.current, g.guard);
    g.mode = Mode::Gradient;
    // The user's checks and prints (outside loops) are rebuilt where they
    // read a rebuilt loop, so that they read the new loop's values
    // (`rebuilt_effects`). A range checked inside a loop is rebuilt with
    // the loop if it is read; one never read keeps the original loop.
    let mut visited = roots.to_vec();
    visited.extend(
        g.effect_nodes()
            .into_iter()
            .filter(|e| g.region_of[e.index()] == 0),
    );
    let mut f = Sweep::new(g, &visited, wrt, seed, buffer);
    f.dir_calls = dir_calls;
    let result = f.region(g, 0).map(|()| Forward {
        primal: roots.iter().map(|&r| f.p(r)).collect(),
        tangent: roots.iter().map(|&r| f.tan_of(g, r)).collect(),
        rebuilt: std::mem::take(&mut f.map),
    });
    (g.mode, g.current, g.guard) = saved;
    result
}

/// What [`forward`] built.
pub struct Forward {
    /// Each root's value (itself, unless it comes after a rebuilt loop).
    pub primal: Vec<Id>,
    /// Each root's tangent (`None`: zero).
    pub tangent: Vec<Option<Id>>,
    /// Old node → its value in the new graph, for the nodes rebuilt (in a
    /// rebuilt loop's body, or reading a rebuilt loop's results).
    pub rebuilt: HashMap<Id, Id>,
}

/// The nodes the user's checks, range checks and prints read that
/// `passes` rebuilt (each pass over the graph the ones before it built),
/// to their last new nodes: a function returning the passes' values checks
/// those ([`Graph::read_effects_from`]), or it would run every original
/// loop again beside its rebuilt one.
pub fn rebuilt_effects(g: &Graph, passes: &[&Forward]) -> HashMap<Id, Id> {
    let mut effects = HashMap::new();
    for e in g.effect_nodes() {
        let mut node = e;
        for pass in passes {
            node = pass.rebuilt.get(&node).copied().unwrap_or(node);
        }
        if node != e {
            effects.insert(e, node);
        }
    }
    effects
}

struct Sweep<'s> {
    wrt: Vec<u32>,
    seed: &'s mut dyn FnMut(&mut Graph, u32, u32) -> Option<Id>,
    buffer: &'s dyn Fn(u32) -> Option<u32>,
    live: Vec<bool>,
    active: Vec<bool>,
    /// The live nodes of each region, in arena order.
    region_nodes: Vec<Vec<Id>>,
    /// The storages an active value is written to (or the parameter read
    /// whole): each gets a tangent storage beside it.
    active_storages: HashSet<Id>,
    /// Old node → its value in the new graph, for the nodes rebuilt (in
    /// a rebuilt loop's body, or reading a rebuilt loop's results).
    map: HashMap<Id, Id>,
    /// Old node → its tangent (a float, or a buffer of tangents).
    tan: HashMap<Id, Id>,
    /// Old float node of a rebuilt loop's body → its tangent as a linear
    /// combination of the tangents the loop carries in (see [`Lin`]),
    /// turned into a node of [`Sweep::tan`] where it is read otherwise.
    lin: HashMap<Id, Lin>,
    /// The loops being rebuilt, innermost last: (old body region, new
    /// loop).
    rebuilding: Vec<(u32, u32)>,
    /// A call's tangent is its [`Op::CallDir`] (see
    /// [`forward_to_differentiate`]).
    dir_calls: bool,
    /// Whether a new node that reads memory has been built yet (a
    /// rebuilt loop, a direction call passing slices): writes to memory
    /// after it are built again, after it (see [`Sweep::visit`]).
    memory_rebuilt: bool,
    /// Old call node → its [`Op::CallDir`] along its arguments' tangents.
    dirs: HashMap<Id, Id>,
}

/// A tangent in a rebuilt loop's body, preaccumulated: `Σ coefficient ·
/// (carried tangent) + rest`, where the coefficients are products of the
/// iteration's values and `rest` gathers every other contribution (the
/// parameter's tangent, tangents read from memory or from outside the
/// loop). Multiplying out each operation's local derivatives this way
/// leaves one multiply and one add between the tangent an iteration
/// receives and the one it passes on (the logistic map's `t ← c·t + d`),
/// instead of the chain of every operation the value goes through: the
/// loop-carried dependency, which bounds the loop's speed, is as short as
/// in forward mode written by hand.
#[derive(Clone)]
struct Lin {
    /// The new loop whose carried tangents are the terms' sources.
    lp: u32,
    /// (carried tangent, coefficient)
    terms: Vec<(Id, Id)>,
    /// Everything else, if anything.
    rest: Option<Id>,
}

impl<'s> Sweep<'s> {
    fn new(
        g: &Graph,
        roots: &[Id],
        wrt: &[u32],
        seed: &'s mut dyn FnMut(&mut Graph, u32, u32) -> Option<Id>,
        buffer: &'s dyn Fn(u32) -> Option<u32>,
    ) -> Sweep<'s> {
        let live = crate::emit::live_nodes(g, roots);
        let active = crate::reverse::activity(g, &|p| wrt.contains(&p));
        let mut region_nodes = vec![Vec::new(); g.regions.len()];
        let mut active_storages = HashSet::new();
        for i in 0..live.len() {
            if !live[i] {
                continue;
            }
            region_nodes[g.region_of[i] as usize].push(Id(i as u32));
            if active[i] && g.kinds[i] == Kind::Buffer {
                active_storages.insert(g.storage(Id(i as u32)));
            }
        }
        Sweep {
            wrt: wrt.to_vec(),
            seed,
            buffer,
            live,
            active,
            region_nodes,
            active_storages,
            map: HashMap::new(),
            tan: HashMap::new(),
            lin: HashMap::new(),
            rebuilding: Vec::new(),
            dir_calls: false,
            memory_rebuilt: false,
            dirs: HashMap::new(),
        }
    }

    /// The call of old node `call` along its arguments' tangents
    /// ([`Op::CallDir`]), built once, under the call's own guard (the
    /// callee runs only where the original calls it).
    fn call_dir(&mut self, g: &mut Graph, call: Id) -> Result<Id, String> {
        if let Some(&d) = self.dirs.get(&call) {
            return Ok(d);
        }
        let Op::Call(k) = g.get(call).op else {
            unreachable!("a direction of a call")
        };
        let info = &g.calls[k as usize];
        if info.places.iter().any(Option::is_some) {
            return Err(format!("second derivatives through a call that passes a struct of parameters whole (to `{}`) are not supported yet: pass its fields", info.callee));
        }
        let old = g.get(call).args.clone();
        // A direction call passing slices is a new node that reads memory:
        // emitted (and reversed) after the old nodes of its region, so the
        // writes after it are built again, after it, as after a rebuilt
        // loop. It reads the memory itself (no copy of a `vec!` written
        // after the call is needed), and its reverse adds into the
        // adjoint buffers after the reverse of those writes.
        let passes_slices = info.passes_slices();
        if passes_slices {
            self.memory_rebuilt = true;
        }
        let mut args: Vec<Id> = old.iter().map(|&a| self.p(a)).collect();
        // A slice's tangent is its tangent buffer; the constant 0 stands
        // for a slice with none (the emitter passes zeros of its length).
        for &a in &old {
            let t = match g.kinds[a.index()] {
                Kind::Float => self.tan_of(g, a),
                Kind::Buffer => self.tan.get(&a).copied(),
                _ => None,
            };
            args.push(t.unwrap_or_else(|| g.konst(0.0)));
        }
        // A `vec!` written after the call: the reverse reads what the call
        // read from copies taken here ([`Graph::snapshots`]), of the
        // memory as rebuilt (the value call rebuilt with it reads it too)
        // and of its tangent (for the direction call made again in a
        // reversed loop). The old copy is kept where it was taken in this
        // region; one taken in the body of a loop since rebuilt (whose
        // old nodes are no longer read) is replaced.
        let n = old.len();
        for (j, &a) in old.iter().enumerate() {
            if !g.snapshots.contains_key(&a) {
                continue;
            }
            for b in [args[j], args[n + j]] {
                let here = g
                    .snapshots
                    .get(&b)
                    .is_some_and(|s| g.region_of[s.index()] == g.current);
                if g.kinds[b.index()] == Kind::Buffer && !here {
                    let copy = g.node(Op::Snapshot, vec![b]);
                    g.snapshots.insert(b, copy);
                }
            }
        }
        let saved = g.guard;
        g.guard = g.guards.get(&call).map(|&c| self.p(c));
        let d = g.node(Op::CallDir(k), args);
        g.guard = saved;
        self.dirs.insert(call, d);
        if passes_slices {
            g.call_dirs.insert(self.p(call), d);
        }
        Ok(d)
    }

    /// The tangent of a call passing slices (old node `call`, call `k`):
    /// the callee's pullback with seed 1 gives its gradient, added into a
    /// buffer of zeros for each slice with a tangent and returned for
    /// every other argument, and the tangent is its dot product with the
    /// arguments' tangents. (The pullback runs the callee's forward sweep
    /// again: about three evaluations of the callee, where a tangent
    /// companion of the callee would cost two.)
    fn slice_call_tangent(
        &mut self,
        g: &mut Graph,
        call: Id,
        k: u32,
    ) -> Result<Option<Id>, String> {
        let info = g.calls[k as usize].clone();
        let old = g.get(call).args.clone();
        let one = g.konst(1.0);
        let mut args = vec![one];
        args.extend(old.iter().map(|&a| self.p(a)));
        // The pullback is a new node, emitted after the old nodes of its
        // region: where those include writes to a `vec!` after the call
        // (no loop rebuilt yet, so the old nodes keep their places), it
        // reads the copy taken at the call. Elsewhere the writes around it
        // are new nodes too, in order, and the memory is what the call read.
        if !self.memory_rebuilt && self.rebuilding.is_empty() {
            for a in args[1..].iter_mut() {
                if let Some(&copy) = g.snapshots.get(a) {
                    *a = copy;
                }
            }
        }
        // Per slice with a tangent: the buffer of zeros its gradient goes
        // into, its tangent and the range passed.
        let mut dots = Vec::new();
        let mut at = 0;
        for (j, slice) in info.slices.iter().enumerate() {
            let first = at;
            at += info.flat_len(j);
            let Some(slice) = slice else { continue };
            let buf = old[first];
            let Some(&tangent) = self.tan.get(&buf) else {
                // No derivative flows from it: the pullback gets a
                // scratch buffer (see `Op::Pullback`).
                args.push(one);
                continue;
            };
            let storage = g.storage(buf);
            let zeros = match g.get(storage).op {
                Op::ArrayParam(p) => g.node(Op::ZerosLike(p), vec![]),
                Op::NewVec { array: false } if slice.inner.is_empty() => {
                    let len = self.p(g.get(storage).args[1]);
                    g.node(Op::ZerosLen { array: false }, vec![len])
                }
                _ => return Err(format!("forward mode (`jvp`) through this call passing a slice (to `{}`) is not supported yet: use `NAME_grad`", info.callee)),
            };
            args.push(zeros);
            let range = if slice.range {
                vec![self.p(old[first + 1]), self.p(old[first + 2])]
            } else {
                Vec::new()
            };
            dots.push((zeros, tangent, slice.inner.len() as u8, range));
        }
        let pb = g.node_anew(Op::Pullback(k), args);
        let mut sum: Option<Id> = None;
        for (j, &a) in old.iter().enumerate() {
            if g.kinds[a.index()] != Kind::Float {
                continue;
            }
            let Some(t) = self.tan_of(g, a) else { continue };
            let d = g.node(Op::Proj(j as u32), vec![pb]);
            let term = g.mul(d, t);
            add_to(g, &mut sum, term);
        }
        for (zeros, tangent, depth, range) in dots {
            let grad = g.node(Op::PullbackBuf, vec![zeros, pb]);
            let mut a = vec![grad, tangent];
            a.extend(range);
            let term = g.node(Op::SliceDot(depth), a);
            add_to(g, &mut sum, term);
        }
        Ok(sum)
    }

    /// The tangent of old node `id` as a node (`None`: zero), building a
    /// preaccumulated one's sum (in the current region).
    fn tan_of(&mut self, g: &mut Graph, id: Id) -> Option<Id> {
        if let Some(&t) = self.tan.get(&id) {
            return Some(t);
        }
        let lin = self.lin.get(&id)?.clone();
        let mut sum: Option<Id> = None;
        for (source, coefficient) in lin.terms {
            let term = g.mul(coefficient, source);
            add_to(g, &mut sum, term);
        }
        if let Some(rest) = lin.rest {
            add_to(g, &mut sum, rest);
        }
        let t = sum?;
        self.tan.insert(id, t);
        Some(t)
    }

    /// ∂node/∂(argument `k`) of old node `id`, over the new graph's values.
    fn local_derivative(&self, g: &mut Graph, id: Id, k: usize) -> Option<Id> {
        let map = &self.map;
        crate::reverse::local_derivative_with(g, id, k, &mut |_, x| {
            map.get(&x).copied().unwrap_or(x)
        })
    }

    /// The preaccumulated tangent of float node `id` of the body of the
    /// loop being rebuilt (see [`Lin`]), from its arguments'.
    fn lin_of(&mut self, g: &mut Graph, id: Id, lp: u32) -> Option<Lin> {
        let old = g.get(id).args.clone();
        let mut acc = Lin {
            lp,
            terms: Vec::new(),
            rest: None,
        };
        for (k, a) in old.iter().enumerate() {
            if g.kinds[a.index()] != Kind::Float {
                continue;
            }
            let from = match self.lin.get(a) {
                Some(l) if l.lp == lp => Some(l.clone()),
                _ => None,
            };
            let tangent = match from {
                Some(_) => None,
                None => match self.tan_of(g, *a) {
                    Some(t) => Some(t),
                    None => continue,
                },
            };
            let Some(d) = self.local_derivative(g, id, k) else {
                continue;
            };
            match (from, tangent) {
                (Some(l), _) => {
                    for (source, c) in l.terms {
                        let c = g.mul(d, c);
                        match acc.terms.iter_mut().find(|t| t.0 == source) {
                            Some(t) => t.1 = g.add(t.1, c),
                            None => acc.terms.push((source, c)),
                        }
                    }
                    if let Some(r) = l.rest {
                        let r = g.mul(d, r);
                        add_to(g, &mut acc.rest, r);
                    }
                }
                (None, Some(t)) => {
                    let r = g.mul(d, t);
                    add_to(g, &mut acc.rest, r);
                }
                (None, None) => {}
            }
        }
        (!acc.terms.is_empty() || acc.rest.is_some()).then_some(acc)
    }

    /// The new graph's value of old node `id`.
    fn p(&self, id: Id) -> Id {
        self.map.get(&id).copied().unwrap_or(id)
    }

    /// Rebuilds (where needed) and differentiates the live nodes of
    /// region `r`, into the current region.
    fn region(&mut self, g: &mut Graph, r: u32) -> Result<(), String> {
        for id in self.region_nodes[r as usize].clone() {
            self.visit(g, id)?;
        }
        Ok(())
    }

    fn visit(&mut self, g: &mut Graph, id: Id) -> Result<(), String> {
        let node = g.get(id).clone();
        if let Op::Loop(l) = node.op {
            self.memory_rebuilt = true;
            return self.rebuild_loop(g, id, l);
        }
        if matches!(node.op, Op::LoopVar(_) | Op::Carried { .. }) {
            return Ok(()); // mapped when their loop was rebuilt
        }
        let i = id.index();
        // The value: rebuilt inside a rebuilt loop (every node of its body
        // belongs to the new loop) or where an argument changed.
        let args: Vec<Id> = node.args.iter().map(|&a| self.p(a)).collect();
        let guard = g.guards.get(&id).map(|&c| self.p(c));
        // A write to memory after a rebuilt loop is built again after it:
        // the new loop may read the memory as it was before the write, and
        // a region's nodes are emitted in arena order.
        let write_after_loop = self.memory_rebuilt && matches!(node.op, Op::Store | Op::ScatterAdd);
        if g.region_of[i] != 0 || args != node.args || write_after_loop {
            let (mode, saved) = (g.mode, g.guard);
            g.mode = Mode::Forward; // recomputed exactly as the original
            g.guard = guard;
            let v = if write_after_loop {
                g.node_anew(node.op, args.clone())
            } else {
                g.node(node.op, args.clone())
            };
            if g.names[v.index()].is_none() {
                g.names[v.index()] = g.names[i].clone();
            }
            (g.mode, g.guard) = (mode, saved);
            self.map.insert(id, v);
        }
        // A storage some active value is written to gets a tangent
        // storage, though its initial contents are constant, and every
        // update of it a tangent update, even one that writes a constant
        // (else the chain of tangent buffers breaks there and what later
        // reads of it carry is lost).
        let in_active_storage =
            g.kinds[i] == Kind::Buffer && self.active_storages.contains(&g.storage(id));
        if !self.active[i] && !in_active_storage {
            return Ok(());
        }
        let saved = g.guard;
        g.guard = guard;
        let t = self.tangent(g, id, &node.op, &args);
        g.guard = saved;
        if let Some(t) = t? {
            self.tan.insert(id, t);
        }
        Ok(())
    }

    /// The tangent of active node `id` (`args`: its arguments' new values).
    fn tangent(
        &mut self,
        g: &mut Graph,
        id: Id,
        op: &Op,
        args: &[Id],
    ) -> Result<Option<Id>, String> {
        let i = id.index();
        let index_args = |args: &[Id]| args[1..].to_vec();
        Ok(match *op {
            Op::Param { param, index } if self.wrt.contains(&param) => (self.seed)(g, param, index),
            Op::ArrayParam(p) if self.wrt.contains(&p) => match (self.buffer)(p) {
                Some(t) => Some(g.node(Op::ArrayParam(t), vec![])),
                None => return Err(LOOPS.into()),
            },
            op if op.allocates() => {
                if !self.active_storages.contains(&id) {
                    return Ok(None);
                }
                // A tangent storage of the same shape: zeros, or the
                // elements' tangents.
                Some(match op {
                    Op::NewArray(k) => {
                        let zero = g.konst(0.0);
                        let elems = g
                            .get(id)
                            .args
                            .clone()
                            .iter()
                            .map(|a| self.tan_of(g, *a).unwrap_or(zero))
                            .collect::<Vec<Id>>();
                        g.node(Op::NewArray(k), elems)
                    }
                    Op::NewVec { array } => {
                        let fill = g.get(id).args[0];
                        let zero = g.konst(0.0);
                        let t = self.tan_of(g, fill).unwrap_or(zero);
                        g.node(Op::NewVec { array }, vec![t, args[1]])
                    }
                    op => g.node(op, args.to_vec()),
                })
            }
            Op::Load => {
                let Some(&tb) = self.tan.get(&g.get(id).args[0]) else {
                    return Ok(None);
                };
                let mut a = vec![tb];
                a.extend(index_args(args));
                Some(g.node(Op::Load, a))
            }
            Op::Store | Op::ScatterAdd => {
                let old = g.get(id).args.clone();
                let Some(&tb) = self.tan.get(&old[0]) else {
                    return Ok(None);
                };
                let n = old.len();
                let tv = self.tan_of(g, old[n - 1]);
                if *op == Op::ScatterAdd && tv.is_none() {
                    // Adding a constant: the tangents are unchanged.
                    return Ok(Some(tb));
                }
                let tv = tv.unwrap_or_else(|| g.konst(0.0));
                let mut a = vec![tb];
                a.extend(&args[1..n - 1]);
                a.push(tv);
                Some(g.node(*op, a))
            }
            // Set when its loop was rebuilt.
            Op::LoopOut(_) => self.tan.get(&id).copied(),
            // Second derivatives through a call: `∂(∇f)/∂a · ȧ = H·ȧ`.
            Op::Proj(k) => {
                let call = g.get(id).args[0];
                if !matches!(g.get(call).op, Op::Call(_)) {
                    return Err(THIRD.into());
                }
                let d = self.call_dir(g, call)?;
                Some(g.node(Op::HvProj(k), vec![d]))
            }
            Op::HvProj(_) | Op::CallDir(_) => return Err(THIRD.into()),
            Op::Call(k) if g.calls[k as usize].passes_slices() && !self.dir_calls => {
                self.slice_call_tangent(g, id, k)?
            }
            // (A reverse sweep is differentiated for second derivatives
            // only, which take direction calls through calls passing
            // slices: never a pullback.)
            Op::Pullback(_) | Op::PullbackBuf => return Err(THIRD.into()),
            Op::Call(_) if self.dir_calls => Some(self.call_dir(g, id)?),
            Op::Restore { .. } | Op::RangeNth(_) => return Err(LOOPS.into()),
            _ if g.kinds[i] != Kind::Float => None,
            // In the body of the loop being rebuilt: preaccumulated.
            _ if self
                .rebuilding
                .last()
                .is_some_and(|&(body, _)| g.region_of[i] == body) =>
            {
                let lp = self.rebuilding.last().expect("checked").1;
                if let Some(l) = self.lin_of(g, id, lp) {
                    self.lin.insert(id, l);
                }
                None
            }
            _ => {
                let old = g.get(id).args.clone();
                let mut sum: Option<Id> = None;
                for (k, a) in old.iter().enumerate() {
                    let Some(ta) = self.tan_of(g, *a) else {
                        continue;
                    };
                    if g.kinds[a.index()] != Kind::Float {
                        continue;
                    }
                    let Some(d) = self.local_derivative(g, id, k) else {
                        continue;
                    };
                    let term = g.mul(d, ta);
                    add_to(g, &mut sum, term);
                }
                sum
            }
        })
    }

    /// Rebuilds loop `l` (node `id`) carrying, beside each value it
    /// carries that has a tangent, that tangent: the new body is the old
    /// one's values and their tangents, the loop's results are read from
    /// the new loop.
    fn rebuild_loop(&mut self, g: &mut Graph, id: Id, l: u32) -> Result<(), String> {
        let info = g.loops[l as usize].clone();
        let old_args = g.get(id).args.clone();
        let args: Vec<Id> = old_args.iter().map(|&a| self.p(a)).collect();
        let n = info.kinds.len();
        let with_tangent: Vec<usize> = (0..n)
            .filter(|&k| match info.kinds[k] {
                Kind::Float => self.active[info.carried[k].index()],
                Kind::Buffer => self.active_storages.contains(&g.storage(info.carried[k])),
                _ => false,
            })
            .collect();
        let zero = g.konst(0.0);
        let mut kinds = info.kinds.clone();
        kinds.extend(with_tangent.iter().map(|&k| info.kinds[k]));
        let mut inits = args[2..].to_vec();
        // A carried value nothing reads was not rebuilt (its initial value
        // may be an old node of a loop being rebuilt): any value of its
        // kind will do, since none is emitted.
        let rebuilt = |k: usize| {
            let read = self.live[info.carried[k].index()] || self.live[info.outs[k].index()];
            let old = old_args[2 + k];
            read || self.map.contains_key(&old) || g.region_of[old.index()] == 0
        };
        // For an unread carried buffer, a rebuilt one (an earlier forward
        // pass's tangent buffer may be the unread one, its initial value in
        // a region this pass does not rebuild); never emitted either way.
        let spare_buffer = (0..n).find(|&k| info.kinds[k] == Kind::Buffer && rebuilt(k));
        let unread: Vec<usize> = (0..n).filter(|&k| !rebuilt(k)).collect();
        for k in unread {
            inits[k] = match info.kinds[k] {
                Kind::Float => g.konst(0.0),
                Kind::Int => g.node(Op::IntConst(0), vec![]),
                Kind::Bool => g.bool_const(false),
                Kind::Buffer => spare_buffer.map_or(inits[k], |s| inits[s]),
                _ => inits[k],
            };
        }
        for &k in &with_tangent {
            let t = match (self.tan_of(g, old_args[2 + k]), info.kinds[k]) {
                (Some(t), _) => t,
                (None, Kind::Float) => zero,
                (None, _) => return Err(LOOPS.into()),
            };
            inits.push(t);
        }
        let guard = info.guard.map(|c| self.p(c));
        let (nl, var, carried) = g.begin_loop(kinds, info.reversed, info.inclusive);
        {
            let r = &mut g.loops[nl as usize];
            r.var_name.clone_from(&info.var_name);
            r.is_while = info.is_while;
            r.guard = guard;
            let mut names = info.names.clone();
            names.extend(
                with_tangent
                    .iter()
                    .map(|&k| info.names[k].as_ref().map(|name| format!("t_{name}"))),
            );
            r.names = names;
        }
        self.map.insert(info.var, var);
        for (&old, &new) in info.carried.iter().zip(&carried) {
            self.map.insert(old, new);
        }
        let one = g.konst(1.0);
        for (j, &k) in with_tangent.iter().enumerate() {
            let t = carried[n + j];
            match info.kinds[k] {
                Kind::Float => {
                    self.lin.insert(
                        info.carried[k],
                        Lin {
                            lp: nl,
                            terms: vec![(t, one)],
                            rest: None,
                        },
                    );
                }
                _ => {
                    self.tan.insert(info.carried[k], t);
                }
            }
        }
        self.rebuilding.push((info.body, nl));
        let body = self.region(g, info.body);
        self.rebuilding.pop();
        body?;
        let mut yields: Vec<Id> = (0..n)
            .map(|k| {
                // A carried value nothing reads is carried through unchanged.
                let read = self.live[info.carried[k].index()] || self.live[info.outs[k].index()];
                if read {
                    self.p(info.yields[k])
                } else {
                    carried[k]
                }
            })
            .collect();
        for (j, &k) in with_tangent.iter().enumerate() {
            let t = self.tan_of(g, info.yields[k]);
            yields.push(match info.kinds[k] {
                Kind::Float => t.unwrap_or(zero),
                _ => t.unwrap_or(carried[n + j]),
            });
        }
        let cond = info.cond.map(|c| self.p(c));
        let exit = info.exit.map(|c| self.p(c));
        g.loops[nl as usize].cond = cond;
        g.loops[nl as usize].exit = exit;
        let (node, outs) = g.finish_loop(nl, args[0], args[1], inits, yields);
        self.map.insert(id, node);
        for (&old, &new) in info.outs.iter().zip(&outs) {
            self.map.insert(old, new);
        }
        for (j, &k) in with_tangent.iter().enumerate() {
            self.tan.insert(info.outs[k], outs[n + j]);
        }
        Ok(())
    }
}
