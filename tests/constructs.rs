//! Every construct issue 2 lists, through the real `#[derive_grad]` macro:
//! each generated `NAME_grad` must return the original function's value bit
//! for bit, and a gradient that matches central finite differences of the
//! *original* function (tests/common). Functions with run-time branches are
//! checked at points on both sides of each condition.

// The loss functions here exercise each construct the macro supports, in the
// spelling a user writes (index loops, `x = x - …`, late `let`, `return`),
// which is sometimes not the one clippy prefers.
#![allow(
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::needless_late_init,
    clippy::needless_return,
    clippy::unnecessary_cast
)]

mod common;

use backprop::prelude::*;
use common::{assert_grad, assert_same_value, check};

// ====================================================== element types

#[derive_grad]
fn scalar_f64(x: f64) -> f64 {
    x * x.sin() + 3.0 * x - 0.25
}

#[test]
fn scalar_f64_parameter() {
    for x in [-1.3, 0.2, 2.5] {
        check("scalar_f64", scalar_f64, scalar_f64_grad, x);
    }
}

#[derive_grad]
fn array_f32(w: [f32; 3], x: f32) -> f32 {
    let s = w[0] * x + w[1] * x * x + w[2];
    s.tanh() * (0.5 * s).exp() / (1.0 + w[0] * w[0])
}

#[derive_grad]
fn scalar_f32(x: f32) -> f32 {
    (x * x + 1.0f32).ln() * x.cos() + sigmoid(x)
}

#[test]
fn f32_elements() {
    let _: (f32, [f32; 3]) = array_f32_grad([0.3, -0.2, 0.1], 1.5);
    for w in [[0.3, -0.2, 0.1], [-1.0, 0.5, 0.7]] {
        for x in [1.5f32, -0.8] {
            check(
                "array_f32",
                |w| array_f32(w, x),
                |w| array_f32_grad(w, x),
                w,
            );
        }
    }
    for x in [-2.0f32, 0.4, 1.7] {
        check("scalar_f32", scalar_f32, scalar_f32_grad, x);
    }
}

#[derive_grad]
fn generic_poly<F: Float>(x: [F; 2]) -> F {
    let half = F::from(0.5).unwrap();
    let quarter = F::from(0.25).unwrap();
    half * x[0] * x[0]
        + F::one() * x[1].sin()
        + F::from(2).unwrap() * x[0] * x[1]
        + quarter * x[0].exp()
        - F::zero() * x[1]
}

#[derive_grad(wrt(w, b))]
fn generic_layer<F: Float>(w: &[[F; 2]; 2], b: [F; 2], x: [F; 2]) -> F {
    let mut s = F::zero();
    for j in 0..2 {
        let mut z = b[j];
        for i in 0..2 {
            z = z + w[j][i] * x[i];
        }
        s = s + sigmoid(z) * F::from(j + 1).unwrap() + z.tanh().powi(2);
    }
    s + softplus(w[1][0]) + (w[0][1] * w[0][1] + F::one()).sqrt()
}

#[test]
fn generic_float_parameter_f64_and_f32() {
    for x in [[0.3, -1.2], [1.1, 0.4]] {
        check(
            "generic_poly::<f64>",
            generic_poly::<f64>,
            generic_poly_grad::<f64>,
            x,
        );
        let x32 = [x[0] as f32, x[1] as f32];
        check(
            "generic_poly::<f32>",
            generic_poly::<f32>,
            generic_poly_grad::<f32>,
            x32,
        );
    }
    let w = [[0.5, -0.3], [0.8, 0.2]];
    let b = [0.1, -0.4];
    let x = [1.2, -0.7];
    let (v, (gw, gb)) = generic_layer_grad(&w, b, x);
    assert_same_value("generic_layer", v, generic_layer(&w, b, x));
    assert_grad("generic_layer wrt w", &gw, |w| generic_layer(&w, b, x), w);
    assert_grad("generic_layer wrt b", &gb, |b| generic_layer(&w, b, x), b);
    let w32 = [[0.5f32, -0.3], [0.8, 0.2]];
    let (b32, x32) = ([0.1f32, -0.4], [1.2f32, -0.7]);
    let (v, (gw, gb)): (f32, ([[f32; 2]; 2], [f32; 2])) = generic_layer_grad(&w32, b32, x32);
    assert_same_value("generic_layer f32", v, generic_layer(&w32, b32, x32));
    assert_grad(
        "generic_layer f32 wrt w",
        &gw,
        |w| generic_layer(&w, b32, x32),
        w32,
    );
    assert_grad(
        "generic_layer f32 wrt b",
        &gb,
        |b| generic_layer(&w32, b, x32),
        b32,
    );
}

// ====================================== arrays, nesting, references

#[derive_grad]
fn nested_by_value(w: [[f64; 3]; 4], x: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for j in 0..4 {
        let mut a = 0.0;
        for i in 0..3 {
            a += w[j][i] * x[i];
        }
        s += a.tanh() * (j as f64 + 1.0);
    }
    s + w[3][2] * w[0][0] - w[1][1] / 3.0
}

#[derive_grad]
fn nested_by_ref(w: &[[f64; 3]; 4], x: &[f64; 3]) -> f64 {
    let mut s = 0.0;
    for j in 0..4 {
        for i in 0..3 {
            s += (w[j][i] - x[i]).powi(2) * (i as f64 + 0.5);
        }
    }
    s.sqrt() + w[2][1].sin()
}

#[derive_grad(wrt(w, b))]
fn by_reference(w: &[f64; 3], b: &f64, x: &[f64; 3]) -> f64 {
    let z = w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + *b;
    z.tanh() + b * b + *b * w[1]
}

#[derive_grad]
fn scalar_by_reference(x: &f64) -> f64 {
    let y = *x * 2.0;
    y.exp() - x * x
}

fn sample_w() -> [[f64; 3]; 4] {
    [
        [0.3, -0.2, 0.5],
        [0.1, 0.8, -0.6],
        [-0.4, 0.25, 0.9],
        [0.7, -0.1, 0.2],
    ]
}

#[test]
fn nested_arrays_by_value_and_by_reference() {
    let w = sample_w();
    let x = [0.5, -1.5, 2.0];
    // The gradient has the parameter's own (nested) type.
    let (_, g): (f64, [[f64; 3]; 4]) = nested_by_value_grad(w, x);
    let _: [[f64; 3]; 4] = nested_by_ref_grad(&w, &x).1;
    assert_eq!(g[3][2], nested_by_value_grad(w, x).1[3][2]);
    check(
        "nested_by_value",
        |w| nested_by_value(w, x),
        |w| nested_by_value_grad(w, x),
        w,
    );
    check(
        "nested_by_ref",
        |w| nested_by_ref(&w, &x),
        |w| nested_by_ref_grad(&w, &x),
        w,
    );
}

#[test]
fn references_to_arrays_and_scalars() {
    let (w, b, x) = ([0.2, -0.5, 0.9], 0.3, [1.0, 0.5, -0.25]);
    let (v, (gw, gb)): (f64, ([f64; 3], f64)) = by_reference_grad(&w, &b, &x);
    assert_same_value("by_reference", v, by_reference(&w, &b, &x));
    assert_grad("by_reference wrt w", &gw, |w| by_reference(&w, &b, &x), w);
    assert_grad("by_reference wrt b", &gb, |b| by_reference(&w, &b, &x), b);
    for x in [-0.7, 0.4] {
        check(
            "scalar_by_reference",
            |x| scalar_by_reference(&x),
            |x| scalar_by_reference_grad(&x),
            x,
        );
    }
}

#[derive_grad]
fn indexing(w: [f64; 5]) -> f64 {
    // constant indices, loop variables, and arithmetic on loop variables
    let mut s = w[0] * w[4] - w[2];
    for i in 0..4 {
        s += w[i] * w[i + 1] * (i as f64 + 1.0);
    }
    for i in 0..5 {
        s += (w[4 - i] - w[i]).powi(2) * 0.1;
    }
    s + w[3 % 2]
}

#[test]
fn constant_and_loop_variable_indexing() {
    for w in [[0.1, 0.2, -0.3, 0.4, 0.5], [1.5, -1.0, 0.25, 2.0, -0.7]] {
        check("indexing", indexing, indexing_grad, w);
    }
}

// ============================================================ bindings

#[derive_grad]
fn bindings(x: [f64; 2]) -> f64 {
    let a = x[0] * 2.0;
    let b = a + x[1];
    // shadowing, the new value from the old
    let a = a * b;
    let a = a.sin() + a;
    // let mut and reassignment
    let mut z = b;
    z = z * a + 1.0;
    z += x[0];
    z -= a * 0.5;
    z *= x[1];
    z /= 1.0 + x[0] * x[0];
    let mut w = z;
    w = w - 3.0;
    w = w.tanh();
    z + w * a
}

#[test]
fn let_shadowing_mut_and_compound_assignment() {
    for x in [[0.3, -0.8], [-1.1, 0.6], [2.0, 1.5]] {
        check("bindings", bindings, bindings_grad, x);
    }
}

#[derive_grad]
fn let_without_initializer(x: f64) -> f64 {
    let y;
    y = x * x;
    let z: f64 = y + x;
    z * 2.0
}

#[test]
fn deferred_initialization_and_type_ascription() {
    check(
        "let_without_initializer",
        let_without_initializer,
        let_without_initializer_grad,
        0.7,
    );
}

#[derive_grad(wrt(w1, w2))]
fn tanh_layer(w1: [[f64; 3]; 2], w2: [f64; 2], x: [f64; 3], t: f64) -> f64 {
    let mut h = [0.0; 2];
    for j in 0..2 {
        let mut s = 0.0;
        for i in 0..3 {
            s += w1[j][i] * x[i];
        }
        h[j] = s.tanh();
    }
    let y = w2[0] * h[0] + w2[1] * h[1];
    (y - t).powi(2)
}

#[derive_grad]
fn local_array_updates(x: [f64; 3]) -> f64 {
    let mut h = [0.0; 3];
    h[1] = x[0] * 2.0;
    h[1] += x[1];
    h[0] = h[1] * x[2];
    h[2] -= x[0];
    h[2] *= h[0];
    h[0] /= 1.0 + x[1] * x[1];
    let mut m = [[0.0; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            m[i][j] = x[i] * x[j + 1] + h[i + j];
        }
    }
    h[0] + h[1] * h[2] + m[0][1] * m[1][0] - m[1][1]
}

#[test]
fn element_assignment_into_local_arrays() {
    let w1 = [[0.1, 0.2, -0.3], [0.5, -0.4, 0.3]];
    let w2 = [0.7, -1.2];
    let x = [1.0, 2.0, -1.0];
    let t = 0.4;
    let (v, (g1, g2)) = tanh_layer_grad(w1, w2, x, t);
    assert_same_value("tanh_layer", v, tanh_layer(w1, w2, x, t));
    assert_grad("tanh_layer wrt w1", &g1, |w1| tanh_layer(w1, w2, x, t), w1);
    assert_grad("tanh_layer wrt w2", &g2, |w2| tanh_layer(w1, w2, x, t), w2);
    for x in [[0.3, -0.5, 1.2], [-1.0, 0.8, 0.1]] {
        check(
            "local_array_updates",
            local_array_updates,
            local_array_updates_grad,
            x,
        );
    }
}

// =============================================================== loops

#[derive_grad]
fn logistic8(x0: f64) -> f64 {
    let r = 3.7;
    let mut x = x0;
    for _ in 0..8 {
        x = r * x * (1.0 - x);
    }
    x
}

#[derive_grad]
fn loop_ranges(x: [f64; 4]) -> f64 {
    let mut a = 0.0;
    for i in 0..=3 {
        a = a * 0.5 + x[i] * (a + 1.0).sin();
    }
    let mut b = 0.0;
    for i in (0..4).rev() {
        b = b * 0.5 + x[i] * (b + 1.0).sin();
    }
    let mut c = 1.0;
    for i in 1..3 {
        for j in 0..i {
            c = c * x[i] + x[j] * (i as f64 - j as f64);
        }
    }
    let mut d = 0.0;
    for i in (0..4).step_by(2) {
        d += x[i] * x[i];
    }
    a + 2.0 * b + c * 0.3 + d
}

#[derive_grad]
fn iterators(w: [f64; 3], x: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for (i, (&wi, &xi)) in w.iter().zip(x.iter()).enumerate() {
        s += wi * xi * (i as f64 + 1.0);
    }
    let mut t = 0.0;
    for (k, wk) in w.iter().enumerate() {
        t += *wk * (k as f64) - wk * wk;
    }
    for &wi in w.iter() {
        t += wi.sin();
    }
    for wi in w {
        t += wi * 0.5;
    }
    s + t + w.iter().sum::<f64>() * x.iter().sum::<f64>() + w.len() as f64
}

#[test]
fn for_loops_of_every_kind() {
    for x0 in [0.2, 0.55, 0.81] {
        check("logistic8", logistic8, logistic8_grad, x0);
    }
    for x in [[0.3, -0.2, 0.9, -1.1], [1.2, 0.4, -0.6, 0.05]] {
        check("loop_ranges", loop_ranges, loop_ranges_grad, x);
    }
    let x = [0.5, -1.5, 2.0];
    for w in [[0.1, 0.2, 0.3], [-1.0, 0.5, 1.5]] {
        check(
            "iterators",
            |w| iterators(w, x),
            |w| iterators_grad(w, x),
            w,
        );
    }
}

// ======================================================= if and else

#[derive_grad]
fn huber(r: f64, delta: f64) -> f64 {
    let a = r.abs();
    if a <= delta {
        0.5 * r * r
    } else {
        delta * (a - 0.5 * delta)
    }
}

#[derive_grad]
fn if_statements(x: [f64; 2]) -> f64 {
    let mut y = x[0] * x[1];
    if x[0] > 1.0 {
        y = x[0].ln() * y;
    } else if x[0] < -1.0 {
        y += x[1] * 3.0;
    } else {
        y *= x[0].cos();
    }
    if x[1] >= 0.0 {
        y -= x[1].powi(3);
    }
    let z = if y < x[1] { y * 2.0 } else { x[1] - y };
    // a branch inside a loop, decided per iteration
    let mut s = 0.0;
    for i in 0..2 {
        if x[i] > 0.5 && x[1 - i] < 2.0 {
            s += x[i].exp();
        } else {
            s -= x[i] * x[i];
        }
    }
    z + s + if x[0] != x[1] { 0.5 * x[0] } else { 0.0 }
}

#[test]
fn if_else_as_expression_and_statement_on_both_sides() {
    let delta = 1.0;
    for r in [-2.5, -0.4, 0.3, 1.7] {
        check(
            "huber wrt r",
            |r| huber(r, delta),
            |r| huber_grad(r, delta),
            r,
        );
    }
    for x in [
        [1.5, 0.7],
        [1.5, -0.7],
        [-1.5, 0.3],
        [-1.5, -2.2],
        [0.3, 0.9],
        [0.7, -0.4],
        [0.8, 2.5],
        [3.0, 1.0],
    ] {
        check("if_statements", if_statements, if_statements_grad, x);
    }
}

// ============================================================ methods

/// One `#[derive_grad]` function per method, each composed with other
/// operations so the chain rule is exercised, checked at several points
/// (both sides of a kink where there is one).
macro_rules! unary_cases {
    ($($name:ident: |$x:ident| $body:expr, [$($p:expr),+ $(,)?];)*) => {$(
        mod $name {
            use backprop::prelude::*;
            #[derive_grad]
            pub fn f($x: f64) -> f64 {
                $body
            }
            #[test]
            fn gradient_matches_finite_differences() {
                for x in [$($p),+] {
                    crate::common::check(stringify!($name), f, f_grad, x);
                }
            }
        }
    )*};
}

/// The same for methods of two arguments, differentiated in both.
macro_rules! binary_cases {
    ($($name:ident: |$x:ident, $y:ident| $body:expr, [$($p:expr),+ $(,)?];)*) => {$(
        mod $name {
            use backprop::prelude::*;
            #[derive_grad(wrt($x, $y))]
            pub fn f($x: f64, $y: f64) -> f64 {
                $body
            }
            #[test]
            fn gradient_matches_finite_differences() {
                for (a, b) in [$($p),+] {
                    let (v, (ga, gb)) = f_grad(a, b);
                    crate::common::assert_same_value(stringify!($name), v, f(a, b));
                    crate::common::assert_grad(stringify!($name), &ga, |a| f(a, b), a);
                    crate::common::assert_grad(stringify!($name), &gb, |b| f(a, b), b);
                }
            }
        }
    )*};
}

unary_cases! {
    m_exp: |x| (0.7 * x).exp() * x, [-1.2, 0.3, 2.1];
    m_exp2: |x| (x * 0.5).exp2() + x, [-1.2, 0.3, 2.1];
    m_exp_m1: |x| (x * x).exp_m1() - x.exp_m1(), [-1.2, 0.3, 1.1];
    m_ln: |x| (x * x + 1.0).ln() * x, [-1.2, 0.3, 2.1];
    m_ln_1p: |x| (x * x).ln_1p() + (0.5 * x).ln_1p(), [-1.2, 0.3, 2.1];
    m_log2: |x| (x * x + 0.5).log2(), [-1.2, 0.3, 2.1];
    m_log10: |x| (x * x + 0.5).log10() * x, [-1.2, 0.3, 2.1];
    m_sqrt: |x| (x * x + 0.3).sqrt() + (x + 3.0).sqrt(), [-1.2, 0.3, 2.1];
    m_cbrt: |x| (x * 2.0 + 5.0).cbrt() + x.cbrt(), [-1.2, 0.3, 2.1];
    m_powi: |x| x.powi(3) - 2.0 * x.powi(-2) + x.powi(0) + x.powi(1) + x.powi(2), [-1.2, 0.3, 2.1];
    m_recip: |x| (x * x + 0.5).recip() + x.recip(), [-1.2, 0.3, 2.1];
    m_sin: |x| (2.0 * x).sin() * x, [-1.2, 0.3, 2.1];
    m_cos: |x| (2.0 * x).cos() * x, [-1.2, 0.3, 2.1];
    m_tan: |x| (0.5 * x).tan() * x, [-1.2, 0.3, 2.1];
    m_asin: |x| (0.4 * x).asin() + x.asin() * x, [-0.9, 0.3, 0.6];
    m_acos: |x| (0.4 * x).acos() + x.acos() * x, [-0.9, 0.3, 0.6];
    m_atan: |x| (3.0 * x).atan() * x, [-1.2, 0.3, 2.1];
    m_sinh: |x| (0.5 * x).sinh() * x, [-1.2, 0.3, 2.1];
    m_cosh: |x| (0.5 * x).cosh() * x, [-1.2, 0.3, 2.1];
    m_tanh: |x| (0.5 * x).tanh() * x, [-1.2, 0.3, 2.1];
    m_abs: |x| (x - 0.5).abs() * x + x.abs(), [-1.2, 0.3, 2.1];
    m_signum: |x| x.signum() * x * x + (x - 1.0).signum(), [-1.2, 0.3, 2.1];
    c_sigmoid: |x| sigmoid(2.0 * x) * x, [-1.2, 0.3, 2.1];
    c_relu: |x| relu(x - 0.5) * x + relu(-x), [-1.2, 0.3, 2.1];
    c_softplus: |x| softplus(2.0 * x) * x, [-1.2, 0.3, 2.1];
    c_log_sigmoid: |x| log_sigmoid(2.0 * x) + x, [-1.2, 0.3, 2.1];
    c_silu: |x| silu(1.5 * x) * x, [-1.2, 0.3, 2.1];
    c_square: |x| square(x.sin() - 0.2), [-1.2, 0.3, 2.1];
    c_qualified: |x| backprop::sigmoid(x) + backprop::core::functions::softplus(x), [-1.2, 0.3, 2.1];
}

binary_cases! {
    m_log: |x, y| (x * x + 0.5).log(y * y + 2.0) + x.log(y), [(0.7, 1.5), (2.1, 3.0), (1.3, 0.4)];
    m_powf: |x, y| x.powf(y) + (x * x + 1.0).powf(0.5 * y), [(0.7, 1.5), (2.1, -0.4), (1.3, 3.0)];
    m_atan2: |y, x| y.atan2(x) * 1.5 + (2.0 * y).atan2(x + 3.0), [(0.7, 1.5), (0.4, -1.0), (-0.6, -0.3), (-1.1, 0.8)];
    m_hypot: |x, y| x.hypot(y) + (x * 2.0).hypot(1.5), [(0.7, 1.5), (-0.4, 1.0), (-0.6, -0.3)];
    m_max: |x, y| x.max(y) * x + x.max(0.3), [(0.7, 1.5), (1.5, 0.7), (-0.6, -0.3), (-0.3, -0.6)];
    m_min: |x, y| x.min(y) * x + x.min(0.3), [(0.7, 1.5), (1.5, 0.7), (-0.6, -0.3), (-0.3, -0.6)];
    m_mul_add: |x, y| x.mul_add(y, x * y) + (2.0 * x).mul_add(0.5, y), [(0.7, 1.5), (-0.4, 1.0)];
    c_leaky_relu: |x, slope| leaky_relu(x, slope) * 2.0 + leaky_relu(x - 1.0, 0.1), [(0.7, 0.01), (-0.4, 0.2), (1.5, 0.3)];
}

#[derive_grad(wrt(a, b, c))]
fn mul_add_three(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c) * c
}

#[test]
fn mul_add_in_all_three_arguments() {
    let (a, b, c) = (0.7, -1.3, 2.2);
    let (v, (ga, gb, gc)) = mul_add_three_grad(a, b, c);
    assert_same_value("mul_add_three", v, mul_add_three(a, b, c));
    assert_grad("mul_add_three wrt a", &ga, |a| mul_add_three(a, b, c), a);
    assert_grad("mul_add_three wrt b", &gb, |b| mul_add_three(a, b, c), b);
    assert_grad("mul_add_three wrt c", &gc, |c| mul_add_three(a, b, c), c);
}

/// The methods on `f32` and on a generic float.
#[derive_grad]
fn many_methods_generic<F: Float>(x: F) -> F {
    let two = F::from(2.0).unwrap();
    let a = x.exp() + x.exp2() + x.exp_m1() + (x + two).ln() + x.ln_1p();
    let b = (x + two).log(F::from(3.0).unwrap())
        + (x + two).log2()
        + (x + two).log10()
        + (x + two).sqrt()
        + x.cbrt();
    let c =
        x.recip() + x.sin() * x.cos() + x.tan() + (x / two).asin() + (x / two).acos() + x.atan();
    let d = x.atan2(two)
        + x.sinh()
        + x.cosh()
        + x.tanh()
        + x.abs()
        + x.max(F::one())
        + x.min(F::zero());
    let e = x.hypot(two)
        + x.mul_add(two, F::one())
        + x.powf(two / F::from(3).unwrap())
        + x.powi(3)
        + x.signum();
    let f = sigmoid(x)
        + relu(x)
        + softplus(x)
        + leaky_relu(x, F::from(0.1).unwrap())
        + log_sigmoid(x)
        + silu(x)
        + square(x);
    a + b + c + d + e + f
}

#[test]
fn methods_on_f32_and_generic_floats() {
    for x in [0.35, 0.8, 1.4] {
        check(
            "many_methods_generic::<f64>",
            many_methods_generic::<f64>,
            many_methods_generic_grad::<f64>,
            x,
        );
        check(
            "many_methods_generic::<f32>",
            many_methods_generic::<f32>,
            many_methods_generic_grad::<f32>,
            x as f32,
        );
    }
}

// ============================== calls between #[derive_grad] functions

#[derive_grad]
fn inner(w: [f64; 2], x: f64) -> f64 {
    (w[0] * x + w[1]).tanh()
}

#[derive_grad]
fn scalar_helper(v: &f64) -> f64 {
    v * v + v.sin()
}

#[derive_grad]
fn nested_helper(m: [[f64; 2]; 2]) -> f64 {
    m[0][0] * m[1][1] - m[0][1] * m[1][0]
}

#[derive_grad(wrt(w))]
fn outer(w: [f64; 2], x: f64) -> f64 {
    let a = inner(w, x);
    let b = inner([w[1], w[0]], a);
    let mut s = a * b + scalar_helper(&w[0]);
    for i in 0..2 {
        s += inner([w[i], x], w[1 - i]);
    }
    s + nested_helper([[w[0], w[1]], [x, w[0] * w[1]]])
}

#[derive_grad]
fn outermost(w: [f64; 2]) -> f64 {
    outer(w, 0.7) * outer([w[1], w[0]], -0.3) + inner(w, w[0])
}

#[derive_grad]
fn generic_callee<F: Float>(x: F) -> F {
    x.sin() * x
}

#[derive_grad]
fn generic_caller<F: Float>(x: [F; 2]) -> F {
    generic_callee(x[0] * x[1]) + generic_callee(x[1])
}

#[test]
fn calls_between_derive_grad_functions() {
    let x = 0.8;
    for w in [[0.3, -0.6], [1.2, 0.4]] {
        check("outer", |w| outer(w, x), |w| outer_grad(w, x), w);
        check("outermost", outermost, outermost_grad, w);
        check(
            "generic_caller",
            generic_caller::<f64>,
            generic_caller_grad::<f64>,
            w,
        );
    }
    // The callee's companion: value and the gradient in every parameter.
    let w = [0.3, -0.6];
    let (v, (gw, gx)): (f64, ([f64; 2], f64)) = inner_vjp(w, x);
    assert_same_value("inner_vjp", v, inner(w, x));
    assert_grad("inner_vjp wrt w", &gw, |w| inner(w, x), w);
    assert_grad("inner_vjp wrt x", &gx, |x| inner(w, x), x);
}

// ==================================================== return, wrt, misc

#[derive_grad]
fn trailing_expression(x: f64, y: f64) -> f64 {
    let x = x * 2.0;
    let z = x + y;
    z * x
}

#[derive_grad]
fn final_return(x: f64, y: f64) -> f64 {
    let x = x * 2.0;
    let mut z = x + y;
    z *= x;
    return z;
}

#[test]
fn trailing_expression_and_final_return() {
    for x in [0.4, -1.3] {
        check(
            "trailing_expression",
            |x| trailing_expression(x, 0.5),
            |x| trailing_expression_grad(x, 0.5),
            x,
        );
        check(
            "final_return",
            |x| final_return(x, 0.5),
            |x| final_return_grad(x, 0.5),
            x,
        );
        assert_eq!(trailing_expression_grad(x, 0.5), final_return_grad(x, 0.5));
    }
}

#[derive_grad(wrt(a, b))]
fn two_parameters(a: [f64; 2], b: f64, c: f64) -> f64 {
    (a[0] * b + a[1] * c).sin() + b * b * a[1]
}

#[derive_grad(wrt(b, a))]
fn two_parameters_reversed(a: [f64; 2], b: f64, c: f64) -> f64 {
    (a[0] * b + a[1] * c).sin() + b * b * a[1]
}

#[derive_grad(wrt(c))]
fn not_the_first(a: [f64; 2], b: f64, c: f64) -> f64 {
    (a[0] * b + a[1] * c).sin() + b * b * a[1] * c
}

#[test]
fn wrt_names_the_parameters_and_gives_a_tuple() {
    let (a, b, c) = ([0.3, -0.7], 1.1, 0.4);
    let (v, (ga, gb)): (f64, ([f64; 2], f64)) = two_parameters_grad(a, b, c);
    assert_same_value("two_parameters", v, two_parameters(a, b, c));
    assert_grad("two_parameters wrt a", &ga, |a| two_parameters(a, b, c), a);
    assert_grad("two_parameters wrt b", &gb, |b| two_parameters(a, b, c), b);
    let (v2, (gb2, ga2)): (f64, (f64, [f64; 2])) = two_parameters_reversed_grad(a, b, c);
    assert_same_value(
        "two_parameters_reversed",
        v2,
        two_parameters_reversed(a, b, c),
    );
    assert_eq!((v2, gb2, ga2), (v, gb, ga));
    check(
        "not_the_first",
        |c| not_the_first(a, b, c),
        |c| not_the_first_grad(a, b, c),
        c,
    );
}

#[derive_grad]
fn flags_and_counts(x: [f64; 2], flag: bool, n: usize) -> f64 {
    let k = n as f64;
    let y = if flag {
        x[0] * k + x[1]
    } else {
        x[0].sin() - k * x[1] * x[1]
    };
    let mut z = y;
    if !flag {
        z *= 2.0;
    }
    if n > 2 {
        z += x[1] * x[0];
    }
    z
}

#[test]
fn bool_and_usize_parameters_are_not_differentiated() {
    for flag in [true, false] {
        for n in [0usize, 1, 3, 7] {
            for x in [[0.3, -0.9], [1.2, 0.5]] {
                check(
                    "flags_and_counts",
                    |x| flags_and_counts(x, flag, n),
                    |x| flags_and_counts_grad(x, flag, n),
                    x,
                );
            }
        }
    }
}

const SCALE: f64 = 2.5;
const OFFSET: f64 = -0.75;
#[derive_grad]
fn uses_consts(x: [f64; 3]) -> f64 {
    let mut s = OFFSET;
    for i in 0..3 {
        s += SCALE * x[i] * x[i] + (SCALE as f64) * x[i];
    }
    s * std::f64::consts::PI + f64::EPSILON + SCALE.sqrt()
}

#[test]
fn module_level_consts() {
    for x in [[0.3, -0.9, 1.4], [1.2, 0.5, -2.0]] {
        check("uses_consts", uses_consts, uses_consts_grad, x);
    }
}

// ================================ more forms of the constructs above

#[derive_grad]
fn untaken_branches_are_not_nan(x: f64) -> f64 {
    let a = if x > 0.0 { x.sqrt() } else { -x };
    let mut b = 0.0;
    if x > 0.0 {
        b = x.ln();
    }
    let c = relu(x).sqrt() + x.max(0.0).sqrt();
    a + b + c
}

#[test]
fn a_branch_not_taken_does_not_poison_the_gradient() {
    for x in [-1.5, -0.2, 0.4, 2.0] {
        check(
            "untaken_branches_are_not_nan",
            untaken_branches_are_not_nan,
            untaken_branches_are_not_nan_grad,
            x,
        );
    }
}

mod helpers {
    use backprop::prelude::*;

    #[derive_grad]
    pub fn inner(w: [f64; 2]) -> f64 {
        w[0].sin() * w[1]
    }
}

#[derive_grad]
fn spellings(x: [f64; 3]) -> f64 {
    let a =
        f64::max(x[0], x[1]) + f64::sqrt(x[2] * x[2] + 1.0) + Float::exp(x[0]) + f64::powi(x[1], 3);
    let b = -x[0].powi(2) + 2.0_f64.powf(x[1]) + x[2].clamp(-0.5, 0.5);
    let mut h = [1.0; 3];
    for i in 1..3 {
        h[i] = h[i - 1] * x[i] + x[i - 1];
    }
    if x[0] > 0.0 {
        h[1] = x[0] * h[2];
    }
    let mut p = 0.0;
    for (a, b) in x.iter().zip(h) {
        p += a * b;
    }
    a + b + p + h.iter().product::<f64>() + helpers::inner([x[0], x[2]])
}

#[test]
fn other_spellings_of_supported_constructs() {
    for x in [[0.3, -0.9, 1.4], [-1.2, 0.5, -0.2], [0.8, 1.1, 0.3]] {
        check("spellings", spellings, spellings_grad, x);
    }
}

#[derive_grad]
fn generic_spellings<F: Float>(x: [F; 2]) -> F {
    let c = F::from(0.1).unwrap() * F::from(0.1).unwrap();
    (F::sin(x[0]) + x[1].powi(2) * F::from(3).unwrap()) * c
}

#[derive_grad]
fn f32_constant_of_a_method(x: f32) -> f32 {
    x * (0.68f32).sin()
}

#[test]
fn generic_f32_constants_fold_like_the_original() {
    let x = [0.3f32, -0.9];
    check(
        "generic_spellings::<f32>",
        generic_spellings::<f32>,
        generic_spellings_grad::<f32>,
        x,
    );
}

#[test]
fn f32_method_of_a_constant_folds_like_the_original() {
    check(
        "f32_constant_of_a_method",
        f32_constant_of_a_method,
        f32_constant_of_a_method_grad,
        1.0,
    );
}

#[derive_grad]
fn nested_len(w: [[f64; 3]; 4]) -> f64 {
    w[0][0] * w.len() as f64
}

#[test]
fn len_of_a_nested_array_with_the_prelude_in_scope() {
    check("nested_len", nested_len, nested_len_grad, [[0.5; 3]; 4]);
}

#[derive_grad]
fn rebinding_the_parameter(x: [f64; 2], y: f64) -> f64 {
    let mut x = x;
    x[0] *= y;
    let mut y = y;
    y += x[1];
    let i = y * 2.0;
    let mut s = 0.0;
    for i in 0..2 {
        s += x[i] * (i as f64 + 1.0);
    }
    {
        let s = s * 100.0;
        y -= s * 0.0;
    }
    s * i + y
}

#[test]
fn a_mutable_copy_of_a_parameter_and_scopes() {
    for x in [[0.3, -0.9], [1.2, 0.5]] {
        check(
            "rebinding_the_parameter",
            |x| rebinding_the_parameter(x, 0.7),
            |x| rebinding_the_parameter_grad(x, 0.7),
            x,
        );
    }
}

const STEPS: usize = 3;

/// A `const` of an integer type used as `STEPS as f64`: the cast is kept.
#[derive_grad]
fn usize_const_cast(x: f64) -> f64 {
    x * (STEPS as f64)
}

#[test]
fn usize_const_cast_to_float_compiles() {
    assert_eq!(usize_const_cast_grad(2.0), (usize_const_cast(2.0), 3.0));
}

/// The finite-difference helper itself: exact on polynomials, and it
/// rejects a gradient that is off, for f64 and f32 and nested arrays.
#[test]
fn the_finite_difference_check_has_teeth() {
    let f = |w: [[f64; 2]; 2]| w[0][0] * w[0][1] * w[0][1] + w[1][0].sin() - w[1][1];
    let w = [[0.5, -1.5], [0.3, 2.0]];
    let right = [[2.25, -1.5], [0.3f64.cos(), -1.0]];
    common::assert_grad("right", &right, f, w);
    let fd = common::fd_grad(f, w);
    assert!((fd[1] + 1.5).abs() < 1e-9, "{fd:?}");
    let mut wrong = right;
    wrong[1][0] *= 1.001;
    assert!(std::panic::catch_unwind(|| common::assert_grad("wrong", &wrong, f, w)).is_err());
    let g = |x: f32| x * x * x;
    common::assert_grad("f32 right", &12.0f32, g, 2.0f32);
    assert!(
        std::panic::catch_unwind(|| common::assert_grad("f32 wrong", &12.2f32, g, 2.0f32)).is_err()
    );
}
