use backprop::prelude::*;

// Unsupported constructs in one function: all are reported in one build.
#[derive_grad]
fn loss(w: [f64; 3], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += w[i];
    }
    while s > 1.0 {
        s = s * 0.5;
    }
    let f = |v: f64| v * v;
    println!("{s}");
    s.rem_euclid(2.0) + w[n] + f(s)
}

fn main() {}
