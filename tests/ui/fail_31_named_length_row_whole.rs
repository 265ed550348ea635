use backprop::prelude::*;

// Rows of a parameter whose lengths are named constants are read element by
// element; a row used whole (here iterated) gets an error that says to
// index it. A local array's length computed from a constant, and a nested
// local array with a named length, are refused with what to write instead.

const INPUTS: usize = 3;
const HIDDEN: usize = 2;

#[derive_grad]
fn row_sum(w: &[[f64; INPUTS]; HIDDEN]) -> f64 {
    let mut s = 0.0;
    for &v in w[0].iter() {
        s += v;
    }
    s
}

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
