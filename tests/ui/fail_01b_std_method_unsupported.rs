use backprop::prelude::*;

#[derive_grad]
fn loss(x: f64) -> f64 {
    let (s, c) = x.sin_cos();
    s * c
}

fn main() {}
