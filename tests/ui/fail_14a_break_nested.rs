use backprop::prelude::*;

// `break` is supported as the last statement of an `if` directly in the
// loop body, not deeper.
#[derive_grad]
fn loss(w: [f64; 40]) -> f64 {
    let mut s = 0.0;
    for i in 0..40 {
        if w[i] < 0.0 {
            if s > 1.0 {
                break;
            }
            s += 1.0;
        }
        s += w[i];
    }
    s
}

fn main() {}
