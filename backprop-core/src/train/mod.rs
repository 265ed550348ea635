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
//!
//! [`TrainOptions`] can clip that mean gradient before each step
//! ([`clip_norm`](TrainOptions::clip_norm), by global norm;
//! [`clip_value`](TrainOptions::clip_value), per component) and call a
//! closure after every epoch ([`on_epoch`](TrainOptions::on_epoch)) with an
//! [`EpochReport`], to compute a validation metric and answer
//! [`Control::Stop`] — by hand or through [`EarlyStopping`]. [`Trained`]
//! returns the per-epoch mean training loss, for plotting.

use std::cell::RefCell;
use std::io::IsTerminal;

use num_traits::{Float, NumCast, ToPrimitive, Zero};
use rayon::prelude::*;

use crate::error::{check_grad, check_loss, guarded_step, At, Error};
use crate::optim::Optimizer;
use crate::params::Params;
use crate::rng::SplitMix64;
use crate::workspace::Workspace;

mod callbacks;
mod clip;
mod progress;
#[cfg(test)]
mod tests;

pub use callbacks::{Control, EarlyStopping, EpochCallback, EpochReport, NoCallback, OnEpoch};
use clip::{bound, clip};
use progress::ProgressBar;

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
///
/// The type parameter is the per-epoch callback, set by
/// [`on_epoch`](TrainOptions::on_epoch); without one it is [`NoCallback`],
/// and `TrainOptions` alone means that.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainOptions<C = NoCallback> {
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
    /// Clip the mean batch gradient by its global L2 norm (default `None`):
    /// see [`clip_norm`](TrainOptions::clip_norm).
    pub clip_norm: Option<f64>,
    /// Clamp each component of the mean batch gradient (default `None`):
    /// see [`clip_value`](TrainOptions::clip_value).
    pub clip_value: Option<f64>,
    /// Called after every epoch (default [`NoCallback`]): see
    /// [`on_epoch`](TrainOptions::on_epoch).
    pub callback: C,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 10,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            progress: Progress::Auto,
            clip_norm: None,
            clip_value: None,
            callback: NoCallback,
        }
    }
}

impl TrainOptions {
    /// The defaults: 10 epochs, batches of 32, shuffled with seed 0, no
    /// clipping, no callback.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<C> TrainOptions<C> {
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

    /// Clips the gradient by global norm: before each optimizer step, if
    /// the L2 norm of the whole mean batch gradient (all its elements
    /// together, as [`Params::norm`]) exceeds `max`, the gradient is scaled
    /// by `max / norm`, so its direction is kept and its norm becomes `max`
    /// (to rounding). PyTorch's `clip_grad_norm_` and optax's
    /// `clip_by_global_norm`.
    ///
    /// `max` must be positive ([`Error::InvalidOptions`] otherwise). With
    /// [`clip_value`](TrainOptions::clip_value) too, the norm is clipped
    /// first and then the components (as Keras does); the result satisfies
    /// both bounds.
    ///
    /// ```
    /// use backprop_core::{train, Progress, Sgd, TrainOptions};
    ///
    /// // one sample whose gradient is [3, 4] (norm 5), one step of lr 1:
    /// // clipped to norm 2.5 the step is [1.5, 2]
    /// let mut w = [0.0_f64, 0.0];
    /// let options = TrainOptions::new().epochs(1).clip_norm(2.5).progress(Progress::Never);
    /// train(&mut w, &mut Sgd::new(1.0), &[()], &options, |_, _| (0.0, [3.0, 4.0])).unwrap();
    /// assert_eq!(w, [-1.5, -2.0]);
    /// ```
    pub fn clip_norm(mut self, max: f64) -> Self {
        self.clip_norm = Some(max);
        self
    }

    /// Clips the gradient by value: before each optimizer step, every
    /// component of the mean batch gradient is clamped to `[−max, max]`.
    /// PyTorch's `clip_grad_value_` and optax's `clip`.
    ///
    /// `max` must be positive ([`Error::InvalidOptions`] otherwise).
    ///
    /// ```
    /// use backprop_core::{train, Progress, Sgd, TrainOptions};
    ///
    /// let mut w = [0.0_f64, 0.0, 0.0];
    /// let options = TrainOptions::new().epochs(1).clip_value(1.0).progress(Progress::Never);
    /// train(&mut w, &mut Sgd::new(1.0), &[()], &options, |_, _| (0.0, [3.0, -0.5, -7.0])).unwrap();
    /// assert_eq!(w, [-1.0, 0.5, 1.0]);
    /// ```
    pub fn clip_value(mut self, max: f64) -> Self {
        self.clip_value = Some(max);
        self
    }

    /// Calls `callback` after every epoch with an [`EpochReport`]: the
    /// epoch, its mean training loss, the loss history so far and the
    /// current parameters. The callback returns [`Control::Continue`] to go
    /// on or [`Control::Stop`] to end training after this epoch (the
    /// parameters are kept as they are; [`Trained::stopped_early`] is then
    /// `true`). This is where validation loss or accuracy is computed and
    /// logged, checkpoints saved, and early stopping decided (see
    /// [`EarlyStopping`]).
    ///
    /// The closure is type-checked before the call to [`train`] that fixes
    /// the parameter type: passing `r.params` to a function taking that
    /// type is enough for inference, but to index it or read a field, name
    /// the type in the closure's argument: `|r: &EpochReport<Net>|`. The callback runs on the calling thread,
    /// between epochs; with a progress bar on the same terminal, start its
    /// output with a newline.
    ///
    /// ```
    /// use backprop_core::{train, Control, EpochReport, Progress, Sgd, TrainOptions};
    ///
    /// // fit w to the mean of the data (½(w − x)² per sample), and stop as
    /// // soon as w is within 0.01 of the held-out target 2
    /// let data = [1.0_f64, 2.0, 3.0];
    /// let mut seen = Vec::new();
    /// let options = TrainOptions::new()
    ///     .epochs(1000)
    ///     .batch_size(3)
    ///     .progress(Progress::Never)
    ///     .on_epoch(|r: &EpochReport<f64>| {
    ///         seen.push(r.train_loss);
    ///         if (r.params - 2.0).abs() < 0.01 { Control::Stop } else { Control::Continue }
    ///     });
    /// let mut w = 0.0_f64;
    /// let report = train(&mut w, &mut Sgd::new(0.5), &data, &options, |w, x| {
    ///     (0.5 * (w - x) * (w - x), w - x)
    /// })
    /// .unwrap();
    /// // full batch, lr ½: the distance to 2 halves every epoch, 2 → 1/128
    /// assert_eq!(report.epoch_losses.len(), 8);
    /// assert!(report.stopped_early);
    /// assert_eq!(seen, report.epoch_losses);
    /// ```
    pub fn on_epoch<P, D>(self, callback: D) -> TrainOptions<OnEpoch<D>>
    where
        P: Params,
        D: FnMut(&EpochReport<'_, P>) -> Control,
    {
        TrainOptions {
            epochs: self.epochs,
            batch_size: self.batch_size,
            shuffle: self.shuffle,
            seed: self.seed,
            progress: self.progress,
            clip_norm: self.clip_norm,
            clip_value: self.clip_value,
            callback: OnEpoch(RefCell::new(callback)),
        }
    }
}

/// What [`train`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Trained<F> {
    /// For each epoch run, the mean per-sample training loss over the epoch
    /// (each sample's loss taken at the parameters its batch saw): the loss
    /// history, for plotting. Its length is the number of epochs run.
    pub epoch_losses: Vec<F>,
    /// The number of optimizer steps (batches) taken.
    pub steps: usize,
    /// `true` if the per-epoch callback ([`TrainOptions::on_epoch`]) ended
    /// training before the last epoch; `epoch_losses` then has one entry
    /// per epoch actually run.
    pub stopped_early: bool,
}

/// Trains `params` on `data` with `optimizer`.
///
/// `per_sample(params, sample)` returns one sample's loss and its gradient
/// with respect to the parameters — typically a closure calling a
/// `#[derive_grad]` function's `NAME_grad`. It is called from several
/// threads at once, so it must be `Fn + Sync`. Batches are cut into parts
/// summed in parallel as [`train_acc`] does (the same result whatever the
/// number of threads); [`train_acc`] with `NAME_grad_acc_with` saves
/// returning each gradient by value.
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
pub fn train<P, S, O, G, C>(
    params: &mut P,
    optimizer: &mut O,
    data: &[S],
    options: &TrainOptions<C>,
    per_sample: G,
) -> Result<Trained<P::Scalar>, Error>
where
    P: Params,
    S: Sync,
    O: Optimizer<P> + ?Sized,
    G: Fn(&P, &S) -> (P::Scalar, P) + Sync,
    C: EpochCallback<P>,
{
    // Each part of a batch adds its samples' gradients into its own buffer,
    // as `train_acc` does: no gradient per sample is kept.
    train_acc(params, optimizer, data, options, |p, s, grad: &mut P, _| {
        let (loss, g) = per_sample(p, s);
        grad.add_assign(&g);
        loss
    })
}

/// The most parts [`train_acc`] cuts a batch into, each summed by one task
/// into its own gradient. The cut depends only on the batch's length, so
/// results do not depend on the number of threads.
pub const ACC_PARTS: usize = 16;

/// The fewest samples in a part of a [`train_acc`] batch (a shorter batch
/// is one part): below it, zeroing a part's gradient, adding it to the
/// batch's and handing the part to another thread cost as much as the
/// samples (measured on a 64-32-10 MLP: batches of 16 cut into 16 parts
/// took 2.3× the time of a plain loop; with parts of 8, two threads were
/// slower than one at batches of 16 and 1.15× faster at 64; with parts of
/// 16, as fast at 16 and 1.23× faster at 64).
pub const MIN_PART: usize = 16;

/// [`train`] for gradient functions that *add* into a buffer: the
/// `NAME_grad_acc_with` that `#[derive_grad]` generates. For large models
/// (an MNIST-size MLP has an 800 KB gradient) nothing of the size of the
/// gradient is returned by value, and nothing is allocated per sample.
///
/// `per_sample(params, sample, grad, workspace)` adds one sample's gradient
/// into `grad` and returns its loss. A batch is cut into at most
/// [`ACC_PARTS`] parts of at least [`MIN_PART`] consecutive samples, computed in parallel, each
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
pub fn train_acc<P, S, O, G, C>(
    params: &mut P,
    optimizer: &mut O,
    data: &[S],
    options: &TrainOptions<C>,
    per_sample: G,
) -> Result<Trained<P::Scalar>, Error>
where
    P: Params,
    S: Sync,
    O: Optimizer<P> + ?Sized,
    G: Fn(&P, &S, &mut P, &mut Workspace<P::Scalar>) -> P::Scalar + Sync,
    C: EpochCallback<P>,
{
    let batch_size = check_options(data.len(), options)?;
    let n_parts = batch_size.div_ceil(part_size(batch_size));
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
    // Sums the part's losses into `sum` and its gradients into `g`.
    let run_part = |shared: &P,
                    (sum, bad): (&mut P::Scalar, &mut Option<(usize, P::Scalar)>),
                    g: &mut P,
                    work: &mut Workspace<P::Scalar>,
                    part: &[usize]| {
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
    };
    drive(
        params,
        optimizer,
        data.len(),
        options,
        |shared, idx, grad, at| {
            // The partition depends on the batch's length only, never on
            // the number of threads.
            let per_part = part_size(idx.len());
            let parts = &mut parts[..idx.len().div_ceil(per_part)];
            let single = parts.len() == 1;
            if single {
                // One part: its samples add straight into the batch's
                // gradient (no zeroing of the part's and copy of it after).
                let (sum, bad, _, work) = &mut parts[0];
                run_part(shared, (sum, bad), grad, work, idx);
            } else {
                parts
                    .par_iter_mut()
                    .zip(idx.par_chunks(per_part))
                    .for_each(|(p, part)| {
                        let (sum, bad, g, work) = p;
                        run_part(shared, (sum, bad), g, work, part);
                    });
            }
            let mut batch_sum = P::Scalar::zero();
            for (sum, bad, _, _) in parts.iter() {
                if let Some((i, loss)) = *bad {
                    check_loss(loss, at(Some(i)))?;
                }
                batch_sum = batch_sum + *sum;
            }
            if !single {
                tree_sum(parts, &|p: &mut Part<P>| &mut p.2);
                grad.clone_from(&parts[0].2);
            }
            // One check of the sum: a part that is not finite makes it so.
            if !grad.all_finite() {
                for ((_, _, g, work), part) in parts.iter_mut().zip(idx.chunks(per_part)) {
                    // (A single part's sum is in `grad`; its own buffer is
                    // free to recompute in.)
                    if single || !g.all_finite() {
                        // Which sample: each one's gradient alone.
                        for &i in part {
                            g.fill(P::Scalar::zero());
                            per_sample(shared, &data[i], g, work);
                            check_grad(g, at(Some(i)))?;
                        }
                    }
                }
                // Finite parts whose sum overflowed.
                check_grad(grad, at(None))?;
            }
            Ok(batch_sum)
        },
    )
}

/// Sums the gradients `g` of `items` into the first, pairwise in a tree
/// whose shape depends only on the count (the right half added to the
/// left), so the result is the same for any number of threads. On the
/// calling thread: summing the halves in parallel (`rayon::join` per
/// level) cost more than it saved once the gradients got fast (train_acc
/// on 2 threads, batch 64 of the digits MLP: 3.79 ms an epoch with the
/// joins, 3.58 ms without, one run each), the other thread being woken
/// for about a microsecond of additions.
fn tree_sum<T, P: Params>(items: &mut [T], g: &dyn Fn(&mut T) -> &mut P) {
    if items.len() < 2 {
        return;
    }
    let (left, right) = items.split_at_mut(items.len().div_ceil(2));
    tree_sum(left, g);
    tree_sum(right, g);
    g(&mut left[0]).add_assign(g(&mut right[0]));
}

/// The samples per part of a batch of `len` in [`train_acc`]: at most
/// [`ACC_PARTS`] parts, and at least [`MIN_PART`] samples in each (a part
/// costs a pass to zero its gradient and one to add it to the batch's).
fn part_size(len: usize) -> usize {
    len.div_ceil(ACC_PARTS).max(MIN_PART).min(len.max(1))
}

/// The batch size to use, after checking the data and options.
fn check_options<C>(n: usize, options: &TrainOptions<C>) -> Result<usize, Error> {
    if n == 0 {
        return Err(Error::EmptyData);
    }
    if options.batch_size == 0 {
        return Err(Error::InvalidOptions("batch size must be at least 1"));
    }
    // NaN is refused too: it is neither positive nor anything else
    let positive = |m: f64| m.partial_cmp(&0.0) == Some(std::cmp::Ordering::Greater);
    if options.clip_norm.is_some_and(|m| !positive(m)) {
        return Err(Error::InvalidOptions("clip_norm must be positive"));
    }
    if options.clip_value.is_some_and(|m| !positive(m)) {
        return Err(Error::InvalidOptions("clip_value must be positive"));
    }
    Ok(options.batch_size.min(n))
}

/// The epochs and batches of [`train`] and [`train_acc`]: shuffles, calls
/// `batch(params, sample indices, grad, at)` to put the sum of the batch's
/// gradients in `grad` and return the sum of its losses, then steps with
/// the mean, clipped; after each epoch, asks the callback whether to go on.
fn drive<P, O, C>(
    params: &mut P,
    optimizer: &mut O,
    n: usize,
    options: &TrainOptions<C>,
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
    C: EpochCallback<P>,
{
    let batch_size = options.batch_size.min(n);
    let max_norm = bound::<P::Scalar>(options.clip_norm);
    let max_value = bound::<P::Scalar>(options.clip_value);
    let batches_per_epoch = n.div_ceil(batch_size);

    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(options.seed);
    let mut grad = params.zeros_like();
    let mut backup = params.clone();
    let mut epoch_losses = Vec::with_capacity(options.epochs);
    let mut steps = 0;
    let mut stopped_early = false;
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
            clip(&mut grad, max_norm, max_value);
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
        let report = EpochReport {
            epoch,
            train_loss: mean,
            history: &epoch_losses,
            steps,
            params,
        };
        if options.callback.after_epoch(&report) == Control::Stop {
            stopped_early = epoch + 1 < options.epochs;
            break;
        }
    }
    if let Some(bar) = bar.as_mut() {
        bar.finish();
    }
    Ok(Trained {
        epoch_losses,
        steps,
        stopped_early,
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
    // The parts of one batch of `train_acc`, summed the same way.
    let parts: Vec<(P::Scalar, P)> = data
        .par_chunks(part_size(data.len()).max(1))
        .map(|part| {
            let mut grad = params.zeros_like();
            let mut sum = P::Scalar::zero();
            for s in part {
                let (loss, g) = per_sample(params, s);
                sum = sum + loss;
                grad.add_assign(&g);
            }
            (sum, grad)
        })
        .collect();
    let mut parts = parts;
    let mut sum = P::Scalar::zero();
    for (loss, _) in &parts {
        sum = sum + *loss;
    }
    tree_sum(&mut parts, &|p: &mut (P::Scalar, P)| &mut p.1);
    let mut grad = params.zeros_like();
    if let Some((_, g)) = parts.first() {
        grad.add_assign(g);
    }
    let n = <P::Scalar as NumCast>::from(data.len().max(1)).expect("count");
    grad.div_assign_scalar(n);
    (sum / n, grad)
}
