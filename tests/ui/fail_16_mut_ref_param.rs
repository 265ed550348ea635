use backprop::prelude::*;

#[derive_grad]
fn loss(w: &mut [f64; 2], x: f64) -> f64 {
    w[0] * x + w[1]
}

fn main() {}
