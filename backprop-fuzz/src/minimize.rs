//! Greedy minimization of an input that shows a finding: token trees are
//! deleted (and groups replaced by their contents) as long as the same
//! finding (same deduplication key) still occurs.

use proc_macro2::{Group, TokenStream, TokenTree};

use crate::{run_isolated, Outcome};

/// The key of the finding `attr`/`item` shows, if any.
fn key(attr: &TokenStream, item: &TokenStream) -> Option<String> {
    match run_isolated(attr, item) {
        Outcome::Bad(p) => Some(p.key()),
        _ => None,
    }
}

/// Shrinks `(attr, item)` while it shows the finding `want`; stops after
/// `max_runs` runs of the compiler. Returns the smallest input found.
pub fn minimize(
    attr: TokenStream,
    item: TokenStream,
    want: &str,
    max_runs: usize,
) -> (TokenStream, TokenStream) {
    let (mut attr, mut item) = (attr, item);
    let mut runs = 0;
    let mut progress = true;
    while progress && runs < max_runs {
        progress = false;
        for which in 0..2 {
            let mut pos = 0;
            loop {
                let current = if which == 0 { &item } else { &attr };
                let n = count(current);
                if pos >= n || runs >= max_runs {
                    break;
                }
                let mut kept = false;
                for edit in 0..2 {
                    let mut target = pos as isize;
                    let candidate = edit_at(current.clone(), &mut target, edit);
                    if target != -1 {
                        continue;
                    }
                    runs += 1;
                    let (a, i) = if which == 0 {
                        (&attr, &candidate)
                    } else {
                        (&candidate, &item)
                    };
                    if key(a, i).as_deref() == Some(want) {
                        if which == 0 {
                            item = candidate;
                        } else {
                            attr = candidate;
                        }
                        kept = true;
                        progress = true;
                        break;
                    }
                }
                if !kept {
                    pos += 1;
                }
            }
        }
    }
    (attr, item)
}

fn count(ts: &TokenStream) -> usize {
    ts.clone()
        .into_iter()
        .map(|t| match &t {
            TokenTree::Group(g) => 1 + count(&g.stream()),
            _ => 1,
        })
        .sum()
}

const NO_EDIT: isize = isize::MIN;

/// Edit 0 deletes token tree number `target` (pre-order); edit 1 replaces
/// it, if it is a group, by its contents.
fn edit_at(ts: TokenStream, target: &mut isize, edit: u8) -> TokenStream {
    let mut out = Vec::new();
    for t in ts {
        if *target == NO_EDIT {
            return TokenStream::new();
        }
        if *target < 0 {
            out.push(t);
            continue;
        }
        if *target == 0 {
            *target = -1;
            match (edit, t) {
                (0, _) => {}
                (_, TokenTree::Group(g)) => out.extend(g.stream()),
                (_, t) => {
                    out.push(t);
                    // nothing to unwrap: no edit
                    *target = NO_EDIT;
                    return TokenStream::new();
                }
            }
            continue;
        }
        *target -= 1;
        match t {
            TokenTree::Group(g) => {
                let inner = edit_at(g.stream(), target, edit);
                if *target == NO_EDIT {
                    return TokenStream::new();
                }
                let mut ng = Group::new(g.delimiter(), inner);
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            t => out.push(t),
        }
    }
    out.into_iter().collect()
}
