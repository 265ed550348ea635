//! What `#[derive_grad(explain)]` shows of its work: the computation graph
//! in the user's own names, the chain-rule derivation of every gradient, and
//! a trace of every named intermediate's value and gradient at one point.
//!
//! The macro generates `NAME_explain() -> Explanation` (known at compile
//! time) and `NAME_trace(args) -> Trace` (values at run time) from the same
//! graph it generates `NAME_grad` from.
//!
//! Renderings, all in pure Rust (no Graphviz needed):
//!
//! - `println!("{explanation}")`: the derivation in Unicode math,
//!   [`Explanation::to_latex`] in LaTeX;
//! - `println!("{trace}")`: a table of every node's value and gradient in
//!   forward order, like the worked steps of a hand derivation;
//! - [`Graph::to_dot`] / [`Trace::to_dot`]: Graphviz DOT, as micrograd's
//!   `draw_dot`, for those who have Graphviz;
//! - [`Graph::to_svg`] / [`Trace::to_svg`]: a picture of the computation laid
//!   out left to right (inputs and parameters on the left, the output on the
//!   right), each box showing the node's definition, and for a trace its
//!   value and gradient.
//!
//! ```
//! use backprop_core::explain::{Graph, Node, NodeKind, Trace};
//!
//! // f = w·x at w = 3, x = 2
//! let leaf = |name: &str, kind| Node {
//!     name: name.into(),
//!     kind,
//!     definition: String::new(),
//!     inputs: vec![],
//!     elements: String::new(),
//! };
//! let graph = Graph {
//!     function: "f".into(),
//!     nodes: vec![
//!         leaf("w", NodeKind::Parameter),
//!         leaf("x", NodeKind::Input),
//!         Node {
//!             name: "f".into(),
//!             kind: NodeKind::Output,
//!             definition: "w·x".into(),
//!             inputs: vec![0, 1],
//!             elements: String::new(),
//!         },
//!     ],
//! };
//! let trace = Trace { graph, values: vec![3.0, 2.0, 6.0], grads: vec![2.0, 0.0, 1.0] };
//!
//! let table = trace.to_string();
//! assert!(table.contains("node | kind      | definition | value | ∂f/∂node"));
//! assert!(table.contains("w    | parameter |            |     3 |        2"));
//! assert!(trace.to_dot().contains("n0 -> n2;"));
//! assert!(trace.to_svg().starts_with("<svg"));
//! ```

use std::fmt;

mod dot;
mod svg;
mod table;

/// What a node of the [`Graph`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// An element of a parameter being differentiated (`w[4]`).
    Parameter,
    /// An input that is not differentiated (`x1`, a constant item).
    Input,
    /// A value the user named with `let` (`z3`, `p1`).
    Intermediate,
    /// The function's result (the loss).
    Output,
}

impl NodeKind {
    /// The kind in lower case, as the renderings label it: `parameter`,
    /// `input`, `intermediate`, `output`.
    pub fn label(self) -> &'static str {
        match self {
            NodeKind::Parameter => "parameter",
            NodeKind::Input => "input",
            NodeKind::Intermediate => "intermediate",
            NodeKind::Output => "output",
        }
    }
}

impl fmt::Display for NodeKind {
    /// [`NodeKind::label`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.label())
    }
}

/// One node: a parameter, an input, or a value the user named.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The user's name (`z3`, `w[4]`, `x1`); the output is called by the
    /// function's name when the user did not name it.
    pub name: String,
    /// What it is.
    pub kind: NodeKind,
    /// How it is computed from the nodes in `inputs`, in Unicode math
    /// (`a1·w[4] + a2·w[5] + b[2]`); empty for parameters and inputs.
    pub definition: String,
    /// The nodes its definition reads (indices into [`Graph::nodes`], all
    /// smaller than this node's own index; a recurrence such as
    /// `h[t] = tanh(w·h[t−1] + …)` does not list itself).
    pub inputs: Vec<usize>,
    /// Empty for one value. For a family of values written with loop
    /// indices (`w1[j][i]`, `h[j]`: code whose loops stay loops), the
    /// ranges of those indices, `j ∈ 0..128, i ∈ 0..784`; a [`Trace`] then
    /// shows `…` for its value and gradient, which are not one number.
    pub elements: String,
}

impl Node {
    /// Whether the node stands for a family of values (see [`Node::elements`]).
    pub fn is_family(&self) -> bool {
        !self.elements.is_empty()
    }
}

/// The computation as the user wrote it: anonymous subexpressions are
/// folded into the definitions of the named values that use them. Nodes are
/// stored children before parents; the last one is the output.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// The function's name.
    pub function: String,
    /// The nodes.
    pub nodes: Vec<Node>,
}

impl Graph {
    /// The index of the node called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// The nodes whose definitions read node `i` (each once, in order).
    pub fn users(&self, i: usize) -> Vec<usize> {
        (i + 1..self.nodes.len())
            .filter(|&u| self.nodes[u].inputs.contains(&i))
            .collect()
    }

    /// The output's name (`""` for an empty graph).
    pub fn output_name(&self) -> &str {
        self.nodes.last().map(|n| n.name.as_str()).unwrap_or("")
    }
}

/// One line of a derivation: the adjoint (∂output/∂node) of one node, first
/// as the chain rule writes it, then simplified.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The node whose adjoint this is (index into [`Graph::nodes`]).
    pub node: usize,
    /// `∂E/∂z3 · ∂z3/∂w[4]`: the sum over the node's users of the user's
    /// adjoint times the local derivative, in Unicode.
    pub chain: String,
    /// The same with each factor written out and simplified:
    /// `(p1 − y1)·a1`, in Unicode.
    pub closed: String,
    /// `chain` in LaTeX.
    pub chain_latex: String,
    /// `closed` in LaTeX.
    pub closed_latex: String,
    /// The adjoint itself in LaTeX, `\frac{\partial E}{\partial w_{4}}`
    /// (written by the macro, which knows each name's LaTeX spelling).
    pub adjoint_latex: String,
}

/// The chain-rule derivation of a gradient, one [`Step`] per node from the
/// output backwards: each step reuses the adjoints of the steps before it,
/// as backpropagation does.
#[derive(Clone, Debug, PartialEq)]
pub struct Derivation {
    /// The steps, in backward order (users before the values they use).
    pub steps: Vec<Step>,
}

/// Everything known at compile time: the graph and the derivation.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The computation.
    pub graph: Graph,
    /// The derivation of every adjoint.
    pub derivation: Derivation,
}

impl Explanation {
    /// The step for the node called `name`.
    pub fn step(&self, name: &str) -> Option<&Step> {
        let i = self.graph.index_of(name)?;
        self.derivation.steps.iter().find(|s| s.node == i)
    }

    /// The derivation in LaTeX (an `align*` environment).
    pub fn to_latex(&self) -> String {
        let mut s = String::from("\\begin{align*}\n");
        for step in &self.derivation.steps {
            s.push_str(&format!(
                "{} &= {} = {} \\\\\n",
                step.adjoint_latex, step.chain_latex, step.closed_latex
            ));
        }
        s.push_str("\\end{align*}\n");
        s
    }
}

impl fmt::Display for Explanation {
    /// The derivation in Unicode, one adjoint per line:
    /// `∂E/∂w[4] = ∂E/∂z3 · ∂z3/∂w[4] = (p1 − y1)·a1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let out = self
            .graph
            .nodes
            .last()
            .map(|n| n.name.as_str())
            .unwrap_or("");
        writeln!(
            f,
            "Backpropagation through {}, by the chain rule:",
            self.graph.function
        )?;
        for step in &self.derivation.steps {
            let name = &self.graph.nodes[step.node].name;
            let lhs = format!("∂{out}/∂{name}");
            // A value the output reads directly has no chain to show.
            if step.chain == step.closed || step.chain == lhs {
                writeln!(f, "  {lhs} = {}", step.closed)?;
            } else {
                writeln!(f, "  {lhs} = {} = {}", step.chain, step.closed)?;
            }
        }
        Ok(())
    }
}

/// Every node's value and adjoint at one point.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The computation.
    pub graph: Graph,
    /// Forward value of each node.
    pub values: Vec<f64>,
    /// Adjoint of each node: ∂output/∂node (0 where nothing flows back).
    pub grads: Vec<f64>,
}

impl Trace {
    /// The value of the node called `name` (`None` for a family of values,
    /// see [`Node::elements`]).
    pub fn value(&self, name: &str) -> Option<f64> {
        let i = self.graph.index_of(name)?;
        (!self.graph.nodes[i].is_family()).then(|| self.values[i])
    }

    /// The adjoint ∂output/∂`name` (`None` for a family of values).
    pub fn grad(&self, name: &str) -> Option<f64> {
        let i = self.graph.index_of(name)?;
        (!self.graph.nodes[i].is_family()).then(|| self.grads[i])
    }

    /// Node `i`'s entry of `xs` (its values or grads) as the renderings
    /// print it: the number, `…` for a family of values, `?` if missing.
    fn cell(&self, xs: &[f64], i: usize) -> String {
        if self.graph.nodes.get(i).is_some_and(Node::is_family) {
            return "…".to_owned();
        }
        xs.get(i)
            .map_or_else(|| "?".to_owned(), |&x| format_number(x))
    }
}

/// A number as the renderings print it: the shortest form that reads back
/// to the same `f64` when that is short (at most 8 characters besides the
/// sign: `0.05`, `-1.5`, `0`, `123.4567`), else six
/// significant digits (`0.593270`, `0.000438504`), in scientific notation
/// outside `1e-4..1e7` (`1.23457e-9`).
///
/// ```
/// use backprop_core::explain::format_number;
///
/// assert_eq!(format_number(0.05), "0.05");
/// assert_eq!(format_number(-2.0), "-2");
/// assert_eq!(format_number(0.5932699921071872), "0.593270");
/// assert_eq!(format_number(0.1f32 as f64), "0.100000");
/// assert_eq!(format_number(123.4567), "123.4567");
/// assert_eq!(format_number(123.45678), "123.457");
/// assert_eq!(format_number(1.234567e-9), "1.23457e-9");
/// assert_eq!(format_number(f64::NAN), "NaN");
/// ```
pub fn format_number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let short = format!("{x}");
    if short.trim_start_matches('-').len() <= 8 {
        return short;
    }
    let a = x.abs();
    if (1e-4..1e7).contains(&a) {
        let magnitude = a.log10().floor() as i32;
        let decimals = (5 - magnitude).max(0) as usize;
        return format!("{x:.decimals$}");
    }
    format!("{x:.5e}")
}

/// How many terminal columns `s` takes: combining marks take none, East
/// Asian wide characters and emoji two, everything else (`·`, `−`, `∂`, `σ`)
/// one.
pub(crate) fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let c = c as u32;
    match c {
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F | 0x200B..=0x200F => {
            0
        }
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}
