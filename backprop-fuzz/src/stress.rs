//! Inputs of stress sizes: deep nesting (up to a few hundred levels), long
//! sums and method chains, many bindings and parameters, large arrays and
//! loop bounds. Sizes are drawn log-uniformly, so most are moderate and a
//! few reach the maximum; the maxima keep one input to well under a second
//! of compilation in a release build.

use crate::grammar::Generated;
use crate::rng::Rng;

/// A size drawn log-uniformly from `lo..=hi·scale` (never below `lo`).
fn size(rng: &mut Rng, scale: f64, lo: usize, hi: usize) -> usize {
    rng.log_size(lo, ((hi as f64 * scale) as usize).max(lo))
}

/// Generates one stress input; `scale` multiplies the maximal sizes (1.0
/// in long runs).
pub fn function(rng: &mut Rng, scale: f64) -> Generated {
    let elem = *rng.pick(&["f64", "f64", "f32"]);
    let attr = if rng.chance(0.1) { "explain" } else { "" }.to_string();
    let m1 = *rng.pick(&[
        "sin", "tanh", "exp", "abs", "sqrt", "ln", "cos", "atan", "sinh",
    ]);
    let m2 = *rng.pick(&["sigmoid", "relu", "square", "softplus", "silu"]);
    let src = match rng.below(18) {
        0 => {
            let n = size(rng, scale, 1, 300);
            format!(
                "fn f(x: {elem}) -> {elem} {{ {}x * 2.0{} }}",
                "(".repeat(n),
                ")".repeat(n)
            )
        }
        1 => {
            let n = size(rng, scale, 1, 300);
            format!(
                "fn f(x: {elem}) -> {elem} {{ {}x{} }}",
                "{ ".repeat(n),
                " }".repeat(n)
            )
        }
        2 => {
            let n = size(rng, scale, 1, 200);
            let mut s = "x".to_string();
            for k in 0..n {
                s = format!("if x > {k}.5 {{ {s} * x }} else {{ x - {k}.0 }}");
            }
            format!("fn f(x: {elem}) -> {elem} {{ {s} }}")
        }
        3 => {
            let n = size(rng, scale, 1, 1000);
            format!(
                "fn f(x: {elem}) -> {elem} {{ x{} }}",
                format!(".{m1}()").repeat(n)
            )
        }
        4 => {
            let n = size(rng, scale, 1, 2000);
            let terms: Vec<String> = (0..n).map(|k| format!("x * {k}.5")).collect();
            format!("fn f(x: {elem}) -> {elem} {{ {} }}", terms.join(" + "))
        }
        5 => {
            let n = size(rng, scale, 1, 2000);
            let mut s = String::from("let v0 = x;");
            for k in 1..n {
                s.push_str(&format!(" let v{k} = v{} * 0.5 + x;", k - 1));
            }
            format!("fn f(x: {elem}) -> {elem} {{ {s} v{} }}", n - 1)
        }
        6 => {
            let n = size(rng, scale, 1, 100_000);
            format!(
                "fn f(x: {elem}) -> {elem} {{ let mut s = x; for i in 0..{n} {{ s = s * 0.5 + x * (i as {elem}); }} s }}"
            )
        }
        7 => {
            let n = size(rng, scale, 1, 20_000);
            format!(
                "fn f(w: [{elem}; {n}]) -> {elem} {{ w.iter().sum::<{elem}>() * w[{}] }}",
                n - 1
            )
        }
        8 => {
            let n = size(rng, scale, 1, 60);
            format!(
                "fn f(w: {}{elem}{}) -> {elem} {{ w{} }}",
                "[".repeat(n),
                "; 1]".repeat(n),
                "[0]".repeat(n)
            )
        }
        9 => {
            let n = size(rng, scale, 1, 300);
            let params: Vec<String> = (0..n).map(|k| format!("p{k}: {elem}")).collect();
            let sum: Vec<String> = (0..n).map(|k| format!("p{k}")).collect();
            let wrt: Vec<String> = (0..n)
                .filter(|k| k % 2 == 0)
                .map(|k| format!("p{k}"))
                .collect();
            return Generated {
                attr: format!("wrt({})", wrt.join(", ")),
                src: format!(
                    "fn f({}) -> {elem} {{ {} }}",
                    params.join(", "),
                    sum.join(" * ")
                ),
            };
        }
        10 => {
            // a deep network for `explain`
            let n = size(rng, scale, 1, 40);
            let mut s = String::from("let a0 = x;");
            for k in 1..=n {
                s.push_str(&format!(
                    " let a{k} = {m2}(a{} * w[{}] + a{});",
                    k - 1,
                    k % 4,
                    (k / 2)
                ));
            }
            return Generated {
                attr: "explain".into(),
                src: format!("fn f(w: [{elem}; 4], x: {elem}) -> {elem} {{ {s} a{n} }}"),
            };
        }
        11 => {
            let n = size(rng, scale, 1, 300);
            format!("fn f(x: {elem}) -> {elem} {{ {}x }}", "-".repeat(n))
        }
        12 => {
            let n = size(rng, scale, 1, 300);
            format!(
                "fn f(x: {elem}, b: bool) -> {elem} {{ if {}b {{ x }} else {{ -x }} }}",
                "!".repeat(n)
            )
        }
        13 => {
            let n = size(rng, scale, 1, 1000);
            let mut s = String::from("let mut s = x;");
            for k in 0..n {
                let op = ["+=", "-=", "*=", "/="][k % 4];
                s.push_str(&format!(" s {op} x * 0.5 + 1.0;"));
            }
            format!("fn f(x: {elem}) -> {elem} {{ {s} s }}")
        }
        14 => {
            // many variables changed in one run-time `if`
            let n = size(rng, scale, 1, 500);
            let mut s = String::new();
            for k in 0..n {
                s.push_str(&format!("let mut v{k} = x * {k}.0;"));
            }
            s.push_str(" if x > 0.5 {");
            for k in 0..n {
                s.push_str(&format!(" v{k} = v{k} * x;"));
            }
            s.push_str(" }");
            let sum: Vec<String> = (0..n).map(|k| format!("v{k}")).collect();
            format!("fn f(x: {elem}) -> {elem} {{ {s} {} }}", sum.join(" + "))
        }
        15 => {
            // nested loops, small bounds
            let depth = rng.range(1, 8);
            let bound = rng.range(1, 3);
            let mut body = String::from("s = s * 0.9 + x;");
            for d in 0..depth {
                body = format!("for i{d} in 0..{bound} {{ {body} }}");
            }
            format!("fn f(x: {elem}) -> {elem} {{ let mut s = x; {body} s }}")
        }
        16 => {
            // nested loops that build nothing: only iterations
            let depth = rng.range(1, 3);
            let bound = size(rng, scale, 1, 150);
            let mut body = String::new();
            for d in 0..depth {
                body = format!("for i{d} in 0..{bound} {{ {body} }}");
            }
            format!("fn f(x: {elem}) -> {elem} {{ {body} x }}")
        }
        _ => {
            // a wide array literal and a repeat expression
            let n = size(rng, scale, 1, 5000);
            let elems: Vec<String> = (0..n.min(3000)).map(|k| format!("x * {k}.0")).collect();
            format!(
                "fn f(x: {elem}) -> {elem} {{ let a = [{}]; let b = [x; {n}]; a.iter().sum::<{elem}>() + b.iter().sum::<{elem}>() }}",
                elems.join(", ")
            )
        }
    };
    Generated { attr, src }
}
