//! The command-line explainer (`cargo run --example explain -- FILE FUNCTION`)
//! on the seed examples' own source files.

include!("../examples/explain/stages.rs");

#[path = "../examples/explain/source.rs"]
mod source;

#[test]
fn explains_the_seed_003_example_from_its_source() {
    let src = std::fs::read_to_string("examples/sigmoid_net_2_2_2.rs").unwrap();
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
    let src = std::fs::read_to_string("examples/linear_net_2_3_1.rs").unwrap();
    let e = source::explain_source(&src, "loss").unwrap();
    assert_eq!(e.step("w[0]").unwrap().closed, "(y − t)·w[6]·x1");
    assert_eq!(e.step("y").unwrap().closed, "y − t");
    let err =
        source::explain_source("fn f(x: f64) -> f64 { while x > 0.0 {} x }", "f").unwrap_err();
    assert!(err.contains("`while` loops are not supported"), "{err}");
    assert!(source::explain_source(&src, "nope")
        .unwrap_err()
        .contains("no function `nope`"));
}
