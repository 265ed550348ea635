use backprop::prelude::*;

// A tuple of floats is a helper's return type; a tuple holding an array is
// not supported.
#[derive_grad]
fn loss(x: f64, y: f64) -> (f64, [f64; 2]) {
    (x * x, [y, y])
}

fn main() {}
