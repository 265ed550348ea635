use backprop::prelude::*;

// What run-time sizes do not support yet, each refused at its span with what
// to write instead: an element written at a run-time index inside a run-time
// `if`, a slice passed to another #[derive_grad] function, and a `vec!`
// whose fill is computed from the parameters.

#[derive_grad]
fn write_in_if(x: &[f64], k: usize) -> f64 {
    let mut h = vec![0.0; x.len()];
    if x[0] > 0.0 {
        h[k] = x[0];
    }
    h[k]
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

// A computed fill is supported, but not under a run-time `if`.
#[derive_grad]
fn computed_fill(x: &[f64], b: bool) -> f64 {
    let mut s = 0.0;
    if b {
        let h = vec![x[0]; x.len()];
        s = h[0];
    }
    s
}

fn main() {}
