use backprop::prelude::*;

#[derive_grad]
fn loss<const N: usize>(w: [f64; 8]) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        s += w[i] * w[i];
    }
    s
}

fn main() {}
