use backprop::prelude::*;

/// Several supported constructs together: arrays, loops with literal bounds,
/// local arrays, `if`/`else`, known methods and core functions.
#[derive_grad(wrt(w, b))]
fn loss(w: [[f64; 2]; 3], b: [f64; 3], x: &[f64; 2], t: f64, n: usize) -> f64 {
    let mut h = [0.0; 3];
    for j in 0..3 {
        let mut s = b[j];
        for i in 0..2 {
            s += w[j][i] * x[i];
        }
        h[j] = s.tanh();
    }
    let y = sigmoid(h[0] + h[1] - h[2]);
    let scale = if n > 2 { 2.0 } else { n as f64 };
    let e = if y > t { (y - t).powi(2) } else { (t - y).abs() };
    scale * e
}

fn main() {
    let x = [1.0, 2.0];
    let (v, (gw, gb)) = loss_grad([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], [0.0; 3], &x, 0.5, 3);
    assert_eq!(v, loss([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], [0.0; 3], &x, 0.5, 3));
    let _: [[f64; 2]; 3] = gw;
    let _: [f64; 3] = gb;
}
