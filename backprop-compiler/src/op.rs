//! The operation vocabulary: what a node of the graph can compute, in one
//! place. Everything else (the graph, the rule and derivative patterns, the
//! emitter) is written in terms of it; it depends only on the primitive
//! table ([`crate::ops`]).

use crate::ops::{self, PRIMITIVES};
/// Index of a node in the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub u32);

impl Id {
    /// The arena index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Comparison operators (they produce booleans and have no derivative).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl CmpOp {
    /// Applies the comparison.
    pub fn apply(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        }
    }

    /// The Rust operator.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }
}

/// Bitwise operators and shifts on integers (no derivative).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BitOp {
    /// `&`
    And,
    /// `|`
    Or,
    /// `^`
    Xor,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
}

impl BitOp {
    /// The Rust operator.
    pub fn symbol(self) -> &'static str {
        match self {
            BitOp::And => "&",
            BitOp::Or => "|",
            BitOp::Xor => "^",
            BitOp::Shl => "<<",
            BitOp::Shr => ">>",
        }
    }

    /// Whether it can panic (a shift by the type's width or more, in a
    /// debug build).
    pub fn may_panic(self) -> bool {
        matches!(self, BitOp::Shl | BitOp::Shr)
    }
}

/// Functions of one integer (no derivative): `!a` and the bit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntFn {
    /// `!a`
    Not,
    /// `a.trailing_zeros()`
    TrailingZeros,
    /// `a.leading_zeros()`
    LeadingZeros,
    /// `a.trailing_ones()`
    TrailingOnes,
    /// `a.leading_ones()`
    LeadingOnes,
    /// `a.count_ones()`
    CountOnes,
    /// `a.count_zeros()`
    CountZeros,
}

impl IntFn {
    /// The bit-count methods, by their Rust names.
    pub const METHODS: [(&'static str, IntFn); 6] = [
        ("trailing_zeros", IntFn::TrailingZeros),
        ("leading_zeros", IntFn::LeadingZeros),
        ("trailing_ones", IntFn::TrailingOnes),
        ("leading_ones", IntFn::LeadingOnes),
        ("count_ones", IntFn::CountOnes),
        ("count_zeros", IntFn::CountZeros),
    ];

    /// The method `name` (`count_ones`), if it is one of these.
    pub fn method(name: &str) -> Option<IntFn> {
        IntFn::METHODS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    /// Its Rust name (`!` for the complement).
    pub fn name(self) -> &'static str {
        IntFn::METHODS
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("!", |(n, _)| n)
    }
}

/// The integer types [`Op::ToInt`] converts to, as Rust spells them.
pub const INT_TYPE_NAMES: [&str; 12] = [
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

/// The index of the integer type `name` in [`INT_TYPE_NAMES`].
pub fn int_type_index(name: &str) -> Option<u8> {
    INT_TYPE_NAMES
        .iter()
        .position(|n| *n == name)
        .map(|k| k as u8)
}

/// What a node computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// A float constant, stored as `f64` bits (the value has already been
    /// rounded to `f32` when the function's element type is `f32`).
    Const(u64),
    /// One element of a float parameter (`index` is the row-major flat index).
    Param {
        /// Position of the parameter in the signature.
        param: u32,
        /// Flat element index.
        index: u32,
    },
    /// A run-time integer written as tokens (an integer parameter, perhaps
    /// cast: `(n as u8)`; index into [`Graph::rt_ints`](crate::graph::Graph::rt_ints)).
    RtInt(u32),
    /// An integer constant (written unsuffixed: Rust infers its type from
    /// the expression it is in, as in the user's code).
    IntConst(i64),
    /// The variable of a rolled loop (index into [`Graph::loops`](crate::graph::Graph::loops)).
    LoopVar(u32),
    /// Integer `a + b`, with the operands' Rust type and its overflow rules.
    IntAdd,
    /// Integer `a - b`.
    IntSub,
    /// Integer `a * b`.
    IntMul,
    /// Integer `a / b`.
    IntDiv,
    /// Integer `a % b`.
    IntRem,
    /// Integer `a & b`, `a | b`, `a ^ b`, `a << b`, `a >> b`.
    IntBit(BitOp),
    /// `!a` or a bit count of an integer (`a.trailing_zeros()`).
    IntFn(IntFn),
    /// A comparison of two integers.
    IntCmp(CmpOp),
    /// An integer converted to the float type (`i as f64`).
    IntToFloat,
    /// `start` (the first argument), after checking the range
    /// `start..end` of a slice of length `len` (the other two) as
    /// `&slice[start..end]` does: where a range bound to a name
    /// (`let row = &w[a..b];`) begins, panicking where the original does.
    CheckRange,
    /// Index `i` (the first argument), after checking it against a length
    /// (the second) as indexing does: a read `row[j]` of a range bound to
    /// a name, which panics past the range even where the slice goes on.
    CheckIndex,
    /// Element `i` (the one argument) of integer slice parameter `p`
    /// (`labels[s]`), indexed as the original does.
    IntLoad(u32),
    /// Integer slice parameter `p` as a whole, passed on to a call.
    IntSliceParam(u32),
    /// `&p[start..end]` of integer slice parameter `p` (the arguments),
    /// passed to a call: a range of it bound to a name, checked already.
    IntSliceRange(u32),
    /// `[e₀, e₁, …][i]`: an element of a local array of integers
    /// (`let order = [2, 0, 1];`) read at a run-time index; the arguments
    /// are `i` then the elements. Panics as the original's read does.
    IntPick,
    /// A float or integer converted to the integer type
    /// `INT_TYPE_NAMES[k]` with Rust's `as` (floats truncate and saturate,
    /// NaN gives 0; integers wrap). No derivative flows through it.
    ToInt(u8),
    /// A float array parameter as a whole (a buffer), read by [`Op::Load`].
    ArrayParam(u32),
    /// `buffer[i][j]…`: the arguments are the buffer and one integer per
    /// dimension indexed.
    Load,
    /// A buffer of zeros of shape `Graph::shapes``[k]` (a gradient buffer).
    Zeros(u32),
    /// A buffer of zeros as long as slice parameter `p` (its gradient).
    ZerosLike(u32),
    /// A local `vec![c; n]`: the arguments are `c` and `n`. With
    /// `array`, a local `[c; N]` whose length `N` is a named constant the
    /// macro cannot read (an array on the stack, as the user wrote it).
    NewVec {
        /// Written `[c; N]`, not `vec![c; n]`.
        array: bool,
    },
    /// A buffer of `n` zeros (the one argument): the adjoint of a
    /// [`Op::NewVec`] with the same `array`.
    ZerosLen {
        /// An array `[0.0; N]`, not a `Vec`.
        array: bool,
    },
    /// A local array made a buffer (to be written at run-time indices):
    /// shape `Graph::shapes``[k]`, the arguments its elements, row-major.
    NewArray(u32),
    /// `buffer[i][j]… = value`, in place: the arguments are the buffer, the
    /// indices and the value; the node is the buffer after it.
    Store,
    /// `buffer[i][j]… += value`, in place: the arguments are the buffer,
    /// the indices and the value; the node is the buffer after it.
    ScatterAdd,
    /// A rolled loop (index into [`Graph::loops`](crate::graph::Graph::loops)); arguments: the bounds
    /// `lo`, `hi` and the initial value of each carried value.
    Loop(u32),
    /// Carried value `k` after the loop (the one argument is the loop).
    LoopOut(u32),
    /// Element `k` (the one argument) of counted loop `l`'s range: its
    /// variable in its reverse, `range.clone().nth(k)` (`.rev()` first for
    /// a reversed loop), on the very range value the forward loop ran
    /// over, so of the same integer type.
    RangeNth(u32),
    /// The number of iterations a counted loop ran (the one argument is
    /// the loop; see [`LoopInfo::counted`](crate::graph::region::LoopInfo::counted)).
    LoopTrips,
    /// Carried value `k` of loop `l` at the start of an iteration.
    Carried {
        /// The loop.
        l: u32,
        /// Which carried value.
        k: u32,
    },
    /// Value `k` of loop `l`'s tape, restored at the start of an iteration
    /// of the loop that reverses it.
    Restore {
        /// The reverse loop.
        l: u32,
        /// Which taped value.
        k: u32,
    },
    /// A run-time `bool` parameter.
    BoolParam(u32),
    /// A boolean constant.
    BoolConst(bool),
    /// A value from outside the function that is not differentiated: a
    /// `const` item or other path (index into [`Graph::externs`](crate::graph::Graph::externs)).
    Extern(u32),
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b`
    Div,
    /// `-a`
    Neg,
    /// A primitive function, by index into [`PRIMITIVES`].
    Fun(u8),
    /// `a.powi(n)`
    Powi(i32),
    /// A comparison of two floats.
    Cmp(CmpOp),
    /// `a && b`
    And,
    /// `a || b`
    Or,
    /// `!a`
    Not,
    /// `if a { b } else { c }`, with a run-time condition.
    Select,
    /// A call to another `#[derive_grad]` function (index into
    /// [`Graph::calls`](crate::graph::Graph::calls)); its value is the callee's value, its arguments the
    /// flattened float arguments.
    Call(u32),
    /// Element `k` of a call's gradient (the one argument is the call, or
    /// a [`Op::CallDir`] of it).
    Proj(u32),
    /// A call to another `#[derive_grad]` function along a direction, for
    /// second derivatives through it (index into [`Graph::calls`](crate::graph::Graph::calls)): its
    /// arguments are the call's flattened arguments, then one tangent per
    /// flattened argument (unused for integers and bools); its value is
    /// the directional derivative `∇f·t`, computed with `∇f` and `H·t` by
    /// the callee's companion `NAME_hvp_all`.
    CallDir(u32),
    /// Element `k` of `H·t` of a [`Op::CallDir`] (its one argument).
    HvProj(u32),
    /// The reverse of a call that passes slices (index into
    /// [`Graph::calls`](crate::graph::Graph::calls)), through the callee's companion `NAME_pullback`:
    /// it adds `seed · ∂f/∂slice` into the slices' adjoint buffers in
    /// place and returns `seed · ∂f/∂a` for every other argument `a` (read
    /// by [`Op::Proj`]). Arguments: the seed (the call's adjoint), the
    /// call's flattened arguments, then per slice argument its adjoint
    /// buffer, or the seed again where no derivative flows into that
    /// slice (the callee then gets an empty buffer).
    Pullback(u32),
    /// An adjoint buffer after a [`Op::Pullback`] added into it: the
    /// arguments are the buffer before and the pullback (the same memory,
    /// updated in place).
    PullbackBuf,
    /// A copy of a local `vec!`'s contents (its one argument) where a call
    /// reads it, for the call's pullback when the `vec!` is written after
    /// the call (`h.to_vec()`; emitted only then, see
    /// [`crate::graph::Graph::snapshots`]). No derivative flows through
    /// it: the pullback adds into the `vec!`'s own adjoint buffer.
    Snapshot,
    /// `Σ_i a[i]·b[i]` over two buffers of floats (or of arrays, `depth`
    /// levels of them, flattened), over all of them or, with two more
    /// arguments, over the range `start..end`: the derivative along a
    /// slice's tangent of a call passing it, from the gradient its pullback
    /// gave (forward mode).
    SliceDot(u8),
    /// An adjoint buffer after `seed ·` one slice argument's part of a
    /// [`Op::CallDir`]'s result was added into it, in place: its H·t (the
    /// reverse of the direction call, into the slice's adjoint buffer) or
    /// its gradient ∇f (`gradient`: into the slice's tangent's adjoint
    /// buffer, and, for the reverse of the value call beside it, into the
    /// slice's own), `arg` being the argument's index among the call's
    /// arguments (not flattened). Arguments: the buffer before, the seed,
    /// the direction call, then for a range (`&w[a..b]`) its start and end.
    AddCallSlice {
        /// The gradient (true) or H·t (false).
        gradient: bool,
        /// The argument's index.
        arg: u32,
    },
}

impl Op {
    /// The operator's name in the s-expression language.
    pub fn from_name(name: &str) -> Option<Op> {
        Some(match name {
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" => Op::Mul,
            "/" => Op::Div,
            "neg" => Op::Neg,
            "select" => Op::Select,
            "and" => Op::And,
            "or" => Op::Or,
            "not" => Op::Not,
            "<" => Op::Cmp(CmpOp::Lt),
            "<=" => Op::Cmp(CmpOp::Le),
            ">" => Op::Cmp(CmpOp::Gt),
            ">=" => Op::Cmp(CmpOp::Ge),
            "==" => Op::Cmp(CmpOp::Eq),
            "!=" => Op::Cmp(CmpOp::Ne),
            _ => Op::Fun(ops::index(name)? as u8),
        })
    }

    /// Number of arguments, where it is fixed.
    pub fn arity(self) -> Option<usize> {
        Some(match self {
            Op::Const(_)
            | Op::Param { .. }
            | Op::RtInt(_)
            | Op::BoolParam(_)
            | Op::BoolConst(_)
            | Op::Extern(_) => 0,
            Op::Fun(f) => PRIMITIVES[f as usize].arity(),
            Op::Neg | Op::Powi(_) | Op::Not | Op::Proj(_) | Op::HvProj(_) | Op::IntFn(_) => 1,
            Op::PullbackBuf => 2,
            Op::Snapshot => 1,
            Op::SliceDot(_) | Op::AddCallSlice { .. } => return None,
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Cmp(_) | Op::And | Op::Or => 2,
            Op::Select => 3,
            Op::IntConst(_)
            | Op::IntSliceParam(_)
            | Op::LoopVar(_)
            | Op::ArrayParam(_)
            | Op::Carried { .. }
            | Op::Restore { .. } => 0,
            Op::IntToFloat
            | Op::ToInt(_)
            | Op::LoopOut(_)
            | Op::LoopTrips
            | Op::RangeNth(_)
            | Op::IntLoad(_) => 1,
            Op::Zeros(_) | Op::ZerosLike(_) => 0,
            Op::IntAdd
            | Op::IntSub
            | Op::IntMul
            | Op::IntDiv
            | Op::IntRem
            | Op::IntBit(_)
            | Op::IntCmp(_)
            | Op::CheckIndex
            | Op::IntSliceRange(_) => 2,
            Op::CheckRange => 3,
            Op::NewVec { .. } => 2,
            Op::ZerosLen { .. } => 1,
            Op::Call(_)
            | Op::CallDir(_)
            | Op::Pullback(_)
            | Op::IntPick
            | Op::Load
            | Op::ScatterAdd
            | Op::Store
            | Op::NewArray(_)
            | Op::Loop(_) => return None,
        })
    }

    /// Whether the node can panic at run time (an index out of bounds, an
    /// integer overflow or division by zero), so that in a branch of a
    /// run-time `if` it must run only when the branch is taken: the
    /// original function does not panic on a branch it does not take.
    pub fn is_guarded(self) -> bool {
        match self {
            Op::Fun(f) => PRIMITIVES[f as usize].may_panic,
            Op::IntBit(b) => b.may_panic(),
            _ => matches!(
                self,
                Op::Load
                    | Op::Store
                    | Op::ScatterAdd
                    | Op::Call(_)
                    | Op::CallDir(_)
                    | Op::Pullback(_)
                    | Op::IntAdd
                    | Op::IntSub
                    | Op::IntMul
                    | Op::IntDiv
                    | Op::IntRem
                    | Op::CheckRange
                    | Op::CheckIndex
                    | Op::IntLoad(_)
                    | Op::IntPick
                    | Op::IntSliceRange(_)
            ),
        }
    }

    /// Whether the node is a new array in memory: never shared by two
    /// builders that look alike (each is its own memory).
    pub fn allocates(self) -> bool {
        matches!(
            self,
            Op::Zeros(_)
                | Op::ZerosLike(_)
                | Op::NewArray(_)
                | Op::NewVec { .. }
                | Op::ZerosLen { .. }
                | Op::Snapshot
        )
    }

    /// Whether the node is a boolean (no derivative flows through it).
    pub fn is_bool(self) -> bool {
        matches!(
            self,
            Op::Cmp(_)
                | Op::IntCmp(_)
                | Op::And
                | Op::Or
                | Op::Not
                | Op::BoolConst(_)
                | Op::BoolParam(_)
        )
    }

    /// Whether the node must stay in the region where it was built (it can
    /// panic, allocates, mutates a buffer or belongs to its loop), instead
    /// of being placed in the outermost region its arguments allow (which
    /// hoists loop-invariant arithmetic out of loops).
    pub fn is_anchored(self) -> bool {
        match self {
            Op::Fun(f) => PRIMITIVES[f as usize].may_panic,
            Op::IntBit(b) => b.may_panic(),
            _ => matches!(
                self,
                Op::Load
                    | Op::Zeros(_)
                    | Op::ZerosLike(_)
                    | Op::NewVec { .. }
                    | Op::ZerosLen { .. }
                    | Op::NewArray(_)
                    | Op::Store
                    | Op::ScatterAdd
                    | Op::LoopVar(_)
                    | Op::Carried { .. }
                    | Op::Restore { .. }
                    | Op::Loop(_)
                    | Op::Call(_)
                    | Op::CallDir(_)
                    | Op::Pullback(_)
                    | Op::PullbackBuf
                    | Op::AddCallSlice { .. }
                    | Op::Snapshot
                    | Op::SliceDot(_)
                    | Op::IntAdd
                    | Op::IntSub
                    | Op::IntMul
                    | Op::IntDiv
                    | Op::IntRem
                    | Op::CheckRange
                    | Op::CheckIndex
                    | Op::IntLoad(_)
                    | Op::IntPick
                    | Op::IntSliceRange(_)
            ),
        }
    }

    /// Whether the node's value is a function of its arguments alone that
    /// cannot panic (float and bool arithmetic, comparisons, selects,
    /// conversions, primitives that cannot panic): it may be computed
    /// anywhere its arguments are, ahead of its place.
    pub fn is_pure_arithmetic(self) -> bool {
        match self {
            Op::Fun(f) => !PRIMITIVES[f as usize].may_panic,
            _ => matches!(
                self,
                Op::Const(_)
                    | Op::Add
                    | Op::Sub
                    | Op::Mul
                    | Op::Div
                    | Op::Neg
                    | Op::Powi(_)
                    | Op::Cmp(_)
                    | Op::And
                    | Op::Or
                    | Op::Not
                    | Op::Select
                    | Op::IntToFloat
                    | Op::ToInt(_)
            ),
        }
    }

    /// Whether the node is an operation the emitted code performs (what the
    /// op counts count): everything but constants, parameters and reads of
    /// a call's result.
    pub fn is_operation(self) -> bool {
        !matches!(
            self,
            Op::Const(_)
                | Op::Param { .. }
                | Op::RtInt(_)
                | Op::BoolParam(_)
                | Op::BoolConst(_)
                | Op::Extern(_)
                | Op::Proj(_)
                | Op::HvProj(_)
                | Op::IntConst(_)
                | Op::IntSliceParam(_)
                | Op::LoopVar(_)
                | Op::ArrayParam(_)
                | Op::Carried { .. }
                | Op::Restore { .. }
                | Op::LoopOut(_)
                | Op::PullbackBuf
        )
    }

    /// Whether the arguments may be swapped (`+`, `*`).
    pub fn is_commutative(self) -> bool {
        matches!(self, Op::Add | Op::Mul)
    }
}
