use backprop::prelude::*;

pub struct Sample {
    pub x: f64,
    pub t: f64,
}

#[derive_grad]
fn loss(w: f64, s: Sample) -> f64 {
    let y = w * s.x;
    (y - s.t) * (y - s.t)
}

fn main() {}
