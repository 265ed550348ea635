//! Randomized differential test of the whole compiler pipeline.
//!
//! Thousands of random loss functions `fn f(x: [f64; 3]) -> f64` are
//! generated as *source text* (fixed seed, SplitMix64), together with a small
//! AST that an independent interpreter here evaluates on `f64`. Each one is
//! lowered, differentiated and simplified by the real pipeline, and then:
//!
//! - the graph's forward value must equal the interpreter's value bit for
//!   bit (the oracle for lowering: `let`, shadowing, `let mut`, compound
//!   assignment, element assignment, unrolled loops, `if` as expression and
//!   statement, indexing);
//! - every gradient element must match central finite differences of the
//!   graph's own forward value. Points where the function is not smooth
//!   nearby (a kink of `abs`/`max`/`relu`/a run-time `if`, a jump of
//!   `floor`/`signum`) are detected by comparing finite differences with two
//!   step sizes and skipped; the test asserts that such skips stay rare.
//!
//! Arguments are kept inside the functions' domains by construction
//! (`ln((e·e + 0.5))`, `asin(tanh(e)·0.9)`, denominators `e·e + 1`, …), so
//! neither the value nor any derivative is ever NaN or infinite.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::compile;

// ------------------------------------------------------------------ PRNG

/// SplitMix64 (Steele, Lea, Flood 2014).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in 0..n.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

// ------------------------------------------------------------------- AST

/// An array index known at compile time.
#[derive(Clone, Debug)]
enum Idx {
    /// A literal.
    K(usize),
    /// A loop variable.
    V(String),
    /// `2 - v` for a loop variable `v`.
    R(String),
}

#[derive(Clone, Debug)]
enum Ex {
    C(f64),
    /// `x[idx]`
    X(Idx),
    /// `h[idx]` of a local array.
    H(String, Idx),
    /// A local float.
    V(String),
    /// `(i as f64)` of a loop variable.
    I(String),
    /// `x.iter().sum::<f64>()`
    SumX,
    Neg(Box<Ex>),
    Bin(char, Box<Ex>, Box<Ex>),
    /// (name, is a backprop-core function, argument)
    F1(&'static str, bool, Box<Ex>),
    F2(&'static str, bool, Box<Ex>, Box<Ex>),
    Powi(Box<Ex>, i32),
    MulAdd(Box<Ex>, Box<Ex>, Box<Ex>),
    /// `if a CMP b { t } else { e }` as an expression.
    If(Box<Ex>, &'static str, Box<Ex>, Box<Ex>, Box<Ex>),
}

#[derive(Clone, Debug)]
enum Bound {
    K(i64),
    V(String),
}

#[derive(Clone, Debug)]
struct Range {
    lo: i64,
    hi: Bound,
    inclusive: bool,
    rev: bool,
}

#[derive(Clone, Debug)]
enum LoopPat {
    /// `for i in range`
    Var(String, Range),
    /// `for _ in range`
    Wild(Range),
    /// `for (k, &xk) in x.iter().enumerate()`
    Enumerate(String, String),
}

#[derive(Clone, Debug)]
enum St {
    Let(String, bool, Ex),
    /// `let mut h = [0.0; 3];`
    LetArr(String),
    /// `v = e;` or `v op= e;`
    Assign(String, Option<char>, Ex),
    /// `h[idx] = e;`
    SetArr(String, Idx, Ex),
    For(LoopPat, Vec<St>),
    If(Ex, &'static str, Ex, Vec<St>, Option<Vec<St>>),
}

struct Program {
    stmts: Vec<St>,
    result: Ex,
    with_return: bool,
}

// -------------------------------------------------------------- printing

fn idx_src(i: &Idx) -> String {
    match i {
        Idx::K(k) => k.to_string(),
        Idx::V(v) => v.clone(),
        Idx::R(v) => format!("2 - {v}"),
    }
}

fn ex_src(e: &Ex) -> String {
    match e {
        Ex::C(v) if *v < 0.0 => format!("({v:?})"),
        Ex::C(v) => format!("{v:?}"),
        Ex::X(i) => format!("x[{}]", idx_src(i)),
        Ex::H(h, i) => format!("{h}[{}]", idx_src(i)),
        Ex::V(v) => v.clone(),
        Ex::I(v) => format!("({v} as f64)"),
        Ex::SumX => "x.iter().sum::<f64>()".to_string(),
        Ex::Neg(a) => format!("(-{})", ex_src(a)),
        Ex::Bin(op, a, b) => format!("({} {op} {})", ex_src(a), ex_src(b)),
        Ex::F1(name, true, a) => format!("{name}({})", ex_src(a)),
        Ex::F1(name, false, a) => format!("({}).{name}()", ex_src(a)),
        Ex::F2(name, true, a, b) => format!("{name}({}, {})", ex_src(a), ex_src(b)),
        Ex::F2(name, false, a, b) => format!("({}).{name}({})", ex_src(a), ex_src(b)),
        Ex::Powi(a, n) => format!("({}).powi({n})", ex_src(a)),
        Ex::MulAdd(a, b, c) => format!("({}).mul_add({}, {})", ex_src(a), ex_src(b), ex_src(c)),
        Ex::If(a, cmp, b, t, f) => format!(
            "(if {} {cmp} {} {{ {} }} else {{ {} }})",
            ex_src(a),
            ex_src(b),
            ex_src(t),
            ex_src(f)
        ),
    }
}

fn range_src(r: &Range) -> String {
    let hi = match &r.hi {
        Bound::K(k) => k.to_string(),
        Bound::V(v) => v.clone(),
    };
    let dots = if r.inclusive { "..=" } else { ".." };
    if r.rev {
        format!("({}{dots}{hi}).rev()", r.lo)
    } else {
        format!("{}{dots}{hi}", r.lo)
    }
}

fn stmts_src(stmts: &[St], indent: usize, out: &mut String) {
    let pad = "    ".repeat(indent);
    for s in stmts {
        match s {
            St::Let(v, m, e) => {
                let m = if *m { "mut " } else { "" };
                writeln!(out, "{pad}let {m}{v} = {};", ex_src(e)).unwrap();
            }
            St::LetArr(h) => writeln!(out, "{pad}let mut {h} = [0.0; 3];").unwrap(),
            St::Assign(v, op, e) => {
                let op = op.map(String::from).unwrap_or_default();
                writeln!(out, "{pad}{v} {op}= {};", ex_src(e)).unwrap();
            }
            St::SetArr(h, i, e) => {
                writeln!(out, "{pad}{h}[{}] = {};", idx_src(i), ex_src(e)).unwrap()
            }
            St::For(pat, body) => {
                let head = match pat {
                    LoopPat::Var(v, r) => format!("for {v} in {}", range_src(r)),
                    LoopPat::Wild(r) => format!("for _ in {}", range_src(r)),
                    LoopPat::Enumerate(k, xk) => {
                        format!("for ({k}, &{xk}) in x.iter().enumerate()")
                    }
                };
                writeln!(out, "{pad}{head} {{").unwrap();
                stmts_src(body, indent + 1, out);
                writeln!(out, "{pad}}}").unwrap();
            }
            St::If(a, cmp, b, then, els) => {
                writeln!(out, "{pad}if {} {cmp} {} {{", ex_src(a), ex_src(b)).unwrap();
                stmts_src(then, indent + 1, out);
                if let Some(els) = els {
                    writeln!(out, "{pad}}} else {{").unwrap();
                    stmts_src(els, indent + 1, out);
                }
                writeln!(out, "{pad}}}").unwrap();
            }
        }
    }
}

fn program_src(p: &Program) -> String {
    let mut out = String::from("fn f(x: [f64; 3]) -> f64 {\n");
    stmts_src(&p.stmts, 1, &mut out);
    if p.with_return {
        writeln!(out, "    return {};", ex_src(&p.result)).unwrap();
    } else {
        writeln!(out, "    {}", ex_src(&p.result)).unwrap();
    }
    out.push('}');
    out
}

// ------------------------------------------ the oracle: an interpreter

#[derive(Clone, Debug)]
enum Val {
    F(f64),
    A([f64; 3]),
    I(i64),
}

struct Env<'a> {
    x: &'a [f64; 3],
    scopes: Vec<HashMap<String, Val>>,
}

fn sigmoid(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

fn softplus(v: f64) -> f64 {
    v.max(0.0) + (-v.abs()).exp().ln_1p()
}

fn apply1(name: &str, v: f64) -> f64 {
    match name {
        "exp" => v.exp(),
        "exp2" => v.exp2(),
        "exp_m1" => v.exp_m1(),
        "ln" => v.ln(),
        "ln_1p" => v.ln_1p(),
        "log2" => v.log2(),
        "log10" => v.log10(),
        "sqrt" => v.sqrt(),
        "cbrt" => v.cbrt(),
        "recip" => v.recip(),
        "sin" => v.sin(),
        "cos" => v.cos(),
        "tan" => v.tan(),
        "asin" => v.asin(),
        "acos" => v.acos(),
        "atan" => v.atan(),
        "sinh" => v.sinh(),
        "cosh" => v.cosh(),
        "tanh" => v.tanh(),
        "asinh" => v.asinh(),
        "acosh" => v.acosh(),
        "atanh" => v.atanh(),
        "abs" => v.abs(),
        "signum" => v.signum(),
        "floor" => v.floor(),
        "ceil" => v.ceil(),
        "round" => v.round(),
        "trunc" => v.trunc(),
        "fract" => v.fract(),
        "to_degrees" => v.to_degrees(),
        "to_radians" => v.to_radians(),
        "sigmoid" => sigmoid(v),
        "relu" => {
            if v > 0.0 {
                v
            } else {
                0.0
            }
        }
        "softplus" => softplus(v),
        "log_sigmoid" => -softplus(-v),
        "silu" => v * sigmoid(v),
        "square" => v * v,
        other => panic!("oracle: unknown function {other}"),
    }
}

fn apply2(name: &str, a: f64, b: f64) -> f64 {
    match name {
        "powf" => a.powf(b),
        "log" => a.log(b),
        "atan2" => a.atan2(b),
        "hypot" => a.hypot(b),
        "max" => a.max(b),
        "min" => a.min(b),
        "leaky_relu" => {
            if a > 0.0 {
                a
            } else {
                b * a
            }
        }
        other => panic!("oracle: unknown function {other}"),
    }
}

fn compare(cmp: &str, a: f64, b: f64) -> bool {
    match cmp {
        "<" => a < b,
        "<=" => a <= b,
        ">" => a > b,
        ">=" => a >= b,
        other => panic!("oracle: unknown comparison {other}"),
    }
}

impl Env<'_> {
    fn get(&self, name: &str) -> &Val {
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.get(name))
            .unwrap_or_else(|| panic!("oracle: unbound {name}"))
    }
    fn get_mut(&mut self, name: &str) -> &mut Val {
        self.scopes
            .iter_mut()
            .rev()
            .find_map(|s| s.get_mut(name))
            .unwrap_or_else(|| panic!("oracle: unbound {name}"))
    }
    fn bind(&mut self, name: &str, v: Val) {
        self.scopes.last_mut().unwrap().insert(name.to_string(), v);
    }
    fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            Val::I(i) => *i,
            v => panic!("oracle: {name} = {v:?} is not an integer"),
        }
    }
    fn idx(&self, i: &Idx) -> usize {
        match i {
            Idx::K(k) => *k,
            Idx::V(v) => self.int(v) as usize,
            Idx::R(v) => (2 - self.int(v)) as usize,
        }
    }

    fn ex(&self, e: &Ex) -> f64 {
        match e {
            Ex::C(v) => *v,
            Ex::X(i) => self.x[self.idx(i)],
            Ex::H(h, i) => match self.get(h) {
                Val::A(a) => a[self.idx(i)],
                v => panic!("oracle: {h} = {v:?} is not an array"),
            },
            Ex::V(v) => match self.get(v) {
                Val::F(f) => *f,
                v => panic!("oracle: {v:?} is not a float"),
            },
            Ex::I(v) => self.int(v) as f64,
            // Summed from the left, as the lowering (and `Iterator::sum`) does.
            Ex::SumX => self.x[0] + self.x[1] + self.x[2],
            Ex::Neg(a) => -self.ex(a),
            Ex::Bin(op, a, b) => {
                let (a, b) = (self.ex(a), self.ex(b));
                match op {
                    '+' => a + b,
                    '-' => a - b,
                    '*' => a * b,
                    '/' => a / b,
                    _ => unreachable!(),
                }
            }
            Ex::F1(name, _, a) => apply1(name, self.ex(a)),
            Ex::F2(name, _, a, b) => apply2(name, self.ex(a), self.ex(b)),
            Ex::Powi(a, n) => self.ex(a).powi(*n),
            Ex::MulAdd(a, b, c) => self.ex(a).mul_add(self.ex(b), self.ex(c)),
            Ex::If(a, cmp, b, t, f) => {
                if compare(cmp, self.ex(a), self.ex(b)) {
                    self.ex(t)
                } else {
                    self.ex(f)
                }
            }
        }
    }

    fn range(&self, r: &Range) -> Vec<i64> {
        let hi = match &r.hi {
            Bound::K(k) => *k,
            Bound::V(v) => self.int(v),
        };
        let hi = if r.inclusive { hi + 1 } else { hi };
        let mut items: Vec<i64> = (r.lo..hi).collect();
        if r.rev {
            items.reverse();
        }
        items
    }

    fn block(&mut self, stmts: &[St]) {
        self.scopes.push(HashMap::new());
        self.stmts(stmts);
        self.scopes.pop();
    }

    fn stmts(&mut self, stmts: &[St]) {
        for s in stmts {
            match s {
                St::Let(v, _, e) => {
                    let val = self.ex(e);
                    self.bind(v, Val::F(val));
                }
                St::LetArr(h) => self.bind(h, Val::A([0.0; 3])),
                St::Assign(v, op, e) => {
                    let rhs = self.ex(e);
                    let Val::F(cur) = self.get_mut(v) else {
                        panic!("oracle: {v} is not a float")
                    };
                    *cur = match op {
                        None => rhs,
                        Some('+') => *cur + rhs,
                        Some('-') => *cur - rhs,
                        Some('*') => *cur * rhs,
                        Some('/') => *cur / rhs,
                        _ => unreachable!(),
                    };
                }
                St::SetArr(h, i, e) => {
                    let (k, rhs) = (self.idx(i), self.ex(e));
                    let Val::A(a) = self.get_mut(h) else {
                        panic!("oracle: {h} is not an array")
                    };
                    a[k] = rhs;
                }
                St::For(pat, body) => match pat {
                    LoopPat::Var(v, r) => {
                        for i in self.range(r) {
                            self.scopes.push(HashMap::new());
                            self.bind(v, Val::I(i));
                            self.stmts(body);
                            self.scopes.pop();
                        }
                    }
                    LoopPat::Wild(r) => {
                        for _ in self.range(r) {
                            self.block(body);
                        }
                    }
                    LoopPat::Enumerate(k, xk) => {
                        for i in 0..3 {
                            self.scopes.push(HashMap::new());
                            self.bind(k, Val::I(i as i64));
                            self.bind(xk, Val::F(self.x[i]));
                            self.stmts(body);
                            self.scopes.pop();
                        }
                    }
                },
                St::If(a, cmp, b, then, els) => {
                    if compare(cmp, self.ex(a), self.ex(b)) {
                        self.block(then);
                    } else if let Some(els) = els {
                        self.block(els);
                    }
                }
            }
        }
    }
}

fn run_program(p: &Program, x: &[f64; 3]) -> f64 {
    let mut env = Env {
        x,
        scopes: vec![HashMap::new()],
    };
    env.stmts(&p.stmts);
    env.ex(&p.result)
}

// ------------------------------------------------------------ generator

/// What a domain-restricted argument must look like.
#[derive(Clone, Copy)]
enum Dom {
    /// Any real number.
    Any,
    /// `tanh(e)·s`: bounded by `s` (exp-like growth, tan's poles).
    Bounded(f64),
    /// `e·e + c`: at least `c > 0`.
    Pos(f64),
}

/// (name, backprop-core function?, domain of the argument)
const FUNS1: &[(&str, bool, Dom)] = &[
    ("exp", false, Dom::Bounded(3.0)),
    ("exp2", false, Dom::Bounded(3.0)),
    ("exp_m1", false, Dom::Bounded(3.0)),
    ("ln", false, Dom::Pos(0.5)),
    ("ln_1p", false, Dom::Pos(0.5)),
    ("log2", false, Dom::Pos(0.5)),
    ("log10", false, Dom::Pos(0.5)),
    ("sqrt", false, Dom::Pos(0.5)),
    ("cbrt", false, Dom::Pos(0.5)),
    ("recip", false, Dom::Pos(0.5)),
    ("sin", false, Dom::Any),
    ("cos", false, Dom::Any),
    ("tan", false, Dom::Bounded(1.2)),
    ("asin", false, Dom::Bounded(0.9)),
    ("acos", false, Dom::Bounded(0.9)),
    ("atan", false, Dom::Any),
    ("sinh", false, Dom::Bounded(3.0)),
    ("cosh", false, Dom::Bounded(3.0)),
    ("tanh", false, Dom::Any),
    ("asinh", false, Dom::Any),
    ("acosh", false, Dom::Pos(1.5)),
    ("atanh", false, Dom::Bounded(0.9)),
    ("abs", false, Dom::Any),
    ("signum", false, Dom::Any),
    ("floor", false, Dom::Any),
    ("ceil", false, Dom::Any),
    ("round", false, Dom::Any),
    ("trunc", false, Dom::Any),
    ("fract", false, Dom::Any),
    ("to_degrees", false, Dom::Bounded(0.05)),
    ("to_radians", false, Dom::Any),
    ("sigmoid", true, Dom::Any),
    ("relu", true, Dom::Any),
    ("softplus", true, Dom::Any),
    ("log_sigmoid", true, Dom::Any),
    ("silu", true, Dom::Any),
    ("square", true, Dom::Any),
];

/// (name, backprop-core function?, domain of each argument)
const FUNS2: &[(&str, bool, Dom, Dom)] = &[
    ("powf", false, Dom::Pos(0.5), Dom::Bounded(2.0)),
    ("log", false, Dom::Pos(0.5), Dom::Pos(1.5)),
    ("atan2", false, Dom::Any, Dom::Pos(0.5)),
    ("atan2", false, Dom::Pos(0.5), Dom::Any),
    ("hypot", false, Dom::Any, Dom::Pos(0.5)),
    ("hypot", false, Dom::Pos(0.3), Dom::Any),
    ("max", false, Dom::Any, Dom::Any),
    ("min", false, Dom::Any, Dom::Any),
    ("leaky_relu", true, Dom::Any, Dom::Any),
];

const CONSTS: &[f64] = &[0.5, 1.5, 2.0, 3.0, -0.7, 0.25, 1.0, -2.0];
const CMPS: &[&str] = &["<", "<=", ">", ">="];

/// The names visible at a point of the generated body.
#[derive(Clone, Default)]
struct Ctx {
    /// Float locals and whether they are `mut`.
    scalars: Vec<(String, bool)>,
    /// Local `[f64; 3]` arrays (all `mut`, all initialised).
    arrays: Vec<String>,
    /// Integer loop variables in scope, all ranging within 0..=2.
    loops: Vec<String>,
}

impl Ctx {
    fn bind_scalar(&mut self, name: &str, mutable: bool) {
        self.scalars.retain(|(n, _)| n != name);
        self.scalars.push((name.to_string(), mutable));
    }
    fn mutables(&self) -> Vec<String> {
        self.scalars
            .iter()
            .filter(|(_, m)| *m)
            .map(|(n, _)| n.clone())
            .collect()
    }
}

struct Gen {
    rng: SplitMix64,
    fresh: usize,
}

fn b(e: Ex) -> Box<Ex> {
    Box::new(e)
}

impl Gen {
    fn name(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }

    fn idx(&mut self, ctx: &Ctx) -> Idx {
        if !ctx.loops.is_empty() && self.rng.chance(0.6) {
            let v = self.rng.pick(&ctx.loops).clone();
            if self.rng.chance(0.3) {
                Idx::R(v)
            } else {
                Idx::V(v)
            }
        } else {
            Idx::K(self.rng.below(3))
        }
    }

    fn leaf(&mut self, ctx: &Ctx) -> Ex {
        loop {
            match self.rng.below(9) {
                0 => return Ex::C(*self.rng.pick(CONSTS)),
                1..=3 => return Ex::X(self.idx(ctx)),
                4 | 5 if !ctx.scalars.is_empty() => {
                    return Ex::V(self.rng.pick(&ctx.scalars).0.clone())
                }
                6 if !ctx.arrays.is_empty() => {
                    let h = self.rng.pick(&ctx.arrays).clone();
                    return Ex::H(h, self.idx(ctx));
                }
                7 if !ctx.loops.is_empty() => return Ex::I(self.rng.pick(&ctx.loops).clone()),
                8 if self.rng.chance(0.3) => return Ex::SumX,
                _ => {}
            }
        }
    }

    fn dom(&mut self, d: Dom, ctx: &Ctx, depth: usize) -> Ex {
        let e = self.ex(ctx, depth);
        match d {
            Dom::Any => e,
            Dom::Bounded(s) => Ex::Bin('*', b(Ex::F1("tanh", false, b(e))), b(Ex::C(s))),
            Dom::Pos(c) => Ex::Bin('+', b(Ex::Bin('*', b(e.clone()), b(e))), b(Ex::C(c))),
        }
    }

    fn ex(&mut self, ctx: &Ctx, depth: usize) -> Ex {
        if depth == 0 || self.rng.chance(0.2) {
            return self.leaf(ctx);
        }
        let d = depth - 1;
        match self.rng.below(20) {
            0..=5 => {
                let op = *self.rng.pick(&['+', '-', '*']);
                Ex::Bin(op, b(self.ex(ctx, d)), b(self.ex(ctx, d)))
            }
            6 => {
                let num = self.ex(ctx, d);
                let den = if self.rng.chance(0.3) {
                    Ex::C(*self.rng.pick(&[2.0, -1.5, 0.5, 3.0]))
                } else {
                    self.dom(Dom::Pos(1.0), ctx, d)
                };
                Ex::Bin('/', b(num), b(den))
            }
            7 => Ex::Neg(b(self.ex(ctx, d))),
            8..=12 => {
                let &(name, core, dom) = self.rng.pick(FUNS1);
                Ex::F1(name, core, b(self.dom(dom, ctx, d)))
            }
            13 | 14 => {
                let &(name, core, da, db) = self.rng.pick(FUNS2);
                let a = self.dom(da, ctx, d);
                let bb = self.dom(db, ctx, d);
                Ex::F2(name, core, b(a), b(bb))
            }
            15 | 16 => {
                let n = *self.rng.pick(&[-2, -1, 0, 1, 2, 3, 4]);
                let base = if n < 0 {
                    self.dom(Dom::Pos(0.5), ctx, d)
                } else {
                    self.ex(ctx, d)
                };
                Ex::Powi(b(base), n)
            }
            17 => Ex::MulAdd(b(self.ex(ctx, d)), b(self.ex(ctx, d)), b(self.ex(ctx, d))),
            _ => {
                let cmp = *self.rng.pick(CMPS);
                Ex::If(
                    b(self.ex(ctx, d.min(1))),
                    cmp,
                    b(self.ex(ctx, d.min(1))),
                    b(self.ex(ctx, d)),
                    b(self.ex(ctx, d)),
                )
            }
        }
    }

    fn range(&mut self, ctx: &Ctx) -> Range {
        // Every loop variable stays within 0..=2, so `x[i]` and `x[2 - i]`
        // are in bounds.
        let mut r = match self.rng.below(5) {
            0 => Range {
                lo: 0,
                hi: Bound::K(3),
                inclusive: false,
                rev: false,
            },
            1 => Range {
                lo: 0,
                hi: Bound::K(2),
                inclusive: true,
                rev: false,
            },
            2 => Range {
                lo: 1,
                hi: Bound::K(3),
                inclusive: false,
                rev: false,
            },
            3 => Range {
                lo: 0,
                hi: Bound::K(2),
                inclusive: false,
                rev: false,
            },
            _ => Range {
                lo: 0,
                hi: Bound::K(3),
                inclusive: false,
                rev: true,
            },
        };
        if let Some(outer) = ctx.loops.last() {
            if self.rng.chance(0.4) {
                // A bound from the enclosing loop variable: `0..=i`.
                r = Range {
                    lo: 0,
                    hi: Bound::V(outer.clone()),
                    inclusive: true,
                    rev: r.rev,
                };
            }
        }
        r
    }

    /// An accumulator to update: an existing `mut` float, or a new one
    /// declared (into `out`) first.
    fn accumulator(&mut self, ctx: &mut Ctx, out: &mut Vec<St>) -> String {
        let muts = ctx.mutables();
        if !muts.is_empty() && self.rng.chance(0.7) {
            return self.rng.pick(&muts).clone();
        }
        let v = self.name("s");
        let init = if self.rng.chance(0.5) {
            Ex::C(*self.rng.pick(CONSTS))
        } else {
            self.ex(ctx, 2)
        };
        out.push(St::Let(v.clone(), true, init));
        ctx.bind_scalar(&v, true);
        v
    }

    /// An update of a `mut` float: `v = e`, `v op= e`.
    fn update(&mut self, v: &str, ctx: &Ctx, depth: usize) -> St {
        match self.rng.below(5) {
            0 => St::Assign(v.to_string(), None, {
                // Keep the old value involved, and the magnitude in check.
                let e = self.ex(ctx, depth);
                Ex::Bin('+', b(Ex::F1("tanh", false, b(Ex::V(v.to_string())))), b(e))
            }),
            1 => St::Assign(v.to_string(), Some('+'), self.ex(ctx, depth)),
            2 => St::Assign(v.to_string(), Some('-'), self.ex(ctx, depth)),
            3 => St::Assign(
                v.to_string(),
                Some('*'),
                self.dom(Dom::Bounded(1.5), ctx, depth),
            ),
            _ => St::Assign(
                v.to_string(),
                Some('/'),
                self.dom(Dom::Pos(0.75), ctx, depth),
            ),
        }
    }

    /// One statement (or a few), appended to `out`; `nest` limits loops and
    /// `if`s inside.
    fn stmt(&mut self, ctx: &mut Ctx, out: &mut Vec<St>, nest: usize) {
        let kind = if nest == 0 {
            self.rng.below(4)
        } else {
            self.rng.below(9)
        };
        match kind {
            0 => {
                let v = self.name("v");
                let m = self.rng.chance(0.3);
                out.push(St::Let(v.clone(), m, self.ex(ctx, 3)));
                ctx.bind_scalar(&v, m);
            }
            1 if !ctx.scalars.is_empty() => {
                // Shadowing: the new binding's value uses the old one.
                let v = self.rng.pick(&ctx.scalars).0.clone();
                let m = self.rng.chance(0.3);
                let e = Ex::Bin(
                    *self.rng.pick(&['+', '*', '-']),
                    b(Ex::V(v.clone())),
                    b(self.ex(ctx, 2)),
                );
                out.push(St::Let(v.clone(), m, e));
                ctx.bind_scalar(&v, m);
            }
            2 => {
                let v = self.accumulator(ctx, out);
                let st = self.update(&v, ctx, 2);
                out.push(st);
            }
            3 if !ctx.arrays.is_empty() => {
                let h = self.rng.pick(&ctx.arrays).clone();
                let i = self.idx(ctx);
                let e = self.ex(ctx, 2);
                out.push(St::SetArr(h, i, Ex::F1("tanh", false, b(e))));
            }
            4 if nest > 0 => {
                // A local array filled by a loop: `h[i] = e.tanh();`.
                let h = self.name("h");
                out.push(St::LetArr(h.clone()));
                let i = self.name("i");
                let mut inner = ctx.clone();
                inner.loops.push(i.clone());
                let e = self.ex(&inner, 3);
                let st = St::SetArr(h.clone(), Idx::V(i.clone()), Ex::F1("tanh", false, b(e)));
                let r = Range {
                    lo: 0,
                    hi: Bound::K(3),
                    inclusive: false,
                    rev: self.rng.chance(0.3),
                };
                out.push(St::For(LoopPat::Var(i, r), vec![st]));
                ctx.arrays.push(h);
            }
            5 | 6 if nest > 0 => {
                let acc = self.accumulator(ctx, out);
                let mut inner = ctx.clone();
                let pat = match self.rng.below(4) {
                    0 => {
                        let r = self.range(ctx);
                        LoopPat::Wild(r)
                    }
                    1 => {
                        let (k, xk) = (self.name("k"), self.name("xk"));
                        inner.loops.push(k.clone());
                        inner.bind_scalar(&xk, false);
                        LoopPat::Enumerate(k, xk)
                    }
                    _ => {
                        let i = self.name("i");
                        let r = self.range(ctx);
                        inner.loops.push(i.clone());
                        LoopPat::Var(i, r)
                    }
                };
                let mut body = Vec::new();
                if self.rng.chance(0.3) {
                    let t = self.name("t");
                    body.push(St::Let(t.clone(), false, self.ex(&inner, 2)));
                    inner.bind_scalar(&t, false);
                }
                if self.rng.chance(0.3) {
                    self.stmt(&mut inner, &mut body, nest - 1);
                }
                // The accumulator may have been shadowed in the body by an
                // immutable binding; update it only while it is still `mut`.
                if inner.mutables().contains(&acc) {
                    let st = self.update(&acc, &inner, 2);
                    body.push(st);
                }
                out.push(St::For(pat, body));
            }
            7 | 8 if nest > 0 => {
                let acc = self.accumulator(ctx, out);
                let a = self.ex(ctx, 2);
                let c = self.ex(ctx, 1);
                let cmp = *self.rng.pick(CMPS);
                let mut then_ctx = ctx.clone();
                let mut then = Vec::new();
                if self.rng.chance(0.3) {
                    self.stmt(&mut then_ctx, &mut then, nest - 1);
                }
                if then_ctx.mutables().contains(&acc) {
                    then.push(self.update(&acc, &then_ctx, 2));
                }
                let els = if self.rng.chance(0.6) {
                    let mut else_ctx = ctx.clone();
                    let mut els = Vec::new();
                    if self.rng.chance(0.3) {
                        self.stmt(&mut else_ctx, &mut els, nest - 1);
                    }
                    if else_ctx.mutables().contains(&acc) {
                        els.push(self.update(&acc, &else_ctx, 2));
                    }
                    Some(els)
                } else {
                    None
                };
                out.push(St::If(a, cmp, c, then, els));
            }
            _ => {
                let v = self.name("v");
                out.push(St::Let(v.clone(), false, self.ex(ctx, 2)));
                ctx.bind_scalar(&v, false);
            }
        }
    }

    fn program(&mut self) -> Program {
        let mut ctx = Ctx::default();
        let mut stmts = Vec::new();
        if self.rng.chance(0.3) {
            // A single expression.
            let result = self.ex(&ctx, 5);
            return Program {
                stmts,
                result,
                with_return: self.rng.chance(0.2),
            };
        }
        let n = 1 + self.rng.below(5);
        for _ in 0..n {
            self.stmt(&mut ctx, &mut stmts, 2);
        }
        // The result uses the locals, so that the statements matter.
        let mut result = self.ex(&ctx, 3);
        for (v, _) in ctx.scalars.clone() {
            if self.rng.chance(0.6) {
                let op = *self.rng.pick(&['+', '-', '*']);
                result = Ex::Bin(op, b(result), b(Ex::V(v)));
            }
        }
        for h in ctx.arrays.clone() {
            if self.rng.chance(0.6) {
                let k = self.rng.below(3);
                result = Ex::Bin('+', b(result), b(Ex::H(h, Idx::K(k))));
            }
        }
        Program {
            stmts,
            result,
            with_return: self.rng.chance(0.3),
        }
    }
}

// ---------------------------------------------------------------- check

#[derive(Default, Debug)]
struct Stats {
    cases: usize,
    points: usize,
    points_skipped_range: usize,
    elements: usize,
    elements_checked: usize,
    elements_nonsmooth: usize,
    zero_gradients: usize,
}

/// Checks one program at `points` random points; panics with the source and
/// the numbers on a mismatch.
fn check_program(p: &Program, rng: &mut SplitMix64, points: usize, stats: &mut Stats) {
    let src = program_src(p);
    let (_, c) = compile("", &src).unwrap_or_else(|e| {
        panic!(
            "the pipeline rejected a generated function:\n{src}\n{:?}",
            e.iter().map(|e| e.to_string()).collect::<Vec<_>>()
        )
    });
    assert_eq!(c.sig.wrt, vec![0], "{src}");
    let g = &c.lowered.graph;
    let out = c.lowered.output.index();
    let grads: Vec<usize> = c.grads[0].iter().map(|id| id.index()).collect();
    assert_eq!(grads.len(), 3, "{src}");
    let value_at = |x: &[f64; 3]| {
        g.eval(&|p, i| {
            assert_eq!(p, 0);
            x[i as usize]
        })
    };
    stats.cases += 1;
    for _ in 0..points {
        let x = [
            rng.uniform(-1.5, 1.5),
            rng.uniform(-1.5, 1.5),
            rng.uniform(-1.5, 1.5),
        ];
        let vals = value_at(&x);
        let v = vals[out];
        let oracle = run_program(p, &x);
        stats.points += 1;
        assert!(
            v.to_bits() == oracle.to_bits() || (v.is_nan() && oracle.is_nan()),
            "forward value differs from the interpreter at x = {x:?}: graph {v:e}, oracle {oracle:e}\n{src}"
        );
        if !v.is_finite() || v.abs() > 1e6 {
            stats.points_skipped_range += 1;
            continue;
        }
        for (k, &gid) in grads.iter().enumerate() {
            let grad = vals[gid];
            stats.elements += 1;
            assert!(
                grad.is_finite(),
                "gradient element {k} is {grad} at x = {x:?} (value {v:e})\n{src}"
            );
            let h = 1e-5 * x[k].abs().max(1.0);
            let f_at = |dx: f64| {
                let mut xp = x;
                xp[k] += dx;
                value_at(&xp)[out]
            };
            let fd = |h: f64| (f_at(h) - f_at(-h)) / (2.0 * h);
            let (fd1, fd2) = (fd(h), fd(2.0 * h));
            // Rounding error of a central difference, scaled to the value.
            let noise = 1e-9 * v.abs().max(1.0);
            let agree =
                |a: f64, b: f64, rel: f64| (a - b).abs() <= rel * a.abs().max(b.abs()) + noise;
            if !(fd1.is_finite() && fd2.is_finite() && agree(fd1, fd2, 1e-5)) {
                // A kink or a jump within 2h: not differentiable here.
                stats.elements_nonsmooth += 1;
                continue;
            }
            stats.elements_checked += 1;
            if grad == 0.0 {
                stats.zero_gradients += 1;
            }
            assert!(
                agree(grad, fd1, 1e-5),
                "gradient element {k} at x = {x:?}: derived {grad:e}, finite differences {fd1:e} (step 2h: {fd2:e}), value {v:e}\n{src}"
            );
        }
    }
}

#[test]
fn random_expressions_match_finite_differences_and_the_interpreter() {
    const CASES: usize = 3000;
    const POINTS: usize = 3;
    let mut gen = Gen {
        rng: SplitMix64(0x0BAC_C0DE_2024_0001),
        fresh: 0,
    };
    let mut points_rng = SplitMix64(0xF1D1_D1FF_0000_0002);
    let mut stats = Stats::default();
    let mut total_src_len = 0;
    for _ in 0..CASES {
        gen.fresh = 0;
        let p = gen.program();
        total_src_len += program_src(&p).len();
        check_program(&p, &mut points_rng, POINTS, &mut stats);
    }
    println!(
        "random differential test: {} functions ({} bytes of source), {} points ({} skipped: value not finite or > 1e6), \
         {} gradient elements: {} checked against finite differences ({} of them zero), {} skipped as non-smooth nearby",
        stats.cases,
        total_src_len,
        stats.points,
        stats.points_skipped_range,
        stats.elements,
        stats.elements_checked,
        stats.zero_gradients,
        stats.elements_nonsmooth
    );
    assert_eq!(stats.cases, CASES);
    // The test must not be vacuous: almost every element is really checked,
    // and most gradients are not trivially zero.
    assert!(stats.points_skipped_range * 20 < stats.points, "{stats:?}");
    assert!(
        stats.elements_checked * 10 >= stats.elements * 9,
        "{stats:?}"
    );
    assert!(
        stats.zero_gradients * 3 < stats.elements_checked,
        "{stats:?}"
    );
}

/// The generator and the interpreter agree with hand-written cases, so the
/// oracle itself is trustworthy.
#[test]
fn random_oracle_sanity() {
    let x = [0.5, -1.0, 2.0];
    // let mut s = 1.0; for i in (0..3).rev() { s *= x[i] + (i as f64); } s
    let p = Program {
        stmts: vec![
            St::Let("s".into(), true, Ex::C(1.0)),
            St::For(
                LoopPat::Var(
                    "i".into(),
                    Range {
                        lo: 0,
                        hi: Bound::K(3),
                        inclusive: false,
                        rev: true,
                    },
                ),
                vec![St::Assign(
                    "s".into(),
                    Some('*'),
                    Ex::Bin('+', b(Ex::X(Idx::V("i".into()))), b(Ex::I("i".into()))),
                )],
            ),
        ],
        result: Ex::V("s".into()),
        with_return: false,
    };
    assert_eq!(run_program(&p, &x), 4.0 * 0.0 * 0.5);
    let src = program_src(&p);
    assert!(src.contains("for i in (0..3).rev() {"), "{src}");
    assert!(src.contains("s *= (x[i] + (i as f64));"), "{src}");
    // Shadowing inside a block does not leak out of it.
    let p = Program {
        stmts: vec![
            St::Let("a".into(), true, Ex::X(Idx::K(0))),
            St::If(
                Ex::X(Idx::K(1)),
                "<",
                Ex::C(0.0),
                vec![St::Let("a".into(), false, Ex::C(10.0))],
                Some(vec![St::Assign("a".into(), Some('+'), Ex::C(1.0))]),
            ),
        ],
        result: Ex::V("a".into()),
        with_return: true,
    };
    assert_eq!(run_program(&p, &x), 0.5);
    assert_eq!(run_program(&p, &[0.5, 1.0, 0.0]), 1.5);
}
