use backprop::prelude::*;

// What the user sees is rustc's `cannot find function `square_error_vjp``:
// the macro cannot tell a #[derive_grad] function from another one, and the
// message does not say that `square_error` needs #[derive_grad].

fn square_error(y: f64, t: f64) -> f64 {
    (y - t) * (y - t)
}

#[derive_grad]
fn loss(w: f64, x: f64, t: f64) -> f64 {
    square_error(w * x, t)
}

fn main() {}
