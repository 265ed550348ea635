//! Optimizers: one [`Optimizer`] trait, `opt.step(&mut params, &grad)`, for
//! every [`Params`] type — exactly the gradient types `#[derive_grad]`
//! returns.
//!
//! | optimizer | update (`g` the gradient, `t` the step, `lr` scheduled) |
//! |---|---|
//! | [`Sgd`] | `w ← w − lr·(g + λw)` |
//! | [`Momentum`] | `Δw ← lr·(g + λw) + α·Δw; w ← w − Δw` (the seeds' form) |
//! | [`Nesterov`] | `b ← μb + g; w ← w − lr·(g + μb)` (PyTorch, `nesterov=True`) |
//! | [`Adagrad`] | `s ← s + g²; w ← w − lr·g / (√s + ε)` |
//! | [`RmsProp`] | `v ← αv + (1−α)g²; w ← w − lr·g / (√v + ε)` (optional momentum) |
//! | [`Adam`] | `m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − lr·m̂ / (√v̂ + ε)` |
//! | [`AdamW`] | `w ← w − lr·λ·w`, then the [`Adam`] step without `λ` |
//!
//! Where PyTorch has the same optimizer, the defaults and the formula are
//! PyTorch's (`torch.optim`, documented pseudo-code). Every optimizer keeps
//! its state (velocity, moments) in values of the parameter type itself,
//! created on the first step: a step never allocates.
//!
//! Each optimizer has a base learning rate and an [`LrSchedule`]
//! (`.schedule(…)`); step `t` (from 0) uses `schedule.lr(base, t)`.
//!
//! ```
//! use backprop_core::{Optimizer, Sgd};
//!
//! // f(w) = w₀² + w₁², gradient 2w
//! let mut w = [1.0_f64, -2.0];
//! let mut opt = Sgd::new(0.25);
//! for _ in 0..3 {
//!     let g = [2.0 * w[0], 2.0 * w[1]];
//!     opt.step(&mut w, &g);
//! }
//! // each step halves w: w ← w − 0.25·2w = w/2
//! assert_eq!(w, [0.125, -0.25]);
//! ```

use crate::params::{Params, Scalar};
use crate::schedule::{powi, LrSchedule};

/// A gradient-based optimizer over parameters of type `P`.
pub trait Optimizer<P: Params> {
    /// Updates `params` in place from the gradient `grad` (which has the
    /// same shape), and advances the step counter.
    fn step(&mut self, params: &mut P, grad: &P);

    /// The learning rate the next step will use (the schedule applied to
    /// the base rate).
    fn learning_rate(&self) -> P::Scalar;

    /// Sets the base learning rate (the schedule still applies on top).
    fn set_learning_rate(&mut self, lr: P::Scalar);

    /// The number of steps taken so far.
    fn steps(&self) -> usize;

    /// Forgets all state (velocity, moments, step counter), as if new.
    fn reset(&mut self);

    /// The state buffers (velocity, moments) in a fixed order, each `None`
    /// until the first step creates it: what a checkpoint saves beside
    /// [`steps`](Optimizer::steps). Empty for a stateless optimizer (and
    /// by default).
    fn state(&self) -> Vec<Option<&P>> {
        Vec::new()
    }

    /// Restores the step counter and the buffers [`state`](Optimizer::state)
    /// returned (same number, same order), so that training resumes as if
    /// never interrupted.
    ///
    /// # Errors
    ///
    /// If `buffers` has the wrong number of entries, or the optimizer does
    /// not support restoring (the default, for optimizers outside this
    /// crate).
    fn restore(&mut self, steps: usize, buffers: Vec<Option<P>>) -> Result<(), String> {
        let _ = (steps, buffers);
        Err("this optimizer does not implement `Optimizer::restore`".to_owned())
    }
}

impl<P: Params, O: Optimizer<P> + ?Sized> Optimizer<P> for &mut O {
    fn step(&mut self, params: &mut P, grad: &P) {
        (**self).step(params, grad);
    }
    fn state(&self) -> Vec<Option<&P>> {
        (**self).state()
    }
    fn restore(&mut self, steps: usize, buffers: Vec<Option<P>>) -> Result<(), String> {
        (**self).restore(steps, buffers)
    }
    fn learning_rate(&self) -> P::Scalar {
        (**self).learning_rate()
    }
    fn set_learning_rate(&mut self, lr: P::Scalar) {
        (**self).set_learning_rate(lr);
    }
    fn steps(&self) -> usize {
        (**self).steps()
    }
    fn reset(&mut self) {
        (**self).reset();
    }
}

impl<P: Params, O: Optimizer<P> + ?Sized> Optimizer<P> for Box<O> {
    fn step(&mut self, params: &mut P, grad: &P) {
        (**self).step(params, grad);
    }
    fn state(&self) -> Vec<Option<&P>> {
        (**self).state()
    }
    fn restore(&mut self, steps: usize, buffers: Vec<Option<P>>) -> Result<(), String> {
        (**self).restore(steps, buffers)
    }
    fn learning_rate(&self) -> P::Scalar {
        (**self).learning_rate()
    }
    fn set_learning_rate(&mut self, lr: P::Scalar) {
        (**self).set_learning_rate(lr);
    }
    fn steps(&self) -> usize {
        (**self).steps()
    }
    fn reset(&mut self) {
        (**self).reset();
    }
}

fn lit<F: Scalar>(x: f64) -> F {
    F::from(x).expect("constant representable in the scalar type")
}

/// The builder methods and the learning-rate half of [`Optimizer`] shared by
/// every optimizer (each has fields `lr`, `schedule`, `t`, `weight_decay`).
macro_rules! common_builders {
    () => {
        /// Sets the learning-rate schedule (default [`LrSchedule::Constant`]).
        pub fn schedule(mut self, schedule: LrSchedule<F>) -> Self {
            self.schedule = schedule;
            self
        }

        /// Sets the weight-decay coefficient `λ` (default 0).
        pub fn weight_decay(mut self, lambda: F) -> Self {
            self.weight_decay = lambda;
            self
        }

        /// The learning rate for the step about to be taken.
        fn current_lr(&self) -> F {
            self.schedule.lr(self.lr, self.t)
        }
    };
}

/// `state` and `restore` for an optimizer whose buffers are the fields
/// named.
macro_rules! state_methods {
    ($($field:ident),*) => {
        fn state(&self) -> Vec<Option<&P>> {
            vec![$(self.$field.as_ref()),*]
        }
        #[allow(unused_mut, unused_variables)]
        fn restore(&mut self, steps: usize, buffers: Vec<Option<P>>) -> Result<(), String> {
            let expected: &[&str] = &[$(stringify!($field)),*];
            if buffers.len() != expected.len() {
                return Err(format!(
                    "expected {} state buffer(s) ({}), found {}",
                    expected.len(),
                    expected.join(", "),
                    buffers.len()
                ));
            }
            let mut buffers = buffers.into_iter();
            $(self.$field = buffers.next().flatten();)*
            self.t = steps;
            Ok(())
        }
    };
}

macro_rules! lr_methods {
    () => {
        fn learning_rate(&self) -> P::Scalar {
            self.current_lr()
        }
        fn set_learning_rate(&mut self, lr: P::Scalar) {
            self.lr = lr;
        }
        fn steps(&self) -> usize {
            self.t
        }
    };
}

// ---------------------------------------------------------------- SGD

/// Plain gradient descent: `w ← w − lr·(g + λw)`.
///
/// Stateless, so one `Sgd<F>` steps parameters of any shape with scalar
/// type `F`.
///
/// ```
/// use backprop_core::{Optimizer, Sgd};
/// let mut w = (1.0_f64, [2.0, 3.0]);
/// Sgd::new(0.5).step(&mut w, &(1.0, [2.0, -2.0]));
/// assert_eq!(w, (0.5, [1.0, 4.0]));
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<F> {
    lr: F,
    weight_decay: F,
    schedule: LrSchedule<F>,
    t: usize,
}

impl<F: Scalar> Sgd<F> {
    /// Gradient descent with learning rate `lr`.
    pub fn new(lr: F) -> Self {
        Sgd {
            lr,
            weight_decay: F::zero(),
            schedule: LrSchedule::Constant,
            t: 0,
        }
    }

    /// The learning rate the next step will use (the same as
    /// [`Optimizer::learning_rate`], without naming the parameter type).
    pub fn learning_rate(&self) -> F {
        self.current_lr()
    }

    /// The number of steps taken so far.
    pub fn steps(&self) -> usize {
        self.t
    }

    common_builders!();
}

impl<F: Scalar, P: Params<Scalar = F>> Optimizer<P> for Sgd<F> {
    fn step(&mut self, params: &mut P, grad: &P) {
        let lr = self.current_lr();
        let wd = self.weight_decay;
        params.zip_mut(grad, &mut |w, g| {
            let g = g + wd * *w;
            *w = *w - lr * g;
        });
        self.t += 1;
    }

    lr_methods!();
    state_methods!();

    fn reset(&mut self) {
        self.t = 0;
    }
}

// ---------------------------------------------------------------- Momentum

/// Gradient descent with momentum, in the form of the seeds (seeds/002):
/// `Δw ← lr·g + α·Δw_prev; w ← w − Δw`, starting from `Δw = 0`.
///
/// With weight decay `λ` the gradient is `g + λw`. With a constant learning
/// rate this is the same as PyTorch's `SGD(momentum=α)` (`b ← αb + g;
/// w ← w − lr·b`, so `Δw = lr·b`); with a schedule, the seeds' form keeps
/// each past step's own learning rate inside `Δw`.
///
/// ```
/// use backprop_core::{Momentum, Optimizer};
/// // constant gradient 1, lr 0.1, α 0.5: Δw = 0.1, then 0.1 + 0.05 = 0.15
/// let mut w = 1.0_f64;
/// let mut opt = Momentum::new(0.1, 0.5);
/// opt.step(&mut w, &1.0);
/// opt.step(&mut w, &1.0);
/// assert!((w - (1.0 - 0.1 - 0.15)).abs() < 1e-15);
/// ```
#[derive(Clone, Debug)]
pub struct Momentum<P: Params> {
    lr: P::Scalar,
    alpha: P::Scalar,
    weight_decay: P::Scalar,
    schedule: LrSchedule<P::Scalar>,
    t: usize,
    delta: Option<P>,
}

impl<F: Scalar, P: Params<Scalar = F>> Momentum<P> {
    /// Momentum with learning rate `lr` and momentum coefficient `alpha`.
    pub fn new(lr: F, alpha: F) -> Self {
        Momentum {
            lr,
            alpha,
            weight_decay: F::zero(),
            schedule: LrSchedule::Constant,
            t: 0,
            delta: None,
        }
    }

    /// The previous step `Δw` (`None` before the first step).
    pub fn delta(&self) -> Option<&P> {
        self.delta.as_ref()
    }

    common_builders!();
}

impl<F: Scalar, P: Params<Scalar = F>> Optimizer<P> for Momentum<P> {
    fn step(&mut self, params: &mut P, grad: &P) {
        let lr = self.current_lr();
        let (alpha, wd) = (self.alpha, self.weight_decay);
        let delta = self.delta.get_or_insert_with(|| grad.zeros_like());
        params.zip_states([delta], grad, &mut |w, [d], g| {
            let g = g + wd * *w;
            *d = lr * g + alpha * *d;
            *w = *w - *d;
        });
        self.t += 1;
    }

    lr_methods!();
    state_methods!(delta);

    fn reset(&mut self) {
        self.t = 0;
        self.delta = None;
    }
}

// ---------------------------------------------------------------- Nesterov

/// Nesterov momentum as PyTorch implements it (`SGD(momentum=μ,
/// nesterov=True)`): `b ← μ·b + g` (with `b = g` at the first step),
/// `w ← w − lr·(g + μ·b)`, where `g` includes weight decay `λw`.
///
/// ```
/// use backprop_core::{Nesterov, Optimizer};
/// // f(w) = w², w = 1, lr 0.1, μ 0.9: g = 2, b = 2, w = 1 − 0.1·(2 + 1.8)
/// let mut w = 1.0_f64;
/// let g = 2.0 * w;
/// Nesterov::new(0.1, 0.9).step(&mut w, &g);
/// assert!((w - 0.62).abs() < 1e-15);
/// ```
#[derive(Clone, Debug)]
pub struct Nesterov<P: Params> {
    lr: P::Scalar,
    mu: P::Scalar,
    weight_decay: P::Scalar,
    schedule: LrSchedule<P::Scalar>,
    t: usize,
    buf: Option<P>,
}

impl<F: Scalar, P: Params<Scalar = F>> Nesterov<P> {
    /// Nesterov momentum with learning rate `lr` and momentum `mu`.
    pub fn new(lr: F, mu: F) -> Self {
        Nesterov {
            lr,
            mu,
            weight_decay: F::zero(),
            schedule: LrSchedule::Constant,
            t: 0,
            buf: None,
        }
    }

    common_builders!();
}

impl<F: Scalar, P: Params<Scalar = F>> Optimizer<P> for Nesterov<P> {
    fn step(&mut self, params: &mut P, grad: &P) {
        let lr = self.current_lr();
        let (mu, wd) = (self.mu, self.weight_decay);
        // b starts at 0, so the first `b ← μb + g` gives PyTorch's `b = g`.
        let buf = self.buf.get_or_insert_with(|| grad.zeros_like());
        params.zip_states([buf], grad, &mut |w, [b], g| {
            let g = g + wd * *w;
            *b = mu * *b + g;
            *w = *w - lr * (g + mu * *b);
        });
        self.t += 1;
    }

    lr_methods!();
    state_methods!(buf);

    fn reset(&mut self) {
        self.t = 0;
        self.buf = None;
    }
}

// ---------------------------------------------------------------- Adagrad

/// Adagrad (Duchi et al. 2011; PyTorch `Adagrad`): `s ← s + g²;
/// w ← w − lr·g / (√s + ε)`, with `s` starting at `initial_accumulator`
/// (default 0) and `ε = 1e-10`, `g` including weight decay `λw`.
///
/// ```
/// use backprop_core::{Adagrad, Optimizer};
/// // the first step moves each element by lr·sign(g) (up to ε)
/// let mut w = [0.0_f64, 0.0];
/// Adagrad::new(0.5).step(&mut w, &[3.0, -0.01]);
/// assert!((w[0] + 0.5).abs() < 1e-9 && (w[1] - 0.5).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct Adagrad<P: Params> {
    lr: P::Scalar,
    eps: P::Scalar,
    initial_accumulator: P::Scalar,
    weight_decay: P::Scalar,
    schedule: LrSchedule<P::Scalar>,
    t: usize,
    sum: Option<P>,
}

impl<F: Scalar, P: Params<Scalar = F>> Adagrad<P> {
    /// Adagrad with learning rate `lr` (PyTorch's default is `0.01`).
    pub fn new(lr: F) -> Self {
        Adagrad {
            lr,
            eps: lit(1e-10),
            initial_accumulator: F::zero(),
            weight_decay: F::zero(),
            schedule: LrSchedule::Constant,
            t: 0,
            sum: None,
        }
    }

    /// Sets `ε` (default `1e-10`).
    pub fn eps(mut self, eps: F) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the accumulator's starting value (default 0).
    pub fn initial_accumulator(mut self, value: F) -> Self {
        self.initial_accumulator = value;
        self
    }

    common_builders!();
}

impl<F: Scalar, P: Params<Scalar = F>> Optimizer<P> for Adagrad<P> {
    fn step(&mut self, params: &mut P, grad: &P) {
        let lr = self.current_lr();
        let (eps, wd, init) = (self.eps, self.weight_decay, self.initial_accumulator);
        let sum = self.sum.get_or_insert_with(|| {
            let mut s = grad.zeros_like();
            s.fill(init);
            s
        });
        params.zip_states([sum], grad, &mut |w, [s], g| {
            let g = g + wd * *w;
            *s = *s + g * g;
            *w = *w - lr * g / (s.sqrt() + eps);
        });
        self.t += 1;
    }

    lr_methods!();
    state_methods!(sum);

    fn reset(&mut self) {
        self.t = 0;
        self.sum = None;
    }
}

// ---------------------------------------------------------------- RMSProp

/// RMSProp (Hinton; PyTorch `RMSprop`, not centered):
/// `v ← α·v + (1−α)·g²`, then `w ← w − lr·g / (√v + ε)`; with momentum `μ`
/// (default 0): `b ← μ·b + g / (√v + ε); w ← w − lr·b`. Defaults as
/// PyTorch: `α = 0.99`, `ε = 1e-8`; `g` includes weight decay `λw`.
///
/// ```
/// use backprop_core::{Optimizer, RmsProp};
/// // first step: v = 0.01·g², so w moves by lr·g/(0.1·|g|) = 10·lr·sign(g)
/// let mut w = 0.0_f64;
/// RmsProp::new(0.01).step(&mut w, &4.0);
/// assert!((w + 0.1).abs() < 1e-7);
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp<P: Params> {
    lr: P::Scalar,
    alpha: P::Scalar,
    eps: P::Scalar,
    momentum: P::Scalar,
    weight_decay: P::Scalar,
    schedule: LrSchedule<P::Scalar>,
    t: usize,
    v: Option<P>,
    buf: Option<P>,
}

impl<F: Scalar, P: Params<Scalar = F>> RmsProp<P> {
    /// RMSProp with learning rate `lr` (PyTorch's default is `0.01`).
    pub fn new(lr: F) -> Self {
        RmsProp {
            lr,
            alpha: lit(0.99),
            eps: lit(1e-8),
            momentum: F::zero(),
            weight_decay: F::zero(),
            schedule: LrSchedule::Constant,
            t: 0,
            v: None,
            buf: None,
        }
    }

    /// Sets the smoothing constant `α` (default `0.99`).
    pub fn alpha(mut self, alpha: F) -> Self {
        self.alpha = alpha;
        self
    }

    /// Sets `ε` (default `1e-8`).
    pub fn eps(mut self, eps: F) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the momentum `μ` (default 0: none).
    pub fn momentum(mut self, mu: F) -> Self {
        self.momentum = mu;
        self
    }

    common_builders!();
}

impl<F: Scalar, P: Params<Scalar = F>> Optimizer<P> for RmsProp<P> {
    fn step(&mut self, params: &mut P, grad: &P) {
        let lr = self.current_lr();
        let (alpha, eps, mu, wd) = (self.alpha, self.eps, self.momentum, self.weight_decay);
        let one_minus_alpha = F::one() - alpha;
        let v = self.v.get_or_insert_with(|| grad.zeros_like());
        if mu > F::zero() {
            let buf = self.buf.get_or_insert_with(|| grad.zeros_like());
            params.zip_states([v, buf], grad, &mut |w, [v, b], g| {
                let g = g + wd * *w;
                *v = alpha * *v + one_minus_alpha * g * g;
                *b = mu * *b + g / (v.sqrt() + eps);
                *w = *w - lr * *b;
            });
        } else {
            params.zip_states([v], grad, &mut |w, [v], g| {
                let g = g + wd * *w;
                *v = alpha * *v + one_minus_alpha * g * g;
                *w = *w - lr * g / (v.sqrt() + eps);
            });
        }
        self.t += 1;
    }

    lr_methods!();
    state_methods!(v, buf);

    fn reset(&mut self) {
        self.t = 0;
        self.v = None;
        self.buf = None;
    }
}

// ---------------------------------------------------------------- Adam, AdamW

/// One Adam step on all elements (shared by [`Adam`] and [`AdamW`]).
/// `l2` is added to the gradient as `l2·w` (Adam's coupled weight decay);
/// `decay` multiplies `w` by `1 − decay` first (AdamW's decoupled decay).
#[allow(clippy::too_many_arguments)]
fn adam_step<F: Scalar, P: Params<Scalar = F>>(
    params: &mut P,
    grad: &P,
    m: &mut Option<P>,
    v: &mut Option<P>,
    t: usize,
    lr: F,
    (beta1, beta2): (F, F),
    eps: F,
    l2: F,
    decay: F,
) {
    let m = m.get_or_insert_with(|| grad.zeros_like());
    let v = v.get_or_insert_with(|| grad.zeros_like());
    // step count from 1, as in the paper and PyTorch
    let bias1 = F::one() - powi(beta1, t + 1);
    let bias2_sqrt = (F::one() - powi(beta2, t + 1)).sqrt();
    let step_size = lr / bias1;
    let keep = F::one() - decay;
    params.zip_states([m, v], grad, &mut |w, [m, v], g| {
        *w = *w * keep;
        let g = g + l2 * *w;
        *m = beta1 * *m + (F::one() - beta1) * g;
        *v = beta2 * *v + (F::one() - beta2) * g * g;
        let denom = v.sqrt() / bias2_sqrt + eps;
        *w = *w - step_size * *m / denom;
    });
}

/// Adam (Kingma & Ba 2015; PyTorch `Adam`):
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `w ← w − lr·m̂ / (√v̂ + ε)` with `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`.
/// Defaults `β = (0.9, 0.999)`, `ε = 1e-8`. Weight decay `λ` here is the
/// L2 kind, added to the gradient (`g + λw`); for decoupled decay use
/// [`AdamW`].
///
/// ```
/// use backprop_core::{Adam, Optimizer};
/// // the first Adam step moves every element by ≈ lr·sign(g)
/// let mut w = [1.0_f64, 1.0, 1.0];
/// Adam::new(0.01).step(&mut w, &[1e3, -2.0, 1e-3]);
/// assert!((w[0] - 0.99).abs() < 1e-9);
/// assert!((w[1] - 1.01).abs() < 1e-9);
/// assert!((w[2] - 0.99).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct Adam<P: Params> {
    lr: P::Scalar,
    betas: (P::Scalar, P::Scalar),
    eps: P::Scalar,
    weight_decay: P::Scalar,
    schedule: LrSchedule<P::Scalar>,
    t: usize,
    m: Option<P>,
    v: Option<P>,
}

impl<F: Scalar, P: Params<Scalar = F>> Adam<P> {
    /// Adam with learning rate `lr` (PyTorch's default is `1e-3`).
    pub fn new(lr: F) -> Self {
        Adam {
            lr,
            betas: (lit(0.9), lit(0.999)),
            eps: lit(1e-8),
            weight_decay: F::zero(),
            schedule: LrSchedule::Constant,
            t: 0,
            m: None,
            v: None,
        }
    }

    /// Sets `(β₁, β₂)` (default `(0.9, 0.999)`).
    pub fn betas(mut self, beta1: F, beta2: F) -> Self {
        self.betas = (beta1, beta2);
        self
    }

    /// Sets `ε` (default `1e-8`).
    pub fn eps(mut self, eps: F) -> Self {
        self.eps = eps;
        self
    }

    /// The first and second moment estimates `(m, v)` (`None` before the
    /// first step).
    pub fn moments(&self) -> Option<(&P, &P)> {
        self.m.as_ref().zip(self.v.as_ref())
    }

    common_builders!();
}

impl<F: Scalar, P: Params<Scalar = F>> Optimizer<P> for Adam<P> {
    fn step(&mut self, params: &mut P, grad: &P) {
        let lr = self.current_lr();
        adam_step(
            params,
            grad,
            &mut self.m,
            &mut self.v,
            self.t,
            lr,
            self.betas,
            self.eps,
            self.weight_decay,
            F::zero(),
        );
        self.t += 1;
    }

    lr_methods!();
    state_methods!(m, v);

    fn reset(&mut self) {
        self.t = 0;
        self.m = None;
        self.v = None;
    }
}

/// AdamW (Loshchilov & Hutter 2019; PyTorch `AdamW`): decoupled weight
/// decay `w ← w·(1 − lr·λ)` first, then the plain [`Adam`] step from the
/// unmodified gradient. Defaults as PyTorch: `β = (0.9, 0.999)`,
/// `ε = 1e-8`, `λ = 0.01`. As in PyTorch, the decay is scaled by the
/// (scheduled) learning rate.
///
/// ```
/// use backprop_core::{AdamW, Optimizer};
/// // w = 2, lr 0.01, λ 0.1: decay to 2·(1 − 0.001) = 1.998, then Adam's
/// // first step −lr·sign(g) = −0.01
/// let mut w = 2.0_f64;
/// AdamW::new(0.01).weight_decay(0.1).step(&mut w, &0.5);
/// assert!((w - 1.988).abs() < 1e-9);
/// ```
#[derive(Clone, Debug)]
pub struct AdamW<P: Params> {
    lr: P::Scalar,
    betas: (P::Scalar, P::Scalar),
    eps: P::Scalar,
    weight_decay: P::Scalar,
    schedule: LrSchedule<P::Scalar>,
    t: usize,
    m: Option<P>,
    v: Option<P>,
}

impl<F: Scalar, P: Params<Scalar = F>> AdamW<P> {
    /// AdamW with learning rate `lr` (PyTorch's default is `1e-3`) and
    /// weight decay `0.01`.
    pub fn new(lr: F) -> Self {
        AdamW {
            lr,
            betas: (lit(0.9), lit(0.999)),
            eps: lit(1e-8),
            weight_decay: lit(0.01),
            schedule: LrSchedule::Constant,
            t: 0,
            m: None,
            v: None,
        }
    }

    /// Sets `(β₁, β₂)` (default `(0.9, 0.999)`).
    pub fn betas(mut self, beta1: F, beta2: F) -> Self {
        self.betas = (beta1, beta2);
        self
    }

    /// Sets `ε` (default `1e-8`).
    pub fn eps(mut self, eps: F) -> Self {
        self.eps = eps;
        self
    }

    /// The first and second moment estimates `(m, v)` (`None` before the
    /// first step).
    pub fn moments(&self) -> Option<(&P, &P)> {
        self.m.as_ref().zip(self.v.as_ref())
    }

    common_builders!();
}

impl<F: Scalar, P: Params<Scalar = F>> Optimizer<P> for AdamW<P> {
    fn step(&mut self, params: &mut P, grad: &P) {
        let lr = self.current_lr();
        adam_step(
            params,
            grad,
            &mut self.m,
            &mut self.v,
            self.t,
            lr,
            self.betas,
            self.eps,
            F::zero(),
            lr * self.weight_decay,
        );
        self.t += 1;
    }

    lr_methods!();
    state_methods!(m, v);

    fn reset(&mut self) {
        self.t = 0;
        self.m = None;
        self.v = None;
    }
}

#[cfg(test)]
mod tests {
    //! Every expected value below is worked out by hand from the optimizer's
    //! published formula (the paper / PyTorch documentation), written next
    //! to it — never produced by running the implementation.

    use super::*;

    fn assert_close(got: f64, want: f64, tol: f64) {
        assert!(
            (got - want).abs() <= tol,
            "got {got}, want {want} (diff {})",
            (got - want).abs()
        );
    }

    /// The 2-3-1 linear network of seeds/001 with its gradient worked out by
    /// hand: z_j = x1·w[j] + x2·w[3+j], y = Σ z_j·w[6+j], E = ½(t − y)².
    fn linear_net(w: &[f64; 9]) -> (f64, f64, [f64; 9]) {
        let (x1, x2, t) = (40.0, 80.0, 60.0);
        let z = [0, 1, 2].map(|j| x1 * w[j] + x2 * w[3 + j]);
        let y = z[0] * w[6] + z[1] * w[7] + z[2] * w[8];
        let e = 0.5 * (t - y) * (t - y);
        let dy = y - t; // ∂E/∂y
        let mut g = [0.0; 9];
        for j in 0..3 {
            g[6 + j] = dy * z[j]; // ∂E/∂w[6+j] = (y − t)·z_j
            g[j] = dy * w[6 + j] * x1; // ∂E/∂w[j] = (y − t)·w[6+j]·x1
            g[3 + j] = dy * w[6 + j] * x2;
        }
        (y, e, g)
    }

    #[test]
    fn sgd_reproduces_seed_001() {
        // seeds/001 prints: prediction 180.0, loss 7200.0; after one step of
        // gradient descent with lr 1e-5: prediction 140.3136, loss 3225.13717248.
        let mut w = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0];
        let (y, e, g) = linear_net(&w);
        assert_eq!((y, e), (180.0, 7200.0));
        Sgd::new(1e-5).step(&mut w, &g);
        let (y, e, _) = linear_net(&w);
        assert_close(y, 140.3136, 1e-9);
        assert_close(e, 3225.13717248, 1e-7);
    }

    #[test]
    fn sgd_with_weight_decay() {
        // g' = g + λw = [0.5 + 0.01·1, −1 + 0.01·2] = [0.51, −0.98]
        // w ← w − 0.1·g' = [1 − 0.051, 2 + 0.098] = [0.949, 2.098]
        let mut w = [1.0_f64, 2.0];
        let mut opt = Sgd::new(0.1).weight_decay(0.01);
        opt.step(&mut w, &[0.5, -1.0]);
        assert_close(w[0], 0.949, 1e-15);
        assert_close(w[1], 2.098, 1e-15);
        assert_eq!(opt.steps(), 1);
    }

    #[test]
    fn sgd_follows_step_schedule() {
        // constant gradient 1, base lr 0.1, StepLR(2, 0.5):
        // lrs 0.1, 0.1, 0.05, 0.05 → w = −(0.1 + 0.1 + 0.05 + 0.05) = −0.3
        let mut w = 0.0_f64;
        let mut opt = Sgd::new(0.1).schedule(LrSchedule::Step {
            step_size: 2,
            gamma: 0.5,
        });
        for _ in 0..4 {
            opt.step(&mut w, &1.0);
        }
        assert_close(w, -0.3, 1e-15);
        assert_close(opt.learning_rate(), 0.025, 1e-15);
    }

    #[test]
    fn momentum_seed_form_three_steps() {
        // f(w) = w², g = 2w, lr 0.1, α 0.9, Δw = lr·g + α·Δw_prev, w −= Δw
        // step 1: g = 2,    Δ = 0.2                     w = 0.8
        // step 2: g = 1.6,  Δ = 0.16 + 0.9·0.2 = 0.34   w = 0.46
        // step 3: g = 0.92, Δ = 0.092 + 0.9·0.34 = 0.398 w = 0.062
        let mut w = 1.0_f64;
        let mut opt = Momentum::new(0.1, 0.9);
        let mut ws = vec![];
        for _ in 0..3 {
            let g = 2.0 * w;
            opt.step(&mut w, &g);
            ws.push(w);
        }
        assert_close(ws[0], 0.8, 1e-15);
        assert_close(ws[1], 0.46, 1e-15);
        assert_close(ws[2], 0.062, 1e-15);
        assert_close(*opt.delta().unwrap(), 0.398, 1e-15);
        opt.reset();
        assert!(opt.delta().is_none());
    }

    #[test]
    fn nesterov_two_steps_pytorch_formula() {
        // PyTorch SGD(momentum=0.9, nesterov=True), f(w) = w², lr 0.1:
        // step 1: g = 2,    b = 2,                  w = 1 − 0.1·(2 + 1.8)       = 0.62
        // step 2: g = 1.24, b = 0.9·2 + 1.24 = 3.04, w = 0.62 − 0.1·(1.24 + 2.736) = 0.2224
        let mut w = 1.0_f64;
        let mut opt = Nesterov::new(0.1, 0.9);
        let g = 2.0 * w;
        opt.step(&mut w, &g);
        assert_close(w, 0.62, 1e-15);
        let g = 2.0 * w;
        opt.step(&mut w, &g);
        assert_close(w, 0.2224, 1e-15);
    }

    #[test]
    fn adagrad_steps_shrink_as_one_over_sqrt_t() {
        // constant g = [3, −4], lr 0.1, ε 0: after t steps s = t·g², so step t
        // moves by lr·g/(√t·|g|) = 0.1/√t · sign(g)
        // step 1: w = [1 − 0.1, −2 + 0.1]              = [0.9, −1.9]
        // step 2: w = [0.9 − 0.1/√2, −1.9 + 0.1/√2]    = [0.829289…, −1.829289…]
        let mut w = [1.0_f64, -2.0];
        let mut opt = Adagrad::new(0.1).eps(0.0);
        let g = [3.0, -4.0];
        opt.step(&mut w, &g);
        assert_close(w[0], 0.9, 1e-15);
        assert_close(w[1], -1.9, 1e-15);
        opt.step(&mut w, &g);
        let r = 0.1 / 2f64.sqrt();
        assert_close(w[0], 0.9 - r, 1e-15);
        assert_close(w[1], -1.9 + r, 1e-15);
    }

    #[test]
    fn rmsprop_two_steps() {
        // α 0.99, lr 0.01, ε 0, constant g = 2:
        // step 1: v = 0.01·4 = 0.04,              w = 0 − 0.01·2/0.2 = −0.1
        // step 2: v = 0.99·0.04 + 0.04 = 0.0796,  w = −0.1 − 0.02/√0.0796
        let mut w = 0.0_f64;
        let mut opt = RmsProp::new(0.01).eps(0.0);
        opt.step(&mut w, &2.0);
        assert_close(w, -0.1, 1e-15);
        opt.step(&mut w, &2.0);
        assert_close(w, -0.1 - 0.02 / 0.0796_f64.sqrt(), 1e-15);
    }

    #[test]
    fn rmsprop_with_momentum() {
        // μ 0.5, α 0.99, lr 0.01, ε 0, constant g = 2 (PyTorch form):
        // step 1: v = 0.04,   b = 2/0.2 = 10,                  w = −0.1
        // step 2: v = 0.0796, b = 0.5·10 + 2/√0.0796,          w = −0.1 − 0.01·b
        let mut w = 0.0_f64;
        let mut opt = RmsProp::new(0.01).eps(0.0).momentum(0.5);
        opt.step(&mut w, &2.0);
        assert_close(w, -0.1, 1e-15);
        opt.step(&mut w, &2.0);
        let b = 5.0 + 2.0 / 0.0796_f64.sqrt();
        assert_close(w, -0.1 - 0.01 * b, 1e-15);
    }

    #[test]
    fn adam_first_step_is_lr_sign_g() {
        // m̂₁ = g, v̂₁ = g², so w₁ = w₀ − lr·g/(|g| + ε) ≈ w₀ − lr·sign(g)
        let mut w = ([1.0_f64, -1.0], [[0.5_f64; 2]; 1]);
        let g = ([0.3, -7.0], [[1e-3, -1e6]]);
        let mut opt = Adam::new(0.01);
        opt.step(&mut w, &g);
        assert_close(w.0[0], 0.99, 1e-9);
        assert_close(w.0[1], -0.99, 1e-9);
        assert_close(w.1[0][0], 0.49, 1e-7);
        assert_close(w.1[0][1], 0.51, 1e-9);
    }

    #[test]
    fn adam_second_step_by_hand() {
        // β = (0.9, 0.999), lr 0.1, ε 0, g₁ = 1, g₂ = 3:
        // m₂ = 0.9·0.1·1 + 0.1·3 = 0.39          m̂₂ = 0.39/(1 − 0.81)     = 2.052631578…
        // v₂ = 0.999·0.001·1 + 0.001·9 = 0.009999 v̂₂ = 0.009999/(1 − 0.998001) = 5.002001000…
        // w₂ = w₁ − 0.1·m̂₂/√v̂₂ = (1 − 0.1) − 0.1·0.917772…
        let mut w = 1.0_f64;
        let mut opt = Adam::new(0.1).eps(0.0);
        opt.step(&mut w, &1.0);
        assert_close(w, 0.9, 1e-15);
        opt.step(&mut w, &3.0);
        let m_hat = 0.39 / 0.19;
        let v_hat = 0.009999 / 0.001999;
        assert_close(w, 0.9 - 0.1 * m_hat / f64::sqrt(v_hat), 1e-12);
        let (m, v) = opt.moments().unwrap();
        assert_close(*m, 0.39, 1e-15);
        assert_close(*v, 0.009999, 1e-15);
    }

    #[test]
    fn adam_l2_weight_decay_vs_adamw_decoupled() {
        // Adam with L2: g' = g + λw = 0.5 + 0.1·2; the first step is still
        // −lr·sign(g') = −0.01 → 1.99.
        // AdamW: w·(1 − lr·λ) = 2·(1 − 0.001) = 1.998, then −0.01 → 1.988.
        let mut a = 2.0_f64;
        Adam::new(0.01).weight_decay(0.1).step(&mut a, &0.5);
        assert_close(a, 1.99, 1e-9);
        let mut b = 2.0_f64;
        AdamW::new(0.01).weight_decay(0.1).step(&mut b, &0.5);
        assert_close(b, 1.988, 1e-9);
    }

    #[test]
    fn adamw_two_steps_by_hand() {
        // lr 0.1, λ 0.5, ε 0, g = 1 then 3, w₀ = 1:
        // step 1: w = 1·(1 − 0.05) = 0.95, then − 0.1 → 0.85
        // step 2: w = 0.85·0.95 = 0.8075, then − 0.1·m̂₂/√v̂₂ (m̂₂, v̂₂ as in
        //         adam_second_step_by_hand: the gradient is not touched by λ)
        let mut w = 1.0_f64;
        let mut opt = AdamW::new(0.1).weight_decay(0.5).eps(0.0);
        opt.step(&mut w, &1.0);
        assert_close(w, 0.85, 1e-15);
        opt.step(&mut w, &3.0);
        let m_hat = 0.39 / 0.19;
        let v_hat = 0.009999 / 0.001999;
        assert_close(w, 0.8075 - 0.1 * m_hat / f64::sqrt(v_hat), 1e-12);
    }

    #[test]
    fn adam_with_cosine_schedule_uses_scheduled_lr() {
        // Cosine(t_max 2, eta_min 0), base 0.2: lrs 0.2, 0.1, 0 (then 0)
        // constant g: every Adam step is lr_t·sign(g) (m̂ = g, v̂ = g², ε 0)
        // w = 1 − 0.2 − 0.1 − 0 − 0 = 0.7
        let mut w = 1.0_f64;
        let mut opt = Adam::new(0.2).eps(0.0).schedule(LrSchedule::Cosine {
            t_max: 2,
            eta_min: 0.0,
        });
        for _ in 0..4 {
            opt.step(&mut w, &5.0);
        }
        assert_close(w, 0.7, 1e-15);
    }

    /// Each optimizer on f(w) = ½‖w − c‖² over a tuple of nested arrays in
    /// f32, to show the generic paths compile and converge.
    fn converges<O: Optimizer<(f32, [[f32; 3]; 2])>>(mut opt: O, steps: usize) {
        let c = (1.5_f32, [[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]);
        let mut w = (0.0_f32, [[0.0; 3]; 2]);
        for _ in 0..steps {
            let mut g = w;
            g.axpy(-1.0, &c);
            opt.step(&mut w, &g);
        }
        let mut d = w;
        d.axpy(-1.0, &c);
        assert!(d.norm() < 1e-2, "distance {} after {steps} steps", d.norm());
    }

    #[test]
    fn all_optimizers_converge_on_a_quadratic_in_f32() {
        converges(Sgd::new(0.5), 100);
        converges(Momentum::new(0.1, 0.9), 300);
        converges(Nesterov::new(0.1, 0.9), 300);
        converges(Adagrad::new(1.0), 300);
        converges(RmsProp::new(0.01), 1000);
        converges(Adam::new(0.05), 1000);
        converges(AdamW::new(0.05).weight_decay(0.0), 1000);
        converges(Box::new(Adam::new(0.05)), 1000);
    }

    /// Code generic over the element type, as a `#[derive_grad]` function
    /// with `F: Float` would be used: bound `F: Scalar`.
    fn descend<F: Scalar>(w: &mut ([F; 2], F), steps: usize) {
        let mut opt = Momentum::new(F::from(0.1).unwrap(), F::from(0.5).unwrap());
        for _ in 0..steps {
            let g = *w; // gradient of ½‖w‖²
            opt.step(w, &g);
        }
    }

    #[test]
    fn generic_over_the_scalar_type() {
        let mut a = ([1.0_f32, -2.0], 3.0_f32);
        descend(&mut a, 200);
        assert!(a.norm() < 1e-6);
        let mut b = ([1.0_f64, -2.0], 3.0_f64);
        descend(&mut b, 200);
        assert!(b.norm() < 1e-12);
    }

    #[test]
    fn set_learning_rate_and_reset() {
        let mut opt = Adam::<[f64; 1]>::new(0.1);
        opt.set_learning_rate(0.5);
        assert_eq!(opt.learning_rate(), 0.5);
        let mut w = [0.0];
        opt.step(&mut w, &[1.0]);
        assert_eq!(opt.steps(), 1);
        assert!(opt.moments().is_some());
        opt.reset();
        assert_eq!(opt.steps(), 0);
        assert!(opt.moments().is_none());
    }
}
