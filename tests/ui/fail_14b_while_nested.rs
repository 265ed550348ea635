use backprop::prelude::*;

// A `while` loop inside a loop that stays a loop is not supported yet.
#[derive_grad]
fn loss(w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() {
        let mut x = w[i];
        while x > 1.0 {
            x = x * 0.5;
        }
        s += x;
    }
    s
}

fn main() {}
