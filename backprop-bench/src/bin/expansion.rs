//! The cost of the macro itself: expansion time and emitted code size of
//! `#[derive_grad]` on generated losses of about 1k, 10k and 100k forward
//! operations, run in-process on the compiler library (backprop-compiler)
//! through proc-macro2.
//!
//! `cargo run -p backprop-bench --release --bin expansion` (the macro at
//! opt-level 3, as with `[profile.dev.build-override] opt-level = 3`), and
//! `cargo run -p backprop-bench --bin expansion` (opt-level 0: how cargo
//! builds a proc-macro by default, in dev and in release).

use backprop_compiler::expand;

use std::str::FromStr;
use std::time::Instant;

use proc_macro2::TokenStream;

/// `for i in 0..n { s += (w[i] * x[i]).tanh(); }`: 3 forward operations per
/// term (multiply, tanh, add).
fn source(n: usize) -> String {
    format!(
        "fn big(w: [f64; {n}], x: [f64; {n}]) -> f64 {{
            let mut s = 0.0;
            for i in 0..{n} {{
                s += (w[i] * x[i]).tanh();
            }}
            s
        }}"
    )
}

fn count_tokens(ts: &TokenStream) -> usize {
    ts.clone()
        .into_iter()
        .map(|t| match t {
            proc_macro2::TokenTree::Group(g) => 1 + count_tokens(&g.stream()),
            _ => 1,
        })
        .sum()
}

fn main() {
    let profile = if cfg!(debug_assertions) {
        "opt-level 0 (debug)"
    } else {
        "opt-level 3 (release)"
    };
    println!("macro stages compiled at {profile}");
    println!("| terms | forward ops | expansion (min of runs) | per forward op | emitted tokens | `let` statements | emitted bytes |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("term counts"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![333, 3333, 33333]
    } else {
        sizes
    };
    let mut stages = Vec::new();
    for n in sizes {
        let item = TokenStream::from_str(&source(n)).unwrap();
        let attr = TokenStream::new();
        let runs = if n > 10_000 { 3 } else { 5 };
        let mut best = f64::INFINITY;
        let mut out = TokenStream::new();
        for _ in 0..runs {
            let t = Instant::now();
            out = expand::derive_grad(attr.clone(), item.clone());
            best = best.min(t.elapsed().as_secs_f64());
        }
        // where the time goes: parsing, lowering + differentiation, emission
        let t = Instant::now();
        let func: syn::ItemFn = syn::parse2(item.clone()).unwrap();
        let t_parse = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let compiled =
            expand::compile(attr.clone(), &func).unwrap_or_else(|_| panic!("the loss compiles"));
        let t_compile = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _ = expand::generate(&func, &compiled);
        let t_generate = t.elapsed().as_secs_f64();
        stages.push(format!(
            "| {n} | {t_parse:.3} s | {t_compile:.3} s | {t_generate:.3} s |"
        ));
        let text = out.to_string();
        assert!(
            !text.contains("compile_error"),
            "expansion failed: {}",
            &text[..text.len().min(2000)]
        );
        let lets = text.matches("let ").count();
        println!(
            "| {n} | {} | {:.3} s | {:.2} µs | {} | {lets} | {} |",
            3 * n,
            best,
            best / (3 * n) as f64 * 1e6,
            count_tokens(&out),
            text.len(),
        );
    }
    println!();
    println!("| terms | parse (syn) | lower + differentiate (`expand::compile`) | emit (`expand::generate`) |");
    println!("|---:|---:|---:|---:|");
    for s in stages {
        println!("{s}");
    }
}
