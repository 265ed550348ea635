use backprop::prelude::*;

#[derive_grad]
fn loss(w: [f64; 4], k: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        if i == k {
            s += w[i] * w[i];
        }
    }
    s
}

fn main() {
    let (v, g) = loss_grad([1.0, 2.0, 3.0, 4.0], 2);
    assert_eq!(v, 9.0);
    assert_eq!(g, [0.0, 0.0, 6.0, 0.0]);
}
