use backprop::prelude::*;

#[derive(Clone, Params)]
struct Net {
    out: f64,
    extra: Vec<f64>,
}

#[derive_grad]
fn whole(net: &Net) -> f64 {
    net.out * net.extra.len() as f64
}

// A struct with a field of run-time length cannot be passed whole yet.
#[derive_grad]
fn loss(net: &Net) -> f64 {
    whole(net) + net.out
}

fn main() {}
