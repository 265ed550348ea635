//! Mutations of the corpus functions, on the syntax tree (expressions,
//! statements, the signature, the attribute) and on raw tokens.

// `*rng.pick(&strs)` is needed: without the `*`, `pick`'s element type is
// inferred as `str` from the callee's `&str` parameter (clippy's suggestion
// does not compile).
#![allow(clippy::explicit_auto_deref)]

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Block, Expr, Stmt};

use crate::corpus::Seed;
use crate::rng::Rng;

/// A mutated input: attribute arguments and function tokens.
pub struct Mutant {
    /// Tokens inside `#[derive_grad(…)]`.
    pub attr: TokenStream,
    /// The function.
    pub item: TokenStream,
    /// What was done, for the report.
    pub what: Vec<&'static str>,
}

/// Applies one to four mutations to a corpus function.
pub fn mutate(seed: &Seed, rng: &mut Rng) -> Mutant {
    let mut func = seed.func.clone();
    let mut attr: TokenStream = seed.attr.parse().unwrap_or_default();
    let mut what = Vec::new();
    let n = rng.range(1, 4);
    let mut token_level = false;
    for _ in 0..n {
        match rng.below(20) {
            0..=2 => {
                what.push("extreme literal");
                extreme_literal(&mut func, rng);
            }
            3 | 4 => {
                what.push("copy subexpression");
                copy_subexpression(&mut func, rng);
            }
            5 => {
                what.push("deep nesting");
                wrap_deep(&mut func, rng);
            }
            6 => {
                what.push("binary operator");
                change_binop(&mut func, rng);
            }
            7 => {
                what.push("method name");
                change_method(&mut func, rng);
            }
            8 => {
                what.push("foreign expression");
                foreign_expr(&mut func, rng);
            }
            9 | 10 => {
                what.push("statements");
                statements(&mut func, rng);
            }
            11 => {
                what.push("signature");
                signature(&mut func, rng);
            }
            12 => {
                what.push("attribute");
                attr = attribute(&func, rng);
            }
            13 => {
                what.push("loop bounds");
                loop_bounds(&mut func, rng);
            }
            _ => token_level = true,
        }
    }
    let mut item = func.to_token_stream();
    if token_level || what.is_empty() {
        let k = rng.range(1, 3);
        for _ in 0..k {
            item = mutate_tokens(item, rng);
        }
        what.extend(std::iter::repeat("tokens").take(k));
        if rng.chance(0.1) {
            what.push("attribute tokens");
            attr = mutate_tokens(attr, rng);
        }
    }
    Mutant { attr, item, what }
}

// ------------------------------------------------------- expression walk

/// Calls `f` on every expression of the function body, outermost first.
fn each_expr(func: &mut syn::ItemFn, f: &mut dyn FnMut(&mut Expr)) {
    walk_block(&mut func.block, f);
}

fn walk_block(b: &mut Block, f: &mut dyn FnMut(&mut Expr)) {
    for s in &mut b.stmts {
        walk_stmt(s, f);
    }
}

fn walk_stmt(s: &mut Stmt, f: &mut dyn FnMut(&mut Expr)) {
    match s {
        Stmt::Local(l) => {
            if let Some(init) = &mut l.init {
                walk_expr(&mut init.expr, f);
                if let Some((_, e)) = &mut init.diverge {
                    walk_expr(e, f);
                }
            }
        }
        Stmt::Expr(e, _) => walk_expr(e, f),
        Stmt::Item(_) | Stmt::Macro(_) => {}
    }
}

fn walk_expr(e: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
    f(e);
    match e {
        Expr::Array(a) => a.elems.iter_mut().for_each(|e| walk_expr(e, f)),
        Expr::Assign(a) => {
            walk_expr(&mut a.left, f);
            walk_expr(&mut a.right, f);
        }
        Expr::Binary(b) => {
            walk_expr(&mut b.left, f);
            walk_expr(&mut b.right, f);
        }
        Expr::Block(b) => walk_block(&mut b.block, f),
        Expr::Call(c) => {
            walk_expr(&mut c.func, f);
            c.args.iter_mut().for_each(|e| walk_expr(e, f));
        }
        Expr::Cast(c) => walk_expr(&mut c.expr, f),
        Expr::Field(x) => walk_expr(&mut x.base, f),
        Expr::ForLoop(l) => {
            walk_expr(&mut l.expr, f);
            walk_block(&mut l.body, f);
        }
        Expr::Group(g) => walk_expr(&mut g.expr, f),
        Expr::If(i) => {
            walk_expr(&mut i.cond, f);
            walk_block(&mut i.then_branch, f);
            if let Some((_, e)) = &mut i.else_branch {
                walk_expr(e, f);
            }
        }
        Expr::Index(i) => {
            walk_expr(&mut i.expr, f);
            walk_expr(&mut i.index, f);
        }
        Expr::Let(l) => walk_expr(&mut l.expr, f),
        Expr::Loop(l) => walk_block(&mut l.body, f),
        Expr::Match(m) => {
            walk_expr(&mut m.expr, f);
            m.arms.iter_mut().for_each(|a| walk_expr(&mut a.body, f));
        }
        Expr::MethodCall(m) => {
            walk_expr(&mut m.receiver, f);
            m.args.iter_mut().for_each(|e| walk_expr(e, f));
        }
        Expr::Paren(p) => walk_expr(&mut p.expr, f),
        Expr::Range(r) => {
            if let Some(s) = &mut r.start {
                walk_expr(s, f);
            }
            if let Some(e) = &mut r.end {
                walk_expr(e, f);
            }
        }
        Expr::Reference(r) => walk_expr(&mut r.expr, f),
        Expr::Repeat(r) => {
            walk_expr(&mut r.expr, f);
            walk_expr(&mut r.len, f);
        }
        Expr::Return(r) => {
            if let Some(e) = &mut r.expr {
                walk_expr(e, f);
            }
        }
        Expr::Break(b) => {
            if let Some(e) = &mut b.expr {
                walk_expr(e, f);
            }
        }
        Expr::Try(t) => walk_expr(&mut t.expr, f),
        Expr::Tuple(t) => t.elems.iter_mut().for_each(|e| walk_expr(e, f)),
        Expr::Unary(u) => walk_expr(&mut u.expr, f),
        Expr::Unsafe(u) => walk_block(&mut u.block, f),
        Expr::While(w) => {
            walk_expr(&mut w.cond, f);
            walk_block(&mut w.body, f);
        }
        Expr::Closure(c) => walk_expr(&mut c.body, f),
        Expr::Struct(s) => s.fields.iter_mut().for_each(|x| walk_expr(&mut x.expr, f)),
        _ => {}
    }
}

/// The number of expressions matching `pred`.
fn count(func: &mut syn::ItemFn, pred: &dyn Fn(&Expr) -> bool) -> usize {
    let mut n = 0;
    each_expr(func, &mut |e| {
        if pred(e) {
            n += 1;
        }
    });
    n
}

/// Applies `f` to one random expression matching `pred`, if there is one.
fn at_random(
    func: &mut syn::ItemFn,
    rng: &mut Rng,
    pred: &dyn Fn(&Expr) -> bool,
    f: &mut dyn FnMut(&mut Expr),
) {
    let n = count(func, pred);
    if n == 0 {
        return;
    }
    let target = rng.below(n);
    let mut k = 0;
    let mut done = false;
    each_expr(func, &mut |e| {
        if !done && pred(e) {
            if k == target {
                f(e);
                done = true;
            }
            k += 1;
        }
    });
}

fn parse_expr(src: &str) -> Expr {
    syn::parse_str(src).unwrap_or_else(|_| syn::parse_quote!(0.0))
}

// ------------------------------------------------------------- mutations

/// Extreme values for a literal (some of them paths or expressions).
const EXTREMES: &[&str] = &[
    "0",
    "0.0",
    "-0.0",
    "1e308",
    "-1e308",
    "1e-308",
    "5e-324",
    "1.7976931348623157e308",
    "0.0 / 0.0",
    "f64::NAN",
    "f64::INFINITY",
    "-f64::INFINITY",
    "i32::MIN",
    "i32::MAX",
    "u64::MAX",
    "i64::MIN",
    "usize::MAX",
    "2147483648",
    "-2147483648",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "340282366920938463463374607431768211455",
    "1e39f32",
    "3.4028235e38",
    "1e-46f32",
    "0.1f32",
    "0.1f64",
    "1u8",
    "255u8",
    "-1",
    "1000000",
    "0x7fffffff",
    "0b1",
    "b'a'",
    "'a'",
    "\"s\"",
    "true",
    "1e400",
];

fn extreme_literal(func: &mut syn::ItemFn, rng: &mut Rng) {
    let new = parse_expr(*rng.pick(EXTREMES));
    let any = rng.chance(0.2);
    at_random(func, rng, &|e| any || matches!(e, Expr::Lit(_)), &mut |e| {
        *e = new.clone()
    });
}

fn copy_subexpression(func: &mut syn::ItemFn, rng: &mut Rng) {
    let n = count(func, &|_| true);
    if n == 0 {
        return;
    }
    let src = rng.below(n);
    let mut k = 0;
    let mut copy = None;
    each_expr(func, &mut |e| {
        if k == src {
            copy = Some(e.clone());
        }
        k += 1;
    });
    let Some(copy) = copy else { return };
    let swap = rng.chance(0.5);
    let dst = rng.below(n);
    let mut k = 0;
    let mut displaced = None;
    each_expr(func, &mut |e| {
        if k == dst && displaced.is_none() {
            displaced = Some(std::mem::replace(e, copy.clone()));
        }
        k += 1;
    });
    // A swap puts the displaced expression where the copy came from (if
    // that place still exists after the replacement).
    if swap {
        if let Some(d) = displaced {
            let mut k = 0;
            let mut done = false;
            each_expr(func, &mut |e| {
                if k == src && !done {
                    *e = d.clone();
                    done = true;
                }
                k += 1;
            });
        }
    }
}

fn wrap_deep(func: &mut syn::ItemFn, rng: &mut Rng) {
    let depth = rng.log_size(2, 300);
    let kind = rng.below(8);
    at_random(func, rng, &|_| true, &mut |e| {
        let inner = e.to_token_stream().to_string();
        let text = match kind {
            0 => format!("{}{inner}{}", "(".repeat(depth), ")".repeat(depth)),
            1 => format!("{}{inner}{}", "{ ".repeat(depth), " }".repeat(depth)),
            2 => format!("{}({inner})", "-".repeat(depth)),
            3 => format!("({inner}){}", ".abs()".repeat(depth)),
            4 => format!("({inner}){}", ".sin()".repeat(depth)),
            5 => {
                let mut s = inner.clone();
                for _ in 0..depth.min(100) {
                    s = format!("if 1.0 < 2.0 {{ {s} }} else {{ {inner} }}");
                }
                s
            }
            6 => format!("({inner}){}", " + 0.5".repeat(depth)),
            _ => format!("{}{inner}{}", "[".repeat(depth), "][0]".repeat(depth)),
        };
        *e = parse_expr(&text);
    });
}

fn change_binop(func: &mut syn::ItemFn, rng: &mut Rng) {
    let ops = [
        "+", "-", "*", "/", "%", "&&", "||", "^", "&", "|", "<<", ">>", "==", "<", "<=", "!=",
        ">=", ">", "+=", "-=", "*=", "/=", "%=", "^=", "&=", "|=", "<<=", ">>=",
    ];
    let op: syn::BinOp = syn::parse_str(*rng.pick(&ops)).expect("an operator");
    at_random(func, rng, &|e| matches!(e, Expr::Binary(_)), &mut |e| {
        if let Expr::Binary(b) = e {
            b.op = op;
        }
    });
}

fn change_method(func: &mut syn::ItemFn, rng: &mut Rng) {
    let names = [
        "exp",
        "ln",
        "sqrt",
        "powi",
        "powf",
        "max",
        "min",
        "clamp",
        "mul_add",
        "hypot",
        "atan2",
        "abs",
        "signum",
        "tanh",
        "sum",
        "product",
        "iter",
        "len",
        "rev",
        "enumerate",
        "zip",
        "step_by",
        "unwrap",
        "expect",
        "foo",
        "sin_cos",
        "log",
        "copied",
        "cloned",
        "into_iter",
        "to_degrees",
        "fract",
        "recip",
    ];
    let name = Ident::new(*rng.pick(&names), Span::call_site());
    let drop_arg = rng.chance(0.3);
    let add_arg = rng.chance(0.3);
    at_random(func, rng, &|e| matches!(e, Expr::MethodCall(_)), &mut |e| {
        if let Expr::MethodCall(m) = e {
            m.method = name.clone();
            if drop_arg {
                m.args.pop();
            }
            if add_arg {
                m.args.push(syn::parse_quote!(2));
            }
        }
    });
}

const FOREIGN: &[&str] = &[
    "x as u8 as f64",
    "0.1f32 as f64",
    "n as u8 as f64",
    "std::f64::consts::PI",
    "consts::PI",
    "f64::consts::E",
    "F::from(0.1).unwrap()",
    "match x { _ => 1.0 }",
    "(|a: f64| a)(1.0)",
    "loop { break 1.0; }",
    "[1.0; 1000000000][0]",
    "[0.0; 0].iter().sum::<f64>()",
    "w[n]",
    "w[100]",
    "x.powi(i32::MIN)",
    "x.powf(0.0)",
    "0.0f64.powf(x)",
    "x.max(f64::NAN)",
    "f64::NAN.min(x)",
    "x.clamp(f64::NAN, 1.0)",
    "helper::<f64>(x)",
    "helper([[x, x], [x]])",
    "helper(&w, w)",
    "println!(\"{}\", x)",
    "(x, x).0",
    "x?",
    "()",
    "{}",
    "S { a: 1.0 }",
    "0..3",
    "if x > 0.0 { 1 } else { 2 }",
    "if true { x }",
    "unsafe { x }",
    "x.iter().sum::<f64>()",
    "F::epsilon()",
    "F::nan()",
    "f64::EPSILON",
    "SCALE as f64",
    "(1 << 62) as f64",
    "x = 1.0",
    "x += 1.0",
    "return 1.0",
    "&mut x",
    "*x",
    "-(-x)",
    "!x",
    "x % 2.0",
    "1 / 0",
    "i64::MAX + 1",
];

fn foreign_expr(func: &mut syn::ItemFn, rng: &mut Rng) {
    let new = parse_expr(*rng.pick(FOREIGN));
    at_random(func, rng, &|_| true, &mut |e| *e = new.clone());
}

const FOREIGN_STMTS: &[&str] = &[
    "let (a, b) = (1.0, 2.0);",
    "let _ = 1.0;",
    "let ref r = 1.0;",
    "let y: f64;",
    "let mut acc = 0.0; for i in 0..3 { acc += acc; }",
    "while false {}",
    "loop { break; }",
    "'a: for i in 0..3 { for j in 0..3 { continue 'a; } }",
    "for i in 0..1000000000 {}",
    "for i in 0..2000 { for j in 0..2000 { } }",
    "println!(\"x\");",
    "assert!(true);",
    "fn item() {}",
    "const K: f64 = 1.0;",
    "use std::f64::consts;",
    "return 1.0;",
    "break;",
    "x = 1.0;",
    "w[0] = 1.0;",
    "let x = x;",
    "let mut h = [0.0; 3]; h[5] = 1.0;",
    "let mut h = [[0.0; 2]; 2]; h[1] = [1.0, 2.0];",
    "if let Some(v) = None::<f64> {}",
    "match 1 { _ => {} }",
    ";",
    "{}",
];

fn statements(func: &mut syn::ItemFn, rng: &mut Rng) {
    // A block of the body: the function's or a nested one.
    let mut blocks = 0;
    each_block(func, &mut |_| blocks += 1);
    let target = rng.below(blocks.max(1));
    let op = rng.below(5);
    let foreign: Option<Vec<Stmt>> =
        syn::parse_str::<Block>(&format!("{{ {} }}", rng.pick(FOREIGN_STMTS)))
            .ok()
            .map(|b| b.stmts);
    let r1 = rng.next_u64() as usize;
    let r2 = rng.next_u64() as usize;
    let mut k = 0;
    each_block(func, &mut |b| {
        if k == target {
            let n = b.stmts.len();
            match op {
                0 if n > 0 => {
                    b.stmts.remove(r1 % n);
                }
                1 if n > 0 => {
                    let s = b.stmts[r1 % n].clone();
                    b.stmts.insert(r2 % (n + 1), s);
                }
                2 if n > 1 => b.stmts.swap(r1 % n, r2 % n),
                3 if n > 0 => {
                    // the tail expression gets (or loses) its semicolon
                    if let Some(Stmt::Expr(_, semi)) = b.stmts.last_mut() {
                        *semi = match semi {
                            Some(_) => None,
                            None => Some(Default::default()),
                        };
                    }
                }
                _ => {
                    if let Some(stmts) = &foreign {
                        let at = r1 % (n + 1);
                        for (j, s) in stmts.iter().enumerate() {
                            b.stmts.insert(at + j, s.clone());
                        }
                    }
                }
            }
        }
        k += 1;
    });
}

/// Every block of the body (the body itself first, then nested ones,
/// outermost first).
fn each_block(func: &mut syn::ItemFn, f: &mut dyn FnMut(&mut Block)) {
    f(&mut func.block);
    each_expr(func, &mut |e| match e {
        Expr::Block(x) => f(&mut x.block),
        Expr::ForLoop(x) => f(&mut x.body),
        Expr::If(x) => f(&mut x.then_branch),
        Expr::Loop(x) => f(&mut x.body),
        Expr::While(x) => f(&mut x.body),
        Expr::Unsafe(x) => f(&mut x.block),
        _ => {}
    });
}

fn signature(func: &mut syn::ItemFn, rng: &mut Rng) {
    let sig = &mut func.sig;
    match rng.below(9) {
        0 | 1 => {
            // an array length
            let lens = [
                "0",
                "1",
                "2",
                "1000000",
                "1000000000",
                "18446744073709551615",
                "N",
                "2 + 1",
                "usize::MAX",
            ];
            let len = rng.pick(&lens).to_string();
            let n = sig.inputs.len();
            if n == 0 {
                return;
            }
            if let Some(syn::FnArg::Typed(pt)) = sig.inputs.iter_mut().nth(rng.below(n)) {
                let t = pt.ty.to_token_stream().to_string();
                let new = if let Some(pos) = t.rfind("; ") {
                    let end = t[pos..].find(']').map(|e| pos + e).unwrap_or(t.len());
                    format!("{}; {len}{}", &t[..pos], &t[end..])
                } else {
                    format!("[{t}; {len}]")
                };
                if let Ok(ty) = syn::parse_str(&new) {
                    *pt.ty = ty;
                }
            }
        }
        2 => {
            // a reference added or a type replaced
            let n = sig.inputs.len();
            if n == 0 {
                return;
            }
            let which = rng.below(n);
            let wrap = *rng.pick(&[
                "&",
                "&&",
                "&mut ",
                "& &",
                "[T; 2] as",
                "Vec<",
                "(",
                "*const ",
            ]);
            if let Some(syn::FnArg::Typed(pt)) = sig.inputs.iter_mut().nth(which) {
                let t = pt.ty.to_token_stream().to_string();
                let new = match wrap {
                    "Vec<" => format!("Vec<{t}>"),
                    "(" => format!("({t}, {t})"),
                    "[T; 2] as" => format!("[{t}; 2]"),
                    w => format!("{w}{t}"),
                };
                if let Ok(ty) = syn::parse_str(&new) {
                    *pt.ty = ty;
                }
            }
        }
        3 => {
            // the element type swapped everywhere in the signature
            let text = sig.to_token_stream().to_string();
            let (a, b) = *rng.pick(&[
                ("f64", "f32"),
                ("f32", "f64"),
                ("f64", "F"),
                ("F", "f64"),
                ("f64", "i32"),
                ("f64", "bool"),
            ]);
            if let Ok(s) = syn::parse_str(&text.replace(a, b)) {
                *sig = s;
            }
        }
        4 => {
            // a parameter removed or duplicated
            let mut params: Vec<syn::FnArg> = sig.inputs.iter().cloned().collect();
            if params.is_empty() {
                return;
            }
            let i = rng.below(params.len());
            if rng.chance(0.5) {
                params.remove(i);
            } else {
                let p = params[i].clone();
                params.push(p);
            }
            sig.inputs = params.into_iter().collect();
        }
        5 => {
            let g = *rng.pick(&[
                "<F: Float>",
                "<const N: usize>",
                "<T>",
                "<'a>",
                "<F: Float, const N: usize>",
                "",
            ]);
            sig.generics = syn::parse_str(g).unwrap_or_default();
        }
        6 => {
            let r = *rng.pick(&[
                "",
                "-> f64",
                "-> f32",
                "-> F",
                "-> (f64, f64)",
                "-> [f64; 2]",
                "-> i32",
                "-> !",
            ]);
            sig.output = syn::parse_str(r).unwrap_or(syn::ReturnType::Default);
        }
        7 => {
            let q = rng.below(4);
            match q {
                0 => sig.constness = Some(Default::default()),
                1 => sig.asyncness = Some(Default::default()),
                2 => sig.unsafety = Some(Default::default()),
                _ => sig.inputs.insert(0, syn::parse_quote!(&self)),
            }
        }
        _ => {
            // a parameter becomes a pattern
            let n = sig.inputs.len();
            if n == 0 {
                return;
            }
            let pat = *rng.pick(&["_", "mut q", "ref q", "(a, b)", "q @ _", "&q"]);
            if let Some(syn::FnArg::Typed(pt)) = sig.inputs.iter_mut().nth(rng.below(n)) {
                if let Ok(p) = syn::parse::Parser::parse_str(syn::Pat::parse_single, pat) {
                    *pt.pat = p;
                }
            }
        }
    }
}

fn attribute(func: &syn::ItemFn, rng: &mut Rng) -> TokenStream {
    let names: Vec<String> = func
        .sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            syn::FnArg::Typed(pt) => Some(pt.pat.to_token_stream().to_string()),
            _ => None,
        })
        .collect();
    let mut parts = Vec::new();
    if !names.is_empty() && rng.chance(0.7) {
        let k = rng.range(1, names.len().min(4));
        let chosen: Vec<&str> = (0..k).map(|_| rng.pick(&names).as_str()).collect();
        parts.push(format!("wrt({})", chosen.join(", ")));
    }
    if rng.chance(0.4) {
        parts.push("explain".into());
    }
    if rng.chance(0.2) {
        parts.push(
            (*rng.pick(&["wrt()", "junk", "wrt(zz)", "explain = 1", "wrt(x) wrt(y)"])).into(),
        );
    }
    parts.join(", ").parse().unwrap_or_default()
}

fn loop_bounds(func: &mut syn::ItemFn, rng: &mut Rng) {
    let bounds = [
        "0",
        "1",
        "10",
        "100",
        "1000",
        "100000",
        "1000000000",
        "18446744073709551615",
        "n",
        "N",
        "-1",
        "x",
    ];
    let b = parse_expr(*rng.pick(&bounds));
    let start = rng.chance(0.3);
    at_random(func, rng, &|e| matches!(e, Expr::Range(_)), &mut |e| {
        if let Expr::Range(r) = e {
            if start {
                r.start = Some(Box::new(b.clone()));
            } else {
                r.end = Some(Box::new(b.clone()));
            }
        }
    });
}

// ---------------------------------------------------------------- tokens

/// Total number of token trees, counting into groups.
fn token_count(ts: &TokenStream) -> usize {
    ts.clone()
        .into_iter()
        .map(|t| match &t {
            TokenTree::Group(g) => 1 + token_count(&g.stream()),
            _ => 1,
        })
        .sum()
}

/// Applies `f` to the list that holds token number `target` (pre-order),
/// with its index in that list.
fn at_token(
    ts: TokenStream,
    target: &mut isize,
    f: &mut dyn FnMut(&mut Vec<TokenTree>, usize),
) -> TokenStream {
    let mut list: Vec<TokenTree> = ts.into_iter().collect();
    let mut i = 0;
    while i < list.len() {
        if *target == 0 {
            *target = -1;
            f(&mut list, i);
            return list.into_iter().collect();
        }
        *target -= 1;
        if let TokenTree::Group(g) = &list[i] {
            let inner = at_token(g.stream(), target, f);
            let mut ng = Group::new(g.delimiter(), inner);
            ng.set_span(g.span());
            list[i] = TokenTree::Group(ng);
            if *target < 0 {
                return list.into_iter().collect();
            }
        }
        i += 1;
    }
    list.into_iter().collect()
}

fn random_token(rng: &mut Rng, idents: &[String]) -> Vec<TokenTree> {
    let kw = [
        "let", "mut", "for", "in", "if", "else", "return", "fn", "as", "loop", "match", "while",
        "break", "continue", "move", "ref", "self", "Self", "crate", "super", "where", "impl",
        "dyn", "async", "await", "unsafe", "const", "static", "true", "false", "f64", "f32", "F",
        "usize", "i32", "Float", "sigmoid", "relu", "powi", "iter", "sum", "exp", "unwrap",
    ];
    let puncts = [
        "+", "-", "*", "/", "%", "=", "==", "!=", "<", ">", "<=", ">=", "&&", "||", "!", "&", "|",
        "^", "<<", ">>", "+=", "-=", "*=", "/=", ".", "..", "..=", ",", ";", ":", "::", "->", "=>",
        "#", "?", "@", "$", "~", "'",
    ];
    match rng.below(6) {
        0 | 1 if !idents.is_empty() => {
            // The fixtures' identifiers, raw ones (`r#loop`) included.
            let name = rng.pick(idents).as_str();
            let ident = match name.strip_prefix("r#") {
                Some(raw) => Ident::new_raw(raw, Span::call_site()),
                None => Ident::new(name, Span::call_site()),
            };
            vec![TokenTree::Ident(ident)]
        }
        2 => vec![TokenTree::Ident(Ident::new(
            *rng.pick(&kw),
            Span::call_site(),
        ))],
        3 => {
            let p = *rng.pick(&puncts);
            let n = p.chars().count();
            p.chars()
                .enumerate()
                .map(|(i, c)| {
                    let spacing = if i + 1 < n {
                        Spacing::Joint
                    } else {
                        Spacing::Alone
                    };
                    TokenTree::Punct(Punct::new(c, spacing))
                })
                .collect()
        }
        4 => {
            let lit = *rng.pick(EXTREMES);
            lit.parse::<TokenStream>()
                .map(|t| t.into_iter().collect())
                .unwrap_or_else(|_| vec![TokenTree::Literal(Literal::i32_unsuffixed(0))])
        }
        _ => {
            let d = *rng.pick(&[Delimiter::Parenthesis, Delimiter::Bracket, Delimiter::Brace]);
            vec![TokenTree::Group(Group::new(d, TokenStream::new()))]
        }
    }
}

/// One random token-level edit: delete, duplicate, replace, swap, insert,
/// wrap in a group, or unwrap a group.
pub fn mutate_tokens(ts: TokenStream, rng: &mut Rng) -> TokenStream {
    let n = token_count(&ts);
    let idents: Vec<String> = collect_idents(&ts);
    if n == 0 {
        return random_token(rng, &idents).into_iter().collect();
    }
    let mut target = rng.below(n) as isize;
    let op = rng.below(8);
    let r = rng.next_u64() as usize;
    let mut sub = rng.clone();
    rng.next_u64();
    at_token(ts, &mut target, &mut |list, i| match op {
        0 => {
            list.remove(i);
        }
        1 => {
            let t = list[i].clone();
            list.insert(i, t);
        }
        2 => {
            let new = random_token(&mut sub, &idents);
            list.splice(i..=i, new);
        }
        3 => {
            let j = r % list.len();
            list.swap(i, j);
        }
        4 => {
            let new = random_token(&mut sub, &idents);
            list.splice(i..i, new);
        }
        5 => {
            let end = (i + 1 + r % 3).min(list.len());
            let inner: TokenStream = list.drain(i..end).collect();
            let d = *sub.pick(&[Delimiter::Parenthesis, Delimiter::Bracket, Delimiter::Brace]);
            list.insert(i, TokenTree::Group(Group::new(d, inner)));
        }
        6 => {
            if let TokenTree::Group(g) = &list[i] {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                list.splice(i..=i, inner);
            } else {
                list.remove(i);
            }
        }
        _ => {
            if let TokenTree::Literal(_) = &list[i] {
                let lit = *sub.pick(EXTREMES);
                if let Ok(t) = lit.parse::<TokenStream>() {
                    list.splice(i..=i, t);
                }
            } else {
                let new = random_token(&mut sub, &idents);
                list.splice(i..=i, new);
            }
        }
    })
}

fn collect_idents(ts: &TokenStream) -> Vec<String> {
    let mut out = Vec::new();
    for t in ts.clone() {
        match t {
            TokenTree::Ident(i) => {
                let s = i.to_string();
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            TokenTree::Group(g) => {
                for s in collect_idents(&g.stream()) {
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
            }
            _ => {}
        }
    }
    out
}
