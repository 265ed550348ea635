use backprop::prelude::*;

// A cast to another float type is refused: the function computes in one
// float type.


#[derive_grad]
fn loss(x: f64) -> f64 {
    let y = (x as f32).sin();
    y as f64
}

fn main() {}
