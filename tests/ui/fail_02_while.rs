use backprop::prelude::*;

// A loop that stays a loop may change floats, integers and arrays, not a
// bool declared before it.
#[derive_grad]
fn loss(x: f64) -> f64 {
    let mut y = x;
    let mut done = false;
    while !done {
        y = y * 0.5;
        done = y < 1.0;
    }
    y
}

fn main() {}
