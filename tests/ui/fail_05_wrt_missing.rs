use backprop::prelude::*;

#[derive_grad(wrt(w, bias))]
fn loss(w: [f64; 2], b: f64, x: [f64; 2], t: f64) -> f64 {
    let y = w[0] * x[0] + w[1] * x[1] + b;
    (y - t) * (y - t)
}

fn main() {}
