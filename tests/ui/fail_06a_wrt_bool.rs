use backprop::prelude::*;

#[derive_grad(wrt(w, flag))]
fn loss(w: f64, flag: bool) -> f64 {
    if flag { w * w } else { w }
}

fn main() {}
