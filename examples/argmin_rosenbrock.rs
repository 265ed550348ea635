//! The 100-dimensional Rosenbrock function solved by argmin's solvers, with
//! the gradient and Hessian from `#[derive_grad(hessian)]` (feature
//! `argmin`):
//!
//! ```text
//! f(x) = Σ_{i<99} 100(x[i+1] − x[i]²)² + (1 − x[i])²,   minimum 0 at (1, …, 1)
//! ```
//!
//! `backprop::core::argmin::ArgminProblem` turns the generated functions
//! into argmin's `CostFunction`, `Gradient` and `Hessian` over `Vec<f64>`.
//! The program runs, from `x = 0`:
//!
//! - argmin's Newton-CG (More–Thuente line search) with our dense Hessian
//!   (`rosenbrock_hessian`), and with our Hessian-vector products
//!   (`rosenbrock_hvp`) instead of the matrix;
//! - argmin's Newton method with a trust region (Steihaug's CG) with our
//!   Hessian;
//! - argmin's L-BFGS (More–Thuente, memory 10) with our gradient;
//! - for comparison, backprop's own `newton` (trust region, on
//!   `rosenbrock_hvp`) and `lbfgs`;
//!
//! and prints the iterations, evaluations, final value, distance to the
//! minimum and time of each. Newton-CG in argmin 0.11 stops its inner
//! conjugate gradients once the residual's *squared* norm is below
//! `min(½, √‖g‖)·‖g‖`, which for `‖g‖ < 1` holds after the first CG
//! iteration: from there its steps are steepest-descent steps and it
//! creeps along the valley; the trust-region method has no such limit.
//!
//! The starting point is 0 rather than the classic (−1.2, 1, −1.2, 1, …):
//! from there this chained form of the function (unlike the 2-D one) also
//! leads Newton's method into its second local minimum, near (−0.99, 1, …,
//! 1) with f ≈ 3.99 (Kok & Sandrock, Evol. Comput. 17, 2009).
//!
//! Run it with `cargo run --release --features argmin --example
//! argmin_rosenbrock`.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

use backprop::core::argmin::core::{Executor, OptimizationResult, State, TerminationReason};
use backprop::core::argmin::solver::linesearch::MoreThuenteLineSearch;
use backprop::core::argmin::solver::newton::NewtonCG;
use backprop::core::argmin::solver::quasinewton::LBFGS;
use backprop::core::argmin::solver::trustregion::{Steihaug, TrustRegion};
use backprop::core::argmin::ArgminProblem;
use backprop::prelude::*;

/// The number of variables.
pub const N: usize = 100;
/// The iteration limit of every run.
pub const MAX_ITERS: u64 = 2000;

/// Rosenbrock's function in 100 dimensions, as a user writes it.
/// `#[derive_grad(hessian)]` adds `rosenbrock_grad(x) -> (f, ∇f)`,
/// `rosenbrock_hvp(x, v) -> (f, ∇f, H·v)` and
/// `rosenbrock_hessian(x) -> (f, ∇f, H)` with `H: [[f64; 100]; 100]`.
#[derive_grad(hessian)]
pub fn rosenbrock(x: &[f64; 100]) -> f64 {
    let mut s = 0.0;
    for i in 0..99 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

/// One solver's run.
#[derive(Debug, Clone)]
pub struct Run {
    /// The solver as printed.
    pub name: &'static str,
    /// Iterations taken.
    pub iterations: u64,
    /// Evaluations of the loss, the gradient and the Hessian (or
    /// Hessian-vector products), where counted.
    pub evaluations: String,
    /// The best point found.
    pub x: Vec<f64>,
    /// `f` there.
    pub value: f64,
    /// Why it stopped.
    pub stop: String,
    /// Wall time.
    pub time: Duration,
}

impl Run {
    /// The largest `|x[i] − 1|`.
    pub fn distance(&self) -> f64 {
        self.x.iter().map(|x| (x - 1.0).abs()).fold(0.0, f64::max)
    }
}

/// What the example computes, for a test or a reader.
#[derive(Debug)]
pub struct Report {
    /// The runs, in the printed order.
    pub runs: Vec<Run>,
    /// The printed text.
    pub text: String,
}

/// A run's counts as printed: argmin's problem wrapper keeps them by name.
fn counts(map: &HashMap<&'static str, u64>, products: Option<usize>) -> String {
    let get = |k: &str| map.get(k).copied().unwrap_or(0);
    let hessian = match products {
        Some(n) => format!("{n} H.v"),
        None => format!("{} H", get("hessian_count")),
    };
    format!(
        "{} f, {} grad, {hessian}",
        get("cost_count"),
        get("gradient_count"),
    )
}

fn stop_text(reason: Option<&TerminationReason>) -> String {
    reason.map_or_else(|| "running".to_string(), |r| r.to_string())
}

/// One argmin run as printed: its state at the end and the problem's
/// counts (`products`: the Hessian-vector products counted outside argmin).
fn argmin_run<O, S, I>(
    name: &'static str,
    r: &OptimizationResult<O, S, I>,
    time: Duration,
    products: Option<usize>,
) -> Run
where
    I: State<Param = Vec<f64>, Float = f64>,
{
    let s = r.state();
    Run {
        name,
        iterations: s.get_iter(),
        evaluations: counts(&r.problem.counts, products),
        x: s.get_best_param().cloned().unwrap_or_default(),
        value: s.get_best_cost(),
        stop: stop_text(s.get_termination_reason()),
        time,
    }
}

/// Runs every solver from `x0`.
pub fn run(x0: [f64; N]) -> Report {
    // The loss, gradient and Hessian as closures over &[f64; 100], the
    // parameter type the generated functions take.
    let cost = |x: &[f64; N]| rosenbrock(x);
    let gradient = |x: &[f64; N]| rosenbrock_grad(x).1;
    let hessian = |x: &[f64; N]| rosenbrock_hessian(x).2;
    // counting the products (argmin counts Hessians, one per iteration)
    let products = Cell::new(0);
    let hvp = |x: &[f64; N], v: &[f64; N]| {
        products.set(products.get() + 1);
        rosenbrock_hvp(x, v).2
    };
    let start = x0.to_vec();
    let mut runs = Vec::new();

    // argmin's Newton-CG with the dense Hessian
    let problem = ArgminProblem::new([0.0; N], cost)
        .with_gradient(gradient)
        .with_hessian(hessian);
    let t = Instant::now();
    let r = Executor::new(problem, NewtonCG::new(MoreThuenteLineSearch::new()))
        .configure(|s| s.param(start.clone()).max_iters(MAX_ITERS))
        .run()
        .expect("argmin runs");
    runs.push(argmin_run(
        "argmin Newton-CG, Hessian",
        &r,
        t.elapsed(),
        None,
    ));

    // the same with Hessian-vector products: no 100 × 100 matrix
    let problem = ArgminProblem::new([0.0; N], cost)
        .with_gradient(gradient)
        .with_hessian_vector_product(hvp);
    let t = Instant::now();
    let r = Executor::new(problem, NewtonCG::new(MoreThuenteLineSearch::new()))
        .configure(|s| s.param(start.clone()).max_iters(MAX_ITERS))
        .run()
        .expect("argmin runs");
    runs.push(argmin_run(
        "argmin Newton-CG, H.v",
        &r,
        t.elapsed(),
        Some(products.replace(0)),
    ));

    // argmin's trust-region Newton (Steihaug) with the dense Hessian; it
    // has no convergence test of its own: stop at f ≤ 1e-20
    let problem = ArgminProblem::new([0.0; N], cost)
        .with_gradient(gradient)
        .with_hessian(hessian);
    let t = Instant::now();
    let r = Executor::new(problem, TrustRegion::new(Steihaug::new()))
        .configure(|s| {
            s.param(start.clone())
                .max_iters(MAX_ITERS)
                .target_cost(1e-20)
        })
        .run()
        .expect("argmin runs");
    runs.push(argmin_run(
        "argmin trust region, Hessian",
        &r,
        t.elapsed(),
        None,
    ));

    // argmin's L-BFGS with the gradient
    let problem = ArgminProblem::new([0.0; N], cost).with_gradient(gradient);
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(1e-8)
        .expect("a positive tolerance");
    let t = Instant::now();
    let r = Executor::new(problem, solver)
        .configure(|s| s.param(start.clone()).max_iters(MAX_ITERS))
        .run()
        .expect("argmin runs");
    runs.push(argmin_run("argmin L-BFGS", &r, t.elapsed(), None));

    // backprop's own: Newton with a trust region on H·v, and L-BFGS
    let mut x = x0;
    let t = Instant::now();
    let m = newton(
        &mut x,
        &NewtonOptions::new()
            .grad_tol(1e-8)
            .max_steps(MAX_ITERS as usize),
        // a generated function of `&[f64; 100]` is the closure itself
        rosenbrock_grad,
        hvp,
    )
    .expect("finite everywhere");
    runs.push(Run {
        name: "backprop newton, H.v",
        time: t.elapsed(),
        iterations: m.steps as u64,
        evaluations: format!("{} f+grad, {} H.v", m.evaluations, m.hessian_evaluations),
        x: x.to_vec(),
        value: m.loss,
        stop: m.stop.to_string(),
    });
    let mut x = x0;
    let t = Instant::now();
    let m = lbfgs(
        &mut x,
        &LbfgsOptions::new()
            .grad_tol(1e-8)
            .max_steps(MAX_ITERS as usize),
        rosenbrock_grad,
    )
    .expect("finite everywhere");
    runs.push(Run {
        name: "backprop lbfgs",
        time: t.elapsed(),
        iterations: m.steps as u64,
        evaluations: format!("{} f+grad", m.evaluations),
        x: x.to_vec(),
        value: m.loss,
        stop: m.stop.to_string(),
    });

    let mut text = String::new();
    let _ = writeln!(
        text,
        "Rosenbrock in {N} dimensions from x = 0 (f = {}), gradient and Hessian from #[derive_grad(hessian)]",
        rosenbrock(&x0)
    );
    let _ = writeln!(
        text,
        "{:<30} {:>6} {:>30} {:>11} {:>11} {:>11}  stop",
        "solver", "iters", "evaluations", "f", "max|x-1|", "time"
    );
    for r in &runs {
        let _ = writeln!(
            text,
            "{:<30} {:>6} {:>30} {:>11.3e} {:>11.3e} {:>11}  {}",
            r.name,
            r.iterations,
            r.evaluations,
            r.value,
            r.distance(),
            format!("{:.1?}", r.time),
            r.stop
        );
    }
    Report { runs, text }
}

#[allow(dead_code)] // tests/argmin_rosenbrock.rs includes this file for `run`
fn main() {
    // 100 × 100 Hessians and the generated code's arrays: room on a thread
    // of its own, whatever the platform's main-thread stack
    let report = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| run([0.0; N]))
        .expect("a thread")
        .join()
        .expect("the solvers ran");
    print!("{}", report.text);
}
