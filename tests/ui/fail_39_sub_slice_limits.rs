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


// Ranges bound to names are supported (`let row = &w[1..3];`); not a
// range that is of one slice or of another by a run-time `if`, nor a
// range of an array read at a run-time index.
#[derive_grad]
fn picked_at_run_time(w: &[f64], x: &[f64], c: bool) -> f64 {
    let row = if c { &w[1..3] } else { &x[1..3] };
    total(row)
}

#[derive_grad]
fn of_a_row_in_memory(w: &[[f64; 3]; 4], j: usize) -> f64 {
    let row = &w[j][1..];
    row[0]
}

fn main() {}
