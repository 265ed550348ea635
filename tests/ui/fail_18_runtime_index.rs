use backprop::prelude::*;

#[derive_grad]
fn loss(w: [f64; 4], k: usize) -> f64 {
    w[k] * w[k]
}

fn main() {}
