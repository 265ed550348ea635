//! The evals ode, gmm and lstm in the form of upstream's C++ (local arrays
//! filled by one inner loop and read by a later one, inside a loop over
//! steps, points or time): their generated gradients against central
//! finite differences and against the gradients of the reformulated
//! one-pass functions the tool had to use before the compiler handled that
//! form (commit a1ec357). Small sizes: each test runs in milliseconds.

use backprop_gradbench::{gmm, lstm, ode};

fn wavy(n: usize, phase: f64) -> Vec<f64> {
    (0..n).map(|i| (i as f64 * 0.77 + phase).sin()).collect()
}

/// Central differences of `f` at `x` with respect to each element, step
/// `1e-6·max(1, |xᵢ|)`.
fn finite_differences(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let h = 1e-6 * x[i].abs().max(1.0);
            let mut p = x.to_vec();
            p[i] = x[i] + h;
            let up = f(&p);
            p[i] = x[i] - h;
            (up - f(&p)) / (2.0 * h)
        })
        .collect()
}

/// `|a − b| ≤ tolerance · max(1, max |b|)`, element by element.
fn assert_close(what: &str, a: &[f64], b: &[f64], tolerance: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tolerance * scale,
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

#[test]
fn ode_four_stage_arrays() {
    for (n, s) in [(1, 3), (2, 1), (9, 4)] {
        let x: Vec<f64> = wavy(n, 0.5).iter().map(|v| 1.0 + 0.5 * v).collect();
        let (value, grad) = ode::ode_last_rk4_grad(&x, s);
        // The same arithmetic as ode.hpp, so the same bits as the one-pass
        // form and the tool's primal.
        assert_eq!(value, ode::ode_last_rk4(&x, s));
        assert_eq!(value, ode::ode_last(&x, s));
        assert_eq!(value, *ode::solve(&x, s).last().unwrap());
        let fd = finite_differences(&x, |x| ode::ode_last_rk4(x, s));
        assert_close("ode fd", &grad, &fd, 1e-7);
        let (_, one_pass) = ode::ode_last_grad(&x, s);
        assert_close("ode vs one pass", &grad, &one_pass, 1e-13);
    }
}

#[test]
fn gmm_row_of_beta_then_its_maximum() {
    for (d, k, n) in [(1, 1, 1), (2, 3, 4), (3, 2, 5), (4, 3, 3)] {
        let lsz = d * (d - 1) / 2;
        let alpha = wavy(k, 0.2);
        let mu = wavy(k * d, 0.4);
        let q: Vec<f64> = wavy(k * d, 1.1).iter().map(|v| 0.3 * v).collect();
        let l: Vec<f64> = wavy(k * lsz, 2.3).iter().map(|v| 0.5 * v).collect();
        let x: Vec<f64> = wavy(n * d, 3.7).iter().map(|v| 1.5 * v).collect();
        let (m, gamma, lg) = (2, 1.3, 0.7);
        let rows = |a: &[f64], u: &[f64], q: &[f64], l: &[f64]| {
            gmm::gmm_objective_rows(a, u, q, l, &x, d, k, n, m, gamma, lg)
        };
        let (value, (ga, gu, gq, gl)) =
            gmm::gmm_objective_rows_grad(&alpha, &mu, &q, &l, &x, d, k, n, m, gamma, lg);
        assert_eq!(value, rows(&alpha, &mu, &q, &l));
        let (one_value, (oa, ou, oq, ol)) =
            gmm::gmm_objective_grad(&alpha, &mu, &q, &l, &x, d, k, n, m, gamma, lg);
        assert!(
            (value - one_value).abs() <= 1e-13 * value.abs(),
            "{value} vs {one_value}"
        );
        let fd_alpha = finite_differences(&alpha, |a| rows(a, &mu, &q, &l));
        let fd_mu = finite_differences(&mu, |u| rows(&alpha, u, &q, &l));
        let fd_q = finite_differences(&q, |q| rows(&alpha, &mu, q, &l));
        let fd_l = finite_differences(&l, |l| rows(&alpha, &mu, &q, l));
        for (what, g, fd, one) in [
            ("alpha", &ga, &fd_alpha, &oa),
            ("mu", &gu, &fd_mu, &ou),
            ("q", &gq, &fd_q, &oq),
            ("l", &gl, &fd_l, &ol),
        ] {
            assert_close(&format!("gmm {what} fd ({d},{k},{n})"), g, fd, 1e-6);
            assert_close(&format!("gmm {what} vs one pass"), g, one, 1e-12);
        }
    }
}

/// The one-pass form with its triangle copied row by row first: the same
/// value bit for bit (every product and sum is the same, in the same
/// order) and the same gradient, up to the order in which the reverse
/// adds into `l`'s gradient.
#[test]
fn gmm_triangle_row_by_row() {
    for (d, k, n) in [(1, 1, 1), (2, 3, 4), (3, 2, 5), (5, 3, 3), (12, 2, 2)] {
        let lsz = d * (d - 1) / 2;
        let alpha = wavy(k, 0.2);
        let mu = wavy(k * d, 0.4);
        let q: Vec<f64> = wavy(k * d, 1.1).iter().map(|v| 0.3 * v).collect();
        let l: Vec<f64> = wavy(k * lsz, 2.3).iter().map(|v| 0.5 * v).collect();
        let x: Vec<f64> = wavy(n * d, 3.7).iter().map(|v| 1.5 * v).collect();
        let (m, gamma, lg) = (2, 1.3, 0.7);
        let (value, (ga, gu, gq, gl)) =
            gmm::gmm_objective_tri_grad(&alpha, &mu, &q, &l, &x, d, k, n, m, gamma, lg);
        let (one_value, (oa, ou, oq, ol)) =
            gmm::gmm_objective_grad(&alpha, &mu, &q, &l, &x, d, k, n, m, gamma, lg);
        assert_eq!(value.to_bits(), one_value.to_bits(), "({d},{k},{n})");
        let tri = |l: &[f64]| gmm::gmm_objective_tri(&alpha, &mu, &q, l, &x, d, k, n, m, gamma, lg);
        assert_eq!(tri(&l).to_bits(), value.to_bits());
        assert_close(
            &format!("gmm l fd ({d},{k},{n})"),
            &gl,
            &finite_differences(&l, tri),
            1e-6,
        );
        for (what, g, one) in [
            ("alpha", &ga, &oa),
            ("mu", &gu, &ou),
            ("q", &gq, &oq),
            ("l", &gl, &ol),
        ] {
            assert_close(
                &format!("gmm {what} vs one pass ({d},{k},{n})"),
                g,
                one,
                1e-12,
            );
        }
    }
}

#[test]
fn lstm_a_layer_at_a_time() {
    for (l, c, b) in [(1, 2, 1), (2, 4, 3), (3, 5, 4)] {
        let main = wavy(8 * b * l, 0.1);
        let extra = wavy(3 * b, 0.9);
        let state = wavy(2 * b * l, 2.2);
        let seq: Vec<f64> = (0..c * b)
            .map(|k| ((k * 7) % 3 == 0) as u8 as f64)
            .collect();
        let layers = |main: &[f64], extra: &[f64]| {
            lstm::lstm_objective_layers(main, extra, &state, &seq, l, c, b)
        };
        let (value, (gm, ge)) =
            lstm::lstm_objective_layers_grad(&main, &extra, &state, &seq, l, c, b);
        assert_eq!(value, layers(&main, &extra));
        let (one_value, (om, oe)) = lstm::lstm_objective_grad(&main, &extra, &state, &seq, l, c, b);
        assert!(
            (value - one_value).abs() <= 1e-14 * value.abs(),
            "{value} vs {one_value}"
        );
        let fd_main = finite_differences(&main, |m| layers(m, &extra));
        let fd_extra = finite_differences(&extra, |e| layers(&main, e));
        assert_close("lstm main fd", &gm, &fd_main, 1e-6);
        assert_close("lstm extra fd", &ge, &fd_extra, 1e-6);
        assert_close("lstm main vs one pass", &gm, &om, 1e-13);
        assert_close("lstm extra vs one pass", &ge, &oe, 1e-13);
    }
}
