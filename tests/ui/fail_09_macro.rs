use backprop::prelude::*;

// `println!`, `assert!` and the like are fine as statements; a macro that
// computes a value cannot be seen into.
macro_rules! square {
    ($e:expr) => {
        $e * $e
    };
}

#[derive_grad]
fn loss(x: f64, t: f64) -> f64 {
    let e = x - t;
    println!("error = {e}");
    square!(e)
}

fn main() {}
