use backprop::prelude::*;

// A local array's length computed from a constant, and a nested local
// array with a named length, are refused with what to write instead.

const INPUTS: usize = 3;
const HIDDEN: usize = 2;

#[derive_grad]
fn computed_local_length(w: &[f64; INPUTS]) -> f64 {
    let mut h = [0.0; 2 * INPUTS];
    h[1] = w[0];
    h[1]
}

#[derive_grad]
fn nested_local(w: &[f64; INPUTS]) -> f64 {
    let mut h = [[0.0; 2]; HIDDEN];
    h[0][1] = w[0];
    h[0][1]
}

fn main() {}
