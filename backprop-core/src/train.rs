//! [`train`]: mini-batch training over a slice of samples.
//!
//! Each epoch visits the samples in an order shuffled by a seeded
//! [`SplitMix64`] (or in order), cuts it into mini-batches, and for each
//! batch steps the optimizer with the *mean* of the per-sample gradients.
//!
//! The per-sample gradients of a batch are computed in parallel with rayon
//! (on the current rayon thread pool) into slots in batch order, and then
//! summed one after another in that order — so the result is bit-for-bit
//! the same whatever the number of threads.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use num_traits::{Float, NumCast, ToPrimitive, Zero};
use rayon::prelude::*;

use crate::error::{check_grad, check_loss, guarded_step, At, Error};
use crate::optim::Optimizer;
use crate::params::Params;
use crate::rng::SplitMix64;
use crate::workspace::Workspace;

/// Whether [`train`] draws a progress bar on standard error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Progress {
    /// Only when standard error is a terminal (the default).
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How [`train`] runs. Built with [`TrainOptions::new`] and the chained
/// setters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainOptions {
    /// The number of passes over the data (default 10).
    pub epochs: usize,
    /// Samples per mini-batch (default 32); the last batch of an epoch may
    /// be smaller. Use the data's length for full-batch gradient descent.
    pub batch_size: usize,
    /// Shuffle the samples at the start of every epoch (default `true`).
    pub shuffle: bool,
    /// The shuffling seed (default 0).
    pub seed: u64,
    /// The progress bar (default [`Progress::Auto`]).
    pub progress: Progress,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 10,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            progress: Progress::Auto,
        }
    }
}

impl TrainOptions {
    /// The defaults: 10 epochs, batches of 32, shuffled with seed 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the number of epochs.
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }

    /// Sets the batch size.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }

    /// Turns shuffling on or off.
    pub fn shuffle(mut self, on: bool) -> Self {
        self.shuffle = on;
        self
    }

    /// Sets the shuffling seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets when to draw the progress bar.
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }
}

/// What [`train`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Trained<F> {
    /// For each epoch, the mean per-sample loss over the epoch (each sample's
    /// loss taken at the parameters its batch saw).
    pub epoch_losses: Vec<F>,
    /// The number of optimizer steps (batches) taken.
    pub steps: usize,
}

/// Trains `params` on `data` with `optimizer`.
///
/// `per_sample(params, sample)` returns one sample's loss and its gradient
/// with respect to the parameters — typically a closure calling a
/// `#[derive_grad]` function's `NAME_grad`. It is called from several
/// threads at once, so it must be `Fn + Sync`.
///
/// # Errors
///
/// [`Error::EmptyData`] for no samples, [`Error::InvalidOptions`] for a
/// batch size of 0, and an error naming the epoch, batch and sample if a
/// loss or gradient element is NaN or ±∞ (or a step would make a parameter
/// so). The parameters are then left at their values before that batch.
///
/// ```
/// use backprop_core::{train, Progress, Sgd, TrainOptions};
///
/// // fit y = a·x + b to points on y = 2x − 1 by least squares
/// let data: Vec<(f64, f64)> = (0..20).map(|i| {
///     let x = i as f64 / 10.0;
///     (x, 2.0 * x - 1.0)
/// }).collect();
/// let mut ab = [0.0_f64, 0.0];
/// let report = train(
///     &mut ab,
///     &mut Sgd::new(0.2),
///     &data,
///     &TrainOptions::new().epochs(300).batch_size(5).progress(Progress::Never),
///     |ab, &(x, y)| {
///         let r = ab[0] * x + ab[1] - y; // residual
///         (0.5 * r * r, [r * x, r])
///     },
/// )
/// .unwrap();
/// assert_eq!(report.epoch_losses.len(), 300);
/// assert_eq!(report.steps, 300 * 4);
/// assert!((ab[0] - 2.0).abs() < 1e-3 && (ab[1] + 1.0).abs() < 1e-3);
/// ```
pub fn train<P, S, O, G>(
    params: &mut P,
    optimizer: &mut O,
    data: &[S],
    options: &TrainOptions,
    per_sample: G,
) -> Result<Trained<P::Scalar>, Error>
where
    P: Params,
    S: Sync,
    O: Optimizer<P> + ?Sized,
    G: Fn(&P, &S) -> (P::Scalar, P) + Sync,
{
    let batch_size = check_sizes(data.len(), options)?;
    let mut slots: Vec<(P::Scalar, P)> = vec![(P::Scalar::zero(), params.zeros_like()); batch_size];
    drive(
        params,
        optimizer,
        data.len(),
        options,
        |shared, idx, grad, at| {
            let slots = &mut slots[..idx.len()];
            slots
                .par_iter_mut()
                .zip(idx.par_iter())
                .for_each(|(slot, &i)| *slot = per_sample(shared, &data[i]));
            // fixed, sequential reduction in batch order
            grad.fill(P::Scalar::zero());
            let mut batch_sum = P::Scalar::zero();
            for ((loss, g), &i) in slots.iter().zip(idx) {
                check_loss(*loss, at(Some(i)))?;
                check_grad(g, at(Some(i)))?;
                batch_sum = batch_sum + *loss;
                grad.add_assign(g);
            }
            Ok(batch_sum)
        },
    )
}

/// The number of parts [`train_acc`] cuts a batch into, each summed by one
/// task into its own gradient: fixed, so results do not depend on the
/// number of threads.
pub const ACC_PARTS: usize = 16;

/// [`train`] for gradient functions that *add* into a buffer: the
/// `NAME_grad_acc_with` that `#[derive_grad]` generates. For large models
/// (an MNIST-size MLP has an 800 KB gradient) nothing of the size of the
/// gradient is returned by value, and nothing is allocated per sample.
///
/// `per_sample(params, sample, grad, workspace)` adds one sample's gradient
/// into `grad` and returns its loss. A batch is cut into at most
/// [`ACC_PARTS`] parts of consecutive samples, computed in parallel, each
/// with its own gradient buffer and [`Workspace`] (kept from batch to
/// batch); the parts' sums are then added in order, so the result is
/// bit-for-bit the same whatever the number of threads.
///
/// # Errors
///
/// As [`train`]: empty data, a batch size of 0, and an error naming the
/// epoch, batch and sample whose loss or gradient is NaN or ±∞ (found by
/// recomputing that part's samples one by one, only when its sum is not
/// finite), or a step that would make a parameter so.
///
/// ```
/// use backprop_core::{train_acc, Progress, Sgd, TrainOptions};
///
/// // fit y = a·x + b to points on y = 2x − 1 by least squares
/// let data: Vec<(f64, f64)> = (0..20).map(|i| {
///     let x = i as f64 / 10.0;
///     (x, 2.0 * x - 1.0)
/// }).collect();
/// let mut ab = [0.0_f64, 0.0];
/// let report = train_acc(
///     &mut ab,
///     &mut Sgd::new(0.2),
///     &data,
///     &TrainOptions::new().epochs(300).batch_size(5).progress(Progress::Never),
///     |ab, &(x, y), grad, _workspace| {
///         let r = ab[0] * x + ab[1] - y; // residual
///         grad[0] += r * x;
///         grad[1] += r;
///         0.5 * r * r
///     },
/// )
/// .unwrap();
/// assert_eq!(report.steps, 300 * 4);
/// assert!((ab[0] - 2.0).abs() < 1e-3 && (ab[1] + 1.0).abs() < 1e-3);
/// ```
pub fn train_acc<P, S, O, G>(
    params: &mut P,
    optimizer: &mut O,
    data: &[S],
    options: &TrainOptions,
    per_sample: G,
) -> Result<Trained<P::Scalar>, Error>
where
    P: Params,
    S: Sync,
    O: Optimizer<P> + ?Sized,
    G: Fn(&P, &S, &mut P, &mut Workspace<P::Scalar>) -> P::Scalar + Sync,
{
    let batch_size = check_sizes(data.len(), options)?;
    let n_parts = batch_size.min(ACC_PARTS);
    // (sum of losses, first non-finite loss and its sample, gradient sum,
    // workspace) per part.
    type Part<P> = (
        <P as Params>::Scalar,
        Option<(usize, <P as Params>::Scalar)>,
        P,
        Workspace<<P as Params>::Scalar>,
    );
    let mut parts: Vec<Part<P>> = (0..n_parts)
        .map(|_| {
            (
                P::Scalar::zero(),
                None,
                params.zeros_like(),
                Workspace::new(),
            )
        })
        .collect();
    drive(
        params,
        optimizer,
        data.len(),
        options,
        |shared, idx, grad, at| {
            let per_part = idx.len().div_ceil(n_parts);
            let parts = &mut parts[..idx.len().div_ceil(per_part)];
            parts.par_iter_mut().zip(idx.par_chunks(per_part)).for_each(
                |((sum, bad, g, work), part)| {
                    g.fill(P::Scalar::zero());
                    *sum = P::Scalar::zero();
                    *bad = None;
                    for &i in part {
                        let loss = per_sample(shared, &data[i], g, work);
                        if !loss.is_finite() && bad.is_none() {
                            *bad = Some((i, loss));
                        }
                        *sum = *sum + loss;
                    }
                },
            );
            grad.fill(P::Scalar::zero());
            let mut batch_sum = P::Scalar::zero();
            for ((sum, bad, g, work), part) in parts.iter_mut().zip(idx.chunks(per_part)) {
                if let Some((i, loss)) = *bad {
                    check_loss(loss, at(Some(i)))?;
                }
                if !g.all_finite() {
                    // Which sample: each one's gradient alone.
                    for &i in part {
                        g.fill(P::Scalar::zero());
                        per_sample(shared, &data[i], g, work);
                        check_grad(g, at(Some(i)))?;
                    }
                }
                batch_sum = batch_sum + *sum;
                grad.add_assign(g);
            }
            Ok(batch_sum)
        },
    )
}

/// The batch size to use, after checking the data and options.
fn check_sizes(n: usize, options: &TrainOptions) -> Result<usize, Error> {
    if n == 0 {
        return Err(Error::EmptyData);
    }
    if options.batch_size == 0 {
        return Err(Error::InvalidOptions("batch size must be at least 1"));
    }
    Ok(options.batch_size.min(n))
}

/// The epochs and batches of [`train`] and [`train_acc`]: shuffles, calls
/// `batch(params, sample indices, grad, at)` to put the sum of the batch's
/// gradients in `grad` and return the sum of its losses, then steps with
/// the mean.
fn drive<P, O>(
    params: &mut P,
    optimizer: &mut O,
    n: usize,
    options: &TrainOptions,
    mut batch_grad: impl FnMut(
        &P,
        &[usize],
        &mut P,
        &dyn Fn(Option<usize>) -> At,
    ) -> Result<P::Scalar, Error>,
) -> Result<Trained<P::Scalar>, Error>
where
    P: Params,
    O: Optimizer<P> + ?Sized,
{
    let batch_size = options.batch_size.min(n);
    let batches_per_epoch = n.div_ceil(batch_size);

    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(options.seed);
    let mut grad = params.zeros_like();
    let mut backup = params.clone();
    let mut epoch_losses = Vec::with_capacity(options.epochs);
    let mut steps = 0;
    let n_f = <P::Scalar as NumCast>::from(n).expect("sample count as a float");

    let show = match options.progress {
        Progress::Auto => std::io::stderr().is_terminal(),
        Progress::Always => true,
        Progress::Never => false,
    };
    let mut bar =
        show.then(|| ProgressBar::new(std::io::stderr(), options.epochs, batches_per_epoch));

    for epoch in 0..options.epochs {
        if options.shuffle {
            rng.shuffle(&mut order);
        }
        let mut epoch_sum = P::Scalar::zero();
        for (batch, idx) in order.chunks(batch_size).enumerate() {
            let at = |sample| At::Batch {
                epoch,
                batch,
                sample,
            };
            let batch_sum = batch_grad(params, idx, &mut grad, &at)?;
            let count = <P::Scalar as NumCast>::from(idx.len()).expect("batch size");
            grad.div_assign_scalar(count);
            guarded_step(optimizer, params, &grad, &mut backup, at(None))?;
            steps += 1;
            epoch_sum = epoch_sum + batch_sum;
            if let Some(bar) = bar.as_mut() {
                bar.update(
                    epoch,
                    batch + 1,
                    (batch_sum / count).to_f64().unwrap_or(f64::NAN),
                );
            }
        }
        let mean = epoch_sum / n_f;
        epoch_losses.push(mean);
        if let Some(bar) = bar.as_mut() {
            bar.end_epoch(epoch, mean.to_f64().unwrap_or(f64::NAN));
        }
    }
    if let Some(bar) = bar.as_mut() {
        bar.finish();
    }
    Ok(Trained {
        epoch_losses,
        steps,
    })
}

/// The mean loss and mean gradient over all of `data`, computed in parallel
/// with the same fixed reduction order as [`train`] (so bit-identical for
/// any thread count). Non-finite values are passed through; use it inside
/// [`minimize`](crate::minimize()) for full-batch optimisation with its NaN
/// checks.
///
/// ```
/// use backprop_core::mean_value_and_grad;
/// let data = [1.0_f64, 2.0, 6.0];
/// // mean of ½(w − x)²: value at w = 0 is (1 + 4 + 36)/6, gradient −mean(x) = −3
/// let (v, g) = mean_value_and_grad(&0.0_f64, &data, |w, x| (0.5 * (w - x) * (w - x), w - x));
/// assert_eq!((v, g), (41.0 / 6.0, -3.0));
/// ```
pub fn mean_value_and_grad<P, S, G>(params: &P, data: &[S], per_sample: G) -> (P::Scalar, P)
where
    P: Params,
    S: Sync,
    G: Fn(&P, &S) -> (P::Scalar, P) + Sync,
{
    let results: Vec<(P::Scalar, P)> = data.par_iter().map(|s| per_sample(params, s)).collect();
    let mut grad = params.zeros_like();
    let mut sum = P::Scalar::zero();
    for (loss, g) in &results {
        sum = sum + *loss;
        grad.add_assign(g);
    }
    let n = <P::Scalar as NumCast>::from(data.len().max(1)).expect("count");
    grad.div_assign_scalar(n);
    (sum / n, grad)
}

/// A one-line progress bar (on standard error), redrawn after each epoch
/// and at most ten times a second within one.
struct ProgressBar<W: Write> {
    out: W,
    epochs: usize,
    batches: usize,
    start: Instant,
    last: Option<Instant>,
}

impl<W: Write> ProgressBar<W> {
    fn new(out: W, epochs: usize, batches: usize) -> Self {
        ProgressBar {
            out,
            epochs,
            batches,
            start: Instant::now(),
            last: None,
        }
    }

    fn update(&mut self, epoch: usize, batches_done: usize, batch_loss: f64) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        self.draw(epoch, batches_done, &format!("batch loss {batch_loss:.6}"));
    }

    fn end_epoch(&mut self, epoch: usize, mean_loss: f64) {
        self.last = Some(Instant::now());
        self.draw(epoch + 1, 0, &format!("epoch loss {mean_loss:.6}"));
    }

    fn draw(&mut self, epoch: usize, batches_done: usize, tail: &str) {
        const WIDTH: usize = 30;
        let total = (self.epochs * self.batches).max(1);
        let done = (epoch * self.batches + batches_done).min(total);
        let filled = done * WIDTH / total;
        let bar: String = (0..WIDTH)
            .map(|i| if i < filled { '█' } else { '░' })
            .collect();
        let shown = epoch.min(self.epochs);
        let _ = write!(
            self.out,
            "\r\x1b[Kepoch {shown}/{} {bar} {:>3}% {tail} [{:.1}s]",
            self.epochs,
            done * 100 / total,
            self.start.elapsed().as_secs_f64()
        );
    }

    fn finish(&mut self) {
        let _ = writeln!(self.out);
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
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
}
