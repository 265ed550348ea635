//! Snapshots of the generated code (pretty-printed), reviewed by hand, and
//! the expression-swell bound on every fixture.

use super::fixtures::FIXTURES;
use super::{expand_pretty, op_counts};

#[test]
fn generated_code_snapshots() {
    for (name, attr, src) in FIXTURES {
        let code = expand_pretty(attr, src);
        insta::with_settings!({ description => *src, omit_expression => true }, {
            insta::assert_snapshot!(*name, code);
        });
    }
}

#[test]
fn no_expression_swell_on_any_fixture() {
    let mut report = String::new();
    for (name, attr, src) in FIXTURES {
        let (forward, grad) = op_counts(attr, src);
        let ratio = grad as f64 / forward as f64;
        report.push_str(&format!(
            "{name:32} forward {forward:4}  grad {grad:4}  ratio {ratio:.2}\n"
        ));
        assert!(
            ratio <= 3.0,
            "{name}: NAME_grad has {grad} operations, the forward {forward}: ratio {ratio:.2} > 3"
        );
    }
    println!("{report}");
}

#[test]
fn every_error_in_a_function_is_reported_at_once() {
    let errs = super::errors(
        "",
        "fn f(x: f64, n: usize) -> f64 {
            let mut s = x.frobnicate();
            while s < 1.0 { s = s * 2.0; }
            let c = |y: f64| y * 2.0;
            println!(\"{}\", s);
            for i in 0..n { s += x; }
            s
        }",
    );
    let joined = errs.join("\n");
    assert_eq!(errs.len(), 5, "{joined}");
    for needle in ["frobnicate", "`while`", "closures", "println!", "loop bound"] {
        assert!(joined.contains(needle), "missing {needle}: {joined}");
    }
}

#[test]
fn wrt_errors_name_the_parameters() {
    let errs = super::errors("wrt(q)", "fn f(x: f64, flag: bool) -> f64 { x }");
    assert!(errs[0].contains("`q`") && errs[0].contains("`x`, `flag`"), "{errs:?}");
    let errs = super::errors("wrt(flag)", "fn f(x: f64, flag: bool) -> f64 { x }");
    assert!(errs[0].contains("cannot differentiate with respect to `flag`"), "{errs:?}");
}
