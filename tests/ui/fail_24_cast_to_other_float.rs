use backprop::prelude::*;

// KNOWN ISSUE: the message calls a float-to-float cast "integer arithmetic".
// It should say that the function computes in one float type (`f64`) and
// that casts to another float type are not supported.

#[derive_grad]
fn loss(x: f64) -> f64 {
    let y = (x as f32).sin();
    y as f64
}

fn main() {}
