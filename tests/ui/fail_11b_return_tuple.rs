use backprop::prelude::*;

#[derive_grad]
fn loss(x: f64, y: f64) -> (f64, f64) {
    (x * x, y * y)
}

fn main() {}
