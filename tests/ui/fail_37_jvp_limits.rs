use backprop::prelude::*;

// Forward mode does not yet go through a loop that stays a loop.
#[derive_grad(jvp)]
fn long_sum(w: [f64; 100]) -> f64 {
    let mut s = 0.0;
    for i in 0..100 {
        s += w[i] * w[i];
    }
    s
}

// Its tangent is one parameter's.
#[derive_grad(jvp, wrt(a, b))]
fn two(a: f64, b: f64) -> f64 {
    a * b
}

fn main() {}
