use backprop::prelude::*;

#[derive_grad]
fn loss(x: f64) {
    let _ = x * x;
}

fn main() {}
