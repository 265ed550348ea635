//! Emission: the graph's nodes needed for the value and the gradient become
//! straight-line Rust, one `let` per operation in arena order (so every
//! shared subexpression is computed once), with the user's names kept.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, ToTokens};

use crate::graph::{Graph, Id, Op};
use crate::ops::{Spelling, PRIMITIVES};
use crate::signature::{ElemTy, ParamInfo};

/// What to return besides the value.
pub struct Outputs<'a> {
    /// The loss node.
    pub value: Id,
    /// Per returned gradient: the parameter and its element nodes.
    pub grads: Vec<(&'a ParamInfo, Vec<Id>)>,
    /// Return a 1-tuple even for a single gradient (the `_vjp` convention).
    pub always_tuple: bool,
}

/// One `let` per live operation, in arena order: the statements, and the
/// expression (a name, literal or parameter read) of every emitted node.
pub fn straight_line(
    g: &Graph,
    elem: &ElemTy,
    params: &[ParamInfo],
    roots: &[Id],
    value: Id,
    adjoint_names: &[(Id, AdjointName)],
    user: &UserNames,
) -> (Vec<TokenStream>, Vec<Option<TokenStream>>) {
    let out_value = value;
    let live = live_nodes(g, roots);
    let mut names = Names::new(params, user);
    let mut expr: Vec<Option<TokenStream>> = vec![None; g.len()];
    let mut stmts = Vec::new();
    let preferred: Vec<Option<String>> = g.names.clone();
    let mut adjoint_of: Vec<Option<&AdjointName>> = vec![None; g.len()];
    for (id, name) in adjoint_names {
        adjoint_of[id.index()].get_or_insert(name);
    }
    let mut emitted_name: Vec<Option<String>> = vec![None; g.len()];
    let mut const_count = 0usize;
    let mut call_grads: Vec<Option<Ident>> = vec![None; g.len()];
    for i in 0..g.len() {
        if !live[i] {
            continue;
        }
        let id = Id(i as u32);
        let node = g.get(id);
        let a: Vec<TokenStream> = node
            .args
            .iter()
            .map(|x| expr[x.index()].clone().expect("argument emitted first"))
            .collect();
        let inline = match node.op {
            Op::Const(bits) => {
                let v = f64::from_bits(bits);
                match elem {
                    ElemTy::Generic(ty) => {
                        let name = local(&names.constant(&mut const_count));
                        let lit = literal(v, &ElemTy::F64);
                        stmts.push((
                            vec![name.clone()],
                            quote!(::backprop::__private::constant::<#ty>(#lit)),
                        ));
                        Some(quote!(#name))
                    }
                    _ => Some(literal(v, elem)),
                }
            }
            Op::Param { param, index } => Some(param_expr(&params[param as usize], index as usize)),
            Op::RtInt(k) => {
                let tokens = &g.rt_ints[k as usize];
                Some(quote!(#tokens))
            }
            Op::IntConst(v) if v < 0 => {
                let lit = Literal::i64_unsuffixed(-v);
                Some(quote!((-#lit)))
            }
            Op::IntConst(v) => Some(Literal::i64_unsuffixed(v).into_token_stream()),
            Op::IntToFloat => {
                let x = &a[0];
                Some(match elem {
                    ElemTy::F64 => quote!((#x as f64)),
                    ElemTy::F32 => quote!((#x as f32)),
                    ElemTy::Generic(ty) => quote!(::backprop::__private::cast::<#ty, _>(#x)),
                })
            }
            Op::ToInt(k) => {
                let x = &a[0];
                let ty = format_ident!("{}", crate::graph::INT_TYPE_NAMES[k as usize]);
                Some(quote!((#x as #ty)))
            }
            Op::BoolParam(p) => {
                let name = &params[p as usize].name;
                Some(quote!(#name))
            }
            Op::BoolConst(b) => Some(quote!(#b)),
            Op::Extern(k) => {
                let t = &g.externs[k as usize];
                Some(quote!((#t)))
            }
            _ => None,
        };
        if let Some(e) = inline {
            expr[i] = Some(e);
            continue;
        }
        let rhs = match node.op {
            Op::Add => binop(&a, quote!(+)),
            Op::Sub => binop(&a, quote!(-)),
            Op::Mul => binop(&a, quote!(*)),
            Op::Div => binop(&a, quote!(/)),
            Op::Neg => {
                let x = &a[0];
                quote!(-#x)
            }
            Op::Fun(f) => call_fun(
                PRIMITIVES[f as usize].name,
                PRIMITIVES[f as usize].spelling,
                &a,
            ),
            Op::Powi(n) => {
                let x = &a[0];
                quote!(#x.powi(#n))
            }
            Op::Cmp(c) | Op::IntCmp(c) => {
                let op: TokenStream = c.symbol().parse().unwrap();
                binop(&a, op)
            }
            Op::IntAdd => binop(&a, quote!(+)),
            Op::IntSub => binop(&a, quote!(-)),
            Op::IntMul => binop(&a, quote!(*)),
            Op::IntDiv => binop(&a, quote!(/)),
            Op::IntRem => binop(&a, quote!(%)),
            Op::And => binop(&a, quote!(&&)),
            Op::Or => binop(&a, quote!(||)),
            Op::Not => {
                let x = &a[0];
                quote!(!#x)
            }
            Op::Select => {
                let (c, t, e) = (&a[0], &a[1], &a[2]);
                quote!(if #c { #t } else { #e })
            }
            Op::Call(k) => {
                let info = &g.calls[k as usize];
                let path = &info.vjp_path;
                let mut rest = a.iter();
                let args = info.args.iter().map(|(shape, by_ref)| {
                    let n: usize = shape.iter().product();
                    let flat: Vec<TokenStream> = rest.by_ref().take(n).cloned().collect();
                    let v = nest(&flat, shape);
                    if *by_ref {
                        quote!(&#v)
                    } else {
                        v
                    }
                });
                let base = names.fresh(preferred[i].as_deref().unwrap_or(&info.callee));
                let value = local(&base);
                let grad = local(&names.fresh(&format!("{base}_grad")));
                stmts.push((vec![value.clone(), grad.clone()], quote!(#path(#(#args),*))));
                call_grads[i] = Some(grad);
                emitted_name[i] = Some(value.to_string());
                expr[i] = Some(quote!(#value));
                continue;
            }
            Op::Proj(k) => {
                let call = g.get(node.args[0]);
                let Op::Call(ci) = call.op else {
                    unreachable!("a projection reads a call")
                };
                let info = &g.calls[ci as usize];
                let mut k = k as usize;
                let mut arg = 0;
                while k >= info.args[arg].0.iter().product::<usize>() {
                    k -= info.args[arg].0.iter().product::<usize>();
                    arg += 1;
                }
                let grad = call_grads[node.args[0].index()].clone();
                let arg = syn::Index::from(arg);
                let idx = unflatten(k, &info.args[arg.index as usize].0);
                expr[i] = Some(quote!(#grad.#arg #(#idx)*));
                continue;
            }
            _ => unreachable!("inline ops handled above"),
        };
        let base = match (&preferred[i], adjoint_of[i]) {
            (Some(p), _) => p.clone(),
            (None, Some(AdjointName::Param(p))) => p.clone(),
            (None, Some(AdjointName::Of(f))) => match &emitted_name[f.index()] {
                Some(n) => format!("d_{n}"),
                None => "v".to_owned(),
            },
            (None, None) if id == out_value => "value".to_owned(),
            (None, None) => "v".to_owned(),
        };
        let name = names.fresh(&base);
        let ident = local(&name);
        emitted_name[i] = Some(name);
        stmts.push((vec![ident.clone()], rhs));
        expr[i] = Some(quote!(#ident));
    }

    // A `let` cannot bind a name that an outside `const`, `static` or unit
    // struct holds, and hygiene does not change that; a local `fn` of the
    // same name hides such an item for the whole block. Invented names
    // never equal a name the user's function mentions, so this hides
    // nothing the user's code refers to.
    let shadows: Vec<TokenStream> = names
        .invented
        .iter()
        .map(|n| {
            let n = Ident::new(n, Span::mixed_site());
            quote!(fn #n() {})
        })
        .collect();
    let mut out = shadows;
    out.extend(bindings(stmts));
    (out, expr)
}

/// Above this many bindings in one block, every name is declared once up
/// front (`let (a, b, …);`) and then assigned. Each `let` opens a lexical
/// scope nested in the previous one, and rustc's debug information recurses
/// over that nesting: thousands of `let`s overflow its stack, while one
/// declaration is one scope whatever the count.
pub const MAX_NESTED_LETS: usize = 200;

/// `let a = …;` per binding, or one declaration and assignments.
fn bindings(stmts: Vec<(Vec<Ident>, TokenStream)>) -> Vec<TokenStream> {
    let pattern = |names: &[Ident]| match names {
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    };
    if stmts.len() <= MAX_NESTED_LETS {
        return stmts
            .iter()
            .map(|(names, rhs)| {
                let p = pattern(names);
                quote!(let #p = #rhs;)
            })
            .collect();
    }
    let all = stmts.iter().flat_map(|(names, _)| names);
    let mut out = vec![quote!(let (#(#all,)*);)];
    out.extend(stmts.iter().map(|(names, rhs)| {
        let p = pattern(names);
        quote!(#p = #rhs;)
    }));
    out
}

/// The names a user's function mentions (every identifier in it) and the
/// ones it binds itself (`let`, `for` patterns).
#[derive(Clone, Debug, Default)]
pub struct UserNames {
    mentioned: HashSet<String>,
    bound: HashSet<String>,
}

impl UserNames {
    /// Collects the names of `func`.
    pub fn of(func: &syn::ItemFn) -> UserNames {
        use quote::ToTokens;
        fn idents(ts: TokenStream, out: &mut HashSet<String>) {
            for t in ts {
                match t {
                    proc_macro2::TokenTree::Ident(i) => {
                        out.insert(i.to_string().trim_start_matches("r#").to_owned());
                    }
                    proc_macro2::TokenTree::Group(g) => idents(g.stream(), out),
                    _ => {}
                }
            }
        }
        struct Bound<'a>(&'a mut HashSet<String>);
        impl<'ast> syn::visit::Visit<'ast> for Bound<'_> {
            fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
                self.0
                    .insert(p.ident.to_string().trim_start_matches("r#").to_owned());
                syn::visit::visit_pat_ident(self, p);
            }
        }
        let mut names = UserNames::default();
        idents(func.to_token_stream(), &mut names.mentioned);
        syn::visit::Visit::visit_block(&mut Bound(&mut names.bound), &func.block);
        names
    }
}

/// A local variable of the generated code. Its span is `mixed_site`, so it
/// is hygienic: no name the user wrote (a parameter `c0`, a `const v`
/// outside the function) can refer to it or be shadowed by it, whatever the
/// two names are.
pub fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// How an adjoint node is named in the emitted code.
#[derive(Clone, Debug)]
pub enum AdjointName {
    /// A parameter's gradient element: `d_w_3`.
    Param(String),
    /// The adjoint of a named forward node: `d_` and that node's emitted name.
    Of(Id),
}

/// Emits the body (statements and the final `(value, gradient)` expression).
pub fn body(
    g: &Graph,
    elem: &ElemTy,
    params: &[ParamInfo],
    out: &Outputs,
    adjoint_names: &[(Id, AdjointName)],
    user: &UserNames,
) -> TokenStream {
    let mut roots = vec![out.value];
    for (_, ids) in &out.grads {
        roots.extend(ids);
    }
    let (stmts, expr) = straight_line(g, elem, params, &roots, out.value, adjoint_names, user);

    let value = expr[out.value.index()].clone().unwrap();
    let grads: Vec<TokenStream> = out
        .grads
        .iter()
        .map(|(p, ids)| {
            let flat: Vec<TokenStream> = ids
                .iter()
                .map(|id| expr[id.index()].clone().unwrap())
                .collect();
            match &p.kind {
                crate::signature::ParamKind::Float { shape } => nest(&flat, shape),
                _ => quote!(()),
            }
        })
        .collect();
    let grad = if grads.len() == 1 && !out.always_tuple {
        grads[0].clone()
    } else {
        quote!((#(#grads,)*))
    };
    quote! {
        #(#stmts)*
        (#value, #grad)
    }
}

fn binop(a: &[TokenStream], op: TokenStream) -> TokenStream {
    let (x, y) = (&a[0], &a[1]);
    quote!(#x #op #y)
}

fn call_fun(name: &str, spelling: Spelling, a: &[TokenStream]) -> TokenStream {
    let f = Ident::new(name, Span::call_site());
    let x = &a[0];
    let rest = &a[1..];
    match spelling {
        Spelling::Method => quote!(#x.#f(#(#rest),*)),
        Spelling::Core => quote!(::backprop::__private::#f(#(#a),*)),
    }
}

/// Nests a flat row-major list into array literals of `shape`.
fn nest(flat: &[TokenStream], shape: &[usize]) -> TokenStream {
    match shape.split_first() {
        None => flat[0].clone(),
        Some((&n, rest)) => {
            let stride: usize = rest.iter().product();
            let items = (0..n).map(|i| nest(&flat[i * stride..(i + 1) * stride], rest));
            quote!([#(#items),*])
        }
    }
}

fn unflatten(mut k: usize, shape: &[usize]) -> Vec<TokenStream> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = k % shape[d];
        k /= shape[d];
    }
    idx.into_iter()
        .map(|i| {
            let lit = Literal::usize_unsuffixed(i);
            quote!([#lit])
        })
        .collect()
}

fn param_expr(p: &ParamInfo, index: usize) -> TokenStream {
    let name = &p.name;
    let shape = match &p.kind {
        crate::signature::ParamKind::Float { shape } => shape.clone(),
        _ => Vec::new(),
    };
    if shape.is_empty() {
        return if p.by_ref {
            quote!((*#name))
        } else {
            quote!(#name)
        };
    }
    let idx = unflatten(index, &shape);
    quote!(#name #(#idx)*)
}

/// A float literal of the element type; negative values parenthesised so
/// they can take a method call (`(-2.0f64).exp()`).
pub fn literal(v: f64, elem: &ElemTy) -> TokenStream {
    let ty = match elem {
        ElemTy::F32 => quote!(f32),
        _ => quote!(f64),
    };
    if v.is_nan() {
        return quote!(#ty::NAN);
    }
    if v.is_infinite() {
        return if v > 0.0 {
            quote!(#ty::INFINITY)
        } else {
            quote!(#ty::NEG_INFINITY)
        };
    }
    let lit = match elem {
        ElemTy::F32 => Literal::f32_suffixed(v.abs() as f32),
        _ => Literal::f64_suffixed(v.abs()),
    };
    if v.is_sign_negative() {
        quote!((-#lit))
    } else {
        quote!(#lit)
    }
}

/// Nodes needed for `roots`.
pub fn live_nodes(g: &Graph, roots: &[Id]) -> Vec<bool> {
    let mut live = vec![false; g.len()];
    let mut stack: Vec<Id> = roots.to_vec();
    while let Some(id) = stack.pop() {
        if live[id.index()] {
            continue;
        }
        live[id.index()] = true;
        stack.extend(&g.get(id).args);
    }
    live
}

/// Counts the operations (not constants, parameters or reads of a call's
/// result) needed for `roots`.
#[cfg(test)]
pub fn count_ops(g: &Graph, roots: &[Id]) -> usize {
    live_nodes(g, roots)
        .iter()
        .enumerate()
        .filter(|&(i, &l)| l && g.get(Id(i as u32)).op.is_operation())
        .count()
}

/// Unique, valid local names.
struct Names<'a> {
    used: HashSet<String>,
    /// The next suffix to try for each base name, so naming stays linear.
    next_suffix: HashMap<String, usize>,
    user: &'a UserNames,
    /// Names given that the user did not bind: each is hidden from outside
    /// items by a local `fn` (see [`straight_line`]).
    invented: Vec<String>,
}

impl<'a> Names<'a> {
    fn new(params: &[ParamInfo], user: &'a UserNames) -> Names<'a> {
        Names {
            used: params.iter().map(|p| p.name.to_string()).collect(),
            next_suffix: HashMap::new(),
            user,
            invented: Vec::new(),
        }
    }

    /// A name can be used if it is new here and either the user bound it
    /// (so no outside item forbids the binding) or the user's function
    /// never mentions it (so hiding outside items of that name is safe).
    fn usable(&self, name: &str) -> bool {
        !self.used.contains(name)
            && (self.user.bound.contains(name) || !self.user.mentioned.contains(name))
    }

    /// The next name of a generic constant: `c0`, `c1`, …
    fn constant(&mut self, count: &mut usize) -> String {
        let mut name = format!("c{count}");
        while !self.usable(&name) {
            *count += 1;
            name = format!("c{count}");
        }
        *count += 1;
        self.used.insert(name.clone());
        self.invented.push(name.clone());
        name
    }

    fn fresh(&mut self, base: &str) -> String {
        // `c0`, `c1`, … are the generic constants; keywords get a `_`.
        let reserved = base.len() > 1
            && base.starts_with('c')
            && base[1..].chars().all(|c| c.is_ascii_digit());
        let base = if !reserved && is_plain_identifier(base) {
            base.to_owned()
        } else {
            format!("{base}_")
        };
        let mut next = self.next_suffix.get(&base).copied().unwrap_or(0);
        let mut candidate = if next == 0 {
            base.clone()
        } else {
            format!("{base}_{next}")
        };
        while !self.usable(&candidate) {
            next += 1;
            candidate = format!("{base}_{next}");
        }
        self.next_suffix.insert(base, next + 1);
        self.used.insert(candidate.clone());
        if !self.user.bound.contains(&candidate) {
            self.invented.push(candidate.clone());
        }
        candidate
    }
}

/// Whether `s` can be written as a plain (non-raw) identifier. Names come
/// from the user's identifiers and our own prefixes, so a character check
/// and the keyword list suffice (far cheaper than parsing each one).
fn is_plain_identifier(s: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "Self", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
        "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
        "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv",
        "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "try",
        "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield", "_",
    ];
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c == '_' || c.is_alphabetic());
    first_ok && s.chars().all(|c| c == '_' || c.is_alphanumeric()) && !KEYWORDS.contains(&s)
}

#[cfg(test)]
mod tests {
    use super::is_plain_identifier;

    #[test]
    fn identifiers_and_keywords() {
        assert!(
            is_plain_identifier("d_z1")
                && is_plain_identifier("x_hat")
                && is_plain_identifier("état")
        );
        assert!(
            !is_plain_identifier("type")
                && !is_plain_identifier("1x")
                && !is_plain_identifier("a-b")
        );
        assert!(!is_plain_identifier("_") && !is_plain_identifier(""));
    }
}
