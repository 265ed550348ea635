use backprop::prelude::*;

// What run-time sizes do not support yet, each refused at its span with what
// to write instead: a fixed-size array changed at a fixed index by the
// `then` branch of a run-time `if` and written at a run-time index by the
// `else` branch (writes at run-time indices in branches are supported,
// and the other order), and a slice passed to another #[derive_grad]
// function.

#[derive_grad]
fn mixed_writes_in_if(x: [f64; 4], k: usize) -> f64 {
    let mut h = [0.0; 4];
    if x[0] > 0.0 {
        h[1] = x[1];
    } else {
        h[k] = x[0];
    }
    h[0] + h[1]
}

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
