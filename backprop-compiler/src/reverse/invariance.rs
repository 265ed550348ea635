//! Values the output reads but does not depend on: the shift of a
//! log-sum-exp.
//!
//! `a + ln Σᵢ exp(xᵢ − a)` is the same function of `x` for every `a`; the
//! max trick takes `a = max x` only to keep the exponentials in range. The
//! chain rule still routes an adjoint to `a`, `1 − Σᵢ exp(xᵢ − a)/s`, which
//! is zero in exact arithmetic (and a rounding error in floating point),
//! and then back through the `max`: a reverse loop of comparisons and, for
//! a rolled `max` loop, a tape of its running maximum. Hand-written
//! gradients skip all of it (GradBench's `lse`, every softmax
//! cross-entropy). [`shift_invariant`] finds such `a`, structurally, so the
//! sweep can treat it as a constant: the gradient is then exactly the
//! analytic one, `exp(xᵢ − a)/s`.
//!
//! The condition, checked on every use of `a`:
//! - each use is either `t − a` whose only use is `exp(t − a)`, whose only
//!   use is a term of a sum `s` (an `Add` tree of such terms, or a loop
//!   accumulating them from 0), or one chain of single-use `+`, `−`, unary
//!   `−` that meets the chain of `ln s` at one node;
//! - `s`'s only use is `ln s`, and at the meeting node `a` and `ln s` come
//!   with the same sign.
//!
//! Then the output depends on `a` only through `c·(a + ln Σ exp(tᵢ − a))`,
//! whose derivative with respect to `a` is `c·(1 − Σ exp(tᵢ − a)/s) = 0`.

use crate::graph::{Graph, Id, Op};
use crate::ops;

/// The nodes whose adjoint is zero in exact arithmetic because the output
/// is invariant to them (see the module's documentation). `live` marks the
/// nodes the output needs.
pub fn shift_invariant(g: &Graph, live: &[bool]) -> Vec<Id> {
    let (Some(exp), Some(ln)) = (ops::index("exp"), ops::index("ln")) else {
        return Vec::new();
    };
    let uses = Uses::of(g, live);
    (0..live.len() as u32)
        .map(Id)
        .filter(|&a| live[a.index()] && is_shift(g, &uses, a, exp as u8, ln as u8))
        .collect()
}

/// Every reader of every live node: nodes (by argument), and loops (by
/// yield or condition).
struct Uses {
    readers: Vec<Vec<Reader>>,
}

/// One read of a value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// Argument `k` of a node.
    Arg(Id, usize),
    /// Something that is not an argument of a node: a loop's yield, its
    /// condition, a guard.
    Other,
}

impl Uses {
    fn of(g: &Graph, live: &[bool]) -> Uses {
        let mut readers = vec![Vec::new(); live.len()];
        let mut note = |v: Id, r: Reader| {
            if let Some(list) = readers.get_mut(v.index()) {
                list.push(r);
            }
        };
        for (i, &is_live) in live.iter().enumerate() {
            if !is_live {
                continue;
            }
            let id = Id(i as u32);
            let node = g.get(id);
            for (k, &a) in node.args.iter().enumerate() {
                note(a, Reader::Arg(id, k));
            }
            if let Op::Loop(l) = node.op {
                let info = &g.loops[l as usize];
                let others = info.yields.iter().chain(&info.cond).chain(&info.exit);
                for &v in others.chain(&info.guard) {
                    note(v, Reader::Other);
                }
            }
        }
        for (&node, &guard) in &g.guards {
            if live.get(node.index()).copied().unwrap_or(false) {
                note(guard, Reader::Other);
            }
        }
        Uses { readers }
    }

    /// The one node reading `v`, as which argument, if there is exactly one.
    fn single(&self, v: Id) -> Option<(Id, usize)> {
        match self.readers[v.index()].as_slice() {
            [Reader::Arg(id, k)] => Some((*id, *k)),
            _ => None,
        }
    }
}

/// Whether the output is invariant to `a` (the module's condition).
fn is_shift(g: &Graph, uses: &Uses, a: Id, exp: u8, ln: u8) -> bool {
    let readers = &uses.readers[a.index()];
    if readers.len() < 2 || g.as_const(a).is_some() {
        return false;
    }
    // The sum all the `exp(t − a)` terms feed, and the one linear use.
    let mut sum: Option<Id> = None;
    let mut linear: Option<(Id, usize)> = None;
    for &r in readers {
        let Reader::Arg(user, k) = r else {
            return false;
        };
        let node = g.get(user);
        if node.op == Op::Sub && k == 1 {
            if let Some(s) = term_of_sum(g, uses, user, exp) {
                if sum.is_some_and(|prev| prev != s) {
                    return false;
                }
                sum = Some(s);
                continue;
            }
        }
        if linear.is_some() || !matches!(node.op, Op::Add | Op::Sub | Op::Neg) {
            return false;
        }
        linear = Some((user, k));
    }
    let (Some(s), Some(first)) = (sum, linear) else {
        return false;
    };
    if !all_terms(g, uses, s, a, exp) {
        return false;
    }
    // `s`'s only use is `ln s`.
    let Some((log, 0)) = uses.single(s) else {
        return false;
    };
    if g.get(log).op != Op::Fun(ln) {
        return false;
    }
    // Walk both linear chains up to the node where they meet.
    let from_a = linear_chain(g, uses, Some(first));
    let from_log = linear_chain(g, uses, uses.single(log));
    from_a.iter().any(|&(node, sign_a)| {
        from_log
            .iter()
            .any(|&(other, sign_log)| other == node && sign_a == sign_log)
    })
}

/// The sum that `sub` (`t − a`) is a term of, through `exp(t − a)`: the
/// top of the `Add` tree and loop accumulations above it, every node
/// between used once.
fn term_of_sum(g: &Graph, uses: &Uses, sub: Id, exp: u8) -> Option<Id> {
    let (e, 0) = uses.single(sub)? else {
        return None;
    };
    if g.get(e).op != Op::Fun(exp) {
        return None;
    }
    let mut cur = e;
    loop {
        match uses.readers[cur.index()].as_slice() {
            [Reader::Arg(user, _)] if g.get(*user).op == Op::Add => {
                // The yield of an accumulation: the sum goes on after the
                // loop, as its final value.
                cur = match yield_of(g, *user) {
                    Some((l, k)) => accumulation(g, uses, l, k, exp)?.out,
                    None => *user,
                };
            }
            // The initial value of an accumulation.
            [Reader::Arg(user, k)] if *k >= 2 => {
                let Op::Loop(l) = g.get(*user).op else {
                    break;
                };
                cur = accumulation(g, uses, l, k - 2, exp)?.out;
            }
            _ => break,
        }
    }
    Some(cur)
}

/// The loop and carried value that `v` is the yield of, if any.
fn yield_of(g: &Graph, v: Id) -> Option<(u32, usize)> {
    let region = g.region_of[v.index()];
    (0..g.loops.len() as u32).find_map(|l| {
        let info = &g.loops[l as usize];
        if info.body != region {
            return None;
        }
        info.yields.iter().position(|&y| y == v).map(|k| (l, k))
    })
}

/// Whether `n` is a sum of terms `exp(t − a)` only: an `Add` tree whose
/// inner nodes are used once and whose leaves are such terms, zeros, or
/// loops accumulating such terms.
fn all_terms(g: &Graph, uses: &Uses, n: Id, a: Id, exp: u8) -> bool {
    let node = g.get(n);
    match node.op {
        Op::Add => node.args.iter().all(|&t| {
            // A constant is shared by every node reading it.
            let read_once = g.as_const(t).is_some() || uses.single(t).is_some_and(|(u, _)| u == n);
            read_once && all_terms(g, uses, t, a, exp)
        }),
        Op::Const(_) => g.as_const(n) == Some(0.0),
        Op::LoopOut(k) => match g.get(node.args[0]).op {
            Op::Loop(l) => accumulation(g, uses, l, k as usize, exp).is_some_and(|acc| {
                acc.out == n
                    && acc
                        .terms
                        .iter()
                        .all(|&t| is_term(g, uses, t, a, exp) || g.as_const(t) == Some(0.0))
            }),
            _ => false,
        },
        _ => is_term(g, uses, n, a, exp),
    }
}

/// Whether `t` is `exp(· − a)`, its subtraction read only by it.
fn is_term(g: &Graph, uses: &Uses, t: Id, a: Id, exp: u8) -> bool {
    let node = g.get(t);
    node.op == Op::Fun(exp) && {
        let sub = node.args[0];
        g.get(sub).op == Op::Sub && g.get(sub).args[1] == a && uses.single(sub) == Some((t, 0))
    }
}

/// A loop's carried value that only sums terms.
struct Accumulation {
    /// The node of its final value.
    out: Id,
    /// Its initial value and the term it grows by per iteration.
    terms: [Id; 2],
}

/// For a loop `l` whose carried value `k` starts at a term or 0 and grows
/// by one `exp(·)` per iteration, that accumulation; every node of it
/// used once.
fn accumulation(g: &Graph, uses: &Uses, l: u32, k: usize, exp: u8) -> Option<Accumulation> {
    let info = &g.loops[l as usize];
    let loop_node = info.node?;
    // A loop that may stop early, or not run, still sums terms only, but
    // nothing needs it yet: kept out.
    if info.counted() || info.guard.is_some() {
        return None;
    }
    let carried = *info.carried.get(k)?;
    let yielded = *info.yields.get(k)?;
    let out = *info.outs.get(k)?;
    let init = g.get(loop_node).args[2 + k];
    let add = g.get(yielded);
    if add.op != Op::Add || !add.args.contains(&carried) || add.args[0] == add.args[1] {
        return None;
    }
    let term = if add.args[0] == carried {
        add.args[1]
    } else {
        add.args[0]
    };
    let read_once_by = |v: Id, by: Id| uses.single(v).is_some_and(|(user, _)| user == by);
    let is_exp = |t: Id| g.get(t).op == Op::Fun(exp);
    let ok = read_once_by(carried, yielded)
        && read_once_by(term, yielded)
        && uses.readers[yielded.index()].as_slice() == [Reader::Other]
        && is_exp(term)
        && (g.as_const(init) == Some(0.0) || (is_exp(init) && read_once_by(init, loop_node)));
    ok.then_some(Accumulation {
        out,
        terms: [init, term],
    })
}

/// The nodes reached from a value, whose first use is `first`, by single-use `+`, `−`, unary `−`, with
/// the sign the value has in each.
fn linear_chain(g: &Graph, uses: &Uses, first: Option<(Id, usize)>) -> Vec<(Id, bool)> {
    let mut chain = Vec::new();
    let mut positive = true;
    let mut next = first;
    while let Some((user, k)) = next {
        match g.get(user).op {
            Op::Add => {}
            Op::Sub => positive ^= k == 1,
            Op::Neg => positive = !positive,
            _ => break,
        }
        chain.push((user, positive));
        next = uses.single(user);
    }
    chain
}
