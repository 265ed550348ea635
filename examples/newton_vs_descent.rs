//! Newton's method vs L-BFGS vs gradient descent on Rosenbrock's function
//! `f(x, y) = 100(y − x²)² + (1 − x)²` from the classic start (−1.2, 1),
//! each run until the gradient norm is at most 1e-8.
//!
//! One attribute gives everything: `#[derive_grad(hessian)]` on the
//! function adds `rosenbrock_grad` (value and gradient), `rosenbrock_hvp`
//! (value, gradient and Hessian·v) and `rosenbrock_hessian` (value,
//! gradient and the 2 × 2 Hessian). Then:
//!
//! - Newton's method with a trust region (`backprop::core::newton`,
//!   Steihaug–Toint conjugate gradients on the Hessian-vector products);
//! - L-BFGS (`lbfgs`, strong Wolfe line search) on the gradient alone;
//! - gradient descent (`minimize` with `Sgd`, learning rate 1e-3, about
//!   the largest that is stable here: the Hessian's largest eigenvalue on
//!   the path is about 1500).
//!
//! It prints the steps, evaluations and time of each, and writes
//! `paths.png` into the directory given as its first argument (default
//! `target/newton_vs_descent/`): the three paths over the function's level
//! sets. Gradient descent's path is tens of thousands of tiny steps
//! creeping along the curved valley; Newton's takes a few dozen steps.
//!
//! Drawing uses plotters with its pure-Rust bitmap backend and the bundled
//! DejaVu Sans Mono (see `descent_plots.rs`).
//!
//! Run it with `cargo run --release --example newton_vs_descent [DIR]`.

use std::error::Error;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use backprop::prelude::*;
use plotters::prelude::*;

/// The classic starting point.
pub const START: [f64; 2] = [-1.2, 1.0];
/// Every method runs until `‖∇f‖ ≤ GRAD_TOL`.
pub const GRAD_TOL: f64 = 1e-8;
/// Gradient descent's learning rate.
pub const LEARNING_RATE: f64 = 1e-3;
/// Gradient descent gives up after this many steps.
pub const MAX_DESCENT_STEPS: usize = 200_000;
/// The default output directory.
pub const DEFAULT_DIR: &str = "target/newton_vs_descent";

/// Rosenbrock's function. `#[derive_grad(hessian)]` adds
/// `rosenbrock_grad`, `rosenbrock_hvp` and `rosenbrock_hessian`.
#[derive_grad(hessian)]
pub fn rosenbrock(x: [f64; 2]) -> f64 {
    let a = x[1] - x[0] * x[0];
    let b = 1.0 - x[0];
    100.0 * a * a + b * b
}

/// One method's run.
#[derive(Debug, Clone)]
pub struct Run {
    /// The method's name as printed.
    pub name: &'static str,
    /// What the minimizer returned (with the path: `record_path`).
    pub result: Minimized<f64>,
    /// The point reached.
    pub x: [f64; 2],
    /// Wall time of one run (the fastest of several, without recording
    /// the path).
    pub time: Duration,
}

/// What the example computes, for the test that checks it.
#[derive(Debug)]
pub struct Report {
    /// Newton (trust region), L-BFGS, gradient descent, in that order.
    pub runs: Vec<Run>,
    /// The picture written.
    pub file: PathBuf,
    /// The printed text.
    pub text: String,
}

fn newton_run(record: bool) -> (Minimized<f64>, [f64; 2]) {
    let mut x = START;
    let options = NewtonOptions::new().grad_tol(GRAD_TOL).record_path(record);
    let r = newton(
        &mut x,
        &options,
        |x| rosenbrock_grad(*x),
        |x, v| rosenbrock_hvp(*x, *v).2,
    )
    .expect("Rosenbrock's function is finite everywhere");
    (r, x)
}

fn lbfgs_run(record: bool) -> (Minimized<f64>, [f64; 2]) {
    let mut x = START;
    let options = LbfgsOptions::new().grad_tol(GRAD_TOL).record_path(record);
    let r = lbfgs(&mut x, &options, |x| rosenbrock_grad(*x))
        .expect("Rosenbrock's function is finite everywhere");
    (r, x)
}

fn descent_run(record: bool) -> (Minimized<f64>, [f64; 2]) {
    let mut x = START;
    let options = MinimizeOptions::new()
        .grad_tol(GRAD_TOL)
        .max_steps(MAX_DESCENT_STEPS)
        .record_path(record);
    let r = minimize(&mut x, &mut Sgd::new(LEARNING_RATE), &options, |x| {
        rosenbrock_grad(*x)
    })
    .expect("the learning rate is stable on this path");
    (r, x)
}

/// The fastest of `repeats` runs, the path not recorded.
fn time(run: fn(bool) -> (Minimized<f64>, [f64; 2]), repeats: usize) -> Duration {
    (0..repeats)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(run(false));
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Runs the three methods, prints the comparison and draws the paths into
/// `dir` (created if missing).
///
/// # Errors
///
/// If the directory cannot be created or the picture cannot be written.
pub fn run_in(dir: &Path) -> Result<Report, Box<dyn Error>> {
    type Method = (&'static str, fn(bool) -> (Minimized<f64>, [f64; 2]), usize);
    let methods: [Method; 3] = [
        ("Newton (trust region)", newton_run, 200),
        ("L-BFGS", lbfgs_run, 200),
        ("gradient descent", descent_run, 3),
    ];
    let runs: Vec<Run> = methods
        .into_iter()
        .map(|(name, run, repeats)| {
            let (result, x) = run(true);
            Run {
                name,
                result,
                x,
                time: time(run, repeats),
            }
        })
        .collect();

    let mut text = String::new();
    writeln!(
        text,
        "Rosenbrock f(x, y) = 100(y - x^2)^2 + (1 - x)^2 from ({}, {}), until |grad f| <= {GRAD_TOL:e}",
        START[0], START[1]
    )?;
    writeln!(
        text,
        "{:<22} {:>7} {:>11} {:>7} {:>12} {:>12} {:>22}  {:>11}",
        "method", "steps", "f and grad", "H.v", "f", "|grad f|", "x - (1, 1)", "time"
    )?;
    for r in &runs {
        let m = &r.result;
        writeln!(
            text,
            "{:<22} {:>7} {:>11} {:>7} {:>12.3e} {:>12.3e} {:>10.2e} {:>10.2e}  {:>11}",
            r.name,
            m.steps,
            m.evaluations,
            m.hessian_evaluations,
            m.loss,
            m.grad_norm,
            r.x[0] - 1.0,
            r.x[1] - 1.0,
            format!("{:.1?}", r.time),
        )?;
    }
    let (newton, lbfgs, descent) = (&runs[0].result, &runs[1].result, &runs[2].result);
    writeln!(
        text,
        "Newton takes {:.1}x fewer steps than L-BFGS, and L-BFGS {:.0}x fewer than gradient descent.",
        lbfgs.steps as f64 / newton.steps as f64,
        descent.steps as f64 / lbfgs.steps as f64
    )?;

    std::fs::create_dir_all(dir)?;
    let file = dir.join("paths.png");
    draw_paths(&file, &runs)?;
    writeln!(text, "wrote {}", file.display())?;
    Ok(Report { runs, file, text })
}

const FONT: &str = "sans-serif";
static FONT_ONCE: Once = Once::new();

/// Registers the bundled font with plotters' pure-Rust text renderer.
fn register_font() {
    FONT_ONCE.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("assets/DejaVuSansMono.ttf");
        if plotters::style::register_font(FONT, FontStyle::Normal, bytes).is_err() {
            panic!("the bundled DejaVuSansMono.ttf is not a valid font");
        }
    });
}

/// The colour of the band `log₁₀(1 + f)` falls in: level sets as bands,
/// light near the valley floor, darker up the walls, every other band a
/// shade lighter so that their edges read as contour lines.
fn band_colour(f: f64) -> RGBColor {
    let level = (1.0 + f).log10() * 3.0; // three bands per decade
    let band = level.floor();
    let t = (band / 10.0).clamp(0.0, 1.0);
    let stripe = if band as i64 % 2 == 0 { 0.0 } else { 12.0 };
    let lerp = |a: f64, b: f64| (a + (b - a) * t + stripe).clamp(0.0, 255.0).round() as u8;
    RGBColor(lerp(250.0, 70.0), lerp(248.0, 110.0), lerp(225.0, 175.0))
}

/// The level sets of Rosenbrock's function on `[−2, 2] × [−1, 3]` with the
/// three paths, the start and the minimum.
fn draw_paths(file: &Path, runs: &[Run]) -> Result<(), Box<dyn Error>> {
    register_font();
    let root = BitMapBackend::new(file, (900, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let (x_range, y_range) = (-2.0..2.0, -1.0..3.0);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Rosenbrock's function from (-1.2, 1) to |grad f| <= 1e-8",
            (FONT, 24),
        )
        .margin(15)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(x_range, y_range)?;
    // filled level sets, 200 × 200 cells
    let n = 200;
    let cell = 4.0 / n as f64;
    chart.draw_series((0..n).flat_map(|i| {
        (0..n).map(move |j| {
            let (x, y) = (-2.0 + i as f64 * cell, -1.0 + j as f64 * cell);
            let f = rosenbrock([x + cell / 2.0, y + cell / 2.0]);
            Rectangle::new([(x, y), (x + cell, y + cell)], band_colour(f).filled())
        })
    }))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style((FONT, 16))
        .draw()?;
    // Newton red, L-BFGS blue, descent orange and wider, drawn first: its
    // path lies under the others along the valley floor.
    let styles = [
        (RED, 2),
        (RGBColor(0, 90, 220), 2),
        (RGBColor(240, 130, 0), 6),
    ];
    for (run, (colour, width)) in runs.iter().zip(styles).rev() {
        let points: Vec<(f64, f64)> = run.result.path.iter().map(|p| (p[0], p[1])).collect();
        let label = format!("{}: {} steps", run.name, run.result.steps);
        // each step its own segment: a wide polyline's mitred joins spike
        // where a path turns back sharply
        chart
            .draw_series(
                points
                    .windows(2)
                    .map(|w| PathElement::new(vec![w[0], w[1]], colour.stroke_width(width))),
            )?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(3)));
        // markers for the methods with few steps; descent's thousands
        // would only blur its line
        if points.len() < 1000 {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
        }
    }
    chart.draw_series([
        Cross::new((START[0], START[1]), 7, BLACK.stroke_width(2)),
        Cross::new((1.0, 1.0), 7, BLACK.stroke_width(2)),
    ])?;
    chart.draw_series([
        Text::new(
            "start",
            (START[0] + 0.07, START[1] + 0.1),
            (FONT, 16).into_font(),
        ),
        Text::new("minimum (1, 1)", (1.07, 0.85), (FONT, 16).into_font()),
    ])?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[allow(dead_code)] // the test includes this file for `run_in` only
fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_DIR.to_string());
    match run_in(Path::new(&dir)) {
        Ok(report) => print!("{}", report.text),
        Err(e) => {
            eprintln!("newton_vs_descent: {e}");
            std::process::exit(1);
        }
    }
}
