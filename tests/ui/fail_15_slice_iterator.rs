use backprop::prelude::*;

// Slices are read at indices; their iterator methods are not supported yet.
#[derive_grad]
fn loss(w: &[f64], x: f64) -> f64 {
    w.iter().sum::<f64>() * x
}

fn main() {}
