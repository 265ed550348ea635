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

#[derive_grad]
impl Net {
    #[derive_grad(wrt(self))]
    fn scaled(&self) -> f64 {
        2.0 * self.out
    }

    // Nor be the receiver of a method call: the error is at the receiver
    // (it was at the struct's `derive(Params)`).
    #[derive_grad(wrt(self))]
    fn twice(&self) -> f64 {
        self.scaled() * self.scaled()
    }
}

#[derive_grad]
fn through_method(net: &Net) -> f64 {
    net.scaled() + 1.0
}

fn main() {}
