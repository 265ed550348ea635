//! Checkpoints of a `#[derive(Params)]` struct and its optimizer (feature
//! `serde`): training on a `#[derive_grad]` loss, interrupted and resumed
//! from the file, ends with the same bits as the uninterrupted run.
#![cfg(feature = "serde")]

use backprop::core::checkpoint;
use backprop::prelude::*;

#[derive(Clone, Debug, PartialEq, Params)]
struct Net {
    w: [[f64; 3]; 4],
    b: Vec<f64>,
    out: [f64; 4],
}

#[derive_grad]
#[allow(dead_code)] // only its gradient is called
fn loss(net: &Net, x: &[f64; 3], y: f64) -> f64 {
    let mut s = 0.0;
    for j in 0..4 {
        let z = net.w[j][0] * x[0] + net.w[j][1] * x[1] + net.w[j][2] * x[2] + net.b[j];
        s += net.out[j] * z.tanh();
    }
    (s - y) * (s - y)
}

fn epoch(net: &mut Net, opt: &mut Adam<Net>, k: usize) {
    for i in 0..8 {
        let t = (k * 8 + i) as f64 * 0.1;
        let (_, g) = loss_grad(net, &[t.sin(), t.cos(), 1.0], (2.0 * t).sin());
        opt.step(net, &g);
    }
}

#[test]
fn a_struct_and_adam_resume_exactly() {
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("checkpoint_struct/net.json");
    let init = Net {
        w: [
            [0.1, -0.2, 0.3],
            [0.4, 0.5, -0.6],
            [0.7, -0.8, 0.9],
            [-0.1, 0.2, 0.05],
        ],
        b: vec![0.0, 0.1, -0.1, 0.2],
        out: [0.5, -0.5, 0.25, 1.0],
    };
    let (mut net, mut opt) = (init.clone(), Adam::new(0.01));
    for k in 0..3 {
        epoch(&mut net, &mut opt, k);
    }
    checkpoint::save(&file, &net, &opt).expect("saved");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("\".w[3][2]\"") && text.contains("\".b[0]\""),
        "paths by field name"
    );
    let (mut resumed, mut opt2) = (init.clone(), Adam::new(0.01));
    checkpoint::load(&file, &mut resumed, &mut opt2).expect("loaded");
    assert_eq!(resumed, net);
    for k in 3..6 {
        epoch(&mut net, &mut opt, k);
        epoch(&mut resumed, &mut opt2, k);
    }
    assert_eq!(resumed, net);
    assert_ne!(net, init);
}
