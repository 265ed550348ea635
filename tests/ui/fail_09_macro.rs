use backprop::prelude::*;

#[derive_grad]
fn loss(x: f64, t: f64) -> f64 {
    let e = x - t;
    println!("error = {e}");
    e * e
}

fn main() {}
