//! `println!`/`eprintln!` in a loss: the generated functions print what the
//! original prints (checked by running this test binary again as a child
//! process and comparing the two outputs).

use backprop::prelude::*;

#[derive_grad]
#[allow(clippy::needless_range_loop)]
fn noisy(w: [f64; 3], k: usize, flag: bool) -> f64 {
    let z1 = w[0] * w[1];
    println!("z1 = {z1}, w = {:?}", w);
    let mut s = 0.0;
    for i in 0..3 {
        s += w[i] * z1;
        println!("step {i}: s = {s:.6}");
    }
    if flag {
        eprintln!("flag set, k = {}", k);
    }
    if z1 > 0.0 {
        println!("positive: {p}", p = z1 * 2.0);
    }
    println!();
    // in a loop that stays a loop: printed by the original only
    let mut t = 0.0;
    for i in 0..k {
        t += w[i % 3];
        println!("rolled {i}");
    }
    s + t
}

/// A print and an `assert!` reading a loop that stays a loop: forward
/// mode rebuilds that loop to carry tangents, and `NAME_jvp` and
/// `NAME_hvp` print and check the value it computes.
#[derive_grad(jvp, hvp)]
fn tallied(w: &[f64], n: usize) -> f64 {
    let mut t = 0.0;
    for i in 0..n {
        let pair = &w[i..i + 2];
        t += pair[0] * pair[1];
    }
    println!("t = {t:.6}");
    assert!(t < 100.0, "t is bounded");
    t * t
}

/// A helper that prints, called by a function with second derivatives:
/// `NAME_hvp` runs the helper once (one call of its second-order
/// companion gives the value, the gradient and H·t), so it prints what the
/// original prints. (It used to call the helper's `NAME_vjp` too, and
/// printed the line twice.)
#[derive_grad]
fn chatty(a: [f64; 2]) -> f64 {
    let p = a[0] * a[1];
    println!("chatty p = {p:.6}");
    p.sin() + a[0] * a[0]
}

#[derive_grad(hessian)]
fn calls_chatty(x: [f64; 2]) -> f64 {
    chatty([x[0] * 2.0, x[1]]).exp()
}

/// A helper passed a slice, which prints.
#[derive_grad]
fn chatty_slice(a: &[f64]) -> f64 {
    let p = a[0] * a[1];
    println!("chatty_slice p = {p:.6}");
    p.sin() + a[0] * a[0]
}

#[derive_grad(hessian)]
fn calls_chatty_slice(x: &[f64]) -> f64 {
    chatty_slice(x).exp()
}

const CHILD: &str = "BACKPROP_PRINTING_CHILD";

#[test]
fn child() {
    let Ok(which) = std::env::var(CHILD) else {
        return; // only in the child process
    };
    let w = [0.5, -2.0, 1.5];
    let v = [0.5, -2.0, 1.5, 0.25];
    match which.as_str() {
        "original" => {
            noisy(w, 2, true);
            noisy([1.0, 1.0, 1.0], 0, false);
        }
        "tallied" => {
            tallied(&v, 3);
            tallied(&v, 2);
        }
        "chatty" => {
            calls_chatty([0.5, -2.0]);
        }
        "chatty hvp" => {
            calls_chatty_hvp([0.5, -2.0], [1.0, 0.25]);
        }
        "chatty slice" => {
            calls_chatty_slice(&[0.5, -2.0]);
        }
        "chatty slice hvp" => {
            calls_chatty_slice_hvp(&[0.5, -2.0], &[1.0, 0.25]);
        }
        "tallied forward" => {
            tallied_jvp(&v, 3, &[1.0; 4]);
            tallied_hvp(&v, 2, &[1.0; 4]);
        }
        _ => {
            noisy_grad(w, 2, true);
            noisy_grad([1.0, 1.0, 1.0], 0, false);
        }
    }
}

fn run(which: &str) -> (String, String) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD, which)
        .output()
        .expect("the test binary runs");
    assert!(out.status.success());
    let keep = |s: Vec<u8>| {
        String::from_utf8(s)
            .unwrap()
            .replace("test child ... ", "")
            .lines()
            .filter(|l| !l.starts_with("running ") && *l != "ok" && !l.contains("test result"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    (keep(out.stdout), keep(out.stderr))
}

#[test]
fn generated_functions_print_what_the_original_prints() {
    let (orig_out, orig_err) = run("original");
    let (gen_out, gen_err) = run("generated");
    assert!(
        orig_out.contains("z1 = -1, w = [0.5, -2.0, 1.5]"),
        "{orig_out}"
    );
    assert!(orig_out.contains("step 2: s = 0.000000"), "{orig_out}");
    assert!(orig_out.contains("rolled 1"), "{orig_out}");
    // Everything but the prints inside the loop that stays a loop.
    let without_rolled = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("rolled"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(gen_out.trim(), without_rolled(&orig_out).trim());
    assert!(!gen_out.contains("rolled"));
    assert!(gen_err.contains("flag set, k = 2"), "{gen_err}");
    assert_eq!(gen_err.trim(), orig_err.trim());
}

#[test]
fn forward_mode_prints_what_the_original_prints() {
    let (orig_out, _) = run("tallied");
    let (fwd_out, _) = run("tallied forward");
    assert!(
        orig_out.contains("t = -3.625000\nt = -4.000000"),
        "{orig_out}"
    );
    assert_eq!(fwd_out.trim(), orig_out.trim());
    let big = [20.0; 4];
    let original = std::panic::catch_unwind(|| tallied(&big, 3)).unwrap_err();
    let jvp = std::panic::catch_unwind(|| tallied_jvp(&big, 3, &[1.0; 4])).unwrap_err();
    let hvp = std::panic::catch_unwind(|| tallied_hvp(&big, 3, &[1.0; 4])).unwrap_err();
    let message = |p: &Box<dyn std::any::Any + Send>| {
        let text = p.downcast_ref::<&str>().map(|s| s.to_string());
        text.or_else(|| p.downcast_ref::<String>().cloned())
    };
    assert_eq!(message(&original).as_deref(), Some("t is bounded"));
    // The generated functions check the user's `assert!` with a message
    // that quotes it (as `NAME_grad` does).
    let quoted = "the `assert!` of the original function failed: t < 100.0, \"t is bounded\"";
    assert_eq!(message(&jvp).as_deref(), Some(quoted));
    assert_eq!(message(&hvp).as_deref(), Some(quoted));
}

#[test]
fn hvp_runs_a_helper_once() {
    let (orig_out, _) = run("chatty");
    let (hvp_out, _) = run("chatty hvp");
    assert_eq!(orig_out.trim(), "chatty p = -2.000000");
    assert_eq!(hvp_out.trim(), orig_out.trim());
}

#[test]
fn hvp_runs_a_helper_passed_a_slice_once() {
    let (orig_out, _) = run("chatty slice");
    let (hvp_out, _) = run("chatty slice hvp");
    assert_eq!(orig_out.trim(), "chatty_slice p = -1.000000");
    assert_eq!(hvp_out.trim(), orig_out.trim());
}
