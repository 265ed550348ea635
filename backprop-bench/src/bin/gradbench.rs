//! backprop's GradBench tool: speaks the GradBench JSON-lines protocol on
//! stdin/stdout (see `backprop-gradbench`, which holds the protocol and the
//! evals so that `cargo test` covers them). Build with
//! `cargo build --release -p backprop-bench --bin gradbench`.

fn main() -> std::io::Result<()> {
    backprop_gradbench::protocol::serve(std::io::stdin().lock(), std::io::stdout().lock())
}
