//! The simplifier: algebraic identities as one readable table of rewrite
//! rules, applied whenever a node is built (constant folding itself lives in
//! [`Graph::node`](crate::graph::Graph::node)).
//!
//! A rule is `(name, pattern, replacement, exactness)`. `?a` matches any
//! node, `#a` only a constant, a number only that constant; `+` and `*`
//! match in either argument order. `Exact` rules never change a value, not
//! even in the last bit or for infinities and NaN, so they also run on the
//! forward pass (which keeps `NAME_grad(..).0 == NAME(..)` bit for bit).
//! `GradientOnly` rules are the usual symbolic-differentiation identities
//! (`0·a = 0`, `a − a = 0`) that differ from IEEE arithmetic only for
//! infinite or NaN operands; they run only while building the derivative.

use std::sync::LazyLock;

use crate::op::{Id, Op};
use crate::pattern::{self, Pat, Terms, SLOTS};

/// Whether a rule may change a value in floating point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exactness {
    /// Bit-for-bit identical result for every input.
    Exact,
    /// Identical for finite inputs only; used on derivatives.
    GradientOnly,
}

use Exactness::{Exact, GradientOnly};

/// The rule table.
pub const RULES: &[(&str, &str, &str, Exactness)] = &[
    // `select` moves outwards, so that what a branch not taken computes
    // (perhaps ∞ or NaN) is discarded instead of multiplied by zero. These
    // come first: a later rule (mul-recip) would otherwise hide the product.
    (
        "mul-select-l",
        "(* (select ?a #b ?c) ?d)",
        "(select ?a (* #b ?d) (* ?c ?d))",
        Exact,
    ),
    (
        "mul-select-r",
        "(* (select ?a ?b #c) ?d)",
        "(select ?a (* ?b ?d) (* #c ?d))",
        Exact,
    ),
    (
        "div-select-l",
        "(/ (select ?a #b ?c) ?d)",
        "(select ?a (/ #b ?d) (/ ?c ?d))",
        Exact,
    ),
    (
        "div-select-r",
        "(/ (select ?a ?b #c) ?d)",
        "(select ?a (/ ?b ?d) (/ #c ?d))",
        Exact,
    ),
    (
        "neg-select-l",
        "(neg (select ?a #b ?c))",
        "(select ?a (neg #b) (neg ?c))",
        Exact,
    ),
    (
        "neg-select-r",
        "(neg (select ?a ?b #c))",
        "(select ?a (neg ?b) (neg #c))",
        Exact,
    ),
    (
        "add-select",
        "(+ (select ?a ?b ?c) (select ?a ?d 0))",
        "(select ?a (+ ?b ?d) ?c)",
        GradientOnly,
    ),
    (
        "add-select-else",
        "(+ (select ?a ?b ?c) (select ?a 0 ?d))",
        "(select ?a ?b (+ ?c ?d))",
        GradientOnly,
    ),
    // identities of + − * /
    ("add-zero", "(+ 0 ?a)", "?a", GradientOnly), // −0 + 0 = +0
    ("sub-zero", "(- ?a 0)", "?a", Exact),
    ("zero-sub", "(- 0 ?a)", "(neg ?a)", GradientOnly), // 0 − 0 = +0
    ("mul-one", "(* 1 ?a)", "?a", Exact),
    ("mul-zero", "(* 0 ?a)", "0", GradientOnly),
    ("mul-minus-one", "(* -1 ?a)", "(neg ?a)", Exact),
    ("div-one", "(/ ?a 1)", "?a", Exact),
    ("zero-div", "(/ 0 ?a)", "0", GradientOnly),
    ("sub-self", "(- ?a ?a)", "0", GradientOnly),
    ("add-self", "(+ ?a ?a)", "(* 2 ?a)", Exact),
    // 2·(a·ȧ) as (2·a)·ȧ, the older factor first (see product-pair).
    (
        "double-older",
        "(* 2 (* ?a ?b))",
        "(* (* 2 ?a) ?b)",
        GradientOnly,
    ),
    (
        "double-older-swap",
        "(* 2 (* ?a ?b))",
        "(* (* 2 ?b) ?a)",
        GradientOnly,
    ),
    // A term met twice in a sum (the two factors of `x·x` each pass back
    // `x̄·x`): counted once, doubled.
    (
        "add-twice",
        "(+ ?a (+ ?b ?a))",
        "(+ (* 2 ?a) ?b)",
        GradientOnly,
    ),
    // A constant factor shared by two terms is applied once:
    // 2·b + 2·(x·d) = 2·(b + x·d).
    (
        "factor-const",
        "(+ (* #a ?b) (* #a ?c))",
        "(* #a (+ ?b ?c))",
        GradientOnly,
    ),
    // A factor shared by two terms is applied once: r·(1−x) − r·x =
    // r·(1−x−x), one multiply fewer (the derivative of the logistic map's
    // r·x·(1−x); in a loop's tangent, multiplies compete with the value's
    // own for the same ports). Both operands' orders, as `*` is stored
    // with its arguments sorted.
    (
        "factor-add",
        "(+ (* ?a ?b) (* ?a ?c))",
        "(* ?a (+ ?b ?c))",
        GradientOnly,
    ),
    (
        "factor-add-2",
        "(+ (* ?b ?a) (* ?c ?a))",
        "(* ?a (+ ?b ?c))",
        GradientOnly,
    ),
    (
        "factor-sub",
        "(- (* ?a ?b) (* ?a ?c))",
        "(* ?a (- ?b ?c))",
        GradientOnly,
    ),
    (
        "factor-sub-2",
        "(- (* ?b ?a) (* ?c ?a))",
        "(* ?a (- ?b ?c))",
        GradientOnly,
    ),
    // The product rule on `(k·a)·b` gives `b'·(k·a) + a·(k·b')`-like pairs:
    // `x·(k·y) + y·(k·x)` is one product, `2k·(x·y)` (every order of the
    // stored, sorted operands).
    (
        "product-pair",
        "(+ (* ?b (* #a ?c)) (* ?c (* #a ?b)))",
        "(* (* (* 2 #a) ?b) ?c)",
        GradientOnly,
    ),
    (
        "product-pair-swap",
        "(+ (* ?b (* #a ?c)) (* ?c (* #a ?b)))",
        "(* (* (* 2 #a) ?c) ?b)",
        GradientOnly,
    ),
    (
        "product-pair-2",
        "(+ (* (* #a ?c) ?b) (* ?c (* #a ?b)))",
        "(* (* (* 2 #a) ?b) ?c)",
        GradientOnly,
    ),
    (
        "product-pair-2-swap",
        "(+ (* (* #a ?c) ?b) (* ?c (* #a ?b)))",
        "(* (* (* 2 #a) ?c) ?b)",
        GradientOnly,
    ),
    (
        "product-pair-3",
        "(+ (* ?b (* #a ?c)) (* (* #a ?b) ?c))",
        "(* (* (* 2 #a) ?b) ?c)",
        GradientOnly,
    ),
    (
        "product-pair-3-swap",
        "(+ (* ?b (* #a ?c)) (* (* #a ?b) ?c))",
        "(* (* (* 2 #a) ?c) ?b)",
        GradientOnly,
    ),
    (
        "product-pair-4",
        "(+ (* (* #a ?c) ?b) (* (* #a ?b) ?c))",
        "(* (* (* 2 #a) ?b) ?c)",
        GradientOnly,
    ),
    (
        "product-pair-4-swap",
        "(+ (* (* #a ?c) ?b) (* (* #a ?b) ?c))",
        "(* (* (* 2 #a) ?c) ?b)",
        GradientOnly,
    ),
    // signs
    ("neg-neg", "(neg (neg ?a))", "?a", Exact),
    ("neg-sub", "(neg (- ?a ?b))", "(- ?b ?a)", GradientOnly), // sign of zero
    ("add-neg", "(+ ?a (neg ?b))", "(- ?a ?b)", Exact),
    ("sub-neg", "(- ?a (neg ?b))", "(+ ?a ?b)", Exact),
    (
        "neg-sub-neg",
        "(- (neg ?a) ?b)",
        "(neg (+ ?a ?b))",
        GradientOnly,
    ), // sign of zero
    ("mul-neg", "(* (neg ?a) ?b)", "(neg (* ?a ?b))", Exact),
    ("div-neg-num", "(/ (neg ?a) ?b)", "(neg (/ ?a ?b))", Exact),
    ("div-neg-den", "(/ ?a (neg ?b))", "(neg (/ ?a ?b))", Exact),
    (
        "neg-const-mul",
        "(* #a ?b)",
        "(neg (* (neg #a) ?b))",
        GradientOnly,
    ), // only fires for negative #a, see below
    // reciprocals
    ("mul-recip", "(* ?a (recip ?b))", "(/ ?a ?b)", GradientOnly),
    ("div-recip", "(/ ?a (recip ?b))", "(* ?a ?b)", GradientOnly),
    // constants gathered: c₁·(c₂·a) = (c₁c₂)·a
    (
        "mul-const-const",
        "(* #a (* #b ?c))",
        "(* (* #a #b) ?c)",
        GradientOnly,
    ),
    (
        "div-const-const",
        "(/ (* #a ?b) #c)",
        "(* (/ #a #c) ?b)",
        GradientOnly,
    ),
];

/// Which rules may fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleSet {
    /// [`Exactness::Exact`] rules only.
    Exact,
    /// Every rule.
    All,
}

/// A parsed rule.
pub struct Rule {
    /// Its name in the table.
    pub name: &'static str,
    /// The head operation of the pattern.
    pub head: Op,
    /// The pattern's arguments.
    pub args: Vec<Pat>,
    /// The replacement.
    pub rhs: Pat,
    /// Whether it is exact.
    pub exactness: Exactness,
}

/// The table, parsed once.
pub static PARSED: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|&(name, lhs, rhs, exactness)| {
            let lhs = pattern::parse(lhs).unwrap_or_else(|e| panic!("rule {name}: {e}"));
            let rhs = pattern::parse(rhs).unwrap_or_else(|e| panic!("rule {name}: {e}"));
            let Pat::Op(head, args) = lhs else {
                panic!("rule {name}: the pattern must be an operation")
            };
            Rule {
                name,
                head,
                args,
                rhs,
                exactness,
            }
        })
        .collect()
});

/// Tries every rule of `set` on `(op args…)`; returns the rewritten node.
pub fn rewrite<T: Terms>(g: &mut T, set: RuleSet, op: Op, args: &[Id]) -> Option<Id> {
    for rule in PARSED.iter() {
        if rule.head != op || (set == RuleSet::Exact && rule.exactness != Exact) {
            continue;
        }
        let mut binds = [None; SLOTS];
        if !g.matches_op(rule.head, &rule.args, op, args, &mut binds) {
            continue;
        }
        if !side_condition(g, rule.name, &binds) {
            continue;
        }
        return Some(g.build(&rule.rhs, &binds));
    }
    None
}

/// Conditions a pattern cannot express.
fn side_condition<T: Terms>(g: &T, name: &str, binds: &[Option<Id>; SLOTS]) -> bool {
    match name {
        // Pull a negative constant factor out as a negation (`−2·a` becomes
        // `−(2·a)`), so negations meet and cancel (`a − (−(2·b))`), but
        // never for −1 (handled by mul-minus-one) or non-negative constants.
        // The constant goes with the older factor (the value, where the
        // other is its tangent: `(200·a)·ȧ`), which the vectoriser pairs
        // with the value's own `100·a`.
        "product-pair" | "product-pair-2" | "product-pair-3" | "product-pair-4" => {
            matches!((binds[1], binds[2]), (Some(b), Some(c)) if b.0 <= c.0)
        }
        "product-pair-swap"
        | "product-pair-2-swap"
        | "product-pair-3-swap"
        | "product-pair-4-swap" => {
            matches!((binds[1], binds[2]), (Some(b), Some(c)) if c.0 < b.0)
        }
        "double-older" => {
            matches!((binds[0], binds[1]), (Some(a), Some(b)) if a.0 <= b.0)
        }
        "double-older-swap" => {
            matches!((binds[0], binds[1]), (Some(a), Some(b)) if b.0 < a.0)
        }
        // `a / b` is one operation where `a · (1/b)` is two, but inside a
        // loop over `a` with `b` from outside it, the reciprocal is
        // computed once before the loop and a division per iteration
        // costs several multiplications (`exp(xᵢ − m) · (1/s)`, a
        // softmax's adjoint).
        "mul-recip" => {
            matches!((binds[0], binds[1]), (Some(a), Some(b)) if g.loop_depth(a) <= g.loop_depth(b))
        }
        "neg-const-mul" => {
            let c = binds[0].and_then(|id| g.as_const(id));
            matches!(c, Some(c) if c < 0.0 && c != -1.0)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Graph, Mode};

    #[test]
    fn every_rule_parses() {
        assert_eq!(PARSED.len(), RULES.len());
    }

    fn param(g: &mut Graph, i: u32) -> Id {
        g.node(Op::Param { param: 0, index: i }, vec![])
    }

    #[test]
    fn identities_fire() {
        let mut g = Graph::new(false);
        g.mode = Mode::Gradient;
        let a = param(&mut g, 0);
        let b = param(&mut g, 1);
        let one = g.konst(1.0);
        let zero = g.konst(0.0);
        assert_eq!(g.mul(a, one), a);
        assert_eq!(g.mul(one, a), a);
        assert_eq!(g.mul(a, zero), zero);
        assert_eq!(g.add(zero, a), a);
        let na = g.neg(a);
        assert_eq!(g.neg(na), a);
        let s = g.sub(a, na);
        let two = g.konst(2.0);
        assert_eq!(s, g.mul(two, a), "a - (-a) = a + a = 2a");
        let nb = g.neg(b);
        let e = g.add(a, nb);
        assert_eq!(e, g.sub(a, b));
    }

    #[test]
    fn forward_mode_keeps_ieee_values() {
        let mut g = Graph::new(false);
        let a = param(&mut g, 0);
        let zero = g.konst(0.0);
        let prod = g.mul(zero, a);
        assert_ne!(
            prod, zero,
            "0·a is NaN for a = ∞, so it stays in the forward pass"
        );
        assert_ne!(g.sub(a, a), zero);
    }

    #[test]
    fn multiplication_moves_into_select() {
        let mut g = Graph::new(false);
        g.mode = Mode::Gradient;
        let a = param(&mut g, 0);
        let b = param(&mut g, 1);
        let zero = g.konst(0.0);
        let c = g.node(Op::Cmp(crate::op::CmpOp::Gt), vec![a, zero]);
        let one = g.konst(1.0);
        let step = g.select(c, one, zero);
        let ln = g.node(Op::Fun(crate::ops::index("ln").unwrap() as u8), vec![a]);
        // b·[a > 0] · ln a  →  select(a > 0, b·ln a, 0)
        let t = g.mul(b, step);
        let r = g.mul(t, ln);
        let n = g.get(r);
        assert_eq!(n.op, Op::Select);
        assert_eq!(n.args[2], zero);
    }
}
