//! The run-time renderings of `backprop_core::explain`: the trace table,
//! Graphviz DOT and the pure-Rust SVG, on seeds/003's 2-2-2 sigmoid network
//! built by hand (the graph `#[derive_grad(explain)]` makes of it) and on a
//! 4-8-3 softmax MLP. The SVGs are rasterized with resvg to
//! `target/tmp/explain/*.png` to be looked at.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use backprop_core::explain::{format_number, Graph, Node, NodeKind, Trace};

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Builds graphs node by node.
struct Builder {
    nodes: Vec<Node>,
    values: Vec<f64>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            nodes: vec![],
            values: vec![],
        }
    }

    fn leaf(&mut self, name: &str, kind: NodeKind, value: f64) -> usize {
        self.node(name, kind, "", &[], value)
    }

    fn node(
        &mut self,
        name: &str,
        kind: NodeKind,
        def: &str,
        inputs: &[usize],
        value: f64,
    ) -> usize {
        self.nodes.push(Node {
            name: name.to_owned(),
            kind,
            definition: def.to_owned(),
            inputs: inputs.to_vec(),
            elements: String::new(),
        });
        self.values.push(value);
        self.nodes.len() - 1
    }

    fn v(&self, i: usize) -> f64 {
        self.values[i]
    }
}

/// seeds/003's network at Matt Mazur's numbers (as the
/// `sigmoid_net_2_2_2` example): the graph, forward values from the
/// formulas, and adjoints by the tutorial's hand derivation.
fn seed_003() -> Trace {
    use NodeKind::*;
    let w0 = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55];
    let b0 = [0.35, 0.35, 0.60, 0.60];
    let mut g = Builder::new();
    let w: Vec<usize> = (0..8)
        .map(|k| g.leaf(&format!("w[{k}]"), Parameter, w0[k]))
        .collect();
    let b: Vec<usize> = (0..4)
        .map(|k| g.leaf(&format!("b[{k}]"), Parameter, b0[k]))
        .collect();
    let x1 = g.leaf("x1", Input, 0.05);
    let x2 = g.leaf("x2", Input, 0.10);
    let y1 = g.leaf("y1", Input, 0.01);
    let y2 = g.leaf("y2", Input, 0.99);
    let lin = |g: &Builder, a: usize, wa: usize, c: usize, wc: usize, bb: usize| {
        g.v(a) * g.v(wa) + g.v(c) * g.v(wc) + g.v(bb)
    };
    let v = lin(&g, x1, w[0], x2, w[1], b[0]);
    let z1 = g.node(
        "z1",
        Intermediate,
        "x1·w[0] + x2·w[1] + b[0]",
        &[x1, w[0], x2, w[1], b[0]],
        v,
    );
    let a1 = g.node("a1", Intermediate, "σ(z1)", &[z1], sigmoid(v));
    let v = lin(&g, x1, w[2], x2, w[3], b[1]);
    let z2 = g.node(
        "z2",
        Intermediate,
        "x1·w[2] + x2·w[3] + b[1]",
        &[x1, w[2], x2, w[3], b[1]],
        v,
    );
    let a2 = g.node("a2", Intermediate, "σ(z2)", &[z2], sigmoid(v));
    let v = lin(&g, a1, w[4], a2, w[5], b[2]);
    let z3 = g.node(
        "z3",
        Intermediate,
        "a1·w[4] + a2·w[5] + b[2]",
        &[a1, w[4], a2, w[5], b[2]],
        v,
    );
    let p1 = g.node("p1", Intermediate, "σ(z3)", &[z3], sigmoid(v));
    let v = lin(&g, a1, w[6], a2, w[7], b[3]);
    let z4 = g.node(
        "z4",
        Intermediate,
        "a1·w[6] + a2·w[7] + b[3]",
        &[a1, w[6], a2, w[7], b[3]],
        v,
    );
    let p2 = g.node("p2", Intermediate, "σ(z4)", &[z4], sigmoid(v));
    let bce = |p: f64, y: f64| -(y * p.ln() + (1.0 - y) * (1.0 - p).ln());
    let v = bce(g.v(p1), g.v(y1));
    let e1 = g.node(
        "e1",
        Intermediate,
        "−(y1·ln p1 + (1 − y1)·ln(1 − p1))",
        &[y1, p1],
        v,
    );
    let v = bce(g.v(p2), g.v(y2));
    let e2 = g.node(
        "e2",
        Intermediate,
        "−(y2·ln p2 + (1 − y2)·ln(1 − p2))",
        &[y2, p2],
        v,
    );
    let v = g.v(e1) + g.v(e2);
    let e = g.node("E", Output, "e1 + e2", &[e1, e2], v);

    // backward, as the tutorial: ∂E/∂z3 = p1 − y1, ∂E/∂w[4] = (p1 − y1)·a1, …
    let mut d = vec![0.0; g.nodes.len()];
    d[e] = 1.0;
    d[e1] = 1.0;
    d[e2] = 1.0;
    d[p1] = -g.v(y1) / g.v(p1) + (1.0 - g.v(y1)) / (1.0 - g.v(p1));
    d[p2] = -g.v(y2) / g.v(p2) + (1.0 - g.v(y2)) / (1.0 - g.v(p2));
    d[z3] = d[p1] * g.v(p1) * (1.0 - g.v(p1));
    d[z4] = d[p2] * g.v(p2) * (1.0 - g.v(p2));
    assert!((d[z3] - (g.v(p1) - g.v(y1))).abs() < 1e-12);
    for (k, src) in [(4, a1), (5, a2)] {
        d[w[k]] = d[z3] * g.v(src);
        d[w[k + 2]] = d[z4] * g.v(src);
    }
    d[b[2]] = d[z3];
    d[b[3]] = d[z4];
    d[a1] = d[z3] * g.v(w[4]) + d[z4] * g.v(w[6]);
    d[a2] = d[z3] * g.v(w[5]) + d[z4] * g.v(w[7]);
    d[z1] = d[a1] * g.v(a1) * (1.0 - g.v(a1));
    d[z2] = d[a2] * g.v(a2) * (1.0 - g.v(a2));
    for (k, src) in [(0, x1), (1, x2)] {
        d[w[k]] = d[z1] * g.v(src);
        d[w[k + 2]] = d[z2] * g.v(src);
    }
    d[b[0]] = d[z1];
    d[b[1]] = d[z2];
    Trace {
        graph: Graph {
            function: "loss".into(),
            nodes: g.nodes,
        },
        values: g.values,
        grads: d,
    }
}

/// A 4-8-3 MLP with softmax cross-entropy, one node per weight (99 nodes).
/// Values are computed; adjoints are made up (only the layout is tested).
fn mlp_4_8_3() -> Trace {
    use NodeKind::*;
    let mut g = Builder::new();
    let mut r = 0.3_f64;
    let mut rnd = move || {
        r = (r * 9301.0 + 0.49297).fract();
        r - 0.5
    };
    let w1: Vec<usize> = (0..32)
        .map(|k| g.leaf(&format!("w1[{}][{}]", k / 4, k % 4), Parameter, rnd()))
        .collect();
    let b1: Vec<usize> = (0..8)
        .map(|k| g.leaf(&format!("b1[{k}]"), Parameter, rnd()))
        .collect();
    let w2: Vec<usize> = (0..24)
        .map(|k| g.leaf(&format!("w2[{}][{}]", k / 8, k % 8), Parameter, rnd()))
        .collect();
    let b2: Vec<usize> = (0..3)
        .map(|k| g.leaf(&format!("b2[{k}]"), Parameter, rnd()))
        .collect();
    let x: Vec<usize> = (0..4)
        .map(|k| g.leaf(&format!("x[{k}]"), Input, rnd()))
        .collect();
    let label = g.leaf("label", Input, 1.0);
    let mut a = vec![];
    for j in 0..8 {
        let mut ins = vec![];
        let mut v = g.v(b1[j]);
        for i in 0..4 {
            ins.extend([x[i], w1[4 * j + i]]);
            v += g.v(x[i]) * g.v(w1[4 * j + i]);
        }
        ins.push(b1[j]);
        let def = format!(
            "x[0]·w1[{j}][0] + x[1]·w1[{j}][1] + x[2]·w1[{j}][2] + x[3]·w1[{j}][3] + b1[{j}]"
        );
        let h = g.node(&format!("h[{j}]"), Intermediate, &def, &ins, v);
        a.push(g.node(
            &format!("a[{j}]"),
            Intermediate,
            &format!("tanh(h[{j}])"),
            &[h],
            v.tanh(),
        ));
    }
    let mut o = vec![];
    for k in 0..3 {
        let mut ins = vec![];
        let mut v = g.v(b2[k]);
        let mut terms = vec![];
        for j in 0..8 {
            ins.extend([a[j], w2[8 * k + j]]);
            v += g.v(a[j]) * g.v(w2[8 * k + j]);
            terms.push(format!("a[{j}]·w2[{k}][{j}]"));
        }
        ins.push(b2[k]);
        terms.push(format!("b2[{k}]"));
        o.push(g.node(
            &format!("o[{k}]"),
            Intermediate,
            &terms.join(" + "),
            &ins,
            v,
        ));
    }
    let m = o.iter().map(|&i| g.v(i)).fold(f64::MIN, f64::max);
    let lse = m + o.iter().map(|&i| (g.v(i) - m).exp()).sum::<f64>().ln();
    let s = g.node(
        "lse",
        Intermediate,
        "ln(exp(o[0]) + exp(o[1]) + exp(o[2]))",
        &o,
        lse,
    );
    let picked = g.node(
        "o_y",
        Intermediate,
        "o[label]",
        &[o[0], o[1], o[2], label],
        g.v(o[1]),
    );
    let loss = g.node("loss", Output, "lse − o_y", &[s, picked], lse - g.v(o[1]));
    let n = g.nodes.len();
    assert_eq!(loss, n - 1);
    let grads = (0..n).map(|i| ((i * 37) % 11) as f64 / 7.0 - 0.5).collect();
    Trace {
        graph: Graph {
            function: "mlp_loss".into(),
            nodes: g.nodes,
        },
        values: g.values,
        grads,
    }
}

// ---------------------------------------------------------------- table

/// Display width as a terminal shows it (the test's own copy: everything
/// in these tables is one column per char).
fn width(s: &str) -> usize {
    s.chars().count()
}

#[test]
fn table_lists_every_node_in_forward_order_aligned() {
    let trace = seed_003();
    let table = trace.to_string();
    println!("{table}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "Trace of loss at one point: E = {}",
            format_number(*trace.values.last().unwrap())
        )
    );
    assert_eq!(lines[1], "");
    assert!(
        lines[2].starts_with("node | kind         | definition"),
        "{}",
        lines[2]
    );
    assert!(lines[2].ends_with("| value    | ∂E/∂node"), "{}", lines[2]);
    assert!(lines[3].chars().all(|c| c == '-' || c == '+'));
    let rows = &lines[4..];
    assert_eq!(rows.len(), trace.graph.nodes.len());
    // the column separators stand in the same display columns on every line
    // ('+' only in the rule: definitions contain plus signs)
    let bars = |l: &str| -> Vec<usize> {
        let sep = if l.starts_with('-') { '+' } else { '|' };
        l.chars()
            .enumerate()
            .filter(|&(_, c)| c == sep)
            .map(|(k, _)| k)
            .collect()
    };
    let header_bars = bars(lines[2]);
    assert_eq!(header_bars.len(), 4);
    assert_eq!(bars(lines[3]), header_bars);
    for (i, row) in rows.iter().enumerate() {
        let node = &trace.graph.nodes[i];
        assert_eq!(bars(row), header_bars, "row {i}: {row}");
        let cells: Vec<&str> = row.split(" | ").map(str::trim).collect();
        assert_eq!(cells[0], node.name);
        assert_eq!(cells[1], node.kind.label());
        assert_eq!(cells[2], node.definition);
        assert_eq!(cells[3], format_number(trace.values[i]));
        assert_eq!(cells[4], format_number(trace.grads[i]));
    }
    // numbers aligned on the decimal point
    let dot_col = |row: &str, cell: usize| {
        let start = bars(row)[cell - 1];
        let tail: String = row.chars().skip(start).collect();
        start
            + tail
                .find('.')
                .map(|k| tail[..k].chars().count())
                .unwrap_or(0)
    };
    let with_point: Vec<&&str> = rows
        .iter()
        .filter(|r| r.split(" | ").nth(3).unwrap().contains('.'))
        .collect();
    let cols: HashSet<usize> = with_point.iter().map(|r| dot_col(r, 3)).collect();
    assert_eq!(cols.len(), 1, "value column not aligned on the point");
    // the tutorial's numbers
    let z3 = rows.iter().find(|r| r.starts_with("z3 ")).unwrap();
    assert!(z3.contains("| a1·w[4] + a2·w[5] + b[2]    "), "{z3}");
    assert!(z3.contains(&format_number(trace.value("z3").unwrap())));
    assert_eq!(format_number(trace.value("p1").unwrap()), "0.751365");
    // ∂E/∂w[4] = (p1 − y1)·a1
    assert_eq!(format_number(trace.grad("w[4]").unwrap()), "0.439830");
    assert!(rows.iter().all(|r| width(r) <= width(lines[3])));
}

#[test]
fn table_handles_missing_numbers_and_wide_text() {
    let mut trace = seed_003();
    trace.values.truncate(3);
    trace.graph.nodes[14].definition = "入力 · x̂".into();
    let table = trace.to_string();
    println!("{table}");
    assert!(table.lines().next().unwrap().ends_with("E = ?"));
    let x2_cells: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("x2 "))
        .unwrap()
        .split(" | ")
        .collect();
    assert_eq!(x2_cells[3].trim(), "?");
    let x2 = table.lines().find(|l| l.starts_with("x2 ")).unwrap();
    let x1 = table.lines().find(|l| l.starts_with("x1 ")).unwrap();
    // "入力 · x̂" is 8 columns wide (two wide chars, one combining mark):
    // the row is as long as the others in display columns
    let cols = |l: &str| {
        l.chars()
            .map(|c| if c == '入' || c == '力' { 2 } else { 1 })
            .sum::<usize>()
            - l.chars().filter(|&c| c == '\u{302}').count()
    };
    let bar = |l: &str| {
        let head: String = l
            .chars()
            .take_while(|&c| c != 'v' && c != '?' && !c.is_ascii_digit())
            .collect();
        cols(&head)
    };
    assert_eq!(bar(x1), bar(x2), "\n{x1}\n{x2}");
}

// ---------------------------------------------------------------- DOT

/// A DOT token: an ID/keyword, a quoted string (unescaped), or punctuation.
#[derive(Debug, PartialEq)]
enum Tok {
    Id(String),
    Str(String),
    Punct(char),
    Arrow,
}

fn lex_dot(src: &str) -> Vec<Tok> {
    let cs: Vec<char> = src.chars().collect();
    let mut toks = vec![];
    let mut k = 0;
    while k < cs.len() {
        let c = cs[k];
        if c.is_whitespace() {
            k += 1;
        } else if c == '"' {
            let mut s = String::new();
            k += 1;
            loop {
                assert!(k < cs.len(), "unterminated string");
                match cs[k] {
                    '"' => break,
                    '\\' if k + 1 < cs.len() && cs[k + 1] == '"' => {
                        s.push('"');
                        k += 1;
                    }
                    '\\' => {
                        // kept: the label interpreter reads it
                        s.push('\\');
                        k += 1;
                        s.push(cs[k]);
                    }
                    ch => s.push(ch),
                }
                k += 1;
            }
            k += 1;
            toks.push(Tok::Str(s));
        } else if c == '-' && cs.get(k + 1) == Some(&'>') {
            toks.push(Tok::Arrow);
            k += 2;
        } else if c.is_alphanumeric() || c == '_' || c == '.' || c == '#' {
            let start = k;
            while k < cs.len() && (cs[k].is_alphanumeric() || cs[k] == '_' || cs[k] == '.') {
                k += 1;
            }
            toks.push(Tok::Id(cs[start..k].iter().collect()));
        } else {
            assert!("{}[]=,;".contains(c), "unexpected {c:?} in DOT");
            toks.push(Tok::Punct(c));
            k += 1;
        }
    }
    toks
}

/// A record label's fields, unescaped; panics on unbalanced `{}` or a
/// stray `<>` (which Graphviz would read as a port).
fn record_fields(label: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut depth = 0i32;
    let mut cs = label.chars();
    while let Some(c) = cs.next() {
        match c {
            '\\' => {
                let e = cs.next().expect("dangling backslash");
                fields.last_mut().unwrap().push(e);
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                assert!(depth >= 0, "unbalanced }} in {label}");
            }
            '|' => fields.push(String::new()),
            '<' | '>' => panic!("unescaped port marker in {label}"),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    assert_eq!(depth, 0, "unbalanced {{ in {label}");
    fields
}

/// Parses the DOT the renderer writes: `digraph "name" { stmt; … }` with
/// attribute statements, node statements `ID [a=v, …];` and edges
/// `ID -> ID;`. Returns the nodes' attributes and the edges; panics on
/// anything malformed (unbalanced braces or brackets, undeclared edge
/// endpoints, duplicate nodes).
#[allow(clippy::type_complexity)]
fn parse_dot(
    src: &str,
) -> (
    String,
    HashMap<String, HashMap<String, String>>,
    Vec<(String, String)>,
) {
    let toks = lex_dot(src);
    let mut depth = 0i32;
    for t in &toks {
        match t {
            Tok::Punct('{') | Tok::Punct('[') => depth += 1,
            Tok::Punct('}') | Tok::Punct(']') => {
                depth -= 1;
                assert!(depth >= 0);
            }
            _ => {}
        }
    }
    assert_eq!(depth, 0, "unbalanced braces");
    assert_eq!(toks[0], Tok::Id("digraph".into()));
    let Tok::Str(name) = &toks[1] else {
        panic!("graph name")
    };
    assert_eq!(toks[2], Tok::Punct('{'));
    assert_eq!(toks.last(), Some(&Tok::Punct('}')));
    let body = &toks[3..toks.len() - 1];
    let mut nodes: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut edges = vec![];
    for stmt in body.split(|t| *t == Tok::Punct(';')) {
        match stmt {
            [] => {}
            [Tok::Id(k), Tok::Punct('='), _] => assert_eq!(k, "rankdir"),
            [Tok::Id(a), Tok::Arrow, Tok::Id(b)] => edges.push((a.clone(), b.clone())),
            [Tok::Id(id), Tok::Punct('['), attrs @ .., Tok::Punct(']')] => {
                let mut map = HashMap::new();
                for attr in attrs.split(|t| *t == Tok::Punct(',')) {
                    let [Tok::Id(k), Tok::Punct('='), v] = attr else {
                        panic!("attribute {attr:?}")
                    };
                    let v = match v {
                        Tok::Id(s) | Tok::Str(s) => s.clone(),
                        _ => panic!("value {v:?}"),
                    };
                    map.insert(k.clone(), v);
                }
                if id != "node" && id != "edge" {
                    assert!(
                        nodes.insert(id.clone(), map).is_none(),
                        "{id} declared twice"
                    );
                }
            }
            _ => panic!("statement {stmt:?}"),
        }
    }
    for (a, b) in &edges {
        assert!(
            nodes.contains_key(a) && nodes.contains_key(b),
            "edge {a} -> {b} to an undeclared node"
        );
    }
    (name.clone(), nodes, edges)
}

fn graph_edges(graph: &Graph) -> HashSet<(String, String)> {
    let mut set = HashSet::new();
    for (i, n) in graph.nodes.iter().enumerate() {
        for &j in &n.inputs {
            set.insert((format!("n{j}"), format!("n{i}")));
        }
    }
    set
}

#[test]
fn dot_of_a_trace_declares_every_node_with_value_and_gradient() {
    let trace = seed_003();
    let dot = trace.to_dot();
    assert!(dot.contains("rankdir=LR;"));
    let (name, nodes, edges) = parse_dot(&dot);
    assert_eq!(name, "loss");
    assert_eq!(nodes.len(), trace.graph.nodes.len());
    let edge_set: HashSet<(String, String)> = edges.iter().cloned().collect();
    assert_eq!(edge_set.len(), edges.len(), "duplicate edges");
    assert_eq!(edge_set, graph_edges(&trace.graph));
    for (i, node) in trace.graph.nodes.iter().enumerate() {
        let attrs = &nodes[&format!("n{i}")];
        let fields = record_fields(&attrs["label"]);
        let mut expect = vec![node.name.clone()];
        if !node.definition.is_empty() {
            expect.push(node.definition.clone());
        }
        expect.push(format!("value {}", format_number(trace.values[i])));
        expect.push(format!(
            "∂E/∂{} {}",
            node.name,
            format_number(trace.grads[i])
        ));
        assert_eq!(fields, expect);
    }
    // kinds look different
    let look = |i: usize| {
        let a = &nodes[&format!("n{i}")];
        (
            a.get("shape").cloned(),
            a.get("fillcolor").cloned(),
            a.get("style").cloned(),
        )
    };
    let kinds: HashSet<_> = [0, 12, 16, 26].into_iter().map(look).collect();
    assert_eq!(kinds.len(), 4);
}

#[test]
fn dot_escapes_labels_and_graph_names() {
    let nasty = "a \"q\" {b} | <c> \\ d";
    let graph = Graph {
        function: "f\"g\\".into(),
        nodes: vec![
            Node {
                name: nasty.into(),
                kind: NodeKind::Parameter,
                definition: String::new(),
                inputs: vec![],
                elements: String::new(),
            },
            Node {
                name: "out".into(),
                kind: NodeKind::Output,
                definition: format!("{nasty} + {{x|y}}"),
                inputs: vec![0],
                elements: String::new(),
            },
        ],
    };
    let (name, nodes, edges) = parse_dot(&graph.to_dot());
    // DOT strings escape only quotes: the backslash is doubled for the
    // label interpreter
    assert_eq!(name, "f\"g\\\\");
    assert_eq!(record_fields(&nodes["n0"]["label"]), vec![nasty.to_owned()]);
    assert_eq!(
        record_fields(&nodes["n1"]["label"]),
        vec!["out".to_owned(), format!("{nasty} + {{x|y}}")]
    );
    assert_eq!(edges, vec![("n0".to_owned(), "n1".to_owned())]);
    // structure only: no numbers
    assert!(!graph.to_dot().contains("value"));
}

/// If Graphviz happens to be installed, it must accept the DOT.
#[test]
fn dot_is_accepted_by_graphviz_if_installed() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("Graphviz `dot` not installed: skipped");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(seed_003().to_dot().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------- SVG

#[derive(Debug, Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

/// The boxes (by node index) and edges (from, to, points of the path)
/// read back from the SVG; asserts it is well-formed XML.
#[allow(clippy::type_complexity)]
fn parse_svg(
    svg: &str,
) -> (
    HashMap<usize, Rect>,
    Vec<(usize, usize, Vec<(f64, f64)>)>,
    Vec<String>,
) {
    let doc = roxmltree::Document::parse(svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let num = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
    let mut boxes = HashMap::new();
    let mut edges = vec![];
    let mut texts = vec![];
    for n in doc.descendants() {
        if n.has_tag_name("rect") && n.attribute("class") == Some("node-box") {
            let i: usize = n
                .parent_element()
                .unwrap()
                .attribute("data-node")
                .unwrap()
                .parse()
                .unwrap();
            let r = Rect {
                x: num(n, "x"),
                y: num(n, "y"),
                w: num(n, "width"),
                h: num(n, "height"),
            };
            assert!(boxes.insert(i, r).is_none(), "node {i} drawn twice");
        }
        if n.has_tag_name("path") && n.attribute("class") == Some("edge") {
            let from: usize = n.attribute("data-from").unwrap().parse().unwrap();
            let to: usize = n.attribute("data-to").unwrap().parse().unwrap();
            let nums: Vec<f64> = n
                .attribute("d")
                .unwrap()
                .split(|c: char| c.is_ascii_alphabetic() || c == ',' || c == ' ')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect();
            assert_eq!(nums.len() % 2, 0);
            edges.push((from, to, nums.chunks(2).map(|p| (p[0], p[1])).collect()));
        }
        if n.has_tag_name("text") {
            texts.push(
                n.descendants()
                    .filter(|d| d.is_text())
                    .filter_map(|d| d.text())
                    .collect::<String>(),
            );
        }
    }
    (boxes, edges, texts)
}

fn overlap(a: Rect, b: Rect) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

/// Checks the geometry of a rendered graph: every node drawn once, inside
/// the canvas, no two boxes overlapping, every edge present once and
/// running left to right from its source's right side to its target's
/// left side, not through any other box. Returns the boxes.
fn check_layout(graph: &Graph, svg: &str) -> HashMap<usize, Rect> {
    let (boxes, edges, _) = parse_svg(svg);
    let doc = roxmltree::Document::parse(svg).unwrap();
    let (cw, ch) = (
        doc.root_element()
            .attribute("width")
            .unwrap()
            .parse::<f64>()
            .unwrap(),
        doc.root_element()
            .attribute("height")
            .unwrap()
            .parse::<f64>()
            .unwrap(),
    );
    assert_eq!(boxes.len(), graph.nodes.len());
    for (i, r) in &boxes {
        assert!(
            r.x >= 0.0 && r.y >= 0.0 && r.x + r.w <= cw && r.y + r.h <= ch,
            "node {i} off canvas"
        );
        for (j, q) in &boxes {
            assert!(
                i == j || !overlap(*r, *q),
                "boxes of {} and {} overlap",
                graph.nodes[*i].name,
                graph.nodes[*j].name
            );
        }
    }
    let drawn: HashSet<(String, String)> = edges
        .iter()
        .map(|(a, b, _)| (format!("n{a}"), format!("n{b}")))
        .collect();
    assert_eq!(drawn.len(), edges.len(), "an edge drawn twice");
    assert_eq!(drawn, graph_edges(graph));
    for (from, to, pts) in &edges {
        let (s, t) = (boxes[from], boxes[to]);
        let first = pts[0];
        let last = *pts.last().unwrap();
        assert!((first.0 - (s.x + s.w)).abs() < 0.2 && first.1 > s.y && first.1 < s.y + s.h);
        assert!((last.0 - t.x).abs() < 0.2 && last.1 > t.y && last.1 < t.y + t.h);
        for w in pts.windows(2) {
            assert!(
                w[1].0 >= w[0].0 - 1e-9,
                "edge {from}->{to} goes right to left: {pts:?}"
            );
        }
        assert!(last.0 > first.0 + 20.0, "edge {from}->{to} too short");
        // straight pieces (through other layers' columns) miss every box
        for w in pts
            .windows(2)
            .filter(|w| (w[0].1 - w[1].1).abs() < 1e-9 && w[1].0 > w[0].0)
        {
            for (k, r) in &boxes {
                let hit = w[0].1 > r.y && w[0].1 < r.y + r.h && w[0].0 < r.x + r.w && w[1].0 > r.x;
                assert!(
                    !hit || k == from || k == to,
                    "edge {from}->{to} crosses box {k} {r:?}: {pts:?}"
                );
            }
        }
    }
    boxes
}

#[test]
fn svg_of_seed_003_is_well_formed_and_laid_out_left_to_right() {
    let trace = seed_003();
    let svg = trace.to_svg();
    let boxes = check_layout(&trace.graph, &svg);
    let (_, _, texts) = parse_svg(&svg);
    for (i, node) in trace.graph.nodes.iter().enumerate() {
        let first = if node.definition.is_empty() {
            node.name.clone()
        } else {
            format!("{} = {}", node.name, node.definition)
        };
        assert!(texts.contains(&first), "{first}");
        assert!(texts.contains(&format!("value = {}", format_number(trace.values[i]))));
        assert!(texts.contains(&format!(
            "∂E/∂{} = {}",
            node.name,
            format_number(trace.grads[i])
        )));
    }
    let g = &trace.graph;
    let at = |name: &str| boxes[&g.index_of(name).unwrap()];
    // the flow: inputs left of z1, z1 left of a1 … left of E
    for pair in [
        "x1 z1", "z1 a1", "a1 z3", "z3 p1", "p1 e1", "e1 E", "w[4] z3", "y1 e1",
    ] {
        let (a, b) = pair.split_once(' ').unwrap();
        assert!(at(a).x + at(a).w < at(b).x, "{a} not left of {b}");
    }
    // leaves stand just before their first user: w[4] in a1's column
    assert_eq!(
        at("w[4]").x + at("w[4]").w / 2.0,
        at("a1").x + at("a1").w / 2.0
    );
    // box widths follow the text: z3's line "z3 = a1·w[4] + a2·w[5] + b[2]"
    assert!(at("z3").w >= 29.0 * 7.0);
    assert!(at("b[0]").w < at("z3").w);
}

#[test]
fn svg_escapes_text() {
    let mut trace = seed_003();
    trace.graph.function = "a<b & \"c\"".into();
    let p1 = trace.graph.index_of("p1").unwrap();
    trace.graph.nodes[p1].definition = "σ(z3) < 1 && p1 > 0 'ok'".into();
    let svg = trace.to_svg();
    let (_, _, texts) = parse_svg(&svg);
    assert!(
        texts.iter().any(|t| t == "p1 = σ(z3) < 1 && p1 > 0 'ok'"),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.starts_with("a<b & \"c\": E = ")));
    let structure = trace.graph.to_svg();
    parse_svg(&structure);
    assert!(!structure.contains("value ="));
}

#[test]
fn svg_wraps_long_definitions_and_routes_long_edges_around_boxes() {
    let trace = mlp_4_8_3();
    let svg = trace.to_svg();
    let boxes = check_layout(&trace.graph, &svg);
    // the output layer's 33-term sums wrap instead of making huge boxes
    let o0 = boxes[&trace.graph.index_of("o[0]").unwrap()];
    assert!(o0.w < 50.0 * 7.3 + 20.0, "{o0:?}");
    assert!(o0.h > 6.0 * 16.0);
    check_layout(&trace.graph, &trace.graph.to_svg());
}

#[test]
fn svg_of_degenerate_graphs() {
    let empty = Graph {
        function: "nothing".into(),
        nodes: vec![],
    };
    parse_svg(&empty.to_svg());
    parse_dot(&empty.to_dot());
    let one = Trace {
        graph: Graph {
            function: "c".into(),
            nodes: vec![Node {
                name: "c".into(),
                kind: NodeKind::Output,
                definition: "2".into(),
                inputs: vec![5], // out of range: ignored by the renderers
                elements: String::new(),
            }],
        },
        values: vec![2.0],
        grads: vec![],
    };
    let (boxes, edges, texts) = parse_svg(&one.to_svg());
    assert_eq!((boxes.len(), edges.len()), (1, 0));
    assert!(texts.contains(&"∂c/∂c = ?".to_owned()));
    let table = one.to_string();
    assert_eq!(
        table
            .lines()
            .last()
            .unwrap()
            .rsplit(" | ")
            .next()
            .unwrap()
            .trim(),
        "?"
    );
}

// ---------------------------------------------------------------- pictures

/// Rasterizes `svg` with resvg, text in the repository's DejaVu Sans Mono.
fn rasterize(svg: &str, scale: f32) -> resvg::tiny_skia::Pixmap {
    let font =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/assets/DejaVuSansMono.ttf");
    let mut options = resvg::usvg::Options::default();
    options
        .fontdb_mut()
        .load_font_data(std::fs::read(font).expect("bundled font"));
    // the bold face for the names, if the system has it
    if let Ok(bold) = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf") {
        options.fontdb_mut().load_font_data(bold);
    }
    options.font_family = "DejaVu Sans Mono".into();
    let tree = resvg::usvg::Tree::from_str(svg, &options).expect("usvg parses the SVG");
    let size = tree.size().to_int_size().scale_by(scale).unwrap();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
}

fn write_png(name: &str, svg: &str) -> resvg::tiny_skia::Pixmap {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explain");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.svg")), svg).unwrap();
    let pixmap = rasterize(svg, 1.5);
    pixmap.save_png(dir.join(format!("{name}.png"))).unwrap();
    eprintln!("wrote {}", dir.join(format!("{name}.png")).display());
    pixmap
}

/// Dark (text) pixels inside `r` (in SVG units) of a picture at `scale`.
fn ink(p: &resvg::tiny_skia::Pixmap, r: Rect, scale: f64) -> usize {
    let mut n = 0;
    for y in ((r.y + 3.0) * scale) as u32..((r.y + r.h - 3.0) * scale) as u32 {
        for x in ((r.x + 3.0) * scale) as u32..((r.x + r.w - 3.0) * scale) as u32 {
            let px = p.pixel(x, y).unwrap();
            if u32::from(px.red()) + u32::from(px.green()) + u32::from(px.blue()) < 250 {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn pictures_render_with_text_inside_every_box() {
    for (name, trace) in [
        ("sigmoid_net_2_2_2", seed_003()),
        ("mlp_4_8_3", mlp_4_8_3()),
    ] {
        let svg = trace.to_svg();
        let pixmap = write_png(name, &svg);
        write_png(&format!("{name}_structure"), &trace.graph.to_svg());
        let (boxes, _, _) = parse_svg(&svg);
        for (i, r) in boxes {
            assert!(
                ink(&pixmap, r, 1.5) > 100,
                "{name}: no text drawn in {}",
                trace.graph.nodes[i].name
            );
        }
        // text stays inside its box: the margin strip right of the text
        // column (the last 4 px inside the border) has no ink
        for (i, r) in parse_svg(&svg).0 {
            let strip = Rect {
                x: r.x + r.w - 7.0,
                y: r.y,
                w: 7.0,
                h: r.h,
            };
            assert_eq!(
                ink(&pixmap, strip, 1.5),
                0,
                "{name}: text overflows {}",
                trace.graph.nodes[i].name
            );
        }
    }
}
