//! Printable math: a small expression tree rendered as Unicode
//! (`(p1 − y1)·a1`) or LaTeX (`\left(p_{1} - y_{1}\right) a_{1}`), with
//! parentheses only where precedence needs them.

/// An expression to print.
#[derive(Clone, Debug, PartialEq)]
pub enum Sym {
    /// A name, with its LaTeX spelling.
    Atom(String, String),
    /// A number.
    Num(f64),
    /// A sum; `true` marks a subtracted term.
    Add(Vec<(bool, Sym)>),
    /// A product.
    Mul(Vec<Sym>),
    /// A quotient.
    Div(Box<Sym>, Box<Sym>),
    /// A negation.
    Neg(Box<Sym>),
    /// An integer power.
    Pow(Box<Sym>, i32),
    /// A function call `name(args)` with the LaTeX spelling of the name.
    Call(String, String, Vec<Sym>),
    /// `if cond { a } else { b }`.
    Select(Box<Sym>, Box<Sym>, Box<Sym>),
    /// A comparison or boolean operator, infix.
    Infix(&'static str, &'static str, Box<Sym>, Box<Sym>),
    /// `!a`.
    Not(Box<Sym>),
    /// `Σ_i Σ_j body`: a sum over the named indices (Unicode, LaTeX).
    Sum(Vec<(String, String)>, Box<Sym>),
    /// An Iverson bracket `[cond]`: 1 where the condition holds, else 0.
    Bracket(Box<Sym>),
}

/// Binding strength, loosest first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Cond,
    Sum,
    Product,
    Unary,
    Power,
    Atom,
}

fn prec(s: &Sym) -> Prec {
    match s {
        Sym::Select(..) | Sym::Infix(..) => Prec::Cond,
        Sym::Sum(..) => Prec::Sum,
        Sym::Add(terms) if terms.len() > 1 || terms.first().is_some_and(|t| t.0) => Prec::Sum,
        Sym::Add(terms) => terms.first().map(|t| prec(&t.1)).unwrap_or(Prec::Atom),
        Sym::Mul(_) | Sym::Div(..) => Prec::Product,
        Sym::Neg(_) | Sym::Not(_) => Prec::Unary,
        Sym::Num(v) if *v < 0.0 => Prec::Unary,
        Sym::Pow(..) => Prec::Power,
        _ => Prec::Atom,
    }
}

/// A number as people write it: `2`, `0.5`, `1e-5`.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        };
    }
    let s = format!("{v}");
    let s = if s.len() > 12 { format!("{v:e}") } else { s };
    s.replace('-', "−")
}

impl Sym {
    /// The number of nodes of the tree.
    pub fn size(&self) -> usize {
        1 + match self {
            Sym::Atom(..) | Sym::Num(_) => 0,
            Sym::Add(terms) => terms.iter().map(|t| t.1.size()).sum(),
            Sym::Mul(factors) => factors.iter().map(Sym::size).sum(),
            Sym::Call(_, _, args) => args.iter().map(Sym::size).sum(),
            Sym::Div(a, b) | Sym::Infix(_, _, a, b) => a.size() + b.size(),
            Sym::Neg(a) | Sym::Not(a) | Sym::Pow(a, _) => a.size(),
            Sym::Select(c, a, b) => c.size() + a.size() + b.size(),
            Sym::Sum(_, a) | Sym::Bracket(a) => a.size(),
        }
    }

    /// A product, flattening nested products, dropping factors of 1,
    /// putting numbers first and writing a repeated factor as a power
    /// (`0.5·(t − y)²`).
    pub fn product(factors: Vec<Sym>) -> Sym {
        let mut flat = Vec::new();
        for f in factors {
            match f {
                Sym::Mul(inner) => flat.extend(inner),
                Sym::Num(1.0) => {}
                f => flat.push(f),
            }
        }
        let (nums, rest): (Vec<Sym>, Vec<Sym>) =
            flat.into_iter().partition(|f| matches!(f, Sym::Num(_)));
        let mut out: Vec<Sym> = nums;
        for f in rest {
            let base_of = |s: &Sym| match s {
                Sym::Pow(b, n) => ((**b).clone(), *n),
                s => (s.clone(), 1),
            };
            let (base, n) = base_of(&f);
            if let Some(prev) = out
                .iter_mut()
                .find(|p| !matches!(p, Sym::Num(_)) && base_of(p).0 == base)
            {
                let (_, m) = base_of(prev);
                *prev = Sym::Pow(Box::new(base), m + n);
            } else {
                out.push(f);
            }
        }
        match out.len() {
            0 => Sym::Num(1.0),
            1 => out.pop().unwrap(),
            _ => Sym::Mul(out),
        }
    }

    /// Unicode rendering.
    pub fn unicode(&self) -> String {
        match self {
            Sym::Atom(u, _) => u.clone(),
            Sym::Num(v) => number(*v),
            Sym::Add(terms) => {
                let mut s = String::new();
                for (i, (neg, t)) in terms.iter().enumerate() {
                    let body = wrap(t, Prec::Sum, true, Sym::unicode);
                    match (i, neg) {
                        (0, false) => s.push_str(&body),
                        (0, true) => {
                            s.push_str(&format!("−{}", wrap(t, Prec::Product, false, Sym::unicode)))
                        }
                        (_, false) => s.push_str(&format!(" + {body}")),
                        (_, true) => {
                            s.push_str(&format!(" − {}", wrap(t, Prec::Sum, false, Sym::unicode)))
                        }
                    }
                }
                s
            }
            Sym::Mul(fs) => fs
                .iter()
                .map(|f| wrap(f, Prec::Product, true, Sym::unicode))
                .collect::<Vec<_>>()
                .join("·"),
            Sym::Div(a, b) => format!(
                "{}/{}",
                wrap(a, Prec::Product, true, Sym::unicode),
                wrap(b, Prec::Product, false, Sym::unicode)
            ),
            Sym::Neg(a) => format!("−{}", wrap(a, Prec::Product, true, Sym::unicode)),
            Sym::Pow(a, n) => format!(
                "{}{}",
                wrap(a, Prec::Power, false, Sym::unicode),
                superscript(*n)
            ),
            Sym::Call(name, _, args) => {
                format!(
                    "{name}({})",
                    args.iter().map(Sym::unicode).collect::<Vec<_>>().join(", ")
                )
            }
            Sym::Select(c, a, b) => {
                format!("({} ? {} : {})", c.unicode(), a.unicode(), b.unicode())
            }
            Sym::Infix(op, _, a, b) => format!(
                "{} {op} {}",
                wrap(a, Prec::Sum, true, Sym::unicode),
                wrap(b, Prec::Sum, true, Sym::unicode)
            ),
            Sym::Not(a) => format!("¬{}", wrap(a, Prec::Unary, true, Sym::unicode)),
            Sym::Sum(over, body) => {
                let sums: String = over.iter().map(|(u, _)| format!("Σ_{u} ")).collect();
                format!("{sums}{}", wrap(body, Prec::Product, true, Sym::unicode))
            }
            Sym::Bracket(c) => format!("[{}]", c.unicode()),
        }
    }

    /// LaTeX rendering.
    pub fn latex(&self) -> String {
        match self {
            Sym::Atom(_, l) => l.clone(),
            Sym::Num(v) => {
                if v.is_infinite() {
                    return if *v > 0.0 { "\\infty".into() } else { "-\\infty".into() };
                }
                format!("{v}")
            }
            Sym::Add(terms) => {
                let mut s = String::new();
                for (i, (neg, t)) in terms.iter().enumerate() {
                    let body = wrap_latex(t, Prec::Sum, i == 0 || !neg);
                    match (i, neg) {
                        (0, false) => s.push_str(&body),
                        (0, true) => s.push_str(&format!("-{}", wrap_latex(t, Prec::Product, false))),
                        (_, false) => s.push_str(&format!(" + {body}")),
                        (_, true) => s.push_str(&format!(" - {}", wrap_latex(t, Prec::Sum, false))),
                    }
                }
                s
            }
            Sym::Mul(fs) => fs
                .iter()
                .map(|f| wrap_latex(f, Prec::Product, true))
                .collect::<Vec<_>>()
                .join(" \\cdot "),
            Sym::Div(a, b) => format!("\\frac{{{}}}{{{}}}", a.latex(), b.latex()),
            Sym::Neg(a) => format!("-{}", wrap_latex(a, Prec::Product, true)),
            Sym::Pow(a, n) => format!("{}^{{{n}}}", wrap_latex(a, Prec::Power, false)),
            Sym::Call(_, l, args) => format!(
                "{l}\\left({}\\right)",
                args.iter().map(Sym::latex).collect::<Vec<_>>().join(", ")
            ),
            Sym::Select(c, a, b) => format!(
                "\\begin{{cases}} {} & \\text{{if }} {} \\\\ {} & \\text{{otherwise}} \\end{{cases}}",
                a.latex(),
                c.latex(),
                b.latex()
            ),
            Sym::Infix(_, l, a, b) => format!("{} {l} {}", wrap_latex(a, Prec::Sum, true), wrap_latex(b, Prec::Sum, true)),
            Sym::Not(a) => format!("\\lnot {}", wrap_latex(a, Prec::Unary, true)),
            Sym::Sum(over, body) => {
                let sums: String = over.iter().map(|(_, l)| format!("\\sum_{{{l}}} ")).collect();
                format!("{sums}{}", wrap_latex(body, Prec::Product, true))
            }
            Sym::Bracket(c) => format!("\\left[{}\\right]", c.latex()),
        }
    }
}

/// Parenthesises `s` where it binds looser than `outer` (or equally, on
/// the right of a non-associative operator).
fn wrap(s: &Sym, outer: Prec, left: bool, render: fn(&Sym) -> String) -> String {
    let p = prec(s);
    if p < outer || (p == outer && !left && outer != Prec::Atom) {
        format!("({})", render(s))
    } else {
        render(s)
    }
}

fn wrap_latex(s: &Sym, outer: Prec, left: bool) -> String {
    let p = prec(s);
    if p < outer || (p == outer && !left) {
        format!("\\left({}\\right)", s.latex())
    } else {
        s.latex()
    }
}

fn superscript(n: i32) -> String {
    n.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(s: &str) -> Sym {
        Sym::Atom(s.into(), s.into())
    }

    #[test]
    fn parentheses_only_where_needed() {
        let diff = Sym::Add(vec![(false, atom("p1")), (true, atom("y1"))]);
        let e = Sym::product(vec![diff.clone(), atom("a1")]);
        assert_eq!(e.unicode(), "(p1 − y1)·a1");
        assert_eq!(e.latex(), "\\left(p1 - y1\\right) \\cdot a1");
        let sum = Sym::Add(vec![(false, atom("a")), (true, diff.clone())]);
        assert_eq!(sum.unicode(), "a − (p1 − y1)");
        assert_eq!(Sym::Pow(Box::new(diff), 2).unicode(), "(p1 − y1)²");
        assert_eq!(
            Sym::Neg(Box::new(Sym::product(vec![atom("a"), atom("b")]))).unicode(),
            "−a·b"
        );
    }
}
