//! Graph expressions as printable math in the user's names: as a tree
//! ([`expr_sym`]), as a rational function for simplification
//! ([`AlgebraCx::rat_of`]). The local derivatives of one named value's
//! definition with respect to the named values it reads come from the
//! reverse sweep ([`crate::reverse::local_adjoints`]).
//!
//! Which nodes are named, and how each is written, is the caller's
//! [`Namer`]: the element-wise explanation names graph nodes once, the
//! indexed one writes an array element with index expressions that depend on
//! the step being derived.

use std::collections::HashMap;

use crate::algebra::{Atom, AtomInfo, Atoms, Rat};
use crate::graph::{Graph, Id, Op};
use crate::ops::{Algebra, PRIMITIVES};
use crate::sym::Sym;

/// For a named node: the index of the explanation node it stands for and
/// how it is written; `None` for an anonymous node, which is written out.
pub(super) type Namer<'a> = &'a dyn Fn(Id) -> Option<(usize, Sym)>;

pub(super) struct AlgebraCx {
    pub atoms: Atoms,
    pub atom_values: Vec<Id>,
    pub memo: HashMap<Id, Rat>,
}

impl AlgebraCx {
    pub fn note_value(&mut self, a: Atom, id: Id) {
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
    pub fn rat_of(&mut self, g: &Graph, id: Id, namer: Namer) -> Rat {
        if let Some(r) = self.memo.get(&id) {
            return r.clone();
        }
        // A deep chain (the adjoint of a value repeated in 100,000
        // elements is a sum of 100,000 terms) would recurse once per
        // link and overflow the stack: the nodes below `id` are done
        // first, in arena order, so that each finds its arguments done.
        let mut below = Vec::new();
        let mut stack = vec![id];
        let mut seen = std::collections::HashSet::new();
        while let Some(n) = stack.pop() {
            if self.memo.contains_key(&n) || !seen.insert(n) {
                continue;
            }
            below.push(n);
            if namer(n).is_none() && is_rational(g.get(n).op) {
                stack.extend(g.get(n).args.iter().copied());
            }
        }
        below.sort_unstable();
        for n in below {
            self.rat_of_node(g, n, namer);
        }
        self.memo[&id].clone()
    }

    /// [`Self::rat_of`] of one node whose arguments are done (or are done
    /// here, recursively).
    fn rat_of_node(&mut self, g: &Graph, id: Id, namer: Namer) -> Rat {
        if let Some(r) = self.memo.get(&id) {
            return r.clone();
        }
        let node = g.get(id).clone();
        let r = if let Some((_, atom)) = namer(id) {
            self.atom_for(format!("n{}", atom.unicode()), &atom, id)
        } else {
            let arg = |s: &mut Self, k: usize| s.rat_of(g, node.args[k], namer);
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
                    let sym = expr_sym(g, id, id, namer, &mut Vec::new());
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

/// Whether [`AlgebraCx::rat_of`] reads `op`'s arguments (rather than making
/// the node an opaque atom).
fn is_rational(op: Op) -> bool {
    match op {
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Neg => true,
        Op::Fun(f) => matches!(
            PRIMITIVES[f as usize].algebra,
            Algebra::MulAdd | Algebra::Recip | Algebra::Square
        ),
        Op::Powi(n) => (-8..=8).contains(&n),
        _ => false,
    }
}

/// The largest unnamed subexpression written out in a definition; a larger
/// one (`x.abs().abs()…` shares each level twice, so its tree doubles with
/// every level) is shown as `…`.
pub(super) const MAX_INLINE: usize = 64;

/// The expression of `top` down to named nodes (which become atoms, and
/// are recorded in `inputs`).
pub(super) fn expr_sym(g: &Graph, top: Id, id: Id, namer: Namer, inputs: &mut Vec<usize>) -> Sym {
    expr_sym_memo(g, top, id, namer, inputs, &mut HashMap::new())
}

/// [`expr_sym`], each node built once (`memo`), so a shared subexpression
/// costs its size, not the number of paths to it.
fn expr_sym_memo(
    g: &Graph,
    top: Id,
    id: Id,
    namer: Namer,
    inputs: &mut Vec<usize>,
    memo: &mut HashMap<Id, (Sym, Vec<usize>)>,
) -> Sym {
    if id != top {
        if let Some((k, atom)) = namer(id) {
            inputs.push(k);
            return atom;
        }
    }
    if let Some((sym, seen)) = memo.get(&id) {
        inputs.extend(seen);
        return sym.clone();
    }
    let mut own = Vec::new();
    let sym = expr_sym_node(g, top, id, namer, &mut own, memo);
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
    namer: Namer,
    inputs: &mut Vec<usize>,
    memo: &mut HashMap<Id, (Sym, Vec<usize>)>,
) -> Sym {
    let node = g.get(id);
    let mut a = |k: usize| expr_sym_memo(g, top, node.args[k], namer, inputs, memo);
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
