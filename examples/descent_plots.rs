//! seeds/001, second part: gradient descent pictured. `f(x) = x²` from
//! `x = 5.0` and `f(x, y) = x² + y²` from `(1.5, 1.5)`, learning rate 0.1,
//! 50 steps, with the gradients from `#[derive_grad]`. Each step multiplies
//! the point by `1 − 2·0.1 = 0.8`, so `x_k = 5·0.8^k`.
//!
//! The program prints both paths and writes, into the directory given as
//! its first argument (default `target/descent_plots/`):
//!
//! - `parabola.png`: `f(x) = x²` with the descent path on it;
//! - `bowl.png`: the level sets of `x² + y²` seen from above, with the path;
//! - `bowl_3d.png`: the bowl as a 3-D wire frame, with the path;
//! - `descent.gif`: the 1-D descent animated, one frame per step;
//! - `loss.png`: the loss of both descents per step, on a log scale.
//!
//! Drawing uses `plotters` with only its pure-Rust backends; the text is
//! set in DejaVu Sans Mono, bundled in `examples/assets/` (Bitstream Vera
//! licence, `examples/assets/DejaVu-LICENSE.txt`), so nothing from the
//! system (fontconfig, freetype) is needed.
//!
//! Run it with `cargo run --example descent_plots [DIR]`.

use std::error::Error;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

use backprop::prelude::*;
use plotters::prelude::*;

/// Starting point of the 1-D descent.
pub const X0: f64 = 5.0;
/// Starting point of the 2-D descent.
pub const P0: [f64; 2] = [1.5, 1.5];
/// Learning rate of both.
pub const LEARNING_RATE: f64 = 0.1;
/// Steps of both.
pub const STEPS: usize = 50;

/// `f(x) = x²`, differentiated into `parabola_grad(x) -> (x², 2x)`.
#[derive_grad]
pub fn parabola(x: f64) -> f64 {
    x * x
}

/// `f(x, y) = x² + y²`, differentiated into
/// `bowl_grad(p) -> (f, [2x, 2y])`.
#[derive_grad]
pub fn bowl(p: [f64; 2]) -> f64 {
    p[0] * p[0] + p[1] * p[1]
}

/// What the example computes, for the test that checks it.
#[derive(Debug)]
pub struct Report {
    /// `x_0 … x_50` of the 1-D descent.
    pub path_1d: Vec<f64>,
    /// `f(x_k)`.
    pub loss_1d: Vec<f64>,
    /// `(x_k, y_k)` of the 2-D descent, `k = 0 … 50`.
    pub path_2d: Vec<[f64; 2]>,
    /// `f(x_k, y_k)`.
    pub loss_2d: Vec<f64>,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The printed text.
    pub text: String,
}

/// The default output directory.
pub const DEFAULT_DIR: &str = "target/descent_plots";

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

/// Descends, prints the paths and writes the pictures into `dir`
/// (created if missing).
///
/// # Errors
///
/// If the directory cannot be created or a picture cannot be written.
pub fn run_in(dir: &Path) -> Result<Report, Box<dyn Error>> {
    let mut text = String::new();

    // 1-D: x ← x − lr·f'(x)
    let mut x = X0;
    let mut sgd = Sgd::new(LEARNING_RATE);
    let (mut path_1d, mut loss_1d) = (vec![], vec![]);
    for k in 0..=STEPS {
        let (fx, g) = parabola_grad(x);
        path_1d.push(x);
        loss_1d.push(fx);
        if k < STEPS {
            sgd.step(&mut x, &g);
        }
    }
    // 2-D: (x, y) ← (x, y) − lr·∇f
    let mut p = P0;
    let mut sgd = Sgd::new(LEARNING_RATE);
    let (mut path_2d, mut loss_2d) = (vec![], vec![]);
    for k in 0..=STEPS {
        let (fp, g) = bowl_grad(p);
        path_2d.push(p);
        loss_2d.push(fp);
        if k < STEPS {
            sgd.step(&mut p, &g);
        }
    }

    writeln!(
        text,
        "gradient descent, learning rate {LEARNING_RATE}, {STEPS} steps (each step multiplies the point by 0.8)"
    )
    .unwrap();
    writeln!(
        text,
        "{:>4}  {:>15} {:>15}    {:>15} {:>15} {:>15}",
        "k", "x (f = x^2)", "f(x)", "x", "y", "x^2 + y^2"
    )
    .unwrap();
    for k in 0..=STEPS {
        writeln!(
            text,
            "{k:>4}  {:>15.9} {:>15.9e}    {:>15.9} {:>15.9} {:>15.9e}",
            path_1d[k], loss_1d[k], path_2d[k][0], path_2d[k][1], loss_2d[k]
        )
        .unwrap();
    }

    std::fs::create_dir_all(dir)?;
    register_font();
    let files = vec![
        dir.join("parabola.png"),
        dir.join("bowl.png"),
        dir.join("bowl_3d.png"),
        dir.join("descent.gif"),
        dir.join("loss.png"),
    ];
    draw_parabola(&files[0], &path_1d)?;
    draw_bowl(&files[1], &path_2d)?;
    draw_bowl_3d(&files[2], &path_2d)?;
    draw_gif(&files[3], &path_1d)?;
    draw_losses(&files[4], &loss_1d, &loss_2d)?;
    writeln!(text, "wrote:").unwrap();
    for f in &files {
        writeln!(text, "  {}", f.display()).unwrap();
    }

    Ok(Report {
        path_1d,
        loss_1d,
        path_2d,
        loss_2d,
        files,
        text,
    })
}

/// `f(x) = x²` on `[-6, 6]` with the path as red dots joined by a thin line.
fn draw_parabola(file: &Path, path: &[f64]) -> Result<(), Box<dyn Error>> {
    let root = BitMapBackend::new(file, (900, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Gradient descent on f(x) = x², from x = 5, learning rate 0.1",
            (FONT, 24),
        )
        .margin(15)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(-6.0..6.0, -1.0..37.0)?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("f(x)")
        .label_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            (0..=600).map(|i| {
                let x = -6.0 + 12.0 * i as f64 / 600.0;
                (x, x * x)
            }),
            BLUE.stroke_width(2),
        ))?
        .label("f(x) = x²")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart.draw_series(LineSeries::new(
        path.iter().map(|&x| (x, x * x)),
        RED.mix(0.5),
    ))?;
    chart
        .draw_series(
            path.iter()
                .map(|&x| Circle::new((x, x * x), 4, RED.filled())),
        )?
        .label("x_k = 5·0.8^k")
        .legend(|(x, y)| Circle::new((x + 10, y), 4, RED.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 18))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// A colour for `f ∈ [0, max]`: light yellow at 0 to dark blue at `max`.
fn shade(f: f64, max: f64) -> RGBColor {
    let t = (f / max).clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(255.0, 40.0), lerp(250.0, 90.0), lerp(205.0, 170.0))
}

/// The level sets of `x² + y²` from above, shaded, with the path.
fn draw_bowl(file: &Path, path: &[[f64; 2]]) -> Result<(), Box<dyn Error>> {
    let root = BitMapBackend::new(file, (750, 750)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("f(x, y) = x² + y² from (1.5, 1.5), lr 0.1", (FONT, 24))
        .margin(15)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(-2.0..2.0, -2.0..2.0)?;
    // shaded background, 100 × 100 cells
    let n = 100;
    let cell = 4.0 / n as f64;
    chart.draw_series((0..n).flat_map(|i| {
        (0..n).map(move |j| {
            let (x, y) = (-2.0 + i as f64 * cell, -2.0 + j as f64 * cell);
            let (cx, cy) = (x + cell / 2.0, y + cell / 2.0);
            Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                shade(cx * cx + cy * cy, 8.0).filled(),
            )
        })
    }))?;
    // level sets f = c: circles of radius √c
    for c in [0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0] {
        let r: f64 = f64::sqrt(c);
        chart.draw_series(LineSeries::new(
            (0..=200).map(|i| {
                let t = std::f64::consts::TAU * i as f64 / 200.0;
                (r * t.cos(), r * t.sin())
            }),
            BLACK.mix(0.35),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{c}"),
            (r * 0.74, -r * 0.67),
            (FONT, 14).into_font().color(&BLACK.mix(0.7)),
        )))?;
    }
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style((FONT, 16))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            path.iter().map(|p| (p[0], p[1])),
            RED.stroke_width(2),
        ))?
        .label("path (x_k, y_k) = 1.5·0.8^k·(1, 1)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
    chart.draw_series(
        path.iter()
            .map(|p| Circle::new((p[0], p[1]), 4, RED.filled())),
    )?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The bowl as a wire frame in 3-D, with the path on its surface.
fn draw_bowl_3d(file: &Path, path: &[[f64; 2]]) -> Result<(), Box<dyn Error>> {
    let root = BitMapBackend::new(file, (900, 750)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Gradient descent in 3-D: f(x, y) = x² + y²", (FONT, 24))
        .margin(15)
        .build_cartesian_3d(-2.0..2.0, 0.0..8.0, -2.0..2.0)?;
    chart.with_projection(|mut pb| {
        pb.yaw = 0.6;
        pb.pitch = 0.35;
        pb.scale = 0.85;
        pb.into_matrix()
    });
    chart
        .configure_axes()
        .label_style((FONT, 14))
        .light_grid_style(BLACK.mix(0.1))
        .max_light_lines(3)
        .draw()?;
    // plotters' 3-D coordinates are (x, height, depth): the surface is
    // (x, f(x, y), y)
    let n = 20;
    let at = |i: usize| -2.0 + 4.0 * i as f64 / n as f64;
    for i in 0..=n {
        let fixed = at(i);
        let line_x = (0..=100).map(move |k| {
            let x = -2.0 + 4.0 * k as f64 / 100.0;
            (x, x * x + fixed * fixed, fixed)
        });
        let line_y = (0..=100).map(move |k| {
            let y = -2.0 + 4.0 * k as f64 / 100.0;
            (fixed, fixed * fixed + y * y, y)
        });
        chart.draw_series(LineSeries::new(line_x, BLUE.mix(0.35)))?;
        chart.draw_series(LineSeries::new(line_y, BLUE.mix(0.35)))?;
    }
    chart
        .draw_series(LineSeries::new(
            path.iter().map(|p| (p[0], p[0] * p[0] + p[1] * p[1], p[1])),
            RED.stroke_width(3),
        ))?
        .label("descent path")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(3)));
    chart.draw_series(
        path.iter()
            .map(|p| Circle::new((p[0], p[0] * p[0] + p[1] * p[1], p[1]), 3, RED.filled())),
    )?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The 1-D descent animated: one frame per step, 150 ms apart, looping.
///
/// Each frame is drawn by plotters into an RGB buffer and written with the
/// `gif` crate using the fixed 216-colour "web-safe" palette (each channel
/// rounded to a multiple of 51): plotters' own GIF backend quantizes every
/// frame with NeuQuant, which takes seconds per frame in a debug build.
fn draw_gif(file: &Path, path: &[f64]) -> Result<(), Box<dyn Error>> {
    let (w, h) = (640_u32, 420_u32);
    let palette: Vec<u8> = (0..216_u32)
        .flat_map(|i| [i / 36, i / 6 % 6, i % 6].map(|c| (c * 51) as u8))
        .collect();
    let level = |c: u8| (u32::from(c) * 5 + 127) / 255;
    let mut encoder = gif::Encoder::new(
        std::io::BufWriter::new(std::fs::File::create(file)?),
        w as u16,
        h as u16,
        &palette,
    )?;
    encoder.set_repeat(gif::Repeat::Infinite)?;
    let mut rgb = vec![0_u8; (w * h * 3) as usize];
    for (k, &xk) in path.iter().enumerate() {
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    format!("step {k:>2}: x = {xk:.6}, f(x) = {:.6}", xk * xk),
                    (FONT, 20),
                )
                .margin(12)
                .margin_right(25)
                .x_label_area_size(35)
                .y_label_area_size(45)
                .build_cartesian_2d(-6.0..6.0, -1.0..37.0)?;
            chart
                .configure_mesh()
                .label_style((FONT, 14))
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            chart.draw_series(LineSeries::new(
                (0..=300).map(|i| {
                    let x = -6.0 + 12.0 * i as f64 / 300.0;
                    (x, x * x)
                }),
                BLUE.stroke_width(2),
            ))?;
            // the trail so far, and the current point
            chart.draw_series(
                path[..k]
                    .iter()
                    .map(|&x| Circle::new((x, x * x), 4, RGBColor(255, 153, 0).filled())),
            )?;
            chart.draw_series(std::iter::once(Circle::new((xk, xk * xk), 7, RED.filled())))?;
            root.present()?;
        }
        let indexed: Vec<u8> = rgb
            .chunks_exact(3)
            .map(|p| (level(p[0]) * 36 + level(p[1]) * 6 + level(p[2])) as u8)
            .collect();
        let mut frame = gif::Frame::from_indexed_pixels(w as u16, h as u16, &indexed, None);
        frame.delay = 15; // hundredths of a second
        encoder.write_frame(&frame)?;
    }
    Ok(())
}

/// The loss per step of both descents, on a log scale.
fn draw_losses(file: &Path, loss_1d: &[f64], loss_2d: &[f64]) -> Result<(), Box<dyn Error>> {
    let root = BitMapBackend::new(file, (900, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Loss per step (learning rate 0.1): f_k = f_0·0.64^k",
            (FONT, 24),
        )
        .margin(15)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(0.0..STEPS as f64, (1e-10..100.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("step k")
        .y_desc("loss")
        .label_style((FONT, 16))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    for (loss, colour, name) in [
        (loss_1d, BLUE, "x², from x = 5"),
        (loss_2d, RGBColor(0, 150, 0), "x² + y², from (1.5, 1.5)"),
    ] {
        chart
            .draw_series(LineSeries::new(
                loss.iter().enumerate().map(|(k, &l)| (k as f64, l)),
                colour.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart.draw_series(
            loss.iter()
                .enumerate()
                .map(|(k, &l)| Circle::new((k as f64, l), 3, colour.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 18))
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
            eprintln!("descent_plots: {e}");
            std::process::exit(1);
        }
    }
}
