//! Regression tests of what fuzzing and new users found (issue 8), each
//! through the real macro: the generated function must return exactly what
//! the original returns (NaN and the sign of zero included), with a
//! gradient checked against finite differences or a hand derivation.

#![allow(
    clippy::unnecessary_cast,
    clippy::assign_op_pattern,
    clippy::let_and_return
)]

mod common;

use backprop::prelude::*;
use common::{assert_same_value, check};

// ================================================= integer and literal semantics

#[derive_grad]
fn cast_wraps(x: f64, n: usize) -> f64 {
    x * (n as u8 as f64)
}

#[derive_grad]
fn literal_casts(x: f64) -> f64 {
    let a = -1i32 as u8 as f64;
    let b = 300i32 as u8 as f64;
    let c = 0.1f32 as f64;
    let d = 2.9 as i32 as f64;
    let e = -1.5f64 as u32 as f64;
    let f = 1e10 as i32 as f64;
    x * a + b * c + d + e + f + (200u8 as i8) as f64
}

#[test]
fn integer_casts_wrap_and_float_literals_keep_their_precision() {
    let (v, g) = cast_wraps_grad(2.0, 300);
    assert_eq!(v, cast_wraps(2.0, 300));
    assert_eq!(v, 88.0, "300 as u8 is 44");
    assert_eq!(g, 44.0);
    let (v, g) = literal_casts_grad(0.5);
    assert_same_value("literal_casts", v, literal_casts(0.5));
    assert_eq!(g, 255.0, "-1i32 as u8 is 255");
}

// ======================================================= paths to constants

mod consts {
    /// A user's own `consts` module: not std's.
    pub const PI: f64 = 3.0;
}

#[derive_grad]
fn own_consts_pi(x: f64) -> f64 {
    x * consts::PI + std::f64::consts::PI
}

#[derive_grad]
fn f32_consts_in_f64(x: f64) -> f64 {
    x * (std::f32::consts::PI as f64)
}

#[test]
fn only_std_paths_are_read_as_std_constants() {
    let (v, g) = own_consts_pi_grad(2.0);
    assert_eq!(v, own_consts_pi(2.0));
    assert_eq!(g, 3.0);
    let (v, g) = f32_consts_in_f64_grad(2.0);
    assert_eq!(v, f32_consts_in_f64(2.0));
    assert_eq!(g, std::f32::consts::PI as f64);
}

// ================================================== evaluation order

#[derive_grad]
fn compound_order(x: f64) -> f64 {
    let mut a = x;
    a += {
        a = a * 2.0;
        a
    };
    a
}

#[test]
fn compound_assignment_evaluates_its_right_side_first() {
    let (v, g) = compound_order_grad(1.5);
    assert_eq!(v, compound_order(1.5));
    assert_eq!(v, 6.0, "Rust: rhs = 2a = 3, then a (now 3) += 3");
    assert_eq!(g, 4.0);
}

// ====================================================== NaN semantics

#[derive_grad]
fn max_nan(x: f64) -> f64 {
    x.max(f64::NAN)
}

#[derive_grad]
fn min_nan(x: f64) -> f64 {
    f64::NAN.min(x) * 2.0
}

#[derive_grad]
fn max_of_sqrt(x: f64) -> f64 {
    x.max((x - 2.0).sqrt())
}

#[derive_grad]
fn clamp_of(x: f64) -> f64 {
    x.clamp(-1.0, 1.0) * 3.0
}

#[derive_grad(wrt(lo, hi))]
fn clamp_bounds(lo: f64, hi: f64, x: f64) -> f64 {
    x.clamp(lo, hi)
}

#[test]
fn nan_arguments_behave_as_in_rust() {
    assert_eq!(max_nan_grad(1.5), (max_nan(1.5), 1.0));
    assert_eq!(min_nan_grad(1.5), (min_nan(1.5), 2.0));
    assert_eq!(max_nan(1.5), 1.5);
    assert_eq!(max_of_sqrt_grad(1.0), (1.0, 1.0));
    check("max_of_sqrt", max_of_sqrt, max_of_sqrt_grad, 6.0);
    let (v, g) = clamp_of_grad(f64::NAN);
    assert!(v.is_nan() && clamp_of(f64::NAN).is_nan());
    assert!(
        g.is_nan() || g == 3.0,
        "the gradient at NaN propagates or is the identity's"
    );
    for x in [-2.0, -0.5, 0.5, 2.0] {
        check("clamp_of", clamp_of, clamp_of_grad, x);
    }
    assert_eq!(clamp_bounds(-1.0, 1.0, 5.0), 1.0);
    assert_eq!(clamp_bounds_grad(-1.0, 1.0, 5.0), (1.0, (0.0, 1.0)));
    assert_eq!(clamp_bounds_grad(-1.0, 1.0, -5.0), (-1.0, (1.0, 0.0)));
    assert_eq!(clamp_bounds_grad(-1.0, 1.0, 0.5), (0.5, (0.0, 0.0)));
}

#[derive_grad]
fn clamp_panics(x: f64) -> f64 {
    x.clamp(1.0, -1.0)
}

#[test]
#[should_panic]
fn clamp_with_crossed_bounds_panics_as_the_original_does() {
    let _ = clamp_panics_grad(0.0);
}

#[test]
#[should_panic]
fn clamp_with_crossed_bounds_panics_in_the_original() {
    let _ = clamp_panics(0.0);
}

#[derive_grad]
fn powf_of_zero(x: f64) -> f64 {
    0.0f64.powf(x) + x
}

#[derive_grad]
fn empty_sum(x: f64) -> f64 {
    let empty: [f64; 0] = [];
    let s: f64 = empty.iter().sum();
    x * 0.0 + s
}

#[test]
fn zero_powers_and_empty_sums() {
    assert_eq!(powf_of_zero_grad(2.0), (powf_of_zero(2.0), 1.0));
    assert_eq!(powf_of_zero_grad(0.0), (1.0, 1.0));
    let (v, g) = empty_sum_grad(-1.0);
    assert_eq!(
        v.to_bits(),
        empty_sum(-1.0).to_bits(),
        "-0.0 + -0.0 is -0.0"
    );
    assert_eq!(g, 0.0);
}

// ============================================================ panics

#[derive_grad]
fn powi_min(x: f64) -> f64 {
    x.powi(i32::MIN) + x.powi(-2147483648)
}

#[test]
fn powi_of_the_smallest_exponent() {
    let (v, g) = powi_min_grad(1.0);
    assert_eq!(v, powi_min(1.0));
    assert_eq!(g, 2.0 * i32::MIN as f64);
}

#[derive_grad(explain)]
fn explained_constant(_w: f64, x: f64) -> f64 {
    x * 2.0
}

#[derive_grad(explain)]
fn explained_literal(_w: f64) -> f64 {
    2.0
}

#[derive_grad(explain)]
fn explained_floor(w: f64) -> f64 {
    let b = (w * 2.0).floor();
    b
}

#[test]
fn explain_of_losses_without_gradient_flow() {
    let _ = w_unused(explained_constant(1.0, 2.0));
    assert_eq!(explained_constant_grad(1.0, 2.0), (4.0, 0.0));
    let e = explained_constant_explain();
    assert!(!e.graph.nodes.is_empty());
    assert_eq!(explained_floor_grad(1.3), (explained_floor(1.3), 0.0));
    let t = explained_floor_trace(1.3);
    assert!(t.grads.iter().all(|g| *g == 0.0 || *g == 1.0));
    let _ = explained_floor_explain().to_string();
    assert_eq!(explained_literal_grad(1.0), (explained_literal(1.0), 0.0));
    assert_eq!(explained_literal_trace(1.0).values, vec![2.0]);
}

fn w_unused(v: f64) -> f64 {
    v
}

#[derive_grad]
fn generic_callee<F: Float>(x: F, w: [F; 2]) -> F {
    x * w[0] + w[1]
}

#[derive_grad]
fn turbofish_caller(x: f32) -> f32 {
    generic_callee::<f32>(x, [x, x]) * 2.0
}

#[test]
fn turbofish_calls() {
    check("turbofish", turbofish_caller, turbofish_caller_grad, 1.5f32);
}

// ------------------------- found by the compiled differential test (issue 8)

const SCALE: f64 = 0.75;

/// A module-level `f64` constant converted into a generic float.
#[derive_grad]
fn generic_outside_constant<F: Float>(x: F) -> F {
    x * F::from(SCALE).unwrap() + F::from(SCALE).unwrap().sin()
}

/// A differentiated value truncated to an integer: piecewise constant, so
/// it contributes nothing to the gradient, and it truncates and saturates
/// exactly as `as` does (NaN to 0).
#[derive_grad]
fn truncated(x: f64) -> f64 {
    let k = (x * 3.0) as i32 as f64;
    let b = (x * 1000.0) as u8;
    x * k + b as f64 + ((x * 3.0) as i64 + 1) as f64
}

#[test]
fn outside_constants_and_float_to_int_casts() {
    for x in [0.3, -1.7, 2.05] {
        check(
            "generic_outside_constant",
            generic_outside_constant::<f64>,
            generic_outside_constant_grad::<f64>,
            x,
        );
        let (v, g) = truncated_grad(x);
        assert_same_value("truncated", v, truncated(x));
        // d/dx (x·k) with k constant between breakpoints.
        assert_eq!(g, ((x * 3.0) as i32) as f64);
    }
    // Saturation and NaN as rustc casts them.
    assert_same_value(
        "truncated(NaN)",
        truncated_grad(f64::NAN).0,
        truncated(f64::NAN),
    );
    assert_eq!(truncated(1.0e6), truncated_grad(1.0e6).0);
    assert_eq!(truncated(1.0e6), 1.0e6 * 3.0e6 + 255.0 + 3.0e6 + 1.0);
}

// ------------------------------------------- found by the fuzzer (issue 8)

/// Raw identifiers as parameter names (the gradient's locals were named
/// `d_r#loop`, which is not an identifier: the macro panicked).
#[derive_grad(wrt(x, r#loop))]
fn raw_identifiers(x: [f64; 2], r#loop: f64, r#type: bool) -> f64 {
    let r#let = x[0] / r#loop;
    if r#type {
        r#let * x[1]
    } else {
        r#let + r#loop
    }
}

#[test]
fn raw_identifier_parameters() {
    for flag in [true, false] {
        let (v, (gx, gl)) = raw_identifiers_grad([0.5, -1.5], 2.0, flag);
        assert_same_value(
            "raw_identifiers",
            v,
            raw_identifiers([0.5, -1.5], 2.0, flag),
        );
        common::assert_grad(
            "raw wrt x",
            &gx,
            |x| raw_identifiers(x, 2.0, flag),
            [0.5, -1.5],
        );
        common::assert_grad(
            "raw wrt loop",
            &gl,
            |l| raw_identifiers([0.5, -1.5], l, flag),
            2.0,
        );
    }
}

/// A named value used only through a zero local derivative (`y = s * 0.0`)
/// made `explain` panic ("users come after").
#[allow(unused_assignments)]
#[derive_grad(wrt(x), explain)]
fn zero_local_derivative(x: [f64; 2], mut y: f64) -> f64 {
    let mut s = 0.0;
    {
        s = x[0] * 100.0;
        y = s * 0.0
    }
    y
}

#[test]
fn explain_with_a_zero_local_derivative() {
    let (v, g) = zero_local_derivative_grad([0.5, 2.0], 1.0);
    assert_same_value(
        "zero_local_derivative",
        v,
        zero_local_derivative([0.5, 2.0], 1.0),
    );
    common::assert_grad(
        "zero_local_derivative",
        &g,
        |x| zero_local_derivative(x, 1.0),
        [0.5, 2.0],
    );
    let text = zero_local_derivative_explain().to_string();
    assert!(text.contains("∂y/∂s"), "{text}");
}

/// Neighbours in a rolled loop: the gradient's `i + 1` contribution is
/// carried in a register to the next iteration (`emit::loops`,
/// `plan_carries`). The sums must be the very ones of adding into memory
/// in program order: `NAME_grad` (carried, into fresh zeros) is bit-equal
/// to `NAME_grad_acc` adding into a zeroed buffer (not carried: the buffer
/// is the caller's), signed zeros included.
#[derive_grad]
fn neighbours(x: &[f64; 40]) -> f64 {
    let mut s = 0.0;
    for i in 0..39 {
        s += x[i] * x[i + 1] + (x[i + 1] - x[i]).sin();
    }
    s
}

#[test]
fn carried_neighbour_contributions_are_the_same_sums() {
    let points: [[f64; 40]; 3] = [
        std::array::from_fn(|k| (k as f64 * 1.7).sin() * 3.0),
        [-0.0; 40],
        std::array::from_fn(|k| if k % 2 == 0 { -0.0 } else { 0.0 }),
    ];
    for x in points {
        let (v, g) = neighbours_grad(&x);
        assert_same_value("neighbours", v, neighbours(&x));
        let mut acc = [0.0; 40];
        let va = neighbours_grad_acc(&x, &mut acc);
        assert_same_value("neighbours", va, neighbours(&x));
        for k in 0..40 {
            assert_eq!(g[k].to_bits(), acc[k].to_bits(), "element {k} at {x:?}");
        }
    }
}
