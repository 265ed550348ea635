use backprop::prelude::*;

// A loop range too long to unroll is an error at the range (this once
// panicked with an overflow in the `..=` bound).


#[derive_grad]
fn loss(x: f64) -> f64 {
    let mut y = x;
    for _ in 0..=9223372036854775807 {
        y = y;
    }
    y
}

fn main() {}
