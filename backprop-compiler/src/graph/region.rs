//! Regions and loops: the structure that keeps loops as loops.
//!
//! The graph is one arena, and every node belongs to a region: region 0 is
//! the function's body, and each rolled loop has a body region nested in
//! the region that holds the loop. A loop is a node ([`Op::Loop`]) whose
//! arguments are its bounds and the initial values of what it carries from
//! one iteration to the next; its body region holds the loop variable
//! ([`Op::LoopVar`]), the carried values at the start of an iteration
//! ([`Op::Carried`]) and whatever the body computes from them, and the
//! loop's [`LoopInfo::yields`] are the carried values at the end of an
//! iteration. After the loop, [`Op::LoopOut`] reads the final values, as
//! JAX's `scan` and MLIR's `scf.for` do.
//!
//! A node that does not depend on its loop is placed in the loop's parent
//! region when it is built (see [`Graph::node`]), so loop-invariant code is
//! computed once; nodes that can panic or touch memory stay where they were
//! written ([`Op::is_anchored`]).

use crate::graph::{Graph, Id, Kind, Op};

/// One region.
#[derive(Clone, Debug)]
pub struct RegionInfo {
    /// The enclosing region (the root's is itself).
    pub parent: u32,
    /// Nesting depth: 0 for the function's body.
    pub depth: u32,
}

impl RegionInfo {
    /// The function's body.
    pub fn root() -> RegionInfo {
        RegionInfo {
            parent: 0,
            depth: 0,
        }
    }
}

/// A rolled loop: `for var in lo..hi` (or `(lo..hi).rev()`).
#[derive(Clone, Debug)]
pub struct LoopInfo {
    /// The body's region.
    pub body: u32,
    /// The loop variable.
    pub var: Id,
    /// Whether the loop runs from `hi − 1` down to `lo`.
    pub reversed: bool,
    /// Whether `hi` is included (`lo..=hi`).
    pub inclusive: bool,
    /// The loop's node, once it is finished.
    pub node: Option<Id>,
    /// The [`Op::LoopOut`] node of each carried value, once finished.
    pub outs: Vec<Id>,
    /// The kind of each carried value.
    pub kinds: Vec<Kind>,
    /// The carried values at the start of an iteration ([`Op::Carried`]).
    pub carried: Vec<Id>,
    /// The carried values at the end of an iteration.
    pub yields: Vec<Id>,
    /// The user's names of the carried values and of the loop variable,
    /// for readable code.
    pub names: Vec<Option<String>>,
    /// The loop variable's name.
    pub var_name: Option<String>,
    /// Body values the reverse sweep needs and cannot recompute: pushed on
    /// the tape at the end of every iteration.
    pub tape: Vec<Id>,
    /// For a loop that reverses another: the values it restores from the
    /// tape at the start of every iteration ([`Op::Restore`]), in the
    /// order the forward loop pushed them (they are popped in reverse).
    pub restores: Vec<Id>,
    /// The kinds of [`LoopInfo::restores`].
    pub restore_kinds: Vec<Kind>,
    /// For a loop that reverses another, that loop.
    pub reverses: Option<u32>,
    /// A `while` loop: no range, it runs while [`LoopInfo::cond`] holds.
    pub is_while: bool,
    /// The condition checked at the start of every iteration (`while c`),
    /// computed in the body from the carried values; `false` ends the loop.
    pub cond: Option<Id>,
    /// The condition, computed in the body, under which the loop ends after
    /// the iteration (`if c { …; break; }`).
    pub exit: Option<Id>,
    /// The condition under which the loop runs at all (it is inside a
    /// branch of a run-time `if`).
    pub guard: Option<Id>,
}

impl LoopInfo {
    /// Whether the loop may stop before the end of a range (a `while`, or
    /// a `break`): it counts its iterations ([`Op::LoopTrips`]), and its
    /// reverse runs that many.
    pub fn counted(&self) -> bool {
        self.is_while || self.exit.is_some()
    }
}

impl Graph {
    /// Whether region `outer` is `inner` or encloses it.
    pub fn encloses(&self, outer: u32, mut inner: u32) -> bool {
        while self.regions[inner as usize].depth > self.regions[outer as usize].depth {
            inner = self.regions[inner as usize].parent;
        }
        inner == outer
    }

    /// The innermost region among the arguments' (all of which enclose the
    /// current region, so they lie on one chain).
    pub fn innermost(&self, args: &[Id]) -> u32 {
        args.iter()
            .map(|a| self.region_of[a.index()])
            .max_by_key(|&r| self.regions[r as usize].depth)
            .unwrap_or(0)
    }

    /// Opens a new region inside the current one and makes it current.
    pub fn push_region(&mut self) -> u32 {
        let parent = self.current;
        let depth = self.regions[parent as usize].depth + 1;
        self.regions.push(RegionInfo { parent, depth });
        self.current = (self.regions.len() - 1) as u32;
        self.current
    }

    /// Builds a node as [`Graph::node`] would in region `region` (an
    /// anchored op lands there), leaving the current region as it was.
    pub fn node_in(&mut self, region: u32, op: Op, args: Vec<Id>) -> Id {
        let saved = self.current;
        self.current = region;
        let id = self.node(op, args);
        self.current = saved;
        id
    }

    /// Makes the current region's parent current again.
    pub fn pop_region(&mut self) {
        self.current = self.regions[self.current as usize].parent;
    }

    /// Starts a loop carrying values of `kinds`: opens its body region and
    /// returns the loop's index, its variable and the carried values.
    pub fn begin_loop(
        &mut self,
        kinds: Vec<Kind>,
        reversed: bool,
        inclusive: bool,
    ) -> (u32, Id, Vec<Id>) {
        let l = self.loops.len() as u32;
        let body = self.push_region();
        self.loops.push(LoopInfo {
            body,
            var: Id(0),
            reversed,
            inclusive,
            node: None,
            outs: Vec::new(),
            names: vec![None; kinds.len()],
            kinds,
            carried: Vec::new(),
            yields: Vec::new(),
            var_name: None,
            tape: Vec::new(),
            restores: Vec::new(),
            restore_kinds: Vec::new(),
            reverses: None,
            is_while: false,
            cond: None,
            exit: None,
            guard: None,
        });
        let var = self.node(Op::LoopVar(l), vec![]);
        let carried: Vec<Id> = (0..self.loops[l as usize].kinds.len() as u32)
            .map(|k| self.node(Op::Carried { l, k }, vec![]))
            .collect();
        let info = &mut self.loops[l as usize];
        info.var = var;
        info.carried = carried.clone();
        (l, var, carried)
    }

    /// Ends loop `l`'s body with `yields` and builds the loop node in the
    /// enclosing region; returns it and the final carried values.
    pub fn finish_loop(
        &mut self,
        l: u32,
        lo: Id,
        hi: Id,
        inits: Vec<Id>,
        yields: Vec<Id>,
    ) -> (Id, Vec<Id>) {
        debug_assert_eq!(self.current, self.loops[l as usize].body);
        self.loops[l as usize].yields = yields;
        self.pop_region();
        let mut args = vec![lo, hi];
        args.extend(inits);
        let node = self.node(Op::Loop(l), args);
        let outs: Vec<Id> = (0..self.loops[l as usize].kinds.len() as u32)
            .map(|k| self.node(Op::LoopOut(k), vec![node]))
            .collect();
        self.loops[l as usize].node = Some(node);
        self.loops[l as usize].outs = outs.clone();
        (node, outs)
    }

    /// The loop a [`Op::Loop`] node is.
    pub fn loop_of(&self, id: Id) -> Option<u32> {
        match self.get(id).op {
            Op::Loop(l) => Some(l),
            _ => None,
        }
    }
}
