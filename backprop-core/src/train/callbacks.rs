//! What [`train`](super::train) calls after every epoch: the report it
//! passes ([`EpochReport`]), the answer ([`Control`]), and
//! [`EarlyStopping`], which turns a validation metric into that answer.

use std::cell::RefCell;
use std::fmt;

use crate::params::{Params, Scalar};

/// What a per-epoch callback ([`TrainOptions::on_epoch`](super::TrainOptions::on_epoch)) sees after each
/// epoch.
#[derive(Debug)]
#[non_exhaustive]
pub struct EpochReport<'a, P: Params> {
    /// The epoch just finished, from 0.
    pub epoch: usize,
    /// Its mean per-sample training loss (the value just pushed to
    /// [`Trained::epoch_losses`](super::Trained::epoch_losses)).
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

/// Something [`train`](super::train) calls after every epoch. Implemented by
/// [`NoCallback`] and by [`OnEpoch`] (a closure given to
/// [`TrainOptions::on_epoch`](super::TrainOptions::on_epoch)); implement it for a type of your own to
/// reuse a callback as a value.
pub trait EpochCallback<P: Params> {
    /// Looks at the epoch's report and says whether to go on.
    fn after_epoch(&self, report: &EpochReport<'_, P>) -> Control;
}

/// The callback of [`TrainOptions`](super::TrainOptions) when none is set: always
/// [`Control::Continue`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoCallback;

impl<P: Params> EpochCallback<P> for NoCallback {
    fn after_epoch(&self, _report: &EpochReport<'_, P>) -> Control {
        Control::Continue
    }
}

/// A closure set by [`TrainOptions::on_epoch`](super::TrainOptions::on_epoch). It sits in a `RefCell`
/// because [`train`](super::train) takes the options by shared reference and the closure
/// is `FnMut` (it typically records the losses it sees).
#[derive(Clone)]
pub struct OnEpoch<D>(pub(super) RefCell<D>);

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
    /// If the closure itself calls [`train`](super::train) with the same options (it is
    /// already borrowed then).
    fn after_epoch(&self, report: &EpochReport<'_, P>) -> Control {
        (self.0.borrow_mut())(report)
    }
}

/// Early stopping on a metric the caller computes (typically a validation
/// loss), for use inside a [`TrainOptions::on_epoch`](super::TrainOptions::on_epoch) callback: after
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
