//! What `#[derive_grad(explain)]` shows of its work: the computation graph
//! in the user's own names, the chain-rule derivation of every gradient, and
//! a trace of every named intermediate's value and gradient at one point.
//!
//! The macro generates `NAME_explain() -> Explanation` (known at compile
//! time) and `NAME_trace(args) -> Trace` (values at run time) from the same
//! graph it generates `NAME_grad` from.

use std::fmt;

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
    /// smaller than this node's own index).
    pub inputs: Vec<usize>,
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
        let out = self.output_name();
        let mut s = String::from("\\begin{align*}\n");
        for step in &self.derivation.steps {
            let name = latex_name(&self.graph.nodes[step.node].name);
            s.push_str(&format!(
                "\\frac{{\\partial {out}}}{{\\partial {name}}} &= {} = {} \\\\\n",
                step.chain_latex, step.closed_latex
            ));
        }
        s.push_str("\\end{align*}\n");
        s
    }

    fn output_name(&self) -> String {
        self.graph.nodes.last().map(|n| latex_name(&n.name)).unwrap_or_default()
    }
}

/// A name in LaTeX: `w[4]` → `w_{4}`, `z3` → `z_{3}`, `x_hat` → `x_{hat}`.
pub fn latex_name(name: &str) -> String {
    if let Some((base, rest)) = name.split_once('[') {
        let idx = rest.trim_end_matches(']').replace("][", ",");
        return format!("{}_{{{idx}}}", latex_name(base));
    }
    if let Some((base, sub)) = name.split_once('_') {
        if !base.is_empty() && !sub.is_empty() {
            return format!("{}_{{{}}}", base, sub.replace('_', "\\_"));
        }
    }
    let digits = name.trim_start_matches(|c: char| !c.is_ascii_digit());
    if !digits.is_empty() && digits.len() < name.len() && digits.chars().all(|c| c.is_ascii_digit()) {
        return format!("{}_{{{digits}}}", &name[..name.len() - digits.len()]);
    }
    name.to_owned()
}

impl fmt::Display for Explanation {
    /// The derivation in Unicode, one adjoint per line:
    /// `∂E/∂w[4] = ∂E/∂z3 · ∂z3/∂w[4] = (p1 − y1)·a1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let out = self.graph.nodes.last().map(|n| n.name.as_str()).unwrap_or("");
        writeln!(f, "Derivation of ∂{out} for {}:", self.graph.function)?;
        for step in &self.derivation.steps {
            let name = &self.graph.nodes[step.node].name;
            if step.chain == step.closed {
                writeln!(f, "  ∂{out}/∂{name} = {}", step.closed)?;
            } else {
                writeln!(f, "  ∂{out}/∂{name} = {} = {}", step.chain, step.closed)?;
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
    /// The value of the node called `name`.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.graph.index_of(name).map(|i| self.values[i])
    }

    /// The adjoint ∂output/∂`name`.
    pub fn grad(&self, name: &str) -> Option<f64> {
        self.graph.index_of(name).map(|i| self.grads[i])
    }
}
