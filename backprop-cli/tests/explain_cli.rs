//! The command-line explainer (`backprop explain FILE FUNCTION`) on the seed
//! examples' own source files, through its library and its binary.

use backprop_cli as source;

fn example(name: &str) -> String {
    let path = format!("{}/../examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn explains_the_seed_003_example_from_its_source() {
    let src = example("sigmoid_net_2_2_2.rs");
    let e = source::explain_source(&src, "loss").unwrap();
    // wrt(w, b) is read from the function's own attribute.
    assert_eq!(e.step("w[4]").unwrap().closed, "(p1 − y[0])·a1");
    assert_eq!(e.step("b[2]").unwrap().closed, "p1 − y[0]");
    assert_eq!(
        e.step("a1").unwrap().closed,
        "(p1 − y[0])·w[4] + (p2 − y[1])·w[6]"
    );
    assert!(e.graph.to_svg().starts_with("<svg"));
}

#[test]
fn explains_the_seed_001_example_and_reports_errors() {
    let src = example("linear_net_2_3_1.rs");
    let e = source::explain_source(&src, "loss").unwrap();
    assert_eq!(e.step("w[0]").unwrap().closed, "(y − t)·w[6]·x1");
    assert_eq!(e.step("y").unwrap().closed, "y − t");
    let err = source::explain_source(
        "fn f(x: f64, n: usize) -> f64 { let mut s = x; let mut k = 0; while k < n { s = s * x; k += 1; } s }",
        "f",
    )
    .unwrap_err();
    assert!(err.contains("`while` loops"), "{err}");
    assert!(source::explain_source(&src, "nope")
        .unwrap_err()
        .contains("no function `nope`"));
}

#[test]
fn the_binary_explains_a_file_and_fails_cleanly() {
    let bin = env!("CARGO_BIN_EXE_backprop");
    let file = format!(
        "{}/../examples/linear_net_2_3_1.rs",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = std::process::Command::new(bin)
        .args(["explain", &file, "loss"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("(y − t)·w[6]·x1"), "{text}");
    let out = std::process::Command::new(bin)
        .args(["explain", &file, "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("no function `nope`"));
    let out = std::process::Command::new(bin).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "no subcommand is a usage error");
}

#[test]
fn expand_prints_the_generated_gradient_of_a_seed_example() {
    let src = example("sigmoid_net_2_2_2.rs");
    let code = source::expand_source(&src, "loss").unwrap();
    // The original function is kept and `loss_grad` is generated next to it,
    // as the macro emits them (the generated code parsed back by prettyplease).
    assert!(code.contains("pub fn loss("), "{code}");
    assert!(code.contains("pub fn loss_grad("), "{code}");
    let err = source::expand_source("fn f(x: f64) -> f64 { x.frobnicate() }", "f").unwrap_err();
    assert!(err.contains("frobnicate"), "{err}");
}
