use backprop::prelude::*;

trait Softsign {
    fn softsign(self) -> Self;
}

impl Softsign for f64 {
    fn softsign(self) -> f64 {
        self / (1.0 + self.abs())
    }
}

#[derive_grad]
fn loss(x: f64, t: f64) -> f64 {
    let y = x.softsign();
    (y - t) * (y - t)
}

fn main() {}
