use backprop::prelude::*;

#[derive_grad(respect_to(w))]
fn loss(w: [f64; 2], x: f64) -> f64 {
    w[0] * x + w[1]
}

fn main() {}
