//! The reverse of a call passing slices ([`crate::graph::Op::Pullback`]): the callee's
//! `NAME_pullback` called with the call's adjoint, the caller's adjoint
//! buffers and its tape; and of a direction call passing slices, whose
//! result's vectors are added into adjoint buffers
//! ([`crate::graph::Op::AddCallSlice`]).

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::quote;

use super::{call_args, local, slice_zero, Emitter, Stmt};
use crate::graph::{Id, Op};

impl Emitter<'_> {
    /// `let pb = f_pullback(args…, seed, (&mut d_x, (), …));`: the reverse
    /// of call `k` passing slices ([`Op::Pullback`]), under its guard.
    pub(super) fn emit_pullback(&mut self, k: u32, id: Id, stmts: &mut Vec<Stmt>) {
        let g = self.g;
        let node = g.get(id);
        let info = &g.calls[k as usize];
        let n_flat = info.flat_total();
        let a: Vec<TokenStream> = node.args[..1 + n_flat]
            .iter()
            .map(|&x| self.arg(x))
            .collect();
        let seed = &a[0];
        let flat = &a[1..1 + n_flat];
        let args = call_args(info, flat);
        // One place per argument: the adjoint buffer of a slice (or its
        // range), an empty one where none is wanted, `()` for any other;
        // and whether it is wanted, as a type (`Wanted`, `Unwanted`, or a
        // pullback's own `want.k` for its caller's buffer, passed on).
        // A buffer passed twice (`dot(w, w)`) cannot be borrowed twice:
        // the second time, a zeroed one, added into it after the call.
        let mut buffers = node.args[1 + n_flat..].iter();
        let mut seen = HashSet::new();
        let mut after = Vec::new();
        let mut at = 0;
        let mut places = Vec::new();
        let mut wants = Vec::new();
        let unwanted = quote!(::backprop::__private::Unwanted);
        for (k, slice) in info.slices.iter().enumerate() {
            let first = at;
            at += info.flat_len(k);
            let Some(slice) = slice else {
                places.push(quote!(()));
                wants.push(unwanted.clone());
                continue;
            };
            let b = *buffers.next().expect("one per slice");
            // Wanted where what the pullback leaves in the buffer is read.
            if !self.read_after_pullback.contains(&(b, id)) {
                places.push(quote!(&mut []));
                wants.push(unwanted.clone());
                continue;
            }
            // This pullback's own caller's buffer: passed on only if that
            // caller wants it (else it may be empty, and a range of it
            // would panic).
            let passed_on = self.wants.get(&g.storage(b)).cloned();
            wants.push(match &passed_on {
                Some(want) => want.clone(),
                None => quote!(::backprop::__private::Wanted),
            });
            let only_if_wanted = |place: TokenStream| match &passed_on {
                Some(want) => quote! {
                    (if ::backprop::__private::wanted(#want) { #place } else { &mut [] })
                },
                None => place,
            };
            let buf = self.arg(b);
            let target = if slice.range {
                let (start, end) = (&flat[first + 1], &flat[first + 2]);
                quote!(#buf[(#start)..(#end)])
            } else {
                quote!(#buf[..])
            };
            if seen.insert(g.storage(b)) {
                places.push(only_if_wanted(quote!(&mut #target)));
                continue;
            }
            let twice = local(&self.names.fresh("twice"));
            let zero = slice_zero(&slice.inner, self.elem);
            let arg = &args[k];
            stmts.push(Stmt::Raw(
                quote!(let mut #twice = ::std::vec![#zero; (#arg).len()];),
            ));
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
            let add_in = quote! {
                for (#into, #from) in #target.iter_mut().zip(&#twice) {
                    #add
                }
            };
            after.push(match &passed_on {
                Some(want) => quote!(if ::backprop::__private::wanted(#want) { #add_in }),
                None => add_in,
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
        let call = quote!(#path(#(#args,)* #seed, (#(#places,)*), #tape, (#(#wants,)*)));
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

    /// `d_x[a..b] += seed · r.2.k` (H·t's part for argument `arg`, or the
    /// gradient's, `r.1.k`) from the direction call's result `r`, element
    /// by element (nested for a slice of arrays); nothing where the call
    /// did not run (under a run-time condition).
    pub(super) fn emit_add_call_slice(
        &mut self,
        id: Id,
        gradient: bool,
        arg: u32,
        stmts: &mut Vec<Stmt>,
    ) {
        let g = self.g;
        let node = g.get(id);
        let buf = self.arg(node.args[0]);
        let seed = self.arg(node.args[1]);
        let call = node.args[2];
        let Op::CallDir(k) = g.get(call).op else {
            unreachable!("adds a direction call's result")
        };
        let depth = g.calls[k as usize].slices[arg as usize]
            .as_ref()
            .map_or(0, |s| s.inner.len());
        let target = match &node.args[3..] {
            [start, end] => {
                let (start, end) = (self.arg(*start), self.arg(*end));
                quote!(#buf[(#start)..(#end)])
            }
            _ => quote!(#buf[..]),
        };
        let result = self.call_grads[call.index()]
            .clone()
            .expect("a direction call's result is named");
        let slot = match gradient {
            true => quote!(1),
            false => quote!(2),
        };
        let arg = syn::Index::from(arg as usize);
        let (into, from, r) = (
            local(&self.names.fresh("into")),
            local(&self.names.fresh("from")),
            local(&self.names.fresh("r")),
        );
        let flat = (0..depth).map(|_| quote!(.flatten()));
        let flat_too = flat.clone();
        let add = quote! {
            for (#into, #from) in #target.iter_mut() #(#flat)* .zip((#r.#slot).#arg.iter() #(#flat_too)*) {
                *#into = *#into + #seed * *#from;
            }
        };
        stmts.push(Stmt::Raw(if self.guarded_calls.contains(&call.index()) {
            quote!(if let ::core::option::Option::Some(#r) = &#result { #add })
        } else {
            quote!({ let #r = &#result; #add })
        }));
        self.expr[id.index()] = Some(buf);
    }
}
