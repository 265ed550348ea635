//! Parameters that are structs: `#[derive(Params)]`, and `#[derive_grad]`
//! functions and methods that read a struct's fields.
//!
//! An attribute sees only the item it is on, so `#[derive_grad] fn loss(net:
//! &Mlp, …)` cannot see `Mlp`'s fields. `#[derive(Params)]` therefore also
//! defines a hidden `macro_rules!` that holds the struct's definition, and
//! imports it under the struct's own name in the macro namespace (`Mlp!`):
//! wherever the type `Mlp` is in scope, so is the macro, by the same path.
//! `#[derive_grad]` keeps the function, then calls `Mlp! { [attr] [fn] }`;
//! the macro appends its definition and calls back
//! [`derive_grad_continue`], which asks the next struct it still needs
//! (a field of type `Layer`) the same way, and expands once it has them all.
//!
//! There, every float field is a parameter of its own (`flatten`): its
//! name is the path with `__` (`net__w1`), bound in every generated function
//! to a reference to the field, and the body reads `net.w1[j][i]` as
//! `net__w1[j][i]` ([`rewrite_body`]). The gradient is the struct again,
//! built from the fields' gradients.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, GenericArgument, GenericParam, Ident, Member, PathArguments, Type};

use crate::signature::{param_kind, ElemTy, InputTree, ParamInfo, SigInfo};

/// A struct definition the macro was shown by its `#[derive(Params)]`.
#[derive(Clone, Debug)]
pub struct StructDef {
    /// Its name.
    pub ident: Ident,
    /// Its generic parameters.
    pub generics: syn::Generics,
    /// Its fields and their types, in declaration order.
    pub fields: Vec<(Member, Type)>,
}

impl StructDef {
    /// Reads a struct definition.
    pub fn parse(item: &syn::ItemStruct) -> StructDef {
        let fields = item
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let member = match &f.ident {
                    Some(id) => Member::Named(id.clone()),
                    None => Member::Unnamed(syn::Index {
                        index: i as u32,
                        span: f.ty.span(),
                    }),
                };
                (member, f.ty.clone())
            })
            .collect();
        StructDef {
            ident: item.ident.clone(),
            generics: item.generics.clone(),
            fields,
        }
    }

    /// The names of its generic type parameters (never structs).
    fn type_params(&self) -> Vec<Ident> {
        self.generics
            .type_params()
            .map(|t| t.ident.clone())
            .collect()
    }

    /// The field types of the struct as `used` (`Mlp<f64>`): its generic
    /// parameters replaced by the arguments (or their defaults).
    fn fields_for(&self, used: &syn::Path) -> syn::Result<Vec<(Member, Type)>> {
        let last = used.segments.last().expect("a path has a segment");
        let args: Vec<&GenericArgument> = match &last.arguments {
            PathArguments::AngleBracketed(a) => a
                .args
                .iter()
                .filter(|a| !matches!(a, GenericArgument::Lifetime(_)))
                .collect(),
            PathArguments::None => Vec::new(),
            PathArguments::Parenthesized(p) => {
                return Err(syn::Error::new_spanned(p, "expected a struct type"))
            }
        };
        let params: Vec<&GenericParam> = self
            .generics
            .params
            .iter()
            .filter(|p| !matches!(p, GenericParam::Lifetime(_)))
            .collect();
        let wrong = || {
            syn::Error::new_spanned(
                used,
                format!(
                    "`{}` takes {} generic argument(s) here ({}): write them all, as in the struct's definition",
                    self.ident,
                    params.len(),
                    self.generics.to_token_stream()
                ),
            )
        };
        if args.len() > params.len() {
            return Err(wrong());
        }
        let mut sub = Substitute::default();
        for (i, p) in params.iter().enumerate() {
            match p {
                GenericParam::Type(t) => {
                    let ty = match (args.get(i), &t.default) {
                        (Some(GenericArgument::Type(ty)), _) => ty.clone(),
                        (None, Some(d)) => d.clone(),
                        _ => return Err(wrong()),
                    };
                    sub.types.insert(t.ident.to_string(), ty);
                }
                GenericParam::Const(c) => {
                    let e = match (args.get(i), &c.default) {
                        (Some(GenericArgument::Const(e)), _) => e.clone(),
                        // `Net<N>`: a bare name parses as a type.
                        (Some(GenericArgument::Type(Type::Path(tp))), _) if tp.qself.is_none() => {
                            Expr::Path(syn::ExprPath {
                                attrs: Vec::new(),
                                qself: None,
                                path: tp.path.clone(),
                            })
                        }
                        (None, Some(d)) => d.clone(),
                        _ => return Err(wrong()),
                    };
                    sub.consts.insert(c.ident.to_string(), e);
                }
                GenericParam::Lifetime(_) => {}
            }
        }
        Ok(self
            .fields
            .iter()
            .map(|(m, ty)| {
                let mut ty = ty.clone();
                sub.visit_type_mut(&mut ty);
                (m.clone(), ty)
            })
            .collect())
    }
}

/// Replaces generic parameters by arguments in a type.
#[derive(Default)]
struct Substitute {
    types: HashMap<String, Type>,
    consts: HashMap<String, Expr>,
}

impl VisitMut for Substitute {
    fn visit_type_mut(&mut self, t: &mut Type) {
        if let Type::Path(tp) = t {
            if let Some(id) = tp.path.get_ident().filter(|_| tp.qself.is_none()) {
                if let Some(r) = self.types.get(&id.to_string()) {
                    *t = r.clone();
                    return;
                }
            }
        }
        visit_mut::visit_type_mut(self, t);
    }

    fn visit_expr_mut(&mut self, e: &mut Expr) {
        if let Expr::Path(p) = e {
            if let Some(id) = p.path.get_ident().filter(|_| p.qself.is_none()) {
                if let Some(r) = self.consts.get(&id.to_string()) {
                    *e = r.clone();
                    return;
                }
            }
        }
        visit_mut::visit_expr_mut(self, e);
    }
}

/// What the macro knows beyond the function itself.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The struct definitions it was shown.
    pub defs: Vec<StructDef>,
    /// In a method, the type of `self`.
    pub self_ty: Option<Type>,
    /// In a method, the type parameters of its `impl` block
    /// (`impl<F: Float> Model<F>`): in scope in the method as its own are.
    pub impl_type_params: Vec<Ident>,
    /// Every name the function mentions: the names given to struct fields
    /// (`net__w1`) avoid them.
    pub mentioned: HashSet<String>,
}

impl Context {
    /// For a parameter type naming a struct the macro was shown (`Mlp`,
    /// `&model::Mlp<F>`): its path and definition.
    pub fn struct_of<'a>(&'a self, ty: &'a Type) -> Option<(&'a syn::Path, &'a StructDef)> {
        let path = struct_path(ty)?;
        let last = path.segments.last()?;
        let def = self.defs.iter().find(|d| d.ident == last.ident)?;
        Some((path, def))
    }
}

/// The path of a type that can only be a struct of parameters (behind `&`
/// or parentheses): not a float, integer, bool, `Vec` or standard
/// container, nor one of `type_params`.
pub fn struct_path(ty: &Type) -> Option<&syn::Path> {
    match ty {
        Type::Reference(r) if r.mutability.is_none() => struct_path(&r.elem),
        Type::Paren(p) => struct_path(&p.elem),
        Type::Group(g) => struct_path(&g.elem),
        Type::Path(tp) if tp.qself.is_none() => {
            let last = tp.path.segments.last()?;
            let name = last.ident.to_string();
            const NOT_STRUCTS: &[&str] = &[
                "f32", "f64", "bool", "usize", "isize", "u8", "u16", "u32", "u64", "u128", "i8",
                "i16", "i32", "i64", "i128", "Vec", "String", "str", "Option", "Result", "Box",
                "Rc", "Arc", "Cell", "RefCell", "HashMap", "BTreeMap", "HashSet", "BTreeSet",
                "VecDeque", "Self",
            ];
            (!NOT_STRUCTS.contains(&name.as_str())).then_some(&tp.path)
        }
        _ => None,
    }
}

/// The first struct that `item`'s parameters (or receiver) need and
/// `ctx` does not define, by the path to ask it by (`model::Mlp`).
fn missing(ctx: &Context, sig: &syn::Signature) -> Option<syn::Path> {
    let fn_params: Vec<Ident> = sig
        .generics
        .type_params()
        .map(|t| t.ident.clone())
        .chain(ctx.impl_type_params.iter().cloned())
        .collect();
    // (type, the generic parameters in scope, the path of the struct it is a field of)
    let mut todo: Vec<(Type, Vec<Ident>, Option<syn::Path>)> = Vec::new();
    for input in &sig.inputs {
        match input {
            syn::FnArg::Receiver(_) => {
                if let Some(t) = &ctx.self_ty {
                    todo.push((t.clone(), fn_params.clone(), None));
                }
            }
            syn::FnArg::Typed(pt) => todo.push(((*pt.ty).clone(), fn_params.clone(), None)),
        }
    }
    let mut seen = HashSet::new();
    while let Some((ty, generic, parent)) = todo.pop() {
        let Some(path) = struct_path(&ty) else {
            continue;
        };
        if path.get_ident().is_some_and(|id| generic.contains(id)) {
            continue;
        }
        let path = &match &parent {
            Some(parent) => qualify(parent, path),
            None => path.clone(),
        };
        let last = &path.segments.last()?.ident;
        if !seen.insert(last.to_string()) {
            continue;
        }
        match ctx.defs.iter().find(|d| d.ident == *last) {
            Some(def) => {
                let own = def.type_params();
                todo.extend(
                    def.fields
                        .iter()
                        .map(|(_, t)| (t.clone(), own.clone(), Some(path.clone()))),
                );
            }
            None => {
                // The macro is asked by the type's path without arguments.
                let mut path = path.clone();
                for s in &mut path.segments {
                    s.arguments = PathArguments::None;
                }
                return Some(path);
            }
        }
    }
    None
}

/// The path, from the function, of a struct named `field` in the definition
/// of the struct at `parent`: relative paths are relative to the parent's
/// module (`Layer` in `model::Net` is `model::Layer`).
fn qualify(parent: &syn::Path, field: &syn::Path) -> syn::Path {
    let first = field.segments.first().map(|s| s.ident.to_string());
    let absolute = field.leading_colon.is_some()
        || matches!(first.as_deref(), Some("crate" | "super" | "Self"));
    if absolute || parent.segments.len() < 2 {
        return field.clone();
    }
    let mut out = parent.clone();
    out.segments.pop();
    for s in out.segments.iter_mut() {
        s.arguments = PathArguments::None;
    }
    let skip = usize::from(first.as_deref() == Some("self"));
    for s in field.segments.iter().skip(skip) {
        out.segments.push(s.clone());
    }
    out
}

/// Makes the fields of struct `def` (used as `used`) parameters of their
/// own, appended to `params`, and returns the input's tree. `display` and
/// `access` name the struct (`net`, `net.layer`); `self_path` is `Self` for
/// the receiver.
#[allow(clippy::too_many_arguments)]
pub(crate) fn flatten(
    ctx: &Context,
    def: &StructDef,
    used: &syn::Path,
    self_path: Option<TokenStream>,
    display: &str,
    access: TokenStream,
    name_span: Span,
    elem: &ElemTy,
    params: &mut Vec<ParamInfo>,
) -> syn::Result<InputTree> {
    let fields = def.fields_for(used)?;
    let path = self_path.unwrap_or_else(|| struct_expr_path(used));
    let mut out = Vec::new();
    for (member, ty) in fields {
        let member_name = match &member {
            Member::Named(id) => id.to_string(),
            Member::Unnamed(i) => i.index.to_string(),
        };
        let shown = format!("{display}.{member_name}");
        let member_tokens = match &member {
            // Spanned where the parameter is, so that the generated code
            // reads the field with the user's hygiene.
            Member::Named(id) => Ident::new(&id.to_string(), name_span).to_token_stream(),
            Member::Unnamed(i) => syn::Index {
                index: i.index,
                span: name_span,
            }
            .to_token_stream(),
        };
        let field_access = quote!(#access.#member_tokens);
        let tree = match ctx.struct_of(&ty) {
            Some(_) if matches!(ty, Type::Reference(_)) => {
                return Err(field_error(
                    used,
                    &shown,
                    "is a reference; a struct of parameters owns its fields",
                ))
            }
            Some((p, d)) => {
                let p = qualify(used, p);
                flatten(
                    ctx,
                    d,
                    &p,
                    None,
                    &shown,
                    field_access,
                    name_span,
                    elem,
                    params,
                )?
            }
            None => {
                let (kind, by_ref) =
                    param_kind(&ty, elem).map_err(|e| field_error(used, &shown, &e.to_string()))?;
                if by_ref {
                    return Err(field_error(
                        used,
                        &shown,
                        "is a reference; a struct of parameters owns its fields",
                    ));
                }
                params.push(ParamInfo {
                    name: Ident::new(&shown.replace('.', "__"), name_span),
                    kind,
                    by_ref: true,
                    ty: syn::parse_quote!(&#ty),
                    display: shown,
                    access: Some(field_access),
                });
                InputTree::Leaf(params.len() - 1)
            }
        };
        out.push((member, tree));
    }
    Ok(InputTree::Struct { path, fields: out })
}

fn field_error(used: &syn::Path, field: &str, problem: &str) -> syn::Error {
    syn::Error::new_spanned(
        used,
        format!("field `{field}` of this struct cannot be a parameter: {problem}"),
    )
}

/// `Mlp`, `model::Mlp::<F>`: a path usable in a struct expression.
fn struct_expr_path(used: &syn::Path) -> TokenStream {
    let mut path = used.clone();
    if let Some(last) = path.segments.last_mut() {
        if let PathArguments::AngleBracketed(a) = &mut last.arguments {
            a.colon2_token = Some(Default::default());
        }
    }
    path.to_token_stream()
}

/// Gives each field parameter a name no user name and no other parameter
/// has (`net__w1`, else `net__w1_`, …).
pub(crate) fn unique_field_names(params: &mut [ParamInfo], mentioned: &HashSet<String>) {
    let mut taken: HashSet<String> = params
        .iter()
        .filter(|p| p.access.is_none())
        .map(|p| p.name.to_string())
        .collect();
    for p in params.iter_mut().filter(|p| p.access.is_some()) {
        let mut name = p.name.to_string();
        while mentioned.contains(&name) || taken.contains(&name) {
            name.push('_');
        }
        taken.insert(name.clone());
        p.name = Ident::new(&name, p.name.span());
    }
}

/// `let net__w1 = &net.w1;` for every field parameter: the first
/// statements of every generated function.
pub fn field_bindings(sig: &SigInfo) -> TokenStream {
    let lets = sig.params.iter().enumerate().filter_map(|(k, p)| {
        if sig.tangent_fields.contains(&k) {
            return None;
        }
        let access = p.access.as_ref()?;
        let name = &p.name;
        Some(quote!(let #name = &#access;))
    });
    quote!(#(#lets)*)
}

/// The fields of struct tangents bound to their own names (in `NAME_jvp`
/// and `NAME_hvp`, which take them).
pub fn tangent_field_bindings(sig: &SigInfo) -> TokenStream {
    let lets = sig.tangent_fields.iter().filter_map(|&k| {
        let p = &sig.params[k];
        let access = p.access.as_ref()?;
        let name = &p.name;
        Some(quote!(let #name = &#access;))
    });
    quote!(#(#lets)*)
}

/// A struct of parameters (or a struct field) passed whole to a call
/// (`layer(&net.hidden, x)`, `self.hidden.forward(x)`): the body names it
/// by `marker`, and the call lowers its fields' elements.
#[derive(Clone, Debug)]
pub struct StructArg {
    /// The name standing for it in the rewritten body (`__bp_struct_0`).
    pub marker: String,
    /// How the user names it (`net.hidden`).
    pub shown: String,
    /// The expression that reaches it in the generated code.
    pub access: TokenStream,
    /// Its float fields in flat order: the member path from the struct
    /// (`.w`, `.inner.b`) and the parameter it became.
    pub leaves: Vec<(TokenStream, usize)>,
}

/// The body with every read of a struct field (`net.w1[j]`,
/// `self.layer.b`) made a read of its parameter (`net__w1[j]`), and every
/// struct passed whole to a call (or whose method is called) named by a
/// marker ([`StructArg`]); errors where a struct is used whole otherwise.
pub fn rewrite_body(
    block: &syn::Block,
    sig: &SigInfo,
) -> Result<(syn::Block, Vec<StructArg>), Vec<syn::Error>> {
    let roots: HashMap<String, &InputTree> = sig
        .inputs
        .iter()
        .filter(|i| matches!(i.tree, InputTree::Struct { .. }))
        .map(|i| (i.name.to_string(), &i.tree))
        .collect();
    let mut block = block.clone();
    if roots.is_empty() {
        return Ok((block, Vec::new()));
    }
    let mut r = Rewriter {
        roots,
        params: &sig.params,
        errors: Vec::new(),
        args: Vec::new(),
    };
    r.visit_block_mut(&mut block);
    if r.errors.is_empty() {
        Ok((block, r.args))
    } else {
        Err(r.errors)
    }
}

struct Rewriter<'a> {
    roots: HashMap<String, &'a InputTree>,
    params: &'a [ParamInfo],
    errors: Vec<syn::Error>,
    args: Vec<StructArg>,
}

impl<'a> Rewriter<'a> {
    /// If `e` names a whole struct (`net`, `net.hidden`, `self`): how it is
    /// shown, its tree, and the expression reaching it.
    fn struct_node(&self, e: &Expr) -> Option<(String, &'a InputTree, TokenStream)> {
        let e = match e {
            Expr::Paren(p) => &*p.expr,
            Expr::Group(g) => &*g.expr,
            e => e,
        };
        let mut members = Vec::new();
        let mut base = e;
        while let Expr::Field(f) = base {
            members.push(&f.member);
            base = &f.base;
        }
        let Expr::Path(p) = base else { return None };
        let root = p.path.get_ident()?;
        let mut tree = *self.roots.get(&root.to_string())?;
        let mut shown = root.to_string();
        for m in members.iter().rev() {
            let InputTree::Struct { fields, .. } = tree else {
                return None;
            };
            let key = member_string(m);
            tree = &fields.iter().find(|(f, _)| member_string(f) == key)?.1;
            shown = format!("{shown}.{key}");
        }
        matches!(tree, InputTree::Struct { .. }).then(|| (shown, tree, e.to_token_stream()))
    }

    /// The marker standing for a struct passed whole.
    fn marker(
        &mut self,
        shown: String,
        tree: &InputTree,
        access: TokenStream,
        span: Span,
    ) -> Ident {
        fn leaves(t: &InputTree, at: TokenStream, span: Span, out: &mut Vec<(TokenStream, usize)>) {
            match t {
                InputTree::Leaf(p) => out.push((at, *p)),
                InputTree::Struct { fields, .. } => {
                    for (m, f) in fields {
                        let m = match m {
                            Member::Named(id) => {
                                Ident::new(&id.to_string(), span).to_token_stream()
                            }
                            Member::Unnamed(i) => syn::Index {
                                index: i.index,
                                span,
                            }
                            .to_token_stream(),
                        };
                        leaves(f, quote!(#at.#m), span, out);
                    }
                }
            }
        }
        let marker = format!("__bp_struct_{}", self.args.len());
        let mut out = Vec::new();
        leaves(tree, TokenStream::new(), span, &mut out);
        self.args.push(StructArg {
            marker: marker.clone(),
            shown,
            access,
            leaves: out,
        });
        Ident::new(&marker, span)
    }

    /// A call argument that is a whole struct (`&net.hidden`), replaced by
    /// its marker.
    fn struct_argument(&mut self, a: &mut Expr) {
        let target = match a {
            Expr::Reference(r) => &mut *r.expr,
            a => a,
        };
        if let Some((shown, tree, access)) = self.struct_node(target) {
            let span = target.span();
            let marker = self.marker(shown, tree, access, span);
            *target = syn::parse_quote!(#marker);
        }
    }

    /// `net.w1` (under any further fields) as `net__w1`, if `e` is a field
    /// access on a struct parameter. `None` if it is not one.
    fn field_read(&mut self, e: &syn::ExprField) -> Option<Expr> {
        // The chain of members down to its base: `net.l1.w` is [w, l1] on `net`.
        let mut members = vec![&e.member];
        let mut base = &*e.base;
        while let Expr::Field(f) = base {
            members.push(&f.member);
            base = &f.base;
        }
        let Expr::Path(p) = base else { return None };
        let root = p.path.get_ident()?;
        let mut tree = *self.roots.get(&root.to_string())?;
        let mut shown = root.to_string();
        let mut rest = members.len();
        while let InputTree::Struct { fields, .. } = tree {
            let Some(m) = rest.checked_sub(1).map(|i| members[i]) else {
                let example = fields.first().map(|(f, _)| member_string(f));
                self.whole(e.span(), &shown, example);
                return Some(Expr::Verbatim(quote!(0.0)));
            };
            rest -= 1;
            let key = member_string(m);
            match fields.iter().find(|(f, _)| member_string(f) == key) {
                Some((_, t)) => {
                    shown = format!("{shown}.{key}");
                    tree = t;
                }
                None => {
                    let names: Vec<String> = fields
                        .iter()
                        .map(|(f, _)| format!("`{}`", member_string(f)))
                        .collect();
                    self.errors.push(syn::Error::new_spanned(
                        m,
                        format!(
                            "`{shown}` has no field `{key}`; its fields are {}",
                            names.join(", ")
                        ),
                    ));
                    return Some(Expr::Verbatim(quote!(0.0)));
                }
            }
        }
        let InputTree::Leaf(leaf) = tree else {
            unreachable!()
        };
        let name = Ident::new(&self.params[*leaf].name.to_string(), root.span());
        let mut out: Expr = syn::parse_quote!(#name);
        // Members past the leaf (a tuple field of a float: rustc reports it).
        for m in members[..rest].iter().rev() {
            out = Expr::Field(syn::ExprField {
                attrs: Vec::new(),
                base: Box::new(out),
                dot_token: Default::default(),
                member: (*m).clone(),
            });
        }
        Some(out)
    }

    fn whole(&mut self, span: Span, shown: &str, field: Option<String>) {
        let field = field.unwrap_or_else(|| "w".to_owned());
        self.errors.push(syn::Error::new(
            span,
            format!("`{shown}` is a struct of parameters: a #[derive_grad] function reads its fields (`{shown}.{field}`), passes it to other #[derive_grad] functions (`f(&{shown})`) or calls its #[derive_grad] methods (`{shown}.forward(x)`), but cannot copy it, bind it to a variable or compute with it whole"),
        ));
    }

    /// Rewrites the arguments of a macro call (`assert!(net.b[0] > 0.0)`)
    /// when they are expressions.
    fn macro_args(&mut self, mac: &mut syn::Macro) {
        use syn::parse::Parser;
        use syn::punctuated::Punctuated;
        let parser = Punctuated::<Expr, syn::Token![,]>::parse_terminated;
        if let Ok(mut args) = parser.parse2(mac.tokens.clone()) {
            for a in args.iter_mut() {
                self.visit_expr_mut(a);
            }
            mac.tokens = args.to_token_stream();
            return;
        }
        // `vec![x; n]`
        let repeat = |input: syn::parse::ParseStream| -> syn::Result<(Expr, Expr)> {
            let x: Expr = input.parse()?;
            input.parse::<syn::Token![;]>()?;
            Ok((x, input.parse()?))
        };
        if let Ok((mut x, mut n)) = repeat.parse2(mac.tokens.clone()) {
            self.visit_expr_mut(&mut x);
            self.visit_expr_mut(&mut n);
            mac.tokens = quote!(#x; #n);
        }
    }
}

fn member_string(m: &Member) -> String {
    match m {
        Member::Named(id) => id.to_string(),
        Member::Unnamed(i) => i.index.to_string(),
    }
}

impl VisitMut for Rewriter<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            // `layer(&net.hidden, x)`: the struct is passed as it is.
            Expr::Call(c) => {
                for a in c.args.iter_mut() {
                    self.struct_argument(a);
                }
            }
            // `self.hidden.forward(x)`: the method of the field's struct,
            // `Layer::forward(&self.hidden, x)`.
            Expr::MethodCall(m) => {
                if let Some((shown, tree, access)) = self.struct_node(&m.receiver) {
                    let InputTree::Struct { path, .. } = tree else {
                        unreachable!()
                    };
                    let path = path.clone();
                    let span = m.receiver.span();
                    let marker = self.marker(shown, tree, access, span);
                    let (method, turbofish, args) = (&m.method, &m.turbofish, &m.args);
                    // Spanned at the receiver: an error about the struct
                    // passed whole points at the user's call.
                    *e = syn::parse_quote_spanned!(span=> #path::#method #turbofish (&#marker, #args));
                }
            }
            Expr::Field(f) => {
                if let Some(read) = self.field_read(f) {
                    *e = read;
                    // Index expressions inside were not visited yet.
                    visit_mut::visit_expr_mut(self, e);
                    return;
                }
            }
            Expr::Path(p) => {
                if let Some(id) = p.path.get_ident() {
                    if let Some(tree) = self.roots.get(&id.to_string()) {
                        let example = match tree {
                            InputTree::Struct { fields, .. } => {
                                fields.first().map(|(f, _)| member_string(f))
                            }
                            InputTree::Leaf(_) => None,
                        };
                        let shown = id.to_string();
                        self.whole(id.span(), &shown, example);
                        return;
                    }
                }
            }
            _ => {}
        }
        visit_mut::visit_expr_mut(self, e);
    }

    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        self.macro_args(mac);
    }

    fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
        // One error for the new binding; its uses after it are not the struct.
        if self.roots.remove(&p.ident.to_string()).is_some() {
            self.errors.push(syn::Error::new_spanned(
                &p.ident,
                format!("this binds `{0}` again, which names the struct parameter `{0}`: choose another name", p.ident),
            ));
        }
        visit_mut::visit_pat_ident_mut(self, p);
    }
}

/// `#[derive(Params)]`: implements `backprop::core::Params` for the struct
/// (its fields in declaration order), and defines the hidden macro through
/// which `#[derive_grad]` sees its fields.
pub fn derive_params(input: TokenStream) -> TokenStream {
    let item: syn::ItemStruct = match syn::parse2(input.clone()) {
        Ok(i) => i,
        Err(_) => {
            return syn::Error::new(
                Span::call_site(),
                "#[derive(Params)] applies to a struct whose fields are floats, arrays, `Vec`s or other `Params` structs",
            )
            .to_compile_error()
        }
    };
    let def = StructDef::parse(&item);
    let Some((_, first)) = def.fields.first() else {
        return syn::Error::new_spanned(
            &item.ident,
            "a `Params` struct needs at least one field of floats",
        )
        .to_compile_error();
    };
    let name = &item.ident;
    let (impl_generics, ty_generics, where_clause) = item.generics.split_for_impl();
    let params = quote!(::backprop::core::Params);
    let scalar = quote!(<#first as #params>::Scalar);
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(ToTokens::to_token_stream).collect())
        .unwrap_or_default();
    // Bounds only where a generic parameter makes them necessary (a bound
    // on a concrete type is checked anyway, and one relating the first
    // field's scalar to itself sends rustc's solver into a loop).
    let generic = def.type_params();
    let mentions_generic = |ty: &Type| {
        let mut found = false;
        fn walk(ts: TokenStream, generic: &[Ident], found: &mut bool) {
            for t in ts {
                match t {
                    TokenTree::Ident(i) if generic.contains(&i) => *found = true,
                    TokenTree::Group(g) => walk(g.stream(), generic, found),
                    _ => {}
                }
            }
        }
        walk(ty.to_token_stream(), &generic, &mut found);
        found
    };
    // `Params` needs `Clone + Send + Sync` (a derived `Clone` of a generic
    // struct holds only under bounds of its own).
    predicates.push(quote!(#name #ty_generics: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync));
    for (k, (_, ty)) in def.fields.iter().enumerate() {
        if !mentions_generic(ty) {
            continue;
        }
        predicates.push(if k == 0 {
            quote!(#ty: #params)
        } else {
            quote!(#ty: #params<Scalar = #scalar>)
        });
    }
    let members: Vec<&Member> = def.fields.iter().map(|(m, _)| m).collect();
    let labels: Vec<String> = members
        .iter()
        .map(|m| format!(".{}", member_string(m)))
        .collect();
    let macro_name = format_ident!("__backprop_params_{}", name);
    // The definition as the macro shows it: no attributes, no visibility.
    let mut shown = item.clone();
    shown.attrs.clear();
    shown.vis = syn::Visibility::Inherited;
    for f in shown.fields.iter_mut() {
        f.attrs.clear();
        f.vis = syn::Visibility::Inherited;
    }
    let dollar = TokenTree::Punct(proc_macro2::Punct::new('$', proc_macro2::Spacing::Alone));
    quote! {
        impl #impl_generics #params for #name #ty_generics where #(#predicates,)* {
            type Scalar = #scalar;

            #[inline]
            fn len(&self) -> usize {
                0 #(+ #params::len(&self.#members))*
            }

            #[inline]
            fn for_each(&self, f: &mut impl FnMut(Self::Scalar)) {
                #(#params::for_each(&self.#members, f);)*
            }

            #[inline]
            fn for_each_mut(&mut self, f: &mut impl FnMut(&mut Self::Scalar)) {
                #(#params::for_each_mut(&mut self.#members, f);)*
            }

            #[inline]
            fn zip_states<const K: usize>(
                &mut self,
                mut states: [&mut Self; K],
                other: &Self,
                f: &mut impl FnMut(&mut Self::Scalar, [&mut Self::Scalar; K], Self::Scalar),
            ) {
                #(#params::zip_states(&mut self.#members, states.each_mut().map(|s| &mut s.#members), &other.#members, f);)*
            }

            #[allow(unused_assignments)]
            fn write_path(&self, mut index: usize, out: &mut ::std::string::String) {
                #(
                    let n = #params::len(&self.#members);
                    if index < n {
                        out.push_str(#labels);
                        #params::write_path(&self.#members, index, out);
                        return;
                    }
                    index -= n;
                )*
                out.push_str(".?");
            }
        }

        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! #macro_name {
            (#dollar (#dollar payload:tt)*) => {
                ::backprop::__private::derive_grad_continue! { #dollar (#dollar payload)* { #shown } }
            };
        }

        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use #macro_name as #name;
    }
}

/// The call that shows `#[derive_grad]` the struct at `path`, carrying
/// the attribute, the item and the definitions gathered so far.
fn ask(
    path: &syn::Path,
    attr: &TokenStream,
    item: &TokenStream,
    defs: &[TokenStream],
) -> TokenStream {
    quote!(#path! { [#attr] [#item] #({#defs})* })
}

/// Beside the first call: if `ty` (a struct without generic arguments) is
/// not `Params`, rustc says so with the trait's own message, naming the
/// fix, next to its "cannot find macro".
fn must_be_params(ty: &Type) -> TokenStream {
    let Some(path) = struct_path(ty) else {
        return TokenStream::new();
    };
    if path.segments.iter().any(|s| !s.arguments.is_empty()) {
        return TokenStream::new();
    }
    quote_spanned!(path.span()=> const _: fn() = ::backprop::__private::must_be_params::<#path>;)
}

/// The first step for a function whose parameters name structs: keeps the
/// function and asks for the first struct. `None` if it names none.
pub(crate) fn start_fn(attr: &TokenStream, func: &syn::ItemFn) -> Option<TokenStream> {
    let path = missing(&Context::default(), &func.sig)?;
    let fn_params: Vec<Ident> = func
        .sig
        .generics
        .type_params()
        .map(|t| t.ident.clone())
        .collect();
    let checks = func.sig.inputs.iter().filter_map(|i| match i {
        syn::FnArg::Typed(pt)
            if !struct_path(&pt.ty)
                .and_then(|p| p.get_ident())
                .is_some_and(|id| fn_params.contains(id)) =>
        {
            Some(must_be_params(&pt.ty))
        }
        _ => None,
    });
    let ask = ask(&path, attr, &func.to_token_stream(), &[]);
    Some(quote!(#(#checks)* #ask))
}

/// The first step for a method of `imp` marked `#[derive_grad(attr)]`:
/// `None` if it needs no struct (no receiver, no struct parameter).
pub(crate) fn start_method(
    attr: &TokenStream,
    imp: &syn::ItemImpl,
    method: &syn::ImplItemFn,
) -> Option<TokenStream> {
    let ctx = Context {
        self_ty: Some((*imp.self_ty).clone()),
        impl_type_params: impl_type_params(imp),
        ..Context::default()
    };
    let path = missing(&ctx, &method.sig)?;
    let mut one = imp.clone();
    one.attrs.clear();
    one.items = vec![syn::ImplItem::Fn(method.clone())];
    let check = match method.sig.receiver() {
        Some(_) => must_be_params(&imp.self_ty),
        None => TokenStream::new(),
    };
    let ask = ask(&path, attr, &one.to_token_stream(), &[]);
    Some(quote!(#check #ask))
}

/// `derive_grad_continue! { [attr] [item] {struct …}… }`: asks for the
/// next struct, or expands.
pub fn derive_grad_continue(input: TokenStream) -> TokenStream {
    stacker::grow(crate::expand::ENTRY_STACK, || continue_inner(input))
}

fn continue_inner(input: TokenStream) -> TokenStream {
    let mut groups = input.into_iter().filter_map(|t| match t {
        TokenTree::Group(g) => Some(g),
        _ => None,
    });
    let (Some(attr), Some(item)) = (groups.next(), groups.next()) else {
        return quote!(::core::compile_error!("backprop: malformed internal macro call"););
    };
    debug_assert_eq!(attr.delimiter(), Delimiter::Bracket);
    let (attr, item_tokens) = (attr.stream(), item.stream());
    let def_tokens: Vec<TokenStream> = groups.map(|g| g.stream()).collect();
    let mut defs = Vec::new();
    for d in &def_tokens {
        match syn::parse2::<syn::ItemStruct>(d.clone()) {
            Ok(s) => defs.push(StructDef::parse(&s)),
            Err(e) => return e.to_compile_error(),
        }
    }
    let item: syn::Item = match syn::parse2(item_tokens.clone()) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    match item {
        syn::Item::Fn(func) => {
            let ctx = Context {
                defs,
                self_ty: None,
                impl_type_params: Vec::new(),
                mentioned: crate::emit::UserNames::of(&func).mentioned().clone(),
            };
            if let Some(path) = missing(&ctx, &func.sig) {
                return ask(&path, &attr, &item_tokens, &def_tokens);
            }
            crate::expand::expand_with(attr, &func, &ctx).unwrap_or_else(errors)
        }
        syn::Item::Impl(imp) => {
            let Some(syn::ImplItem::Fn(method)) = imp.items.first() else {
                return quote!(::core::compile_error!("backprop: malformed internal macro call"););
            };
            let func = method_as_fn(method);
            let ctx = Context {
                defs,
                self_ty: Some((*imp.self_ty).clone()),
                impl_type_params: impl_type_params(&imp),
                mentioned: crate::emit::UserNames::of(&func).mentioned().clone(),
            };
            if let Some(path) = missing(&ctx, &func.sig) {
                return ask(&path, &attr, &item_tokens, &def_tokens);
            }
            let generated = crate::expand::expand_with(attr, &func, &ctx).unwrap_or_else(errors);
            in_impl(&imp, generated)
        }
        other => syn::Error::new_spanned(other, "backprop: malformed internal macro call")
            .to_compile_error(),
    }
}

fn errors(errors: Vec<syn::Error>) -> TokenStream {
    let errors = errors.iter().map(syn::Error::to_compile_error);
    quote!(#(#errors)*)
}

/// The type parameters of an `impl` block.
pub(crate) fn impl_type_params(imp: &syn::ItemImpl) -> Vec<Ident> {
    imp.generics
        .type_params()
        .map(|t| t.ident.clone())
        .collect()
}

/// A method as a function (same signature, attributes and body).
pub(crate) fn method_as_fn(m: &syn::ImplItemFn) -> syn::ItemFn {
    syn::ItemFn {
        attrs: m.attrs.clone(),
        vis: m.vis.clone(),
        sig: m.sig.clone(),
        block: Box::new(m.block.clone()),
    }
}

/// `generated` (functions) as the items of an `impl` block like `imp`.
pub(crate) fn in_impl(imp: &syn::ItemImpl, generated: TokenStream) -> TokenStream {
    let (impl_generics, _, where_clause) = imp.generics.split_for_impl();
    let self_ty = &imp.self_ty;
    quote! {
        impl #impl_generics #self_ty #where_clause {
            #generated
        }
    }
}
