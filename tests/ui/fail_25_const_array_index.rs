use backprop::prelude::*;

// KNOWN ISSUE: a `const` array is taken for a float ("cannot index a float").
// It should say that `const`/`static` arrays are not supported and suggest
// passing the array as a (non-differentiated) parameter.

const SCALE: [f64; 2] = [1.0, 2.0];

#[derive_grad]
fn loss(w: [f64; 2]) -> f64 {
    SCALE[0] * w[0] + SCALE[1] * w[1]
}

fn main() {}
