//! `#[derive_grad(explain)]`: the graph in the user's names, the chain-rule
//! derivation of every adjoint, and the code of `NAME_explain` and
//! `NAME_trace`.
//!
//! The named graph keeps the values the user named (`let z3 = …`), the
//! parameter elements, the inputs and the output; anonymous subexpressions
//! are folded into the definitions of the named values that use them. The
//! local derivative of a named value with respect to a named input is taken
//! with the same op table as `NAME_grad` ([`reverse::local_derivative`](crate::reverse::local_derivative)),
//! then each adjoint is written as the chain rule gives it and simplified by
//! [`crate::algebra`].

mod affine;
mod elements;
mod expr;
mod indexed;
mod tokens;

use crate::algebra::Rat;
use crate::graph::{Graph, Id};
use crate::signature::{ParamKind, SigInfo};
use crate::sym::Sym;

pub use tokens::{explain_fn, graph_tokens};

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
    /// For a family of values written with loop indices (`w1[j][i]`), the
    /// ranges of those indices (`j ∈ 0..128, i ∈ 0..784`); empty for one value.
    pub elements: String,
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
    /// The closed form as a rational function (for checking it numerically;
    /// the element-wise explanation only).
    #[cfg_attr(not(test), allow(dead_code))] // read by the tests that evaluate closed forms
    pub closed_rat: Option<Rat>,
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

/// Builds the explanation: in index notation when loops stay loops or the
/// code reads arrays at run-time indices (`indexed`), element by element
/// otherwise (`elements`). `adjoint` is the main sweep's adjoint per
/// node. An error says what the indexed notation cannot write yet.
pub fn explain(
    g: &mut Graph,
    sig: &SigInfo,
    output: Id,
    adjoint: &[Option<Id>],
    function: &str,
) -> Result<ExplainData, String> {
    let live = crate::emit::live_nodes(g, &[output]);
    let indexed = (0..=output.index()).any(|i| {
        live[i]
            && matches!(
                g.get(Id(i as u32)).op,
                crate::graph::Op::Loop(_) | crate::graph::Op::Load
            )
    });
    if indexed {
        indexed::explain(g, sig, output, function)
    } else {
        Ok(elements::explain(g, sig, output, adjoint, function))
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
