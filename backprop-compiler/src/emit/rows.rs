//! Loops over rows of slices without a bounds check per element.
//!
//! An innermost rolled loop from 0 that reads a slice parameter, or a
//! local buffer of run-time length that it does not write, at `base + i`
//! (or `i`), `base` the same in every iteration, or adds into a gradient
//! buffer of run-time length only there, is emitted twice: when
//! every row `x.get(base..base + hi)` is in bounds, with its reads and
//! adds through the rows (whose lengths the optimizer knows), else as
//! written, panicking where the original does. The fast version runs only
//! when no access of the loop could fail, so the choice never changes a
//! result or a panic.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use super::{local, Emitter};
use crate::graph::{Id, Kind, Op};

/// A row of a slice a loop reads: `array[base + i]` (or `array[i]`) for
/// the loop's variable `i`.
pub(super) struct RowRead {
    /// The slice parameter, the buffer read, or the carried buffer.
    array: Id,
    /// The offset (see `Emitter::offset`).
    base: Option<Id>,
    /// For a range bound to a name read at `i` (`array[base +
    /// check_index(i, len)]`, [`Op::CheckIndex`]): the range's length,
    /// which the loop's end must not pass for the row to be taken.
    limit: Option<Id>,
    /// The body of the loop reading it.
    body: u32,
    /// The loads reading it, or the scatter-adds adding into it.
    loads: Vec<Id>,
    /// Whether it is added into (a buffer the loop carries).
    write: bool,
}

impl Emitter<'_> {
    /// Names the rows of `rows` (one per array and offset) and has their
    /// loads and scatter-adds emitted through them from now on: returns
    /// the names and the `get`s that take the rows, for a loop ending at
    /// `hi` with variable `var`.
    pub(super) fn take_rows(
        &mut self,
        rows: &[RowRead],
        hi: &TokenStream,
        var: &TokenStream,
    ) -> (Vec<Ident>, Vec<TokenStream>) {
        let mut names: Vec<Ident> = Vec::new();
        let mut gets: Vec<TokenStream> = Vec::new();
        for row in rows {
            let array = self.arg(row.array);
            // A local buffer may be a fixed-size array (`[0.0; H]`, `H` a
            // named constant), whose `get` would be `Params::get` where that
            // trait is in scope: take the slice's.
            let array = match self.g.get(row.array).op {
                Op::ArrayParam(_) => array,
                _ if !row.write => quote!(#array[..]),
                _ => array,
            };
            let get = if row.write {
                quote!(get_mut)
            } else {
                quote!(get)
            };
            let get = match row.base {
                Some(b) => {
                    let b = self.offset(b, row.body).expect("checked by row_reads");
                    quote!(#array.#get(#b..(#b).wrapping_add(#hi)))
                }
                None => quote!(#array.#get(..#hi)),
            };
            // Every `check_index(i, len)` passes when the loop ends by `len`.
            let get = match row.limit {
                Some(l) => {
                    let l = self.offset(l, row.body).expect("checked by row_reads");
                    if l.to_string() == hi.to_string() {
                        get // `for i in 0..row.len()`
                    } else {
                        quote!((if #hi <= #l { #get } else { ::core::option::Option::None }))
                    }
                }
                None => get,
            };
            // A gradient a pullback's caller does not want may be empty,
            // and is never added to: an empty row then.
            let get = match self.wants.get(&self.g.storage(row.array)) {
                Some(want) if row.write => quote! {
                    (if ::backprop::__private::wanted(#want) {
                        #get
                    } else {
                        ::core::option::Option::Some(::core::default::Default::default())
                    })
                },
                _ => get,
            };
            // The same row read by the loop and its fused reverse
            // (the offset computed in each) is taken once.
            let same = gets.iter().position(|e| e.to_string() == get.to_string());
            let name = match same {
                Some(k) => names[k].clone(),
                None => {
                    let name = local(&self.names.fresh("row"));
                    gets.push(get);
                    names.push(name.clone());
                    name
                }
            };
            for &load in &row.loads {
                self.row_of
                    .insert(load.index(), (name.clone(), var.clone()));
            }
        }
        (names, gets)
    }

    /// Emits the loads and scatter-adds of `rows` as written again.
    pub(super) fn drop_rows(&mut self, rows: &[RowRead]) {
        for row in rows {
            for load in &row.loads {
                self.row_of.remove(&load.index());
            }
        }
    }

    /// Integer expression `x` computed before a loop whose body is
    /// `body`: a value from outside the body, or `+`, `−`, `·` of such
    /// values and constants in the body (which stays where it is written,
    /// as arithmetic that may overflow does, and still runs there: its
    /// overflow panics where the original's does). Wrapping here, where
    /// it only chooses between the loop's two versions.
    fn offset(&self, x: Id, body: u32) -> Option<TokenStream> {
        let g = self.g;
        let node = g.get(x);
        // Typed, so that a method can be called on it: an index is a `usize`.
        match node.op {
            Op::IntConst(k) => {
                let k = Literal::usize_suffixed(usize::try_from(k).ok()?);
                return Some(quote!(#k));
            }
            Op::RtInt(k) => {
                let tokens = &g.rt_ints[k as usize];
                return Some(quote!((#tokens as usize)));
            }
            _ => {}
        }
        if !g.encloses(body, g.region_of[x.index()]) {
            return self.expr[x.index()].clone();
        }
        let method = match node.op {
            Op::IntAdd => quote!(wrapping_add),
            Op::IntSub => quote!(wrapping_sub),
            Op::IntMul => quote!(wrapping_mul),
            // By a positive constant only, which cannot panic here
            // (`(j * j - j) / 2`, a triangle's row).
            Op::IntDiv if matches!(g.get(node.args[1]).op, Op::IntConst(k) if k > 0) => {
                quote!(wrapping_div)
            }
            _ => return None,
        };
        let a = self.offset(node.args[0], body)?;
        let b = self.offset(node.args[1], body)?;
        Some(quote!((#a).#method(#b)))
    }

    /// Whether `array` is a local buffer of run-time length (a `vec!`, a
    /// gradient buffer) that the loops `loops`, whose nodes are `nodes`,
    /// only read: written before them, so that a row of it taken before
    /// the loop holds what each read would. A fixed-size array's bounds
    /// are known already.
    fn read_only_buffer(&self, array: Id, loops: &[u32], nodes: &[usize]) -> bool {
        let g = self.g;
        if g.kinds[array.index()] != Kind::Buffer {
            return false;
        }
        let storage = g.storage(array);
        let run_time = matches!(
            g.get(storage).op,
            Op::ZerosLike(_) | Op::ZerosLen { .. } | Op::NewVec { .. }
        );
        let outside = loops
            .iter()
            .all(|&l| !g.encloses(g.loops[l as usize].body, g.region_of[array.index()]));
        run_time
            && outside
            && nodes.iter().all(|&n| {
                let node = g.get(Id(n as u32));
                node.op == Op::Load
                    || !node
                        .args
                        .iter()
                        .any(|a| g.kinds[a.index()] == Kind::Buffer && g.storage(*a) == storage)
            })
    }

    /// Whether `x` is `p.len()`, for slice parameter `p`.
    fn is_len_of(&self, x: Id, p: u32) -> bool {
        let Op::RtInt(k) = self.g.get(x).op else {
            return false;
        };
        let spelled: String = self.g.rt_ints[k as usize]
            .to_string()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        spelled == format!("{}.len()", self.params[p as usize].name)
    }

    /// The rows loop `l` reads or adds into (the loop counting up or down
    /// from 0, to the end of its range, with no loop inside): reads of a
    /// slice parameter or of a buffer the loop only reads
    /// ([`Self::read_only_buffer`]), and scatter-adds into a buffer the loop carries
    /// that nothing else in it touches, at `base + i` or `i` (`i` the loop
    /// variable, `base` the same in every iteration), grouped by array and
    /// base (one base per buffer written).
    pub(super) fn row_reads(&self, l: u32, id: Id, fused: Option<(u32, Id)>) -> Vec<RowRead> {
        let g = self.g;
        let info = &g.loops[l as usize];
        let lo = g.get(id).args[0];
        let from_zero = match g.get(lo).op {
            Op::IntConst(0) => true,
            Op::RtInt(k) => matches!(g.rt_ints[k as usize].to_string().as_str(), "0" | "0usize"),
            _ => false,
        };
        if info.counted() || info.inclusive || !from_zero {
            return Vec::new();
        }
        // The loops whose bodies run here: this one, and the reverse fused
        // into it (over the same range, its variable the same).
        let mut loops = vec![l];
        loops.extend(fused.map(|(r, _)| r));
        let all_nodes: Vec<usize> = loops
            .iter()
            .flat_map(|&lp| {
                self.region_nodes[g.loops[lp as usize].body as usize]
                    .iter()
                    .copied()
            })
            .collect();
        if all_nodes
            .iter()
            .any(|&n| matches!(g.get(Id(n as u32)).op, Op::Loop(_)))
        {
            return Vec::new();
        }
        // The offset of an index `base + i` (`Some(None)` for `i`), `i`
        // the variable of the loop whose body is `body`, and the length
        // `i` is checked against if it is `check_index(i, len)`.
        type Offset = (Option<Id>, Option<Id>);
        let offset_of = |index: Id, var: Id, body: u32| -> Option<Offset> {
            // `i`, or `check_index(i, len)` with `len` known before the loop.
            let is_var = |x: Id| -> Option<Option<Id>> {
                if x == var {
                    return Some(None);
                }
                let at = g.get(x);
                if at.op == Op::CheckIndex && at.args[0] == var {
                    self.offset(at.args[1], body)?;
                    return Some(Some(at.args[1]));
                }
                None
            };
            if let Some(limit) = is_var(index) {
                return Some((None, limit));
            }
            let at = g.get(index);
            if at.op != Op::IntAdd {
                return None;
            }
            let (other, limit) = match (is_var(at.args[0]), is_var(at.args[1])) {
                (Some(limit), None) => (at.args[1], limit),
                (None, Some(limit)) => (at.args[0], limit),
                _ => return None,
            };
            self.offset(other, body)?;
            Some((Some(other), limit))
        };
        let mut rows: Vec<RowRead> = Vec::new();
        let mut add =
            |array: Id, (base, limit): Offset, body: u32, node: Id, write: bool| match rows
                .iter_mut()
                .find(|r| r.array == array && r.base == base && r.limit == limit)
            {
                Some(r) => r.loads.push(node),
                None => rows.push(RowRead {
                    array,
                    base,
                    limit,
                    body,
                    loads: vec![node],
                    write,
                }),
            };
        for &lp in &loops {
            let (var, body) = (g.loops[lp as usize].var, g.loops[lp as usize].body);
            for &n in &self.region_nodes[body as usize] {
                let node = g.get(Id(n as u32));
                if node.op != Op::Load || node.args.len() != 2 || self.early.contains(&n) {
                    continue;
                }
                let (array, index) = (node.args[0], node.args[1]);
                let param = match g.get(array).op {
                    Op::ArrayParam(p) if g.slice_params.contains_key(&p) => Some(p),
                    Op::ArrayParam(_) => continue,
                    _ if self.read_only_buffer(array, &loops, &all_nodes) => None,
                    _ => continue,
                };
                let Some(base) = offset_of(index, var, body) else {
                    continue;
                };
                // `for i in 0..x.len() { x[i] }` is checked once already.
                if let Some(p) = param {
                    if base == (None, None) && self.is_len_of(g.get(id).args[1], p) {
                        continue;
                    }
                }
                add(array, base, body, Id(n as u32), false);
            }
        }
        // Buffers carried through the loops and only added into.
        for &lp in &loops {
            let linfo = &g.loops[lp as usize];
            'buffers: for (k, &c) in linfo.carried.iter().enumerate() {
                if linfo.kinds[k] != Kind::Buffer || !self.live[c.index()] || linfo.yields[k] == c {
                    continue;
                }
                let storage = g.storage(c);
                // Of a run-time length (a fixed one's bounds are known).
                let run_time = matches!(
                    g.get(storage).op,
                    Op::ZerosLike(_) | Op::ZerosLen { .. } | Op::NewVec { .. }
                );
                if !run_time {
                    continue;
                }
                let mut sites = Vec::new();
                let mut base = None;
                for &n in &all_nodes {
                    let node = g.get(Id(n as u32));
                    let touches = node
                        .args
                        .iter()
                        .any(|a| g.kinds[a.index()] == Kind::Buffer && g.storage(*a) == storage);
                    if !touches {
                        continue;
                    }
                    if node.op != Op::ScatterAdd
                        || node.args.len() != 3
                        || self.early.contains(&n)
                        || g.region_of[n] != linfo.body
                    {
                        continue 'buffers;
                    }
                    let Some(b) = offset_of(node.args[1], linfo.var, linfo.body) else {
                        continue 'buffers;
                    };
                    if sites.is_empty() {
                        base = Some(b);
                    } else if base != Some(b) {
                        continue 'buffers;
                    }
                    sites.push(Id(n as u32));
                }
                for site in sites {
                    add(c, base.expect("a site"), linfo.body, site, true);
                }
            }
        }
        rows
    }
}
