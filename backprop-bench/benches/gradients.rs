//! One criterion group per problem, every contender side by side in the same
//! run. `cargo bench -p backprop-bench`, then
//! `cargo run -p backprop-bench --release --bin report` for the tables.
//!
//! The batched candle contender (`6_candle_batch1024`) reports the time of
//! the whole batch; the report divides it by 1024.

use std::hint::black_box;
use std::time::Duration;

use backprop_bench::*;
use criterion::{criterion_group, criterion_main, Criterion};

fn seed001(c: &mut Criterion) {
    use seed001::*;
    let mut g = c.benchmark_group("seed001_2_3_1");
    let a = || black_box((W, X1, X2, T));
    g.bench_function("1_forward", |b| {
        b.iter(|| {
            let (w, x1, x2, t) = a();
            loss(w, x1, x2, t)
        })
    });
    g.bench_function("2_backprop", |b| {
        b.iter(|| {
            let (w, x1, x2, t) = a();
            loss_grad(w, x1, x2, t)
        })
    });
    g.bench_function("3_hand", |b| {
        b.iter(|| {
            let (w, x1, x2, t) = a();
            hand(w, x1, x2, t)
        })
    });
    g.bench_function("4_num_dual", |b| {
        b.iter(|| {
            let (w, x1, x2, t) = a();
            num_dual(w, x1, x2, t)
        })
    });
    g.bench_function("5_central_fd", |b| {
        b.iter(|| {
            let (w, x1, x2, t) = a();
            central_fd(w, x1, x2, t)
        })
    });
    let one = Candle::new(W, &[(X1, X2, T)]).unwrap();
    g.bench_function("6_candle_1", |b| {
        b.iter(|| black_box(&one).value_grad().unwrap())
    });
    let many = Candle::new(W, &batch(BATCH)).unwrap();
    g.bench_function("6_candle_batch1024", |b| {
        b.iter(|| black_box(&many).value_grad().unwrap())
    });
    let d = [X1, X2, T];
    g.bench_function("7_symdiff", |b| {
        b.iter(|| symdiff_loss_gradient(black_box(&W), black_box(&d)))
    });
    g.finish();
}

fn seed003(c: &mut Criterion) {
    use seed003::*;
    let mut g = c.benchmark_group("seed003_2_2_2");
    let a = || black_box((W, B, X));
    g.bench_function("1_forward", |b| {
        b.iter(|| {
            let (w, bb, x) = a();
            loss(w, bb, x[0], x[1], x[2], x[3])
        })
    });
    g.bench_function("2_backprop", |b| {
        b.iter(|| {
            let (w, bb, x) = a();
            loss_grad(w, bb, x[0], x[1], x[2], x[3])
        })
    });
    g.bench_function("3_hand", |b| {
        b.iter(|| {
            let (w, bb, x) = a();
            hand(w, bb, x[0], x[1], x[2], x[3])
        })
    });
    g.bench_function("4_num_dual", |b| {
        b.iter(|| {
            let (w, bb, x) = a();
            num_dual(w, bb, x)
        })
    });
    g.bench_function("5_central_fd", |b| {
        b.iter(|| {
            let (w, bb, x) = a();
            central_fd(w, bb, x)
        })
    });
    let one = Candle::new(W, B, &[X]).unwrap();
    g.bench_function("6_candle_1", |b| {
        b.iter(|| black_box(&one).value_grad().unwrap())
    });
    let many = Candle::new(W, B, &batch(BATCH)).unwrap();
    g.bench_function("6_candle_batch1024", |b| {
        b.iter(|| black_box(&many).value_grad().unwrap())
    });
    let mut p = [0.0; 12];
    p[..8].copy_from_slice(&W);
    p[8..].copy_from_slice(&B);
    g.bench_function("7_symdiff", |b| {
        b.iter(|| symdiff_loss_gradient(black_box(&p), black_box(&X)))
    });
    g.finish();
}

fn rosenbrock(c: &mut Criterion) {
    use rosenbrock::*;
    let mut g = c.benchmark_group("rosenbrock_100");
    let x = point();
    g.bench_function("1_forward", |b| b.iter(|| rosenbrock(black_box(&x))));
    g.bench_function("2_backprop", |b| b.iter(|| rosenbrock_grad(black_box(&x))));
    g.bench_function("3_hand", |b| b.iter(|| hand(black_box(&x))));
    g.bench_function("4_num_dual", |b| b.iter(|| num_dual(black_box(&x))));
    g.bench_function("5_central_fd", |b| b.iter(|| central_fd(black_box(&x))));
    let one = Candle::new(&[x]).unwrap();
    g.bench_function("6_candle_1", |b| {
        b.iter(|| black_box(&one).value_grad().unwrap())
    });
    let many = Candle::new(&batch(BATCH)).unwrap();
    g.bench_function("6_candle_batch1024", |b| {
        b.iter(|| black_box(&many).value_grad().unwrap())
    });
    g.bench_function("7_symdiff", |b| {
        b.iter(|| symdiff_rosenbrock_gradient(black_box(&x)))
    });
    g.finish();
}

fn mlp(c: &mut Criterion) {
    use mlp::*;
    let mut g = c.benchmark_group("mlp_4_16_3");
    let p = params();
    let f = flatten(&p);
    let a = || black_box((p, X, Y));
    g.bench_function("1_forward", |b| {
        b.iter(|| {
            let ((w1, b1, w2, b2), x, y) = a();
            loss(w1, b1, w2, b2, x, y)
        })
    });
    g.bench_function("2_backprop", |b| {
        b.iter(|| {
            let ((w1, b1, w2, b2), x, y) = a();
            loss_grad(w1, b1, w2, b2, x, y)
        })
    });
    g.bench_function("3_hand", |b| {
        b.iter(|| {
            let ((w1, b1, w2, b2), x, y) = a();
            hand(w1, b1, w2, b2, x, y)
        })
    });
    g.bench_function("4_num_dual", |b| {
        b.iter(|| num_dual(black_box(&f), black_box(X), black_box(Y)))
    });
    g.bench_function("5_central_fd", |b| {
        b.iter(|| central_fd(black_box(&f), black_box(X), black_box(Y)))
    });
    let one = Candle::new(&p, &[(X, Y)]).unwrap();
    g.bench_function("6_candle_1", |b| {
        b.iter(|| black_box(&one).value_grad().unwrap())
    });
    let many = Candle::new(&p, &batch(BATCH)).unwrap();
    g.bench_function("6_candle_batch1024", |b| {
        b.iter(|| black_box(&many).value_grad().unwrap())
    });
    g.finish();
}

/// MNIST size: 784-128-10, loops that stay loops.
fn mnist_mlp(c: &mut Criterion) {
    use backprop_bench::mnist_mlp::*;
    let (w1, w2, x) = sample();
    let mut g = c.benchmark_group("mlp_784_128_10");
    g.bench_function("1_forward", |b| {
        b.iter(|| loss(black_box(&w1), black_box(&w2), black_box(&x), 3))
    });
    g.bench_function("2_backprop", |b| {
        b.iter(|| {
            // By reference: the whole gradient is materialized, not copied.
            let r = loss_grad(black_box(&w1), black_box(&w2), black_box(&x), 3);
            black_box(&r);
        })
    });
    let mut grad = Grad::new();
    g.bench_function("3_hand", |b| {
        b.iter(|| {
            let v = hand(black_box(&w1), black_box(&w2), black_box(&x), 3, &mut grad);
            black_box(&grad);
            v
        })
    });
    // Adding into a caller's gradient, as mini-batch training does.
    let mut acc = zero_grad_tuple();
    let mut work = backprop::prelude::Workspace::new();
    g.bench_function("4_backprop_acc_with", |b| {
        b.iter(|| {
            let v = loss_grad_acc_with(
                black_box(&w1),
                black_box(&w2),
                black_box(&x),
                3,
                &mut acc,
                &mut work,
            );
            black_box(&acc);
            v
        })
    });
    let mut acc = zero_grad_tuple();
    g.bench_function("5_hand_acc", |b| {
        b.iter(|| {
            let v = hand_acc(black_box(&w1), black_box(&w2), black_box(&x), 3, &mut acc);
            black_box(&acc);
            v
        })
    });
    g.finish();
}

/// The 64-64-10 and 128-64-10 MLPs: forward, generated accumulating
/// gradient, hand-written accumulating gradient.
fn mlp_sizes(c: &mut Criterion) {
    macro_rules! group {
        ($m:ident, $name:literal) => {{
            use backprop_bench::mlp_sizes::$m::*;
            let (w, x) = sample();
            let mut g = c.benchmark_group($name);
            g.bench_function("1_forward", |b| {
                b.iter(|| loss(black_box(&w.0), black_box(&w.1), black_box(&x), 3))
            });
            let mut acc = zero_grad();
            let mut work = backprop::prelude::Workspace::new();
            g.bench_function("4_backprop_acc_with", |b| {
                b.iter(|| {
                    let v = loss_grad_acc_with(
                        black_box(&w.0),
                        black_box(&w.1),
                        black_box(&x),
                        3,
                        &mut acc,
                        &mut work,
                    );
                    black_box(&acc);
                    v
                })
            });
            let mut acc = zero_grad();
            g.bench_function("5_hand_acc", |b| {
                b.iter(|| {
                    let v = hand_acc(black_box(&w.0), black_box(&w.1), black_box(&x), 3, &mut acc);
                    black_box(&acc);
                    v
                })
            });
            g.finish();
        }};
    }
    group!(mlp_64_64_10, "mlp_64_64_10");
    group!(mlp_128_64_10, "mlp_128_64_10");
}

fn logistic(c: &mut Criterion) {
    use logistic::*;
    let mut g = c.benchmark_group("logistic_8");
    g.bench_function("1_forward", |b| b.iter(|| logistic(black_box(X0))));
    g.bench_function("2_backprop", |b| b.iter(|| logistic_grad(black_box(X0))));
    g.bench_function("3_hand", |b| b.iter(|| hand(black_box(X0))));
    g.bench_function("4_num_dual", |b| b.iter(|| num_dual(black_box(X0))));
    g.bench_function("5_central_fd", |b| b.iter(|| central_fd(black_box(X0))));
    let one = Candle::new(&[X0]).unwrap();
    g.bench_function("6_candle_1", |b| {
        b.iter(|| black_box(&one).value_grad().unwrap())
    });
    let many = Candle::new(&batch(BATCH)).unwrap();
    g.bench_function("6_candle_batch1024", |b| {
        b.iter(|| black_box(&many).value_grad().unwrap())
    });
    let x = [X0];
    g.bench_function("7_symdiff", |b| {
        b.iter(|| symdiff_logistic_gradient(black_box(&x)))
    });
    g.finish();
}

fn helper_calls(c: &mut Criterion) {
    use helper_calls::*;
    let mut g = c.benchmark_group("helper_calls_10_64_64");
    let (w, xs) = data();
    let mut grad = vec![0.0; K * D];
    let mut work = backprop::core::Workspace::new();
    g.bench_function("1_forward", |b| {
        b.iter(|| with_helper(black_box(&w), black_box(&xs), K))
    });
    g.bench_function("2_with_helper", |b| {
        b.iter(|| {
            grad.fill(0.0);
            with_helper_grad_acc_with(black_box(&w), black_box(&xs), K, &mut grad, &mut work)
        })
    });
    g.bench_function("3_written_out", |b| {
        b.iter(|| {
            grad.fill(0.0);
            written_out_grad_acc_with(black_box(&w), black_box(&xs), K, &mut grad, &mut work)
        })
    });
    g.bench_function("4_hand", |b| {
        b.iter(|| {
            grad.fill(0.0);
            hand(black_box(&w), black_box(&xs), &mut grad)
        })
    });
    g.bench_function("5_row_helper", |b| {
        b.iter(|| {
            grad.fill(0.0);
            with_row_helper_grad_acc_with(black_box(&w), black_box(&xs), K, &mut grad, &mut work)
        })
    });
    g.bench_function("6_row_helper_forward", |b| {
        b.iter(|| with_row_helper(black_box(&w), black_box(&xs), K))
    });
    g.bench_function("7_named_rows", |b| {
        b.iter(|| {
            grad.fill(0.0);
            with_named_rows_grad_acc_with(black_box(&w), black_box(&xs), K, &mut grad, &mut work)
        })
    });
    g.bench_function("8_named_rows_forward", |b| {
        b.iter(|| with_named_rows(black_box(&w), black_box(&xs), K))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = seed001, seed003, rosenbrock, mlp, mnist_mlp, mlp_sizes, logistic, helper_calls
}
criterion_main!(benches);
