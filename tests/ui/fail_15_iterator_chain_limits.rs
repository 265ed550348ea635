use backprop::prelude::*;

// Iterator chains are read as loops. What a loop cannot say as simply is
// refused, each with what to write instead: adapters that drop items
// (`take_while`), chains that end in something other than a sum, product,
// fold, count or for_each, a chain left unconsumed, and a window read at
// a run-time index.

#[derive_grad]
fn filtered(w: &[f64]) -> f64 {
    w.iter().take_while(|v| **v > 0.0).sum::<f64>()
}

#[derive_grad]
fn collected(w: &[f64]) -> f64 {
    let v: Vec<f64> = w.iter().map(|x| x * 2.0).collect();
    v[0]
}

#[derive_grad]
fn max_by(w: &[f64]) -> f64 {
    *w.iter().max_by(|a, b| a.total_cmp(b)).unwrap()
}

#[derive_grad]
fn unconsumed(w: &[f64]) -> f64 {
    let _doubled = w.iter().map(|x| x * 2.0);
    w[0]
}

#[derive_grad]
fn window_at_runtime_index(w: &[f64], k: usize) -> f64 {
    w.windows(3).map(|v| v[k]).sum::<f64>()
}

fn main() {}
