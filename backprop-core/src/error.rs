//! The one error type of [`minimize`](crate::minimize()),
//! [`lbfgs`](crate::lbfgs()), [`newton`](crate::newton()) and
//! [`train`](crate::train()).

use std::fmt;

use num_traits::ToPrimitive;

/// Where in a run something went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// In [`minimize`](crate::minimize()): after this many optimizer steps
    /// (step 0 is the starting point). In [`lbfgs`](crate::lbfgs()) and
    /// [`newton`](crate::newton()), the step being taken: an evaluation in
    /// the line search or at the trial point of iteration `k` is at step
    /// `k + 1`, the Hessian at the point reached after `k` steps at step `k`.
    Step(usize),
    /// In [`train`](crate::train()): epoch and batch, both counted from 0,
    /// and the index in the data of the sample concerned, if there is one.
    Batch {
        /// The epoch, from 0.
        epoch: usize,
        /// The batch within the epoch, from 0.
        batch: usize,
        /// The sample's index in the training data.
        sample: Option<usize>,
    },
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            At::Step(s) => write!(f, "step {s}"),
            At::Batch {
                epoch,
                batch,
                sample,
            } => {
                write!(f, "epoch {epoch}, batch {batch}")?;
                if let Some(i) = sample {
                    write!(f, " (sample {i})")?;
                }
                Ok(())
            }
        }
    }
}

/// Why a run stopped early. On every error the parameters are left at
/// their last values for which the loss and gradient were finite: nothing
/// is ever overwritten with NaN or ±∞.
///
/// ```
/// use backprop_core::{At, Error};
/// let e = Error::NonFiniteLoss { at: At::Step(17), value: f64::NAN };
/// assert_eq!(e.to_string(), "loss is NaN at step 17");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The loss was NaN or ±∞.
    NonFiniteLoss {
        /// Where.
        at: At,
        /// The value (as `f64`).
        value: f64,
    },
    /// A gradient element was NaN or ±∞ (the first one, in flat order).
    NonFiniteGradient {
        /// Where.
        at: At,
        /// The element's flat index.
        index: usize,
        /// The element's readable path, e.g. `.0[3]`.
        path: String,
        /// The value (as `f64`).
        value: f64,
    },
    /// An optimizer step made a parameter NaN or ±∞ (from a finite
    /// gradient: an overflow); the step was undone.
    NonFiniteParams {
        /// Where: the step that was undone.
        at: At,
        /// The element's flat index.
        index: usize,
        /// The element's readable path.
        path: String,
        /// The value it would have had (as `f64`).
        value: f64,
    },
    /// A Hessian-vector product (in [`newton`](crate::newton())) or an
    /// element of the Hessian (in
    /// [`newton_with_hessian`](crate::newton_with_hessian())) was NaN or
    /// ±∞ (the first one, in flat order).
    NonFiniteHessian {
        /// Where.
        at: At,
        /// The element's flat index (in the product, or in the Hessian's
        /// row-major order).
        index: usize,
        /// The element's readable path (in the product, or in the Hessian
        /// value).
        path: String,
        /// The value (as `f64`).
        value: f64,
    },
    /// [`train`](crate::train()) was given no samples.
    EmptyData,
    /// An option is out of range (e.g. a batch size of 0).
    InvalidOptions(&'static str),
}

fn path_suffix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" ({path})")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NonFiniteLoss { at, value } => write!(f, "loss is {value} at {at}"),
            Error::NonFiniteGradient {
                at,
                index,
                path,
                value,
            } => write!(
                f,
                "gradient element {index}{} is {value} at {at}",
                path_suffix(path)
            ),
            Error::NonFiniteParams {
                at,
                index,
                path,
                value,
            } => write!(
                f,
                "parameter element {index}{} would become {value} at {at}; the step was undone",
                path_suffix(path)
            ),
            Error::NonFiniteHessian {
                at,
                index,
                path,
                value,
            } => write!(
                f,
                "Hessian element {index}{} is {value} at {at}",
                path_suffix(path)
            ),
            Error::EmptyData => f.write_str("no training samples"),
            Error::InvalidOptions(what) => write!(f, "invalid options: {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// `Err` if the loss is not finite.
pub(crate) fn check_loss<F: crate::Scalar>(value: F, at: At) -> Result<(), Error> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFiniteLoss {
            at,
            value: value.to_f64().unwrap_or(f64::NAN),
        })
    }
}

/// `Err` naming the first non-finite gradient element, if any.
pub(crate) fn check_grad<P: crate::Params>(grad: &P, at: At) -> Result<(), Error> {
    match grad.first_non_finite() {
        None => Ok(()),
        Some((index, value)) => Err(Error::NonFiniteGradient {
            at,
            index,
            path: grad.path(index),
            value: value.to_f64().unwrap_or(f64::NAN),
        }),
    }
}

/// `Err` naming the first non-finite element of a Hessian-vector product
/// or of a Hessian, if any.
pub(crate) fn check_hessian<P: crate::Params>(h: &P, at: At) -> Result<(), Error> {
    match h.first_non_finite() {
        None => Ok(()),
        Some((index, value)) => Err(Error::NonFiniteHessian {
            at,
            index,
            path: h.path(index),
            value: value.to_f64().unwrap_or(f64::NAN),
        }),
    }
}

/// `Err` naming the first non-finite element of a point about to be
/// evaluated (a step that overflowed).
pub(crate) fn check_params<P: crate::Params>(p: &P, at: At) -> Result<(), Error> {
    match p.first_non_finite() {
        None => Ok(()),
        Some((index, value)) => Err(Error::NonFiniteParams {
            at,
            index,
            path: p.path(index),
            value: value.to_f64().unwrap_or(f64::NAN),
        }),
    }
}

/// Steps `params`, undoing the step (from `backup`) if it made a parameter
/// non-finite.
pub(crate) fn guarded_step<P: crate::Params, O: crate::Optimizer<P> + ?Sized>(
    optimizer: &mut O,
    params: &mut P,
    grad: &P,
    backup: &mut P,
    at: At,
) -> Result<(), Error> {
    backup.clone_from(params);
    optimizer.step(params, grad);
    if params.all_finite() {
        return Ok(());
    }
    match params.first_non_finite() {
        None => Ok(()),
        Some((index, value)) => {
            let path = params.path(index);
            params.clone_from(backup);
            Err(Error::NonFiniteParams {
                at,
                index,
                path,
                value: value.to_f64().unwrap_or(f64::NAN),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let e = Error::NonFiniteGradient {
            at: At::Batch {
                epoch: 2,
                batch: 5,
                sample: Some(37),
            },
            index: 3,
            path: ".0[3]".into(),
            value: f64::INFINITY,
        };
        assert_eq!(
            e.to_string(),
            "gradient element 3 (.0[3]) is inf at epoch 2, batch 5 (sample 37)"
        );
        let e = Error::NonFiniteParams {
            at: At::Step(4),
            index: 0,
            path: String::new(),
            value: f64::NEG_INFINITY,
        };
        assert_eq!(
            e.to_string(),
            "parameter element 0 would become -inf at step 4; the step was undone"
        );
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Error::EmptyData);
        assert_eq!(boxed.to_string(), "no training samples");
    }
}
