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
use std::fmt;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use num_traits::{Float, NumCast, ToPrimitive, Zero};
use rayon::prelude::*;

use crate::error::{check_grad, check_loss, guarded_step, At, Error};
use crate::optim::Optimizer;
use crate::params::{Params, Scalar};
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

/// What a per-epoch callback ([`TrainOptions::on_epoch`]) sees after each
/// epoch.
#[derive(Debug)]
#[non_exhaustive]
pub struct EpochReport<'a, P: Params> {
    /// The epoch just finished, from 0.
    pub epoch: usize,
    /// Its mean per-sample training loss (the value just pushed to
    /// [`Trained::epoch_losses`]).
    pub train_loss: P::Scalar,
    /// The mean training loss of every epoch so far, this one last.
    pub history: &'a [P::Scalar],
    /// The optimizer steps (batches) taken so far, over all epochs.
    pub steps: usize,
    /// The parameters at the end of the epoch.
    pub params: &'a P,
}

/// A per-epoch callback's answer: go on training or stop now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Control {
    /// Go on with the next epoch (if any).
    #[default]
    Continue,
    /// End training after this epoch.
    Stop,
}

/// Something [`train`] calls after every epoch. Implemented by
/// [`NoCallback`] and by [`OnEpoch`] (a closure given to
/// [`TrainOptions::on_epoch`]); implement it for a type of your own to
/// reuse a callback as a value.
pub trait EpochCallback<P: Params> {
    /// Looks at the epoch's report and says whether to go on.
    fn after_epoch(&self, report: &EpochReport<'_, P>) -> Control;
}

/// The callback of [`TrainOptions`] when none is set: always
/// [`Control::Continue`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoCallback;

impl<P: Params> EpochCallback<P> for NoCallback {
    fn after_epoch(&self, _report: &EpochReport<'_, P>) -> Control {
        Control::Continue
    }
}

/// A closure set by [`TrainOptions::on_epoch`]. It sits in a `RefCell`
/// because [`train`] takes the options by shared reference and the closure
/// is `FnMut` (it typically records the losses it sees).
#[derive(Clone)]
pub struct OnEpoch<D>(RefCell<D>);

impl<D> fmt::Debug for OnEpoch<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnEpoch(..)")
    }
}

impl<P, D> EpochCallback<P> for OnEpoch<D>
where
    P: Params,
    D: FnMut(&EpochReport<'_, P>) -> Control,
{
    /// # Panics
    ///
    /// If the closure itself calls [`train`] with the same options (it is
    /// already borrowed then).
    fn after_epoch(&self, report: &EpochReport<'_, P>) -> Control {
        (self.0.borrow_mut())(report)
    }
}

/// Early stopping on a metric the caller computes (typically a validation
/// loss), for use inside a [`TrainOptions::on_epoch`] callback: after
/// `patience` updates in a row without an improvement on the best value so
/// far, [`update`](EarlyStopping::update) answers [`Control::Stop`]
/// (Keras's `EarlyStopping`).
///
/// Lower is better unless [`maximize`](EarlyStopping::maximize) is set (for
/// an accuracy). An improvement must beat the best by more than
/// [`min_delta`](EarlyStopping::min_delta) (default 0); a NaN metric is
/// never one.
///
/// ```
/// use backprop_core::{Control, EarlyStopping};
///
/// let mut stop = EarlyStopping::new(2);
/// let answers: Vec<Control> = [3.0, 2.0, 2.5, 1.0, 1.5, 1.2]
///     .into_iter()
///     .map(|v| stop.update(v))
///     .collect();
/// use Control::{Continue as C, Stop as S};
/// // 1.0 at update 3 is the best; 1.5 and 1.2 are two updates without
/// // improvement: stop
/// assert_eq!(answers, [C, C, C, C, C, S]);
/// assert_eq!((stop.best(), stop.best_index()), (Some(1.0), Some(3)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStopping<F> {
    patience: usize,
    min_delta: F,
    maximize: bool,
    best: Option<(usize, F)>,
    updates: usize,
    since_best: usize,
}

impl<F: Scalar> EarlyStopping<F> {
    /// Stops after `patience` updates in a row without improvement (0: at
    /// the first one), minimizing.
    pub fn new(patience: usize) -> Self {
        EarlyStopping {
            patience,
            min_delta: F::zero(),
            maximize: false,
            best: None,
            updates: 0,
            since_best: 0,
        }
    }

    /// Sets the margin by which a value must beat the best to count as an
    /// improvement.
    pub fn min_delta(mut self, delta: F) -> Self {
        self.min_delta = delta;
        self
    }

    /// Higher is better (an accuracy).
    pub fn maximize(mut self) -> Self {
        self.maximize = true;
        self
    }

    /// Records the metric of one epoch, and says whether to stop.
    pub fn update(&mut self, metric: F) -> Control {
        let index = self.updates;
        self.updates += 1;
        let improved = match self.best {
            _ if metric.is_nan() => false,
            None => true,
            Some((_, best)) if self.maximize => metric > best + self.min_delta,
            Some((_, best)) => metric < best - self.min_delta,
        };
        if improved {
            self.best = Some((index, metric));
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        if !improved && self.since_best >= self.patience {
            Control::Stop
        } else {
            Control::Continue
        }
    }

    /// The best metric so far.
    pub fn best(&self) -> Option<F> {
        self.best.map(|(_, v)| v)
    }

    /// Which update (from 0; the epoch when called every epoch) gave the
    /// best metric.
    pub fn best_index(&self) -> Option<usize> {
        self.best.map(|(i, _)| i)
    }

    /// `true` if the last update was a new best: the moment to keep a copy
    /// of the parameters.
    pub fn improved(&self) -> bool {
        self.updates > 0 && self.since_best == 0
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
    let batch_size = check_options(data.len(), options)?;
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

/// A clipping bound in the parameters' scalar type; one too large for it
/// (1e300 for `f32`) means no clipping.
fn bound<F: Scalar>(max: Option<f64>) -> Option<F> {
    max.map(|m| <F as NumCast>::from(m).unwrap_or_else(F::infinity))
}

/// Clips `grad` in place: by global norm (scaled to norm `max_norm` if
/// above it), then each component to `[−max_value, max_value]`.
fn clip<P: Params>(grad: &mut P, max_norm: Option<P::Scalar>, max_value: Option<P::Scalar>) {
    if let Some(max) = max_norm {
        let mut norm = grad.norm();
        if norm.is_infinite() {
            // The sum of squares overflowed although every element is
            // finite (elements near 1e155 in f64): compute it on the
            // gradient divided by its largest element instead.
            let largest = grad.max_abs();
            let mut sum = P::Scalar::zero();
            grad.for_each(&mut |x| sum = sum + (x / largest) * (x / largest));
            norm = largest * sum.sqrt();
        }
        if norm > max {
            grad.scale(max / norm);
        }
    }
    if let Some(max) = max_value {
        grad.for_each_mut(&mut |x| *x = x.max(-max).min(max));
    }
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
}
