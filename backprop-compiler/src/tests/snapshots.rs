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

/// The second-order companion of a helper that calls another: its marker
/// bound by its trait, whose supertrait is the callee's; the callee's
/// companion called once along the tangents (`sq_hvp_all`), its value,
/// gradient and H·t read from the result (no `sq_vjp` call: the tangents
/// are computed at the call).
#[test]
fn second_order_companion_snapshot() {
    let src = "fn inner(w: &[f64; 3], c: f64, k: i32) -> f64 {
        (w[0] * w[1]).sin() + c * w[2].exp() + sq(w[0] - c) * k as f64
    }";
    insta::with_settings!({ description => src, omit_expression => true }, {
        insta::assert_snapshot!("second_order_companion", super::companion_pretty(src));
    });
}

/// A recursive expansion in minors passing its slice to itself: the
/// caller's reverse calls the callee's `NAME_pullback` (seeded with the
/// call's adjoint, adding into the slice's adjoint buffer, sharing the
/// tape), under the condition the call ran under; the call's value is
/// taped, not recomputed. The snapshot is the function's `NAME_grad` and
/// its own pullback.
#[test]
fn slice_call_snapshot() {
    let src = "fn minor(a: &[f64], n: usize, row: usize, used: u64) -> f64 {
        if row + 1 == n {
            return a[row * n + (!used).trailing_zeros() as usize];
        }
        let mut total = 0.0;
        let mut sign = 1.0;
        for j in 0..n {
            if used & (1 << j) == 0 {
                total += sign * a[row * n + j] * minor(a, n, row + 1, used | (1 << j));
                sign = -sign;
            }
        }
        total
    }";
    let code = expand_pretty("", src)
        .lines()
        .skip_while(|l| !l.contains("fn minor_grad("))
        .take_while(|l| !l.starts_with("/// Value of [`minor`], adding"))
        .collect::<Vec<_>>()
        .join("\n");
    let code = format!("{code}\n{}", super::pullback_pretty(src));
    insta::with_settings!({ description => src, omit_expression => true }, {
        insta::assert_snapshot!("slice_call_minor", code);
    });
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
            loop { s = s * 2.0; }
            let c = |y: f64| s += y;
            let v = format!(\"{}\", s);
            s
        }",
    );
    let joined = errs.join("\n");
    assert_eq!(errs.len(), 4, "{joined}");
    for needle in ["frobnicate", "`loop`", "assigns to `s`", "format!"] {
        assert!(joined.contains(needle), "missing {needle}: {joined}");
    }
}

#[test]
fn wrt_errors_name_the_parameters() {
    let errs = super::errors("wrt(q)", "fn f(x: f64, flag: bool) -> f64 { x }");
    assert!(
        errs[0].contains("`q`") && errs[0].contains("`x`, `flag`"),
        "{errs:?}"
    );
    let errs = super::errors("wrt(flag)", "fn f(x: f64, flag: bool) -> f64 { x }");
    assert!(
        errs[0].contains("cannot differentiate with respect to `flag`"),
        "{errs:?}"
    );
}

#[test]
#[ignore = "timing probe, run by hand"]
fn expansion_time_probe() {
    for n in [100usize, 1000, 10000] {
        let src = format!(
            "fn big(w: [f64; {n}], x: [f64; {n}]) -> f64 {{
                let mut s = 0.0;
                for i in 0..{n} {{
                    let z = w[i] * x[i] + 0.5;
                    s += z.tanh() * z;
                }}
                s
            }}"
        );
        let t = std::time::Instant::now();
        let (func, c) = super::compile("", &src).unwrap();
        let t_compile = t.elapsed();
        let tokens = crate::expand::generate(&func, &c);
        let len = tokens.to_string().len();
        let (fwd, grad) = super::op_counts("", &src);
        println!("n={n} forward_ops={fwd} grad_ops={grad} compile={t_compile:?} total={:?} code_bytes={len}", t.elapsed());
    }
}

/// Loops that stay loops: the forward loop, the tape, and the reversed loop.
const ROLLED: &[(&str, &str, &str)] = &[
    (
        "rolled_mlp_layer",
        "wrt(w)",
        "fn layer(w: &[[f64; 30]; 20], x: &[f64; 30]) -> f64 {
            let mut h = [0.0; 20];
            for j in 0..20 {
                let mut s = 0.0;
                for i in 0..30 {
                    s += w[j][i] * x[i];
                }
                h[j] = s.tanh();
            }
            let mut loss = 0.0;
            for j in 0..20 {
                loss += h[j] * h[j];
            }
            loss
        }",
    ),
    // Reverse mode through time: the inputs are differentiated too (an
    // array), so the mode choice keeps reverse mode and a tape of `h`.
    (
        "rolled_rnn_run_time_length",
        "wrt(w, u, x)",
        "fn rnn(w: f64, u: f64, x: &[f64; 64], n: usize) -> f64 {
            let mut h = 0.0;
            for t in 0..n {
                h = (w * h + u * x[t]).tanh();
            }
            h * h
        }",
    ),
    // With respect to the two scalars only: the mode choice takes forward
    // mode, one loop carrying both tangents (no tape).
    (
        "rolled_rnn_forward_mode_chosen",
        "wrt(w, u)",
        "fn rnn(w: f64, u: f64, x: &[f64; 64], n: usize) -> f64 {
            let mut h = 0.0;
            for t in 0..n {
                h = (w * h + u * x[t]).tanh();
            }
            h * h
        }",
    ),
    // GradBench's lse: the shift `a` gets no adjoint (the output does not
    // depend on it), so the `max` loop is not reversed and pushes nothing;
    // the softmax's `1/s` is computed once, outside the reverse loop.
    (
        "rolled_log_sum_exp",
        "",
        "fn lse(x: &[f64]) -> f64 {
            let mut a = x[0];
            for i in 1..x.len() {
                a = a.max(x[i]);
            }
            let mut s = 0.0;
            for i in 0..x.len() {
                s += (x[i] - a).exp();
            }
            s.ln() + a
        }",
    ),
    // Only the nearest centroid's distance reaches the cost: the reverse
    // of the distance loop runs under `if` its candidate won.
    (
        "rolled_nearest_centroid",
        "",
        "fn cost(centroids: &[f64], points: &[f64], d: usize) -> f64 {
            let mut total = 0.0;
            for p in points.chunks(d) {
                let mut closest = f64::INFINITY;
                for c in centroids.chunks(d) {
                    let dist: f64 = p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
                    if dist < closest {
                        closest = dist;
                    }
                }
                total += closest;
            }
            total
        }",
    ),
    (
        "rolled_carried_array",
        "",
        "fn recurrence(w: &[f64; 24], x0: f64) -> f64 {
            let mut h = [0.0; 25];
            h[0] = x0;
            for i in 0..24 {
                h[i + 1] = (h[i] * w[i]).sin() + h[i];
            }
            h[24]
        }",
    ),
    (
        "rolled_while_newton",
        "",
        "fn newton_sqrt(a: f64) -> f64 {
            let mut x = a;
            while (x * x - a).abs() > 1e-12 * a {
                x = 0.5 * (x + a / x);
            }
            x
        }",
    ),
    (
        "rolled_break_continue_slice",
        "",
        "fn first_big(w: &[f64], t: f64) -> f64 {
            let mut s = 0.0;
            for i in 0..w.len() {
                if w[i] < 0.0 {
                    continue;
                }
                s += w[i] * w[i];
                if s > t {
                    break;
                }
            }
            s
        }",
    ),
];

#[test]
fn rolled_loop_snapshots() {
    for (name, attr, src) in ROLLED {
        let code = expand_pretty(attr, src);
        insta::with_settings!({ description => *src, omit_expression => true }, {
            insta::assert_snapshot!(*name, code);
        });
    }
}

/// `NAME_hessian` of a 4-d Rosenbrock: H is tridiagonal, and the entries
/// off the band are the literal 0, computed by nothing.
#[test]
fn hessian_snapshot_skips_structural_zeros() {
    let src = "fn rosen(x: [f64; 4]) -> f64 {
        let mut s = 0.0;
        for i in 0..3 {
            let a = x[i + 1] - x[i] * x[i];
            let b = 1.0 - x[i];
            s += 100.0 * a * a + b * b;
        }
        s
    }";
    let code = expand_pretty("hessian", src);
    let start = code
        .find("pub fn rosen_hessian")
        .or_else(|| code.find("fn rosen_hessian"))
        .expect("emitted");
    let hessian = &code[start..];
    insta::with_settings!({ description => src, omit_expression => true }, {
        insta::assert_snapshot!("rosenbrock4_hessian", hessian);
    });
}

/// The original's `#[inline]` (whatever its argument) is on every public
/// function generated beside it, so gradients inline across crates as the
/// loss does; without it, none gets one. (`NAME_vjp`, the calling
/// convention between generated functions, is always `#[inline]`.)
#[test]
fn inline_hints_carry_over() {
    let public_fns = |src: &str| -> Vec<(String, Vec<String>)> {
        let code = expand_pretty("jvp, hessian", src);
        let file: syn::File = syn::parse_str(&code).expect("generated code parses");
        file.items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) => Some(f),
                _ => None,
            })
            .filter(|f| {
                !f.attrs
                    .iter()
                    .any(|a| quote::quote!(#a).to_string().contains("hidden"))
            })
            .map(|f| {
                let inline = f
                    .attrs
                    .iter()
                    .filter(|a| a.path().is_ident("inline"))
                    .map(|a| quote::quote!(#a).to_string().replace(' ', ""))
                    .collect();
                (f.sig.ident.to_string(), inline)
            })
            .collect()
    };
    let body = "pub fn f(w: [f64; 2], x: f64) -> f64 { (w[0] * x).sin() * w[1] }";
    for hint in ["#[inline]", "#[inline(always)]"] {
        let fns = public_fns(&format!("{hint} {body}"));
        let names: Vec<&str> = fns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "f_grad",
                "f_grad_acc",
                "f_grad_acc_with",
                "f_jvp",
                "f_hvp",
                "f_hessian"
            ]
        );
        for (name, inline) in &fns {
            assert_eq!(inline, &[hint], "{name}");
        }
    }
    for (name, inline) in public_fns(body) {
        assert!(inline.is_empty(), "{name} got {inline:?}");
    }
}

/// `hvp` generates `NAME_hvp` without `NAME_hessian`; `hessian` both.
#[test]
fn hvp_alone_has_no_hessian() {
    let public_fns = |attr: &str| -> Vec<String> {
        let code = expand_pretty(attr, "pub fn f(w: [f64; 2]) -> f64 { w[0].sin() * w[1] }");
        let file: syn::File = syn::parse_str(&code).expect("generated code parses");
        file.items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) => {
                    Some(f.sig.ident.to_string())
                }
                _ => None,
            })
            .filter(|n| n.ends_with("_hvp") || n.ends_with("_hessian"))
            .collect()
    };
    assert_eq!(public_fns("hvp"), ["f_hvp"]);
    assert_eq!(public_fns("hessian"), ["f_hvp", "f_hessian"]);
    assert_eq!(public_fns("hvp, hessian"), ["f_hvp", "f_hessian"]);
}

/// Forward mode rebuilds a loop carrying tangents beside its values; the
/// user's range checks in it must then be read from the rebuilt loop, or
/// the original loop runs again beside it, only for its checks (found on
/// GradBench's kmeans, whose `NAME_hvp` searched every centroid twice).
/// Each range the source takes (two, one in each loop) is checked once
/// before the reverse loops, in `NAME_jvp`, `NAME_hvp`, and `NAME_grad`
/// in forward mode as in reverse mode.
#[test]
fn forward_mode_runs_a_loop_with_range_checks_once() {
    let nearest = "fn cost(c: &[f64], p: &[f64], d: usize) -> f64 {
        let mut total = 0.0;
        for i in 0..p.len() / d {
            let mut best = 0;
            let mut m = f64::INFINITY;
            for j in 0..c.len() / d {
                let row = &c[j * d..(j + 1) * d];
                let v: f64 = row.iter().zip(&p[i * d..]).map(|(a, b)| (a - b) * (a - b)).sum();
                if v < m {
                    m = v;
                    best = j;
                }
            }
            let row = &c[best * d..(best + 1) * d];
            total += row.iter().zip(&p[i * d..]).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
        }
        total
    }";
    let scalar = "fn cost(r: f64, w: &[f64], d: usize) -> f64 {
        let mut x = 0.5;
        for i in 0..w.len() / d {
            let row = &w[i * d..(i + 1) * d];
            x = r * x * (1.0 - x) + row[0];
        }
        let last = &w[..d];
        x * last[0]
    }";
    let function = |code: &str, name: &str| -> String {
        let start = code
            .find(&format!("\nfn {name}("))
            .unwrap_or_else(|| panic!("{name} emitted"));
        let body = &code[start + 1..];
        let end = body.find("\nfn ").unwrap_or(body.len());
        body[..end].to_owned()
    };
    let checks_before_reverse = |code: &str, name: &str| -> usize {
        let body = function(code, name);
        let forward = body.find(".rev()").map_or(&body[..], |r| &body[..r]);
        forward.matches("check_range(").count()
    };
    let code = expand_pretty("jvp, hvp", nearest);
    for name in ["cost_grad", "cost_jvp", "cost_hvp"] {
        assert_eq!(checks_before_reverse(&code, name), 2, "{name}:\n{code}");
    }
    let code = expand_pretty("wrt(r)", scalar);
    let grad = function(&code, "cost_grad");
    assert!(!grad.contains(".rev()"), "forward mode is chosen:\n{grad}");
    assert_eq!(checks_before_reverse(&code, "cost_grad"), 2, "{code}");
    // A print and an `assert!` of the loop's result read the rebuilt loop
    // too: `NAME_jvp` has one loop, in its two versions (rows read without
    // bounds checks, and the general one); before, four.
    let printed = "fn cost(w: &[f64], n: usize) -> f64 {
        let mut t = 0.0;
        for i in 0..n {
            t += w[i] * w[i];
        }
        println!(\"{t}\");
        assert!(t < 1e9);
        t
    }";
    let jvp = function(&expand_pretty("jvp", printed), "cost_jvp");
    assert_eq!(jvp.matches("for ").count(), 2, "{jvp}");
}

/// A loop that only reads a local `vec!` (written by an earlier loop)
/// reads it through a row taken before the loop, as it reads a slice
/// parameter: the triangle row `tri[(j·j − j)/2 + r]` (an offset divided
/// by a constant), in the forward loop and in its reverse, whose gradient
/// buffer `d_tri` is added into through a row too. The loop that writes
/// `tri` takes no row of it.
#[test]
fn a_loop_reads_a_local_vec_through_a_row() {
    let src = "fn triangle(l: &[f64], x: &[f64], n: usize) -> f64 {
        let mut tri = vec![0.0; n * (n - 1) / 2];
        for j in 0..n {
            for r in 0..j {
                tri[(j * j - j) / 2 + r] = l[r * (2 * n - r - 1) / 2 + j - r - 1];
            }
        }
        let mut s = 0.0;
        for j in 0..n {
            let mut o = 0.0;
            for r in 0..j {
                o += tri[(j * j - j) / 2 + r] * x[r];
            }
            s += (o * x[j]).sin();
        }
        s
    }";
    let code: String = expand_pretty("wrt(l, x)", src)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let start = code
        .find("fntriangle_grad(")
        .expect("triangle_grad emitted");
    let grad = &code[start..];
    let grad = &grad[..grad[1..].find("fntriangle_").map_or(grad.len(), |e| e + 1)];
    for j in ["j_1", "j_2"] {
        let row = format!(
            "tri[..].get(((({j}).wrapping_mul({j})).wrapping_sub({j})).wrapping_div(2usize"
        );
        assert!(grad.contains(&row), "{row} in {grad}");
    }
    assert!(grad.contains("d_tri.get_mut("), "{grad}");
    let (rows_written, of_d_tri) = (
        grad.matches("tri.get_mut(").count(),
        grad.matches("d_tri.get_mut(").count(),
    );
    assert_eq!(
        rows_written, of_d_tri,
        "no row of tri itself is written: {grad}"
    );
}

/// A loop carrying a recurrence no derivative flows through (`mul *= t`)
/// and only sums otherwise is reversed in the forward order, computing the
/// recurrence again: the forward tapes each sample's residual, not every
/// power (GradBench's llsq taped n·m of them).
#[test]
fn a_recurrence_is_computed_again_not_taped() {
    let src = "fn fit(x: &[f64], n: usize) -> f64 {
        let mut sum = 0.0;
        for i in 0..n {
            let t = -1.0 + i as f64 * 2.0 / (n as f64 - 1.0);
            let mut r = t.sin();
            let mut mul = 1.0;
            for j in 0..x.len() {
                r -= x[j] * mul;
                mul *= t;
            }
            sum += r * r;
        }
        sum / 2.0
    }";
    let code: String = expand_pretty("", src)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let start = code.find("fnfit_grad(").expect("fit_grad emitted");
    let grad = &code[start..];
    let grad = &grad[..grad[1..].find("fnfit_").map_or(grad.len(), |e| e + 1)];
    assert_eq!(grad.matches("tape.push(").count(), 1, "{grad}");
    // The outer loop is reversed; the inner ones count up.
    assert_eq!(grad.matches(".rev()").count(), 1, "{grad}");
}
