use backprop::prelude::*;

// `0..=u64::MAX` has 2^64 items: its length once wrapped to 0 and the
// macro panicked ("capacity overflow"; found by the fuzzer). Now the loop
// stays a loop, and the only error is rustc's own about the user's code
// (the unsuffixed literal is an `i32`), as without the macro.
#[derive_grad]
fn loss(x: f64) -> f64 {
    let mut y = x;
    for _ in 0..=18446744073709551615 {
        y = y * 0.5;
    }
    y
}

fn main() {}
