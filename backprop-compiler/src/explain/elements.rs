//! The element-wise explanation of straight-line code (every loop
//! unrolled): one node per named value and parameter element, as the
//! seeds' worked examples write them (`w[4]`, `z3`).

use std::collections::HashMap;

use super::expr::{expr_sym, AlgebraCx};
use super::{
    element_name, latex_name, partial, subscript, sum_of, ExplainData, Kind, NamedNode, StepData,
};
use crate::algebra::{AtomInfo, Atoms, Rat};
use crate::graph::{Graph, Id, Mode, Op};
use crate::signature::SigInfo;
use crate::sym::Sym;

/// Builds the element-wise explanation. `adjoint` is the main sweep's
/// adjoint per node.
pub(super) fn explain(
    g: &mut Graph,
    sig: &SigInfo,
    output: Id,
    adjoint: &[Option<Id>],
    function: &str,
) -> ExplainData {
    let live = crate::emit::live_nodes(g, &[output]);
    let mut nodes: Vec<NamedNode> = Vec::new();
    let mut index_of: HashMap<Id, usize> = HashMap::new();
    let mut name_uses: HashMap<String, usize> = HashMap::new();
    for (i, &is_live) in live.iter().enumerate().take(output.index() + 1) {
        let id = Id(i as u32);
        let node = g.get(id);
        // The output is always a node, even when it is a constant.
        let skipped = node.op.is_bool() || matches!(node.op, Op::Const(_) | Op::Proj(_));
        if !is_live || (skipped && id != output) {
            continue;
        }
        let (base, kind) = match node.op {
            Op::Param { param, index } => {
                let p = &sig.params[param as usize];
                let kind = if sig.wrt.contains(&(param as usize)) {
                    Kind::Parameter
                } else {
                    Kind::Input
                };
                (
                    element_name(&p.name.to_string(), &p.kind, index as usize),
                    kind,
                )
            }
            Op::RtInt(k) => (
                g.rt_ints[k as usize].to_string().replace(' ', ""),
                Kind::Input,
            ),
            Op::Extern(k) => (
                g.externs[k as usize].to_string().replace(' ', ""),
                Kind::Input,
            ),
            _ if id == output => (
                g.names[i].clone().unwrap_or_else(|| function.to_owned()),
                Kind::Output,
            ),
            _ => match &g.names[i] {
                Some(n) => (n.clone(), Kind::Intermediate),
                None => continue,
            },
        };
        // A name bound again (shadowing, a loop) gets a subscript: out, out₁, out₂.
        let uses = name_uses.entry(base.clone()).or_insert(0);
        let name = if *uses == 0 {
            base.clone()
        } else {
            format!("{base}{}", subscript(*uses))
        };
        *uses += 1;
        index_of.insert(id, nodes.len());
        nodes.push(NamedNode {
            id,
            latex: latex_name(&name),
            name,
            kind,
            definition: None,
            inputs: Vec::new(),
            elements: String::new(),
        });
    }

    // Definitions and inputs.
    let atoms: Vec<Sym> = nodes
        .iter()
        .map(|n| Sym::Atom(n.name.clone(), n.latex.clone()))
        .collect();
    let namer = |id: Id| index_of.get(&id).map(|&k| (k, atoms[k].clone()));
    for node in nodes.iter_mut() {
        if matches!(node.kind, Kind::Parameter | Kind::Input) {
            continue;
        }
        let mut inputs = Vec::new();
        let def = expr_sym(g, node.id, node.id, &namer, &mut inputs);
        inputs.sort_unstable();
        inputs.dedup();
        node.definition = Some(def);
        node.inputs = inputs;
    }

    // Which named nodes depend on a differentiated parameter.
    let mut active = vec![false; nodes.len()];
    for k in 0..nodes.len() {
        active[k] = nodes[k].kind == Kind::Parameter || nodes[k].inputs.iter().any(|&i| active[i]);
    }

    // Local derivatives ∂user/∂input between named nodes.
    let saved = g.mode;
    g.mode = Mode::Gradient;
    let mut local: Vec<Vec<(usize, Id)>> = vec![Vec::new(); nodes.len()];
    for k in 0..nodes.len() {
        if nodes[k].definition.is_some() && active[k] {
            let mut ds: Vec<(usize, Id)> =
                crate::reverse::local_adjoints(g, nodes[k].id, &|id| index_of.contains_key(&id))
                    .into_iter()
                    .map(|(o, d)| (index_of[&o], d))
                    .collect();
            ds.sort_unstable();
            local[k] = ds;
        }
    }
    g.mode = saved;

    // Users of each node (active ones only).
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (u, ds) in local.iter().enumerate() {
        for &(m, _) in ds {
            if active[m] {
                users[m].push(u);
            }
        }
    }

    let mut cx = AlgebraCx {
        atoms: Atoms::default(),
        atom_values: Vec::new(),
        memo: HashMap::new(),
    };
    let out_name = nodes
        .last()
        .map(|n| (n.name.clone(), n.latex.clone()))
        .unwrap_or_default();
    let out_idx = nodes.len() - 1;
    // Adjoints as the algebra sees them: inlined, or a symbol ∂E/∂u.
    let mut adj_rat: Vec<Option<Rat>> = vec![None; nodes.len()];
    adj_rat[out_idx] = Some(Rat::constant(1.0));
    let paths = count_paths(&users, out_idx);
    let depth = longest_paths(&users, out_idx);
    let mut steps = Vec::new();
    for m in (0..out_idx).rev() {
        if !active[m] || nodes[m].kind == Kind::Input {
            continue;
        }
        // Used only where its local derivative is 0 (`y = s * 0.0`): its
        // adjoint is 0, and so are its contributions to its own inputs.
        if users[m].is_empty() {
            adj_rat[m] = Some(Rat::constant(0.0));
            steps.push(StepData {
                node: m,
                adjoint: partial(&out_name, &nodes, usize::MAX, m),
                chain: Sym::Num(0.0),
                closed: Sym::Num(0.0),
                closed_rat: Some(Rat::constant(0.0)),
            });
            continue;
        }
        let mut terms: Vec<Rat> = Vec::new();
        for &u in &users[m] {
            let d = local[u]
                .iter()
                .find(|(x, _)| *x == m)
                .map(|x| x.1)
                .expect("user has a local derivative");
            let dr = cx.rat_of(g, d, &namer);
            let au = adj_rat[u].clone().expect("users come after");
            terms.push(au.mul(&dr));
        }
        let closed_terms: Vec<Sym> = terms.iter().map(|t| t.to_sym(&cx.atoms)).collect();
        let closed = sum_of(closed_terms);
        let total = terms
            .iter()
            .skip(1)
            .fold(terms[0].clone(), |acc, t| acc.add(t));
        // The chain rule spelled out along every path, where that is short;
        // otherwise (many paths, or a long chain such as an unrolled loop,
        // where spelling it out would cost time and space quadratic in its
        // length) through the adjoints of the node's users.
        let chain = if (1..=4).contains(&paths[m]) && depth[m] <= MAX_SPELLED_PATH {
            let mut all = Vec::new();
            path_products(&users, m, out_idx, &mut Vec::new(), &mut all);
            sum_of(
                all.iter()
                    .map(|path| {
                        Sym::product(
                            path.windows(2)
                                .map(|w| partial(&out_name, &nodes, w[0], w[1]))
                                .collect(),
                        )
                    })
                    .collect(),
            )
        } else {
            sum_of(
                users[m]
                    .iter()
                    .map(|&u| {
                        Sym::product(vec![
                            partial(&out_name, &nodes, usize::MAX, u),
                            partial(&out_name, &nodes, u, m),
                        ])
                    })
                    .collect(),
            )
        };
        // Downstream steps inline a short single-path adjoint and refer to
        // any other by its symbol, as a hand derivation reuses ∂E/∂a1.
        let inline = users[m].len() == 1 && total.num.0.len() <= 4 && total.den.len() <= 2;
        adj_rat[m] = Some(if inline {
            total.clone()
        } else {
            let sym = partial(&out_name, &nodes, usize::MAX, m);
            let value = adjoint.get(nodes[m].id.index()).copied().flatten();
            let a = cx.atoms.intern(&format!("adj{m}"), || AtomInfo {
                unicode: sym.unicode(),
                latex: sym.latex(),
                is_adjoint: true,
            });
            cx.note_value(a, value.unwrap_or_else(|| g.konst(0.0)));
            Rat::atom(a)
        });
        steps.push(StepData {
            node: m,
            adjoint: partial(&out_name, &nodes, usize::MAX, m),
            chain,
            closed,
            closed_rat: Some(total),
        });
    }
    ExplainData {
        function: function.to_owned(),
        nodes,
        steps,
        atom_values: cx.atom_values,
    }
}

/// The longest chain-rule path written out as a product of partials.
const MAX_SPELLED_PATH: usize = 16;

/// The number of edges on the longest path from each node to `out`.
fn longest_paths(users: &[Vec<usize>], out: usize) -> Vec<usize> {
    let mut depth = vec![0usize; users.len()];
    for m in (0..out).rev() {
        depth[m] = users[m].iter().map(|&u| depth[u] + 1).max().unwrap_or(0);
    }
    depth
}

fn count_paths(users: &[Vec<usize>], out: usize) -> Vec<usize> {
    let mut paths = vec![0usize; users.len()];
    paths[out] = 1;
    for m in (0..out).rev() {
        paths[m] = users[m]
            .iter()
            .map(|&u| paths[u])
            .fold(0usize, |a, b| a.saturating_add(b));
    }
    paths
}

/// Every path from the output down to `m`, as node lists output-first.
fn path_products(
    users: &[Vec<usize>],
    m: usize,
    out: usize,
    suffix: &mut Vec<usize>,
    all: &mut Vec<Vec<usize>>,
) {
    suffix.push(m);
    if m == out {
        let mut p = suffix.clone();
        p.reverse();
        // The output's own index stands for "the output" in `partial`.
        p[0] = usize::MAX;
        all.push(p);
    } else {
        for &u in &users[m] {
            path_products(users, u, out, suffix, all);
        }
    }
    suffix.pop();
}
