use backprop::prelude::*;

// An early `return` inside `if` at the function's level is supported; one
// inside a loop is not, nor are array writes after one decided at run time.
#[derive_grad]
fn in_loop(x: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        if x[i] < 0.0 {
            return s;
        }
        s += x[i];
    }
    s
}

#[derive_grad]
fn write_after(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let mut h = vec![0.0; x.len()];
    for i in 0..x.len() {
        h[i] = x[i] * x[i];
    }
    h[1]
}

fn main() {}
