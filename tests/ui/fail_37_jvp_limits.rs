use backprop::prelude::*;

#[derive_grad]
fn sq(a: f64) -> f64 {
    a * a
}

// Second derivatives do not go through a call to another #[derive_grad]
// function (its companion gives first derivatives only), in a loop that
// stays a loop as in straight-line code.
#[derive_grad(hessian)]
fn calls_in_loop(w: [f64; 100]) -> f64 {
    let mut s = 0.0;
    for i in 0..100 {
        s += sq(w[i]);
    }
    s
}

// With several parameters H is written out, which needs loops of
// compile-time length.
#[derive_grad(hessian, wrt(a, b))]
fn two(a: f64, b: f64, n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += a * b * i as f64;
    }
    s
}

// A slice of arrays' tangent is not supported yet (a slice of floats is).
#[derive_grad(jvp)]
fn slice(w: &[[f64; 2]]) -> f64 {
    w[0][0] * w[1][1]
}

fn main() {}
