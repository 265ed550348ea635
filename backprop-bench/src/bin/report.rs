//! Prints the tables of BENCHMARKS.md from the last `cargo bench -p
//! backprop-bench`: the median of every contender (criterion's
//! `new/estimates.json`) and the ratios, per problem.
//!
//! `cargo run -p backprop-bench --release --bin report [criterion dir]`

use std::path::{Path, PathBuf};

const GROUPS: &[(&str, &str)] = &[
    ("seed001_2_3_1", "seeds/001 2-3-1 linear net (9 parameters)"),
    (
        "seed003_2_2_2",
        "seeds/003 2-2-2 sigmoid/cross-entropy net (12 parameters)",
    ),
    ("rosenbrock_100", "Rosenbrock, 100 parameters, literal loop"),
    (
        "mlp_4_16_3",
        "4-16-3 tanh MLP, softmax cross-entropy, one sample (131 parameters)",
    ),
    ("logistic_8", "logistic map iterated 8 times (1 parameter)"),
];

const CONTENDERS: &[(&str, &str)] = &[
    ("1_forward", "forward function alone"),
    ("2_backprop", "backprop `NAME_grad`"),
    ("3_hand", "hand-written value + gradient"),
    ("4_num_dual", "num-dual (forward mode, `DualSVec64<N>`)"),
    ("5_central_fd", "central finite differences"),
    ("6_candle_1", "candle-core tape, 1 sample"),
    (
        "6_candle_batch1024",
        "candle-core tape, batch 1024, per sample",
    ),
    ("7_symdiff", "symdiff (gradient only)"),
];

fn median_ns(dir: &Path, group: &str, bench: &str) -> Option<f64> {
    let p = dir
        .join(group)
        .join(bench)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(p).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn fmt_time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var("CARGO_TARGET_DIR")
                .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
            Path::new(&target).join("criterion")
        });
    let mut summary = Vec::new();
    for (group, title) in GROUPS {
        println!("### {title}\n");
        println!("| contender | median | ÷ backprop | ÷ forward |");
        println!("|---|---:|---:|---:|");
        let get = |b: &str| {
            median_ns(&dir, group, b).map(|t| {
                if b.contains("batch1024") {
                    t / 1024.0
                } else {
                    t
                }
            })
        };
        let fwd = get("1_forward");
        let bp = get("2_backprop");
        for (bench, name) in CONTENDERS {
            match get(bench) {
                Some(t) => {
                    let r_bp = bp.map_or("—".into(), |b| format!("{:.2}", t / b));
                    let r_f = fwd.map_or("—".into(), |f| format!("{:.2}", t / f));
                    println!("| {name} | {} | {r_bp} | {r_f} |", fmt_time(t));
                }
                None => println!("| {name} | not expressible | | |"),
            }
        }
        println!();
        let r = |b: &str| match (get(b), bp) {
            (Some(t), Some(b)) => format!("{:.2}", t / b),
            _ => "—".into(),
        };
        let inv = |b: &str| match (get(b), bp) {
            (Some(t), Some(b)) => format!("{:.1}×", t / b),
            _ => "—".into(),
        };
        summary.push(format!(
            "| {group} | {} | {} | {} | {} | {} | {} | {} |",
            match (bp, get("3_hand")) {
                (Some(b), Some(h)) => format!("{:.2}", b / h),
                _ => "—".into(),
            },
            match (bp, fwd) {
                (Some(b), Some(f)) => format!("{:.2}", b / f),
                _ => "—".into(),
            },
            inv("4_num_dual"),
            inv("5_central_fd"),
            inv("6_candle_1"),
            inv("6_candle_batch1024"),
            r("7_symdiff"),
        ));
    }
    println!("### Ratios\n");
    println!(
        "| problem | backprop ÷ hand (≤ 1.10) | backprop ÷ forward (≤ 3.0) | num-dual ÷ backprop | finite diff. ÷ backprop | candle 1 ÷ backprop (≥ 20) | candle batch/1024 ÷ backprop | symdiff ÷ backprop |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for line in summary {
        println!("{line}");
    }
}
