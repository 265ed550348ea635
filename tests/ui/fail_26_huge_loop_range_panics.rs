use backprop::prelude::*;

// KNOWN ISSUE: the macro panics (`attempt to add with overflow` in the
// `..=` bound) instead of reporting an error at the range.

#[derive_grad]
fn loss(x: f64) -> f64 {
    let mut y = x;
    for _ in 0..=9223372036854775807 {
        y = y;
    }
    y
}

fn main() {}
