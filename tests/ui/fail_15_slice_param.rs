use backprop::prelude::*;

#[derive_grad]
fn loss(w: &[f64], x: f64) -> f64 {
    w[0] * x + w[1]
}

fn main() {}
