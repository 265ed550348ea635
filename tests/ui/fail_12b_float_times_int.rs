use backprop::prelude::*;

// The macro's error is followed by rustc's own E0277 on the kept original
// function.

#[derive_grad]
fn loss(w: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += w[i] * i;
    }
    s
}

fn main() {}
