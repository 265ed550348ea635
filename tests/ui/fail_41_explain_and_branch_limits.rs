use backprop::prelude::*;

// `explain` through a call passing a slice, and another array assigned in a
// run-time branch to an array held in memory: each refused at the
// construct, with what to write instead.

#[derive_grad]
fn total(w: &[f64]) -> f64 {
    w.iter().map(|x| x * x).sum()
}

#[derive_grad(explain)]
fn explained(w: &[f64]) -> f64 {
    total(w).sqrt()
}

#[derive_grad]
fn replaced(w: [f64; 3], n: usize, c: bool) -> f64 {
    let mut h = [0.0; 3];
    for i in 0..n {
        h[i % 3] += w[i % 3];
    }
    if c {
        h = [1.0, 2.0, 3.0];
    }
    h[0] + h[1] * h[2]
}

fn main() {}
