use backprop::prelude::*;

// Each loop is short, but together they unroll to 32 million iterations
// of bodies that build nothing: refused instead of taking minutes.
#[derive_grad]
fn logistic(x0: f64) -> f64 {
    let mut x = x0;
    for _ in 0..8 {
        x = 3.7 * x * (1.0 - x);
        for _ in 0..2000 {
            for _ in 0..2000 {}
        }
    }
    x
}

fn main() {}
