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
