//! Tests of the training loops, clipping and callbacks.

use super::*;
use crate::{Adam, Momentum, Sgd};

/// Samples for a small nonlinear regression: y = sin(3x) + x².
fn data() -> Vec<(f64, f64)> {
    let mut rng = SplitMix64::new(99);
    (0..257)
        .map(|_| {
            let x = rng.uniform(-1.0, 1.0);
            (x, (3.0 * x).sin() + x * x)
        })
        .collect()
}

type Net = ([f64; 6], [f64; 6], [f64; 6], f64);

/// y = Σ v_j·tanh(w_j·x + b_j) + c, loss ½(y − t)², gradient by hand.
fn per_sample(p: &Net, &(x, t): &(f64, f64)) -> (f64, Net) {
    let (w, b, v, c) = p;
    let h: [f64; 6] = std::array::from_fn(|j| (w[j] * x + b[j]).tanh());
    let y: f64 = (0..6).map(|j| v[j] * h[j]).sum::<f64>() + c;
    let r = y - t;
    let mut g: Net = ([0.0; 6], [0.0; 6], [0.0; 6], r);
    for j in 0..6 {
        g.2[j] = r * h[j];
        let da = r * v[j] * (1.0 - h[j] * h[j]);
        g.0[j] = da * x;
        g.1[j] = da;
    }
    (0.5 * r * r, g)
}

fn init() -> Net {
    let mut rng = SplitMix64::new(5);
    let mut p: Net = ([0.0; 6], [0.0; 6], [0.0; 6], 0.0);
    p.for_each_mut(&mut |x| *x = rng.uniform(-1.0, 1.0));
    p
}

fn run_in_pool(threads: usize) -> (Net, Trained<f64>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let data = data();
    pool.install(|| {
        let mut p = init();
        let r = train(
            &mut p,
            &mut Adam::new(0.01),
            &data,
            &TrainOptions::new()
                .epochs(20)
                .batch_size(16)
                .seed(3)
                .progress(Progress::Never),
            per_sample,
        )
        .unwrap();
        (p, r)
    })
}

#[test]
fn hand_gradient_is_right() {
    let d = data();
    let r = crate::gradcheck_value_grad(|p| per_sample(p, &d[0]), &init());
    assert!(r.passed(1e-7), "{r}");
}

#[test]
fn bit_identical_for_1_and_4_threads() {
    let (p1, r1) = run_in_pool(1);
    let (p4, r4) = run_in_pool(4);
    assert!(p1.bit_eq(&p4));
    assert_eq!(r1.epoch_losses.len(), 20);
    for (a, b) in r1.epoch_losses.iter().zip(&r4.epoch_losses) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
    // and it learned something
    assert!(r1.epoch_losses[19] < 0.5 * r1.epoch_losses[0]);
}

#[test]
fn mean_value_and_grad_is_bit_identical_across_pools() {
    let d = data();
    let p = init();
    let run = |t| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap()
            .install(|| mean_value_and_grad(&p, &d, per_sample))
    };
    let (v1, g1) = run(1);
    let (v4, g4) = run(4);
    assert_eq!(v1.to_bits(), v4.to_bits());
    assert!(g1.bit_eq(&g4));
}

#[test]
fn same_seed_same_result_other_seed_differs() {
    let d = data();
    let go = |seed| {
        let mut p = init();
        train(
            &mut p,
            &mut Sgd::new(0.05),
            &d,
            &TrainOptions::new()
                .epochs(2)
                .batch_size(10)
                .seed(seed)
                .progress(Progress::Never),
            per_sample,
        )
        .unwrap();
        p
    };
    assert!(go(1).bit_eq(&go(1)));
    assert!(!go(1).bit_eq(&go(2)));
}

#[test]
fn full_batch_without_shuffle_equals_gradient_descent_on_the_mean() {
    // one epoch with batch = all data, no shuffle: exactly one SGD step
    // with the mean gradient, w ← w − lr·mean(g)
    let d = data();
    let mut p = init();
    let r = train(
        &mut p,
        &mut Sgd::new(0.1),
        &d,
        &TrainOptions::new()
            .epochs(1)
            .batch_size(d.len())
            .shuffle(false)
            .progress(Progress::Never),
        per_sample,
    )
    .unwrap();
    let start = init();
    let (mean_loss, mean_grad) = mean_value_and_grad(&start, &d, per_sample);
    let mut want = start;
    want.axpy(-0.1, &mean_grad);
    assert!(p.bit_eq(&want));
    assert_eq!(r.epoch_losses, vec![mean_loss]);
    assert_eq!(r.steps, 1);
}

#[test]
fn batches_per_epoch_and_partial_last_batch() {
    // 257 samples in batches of 16: 16 full batches and one of 1
    let d = data();
    let mut p = init();
    let r = train(
        &mut p,
        &mut Momentum::new(0.01, 0.9),
        &d,
        &TrainOptions::new()
            .epochs(3)
            .batch_size(16)
            .progress(Progress::Never),
        per_sample,
    )
    .unwrap();
    assert_eq!(r.steps, 3 * 17);
}

#[test]
fn nan_loss_names_epoch_batch_and_sample_and_keeps_params() {
    // sample 200 has a NaN target; without shuffling, with batches of 50,
    // it is in batch 4 (samples 200..250) of epoch 0
    let mut d = data();
    d[200].1 = f64::NAN;
    let mut p = init();
    let mut opt = Sgd::new(0.01);
    let err = train(
        &mut p,
        &mut opt,
        &d,
        &TrainOptions::new()
            .epochs(1)
            .batch_size(50)
            .shuffle(false)
            .progress(Progress::Never),
        per_sample,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "loss is NaN at epoch 0, batch 4 (sample 200)"
    );
    assert!(p.all_finite());
    // four steps were taken before the bad batch
    assert_eq!(opt.steps(), 4);
}

#[test]
fn progress_bar_lines() {
    let mut bar = ProgressBar::new(Vec::new(), 2, 4);
    bar.update(0, 2, 0.5);
    bar.update(0, 3, 0.4); // within 100 ms of the last draw: skipped
    bar.end_epoch(0, 0.25);
    bar.end_epoch(1, 0.125);
    bar.finish();
    let text = String::from_utf8(bar.out).unwrap();
    let draws: Vec<&str> = text.split('\r').filter(|s| !s.is_empty()).collect();
    assert_eq!(draws.len(), 3, "{text:?}");
    assert!(draws[0].contains("epoch 0/2") && draws[0].contains(" 25% batch loss 0.500000"));
    assert!(draws[1].contains("epoch 1/2") && draws[1].contains(" 50% epoch loss 0.250000"));
    assert!(draws[2].contains("epoch 2/2") && draws[2].contains("100% epoch loss 0.125000"));
    assert!(draws[2].contains(&"█".repeat(30)));
    assert!(text.ends_with('\n'));
}

/// Options for the clipping and callback tests: one epoch, everything
/// in one batch, in order, quiet.
fn one_full_batch() -> TrainOptions {
    TrainOptions::new()
        .epochs(1)
        .batch_size(usize::MAX)
        .shuffle(false)
        .progress(Progress::Never)
}

#[test]
fn clip_norm_scales_the_mean_batch_gradient() {
    // Samples k = 1 and k = 0 have gradients [6, 8] and [0, 0]: the mean
    // is [3, 4], of norm 5. Clipped to 2.5 it is [1.5, 2], and one SGD
    // step of lr 1 from 0 gives −[1.5, 2]. (Clipping each sample instead
    // would give the mean of [1.5, 2] and [0, 0], −[0.75, 1].)
    let grad = |_: &[f64; 2], &k: &f64| (0.0, [6.0 * k, 8.0 * k]);
    let run = |options: TrainOptions| {
        let mut w = [0.0_f64; 2];
        train(&mut w, &mut Sgd::new(1.0), &[1.0, 0.0], &options, grad).unwrap();
        w
    };
    assert_eq!(run(one_full_batch().clip_norm(2.5)), [-1.5, -2.0]);
    // at or under the bound: untouched
    assert_eq!(run(one_full_batch().clip_norm(5.0)), [-3.0, -4.0]);
    assert_eq!(run(one_full_batch().clip_norm(10.0)), [-3.0, -4.0]);
    assert_eq!(run(one_full_batch()), [-3.0, -4.0]);
}

#[test]
fn clip_norm_is_global_over_a_nested_gradient() {
    // ([1, 2], 2) has norm √(1 + 4 + 4) = 3; clipped to 1.5: halved
    let mut w = ([0.0_f64; 2], 0.0_f64);
    train(
        &mut w,
        &mut Sgd::new(1.0),
        &[()],
        &one_full_batch().clip_norm(1.5),
        |_, _| (0.0, ([1.0, 2.0], 2.0)),
    )
    .unwrap();
    assert_eq!(w, ([-0.5, -1.0], -1.0));
}

#[test]
fn clip_norm_over_several_steps_equals_a_hand_written_loop() {
    // ½|w − x|² per sample; batches of 2 in order, lr 0.3, clip 0.5:
    // the same updates written out with plain f64 arithmetic
    let data = [[3.0_f64, -1.0], [2.0, 5.0], [-4.0, 1.0], [0.5, 0.5]];
    let (lr, max) = (0.3, 0.5);
    let mut w = [1.0_f64, 1.0];
    let r = train(
        &mut w,
        &mut Sgd::new(lr),
        &data,
        &TrainOptions::new()
            .epochs(3)
            .batch_size(2)
            .shuffle(false)
            .clip_norm(max)
            .progress(Progress::Never),
        |w, x| {
            let d = [w[0] - x[0], w[1] - x[1]];
            (0.5 * (d[0] * d[0] + d[1] * d[1]), d)
        },
    )
    .unwrap();
    let mut want = [1.0_f64, 1.0];
    let mut clipped = 0;
    for _ in 0..3 {
        for batch in data.chunks(2) {
            let mut g = [0.0_f64; 2];
            for x in batch {
                g[0] += want[0] - x[0];
                g[1] += want[1] - x[1];
            }
            g = [g[0] / 2.0, g[1] / 2.0];
            let norm = (g[0] * g[0] + g[1] * g[1]).sqrt();
            if norm > max {
                clipped += 1;
                g = [g[0] * (max / norm), g[1] * (max / norm)];
            }
            want = [want[0] - lr * g[0], want[1] - lr * g[1]];
        }
    }
    assert!(clipped >= 3, "the bound should bite: {clipped}");
    assert!(w.bit_eq(&want), "{w:?} vs {want:?}");
    assert_eq!(r.steps, 6);
}

#[test]
fn clip_norm_survives_a_norm_that_overflows() {
    // |[1e300, 1e300]|² overflows f64; the norm is 1e300·√2 all the
    // same, and the clipped gradient is [1/√2, 1/√2]
    let mut w = [0.0_f64; 2];
    train(
        &mut w,
        &mut Sgd::new(1.0),
        &[()],
        &one_full_batch().clip_norm(1.0),
        |_, _| (0.0, [1e300, 1e300]),
    )
    .unwrap();
    let want = -std::f64::consts::FRAC_1_SQRT_2;
    assert!(w.iter().all(|&x| (x - want).abs() < 1e-15), "{w:?}");
}

#[test]
fn clip_value_clamps_each_component() {
    let mut w = [0.0_f32; 4];
    train(
        &mut w,
        &mut Sgd::new(1.0),
        &[()],
        &one_full_batch().clip_value(1.0),
        |_, _| (0.0, [3.0, -0.5, -7.0, 1.0]),
    )
    .unwrap();
    assert_eq!(w, [-1.0, 0.5, 1.0, -1.0]);
}

#[test]
fn clip_norm_then_clip_value() {
    // [3, 4] → by norm 2.5: [1.5, 2] → by value 1.8: [1.5, 1.8]
    let mut w = [0.0_f64; 2];
    train(
        &mut w,
        &mut Sgd::new(1.0),
        &[()],
        &one_full_batch().clip_value(1.8).clip_norm(2.5),
        |_, _| (0.0, [3.0, 4.0]),
    )
    .unwrap();
    assert_eq!(w, [-1.5, -1.8]);
}

#[test]
fn train_acc_clips_too() {
    // the mean of [6, 8] and [0, 0], clipped by norm to 2.5 then by
    // value to 1.8
    let mut w = [0.0_f64; 2];
    train_acc(
        &mut w,
        &mut Sgd::new(1.0),
        &[1.0, 0.0],
        &one_full_batch().clip_norm(2.5).clip_value(1.8),
        |_, &k: &f64, g, _| {
            g[0] += 6.0 * k;
            g[1] += 8.0 * k;
            0.0
        },
    )
    .unwrap();
    assert_eq!(w, [-1.5, -1.8]);
}

#[test]
fn bad_clipping_bounds() {
    let mut p = 0.0_f64;
    let f = |p: &f64, x: &f64| (p * x, *x);
    let opts = TrainOptions::new().progress(Progress::Never);
    for bad in [
        opts.clip_norm(0.0),
        opts.clip_norm(-1.0),
        opts.clip_norm(f64::NAN),
        opts.clip_value(0.0),
        opts.clip_value(f64::NAN),
    ] {
        assert!(matches!(
            train(&mut p, &mut Sgd::new(0.1), &[1.0], &bad, f).unwrap_err(),
            Error::InvalidOptions(_)
        ));
    }
    assert_eq!(p, 0.0);
}

/// A callback's record of one epoch.
type Seen = (usize, f64, Vec<f64>, usize, Net);

#[test]
fn callback_sees_every_epoch_as_the_history_reports_it() {
    let d = data();
    let options = TrainOptions::new()
        .epochs(5)
        .batch_size(32)
        .seed(7)
        .progress(Progress::Never);
    let mut seen: Vec<Seen> = Vec::new();
    let mut p = init();
    let r = train(
        &mut p,
        &mut Adam::new(0.01),
        &d,
        &options.on_epoch(|r: &EpochReport<Net>| {
            seen.push((
                r.epoch,
                r.train_loss,
                r.history.to_vec(),
                r.steps,
                *r.params,
            ));
            Control::Continue
        }),
        per_sample,
    )
    .unwrap();
    assert!(!r.stopped_early);
    assert_eq!(seen.len(), 5);
    for (e, (epoch, loss, history, steps, _)) in seen.iter().enumerate() {
        assert_eq!(*epoch, e);
        assert_eq!(loss.to_bits(), r.epoch_losses[e].to_bits());
        assert_eq!(history[..], r.epoch_losses[..=e]);
        assert_eq!(*steps, (e + 1) * 9); // 257 samples in batches of 32
    }
    // The parameters shown after epoch 0 are those of a 1-epoch run
    // (same seed, same first shuffle); after the last, the result.
    let mut one = init();
    train(
        &mut one,
        &mut Adam::new(0.01),
        &d,
        &options.epochs(1),
        per_sample,
    )
    .unwrap();
    assert!(seen[0].4.bit_eq(&one));
    assert!(seen[4].4.bit_eq(&p));
    // the callback changes nothing: the same run without it
    let mut plain = init();
    let r2 = train(&mut plain, &mut Adam::new(0.01), &d, &options, per_sample).unwrap();
    assert!(plain.bit_eq(&p));
    assert_eq!(r2.epoch_losses, r.epoch_losses);
}

#[test]
fn stop_after_epoch_k_runs_exactly_k_plus_1_epochs() {
    let d = data();
    let options = TrainOptions::new()
        .epochs(4)
        .batch_size(64)
        .seed(11)
        .progress(Progress::Never);
    for k in 0..4 {
        let mut calls = 0;
        let mut p = init();
        let r = train(
            &mut p,
            &mut Sgd::new(0.05),
            &d,
            &options.on_epoch(|r: &EpochReport<Net>| {
                calls += 1;
                if r.epoch == k {
                    Control::Stop
                } else {
                    Control::Continue
                }
            }),
            per_sample,
        )
        .unwrap();
        assert_eq!(calls, k + 1);
        assert_eq!(r.epoch_losses.len(), k + 1);
        assert_eq!(r.steps, (k + 1) * 5); // 257 samples in batches of 64
                                          // stopping at the last epoch is no early stop
        assert_eq!(r.stopped_early, k < 3);
        // the same as asking for k + 1 epochs
        let mut q = init();
        let r2 = train(
            &mut q,
            &mut Sgd::new(0.05),
            &d,
            &options.epochs(k + 1),
            per_sample,
        )
        .unwrap();
        assert!(p.bit_eq(&q));
        assert_eq!(r.epoch_losses, r2.epoch_losses);
    }
}

#[test]
fn train_acc_calls_back_and_stops() {
    let mut losses = Vec::new();
    let mut w = 0.0_f64;
    let r = train_acc(
        &mut w,
        &mut Sgd::new(0.5),
        &[1.0, 3.0],
        &one_full_batch()
            .epochs(10)
            .on_epoch(|r: &EpochReport<f64>| {
                losses.push(r.train_loss);
                if r.epoch == 2 {
                    Control::Stop
                } else {
                    Control::Continue
                }
            }),
        |w, x, g, _| {
            *g += w - x;
            0.5 * (w - x) * (w - x)
        },
    )
    .unwrap();
    // full batch, lr ½ toward the mean 2: w = 1, 1.5, 1.75
    assert_eq!(w, 1.75);
    // ½((w − 1)² + (w − 3)²)/2 at w = 0, 1, 1.5
    assert_eq!(losses, [2.5, 1.0, 0.625]);
    assert_eq!(r.epoch_losses, losses);
    assert!(r.stopped_early);
}

#[test]
fn early_stopping_on_a_validation_sequence() {
    // The "validation loss" of epoch e is VAL[e]: best 3.0 at epoch 2,
    // then 3.5, 3.2, 3.1 are three epochs without improvement.
    const VAL: [f64; 8] = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 2.0, 1.0];
    let d = data();
    let run = |patience| {
        let mut stop = EarlyStopping::new(patience);
        let mut p = init();
        let r = train(
            &mut p,
            &mut Sgd::new(0.05),
            &d,
            &TrainOptions::new()
                .epochs(VAL.len())
                .batch_size(128)
                .progress(Progress::Never)
                .on_epoch(|r: &EpochReport<Net>| stop.update(VAL[r.epoch])),
            per_sample,
        )
        .unwrap();
        (r, stop)
    };
    let (r, stop) = run(3);
    assert_eq!(r.epoch_losses.len(), 6, "stops after epoch 5");
    assert!(r.stopped_early);
    assert_eq!((stop.best(), stop.best_index()), (Some(3.0), Some(2)));
    // patience 4 waits for epoch 6's 2.0, and runs to the end
    let (r, stop) = run(4);
    assert_eq!(r.epoch_losses.len(), 8);
    assert!(!r.stopped_early);
    assert_eq!((stop.best(), stop.best_index()), (Some(1.0), Some(7)));
    // patience 0 stops at the first epoch without improvement
    let (r, _) = run(0);
    assert_eq!(r.epoch_losses.len(), 4);
}

#[test]
fn early_stopping_rules() {
    use Control::{Continue as C, Stop as S};
    let answers = |mut stop: EarlyStopping<f64>, seq: &[f64]| -> Vec<Control> {
        seq.iter().map(|&v| stop.update(v)).collect()
    };
    // min_delta 0.1: 0.95 and 0.92 are not enough better than 1.0
    assert_eq!(
        answers(EarlyStopping::new(2).min_delta(0.1), &[1.0, 0.95, 0.92]),
        [C, C, S]
    );
    // maximizing an accuracy: 0.9 is the best, 0.85 then 0.9 (a tie)
    assert_eq!(
        answers(EarlyStopping::new(2).maximize(), &[0.5, 0.9, 0.85, 0.9]),
        [C, C, C, S]
    );
    // NaN is never an improvement, even first
    assert_eq!(
        answers(EarlyStopping::new(1), &[f64::NAN, 1.0, f64::NAN]),
        [S, C, S]
    );
    let mut stop = EarlyStopping::new(5);
    assert!(!stop.improved() && stop.best().is_none());
    stop.update(2.0);
    assert!(stop.improved());
    stop.update(3.0);
    assert!(!stop.improved());
    stop.update(1.0);
    assert!(stop.improved());
    assert_eq!(stop.best_index(), Some(2));
}

#[test]
fn bad_options() {
    let mut p = 0.0_f64;
    let f = |p: &f64, x: &f64| (p * x, *x);
    let opts = TrainOptions::new().progress(Progress::Never);
    assert_eq!(
        train(&mut p, &mut Sgd::new(0.1), &[] as &[f64], &opts, f).unwrap_err(),
        Error::EmptyData
    );
    assert!(matches!(
        train(&mut p, &mut Sgd::new(0.1), &[1.0], &opts.batch_size(0), f).unwrap_err(),
        Error::InvalidOptions(_)
    ));
}

/// `train_acc` names the sample of a non-finite loss or gradient, and the
/// parameters stay as they were: with a batch of one part (up to
/// `MIN_PART` samples, added straight into the batch's gradient) and of
/// several, and a gradient whose parts are finite but whose sum is not.
#[test]
fn train_acc_names_the_sample_of_a_non_finite_loss_or_gradient() {
    // Sample k: loss w·k, gradient k (k = −1 gives a NaN loss, k = −2 an
    // infinite gradient with a finite loss, k = −3 a gradient of 1e308).
    let per_sample = |w: &[f64; 1], &k: &f64, g: &mut [f64; 1], _: &mut Workspace<f64>| {
        if k == -1.0 {
            return f64::NAN;
        }
        g[0] += if k == -2.0 {
            f64::INFINITY
        } else if k == -3.0 {
            1e308
        } else {
            k
        };
        w[0] * k
    };
    // One full batch of n samples 0, 0.5, 1, … with some replaced; the
    // parameters after it and its error.
    let run = |n: usize, replaced: &[(usize, f64)]| {
        let mut data: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
        for &(at, k) in replaced {
            data[at] = k;
        }
        let mut w = [0.25];
        let err = train_acc(
            &mut w,
            &mut Sgd::new(0.1),
            &data,
            &one_full_batch(),
            per_sample,
        )
        .unwrap_err();
        (w, err)
    };
    for n in [4usize, 40] {
        for (bad, at) in [(-1.0, n / 2), (-2.0, n - 1)] {
            let (w, err) = run(n, &[(at, bad)]);
            let where_ = At::Batch {
                epoch: 0,
                batch: 0,
                sample: Some(at),
            };
            match (bad, err) {
                (-1.0, Error::NonFiniteLoss { at, value }) => {
                    assert_eq!(at, where_, "{n} samples");
                    assert!(value.is_nan());
                }
                (-2.0, Error::NonFiniteGradient { at, index, .. }) => {
                    assert_eq!((at, index), (where_, 0), "{n} samples");
                }
                (_, e) => panic!("{n} samples, bad {bad}: {e}"),
            }
            assert_eq!(w, [0.25], "{n} samples: no step");
        }
        // Finite per sample, infinite summed: no sample is named.
        let (w, err) = run(n, &[(0, -3.0), (n - 1, -3.0)]);
        let Error::NonFiniteGradient { at, .. } = err else {
            panic!("{n} samples: {err}");
        };
        assert_eq!(
            at,
            At::Batch {
                epoch: 0,
                batch: 0,
                sample: None
            },
            "{n} samples"
        );
        assert_eq!(w, [0.25]);
    }
}
