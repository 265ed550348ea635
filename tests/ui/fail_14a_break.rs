use backprop::prelude::*;

#[derive_grad]
fn loss(w: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        if w[i] < 0.0 {
            break;
        }
        s += w[i];
    }
    s
}

fn main() {}
