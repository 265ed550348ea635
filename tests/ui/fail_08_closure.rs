use backprop::prelude::*;

// A closure bound with `let` computes a value; one that assigns to a
// variable outside it is refused with what to write instead.
#[derive_grad]
fn loss(w: [f64; 2], x: f64) -> f64 {
    let mut total = 0.0;
    let mut add = |v: f64| total += v * x;
    add(w[0]);
    add(w[1]);
    total
}

fn main() {}
