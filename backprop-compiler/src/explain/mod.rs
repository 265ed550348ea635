//! `#[derive_grad(explain)]`: the graph in the user's names, the chain-rule
//! derivation of every adjoint, and the code of `NAME_explain` and
//! `NAME_trace`.
//!
//! The named graph keeps the values the user named (`let z3 = …`), the
//! parameter elements, the inputs and the output; anonymous subexpressions
//! are folded into the definitions of the named values that use them. The
//! local derivative of a named value with respect to a named input is taken
//! with the same op table as `NAME_grad` ([`reverse::local_derivative`]),
//! then each adjoint is written as the chain rule gives it and simplified by
//! [`crate::algebra`].

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::quote;

use crate::algebra::{Atom, AtomInfo, Atoms, Rat};
use crate::graph::{Graph, Id, Mode, Op};
use crate::ops::{Algebra, PRIMITIVES};
use crate::reverse;
use crate::signature::{ParamKind, SigInfo};
use crate::sym::Sym;

/// What a named node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An element of a differentiated parameter.
    Parameter,
    /// Anything else read from outside.
    Input,
    /// A named value.
    Intermediate,
    /// The result.
    Output,
}

/// A node of the named graph.
#[derive(Clone, Debug)]
pub struct NamedNode {
    /// The graph node.
    pub id: Id,
    /// Unicode name (`w[4]`, `z3`).
    pub name: String,
    /// LaTeX name (`w_{4}`, `z_{3}`).
    pub latex: String,
    /// What it is.
    pub kind: Kind,
    /// Its definition in terms of other named nodes.
    pub definition: Option<Sym>,
    /// The named nodes its definition reads.
    pub inputs: Vec<usize>,
}

/// One adjoint, derived.
#[derive(Clone, Debug)]
pub struct StepData {
    /// Index into [`ExplainData::nodes`].
    pub node: usize,
    /// The adjoint itself, `∂E/∂m`.
    pub adjoint: Sym,
    /// The chain rule, unevaluated.
    pub chain: Sym,
    /// The simplified closed form.
    pub closed: Sym,
    /// The closed form as a rational function (for checking it numerically).
    #[cfg_attr(not(test), allow(dead_code))] // read by the tests that evaluate closed forms
    pub closed_rat: Rat,
}

/// Everything the explanation shows.
pub struct ExplainData {
    /// The function's name.
    pub function: String,
    /// The named graph, children before parents, output last.
    pub nodes: Vec<NamedNode>,
    /// Adjoint derivations, output side first.
    pub steps: Vec<StepData>,
    /// For each atom, the graph node whose value it stands for (adjoint
    /// symbols stand for the adjoint node of the main sweep).
    #[cfg_attr(not(test), allow(dead_code))] // read by the tests that evaluate closed forms
    pub atom_values: Vec<Id>,
}

/// Builds the explanation. `adjoint` is the main sweep's adjoint per node.
pub fn explain(
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
        });
    }

    // Definitions and inputs.
    for k in 0..nodes.len() {
        if matches!(nodes[k].kind, Kind::Parameter | Kind::Input) {
            continue;
        }
        let id = nodes[k].id;
        let mut inputs = Vec::new();
        let def = expr_sym(g, id, id, &index_of, &nodes, &mut inputs);
        inputs.sort_unstable();
        inputs.dedup();
        nodes[k].definition = Some(def);
        nodes[k].inputs = inputs;
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
            local[k] = local_sweep(g, nodes[k].id, &index_of);
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
                closed_rat: Rat::constant(0.0),
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
            let dr = cx.rat_of(g, d, &index_of, &nodes);
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
            closed_rat: total,
        });
    }
    ExplainData {
        function: function.to_owned(),
        nodes,
        steps,
        atom_values: cx.atom_values,
    }
}

/// `∂E/∂u` (for `from == usize::MAX`) or `∂from/∂to`.
fn partial(out: &(String, String), nodes: &[NamedNode], from: usize, to: usize) -> Sym {
    let (fu, fl) = if from == usize::MAX || from >= nodes.len() {
        out.clone()
    } else {
        (nodes[from].name.clone(), nodes[from].latex.clone())
    };
    let (tu, tl) = (&nodes[to].name, &nodes[to].latex);
    Sym::Atom(
        format!("∂{fu}/∂{tu}"),
        format!("\\frac{{\\partial {fl}}}{{\\partial {tl}}}"),
    )
}

fn sum_of(terms: Vec<Sym>) -> Sym {
    if terms.len() == 1 {
        return terms.into_iter().next().unwrap();
    }
    Sym::Add(
        terms
            .into_iter()
            .map(|t| match t {
                Sym::Neg(inner) => (true, *inner),
                t => (false, t),
            })
            .collect(),
    )
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

/// ∂`top`/∂(each named node its definition reads): a reverse sweep over the
/// anonymous nodes between them, with the same local derivatives as the
/// main sweep.
fn local_sweep(g: &mut Graph, top: Id, named: &HashMap<Id, usize>) -> Vec<(usize, Id)> {
    let mut adj: HashMap<Id, Id> = HashMap::new();
    let one = g.konst(1.0);
    adj.insert(top, one);
    let mut order = vec![top];
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![top];
    while let Some(id) = stack.pop() {
        for &a in &g.get(id).args.clone() {
            if !named.contains_key(&a) && !g.get(a).op.is_bool() && seen.insert(a) {
                order.push(a);
                stack.push(a);
            }
        }
    }
    order.sort_unstable_by(|a, b| b.cmp(a));
    order.dedup();
    let mut result: Vec<(usize, Id)> = Vec::new();
    for id in order {
        let Some(&a) = adj.get(&id) else { continue };
        let args = g.get(id).args.clone();
        for (k, &child) in args.iter().enumerate() {
            if g.get(child).op.is_bool() || matches!(g.get(child).op, Op::Const(_)) {
                continue;
            }
            let Some(d) = reverse::local_derivative(g, id, k) else {
                continue;
            };
            let contribution = g.mul(a, d);
            let next = match adj.get(&child) {
                Some(&prev) => g.add(prev, contribution),
                None => contribution,
            };
            adj.insert(child, next);
        }
    }
    for (&id, &d) in &adj {
        if let Some(&k) = named.get(&id) {
            if id != top && g.as_const(d) != Some(0.0) {
                result.push((k, d));
            }
        }
    }
    result.sort_unstable();
    result
}

struct AlgebraCx {
    atoms: Atoms,
    atom_values: Vec<Id>,
    memo: HashMap<Id, Rat>,
}

impl AlgebraCx {
    fn note_value(&mut self, a: Atom, id: Id) {
        if self.atom_values.len() <= a as usize {
            self.atom_values.resize(a as usize + 1, id);
        }
        self.atom_values[a as usize] = id;
    }

    fn atom_for(&mut self, key: String, sym: &Sym, value: Id) -> Rat {
        let (u, l) = (sym.unicode(), sym.latex());
        let a = self.atoms.intern(&key, || AtomInfo {
            unicode: u,
            latex: l,
            is_adjoint: false,
        });
        self.note_value(a, value);
        Rat::atom(a)
    }

    /// The graph expression `id` as a rational function of atoms.
    fn rat_of(
        &mut self,
        g: &Graph,
        id: Id,
        named: &HashMap<Id, usize>,
        nodes: &[NamedNode],
    ) -> Rat {
        if let Some(r) = self.memo.get(&id) {
            return r.clone();
        }
        let node = g.get(id).clone();
        let r = if let Some(&k) = named.get(&id) {
            let n = &nodes[k];
            self.atom_for(
                format!("n{k}"),
                &Sym::Atom(n.name.clone(), n.latex.clone()),
                id,
            )
        } else {
            let arg = |s: &mut Self, k: usize| s.rat_of(g, node.args[k], named, nodes);
            match node.op {
                Op::Const(bits) => Rat::constant(f64::from_bits(bits)),
                Op::Add => arg(self, 0).add(&arg(self, 1)),
                Op::Sub => arg(self, 0).add(&arg(self, 1).neg()),
                Op::Mul => arg(self, 0).mul(&arg(self, 1)),
                Op::Div => arg(self, 0).mul(&arg(self, 1).recip()),
                Op::Neg => arg(self, 0).neg(),
                Op::Fun(f) if PRIMITIVES[f as usize].algebra == Algebra::MulAdd => {
                    arg(self, 0).mul(&arg(self, 1)).add(&arg(self, 2))
                }
                Op::Fun(f) if PRIMITIVES[f as usize].algebra == Algebra::Recip => {
                    arg(self, 0).recip()
                }
                Op::Fun(f) if PRIMITIVES[f as usize].algebra == Algebra::Square => {
                    let a = arg(self, 0);
                    a.mul(&a)
                }
                Op::Powi(n) if (-8..=8).contains(&n) => {
                    let a = arg(self, 0);
                    let base = if n < 0 { a.recip() } else { a };
                    (0..n.unsigned_abs()).fold(Rat::constant(1.0), |acc, _| acc.mul(&base))
                }
                _ => {
                    // Not rational: an opaque atom, printed with named atoms.
                    let sym = expr_sym(g, id, id, named, nodes, &mut Vec::new());
                    self.atom_for(format!("o{}", sym.unicode()), &sym, id)
                }
            }
        };
        // A rational function of more than MAX_INLINE terms (the sum of a
        // 3,000-element array) is unreadable, and carrying it up a chain of
        // additions copies it at every level: it becomes an atom `…`.
        let size = r.num.0.len() + r.den.iter().map(|p| p.0.len()).sum::<usize>();
        let r = if size > MAX_INLINE {
            self.atom_for(
                format!("big{}", id.0),
                &Sym::Atom("…".into(), "\\ldots".into()),
                id,
            )
        } else {
            r
        };
        self.memo.insert(id, r.clone());
        r
    }
}

/// The largest unnamed subexpression written out in a definition; a larger
/// one (`x.abs().abs()…` shares each level twice, so its tree doubles with
/// every level) is shown as `…`.
const MAX_INLINE: usize = 64;

/// The expression of `top` down to named nodes (which become atoms, and
/// are recorded in `inputs`).
fn expr_sym(
    g: &Graph,
    top: Id,
    id: Id,
    named: &HashMap<Id, usize>,
    nodes: &[NamedNode],
    inputs: &mut Vec<usize>,
) -> Sym {
    expr_sym_memo(g, top, id, named, nodes, inputs, &mut HashMap::new())
}

/// [`expr_sym`], each node built once (`memo`), so a shared subexpression
/// costs its size, not the number of paths to it.
fn expr_sym_memo(
    g: &Graph,
    top: Id,
    id: Id,
    named: &HashMap<Id, usize>,
    nodes: &[NamedNode],
    inputs: &mut Vec<usize>,
    memo: &mut HashMap<Id, (Sym, Vec<usize>)>,
) -> Sym {
    if id != top {
        if let Some(&k) = named.get(&id) {
            inputs.push(k);
            return Sym::Atom(nodes[k].name.clone(), nodes[k].latex.clone());
        }
    }
    if let Some((sym, seen)) = memo.get(&id) {
        inputs.extend(seen);
        return sym.clone();
    }
    let mut own = Vec::new();
    let sym = expr_sym_node(g, top, id, named, nodes, &mut own, memo);
    let sym = if id != top && sym.size() > MAX_INLINE {
        Sym::Atom("…".into(), "\\ldots".into())
    } else {
        sym
    };
    own.sort_unstable();
    own.dedup();
    inputs.extend(&own);
    memo.insert(id, (sym.clone(), own));
    sym
}

fn expr_sym_node(
    g: &Graph,
    top: Id,
    id: Id,
    named: &HashMap<Id, usize>,
    nodes: &[NamedNode],
    inputs: &mut Vec<usize>,
    memo: &mut HashMap<Id, (Sym, Vec<usize>)>,
) -> Sym {
    let node = g.get(id);
    let mut a = |k: usize| expr_sym_memo(g, top, node.args[k], named, nodes, inputs, memo);
    match node.op {
        Op::Const(bits) => Sym::Num(f64::from_bits(bits)),
        Op::BoolConst(b) => Sym::Atom(b.to_string(), format!("\\text{{{b}}}")),
        Op::Param { .. } | Op::RtInt(_) | Op::Extern(_) | Op::BoolParam(_) => {
            Sym::Atom(format!("{}", id.0), format!("{}", id.0))
        }
        Op::Add => {
            let (x, y) = (a(0), a(1));
            let mut terms = match x {
                Sym::Add(t) => t,
                x => vec![(false, x)],
            };
            match y {
                Sym::Neg(inner) => terms.push((true, *inner)),
                y => terms.push((false, y)),
            }
            Sym::Add(terms)
        }
        Op::Sub => {
            let (x, y) = (a(0), a(1));
            let mut terms = match x {
                Sym::Add(t) => t,
                x => vec![(false, x)],
            };
            terms.push((true, y));
            Sym::Add(terms)
        }
        Op::Mul => {
            let (x, y) = (a(0), a(1));
            // Constants first, as people write `0.5·x`.
            if matches!(y, Sym::Num(_)) {
                Sym::product(vec![y, x])
            } else {
                Sym::product(vec![x, y])
            }
        }
        Op::Div => {
            let (x, y) = (a(0), a(1));
            Sym::Div(Box::new(x), Box::new(y))
        }
        Op::Neg => Sym::Neg(Box::new(a(0))),
        Op::Powi(n) => Sym::Pow(Box::new(a(0)), n),
        Op::Fun(f) if PRIMITIVES[f as usize].algebra == Algebra::MulAdd => {
            let (x, y, z) = (a(0), a(1), a(2));
            Sym::Add(vec![(false, Sym::product(vec![x, y])), (false, z)])
        }
        Op::Fun(f) => {
            let p = &PRIMITIVES[f as usize];
            let args = (0..node.args.len()).map(&mut a).collect();
            Sym::Call(p.name.to_owned(), p.latex_name(), args)
        }
        Op::Cmp(c) => {
            let (x, y) = (a(0), a(1));
            let latex = match c.symbol() {
                "<=" => "\\le",
                ">=" => "\\ge",
                "!=" => "\\ne",
                "==" => "=",
                s => s,
            };
            Sym::Infix(c.symbol(), latex, Box::new(x), Box::new(y))
        }
        Op::And | Op::Or => {
            let (x, y) = (a(0), a(1));
            let (u, l) = if node.op == Op::And {
                ("∧", "\\land")
            } else {
                ("∨", "\\lor")
            };
            Sym::Infix(u, l, Box::new(x), Box::new(y))
        }
        Op::Not => Sym::Not(Box::new(a(0))),
        Op::Select => {
            let (c, x, y) = (a(0), a(1), a(2));
            Sym::Select(Box::new(c), Box::new(x), Box::new(y))
        }
        Op::Call(k) => {
            let path = g.calls[k as usize].vjp_path.to_string().replace(' ', "");
            let name = path.trim_end_matches("_vjp").to_owned();
            let args = (0..node.args.len()).map(&mut a).collect();
            Sym::Call(
                name.clone(),
                format!("\\operatorname{{{}}}", name.replace('_', "\\_")),
                args,
            )
        }
        Op::Proj(k) => Sym::Atom(format!("∂call/∂arg{k}"), format!("\\partial_{{{k}}}")),
        Op::IntConst(v) => Sym::Num(v as f64),
        Op::IntToFloat => a(0),
        Op::ToInt(_) => {
            let x = a(0);
            Sym::Call("trunc".into(), "\\operatorname{trunc}".into(), vec![x])
        }
        // Explanations are built on unrolled code (see `expand::compile`):
        // loop and buffer nodes only appear there as opaque values.
        _ => Sym::Atom(format!("v{}", id.0), format!("v_{{{}}}", id.0)),
    }
}

fn element_name(base: &str, kind: &ParamKind, index: usize) -> String {
    let ParamKind::Float { shape } = kind else {
        return base.to_owned();
    };
    if shape.is_empty() {
        return base.to_owned();
    }
    let idx = crate::graph::unflatten(index, shape);
    format!(
        "{base}{}",
        idx.iter().map(|i| format!("[{i}]")).collect::<String>()
    )
}

fn subscript(k: usize) -> String {
    k.to_string()
        .chars()
        .map(|c| char::from_u32(0x2080 + c.to_digit(10).unwrap_or(0)).unwrap_or(c))
        .collect()
}

/// A name in LaTeX: `w[4]` → `w_{4}`, `z3` → `z_{3}`, `out₂` → `out^{(2)}`.
pub fn latex_name(name: &str) -> String {
    let base = name.trim_end_matches(|c: char| ('₀'..='₉').contains(&c));
    let k: String = name[base.len()..]
        .chars()
        .map(|c| char::from_u32(c as u32 - 0x2080 + '0' as u32).unwrap_or(c))
        .collect();
    let tail = if k.is_empty() {
        String::new()
    } else {
        format!("^{{({k})}}")
    };
    let name = base;
    if let Some((base, rest)) = name.split_once('[') {
        let idx = rest.trim_end_matches(']').replace("][", ",");
        return format!("{}_{{{idx}}}{tail}", latex_name(base));
    }
    if let Some((base, sub)) = name.split_once('_') {
        if !base.is_empty() && !sub.is_empty() {
            return format!("{base}_{{{}}}{tail}", sub.replace('_', "\\_"));
        }
    }
    let digits = name.trim_start_matches(|c: char| !c.is_ascii_digit());
    if !digits.is_empty() && digits.len() < name.len() && digits.chars().all(|c| c.is_ascii_digit())
    {
        return format!("{}_{{{digits}}}{tail}", &name[..name.len() - digits.len()]);
    }
    format!("{name}{tail}")
}

/// `NAME_explain() -> Explanation`.
pub fn explain_fn(data: &ExplainData, vis: &syn::Visibility, name: &syn::Ident) -> TokenStream {
    let explain_name = quote::format_ident!("{}_explain", name);
    let graph = graph_tokens(data);
    let steps = data.steps.iter().map(|s| {
        let node = s.node;
        let (chain, closed) = (s.chain.unicode(), s.closed.unicode());
        let (chain_latex, closed_latex) = (s.chain.latex(), s.closed.latex());
        let adjoint_latex = s.adjoint.latex();
        quote! {
            ::backprop::core::explain::Step {
                node: #node,
                chain: ::std::string::String::from(#chain),
                closed: ::std::string::String::from(#closed),
                chain_latex: ::std::string::String::from(#chain_latex),
                closed_latex: ::std::string::String::from(#closed_latex),
                adjoint_latex: ::std::string::String::from(#adjoint_latex),
            }
        }
    });
    let doc = format!(" The computation graph of [`{name}`] in its own names and the chain-rule derivation of every adjoint, generated by `#[derive_grad(explain)]`.");
    quote! {
        #[doc = #doc]
        #vis fn #explain_name() -> ::backprop::core::explain::Explanation {
            ::backprop::core::explain::Explanation {
                graph: #graph,
                derivation: ::backprop::core::explain::Derivation { steps: vec![#(#steps),*] },
            }
        }
    }
}

/// The `Graph` value.
pub fn graph_tokens(data: &ExplainData) -> TokenStream {
    let function = &data.function;
    let nodes = data.nodes.iter().map(|n| {
        let name = &n.name;
        let kind = match n.kind {
            Kind::Parameter => quote!(Parameter),
            Kind::Input => quote!(Input),
            Kind::Intermediate => quote!(Intermediate),
            Kind::Output => quote!(Output),
        };
        let def = n.definition.as_ref().map(Sym::unicode).unwrap_or_default();
        let inputs = &n.inputs;
        quote! {
            ::backprop::core::explain::Node {
                name: ::std::string::String::from(#name),
                kind: ::backprop::core::explain::NodeKind::#kind,
                definition: ::std::string::String::from(#def),
                inputs: vec![#(#inputs),*],
            }
        }
    });
    quote! {
        ::backprop::core::explain::Graph {
            function: ::std::string::String::from(#function),
            nodes: vec![#(#nodes),*],
        }
    }
}
