//! Every contender computes the same value and gradient as backprop's
//! generated `NAME_grad`: exactly-derived ones to a few ulps, finite
//! differences to their truncation error, candle's batch to the sum of the
//! per-sample gradients.

use backprop_bench::*;

#[track_caller]
fn close(what: &str, a: &[f64], b: &[f64], rtol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= rtol * scale.max(y.abs()),
            "{what}[{i}]: {x} vs {y} (rtol {rtol}, scale {scale})"
        );
    }
}

#[test]
fn seed001() {
    use seed001::*;
    let (v, g) = loss_grad(W, X1, X2, T);
    assert_eq!(v, loss(W, X1, X2, T));
    assert_eq!((v, g[0], g[6]), (7200.0, 4800.0, 7200.0));
    let (hv, hg) = hand(W, X1, X2, T);
    assert_eq!(hv, v);
    close("hand", &hg, &g, 1e-14);
    let (dv, dg) = num_dual(W, X1, X2, T);
    close("num-dual value", &[dv], &[v], 1e-14);
    close("num-dual", &dg, &g, 1e-14);
    let (fv, fg) = central_fd(W, X1, X2, T);
    assert_eq!(fv, v);
    close("finite differences", &fg, &g, 1e-6);
    close(
        "symdiff",
        &symdiff_loss_gradient(&W, &[X1, X2, T]),
        &g,
        1e-14,
    );
    let (cv, cg) = Candle::new(W, &[(X1, X2, T)])
        .unwrap()
        .value_grad()
        .unwrap();
    close("candle value", &[cv], &[v], 1e-14);
    close("candle", &cg, &g, 1e-14);
    // the batch: candle's gradient is the sum of the per-sample ones
    let b = batch(BATCH);
    let (mut sv, mut sg) = (0.0, [0.0; 9]);
    for s in &b {
        let (v, g) = loss_grad(W, s.0, s.1, s.2);
        sv += v;
        sg.iter_mut().zip(g).for_each(|(a, b)| *a += b);
    }
    let (bv, bg) = Candle::new(W, &b).unwrap().value_grad().unwrap();
    close("candle batch value", &[bv], &[sv], 1e-12);
    close("candle batch", &bg, &sg, 1e-12);
}

#[test]
fn seed003() {
    use seed003::*;
    let [x1, x2, y1, y2] = X;
    let (v, g) = loss_grad(W, B, x1, x2, y1, y2);
    assert_eq!(v, loss(W, B, x1, x2, y1, y2));
    let g = flat(g);
    let (hv, hg) = hand(W, B, x1, x2, y1, y2);
    assert_eq!(hv, v);
    close("hand", &flat(hg), &g, 1e-12);
    let (dv, dg) = num_dual(W, B, X);
    close("num-dual value", &[dv], &[v], 1e-14);
    close("num-dual", &dg, &g, 1e-12);
    let (fv, fg) = central_fd(W, B, X);
    assert_eq!(fv, v);
    close("finite differences", &fg, &g, 1e-7);
    let mut p = [0.0; 12];
    p[..8].copy_from_slice(&W);
    p[8..].copy_from_slice(&B);
    close("symdiff", &symdiff_loss_gradient(&p, &X), &g, 1e-12);
    let (cv, cg) = Candle::new(W, B, &[X]).unwrap().value_grad().unwrap();
    close("candle value", &[cv], &[v], 1e-14);
    close("candle", &cg, &g, 1e-12);
    let b = batch(BATCH);
    let (mut sv, mut sg) = (0.0, [0.0; 12]);
    for s in &b {
        let (v, g) = loss_grad(W, B, s[0], s[1], s[2], s[3]);
        sv += v;
        sg.iter_mut().zip(flat(g)).for_each(|(a, b)| *a += b);
    }
    let (bv, bg) = Candle::new(W, B, &b).unwrap().value_grad().unwrap();
    close("candle batch value", &[bv], &[sv], 1e-12);
    close("candle batch", &bg, &sg, 1e-11);
}

#[test]
fn rosenbrock() {
    use rosenbrock::*;
    let x = point();
    let (v, g) = rosenbrock_grad(&x);
    assert_eq!(v, rosenbrock(&x));
    let (hv, hg) = hand(&x);
    assert_eq!(hv, v);
    close("hand", &hg, &g, 1e-14);
    let (dv, dg) = num_dual(&x);
    close("num-dual value", &[dv], &[v], 1e-14);
    close("num-dual", &dg, &g, 1e-14);
    let (fv, fg) = central_fd(&x);
    assert_eq!(fv, v);
    close("finite differences", &fg, &g, 1e-7);
    close("symdiff value", &[symdiff_rosenbrock(&x)], &[v], 1e-13);
    close("symdiff", &symdiff_rosenbrock_gradient(&x), &g, 1e-13);
    let (cv, cg) = Candle::new(&[x]).unwrap().value_grad().unwrap();
    close("candle value", &[cv], &[v], 1e-13);
    close("candle", &cg, &g, 1e-14);
    let b = batch(BATCH);
    let (bv, bg) = Candle::new(&b).unwrap().value_grad().unwrap();
    let sv: f64 = b.iter().map(rosenbrock).sum();
    close("candle batch value", &[bv], &[sv], 1e-12);
    for (k, p) in b.iter().enumerate() {
        close(
            "candle batch",
            &bg[k * N..(k + 1) * N],
            &rosenbrock_grad(p).1,
            1e-14,
        );
    }
}

#[test]
fn mlp() {
    use mlp::*;
    let p = params();
    let (w1, b1, w2, b2) = p;
    let (v, g) = loss_grad(w1, b1, w2, b2, X, Y);
    assert_eq!(v, loss(w1, b1, w2, b2, X, Y));
    let g = flatten(&g);
    let (hv, hg) = hand(w1, b1, w2, b2, X, Y);
    close("hand value", &[hv], &[v], 1e-14);
    close("hand", &flatten(&hg), &g, 1e-12);
    let f = flatten(&p);
    let (dv, dg) = num_dual(&f, X, Y);
    close("num-dual value", &[dv], &[v], 1e-14);
    close("num-dual", &dg, &g, 1e-12);
    let (fv, fg) = central_fd(&f, X, Y);
    assert_eq!(fv, v);
    close("finite differences", &fg, &g, 1e-7);
    let (cv, cg) = Candle::new(&p, &[(X, Y)]).unwrap().value_grad().unwrap();
    close("candle value", &[cv], &[v], 1e-13);
    close("candle", &cg, &g, 1e-12);
    let b = batch(BATCH);
    let (mut sv, mut sg) = (0.0, [0.0; P]);
    for s in &b {
        let (v, g) = loss_grad(w1, b1, w2, b2, s.0, s.1);
        sv += v;
        sg.iter_mut().zip(flatten(&g)).for_each(|(a, b)| *a += b);
    }
    let (bv, bg) = Candle::new(&p, &b).unwrap().value_grad().unwrap();
    close("candle batch value", &[bv], &[sv], 1e-12);
    close("candle batch", &bg, &sg, 1e-11);
}

#[test]
fn logistic() {
    use logistic::*;
    let (v, g) = logistic_grad(X0);
    assert_eq!(v, logistic(X0));
    let (hv, hg) = hand(X0);
    assert_eq!(hv, v);
    close("hand", &[hg], &[g], 1e-13);
    let (dv, dg) = num_dual(X0);
    close("num-dual", &[dv, dg], &[v, g], 1e-13);
    let (fv, fg) = central_fd(X0);
    assert_eq!(fv, v);
    close("finite differences", &[fg], &[g], 1e-6);
    close("symdiff", &symdiff_logistic_gradient(&[X0]), &[g], 1e-12);
    let (cv, cg) = Candle::new(&[X0]).unwrap().value_grad().unwrap();
    close("candle", &[cv, cg[0]], &[v, g], 1e-13);
    let b = batch(BATCH);
    let (_, bg) = Candle::new(&b).unwrap().value_grad().unwrap();
    for (x0, cg) in b.iter().zip(bg) {
        close("candle batch", &[cg], &[logistic_grad(*x0).1], 1e-12);
    }
}

/// The second-order contenders compute the same numbers.
#[test]
fn second_order_contenders_agree() {
    use backprop_bench::second_order::*;
    let close = |a: f64, b: f64, tol: f64| (a - b).abs() <= tol * (1.0 + b.abs());

    let (v, d) = logistic_grad(X0, R);
    let (vh, dh) = logistic_hand_forward(X0, R);
    let (vr, dr) = logistic_hand_reverse(X0, R);
    let (vd, dd) = logistic_num_dual(X0, R);
    assert_eq!(v.to_bits(), logistic(X0, R).to_bits());
    assert_eq!((v, vh, vr), (vd, v, v));
    // A chaotic map: derivatives grow like e^(λk); compare relatively.
    assert!(
        close(d, dd, 1e-9) && close(dh, dd, 1e-9) && close(dr, dd, 1e-9),
        "{d} {dh} {dr} {dd}"
    );
    assert_eq!(logistic_jvp(X0, R, 1.0).1, d);

    // Both scalars: forward mode chosen, against both hand versions.
    let (value, (dx0, dr)) = logistic_both_grad(X0, R);
    assert_eq!(value, logistic_both(X0, R));
    let (_, (hx0, hr)) = logistic_both_hand_forward(X0, R);
    let (_, (rx0, rr)) = logistic_both_hand_reverse(X0, R);
    assert!(
        close(dx0, hx0, 1e-9) && close(dx0, rx0, 1e-9),
        "{dx0} {hx0} {rx0}"
    );
    assert!(close(dr, hr, 1e-9) && close(dr, rr, 1e-9), "{dr} {hr} {rr}");

    let x = point();
    let v = direction();
    let (_, _, h) = rosenbrock_hessian(&x);
    let hand = rosenbrock_hand_hessian(&x);
    let (_, g_nd, h_nd) = rosenbrock_num_dual_hessian(&x);
    let g = rosenbrock_grad(&x).1;
    for i in 0..N {
        assert!(close(g[i], g_nd[i], 1e-12));
        for j in 0..N {
            assert!(close(h[i][j], hand[i][j], 1e-12), "H[{i}][{j}]");
            // nalgebra is column-major; H is symmetric.
            assert!(
                close(h[i][j], h_nd[j * N + i], 1e-12),
                "num-dual H[{i}][{j}]"
            );
        }
    }
    let (_, _, hv) = rosenbrock_hvp(&x, &v);
    let hv_hand = rosenbrock_hand_hvp(&x, &v);
    for i in 0..N {
        assert!(close(hv[i], hv_hand[i], 1e-10), "Hv[{i}]");
    }
    let (_, jv) = rosenbrock_jvp(&x, &v);
    assert!(close(jv, (0..N).map(|i| g[i] * v[i]).sum(), 1e-12));
    let (value, jv_hand) = rosenbrock_hand_jvp(&x, &v);
    assert_eq!(value, rosenbrock(&x));
    assert!(close(jv, jv_hand, 1e-12));
    let (value, g_hand, hv_fused) = rosenbrock_hand_grad_hvp(&x, &v);
    assert_eq!(value, rosenbrock(&x));
    for i in 0..N {
        assert!(close(g[i], g_hand[i], 1e-12), "g[{i}]");
        assert!(close(hv[i], hv_fused[i], 1e-10), "fused Hv[{i}]");
    }
}
