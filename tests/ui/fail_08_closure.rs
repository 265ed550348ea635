use backprop::prelude::*;

#[derive_grad]
fn loss(w: [f64; 2], x: f64) -> f64 {
    let f = |v: f64| v * x;
    f(w[0]) + f(w[1])
}

fn main() {}
