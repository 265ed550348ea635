//! Emission of rolled loops: a loop region as a `for` (or `loop`), its
//! carried values, the tape's pushes and pops, the counter of a loop that
//! may stop early, the tape's reservation, and a reverse loop fused into
//! its forward loop (the version of a loop that reads rows of slices is
//! in [`super::rows`]).

use proc_macro2::{Literal, TokenStream};
use quote::{quote, ToTokens};

use super::{bindings, local, Emitter, Stmt};
use crate::graph::{Id, Kind, Op};

impl Emitter<'_> {
    /// A rolled loop: its carried values as mutable variables, then
    /// `for var in lo..hi { body; carried = yields; }`. A loop that
    /// reverses another first pops what that one pushed.
    pub(super) fn emit_loop(&mut self, l: u32, id: Id, stmts: &mut Vec<Stmt>) {
        let g = self.g;
        let info = &g.loops[l as usize];
        let args = &g.get(id).args;
        let (lo, hi) = (self.arg(args[0]), self.arg(args[1]));
        let mut reserve = None;
        if g.region_of[id.index()] == 0 {
            // One allocation for everything this loop nest pushes, where
            // the counts are known on entry (else the tape grows); only if
            // the loop runs (a recursion's last call runs none).
            if let (Some(tape), Some(count)) = (self.tape.clone(), self.pushes(id)) {
                reserve = Some(match count {
                    Count::Known(n) => {
                        let n = Literal::usize_unsuffixed(n.min(MAX_TAPE_RESERVE));
                        quote!(#tape.reserve(#n);)
                    }
                    Count::Expr(n) => {
                        quote!(#tape.reserve(::core::cmp::min(#n, #MAX_TAPE_RESERVE));)
                    }
                });
            }
        }
        // A reverse loop that needs nothing computed after this loop runs
        // inside it, iteration by iteration (one pass, no tape).
        let fused = self.fusable_reverse(l, id);
        let mut fused_updates = Vec::new();
        if let Some((_, rnode)) = fused {
            fused_updates = self.fused_prologue(rnode, stmts);
        }
        let mut updated = Vec::new();
        for (k, &c) in info.carried.iter().enumerate() {
            if !self.live[c.index()] {
                continue;
            }
            let init = self.arg(args[2 + k]);
            if info.kinds[k] == Kind::Buffer {
                // In place: the buffer is one variable throughout.
                self.expr[c.index()] = Some(init);
                continue;
            }
            let base = info.names[k].clone().unwrap_or_else(|| "carry".to_owned());
            let name = local(&self.names.fresh(&base));
            if info.yields[k] == c {
                stmts.push(Stmt::Raw(quote!(let #name = #init;)));
            } else {
                stmts.push(Stmt::Raw(quote!(let mut #name = #init;)));
                updated.push(k);
            }
            self.emitted_name[c.index()] = Some(name.to_string());
            self.expr[c.index()] = Some(quote!(#name));
        }
        let rev_var_live = fused.is_some_and(|(r, _)| self.live[g.loops[r as usize].var.index()]);
        let var = if self.live[info.var.index()] || rev_var_live {
            let name = local(&self.names.fresh(info.var_name.as_deref().unwrap_or("i")));
            self.expr[info.var.index()] = Some(quote!(#name));
            if let Some((r, _)) = fused {
                // The reverse's iteration is this one.
                self.expr[g.loops[r as usize].var.index()] = Some(quote!(#name));
            }
            quote!(#name)
        } else {
            quote!(_)
        };
        let trips = info.counted().then(|| {
            let trips = local(&self.names.fresh("trips"));
            stmts.push(Stmt::Raw(quote!(let mut #trips = 0usize;)));
            self.trips.insert(l, trips.clone());
            trips
        });
        let carries = self.plan_carries(l, id, fused, stmts);
        let rows = if carries.is_empty() {
            self.row_reads(l, id, fused)
        } else {
            Vec::new()
        };
        let body = self.loop_body(l, fused, &fused_updates, &updated, &carries, trips.as_ref());
        let range = if info.inclusive {
            quote!(#lo..=#hi)
        } else {
            quote!(#lo..#hi)
        };
        // A counted loop's reverse finds its variable in the same range
        // value (so of the type the forward loop's use gave it).
        let range = if info.counted() && !info.is_while {
            let name = local(&self.names.fresh("range"));
            stmts.push(Stmt::Raw(quote!(let #name = #range;)));
            self.ranges.insert(l, name.clone());
            quote!(#name.clone())
        } else {
            range
        };
        let range = if info.reversed {
            quote!((#range).rev())
        } else {
            range
        };
        let body = bindings(body);
        let the_loop = if info.is_while {
            quote!(loop { #(#body)* })
        } else {
            quote!(for #var in #range { #(#body)* })
        };
        // Reads `x[base + i]` of slices: where each row `x[base..base +
        // hi]` is in bounds (every read the loop makes is), the loop runs
        // again with the reads from the rows, whose bounds the optimizer
        // knows (no check per read); else as written, panicking where the
        // original does.
        let the_loop = if rows.is_empty() {
            the_loop
        } else {
            let (names, gets) = self.take_rows(&rows, &hi, &var);
            let fast = self.loop_body(l, fused, &fused_updates, &updated, &carries, trips.as_ref());
            self.drop_rows(&rows);
            let fast = bindings(fast);
            quote! {
                if let (#(::core::option::Option::Some(#names),)*) = (#(#gets,)*) {
                    for #var in #range { #(#fast)* }
                } else {
                    #the_loop
                }
            }
        };
        stmts.push(Stmt::Raw(match info.guard {
            Some(c) => {
                let c = self.arg(c);
                quote!(if #c { #reserve #the_loop })
            }
            None => quote!(#reserve #the_loop),
        }));
        // The last iteration's `i + 1` contributions, where they belong.
        for c in &carries {
            let buf = self.arg(g.get(c.site).args[0]);
            let carry = &c.carry;
            let update = match self.elem {
                crate::signature::ElemTy::Generic(_) => quote!(#buf[#hi] = #buf[#hi] + #carry;),
                _ => quote!(#buf[#hi] += #carry;),
            };
            stmts.push(Stmt::Raw(quote!(if #lo < #hi { #update })));
        }
    }

    /// The body of loop `l` (with the reverse `fused` into it): the pops,
    /// the body's nodes, the pushes, the carried values' updates.
    fn loop_body(
        &mut self,
        l: u32,
        fused: Option<(u32, Id)>,
        fused_updates: &[usize],
        updated: &[usize],
        carries: &[Carry],
        trips: Option<&proc_macro2::Ident>,
    ) -> Vec<Stmt> {
        let g = self.g;
        let info = &g.loops[l as usize];
        let mut body = Vec::new();
        // Pops, in the reverse order of the pushes (a slice's length, on
        // its own integer tape, before the slice).
        // (The body may be emitted twice, for the rows of slices: each
        // time pops anew.)
        let tape = self.tape.clone();
        let mut popped = std::collections::HashSet::new();
        for &r in info.restores.iter().rev() {
            if !self.live[r.index()] || !popped.insert(r) {
                continue;
            }
            if g.kinds[r.index()] == Kind::Buffer {
                let len = g.get(r).args[0];
                if matches!(g.get(len).op, Op::Restore { .. }) && popped.insert(len) {
                    self.pop(len, &mut body);
                }
                let name = self.restored_slices[&r].clone();
                let len = self.arg(len);
                body.push(Stmt::Raw(quote! {
                    #name.clear();
                    #name.extend_from_slice(&#tape[#tape.len() - #len..]);
                    #tape.truncate(#tape.len() - #len);
                }));
                self.expr[r.index()] = Some(quote!(#name));
                continue;
            }
            self.pop(r, &mut body);
        }
        // A `while` checks its condition before anything else of the body
        // runs (the condition's own nodes come first in the body).
        let check = |e: &Self, c: Id| {
            let c = e.arg(c);
            Stmt::Raw(quote!(if !(#c) { break; }))
        };
        match info.cond {
            Some(c) if g.region_of[c.index()] == info.body => {
                for n in self.region_nodes[info.body as usize].clone() {
                    if !self.emitted_ahead.remove(&n) {
                        self.node(n, &mut body);
                    }
                    if n == c.index() {
                        body.push(check(self, c));
                    }
                }
            }
            Some(c) => {
                body.push(check(self, c));
                self.region(info.body, &mut body);
            }
            None => self.region(info.body, &mut body),
        }
        if let Some((r, _)) = fused {
            let rinfo = &g.loops[r as usize];
            self.region(rinfo.body, &mut body);
            if !fused_updates.is_empty() {
                let targets: Vec<TokenStream> = fused_updates
                    .iter()
                    .map(|&k| self.arg(rinfo.carried[k]))
                    .collect();
                let values: Vec<TokenStream> = fused_updates
                    .iter()
                    .map(|&k| self.arg(rinfo.yields[k]))
                    .collect();
                body.push(Stmt::Raw(quote!((#(#targets,)*) = (#(#values,)*);)));
            }
        }
        // Pushes, for the loop that reverses this one.
        if let Some(rev) = g.loops.iter().find(|r| r.reverses == Some(l)) {
            for (k, &v) in info.tape.iter().enumerate() {
                let r = rev.restores[k];
                if self.live[r.index()] && g.kinds[r.index()] == Kind::Buffer {
                    // A slice a call read: its contents.
                    let v = self.arg(v);
                    body.push(Stmt::Raw(quote!(#tape.extend_from_slice(&#v);)));
                    continue;
                }
                if self.live[r.index()] {
                    let v = self.arg(v);
                    let to = self
                        .int_tapes
                        .get(&r)
                        .cloned()
                        .map_or(quote!(#tape), |t| quote!(#t));
                    body.push(Stmt::Raw(quote!(#to.push(#v);)));
                }
            }
        }
        if !updated.is_empty() {
            let targets: Vec<TokenStream> =
                updated.iter().map(|&k| self.arg(info.carried[k])).collect();
            let values: Vec<TokenStream> =
                updated.iter().map(|&k| self.arg(info.yields[k])).collect();
            body.push(Stmt::Raw(if updated.len() == 1 {
                let (t, v) = (&targets[0], &values[0]);
                quote!(#t = #v;)
            } else {
                quote!((#(#targets),*) = (#(#values),*);)
            }));
        }
        for c in carries {
            let (carry, next) = (&c.carry, &c.next);
            body.push(Stmt::Raw(quote!(#carry = #next;)));
        }
        if let Some(trips) = trips {
            body.push(Stmt::Raw(quote!(#trips += 1;)));
        }
        if let Some(exit) = info.exit {
            let exit = self.arg(exit);
            body.push(Stmt::Raw(quote!(if #exit { break; })));
        }
        body
    }

    /// The scatter-adds of loop `l` (and of the reverse fused into it)
    /// into `b[i]` and `b[i + 1]` of a fresh zero buffer `b` that nothing
    /// else in the loop touches, `i` the loop's variable counting up by
    /// one: the `i + 1` contribution is kept in a register (`next`) and
    /// added into `b[i]` by the next iteration with its own (`b[i] +=
    /// carry + v`), instead of being stored and loaded back in the next
    /// iteration (a store-to-load chain through memory, Rosenbrock's H·v).
    /// Exactly the same sums: `0 + (a + v)` equals `(0 + a) + v` in every
    /// case, signed zeros included. Declares the registers before the
    /// loop and marks the two sites; the caller moves `next` into `carry`
    /// at the end of each iteration and adds the last `carry` after it.
    fn plan_carries(
        &mut self,
        l: u32,
        id: Id,
        fused: Option<(u32, Id)>,
        stmts: &mut Vec<Stmt>,
    ) -> Vec<Carry> {
        let g = self.g;
        let info = &g.loops[l as usize];
        if info.reversed
            || info.is_while
            || info.inclusive
            || info.exit.is_some()
            || info.cond.is_some()
            || info.guard.is_some()
        {
            return Vec::new();
        }
        // The loops whose bodies run here, each with its variable and the
        // node holding its buffers' initial values.
        let mut bodies = vec![(info.body, info.var, l, id)];
        if let Some((r, rnode)) = fused {
            let rinfo = &g.loops[r as usize];
            bodies.push((rinfo.body, rinfo.var, r, rnode));
        }
        let in_body = |n: usize| bodies.iter().any(|b| g.region_of[n] == b.0);
        // Anything else in the bodies (a nested loop, an array built)
        // makes the plan more than it is worth checking.
        for b in &bodies {
            for &n in &self.region_nodes[b.0 as usize] {
                if matches!(g.get(Id(n as u32)).op, Op::Loop(_)) {
                    return Vec::new();
                }
            }
        }
        let mut out = Vec::new();
        for &(body, var, lp, lnode) in &bodies {
            let linfo = &g.loops[lp as usize];
            for (k, &c) in linfo.carried.iter().enumerate() {
                if linfo.kinds[k] != Kind::Buffer || !self.live[c.index()] {
                    continue;
                }
                let init = g.get(lnode).args[2 + k];
                if !matches!(g.get(init).op, Op::Zeros(_) | Op::ZerosLike(_)) {
                    continue;
                }
                let storage = g.storage(c);
                // (A gradient a pullback's caller may not want is added
                // to under a condition, not carried.)
                if self.wants.contains_key(&storage) {
                    continue;
                }
                // Every live node of the bodies reading this buffer.
                let users: Vec<usize> = (0..g.len())
                    .filter(|&n| self.live[n] && in_body(n))
                    .filter(|&n| {
                        g.get(Id(n as u32))
                            .args
                            .iter()
                            .any(|a| g.kinds[a.index()] == Kind::Buffer && g.storage(*a) == storage)
                    })
                    .collect();
                let [a, b] = users[..] else { continue };
                let one_d_scatter = |n: usize| {
                    let node = g.get(Id(n as u32));
                    node.op == Op::ScatterAdd
                        && node.args.len() == 3
                        && g.region_of[n] == body
                        && !g.guards.contains_key(&Id(n as u32))
                };
                if !(one_d_scatter(a) && one_d_scatter(b)) {
                    continue;
                }
                let plus_one = |x: Id| {
                    let node = g.get(x);
                    node.op == Op::IntAdd
                        && ((node.args[0] == var && g.get(node.args[1]).op == Op::IntConst(1))
                            || (node.args[1] == var && g.get(node.args[0]).op == Op::IntConst(1)))
                };
                let (ia, ib) = (g.get(Id(a as u32)).args[1], g.get(Id(b as u32)).args[1]);
                let (here, ahead) = if ia == var && plus_one(ib) {
                    (a, b)
                } else if ib == var && plus_one(ia) {
                    (b, a)
                } else {
                    continue;
                };
                let carry = local(&self.names.fresh("carry"));
                let next = local(&self.names.fresh("next"));
                let zero = super::zero_expr(self.elem);
                stmts.push(Stmt::Raw(quote!(let mut #carry = #zero;)));
                stmts.push(Stmt::Raw(quote!(let mut #next = #zero;)));
                self.carry_sites.insert(
                    here,
                    CarrySite::Here {
                        carry: carry.clone(),
                        generic: matches!(self.elem, crate::signature::ElemTy::Generic(_)),
                    },
                );
                self.carry_sites
                    .insert(ahead, CarrySite::Ahead { next: next.clone() });
                out.push(Carry {
                    carry,
                    next,
                    site: Id(here as u32),
                });
            }
        }
        out
    }
}

/// A buffer whose `i + 1` contributions a loop carries in a register.
pub(super) struct Carry {
    /// The contribution the previous iteration made to this one's element.
    carry: proc_macro2::Ident,
    /// The contribution this iteration makes to the next one's element.
    next: proc_macro2::Ident,
    /// The scatter-add into `b[i]` (whose buffer expression names `b`).
    site: Id,
}

/// How a carried scatter-add is emitted.
pub(super) enum CarrySite {
    /// `b[i] += carry + v`.
    Here {
        /// The register holding the previous iteration's contribution.
        carry: proc_macro2::Ident,
        /// The element type is a generic `F` (no `+=`).
        generic: bool,
    },
    /// `next = v` (for `b[i + 1]`).
    Ahead {
        /// The register.
        next: proc_macro2::Ident,
    },
}

impl CarrySite {
    /// The statement replacing `place += v`.
    pub(super) fn update(&self, place: &TokenStream, v: &TokenStream) -> TokenStream {
        match self {
            CarrySite::Here {
                carry,
                generic: false,
            } => quote!(#place += #carry + #v;),
            CarrySite::Here {
                carry,
                generic: true,
            } => quote!(#place = #place + (#carry + #v);),
            CarrySite::Ahead { next } => quote!(#next = #v;),
        }
    }
}

/// The most values a loop reserves on the tape at once (32 MiB of `f64`):
/// a loop with an enormous trip count grows its tape as it runs instead.
pub const MAX_TAPE_RESERVE: usize = 1 << 22;

impl Emitter<'_> {
    /// `let restored = tape.pop().unwrap();` for restored value `r`, from
    /// its integer tape if it has one.
    fn pop(&mut self, r: Id, body: &mut Vec<Stmt>) {
        let tape = self.tape.clone();
        let name = local(&self.names.fresh("restored"));
        let from = self
            .int_tapes
            .get(&r)
            .cloned()
            .map_or(quote!(#tape), |t| quote!(#t));
        body.push(Stmt::Raw(quote!(let #name = #from.pop().unwrap();)));
        self.expr[r.index()] = Some(quote!(#name));
    }

    /// The number of values loop node `id` pushes on the tape, as a `usize`
    /// expression valid before the loop (a literal when the trip counts
    /// are), if it pushes any and the trip counts of the loops inside it
    /// are known there.
    fn pushes(&self, id: Id) -> Option<Count> {
        let g = self.g;
        let Op::Loop(l) = g.get(id).op else {
            return None;
        };
        let info = &g.loops[l as usize];
        if info.counted() {
            return None; // it may stop early: grown as it runs
        }
        let args = &g.get(id).args;
        // A bound is known before the outermost loop if it is a literal or
        // a value computed before that loop.
        let known = |x: Id| match g.get(x).op {
            Op::IntConst(v) => Some(Bound::Literal(v.into())),
            Op::RtInt(k) => {
                let tokens = &g.rt_ints[k as usize];
                match syn::parse2::<syn::LitInt>(tokens.clone()) {
                    Ok(lit) => lit.base10_parse::<i128>().ok().map(Bound::Literal),
                    Err(_) => Some(Bound::Expr(tokens.clone())),
                }
            }
            _ if g.region_of[x.index()] == 0 => self.expr[x.index()].clone().map(Bound::Expr),
            _ => None,
        };
        let (lo, hi) = (known(args[0])?, known(args[1])?);
        let direct = g
            .loops
            .iter()
            .find(|r| r.reverses == Some(l))
            .map_or(0, |rev| {
                rev.restores
                    .iter()
                    .zip(&rev.restore_kinds)
                    .filter(|(r, k)| self.live[r.index()] && **k == Kind::Float)
                    .count()
            });
        let mut per_iteration = Count::Known(direct);
        for &n in &self.region_nodes[info.body as usize] {
            if matches!(g.get(Id(n as u32)).op, Op::Loop(_)) {
                if let Some(inner) = self.pushes(Id(n as u32)) {
                    per_iteration = per_iteration.plus(inner);
                }
            }
        }
        if matches!(per_iteration, Count::Known(0)) {
            return None;
        }
        let trips = match (lo, hi) {
            (Bound::Literal(lo), Bound::Literal(hi)) => {
                let n = hi - lo + i128::from(info.inclusive);
                Count::Known(usize::try_from(n.max(0)).unwrap_or(usize::MAX))
            }
            (lo, hi) => {
                let (lo, hi) = (lo.tokens(), hi.tokens());
                Count::Expr(if info.inclusive {
                    quote!((#lo..=#hi).size_hint().0)
                } else {
                    quote!((#lo..#hi).size_hint().0)
                })
            }
        };
        Some(trips.times(per_iteration))
    }
}

impl Emitter<'_> {
    /// The reverse of forward loop `l` (node `id`), if it can run inside
    /// `l`, in the same iteration: `(its loop, its node)`. It can when it
    /// needs nothing the program computes after `l` (its initial adjoints
    /// are constants, its buffers fresh), carries no adjoint that changes
    /// from one iteration to the next (only sums: `s += w[i] * x[i]`), and
    /// restores nothing; `l` writes no memory and holds no loop. The sums
    /// are then added in the forward order (equal up to rounding).
    fn fusable_reverse(&self, l: u32, id: Id) -> Option<(u32, Id)> {
        let g = self.g;
        let info = &g.loops[l as usize];
        if g.region_of[id.index()] != 0
            || info.counted()
            || info.guard.is_some()
            || info.reverses.is_some()
            || info.kinds.iter().any(|k| *k != Kind::Float)
        {
            return None;
        }
        let r = g.loops.iter().position(|r| r.reverses == Some(l))? as u32;
        let rinfo = &g.loops[r as usize];
        let rnode = rinfo.node?;
        if !self.live[rnode.index()]
            || rinfo.guard.is_some()
            || rinfo.restores.iter().any(|x| self.live[x.index()])
        {
            return None;
        }
        let writes_or_loops = |region: u32| {
            self.region_nodes[region as usize].iter().any(|&n| {
                matches!(
                    g.get(Id(n as u32)).op,
                    Op::Store | Op::NewArray(_) | Op::NewVec { .. } | Op::Loop(_)
                )
            })
        };
        if writes_or_loops(info.body) || writes_or_loops(rinfo.body) {
            return None;
        }
        // Known before `l`: computed earlier, or a value written inline.
        let before = |x: Id| {
            x.index() < id.index()
                || matches!(
                    g.get(x).op,
                    Op::Const(_) | Op::IntConst(_) | Op::RtInt(_) | Op::BoolConst(_)
                )
        };
        let rargs = &g.get(rnode).args;
        for (k, &c) in rinfo.carried.iter().enumerate() {
            if !self.live[c.index()] {
                continue;
            }
            let init = rargs[2 + k];
            let fresh_buffer = matches!(g.get(init).op, Op::Zeros(_) | Op::ZerosLike(_));
            if !(before(init) || fresh_buffer) {
                return None;
            }
            // An adjoint carried from iteration to iteration must not change.
            let is_adjoint_of_carried = k < info.kinds.len();
            if rinfo.kinds[k] == Kind::Float && is_adjoint_of_carried && rinfo.yields[k] != c {
                return None;
            }
        }
        for &n in &self.region_nodes[rinfo.body as usize] {
            let node = g.get(Id(n as u32));
            let outside = node
                .args
                .iter()
                .chain(g.guards.get(&Id(n as u32)))
                .filter(|a| !g.encloses(rinfo.body, g.region_of[a.index()]));
            for &a in outside {
                let carried_or_var = rinfo.carried.contains(&a) || a == rinfo.var;
                if !carried_or_var && !before(a) {
                    return None;
                }
            }
        }
        Some((r, rnode))
    }

    /// Before a forward loop that runs its reverse `rnode` inside it: the
    /// reverse's fresh buffers, its constant adjoints and its sums
    /// (`let mut carry = 0.0;`). Returns the carried values the fused body
    /// updates (the sums).
    fn fused_prologue(&mut self, rnode: Id, stmts: &mut Vec<Stmt>) -> Vec<usize> {
        let g = self.g;
        let Op::Loop(r) = g.get(rnode).op else {
            unreachable!("a loop node")
        };
        let rinfo = &g.loops[r as usize];
        let rargs = g.get(rnode).args.clone();
        self.early.insert(rnode.index());
        // Constants of the reverse built after the loop: written before it.
        for n in self.region_nodes[rinfo.body as usize].clone() {
            let id = Id(n as u32);
            let outside: Vec<Id> = g
                .get(id)
                .args
                .iter()
                .chain(g.guards.get(&id))
                .copied()
                .filter(|a| g.region_of[a.index()] == 0)
                .collect();
            for a in outside {
                if self.expr[a.index()].is_none() {
                    self.node(a.index(), stmts);
                    self.early.insert(a.index());
                }
            }
        }
        let mut updated = Vec::new();
        for (k, &c) in rinfo.carried.iter().enumerate() {
            if !self.live[c.index()] {
                continue;
            }
            let init = rargs[2 + k];
            if self.expr[init.index()].is_none() {
                self.node(init.index(), stmts);
                self.early.insert(init.index());
            }
            let init_expr = self.arg(init);
            if rinfo.kinds[k] == Kind::Buffer || rinfo.yields[k] == c {
                self.expr[c.index()] = Some(init_expr);
                continue;
            }
            let base = rinfo.names[k].clone().unwrap_or_else(|| "carry".to_owned());
            let name = local(&self.names.fresh(&base));
            stmts.push(Stmt::Raw(quote!(let mut #name = #init_expr;)));
            self.emitted_name[c.index()] = Some(name.to_string());
            self.expr[c.index()] = Some(quote!(#name));
            updated.push(k);
        }
        updated
    }
}

/// A loop bound, as far as it is known before the outermost loop.
enum Bound {
    Literal(i128),
    Expr(TokenStream),
}

impl Bound {
    fn tokens(self) -> TokenStream {
        match self {
            Bound::Literal(v) if v < 0 => {
                let lit = Literal::i128_unsuffixed(-v);
                quote!((-#lit))
            }
            Bound::Literal(v) => Literal::i128_unsuffixed(v).into_token_stream(),
            Bound::Expr(t) => t,
        }
    }
}

/// A number of tape values: known at compile time, or a `usize` expression.
enum Count {
    Known(usize),
    Expr(TokenStream),
}

impl Count {
    fn tokens(self) -> TokenStream {
        match self {
            Count::Known(n) => Literal::usize_suffixed(n).into_token_stream(),
            Count::Expr(t) => t,
        }
    }

    fn plus(self, other: Count) -> Count {
        match (self, other) {
            (Count::Known(a), Count::Known(b)) => Count::Known(a.saturating_add(b)),
            (a, b) => {
                let (a, b) = (a.tokens(), b.tokens());
                Count::Expr(quote!(#a.saturating_add(#b)))
            }
        }
    }

    fn times(self, other: Count) -> Count {
        match (self, other) {
            (Count::Known(a), Count::Known(b)) => Count::Known(a.saturating_mul(b)),
            (a, b) => {
                let (a, b) = (a.tokens(), b.tokens());
                Count::Expr(quote!(#a.saturating_mul(#b)))
            }
        }
    }
}
