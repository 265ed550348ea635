use backprop::prelude::*;

#[derive_grad]
fn loss(x: f64) -> f64 {
    if x < 0.0 {
        return 0.0;
    }
    x * x
}

fn main() {}
