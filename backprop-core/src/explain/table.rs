//! The trace as a text table: `node | kind | definition | value | ∂out/∂node`.

use std::fmt;

use super::{display_width, format_number, Trace};

/// A column of numbers aligned on the decimal point: the integer parts
/// right-aligned, the rest (`.593270`, `.23457e-9`) left-aligned.
struct NumberColumn {
    cells: Vec<(String, String)>,
    int_width: usize,
    frac_width: usize,
}

impl NumberColumn {
    fn new(numbers: impl Iterator<Item = String>) -> Self {
        let cells: Vec<(String, String)> = numbers
            .map(|s| match s.find(['.', 'e']) {
                Some(i) => (s[..i].to_owned(), s[i..].to_owned()),
                None => (s, String::new()),
            })
            .collect();
        let int_width = cells
            .iter()
            .map(|(i, _)| display_width(i))
            .max()
            .unwrap_or(0);
        let frac_width = cells
            .iter()
            .map(|(_, r)| display_width(r))
            .max()
            .unwrap_or(0);
        NumberColumn {
            cells,
            int_width,
            frac_width,
        }
    }

    fn cell(&self, row: usize) -> String {
        let (int, frac) = &self.cells[row];
        format!(
            "{}{int}{frac}{}",
            " ".repeat(self.int_width - display_width(int)),
            " ".repeat(self.frac_width - display_width(frac))
        )
    }
}

/// `s` padded with spaces to `width` columns, on the left if `right`.
fn pad(s: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(display_width(s)));
    if right {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

impl fmt::Display for Trace {
    /// Every node's value and adjoint in forward order (children before
    /// parents), one row per node, columns aligned (by display width, so
    /// `·`, `−` and `∂` count as one column each) and numbers aligned on the
    /// decimal point, printed by [`format_number`]:
    ///
    /// ```text
    /// Trace of loss at one point: E = 1.65053
    ///
    /// node | kind         | definition                        | value    | ∂E/∂node
    /// -----+--------------+-----------------------------------+----------+------------
    /// w[0] | parameter    |                                   | 0.15     |  0.00226835
    /// w[1] | parameter    |                                   | 0.2      |  0.00453670
    /// …
    /// a1   | intermediate | σ(z1)                             | 0.593270 |  0.188010
    /// …
    /// z4   | intermediate | a1·w[6] + a2·w[7] + b[3]          | 1.22492  | -0.217072
    /// p2   | intermediate | σ(z4)                             | 0.772928 | -1.23680
    /// e1   | intermediate | −(y1·ln p1 + (1 − y1)·ln(1 − p1)) | 1.38071  |  1
    /// e2   | intermediate | −(y2·ln p2 + (1 − y2)·ln(1 − p2)) | 0.269818 |  1
    /// E    | output       | e1 + e2                           | 1.65053  |  1
    /// ```
    ///
    /// A value or adjoint missing from [`Trace::values`] or
    /// [`Trace::grads`] is printed as `?`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes = &self.graph.nodes;
        let out = self.graph.output_name();
        let out_value = self.values.get(nodes.len().wrapping_sub(1)).copied();
        writeln!(
            f,
            "Trace of {} at one point: {out} = {}",
            self.graph.function,
            out_value.map_or_else(|| "?".to_owned(), format_number)
        )?;
        writeln!(f)?;

        let values = NumberColumn::new((0..nodes.len()).map(|i| self.cell(&self.values, i)));
        let grads = NumberColumn::new((0..nodes.len()).map(|i| self.cell(&self.grads, i)));
        let header = [
            "node".to_owned(),
            "kind".to_owned(),
            "definition".to_owned(),
            "value".to_owned(),
            format!("∂{out}/∂node"),
        ];
        let rows: Vec<[String; 5]> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                [
                    node.name.clone(),
                    node.kind.label().to_owned(),
                    node.definition.clone(),
                    values.cell(i),
                    grads.cell(i),
                ]
            })
            .collect();
        let mut widths = header.clone().map(|h| display_width(&h));
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(display_width(cell));
            }
        }
        // numbers right-aligned (as a block) under their headers
        let right = [false, false, false, true, true];

        let line = |cells: &[String; 5], is_header: bool| {
            let padded: Vec<String> = (0..5)
                .map(|c| pad(&cells[c], widths[c], right[c] && !is_header))
                .collect();
            padded.join(" | ").trim_end().to_owned()
        };
        writeln!(f, "{}", line(&header, true))?;
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        writeln!(f, "{}", rule.join("-+-"))?;
        for row in &rows {
            writeln!(f, "{}", line(row, false))?;
        }
        Ok(())
    }
}
