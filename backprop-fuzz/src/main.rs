//! Long fuzz runs:
//!
//! ```sh
//! cargo run --release -p backprop-fuzz -- --iterations 1000000 [--seed S] [--start I] [--jobs J]
//! ```
//!
//! Prints how many inputs ran, compiled and were rejected, and every
//! finding (panic, unparsable output, rejection without a message),
//! deduplicated, with its smallest input, minimized for new findings, and
//! every input slower than 2 s. `--print` prints each input instead (with
//! `--start I --iterations 1`: the input that a report names). Exits with 1
//! if there is a finding that is not in `KNOWN_BUGS`.

use std::time::Duration;

use backprop_fuzz::{abbreviate, corpus, generate, minimize, run_isolated, run_with, Config};

fn main() {
    let mut cfg = Config {
        seed: 1,
        start: 0,
        iterations: 100_000,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        progress: 100_000,
        watchdog: Some((backprop_fuzz::SLOW, Duration::from_secs(300))),
    };
    let mut print = false;
    let mut minimize_new = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{name} needs a number")))
        };
        match a.as_str() {
            "--iterations" | "-n" => cfg.iterations = value("--iterations"),
            "--seed" | "-s" => cfg.seed = value("--seed"),
            "--start" => cfg.start = value("--start"),
            "--jobs" | "-j" => cfg.jobs = value("--jobs") as usize,
            "--progress" => cfg.progress = value("--progress"),
            "--hang-timeout" => {
                cfg.watchdog = Some((backprop_fuzz::SLOW, Duration::from_secs(value("--hang-timeout"))))
            }
            "--print" => print = true,
            "--no-minimize" => minimize_new = false,
            "--help" | "-h" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if print {
        let corpus = corpus::load();
        for i in cfg.start..cfg.start + cfg.iterations {
            let input = generate(cfg.seed, i, &corpus);
            let outcome = run_isolated(&input.attr, &input.item);
            println!(
                "// input #{i} ({}{}): {}\n{}\n",
                input.source,
                if input.origin.is_empty() { String::new() } else { format!(": {}", input.origin) },
                backprop_fuzz::describe(&outcome),
                input.text()
            );
        }
        return;
    }
    eprintln!(
        "[fuzz] seed {} inputs {}..{} on {} threads",
        cfg.seed,
        cfg.start,
        cfg.start + cfg.iterations,
        cfg.jobs
    );
    let report = run_with(&cfg);
    println!("{report}");
    let new = report.new_findings();
    if minimize_new && !new.is_empty() {
        let corpus = corpus::load();
        for f in &new {
            let input = generate(cfg.seed, f.example.index, &corpus);
            let (attr, item) = minimize::minimize(input.attr, input.item, &f.problem.key(), 3000);
            let text = if attr.is_empty() {
                format!("#[derive_grad] {item}")
            } else {
                format!("#[derive_grad({attr})] {item}")
            };
            println!(
                "\nminimized input #{} ({} {} at {}):\n  {}",
                f.example.index,
                f.problem.kind,
                abbreviate(&f.problem.message, 200),
                f.problem.location,
                abbreviate(&text, 3000)
            );
        }
    }
    if !new.is_empty() {
        std::process::exit(1);
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("error: {problem}");
    }
    eprintln!(
        "usage: backprop-fuzz [--iterations N] [--seed S] [--start I] [--jobs J] [--progress N] [--hang-timeout SECONDS] [--print] [--no-minimize]"
    );
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}
