use backprop::prelude::*;

#[derive(Clone, Params)]
struct Layer {
    w: [f64; 2],
}

#[derive_grad]
fn through_layer(layer: &Layer, x: f64) -> f64 {
    layer.w[0] * x + layer.w[1] * x * x
}

// A struct of parameters passed whole to a call: not yet.
#[derive_grad(hessian, wrt(x))]
fn calls_with_struct(layer: &Layer, x: f64) -> f64 {
    through_layer(layer, x).sin()
}

// An array length the macro cannot read (a named constant): not yet.
const K: usize = 2;

#[derive_grad(jvp)]
fn slice(w: &[[f64; K]]) -> f64 {
    w[0][0] * w[1][1]
}

#[derive(Clone, Params)]
struct Grows {
    w: Vec<f64>,
}

// A struct with a `Vec` field has `jvp`, not yet `hessian` (H's size
// would be known only at run time).
#[derive_grad(hessian)]
fn grows(g: &Grows) -> f64 {
    g.w[0] * g.w[1]
}

fn main() {}
