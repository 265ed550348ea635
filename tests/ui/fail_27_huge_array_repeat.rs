use backprop::prelude::*;

// `[x; N]` with a huge `N` is an error at the length (this once panicked
// with `capacity overflow`).


#[derive_grad]
fn loss(x: f64) -> f64 {
    let h = [x; 4611686018427387904];
    h[0]
}

fn main() {}
