use backprop::prelude::*;

#[derive_grad]
fn loss(w: [f64; 8], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += w[i] * w[i];
    }
    s
}

fn main() {}
