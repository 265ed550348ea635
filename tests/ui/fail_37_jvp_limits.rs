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

// With several parameters H is written out, which needs loops of
// compile-time length.
#[derive_grad(hessian, wrt(a, b))]
fn two(a: f64, b: f64, n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += a * b * i as f64;
    }
    s
}

// A slice of arrays' tangent is not supported yet (a slice of floats is).
#[derive_grad(jvp)]
fn slice(w: &[[f64; 2]]) -> f64 {
    w[0][0] * w[1][1]
}

fn main() {}
