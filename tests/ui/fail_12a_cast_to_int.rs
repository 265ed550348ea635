use backprop::prelude::*;

#[derive_grad]
fn loss(x: f64) -> f64 {
    let k = x as i32;
    x * k as f64
}

fn main() {}
