use backprop::prelude::*;

// What run-time sizes do not support yet, refused at its span with what to
// write instead: a slice passed to another #[derive_grad] function (writes
// at run-time indices in branches of a run-time `if`, and a computed
// `vec!` fill there, are supported).

#[derive_grad]
fn total(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i];
    }
    s
}

#[derive_grad]
fn passes_a_slice(x: &[f64]) -> f64 {
    2.0 * total(x)
}

fn main() {}
