use backprop::prelude::*;

// `match` arms match integer or bool literals, ranges, constants, `|` of
// those, a name or `_`; other patterns are refused.
#[derive_grad]
fn loss(x: f64, kind: u8, flag: bool) -> f64 {
    match (kind, flag) {
        (0, true) => x * x,
        _ => x.abs(),
    }
}

fn main() {}
