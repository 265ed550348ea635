use backprop::prelude::*;

// Unsupported constructs in one function: all are reported in one build.
#[derive_grad]
fn loss(w: [f64; 3], n: usize) -> f64 {
    let mut s = 0.0;
    loop {
        s += w[0];
        break;
    }
    let kept: f64 = w.iter().filter(|v| **v > 0.0).enumerate().map(|(i, v)| v * i as f64).sum();
    let f = |v: f64| v.rem_euclid(2.0);
    s + kept + f(s) + w[n]
}

fn main() {}
