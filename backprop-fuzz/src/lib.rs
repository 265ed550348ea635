//! A panic fuzzer of the `#[derive_grad]` compiler.
//!
//! Inputs come from three sources, chosen per input by its seed:
//!
//! - [`grammar`]: functions generated from a grammar of every syntax form
//!   in every context (literals of every kind, casts, operators, control
//!   flow, closures, calls, paths, indexing, arrays, tuples, structs,
//!   references, macros, patterns, items, generics, parameter types,
//!   attribute arguments), mostly valid loss functions with a tunable rate
//!   of arbitrary forms;
//! - [`mutate`]: mutations (on the syntax tree and on raw tokens) of every
//!   `#[derive_grad]` function of the project's tests, examples and
//!   compiler fixtures ([`corpus`]);
//! - [`stress`]: deep nesting, long sums and chains, many bindings, large
//!   arrays and loop bounds.
//!
//! Each input is fed to [`backprop_compiler::derive_grad`], and, when it is
//! a function, to [`backprop_compiler::expand::compile`] and
//! [`backprop_compiler::expand::generate`], whose output must parse back as
//! a file of items. Every call runs under `catch_unwind`; a panic anywhere
//! is a finding, deduplicated by location and message (digits ignored) and
//! reported with the smallest input that caused it. So are outputs that do
//! not parse, rejections without an error message, and inputs slower than
//! [`SLOW`]. Input `i` of a run with seed `s` depends only on `(s, i)` (and
//! on the corpus files of the checkout), so any input can be regenerated
//! alone.

pub mod corpus;
pub mod grammar;
pub mod known_bugs;
pub mod minimize;
pub mod mutate;
pub mod rng;
pub mod stress;

use std::cell::{Cell, RefCell};
use std::fmt::{self, Write as _};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proc_macro2::TokenStream;

use crate::corpus::Seed;
use crate::rng::{input_seed, Rng};

/// An input slower than this is a finding.
pub const SLOW: Duration = Duration::from_secs(2);

/// Stack of each worker thread (reserved address space, committed only as
/// used): syn's parser recurses on deeply nested inputs, and an overflow
/// would abort the process instead of being caught.
const WORKER_STACK: usize = 1 << 30;

/// Where an input comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// [`grammar`]
    Grammar,
    /// [`mutate`]
    Mutation,
    /// [`stress`]
    Stress,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Grammar => "grammar",
            Source::Mutation => "mutation",
            Source::Stress => "stress",
        })
    }
}

/// One input.
#[derive(Clone, Debug)]
pub struct Input {
    /// Its number in the run.
    pub index: u64,
    /// Its source.
    pub source: Source,
    /// For mutations: the corpus function and what was done to it.
    pub origin: String,
    /// Tokens inside `#[derive_grad(…)]`.
    pub attr: TokenStream,
    /// The item the attribute is on.
    pub item: TokenStream,
}

impl Input {
    /// The input as source text: `#[derive_grad(attr)] item`.
    pub fn text(&self) -> String {
        let attr = self.attr.to_string();
        let item = self.item.to_string();
        if attr.is_empty() {
            format!("#[derive_grad] {item}")
        } else {
            format!("#[derive_grad({attr})] {item}")
        }
    }
}

/// An input as text, kept in reports (token streams cannot cross threads).
#[derive(Clone, Debug)]
pub struct Example {
    /// Its number in the run.
    pub index: u64,
    /// Its source.
    pub source: Source,
    /// For mutations: the corpus function and what was done to it.
    pub origin: String,
    /// `#[derive_grad(attr)] item`.
    pub text: String,
    /// The attribute's tokens, as text.
    pub attr: String,
    /// The item's tokens, as text.
    pub item: String,
}

impl Input {
    /// The input as an [`Example`].
    pub fn example(&self) -> Example {
        Example {
            index: self.index,
            source: self.source,
            origin: self.origin.clone(),
            text: self.text(),
            attr: self.attr.to_string(),
            item: self.item.to_string(),
        }
    }
}

/// Generates input `index` of a run with `seed` (see
/// [`Config::stress_scale`]).
pub fn generate(seed: u64, index: u64, corpus: &[Seed], stress_scale: f64) -> Input {
    let mut rng = Rng::new(input_seed(seed, index));
    let pick = rng.below(100);
    let (source, origin, attr, item) = if pick < 45 || corpus.is_empty() && pick < 90 {
        let g = grammar::function(&mut rng);
        (Source::Grammar, String::new(), g.attr, g.src)
    } else if pick < 90 {
        let seed = rng.pick(corpus);
        let m = mutate::mutate(seed, &mut rng);
        let origin = format!("{} ({})", seed.origin, m.what.join(", "));
        return Input {
            index,
            source: Source::Mutation,
            origin,
            attr: m.attr,
            item: m.item,
        };
    } else {
        let g = stress::function(&mut rng, stress_scale);
        (Source::Stress, String::new(), g.attr, g.src)
    };
    Input {
        index,
        source,
        origin,
        attr: attr.parse().unwrap_or_default(),
        // Generated text always lexes (a unit test checks it); an empty
        // item would still be a valid (rejected) input.
        item: item.parse().unwrap_or_default(),
    }
}

// ------------------------------------------------------------- panics

thread_local! {
    /// Inside `catch`: panics are recorded here instead of printed.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Installs (once per process) a panic hook that records the message and
/// location of panics inside the fuzzer's `catch_unwind`, silently, and
/// hands every other panic to the hook that was there before.
pub fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) {
                let loc = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_default();
                let msg = payload_message(info.payload());
                LAST_PANIC.with(|p| *p.borrow_mut() = Some((msg, loc)));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// A caught panic.
#[derive(Clone, Debug)]
pub struct Caught {
    /// The panic message.
    pub message: String,
    /// `file:line:column`.
    pub location: String,
}

fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Caught> {
    LAST_PANIC.with(|p| p.borrow_mut().take());
    CATCHING.with(|c| c.set(true));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(false));
    r.map_err(|payload| {
        let (message, location) = LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| (payload_message(&*payload), String::new()));
        Caught { message, location }
    })
}

// ------------------------------------------------------------ running

/// What happened to one input.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Differentiated; the generated code parses.
    Compiled,
    /// Rejected with at least one error.
    Rejected,
    /// Not a function: only `derive_grad`'s error path ran.
    NotAFunction,
    /// A finding.
    Bad(Problem),
}

/// A finding on one input.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The stage that failed (`derive_grad`, `compile`, `generate`, …).
    pub stage: &'static str,
    /// `panic`, `bad output`, …
    pub kind: &'static str,
    /// The panic message or the problem.
    pub message: String,
    /// Where it panicked.
    pub location: String,
}

impl Problem {
    /// The deduplication key: location and message with digits masked.
    pub fn key(&self) -> String {
        let mut k = format!("{}|{}|", self.kind, self.location);
        let mut last_digit = false;
        for c in self.message.chars().take(200) {
            if c.is_ascii_digit() {
                if !last_digit {
                    k.push('#');
                }
                last_digit = true;
            } else {
                k.push(c);
                last_digit = false;
            }
        }
        k
    }
}

fn panicked(stage: &'static str, c: Caught) -> Outcome {
    Outcome::Bad(Problem {
        stage,
        kind: "panic",
        message: c.message,
        location: c.location,
    })
}

fn bad_output(stage: &'static str, message: String) -> Outcome {
    Outcome::Bad(Problem {
        stage,
        kind: "bad output",
        message,
        location: String::new(),
    })
}

/// Runs `f` under the fuzzer's `catch_unwind` (the harness's own test).
pub fn run_input_with<R>(f: impl FnOnce() -> R) -> Outcome {
    match catch(f) {
        Ok(_) => Outcome::Compiled,
        Err(c) => panicked("closure", c),
    }
}

/// Runs one input through the compiler. Must run on a thread with a large
/// stack (see [`run_with`]); the panic hook of [`install_quiet_hook`] keeps
/// caught panics quiet.
pub fn run_input(attr: &TokenStream, item: &TokenStream) -> Outcome {
    let out = match catch(|| backprop_compiler::derive_grad(attr.clone(), item.clone())) {
        Ok(out) => out,
        Err(c) => return panicked("derive_grad", c),
    };
    let func = match catch(|| syn::parse2::<syn::ItemFn>(item.clone())) {
        Ok(Ok(f)) => f,
        Ok(Err(_)) => return Outcome::NotAFunction,
        Err(c) => return panicked("syn::parse2::<ItemFn>", c),
    };
    match catch(|| syn::parse2::<syn::File>(out)) {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return bad_output(
                "derive_grad",
                format!("the macro's output does not parse as items: {e}"),
            )
        }
        Err(c) => return panicked("syn::parse2::<File> of derive_grad's output", c),
    }
    let compiled = match catch(|| backprop_compiler::expand::compile(attr.clone(), &func)) {
        Ok(Ok(c)) => c,
        Ok(Err(errors)) if errors.is_empty() => return bad_output(
            "compile",
            "rejected without any error message (the macro would emit no NAME_grad and no error)"
                .into(),
        ),
        Ok(Err(_)) => return Outcome::Rejected,
        Err(c) => return panicked("compile", c),
    };
    let generated = match catch(|| backprop_compiler::expand::generate(&func, &compiled)) {
        Ok(g) => g,
        Err(c) => return panicked("generate", c),
    };
    match catch(|| syn::parse2::<syn::File>(generated)) {
        Ok(Ok(_)) => Outcome::Compiled,
        Ok(Err(e)) => bad_output(
            "generate",
            format!("the generated code does not parse as items: {e}"),
        ),
        Err(c) => panicked("syn::parse2::<File> of generated code", c),
    }
}

/// A deduplicated finding of a run.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The problem (of the smallest input that showed it).
    pub problem: Problem,
    /// How many inputs showed it.
    pub count: u64,
    /// The smallest such input.
    pub example: Example,
    /// The [`known_bugs::KNOWN_BUGS`] entry it matches, if any.
    pub known: Option<&'static str>,
}

/// An input slower than [`SLOW`].
#[derive(Clone, Debug)]
pub struct Slow {
    /// How long it took.
    pub time: Duration,
    /// The input.
    pub input: Example,
}

/// Figures of one source.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    /// Inputs.
    pub inputs: u64,
    /// Differentiated.
    pub compiled: u64,
    /// Rejected with errors.
    pub rejected: u64,
    /// Not a function.
    pub not_a_function: u64,
    /// Findings.
    pub bad: u64,
    /// Time spent running them (summed over threads).
    pub time: Duration,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.inputs += o.inputs;
        self.compiled += o.compiled;
        self.rejected += o.rejected;
        self.not_a_function += o.not_a_function;
        self.bad += o.bad;
        self.time += o.time;
    }
}

/// The result of a run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The run's seed.
    pub seed: u64,
    /// The first input's index.
    pub start: u64,
    /// All inputs.
    pub total: Tally,
    /// Per source: grammar, mutation, stress.
    pub by_source: [Tally; 3],
    /// Findings, by first occurrence.
    pub findings: Vec<Finding>,
    /// Inputs slower than [`SLOW`].
    pub slow: Vec<Slow>,
    /// The slowest input: (time, index).
    pub slowest: (Duration, u64),
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Number of corpus functions mutations started from.
    pub corpus: usize,
}

impl Report {
    /// Findings that are not in [`known_bugs::KNOWN_BUGS`].
    pub fn new_findings(&self) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.known.is_none()).collect()
    }

    fn record(&mut self, input: &Input, outcome: Outcome, time: Duration) {
        let slot = match input.source {
            Source::Grammar => 0,
            Source::Mutation => 1,
            Source::Stress => 2,
        };
        let t = &mut self.by_source[slot];
        t.inputs += 1;
        t.time += time;
        match &outcome {
            Outcome::Compiled => t.compiled += 1,
            Outcome::Rejected => t.rejected += 1,
            Outcome::NotAFunction => t.not_a_function += 1,
            Outcome::Bad(_) => t.bad += 1,
        }
        if time > self.slowest.0 {
            self.slowest = (time, input.index);
        }
        if time > SLOW {
            self.slow.push(Slow {
                time,
                input: input.example(),
            });
        }
        if let Outcome::Bad(problem) = outcome {
            let key = problem.key();
            let text = input.text();
            match self.findings.iter_mut().find(|f| f.problem.key() == key) {
                Some(f) => {
                    f.count += 1;
                    if text.len() < f.example.text.len() {
                        f.example = input.example();
                        f.problem = problem;
                    }
                }
                None => {
                    let known = known_bugs::matching(&problem, &text);
                    self.findings.push(Finding {
                        problem,
                        count: 1,
                        example: input.example(),
                        known,
                    });
                }
            }
        }
    }

    fn merge(&mut self, other: Report) {
        self.corpus = self.corpus.max(other.corpus);
        for (a, b) in self.by_source.iter_mut().zip(&other.by_source) {
            a.add(b);
        }
        if other.slowest.0 > self.slowest.0 {
            self.slowest = other.slowest;
        }
        self.slow.extend(other.slow);
        for f in other.findings {
            let key = f.problem.key();
            match self.findings.iter_mut().find(|g| g.problem.key() == key) {
                Some(g) => {
                    g.count += f.count;
                    if f.example.text.len() < g.example.text.len() {
                        g.example = f.example;
                        g.problem = f.problem;
                    }
                }
                None => self.findings.push(f),
            }
        }
    }

    fn finish(&mut self) {
        self.total = Tally::default();
        for t in &self.by_source {
            self.total.add(t);
        }
        self.findings.sort_by_key(|f| f.example.index);
        self.slow.sort_by_key(|s| s.input.index);
    }
}

/// Shortens a long input for printing.
pub fn abbreviate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{} … ({} characters in all)", &text[..cut], text.len())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.total;
        writeln!(
            f,
            "seed {} inputs {}..{}: {} inputs, {} compiled, {} rejected with errors, {} not a function, {} findings ({} distinct, {} of them new), {} slower than {:?}",
            self.seed,
            self.start,
            self.start + t.inputs,
            t.inputs,
            t.compiled,
            t.rejected,
            t.not_a_function,
            t.bad,
            self.findings.len(),
            self.new_findings().len(),
            self.slow.len(),
            SLOW
        )?;
        for (name, s) in ["grammar", "mutation", "stress"]
            .iter()
            .zip(&self.by_source)
        {
            writeln!(
                f,
                "  {name:9} {:>8} inputs {:>8} compiled {:>8} rejected {:>8} not a function {:>6} findings {:>9.1?}",
                s.inputs, s.compiled, s.rejected, s.not_a_function, s.bad, s.time
            )?;
        }
        writeln!(
            f,
            "  corpus: {} functions; wall time {:.1?}; slowest input #{} took {:.1?}",
            self.corpus, self.elapsed, self.slowest.1, self.slowest.0
        )?;
        for (i, fi) in self.findings.iter().enumerate() {
            let p = &fi.problem;
            let status = match fi.known {
                Some(id) => format!("known bug {id}"),
                None => "NEW".to_string(),
            };
            writeln!(
                f,
                "\nfinding {} [{status}]: {} in {} ({} inputs)\n  message: {}\n  at: {}\n  smallest input: #{} ({}{}), reproduce with --seed {} --start {} --iterations 1\n  {}",
                i + 1,
                p.kind,
                p.stage,
                fi.count,
                abbreviate(&p.message, 500),
                if p.location.is_empty() { "-" } else { &p.location },
                fi.example.index,
                fi.example.source,
                if fi.example.origin.is_empty() { String::new() } else { format!(": {}", fi.example.origin) },
                self.seed,
                fi.example.index,
                abbreviate(&fi.example.text, 3000)
            )?;
        }
        for s in &self.slow {
            writeln!(
                f,
                "\nslow input #{} ({}) took {:.2?}: {}",
                s.input.index,
                s.input.source,
                s.time,
                abbreviate(&s.input.text, 1000)
            )?;
        }
        Ok(())
    }
}

/// How to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// The run's seed.
    pub seed: u64,
    /// The first input's index.
    pub start: u64,
    /// Number of inputs.
    pub iterations: u64,
    /// Worker threads.
    pub jobs: usize,
    /// Print progress to stderr every this many inputs (0: never).
    pub progress: u64,
    /// Report an input still running after this long on stderr, and
    /// abort the process (a hang) after the second duration.
    pub watchdog: Option<(Duration, Duration)>,
    /// Multiplies the largest sizes of stress inputs (1.0: the full sizes,
    /// as in long runs; the fixed-seed test in `cargo test` uses less to
    /// stay under a minute in a debug build). The same seed and index give
    /// the same input shape at every scale.
    pub stress_scale: f64,
}

/// Runs `iterations` inputs of `seed` on one thread.
pub fn run(seed: u64, iterations: u64) -> Report {
    run_with(&Config {
        seed,
        start: 0,
        iterations,
        jobs: 1,
        progress: 0,
        watchdog: None,
        stress_scale: 1.0,
    })
}

/// Runs inputs `start..start + iterations` of `seed` on `jobs` threads,
/// with the quiet panic hook installed for the duration.
pub fn run_with(cfg: &Config) -> Report {
    install_quiet_hook();
    let t0 = Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let jobs = cfg.jobs.max(1) as u64;
    // (index, start time) of the input each worker is on.
    // Per worker: the input it is running and since when.
    type Running = Mutex<Option<(u64, Instant)>>;
    let current: Arc<Vec<Running>> = Arc::new((0..jobs).map(|_| Mutex::new(None)).collect());
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = cfg.watchdog.map(|(limit, hang)| {
        let current = Arc::clone(&current);
        let finished = Arc::clone(&finished);
        let (seed, stress_scale) = (cfg.seed, cfg.stress_scale);
        std::thread::spawn(move || {
            let corpus = corpus::load();
            let mut warned: Vec<u64> = Vec::new();
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                for slot in current.iter() {
                    let Some((index, since)) = *slot.lock().unwrap() else {
                        continue;
                    };
                    let time = since.elapsed();
                    if time > limit && !warned.contains(&index) {
                        warned.push(index);
                        let input = generate(seed, index, &corpus, stress_scale);
                        eprintln!(
                            "[fuzz] input #{index} ({}) still running after {time:.1?}: {}",
                            input.source,
                            abbreviate(&input.text(), 1000)
                        );
                    }
                    if time > hang {
                        eprintln!("[fuzz] input #{index} hangs (over {hang:.0?}); aborting the run: reproduce with --seed {seed} --start {index} --iterations 1");
                        std::process::exit(3);
                    }
                }
            }
        })
    });
    let workers: Vec<_> = (0..jobs)
        .map(|w| {
            let done = Arc::clone(&done);
            let current = Arc::clone(&current);
            let cfg = cfg.clone();
            std::thread::Builder::new()
                .name(format!("fuzz-{w}"))
                .stack_size(WORKER_STACK)
                .spawn(move || {
                    // syn trees are not `Send`: each worker parses the corpus.
                    let corpus = corpus::load();
                    let mut report = Report {
                        corpus: corpus.len(),
                        ..Report::default()
                    };
                    let mut i = cfg.start + w;
                    while i < cfg.start + cfg.iterations {
                        let input = generate(cfg.seed, i, &corpus, cfg.stress_scale);
                        *current[w as usize].lock().unwrap() = Some((i, Instant::now()));
                        let t = Instant::now();
                        let outcome = run_input(&input.attr, &input.item);
                        let time = t.elapsed();
                        *current[w as usize].lock().unwrap() = None;
                        report.record(&input, outcome, time);
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if cfg.progress > 0 && n % cfg.progress == 0 {
                            eprintln!("[fuzz] {n} inputs");
                        }
                        i += jobs;
                    }
                    report
                })
                .expect("spawn a fuzz worker")
        })
        .collect();
    let mut report = Report {
        seed: cfg.seed,
        start: cfg.start,
        ..Report::default()
    };
    for w in workers {
        match w.join() {
            Ok(r) => report.merge(r),
            Err(_) => panic!("a fuzz worker panicked outside catch_unwind"),
        }
    }
    finished.store(true, Ordering::Relaxed);
    if let Some(w) = watchdog {
        let _ = w.join();
    }
    report.elapsed = t0.elapsed();
    report.finish();
    report
}

/// Runs one input on a large-stack thread with the quiet hook (for the
/// minimizer and for replays).
pub fn run_isolated(attr: &TokenStream, item: &TokenStream) -> Outcome {
    install_quiet_hook();
    let (attr, item) = (attr.to_string(), item.to_string());
    std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(move || {
            let attr: TokenStream = attr.parse().unwrap_or_default();
            let item: TokenStream = item.parse().unwrap_or_default();
            run_input(&attr, &item)
        })
        .expect("spawn")
        .join()
        .unwrap_or_else(|_| {
            Outcome::Bad(Problem {
                stage: "fuzzer",
                kind: "panic",
                message: "the worker thread panicked outside catch_unwind".into(),
                location: String::new(),
            })
        })
}

/// A one-line description of an outcome.
pub fn describe(o: &Outcome) -> String {
    let mut s = String::new();
    match o {
        Outcome::Compiled => s.push_str("compiled"),
        Outcome::Rejected => s.push_str("rejected"),
        Outcome::NotAFunction => s.push_str("not a function"),
        Outcome::Bad(p) => {
            let _ = write!(
                s,
                "{} in {}: {} at {}",
                p.kind, p.stage, p.message, p.location
            );
        }
    }
    s
}
