//! The operation table: for every function the macro knows, how it is
//! spelled in Rust, its forward value (used for constant folding and for
//! evaluating graphs in tests) and its local derivative(s), side by side.
//!
//! Derivatives are written in the s-expression language of
//! [`crate::pattern`]: `x`/`a`, `b`, `c` are the arguments and `y` is the
//! node's own forward value, so `tanh' = 1 − y²` reuses the `tanh` already
//! computed instead of calling `tanh` again.

use std::sync::LazyLock;

use crate::pattern::{self, Pat};

/// How a function is written in the user's code and in the emitted code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// A method of `num_traits::Float` / the primitive floats: `x.exp()`.
    Method,
    /// A free function of `backprop_core::functions`: `sigmoid(x)`.
    Core,
}

/// One entry of the unary or binary function table.
pub struct FunSpec {
    /// The Rust name (`"exp"`, `"sigmoid"`).
    pub name: &'static str,
    /// How it is called.
    pub spelling: Spelling,
    /// Forward value, on `f64`.
    pub eval: fn(&[f64]) -> f64,
    /// Local derivative with respect to each argument, as s-expressions.
    pub derivs: &'static [&'static str],
}

macro_rules! fun {
    ($name:literal, $sp:ident, |$v:ident| $eval:expr, [$($d:expr),* $(,)?]) => {
        FunSpec {
            name: $name,
            spelling: Spelling::$sp,
            eval: |$v: &[f64]| $eval,
            derivs: &[$($d),*],
        }
    };
}

/// Unary functions: `x.name()` or `name(x)`.
pub static FUN1: &[FunSpec] = &[
    fun!("exp", Method, |v| v[0].exp(), ["y"]),
    fun!(
        "exp2",
        Method,
        |v| v[0].exp2(),
        ["(* y 0.6931471805599453)"]
    ),
    fun!("exp_m1", Method, |v| v[0].exp_m1(), ["(+ y 1)"]),
    fun!("ln", Method, |v| v[0].ln(), ["(recip x)"]),
    fun!("ln_1p", Method, |v| v[0].ln_1p(), ["(recip (+ x 1))"]),
    fun!(
        "log2",
        Method,
        |v| v[0].log2(),
        ["(recip (* x 0.6931471805599453))"]
    ),
    fun!(
        "log10",
        Method,
        |v| v[0].log10(),
        ["(recip (* x 2.302585092994046))"]
    ),
    fun!("sqrt", Method, |v| v[0].sqrt(), ["(/ 0.5 y)"]),
    fun!("cbrt", Method, |v| v[0].cbrt(), ["(recip (* 3 (* y y)))"]),
    fun!("recip", Method, |v| v[0].recip(), ["(neg (* y y))"]),
    fun!("sin", Method, |v| v[0].sin(), ["(cos x)"]),
    fun!("cos", Method, |v| v[0].cos(), ["(neg (sin x))"]),
    fun!("tan", Method, |v| v[0].tan(), ["(+ 1 (* y y))"]),
    fun!(
        "asin",
        Method,
        |v| v[0].asin(),
        ["(recip (sqrt (- 1 (* x x))))"]
    ),
    fun!(
        "acos",
        Method,
        |v| v[0].acos(),
        ["(neg (recip (sqrt (- 1 (* x x)))))"]
    ),
    fun!("atan", Method, |v| v[0].atan(), ["(recip (+ 1 (* x x)))"]),
    fun!("sinh", Method, |v| v[0].sinh(), ["(cosh x)"]),
    fun!("cosh", Method, |v| v[0].cosh(), ["(sinh x)"]),
    fun!("tanh", Method, |v| v[0].tanh(), ["(- 1 (* y y))"]),
    fun!(
        "asinh",
        Method,
        |v| v[0].asinh(),
        ["(recip (sqrt (+ (* x x) 1)))"]
    ),
    fun!(
        "acosh",
        Method,
        |v| v[0].acosh(),
        ["(recip (sqrt (- (* x x) 1)))"]
    ),
    fun!("atanh", Method, |v| v[0].atanh(), ["(recip (- 1 (* x x)))"]),
    // |x|' is sign(x) with 0 at 0 (the subgradient PyTorch and JAX pick);
    // `signum` would give ±1 at ±0.
    fun!(
        "abs",
        Method,
        |v| v[0].abs(),
        ["(select (> x 0) 1 (select (< x 0) -1 0))"]
    ),
    // Piecewise constant: derivative 0 almost everywhere.
    fun!("signum", Method, |v| v[0].signum(), ["0"]),
    fun!("floor", Method, |v| v[0].floor(), ["0"]),
    fun!("ceil", Method, |v| v[0].ceil(), ["0"]),
    fun!("round", Method, |v| v[0].round(), ["0"]),
    fun!("trunc", Method, |v| v[0].trunc(), ["0"]),
    fun!("fract", Method, |v| v[0].fract(), ["1"]),
    fun!(
        "to_degrees",
        Method,
        |v| v[0].to_degrees(),
        ["57.29577951308232"]
    ),
    fun!(
        "to_radians",
        Method,
        |v| v[0].to_radians(),
        ["0.017453292519943295"]
    ),
    // backprop_core::functions; the eval bodies mirror those definitions.
    fun!("sigmoid", Core, |v| core_sigmoid(v[0]), ["(* y (- 1 y))"]),
    fun!(
        "relu",
        Core,
        |v| if v[0] > 0.0 { v[0] } else { 0.0 },
        ["(select (> x 0) 1 0)"]
    ),
    fun!("softplus", Core, |v| core_softplus(v[0]), ["(sigmoid x)"]),
    fun!(
        "log_sigmoid",
        Core,
        |v| -core_softplus(-v[0]),
        ["(sigmoid (neg x))"]
    ),
    fun!(
        "silu",
        Core,
        |v| v[0] * core_sigmoid(v[0]),
        ["(* (sigmoid x) (+ 1 (* x (- 1 (sigmoid x)))))"]
    ),
    fun!("square", Core, |v| v[0] * v[0], ["(* 2 x)"]),
];

/// Binary functions: `a.name(b)` or `name(a, b)`.
pub static FUN2: &[FunSpec] = &[
    // d/db uses ln(a): only built when the exponent is itself differentiated.
    fun!(
        "powf",
        Method,
        |v| v[0].powf(v[1]),
        ["(* b (powf a (- b 1)))", "(* y (ln a))"]
    ),
    fun!(
        "log",
        Method,
        |v| v[0].log(v[1]),
        ["(recip (* a (ln b)))", "(neg (/ y (* b (ln b))))"]
    ),
    fun!(
        "atan2",
        Method,
        |v| v[0].atan2(v[1]),
        [
            "(/ b (+ (* a a) (* b b)))",
            "(neg (/ a (+ (* a a) (* b b))))"
        ]
    ),
    fun!(
        "hypot",
        Method,
        |v| v[0].hypot(v[1]),
        ["(/ a y)", "(/ b y)"]
    ),
    fun!(
        "max",
        Method,
        |v| v[0].max(v[1]),
        ["(select (>= a b) 1 0)", "(select (>= a b) 0 1)"]
    ),
    fun!(
        "min",
        Method,
        |v| v[0].min(v[1]),
        ["(select (<= a b) 1 0)", "(select (<= a b) 0 1)"]
    ),
    fun!(
        "leaky_relu",
        Core,
        |v| if v[0] > 0.0 { v[0] } else { v[1] * v[0] },
        ["(select (> a 0) 1 b)", "(select (> a 0) 0 a)"]
    ),
];

fn core_sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn core_softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Derivatives of the arithmetic operators and `select`, by argument.
pub const ADD_DERIVS: &[&str] = &["1", "1"];
/// `a − b`.
pub const SUB_DERIVS: &[&str] = &["1", "-1"];
/// `a · b`.
pub const MUL_DERIVS: &[&str] = &["b", "a"];
/// `a / b`: `1/b` and `−y/b`.
pub const DIV_DERIVS: &[&str] = &["(recip b)", "(neg (/ y b))"];
/// `−a`.
pub const NEG_DERIVS: &[&str] = &["-1"];
/// `a.mul_add(b, c) = a·b + c`.
pub const MUL_ADD_DERIVS: &[&str] = &["b", "a", "1"];
/// `if a { b } else { c }`: nothing flows into the condition; each arm
/// receives the adjoint only when it was the one taken.
pub const SELECT_DERIVS: &[&str] = &["0", "(select a 1 0)", "(select a 0 1)"];

fn parse_all(list: &[&str]) -> Vec<Pat> {
    list.iter()
        .map(|s| pattern::parse(s).unwrap_or_else(|e| panic!("bad derivative `{s}`: {e}")))
        .collect()
}

/// Parsed templates for [`FUN1`], [`FUN2`] and the operators.
pub struct Templates {
    /// Per entry of [`FUN1`].
    pub fun1: Vec<Vec<Pat>>,
    /// Per entry of [`FUN2`].
    pub fun2: Vec<Vec<Pat>>,
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
    /// `mul_add`.
    pub mul_add: Vec<Pat>,
    /// `select`.
    pub select: Vec<Pat>,
}

/// The templates, parsed once.
pub static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| Templates {
    fun1: FUN1.iter().map(|f| parse_all(f.derivs)).collect(),
    fun2: FUN2.iter().map(|f| parse_all(f.derivs)).collect(),
    add: parse_all(ADD_DERIVS),
    sub: parse_all(SUB_DERIVS),
    mul: parse_all(MUL_DERIVS),
    div: parse_all(DIV_DERIVS),
    neg: parse_all(NEG_DERIVS),
    mul_add: parse_all(MUL_ADD_DERIVS),
    select: parse_all(SELECT_DERIVS),
});

/// Index of a unary function by its Rust name.
pub fn fun1_index(name: &str) -> Option<usize> {
    FUN1.iter().position(|f| f.name == name)
}

/// Index of a binary function by its Rust name.
pub fn fun2_index(name: &str) -> Option<usize> {
    FUN2.iter().position(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let t = &*TEMPLATES;
        for (f, d) in FUN1.iter().zip(&t.fun1) {
            assert_eq!(d.len(), 1, "{}", f.name);
        }
        for (f, d) in FUN2.iter().zip(&t.fun2) {
            assert_eq!(d.len(), 2, "{}", f.name);
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = FUN1.iter().chain(FUN2).map(|f| f.name).collect();
        names.sort_unstable();
        let len = names.len();
        names.dedup();
        assert_eq!(len, names.len());
    }
}
