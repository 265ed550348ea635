// The `#[derive_grad]` compiler's stages, declared at the crate root (they
// refer to each other as `crate::graph`, `crate::ops`, …). Included by
// examples/explain.rs and tests/explain_cli.rs; paths are relative to this
// file (rustc resolves them from the file they are written in).
#[allow(dead_code)]
#[path = "../../backprop-macros/src/algebra.rs"]
mod algebra;
#[allow(dead_code)]
#[path = "../../backprop-macros/src/args.rs"]
mod args;
#[allow(dead_code)]
#[path = "../../backprop-macros/src/emit.rs"]
mod emit;
#[allow(dead_code)]
#[path = "../../backprop-macros/src/expand.rs"]
mod expand;
#[allow(dead_code)]
#[path = "../../backprop-macros/src/explain.rs"]
mod explain;
#[allow(dead_code)]
#[path = "../../backprop-macros/src/graph.rs"]
mod graph;
#[allow(dead_code)]
#[path = "../../backprop-macros/src/lower.rs"]
mod lower;
#[allow(dead_code)]
#[path = "../../backprop-macros/src/ops.rs"]
mod ops;
#[allow(dead_code)]
#[path = "../../backprop-macros/src/pattern.rs"]
mod pattern;
#[allow(dead_code)]
#[path = "../../backprop-macros/src/reverse.rs"]
mod reverse;
#[allow(dead_code)]
#[path = "../../backprop-macros/src/rules.rs"]
mod rules;
#[allow(dead_code)]
#[path = "../../backprop-macros/src/signature.rs"]
mod signature;
#[allow(dead_code)]
#[path = "../../backprop-macros/src/sym.rs"]
mod sym;
