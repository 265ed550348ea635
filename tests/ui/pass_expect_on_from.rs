use backprop::prelude::*;

// `.expect("…")` on `F::from(…)` is accepted like `.unwrap()`.

#[derive_grad]
fn loss<F: Float>(x: F) -> F {
    let half = F::from(0.5).expect("0.5 is a float");
    half * x * x
}

fn main() {
    let (v, g) = loss_grad(3.0f64);
    assert_eq!((v, g), (4.5, 3.0));
}
