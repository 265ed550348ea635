use backprop::prelude::*;

// What a loop that stays a loop still cannot change, each refused once, at
// the construct, with the rewrite.

// A local array of integers written at run time (counts per label).
#[derive_grad]
fn counts(w: &[f64], labels: &[usize]) -> f64 {
    let mut counts = vec![0usize; w.len()];
    for &l in labels {
        counts[l] += 1;
    }
    let mut s = 0.0;
    for i in 0..w.len() {
        s += w[i] * counts[i] as f64;
    }
    s
}

// A range moved along by the loop.
#[derive_grad]
fn pairs(w: &[f64]) -> f64 {
    let mut r = &w[0..];
    let mut s = 0.0;
    while r.len() > 1 {
        s += r[0] * r[1];
        r = &r[1..];
    }
    s
}

// A labelled loop left from the inner one.
#[derive_grad]
fn labelled(w: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    'outer: for i in 0..n {
        for j in 0..n {
            if w[i] * w[j] > 10.0 {
                break 'outer;
            }
            s += w[i] * w[j];
        }
    }
    s
}

// A `vec!` given a whole new value.
#[derive_grad]
fn swapped(w: &[f64], n: usize, c: bool) -> f64 {
    let mut h = vec![0.0; n];
    for i in 0..n {
        h[i] = w[i] * 2.0;
    }
    let g = vec![1.0; n];
    if c {
        h = g;
    }
    let mut s = 0.0;
    for i in 0..n {
        s += h[i];
    }
    s
}

fn main() {}
