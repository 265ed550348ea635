//! A 64-32-10 multilayer perceptron on the optical handwritten digits
//! (8×8 images, 1,797 samples, 10 classes), written as a PyTorch user
//! writes a model: a struct of weights with `#[derive(Params)]`, a loss
//! method with iterator chains, and a custom activation (GELU, whose
//! derivative is stated once with `#[custom_grad]`).
//!
//! `#[derive_grad(wrt(self))]` on the method gives
//! `loss_grad_acc_with(&self, x, label, &mut grad, &mut workspace)`, which
//! `train_acc` calls to train on mini-batches on all cores (Adam, seeded
//! shuffling). The data are split 80/20 into training and test sets with a
//! fixed seed; the program prints each epoch's mean training loss and test
//! accuracy (with a progress bar on a terminal), then writes into its first
//! argument (default `target/digits_mlp/`):
//!
//! - `curves.png`: training loss and test accuracy per epoch;
//! - `misclassified.png`: the test images the network gets wrong, each
//!   with its true digit and the prediction.
//!
//! Run it with `cargo run --release --example digits_mlp`.

use std::error::Error;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

use backprop::core::datasets::{digits, Digit};
use backprop::prelude::*;
use plotters::prelude::*;
use plotters::style::FontStyle;

/// Hidden units.
pub const H: usize = 32;
/// Epochs of training.
pub const EPOCHS: usize = 40;
/// Mini-batch size.
pub const BATCH: usize = 32;
/// Adam's learning rate.
pub const LEARNING_RATE: f64 = 0.005;
/// The share of the data held out for testing.
pub const TEST_SHARE: f64 = 0.2;
/// The default output directory.
pub const DEFAULT_DIR: &str = "target/digits_mlp";

/// The GELU activation, `x·Φ(x)` in its tanh form (as in GPT-2 and
/// PyTorch's `approximate="tanh"`).
#[custom_grad(gelu_grad)]
pub fn gelu(x: f64) -> f64 {
    let k = (2.0 / std::f64::consts::PI).sqrt();
    0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())
}

/// The derivative of [`gelu`], worked out once by hand.
pub fn gelu_grad(x: f64) -> f64 {
    let k = (2.0 / std::f64::consts::PI).sqrt();
    let t = (k * (x + 0.044715 * x * x * x)).tanh();
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x * x)
}

/// The network: `W1` (hidden × pixels), `b1`, `W2` (digits × hidden), `b2`.
#[derive(Clone, Debug, PartialEq, Params)]
pub struct Mlp {
    /// First layer's weights.
    pub w1: [[f64; 64]; H],
    /// First layer's biases.
    pub b1: [f64; H],
    /// Output layer's weights.
    pub w2: [[f64; H]; 10],
    /// Output layer's biases.
    pub b2: [f64; 10],
}

#[derive_grad]
impl Mlp {
    /// Softmax cross-entropy of the network's logits for one image
    /// (pixels scaled to 0..1) with digit `label`.
    #[derive_grad(wrt(self))]
    #[allow(clippy::needless_range_loop)] // layers written as in the tutorials
    pub fn loss(&self, x: &[f64; 64], label: usize) -> f64 {
        let mut h = [0.0; H];
        for j in 0..H {
            let a: f64 = self.w1[j].iter().zip(x.iter()).map(|(w, p)| w * p).sum();
            h[j] = gelu(a + self.b1[j]);
        }
        let mut z = [0.0; 10];
        for c in 0..10 {
            let s: f64 = self.w2[c].iter().zip(h.iter()).map(|(w, v)| w * v).sum();
            z[c] = s + self.b2[c];
        }
        let m = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        lse - z[label]
    }

    /// The logits for one image.
    pub fn logits(&self, x: &[f64; 64]) -> [f64; 10] {
        let h: [f64; H] = std::array::from_fn(|j| {
            gelu(self.b1[j] + self.w1[j].iter().zip(x).map(|(w, p)| w * p).sum::<f64>())
        });
        std::array::from_fn(|c| {
            self.b2[c] + self.w2[c].iter().zip(&h).map(|(w, v)| w * v).sum::<f64>()
        })
    }

    /// The predicted digit (the largest logit).
    pub fn predict(&self, x: &[f64; 64]) -> usize {
        let z = self.logits(x);
        (0..10).max_by(|&a, &b| z[a].total_cmp(&z[b])).unwrap_or(0)
    }

    /// The fraction of `data` classified correctly.
    pub fn accuracy(&self, data: &[Sample]) -> f64 {
        let correct = data
            .iter()
            .filter(|s| self.predict(&s.x) == s.label)
            .count();
        correct as f64 / data.len().max(1) as f64
    }

    /// The starting point: weights uniform in `±1/√fan_in`, biases 0
    /// (`SplitMix64::new(seed)`).
    pub fn init(seed: u64) -> Mlp {
        let mut rng = SplitMix64::new(seed);
        let s1 = 1.0 / 64f64.sqrt();
        let w1 = std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-s1, s1)));
        let s2 = 1.0 / (H as f64).sqrt();
        let w2 = std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-s2, s2)));
        Mlp {
            w1,
            b1: [0.0; H],
            w2,
            b2: [0.0; 10],
        }
    }
}

/// One image as the network reads it.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// The pixels scaled to 0..1.
    pub x: [f64; 64],
    /// The digit.
    pub label: usize,
}

/// The images scaled to 0..1, shuffled with `seed` and split into
/// (training, test) with [`TEST_SHARE`] held out.
pub fn split(data: &[Digit], seed: u64) -> (Vec<Sample>, Vec<Sample>) {
    let mut samples: Vec<Sample> = data
        .iter()
        .map(|d| Sample {
            x: d.pixels.map(|p| p / 16.0),
            label: d.label,
        })
        .collect();
    SplitMix64::new(seed).shuffle(&mut samples);
    let n_test = (samples.len() as f64 * TEST_SHARE).round() as usize;
    let test = samples.split_off(samples.len() - n_test);
    (samples, test)
}

/// What the example computes, for the test that checks it.
#[derive(Debug)]
pub struct Report {
    /// Training and test samples.
    pub train: Vec<Sample>,
    /// The held-out samples.
    pub test: Vec<Sample>,
    /// The trained network.
    pub net: Mlp,
    /// Mean training loss of each epoch.
    pub epoch_losses: Vec<f64>,
    /// Test accuracy after each epoch.
    pub test_accuracy: Vec<f64>,
    /// The test samples misclassified at the end, with the prediction.
    pub misclassified: Vec<(Sample, usize)>,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The printed text.
    pub text: String,
}

/// Trains, prints and draws into `dir` (`progress`: whether `train_acc`
/// may draw its progress bar).
///
/// # Errors
///
/// If training diverges, or the pictures cannot be written.
pub fn run_in(dir: &Path, progress: Progress) -> Result<Report, Box<dyn Error>> {
    let mut text = String::new();
    let (train, test) = split(&digits(), 7);
    let mut net = Mlp::init(1);
    writeln!(
        text,
        "digits: {} training and {} test images of 8x8 pixels; 64-{H}-10 MLP (GELU), \
         softmax cross-entropy, Adam lr {LEARNING_RATE}, batch {BATCH}, {EPOCHS} epochs, \
         {} threads",
        train.len(),
        test.len(),
        rayon_threads(),
    )?;
    let test_accuracy = Mutex::new(Vec::new());
    let trained = train_acc(
        &mut net,
        &mut Adam::new(LEARNING_RATE),
        &train,
        &TrainOptions::new()
            .epochs(EPOCHS)
            .batch_size(BATCH)
            .seed(42)
            .progress(progress)
            .on_epoch(|r: &EpochReport<'_, Mlp>| {
                let acc = r.params.accuracy(&test);
                test_accuracy.lock().expect("not poisoned").push(acc);
                Control::Continue
            }),
        |net: &Mlp, s: &Sample, grad: &mut Mlp, work: &mut Workspace<f64>| {
            net.loss_grad_acc_with(&s.x, s.label, grad, work)
        },
    )?;
    let test_accuracy = test_accuracy.into_inner().expect("not poisoned");
    writeln!(text, "epoch  train loss  test accuracy")?;
    for (e, (l, a)) in trained.epoch_losses.iter().zip(&test_accuracy).enumerate() {
        writeln!(text, "{:>5}  {l:>10.4}  {:>12.1}%", e + 1, 100.0 * a)?;
    }
    let misclassified: Vec<(Sample, usize)> = test
        .iter()
        .map(|s| (*s, net.predict(&s.x)))
        .filter(|(s, p)| *p != s.label)
        .collect();
    writeln!(
        text,
        "test accuracy {:.1}% ({} of {} wrong); training accuracy {:.1}%",
        100.0 * net.accuracy(&test),
        misclassified.len(),
        test.len(),
        100.0 * net.accuracy(&train)
    )?;

    std::fs::create_dir_all(dir)?;
    register_font();
    let files = vec![dir.join("curves.png"), dir.join("misclassified.png")];
    draw_curves(&files[0], &trained.epoch_losses, &test_accuracy)?;
    draw_misclassified(&files[1], &misclassified)?;
    writeln!(text, "wrote:")?;
    for f in &files {
        writeln!(text, "  {}", f.display())?;
    }
    Ok(Report {
        train,
        test,
        net,
        epoch_losses: trained.epoch_losses,
        test_accuracy,
        misclassified,
        files,
        text,
    })
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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

/// Training loss (left) and test accuracy (right) per epoch.
fn draw_curves(file: &Path, losses: &[f64], accuracy: &[f64]) -> Result<(), Box<dyn Error>> {
    let root = BitMapBackend::new(file, (1200, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    let epochs = losses.len() as f64;
    let max_loss = losses.iter().cloned().fold(0.0, f64::max).max(1e-3);
    let mut chart = ChartBuilder::on(&left)
        .caption("Mean training loss per epoch", (FONT, 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(1.0..epochs.max(2.0), 0.0..max_loss * 1.05)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("cross-entropy")
        .label_style((FONT, 15))
        .draw()?;
    chart.draw_series(LineSeries::new(
        losses.iter().enumerate().map(|(e, &l)| (e as f64 + 1.0, l)),
        BLUE.stroke_width(2),
    ))?;
    let low = accuracy.iter().cloned().fold(1.0, f64::min).min(0.9);
    let mut chart = ChartBuilder::on(&right)
        .caption("Test accuracy per epoch", (FONT, 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(1.0..epochs.max(2.0), (100.0 * low).floor() - 1.0..100.0)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("% correct")
        .label_style((FONT, 15))
        .draw()?;
    chart.draw_series(LineSeries::new(
        accuracy
            .iter()
            .enumerate()
            .map(|(e, &a)| (e as f64 + 1.0, 100.0 * a)),
        RED.stroke_width(2),
    ))?;
    root.present()?;
    Ok(())
}

/// The misclassified test images in a grid, each captioned
/// `true → predicted`.
fn draw_misclassified(file: &Path, wrong: &[(Sample, usize)]) -> Result<(), Box<dyn Error>> {
    const CELL: i32 = 12; // pixels per image pixel
    const COLS: usize = 8;
    let rows = wrong.len().div_ceil(COLS).max(1);
    let (w, h) = (
        COLS as i32 * (8 * CELL + 20) + 20,
        rows as i32 * (8 * CELL + 44) + 50,
    );
    let root = BitMapBackend::new(file, (w as u32, h as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(
        format!(
            "Misclassified test digits ({}): true → predicted",
            wrong.len()
        ),
        (20, 12),
        (FONT, 20).into_font(),
    ))?;
    for (k, (s, predicted)) in wrong.iter().enumerate() {
        let (col, row) = ((k % COLS) as i32, (k / COLS) as i32);
        let (x0, y0) = (20 + col * (8 * CELL + 20), 50 + row * (8 * CELL + 44));
        for (p, &v) in s.x.iter().enumerate() {
            let (px, py) = ((p % 8) as i32, (p / 8) as i32);
            let g = (255.0 * (1.0 - v)).round() as u8;
            root.draw(&Rectangle::new(
                [
                    (x0 + px * CELL, y0 + py * CELL),
                    (x0 + (px + 1) * CELL, y0 + (py + 1) * CELL),
                ],
                RGBColor(g, g, g).filled(),
            ))?;
        }
        root.draw(&Text::new(
            format!("{} → {}", s.label, predicted),
            (x0 + 2 * CELL, y0 + 8 * CELL + 6),
            (FONT, 18).into_font().color(&RED),
        ))?;
    }
    root.present()?;
    Ok(())
}

#[allow(dead_code)] // the test includes this file for `run_in` only
fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_DIR.to_owned());
    let report = run_in(Path::new(&dir), Progress::Auto)?;
    print!("{}", report.text);
    Ok(())
}
