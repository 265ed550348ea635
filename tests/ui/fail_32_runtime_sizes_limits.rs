use backprop::prelude::*;

// What slices passed whole to another #[derive_grad] function do not
// support yet, refused at its span with what to write instead (a slice or
// `Vec` parameter, or a local `vec!` not written after the call, passed by
// reference, is supported, a `vec!` declared inside a loop too).

#[derive_grad]
fn total(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i];
    }
    s
}

// A `Vec` parameter written after the call: the callee's derivative would
// read new values. (A local `vec!` written after the call is copied there.)
#[derive_grad]
fn written_after(mut x: Vec<f64>) -> f64 {
    let a = total(&x);
    x[0] = 1.0;
    a + x[0]
}

#[derive_grad]
fn total_owned(x: Vec<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i];
    }
    s
}

// Moved, not borrowed.
#[derive_grad]
fn moved(x: &[f64]) -> f64 {
    let h = vec![1.0; x.len()];
    total_owned(h) + x[0]
}

fn main() {}
