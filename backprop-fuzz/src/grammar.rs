//! Grammar-based generation of `#[derive_grad]` inputs.
//!
//! The generator writes source text for a whole function: attribute
//! arguments, qualifiers, generics, parameters, return type and a body of
//! statements and expressions. It keeps track of the names in scope (floats,
//! arrays and their shapes, loop variables and their ranges, integer and
//! bool parameters) so that, with `weird = 0`, most functions are valid
//! loss functions that the compiler accepts and differentiates (which
//! exercises the sweep, the simplifier and the emitter). With a positive
//! `weird` probability any expression, statement, type or pattern may
//! instead be one of a catalogue of every other syntax form — supported or
//! not, well-typed or not, in every position — which exercises every error
//! path. Sizes are bounded so a normal input is small.

use crate::rng::Rng;

/// One generated input.
#[derive(Clone, Debug)]
pub struct Generated {
    /// Tokens inside `#[derive_grad(…)]`.
    pub attr: String,
    /// The function.
    pub src: String,
}

/// An array in scope: its name and shape (outermost first).
#[derive(Clone, Debug)]
struct Arr {
    name: String,
    shape: Vec<usize>,
    mutable: bool,
}

/// A compile-time integer in scope (a loop variable) and its largest value.
#[derive(Clone, Debug)]
struct IntVar {
    name: String,
    max: i64,
}

#[derive(Clone, Debug, Default)]
struct Ctx {
    floats: Vec<String>,
    muts: Vec<String>,
    arrays: Vec<Arr>,
    ints: Vec<IntVar>,
    rtints: Vec<String>,
    bools: Vec<String>,
    in_loop: bool,
}

impl Ctx {
    fn bind_float(&mut self, name: &str, mutable: bool) {
        self.floats.retain(|n| n != name);
        self.muts.retain(|n| n != name);
        self.arrays.retain(|a| a.name != name);
        self.floats.push(name.to_string());
        if mutable {
            self.muts.push(name.to_string());
        }
    }
    fn bind_array(&mut self, name: &str, shape: Vec<usize>, mutable: bool) {
        self.floats.retain(|n| n != name);
        self.muts.retain(|n| n != name);
        self.arrays.retain(|a| a.name != name);
        self.arrays.push(Arr {
            name: name.to_string(),
            shape,
            mutable,
        });
    }
}

/// The element type the function computes in.
#[derive(Clone, Debug, PartialEq)]
enum Elem {
    F64,
    F32,
    /// A type parameter, with its name.
    Generic(String),
    /// Something that is not a float type (`i32`, a tuple, …).
    Weird(String),
}

impl Elem {
    fn ty(&self) -> String {
        match self {
            Elem::F64 => "f64".into(),
            Elem::F32 => "f32".into(),
            Elem::Generic(g) | Elem::Weird(g) => g.clone(),
        }
    }
}

/// The functions the compiler knows, as methods: (name, arity besides self).
const METHODS: &[(&str, usize)] = &[
    ("exp", 0),
    ("exp2", 0),
    ("exp_m1", 0),
    ("ln", 0),
    ("ln_1p", 0),
    ("log2", 0),
    ("log10", 0),
    ("sqrt", 0),
    ("cbrt", 0),
    ("recip", 0),
    ("sin", 0),
    ("cos", 0),
    ("tan", 0),
    ("asin", 0),
    ("acos", 0),
    ("atan", 0),
    ("sinh", 0),
    ("cosh", 0),
    ("tanh", 0),
    ("asinh", 0),
    ("acosh", 0),
    ("atanh", 0),
    ("abs", 0),
    ("signum", 0),
    ("floor", 0),
    ("ceil", 0),
    ("round", 0),
    ("trunc", 0),
    ("fract", 0),
    ("to_degrees", 0),
    ("to_radians", 0),
    ("powf", 1),
    ("log", 1),
    ("atan2", 1),
    ("hypot", 1),
    ("max", 1),
    ("min", 1),
    ("mul_add", 2),
    ("clamp", 2),
    ("unwrap", 0),
    ("clone", 0),
];

/// Methods the compiler does not know (or knows on other receivers).
const UNKNOWN_METHODS: &[&str] = &[
    "foo",
    "sin_cos",
    "is_nan",
    "to_string",
    "len",
    "iter",
    "sum",
    "product",
    "rev",
    "powi",
    "abs_sub",
    "total_cmp",
    "partial_cmp",
    "copysign",
    "rem_euclid",
    "div_euclid",
    "expect",
    "unwrap_or",
    "into",
    "try_into",
    "as_ref",
    "borrow",
    "map",
    "step_by",
    "enumerate",
    "zip",
];

/// backprop's functions: (name, arity).
const CORE: &[(&str, usize)] = &[
    ("sigmoid", 1),
    ("relu", 1),
    ("softplus", 1),
    ("log_sigmoid", 1),
    ("silu", 1),
    ("square", 1),
    ("leaky_relu", 2),
];

const INT_TYPES: &[&str] = &[
    "usize", "isize", "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128",
];

const NAMES: &[&str] = &[
    "x", "w", "b", "y", "t", "v", "a", "z", "p", "q", "c0", "d_x", "x_grad", "out", "s", "h",
    "r#type", "r#loop", "loss", "grad", "e", "F", "self_", "_u", "__t1", "value",
];

/// Bounds the size of one generated function.
struct Budget {
    /// Expression nodes left.
    nodes: usize,
}

/// The generator of one function.
pub struct Gen<'r> {
    rng: &'r mut Rng,
    /// Probability that any one form is replaced by an arbitrary one.
    weird: f64,
    elem: Elem,
    fresh: u32,
    budget: Budget,
}

/// Generates one function.
pub fn function(rng: &mut Rng) -> Generated {
    let weird = *rng.pick(&[0.0, 0.0, 0.0, 0.01, 0.03, 0.08, 0.2, 0.5]);
    let elem = match rng.below(20) {
        0..=8 => Elem::F64,
        9..=12 => Elem::F32,
        13..=17 => Elem::Generic(rng.pick(&["F", "F", "T", "Real", "f"]).to_string()),
        _ => Elem::Weird(
            rng.pick(&[
                "i32",
                "bool",
                "(f64, f64)",
                "[f64; 2]",
                "&f64",
                "impl Float",
                "f16",
                "Self",
                "!",
                "()",
                "Box<f64>",
                "<F as Float>::Output",
                "dyn Float",
                "_",
                "f64::Output",
                "std::primitive::f64",
            ])
            .to_string(),
        ),
    };
    let mut g = Gen {
        rng,
        weird,
        elem,
        fresh: 0,
        budget: Budget { nodes: 0 },
    };
    g.budget.nodes = g.rng.log_size(10, 400);
    g.function()
}

impl Gen<'_> {
    fn odd(&mut self) -> bool {
        self.weird > 0.0 && self.rng.chance(self.weird)
    }

    fn name(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }

    fn e(&self) -> String {
        self.elem.ty()
    }

    fn is_generic(&self) -> bool {
        matches!(self.elem, Elem::Generic(_))
    }

    // ------------------------------------------------------------ header

    fn function(&mut self) -> Generated {
        let mut ctx = Ctx::default();
        let (params, float_params, other_params) = self.params(&mut ctx);
        let attr = self.attr(&float_params, &other_params);
        let name = if self.odd() {
            self.rng
                .pick(&[
                    "r#fn",
                    "loss_grad",
                    "f_vjp",
                    "_",
                    "r#match",
                    "grad",
                    "Self_",
                ])
                .to_string()
        } else {
            "loss".to_string()
        };
        let quals = if self.odd() {
            self.rng
                .pick(&[
                    "pub ",
                    "pub(crate) ",
                    "const ",
                    "async ",
                    "unsafe ",
                    "extern \"C\" ",
                    "pub const unsafe ",
                    "default ",
                    "#[inline] ",
                    "/// doc\n",
                    "#[doc = \"x\"] pub ",
                ])
                .to_string()
        } else if self.rng.chance(0.2) {
            "pub ".to_string()
        } else {
            String::new()
        };
        let generics = self.generics();
        let ret = if self.odd() {
            self.rng
                .pick(&[
                    "",
                    "-> ()",
                    "-> (f64, f64)",
                    "-> [f64; 1]",
                    "-> impl Float",
                    "-> Self",
                    "-> i32",
                    "-> &'static f64",
                    "-> !",
                    "-> Option<f64>",
                    "-> Result<f64, ()>",
                ])
                .to_string()
        } else {
            format!("-> {}", self.e())
        };
        let where_clause = if self.is_generic() && self.rng.chance(0.15) {
            format!(" where {}: Float", self.e())
        } else if self.odd() {
            " where f64: Copy".to_string()
        } else {
            String::new()
        };
        let body = self.body(&mut ctx);
        Generated {
            attr,
            src: format!(
                "{quals}fn {name}{generics}({}) {ret}{where_clause} {body}",
                params.join(", ")
            ),
        }
    }

    fn generics(&mut self) -> String {
        let e = self.e();
        let base = match &self.elem {
            Elem::Generic(_) => match self.rng.below(10) {
                0 => format!("<{e}: num_traits::Float>"),
                1 => format!("<{e}: Float + Copy + std::fmt::Debug>"),
                2 => format!("<'a, {e}: Float>"),
                3 => format!("<{e}: Float, G: Float>"),
                4 if self.weird > 0.0 => format!("<{e}: Float, const N: usize>"),
                5 if self.weird > 0.0 => format!("<{e}>"),
                6 if self.weird > 0.0 => format!("<{e}: Float = f64>"),
                _ => format!("<{e}: Float>"),
            },
            _ => String::new(),
        };
        if self.odd() {
            self.rng
                .pick(&[
                    "<const N: usize>",
                    "<T>",
                    "<'a>",
                    "<F: Float>",
                    "<F: Float, const N: usize>",
                    "<const N: usize = 3>",
                    "<F: Float, F: Float>",
                ])
                .to_string()
        } else {
            base
        }
    }

    fn attr(&mut self, floats: &[String], others: &[String]) -> String {
        let mut wrt: Vec<String> = Vec::new();
        if !floats.is_empty() && self.rng.chance(0.5) {
            for f in floats {
                if self.rng.chance(0.6) {
                    wrt.push(f.clone());
                }
            }
            if self.rng.chance(0.3) {
                // order matters: reverse sometimes
                wrt.reverse();
            }
        }
        let mut parts = Vec::new();
        if !wrt.is_empty() {
            parts.push(format!("wrt({})", wrt.join(", ")));
        }
        if self.rng.chance(0.12) {
            parts.push("explain".to_string());
        }
        if self.odd() || self.rng.chance(0.03) {
            let other = others.first().cloned().unwrap_or_else(|| "n".to_string());
            let junk = [
                "wrt()".to_string(),
                "wrt(nope)".to_string(),
                format!("wrt({other})"),
                "wrt(x, x)".to_string(),
                "wrt(x,)".to_string(),
                "wrt(x,,y)".to_string(),
                "wrt = x".to_string(),
                "wrt(x) wrt(y)".to_string(),
                "wrt(x), wrt(y)".to_string(),
                "explain(true)".to_string(),
                "explain = 1".to_string(),
                "foo".to_string(),
                "foo(bar)".to_string(),
                "1".to_string(),
                "\"wrt\"".to_string(),
                "wrt(1)".to_string(),
                "wrt(r#type)".to_string(),
                "wrt(self)".to_string(),
                "wrt(x::y)".to_string(),
                "wrt[x]".to_string(),
                "wrt{x}".to_string(),
                ", ".to_string(),
                "explain, explain".to_string(),
                "#".to_string(),
                "wrt(x) explain".to_string(),
                "::wrt(x)".to_string(),
            ];
            parts.push(self.rng.pick(&junk).clone());
        }
        parts.join(", ")
    }

    /// Returns (parameter texts, float parameter names, other names).
    fn params(&mut self, ctx: &mut Ctx) -> (Vec<String>, Vec<String>, Vec<String>) {
        let n = if self.odd() {
            self.rng.below(12)
        } else {
            self.rng.range(1, 5)
        };
        let mut out = Vec::new();
        let mut floats = Vec::new();
        let mut others = Vec::new();
        let mut used: Vec<String> = Vec::new();
        for k in 0..n {
            let mut name = if self.rng.chance(0.7) {
                ["x", "w", "b", "y", "t", "v", "a", "c"][k % 8].to_string()
            } else {
                self.rng.pick(NAMES).to_string()
            };
            if used.contains(&name) && !self.odd() {
                name = format!("p{k}");
            }
            used.push(name.clone());
            let e = self.e();
            if self.odd() {
                // any parameter type or pattern at all
                let weird = [
                    format!("{name}: &[{e}]"),
                    format!("{name}: Vec<{e}>"),
                    format!("{name}: &mut {e}"),
                    format!("{name}: &mut [{e}; 3]"),
                    format!("{name}: &&{e}"),
                    format!("{name}: &&[{e}; 2]"),
                    format!("{name}: & &[[{e}; 2]; 2]"),
                    format!("{name}: ({e}, {e})"),
                    format!("{name}: ()"),
                    format!("{name}: [{e}; 0]"),
                    format!("{name}: [[{e}; 0]; 3]"),
                    format!("{name}: [{e}; 1000000000]"),
                    format!("{name}: [{e}; 18446744073709551615]"),
                    format!("{name}: [{e}; 99999999999999999999999]"),
                    format!("{name}: [{e}; 4294967296]"),
                    format!("{name}: [[{e}; 65536]; 65536]"),
                    format!("{name}: [{e}; N]"),
                    format!("{name}: [{e}; 2 + 1]"),
                    format!("{name}: [{e}; 3usize]"),
                    format!("{name}: [{e}; 0x3]"),
                    format!("{name}: [{e}; {{ 3 }}]"),
                    format!("{name}: [{e}; (3)]"),
                    format!("{name}: [{e}; -1]"),
                    format!("{name}: [bool; 3]"),
                    format!("{name}: [usize; 3]"),
                    format!("{name}: Option<{e}>"),
                    format!("{name}: Box<{e}>"),
                    format!("{name}: String"),
                    format!("{name}: &str"),
                    format!("{name}: char"),
                    format!("{name}: impl Float"),
                    format!("{name}: dyn Float"),
                    format!("{name}: fn(f64) -> f64"),
                    format!("{name}: *const {e}"),
                    format!("{name}: f32"),
                    format!("{name}: f64"),
                    format!("{name}: ({e})"),
                    format!("{name}: &'a {e}"),
                    format!("{name}: &'static [{e}; 2]"),
                    format!("{name}: Self"),
                    format!("{name}: _"),
                    format!("{name}: <{e} as Float>::Real"),
                    format!("{name}: std::primitive::f64"),
                    format!("mut {name}: {e}"),
                    format!("mut {name}: [{e}; 2]"),
                    format!("_: {e}"),
                    format!("ref {name}: {e}"),
                    format!("(a, b): ({e}, {e})"),
                    format!("[a, b]: [{e}; 2]"),
                    format!("{name} @ _: {e}"),
                    format!("&{name}: &{e}"),
                    "self".to_string(),
                    "&self".to_string(),
                    "&mut self".to_string(),
                    "self: Box<Self>".to_string(),
                    "...".to_string(),
                    format!("#[cfg(any())] {name}: {e}"),
                    format!("#[allow(unused)] {name}: {e}"),
                    format!("{name}: u128"),
                    format!("{name}: i8"),
                    format!("{name}: [[[{e}; 1]; 1]; 1]"),
                ];
                let p = self.rng.pick(&weird).clone();
                // A plausible guess of what the name holds, so the body can use it.
                if p.contains('[') && !p.contains("bool") && !p.contains("usize") {
                    ctx.bind_array(&name, vec![2], false);
                    floats.push(name.clone());
                } else if p.contains(": bool") {
                    ctx.bools.push(name.clone());
                } else {
                    ctx.bind_float(&name, false);
                    floats.push(name.clone());
                }
                out.push(p);
                continue;
            }
            let by_ref = if self.rng.chance(0.25) { "&" } else { "" };
            match self.rng.below(12) {
                0..=3 => {
                    out.push(format!("{name}: {by_ref}{e}"));
                    ctx.bind_float(&name, false);
                    floats.push(name);
                }
                4..=7 => {
                    let len = *self.rng.pick(&[1, 2, 3, 3, 4, 5]);
                    out.push(format!("{name}: {by_ref}[{e}; {len}]"));
                    ctx.bind_array(&name, vec![len], false);
                    floats.push(name);
                }
                8 => {
                    let (r, c) = (self.rng.range(1, 3), self.rng.range(1, 3));
                    out.push(format!("{name}: {by_ref}[[{e}; {c}]; {r}]"));
                    ctx.bind_array(&name, vec![r, c], false);
                    floats.push(name);
                }
                9 => {
                    out.push(format!("{name}: bool"));
                    ctx.bools.push(name.clone());
                    others.push(name);
                }
                10 if self.rng.chance(0.3) => {
                    // Integers in a slice, `Vec` or array: their elements
                    // (at literal, perhaps outside, indices) and length are
                    // run-time integers.
                    let t = self.rng.pick(&["usize", "i32", "u8"]);
                    let ty = match self.rng.below(3) {
                        0 => format!("&[{t}]"),
                        1 => format!("Vec<{t}>"),
                        _ => format!("[{t}; 3]"),
                    };
                    out.push(format!("{name}: {ty}"));
                    for k in 0..self.rng.range(1, 3) {
                        ctx.rtints
                            .push(format!("{name}[{}]", k + self.rng.below(2)));
                    }
                    ctx.rtints.push(format!("{name}.len()"));
                    others.push(name);
                }
                10 => {
                    let t = self
                        .rng
                        .pick(&["usize", "usize", "i32", "u8", "i64", "u64"]);
                    out.push(format!("{name}: {t}"));
                    ctx.rtints.push(name.clone());
                    others.push(name);
                }
                _ => {
                    // a non-differentiated float of the element type
                    out.push(format!("{name}: {e}"));
                    ctx.bind_float(&name, false);
                    floats.push(name);
                }
            }
        }
        (out, floats, others)
    }

    // -------------------------------------------------------------- body

    fn body(&mut self, ctx: &mut Ctx) -> String {
        let mut out = String::from("{\n");
        if self.odd() {
            out.push_str("#![allow(unused)]\n");
        }
        let n = self.rng.below(8);
        for _ in 0..n {
            let s = self.stmt(ctx, 2);
            out.push_str(&s);
            out.push('\n');
        }
        let tail = self.fexpr(ctx, 3);
        if self.rng.chance(0.1) {
            out.push_str(&format!("return {tail};\n}}"));
        } else if self.odd() {
            let t = self
                .rng
                .pick(&[
                    format!("{tail};"),
                    "return;".to_string(),
                    String::new(),
                    format!("return {tail}"),
                    format!("{{ {tail} }}"),
                    format!("({tail}, {tail})"),
                    format!("[{tail}]"),
                    "loop {}".to_string(),
                    format!("{tail} as i32"),
                    "()".to_string(),
                    "unimplemented!()".to_string(),
                ])
                .clone();
            out.push_str(&t);
            out.push_str("\n}");
        } else {
            out.push_str(&tail);
            out.push_str("\n}");
        }
        out
    }

    fn block(&mut self, ctx: &Ctx, depth: usize, n: usize) -> (String, Ctx) {
        let mut inner = ctx.clone();
        let mut out = String::from("{ ");
        for _ in 0..n {
            let s = self.stmt(&mut inner, depth);
            out.push_str(&s);
            out.push(' ');
        }
        out.push('}');
        (out, inner)
    }

    /// After a block, the outer names keep their kinds (a block cannot
    /// change what a name is), but a `let mut` inside does not leak.
    fn stmt(&mut self, ctx: &mut Ctx, depth: usize) -> String {
        if self.odd() {
            return self.weird_stmt(ctx, depth);
        }
        let e = self.e();
        match self.rng.below(14) {
            0..=2 => {
                let name = if self.rng.chance(0.3) && !ctx.floats.is_empty() {
                    // shadowing
                    self.rng.pick(&ctx.floats).clone()
                } else {
                    self.name("v")
                };
                let init = self.fexpr(ctx, 3);
                let mutable = self.rng.chance(0.4);
                let m = if mutable { "mut " } else { "" };
                let ty = if self.rng.chance(0.2) {
                    format!(": {e}")
                } else {
                    String::new()
                };
                ctx.bind_float(&name, mutable);
                format!("let {m}{name}{ty} = {init};")
            }
            3 | 4 if !ctx.muts.is_empty() => {
                let name = self.rng.pick(&ctx.muts).clone();
                let op = *self.rng.pick(&["", "+", "-", "*", "/", "+", "*"]);
                let rhs = if op == "/" {
                    self.positive(ctx, 2)
                } else {
                    self.fexpr(ctx, 3)
                };
                format!("{name} {op}= {rhs};")
            }
            5 => {
                let name = self.name("h");
                let shape = if self.rng.chance(0.7) {
                    vec![self.rng.range(1, 4)]
                } else {
                    vec![self.rng.range(1, 3), self.rng.range(1, 3)]
                };
                let init = self.lit(ctx);
                let ty = match shape.as_slice() {
                    [n] => format!("[{init}; {n}]"),
                    [r, c] => format!("[[{init}; {c}]; {r}]"),
                    _ => unreachable!(),
                };
                ctx.bind_array(&name, shape, true);
                format!("let mut {name} = {ty};")
            }
            6 => {
                let muts: Vec<Arr> = ctx.arrays.iter().filter(|a| a.mutable).cloned().collect();
                if muts.is_empty() {
                    return format!("let _ = {};", self.fexpr(ctx, 2));
                }
                let a = self.rng.pick(&muts).clone();
                let idx: String = a
                    .shape
                    .iter()
                    .map(|&n| format!("[{}]", self.index(ctx, n)))
                    .collect();
                let op = *self.rng.pick(&["", "+", "-", "*"]);
                let rhs = self.fexpr(ctx, 2);
                format!("{}{idx} {op}= {rhs};", a.name)
            }
            7 | 8 if depth > 0 => self.for_loop(ctx, depth),
            9 if depth > 0 => {
                let cond = self.cond(ctx, 2);
                let n = self.rng.range(1, 3);
                let (then, _) = self.block(ctx, depth - 1, n);
                let els = match self.rng.below(3) {
                    0 => String::new(),
                    1 => {
                        let n = self.rng.range(1, 2);
                        format!(" else {}", self.block(ctx, depth - 1, n).0)
                    }
                    _ => {
                        let c2 = self.cond(ctx, 1);
                        let (b2, _) = self.block(ctx, depth - 1, 1);
                        let (b3, _) = self.block(ctx, depth - 1, 1);
                        format!(" else if {c2} {b2} else {b3}")
                    }
                };
                format!("if {cond} {then}{els}")
            }
            10 if depth > 0 => {
                let n = self.rng.range(1, 3);
                self.block(ctx, depth - 1, n).0
            }
            11 if !ctx.muts.is_empty() => {
                // `x = if c { … } else { … };`
                let name = self.rng.pick(&ctx.muts).clone();
                let c = self.cond(ctx, 1);
                let (a, b) = (self.fexpr(ctx, 2), self.fexpr(ctx, 2));
                format!("{name} = if {c} {{ {a} }} else {{ {b} }};")
            }
            12 => {
                // deferred initialisation
                let name = self.name("d");
                let v = self.fexpr(ctx, 2);
                ctx.bind_float(&name, false);
                format!("let {name}; {name} = {v};")
            }
            _ => {
                let name = self.name("v");
                let init = self.fexpr(ctx, 2);
                ctx.bind_float(&name, false);
                format!("let {name} = {init};")
            }
        }
    }

    fn for_loop(&mut self, ctx: &mut Ctx, depth: usize) -> String {
        let mut inner = ctx.clone();
        inner.in_loop = true;
        let var = self.name("i");
        let head = match self.rng.below(9) {
            0..=2 => {
                let n = self.rng.range(0, 4) as i64;
                inner.ints.push(IntVar {
                    name: var.clone(),
                    max: n - 1,
                });
                format!("for {var} in 0..{n}")
            }
            3 => {
                let n = self.rng.range(0, 3) as i64;
                inner.ints.push(IntVar {
                    name: var.clone(),
                    max: n,
                });
                format!("for {var} in 0..={n}")
            }
            4 => {
                let n = self.rng.range(1, 4) as i64;
                inner.ints.push(IntVar {
                    name: var.clone(),
                    max: n - 1,
                });
                if self.rng.chance(0.5) {
                    format!("for {var} in (0..{n}).rev()")
                } else {
                    format!("for {var} in (0..{n}).step_by({})", self.rng.range(1, 3))
                }
            }
            5 if !ctx.ints.is_empty() => {
                // a bound from the enclosing loop variable
                let outer = self.rng.pick(&ctx.ints).clone();
                inner.ints.push(IntVar {
                    name: var.clone(),
                    max: outer.max,
                });
                format!("for {var} in 0..=({})", outer.name)
            }
            6 | 7 if !ctx.arrays.is_empty() => {
                let a = self.rng.pick(&ctx.arrays).clone();
                let elem = self.name("e");
                let bind_elem = |inner: &mut Ctx, name: &str| {
                    if a.shape.len() > 1 {
                        inner.bind_array(name, a.shape[1..].to_vec(), false);
                    } else {
                        inner.bind_float(name, false);
                    }
                };
                match self.rng.below(5) {
                    0 => {
                        bind_elem(&mut inner, &elem);
                        format!("for {elem} in {}", a.name)
                    }
                    1 => {
                        bind_elem(&mut inner, &elem);
                        format!("for &{elem} in {}.iter()", a.name)
                    }
                    2 => {
                        bind_elem(&mut inner, &elem);
                        inner.ints.push(IntVar {
                            name: var.clone(),
                            max: a.shape[0] as i64 - 1,
                        });
                        format!("for ({var}, {elem}) in {}.iter().enumerate()", a.name)
                    }
                    3 => {
                        let b = self.rng.pick(&ctx.arrays).clone();
                        let elem2 = self.name("e");
                        bind_elem(&mut inner, &elem);
                        if b.shape.len() > 1 {
                            inner.bind_array(&elem2, b.shape[1..].to_vec(), false);
                        } else {
                            inner.bind_float(&elem2, false);
                        }
                        format!(
                            "for ({elem}, &{elem2}) in {}.iter().zip({}.iter())",
                            a.name, b.name
                        )
                    }
                    _ => {
                        bind_elem(&mut inner, &elem);
                        format!("for {elem} in {}.iter().rev()", a.name)
                    }
                }
            }
            _ => format!("for _ in 0..{}", self.rng.range(0, 3)),
        };
        let n = self.rng.range(1, 3);
        let mut body = String::from("{ ");
        for _ in 0..n {
            let s = self.stmt(&mut inner, depth - 1);
            body.push_str(&s);
            body.push(' ');
        }
        body.push('}');
        format!("{head} {body}")
    }

    fn weird_stmt(&mut self, ctx: &mut Ctx, depth: usize) -> String {
        let x = self.fexpr(ctx, 1);
        let y = self.fexpr(ctx, 1);
        let e = self.e();
        let v = self.name("v");
        let arr = ctx
            .arrays
            .first()
            .map(|a| a.name.clone())
            .unwrap_or_else(|| "w".into());
        let lbl = format!("'l{}", self.fresh);
        let forms = [
            format!("while {x} < {y} {{ }}"),
            format!("while let Some(a) = None::<{e}> {{ }}"),
            "loop { break; }".to_string(),
            format!("{lbl}: loop {{ break {lbl}; }}"),
            format!(
                "{lbl}: for i in 0..3 {{ for j in 0..2 {{ if i == j {{ continue {lbl}; }} }} }}"
            ),
            format!("{lbl}: for i in 0..3 {{ if i > 1 {{ break {lbl}; }} }}"),
            "for i in 0..3 { break; }".to_string(),
            "for i in 0..3 { continue; }".to_string(),
            "break;".to_string(),
            "continue;".to_string(),
            "for i in 0.. { }".to_string(),
            "for i in ..3 { }".to_string(),
            "for i in 0..n { }".to_string(),
            "for i in 0..1000000000 { }".to_string(),
            "for i in 0..9223372036854775807 { }".to_string(),
            "for i in (0..3).map(|k| k) { }".to_string(),
            format!("for i in {arr}.iter().skip(1) {{ }}"),
            "for i in 3..0 { }".to_string(),
            "for i in (0..4).step_by(0) { }".to_string(),
            format!("for (a, b) in {arr} {{ }}"),
            format!("for [a, b] in [[{x}, {y}]] {{ }}"),
            format!("for i in [0, 1, 2] {{ let {v} = {arr}[i]; }}"),
            format!("println!(\"{{}}\", {x});"),
            format!("assert!({x} > 0.0);"),
            format!("assert_eq!({x}, {y});"),
            "debug_assert!(true);".to_string(),
            format!("dbg!({x});"),
            format!("let {v} = vec![{x}];"),
            format!("let {v} = format!(\"{{}}\", {x});"),
            "todo!();".to_string(),
            "panic!(\"no\");".to_string(),
            format!("fn inner(a: {e}) -> {e} {{ a }}"),
            format!("const K: {e} = 2.0;"),
            "static S: f64 = 1.0;".to_string(),
            "use std::f64::consts::PI;".to_string(),
            "use backprop::prelude::*;".to_string(),
            "struct S { a: f64 }".to_string(),
            "impl S {}".to_string(),
            "mod m {}".to_string(),
            "enum E { A }".to_string(),
            "trait T {}".to_string(),
            "type A = f64;".to_string(),
            "macro_rules! m { () => {} }".to_string(),
            "extern crate std;".to_string(),
            format!("let ({v}, _) = ({x}, {y});"),
            format!("let (a, b) = ({x}, {y});"),
            format!("let ((a, b), c) = (({x}, {y}), {x});"),
            format!("let _ = {x};"),
            format!("let _{v} = {x};"),
            format!("let ref {v} = {x};"),
            format!("let ref mut {v} = {x};"),
            format!("let &{v} = &{x};"),
            format!("let [a, b] = [{x}, {y}];"),
            format!("let [a, .., b] = {arr};"),
            "let S { a } = s;".to_string(),
            format!("let {v} @ _ = {x};"),
            format!("let (mut a, b) = ({x}, {y});"),
            format!("let Some({v}) = Some({x}) else {{ return {y}; }};"),
            format!("let {v}: i32 = {x};"),
            format!("let {v}: [{e}; 2] = {x};"),
            format!("let {v} = ();"),
            format!("let {v};"),
            format!("let mut {v}; {v} += {x};"),
            format!("let {v} = {v};"),
            "let 1 = 1;".to_string(),
            format!("let a | a = {x};"),
            format!("let (a,) = ({x},);"),
            format!("(a, b) = ({x}, {y});"),
            format!("[a, b] = [{x}, {y}];"),
            format!("_ = {x};"),
            format!("{arr}[0] = {x};"),
            format!("{arr}[7] = {x};"),
            format!("{arr}[0][0][0] = {x};"),
            format!("{arr}[n] = {x};"),
            format!("*{arr} = {x};"),
            format!("s.a = {x};"),
            format!("f() = {x};"),
            format!("undeclared = {x};"),
            format!("undeclared += {x};"),
            format!("x %= {y};"),
            "x <<= 1;".to_string(),
            "x ^= 1;".to_string(),
            "x |= 1;".to_string(),
            "x &= 1;".to_string(),
            "x >>= 1;".to_string(),
            format!("{x} = {y};"),
            format!("{x};"),
            format!("return {x};"),
            "return;".to_string(),
            ";".to_string(),
            format!("#[allow(unused)] let {v} = {x};"),
            format!("#[cfg(any())] let {v} = {x};"),
            format!("#[rustfmt::skip] {x};"),
            format!("unsafe {{ {x}; }}"),
            format!("{{ {{ {{ {x}; }} }} }}"),
            format!("if let Some(a) = Some({x}) {{ }}"),
            format!("match {x} {{ _ => {{}} }}"),
            format!("let {v} = |a: {e}| a * {x};"),
            format!("let {v} = {x}; let {v} = {v} + {v};"),
            format!("let mut {v} = [{x}; 3]; {v}[1] = {y}; {v}[1] += {v}[0];"),
            format!("let mut {v} = [[{x}; 2]; 2]; {v}[1] = [{y}, {x}];"),
            format!("let mut {v} = [{x}; 2]; {v} = [{y}, {y}];"),
            format!("let mut {v} = {x}; {v} = [1.0, 2.0];"),
            format!("let mut {v} = {x}; {{ {v} *= {y}; }}"),
            format!("let mut {v} = {x}; if {x} < {y} {{ {v} = {y}; }} else {{ let {v} = 2.0; }}"),
            format!("let {v}; if {x} < {y} {{ {v} = {x}; }}"),
            format!("let {v}; if {x} < {y} {{ {v} = {x}; }} else {{ {v} = {y}; }}"),
            format!("let mut {v} = 0; if {x} < {y} {{ {v} = 1; }}"),
            format!("let mut {v} = true; if {x} < {y} {{ {v} = false; }}"),
            format!("let mut {v} = [{x}]; if {x} < {y} {{ {v} = [{y}, {y}]; }}"),
            format!("let {v} = [{x}, {y}]; let {v} = {v}[{v}.len() - 1];"),
            format!("let {v} = {arr}.len(); let {v} = {v} * 2;"),
        ];
        let s = self.rng.pick(&forms).clone();
        if s.starts_with("let") || s.contains("; let") {
            ctx.bind_float(&v, true);
        }
        let _ = depth;
        s
    }

    // ------------------------------------------------------- expressions

    /// A float expression of the element type.
    fn fexpr(&mut self, ctx: &Ctx, depth: usize) -> String {
        if self.budget.nodes == 0 {
            return self.leaf(ctx);
        }
        self.budget.nodes -= 1;
        if self.odd() {
            return self.weird_expr(ctx, depth);
        }
        if depth == 0 || self.rng.chance(0.25) {
            return self.leaf(ctx);
        }
        let d = depth - 1;
        match self.rng.below(24) {
            0..=5 => {
                let op = *self.rng.pick(&["+", "-", "*", "+", "*"]);
                format!("({} {op} {})", self.fexpr(ctx, d), self.fexpr(ctx, d))
            }
            6 => format!("({} / {})", self.fexpr(ctx, d), self.positive(ctx, d)),
            7 => format!("(-{})", self.fexpr(ctx, d)),
            8..=11 => {
                let &(m, arity) = self.rng.pick(METHODS);
                let recv = self.fexpr(ctx, d);
                let args: Vec<String> = (0..arity).map(|_| self.fexpr(ctx, d)).collect();
                if self.is_generic() || self.rng.chance(0.85) {
                    format!("({recv}).{m}({})", args.join(", "))
                } else {
                    // `f64::max(a, b)` / `Float::exp(x)` spellings
                    let ty = self.rng.pick(&["f64", "f32", "Float"]).to_string();
                    let ty = if ty == "Float" { ty } else { self.e() };
                    let mut all = vec![recv];
                    all.extend(args);
                    format!("{ty}::{m}({})", all.join(", "))
                }
            }
            12 => {
                let n = *self.rng.pick(&[-3, -2, -1, 0, 1, 2, 3, 4, 7]);
                format!("({}).powi({n})", self.fexpr(ctx, d))
            }
            13 | 14 => {
                let &(f, arity) = self.rng.pick(CORE);
                let args: Vec<String> = (0..arity).map(|_| self.fexpr(ctx, d)).collect();
                let path =
                    *self
                        .rng
                        .pick(&["", "", "", "backprop::", "backprop::core::functions::"]);
                format!("{path}{f}({})", args.join(", "))
            }
            15 | 16 => {
                let c = self.cond(ctx, d.min(1));
                format!(
                    "(if {c} {{ {} }} else {{ {} }})",
                    self.fexpr(ctx, d),
                    self.fexpr(ctx, d)
                )
            }
            17 => {
                // a block expression with a local
                let v = self.name("b");
                let init = self.fexpr(ctx, d);
                let mut inner = ctx.clone();
                inner.bind_float(&v, false);
                format!("{{ let {v} = {init}; {} }}", self.fexpr(&inner, d))
            }
            18 if !ctx.arrays.is_empty() => {
                let a = self.rng.pick(&ctx.arrays).clone();
                let e = self.e();
                let base = if a.shape.len() > 1 {
                    let i = self.index(ctx, a.shape[0]);
                    format!("{}[{i}]", a.name)
                } else {
                    a.name.clone()
                };
                match self.rng.below(4) {
                    0 => format!("{base}.iter().sum::<{e}>()"),
                    1 => format!("{base}.iter().product::<{e}>()"),
                    2 => format!("{base}.into_iter().sum::<{e}>()"),
                    _ => format!("({}.len() as {e})", a.name),
                }
            }
            19 => {
                // a cast of a compile-time or run-time integer
                let e = self.e();
                let i = self.iexpr(ctx);
                if self.is_generic() {
                    format!("{e}::from({i}).unwrap()")
                } else {
                    format!("({i} as {e})")
                }
            }
            20 => {
                // a call of another #[derive_grad] function
                let f = *self
                    .rng
                    .pick(&["helper", "inner", "h2", "self::helper", "m::inner"]);
                let args = self.call_args(ctx, d);
                format!("{f}({args})")
            }
            21 => format!(
                "({}).mul_add({}, {})",
                self.fexpr(ctx, d),
                self.fexpr(ctx, d),
                self.fexpr(ctx, d)
            ),
            _ => format!("{} * {}", self.leaf(ctx), self.fexpr(ctx, d)),
        }
    }

    /// An expression that is positive (for divisions and logarithms).
    fn positive(&mut self, ctx: &Ctx, depth: usize) -> String {
        let e = self.fexpr(ctx, depth);
        let one = self.one();
        format!("({e} * {e} + {one})")
    }

    fn one(&mut self) -> String {
        match &self.elem {
            Elem::Generic(g) => format!("{g}::one()"),
            Elem::F32 => "1.0f32".into(),
            _ => "1.0".into(),
        }
    }

    fn call_args(&mut self, ctx: &Ctx, d: usize) -> String {
        let n = self.rng.range(0, 3);
        let mut args = Vec::new();
        for _ in 0..n {
            // (6 and 7: slices passed whole or as ranges, of arrays and of
            // local `vec!`s, bounds sometimes outside or inverted.)
            let a = match self.rng.below(8) {
                6 if !ctx.arrays.is_empty() => {
                    let a = self.rng.pick(&ctx.arrays).name.clone();
                    let (lo, hi) = (self.rng.below(4), self.rng.below(4));
                    match self.rng.below(4) {
                        0 => format!("&{a}[{lo}..{hi}]"),
                        1 => format!("&{a}[{lo}..]"),
                        2 => format!("&{a}[..{hi}]"),
                        _ => format!("&{a}[{lo}..={hi}]"),
                    }
                }
                7 => {
                    let e = self.fexpr(ctx, d);
                    let len = match self.rng.below(3) {
                        0 if !ctx.rtints.is_empty() => self.rng.pick(&ctx.rtints).clone(),
                        _ => self.rng.range(0, 5).to_string(),
                    };
                    let lo = self.rng.below(3);
                    match self.rng.below(3) {
                        0 => format!("&vec![{e}; {len}]"),
                        1 => format!("&vec![{e}; {len}][{lo}..]"),
                        _ => format!("vec![{e}; {len}]"),
                    }
                }
                0 if !ctx.arrays.is_empty() => {
                    let a = self.rng.pick(&ctx.arrays).name.clone();
                    if self.rng.chance(0.5) {
                        format!("&{a}")
                    } else {
                        a
                    }
                }
                1 => format!("[{}, {}]", self.fexpr(ctx, d), self.fexpr(ctx, d)),
                2 => format!("&({})", self.fexpr(ctx, d)),
                3 => format!("[[{}], [{}]]", self.fexpr(ctx, d), self.fexpr(ctx, d)),
                _ => self.fexpr(ctx, d),
            };
            args.push(a);
        }
        args.join(", ")
    }

    fn lit(&mut self, ctx: &Ctx) -> String {
        let _ = ctx;
        match &self.elem {
            Elem::Generic(g) => {
                let g = g.clone();
                match self.rng.below(8) {
                    0 => format!("{g}::one()"),
                    1 => format!("{g}::zero()"),
                    2 => format!("{g}::from(2).unwrap()"),
                    3 => format!("{g}::from(-1.5).expect(\"c\")"),
                    _ => {
                        let v = self
                            .rng
                            .pick(&["0.5", "0.25", "1.5", "2.0", "3.0", "0.1", "0.7"]);
                        format!("{g}::from({v}).unwrap()")
                    }
                }
            }
            Elem::F32 => self
                .rng
                .pick(&[
                    "0.5", "1.5f32", "2.0", "0.1f32", "3.0", "0.25", "1f32", "-0.75",
                ])
                .to_string(),
            _ => self
                .rng
                .pick(&[
                    "0.5", "1.5", "2.0", "0.1", "3.0", "0.25", "1.0f64", "2f64", "-0.75", "1e-3",
                    "1_000.5",
                ])
                .to_string(),
        }
    }

    fn leaf(&mut self, ctx: &Ctx) -> String {
        for _ in 0..8 {
            match self.rng.below(9) {
                // A range bound to a name, read at an index, by its
                // length, or cut again (bounds sometimes outside or
                // inverted).
                8 => {
                    let e = self.lit(ctx);
                    let len = match self.rng.below(3) {
                        0 if !ctx.rtints.is_empty() => self.rng.pick(&ctx.rtints).clone(),
                        _ => self.rng.range(0, 5).to_string(),
                    };
                    let (lo, hi, k) = (self.rng.below(3), self.rng.range(1, 5), self.rng.below(3));
                    let read = match self.rng.below(3) {
                        0 => format!("r[{k}]"),
                        1 => format!("r[{k}] * r[r.len() - 1]"),
                        _ => format!("(&r[1..])[{k}]"),
                    };
                    return format!("{{ let r = &vec![{e}; {len}][{lo}..{hi}]; {read} }}");
                }
                0 | 1 => return self.lit(ctx),
                2..=4 if !ctx.floats.is_empty() => {
                    let v = self.rng.pick(&ctx.floats).clone();
                    return if self.rng.chance(0.1) {
                        format!("(*&{v})")
                    } else {
                        v
                    };
                }
                5 | 6 if !ctx.arrays.is_empty() => {
                    let a = self.rng.pick(&ctx.arrays).clone();
                    let idx: String = a
                        .shape
                        .iter()
                        .map(|&n| format!("[{}]", self.index(ctx, n)))
                        .collect();
                    return format!("{}{idx}", a.name);
                }
                7 if !ctx.ints.is_empty() || !ctx.rtints.is_empty() => {
                    let i = self.iexpr(ctx);
                    let e = self.e();
                    return if self.is_generic() {
                        format!("{e}::from({i}).unwrap()")
                    } else {
                        format!("({i} as {e})")
                    };
                }
                _ => {}
            }
        }
        self.lit(ctx)
    }

    /// An in-bounds index of an array of length `n`.
    fn index(&mut self, ctx: &Ctx, n: usize) -> String {
        let fitting: Vec<&IntVar> = ctx
            .ints
            .iter()
            .filter(|v| v.max < n as i64 && v.max >= 0)
            .collect();
        match self.rng.below(6) {
            0..=2 if !fitting.is_empty() => {
                let v = self.rng.pick(&fitting).name.clone();
                if self.rng.chance(0.3) && n > 0 {
                    format!("{} - {v}", n - 1)
                } else {
                    v
                }
            }
            3 if !ctx.ints.is_empty() && n > 0 => {
                let v = self.rng.pick(&ctx.ints).name.clone();
                format!("({v} + 1) % {n}")
            }
            _ => self.rng.below(n.max(1)).to_string(),
        }
    }

    /// A compile-time (or run-time parameter) integer.
    fn iexpr(&mut self, ctx: &Ctx) -> String {
        match self.rng.below(5) {
            0 if !ctx.rtints.is_empty() => self.rng.pick(&ctx.rtints).clone(),
            1 | 2 if !ctx.ints.is_empty() => self.rng.pick(&ctx.ints).name.clone(),
            3 if !ctx.ints.is_empty() => {
                let v = self.rng.pick(&ctx.ints).name.clone();
                format!("({v} * 2 + 1)")
            }
            _ => self.rng.range(0, 9).to_string(),
        }
    }

    /// A condition: a run-time comparison, a bool parameter, or a
    /// compile-time comparison of loop variables.
    fn cond(&mut self, ctx: &Ctx, d: usize) -> String {
        let cmp = *self.rng.pick(&["<", "<=", ">", ">=", "==", "!="]);
        match self.rng.below(8) {
            0 if !ctx.bools.is_empty() => {
                let b = self.rng.pick(&ctx.bools).clone();
                if self.rng.chance(0.3) {
                    format!("!{b}")
                } else {
                    b
                }
            }
            1 if !ctx.ints.is_empty() => {
                let v = self.rng.pick(&ctx.ints).name.clone();
                format!("{v} {cmp} {}", self.rng.below(3))
            }
            2 if !ctx.rtints.is_empty() => {
                let v = self.rng.pick(&ctx.rtints).clone();
                format!("{v} {cmp} {}", self.rng.below(4))
            }
            3 => {
                let a = self.cond(ctx, 0);
                let b = self.cond(ctx, 0);
                let op = *self.rng.pick(&["&&", "||"]);
                format!("({a}) {op} ({b})")
            }
            4 => format!("!({} {cmp} {})", self.fexpr(ctx, d), self.fexpr(ctx, d)),
            _ => format!("{} {cmp} {}", self.fexpr(ctx, d), self.fexpr(ctx, d)),
        }
    }

    fn weird_expr(&mut self, ctx: &Ctx, depth: usize) -> String {
        let d = depth.saturating_sub(1);
        let x = if depth > 0 {
            self.fexpr(ctx, d)
        } else {
            self.leaf(ctx)
        };
        let e = self.e();
        let arr = ctx
            .arrays
            .first()
            .map(|a| a.name.clone())
            .unwrap_or_else(|| "w".into());
        let m = self.rng.pick(UNKNOWN_METHODS).to_string();
        let km = self.rng.pick(METHODS).0.to_string();
        let core = self.rng.pick(CORE).0.to_string();
        let it = self.rng.pick(INT_TYPES).to_string();
        let lbl = format!("'b{}", self.fresh);
        let forms = [
            // literals of every kind
            "1e300".to_string(),
            "1e-300".to_string(),
            "5e-324".to_string(),
            "1e400".to_string(),
            "1e-400".to_string(),
            "1.7976931348623157e308".to_string(),
            "0.1f32".to_string(),
            "1f32".to_string(),
            "1f64".to_string(),
            "2.".to_string(),
            "1_000.000_1".to_string(),
            "0x10".to_string(),
            "0o17".to_string(),
            "0b1011".to_string(),
            "1u8".to_string(),
            "255u8".to_string(),
            "1i128".to_string(),
            "340282366920938463463374607431768211455u128".to_string(),
            "18446744073709551615u64".to_string(),
            "9223372036854775808".to_string(),
            "-9223372036854775808".to_string(),
            "-0.0".to_string(),
            "0.0".to_string(),
            "b'a'".to_string(),
            "'a'".to_string(),
            "\"s\"".to_string(),
            "b\"s\"".to_string(),
            "c\"s\"".to_string(),
            "r\"raw\"".to_string(),
            "true".to_string(),
            "false".to_string(),
            "1e10i32".to_string(),
            "0.5f16".to_string(),
            "1f128".to_string(),
            "1usize".to_string(),
            // casts between every int and float type
            format!("({x} as f32)"),
            format!("({x} as f64)"),
            format!("({x} as {it})"),
            format!("({x} as {it} as {e})"),
            format!("(3 as {it} as {e})"),
            format!("(300 as u8 as {e})"),
            format!("(-1i32 as u64 as {e})"),
            format!("(1u8 as {e})"),
            "(0.1f32 as f64)".to_string(),
            "(0.1f64 as f32)".to_string(),
            format!("(true as {it} as {e})"),
            format!("('a' as u8 as {e})"),
            format!("(b'a' as {e})"),
            format!("(n as u8 as {e})"),
            format!("({x} as usize as {e})"),
            format!("({x} as _)"),
            format!("({x} as &f64)"),
            format!("({x} as [f64; 2])"),
            format!("(i32::MIN as {e})"),
            format!("(u64::MAX as {e})"),
            "(1e300 as f32)".to_string(),
            format!("({arr}.len() as {e})"),
            // operators of every kind
            format!("({x} % {x})"),
            format!("({x} & {x})"),
            format!("({x} | {x})"),
            format!("({x} ^ {x})"),
            format!("({x} << 1)"),
            format!("({x} >> 1)"),
            format!("({x} && {x})"),
            format!("({x} || true)"),
            format!("({x} == {x})"),
            format!("(!{x})"),
            format!("(-(-(-{x})))"),
            format!("(*{x})"),
            format!("(**&&{x})"),
            format!("({x} + 1)"),
            format!("(1 + {x})"),
            format!("(n + {x})"),
            "(n * 2)".to_string(),
            "(7 % 0)".to_string(),
            "(9223372036854775807 + 1)".to_string(),
            "(1 / 0)".to_string(),
            "(-9223372036854775807 - 2)".to_string(),
            format!("({x} += 1.0)"),
            format!("({x} = 1.0)"),
            format!("({x} -= {x})"),
            // control flow in expression position
            format!("match {x} {{ _ => {x} }}"),
            format!("match n {{ 0 => {x}, 1 | 2 => 1.0, _ => 0.0 }}"),
            format!("(|a: {e}| a * {x})({x})"),
            format!("(|| {x})()"),
            format!("(move |a| a)({x})"),
            format!("loop {{ break {x}; }}"),
            format!("{lbl}: loop {{ break {lbl} {x}; }}"),
            format!("{lbl}: {{ break {lbl} {x}; }}"),
            "while false { }".to_string(),
            "{ }".to_string(),
            format!("{{ {x}; }}"),
            format!("unsafe {{ {x} }}"),
            format!("async {{ {x} }}"),
            "const { 1.0 }".to_string(),
            format!("({x}).await"),
            format!("{x}?"),
            format!("return {x}"),
            format!("break {x}"),
            "continue".to_string(),
            format!("if let Some(a) = Some({x}) {{ a }} else {{ {x} }}"),
            format!("if {x} {{ {x} }} else {{ {x} }}"),
            format!("if n {{ {x} }} else {{ {x} }}"),
            format!("if true {{ {x} }} else {{ 1 }}"),
            format!("if {x} > 0.0 {{ 1 }} else {{ 2 }}"),
            format!("if {x} > 0.0 {{ [{x}] }} else {{ [{x}, {x}] }}"),
            format!("if {x} > 0.0 {{ {x} }}"),
            format!("if 1 < 2 {{ {x} }} else {{ ({x}, {x}) }}"),
            format!("if {x} != {x} {{ {x} }} else {{ -{x} }}"),
            format!("if ({x} > 0.0) == true {{ {x} }} else {{ 0.0 }}"),
            format!("if ({x} > 0.0) == ({x} < 1.0) {{ {x} }} else {{ 0.0 }}"),
            format!("if {x}.is_nan() {{ {x} }} else {{ 0.0 }}"),
            format!("{x}..{x}"),
            "..".to_string(),
            "0..3".to_string(),
            // compound values
            format!("({x}, {x}).0"),
            format!("({x},)"),
            "()".to_string(),
            "s.a".to_string(),
            format!("{x}.0"),
            format!("S {{ a: {x} }}"),
            "S { ..Default::default() }".to_string(),
            format!("[{x}, {x}]"),
            format!("[{x}; 3]"),
            format!("[{x}; 0]"),
            format!("[{x}; 1000000000]"),
            format!("[{x}; 18446744073709551615]"),
            format!("[{x}; 9223372036854775807]"),
            format!("[{x}; N]"),
            format!("[{x}; usize::MAX]"),
            format!("[{x}; -1]"),
            format!("[{x}; 1.5]"),
            format!("[[{x}; 2]; 3][1][0]"),
            format!("[[{x}; 2000]; 2000][1][0]"),
            format!("[{x}, {x}][1]"),
            format!("[{x}; 4].iter().sum::<{e}>()"),
            format!("[{x}; 0].iter().sum::<{e}>()"),
            format!("[{x}; 0].iter().product::<{e}>()"),
            format!("[[{x}], [{x}, {x}]][1][1]"),
            format!("&{x}"),
            format!("&&{x}"),
            format!("&mut {x}"),
            format!("&raw const {x}"),
            format!("*&{x}"),
            // indexing of every kind
            format!("{arr}[0]"),
            format!("{arr}[7]"),
            format!("{arr}[-1]"),
            format!("{arr}[n]"),
            format!("{arr}[{x} as usize]"),
            format!("{arr}[1.0]"),
            format!("{arr}[0..2]"),
            format!("{arr}[..]"),
            format!("{arr}[0][0][0][0]"),
            format!("{arr}[18446744073709551615]"),
            format!("{arr}[9223372036854775807]"),
            format!("({arr})[0]"),
            format!("{x}[0]"),
            "TABLE[0]".to_string(),
            format!("(&{arr})[0]"),
            format!("{arr}[{arr}.len() - 1]"),
            format!("{arr}[{arr}.len()]"),
            format!("{arr}[true]"),
            // method calls, known and unknown
            format!("({x}).{m}()"),
            format!("({x}).{km}()"),
            format!("({x}).{km}({x}, {x}, {x})"),
            format!("({x}).{km}(1)"),
            format!("({x}).{km}(n)"),
            format!("({x}).{km}({arr})"),
            format!("({x}).powi({x})"),
            format!("({x}).powi(n)"),
            format!("({x}).powi(2147483648)"),
            format!("({x}).powi(-2147483648)"),
            format!("({x}).powi(i32::MIN)"),
            format!("({x}).powi(i32::MAX)"),
            format!("({x}).powi(1 << 40)"),
            format!("({x}).powi(2.0)"),
            format!("({x}).powf(0.0)"),
            format!("(0.0 as {e}).powf({x})"),
            format!("({x}).max(1)"),
            format!("({x}).clamp({x})"),
            format!("({x}).mul_add({x})"),
            format!("({x}).to_string()"),
            format!("({x}).sin_cos().0"),
            format!("{arr}.iter().map(|v| v * 2.0).sum::<{e}>()"),
            format!("{arr}.iter().fold(0.0, |a, b| a + b)"),
            format!("{arr}.iter().sum()"),
            format!("{arr}.iter().sum::<f32>()"),
            format!("{arr}.iter().sum::<i32>()"),
            format!("{arr}.sum()"),
            format!("{arr}.iter().rev().sum::<{e}>()"),
            format!("{arr}.iter().max()"),
            format!("{arr}.{km}()"),
            format!("{arr}.len()"),
            format!("({x}).len()"),
            format!("({x}).iter()"),
            format!("({x}).unwrap().unwrap()"),
            format!("({x}).expect(\"x\")"),
            format!("({x}).expect(1)"),
            format!("({x}).clone().clone()"),
            format!("({x}).unwrap_or(0.0)"),
            format!("({x}).{km}::<f64>()"),
            // calls and paths of every kind
            format!("{core}({x})"),
            format!("{core}()"),
            format!("{core}({x}, {x}, {x})"),
            format!("{core}({arr})"),
            format!("{core}(true)"),
            format!("{core}(1)"),
            format!("{core}::<{e}>({x})"),
            format!("backprop::{core}({x})"),
            format!("backprop::core::functions::{core}({x})"),
            format!("functions::{core}({x})"),
            format!("crate::{core}({x})"),
            format!("foo({x})"),
            format!("foo::<f64>({x})"),
            format!("foo::<{{ 3 }}>({x})"),
            format!("helper({x}, {arr})"),
            format!("helper(&{arr})"),
            format!("helper([[{x}, {x}], [{x}]])"),
            format!("helper([{x}; 100000])"),
            "helper([])".to_string(),
            "helper(n)".to_string(),
            "helper(true)".to_string(),
            format!("helper(({x}, {x}))"),
            "helper()".to_string(),
            format!("self::helper({x})"),
            format!("super::helper({x})"),
            format!("<S as T>::f({x})"),
            format!("<{e} as Float>::exp({x})"),
            format!("<{e}>::max({x}, {x})"),
            format!("<{e} as Float>::one()"),
            format!("{e}::from({x}).unwrap()"),
            format!("{e}::from(n).unwrap()"),
            format!("{e}::from(\"s\").unwrap()"),
            format!("{e}::from(1u8)"),
            format!("{e}::from(0.5)"),
            format!("{e}::from(1e300).unwrap()"),
            format!("{e}::from(i32::MIN).unwrap()"),
            format!("{e}::from()"),
            format!("{e}::from(1, 2)"),
            format!("{e}::one()"),
            format!("{e}::zero()"),
            format!("{e}::nan()"),
            format!("{e}::infinity()"),
            format!("{e}::neg_infinity()"),
            format!("{e}::neg_zero()"),
            format!("{e}::epsilon()"),
            format!("{e}::max_value()"),
            format!("{e}::min_positive_value()"),
            format!("{e}::unknown()"),
            format!("{e}::max({x})"),
            format!("{e}::max({x}, {x}, {x})"),
            format!("{e}::powi({x}, 2)"),
            format!("{e}::powi({x}, n)"),
            format!("{e}::mul_add({x}, {x}, {x})"),
            format!("{e}::clamp({x}, 0.0, 1.0)"),
            format!("Float::powi({x}, 3)"),
            format!("Float::{km}({x})"),
            format!("num_traits::Float::sqrt({x})"),
            "f64::from(1u8)".to_string(),
            "f64::NAN".to_string(),
            "f64::INFINITY".to_string(),
            "f64::MAX".to_string(),
            "f64::MIN_POSITIVE".to_string(),
            format!("{e}::EPSILON"),
            "f32::EPSILON".to_string(),
            "std::f64::consts::PI".to_string(),
            "std::f32::consts::PI".to_string(),
            "core::f64::consts::E".to_string(),
            "consts::PI".to_string(),
            "consts::TAU".to_string(),
            "f64::consts::FRAC_1_SQRT_2".to_string(),
            "consts::NOPE".to_string(),
            "PI".to_string(),
            "SCALE".to_string(),
            format!("SCALE as {e}"),
            format!("STEPS as {e}"),
            "i32::MIN".to_string(),
            "usize::MAX".to_string(),
            "Default::default()".to_string(),
            format!("std::mem::take(&mut {x})"),
            format!("(foo)({x})"),
            format!("(|a| a)({x})"),
            format!("{arr}[0]({x})"),
            format!("{x}({x})"),
            format!("<{e}>::EPSILON"),
            format!("<[{e}; 2]>::default()"),
            "Self::K".to_string(),
            "self".to_string(),
            "r#type".to_string(),
            "undefined".to_string(),
            // macros in expression position
            format!("vec![{x}][0]"),
            format!("dbg!({x})"),
            format!("println!(\"{{}}\", {x})"),
            format!("assert!({x} > 0.0)"),
            format!("format!(\"{{}}\", {x})"),
            "concat!(\"a\", \"b\")".to_string(),
            "m!()".to_string(),
            "unreachable!()".to_string(),
            format!("{x} + todo!()"),
        ];
        self.rng.pick(&forms).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_lexable() {
        for seed in 0..300 {
            let a = function(&mut Rng::new(seed));
            let b = function(&mut Rng::new(seed));
            assert_eq!(a.src, b.src);
            assert!(
                a.src.parse::<proc_macro2::TokenStream>().is_ok(),
                "{}",
                a.src
            );
        }
    }
}
