//! The reverse of a call passing slices ([`crate::graph::Op::Pullback`]): the callee's
//! `NAME_pullback` called with the call's adjoint, the caller's adjoint
//! buffers and its tape.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::quote;

use super::{call_args, local, zero_expr, Emitter, Stmt};
use crate::graph::{Id, Kind};

impl Emitter<'_> {
    /// `let pb = f_pullback(args…, seed, (&mut d_x, (), …));`: the reverse
    /// of call `k` passing slices ([`Op::Pullback`]), under its guard.
    pub(super) fn emit_pullback(&mut self, k: u32, id: Id, stmts: &mut Vec<Stmt>) {
        let g = self.g;
        let node = g.get(id);
        let info = &g.calls[k as usize];
        let n_flat = info.flat_total();
        let a: Vec<TokenStream> = node.args.iter().map(|&x| self.arg(x)).collect();
        let seed = &a[0];
        let flat = &a[1..1 + n_flat];
        let args = call_args(info, flat);
        // One place per argument: the adjoint buffer of a slice (or its
        // range), a zeroed one where none is wanted, `()` for any other.
        // A buffer passed twice (`dot(w, w)`) cannot be borrowed twice:
        // the second time, a zeroed one, added into it after the call.
        let mut buffers = node.args[1 + n_flat..].iter();
        let mut seen = HashSet::new();
        let mut after = Vec::new();
        let mut at = 0;
        let mut places = Vec::new();
        for (k, slice) in info.slices.iter().enumerate() {
            let first = at;
            at += info.flat_len(k);
            let Some(slice) = slice else {
                places.push(quote!(()));
                continue;
            };
            let b = *buffers.next().expect("one per slice");
            let zeros = || {
                let zero = slice
                    .inner
                    .iter()
                    .rev()
                    .fold(zero_expr(self.elem), |z, n| quote!([#z; #n]));
                let arg = &args[k];
                quote!(::std::vec![#zero; (#arg).len()])
            };
            if g.kinds[b.index()] != Kind::Buffer {
                let zeros = zeros();
                places.push(quote!(&mut #zeros));
                continue;
            }
            let buf = self.arg(b);
            let target = if slice.range {
                let (start, end) = (&flat[first + 1], &flat[first + 2]);
                quote!(#buf[(#start)..(#end)])
            } else {
                quote!(#buf[..])
            };
            if seen.insert(g.storage(b)) {
                places.push(quote!(&mut #target));
                continue;
            }
            let twice = local(&self.names.fresh("twice"));
            let zeros = zeros();
            stmts.push(Stmt::Raw(quote!(let mut #twice = #zeros;)));
            // Element by element (nested for a slice of arrays), with
            // names of the emitter's own: a user's outer item named `a`
            // would make the pattern `a` a match against it.
            let (into, from) = (
                local(&self.names.fresh("into")),
                local(&self.names.fresh("from")),
            );
            let add = (0..slice.inner.len()).fold(
                quote!(*#into = *#into + *#from;),
                |body, _| quote!(for (#into, #from) in #into.iter_mut().zip(#from) { #body }),
            );
            after.push(quote! {
                for (#into, #from) in #target.iter_mut().zip(&#twice) {
                    #add
                }
            });
            places.push(quote!(&mut #twice));
        }
        let path = &info.pullback_path;
        let tape = self
            .tape
            .clone()
            .expect("a function calling pullbacks has a tape");
        let tape = if self.tape_is_ref {
            quote!(&mut *#tape)
        } else {
            quote!(&mut #tape)
        };
        let call = quote!(#path(#(#args,)* #seed, (#(#places,)*), #tape));
        // Not `NAME_pullback`, which would hide the companion it calls.
        let name = local(&self.names.fresh(&format!("{}_back", info.callee)));
        match g.guards.get(&id) {
            Some(&c) => {
                let c = self.arg(c);
                stmts.push(Stmt::Let(
                    vec![name.clone()],
                    quote!(if #c { ::core::option::Option::Some(#call) } else { ::core::option::Option::None }),
                ));
                self.guarded_calls.insert(id.index());
            }
            None => stmts.push(Stmt::Let(vec![name.clone()], call)),
        }
        stmts.extend(after.into_iter().map(Stmt::Raw));
        self.call_grads[id.index()] = Some(name.clone());
        self.emitted_name[id.index()] = Some(name.to_string());
        self.expr[id.index()] = Some(quote!(#name));
    }
}
