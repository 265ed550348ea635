use backprop::prelude::*;

struct Model {
    scale: f64,
}

impl Model {
    #[derive_grad]
    fn loss(&self, x: f64) -> f64 {
        x * x
    }
}

fn main() {}
