//! A tiny s-expression language shared by the op table (local derivatives)
//! and the simplifier's rule table, so both read as data:
//! `(- 1 (* y y))` is the derivative of `tanh`, `(* 1 ?a) => ?a` a rule.
//!
//! Atoms:
//! - a number: a constant (`0`, `-1`, `0.5`);
//! - `x`, `a`, `b`, `c`: the node's arguments (`x` is `a`), `y`: the node itself
//!   (so a derivative can reuse the forward value, e.g. `tanh' = 1 − y²`);
//! - `?a`..`?d`: rule variables matching any node, `#a`..`#d`: constants only.

use std::sync::LazyLock;

use crate::op::{Id, Op};
use crate::ops::{
    ADD_DERIVS, DIV_DERIVS, MUL_DERIVS, NEG_DERIVS, PRIMITIVES, SELECT_DERIVS, SUB_DERIVS,
};

/// What matching and instantiating patterns needs of a store of terms. The
/// graph implements it; the rule table is written against it, so the rules
/// do not depend on the graph (which applies them as it builds nodes).
pub trait Terms {
    /// Whether `(op args…)` matches the pattern `(head pats…)`, binding
    /// its variables.
    fn matches_op(
        &self,
        head: Op,
        pats: &[Pat],
        op: Op,
        args: &[Id],
        binds: &mut [Option<Id>; SLOTS],
    ) -> bool;
    /// Builds the pattern with its variables bound.
    fn build(&mut self, pat: &Pat, binds: &[Option<Id>; SLOTS]) -> Id;
    /// The value of a constant node.
    fn as_const(&self, id: Id) -> Option<f64>;
    /// How many rolled loops a node is computed in (0: straight-line
    /// code), for rules that would move work into a loop.
    fn loop_depth(&self, _id: Id) -> u32 {
        0
    }
}

/// How a pattern variable may be bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarKind {
    /// Any node.
    Any,
    /// Only a constant node.
    Const,
}

/// A parsed s-expression over graph operations.
#[derive(Clone, Debug)]
pub enum Pat {
    /// A numeric constant.
    Num(f64),
    /// A variable bound to slot `0..SLOTS`.
    Var(usize, VarKind),
    /// An operation applied to sub-patterns.
    Op(Op, Vec<Pat>),
}

/// Number of variable slots (`a b c` and `y` in derivatives, `?a..?d` in rules).
pub const SLOTS: usize = 4;

/// Parses one s-expression. The input is a compile-time table entry, so a
/// malformed one is a bug in this crate, reported by the table's unit test.
pub fn parse(src: &str) -> Result<Pat, String> {
    let tokens: Vec<String> = src
        .replace('(', " ( ")
        .replace(')', " ) ")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let mut pos = 0;
    let pat = parse_at(&tokens, &mut pos)?;
    if pos != tokens.len() {
        return Err(format!("trailing input in `{src}`"));
    }
    Ok(pat)
}

/// The constants of `std::f64::consts` a derivative may name.
fn named_constant(name: &str) -> Option<f64> {
    use std::f64::consts::*;
    Some(match name {
        "PI" => PI,
        "LN_2" => LN_2,
        "LN_10" => LN_10,
        "FRAC_2_SQRT_PI" => FRAC_2_SQRT_PI,
        "SQRT_2" => SQRT_2,
        "E" => E,
        _ => return None,
    })
}

fn parse_at(tokens: &[String], pos: &mut usize) -> Result<Pat, String> {
    let tok = tokens.get(*pos).ok_or("unexpected end")?.clone();
    *pos += 1;
    if tok == "(" {
        let head = tokens.get(*pos).ok_or("missing operator")?.clone();
        *pos += 1;
        let op = Op::from_name(&head).ok_or_else(|| format!("unknown operator `{head}`"))?;
        let mut args = Vec::new();
        while tokens.get(*pos).map(String::as_str) != Some(")") {
            if *pos >= tokens.len() {
                return Err("missing `)`".into());
            }
            args.push(parse_at(tokens, pos)?);
        }
        *pos += 1;
        if let Some(arity) = op.arity() {
            if arity != args.len() {
                return Err(format!("`{head}` takes {arity} arguments"));
            }
        }
        return Ok(Pat::Op(op, args));
    }
    if let Ok(v) = tok.parse::<f64>() {
        return Ok(Pat::Num(v));
    }
    if let Some(v) = named_constant(&tok) {
        return Ok(Pat::Num(v));
    }
    let slot = |c: char| match c {
        'a' | 'x' => Ok(0),
        'b' => Ok(1),
        'c' => Ok(2),
        'd' | 'y' => Ok(3),
        _ => Err(format!("unknown variable `{tok}`")),
    };
    let mut chars = tok.chars();
    match (chars.next(), chars.next(), chars.next()) {
        (Some('?'), Some(c), None) => Ok(Pat::Var(slot(c)?, VarKind::Any)),
        (Some('#'), Some(c), None) => Ok(Pat::Var(slot(c)?, VarKind::Const)),
        (Some(c), None, None) => Ok(Pat::Var(slot(c)?, VarKind::Any)),
        _ => Err(format!("unknown atom `{tok}`")),
    }
}

fn parse_all(list: &[&str]) -> Vec<Pat> {
    list.iter()
        .map(|s| parse(s).unwrap_or_else(|e| panic!("bad derivative `{s}`: {e}")))
        .collect()
}

/// Parsed derivative templates of [`PRIMITIVES`] and the operators.
pub struct Templates {
    /// Per row of [`PRIMITIVES`].
    pub prims: Vec<Vec<Pat>>,
    /// `+`.
    pub add: Vec<Pat>,
    /// `-`.
    pub sub: Vec<Pat>,
    /// `*`.
    pub mul: Vec<Pat>,
    /// `/`.
    pub div: Vec<Pat>,
    /// unary `-`.
    pub neg: Vec<Pat>,
    /// `select`.
    pub select: Vec<Pat>,
}

/// The templates, parsed once.
pub static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| Templates {
    prims: PRIMITIVES.iter().map(|f| parse_all(f.derivs)).collect(),
    add: parse_all(ADD_DERIVS),
    sub: parse_all(SUB_DERIVS),
    mul: parse_all(MUL_DERIVS),
    div: parse_all(DIV_DERIVS),
    neg: parse_all(NEG_DERIVS),
    select: parse_all(SELECT_DERIVS),
});
