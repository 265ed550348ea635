use backprop::prelude::*;

#[derive_grad]
fn loss(x: f64, kind: u8) -> f64 {
    match kind {
        0 => x * x,
        _ => x.abs(),
    }
}

fn main() {}
