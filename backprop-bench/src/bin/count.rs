//! Runs one contender `iters` times, for instruction counting:
//! `valgrind --tool=callgrind --callgrind-out-file=/dev/null
//!  target/release/count PROBLEM CONTENDER ITERS`; the per-call count is
//! `(Ir(ITERS) − Ir(0)) / ITERS` (scripts/instructions.sh does this).
//! PROBLEM: seed001 seed003 rosenbrock mlp logistic; CONTENDER: forward
//! backprop hand num_dual central_fd candle_1 symdiff.

use std::hint::black_box;

use backprop_bench::*;

fn run(problem: &str, contender: &str, iters: usize) -> Option<()> {
    macro_rules! go {
        ($e:expr) => {{
            for _ in 0..iters {
                black_box($e);
            }
            Some(())
        }};
    }
    match problem {
        "seed001" => {
            use seed001::*;
            let a = || black_box((W, X1, X2, T));
            let one = Candle::new(W, &[(X1, X2, T)]).unwrap();
            match contender {
                "forward" => go!({
                    let (w, a1, a2, t) = a();
                    loss(w, a1, a2, t)
                }),
                "backprop" => go!({
                    let (w, a1, a2, t) = a();
                    loss_grad(w, a1, a2, t)
                }),
                "hand" => go!({
                    let (w, a1, a2, t) = a();
                    hand(w, a1, a2, t)
                }),
                "num_dual" => go!({
                    let (w, a1, a2, t) = a();
                    num_dual(w, a1, a2, t)
                }),
                "central_fd" => go!({
                    let (w, a1, a2, t) = a();
                    central_fd(w, a1, a2, t)
                }),
                "candle_1" => go!(black_box(&one).value_grad().unwrap()),
                "symdiff" => go!(symdiff_loss_gradient(
                    black_box(&W),
                    black_box(&[X1, X2, T])
                )),
                _ => None,
            }
        }
        "seed003" => {
            use seed003::*;
            let a = || black_box((W, B, X));
            let one = Candle::new(W, B, &[X]).unwrap();
            let mut p = [0.0; 12];
            p[..8].copy_from_slice(&W);
            p[8..].copy_from_slice(&B);
            match contender {
                "forward" => go!({
                    let (w, b, x) = a();
                    loss(w, b, x[0], x[1], x[2], x[3])
                }),
                "backprop" => go!({
                    let (w, b, x) = a();
                    loss_grad(w, b, x[0], x[1], x[2], x[3])
                }),
                "hand" => go!({
                    let (w, b, x) = a();
                    hand(w, b, x[0], x[1], x[2], x[3])
                }),
                "num_dual" => go!({
                    let (w, b, x) = a();
                    num_dual(w, b, x)
                }),
                "central_fd" => go!({
                    let (w, b, x) = a();
                    central_fd(w, b, x)
                }),
                "candle_1" => go!(black_box(&one).value_grad().unwrap()),
                "symdiff" => go!(symdiff_loss_gradient(black_box(&p), black_box(&X))),
                _ => None,
            }
        }
        "rosenbrock" => {
            use rosenbrock::*;
            let x = point();
            let one = Candle::new(&[x]).unwrap();
            match contender {
                "forward" => go!(rosenbrock(black_box(&x))),
                "backprop" => go!(rosenbrock_grad(black_box(&x))),
                "hand" => go!(hand(black_box(&x))),
                "num_dual" => go!(num_dual(black_box(&x))),
                "central_fd" => go!(central_fd(black_box(&x))),
                "candle_1" => go!(black_box(&one).value_grad().unwrap()),
                "symdiff" => go!(symdiff_rosenbrock_gradient(black_box(&x))),
                _ => None,
            }
        }
        "mlp" => {
            use mlp::*;
            let p = params();
            let f = flatten(&p);
            let a = || black_box((p, X, Y));
            let one = Candle::new(&p, &[(X, Y)]).unwrap();
            match contender {
                "forward" => go!({
                    let ((w1, b1, w2, b2), x, y) = a();
                    loss(w1, b1, w2, b2, x, y)
                }),
                "backprop" => go!({
                    let ((w1, b1, w2, b2), x, y) = a();
                    loss_grad(w1, b1, w2, b2, x, y)
                }),
                "hand" => go!({
                    let ((w1, b1, w2, b2), x, y) = a();
                    hand(w1, b1, w2, b2, x, y)
                }),
                "num_dual" => go!(num_dual(black_box(&f), black_box(X), black_box(Y))),
                "central_fd" => go!(central_fd(black_box(&f), black_box(X), black_box(Y))),
                "candle_1" => go!(black_box(&one).value_grad().unwrap()),
                _ => None,
            }
        }
        "logistic" => {
            use logistic::*;
            let one = Candle::new(&[X0]).unwrap();
            match contender {
                "forward" => go!(logistic(black_box(X0))),
                "backprop" => go!(logistic_grad(black_box(X0))),
                "hand" => go!(hand(black_box(X0))),
                "num_dual" => go!(num_dual(black_box(X0))),
                "central_fd" => go!(central_fd(black_box(X0))),
                "candle_1" => go!(black_box(&one).value_grad().unwrap()),
                "symdiff" => go!(symdiff_logistic_gradient(black_box(&[X0]))),
                _ => None,
            }
        }
        _ => None,
    }
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let iters = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    if a.len() < 2 || run(&a[0], &a[1], iters).is_none() {
        eprintln!("usage: count PROBLEM CONTENDER [ITERS]");
        std::process::exit(2);
    }
}
