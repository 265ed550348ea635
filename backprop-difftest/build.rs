//! Writes `$OUT_DIR/cases.rs`: a few hundred random loss functions (fixed
//! seed), each under `#[derive_grad]`, with the oracle the test checks them
//! against and the points it checks them at.
//!
//! Every function is generated twice from the same seed: once as a user
//! would write it (`f64`, `f32` or a generic `F: Float`), and once as a
//! generic "twin" over `D: Float` that evaluates the very same operations in
//! num-dual's dual numbers. A generic function is its own twin. The random
//! choices never depend on which of the two is being printed, only on the
//! seed and the element type, so the two texts are the same program.
//!
//! Some statements pass slices to generic `slice_*` helpers (a local
//! `vec!` whole, as ranges, by chunks, rewritten after the call or in
//! every iteration of a loop; `x` whole or as a range); they are drawn
//! from a stream of their own, so the rest of each case is the program it
//! was before they were added. Every case gets `jvp` and `hessian`.

use std::fmt::Write as _;
use std::{env, fs, path::PathBuf};

/// How many loss functions.
const CASES: usize = 320;
/// The seed of the whole file (`BACKPROP_DIFFTEST_SEED` overrides it).
const SEED: u64 = 0xD1FF_7E57_2026;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BACKPROP_DIFFTEST_SEED");
    // Another seed explores other functions (CI keeps the fixed one).
    let seed = match env::var("BACKPROP_DIFFTEST_SEED") {
        Ok(s) => s
            .parse()
            .expect("BACKPROP_DIFFTEST_SEED must be an integer"),
        Err(_) => SEED,
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("cases.rs"), generate(seed)).expect("write cases.rs");
    fs::write(out.join("sizes.rs"), sizes()).expect("write sizes.rs");
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // splitmix64 of the seed: nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// A value in `[lo, hi)` rounded to 1/64 so that it prints exactly.
    fn value(&mut self, lo: f64, hi: f64) -> f64 {
        ((lo + (hi - lo) * self.unit()) * 64.0).round() / 64.0
    }
    /// A point coordinate: as [`value`](Self::value) plus 1/4096, so that
    /// it is never ±0 nor equal to a literal of the functions (multiples of
    /// 1/64): `x[0] - 0.078125` is then never exactly 0, where `abs`,
    /// `atan2`, `x.powi(-1)` and their kin have no derivative.
    fn coordinate(&mut self, lo: f64, hi: f64) -> f64 {
        self.value(lo, hi) + 1.0 / 4096.0
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Elem {
    F64,
    F32,
    Generic,
}

/// Which text of a function is being printed.
#[derive(Clone, Copy)]
struct Mode {
    elem: Elem,
    /// The dual-number twin of a concrete function.
    twin: bool,
}

impl Mode {
    fn ty(self) -> &'static str {
        match (self.twin, self.elem) {
            (true, _) => "D",
            (false, Elem::F64) => "f64",
            (false, Elem::F32) => "f32",
            (false, Elem::Generic) => "F",
        }
    }
    fn generic(self) -> bool {
        self.twin || self.elem == Elem::Generic
    }
    fn lit(self, v: f64) -> String {
        if self.generic() {
            format!("{}::from({v:?}).unwrap()", self.ty())
        } else if v < 0.0 {
            format!("({v:?})")
        } else {
            format!("{v:?}")
        }
    }
    /// An integer expression converted to the float type.
    fn int_as_float(self, int: &str) -> String {
        if self.generic() {
            format!("{}::from({int}).unwrap()", self.ty())
        } else {
            format!("({int} as {})", self.ty())
        }
    }
    fn zero(self) -> String {
        if self.generic() {
            format!("{}::zero()", self.ty())
        } else {
            "0.0".into()
        }
    }
    /// A std constant (`PI`, `E`, …).
    fn constant(self, name: &str) -> String {
        match self.elem {
            Elem::F32 if !self.twin => format!("std::f32::consts::{name}"),
            _ if self.generic() => {
                format!("{}::from(std::f64::consts::{name}).unwrap()", self.ty())
            }
            _ => format!("std::f64::consts::{name}"),
        }
    }
    /// The module-level `const` item of the element type.
    fn const_item(self) -> String {
        match self.elem {
            Elem::F32 if !self.twin => "SCALE32".into(),
            _ if self.generic() => format!("{}::from(SCALE).unwrap()", self.ty()),
            _ => "SCALE".into(),
        }
    }
}

/// A differentiable helper the cases call.
struct Helper {
    name: String,
    elem: Elem,
    /// Its parameters: `None` a scalar, `Some(n)` an array of `n`.
    params: Vec<Option<usize>>,
}

/// One generated loss function.
struct Case {
    name: String,
    elem: Elem,
    /// Length of the differentiated array `x`, or `None` for a scalar `x`.
    x_len: Option<usize>,
    /// Whether `c` (a float) is differentiated too.
    wrt_c: bool,
    /// Whether the function takes `n: i32` and `flag: bool`.
    ints: bool,
}

/// The names in scope while generating a body.
#[derive(Clone, Default)]
struct Scope {
    /// Float locals (name, mutable).
    floats: Vec<(String, bool)>,
    /// Local float arrays (name, length).
    arrays: Vec<(String, usize)>,
    /// Loop variables (name, exclusive upper bound of their values).
    loop_vars: Vec<(String, usize)>,
    /// Whether an enclosing loop's body may `continue` or `break` before
    /// this point: what follows is then in a run-time `if`, where writes
    /// to arrays in memory are refused.
    after_jump: bool,
    fresh: usize,
}

struct Gen<'a> {
    rng: Rng,
    mode: Mode,
    case: &'a Case,
    helpers: &'a [Helper],
    scope: Scope,
    /// How many enclosing loops stay loops (run-time bounds, or more than
    /// 16 iterations): calls to other functions are not allowed in them.
    rolled: usize,
    /// The stream of the statements passing slices ([`Gen::slice_call`]),
    /// apart from `rng` so that the rest of a case is the program it was
    /// before they were added.
    side: Rng,
}

impl Gen<'_> {
    fn fresh(&mut self, prefix: &str) -> String {
        self.scope.fresh += 1;
        format!("{prefix}{}", self.scope.fresh)
    }

    /// An element of `x` (or `x` itself when it is a scalar).
    fn x_elem(&mut self) -> String {
        match self.case.x_len {
            None => "x".into(),
            Some(n) => {
                let loop_var = self.scope.loop_vars.last().cloned();
                match loop_var {
                    Some((i, bound)) if self.rng.chance(0.6) => {
                        if bound <= n && self.rng.chance(0.5) {
                            format!("x[{i}]")
                        } else if bound > n && self.rng.chance(0.4) {
                            // Past the end only on a branch the original
                            // does not take: nothing may panic there.
                            if self.rng.chance(0.5) {
                                format!("(if {i} < {n} {{ x[{i}] }} else {{ c }})")
                            } else {
                                format!("(if {i} > 0 && {i} <= {n} {{ x[{i} - 1] }} else {{ c }})")
                            }
                        } else {
                            format!("x[{i} % {n}]")
                        }
                    }
                    _ => format!("x[{}]", self.rng.below(n)),
                }
            }
        }
    }

    fn atom(&mut self) -> String {
        let m = self.mode;
        loop {
            match self.rng.below(10) {
                0..=2 => return self.x_elem(),
                3 if !self.scope.floats.is_empty() => {
                    let k = self.rng.below(self.scope.floats.len());
                    return self.scope.floats[k].0.clone();
                }
                4 => {
                    let v = self.rng.value(-2.0, 2.0);
                    return m.lit(v);
                }
                5 => return "c".into(),
                6 if !self.scope.loop_vars.is_empty() => {
                    let k = self.rng.below(self.scope.loop_vars.len());
                    let i = self.scope.loop_vars[k].0.clone();
                    return m.int_as_float(&i);
                }
                7 if !self.scope.arrays.is_empty() => {
                    let k = self.rng.below(self.scope.arrays.len());
                    let (h, len) = self.scope.arrays[k].clone();
                    // At a loop variable that stays in bounds, or a literal.
                    let vars: Vec<String> = self
                        .scope
                        .loop_vars
                        .iter()
                        .filter(|(_, bound)| *bound <= len)
                        .map(|(v, _)| v.clone())
                        .collect();
                    if !vars.is_empty() && self.rng.chance(0.5) {
                        return format!("{h}[{}]", vars[self.rng.below(vars.len())]);
                    }
                    return format!("{h}[{}]", self.rng.below(len));
                }
                8 => {
                    let name = ["PI", "E", "LN_2", "FRAC_1_SQRT_2"][self.rng.below(4)];
                    return m.constant(name);
                }
                9 if self.rng.chance(0.7) => return m.const_item(),
                9 if self.case.x_len.is_some() && self.case.elem != Elem::Generic => {
                    return if m.twin {
                        "x.iter().fold(D::neg_zero(), |a, &b| a + b)".into()
                    } else {
                        format!("x.iter().sum::<{}>()", m.ty())
                    };
                }
                _ => {}
            }
        }
    }

    fn expr(&mut self, depth: usize) -> String {
        if depth == 0 || self.rng.chance(0.25) {
            return self.atom();
        }
        let m = self.mode;
        let d = depth - 1;
        match self.rng.below(24) {
            0..=2 => format!("({} + {})", self.expr(d), self.expr(d)),
            3..=4 => format!("({} - {})", self.expr(d), self.expr(d)),
            5..=7 => format!("({} * {})", self.expr(d), self.expr(d)),
            8 => {
                let (a, b) = (self.expr(d), self.expr(d));
                format!("({a} / ({b} * {b} + {}))", m.lit(0.5))
            }
            9 => format!("(-{})", self.expr(d)),
            10 => {
                let f = ["sin", "cos", "tanh", "atan", "abs"][self.rng.below(5)];
                format!("{}.{f}()", self.paren(d))
            }
            11 => format!("{}.tanh().exp()", self.paren(d)),
            12 => {
                let a = self.expr(d);
                if self.rng.chance(0.5) {
                    format!("({a} * {a} + {}).sqrt()", m.lit(0.25))
                } else {
                    format!("({a} * {a} + {}).ln()", m.lit(1.0))
                }
            }
            13 => format!("{}.powi({})", self.paren(d), self.rng.below(4) as i32 - 1),
            14 => {
                let (a, b) = (self.expr(d), self.expr(d));
                format!("({a}.abs() + {}).powf({b}.tanh())", m.lit(0.5))
            }
            15 => {
                let f = ["sigmoid", "softplus", "silu", "square", "relu"][self.rng.below(5)];
                format!("{f}({})", self.expr(d))
            }
            16 => {
                let f = ["max", "min", "hypot", "atan2"][self.rng.below(4)];
                format!("{}.{f}({})", self.paren(d), self.expr(d))
            }
            17 => format!(
                "{}.mul_add({}, {})",
                self.paren(d),
                self.expr(d),
                self.expr(d)
            ),
            18 if self.rolled == 0 => {
                let h = self.rng.below(self.helpers.len());
                self.call(h, d)
            }
            19 => {
                let t = self.fresh("t");
                let a = self.expr(d);
                let saved = self.scope.floats.len();
                self.scope.floats.push((t.clone(), false));
                let b = self.expr(d);
                self.scope.floats.truncate(saved);
                format!("{{ let {t} = {a}; {t} * {b} }}")
            }
            20 if self.case.ints => {
                let int = match self.rng.below(4) {
                    0 => "n",
                    1 => "(n as u8)",
                    2 => "(n as i8)",
                    _ => "(n as u16 as i16)",
                };
                format!("({} * {})", m.int_as_float(int), self.expr(d))
            }
            21 if self.case.ints => {
                let (a, b) = (self.expr(d), self.expr(d));
                format!("(if flag {{ {a} }} else {{ {b} }})")
            }
            22 if self.case.elem != Elem::Generic => {
                // A float cast to an integer: piecewise constant.
                let a = self.expr(d);
                // (Named in both texts, so that later names agree.)
                let t = self.fresh("q");
                if m.twin {
                    // `as i32 as D` in operations `#[derive_grad]` takes
                    // (the twin's gradient is generated too): truncated,
                    // saturated at i32's bounds, NaN to 0, and −0 to +0.
                    format!(
                        "{{ let {t} = {a} * D::from(3.0).unwrap(); if {t} == {t} {{ {t}.trunc().max(D::from(-2147483648.0).unwrap()).min(D::from(2147483647.0).unwrap()) + D::zero() }} else {{ D::zero() }} }}"
                    )
                } else {
                    format!("(({a} * 3.0) as i32 as {})", m.ty())
                }
            }
            23 => {
                let (a, b, c) = (self.expr(d), self.expr(d), self.expr(d));
                format!("(if {a} > {b} {{ {c} }} else {{ {a} }})")
            }
            _ => self.atom(),
        }
    }

    fn paren(&mut self, depth: usize) -> String {
        let e = self.expr(depth);
        if e.starts_with('(')
            || e.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '[' || c == ']')
        {
            e
        } else {
            format!("({e})")
        }
    }

    fn call(&mut self, h: usize, depth: usize) -> String {
        let helper = &self.helpers[h];
        let mut args = Vec::new();
        for p in &helper.params {
            match p {
                None => args.push(self.expr(depth)),
                Some(n) => {
                    let elems: Vec<String> = (0..*n).map(|_| self.expr(depth.min(1))).collect();
                    args.push(format!("[{}]", elems.join(", ")));
                }
            }
        }
        let name = if self.mode.twin && helper.elem != Elem::Generic {
            format!("{}_twin", helper.name)
        } else {
            helper.name.clone()
        };
        format!("{name}({})", args.join(", "))
    }

    fn statements(&mut self, count: usize, loop_depth: usize, out: &mut String, indent: usize) {
        let pad = "    ".repeat(indent);
        for _ in 0..count {
            if !self.scope.after_jump && loop_depth < 2 && self.side.chance(0.12) {
                std::mem::swap(&mut self.rng, &mut self.side);
                self.slice_call(out, indent);
                std::mem::swap(&mut self.rng, &mut self.side);
            }
            let mutables: Vec<String> = self
                .scope
                .floats
                .iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| n.clone())
                .collect();
            match self.rng.below(11) {
                0..=2 => {
                    let name = self.fresh("a");
                    let e = self.expr(3);
                    let ty = self.mode.ty();
                    writeln!(out, "{pad}let mut {name}: {ty} = {e};").unwrap();
                    self.scope.floats.push((name, true));
                }
                3..=4 if !mutables.is_empty() => {
                    let target = mutables[self.rng.below(mutables.len())].clone();
                    let e = self.expr(2);
                    let op = ["+=", "-=", "*="][self.rng.below(3)];
                    if self.mode.generic() {
                        let bin = &op[..1];
                        writeln!(out, "{pad}{target} = {target} {bin} {e};").unwrap();
                    } else {
                        writeln!(out, "{pad}{target} {op} {e};").unwrap();
                    }
                }
                // The same choice as a `match` on an integer.
                5 if !mutables.is_empty() && self.case.ints && self.rng.chance(0.3) => {
                    let target = mutables[self.rng.below(mutables.len())].clone();
                    let (t, e, f) = (self.expr(2), self.expr(2), self.expr(2));
                    writeln!(out, "{pad}{target} = match n as usize % 4 {{").unwrap();
                    writeln!(out, "{pad}    0 => {t},").unwrap();
                    writeln!(out, "{pad}    1 | 2 => {e},").unwrap();
                    writeln!(out, "{pad}    _ => {f},").unwrap();
                    writeln!(out, "{pad}}};").unwrap();
                }
                5 if !mutables.is_empty() => {
                    let target = mutables[self.rng.below(mutables.len())].clone();
                    let (a, b) = (self.expr(2), self.expr(2));
                    let (t, e) = (self.expr(2), self.expr(2));
                    writeln!(out, "{pad}if {a} > {b} {{").unwrap();
                    writeln!(out, "{pad}    {target} = {t};").unwrap();
                    writeln!(out, "{pad}}} else {{").unwrap();
                    writeln!(out, "{pad}    {target} = {e};").unwrap();
                    writeln!(out, "{pad}}}").unwrap();
                }
                6..=7 if loop_depth < 2 => self.for_loop(loop_depth, out, indent),
                // Inside a loop too: an array each iteration fills
                // afresh, read by the loops after it (an MLP layer inside
                // a loop over samples).
                8 if loop_depth <= 1 => {
                    // A local array filled by a loop and read afterwards.
                    let h = self.fresh("h");
                    // Long enough, in a rolled loop, for the filling loop
                    // to stay a loop too (the array is then in memory).
                    let len = if self.rolled > 0 && !self.scope.after_jump && self.rng.chance(0.5) {
                        17 + self.rng.below(24)
                    } else {
                        2 + self.rng.below(3)
                    };
                    let i = self.fresh("i");
                    let zero = self.mode.zero();
                    writeln!(out, "{pad}let mut {h} = [{zero}; {len}];").unwrap();
                    writeln!(out, "{pad}for {i} in 0..{len} {{").unwrap();
                    self.scope.loop_vars.push((i.clone(), len));
                    let e = self.expr(2);
                    self.scope.loop_vars.pop();
                    writeln!(out, "{pad}    {h}[{i}] = {e};").unwrap();
                    writeln!(out, "{pad}}}").unwrap();
                    // Written again at a run-time index, outside any loop:
                    // the array is then in memory.
                    // (Not in a loop: after a `continue` it would be in a
                    // run-time `if`, which such writes are refused in.)
                    if self.case.ints && loop_depth == 0 && self.rng.chance(0.5) {
                        let e = self.expr(2);
                        writeln!(out, "{pad}{h}[n as usize % {len}] = {e};").unwrap();
                    }
                    if loop_depth == 1 && self.rng.chance(0.7) {
                        // Read by a later loop of the same iteration: a
                        // sum over the array's elements (the next layer).
                        // Into a float from before the loop if there is
                        // one (so that it reaches the result).
                        let j = self.fresh("j");
                        let acc = if mutables.is_empty() {
                            let acc = self.fresh("a");
                            let ty = self.mode.ty();
                            writeln!(out, "{pad}let mut {acc}: {ty} = {zero};").unwrap();
                            self.scope.floats.push((acc.clone(), true));
                            acc
                        } else {
                            mutables[self.rng.below(mutables.len())].clone()
                        };
                        self.scope.loop_vars.push((j.clone(), len));
                        let e = self.expr(1);
                        self.scope.loop_vars.pop();
                        if self.rng.chance(0.5) {
                            writeln!(out, "{pad}for {j} in 0..{len} {{").unwrap();
                            writeln!(out, "{pad}    {acc} = {acc} + {h}[{j}] * {e};").unwrap();
                            writeln!(out, "{pad}}}").unwrap();
                        } else {
                            // The same sum as an iterator chain.
                            let (s, v) = (self.fresh("s"), self.fresh("v"));
                            writeln!(
                                out,
                                "{pad}{acc} = {h}.iter().enumerate().fold({acc}, |{s}, ({j}, {v})| {s} + *{v} * {e});"
                            )
                            .unwrap();
                        }
                    }
                    self.scope.arrays.push((h, len));
                }
                // Also inside a loop that stays a loop (its trip count is
                // recorded per outer iteration).
                9 if loop_depth == 0 || (loop_depth == 1 && self.rng.chance(0.3)) => {
                    self.while_loop(loop_depth, out, indent)
                }
                9 if loop_depth == 1 && !self.scope.after_jump && !self.scope.arrays.is_empty() => {
                    // An array from before the loop, rewritten by an inner
                    // loop in every iteration of this one.
                    let k = self.rng.below(self.scope.arrays.len());
                    let (h, len) = self.scope.arrays[k].clone();
                    let i = self.fresh("i");
                    writeln!(out, "{pad}for {i} in 0..{len} {{").unwrap();
                    self.scope.loop_vars.push((i.clone(), len));
                    let e = self.expr(2);
                    self.scope.loop_vars.pop();
                    writeln!(
                        out,
                        "{pad}    {h}[{i}] = {h}[{i}] * {} + {e};",
                        self.mode.lit(0.5)
                    )
                    .unwrap();
                    writeln!(out, "{pad}}}").unwrap();
                }
                // An iterator chain over an array: differences of
                // neighbours by `windows(2)`, folded into a float.
                10 if !self.scope.arrays.is_empty() && !mutables.is_empty() => {
                    let (h, _) = self.scope.arrays[self.rng.below(self.scope.arrays.len())].clone();
                    let target = mutables[self.rng.below(mutables.len())].clone();
                    let (w, s, d) = (self.fresh("w"), self.fresh("s"), self.fresh("d"));
                    let e = self.expr(1);
                    writeln!(
                        out,
                        "{pad}{target} = {h}.windows(2).map(|{w}| {w}[1] - {w}[0] * {e}).fold({target}, |{s}, {d}| {s} + {d} * {d});"
                    )
                    .unwrap();
                }
                _ => {}
            }
        }
    }

    /// A statement passing slices to the `slice_*` helpers (issue 9): a
    /// local `vec!` filled by a loop and passed whole, as a range, as two
    /// ranges, or by chunks; one rewritten in every iteration of a loop
    /// and passed each time; `x` passed whole or as a literal range. The
    /// result is added into a float of the scope (or a new one).
    fn slice_call(&mut self, out: &mut String, indent: usize) {
        let pad = "    ".repeat(indent);
        let (zero, ty) = (self.mode.zero(), self.mode.ty());
        let mutables: Vec<String> = self
            .scope
            .floats
            .iter()
            .filter(|(_, m)| *m)
            .map(|(n, _)| n.clone())
            .collect();
        let target = if mutables.is_empty() || self.rng.chance(0.3) {
            let a = self.fresh("a");
            writeln!(out, "{pad}let mut {a}: {ty} = {zero};").unwrap();
            self.scope.floats.push((a.clone(), true));
            a
        } else {
            mutables[self.rng.below(mutables.len())].clone()
        };
        // Long enough, in a rolled loop, for the filling loop to stay one.
        let len = if self.rolled > 0 && self.rng.chance(0.3) {
            17 + self.rng.below(8)
        } else {
            2 + self.rng.below(4)
        };
        match self.rng.below(5) {
            0 | 1 => {
                let h = self.fill_vec(len, &pad, out);
                let call = self.slice_call_expr(&h, len);
                writeln!(out, "{pad}{target} = {target} + {call};").unwrap();
            }
            2 if self.case.x_len.is_some() => {
                let n = self.case.x_len.unwrap();
                let arg = match self.rng.below(3) {
                    0 => "&x".to_string(),
                    1 => {
                        let a = self.rng.below(n);
                        let b = a + 1 + self.rng.below(n - a);
                        format!("&x[{a}..{b}]")
                    }
                    _ => format!("&x[{}..]", self.rng.below(n)),
                };
                let q = self.expr(1);
                writeln!(out, "{pad}{target} = {target} + slice_sum({arg}, {q});").unwrap();
            }
            _ => {
                // Rewritten in every iteration, passed each time.
                let i = self.fresh("i");
                let (range, bound, rolled) = if self.case.ints && self.rng.chance(0.3) {
                    ("0..(n as usize % 5)".to_string(), 5, true)
                } else if self.rng.chance(0.5) {
                    let long = 17 + self.rng.below(8);
                    (format!("0..{long}"), long, true)
                } else {
                    let short = 1 + self.rng.below(3);
                    (format!("0..{short}"), short, false)
                };
                let h = self.fresh("h");
                writeln!(out, "{pad}let mut {h} = vec![{zero}; {len}];").unwrap();
                writeln!(out, "{pad}for {i} in {range} {{").unwrap();
                self.scope.loop_vars.push((i, bound));
                self.rolled += rolled as usize;
                let j = self.fresh("j");
                self.scope.loop_vars.push((j.clone(), len));
                let e = self.finite_element();
                self.scope.loop_vars.pop();
                writeln!(out, "{pad}    for {j} in 0..{len} {{").unwrap();
                writeln!(out, "{pad}        {h}[{j}] = {e};").unwrap();
                writeln!(out, "{pad}    }}").unwrap();
                let call = self.slice_call_expr(&h, len);
                let half = self.mode.lit(0.5);
                writeln!(out, "{pad}    {target} = {target} * {half} + {call};").unwrap();
                self.rolled -= rolled as usize;
                self.scope.loop_vars.pop();
                writeln!(out, "{pad}}}").unwrap();
            }
        }
    }

    /// `let mut h = vec![0.0; len];` filled by a loop; returns its name.
    fn fill_vec(&mut self, len: usize, pad: &str, out: &mut String) -> String {
        let (h, j) = (self.fresh("h"), self.fresh("j"));
        let zero = self.mode.zero();
        writeln!(out, "{pad}let mut {h} = vec![{zero}; {len}];").unwrap();
        self.scope.loop_vars.push((j.clone(), len));
        let e = self.finite_element();
        self.scope.loop_vars.pop();
        writeln!(out, "{pad}for {j} in 0..{len} {{").unwrap();
        writeln!(out, "{pad}    {h}[{j}] = {e};").unwrap();
        writeln!(out, "{pad}}}").unwrap();
        h
    }

    /// An element of a `vec!` passed to a helper: an expression without
    /// `.powi(-1)`, whose value is infinite at 0 (a loop variable's first
    /// value). A helper may leave elements unread, where dual numbers give
    /// no derivative; the reverse sweep multiplies their zero adjoint by
    /// the element's local derivatives, and 0·∞ is NaN: a difference of
    /// convention for non-finite intermediates, which the oracle sets
    /// aside elsewhere by points where the value is not finite.
    fn finite_element(&mut self) -> String {
        loop {
            let e = self.expr(2);
            if !e.contains("powi(-1)") {
                return e;
            }
        }
    }

    /// A call passing `h` (of `len` elements) or ranges of it.
    fn slice_call_expr(&mut self, h: &str, len: usize) -> String {
        let q = self.expr(1);
        match self.rng.below(9) {
            0 => format!("slice_sum(&{h}, {q})"),
            1 => {
                let a = self.rng.below(len + 1);
                let b = a + self.rng.below(len + 1 - a);
                format!("slice_sum(&{h}[{a}..{b}], {q})")
            }
            2 => {
                let m = self.rng.below(len + 1);
                if self.rng.chance(0.5) {
                    format!("slice_pair(&{h}[..{m}], &{h}[{m}..])")
                } else {
                    format!("slice_pair(&{h}, &{h}[{m}..])")
                }
            }
            3 => {
                let k = 1 + self.rng.below(len);
                let (s, r) = (self.fresh("s"), self.fresh("r"));
                let zero = self.mode.zero();
                format!("{h}.chunks({k}).fold({zero}, |{s}, {r}| {s} + slice_sum({r}, {q}))")
            }
            4 => format!("slice_rec(&{h}, {})", len - 1),
            5 => format!("slice_nested(&{h}, {q})"),
            // A range bound to a name: passed whole, read at an index, and
            // cut again.
            7 | 8 => {
                let r = self.fresh("r");
                let a = self.rng.below(len);
                let b = a + 1 + self.rng.below(len - a);
                let (k, m) = (self.rng.below(b - a), self.rng.below(b - a + 1));
                if self.rng.chance(0.5) {
                    format!("{{ let {r} = &{h}[{a}..{b}]; slice_sum({r}, {q}) }}")
                } else {
                    format!("{{ let {r} = &{h}[{a}..{b}]; {r}[{k}] * {q} + slice_sum(&{r}[{m}..], {q}) }}")
                }
            }
            _ => format!("slice_pair(&{h}, &{h})"),
        }
    }

    /// A `while` loop with an integer counter (carried, as is a float it
    /// updates), running a literal or run-time number of times.
    fn while_loop(&mut self, loop_depth: usize, out: &mut String, indent: usize) {
        let pad = "    ".repeat(indent);
        let (w, k) = (self.fresh("w"), self.fresh("k"));
        let init = self.expr(2);
        let bound = if self.case.ints && self.rng.chance(0.5) {
            "(n as usize % 6)".to_string()
        } else {
            // (never `< 0`: a comparison rustc calls useless)
            format!("{}", 1 + self.rng.below(4))
        };
        let ty = self.mode.ty();
        writeln!(out, "{pad}let mut {w}: {ty} = {init};").unwrap();
        writeln!(out, "{pad}let mut {k}: usize = 0;").unwrap();
        writeln!(out, "{pad}while {k} < {bound} {{").unwrap();
        let saved = self.scope.clone();
        self.scope.floats.push((w.clone(), false));
        self.rolled += 1;
        let count = 1 + self.rng.below(2);
        self.statements(count, loop_depth + 1, out, indent + 1);
        let e = self.expr(2);
        writeln!(out, "{pad}    {w} = {w} * {} + {e};", self.mode.lit(0.5)).unwrap();
        writeln!(out, "{pad}    {k} += 1;").unwrap();
        self.rolled -= 1;
        let fresh = self.scope.fresh;
        self.scope = saved;
        self.scope.fresh = fresh;
        writeln!(out, "{pad}}}").unwrap();
        self.scope.floats.push((w, true));
    }

    fn for_loop(&mut self, loop_depth: usize, out: &mut String, indent: usize) {
        let pad = "    ".repeat(indent);
        let i = self.fresh("i");
        let n = 1 + self.rng.below(4);
        // Loops that stay loops: more than 16 iterations, or run-time
        // bounds (`n` is an `i32` parameter; some points make it 0 trips).
        let long = 17 + self.rng.below(24);
        let mut rolled = self.rolled > 0;
        let (range, bound) = match self.rng.below(8) {
            0 => (format!("(0..{n}).rev()"), n),
            1 => (format!("0..={n}"), n + 1),
            2 => (format!("(0..{}).step_by(2)", 2 * n), 2 * n),
            3 if !self.scope.loop_vars.is_empty() => {
                let (j, b) = self.scope.loop_vars.last().cloned().unwrap();
                (format!("0..{j}"), b)
            }
            5 => {
                rolled = true;
                (format!("0..{long}"), long)
            }
            6 if self.case.ints => {
                rolled = true;
                ("0..(n as usize % 5)".to_string(), 5)
            }
            7 if self.case.ints => {
                rolled = true;
                ("(1..=(n as u8 as usize % 7 + 12)).rev()".to_string(), 19)
            }
            _ => (format!("0..{n}"), n),
        };
        let over_range = !(self.case.x_len.is_some() && self.rng.chance(0.2));
        // A `continue` or `break` first in the body of a loop at most one
        // deep (a loop that can break stays a loop).
        // (`step_by` loops are always written out: no `break` there.)
        let jump = (over_range && loop_depth <= 1 && self.rng.chance(0.3)).then(|| {
            if self.rng.chance(0.5) && !range.contains("step_by") {
                "break"
            } else {
                "continue"
            }
        });
        let rolled = (rolled || jump == Some("break")) && over_range;
        // Iterating over `x`'s elements instead of a range (arrays only).
        let over_x = !over_range;
        let saved = self.scope.clone();
        self.rolled += rolled as usize;
        if over_x {
            let v = self.fresh("v");
            writeln!(out, "{pad}for &{v} in x.iter() {{").unwrap();
            self.scope.floats.push((v, false));
        } else {
            writeln!(out, "{pad}for {i} in {range} {{").unwrap();
            self.scope.loop_vars.push((i, bound));
        }
        if let Some(jump) = jump {
            self.scope.after_jump = true;
            let (a, b) = (self.expr(1), self.expr(1));
            writeln!(out, "{pad}    if {a} > {b} {{").unwrap();
            writeln!(out, "{pad}        {jump};").unwrap();
            writeln!(out, "{pad}    }}").unwrap();
        }
        // The loop carries a value: an outer variable it updates from what
        // the body computes (its own previous value included).
        let outer: Vec<String> = saved
            .floats
            .iter()
            .filter(|(_, m)| *m)
            .map(|(n, _)| n.clone())
            .collect();
        let count = 1 + self.rng.below(3);
        self.statements(count, loop_depth + 1, out, indent + 1);
        if !outer.is_empty() {
            let target = outer[self.rng.below(outer.len())].clone();
            let e = self.expr(2);
            let inner = pad.clone() + "    ";
            match self.rng.below(3) {
                0 => writeln!(out, "{inner}{target} = {target} + {e};").unwrap(),
                1 => writeln!(out, "{inner}{target} = ({target} * {e}).sin();").unwrap(),
                _ => writeln!(
                    out,
                    "{inner}{target} = {target} * {} + {e};",
                    self.mode.lit(0.5)
                )
                .unwrap(),
            }
        }
        let fresh = self.scope.fresh;
        self.scope = saved;
        self.scope.fresh = fresh;
        self.rolled -= rolled as usize;
        writeln!(out, "{pad}}}").unwrap();
    }
}

fn signature(case: &Case, mode: Mode) -> String {
    let ty = mode.ty();
    let x = match case.x_len {
        None => ty.to_string(),
        Some(n) => format!("[{ty}; {n}]"),
    };
    let generics = match (mode.twin, case.elem) {
        (true, _) => "<D: Float>",
        (false, Elem::Generic) => "<F: Float>",
        _ => "",
    };
    let ints = if case.ints {
        ", n: i32, flag: bool"
    } else {
        ""
    };
    let name = if mode.twin {
        format!("{}_twin", case.name)
    } else {
        case.name.clone()
    };
    format!("fn {name}{generics}(x: {x}, c: {ty}{ints}) -> {ty}")
}

fn body(case: &Case, helpers: &[Helper], seed: u64, mode: Mode) -> String {
    let mut g = Gen {
        rng: Rng::new(seed),
        mode,
        case,
        helpers,
        scope: Scope::default(),
        rolled: 0,
        side: Rng::new(seed ^ 0x511C_E5CA_11ED),
    };
    let mut out = String::new();
    let count = 2 + g.rng.below(5);
    g.statements(count, 0, &mut out, 1);
    // The result depends on every local, so nothing is dead.
    let mut terms: Vec<String> = g.scope.floats.iter().map(|(n, _)| n.clone()).collect();
    for (h, len) in &g.scope.arrays {
        terms.push(format!("{h}[{}]", len - 1));
    }
    terms.push(g.expr(3));
    writeln!(out, "    {}", terms.join(" + ")).unwrap();
    out
}

fn helper_text(h: &Helper, seed: u64, twin: bool) -> String {
    let mode = Mode { elem: h.elem, twin };
    let ty = mode.ty();
    let mut rng = Rng::new(seed);
    let names: Vec<String> = (0..h.params.len()).map(|k| format!("p{k}")).collect();
    let params: Vec<String> = names
        .iter()
        .zip(&h.params)
        .map(|(n, p)| match p {
            None => format!("{n}: {ty}"),
            Some(len) => format!("{n}: [{ty}; {len}]"),
        })
        .collect();
    // Terms of the helper's body: products of functions of its inputs.
    let mut atoms = Vec::new();
    for (n, p) in names.iter().zip(&h.params) {
        match p {
            None => atoms.push(n.clone()),
            Some(len) => atoms.extend((0..*len).map(|k| format!("{n}[{k}]"))),
        }
    }
    let mut terms = Vec::new();
    for _ in 0..2 + rng.below(2) {
        let a = atoms[rng.below(atoms.len())].clone();
        let b = atoms[rng.below(atoms.len())].clone();
        let t = match rng.below(5) {
            0 => format!("{a}.sin() * {b}"),
            1 => format!("({a} * {b}).tanh()"),
            2 => format!("{a} * {a} * {}", mode.lit(rng.value(-1.0, 1.0))),
            3 => format!("sigmoid({a} - {b})"),
            _ => format!("({a} * {a} + {}).sqrt()", mode.lit(0.5)),
        };
        terms.push(t);
    }
    let generics = match (twin, h.elem) {
        (true, _) => "<D: Float>",
        (false, Elem::Generic) => "<F: Float>",
        _ => "",
    };
    // The twin is differentiated too: a twin calling it is, for the
    // second-order checks (dual numbers through its generated gradient).
    let (attr, name) = if twin {
        ("#[derive_grad]\n".to_string(), format!("{}_twin", h.name))
    } else {
        ("#[derive_grad]\n".to_string(), h.name.clone())
    };
    format!(
        "{attr}pub fn {name}{generics}({}) -> {ty} {{\n    {}\n}}\n",
        params.join(", "),
        terms.join(" + ")
    )
}

fn point_text(case: &Case, rng: &mut Rng) -> String {
    let x = match case.x_len {
        None => format!("{:?}", rng.coordinate(-1.5, 1.5)),
        Some(n) => {
            let v: Vec<String> = (0..n)
                .map(|_| format!("{:?}", rng.coordinate(-1.5, 1.5)))
                .collect();
            format!("[{}]", v.join(", "))
        }
    };
    let c = format!("{:?}", rng.coordinate(-1.0, 1.0));
    let n = [-300, -129, -1, 0, 3, 200, 300, 70_000][rng.below(8)];
    let flag = rng.chance(0.5);
    format!("Point {{ x: {x}, c: {c}, n: {n}, flag: {flag} }}")
}

fn generate(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::from(
        "// @generated by backprop-difftest/build.rs: do not edit.\n\n\
         const SCALE: f64 = 0.75;\nconst SCALE32: f32 = 0.75;\n\n",
    );
    // The helpers: generic and concrete, scalar and array parameters.
    let mut helpers = Vec::new();
    for k in 0..8 {
        let elem = [Elem::Generic, Elem::F64, Elem::Generic, Elem::F32][k % 4];
        let params = match k % 3 {
            0 => vec![None],
            1 => vec![None, None],
            _ => vec![Some(2), None],
        };
        helpers.push(Helper {
            name: format!("helper_{k}"),
            elem,
            params,
        });
    }
    for h in &helpers {
        let seed = rng.next();
        out.push_str(&helper_text(h, seed, false));
        if h.elem != Elem::Generic {
            out.push_str(&helper_text(h, seed, true));
        }
        out.push('\n');
    }
    out.push_str(SLICE_HELPERS);
    let mut checks = String::new();
    let mut second_checks = String::new();
    let mut passing_slices = 0usize;
    for k in 0..CASES {
        let elem = [Elem::F64, Elem::F64, Elem::Generic, Elem::F32][rng.below(4)];
        let case = Case {
            name: format!("case_{k:03}"),
            elem,
            x_len: if rng.chance(0.25) {
                None
            } else {
                Some(1 + rng.below(4))
            },
            wrt_c: rng.chance(0.2),
            ints: rng.chance(0.3),
        };
        // Helpers of the case's element type, or generic ones.
        let usable: Vec<&Helper> = helpers
            .iter()
            .filter(|h| h.elem == Elem::Generic || h.elem == case.elem)
            .collect();
        let usable: Vec<Helper> = usable
            .iter()
            .map(|h| Helper {
                name: h.name.clone(),
                elem: h.elem,
                params: h.params.clone(),
            })
            .collect();
        let seed = rng.next();
        let user = Mode { elem, twin: false };
        let user_body = body(&case, &usable, seed, user);
        // One differentiated parameter: forward mode and second
        // derivatives too (through the helpers it calls), checked against
        // dual numbers run through a generic generated gradient (the
        // twin's, differentiated for that, calling the helpers' twins).
        let twin_body = body(&case, &usable, seed, Mode { elem, twin: true });
        passing_slices += usize::from(twin_body.contains("slice_"));
        let attr = match case.wrt_c {
            true => "#[derive_grad(wrt(x, c), jvp, hessian)]",
            false => "#[derive_grad(jvp, hessian)]",
        };
        writeln!(
            out,
            "{attr}\n{} {{\n{user_body}}}\n",
            signature(&case, user),
        )
        .unwrap();
        if elem != Elem::Generic {
            let twin = Mode { elem, twin: true };
            writeln!(
                out,
                "{}{} {{\n{twin_body}}}\n",
                match case.wrt_c {
                    true => "#[derive_grad(wrt(x, c))]\n",
                    false => "#[derive_grad]\n",
                },
                signature(&case, twin),
            )
            .unwrap();
        }
        let points: Vec<String> = (0..3).map(|_| point_text(&case, &mut rng)).collect();
        let macro_name = match elem {
            Elem::F64 => "check_f64",
            Elem::F32 => "check_f32",
            Elem::Generic => "check_generic",
        };
        let shape = if case.x_len.is_some() {
            "array"
        } else {
            "scalar"
        };
        let wrt = if case.wrt_c { "wrt_x_c" } else { "wrt_x" };
        let ints = if case.ints { "ints" } else { "floats" };
        let twin_name = if elem == Elem::Generic {
            case.name.clone()
        } else {
            format!("{}_twin", case.name)
        };
        let (dual, tol) = match elem {
            Elem::F32 => ("backprop_difftest::Dual32F", "1e-3"),
            _ => ("backprop_difftest::Dual64F", "1e-6"),
        };
        writeln!(
            second_checks,
            "    (\"{name}\", check_second!({dual}, {tol}, {name}, {name}_jvp, {name}_hvp, {name}_hessian, {name}_grad, {twin_name}, {twin_name}_grad, {wrt}, {ints}, [{}])),",
            points.join(", "),
            name = case.name,
        )
        .unwrap();
        writeln!(
            checks,
            "    (\"{name}\", {macro_name}!({name}, {name}_grad, {name}_grad_acc_with, {}, {shape}, {wrt}, {ints}, [{}])),",
            if elem == Elem::Generic { case.name.clone() } else { format!("{}_twin", case.name) },
            points.join(", "),
            name = case.name,
        )
        .unwrap();
    }
    writeln!(out, "/// Every case: its name and its check.\npub const CASES: &[(&str, fn() -> crate::Checked)] = &[\n{checks}];").unwrap();
    writeln!(out, "/// The cases with `jvp` and `hessian`: their second-order checks.\npub const SECOND: &[(&str, fn() -> crate::Checked)] = &[\n{second_checks}];").unwrap();
    writeln!(out, "/// How many cases call the helpers taking slices.\npub const PASSING_SLICES: usize = {passing_slices};").unwrap();
    out
}

/// The helpers taking slices (generic: the dual twins call them too): a
/// sum over a slice with a scalar, a pair of slices, a recursion through
/// a range of its own slice, and one calling the others with ranges.
const SLICE_HELPERS: &str = "\
#[derive_grad]
pub fn slice_sum<F: Float>(p: &[F], q: F) -> F {
    let mut s = q;
    for i in 0..p.len() {
        s = s + (p[i] * q).tanh() * p[i] + sigmoid(p[i] - q) * F::from(0.25).unwrap();
    }
    s
}

#[derive_grad]
pub fn slice_pair<F: Float>(p: &[F], r: &[F]) -> F {
    let mut s = F::from(0.5).unwrap();
    for i in 0..p.len().min(r.len()) {
        s = s + p[i].sin() * r[i];
    }
    for i in 0..r.len() {
        s = s * F::from(0.75).unwrap() + r[i] * r[i];
    }
    s
}

#[derive_grad]
pub fn slice_rec<F: Float>(p: &[F], k: usize) -> F {
    if k == 0 {
        return p[0].sin();
    }
    (p[k] * slice_rec(&p[..k], k - 1)).tanh() + p[k]
}

#[derive_grad]
pub fn slice_nested<F: Float>(p: &[F], q: F) -> F {
    let mut s = slice_sum(p, q);
    for i in 0..p.len() {
        s = s + slice_pair(&p[i..], &p[..i]) * F::from(0.125).unwrap();
    }
    s
}

";

/// Valid code of sizes that once made rustc overflow its stack only because
/// of the generated code (issue 8): a 2,000-term sum, 500 nested blocks and
/// a 1,000-method chain, each with its generic twin for dual numbers; and
/// explanations that took exponential (300 nested `abs`) or cubic (a
/// 400-step unrolled loop) time.
fn sizes() -> String {
    let terms: Vec<String> = (0..2000).map(|k| format!("x * {k}.5")).collect();
    let sum = terms.join(" + ");
    let twin_terms: Vec<String> = (0..2000)
        .map(|k| format!("x * D::from({k}.5).unwrap()"))
        .collect();
    let chain = ".sin()".repeat(1000);
    format!(
        "#[derive_grad]\npub fn sum_2000(x: f64) -> f64 {{ {sum} }}\n\
         pub fn sum_2000_twin<D: Float>(x: D) -> D {{ {} }}\n\
         #[derive_grad]\npub fn blocks_500(x: f64) -> f64 {{ {}x * 2.0{} }}\n\
         #[derive_grad]\npub fn chain_1000(x: f64) -> f64 {{ x{chain} }}\n\
         pub fn chain_1000_twin<D: Float>(x: D) -> D {{ x{chain} }}\n\
         #[derive_grad(explain)]\npub fn abs_chain_300(x: f64) -> f64 {{ x{} }}\n\
         #[derive_grad(explain)]\npub fn explained_loop_400(x: f64) -> f64 {{ \
         let mut s = x; for i in 0..400 {{ s = s * 0.5 + x * (i as f64); }} s }}\n",
        twin_terms.join(" + "),
        "{ ".repeat(500),
        " }".repeat(500),
        ".abs()".repeat(300),
    )
}
