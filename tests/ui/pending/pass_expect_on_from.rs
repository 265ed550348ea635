// KNOWN BUG (valid code rejected): `.expect("…")` on `F::from(…)` is refused
// with "only numeric and boolean literals are supported", pointing at the
// message string; `.unwrap()` works. `expect`'s argument should be ignored
// (as `unwrap` is), or the error should say to use `.unwrap()`.
use backprop::prelude::*;

#[derive_grad]
fn loss<F: Float>(x: F) -> F {
    let half = F::from(0.5).expect("0.5 is a float");
    half * x * x
}

fn main() {
    let (v, g) = loss_grad(3.0f64);
    assert_eq!((v, g), (4.5, 3.0));
}
