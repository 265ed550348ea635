//! GradBench's evals, backprop's tool beside `manual`'s hand-written C++
//! (compiled `-O3 -march=native` into this process by the feature
//! `manual`), on the inputs of a harness run, timed in alternating blocks
//! of a few calls so that a slow moment of a shared machine slows both.
//! The harness (`../shared/gradbench/run`) times the tool and `manual`
//! in separate runs minutes apart, and on this machine `manual`'s own
//! times moved by up to 2.7× between such runs.
//!
//! ```sh
//! ../shared/gradbench/run --tool "$PWD/target/release/gradbench" --name backprop \
//!     --manual llsq lse ode gmm kmeans lstm ba ht det    # writes the inputs' logs
//! cargo run --release -p backprop-bench --features manual --bin side
//! cargo run --release -p backprop-bench --features manual --bin side -- gmm kmeans --calls 60
//! ```
//!
//! The inputs are read from `$GRADBENCH_DIR/runs/EVAL/manual.jsonl` (by
//! default `/tmp/gradbench`), the log of `manual`'s last harness run of
//! that eval: every `evaluate` message's input, as the harness generated
//! it. For each, `--calls` timed calls of each side (40 by default), in
//! turns of 3 of which the last 2 count, and a Markdown row: the medians, their ratio, and the ratio of the
//! fastest calls (which a busy moment of the machine moves least). Both
//! sides time the compute alone, as they do for the harness.

use serde_json::Value;
use std::ffi::{c_char, c_void, CString};
use std::path::PathBuf;

// `cpp/manual_table.cpp`, linked by build.rs.
extern "C" {
    fn manual_new(
        eval: *const c_char,
        function: *const c_char,
        input: *const c_char,
    ) -> *mut c_void;
    fn manual_run(handle: *mut c_void) -> f64;
    fn manual_free(handle: *mut c_void);
}

/// Calls of one side before the other's turn; the first of each turn is
/// not counted. The tool's `evaluate` decodes its input into new buffers
/// at each turn (outside its timing), so its first call after them would
/// meet cold memory that `manual`'s, which keeps its buffers, does not.
const BLOCK: usize = 3;

/// The median and the fastest.
fn median_min(mut times: Vec<f64>) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0])
}

/// Seconds, readably.
fn show(seconds: f64) -> String {
    match seconds {
        s if s >= 1e-3 => format!("{:.3} ms", s * 1e3),
        s => format!("{:.1} µs", s * 1e6),
    }
}

/// Times one `evaluate` message's function both ways: a table row.
fn compare(eval: &str, message: &Value, calls: usize) -> Result<String, String> {
    let function = message["function"].as_str().ok_or("no function")?;
    let description = message["description"].as_str().unwrap_or("");
    let mut input = message["input"].clone();
    let tool = backprop_gradbench::module(eval)?;
    let c = |text: &str| CString::new(text).map_err(|e| e.to_string());
    let (c_eval, c_function, c_input) = (c(eval)?, c(function)?, c(&input.to_string())?);
    // SAFETY: the strings are NUL-terminated and outlive the call.
    let runner = unsafe { manual_new(c_eval.as_ptr(), c_function.as_ptr(), c_input.as_ptr()) };
    if runner.is_null() {
        return Err(format!("manual has no {eval} {function}"));
    }
    input["min_runs"] = BLOCK.into();
    input["min_seconds"] = 0.0.into();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..calls.div_ceil(BLOCK - 1) {
        let answer = tool(function, &input)?;
        ours.extend(answer.timings.iter().skip(1).map(|&ns| ns as f64 * 1e-9));
        for call in 0..BLOCK {
            // SAFETY: `runner` came from `new` and is freed only below.
            let seconds = unsafe { manual_run(runner) };
            if call > 0 {
                theirs.push(seconds);
            }
        }
    }
    // SAFETY: as above; not used after.
    unsafe { manual_free(runner) };
    let ((ours, our_min), (theirs, their_min)) = (median_min(ours), median_min(theirs));
    Ok(format!(
        "| {eval} | {function} | {description} | {} | {} | **{:.2}** | {:.2} |",
        show(ours),
        show(theirs),
        ours / theirs,
        our_min / their_min
    ))
}

fn main() -> Result<(), String> {
    let mut evals: Vec<String> = Vec::new();
    let mut calls = 40;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--calls" {
            calls = args
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or("--calls takes a number")?;
        } else {
            evals.push(arg);
        }
    }
    if evals.is_empty() {
        evals = [
            "llsq", "lse", "ode", "det", "gmm", "kmeans", "lstm", "ba", "ht",
        ]
        .map(String::from)
        .to_vec();
    }
    let dir =
        PathBuf::from(std::env::var("GRADBENCH_DIR").unwrap_or_else(|_| "/tmp/gradbench".into()));
    println!("| eval | function | input | backprop | manual | ratio | ratio of the fastest |");
    println!("|---|---|---|---:|---:|---:|---:|");
    for eval in &evals {
        let log = dir.join("runs").join(eval).join("manual.jsonl");
        let text = std::fs::read_to_string(&log).map_err(|e| {
            format!(
                "{}: {e} (run the harness with --manual {eval} first)",
                log.display()
            )
        })?;
        for line in text.lines() {
            let entry: Value =
                serde_json::from_str(line).map_err(|e| format!("{}: {e}", log.display()))?;
            let message = &entry["message"];
            if message["kind"] == "evaluate" {
                println!("{}", compare(eval, message, calls)?);
            }
        }
    }
    Ok(())
}
