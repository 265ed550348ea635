use backprop::prelude::*;

#[derive_grad]
fn loss(x: f64) -> f64 {
    let mut y = x;
    let mut i = 0;
    while i < 4 {
        y = y * y;
        i += 1;
    }
    y
}

fn main() {}
