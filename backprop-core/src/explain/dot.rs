//! Graphviz DOT, as micrograd's `draw_dot`.

use std::fmt::Write;
use std::io;
use std::path::Path;

use super::{Graph, NodeKind, Trace};

impl Graph {
    /// The computation in Graphviz DOT, structure only: one record node per
    /// graph node (its name above its definition), edges from each node to
    /// the nodes that read it, laid out left to right. Parameters are blue,
    /// inputs grey and dashed, intermediates white with rounded corners, the
    /// output orange and bold. Render it with `dot -Tsvg graph.dot`, or use
    /// [`Graph::to_svg`], which needs no Graphviz.
    ///
    /// Nodes are called `n0`, `n1`, … by index; every label is escaped, so
    /// any name or definition (quotes, `|`, `{}`, `<>`, backslashes) is shown
    /// as written.
    ///
    /// ```
    /// use backprop_core::explain::{Graph, Node, NodeKind};
    ///
    /// let graph = Graph {
    ///     function: "square".into(),
    ///     nodes: vec![
    ///         Node { name: "x".into(), kind: NodeKind::Parameter, definition: "".into(), inputs: vec![], elements: String::new() },
    ///         Node { name: "y".into(), kind: NodeKind::Output, definition: "x·x".into(), inputs: vec![0, 0], elements: String::new() },
    ///     ],
    /// };
    /// let dot = graph.to_dot();
    /// assert!(dot.starts_with("digraph \"square\" {\n  rankdir=LR;"));
    /// assert!(dot.contains("n1 [label=\"y|x·x\""));
    /// assert_eq!(dot.matches("n0 -> n1;").count(), 1);
    /// ```
    pub fn to_dot(&self) -> String {
        dot(self, None)
    }

    /// Writes [`Graph::to_dot`] to `path`.
    pub fn write_dot(&self, path: impl AsRef<Path>) -> io::Result<()> {
        std::fs::write(path, self.to_dot())
    }
}

impl Trace {
    /// The computation in Graphviz DOT with each node's value and adjoint,
    /// as micrograd's `draw_dot`: every record shows the node's name, its
    /// definition, `value …` and `∂E/∂node …` (numbers by
    /// [`format_number`](super::format_number)). Otherwise as
    /// [`Graph::to_dot`].
    ///
    /// ```
    /// use backprop_core::explain::{Graph, Node, NodeKind, Trace};
    ///
    /// let graph = Graph {
    ///     function: "square".into(),
    ///     nodes: vec![
    ///         Node { name: "x".into(), kind: NodeKind::Parameter, definition: "".into(), inputs: vec![], elements: String::new() },
    ///         Node { name: "y".into(), kind: NodeKind::Output, definition: "x·x".into(), inputs: vec![0, 0], elements: String::new() },
    ///     ],
    /// };
    /// let trace = Trace { graph, values: vec![3.0, 9.0], grads: vec![6.0, 1.0] };
    /// assert!(trace.to_dot().contains("n0 [label=\"x|value\\ 3|∂y/∂x\\ 6\""));
    /// ```
    pub fn to_dot(&self) -> String {
        dot(&self.graph, Some(self))
    }

    /// Writes [`Trace::to_dot`] to `path`.
    pub fn write_dot(&self, path: impl AsRef<Path>) -> io::Result<()> {
        std::fs::write(path, self.to_dot())
    }
}

/// `s` as a DOT quoted string.
fn quoted(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            '\n' => q.push(' '),
            _ => q.push(c),
        }
    }
    q.push('"');
    q
}

/// One field of a record label, escaped to show literally inside a DOT
/// quoted string: `\`, `"`, the record syntax `{ } | < >` and spaces (which
/// record labels otherwise collapse) get a backslash.
fn record_field(s: &str) -> String {
    let mut e = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '"' | '{' | '}' | '|' | '<' | '>' | ' ' => {
                e.push('\\');
                e.push(c);
            }
            '\n' | '\r' | '\t' => e.push_str("\\ "),
            _ => e.push(c),
        }
    }
    e
}

fn dot(graph: &Graph, trace: Option<&Trace>) -> String {
    let out = graph.output_name();
    let mut s = String::new();
    let _ = writeln!(s, "digraph {} {{", quoted(&graph.function));
    s.push_str("  rankdir=LR;\n");
    s.push_str("  node [shape=record, fontname=\"DejaVu Sans Mono\", fontsize=11];\n");
    s.push_str("  edge [color=\"#555555\", arrowsize=0.7];\n");
    for (i, node) in graph.nodes.iter().enumerate() {
        let mut fields = vec![record_field(&node.name)];
        if !node.definition.is_empty() {
            fields.push(record_field(&node.definition));
        }
        if node.is_family() {
            fields.push(record_field(&node.elements));
        }
        if let Some(t) = trace {
            let num = |xs: &[f64]| t.cell(xs, i);
            fields.push(record_field(&format!("value {}", num(&t.values))));
            fields.push(record_field(&format!(
                "∂{out}/∂{} {}",
                node.name,
                num(&t.grads)
            )));
        }
        let style = match node.kind {
            NodeKind::Parameter => "style=filled, fillcolor=\"#dbeafe\", color=\"#2563eb\"",
            NodeKind::Input => "style=\"filled,dashed\", fillcolor=\"#f3f4f6\", color=\"#6b7280\"",
            NodeKind::Intermediate => "shape=Mrecord, color=\"#374151\"",
            NodeKind::Output => {
                "shape=Mrecord, style=\"filled,bold\", fillcolor=\"#ffedd5\", color=\"#ea580c\""
            }
        };
        let _ = writeln!(
            s,
            "  n{i} [label=\"{}\", tooltip={}, {style}];",
            fields.join("|"),
            quoted(node.kind.label())
        );
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        let mut seen = Vec::new();
        for &j in &node.inputs {
            if j < i && !seen.contains(&j) {
                seen.push(j);
                let _ = writeln!(s, "  n{j} -> n{i};");
            }
        }
    }
    s.push_str("}\n");
    s
}
