//! Derivations of the seed networks: snapshots of the text, and every
//! closed form evaluated against the adjoints of the main sweep.

use super::compile;
use super::fixtures::FIXTURES;

fn fixture(name: &str) -> (&'static str, &'static str) {
    let (_, attr, src) = FIXTURES.iter().find(|f| f.0 == name).unwrap();
    (attr, src)
}

/// The derivation as `NAME_explain()` prints it, with the LaTeX.
fn derivation_text(attr: &str, src: &str) -> String {
    let attr = if attr.is_empty() {
        "explain".to_owned()
    } else {
        format!("{attr}, explain")
    };
    let (_, c) = compile(&attr, src).unwrap();
    let data = c.explain.as_ref().unwrap();
    let mut s = String::new();
    for n in &data.nodes {
        let def = n
            .definition
            .as_ref()
            .map(|d| format!(" = {}", d.unicode()))
            .unwrap_or_default();
        s.push_str(&format!("{:?} {}{def}\n", n.kind, n.name));
    }
    s.push('\n');
    let out = &data.nodes.last().unwrap().name;
    for step in &data.steps {
        let name = &data.nodes[step.node].name;
        s.push_str(&format!(
            "∂{out}/∂{name} = {} = {}\n",
            step.chain.unicode(),
            step.closed.unicode()
        ));
    }
    s.push('\n');
    for step in &data.steps {
        s.push_str(&format!(
            "{} = {}\n",
            step.chain.latex(),
            step.closed.latex()
        ));
    }
    s
}

/// Evaluates each step's closed form at a point (atoms take the values the
/// graph computes for what they stand for) and compares it with the
/// adjoint the main sweep computed for that node.
fn check_closed_forms(attr: &str, src: &str, point: &dyn Fn(u32, u32) -> f64) -> usize {
    let attr = if attr.is_empty() {
        "explain".to_owned()
    } else {
        format!("{attr}, explain")
    };
    let (_, c) = compile(&attr, src).unwrap();
    let data = c.explain.as_ref().unwrap();
    let values = c.lowered.graph.eval(point);
    let mut checked = 0;
    for step in &data.steps {
        let node = data.nodes[step.node].id;
        let adjoint = c.adjoint[node.index()]
            .map(|a| values[a.index()])
            .unwrap_or(0.0);
        let closed = step
            .closed_rat
            .as_ref()
            .expect("an element-wise explanation")
            .eval(&|a| values[data.atom_values[a as usize].index()]);
        let tol = 1e-9 * adjoint.abs().max(1.0);
        assert!(
            (closed - adjoint).abs() <= tol,
            "∂/∂{}: closed form {} = {closed}, sweep {adjoint}",
            data.nodes[step.node].name,
            step.closed.unicode()
        );
        checked += 1;
    }
    checked
}

fn point(p: u32, i: u32) -> f64 {
    // A fixed, irregular point, inside every function's domain.
    0.3 + 0.17 * f64::from(p) + 0.11 * f64::from(i) - 0.05 * f64::from(i % 3)
}

#[test]
fn seed_derivations_snapshot() {
    for name in [
        "seed003_sigmoid_2_2_2",
        "seed001_linear_2_3_1",
        "seed000_neuron_chain",
    ] {
        let (attr, src) = fixture(name);
        insta::assert_snapshot!(format!("derivation_{name}"), derivation_text(attr, src));
    }
}

#[test]
fn closed_forms_equal_the_sweep_on_every_fixture() {
    let mut total = 0;
    for (name, attr, src) in FIXTURES {
        if name.contains("calls_other") {
            continue; // calls cannot be evaluated on the graph
        }
        total += check_closed_forms(attr, src, &point);
    }
    assert!(total > 100, "only {total} steps checked");
}

#[test]
fn seed_003_reads_like_the_hand_derivation() {
    let (attr, src) = fixture("seed003_sigmoid_2_2_2");
    let text = derivation_text(attr, src);
    assert!(
        text.contains("∂loss/∂z3 = ∂loss/∂e1·∂e1/∂p1·∂p1/∂z3 = p1 − y1\n"),
        "{text}"
    );
    assert!(
        text.contains("∂loss/∂w[4] = ∂loss/∂e1·∂e1/∂p1·∂p1/∂z3·∂z3/∂w[4] = (p1 − y1)·a1\n"),
        "{text}"
    );
    assert!(
        text.contains(" = (p1 − y1)·w[4] + (p2 − y2)·w[6]\n"),
        "{text}"
    );
}

#[test]
fn closed_forms_of_each_method() {
    let exprs = [
        "x.exp()",
        "x.exp2()",
        "x.exp_m1()",
        "(x + 2.0).ln()",
        "x.ln_1p()",
        "(x + 2.0).log(3.0)",
        "(x + 2.0).log2()",
        "(x + 2.0).log10()",
        "(x + 2.0).sqrt()",
        "x.cbrt()",
        "x.recip()",
        "x.sin() * x.cos()",
        "x.tan()",
        "(x / 4.0).asin()",
        "(x / 4.0).acos()",
        "x.atan()",
        "x.atan2(2.0)",
        "x.sinh()",
        "x.cosh()",
        "x.tanh()",
        "x.abs()",
        "x.max(0.3)",
        "x.min(0.2)",
        "x.hypot(1.5)",
        "x.mul_add(2.0, 1.0)",
        "x.powf(1.5)",
        "x.powi(3)",
    ];
    let mut failures = Vec::new();
    for e in exprs {
        let src = format!("fn f(x: f64) -> f64 {{ let a = {e}; a * x }}");
        let r = std::panic::catch_unwind(|| check_closed_forms("", &src, &point));
        if r.is_err() {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn explain_of_losses_without_gradient_flow_does_not_panic() {
    for src in [
        "fn f(w: f64) -> f64 { 2.0 }",
        "fn f(w: f64, x: f64) -> f64 { x * 2.0 }",
        "fn f(w: f64) -> f64 { let b = (w * 2.0).floor(); b }",
        "fn f(w: f64) -> f64 { let b = (w * 2.0).floor(); let c = b * w; c }",
        "fn f(w: [f64; 2]) -> f64 { let b = w[0].floor(); b + w[1].signum() }",
    ] {
        let func: syn::ItemFn = syn::parse_str(src).unwrap();
        let c = crate::expand::compile(quote::quote!(explain), &func)
            .unwrap_or_else(|_| panic!("{src} compiles"));
        let data = c.explain.as_ref().expect("explained");
        assert!(data.nodes.iter().any(|n| n.id == c.lowered.output), "{src}");
        let _ = crate::expand::generate(&func, &c);
    }
}

/// A value repeated in a long array passed to a helper has an adjoint that
/// is a sum of as many terms: explaining it once recursed once per term
/// and overflowed the stack (a fuzzer input with 100,000). It compiles, on
/// a test thread's small stack.
#[test]
fn a_long_chain_of_sums_does_not_overflow_the_stack() {
    let src = "fn f(x: [f64; 2]) -> f64 { let v = helper([x[1] / (x[0] * x[0] + 1.0); 20000]); v * x[0] }";
    let (_, c) = compile("explain", src).unwrap_or_else(|e| {
        panic!(
            "{:?}",
            e.iter().map(ToString::to_string).collect::<Vec<_>>()
        )
    });
    assert!(c.explain.is_some());
}
