use backprop::prelude::*;

const N: usize = 4;

#[derive_grad]
fn loss(w: [f64; N], x: f64) -> f64 {
    w[0] * x + w[1]
}

fn main() {}
