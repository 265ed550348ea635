//! Learning-rate schedules.
//!
//! Every optimizer holds a *base* learning rate and an [`LrSchedule`]; the
//! learning rate used by its step number `t` (counting from 0) is
//! [`LrSchedule::lr`]`(base, t)`. The formulas are those of PyTorch's
//! `StepLR`, `ExponentialLR` and `CosineAnnealingLR` with the scheduler
//! stepped once per optimizer step.

use std::fmt;

use crate::params::Scalar;

/// How the learning rate changes with the step number `t = 0, 1, 2, …`.
///
/// ```
/// use backprop_core::LrSchedule;
/// let s = LrSchedule::Step { step_size: 10, gamma: 0.5 };
/// assert_eq!(s.lr(0.1_f64, 9), 0.1);
/// assert_eq!(s.lr(0.1_f64, 10), 0.05);
/// ```
#[derive(Clone, Copy, Default)]
pub enum LrSchedule<F> {
    /// `lr = base` (the default).
    #[default]
    Constant,
    /// Step decay: `lr = base · gamma^⌊t / step_size⌋` (PyTorch `StepLR`).
    Step {
        /// Steps between two decays (a `step_size` of 0 is treated as 1).
        step_size: usize,
        /// The factor applied at each decay.
        gamma: F,
    },
    /// Exponential decay: `lr = base · gamma^t` (PyTorch `ExponentialLR`).
    Exponential {
        /// The factor applied every step.
        gamma: F,
    },
    /// Cosine annealing from `base` down to `eta_min` over `t_max` steps:
    /// `lr = eta_min + (base − eta_min) · (1 + cos(π·t / t_max)) / 2`
    /// (PyTorch `CosineAnnealingLR`), held at `eta_min` for `t ≥ t_max`
    /// (PyTorch would climb back up; restart the schedule instead).
    Cosine {
        /// The length of the annealing, in steps.
        t_max: usize,
        /// The final learning rate.
        eta_min: F,
    },
    /// Any function `(base, t) ↦ lr`.
    Custom(fn(F, usize) -> F),
}

impl<F: Scalar> LrSchedule<F> {
    /// The learning rate for step `t` (counting from 0) given the base rate.
    ///
    /// ```
    /// use backprop_core::LrSchedule;
    /// let cos = LrSchedule::Cosine { t_max: 4, eta_min: 0.0 };
    /// assert_eq!(cos.lr(1.0_f64, 0), 1.0);
    /// assert!((cos.lr(1.0_f64, 2) - 0.5).abs() < 1e-15);
    /// assert_eq!(cos.lr(1.0_f64, 4), 0.0);
    /// assert_eq!(cos.lr(1.0_f64, 100), 0.0);
    /// ```
    pub fn lr(&self, base: F, t: usize) -> F {
        match *self {
            LrSchedule::Constant => base,
            LrSchedule::Step { step_size, gamma } => base * powi(gamma, t / step_size.max(1)),
            LrSchedule::Exponential { gamma } => base * powi(gamma, t),
            LrSchedule::Cosine { t_max, eta_min } => {
                if t >= t_max {
                    eta_min
                } else {
                    let pi = F::from(std::f64::consts::PI).unwrap();
                    let frac = F::from(t).unwrap() / F::from(t_max).unwrap();
                    let half = F::from(0.5).unwrap();
                    eta_min + (base - eta_min) * half * (F::one() + (pi * frac).cos())
                }
            }
            LrSchedule::Custom(f) => f(base, t),
        }
    }
}

impl<F: fmt::Debug> fmt::Debug for LrSchedule<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LrSchedule::Constant => f.write_str("Constant"),
            LrSchedule::Step { step_size, gamma } => f
                .debug_struct("Step")
                .field("step_size", step_size)
                .field("gamma", gamma)
                .finish(),
            LrSchedule::Exponential { gamma } => {
                f.debug_struct("Exponential").field("gamma", gamma).finish()
            }
            LrSchedule::Cosine { t_max, eta_min } => f
                .debug_struct("Cosine")
                .field("t_max", t_max)
                .field("eta_min", eta_min)
                .finish(),
            LrSchedule::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// `x^n` for a `usize` exponent, saturating the exponent at `i32::MAX`.
pub(crate) fn powi<F: Scalar>(x: F, n: usize) -> F {
    x.powi(i32::try_from(n).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn constant() {
        for t in [0, 1, 1000] {
            assert_eq!(LrSchedule::Constant.lr(0.3_f64, t), 0.3);
        }
    }

    #[test]
    fn step_decay_halves_every_two_steps() {
        // StepLR(step_size = 2, gamma = 0.5), base 1: 1, 1, 0.5, 0.5, 0.25, 0.25
        let s = LrSchedule::Step {
            step_size: 2,
            gamma: 0.5,
        };
        let lrs: Vec<f64> = (0..6).map(|t| s.lr(1.0, t)).collect();
        assert_eq!(lrs, [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]);
    }

    #[test]
    fn exponential() {
        // ExponentialLR(gamma = 0.9), base 2: 2, 1.8, 1.62, 1.458
        let s = LrSchedule::Exponential { gamma: 0.9 };
        for (t, want) in [2.0, 1.8, 1.62, 1.458].into_iter().enumerate() {
            assert!(close(s.lr(2.0_f64, t), want), "t = {t}");
        }
    }

    #[test]
    fn cosine_annealing() {
        // CosineAnnealingLR(T_max = 4, eta_min = 0.1), base 1.1:
        // lr_t = 0.1 + 1.0·(1 + cos(πt/4))/2
        //   t=0: 1.1   t=1: 0.1 + (1 + √2/2)/2 = 0.953553390593…
        //   t=2: 0.6   t=3: 0.1 + (1 − √2/2)/2 = 0.246446609406…   t≥4: 0.1
        let s = LrSchedule::Cosine {
            t_max: 4,
            eta_min: 0.1,
        };
        let want = [
            1.1,
            0.953_553_390_593_273_8,
            0.6,
            0.246_446_609_406_726_2,
            0.1,
            0.1,
        ];
        for (t, w) in want.into_iter().enumerate() {
            assert!(close(s.lr(1.1_f64, t), w), "t = {t}: {}", s.lr(1.1_f64, t));
        }
    }

    #[test]
    fn custom_and_f32() {
        let s: LrSchedule<f32> = LrSchedule::Custom(|base, t| base / (1 + t) as f32);
        assert_eq!(s.lr(1.0, 3), 0.25);
        assert_eq!(format!("{s:?}"), "Custom(..)");
    }
}
