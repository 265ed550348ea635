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
        stress_scale: 1.0,
    };
    let mut print = false;
    let mut file: Option<String> = None;
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
                cfg.watchdog = Some((
                    backprop_fuzz::SLOW,
                    Duration::from_secs(value("--hang-timeout")),
                ))
            }
            "--print" => print = true,
            "--file" => file = Some(args.next().unwrap_or_else(|| usage("--file needs a path"))),
            "--no-minimize" => minimize_new = false,
            "--help" | "-h" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if let Some(path) = file {
        run_file(&path);
        return;
    }
    if print {
        let corpus = corpus::load();
        for i in cfg.start..cfg.start + cfg.iterations {
            let input = generate(cfg.seed, i, &corpus, cfg.stress_scale);
            let outcome = run_isolated(&input.attr, &input.item);
            println!(
                "// input #{i} ({}{}): {}\n{}\n",
                input.source,
                if input.origin.is_empty() {
                    String::new()
                } else {
                    format!(": {}", input.origin)
                },
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
            let input = generate(cfg.seed, f.example.index, &corpus, cfg.stress_scale);
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

/// Runs every `#[derive_grad]` function of a file (or the whole file as one
/// item with an empty attribute if none carries it) and prints the outcome
/// and the time of each.
fn run_file(path: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| usage(&format!("{path}: {e}")));
    let inputs: Vec<(String, String)> = match syn::parse_file(&text) {
        Ok(file) => file
            .items
            .iter()
            .filter_map(|item| {
                let syn::Item::Fn(f) = item else { return None };
                let pos = f
                    .attrs
                    .iter()
                    .position(|a| a.path().is_ident("derive_grad"))?;
                let attr = match &f.attrs[pos].meta {
                    syn::Meta::List(l) => l.tokens.to_string(),
                    _ => String::new(),
                };
                let mut f = f.clone();
                f.attrs.remove(pos);
                Some((attr, quote::ToTokens::to_token_stream(&f).to_string()))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let inputs = if inputs.is_empty() {
        vec![(String::new(), text)]
    } else {
        inputs
    };
    for (attr, item) in inputs {
        let (a, i) = (
            attr.parse().unwrap_or_default(),
            item.parse().unwrap_or_default(),
        );
        let t = std::time::Instant::now();
        let outcome = run_isolated(&a, &i);
        println!(
            "{:.3?}: {}\n  {}",
            t.elapsed(),
            backprop_fuzz::describe(&outcome),
            abbreviate(&item, 300)
        );
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("error: {problem}");
    }
    eprintln!(
        "usage: backprop-fuzz [--iterations N] [--seed S] [--start I] [--jobs J] [--progress N] [--hang-timeout SECONDS] [--print] [--no-minimize] [--file PATH]"
    );
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}
