//! Validation of the function's signature: which element type it computes
//! in, the shape of every parameter, and which parameters are differentiated.

use syn::{FnArg, GenericParam, Ident, Pat, ReturnType, Type};

use quote::ToTokens;

use crate::args::Args;
use crate::structs::Context;

/// The float type the function computes in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElemTy {
    /// `f64`
    F64,
    /// `f32`
    F32,
    /// A type parameter `F: num_traits::Float`.
    Generic(Ident),
}

/// What a parameter holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Floats: a scalar (empty shape) or a (nested) array.
    Float {
        /// Array dimensions, outermost first.
        shape: Vec<usize>,
    },
    /// Floats in a slice or `Vec` whose length is known at run time:
    /// `&[f64]`, `&[[f64; 4]]`, `Vec<f64>`, `&Vec<f64>`, or in an array
    /// whose length is a constant the macro cannot see (`[f64; N]` with
    /// `const N: usize` a generic parameter or an item). Read at indices;
    /// the gradient is a `Vec` of the elements, or an array of that length.
    Slice {
        /// The shape of one element (empty for a float); a dimension whose
        /// length is a named constant is [`NAMED_LEN`].
        inner: Vec<usize>,
        /// The same dimensions as written (`4`, `INPUTS`), for the
        /// gradient's type.
        inner_written: Vec<syn::Expr>,
        /// For an array, its length as written (`N`).
        array_len: Option<syn::Expr>,
    },
    /// A run-time integer (`usize`, `i32`, …): usable in comparisons and
    /// `as` casts, never differentiated.
    Int,
    /// Integers in a slice, `Vec` or array (`labels: &[usize]`,
    /// `Vec<i32>`, `[u8; 4]`): read at indices (`row[labels[s]]`), never
    /// differentiated.
    IntSlice,
    /// A run-time `bool`, usable in conditions.
    Bool,
}

/// One parameter.
#[derive(Clone, Debug)]
pub struct ParamInfo {
    /// Its name.
    pub name: Ident,
    /// What it holds.
    pub kind: ParamKind,
    /// Whether it is passed by shared reference.
    pub by_ref: bool,
    /// Its type as written.
    pub ty: Type,
    /// How the user names it: the parameter's name, or for a field of a
    /// struct parameter its path (`net.w1`).
    pub display: String,
    /// For a field of a struct parameter, the place it is read from
    /// (`net.w1`, `self.layer.b`): every generated function binds the
    /// field's own name ([`ParamInfo::name`]) to a reference to it.
    pub access: Option<proc_macro2::TokenStream>,
}

impl ParamInfo {
    /// Number of float elements.
    pub fn len(&self) -> usize {
        match &self.kind {
            ParamKind::Float { shape } => shape.iter().product(),
            _ => 0,
        }
    }

    /// Whether it holds no float element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// For a slice (or an array with named lengths), the type of one
    /// element with `leaf` for the floats: `[[leaf; 4]; INPUTS]` (a fill
    /// value when `leaf` is a value). `leaf` itself for anything else.
    pub fn slice_element(&self, leaf: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
        let ParamKind::Slice { inner_written, .. } = &self.kind else {
            return leaf;
        };
        inner_written
            .iter()
            .rev()
            .fold(leaf, |inner, n| quote::quote!([#inner; #n]))
    }

    /// Whether it holds floats (and so can be differentiated).
    pub fn is_float(&self) -> bool {
        matches!(self.kind, ParamKind::Float { .. } | ParamKind::Slice { .. })
    }
}

/// One parameter as the user wrote it: a plain parameter, or a struct
/// (or the receiver) whose fields are parameters of their own.
#[derive(Clone, Debug)]
pub struct InputInfo {
    /// Its name (`self` for the receiver).
    pub name: Ident,
    /// The parameter as written (`net: &Mlp`, `&self`), repeated by every
    /// generated function.
    pub arg: syn::FnArg,
    /// Where its floats are.
    pub tree: InputTree,
}

/// The parameters ([`SigInfo::params`]) an input is made of.
#[derive(Clone, Debug)]
pub enum InputTree {
    /// The parameter with this index.
    Leaf(usize),
    /// A struct: the path that builds one (`Mlp`, `model::Layer::<F>`,
    /// `Self`), and its fields.
    Struct {
        /// The path of a struct expression of this type.
        path: proc_macro2::TokenStream,
        /// Its fields, in declaration order.
        fields: Vec<(syn::Member, InputTree)>,
    },
}

impl InputTree {
    /// The indices of the parameters under this input, in field order.
    pub fn leaves(&self, out: &mut Vec<usize>) {
        match self {
            InputTree::Leaf(p) => out.push(*p),
            InputTree::Struct { fields, .. } => {
                for (_, f) in fields {
                    f.leaves(out);
                }
            }
        }
    }
}

/// The validated signature.
#[derive(Clone, Debug)]
pub struct SigInfo {
    /// The element type.
    pub elem: ElemTy,
    /// The parameters, in order: each float, array, slice, integer or bool
    /// the function reads, struct fields included (flattened, depth first).
    pub params: Vec<ParamInfo>,
    /// Indices of the differentiated parameters, in `wrt` order (every
    /// field of a differentiated struct).
    pub wrt: Vec<usize>,
    /// The parameters as the user wrote them.
    pub inputs: Vec<InputInfo>,
    /// Indices into [`SigInfo::inputs`] of the differentiated ones, in `wrt`
    /// order: what `NAME_grad` returns the gradient of.
    pub wrt_inputs: Vec<usize>,
    /// Structs (or struct fields) passed whole to calls, by the name the
    /// body rewrite put in their place (see `structs::rewrite_body`).
    pub struct_args: Vec<crate::structs::StructArg>,
    /// The number of floats returned: 1 for a loss, `n` for a helper
    /// returning a tuple of `n` (which gets one companion `NAME_vjp_k` per
    /// element and no `NAME_grad`).
    pub outputs: usize,
    /// The names of the `const N: usize` generic parameters: integers known
    /// at run time (to the macro).
    pub const_generics: Vec<String>,
    /// With `jvp` or `hessian`: the tangent of each differentiated input,
    /// as `NAME_jvp` and `NAME_hvp` take it (name and type: a struct's
    /// tangent is a struct of the same type).
    pub tangent_inputs: Vec<(Ident, Type)>,
    /// The tangent parameters that are fields of a struct tangent (bound
    /// from it only in the functions that take it).
    pub tangent_fields: Vec<usize>,
    /// Compiling the second-order companion, which differentiates every
    /// float parameter: one the function assigns to is differentiated with
    /// respect to its value on entry (the user's own `wrt` refuses that,
    /// to say so).
    pub companion: bool,
}

/// The length of an element dimension that is a constant the macro cannot
/// read (`INPUTS` of `&[[f64; INPUTS]; HIDDEN]`, a `const` item or generic
/// parameter): rustc knows it and checks indices into it at run time, so
/// rows of such a parameter are only ever indexed.
pub const NAMED_LEN: usize = usize::MAX;

const SUPPORTED_TYPES: &str = "supported parameter types are the float type (`f64`, `f32` or a generic `F: Float`), fixed-size arrays of it (`[f64; 9]`, `[[f64; 3]; 4]`), slices and `Vec`s of those (`&[f64]`, `&[[f64; 4]]`, `Vec<f64>`, `&Vec<f64>`), shared references (`&[f64; 9]`), structs with `#[derive(Params)]` (`net: &Mlp`), and, never differentiated, `bool`s, integers, and slices, `Vec`s and arrays of integers (`labels: &[usize]`)";

/// Checks the signature of a free function whose parameters are floats,
/// arrays, slices, integers and bools; pushes every problem found onto
/// `errors`.
pub fn check(sig: &syn::Signature, args: &Args, errors: &mut Vec<syn::Error>) -> Option<SigInfo> {
    check_with(sig, args, &Context::default(), errors)
}

/// Checks the signature, with the struct definitions (and the receiver's
/// type) of `ctx`; pushes every problem found onto `errors`.
pub fn check_with(
    sig: &syn::Signature,
    args: &Args,
    ctx: &Context,
    errors: &mut Vec<syn::Error>,
) -> Option<SigInfo> {
    let start = errors.len();
    if let Some(c) = &sig.constness {
        errors.push(syn::Error::new_spanned(
            c,
            "#[derive_grad] does not support `const fn`: remove `const`",
        ));
    }
    if let Some(a) = &sig.asyncness {
        errors.push(syn::Error::new_spanned(
            a,
            "#[derive_grad] does not support `async fn`: a loss function computes a value directly",
        ));
    }
    if let Some(v) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            v,
            "#[derive_grad] does not support variadic functions",
        ));
    }
    // A method's own type parameters, and its impl block's.
    let generic_floats: Vec<Ident> = sig
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(t.ident.clone()),
            _ => None,
        })
        .chain(ctx.impl_type_params.iter().cloned())
        .collect();
    let const_generics: Vec<String> = sig
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Const(c) => Some(c.ident.to_string()),
            _ => None,
        })
        .collect();

    let mut outputs = 1;
    let elem = match &sig.output {
        ReturnType::Default => {
            errors.push(syn::Error::new(
                sig.paren_token.span.close(),
                "a #[derive_grad] function must return the loss as a float: add `-> f64` (or `-> f32`, or `-> F` for a generic `F: Float`)",
            ));
            None
        }
        ReturnType::Type(_, ty) => match elem_of(ty, &generic_floats) {
            Some(e) => Some(e),
            // A helper returning several floats: `-> (f64, f64)`.
            None if tuple_elem(ty, &generic_floats).is_some() => {
                let (e, n) = tuple_elem(ty, &generic_floats).expect("checked");
                outputs = n;
                Some(e)
            }
            None => {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "a #[derive_grad] function must return a float (`f64`, `f32` or a generic `F: Float`), the loss whose gradient is taken, or a tuple of floats (`(f64, f64)`: a helper other #[derive_grad] functions call); an array is not supported as a result: return its elements as a tuple, or compute it in the loss itself",
                ));
                None
            }
        },
    };

    let mut params: Vec<ParamInfo> = Vec::new();
    let mut inputs: Vec<InputInfo> = Vec::new();
    for input in &sig.inputs {
        let (name, ty) = match input {
            FnArg::Receiver(r) => match &ctx.self_ty {
                Some(self_ty) => (Ident::new("self", r.self_token.span), self_ty.clone()),
                None => {
                    errors.push(syn::Error::new_spanned(
                        r,
                        "#[derive_grad] on a method needs its type, which an attribute on a method cannot see: put `#[derive_grad]` on the `impl` block as well (`#[derive_grad] impl Model { #[derive_grad] fn loss(&self, …) -> f64 { … } }`), and `#[derive(Params)]` on the struct",
                    ));
                    continue;
                }
            },
            FnArg::Typed(pt) => match &*pt.pat {
                Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                    (pi.ident.clone(), (*pt.ty).clone())
                }
                other => {
                    errors.push(syn::Error::new_spanned(
                        other,
                        "#[derive_grad] needs each parameter to be a plain name (`w: [f64; 9]`): destructure it inside the body instead",
                    ));
                    continue;
                }
            },
        };
        let Some(elem) = &elem else { continue };
        let tree = if let Some((path, def)) = ctx.struct_of(&ty) {
            let root = name.to_string();
            let access = name.to_token_stream();
            let self_path = matches!(input, FnArg::Receiver(_)).then(|| quote::quote!(Self));
            match crate::structs::flatten(
                ctx,
                def,
                path,
                self_path,
                &root,
                access,
                name.span(),
                elem,
                &mut params,
            ) {
                Ok(tree) => tree,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            }
        } else {
            match param_kind(&ty, elem) {
                Ok((kind, by_ref)) => {
                    params.push(ParamInfo {
                        display: name.to_string(),
                        name: name.clone(),
                        kind,
                        by_ref,
                        ty: ty.clone(),
                        access: None,
                    });
                    InputTree::Leaf(params.len() - 1)
                }
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            }
        };
        inputs.push(InputInfo {
            name,
            arg: input.clone(),
            tree,
        });
    }
    crate::structs::unique_field_names(&mut params, &ctx.mentioned);

    let is_float_input = |i: &InputInfo| match &i.tree {
        InputTree::Leaf(p) => params[*p].is_float(),
        InputTree::Struct { .. } => true,
    };
    let mut wrt_inputs = Vec::new();
    // In a method, the first parameter after the receiver.
    let first = usize::from(
        matches!(sig.inputs.first(), Some(FnArg::Receiver(_)))
            && inputs.first().is_some_and(|i| i.name == "self"),
    );
    match &args.wrt {
        None => match inputs.get(first) {
            Some(p) if is_float_input(p) => wrt_inputs.push(first),
            Some(p) => errors.push(syn::Error::new_spanned(
                &p.name,
                format!(
                    "#[derive_grad] differentiates with respect to the first parameter, and `{}` is not a float or an array of floats: put the parameters to differentiate first, or name them with #[derive_grad(wrt(...))]",
                    p.name
                ),
            )),
            None if errors.len() == start => errors.push(syn::Error::new(
                sig.ident.span(),
                "a #[derive_grad] function needs at least one parameter to differentiate with respect to",
            )),
            None => {}
        },
        Some(names) => {
            for n in names {
                match inputs.iter().position(|p| p.name == *n) {
                    Some(i) if !is_float_input(&inputs[i]) => errors.push(syn::Error::new_spanned(
                        n,
                        format!("cannot differentiate with respect to `{n}`: it is not a float or an array of floats ({SUPPORTED_TYPES})"),
                    )),
                    Some(i) if wrt_inputs.contains(&i) => errors.push(syn::Error::new_spanned(n, format!("`{n}` is named twice in `wrt`"))),
                    Some(i) => wrt_inputs.push(i),
                    None => {
                        let known: Vec<String> = inputs.iter().map(|p| format!("`{}`", p.name)).collect();
                        errors.push(syn::Error::new_spanned(
                            n,
                            format!("`wrt` names `{n}`, which is not a parameter of this function; its parameters are {}", known.join(", ")),
                        ))
                    }
                }
            }
        }
    }
    let mut wrt = Vec::new();
    for &i in &wrt_inputs {
        inputs[i].tree.leaves(&mut wrt);
    }
    if errors.len() > start {
        return None;
    }
    Some(SigInfo {
        elem: elem?,
        params,
        wrt,
        inputs,
        wrt_inputs,
        struct_args: Vec::new(),
        outputs,
        const_generics,
        tangent_inputs: Vec::new(),
        tangent_fields: Vec::new(),
        companion: false,
    })
}

fn elem_of(ty: &Type, generics: &[Ident]) -> Option<ElemTy> {
    match ty {
        Type::Path(tp) if tp.qself.is_none() => {
            let id = tp.path.get_ident()?;
            if id == "f64" {
                Some(ElemTy::F64)
            } else if id == "f32" {
                Some(ElemTy::F32)
            } else if generics.contains(id) {
                Some(ElemTy::Generic(id.clone()))
            } else {
                None
            }
        }
        Type::Paren(p) => elem_of(&p.elem, generics),
        Type::Group(g) => elem_of(&g.elem, generics),
        _ => None,
    }
}

/// `(F, F, …)` of at least two floats: the element type and the count.
fn tuple_elem(ty: &Type, generics: &[Ident]) -> Option<(ElemTy, usize)> {
    let Type::Tuple(t) = ty else { return None };
    if t.elems.len() < 2 {
        return None;
    }
    let first = elem_of(&t.elems[0], generics)?;
    t.elems
        .iter()
        .all(|e| elem_of(e, generics).as_ref() == Some(&first))
        .then_some((first, t.elems.len()))
}

fn is_elem(ty: &Type, elem: &ElemTy) -> bool {
    match (ty, elem) {
        (Type::Path(tp), _) if tp.qself.is_none() => match (tp.path.get_ident(), elem) {
            (Some(id), ElemTy::F64) => id == "f64",
            (Some(id), ElemTy::F32) => id == "f32",
            (Some(id), ElemTy::Generic(g)) => id == g,
            _ => false,
        },
        (Type::Paren(p), _) => is_elem(&p.elem, elem),
        (Type::Group(g), _) => is_elem(&g.elem, elem),
        _ => false,
    }
}

fn elem_name(elem: &ElemTy) -> String {
    match elem {
        ElemTy::F64 => "f64".into(),
        ElemTy::F32 => "f32".into(),
        ElemTy::Generic(g) => g.to_string(),
    }
}

pub(crate) fn param_kind(ty: &Type, elem: &ElemTy) -> syn::Result<(ParamKind, bool)> {
    match ty {
        Type::Reference(r) => {
            if let Some(m) = &r.mutability {
                return Err(syn::Error::new_spanned(
                    m,
                    "#[derive_grad] does not support `&mut` parameters: a loss function only reads its inputs; take `&[f64; N]` or the value",
                ));
            }
            if let Type::Slice(slice) = &*r.elem {
                if is_int_type(&slice.elem) {
                    return Ok((ParamKind::IntSlice, true));
                }
                return Ok((slice_kind(&slice.elem, elem, ty)?, true));
            }
            let (kind, inner_ref) = param_kind(&r.elem, elem)?;
            if inner_ref {
                return Err(syn::Error::new_spanned(
                    ty,
                    "a reference to a reference is not supported: take `&T` once",
                ));
            }
            Ok((kind, true))
        }
        Type::Paren(p) => param_kind(&p.elem, elem),
        Type::Group(g) => param_kind(&g.elem, elem),
        Type::Array(arr) if is_int_type(&arr.elem) => Ok((ParamKind::IntSlice, false)),
        Type::Array(arr) if has_named_len(ty) => {
            // `[f64; N]`, `[[f64; INPUTS]; HIDDEN]`: lengths the macro
            // cannot read, known to rustc. Read at indices, as a slice.
            let ParamKind::Slice {
                inner,
                inner_written,
                ..
            } = slice_kind(&arr.elem, elem, ty)?
            else {
                unreachable!("slice_kind gives a slice")
            };
            Ok((
                ParamKind::Slice {
                    inner,
                    inner_written,
                    array_len: Some(arr.len.clone()),
                },
                false,
            ))
        }
        _ => {
            // (Every length is a literal here: `has_named_len` is false.)
            if let Some(shape) = written_dims(ty, elem).map(|dims| shape_of(&dims)) {
                let count = shape.iter().try_fold(1usize, |a, &n| a.checked_mul(n));
                if !matches!(count, Some(n) if n <= crate::lower::MAX_NODES) {
                    return Err(syn::Error::new_spanned(
                        ty,
                        format!(
                            "this array has {} elements, more than the {} #[derive_grad] can write out one by one: split the parameter, or pass a smaller array",
                            count.map_or_else(|| "more than 2^64".to_owned(), |n| n.to_string()),
                            crate::lower::MAX_NODES
                        ),
                    ));
                }
                return Ok((ParamKind::Float { shape }, false));
            }
            if let Some(item) = vec_item(ty) {
                if is_int_type(item) {
                    return Ok((ParamKind::IntSlice, false));
                }
                return Ok((slice_kind(item, elem, ty)?, false));
            }
            if let Type::Path(tp) = ty {
                if let Some(id) = tp.path.get_ident() {
                    let s = id.to_string();
                    if s == "bool" {
                        return Ok((ParamKind::Bool, false));
                    }
                    if is_int_type(ty) {
                        return Ok((ParamKind::Int, false));
                    }
                    if (s == "f64" || s == "f32") && s != elem_name(elem) {
                        return Err(syn::Error::new_spanned(
                            ty,
                            format!(
                                "this parameter is `{s}` but the function returns `{}`: a #[derive_grad] function computes in one float type; convert outside the function",
                                elem_name(elem)
                            ),
                        ));
                    }
                }
            }
            Err(syn::Error::new_spanned(
                ty,
                format!("unsupported parameter type: {SUPPORTED_TYPES}"),
            ))
        }
    }
}

/// Whether `ty` is a primitive integer type (`usize`, `i32`, …).
fn is_int_type(ty: &Type) -> bool {
    match ty {
        Type::Path(tp) if tp.qself.is_none() => tp.path.get_ident().is_some_and(|id| {
            matches!(
                id.to_string().as_str(),
                "usize" | "isize" | "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64"
            )
        }),
        Type::Paren(p) => is_int_type(&p.elem),
        Type::Group(g) => is_int_type(&g.elem),
        _ => false,
    }
}

/// `T` of `Vec<T>` (also `std::vec::Vec<T>`).
fn vec_item(ty: &Type) -> Option<&Type> {
    let Type::Path(tp) = ty else { return None };
    let last = tp.path.segments.last()?;
    if tp.qself.is_some() || last.ident != "Vec" {
        return None;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => match &a.args[0] {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// The kind of a slice or `Vec` of `item` (a float or a fixed-size array of
/// floats), `whole` being the parameter's type.
fn slice_kind(item: &Type, elem: &ElemTy, whole: &Type) -> syn::Result<ParamKind> {
    match written_dims(item, elem) {
        Some(inner_written) => {
            let inner = shape_of(&inner_written);
            let count = inner
                .iter()
                .filter(|&&n| n != NAMED_LEN)
                .try_fold(1usize, |a, &n| a.checked_mul(n));
            if !matches!(count, Some(n) if n <= crate::lower::MAX_NODES) {
                return Err(syn::Error::new_spanned(
                    item,
                    "each element of this slice is too large an array: split the parameter",
                ));
            }
            Ok(ParamKind::Slice {
                inner,
                inner_written,
                array_len: None,
            })
        }
        None => Err(syn::Error::new_spanned(
            whole,
            format!("a slice or `Vec` parameter holds the function's float type or fixed-size arrays of it (`&[{0}]`, `&[[{0}; 4]]`, `Vec<{0}>`)", elem_name(elem)),
        )),
    }
}

/// The dimensions of a (nested) float array type as written, outermost
/// first (`Some(vec![])` for the scalar): integer literals or named
/// constants.
fn written_dims(ty: &Type, elem: &ElemTy) -> Option<Vec<syn::Expr>> {
    match ty {
        // A length that is not a literal (`N`, `2 * N`) is a constant
        // rustc evaluates: the generated types repeat it as written.
        Type::Array(arr) => written_dims(&arr.elem, elem).map(|mut inner| {
            inner.insert(0, arr.len.clone());
            inner
        }),
        Type::Paren(p) => written_dims(&p.elem, elem),
        Type::Group(g) => written_dims(&g.elem, elem),
        _ if is_elem(ty, elem) => Some(Vec::new()),
        _ => None,
    }
}

/// Whether some dimension of a (nested) array type is a constant the
/// macro cannot read (`N`, `2 * N`).
fn has_named_len(ty: &Type) -> bool {
    match ty {
        Type::Array(arr) => array_len(&arr.len).is_none() || has_named_len(&arr.elem),
        Type::Paren(p) => has_named_len(&p.elem),
        Type::Group(g) => has_named_len(&g.elem),
        _ => false,
    }
}

/// The lengths of written dimensions, a named one as [`NAMED_LEN`].
fn shape_of(dims: &[syn::Expr]) -> Vec<usize> {
    dims.iter()
        .map(|e| array_len(e).unwrap_or(NAMED_LEN))
        .collect()
}

/// Whether an array length is a named constant (`N`, `consts::N`).
pub(crate) fn is_const_path(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Path(p) => p.qself.is_none(),
        syn::Expr::Group(g) => is_const_path(&g.expr),
        syn::Expr::Paren(p) => is_const_path(&p.expr),
        syn::Expr::Block(b) => {
            b.block.stmts.len() == 1
                && matches!(&b.block.stmts[0], syn::Stmt::Expr(e, None) if is_const_path(e))
        }
        _ => false,
    }
}

fn array_len(e: &syn::Expr) -> Option<usize> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_parse().ok(),
        syn::Expr::Group(g) => array_len(&g.expr),
        syn::Expr::Paren(p) => array_len(&p.expr),
        _ => None,
    }
}
