use backprop::prelude::*;

// `#[custom_grad]` needs the function that computes the gradient.
#[custom_grad]
fn softplus2(x: f64) -> f64 {
    x.exp().ln_1p()
}

fn main() {}
