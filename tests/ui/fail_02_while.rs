use backprop::prelude::*;

// A loop that stays a loop may change floats, integers, bools and arrays
// declared before it (a `done` flag works since 2026-11-25), not a tuple.
#[derive_grad]
fn loss(x: f64) -> f64 {
    let mut p = (x, 1.0);
    while p.0 > 1.0 {
        p = (p.0 * 0.5, p.1 + 1.0);
    }
    p.0 * p.1
}

fn main() {}
