use backprop::prelude::*;

// Ranges of slices passed to another #[derive_grad] function
// (`total(&x[a..b])`, a chunk of `x.chunks(d)`) are supported; what is
// not is refused at its span, with what to write instead.

#[derive_grad]
fn total(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i];
    }
    s
}

// An inclusive range.
#[derive_grad]
fn inclusive(x: &[f64], n: usize) -> f64 {
    total(&x[1..=n])
}

// A range of a fixed-size array with a bound known at run time only, and
// one outside the array (literal ranges of arrays are supported).
#[derive_grad]
fn of_an_array(w: [f64; 4], n: usize) -> f64 {
    total(&w[0..n]) + total(&w[2..5])
}


// A range bound to a name (passed to a call or iterated directly, it is
// supported).
#[derive_grad]
fn bound_to_a_name(w: &[f64]) -> f64 {
    let row = &w[1..3];
    total(row)
}

fn main() {}
