//! Forward mode and second derivatives (issue 11): the logistic map of 1000
//! iterations with respect to `r` (`NAME_grad` by forward mode, `NAME_jvp`)
//! against hand-written forward and reverse mode and num-dual; the 100-d
//! Rosenbrock function's JVP, HVP and Hessian against its value, the
//! hand-written tridiagonal Hessian and HVP, and num-dual's Hessian.

use backprop_bench::second_order::*;
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn logistic_map(c: &mut Criterion) {
    let mut g = c.benchmark_group("logistic_1000_wrt_r");
    g.bench_function("1_forward", |b| {
        b.iter(|| logistic(black_box(X0), black_box(R)))
    });
    g.bench_function("2_backprop_grad", |b| {
        b.iter(|| logistic_grad(black_box(X0), black_box(R)))
    });
    g.bench_function("3_backprop_jvp", |b| {
        b.iter(|| logistic_jvp(black_box(X0), black_box(R), 1.0))
    });
    g.bench_function("4_hand_forward", |b| {
        b.iter(|| logistic_hand_forward(black_box(X0), black_box(R)))
    });
    g.bench_function("5_hand_reverse", |b| {
        b.iter(|| logistic_hand_reverse(black_box(X0), black_box(R)))
    });
    g.bench_function("6_num_dual", |b| {
        b.iter(|| logistic_num_dual(black_box(X0), black_box(R)))
    });
    g.bench_function("7_backprop_hvp", |b| {
        b.iter(|| logistic_hvp(black_box(X0), black_box(R), 1.0))
    });
    g.finish();
}

fn logistic_map_both(c: &mut Criterion) {
    let mut g = c.benchmark_group("logistic_1000_wrt_x0_r");
    g.bench_function("1_forward", |b| {
        b.iter(|| logistic_both(black_box(X0), black_box(R)))
    });
    g.bench_function("2_backprop_grad", |b| {
        b.iter(|| logistic_both_grad(black_box(X0), black_box(R)))
    });
    g.bench_function("3_hand_forward", |b| {
        b.iter(|| logistic_both_hand_forward(black_box(X0), black_box(R)))
    });
    g.bench_function("4_hand_reverse", |b| {
        b.iter(|| logistic_both_hand_reverse(black_box(X0), black_box(R)))
    });
    g.finish();
}

fn rosenbrock_100(c: &mut Criterion) {
    let x = point();
    let v = direction();
    let mut g = c.benchmark_group("rosenbrock_100");
    g.bench_function("1_forward", |b| b.iter(|| rosenbrock(black_box(&x))));
    g.bench_function("2_backprop_grad", |b| {
        b.iter(|| rosenbrock_grad(black_box(&x)))
    });
    g.bench_function("3_backprop_jvp", |b| {
        b.iter(|| rosenbrock_jvp(black_box(&x), black_box(&v)))
    });
    g.bench_function("3b_hand_jvp", |b| {
        b.iter(|| rosenbrock_hand_jvp(black_box(&x), black_box(&v)))
    });
    g.bench_function("4b_hand_grad_hvp", |b| {
        b.iter(|| rosenbrock_hand_grad_hvp(black_box(&x), black_box(&v)))
    });
    g.bench_function("4_backprop_hvp", |b| {
        b.iter(|| rosenbrock_hvp(black_box(&x), black_box(&v)))
    });
    g.bench_function("5_hand_hvp", |b| {
        b.iter(|| rosenbrock_hand_hvp(black_box(&x), black_box(&v)))
    });
    g.bench_function("6_backprop_hessian", |b| {
        b.iter(|| rosenbrock_hessian(black_box(&x)))
    });
    g.bench_function("7_hand_hessian", |b| {
        b.iter(|| rosenbrock_hand_hessian(black_box(&x)))
    });
    g.bench_function("8_num_dual_hessian", |b| {
        b.iter(|| rosenbrock_num_dual_hessian(black_box(&x)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = logistic_map, logistic_map_both, rosenbrock_100
}
criterion_main!(benches);
