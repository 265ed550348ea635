//! The computation as an SVG picture, laid out in pure Rust.
//!
//! A layered ("Sugiyama") layout, left to right:
//!
//! 1. layers: a node's layer is the longest path to it from a leaf; leaves
//!    (parameters, inputs) then move right to just before their first
//!    user, so `w[4]` stands beside `z3` rather than in the first column;
//! 2. edges spanning several layers get a waypoint in every layer between,
//!    which takes a slot like a (thin) node, so no edge crosses a box;
//! 3. order within layers: barycenter sweeps, down and up, keeping the
//!    order with the fewest crossings;
//! 4. vertical positions: each node pulled towards the mean of its
//!    neighbours' positions, under the constraint that boxes keep their
//!    order and a minimum gap (an isotonic regression, solved exactly by
//!    pooling adjacent violators), a few sweeps;
//! 5. edges: cubic Bézier curves leaving a box's right side and entering
//!    the next box's left side horizontally, with arrowheads; the edges of
//!    one box get separate ports, sorted by where they go, so they fan out
//!    instead of meeting in one point.

use std::fmt::Write;
use std::io;
use std::path::Path;

use super::{display_width, format_number, Graph, NodeKind, Trace};

/// Font size of box text, px.
const FONT: f64 = 12.0;
/// Estimated advance of one character at [`FONT`] in a monospace font
/// (DejaVu Sans Mono: 0.602 em = 7.22 px).
const CHAR_W: f64 = 7.3;
/// Distance between baselines.
const LINE_H: f64 = 16.0;
/// Horizontal and vertical padding inside a box.
const PAD_X: f64 = 9.0;
const PAD_Y: f64 = 6.0;
/// Minimum vertical gap between two boxes of a layer.
const NODE_GAP: f64 = 16.0;
/// Height of an edge waypoint, and its gap to its neighbours.
const DUMMY_H: f64 = 2.0;
const DUMMY_GAP: f64 = 7.0;
/// Minimum horizontal gap between layers.
const COL_GAP: f64 = 80.0;
/// Margin around the picture.
const MARGIN: f64 = 16.0;
/// Height of the title line and legend above the graph.
const HEADER_H: f64 = 44.0;
/// Longest text line in a box before the definition wraps.
const WRAP: usize = 44;
/// Spacing between the ports of a box's edges.
const PORT_GAP: f64 = 8.0;

impl Graph {
    /// The computation as an SVG picture (structure only): one rounded box
    /// per node with its name and definition, arranged in layers from left
    /// (parameters and inputs) to right (the output), edges as curves with
    /// arrowheads from each node to the nodes that read it. Parameters are
    /// blue, inputs grey, intermediates white and the output orange, as the
    /// legend above the graph says. Pure Rust: no Graphviz needed.
    ///
    /// Text is in a 12 px monospace font (`DejaVu Sans Mono` or the
    /// viewer's monospace), escaped for XML. Each node is an SVG group
    /// `<g class="node KIND" data-node="INDEX">` holding a
    /// `<rect class="node-box">`; each edge a
    /// `<path class="edge" data-from="I" data-to="J">`.
    ///
    /// ```
    /// use backprop_core::explain::{Graph, Node, NodeKind};
    ///
    /// let leaf = |name: &str| Node { name: name.into(), kind: NodeKind::Input, definition: "".into(), inputs: vec![], elements: String::new() };
    /// let graph = Graph {
    ///     function: "f".into(),
    ///     nodes: vec![
    ///         leaf("a"),
    ///         leaf("b"),
    ///         Node { name: "f".into(), kind: NodeKind::Output, definition: "a < b".into(), inputs: vec![0, 1], elements: String::new() },
    ///     ],
    /// };
    /// let svg = graph.to_svg();
    /// assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    /// assert!(svg.contains("a &lt; b"));
    /// assert_eq!(svg.matches("class=\"node-box\"").count(), 3);
    /// assert_eq!(svg.matches("class=\"edge\"").count(), 2);
    /// ```
    pub fn to_svg(&self) -> String {
        render(self, None)
    }

    /// Writes [`Graph::to_svg`] to `path`.
    pub fn write_svg(&self, path: impl AsRef<Path>) -> io::Result<()> {
        std::fs::write(path, self.to_svg())
    }
}

impl Trace {
    /// The computation as an SVG picture with every node's value and
    /// adjoint: each box shows `name = definition`, `value …` and
    /// `∂E/∂name …` (numbers by [`format_number`](super::format_number)),
    /// and the title the output's value. Otherwise as [`Graph::to_svg`].
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
    /// let svg = trace.to_svg();
    /// assert!(svg.contains(">∂y/∂x = 6<"));
    /// assert!(svg.contains(">value = 9<"));
    /// ```
    pub fn to_svg(&self) -> String {
        render(&self.graph, Some(self))
    }

    /// Writes [`Trace::to_svg`] to `path`.
    pub fn write_svg(&self, path: impl AsRef<Path>) -> io::Result<()> {
        std::fs::write(path, self.to_svg())
    }
}

/// `s` escaped for XML text and attribute values.
fn xml(s: &str) -> String {
    let mut e = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => e.push_str("&amp;"),
            '<' => e.push_str("&lt;"),
            '>' => e.push_str("&gt;"),
            '"' => e.push_str("&quot;"),
            '\'' => e.push_str("&apos;"),
            // not allowed in XML 1.0
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => e.push('\u{FFFD}'),
            c => e.push(c),
        }
    }
    e
}

/// One line of text in a box.
struct Line {
    /// Bold prefix (the node's name).
    bold: String,
    /// The rest.
    text: String,
    /// Indented continuation of a wrapped definition.
    indent: bool,
    /// Colour.
    fill: &'static str,
}

impl Line {
    fn width(&self) -> usize {
        display_width(&self.bold) + display_width(&self.text) + if self.indent { 2 } else { 0 }
    }
}

/// Splits `s` into pieces of at most `width` columns, at spaces where
/// possible.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split(' ') {
        let sep = usize::from(!line.is_empty());
        if !line.is_empty() && display_width(&line) + sep + display_width(word) > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        // a single word longer than a line: cut it
        while display_width(&line) > width {
            let cut: String = line.chars().take(width).collect();
            let rest: String = line.chars().skip(width).collect();
            lines.push(cut);
            line = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The text lines of node `i`'s box.
fn box_lines(graph: &Graph, trace: Option<&Trace>, i: usize) -> Vec<Line> {
    let node = &graph.nodes[i];
    let mut lines = Vec::new();
    if node.definition.is_empty() {
        lines.push(Line {
            bold: node.name.clone(),
            text: String::new(),
            indent: false,
            fill: "#111827",
        });
    } else {
        let head = display_width(&node.name) + 3;
        let def = wrap(&node.definition, WRAP.saturating_sub(head).max(16));
        for (k, piece) in def.into_iter().enumerate() {
            lines.push(if k == 0 {
                Line {
                    bold: node.name.clone(),
                    text: format!(" = {piece}"),
                    indent: false,
                    fill: "#111827",
                }
            } else {
                Line {
                    bold: String::new(),
                    text: piece,
                    indent: true,
                    fill: "#111827",
                }
            });
        }
    }
    // A family of values is one box, with the ranges of its indices.
    if node.is_family() {
        lines.push(Line {
            bold: String::new(),
            text: node.elements.clone(),
            indent: false,
            fill: "#4b5563",
        });
    }
    if let Some(t) = trace {
        let num = |xs: &[f64]| t.cell(xs, i);
        lines.push(Line {
            bold: String::new(),
            text: format!("value = {}", num(&t.values)),
            indent: false,
            fill: "#1f2937",
        });
        lines.push(Line {
            bold: String::new(),
            text: format!(
                "∂{}/∂{} = {}",
                graph.output_name(),
                node.name,
                num(&t.grads)
            ),
            indent: false,
            fill: "#b91c1c",
        });
    }
    lines
}

/// A node of the layered graph: a graph node or an edge waypoint.
struct Item {
    node: Option<usize>,
    layer: usize,
    w: f64,
    h: f64,
    preds: Vec<usize>,
    succs: Vec<usize>,
}

/// Where everything goes.
pub(crate) struct Layout {
    items: Vec<Item>,
    /// Item indices of each layer, top to bottom.
    layers: Vec<Vec<usize>>,
    /// Center of each item.
    x: Vec<f64>,
    y: Vec<f64>,
    /// Left edge and width of each layer's column.
    col_x: Vec<f64>,
    col_w: Vec<f64>,
    /// Each graph edge as its chain of items, source first.
    chains: Vec<Vec<usize>>,
    width: f64,
    height: f64,
}

/// Number of crossings between the edges from layer `a` to the next one.
fn crossings(items: &[Item], pos: &[usize], layer: &[usize]) -> usize {
    let segs: Vec<(usize, usize)> = layer
        .iter()
        .flat_map(|&u| items[u].succs.iter().map(move |&v| (pos[u], pos[v])))
        .collect();
    let mut n = 0;
    for (k, &(a, b)) in segs.iter().enumerate() {
        for &(c, d) in &segs[k + 1..] {
            if (a < c && b > d) || (a > c && b < d) {
                n += 1;
            }
        }
    }
    n
}

fn total_crossings(items: &[Item], layers: &[Vec<usize>]) -> usize {
    let mut pos = vec![0; items.len()];
    for layer in layers {
        for (p, &it) in layer.iter().enumerate() {
            pos[it] = p;
        }
    }
    layers.iter().map(|l| crossings(items, &pos, l)).sum()
}

/// Centers as close as possible (least squares) to `desired`, keeping the
/// order and the minimum gaps: with `o` the tightest packing, `y = o + t`
/// where `t` is the non-decreasing fit of `desired − o` (pool adjacent
/// violators).
fn place(items: &[Item], layer: &[usize], desired: &[f64]) -> Vec<f64> {
    let mut offsets = Vec::with_capacity(layer.len());
    let mut o = 0.0;
    for (k, &it) in layer.iter().enumerate() {
        if k > 0 {
            let prev = &items[layer[k - 1]];
            let gap = if prev.node.is_some() && items[it].node.is_some() {
                NODE_GAP
            } else {
                DUMMY_GAP
            };
            o += (prev.h + items[it].h) / 2.0 + gap;
        }
        offsets.push(o);
    }
    // blocks of (sum, count)
    let mut blocks: Vec<(f64, usize)> = Vec::new();
    for (d, o) in desired.iter().zip(&offsets) {
        blocks.push((d - o, 1));
        while blocks.len() > 1 {
            let (s2, n2) = blocks[blocks.len() - 1];
            let (s1, n1) = blocks[blocks.len() - 2];
            if s1 / n1 as f64 > s2 / n2 as f64 {
                blocks.pop();
                *blocks.last_mut().unwrap() = (s1 + s2, n1 + n2);
            } else {
                break;
            }
        }
    }
    let mut y = Vec::with_capacity(layer.len());
    for (s, n) in blocks {
        for _ in 0..n {
            y.push(offsets[y.len()] + s / n as f64);
        }
    }
    y
}

impl Layout {
    pub(crate) fn new(graph: &Graph, trace: Option<&Trace>) -> Layout {
        let n = graph.nodes.len();
        // edges, deduplicated, only from earlier nodes
        let edges: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| {
                let mut ins: Vec<usize> = graph.nodes[i]
                    .inputs
                    .iter()
                    .copied()
                    .filter(|&j| j < i)
                    .collect();
                ins.sort_unstable();
                ins.dedup();
                ins.into_iter().map(move |j| (j, i))
            })
            .collect();

        // 1. layers
        let mut layer = vec![0usize; n];
        for &(j, i) in &edges {
            layer[i] = layer[i].max(layer[j] + 1);
        }
        let mut has_inputs = vec![false; n];
        let mut first_user = vec![usize::MAX; n];
        for &(j, i) in &edges {
            has_inputs[i] = true;
            first_user[j] = first_user[j].min(layer[i]);
        }
        for j in 0..n {
            if !has_inputs[j] && first_user[j] != usize::MAX {
                layer[j] = first_user[j] - 1;
            }
        }

        // the items: graph nodes, then waypoints
        let mut items: Vec<Item> = (0..n)
            .map(|i| {
                let lines = box_lines(graph, trace, i);
                let chars = lines.iter().map(Line::width).max().unwrap_or(0).max(3);
                Item {
                    node: Some(i),
                    layer: layer[i],
                    w: (chars as f64 * CHAR_W + 2.0 * PAD_X).ceil(),
                    h: lines.len() as f64 * LINE_H + 2.0 * PAD_Y,
                    preds: vec![],
                    succs: vec![],
                }
            })
            .collect();
        let mut chains = Vec::with_capacity(edges.len());
        for &(j, i) in &edges {
            let mut chain = vec![j];
            for l in layer[j] + 1..layer[i] {
                items.push(Item {
                    node: None,
                    layer: l,
                    w: 0.0,
                    h: DUMMY_H,
                    preds: vec![],
                    succs: vec![],
                });
                chain.push(items.len() - 1);
            }
            chain.push(i);
            for w in chain.windows(2) {
                items[w[0]].succs.push(w[1]);
                items[w[1]].preds.push(w[0]);
            }
            chains.push(chain);
        }

        // 2. order within layers: start in source order (waypoints after
        // their source), then barycenter sweeps
        let n_layers = items.iter().map(|it| it.layer + 1).max().unwrap_or(0);
        let mut layers: Vec<Vec<usize>> = vec![Vec::new(); n_layers];
        let key = |it: usize, items: &[Item]| -> f64 {
            let mut k = it;
            while items[k].node.is_none() {
                k = items[k].preds[0];
            }
            k as f64 + if k == it { 0.0 } else { 0.5 }
        };
        for it in 0..items.len() {
            layers[items[it].layer].push(it);
        }
        for l in &mut layers {
            l.sort_by(|&a, &b| key(a, &items).total_cmp(&key(b, &items)));
        }
        // counting crossings is quadratic in the edges between two layers:
        // for huge graphs, just sweep
        let segments: usize = items.iter().map(|it| it.succs.len()).sum();
        let count = segments <= 3000;
        let mut best = layers.clone();
        let mut best_crossings = if count {
            total_crossings(&items, &layers)
        } else {
            usize::MAX
        };
        let mut pos = vec![0f64; items.len()];
        for sweep in 0..16 {
            let down = sweep % 2 == 0;
            let order: Vec<usize> = if down {
                (1..n_layers).collect()
            } else {
                (0..n_layers.saturating_sub(1)).rev().collect()
            };
            for l in order {
                for layer in &layers {
                    for (p, &it) in layer.iter().enumerate() {
                        pos[it] = p as f64;
                    }
                }
                let bary: Vec<(usize, f64)> = layers[l]
                    .iter()
                    .map(|&it| {
                        let nb = if down {
                            &items[it].preds
                        } else {
                            &items[it].succs
                        };
                        let b = if nb.is_empty() {
                            pos[it]
                        } else {
                            nb.iter().map(|&v| pos[v]).sum::<f64>() / nb.len() as f64
                        };
                        (it, b)
                    })
                    .collect();
                let mut sorted = bary;
                sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
                layers[l] = sorted.into_iter().map(|(it, _)| it).collect();
            }
            let c = if count {
                total_crossings(&items, &layers)
            } else {
                0
            };
            if c < best_crossings || !count {
                best_crossings = c;
                best = layers.clone();
            }
        }
        let layers = best;

        // 4. vertical positions
        let mut y = vec![0f64; items.len()];
        for layer in &layers {
            let packed = place(&items, layer, &vec![0.0; layer.len()]);
            let mid = (packed.first().unwrap_or(&0.0) + packed.last().unwrap_or(&0.0)) / 2.0;
            for (&it, p) in layer.iter().zip(packed) {
                y[it] = p - mid;
            }
        }
        let relax = |y: &mut Vec<f64>, l: usize, use_preds: bool, use_succs: bool| {
            let desired: Vec<f64> = layers[l]
                .iter()
                .map(|&it| {
                    let mut nb: Vec<usize> = Vec::new();
                    if use_preds {
                        nb.extend(&items[it].preds);
                    }
                    if use_succs {
                        nb.extend(&items[it].succs);
                    }
                    if nb.is_empty() {
                        y[it]
                    } else {
                        nb.iter().map(|&v| y[v]).sum::<f64>() / nb.len() as f64
                    }
                })
                .collect();
            for (&it, p) in layers[l].iter().zip(place(&items, &layers[l], &desired)) {
                y[it] = p;
            }
        };
        for _ in 0..6 {
            for l in 1..n_layers {
                relax(&mut y, l, true, false);
            }
            for l in (0..n_layers.saturating_sub(1)).rev() {
                relax(&mut y, l, false, true);
            }
        }
        for _ in 0..4 {
            for l in 0..n_layers {
                relax(&mut y, l, true, true);
            }
        }
        let top = (0..items.len())
            .map(|it| y[it] - items[it].h / 2.0)
            .fold(f64::INFINITY, f64::min);
        let shift = if top.is_finite() {
            MARGIN + HEADER_H - top
        } else {
            0.0
        };
        for v in &mut y {
            *v += shift;
        }
        let bottom = (0..items.len())
            .map(|it| y[it] + items[it].h / 2.0)
            .fold(MARGIN + HEADER_H, f64::max);

        // columns: wider gaps where edges travel far vertically
        let col_w: Vec<f64> = layers
            .iter()
            .map(|l| l.iter().map(|&it| items[it].w).fold(0.0, f64::max))
            .collect();
        let mut col_x = Vec::with_capacity(n_layers);
        let mut x0 = MARGIN;
        for l in 0..n_layers {
            col_x.push(x0);
            let rise = layers[l]
                .iter()
                .flat_map(|&u| items[u].succs.iter().map(move |&v| (u, v)))
                .map(|(u, v)| (y[u] - y[v]).abs())
                .fold(0.0, f64::max);
            x0 += col_w[l] + COL_GAP + (rise * 0.08).min(80.0);
        }
        let x: Vec<f64> = items
            .iter()
            .map(|it| col_x[it.layer] + col_w[it.layer] / 2.0)
            .collect();
        let right = (0..n_layers)
            .map(|l| col_x[l] + col_w[l])
            .fold(0.0, f64::max);
        let legend_w = 560.0 + display_width(&graph.function) as f64 * 10.0;

        Layout {
            items,
            layers,
            x,
            y,
            col_x,
            col_w,
            chains,
            width: (right + MARGIN).max(legend_w + 2.0 * MARGIN).ceil(),
            height: (bottom + MARGIN).ceil(),
        }
    }

    /// Port positions: for each chain, the y where it leaves its source and
    /// the y where it enters its target.
    fn ports(&self) -> Vec<(f64, f64)> {
        let mut ports = vec![(0.0, 0.0); self.chains.len()];
        let n_items = self.items.len();
        let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); n_items];
        let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); n_items];
        for (c, chain) in self.chains.iter().enumerate() {
            outgoing[chain[0]].push(c);
            incoming[chain[chain.len() - 1]].push(c);
        }
        let spread =
            |it: usize, list: &mut Vec<usize>, other: &dyn Fn(usize) -> f64| -> Vec<(usize, f64)> {
                list.sort_by(|&a, &b| other(a).total_cmp(&other(b)));
                let k = list.len();
                let h = self.items[it].h;
                let gap = if k > 1 {
                    PORT_GAP.min((h - 10.0) / (k - 1) as f64)
                } else {
                    0.0
                };
                let first = self.y[it] - gap * (k as f64 - 1.0) / 2.0;
                list.iter()
                    .enumerate()
                    .map(|(p, &c)| (c, first + gap * p as f64))
                    .collect()
            };
        for it in 0..n_items {
            let next_y = |c: usize| self.y[self.chains[c][1]];
            for (c, py) in spread(it, &mut outgoing[it], &next_y) {
                ports[c].0 = py;
            }
            let prev_y = |c: usize| {
                let ch = &self.chains[c];
                self.y[ch[ch.len() - 2]]
            };
            for (c, py) in spread(it, &mut incoming[it], &prev_y) {
                ports[c].1 = py;
            }
        }
        ports
    }

    /// The path of chain `c` from port `from_y` to port `to_y`: a straight
    /// stub from the source box to the right edge of its column (boxes are
    /// centered in their columns), a curve across each gap between
    /// columns, a straight line through each waypoint's column, and a stub
    /// from the left edge of the target's column to the target box.
    fn edge_path(&self, c: usize, from_y: f64, to_y: f64) -> String {
        let chain = &self.chains[c];
        let (s, t) = (chain[0], chain[chain.len() - 1]);
        let right = |it: usize| self.col_x[self.items[it].layer] + self.col_w[self.items[it].layer];
        let left = |it: usize| self.col_x[self.items[it].layer];
        // straight pieces, in pairs: (start, end) within one column
        let mut pieces = vec![(
            (self.x[s] + self.items[s].w / 2.0, from_y),
            (right(s), from_y),
        )];
        for &d in &chain[1..chain.len() - 1] {
            pieces.push(((left(d), self.y[d]), (right(d), self.y[d])));
        }
        pieces.push(((left(t), to_y), (self.x[t] - self.items[t].w / 2.0, to_y)));
        let (x0, y0) = pieces[0].0;
        let mut d = format!("M{x0:.1},{y0:.1}");
        for (k, &((ax, ay), (bx, by))) in pieces.iter().enumerate() {
            if k > 0 {
                // across the gap from the previous piece's end
                let (px, py) = pieces[k - 1].1;
                let mx = (px + ax) / 2.0;
                let _ = write!(d, " C{mx:.1},{py:.1} {mx:.1},{ay:.1} {ax:.1},{ay:.1}");
            }
            if bx > ax {
                let _ = write!(d, " L{bx:.1},{by:.1}");
            }
        }
        d
    }
}

fn colors(kind: NodeKind) -> (&'static str, &'static str, f64) {
    match kind {
        NodeKind::Parameter => ("#dbeafe", "#2563eb", 1.2),
        NodeKind::Input => ("#f3f4f6", "#6b7280", 1.2),
        NodeKind::Intermediate => ("#ffffff", "#374151", 1.2),
        NodeKind::Output => ("#ffedd5", "#ea580c", 2.4),
    }
}

fn edge_color(kind: NodeKind) -> (&'static str, &'static str) {
    match kind {
        NodeKind::Parameter => ("#7aa7f0", "arrow-param"),
        NodeKind::Input => ("#a3a3a3", "arrow-input"),
        _ => ("#4b5563", "arrow"),
    }
}

fn render(graph: &Graph, trace: Option<&Trace>) -> String {
    let layout = Layout::new(graph, trace);
    let (w, h) = (layout.width, layout.height);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"{FONT}\">"
    );
    let _ = writeln!(s, "<title>{}</title>", xml(&graph.function));
    s.push_str("<defs>\n");
    for (color, id) in [
        edge_color(NodeKind::Parameter),
        edge_color(NodeKind::Input),
        edge_color(NodeKind::Output),
    ] {
        let _ = writeln!(
            s,
            "<marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" \
             markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{color}\"/></marker>"
        );
    }
    s.push_str("</defs>\n");
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>"
    );

    // title and legend
    let title = match trace {
        Some(t) => format!(
            "{}: {} = {}",
            graph.function,
            graph.output_name(),
            t.values
                .get(graph.nodes.len().wrapping_sub(1))
                .map_or_else(|| "?".to_owned(), |&v| format_number(v))
        ),
        None => graph.function.clone(),
    };
    let _ = writeln!(
        s,
        "<text x=\"{MARGIN}\" y=\"{:.1}\" font-size=\"15\" font-weight=\"bold\" fill=\"#111827\">{}</text>",
        MARGIN + 14.0,
        xml(&title)
    );
    let mut lx = MARGIN + display_width(&title) as f64 * 9.2 + 30.0;
    let ly = MARGIN + 3.0;
    for kind in [
        NodeKind::Parameter,
        NodeKind::Input,
        NodeKind::Intermediate,
        NodeKind::Output,
    ] {
        let (fill, stroke, sw) = colors(kind);
        let _ = writeln!(
            s,
            "<rect class=\"legend\" x=\"{lx:.1}\" y=\"{ly:.1}\" width=\"14\" height=\"14\" rx=\"3\" fill=\"{fill}\" \
             stroke=\"{stroke}\" stroke-width=\"{sw}\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#374151\">{}</text>",
            lx + 20.0,
            ly + 11.5,
            kind.label()
        );
        lx += 20.0 + kind.label().len() as f64 * CHAR_W + 22.0;
    }
    if trace.is_some() {
        let _ = writeln!(
            s,
            "<text x=\"{lx:.1}\" y=\"{:.1}\" fill=\"#b91c1c\">∂{}/∂node: gradient</text>",
            ly + 11.5,
            xml(graph.output_name())
        );
    }

    // edges under the boxes
    let ports = layout.ports();
    s.push_str("<g fill=\"none\" stroke-width=\"1.3\">\n");
    for (c, chain) in layout.chains.iter().enumerate() {
        let (from, to) = (chain[0], chain[chain.len() - 1]);
        let (color, marker) = edge_color(graph.nodes[from].kind);
        let _ = writeln!(
            s,
            "<path class=\"edge\" data-from=\"{from}\" data-to=\"{to}\" d=\"{}\" stroke=\"{color}\" \
             marker-end=\"url(#{marker})\"/>",
            layout.edge_path(c, ports[c].0, ports[c].1)
        );
    }
    s.push_str("</g>\n");

    // boxes
    for layer in &layout.layers {
        for &it in layer {
            let Some(i) = layout.items[it].node else {
                continue;
            };
            let node = &graph.nodes[i];
            let item = &layout.items[it];
            let (bx, by) = (layout.x[it] - item.w / 2.0, layout.y[it] - item.h / 2.0);
            let (fill, stroke, sw) = colors(node.kind);
            let _ = writeln!(
                s,
                "<g class=\"node {}\" data-node=\"{i}\">",
                node.kind.label()
            );
            let _ = writeln!(s, "<title>{}</title>", xml(&node.name));
            let _ = writeln!(
                s,
                "<rect class=\"node-box\" x=\"{bx:.1}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"6\" \
                 fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{sw}\"{}/>",
                item.w,
                item.h,
                if node.kind == NodeKind::Input { " stroke-dasharray=\"4 3\"" } else { "" }
            );
            for (k, line) in box_lines(graph, trace, i).iter().enumerate() {
                let tx = bx + PAD_X + if line.indent { 2.0 * CHAR_W } else { 0.0 };
                let ty = by + PAD_Y + LINE_H * k as f64 + 12.0;
                let _ = write!(
                    s,
                    "<text x=\"{tx:.1}\" y=\"{ty:.1}\" fill=\"{}\">",
                    line.fill
                );
                if !line.bold.is_empty() {
                    let _ = write!(s, "<tspan font-weight=\"bold\">{}</tspan>", xml(&line.bold));
                }
                let _ = writeln!(s, "{}</text>", xml(&line.text));
            }
            s.push_str("</g>\n");
        }
    }
    s.push_str("</svg>\n");
    s
}
