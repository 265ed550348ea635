//! Benchmarks of backprop's generated gradients (issue 4).
//!
//! Every problem lives in its own module with the same contenders side by
//! side, so the criterion bench (`benches/gradients.rs`), the equality tests
//! (`tests/agree.rs`) and the instruction counter (`src/bin/count.rs`) all
//! run exactly the same code:
//!
//! 1. `loss` — the forward function alone (the `#[derive_grad]` original);
//! 2. `loss_grad` — backprop's generated value and gradient;
//! 3. `hand` — a hand-written analytic value and gradient;
//!
//! (1–3 are all `#[inline]`, which `loss_grad` takes from `loss`: each is
//! inlined into the benchmark's loop in another crate, so none pays a call
//! boundary the others do not: 15% of the 4-16-3 MLP's time);
//! 4. `num_dual` — forward-mode dual numbers (`num_dual::gradient`, `DualSVec64<N>`);
//! 5. `central_fd` — central finite differences of `loss`;
//! 6. `Candle` — candle-core's tape (reverse mode) on the CPU, for one
//!    sample and for a batch of 1024;
//! 7. `symdiff` — the `symdiff` proc-macro, where it can express the problem.
//!
//! This crate is a workspace member but not a default member: `cargo test`
//! and CI never build it. Run `cargo bench -p backprop-bench` and
//! `cargo test -p backprop-bench`.

pub mod helper_calls;
// symdiff's generated gradients multiply by -1.0.
#[allow(clippy::neg_multiply)]
pub mod logistic;
pub mod mlp;
pub mod mlp_sizes;
pub mod mnist_mlp;
pub mod rosenbrock;
pub mod second_order;
pub mod seed001;
#[allow(clippy::neg_multiply)]
pub mod seed003;
pub mod training;

/// The batch size of the batched candle contender.
pub const BATCH: usize = 1024;

/// Central finite differences `(f(x + h e_i) - f(x - h e_i)) / 2h` with
/// `h = cbrt(eps) * max(1, |x_i|)`: `2N + 1` evaluations of `f`.
#[inline]
pub fn central_fd<const N: usize>(x: &[f64; N], f: impl Fn(&[f64; N]) -> f64) -> (f64, [f64; N]) {
    let value = f(x);
    let mut g = [0.0; N];
    let mut xp = *x;
    for i in 0..N {
        let h = 6.055_454_452_393_343e-6 * x[i].abs().max(1.0);
        let up = x[i] + h;
        let down = x[i] - h;
        xp[i] = up;
        let fp = f(&xp);
        xp[i] = down;
        let fm = f(&xp);
        xp[i] = x[i];
        g[i] = (fp - fm) / (up - down);
    }
    (value, g)
}

/// A small deterministic generator for the benchmark inputs.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }
    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }
}

/// Value and flattened gradients of `loss` with respect to `vars`, by
/// candle's reverse sweep over its tape; what a training step with candle
/// does after building the loss.
pub fn candle_backward(
    loss: &candle_core::Tensor,
    vars: &[&candle_core::Var],
) -> candle_core::Result<(f64, Vec<Vec<f64>>)> {
    let grads = loss.backward()?;
    let value = loss.to_scalar::<f64>()?;
    let mut out = Vec::with_capacity(vars.len());
    for v in vars {
        let g = grads
            .get(v.as_tensor())
            .expect("every variable takes part in the loss");
        out.push(g.flatten_all()?.to_vec1::<f64>()?);
    }
    Ok((value, out))
}
