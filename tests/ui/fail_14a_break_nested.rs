use backprop::prelude::*;

// `break` is supported in the `if` statements of a loop's body, nested
// ones too, but not inside an expression.
#[derive_grad]
fn loss(w: [f64; 40]) -> f64 {
    let mut s = 0.0;
    for i in 0..40 {
        let step = if s > 1.0 { break } else { w[i] };
        s += step;
    }
    s
}

fn main() {}
