use backprop::prelude::*;

#[derive_grad]
fn loss(mut w: [f64; 3], x: f64) -> f64 {
    w[0] = 1.0;
    w[0] * x + w[1] * x + w[2]
}

fn main() {}
