//! The indexed explanation, for code whose loops stay loops: every value
//! is written once with the loop variables as indices, as the tutorials
//! write backpropagation (`z[j] = Σ_i w1[j][i]·x[i]`,
//! `∂loss/∂w1[j][i] = ∂loss/∂h[j]·(1 − h[j]²)·x[i]`), so the explanation of
//! an MNIST-size network is as long as its code, not as its weights.
//!
//! The nodes are families of values:
//!
//! - a parameter or input element as the code reads it (`w1[j][i]`, `x[i]`);
//! - a value named with `let` in a loop body, one per iteration (`a[j]`);
//! - an element of a local array written in a loop (`h[j]`);
//! - a sum accumulated by a loop (`let mut z = 0.0; for i … { z += … }`),
//!   written `z[j] = Σ_i …`;
//! - a value a loop carries and replaces (`h = (w·h + u·x[t]).tanh()`),
//!   written as a recurrence `h[t] = tanh(w·h[t−1] + u·x[t])`.
//!
//! The adjoint of a family element `m[D]` sums, over every place a user `u`
//! reads it, `∂loss/∂u·∂u/∂m`: the place's index expressions are solved for
//! the user's loop variables (`h[t − 1]` read in iteration `t` is `h[t]`
//! read in iteration `t + 1`), the variables left free are summed
//! (`∂loss/∂x[i] = Σ_j ∂loss/∂z[j]·w1[j][i]`), and an index that cannot be
//! solved becomes an Iverson bracket (`[t = n−1]·∂loss/∂h[n−1]`). The local
//! derivatives come from the same op table as `NAME_grad`.
//!
//! What this cannot write exactly (a `while` loop, an array read in the loop
//! that writes it, an element written in several iterations) is an error
//! that says so, never an approximate derivation.

use std::collections::{HashMap, HashSet};

use super::affine::Affine;
use super::expr::{expr_sym, AlgebraCx};
use super::{element_name, subscript, sum_of, ExplainData, Kind, NamedNode, StepData};
use crate::algebra::{AtomInfo, Atoms, Rat};
use crate::graph::{Graph, Id, Kind as GKind, Mode, Op};
use crate::signature::{ParamKind, SigInfo};
use crate::sym::Sym;

/// An index of a named value.
#[derive(Clone, Copy, Debug)]
enum Ix {
    /// An integer of the graph (a loop variable, `i + 1`, `label`).
    Node(Id),
    /// Loop `l`'s variable plus a constant: a recurrence reads `h[t − 1]`.
    Shift(u32, i64),
    /// The last value of loop `l`'s variable: what the loop leaves behind.
    Last(u32),
    /// A compile-time index (`w[3]` read outside any loop).
    Const(i64),
}

/// Where an occurrence's value comes from: element `idx` of node `node`,
/// and with `first`, only in the first iteration of that loop.
#[derive(Clone, Debug)]
struct Link {
    node: usize,
    idx: Vec<Ix>,
    first: Option<u32>,
    /// The element `idx` must equal for the read to see `node`, when that
    /// is not `node`'s own index: a local array built from values
    /// (`o = [s, s₁, …]` read at `o[label]`) holds `s₁` at `[1]`.
    at: Option<Vec<i64>>,
}

/// What a read of a local array can see.
enum Source {
    /// An element written by this store.
    Store(Id),
    /// The array's initial value `value` at a fixed element.
    Element(Id, Vec<i64>),
}

/// An array element that a loop accumulates (`for j … { o[c] += term }`):
/// written `o[c] = Σ_j term`.
#[derive(Clone, Debug)]
struct ArraySum {
    /// The loop doing the sum.
    l: u32,
    term: Id,
    subtracted: bool,
    /// The read of the element being added to.
    load: Id,
    /// The value the sum starts from (`None`: zero), or why it cannot be
    /// written.
    init: Result<Option<Id>, String>,
}

/// A graph node that stands for a named value where it is read.
#[derive(Clone, Debug)]
struct Occ {
    base: String,
    idx: Vec<Ix>,
    links: Vec<Link>,
}

/// One part of a definition: its root, and the loops whose variables are
/// in scope in it; a sum's term also names the loop it is summed over.
#[derive(Clone, Debug)]
struct Part {
    top: Id,
    scope: Vec<u32>,
    summed: Option<u32>,
}

/// What the derivation needs of an explanation node.
#[derive(Clone, Debug)]
struct Def {
    base: String,
    idx: Vec<Ix>,
    parts: Vec<Part>,
}

/// A place where node `user` reads another: part `part`, occurrence `occ`
/// (its link `link`), with local derivative `d`.
struct Edge {
    user: usize,
    part: usize,
    occ: Id,
    link: usize,
    d: Id,
}

/// Builds the indexed explanation, or says what it cannot write.
pub(super) fn explain(
    g: &mut Graph,
    sig: &SigInfo,
    output: Id,
    function: &str,
) -> Result<ExplainData, String> {
    let live = crate::emit::live_nodes(g, &[output]);
    let mut b = Builder::new(g, sig, &live)?;
    b.build_nodes(output, function)?;
    b.derive(function)
}

struct Builder<'a> {
    g: &'a mut Graph,
    sig: &'a SigInfo,
    live: &'a [bool],
    /// The forward loop whose body each region is.
    loop_of_region: HashMap<u32, u32>,
    /// Each forward loop variable's name (primed when an enclosing loop
    /// uses the same name).
    var_names: HashMap<u32, String>,
    /// Accumulated sums: (loop, carried) → (term, subtracted).
    sums: HashMap<(u32, u32), (Id, bool)>,
    /// Array elements accumulated by the innermost loop adding to them
    /// (`for j … { o[c] += term }`): the store → (loop, term, subtracted,
    /// the load of the element being added to).
    array_sums: HashMap<Id, ArraySum>,
    /// Stores whose value a sum of an array element starts from (`o[c] =
    /// b[c]` before `for j … { o[c] += … }`): that sum's definition reads
    /// the value itself.
    absorbed: HashSet<Id>,
    nodes: Vec<NamedNode>,
    defs: Vec<Def>,
    occ: HashMap<Id, Occ>,
    by_key: HashMap<String, usize>,
    name_uses: HashMap<String, usize>,
    /// The node of each store, with the store's index expressions.
    store_node: HashMap<Id, usize>,
    /// For a parameter read at loop variables somewhere (`x[i]`), that
    /// read: every read of the parameter is then an element of one node
    /// `x[i]` (`x[i + 1]` read in iteration `i` is `x[i]` of iteration
    /// `i − 1`), so its step is its whole gradient.
    canonical: HashMap<u32, Vec<Ix>>,
}

impl<'a> Builder<'a> {
    fn new(g: &'a mut Graph, sig: &'a SigInfo, live: &'a [bool]) -> Result<Builder<'a>, String> {
        let mut loop_of_region = HashMap::new();
        for (l, info) in g.loops.iter().enumerate() {
            if info.reverses.is_some() || !info.node.is_some_and(|n| live[n.index()]) {
                continue;
            }
            if info.counted() {
                return Err("`explain` does not yet write `while` loops or loops that `break` in index notation: remove `explain`, or explain a version with a `for` loop over a range".into());
            }
            loop_of_region.insert(info.body, l as u32);
        }
        let mut b = Builder {
            g,
            sig,
            live,
            loop_of_region,
            var_names: HashMap::new(),
            sums: HashMap::new(),
            array_sums: HashMap::new(),
            absorbed: HashSet::new(),
            nodes: Vec::new(),
            defs: Vec::new(),
            occ: HashMap::new(),
            by_key: HashMap::new(),
            name_uses: HashMap::new(),
            store_node: HashMap::new(),
            canonical: HashMap::new(),
        };
        // Loop variables, outer loops first (their bodies have smaller depth).
        let mut loops: Vec<u32> = b.loop_of_region.values().copied().collect();
        loops.sort_by_key(|&l| b.g.regions[b.g.loops[l as usize].body as usize].depth);
        for l in loops {
            let info = &b.g.loops[l as usize];
            let mut name = info
                .var_name
                .clone()
                .unwrap_or_else(|| format!("i{l}"))
                .trim_start_matches("r#")
                .to_owned();
            let outer = b.enclosing(b.g.regions[info.body as usize].parent);
            while outer.iter().any(|o| b.var_names.get(o) == Some(&name)) {
                name.push('′');
            }
            b.var_names.insert(l, name);
        }
        b.find_sums();
        b.find_array_sums();
        b.find_canonical();
        Ok(b)
    }

    /// The forward loops enclosing region `r` (its own loop included),
    /// outermost first.
    fn enclosing(&self, mut r: u32) -> Vec<u32> {
        let mut out = Vec::new();
        while r != 0 {
            if let Some(&l) = self.loop_of_region.get(&r) {
                out.push(l);
            }
            r = self.g.regions[r as usize].parent;
        }
        out.reverse();
        out
    }

    /// A carried float whose only use is `c + term` (or `c − term`) as the
    /// next iteration's value is a sum: `z = init + Σ term`.
    fn find_sums(&mut self) {
        let mut uses: HashMap<Id, usize> = HashMap::new();
        for (i, &is_live) in self.live.iter().enumerate() {
            if is_live {
                for &a in &self.g.get(Id(i as u32)).args {
                    *uses.entry(a).or_default() += 1;
                }
            }
        }
        for &l in self.loop_of_region.values() {
            let info = &self.g.loops[l as usize];
            for (k, (&c, &y)) in info.carried.iter().zip(&info.yields).enumerate() {
                if info.kinds[k] != GKind::Float || uses.get(&c).copied().unwrap_or(0) != 1 {
                    continue;
                }
                let node = self.g.get(y);
                let term = match node.op {
                    Op::Add if node.args[0] == c && node.args[1] != c => {
                        Some((node.args[1], false))
                    }
                    Op::Add if node.args[1] == c && node.args[0] != c => {
                        Some((node.args[0], false))
                    }
                    Op::Sub if node.args[0] == c && node.args[1] != c => Some((node.args[1], true)),
                    _ => None,
                };
                if let Some(t) = term {
                    self.sums.insert((l, k as u32), t);
                }
            }
        }
    }

    /// A carried array whose only uses in the loop body are one read and
    /// one write of the same element, the write being `read + term` (or
    /// `read − term`) at an index that does not depend on the loop's
    /// variable, is a sum per element: `o[c] = init + Σ_j term`.
    fn find_array_sums(&mut self) {
        let mut users: HashMap<Id, Vec<Id>> = HashMap::new();
        for (i, &is_live) in self.live.iter().enumerate() {
            if is_live {
                for &a in &self.g.get(Id(i as u32)).args {
                    users.entry(a).or_default().push(Id(i as u32));
                }
            }
        }
        let only_user = |id: Id| match users.get(&id).map(Vec::as_slice) {
            Some(&[u]) => Some(u),
            _ => None,
        };
        for &l in self.loop_of_region.values() {
            let info = &self.g.loops[l as usize];
            for (k, (&c, &y)) in info.carried.iter().zip(&info.yields).enumerate() {
                if info.kinds[k] != GKind::Buffer {
                    continue;
                }
                let Some(readers) = users.get(&c) else {
                    continue;
                };
                let (load, store) = match *readers.as_slice() {
                    [a, b] if self.g.get(a).op == Op::Load => (a, b),
                    [a, b] if self.g.get(b).op == Op::Load => (b, a),
                    _ => continue,
                };
                let st = self.g.get(store);
                let ld = self.g.get(load);
                if store != y
                    || st.op != Op::Store
                    || st.args[1..st.args.len() - 1] != ld.args[1..]
                    || only_user(load).is_none()
                {
                    continue;
                }
                let value = *st.args.last().expect("store has a value");
                if only_user(load) != Some(value) {
                    continue;
                }
                let node = self.g.get(value);
                let term = match node.op {
                    Op::Add if node.args[0] == load && node.args[1] != load => {
                        (node.args[1], false)
                    }
                    Op::Add if node.args[1] == load && node.args[0] != load => {
                        (node.args[0], false)
                    }
                    Op::Sub if node.args[0] == load && node.args[1] != load => (node.args[1], true),
                    _ => continue,
                };
                let var = self.var(l).to_owned();
                let fixed = ld.args[1..]
                    .iter()
                    .all(|&a| !self.int_affine(a, &HashMap::new()).mentions(&var));
                if fixed {
                    let idx = ld.args[1..].to_vec();
                    let loop_node = info.node.expect("finished loop");
                    let init_buf = self.g.get(loop_node).args[2 + k];
                    let mut through = Vec::new();
                    let init = self.sum_init(init_buf, &idx, loop_node, &users, &mut through);
                    if init.is_ok() {
                        self.absorbed.extend(through);
                    }
                    self.array_sums.insert(
                        store,
                        ArraySum {
                            l,
                            term: term.0,
                            subtracted: term.1,
                            load,
                            init,
                        },
                    );
                }
            }
        }
    }

    /// The value element `idx` of buffer `buf` holds when a sum starts
    /// adding to it: `Ok(None)` for a constant zero (a fresh `[0.0; N]`),
    /// `Ok(Some(v))` for a value stored at the same element just before (`o[c]
    /// = b[c]; for j … { o[c] += … }`), with the stores it passes through.
    /// `reader` is the loop that starts from `buf`; a value read elsewhere
    /// too is not only the sum's start.
    fn sum_init(
        &self,
        buf: Id,
        idx: &[Id],
        reader: Id,
        users: &HashMap<Id, Vec<Id>>,
        absorbed: &mut Vec<Id>,
    ) -> Result<Option<Id>, String> {
        let node = self.g.get(buf);
        let zero = |a: &Id| self.g.as_const(*a) == Some(0.0);
        let only_reader = users.get(&buf).is_some_and(|u| u.as_slice() == [reader]);
        match node.op {
            Op::NewArray(_) if node.args.iter().all(zero) => Ok(None),
            Op::NewVec { .. } if zero(&node.args[0]) => Ok(None),
            Op::Store if node.args[1..node.args.len() - 1] == *idx && only_reader => {
                absorbed.push(buf);
                Ok(Some(*node.args.last().expect("store has a value")))
            }
            // The array an enclosing loop carries, each iteration adding
            // to its own element: the element's value before that loop.
            Op::Carried { l, k } if self.loop_of_region.contains_key(&self.g.loops[l as usize].body) => {
                let var = self.var(l).to_owned();
                let own = idx
                    .iter()
                    .any(|&a| self.int_affine(a, &HashMap::new()).mentions(&var));
                let info = &self.g.loops[l as usize];
                match info.node {
                    Some(loop_node) if own && only_reader => {
                        let init = self.g.get(loop_node).args[2 + k as usize];
                        self.sum_init(init, idx, loop_node, users, absorbed)
                    }
                    _ => Err(format!("`explain` does not yet write in index notation an array element that every iteration of the loop over `{var}` adds to again: remove `explain`, or index the array by that loop's variable")),
                }
            }
            _ => Err("`explain` writes an element accumulated with `+=` in index notation when it starts from zero (`[0.0; N]`) or from a value stored just before the loop (`o[c] = b[c]; for j … { o[c] += … }`): remove `explain`, or start the array from zeros and add the initial value in the loop".into()),
        }
    }

    fn find_canonical(&mut self) {
        for (i, &is_live) in self.live.iter().enumerate() {
            let node = self.g.get(Id(i as u32));
            if !is_live || node.op != Op::Load {
                continue;
            }
            let Op::ArrayParam(p) = self.g.get(self.g.storage(node.args[0])).op else {
                continue;
            };
            let vars: Vec<Option<u32>> = node.args[1..]
                .iter()
                .map(|&a| match self.g.get(a).op {
                    Op::LoopVar(l) if self.var_names.contains_key(&l) => Some(l),
                    _ => None,
                })
                .collect();
            let distinct: HashSet<&Option<u32>> = vars.iter().collect();
            if vars.iter().all(Option::is_some) && distinct.len() == vars.len() {
                self.canonical
                    .entry(p)
                    .or_insert_with(|| node.args[1..].iter().map(|&a| Ix::Node(a)).collect());
            }
        }
    }

    /// The read of parameter `p` at `idx` (`base` its name): an element of
    /// its canonical node if it has one, else a node of its own.
    fn param_read(&mut self, id: Id, p: u32, base: &str, idx: Vec<Ix>, kind: Kind) {
        let Some(canon) = self.canonical.get(&p).cloned() else {
            return self.leaf(id, base, idx, kind);
        };
        let node = self.keyed_node(format!("param{p}"), id, base, canon, kind);
        self.single_read(id, base.to_owned(), idx, node);
    }

    fn var(&self, l: u32) -> &str {
        &self.var_names[&l]
    }

    /// Integer node `id` as an affine form, loop variables replaced by `subst`.
    fn int_affine(&self, id: Id, subst: &HashMap<u32, Affine>) -> Affine {
        let node = self.g.get(id);
        let arg = |k: usize| self.int_affine(node.args[k], subst);
        match node.op {
            Op::LoopVar(l) => subst
                .get(&l)
                .cloned()
                .unwrap_or_else(|| Affine::atom(self.var_names.get(&l).map_or("?", |s| s))),
            Op::IntConst(v) => Affine::constant(v),
            Op::RtInt(k) => {
                let t = self.g.rt_ints[k as usize].to_string().replace(' ', "");
                match t.parse::<i64>() {
                    Ok(v) => Affine::constant(v),
                    Err(_) => Affine::atom(&t),
                }
            }
            Op::IntAdd => arg(0).add_scaled(&arg(1), 1),
            Op::IntSub => arg(0).add_scaled(&arg(1), -1),
            Op::IntMul => {
                let (a, b) = (arg(0), arg(1));
                match (a.as_const(), b.as_const()) {
                    (Some(k), _) => b.scale(k),
                    (_, Some(k)) => a.scale(k),
                    _ => Affine::atom(&format!("({a}·{b})")),
                }
            }
            Op::IntDiv => Affine::atom(&format!("({}/{})", arg(0), arg(1))),
            Op::IntRem => Affine::atom(&format!("({} mod {})", arg(0), arg(1))),
            Op::IntBit(b) => Affine::atom(&format!("({} {} {})", arg(0), b.symbol(), arg(1))),
            Op::IntFn(f) => Affine::atom(&format!("{}({})", f.name(), arg(0))),
            // A checked bound or index is the integer it checks.
            Op::CheckRange | Op::CheckIndex => arg(0),
            Op::IntPick => {
                let items: Vec<String> = (1..node.args.len()).map(|k| arg(k).to_string()).collect();
                Affine::atom(&format!("[{}][{}]", items.join(", "), arg(0)))
            }
            Op::IntLoad(p) => Affine::atom(&format!(
                "{}[{}]",
                self.sig.params[p as usize].display,
                arg(0)
            )),
            _ => Affine::atom("?"),
        }
    }

    fn ix_affine(&self, ix: Ix, subst: &HashMap<u32, Affine>) -> Affine {
        match ix {
            Ix::Node(id) => self.int_affine(id, subst),
            Ix::Const(c) => Affine::constant(c),
            Ix::Shift(l, d) => subst
                .get(&l)
                .cloned()
                .unwrap_or_else(|| Affine::atom(self.var(l)))
                .add_scaled(&Affine::constant(d), 1),
            Ix::Last(l) => {
                let info = &self.g.loops[l as usize];
                let node = self.g.get(info.node.expect("finished loop"));
                if info.reversed {
                    self.int_affine(node.args[0], subst)
                } else {
                    let hi = self.int_affine(node.args[1], subst);
                    let step = if info.inclusive { 0 } else { -1 };
                    hi.add_scaled(&Affine::constant(step), 1)
                }
            }
        }
    }

    /// The first value of loop `l`'s variable.
    fn first(&self, l: u32) -> Affine {
        let info = &self.g.loops[l as usize];
        if info.reversed {
            self.ix_affine(Ix::Last(l), &HashMap::new())
        } else {
            let node = self.g.get(info.node.expect("finished loop"));
            self.int_affine(node.args[0], &HashMap::new())
        }
    }

    /// `base[i][j]` under `subst`, in Unicode and LaTeX.
    fn display(&self, base: &str, idx: &[Ix], subst: &HashMap<u32, Affine>) -> Sym {
        let ix: Vec<Affine> = idx.iter().map(|&i| self.ix_affine(i, subst)).collect();
        let unicode = format!(
            "{base}{}",
            ix.iter().map(|a| format!("[{a}]")).collect::<String>()
        );
        let base_latex = super::latex_name(base);
        let latex = if ix.is_empty() {
            base_latex
        } else {
            let subs = ix.iter().map(Affine::latex).collect::<Vec<_>>().join(",");
            if base_latex.contains('_') || base_latex.contains('^') {
                format!("{{{base_latex}}}_{{{subs}}}")
            } else {
                format!("{base_latex}_{{{subs}}}")
            }
        };
        Sym::Atom(unicode, latex)
    }

    /// The loop variables of the loops enclosing region `r`, as indices.
    fn scope_idx(&self, r: u32) -> Vec<Ix> {
        self.enclosing(r)
            .into_iter()
            .map(|l| Ix::Node(self.g.loops[l as usize].var))
            .collect()
    }

    /// A new node; a name already used gets a subscript (`o`, `o₁`).
    fn add_node(
        &mut self,
        id: Id,
        base: &str,
        idx: Vec<Ix>,
        kind: Kind,
        parts: Vec<Part>,
    ) -> usize {
        // Parameters and inputs are told apart by their indices.
        let leaf = matches!(kind, Kind::Parameter | Kind::Input);
        let uses = self.name_uses.entry(base.to_owned()).or_insert(0);
        let base = if *uses == 0 || leaf {
            base.to_owned()
        } else {
            format!("{base}{}", subscript(*uses))
        };
        *uses += 1;
        let sym = self.display(&base, &idx, &HashMap::new());
        let elements = self.elements(&idx);
        self.nodes.push(NamedNode {
            id,
            name: sym.unicode(),
            latex: sym.latex(),
            kind,
            definition: None,
            inputs: Vec::new(),
            elements,
        });
        self.defs.push(Def { base, idx, parts });
        self.nodes.len() - 1
    }

    /// `j ∈ 0..18, i ∈ 0..n` for the loop variables in `idx`.
    fn elements(&self, idx: &[Ix]) -> String {
        let ix: Vec<Affine> = idx
            .iter()
            .map(|&i| self.ix_affine(i, &HashMap::new()))
            .collect();
        let mut loops: Vec<u32> = self.loop_of_region.values().copied().collect();
        loops.sort_unstable();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for l in loops {
            let name = self.var(l);
            if ix.iter().any(|a| a.mentions(name)) && seen.insert(name) {
                let info = &self.g.loops[l as usize];
                let node = self.g.get(info.node.expect("finished loop"));
                let (lo, hi) = (
                    self.int_affine(node.args[0], &HashMap::new()),
                    self.int_affine(node.args[1], &HashMap::new()),
                );
                let dots = if info.inclusive { "..=" } else { ".." };
                out.push(format!("{name} ∈ {lo}{dots}{hi}"));
            }
        }
        out.join(", ")
    }

    /// `id` reads element `idx` of `node`, written `base[idx]`.
    fn single_read(&mut self, id: Id, base: String, idx: Vec<Ix>, node: usize) {
        let links = vec![Link {
            node,
            idx: idx.clone(),
            first: None,
            at: None,
        }];
        self.occ.insert(id, Occ { base, idx, links });
    }

    /// `id` is the value node `node` defines, where it is read again.
    fn identity_occ(&mut self, id: Id, node: usize) {
        let d = &self.defs[node];
        self.single_read(id, d.base.clone(), d.idx.clone(), node);
    }

    /// The node of a parameter or input element, by its written form.
    fn leaf(&mut self, id: Id, base: &str, idx: Vec<Ix>, kind: Kind) {
        let key = self.display(base, &idx, &HashMap::new()).unicode();
        let node = self.keyed_node(key, id, base, idx.clone(), kind);
        self.single_read(id, base.to_owned(), idx, node);
    }

    /// The leaf node known by `key`, created (as `base[idx]`, first read at
    /// `id`) on first use.
    fn keyed_node(&mut self, key: String, id: Id, base: &str, idx: Vec<Ix>, kind: Kind) -> usize {
        if let Some(&n) = self.by_key.get(&key) {
            return n;
        }
        let n = self.add_node(id, base, idx, kind, Vec::new());
        self.by_key.insert(key, n);
        n
    }

    /// What a load through buffer value `b` can read.
    fn sources(&self, b: Id, top: bool, out: &mut Vec<Source>) -> Result<(), String> {
        let node = self.g.get(b);
        match node.op {
            Op::Store => {
                if !self.absorbed.contains(&b) {
                    out.push(Source::Store(b));
                }
                self.sources(node.args[0], false, out)
            }
            Op::LoopOut(k) => {
                let Op::Loop(l) = self.g.get(node.args[0]).op else {
                    return Ok(());
                };
                let info = &self.g.loops[l as usize];
                let init = self.g.get(node.args[0]).args[2 + k as usize];
                self.sources(info.yields[k as usize], false, out)?;
                self.sources(init, false, out)
            }
            Op::Carried { .. } if top => Err("`explain` does not yet write in index notation an array that a loop reads and writes from one iteration to the next (`h[i + 1] = … h[i] …`, or `o[c] += …` in a loop over `c` inside the loop doing the sum): remove `explain`, write each layer into its own array, or make the loop that sums the innermost (`for c … { for j … { o[c] += … } }`)".into()),
            Op::Carried { .. } => Ok(()),
            Op::NewArray(s) => {
                let shape = self.g.shapes[s as usize].clone();
                for (k, &a) in node.args.iter().enumerate() {
                    if self.g.as_const(a).is_some() {
                        continue;
                    }
                    if !self.occ.contains_key(&a) {
                        return Err("`explain` does not yet write in index notation a local array whose initial elements are computed: remove `explain`, or name each element with `let` first".into());
                    }
                    let at = crate::graph::unflatten(k, &shape).into_iter().map(|i| i as i64).collect();
                    out.push(Source::Element(a, at));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The fixed element a source writes, if it is one.
    fn source_element(&self, s: &Source) -> Option<Vec<i64>> {
        match s {
            Source::Element(_, at) => Some(at.clone()),
            Source::Store(st) => {
                let args = &self.g.get(*st).args;
                args[1..args.len() - 1]
                    .iter()
                    .map(|&a| self.int_affine(a, &HashMap::new()).as_const())
                    .collect()
            }
        }
    }

    fn build_nodes(&mut self, output: Id, function: &str) -> Result<(), String> {
        let mut int_as_float: HashSet<Id> = HashSet::new();
        for i in 0..=output.index() {
            let node = self.g.get(Id(i as u32));
            if self.live[i] && node.op == Op::IntToFloat {
                int_as_float.insert(node.args[0]);
            }
        }
        // The yields of recurrences: (loop, carried).
        let mut recurrence: HashMap<Id, (u32, u32)> = HashMap::new();
        let mut sum_yield: HashSet<Id> = HashSet::new();
        for &l in self.loop_of_region.values() {
            let info = &self.g.loops[l as usize];
            for (k, &y) in info.yields.iter().enumerate() {
                if info.kinds[k] != GKind::Float {
                    continue;
                }
                if self.sums.contains_key(&(l, k as u32)) {
                    sum_yield.insert(y);
                } else {
                    recurrence.insert(y, (l, k as u32));
                }
            }
        }
        let sum_loads: HashSet<Id> = self.array_sums.values().map(|a| a.load).collect();
        let mut family: HashMap<(u32, u32), usize> = HashMap::new();
        let mut carried_occ: HashMap<(u32, u32), Id> = HashMap::new();
        for i in 0..=output.index() {
            let id = Id(i as u32);
            if !self.live[i] {
                continue;
            }
            let node = self.g.get(id).clone();
            let region = self.g.region_of[i];
            // The node the recurrence arm makes of `id`, if it does.
            let mut made = None;
            match node.op {
                Op::Param { param, index } if self.g.kinds[i] == GKind::Float => {
                    let p = &self.sig.params[param as usize];
                    let kind = if self.sig.wrt.contains(&(param as usize)) {
                        Kind::Parameter
                    } else {
                        Kind::Input
                    };
                    if self.canonical.contains_key(&param) {
                        let shape = match &p.kind {
                            ParamKind::Float { shape } => shape.clone(),
                            _ => Vec::new(),
                        };
                        let idx = crate::graph::unflatten(index as usize, &shape)
                            .into_iter()
                            .map(|k| Ix::Const(k as i64))
                            .collect();
                        let name = p.name.to_string();
                        self.param_read(id, param, name.trim_start_matches("r#"), idx, kind);
                    } else {
                        let name = element_name(&p.name.to_string(), &p.kind, index as usize);
                        self.leaf(id, name.trim_start_matches("r#"), Vec::new(), kind);
                    }
                }
                Op::RtInt(k) if int_as_float.contains(&id) => {
                    let name = self.g.rt_ints[k as usize].to_string().replace(' ', "");
                    self.leaf(id, &name, Vec::new(), Kind::Input);
                }
                Op::Extern(k) => {
                    let name = self.g.externs[k as usize].to_string().replace(' ', "");
                    self.leaf(id, &name, Vec::new(), Kind::Input);
                }
                Op::Load if sum_loads.contains(&id) => {}
                Op::Store if self.absorbed.contains(&id) => {}
                Op::Store if self.array_sums.contains_key(&id) => {
                    let sum = self.array_sums[&id].clone();
                    let storage = self.g.storage(node.args[0]);
                    let base = self.g.names[storage.index()]
                        .clone()
                        .unwrap_or_else(|| "array".into());
                    let idx_ids = node.args[1..node.args.len() - 1].to_vec();
                    let loop_node = self.g.loops[sum.l as usize].node.expect("finished loop");
                    let init = sum.init?;
                    let inner = self.enclosing(region);
                    let outer = self.enclosing(self.g.region_of[loop_node.index()]);
                    self.own_element_per_iteration(&idx_ids, &outer)?;
                    let top = if sum.subtracted {
                        let r = self.g.region_of[sum.term.index()];
                        self.g.node_in(r, Op::Neg, vec![sum.term])
                    } else {
                        sum.term
                    };
                    let mut parts = Vec::new();
                    if let Some(v) = init {
                        let scope = self.enclosing(self.g.region_of[v.index()]);
                        parts.push(Part {
                            top: v,
                            scope,
                            summed: None,
                        });
                    }
                    parts.push(Part {
                        top,
                        scope: inner,
                        summed: Some(sum.l),
                    });
                    let idx = idx_ids.iter().map(|&a| Ix::Node(a)).collect();
                    let n = self.add_node(id, &base, idx, Kind::Intermediate, parts);
                    self.store_node.insert(id, n);
                }
                Op::Load => {
                    let storage = self.g.storage(node.args[0]);
                    let idx: Vec<Ix> = node.args[1..].iter().map(|&a| Ix::Node(a)).collect();
                    if let Op::ArrayParam(p) = self.g.get(storage).op {
                        let info = &self.sig.params[p as usize];
                        let kind = if self.sig.wrt.contains(&(p as usize)) {
                            Kind::Parameter
                        } else {
                            Kind::Input
                        };
                        let name = info.name.to_string();
                        self.param_read(id, p, name.trim_start_matches("r#"), idx, kind);
                    } else {
                        let mut sources = Vec::new();
                        self.sources(node.args[0], true, &mut sources)?;
                        if sources.len() > 1 {
                            let keys: Option<Vec<Vec<i64>>> =
                                sources.iter().map(|s| self.source_element(s)).collect();
                            let distinct = keys.is_some_and(|k| {
                                let set: HashSet<&Vec<i64>> = k.iter().collect();
                                set.len() == k.len()
                            });
                            if !distinct {
                                return Err("`explain` does not yet write in index notation an array element that may have been written in several places before it is read: remove `explain`, or write each value into its own array".into());
                            }
                        }
                        let base = self.g.names[storage.index()]
                            .clone()
                            .unwrap_or_else(|| "array".into());
                        let mut links = Vec::new();
                        for s in &sources {
                            match s {
                                Source::Store(st) => {
                                    if let Some(&n) = self.store_node.get(st) {
                                        links.push(Link {
                                            node: n,
                                            idx: idx.clone(),
                                            first: None,
                                            at: None,
                                        });
                                    }
                                }
                                Source::Element(value, at) => {
                                    for l in &self.occ[value].links {
                                        links.push(Link {
                                            node: l.node,
                                            idx: idx.clone(),
                                            first: None,
                                            at: Some(at.clone()),
                                        });
                                    }
                                }
                            }
                        }
                        self.occ.insert(id, Occ { base, idx, links });
                    }
                }
                Op::Store => {
                    let value = *node.args.last().expect("store has a value");
                    if self.g.kinds[value.index()] != GKind::Float {
                        continue;
                    }
                    let storage = self.g.storage(node.args[0]);
                    let idx: Vec<Ix> = node.args[1..node.args.len() - 1]
                        .iter()
                        .map(|&a| Ix::Node(a))
                        .collect();
                    self.own_element_per_iteration(
                        &node.args[1..node.args.len() - 1],
                        &self.enclosing(region),
                    )?;
                    let base = self.g.names[storage.index()]
                        .clone()
                        .unwrap_or_else(|| "array".into());
                    let scope = self.enclosing(region);
                    let n = self.add_node(
                        id,
                        &base,
                        idx,
                        Kind::Intermediate,
                        vec![Part {
                            top: value,
                            scope,
                            summed: None,
                        }],
                    );
                    self.store_node.insert(id, n);
                    // The stored expression, where read again, is this element.
                    if !self.occ.contains_key(&value) && self.g.get(value).op.is_operation() {
                        self.identity_occ(value, n);
                    }
                }
                Op::Carried { l, k }
                    if self
                        .loop_of_region
                        .contains_key(&self.g.loops[l as usize].body) =>
                {
                    if self.g.kinds[i] != GKind::Float || self.sums.contains_key(&(l, k)) {
                        continue;
                    }
                    let info = &self.g.loops[l as usize];
                    let base = info.names[k as usize]
                        .clone()
                        .unwrap_or_else(|| format!("c{k}"));
                    let init = self.g.get(info.node.expect("finished loop")).args[2 + k as usize];
                    let mut idx = self.scope_idx(self.g.regions[info.body as usize].parent);
                    idx.push(Ix::Shift(l, if info.reversed { 1 } else { -1 }));
                    // In the first iteration it is the initial value.
                    let mut links = Vec::new();
                    if let Some(o) = self.occ.get(&init) {
                        links.extend(o.links.iter().map(|lk| Link {
                            first: Some(l),
                            ..lk.clone()
                        }));
                    } else if self.g.as_const(init).is_none() {
                        let r = self.g.region_of[init.index()];
                        let scope = self.enclosing(r);
                        let n = self.add_node(
                            init,
                            &format!("{base}_init"),
                            self.scope_idx(r),
                            Kind::Intermediate,
                            vec![Part {
                                top: init,
                                scope,
                                summed: None,
                            }],
                        );
                        self.identity_occ(init, n);
                        links.push(Link {
                            node: n,
                            idx: self.scope_idx(r),
                            first: Some(l),
                            at: None,
                        });
                    }
                    self.occ.insert(id, Occ { base, idx, links });
                    carried_occ.insert((l, k), id);
                }
                Op::LoopOut(k) => {
                    let Op::Loop(l) = self.g.get(node.args[0]).op else {
                        continue;
                    };
                    if !self
                        .loop_of_region
                        .contains_key(&self.g.loops[l as usize].body)
                        || self.g.kinds[i] != GKind::Float
                    {
                        continue;
                    }
                    let info = &self.g.loops[l as usize];
                    let base = info.names[k as usize]
                        .clone()
                        .unwrap_or_else(|| format!("c{k}"));
                    if let Some(&(term, neg)) = self.sums.get(&(l, k)) {
                        let init = self.g.get(node.args[0]).args[2 + k as usize];
                        let outer = self.enclosing(region);
                        let mut inner = outer.clone();
                        inner.push(l);
                        let top = if neg {
                            let region = self.g.region_of[term.index()];
                            self.g.node_in(region, Op::Neg, vec![term])
                        } else {
                            term
                        };
                        let mut parts = Vec::new();
                        if self.g.as_const(init) != Some(0.0) {
                            parts.push(Part {
                                top: init,
                                scope: outer,
                                summed: None,
                            });
                        }
                        parts.push(Part {
                            top,
                            scope: inner,
                            summed: Some(l),
                        });
                        let n = self.add_node(
                            id,
                            &base,
                            self.scope_idx(region),
                            Kind::Intermediate,
                            parts,
                        );
                        self.identity_occ(id, n);
                    } else if let Some(&n) = family.get(&(l, k)) {
                        // The value it leaves: its last element.
                        let mut idx = self.scope_idx(region);
                        idx.push(Ix::Last(l));
                        self.single_read(id, self.defs[n].base.clone(), idx, n);
                    }
                }
                _ if recurrence.contains_key(&id) => {
                    let (l, k) = recurrence[&id];
                    made = Some(self.recurrence_node(id, l, k));
                }
                _ if sum_yield.contains(&id) => {}
                _ if id != output
                    && node.op.is_operation()
                    && self.g.kinds[i] == GKind::Float
                    && self.g.names[i].is_some()
                    && !self.occ.contains_key(&id) =>
                {
                    let base = self.g.names[i].clone().expect("named");
                    let scope = self.enclosing(region);
                    let n = self.add_node(
                        id,
                        &base,
                        self.scope_idx(region),
                        Kind::Intermediate,
                        vec![Part {
                            top: id,
                            scope,
                            summed: None,
                        }],
                    );
                    self.identity_occ(id, n);
                }
                _ => {}
            }
            // A recurrence's family: the node made for its new value above,
            // or one an other arm made of it (a sum: `s[i] = s[i−1] + Σ_k
            // …`), or else a node defined as the read it is (`h = x[t]`).
            if let Some(&(l, k)) = recurrence.get(&id) {
                if let std::collections::hash_map::Entry::Vacant(slot) = family.entry((l, k)) {
                    let own = made.or_else(|| {
                        self.occ.get(&id).and_then(|o| match o.links.as_slice() {
                            [lk] if self.nodes[lk.node].id == id
                                && self.nodes[lk.node].kind == Kind::Intermediate =>
                            {
                                Some(lk.node)
                            }
                            _ => None,
                        })
                    });
                    let n = match own {
                        Some(n) => n,
                        None => self.recurrence_node(id, l, k),
                    };
                    slot.insert(n);
                    if let Some(&c) = carried_occ.get(&(l, k)) {
                        let cidx = self.occ[&c].idx.clone();
                        self.occ.get_mut(&c).expect("carried").links.push(Link {
                            node: n,
                            idx: cidx,
                            first: None,
                            at: None,
                        });
                    }
                }
            }
        }
        // The output is always a node of its own kind.
        let own = self.occ.get(&output).and_then(|o| {
            let l = o.links.first()?;
            (self.nodes[l.node].id == output).then_some(l.node)
        });
        match own {
            Some(n) => self.nodes[n].kind = Kind::Output,
            None => {
                let base = self.g.names[output.index()]
                    .clone()
                    .unwrap_or_else(|| function.to_owned());
                self.add_node(
                    output,
                    &base,
                    Vec::new(),
                    Kind::Output,
                    vec![Part {
                        top: output,
                        scope: Vec::new(),
                        summed: None,
                    }],
                );
            }
        }
        Ok(())
    }

    /// Refuses a store at `idx` that some iteration of one of `loops`
    /// writes again (its index does not mention that loop's variable).
    fn own_element_per_iteration(&self, idx: &[Id], loops: &[u32]) -> Result<(), String> {
        let ix: Vec<Affine> = idx
            .iter()
            .map(|&x| self.int_affine(x, &HashMap::new()))
            .collect();
        match loops.iter().find(|&&l| !ix.iter().any(|a| a.mentions(self.var(l)))) {
            Some(&l) => Err(format!("`explain` does not yet write in index notation an array element that every iteration of the loop over `{}` writes again: remove `explain`, or index the array by that loop's variable", self.var(l))),
            None => Ok(()),
        }
    }

    /// The node of a value loop `l` carries and replaces, its `k`th, whose
    /// new value is `id` (`h[t] = tanh(w·h[t−1] + u·x[t])`).
    fn recurrence_node(&mut self, id: Id, l: u32, k: u32) -> usize {
        let info = &self.g.loops[l as usize];
        let base = info.names[k as usize]
            .clone()
            .unwrap_or_else(|| format!("c{k}"));
        let body = info.body;
        let scope = self.enclosing(body);
        let idx = self.scope_idx(body);
        let n = self.add_node(
            id,
            &base,
            idx,
            Kind::Intermediate,
            vec![Part {
                top: id,
                scope,
                summed: None,
            }],
        );
        // A new value that is itself a read (`h = x[t]`) stays that read.
        if !self.occ.contains_key(&id) {
            self.identity_occ(id, n);
        }
        n
    }

    /// How a node is written in a step whose user's loop variables are
    /// replaced by `subst`: occurrences by their names, integers as index
    /// expressions.
    fn namer<'s>(
        &'s self,
        subst: &'s HashMap<u32, Affine>,
    ) -> impl Fn(Id) -> Option<(usize, Sym)> + 's {
        move |id: Id| {
            if let Some(o) = self.occ.get(&id) {
                let node = o.links.first().map_or(usize::MAX, |l| l.node);
                return Some((node, self.display(&o.base, &o.idx, subst)));
            }
            if self.g.kinds[id.index()] == GKind::Int {
                let a = self.int_affine(id, subst);
                return Some((usize::MAX, Sym::Atom(a.to_string(), a.latex())));
            }
            None
        }
    }

    /// Whether a part of node `n` is just a read of another node (`let a =
    /// x[i]`, `h[j] = a`) or of another element of `n` (a sum starting
    /// from the previous iteration's: `s[i] = s[i−1] + Σ_k …`), rather than
    /// the expression that defines `n`.
    fn reads_other(&self, n: usize, top: Id) -> bool {
        self.occ.get(&top).is_some_and(|o| {
            o.links
                .iter()
                .all(|l| l.node != n || l.idx.iter().any(|x| matches!(x, Ix::Shift(..))))
        })
    }

    /// The nodes a part reads.
    fn reads(&self, n: usize, top: Id, out: &mut Vec<usize>) {
        let mut stack = vec![top];
        let mut seen = HashSet::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if id != top || self.reads_other(n, top) {
                if let Some(o) = self.occ.get(&id) {
                    out.extend(o.links.iter().map(|l| l.node));
                    continue;
                }
            }
            stack.extend(self.g.get(id).args.iter().copied());
        }
    }

    fn definition(&self, n: usize) -> Sym {
        let identity = HashMap::new();
        let namer = self.namer(&identity);
        let mut terms = Vec::new();
        for part in &self.defs[n].parts {
            let body = if self.reads_other(n, part.top) {
                namer(part.top).expect("named").1
            } else {
                expr_sym(self.g, part.top, part.top, &namer, &mut Vec::new())
            };
            terms.push(match part.summed {
                Some(l) => Sym::Sum(vec![self.index_atom(l, &identity)], Box::new(body)),
                None => body,
            });
        }
        sum_of(terms)
    }

    fn index_atom(&self, l: u32, subst: &HashMap<u32, Affine>) -> (String, String) {
        let a = subst
            .get(&l)
            .cloned()
            .unwrap_or_else(|| Affine::atom(self.var(l)));
        (a.to_string(), a.latex())
    }

    fn derive(mut self, function: &str) -> Result<ExplainData, String> {
        // Definitions and inputs.
        for n in 0..self.nodes.len() {
            if self.defs[n].parts.is_empty() {
                continue;
            }
            let def = self.definition(n);
            let mut inputs = Vec::new();
            for part in &self.defs[n].parts {
                self.reads(n, part.top, &mut inputs);
            }
            inputs.retain(|&i| i != n);
            inputs.sort_unstable();
            inputs.dedup();
            self.nodes[n].definition = Some(def);
            self.nodes[n].inputs = inputs;
        }
        let count = self.nodes.len();
        let out_idx = count - 1;
        // Activity: a parameter, or reads an active node (in node order,
        // with recurrences iterated to a fixed point).
        let mut active: Vec<bool> = self
            .nodes
            .iter()
            .map(|n| n.kind == Kind::Parameter)
            .collect();
        loop {
            let mut changed = false;
            for n in 0..count {
                if !active[n] && self.nodes[n].inputs.iter().any(|&i| active[i]) {
                    active[n] = true;
                    changed = true;
                }
            }
            // A recurrence reads its own earlier elements.
            if !changed {
                break;
            }
        }
        // Local derivatives of every part with respect to what it reads.
        let saved = self.g.mode;
        self.g.mode = Mode::Gradient;
        let one = self.g.konst(1.0);
        let mut users: Vec<Vec<Edge>> = (0..count).map(|_| Vec::new()).collect();
        // The sweeps add nodes to the graph; what they stop at is fixed.
        let int_nodes: HashSet<Id> = (0..self.g.len())
            .filter(|&i| self.g.kinds[i] == GKind::Int)
            .map(|i| Id(i as u32))
            .collect();
        for u in 0..count {
            if !active[u] {
                continue;
            }
            for (pi, part) in self.defs[u].parts.clone().iter().enumerate() {
                let ds = if self.reads_other(u, part.top) {
                    vec![(part.top, one)]
                } else {
                    let occ = &self.occ;
                    let named = |id: Id| occ.contains_key(&id) || int_nodes.contains(&id);
                    let saved_region = self.g.current;
                    self.g.current = self.g.region_of[part.top.index()];
                    let ds = crate::reverse::local_adjoints(self.g, part.top, &named);
                    self.g.current = saved_region;
                    ds
                };
                for (o, d) in ds {
                    let Some(oc) = self.occ.get(&o) else { continue };
                    for (li, link) in oc.links.iter().enumerate() {
                        if active[link.node] {
                            users[link.node].push(Edge {
                                user: u,
                                part: pi,
                                occ: o,
                                link: li,
                                d,
                            });
                        }
                    }
                }
            }
        }
        self.g.mode = saved;

        let out_sym = Sym::Atom(
            self.nodes[out_idx].name.clone(),
            self.nodes[out_idx].latex.clone(),
        );
        let mut cx = AlgebraCx {
            atoms: Atoms::default(),
            atom_values: Vec::new(),
            memo: HashMap::new(),
        };
        let mut adj_rat: Vec<Option<Rat>> = vec![None; count];
        adj_rat[out_idx] = Some(Rat::constant(1.0));
        let mut steps = Vec::new();
        for m in (0..out_idx).rev() {
            if !active[m] || self.nodes[m].kind == Kind::Input {
                continue;
            }
            let m_sym = Sym::Atom(self.nodes[m].name.clone(), self.nodes[m].latex.clone());
            let adjoint = partial_sym(&out_sym, &m_sym);
            let m_ix: Vec<Affine> = self.defs[m]
                .idx
                .iter()
                .map(|&x| self.ix_affine(x, &HashMap::new()))
                .collect();
            let mut chain_terms = Vec::new();
            let mut closed_terms = Vec::new();
            let mut inline: Option<Rat> = None;
            for e in &users[m] {
                let part = &self.defs[e.user].parts[e.part];
                let link = &self.occ[&e.occ].links[e.link];
                let mut subst: HashMap<u32, Affine> = HashMap::new();
                if let Some(l) = link.first {
                    subst.insert(l, self.first(l));
                }
                let mut brackets: Vec<(Affine, Affine)> = Vec::new();
                let target: Vec<Affine> = match &link.at {
                    Some(at) => at.iter().map(|&k| Affine::constant(k)).collect(),
                    None => m_ix.clone(),
                };
                for (r, &ix) in link.idx.iter().enumerate() {
                    let o = self.ix_affine(ix, &subst);
                    let d = target.get(r).cloned().unwrap_or_default();
                    let solvable = part.scope.iter().find(|&&l| {
                        !subst.contains_key(&l) && matches!(o.terms.get(self.var(l)), Some(1 | -1))
                    });
                    match solvable {
                        Some(&l) => {
                            let coef = o.terms[self.var(l)];
                            let mut rest = o.clone();
                            rest.terms.remove(self.var(l));
                            // coef·v + rest = d  ⇒  v = (d − rest)/coef
                            let v = d.add_scaled(&rest, -1).scale(coef);
                            subst.insert(l, v);
                        }
                        None if o == d => {}
                        None => brackets.push((d, o)),
                    }
                }
                // The user's other variables are summed; one that shares a
                // name with an index of `m` is primed.
                let mut free = Vec::new();
                for &l in &part.scope {
                    if subst.contains_key(&l) {
                        continue;
                    }
                    let mut name = self.var(l).to_owned();
                    if m_ix.iter().any(|a| a.mentions(&name)) {
                        name.push('′');
                        subst.insert(l, Affine::atom(&name));
                    }
                    free.push(l);
                }
                // Brackets are resolved after the substitution.
                let brackets: Vec<Sym> = brackets
                    .into_iter()
                    .map(|(d, o)| {
                        // A lone variable first: `[label = 3]`, `[t = n−1]`.
                        let lone = |a: &Affine| {
                            a.c == 0 && a.terms.len() == 1 && a.terms.values().all(|&k| k == 1)
                        };
                        let (o, d) = if lone(&d) && !lone(&o) {
                            (d, o)
                        } else {
                            (o, d)
                        };
                        Sym::Bracket(Box::new(Sym::Infix(
                            "=",
                            "=",
                            Box::new(Sym::Atom(o.to_string(), o.latex())),
                            Box::new(Sym::Atom(d.to_string(), d.latex())),
                        )))
                    })
                    .collect();
                let u_def = &self.defs[e.user];
                let u_sym = self.display(&u_def.base, &u_def.idx, &subst);
                let identity = part.scope.iter().all(|l| {
                    subst
                        .get(l)
                        .map_or(true, |a| *a == Affine::atom(self.var(*l)))
                }) && free.is_empty()
                    && brackets.is_empty();
                let sums: Vec<(String, String)> =
                    free.iter().map(|&l| self.index_atom(l, &subst)).collect();
                let wrap = |body: Sym| -> Sym {
                    // A sign goes in front: −[label = 3], not [label = 3]·−1.
                    let (negative, body) = match body {
                        Sym::Neg(b) => (true, *b),
                        Sym::Num(v) if v < 0.0 => (true, Sym::Num(-v)),
                        b => (false, b),
                    };
                    let mut factors = brackets.clone();
                    factors.push(body);
                    let body = Sym::product(factors);
                    let body = if negative {
                        Sym::Neg(Box::new(body))
                    } else {
                        body
                    };
                    if sums.is_empty() {
                        body
                    } else {
                        Sym::Sum(sums.clone(), Box::new(body))
                    }
                };
                let adj_u_sym = if e.user == out_idx {
                    None
                } else {
                    Some(partial_sym(&out_sym, &u_sym))
                };
                let local = partial_sym(
                    &u_sym,
                    &self.display(&self.occ[&e.occ].base, &self.occ[&e.occ].idx, &subst),
                );
                chain_terms.push(wrap(Sym::product(
                    adj_u_sym.iter().cloned().chain([local]).collect(),
                )));
                cx.memo.clear();
                let namer = self.namer(&subst);
                let d_rat = cx.rat_of(self.g, e.d, &namer);
                let adj_u = match (&adj_rat[e.user], identity) {
                    (Some(r), true) => r.clone(),
                    _ => match &adj_u_sym {
                        None => Rat::constant(1.0),
                        Some(s) => {
                            let a = cx
                                .atoms
                                .intern(&format!("adj:{}", s.unicode()), || AtomInfo {
                                    unicode: s.unicode(),
                                    latex: s.latex(),
                                    is_adjoint: true,
                                });
                            Rat::atom(a)
                        }
                    },
                };
                let term = adj_u.mul(&d_rat);
                closed_terms.push(wrap(term.to_sym(&cx.atoms)));
                if users[m].len() == 1 && identity {
                    inline = Some(term);
                }
            }
            let (chain, closed) = if users[m].is_empty() {
                (Sym::Num(0.0), Sym::Num(0.0))
            } else {
                (sum_of(chain_terms), sum_of(closed_terms))
            };
            // Later steps inline a short adjoint that has one path, and
            // refer to any other by its symbol.
            adj_rat[m] = Some(match inline {
                Some(r) if r.num.0.len() <= 4 && r.den.len() <= 2 => r,
                _ if users[m].is_empty() => Rat::constant(0.0),
                _ => {
                    let a = cx
                        .atoms
                        .intern(&format!("adj:{}", adjoint.unicode()), || AtomInfo {
                            unicode: adjoint.unicode(),
                            latex: adjoint.latex(),
                            is_adjoint: true,
                        });
                    Rat::atom(a)
                }
            });
            steps.push(StepData {
                node: m,
                adjoint,
                chain,
                closed,
                closed_rat: None,
            });
        }
        Ok(ExplainData {
            function: function.to_owned(),
            nodes: self.nodes,
            steps,
            atom_values: Vec::new(),
        })
    }
}

/// `∂a/∂b`.
fn partial_sym(a: &Sym, b: &Sym) -> Sym {
    Sym::Atom(
        format!("∂{}/∂{}", a.unicode(), b.unicode()),
        format!(
            "\\frac{{\\partial {}}}{{\\partial {}}}",
            a.latex(),
            b.latex()
        ),
    )
}
