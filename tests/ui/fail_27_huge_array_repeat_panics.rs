use backprop::prelude::*;

// KNOWN ISSUE: the macro panics (`capacity overflow`) instead of reporting
// an error at the length: `[x; N]` with a huge `N` should be rejected like a
// loop that unrolls to too many operations.

#[derive_grad]
fn loss(x: f64) -> f64 {
    let h = [x; 4611686018427387904];
    h[0]
}

fn main() {}
