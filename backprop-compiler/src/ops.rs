//! The primitive table: every function the compiler knows is one row here,
//! holding everything about it — how it is spelled in Rust, its forward
//! value (for constant folding and for evaluating graphs in tests), its
//! local derivatives, when folding it at compile time is exact, how it is
//! printed in LaTeX and how the explanation algebra treats it. Nothing else
//! in the compiler matches a function by its name, so adding a primitive is
//! adding a row (and, for one of backprop's own functions, its one
//! implementation in `backprop-functions`).
//!
//! Derivatives are written in the s-expression language of
//! [`crate::pattern`]: `x`/`a`, `b`, `c` are the arguments and `y` is the
//! node's own forward value, so `tanh' = 1 − y²` reuses the `tanh` already
//! computed instead of calling `tanh` again; constants are named as in
//! `std::f64::consts` (`LN_2`, `FRAC_2_SQRT_PI`).

/// How a function is written in the user's code and in the emitted code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// A method of `num_traits::Float` / the primitive floats: `x.exp()`.
    Method,
    /// A free function of `backprop_functions` (re-exported by `backprop`):
    /// `sigmoid(x)`.
    Core,
}

/// When a call on constant arguments can be evaluated at compile time
/// without changing the value the user's function computes at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fold {
    /// Exact in every float type, a generic `F` included (`abs`, `signum`).
    Always,
    /// Correctly rounded by IEEE 754 (or a selection of an argument): exact
    /// in `f32` and `f64`, whose precision is known, not in a generic `F`.
    /// Computing in `f64` and rounding to `f32` is exact for these
    /// (53 ≥ 2·24 + 2 bits).
    CorrectlyRounded,
    /// Exact in `f64` only (`mul_add`: an `f32` fused multiply-add is not an
    /// `f64` one rounded).
    F64Only,
    /// Depends on the math library (transcendental functions): never folded
    /// in the forward pass; derivatives may still fold.
    Never,
}

/// How the explanation algebra ([`crate::algebra`]) reads a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algebra {
    /// An opaque function of its arguments.
    Opaque,
    /// `1/x`.
    Recip,
    /// `x·x`.
    Square,
    /// `a·b + c`.
    MulAdd,
}

/// One primitive.
pub struct Primitive {
    /// The Rust name (`"exp"`, `"sigmoid"`).
    pub name: &'static str,
    /// How it is called.
    pub spelling: Spelling,
    /// Forward value on `f64`; `None` where the call would panic at run
    /// time (it is then never folded).
    pub eval: fn(&[f64]) -> Option<f64>,
    /// Local derivative with respect to each argument (so the arity), as
    /// s-expressions.
    pub derivs: &'static [&'static str],
    /// When constant folding is exact.
    pub fold: Fold,
    /// The LaTeX function name (`\tanh`); empty: `\operatorname{name}`.
    pub latex: &'static str,
    /// How the explanation algebra reads it.
    pub algebra: Algebra,
    /// A point inside the function's domain, away from kinks, at which the
    /// table's own test checks every derivative against finite differences.
    pub sample: &'static [f64],
    /// Whether a call can panic: it then stays where the user wrote it
    /// (never hoisted out of a loop that might not run).
    pub may_panic: bool,
}

impl Primitive {
    /// The number of arguments (the receiver of a method included).
    pub fn arity(&self) -> usize {
        self.derivs.len()
    }

    /// Whether a call costs much more than arithmetic (a math-library
    /// function, not one IEEE 754 rounds exactly like `sqrt` or `abs`): a
    /// reversed loop then restores its value from the tape instead of
    /// computing it again.
    pub fn is_expensive(&self) -> bool {
        matches!(self.fold, Fold::F64Only | Fold::Never)
    }

    /// The LaTeX spelling of the function's name.
    pub fn latex_name(&self) -> String {
        if self.latex.is_empty() {
            format!("\\operatorname{{{}}}", self.name.replace('_', "\\_"))
        } else {
            self.latex.to_owned()
        }
    }
}

macro_rules! prim {
    ($name:literal, $sp:ident, |$v:ident| $eval:expr, [$($d:expr),* $(,)?], $fold:ident, $latex:literal, $alg:ident, $sample:expr) => {
        Primitive {
            name: $name,
            spelling: Spelling::$sp,
            eval: |$v: &[f64]| $eval,
            derivs: &[$($d),*],
            fold: Fold::$fold,
            latex: $latex,
            algebra: Algebra::$alg,
            sample: &$sample,
            may_panic: false,
        }
    };
}

use backprop_functions as core_fns;

/// Every primitive.
pub static PRIMITIVES: &[Primitive] = &[
    // ------------------------------------------------ methods of the floats
    prim!(
        "exp",
        Method,
        |v| Some(v[0].exp()),
        ["y"],
        Never,
        "\\exp",
        Opaque,
        [0.7]
    ),
    prim!(
        "exp2",
        Method,
        |v| Some(v[0].exp2()),
        ["(* y LN_2)"],
        Never,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "exp_m1",
        Method,
        |v| Some(v[0].exp_m1()),
        ["(+ y 1)"],
        Never,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "ln",
        Method,
        |v| Some(v[0].ln()),
        ["(recip x)"],
        Never,
        "\\ln",
        Opaque,
        [1.7]
    ),
    prim!(
        "ln_1p",
        Method,
        |v| Some(v[0].ln_1p()),
        ["(recip (+ x 1))"],
        Never,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "log2",
        Method,
        |v| Some(v[0].log2()),
        ["(recip (* x LN_2))"],
        Never,
        "\\log_2",
        Opaque,
        [1.7]
    ),
    prim!(
        "log10",
        Method,
        |v| Some(v[0].log10()),
        ["(recip (* x LN_10))"],
        Never,
        "\\log_{10}",
        Opaque,
        [1.7]
    ),
    prim!(
        "sqrt",
        Method,
        |v| Some(v[0].sqrt()),
        ["(/ 0.5 y)"],
        CorrectlyRounded,
        "\\operatorname{sqrt}",
        Opaque,
        [1.7]
    ),
    prim!(
        "cbrt",
        Method,
        |v| Some(v[0].cbrt()),
        ["(recip (* 3 (* y y)))"],
        Never,
        "",
        Opaque,
        [1.7]
    ),
    prim!(
        "recip",
        Method,
        |v| Some(v[0].recip()),
        ["(neg (* y y))"],
        CorrectlyRounded,
        "",
        Recip,
        [1.7]
    ),
    prim!(
        "sin",
        Method,
        |v| Some(v[0].sin()),
        ["(cos x)"],
        Never,
        "\\sin",
        Opaque,
        [0.7]
    ),
    prim!(
        "cos",
        Method,
        |v| Some(v[0].cos()),
        ["(neg (sin x))"],
        Never,
        "\\cos",
        Opaque,
        [0.7]
    ),
    prim!(
        "tan",
        Method,
        |v| Some(v[0].tan()),
        ["(+ 1 (* y y))"],
        Never,
        "\\tan",
        Opaque,
        [0.7]
    ),
    prim!(
        "asin",
        Method,
        |v| Some(v[0].asin()),
        ["(recip (sqrt (- 1 (* x x))))"],
        Never,
        "",
        Opaque,
        [0.4]
    ),
    prim!(
        "acos",
        Method,
        |v| Some(v[0].acos()),
        ["(neg (recip (sqrt (- 1 (* x x)))))"],
        Never,
        "",
        Opaque,
        [0.4]
    ),
    prim!(
        "atan",
        Method,
        |v| Some(v[0].atan()),
        ["(recip (+ 1 (* x x)))"],
        Never,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "sinh",
        Method,
        |v| Some(v[0].sinh()),
        ["(cosh x)"],
        Never,
        "\\sinh",
        Opaque,
        [0.7]
    ),
    prim!(
        "cosh",
        Method,
        |v| Some(v[0].cosh()),
        ["(sinh x)"],
        Never,
        "\\cosh",
        Opaque,
        [0.7]
    ),
    prim!(
        "tanh",
        Method,
        |v| Some(v[0].tanh()),
        ["(- 1 (* y y))"],
        Never,
        "\\tanh",
        Opaque,
        [0.7]
    ),
    prim!(
        "asinh",
        Method,
        |v| Some(v[0].asinh()),
        ["(recip (sqrt (+ (* x x) 1)))"],
        Never,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "acosh",
        Method,
        |v| Some(v[0].acosh()),
        ["(recip (sqrt (- (* x x) 1)))"],
        Never,
        "",
        Opaque,
        [1.7]
    ),
    prim!(
        "atanh",
        Method,
        |v| Some(v[0].atanh()),
        ["(recip (- 1 (* x x)))"],
        Never,
        "",
        Opaque,
        [0.4]
    ),
    // |x|' is sign(x) with 0 at 0 (the subgradient PyTorch and JAX pick);
    // `signum` would give ±1 at ±0.
    prim!(
        "abs",
        Method,
        |v| Some(v[0].abs()),
        ["(select (> x 0) 1 (select (< x 0) -1 0))"],
        Always,
        "",
        Opaque,
        [-0.7]
    ),
    // Piecewise constant: derivative 0 almost everywhere.
    prim!(
        "signum",
        Method,
        |v| Some(v[0].signum()),
        ["0"],
        Always,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "floor",
        Method,
        |v| Some(v[0].floor()),
        ["0"],
        CorrectlyRounded,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "ceil",
        Method,
        |v| Some(v[0].ceil()),
        ["0"],
        CorrectlyRounded,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "round",
        Method,
        |v| Some(v[0].round()),
        ["0"],
        CorrectlyRounded,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "trunc",
        Method,
        |v| Some(v[0].trunc()),
        ["0"],
        CorrectlyRounded,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "fract",
        Method,
        |v| Some(v[0].fract()),
        ["1"],
        CorrectlyRounded,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "to_degrees",
        Method,
        |v| Some(v[0].to_degrees()),
        ["(/ 180 PI)"],
        Never,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "to_radians",
        Method,
        |v| Some(v[0].to_radians()),
        ["(/ PI 180)"],
        Never,
        "",
        Opaque,
        [0.7]
    ),
    // d/db uses ln(a), masked where a = 0 and b ≥ 0 (the value is then 0 or
    // 1 whatever b is nearby, as PyTorch masks it), instead of 0·(−∞) = NaN.
    prim!(
        "powf",
        Method,
        |v| Some(v[0].powf(v[1])),
        [
            "(* b (powf a (- b 1)))",
            "(select (and (== a 0) (>= b 0)) 0 (* y (ln a)))"
        ],
        Never,
        "",
        Opaque,
        [1.7, 0.6]
    ),
    prim!(
        "log",
        Method,
        |v| Some(v[0].log(v[1])),
        ["(recip (* a (ln b)))", "(neg (/ y (* b (ln b))))"],
        Never,
        "\\log",
        Opaque,
        [1.7, 2.5]
    ),
    prim!(
        "atan2",
        Method,
        |v| Some(v[0].atan2(v[1])),
        [
            "(/ b (+ (* a a) (* b b)))",
            "(neg (/ a (+ (* a a) (* b b))))"
        ],
        Never,
        "",
        Opaque,
        [0.7, 1.3]
    ),
    prim!(
        "hypot",
        Method,
        |v| Some(v[0].hypot(v[1])),
        ["(/ a y)", "(/ b y)"],
        Never,
        "",
        Opaque,
        [0.7, 1.3]
    ),
    // Rust's max/min return the other argument when one is NaN: the
    // derivative follows the argument returned.
    prim!(
        "max",
        Method,
        |v| Some(v[0].max(v[1])),
        [
            "(select (or (>= a b) (!= b b)) 1 0)",
            "(select (or (>= a b) (!= b b)) 0 1)"
        ],
        CorrectlyRounded,
        "\\max",
        Opaque,
        [0.7, 1.3]
    ),
    prim!(
        "min",
        Method,
        |v| Some(v[0].min(v[1])),
        [
            "(select (or (<= a b) (!= b b)) 1 0)",
            "(select (or (<= a b) (!= b b)) 0 1)"
        ],
        CorrectlyRounded,
        "\\min",
        Opaque,
        [0.7, 1.3]
    ),
    prim!(
        "mul_add",
        Method,
        |v| Some(v[0].mul_add(v[1], v[2])),
        ["b", "a", "1"],
        F64Only,
        "",
        MulAdd,
        [0.7, 1.3, -0.4]
    ),
    // `x.clamp(lo, hi)` panics when lo > hi or a bound is NaN: never folded
    // then, so the generated code panics exactly where the original does.
    Primitive {
        // It can panic: it stays where it was written (never hoisted out of
        // a loop that may run zero times) and runs only on the branch of a
        // run-time `if` it is in.
        may_panic: true,
        ..prim!(
            "clamp",
            Method,
            |v| (v[1] <= v[2]).then(|| v[0].clamp(v[1], v[2])),
            [
                "(select (< a b) 0 (select (> a c) 0 1))",
                "(select (< a b) 1 0)",
                "(select (< a b) 0 (select (> a c) 1 0))"
            ],
            CorrectlyRounded,
            "",
            Opaque,
            [0.7, -1.0, 1.0]
        )
    },
    // ----------------------------------- backprop's own functions (backprop_functions)
    prim!(
        "sigmoid",
        Core,
        |v| Some(core_fns::sigmoid(v[0])),
        ["(* y (- 1 y))"],
        Never,
        "\\sigma",
        Opaque,
        [0.7]
    ),
    prim!(
        "relu",
        Core,
        |v| Some(core_fns::relu(v[0])),
        ["(select (> x 0) 1 0)"],
        CorrectlyRounded,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "softplus",
        Core,
        |v| Some(core_fns::softplus(v[0])),
        ["(sigmoid x)"],
        Never,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "log_sigmoid",
        Core,
        |v| Some(core_fns::log_sigmoid(v[0])),
        ["(sigmoid (neg x))"],
        Never,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "silu",
        Core,
        |v| Some(core_fns::silu(v[0])),
        ["(* (sigmoid x) (+ 1 (* x (- 1 (sigmoid x)))))"],
        Never,
        "",
        Opaque,
        [0.7]
    ),
    prim!(
        "square",
        Core,
        |v| Some(core_fns::square(v[0])),
        ["(* 2 x)"],
        CorrectlyRounded,
        "",
        Square,
        [0.7]
    ),
    prim!(
        "erf",
        Core,
        |v| Some(core_fns::erf(v[0])),
        ["(* FRAC_2_SQRT_PI (exp (neg (* x x))))"],
        Never,
        "\\operatorname{erf}",
        Opaque,
        [0.7]
    ),
    prim!(
        "leaky_relu",
        Core,
        |v| Some(core_fns::leaky_relu(v[0], v[1])),
        ["(select (> a 0) 1 b)", "(select (> a 0) 0 a)"],
        CorrectlyRounded,
        "",
        Opaque,
        [-0.7, 0.1]
    ),
];

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
/// `if a { b } else { c }`: nothing flows into the condition; each arm
/// receives the adjoint only when it was the one taken.
pub const SELECT_DERIVS: &[&str] = &["0", "(select a 1 0)", "(select a 0 1)"];

/// Index of a primitive by its Rust name.
pub fn index(name: &str) -> Option<usize> {
    PRIMITIVES.iter().position(|f| f.name == name)
}

/// The method `x.name(args…)` with `extra` arguments after the receiver.
pub fn method(name: &str, extra: usize) -> Option<usize> {
    PRIMITIVES
        .iter()
        .position(|f| f.name == name && f.spelling == Spelling::Method && f.arity() == extra + 1)
}

/// backprop's own function `name(args…)`.
pub fn core_function(name: &str) -> Option<usize> {
    PRIMITIVES
        .iter()
        .position(|f| f.name == name && f.spelling == Spelling::Core)
}

/// The methods a float supports, for error messages.
pub fn method_names() -> Vec<&'static str> {
    PRIMITIVES
        .iter()
        .filter(|f| f.spelling == Spelling::Method)
        .map(|f| f.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Graph, Mode, Op};
    use crate::pattern::{SLOTS, TEMPLATES};

    #[test]
    fn every_template_parses_and_names_are_unique() {
        let t = &*TEMPLATES;
        assert_eq!(t.prims.len(), PRIMITIVES.len());
        let mut names: Vec<_> = PRIMITIVES.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let len = names.len();
        names.dedup();
        assert_eq!(len, names.len());
        for f in PRIMITIVES {
            assert_eq!(
                f.sample.len(),
                f.arity(),
                "{}: one sample per argument",
                f.name
            );
        }
    }

    /// Every derivative of every row, built as the sweep builds it and
    /// evaluated, against central differences of the row's own forward
    /// value at the row's sample point.
    #[test]
    fn every_derivative_matches_finite_differences() {
        for (row, f) in PRIMITIVES.iter().enumerate() {
            let x = f.sample;
            let y = (f.eval)(x).unwrap_or_else(|| panic!("{} is defined at its sample", f.name));
            for k in 0..f.arity() {
                let mut g = Graph::new(false);
                g.mode = Mode::Gradient;
                let args: Vec<_> = (0..f.arity())
                    .map(|i| {
                        g.node(
                            Op::Param {
                                param: 0,
                                index: i as u32,
                            },
                            vec![],
                        )
                    })
                    .collect();
                let node = g.node(Op::Fun(row as u8), args.clone());
                let mut binds = [None; SLOTS];
                for (slot, &a) in args.iter().enumerate() {
                    binds[slot] = Some(a);
                }
                binds[3] = Some(node);
                let d = g.build(&TEMPLATES.prims[row][k], &binds);
                let values = g.eval(&|_, i| x[i as usize]);
                let derived = values[d.index()];
                let h = 1e-6;
                let at = |delta: f64| {
                    let mut p = x.to_vec();
                    p[k] += delta;
                    (f.eval)(&p).unwrap()
                };
                let fd = (at(h) - at(-h)) / (2.0 * h);
                assert!(
                    (derived - fd).abs() <= 1e-6 * fd.abs().max(1.0),
                    "{}: ∂/∂arg{k} at {x:?} is {derived}, finite differences {fd} (value {y})",
                    f.name
                );
            }
        }
    }
}
