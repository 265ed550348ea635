use backprop::prelude::*;

// The user's own `relu` shadows backprop's: `loss` calls the user's
// function, so the macro must not differentiate it as backprop's `relu`.
// The generated code checks the name resolves to backprop's function, and
// reports a type error at the call when it does not.

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
