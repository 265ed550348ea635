use backprop::prelude::*;

#[derive_grad]
fn loss(n: usize, w: [f64; 3]) -> f64 {
    let k = n as f64;
    k * (w[0] + w[1] + w[2])
}

fn main() {}
