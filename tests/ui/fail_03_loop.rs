use backprop::prelude::*;

#[derive_grad]
fn loss(x: f64) -> f64 {
    let mut y = x;
    loop {
        y = 0.5 * y;
        if y < 1.0 {
            break;
        }
    }
    y
}

fn main() {}
