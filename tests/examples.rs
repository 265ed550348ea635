//! Each example's computation, checked against the numbers its seed prints.

#[path = "../examples/linear_net_2_3_1.rs"]
mod linear_net_2_3_1;

#[test]
fn linear_net_2_3_1_reproduces_seed_001() {
    let r = linear_net_2_3_1::run();
    // seeds/001 prints these exact values.
    assert_eq!(r.before, (180.0, 7200.0));
    assert_eq!(
        r.grad,
        [4800.0, 4800.0, 4800.0, 9600.0, 9600.0, 9600.0, 7200.0, 7200.0, 7200.0]
    );
    assert!((r.after.0 - 140.3136).abs() < 1e-10, "{:?}", r.after);
    assert!((r.after.1 - 3225.13717248).abs() < 1e-8, "{:?}", r.after);
    // w − lr·g by hand: 0.5 − 1e-5·4800 = 0.452, 0.5 − 0.096 = 0.404, 1 − 0.072 = 0.928
    let expected = [
        0.452, 0.452, 0.452, 0.404, 0.404, 0.404, 0.928, 0.928, 0.928,
    ];
    for (w, e) in r.weights.iter().zip(expected) {
        assert!((w - e).abs() < 1e-12);
    }
    assert!(r.text.contains("prediction 180.0, loss 7200.0"));
    assert!(r.text.contains("prediction 140.3136, loss 3225.13717248"));
    // The derivation, as the tutorial works it: ∂L/∂w = (y − t)·(path).
    assert!(
        r.derivation.contains("∂loss/∂y = y − t\n"),
        "{}",
        r.derivation
    );
    assert!(r
        .derivation
        .contains("∂loss/∂w[0] = ∂loss/∂y·∂y/∂z1·∂z1/∂w[0] = (y − t)·w[6]·x1"));
    // (y − t)·w[6]·x1 = (180 − 60)·1·40 = 4800, the printed gradient.
    assert_eq!((180.0 - 60.0) * 1.0 * 40.0, r.grad[0]);
    assert!(r.svg.starts_with("<svg") && r.svg.contains("z1") && r.svg.contains("7200"));
}

#[path = "../examples/sigmoid_net_2_2_2.rs"]
mod sigmoid_net_2_2_2;

#[path = "../examples/neuron_chain.rs"]
mod neuron_chain;

#[path = "../examples/momentum_xor.rs"]
mod momentum_xor;

#[path = "../examples/descent_plots.rs"]
mod descent_plots;

#[path = "../examples/iris_mlp.rs"]
mod iris_mlp;

use backprop::core::gradcheck_value_grad;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn sigmoid_net_2_2_2_matches_the_hand_derivation_of_seed_003() {
    use sigmoid_net_2_2_2::{B0, W0, X, Y};
    let r = sigmoid_net_2_2_2::run();
    let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
    let (w, b) = (W0, B0);
    // forward pass written out with the tutorial's names (w1 = w[0] …)
    let a1 = sig(X[0] * w[0] + X[1] * w[1] + b[0]);
    let a2 = sig(X[0] * w[2] + X[1] * w[3] + b[1]);
    let p1 = sig(a1 * w[4] + a2 * w[5] + b[2]);
    let p2 = sig(a1 * w[6] + a2 * w[7] + b[3]);
    assert!(close(r.a[0], a1, 1e-15) && close(r.a[1], a2, 1e-15));
    assert!(close(r.p[0], p1, 1e-15) && close(r.p[1], p2, 1e-15));
    let e = -(Y[0] * p1.ln() + (1.0 - Y[0]) * (1.0 - p1).ln())
        - (Y[1] * p2.ln() + (1.0 - Y[1]) * (1.0 - p2).ln());
    assert!(close(r.error, e, 1e-14));

    // the whole gradient by the tutorial's chain rule: ∂E/∂z3 = p1 − y1,
    // ∂E/∂z4 = p2 − y2, ∂E/∂a1 = (p1 − y1)·w5 + (p2 − y2)·w7, …
    let (d3, d4) = (p1 - Y[0], p2 - Y[1]);
    let da1 = d3 * w[4] + d4 * w[6];
    let da2 = d3 * w[5] + d4 * w[7];
    let (d1, d2) = (da1 * a1 * (1.0 - a1), da2 * a2 * (1.0 - a2));
    let hand_w = [
        d1 * X[0],
        d1 * X[1],
        d2 * X[0],
        d2 * X[1],
        d3 * a1,
        d3 * a2,
        d4 * a1,
        d4 * a2,
    ];
    let hand_b = [d1, d2, d3, d4];
    for (g, h) in r.grad_w.iter().zip(hand_w) {
        assert!(close(*g, h, 1e-12), "{:?} vs {hand_w:?}", r.grad_w);
    }
    for (g, h) in r.grad_b.iter().zip(hand_b) {
        assert!(close(*g, h, 1e-12), "{:?} vs {hand_b:?}", r.grad_b);
    }
    assert!(close(r.grad_a.0, da1, 1e-12) && close(r.grad_a.1, da2, 1e-12));
    // both sides of the printed formulas agree
    assert!(close(r.grad_w[4], r.formula_w5, 1e-12));
    assert!(close(r.grad_a.0, r.formula_a1, 1e-12));
    assert!(close(r.grad_w[0], r.formula_w1, 1e-12));
    // and finite differences agree with loss_grad
    let check = gradcheck_value_grad(
        |p: &([f64; 8], [f64; 4])| sigmoid_net_2_2_2::loss_grad(p.0, p.1, X, Y),
        &(W0, B0),
    );
    assert!(check.passed(1e-7), "{check}");

    // training: the error goes down to its floor 2·H(0.01) ≈ 0.112003
    assert!(r.losses.windows(2).all(|l| l[1] < l[0]), "{:?}", r.losses);
    assert!((r.min_error - 0.112_003).abs() < 1e-6, "{}", r.min_error);
    assert!(*r.losses.last().unwrap() - r.min_error < 1e-5);
    assert!((r.p_trained[0] - Y[0]).abs() < 1e-3 && (r.p_trained[1] - Y[1]).abs() < 1e-3);
    assert!(r.text.contains("dE/dw5 = (p1 - y1)*a1"));
    // NAME_grad(..).0 is bit-for-bit NAME(..)
    use sigmoid_net_2_2_2::{head, head_grad, loss, loss_grad};
    assert_eq!(loss(W0, B0, X, Y), loss_grad(W0, B0, X, Y).0);
    assert_eq!(head(a1, a2, W0, B0, Y), head_grad(a1, a2, W0, B0, Y).0);
    assert_eq!(head(a1, a2, W0, B0, Y), r.error);
}

#[test]
fn neuron_chain_gradient_is_the_hand_formula_and_lr_0_01_diverges() {
    use neuron_chain::{Outcome, W0, X, Y};
    let r = neuron_chain::run();
    let out = X * W0.iter().product::<f64>();
    assert!(close(r.out0, out, 1e-14));
    assert!(close(r.loss0, (out - Y) * (out - Y), 1e-14));
    // seeds/000 by hand: ∂L/∂wi = 2(out − y)·(product of the other weights)·x
    for (i, (g, wi)) in r.grad0.iter().zip(W0).enumerate() {
        let hand = 2.0 * (out - Y) * out / wi;
        assert!(close(*g, hand, 1e-13), "w{}: {g} vs {hand}", i + 1);
        let others: f64 = W0
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, w)| w)
            .product();
        assert!(close(*g, 2.0 * (out - Y) * X * others, 1e-13));
    }
    let check = gradcheck_value_grad(|w| neuron_chain::loss_grad(*w, X, Y), &W0);
    assert!(check.passed(1e-7), "{check}");

    // learning rate 0.01 from the seed-5 start overflows: a float64 re-run of
    // the same update in Python overflows at step 97 as well
    match r.seed_run.outcome {
        Outcome::Diverged { step, peak } => {
            assert!((95..=99).contains(&step), "diverged at {step}");
            assert!(peak > 1e10, "{peak}");
        }
        ref other => panic!("expected divergence with lr 0.01, got {other:?}"),
    }
    // learning rate 0.001 converges (917 steps in the Python re-run)
    match r.stable_run.outcome {
        Outcome::Converged { steps, out, loss } => {
            assert!((910..=925).contains(&steps), "{steps} steps");
            assert!(loss < 1e-6 && (out - Y).abs() < 1e-3);
        }
        ref other => panic!("expected convergence with lr 0.001, got {other:?}"),
    }
    assert!(r.text.contains("DIVERGED"));
    assert_eq!(neuron_chain::loss(W0, X, Y), r.loss0);
}

#[test]
fn momentum_xor_reaches_the_target_in_fewer_steps_with_momentum() {
    use momentum_xor::{batch_grad, init, TARGET, XOR};
    let r = momentum_xor::run();
    let sgd = r.sgd.steps.expect("plain SGD reaches the target");
    let mom = r.momentum.steps.expect("momentum reaches the target");
    assert!(mom < sgd, "momentum {mom} vs SGD {sgd}");
    for run in [&r.sgd, &r.momentum] {
        assert!(run.final_loss < TARGET);
        for (o, (_, t)) in run.outputs.iter().zip(XOR) {
            assert!((o - t).abs() < 0.5, "{:?}", run.outputs);
        }
    }
    // the full-batch gradient against central differences, at the start and
    // at a second point
    let p0 = init();
    let check = gradcheck_value_grad(batch_grad, &p0);
    assert!(check.passed(1e-7), "{check}");
    let mut p1 = p0;
    p1.0[1][0] += 0.7;
    p1.3 -= 0.4;
    let check = gradcheck_value_grad(batch_grad, &p1);
    assert!(check.passed(1e-7), "{check}");
    assert!(r.text.contains(&format!("after {mom} steps")));
    let (w1, b1, w2, b2) = p1;
    let (x, t) = XOR[2];
    assert_eq!(
        momentum_xor::loss(w1, b1, w2, b2, x, t),
        momentum_xor::loss_grad(w1, b1, w2, b2, x, t).0
    );
}

#[test]
fn descent_plots_follows_the_closed_form_and_writes_pictures() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("descent_plots_test");
    let _ = std::fs::remove_dir_all(&dir);
    let r = descent_plots::run_in(&dir).expect("pictures written");
    assert_eq!(r.path_1d.len(), 51);
    assert_eq!(r.path_2d.len(), 51);
    for k in 0..=50 {
        let s = 0.8_f64.powi(k as i32);
        assert!(
            close(r.path_1d[k], 5.0 * s, 1e-12),
            "x_{k} = {}",
            r.path_1d[k]
        );
        assert!(close(r.path_2d[k][0], 1.5 * s, 1e-12));
        assert!(close(r.path_2d[k][1], 1.5 * s, 1e-12));
        assert!(close(r.loss_1d[k], 25.0 * s * s, 1e-12));
        assert!(close(r.loss_2d[k], 4.5 * s * s, 1e-12));
    }
    let last = r.text.lines().find(|l| l.starts_with("  50 ")).unwrap();
    assert!(
        last.contains("0.000071362") && last.ends_with("9.166661894e-10"),
        "{last}"
    );
    assert_eq!(
        descent_plots::parabola(5.0),
        descent_plots::parabola_grad(5.0).0
    );
    assert_eq!(
        descent_plots::bowl([1.5, 1.5]),
        descent_plots::bowl_grad([1.5, 1.5]).0
    );

    let names = [
        "parabola.png",
        "bowl.png",
        "bowl_3d.png",
        "descent.gif",
        "loss.png",
    ];
    assert_eq!(r.files, names.map(|n| dir.join(n)));
    for f in &r.files {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            bytes.len() > 10_000,
            "{} is only {} bytes",
            f.display(),
            bytes.len()
        );
        if f.extension().unwrap() == "png" {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", f.display());
            let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
            assert!(img.width() >= 700 && img.height() >= 500);
            // something drawn: many non-white pixels, and red ones (the path)
            let px = img.pixels().count();
            let ink = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
            let red = img
                .pixels()
                .filter(|p| p.0[0] > 200 && p.0[1] < 60 && p.0[2] < 60)
                .count();
            assert!(ink * 50 > px, "{}: {ink} of {px} pixels drawn", f.display());
            assert!(
                red > 50 || f.ends_with("loss.png"),
                "{}: {red} red",
                f.display()
            );
        } else {
            assert_eq!(&bytes[..6], b"GIF89a");
            let mut opts = gif::DecodeOptions::new();
            opts.set_color_output(gif::ColorOutput::RGBA);
            let mut dec = opts.read_info(&bytes[..]).unwrap();
            assert_eq!((dec.width(), dec.height()), (640, 420));
            let mut frames = 0;
            while let Some(frame) = dec.read_next_frame().unwrap() {
                assert!(frame.delay > 0);
                frames += 1;
            }
            assert_eq!(frames, 51, "one frame per point x_0 … x_50");
        }
    }
}

/// The per-sample gradient of the iris MLP worked out by hand (the
/// derivation in backprop-core's tests/iris_mlp.rs), as an oracle for the
/// example's `#[derive_grad]` loss.
#[allow(clippy::needless_range_loop)] // the indices mirror the subscripts
fn iris_hand_gradient(p: &iris_mlp::Mlp, s: &iris_mlp::Sample) -> (f64, iris_mlp::Mlp) {
    use iris_mlp::H;
    let h: [f64; H] =
        std::array::from_fn(|j| (p.1[j] + (0..4).map(|k| p.0[j][k] * s.x[k]).sum::<f64>()).tanh());
    let z: [f64; 3] =
        std::array::from_fn(|c| p.3[c] + (0..H).map(|j| p.2[c][j] * h[j]).sum::<f64>());
    let zmax = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e = z.map(|zc| (zc - zmax).exp());
    let sum: f64 = e.iter().sum();
    let loss = sum.ln() + zmax - z[s.species];
    let dz: [f64; 3] = std::array::from_fn(|c| e[c] / sum - s.y[c]);
    let mut g: iris_mlp::Mlp = ([[0.0; 4]; H], [0.0; H], [[0.0; H]; 3], [0.0; 3]);
    for c in 0..3 {
        g.3[c] = dz[c];
        for j in 0..H {
            g.2[c][j] = dz[c] * h[j];
        }
    }
    for j in 0..H {
        let dh: f64 = (0..3).map(|c| dz[c] * p.2[c][j]).sum();
        let da = dh * (1.0 - h[j] * h[j]);
        g.1[j] = da;
        for k in 0..4 {
            g.0[j][k] = da * s.x[k];
        }
    }
    (loss, g)
}

#[test]
fn iris_mlp_trains_to_95_percent_with_a_derive_grad_loss() {
    use backprop::core::Params;
    let r = iris_mlp::run();
    assert_eq!(r.data.len(), 150);
    // the derived gradient: against the hand derivation and central differences
    for p in [&r.initial, &r.params] {
        for s in [&r.data[0], &r.data[70], &r.data[120]] {
            let (v, g) = iris_mlp::sample_grad(p, s);
            assert_eq!(v, iris_mlp::loss(p.0, p.1, p.2, p.3, s.x, s.y));
            let (hv, hg) = iris_hand_gradient(p, s);
            assert!(close(v, hv, 1e-12), "{v} vs {hv}");
            for (a, b) in g.to_vec().into_iter().zip(hg.to_vec()) {
                assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
            }
            // at the trained point some elements are ~1e-6, where central
            // differences themselves are only good to ~1e-5 relative
            let tol = if std::ptr::eq(p, &r.initial) {
                1e-6
            } else {
                1e-4
            };
            let check = gradcheck_value_grad(|p| iris_mlp::sample_grad(p, s), p);
            assert!(check.passed(tol), "{check}");
        }
    }
    assert_eq!(r.epoch_losses.len(), iris_mlp::EPOCHS);
    // a uniform guess has cross-entropy ln 3 ≈ 1.0986
    assert!(r.epoch_losses[0] < 1.2, "{:?}", r.epoch_losses);
    assert!(
        *r.epoch_losses.last().unwrap() < 0.15,
        "{:?}",
        r.epoch_losses
    );
    assert!(r.accuracy >= 0.95, "training accuracy {}", r.accuracy);
    assert!(r.accuracy_before < 0.9, "{}", r.accuracy_before);
    assert_eq!(r.per_species.iter().map(|c| c.1).sum::<usize>(), 150);
    assert!(r.text.contains("training accuracy"));
}

#[test]
fn sigmoid_net_2_2_2_prints_the_seed_derivation() {
    let r = sigmoid_net_2_2_2::run();
    // seeds/003 (w5 is w[4], y1 is y[0]): ∂E/∂w5 = (p1 − y1)·a1 and
    // ∂E/∂a1 = (p1 − y1)·w5 + (p2 − y2)·w7.
    assert!(
        r.derivation
            .contains("∂loss/∂z3 = ∂loss/∂e1·∂e1/∂p1·∂p1/∂z3 = p1 − y[0]"),
        "{}",
        r.derivation
    );
    assert!(r.derivation.contains("= (p1 − y[0])·a1\n"));
    assert!(r.derivation.contains("∂loss/∂a1 = "));
    assert!(r
        .derivation
        .contains(" = (p1 − y[0])·w[4] + (p2 − y[1])·w[6]\n"));
    // The printed closed form, evaluated, is the printed gradient.
    let (p1, a1) = (r.p[0], r.a[0]);
    assert!(((p1 - sigmoid_net_2_2_2::Y[0]) * a1 - r.grad_w[4]).abs() < 1e-15);
    assert!(r.svg.starts_with("<svg") && r.svg.contains("p1") && r.svg.contains("w[4]"));
}

#[path = "../examples/mnist_size_mlp.rs"]
mod mnist_size_mlp;

#[test]
fn an_mnist_size_mlp_trains() {
    // On a thread with room for the 814 KB weights, gradient and Adam state.
    let r = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| mnist_size_mlp::run(300, 3))
        .unwrap()
        .join()
        .unwrap();
    let l = &r.epoch_losses;
    assert_eq!(l.len(), 3);
    assert!(l[2] < 0.5 * l[0], "the loss falls: {l:?}");
    let (before, after) = r.accuracy;
    assert!(before < 0.3, "untrained: {before}");
    assert!(after > 0.9, "trained: {after}\n{}", r.text);
}

#[path = "../examples/digits_mlp.rs"]
mod digits_mlp;

#[test]
fn digits_mlp_trains_a_params_struct_to_95_percent_on_held_out_digits() {
    use backprop::core::Params;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("digits_mlp_test");
    let r = digits_mlp::run_in(&dir, backprop::core::Progress::Never).expect("trains and draws");
    assert_eq!(r.train.len() + r.test.len(), 1797);
    assert_eq!(r.test.len(), 359);
    // The method's gradient (through the struct, the iterator chains and the
    // custom GELU) against central differences of the original method.
    let start = digits_mlp::Mlp::init(1);
    for net in [&start, &r.net] {
        for s in [&r.train[0], &r.test[5]] {
            let (v, g) = net.loss_grad(&s.x, s.label);
            assert_eq!(v.to_bits(), net.loss(&s.x, s.label).to_bits());
            let mut acc = net.zeros_like();
            let mut work = backprop::core::Workspace::new();
            let v_acc = net.loss_grad_acc_with(&s.x, s.label, &mut acc, &mut work);
            assert_eq!(v_acc.to_bits(), v.to_bits());
            assert_eq!(acc, g);
            let tol = if std::ptr::eq(net, &start) {
                1e-6
            } else {
                1e-4
            };
            let check = gradcheck_value_grad(|n: &digits_mlp::Mlp| n.loss_grad(&s.x, s.label), net);
            assert!(check.passed(tol), "{check}");
        }
    }
    // A uniform guess has cross-entropy ln 10 ≈ 2.30; training lowers it.
    assert_eq!(r.epoch_losses.len(), digits_mlp::EPOCHS);
    assert!(r.epoch_losses[0] < 2.3, "{:?}", r.epoch_losses);
    assert!(*r.epoch_losses.last().unwrap() < 0.1 * r.epoch_losses[0]);
    // The bar: at least 95% of the held-out digits (fixed seeds).
    let acc = r.net.accuracy(&r.test);
    assert!(acc >= 0.95, "test accuracy {acc}");
    assert_eq!(*r.test_accuracy.last().unwrap(), acc);
    assert_eq!(
        r.misclassified.len(),
        r.test.len() - (acc * r.test.len() as f64).round() as usize
    );
    assert!(r.text.contains("test accuracy"));
    for (f, (w, h)) in r.files.iter().zip([(1200, 500), (0, 0)]) {
        let img = image::open(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if w > 0 {
            assert_eq!((img.width(), img.height()), (w, h));
        }
    }
}

#[path = "../examples/newton_vs_descent.rs"]
mod newton_vs_descent;

#[test]
fn newton_vs_descent_reaches_the_minimum_in_the_expected_order() {
    use backprop::core::{Params, StopReason};
    use newton_vs_descent::{rosenbrock, rosenbrock_grad, rosenbrock_hessian, START};
    // The generated Hessian the run uses, against the hand one at the
    // start: [[1200x² − 400y + 2, −400x], [−400x, 200]] = [[1330, 480],
    // [480, 200]] at (−1.2, 1).
    let (_, _, h) = rosenbrock_hessian(START);
    let want = [[1330.0, 480.0], [480.0, 200.0]];
    for i in 0..2 {
        for j in 0..2 {
            assert!(
                close(h[i][j], want[i][j], 1e-12),
                "H[{i}][{j}] = {}",
                h[i][j]
            );
        }
    }

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("newton_vs_descent_test");
    let _ = std::fs::remove_dir_all(&dir);
    let r = newton_vs_descent::run_in(&dir).expect("runs and draws");
    let names: Vec<_> = r.runs.iter().map(|run| run.name).collect();
    assert_eq!(
        names,
        ["Newton (trust region)", "L-BFGS", "gradient descent"]
    );
    for run in &r.runs {
        let m = &run.result;
        assert_eq!(m.stop, StopReason::GradientNorm, "{}", run.name);
        // the reported figures are those of the point returned
        let (value, grad) = rosenbrock_grad(run.x);
        assert_eq!(m.loss, value);
        assert_eq!(m.grad_norm, grad.norm());
        assert!(m.grad_norm <= 1e-8);
        // near (1, 1) the Hessian's smallest eigenvalue is (1002 −
        // √(1002² − 4·400))/2 ≈ 0.4, so ‖x − x*‖ ≤ ‖g‖/0.4 = 2.5e-8
        assert!(
            (run.x[0] - 1.0).abs() < 3e-8 && (run.x[1] - 1.0).abs() < 3e-8,
            "{}: {:?}",
            run.name,
            run.x
        );
        assert_eq!(m.path.len(), m.steps + 1);
        assert_eq!(m.path[0], START.to_vec());
        assert_eq!(m.path[m.steps], run.x.to_vec());
        assert_eq!(m.history[0], rosenbrock(START));
        // the row printed for it
        let row = r.text.lines().find(|l| l.starts_with(run.name)).unwrap();
        assert!(row.contains(&format!(" {} ", m.steps)), "{row}");
    }
    let (newton, lbfgs, descent) = (&r.runs[0].result, &r.runs[1].result, &r.runs[2].result);
    // Newton's steps never raise the loss (a rejected step stays put);
    // neither do L-BFGS's (sufficient decrease)
    assert!(newton.history.windows(2).all(|w| w[1] <= w[0]));
    assert!(lbfgs.history.windows(2).all(|w| w[1] <= w[0]));
    assert!(newton.hessian_evaluations > 0 && lbfgs.hessian_evaluations == 0);
    assert!(
        newton.steps < lbfgs.steps,
        "Newton {} vs L-BFGS {}",
        newton.steps,
        lbfgs.steps
    );
    assert!(
        100 * lbfgs.steps < descent.steps,
        "L-BFGS {} vs descent {}",
        lbfgs.steps,
        descent.steps
    );
    assert!(r.text.contains("fewer steps than L-BFGS"));

    assert_eq!(r.file, dir.join("paths.png"));
    let bytes = std::fs::read(&r.file).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), (900, 900));
    // the three paths' colours are all there
    let count = |want: [u8; 3]| img.pixels().filter(|p| p.0 == want).count();
    assert!(count([255, 0, 0]) > 200, "Newton's red path");
    assert!(count([0, 90, 220]) > 200, "L-BFGS's blue path");
    assert!(count([240, 130, 0]) > 200, "descent's orange path");
}
