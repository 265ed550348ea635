use backprop::prelude::*;

#[derive_grad]
fn loss(mut x: f64, t: f64) -> f64 {
    x -= t;
    x * x
}

fn main() {}
