// KNOWN BUG (accepted, silently wrong): the user's own `relu` (a leaky ReLU)
// shadows the prelude's, so `loss` calls the user's function, but the macro
// treats every bare `relu(…)` as backprop-core's and emits
// `::backprop::__private::relu`. `loss_grad(-2.0)` returns (0.0, 0.0) while
// `loss(-2.0)` is -0.2 and the true derivative is 0.1. It should either be
// rejected at the call (like a call to any function that is not
// #[derive_grad]) or differentiate the function that is actually called.
use backprop::prelude::*;

fn relu(x: f64) -> f64 {
    if x > 0.0 { x } else { 0.1 * x }
}

#[derive_grad]
fn loss(x: f64) -> f64 {
    relu(x)
}

fn main() {
    let (v, g) = loss_grad(-2.0);
    assert_eq!(v, loss(-2.0));
    assert_eq!(g, 0.1);
}
