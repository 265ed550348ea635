use backprop::prelude::*;

const N: usize = 8;

#[derive_grad]
fn loss(w: [f64; 8]) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        s += w[i] * w[i];
    }
    s
}

fn main() {}
