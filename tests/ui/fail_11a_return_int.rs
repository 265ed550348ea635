use backprop::prelude::*;

#[derive_grad]
fn loss(x: f64) -> i32 {
    (x * x) as i32
}

fn main() {}
