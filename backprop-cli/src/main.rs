//! `backprop explain FILE.rs FUNCTION [--latex] [--dot OUT.dot] [--svg OUT.svg]`
//! `backprop expand FILE.rs FUNCTION`
//!
//! Explains a loss function from a Rust source file, with no code to write:
//! its computation graph in its own names, and the chain-rule derivation of
//! every gradient, simplified. The function is read as `#[derive_grad]`
//! reads it (with its `wrt(...)` if it has the attribute), by the
//! compiler's own stages. `expand` prints the code the attribute generates
//! for it (`NAME_grad` and the rest), pretty-printed.
//!
//! Run it with `cargo run -p backprop-cli -- explain FILE FUNCTION`, or
//! install it with `cargo install --path backprop-cli`.

use std::process::ExitCode;

use backprop_cli::explain_source;

const USAGE: &str =
    "usage: backprop explain FILE.rs FUNCTION [--latex] [--dot OUT.dot] [--svg OUT.svg]
       backprop expand FILE.rs FUNCTION";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("explain") => {
            args.remove(0);
            explain(args)
        }
        Some("expand") => expand(&args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn read_source(file: &str) -> Result<String, ExitCode> {
    std::fs::read_to_string(file).map_err(|e| {
        eprintln!("cannot read {file}: {e}");
        ExitCode::from(2)
    })
}

fn expand(args: &[String]) -> ExitCode {
    let [file, function] = args else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let source = match read_source(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match backprop_cli::expand_source(&source, function) {
        Ok(code) => {
            print!("{code}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn explain(args: Vec<String>) -> ExitCode {
    let (mut positional, mut latex, mut dot, mut svg) = (Vec::new(), false, None, None);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--latex" => latex = true,
            "--dot" => dot = it.next(),
            "--svg" => svg = it.next(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => positional.push(a),
        }
    }
    let [file, function] = positional.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let source = match read_source(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let explanation = match explain_source(&source, function) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Computation of {}:", explanation.graph.function);
    for n in &explanation.graph.nodes {
        if !n.definition.is_empty() {
            println!("  {} = {}", n.name, n.definition);
        }
    }
    println!();
    print!("{explanation}");
    if latex {
        println!();
        print!("{}", explanation.to_latex());
    }
    if let Some(path) = dot {
        if let Err(e) = std::fs::write(&path, explanation.graph.to_dot()) {
            eprintln!("cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
        println!("wrote {path}");
    }
    if let Some(path) = svg {
        if let Err(e) = explanation.graph.write_svg(&path) {
            eprintln!("cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
        println!("wrote {path}");
    }
    ExitCode::SUCCESS
}
