use backprop::prelude::*;

#[derive(Clone, Params)]
struct Layer {
    w: [f64; 2],
    b: f64,
}

#[derive(Clone, Params)]
struct Net {
    hidden: Layer,
    out: f64,
    extra: Vec<f64>,
}

#[derive_grad]
fn dot(w: &[f64; 2], x: &[f64; 2]) -> f64 {
    w[0] * x[0] + w[1] * x[1]
}

#[derive_grad]
fn whole(net: &Net) -> f64 {
    net.out
}

// A struct bound whole, a field that is a struct bound whole, a field that
// does not exist, the parameter's name bound again, and a struct with a
// `Vec` field passed to a function: one error each.
#[derive_grad]
fn loss(net: &Net, x: &[f64; 2]) -> f64 {
    let copy = net;
    let h = net.hidden;
    let z = dot(&net.hidden.w, x) + net.hidden.bias + whole(net);
    let net = 2.0;
    z * net + copy.out + h.b
}

fn main() {}
