//! Bad input gets clear errors, one per cause, and never a panic (issue 8).

use super::errors;

#[test]
fn an_error_inside_an_unrolled_loop_is_reported_once() {
    let e = errors(
        "",
        "fn f(w: [f64; 10]) -> f64 { let mut s = 0.0; for i in 0..16 { s += w[i + 5]; } s }",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("out of bounds"), "{e:?}");
    // A loop that stays a loop reads `w[i + 5]` at run time, and panics
    // there exactly as the original function does.
    let e = errors(
        "",
        "fn f(w: [f64; 10]) -> f64 { let mut s = 0.0; for i in 0..1000 { s += w[i + 5]; } s }",
    );
    assert!(e.is_empty(), "{e:?}");
}

#[test]
fn huge_arrays_are_refused_with_a_message() {
    for ty in [
        "&[f64; 18446744073709551615]",
        "&[f64; 4294967296]",
        "[[f64; 65536]; 65536]",
    ] {
        let e = errors("", &format!("fn f(w: {ty}) -> f64 {{ w[0] }}"));
        assert_eq!(e.len(), 1, "{ty}: {e:?}");
        assert!(e[0].contains("elements, more than"), "{ty}: {e:?}");
    }
}

#[test]
fn ragged_array_arguments_are_refused() {
    let e = errors(
        "",
        "fn f(x: f64) -> f64 { g([x, [x, x]]) + g([[x, x], x]) }",
    );
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e.iter().all(|m| m.contains("arguments of a call")), "{e:?}");
}

#[test]
fn slices_used_as_whole_values_get_one_clear_error_each() {
    // Iterated, a slice is read element by element.
    for body in [
        "w.iter().sum::<f64>()",
        "{ let mut s = 0.0; for v in w { s += *v; } s }",
        "{ let mut s = 0.0; for v in w.iter() { s += *v; } s }",
        // Passed whole to another #[derive_grad] function (its pullback
        // reverses the call).
        "g(w)",
    ] {
        let e = errors("", &format!("fn f(w: &[f64]) -> f64 {{ {body} }}"));
        assert!(e.is_empty(), "{body}: {e:?}");
    }
    for body in ["{ let h = w; h[0] = 1.0; h[0] }", "w"] {
        let e = errors("", &format!("fn f(w: &[f64]) -> f64 {{ {body} }}"));
        assert_eq!(e.len(), 1, "{body}: {e:?}");
    }
    let e = errors(
        "",
        "fn f(w: &[f64]) -> f64 { w.iter().max_by(|a, b| a.total_cmp(b)).copied().unwrap() }",
    );
    assert!(e[0].contains("does not end an iterator chain"), "{e:?}");
    let e = errors("", "fn f(w: &[f64]) -> f64 { let h = w; h[0] = 1.0; h[0] }");
    assert!(e[0].contains("`h` is a slice parameter"), "{e:?}");
    let e = errors("", "fn f(w: &[String]) -> f64 { 0.0 }");
    assert!(
        e[0].contains("`&[f64]`, `&[[f64; 4]]`, `Vec<f64>`"),
        "{e:?}"
    );
}

/// Found by the fuzzer (a mutation of `tests/slice_calls.rs`): a slice
/// parameter written in a loop, then passed to a call, made the reverse
/// sweep panic ("a slice declared in a loop is a local `vec!`").
#[test]
fn a_written_slice_parameter_passed_to_a_call_is_refused() {
    let e = errors(
        "",
        "fn f(w: &[f64], s: &[f64]) -> f64 {
            let mut t = 0.0;
            for k in 0..s.len() {
                w[0] = 1.0;
                t += g(w, s[k]);
            }
            t
        }",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("slice parameter is written before the call"),
        "{e:?}"
    );
}

#[test]
fn writing_a_shadowing_copy_of_an_array_in_memory_is_refused() {
    // Both names would share one memory: refused, never a silent write
    // into the outer array.
    let e = errors(
        "",
        "fn f(w: f64, k: usize, j: usize) -> f64 {
            let mut h = [w, 0.0];
            h[k] = 1.0;
            let t = { let mut h = h; h[j] = 7.0; h[0] };
            h[0] + t
        }",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("is a copy of another array"), "{e:?}");
}

#[test]
fn explain_refuses_functions_too_large_to_read() {
    // Loops of at most 16 trips are unrolled: 4,096 iterations written out.
    let e = errors(
        "explain",
        "fn f(x: f64) -> f64 { let mut s = x; for a in 0..16 { for b in 0..16 { for c in 0..16 { s = (s * 0.5 + x) * s; } } } s }",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("`explain` writes out every operation"),
        "{e:?}"
    );
    // Without `explain` the loop stays a loop.
    let e = errors(
        "",
        "fn f(x: f64) -> f64 { let mut s = x; for i in 0..30000 { s = s * 0.5 + x * (i as f64); } s }",
    );
    assert!(e.is_empty(), "{e:?}");
}

#[test]
fn explain_says_what_index_notation_cannot_write_yet() {
    // A long loop stays a loop and is explained in index notation.
    let e = errors(
        "explain",
        "fn f(x: f64) -> f64 { let mut s = x; for i in 0..30000 { s = s * 0.5 + x * (i as f64); } s }",
    );
    assert!(e.is_empty(), "{e:?}");
    let e = errors(
        "explain",
        "fn f(x: f64, n: usize) -> f64 { let mut s = x; let mut k = 0; while k < n { s = s * x; k += 1; } s }",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("`while` loops or loops that `break`"),
        "{e:?}"
    );
    let e = errors(
        "explain",
        "fn f(w: &[f64; 40]) -> f64 { let mut h = [0.0; 41]; for i in 0..40 { h[i + 1] = h[i] * w[i] + 1.0; } h[40] }",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("reads and writes from one iteration to the next"),
        "{e:?}"
    );
    // An element the innermost loop adds to is a sum (`h[0] = Σ_i w[i]`)…
    let e = errors(
        "explain",
        "fn f(w: &[f64; 40]) -> f64 { let mut h = [0.0; 2]; for i in 0..40 { h[0] = h[0] + w[i]; } h[0] }",
    );
    assert!(e.is_empty(), "{e:?}");
    // …but not when the loop over the element's index is inside the sum.
    let e = errors(
        "explain",
        "fn f(w: &[[f64; 300]; 10], h: &[f64; 300]) -> f64 { let mut o = [0.0; 10]; for j in 0..300 { for c in 0..10 { o[c] += w[c][j] * h[j]; } } o[3] * o[4] }",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("make the loop that sums the innermost"),
        "{e:?}"
    );
    // Nor when the element is read between its start and the sum.
    let e = errors(
        "explain",
        "fn f(w: &[[f64; 300]; 10], b: &[f64; 10], h: &[f64; 300]) -> f64 { let mut o = [0.0; 10]; let mut q = 0.0; for c in 0..10 { o[c] = b[c]; q += o[c] * o[c]; for j in 0..300 { o[c] += w[c][j] * h[j]; } } o[3] * q }",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("starts from zero"), "{e:?}");
}

#[test]
fn a_vec_needs_its_own_name() {
    // A computed fill under a run-time `if` is supported (tests/writes_in_branches.rs).
    let e = errors(
        "",
        "fn f(w: f64, n: usize, b: bool) -> f64 { let mut s = 0.0; if b { let h = vec![w; n]; s = h[0]; } s }",
    );
    assert!(e.is_empty(), "{e:?}");
    let e = errors(
        "",
        "fn f(w: f64, n: usize) -> f64 { let mut h = vec![0.0; n]; let mut g = h; g[0] = w; h[0] }",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("another name for a `vec!`"), "{e:?}");
    let e = errors("", "fn f(w: f64) -> f64 { let h = vec![1.0, 2.0]; w }");
    assert!(e[0].contains("`vec![c; n]`"), "{e:?}");
}

#[test]
fn a_closure_sees_the_names_of_the_place_where_it_is_written() {
    // Calling itself (found by the fuzz run: it recursed without end).
    let e = errors(
        "",
        "fn f(w: [f64; 2]) -> f64 { let add = |v: f64| add(v * 2.0); add(w[0]) }",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("cannot call itself"), "{e:?}");
    // A later variable named like a function the closure calls.
    let e = errors(
        "",
        "fn f(w: [f64; 2]) -> f64 { let h = |v: f64| g(v); let g = |v: f64| v * 2.0; h(w[0]) + g(w[1]) }",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("reads `g`"), "{e:?}");
}

/// `hessian` on a parameter too large for H to be returned whole is
/// refused, pointing to `hvp`, which then compiles.
#[test]
fn a_hessian_too_large_points_to_hvp() {
    let src =
        "fn f(w: &[f64; 300]) -> f64 { let mut s = 0.0; for i in 0..300 { s += w[i] * w[i]; } s }";
    let e = errors("hessian", src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("write `hvp` instead of `hessian`"), "{e:?}");
    let e = errors("hvp", src);
    assert!(e.is_empty(), "{e:?}");
}
