//! One training epoch (digits, 64-32-10 MLP struct, Adam): `train_acc` and
//! `train` on one and on two threads, against the batched loop written by hand around
//! the same generated `loss_grad_acc_with` and around a hand-written
//! backward pass (one thread). Batches of 16, 64 and 256.

use std::time::Duration;

use backprop::core::Adam;
use backprop_bench::training::{self, Net, Sample};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn epochs(c: &mut Criterion) {
    let data = training::data();
    let pools: Vec<(usize, rayon::ThreadPool)> = [1, 2]
        .into_iter()
        .map(|n| {
            (
                n,
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .expect("pool"),
            )
        })
        .collect();
    let mut g = c.benchmark_group("train_epoch_digits_64_32_10");
    for batch in [16, 64, 256] {
        let fresh = || (training::init(), Adam::<Net>::new(0.01));
        type Epoch = fn(&mut Net, &mut Adam<Net>, &[Sample], usize) -> f64;
        let manual: [(&str, Epoch); 2] = [
            ("manual_generated_1t", training::epoch_manual_generated),
            ("manual_hand_1t", training::epoch_manual_hand),
        ];
        for (name, f) in manual {
            g.bench_with_input(BenchmarkId::new(name, batch), &batch, |b, &batch| {
                let (mut net, mut opt) = fresh();
                b.iter(|| f(&mut net, &mut opt, &data, batch))
            });
        }
        let library: [(&str, Epoch); 2] = [
            ("train_acc", training::epoch_train_acc),
            ("train", training::epoch_train),
        ];
        for (name, f) in library {
            for (threads, pool) in &pools {
                g.bench_with_input(
                    BenchmarkId::new(format!("{name}_{threads}t"), batch),
                    &batch,
                    |b, &batch| {
                        let (mut net, mut opt) = fresh();
                        pool.install(|| b.iter(|| f(&mut net, &mut opt, &data, batch)))
                    },
                );
            }
        }
    }
    // The machine's own ceiling: two independent copies of the hand loop
    // one after the other, and on two threads at once.
    let twice = |parallel: bool| {
        let run = || {
            let (mut net, mut opt) = (training::init(), Adam::<Net>::new(0.01));
            training::epoch_manual_generated(&mut net, &mut opt, &data, 64)
        };
        if parallel {
            std::thread::scope(|s| {
                let a = s.spawn(run);
                let b = s.spawn(run);
                a.join().expect("ran") + b.join().expect("ran")
            })
        } else {
            run() + run()
        }
    };
    g.bench_function("two_independent_loops_serial/64", |b| {
        b.iter(|| twice(false))
    });
    g.bench_function("two_independent_loops_parallel/64", |b| {
        b.iter(|| twice(true))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = epochs
}
criterion_main!(benches);
