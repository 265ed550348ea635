use backprop::prelude::*;

// A `const` array cannot be seen by the macro: the error says to pass it as
// a parameter.


const SCALE: [f64; 2] = [1.0, 2.0];

#[derive_grad]
fn loss(w: [f64; 2]) -> f64 {
    SCALE[0] * w[0] + SCALE[1] * w[1]
}

fn main() {}
