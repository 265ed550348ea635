use backprop::prelude::*;

#[derive_grad]
fn loss(w: [f64; 2], x: f64) -> f64 {
    let pair = (w[0], w[1]);
    pair.0 * x + pair.1
}

fn main() {}
