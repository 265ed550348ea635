//! Names in the generated code cannot collide with the user's names
//! (issue 8): parameters, outer `const`s, `static`s and unit structs named
//! exactly like every local the emitter writes for these functions
//! (backprop-compiler's `hygiene_fixture_covers_every_emitted_name` checks
//! that this file names them all).

#![allow(non_upper_case_globals, non_camel_case_types, dead_code)]
// The losses index slices in loops over ranges, the form under test.
#![allow(clippy::needless_range_loop)]

mod common;

use backprop::prelude::*;
use common::check;

/// Outside values, one per name: not mentioned by the functions below
/// (except where a function reads one on purpose), so the emitter may pick
/// these very names for its locals.
macro_rules! outside {
    ($($name:ident)*) => {
        $(const $name: f64 = 1.5;)*
    };
}

outside!(v v_1 v_2 v_3 v_4 v_5 v_6 v_7 v_8 v_9 v_10 v_11 v_12 v_13 v_14 v_15 v_16 v_17 v_18 v_19 v_20 v_21 v_22 v_23 v_24 v_25 v_26 v_27 v_28 v_29 v_30 v_31 v_32 v_33 v_34 v_35 v_36 v_37 v_38 v_39 v_40);
outside!(value value_1 value_2 d_y d_y_1 d_z d_z_1 d_s d_s_1 d_h d_a d_c);
outside!(c0 c1 c2 c3 c4 c5 c6 c7 h_grad h_1 h_1_grad helper_1 helper_1_grad);
// The locals of the second-order companions (`NAME_hvp_all`).
outside!(v_41 v_42 v_43 v_44 v_45 v_46 dir helper_dir helper_hvp tangent tangent_0 tangent_1 tangent_2 tangent_3);
outside!(grad_0 grad_1 grad_2 grad_3 hv_0 hv_1 hv_2 hv_3 tangent_part_0 tangent_part_1 tangent_part_2 tangent_part_3);
static d_x: f64 = 17.0;
static d_x_1: f64 = 19.0;
#[derive(Clone, Copy)]
struct d_w_0;
#[derive(Clone, Copy)]
struct d_w_1;

mod parameters {
    use backprop::prelude::*;

    // The same outside names, but for those the functions take as parameters.
    outside!(v_1 v_2 v_3 v_4 v_5 v_6 v_7 v_8 v_9 v_10 v_11 v_12 v_13 v_14 v_15 v_16 v_17 v_18 v_19 v_20 v_21 v_22 v_23 v_24 v_25 v_26 v_27 v_28 v_29 v_30 v_31 v_32 v_33 v_34 v_35 v_36 v_37 v_38 v_39 v_40);
    outside!(value_1 value_2 d_value_1 d_d_value d_v_0 d_v_1 c2 c3);
    // The tape's locals, beside a parameter named `tape`.
    outside!(restored tape_1);
    // A second-order companion's tangent of a carried value.
    outside!(t_s);

    /// The case from the issue: a parameter named like a generic constant.
    #[derive_grad]
    pub fn generic_c0<F: Float>(x: F, c0: F) -> F {
        x * F::from(0.5).unwrap() + c0 * x
    }

    /// Integer slices named like the parameters and locals of the
    /// generated functions (`grad` of `NAME_grad_acc`, `workspace` of
    /// `NAME_grad_acc_with`, the `tape`), read through a named range.
    #[derive_grad]
    pub fn integer_slices_named_like_locals(
        w: &[f64],
        grad: &[usize],
        tape: Vec<u8>,
        workspace: [i32; 2],
    ) -> f64 {
        let mut s = 0.0;
        for k in 0..grad.len() {
            let row = &w[grad[k]..];
            s += (row[0] * tape[k] as f64).tanh() * workspace[k % 2] as f64;
        }
        s
    }

    /// Parameters named like the emitter's locals.
    #[derive_grad(wrt(value, v))]
    pub fn named_like_locals(value: f64, v: [f64; 2], d_value: f64, c1: f64) -> f64 {
        let y = value * v[0] - v[1] * d_value;
        y * y.tanh() + c1 * value
    }
}
use parameters::{generic_c0, generic_c0_grad, named_like_locals, named_like_locals_grad};

#[test]
fn integer_slices_named_like_generated_parameters_are_read_as_themselves() {
    use parameters::*;
    let w = [0.1, 0.2, 0.3, 0.4];
    let picks = [2usize, 0, 3];
    let f = |w: &[f64]| integer_slices_named_like_locals(w, &picks, vec![1, 2, 3], [1, -2]);
    let (total, gradient) =
        integer_slices_named_like_locals_grad(&w, &picks, vec![1, 2, 3], [1, -2]);
    assert_eq!(total.to_bits(), f(&w).to_bits());
    let mut acc = vec![0.0; 4];
    let mut work = backprop::core::Workspace::new();
    let accumulated = integer_slices_named_like_locals_grad_acc_with(
        &w,
        &picks,
        vec![1, 2, 3],
        [1, -2],
        &mut acc,
        &mut work,
    );
    assert_eq!(accumulated.to_bits(), total.to_bits());
    assert_eq!(acc, gradient);
    // By hand: ∂/∂w_p = Σ_{k: picks_k = p} (1 − tanh²(w_p·t_k))·t_k·s_k.
    let (t, s) = ([1.0, 2.0, 3.0], [1.0, -2.0, 1.0]);
    let mut hand = [0.0; 4];
    for k in 0..3 {
        let z: f64 = w[picks[k]] * t[k];
        hand[picks[k]] += (1.0 - z.tanh() * z.tanh()) * t[k] * s[k];
    }
    for i in 0..4 {
        assert!(
            (gradient[i] - hand[i]).abs() < 1e-15,
            "{i}: {} vs {}",
            gradient[i],
            hand[i]
        );
    }
}

#[test]
fn a_parameter_named_like_a_generated_constant_is_not_shadowed() {
    let (value_, grad) = generic_c0_grad(0.7, 2.0);
    assert_eq!(value_, 1.75);
    assert_eq!(value_, generic_c0(0.7, 2.0));
    assert_eq!(grad, 2.5);
    let (value_, grad) = generic_c0_grad(0.7f32, 2.0);
    assert_eq!(value_, generic_c0(0.7f32, 2.0));
    assert_eq!(grad, 2.5);
    let (value_, (d_value, d_v)) = named_like_locals_grad(0.5, [0.25, -1.5], 2.0, 3.0);
    assert_eq!(value_, named_like_locals(0.5, [0.25, -1.5], 2.0, 3.0));
    common::assert_grad(
        "named_like_locals",
        &d_value,
        |a| named_like_locals(a, [0.25, -1.5], 2.0, 3.0),
        0.5,
    );
    common::assert_grad(
        "named_like_locals",
        &d_v,
        |w| named_like_locals(0.5, w, 2.0, 3.0),
        [0.25, -1.5],
    );
}

/// Outside values named like the emitter's locals, used and unused.
#[derive_grad]
fn outer_items(x: f64) -> f64 {
    let y = x * x;
    let z = y.sin() * v + value * x;
    let s = z * d_x + y * v_1;
    s * s + v_2 * v_3 / (1.0 + d_y * d_z)
}

#[derive_grad]
fn generic_items<F: Float>(w: [F; 2], c: F) -> F {
    let a = w[0] * F::from(0.25).unwrap() + w[1] * F::from(1.5).unwrap();
    a * a * c + F::from(2.5).unwrap()
}

#[derive_grad]
fn helper(x: f64) -> f64 {
    x.exp() * d_a
}

#[derive_grad]
fn calls_helper(x: f64) -> f64 {
    let h = helper(x * 0.5);
    h * d_h + d_s * d_c
}

mod slice_calls {
    use backprop::prelude::*;

    // The locals the calls passing slices emit (their pullbacks', the
    // restored `vec!`, the second buffer), as outside items here.
    outside!(carry d d_1 d_w i i_1 k_1 restored_slice sum_sq_1 sum_sq_2 sum_sq_back sum_sq_back_1 t_1 tape d_v row s_1 s_2);
    // And those of the second-order companions through such calls (the
    // direction calls' results, their additions into adjoint buffers).
    outside!(carry_1 d_5 from_1 from_2 from_3 into_1 into_2 into_3 r r_1 r_2 r_3 restored_slice_1 t_t t_s);
    outside!(sum_sq_dir sum_sq_dir_1 sum_sq_dir_2 sum_sq_hvp sum_sq_hvp_1 sum_sq_hvp_2);

    #[derive_grad]
    pub fn sum_sq(v: &[f64]) -> f64 {
        let mut s = 0.0;
        for j in 0..v.len() {
            s += v[j] * v[j];
        }
        s
    }

    /// Calls passing slices: a `vec!` of each iteration (restored from
    /// the tape for the pullback), and a slice parameter.
    #[derive_grad]
    pub fn calls_with_slices(w: &[f64]) -> f64 {
        let mut t = 0.0;
        for k in 0..w.len() {
            let h = vec![w[k]; 2];
            t += sum_sq(&h);
        }
        t + sum_sq(w) * super::helper(w[0])
    }
}
use slice_calls::{calls_with_slices, calls_with_slices_grad};

#[test]
fn outer_items_named_like_the_locals_of_slice_calls_are_not_clobbered() {
    let w = [0.4, -1.3, 0.9];
    let (loss, grad) = calls_with_slices_grad(&w);
    assert_eq!(loss.to_bits(), calls_with_slices(&w).to_bits());
    // Σ 2 w_k² + Σ w_k² · e^{w_0} d_a: ∂/∂w_k = 4 w_k + 2 w_k e^{w_0} d_a,
    // plus Σ w² e^{w_0} d_a for k = 0.
    let e = w[0].exp() * d_a;
    let q: f64 = w.iter().map(|x| x * x).sum();
    for k in 0..3 {
        let want = 4.0 * w[k] + 2.0 * w[k] * e + if k == 0 { q * e } else { 0.0 };
        assert!((grad[k] - want).abs() < 1e-13, "{k}: {} vs {want}", grad[k]);
    }
}

mod ranges_and_copies {
    use backprop::prelude::*;

    // The locals of calls passing ranges of slices, a `vec!` copied at
    // the call (written after it), and a second buffer for one slice
    // passed twice, as outside items here.
    outside!(a_1 v_1 v_2 v_3 v_4 v_5 snapshot d_h d_w twice into from dot_1 dot_back sum_sq_1 sum_sq_back sum_sq_back_1 row row_1 row_2 d_p d_q d_v s_1 s_2 value);
    // And those of `jvp` through such calls (the gradients' buffers, the
    // dot products' closures).
    outside!(d_2 d_3 d_4 p p_1 p_2 p_3 q q_1 q_2 q_3 sum sum_1 sum_2 sum_3 d_left d_right);
    // And those of the second-order companions through such calls.
    outside!(dot_dir dot_hvp from_1 from_2 from_3 from_4 from_5 from_6 from_7 into_1 into_2 into_3 into_4 into_5 into_6 into_7);
    outside!(r r_1 r_2 r_3 r_4 r_5 r_6 r_7 sum_sq_dir sum_sq_dir_1 sum_sq_hvp sum_sq_hvp_1 row_3 row_4 row_5 row_6 t_s);

    #[derive_grad]
    pub fn sum_sq(v: &[f64]) -> f64 {
        let mut s = 0.0;
        for j in 0..v.len() {
            s += v[j] * v[j];
        }
        s
    }

    #[derive_grad]
    pub fn dot(left: &[f64], right: &[f64]) -> f64 {
        let mut s = 0.0;
        for j in 0..left.len() {
            s += left[j] * right[j];
        }
        s
    }

    /// A range of a `vec!` written after the call (copied at the call),
    /// the `vec!` and a range of it in one call (a second buffer), and a
    /// range of a slice parameter; with `jvp`, whose tangents of these
    /// calls are dot products of their pullbacks' gradients.
    #[derive_grad(jvp)]
    pub fn ranges_and_copies(w: &[f64]) -> f64 {
        let mut h = vec![0.0; 2];
        h[0] = w[0] * 2.0;
        h[1] = w[1];
        let a = sum_sq(&h[..1]);
        h[0] = w[1] * w[0];
        a + dot(&h, &h[..]) + sum_sq(&w[1..])
    }
}
use ranges_and_copies::{ranges_and_copies, ranges_and_copies_grad, ranges_and_copies_jvp};

#[test]
fn outer_items_named_like_the_locals_of_ranges_and_copies_are_not_clobbered() {
    let w = [0.4, -1.3, 0.9];
    let (loss, grad) = ranges_and_copies_grad(&w);
    assert_eq!(loss.to_bits(), ranges_and_copies(&w).to_bits());
    // 4 w0² + w1² w0² + w1² + w1² + w2²: ∂/∂w0 = 8 w0 + 2 w1² w0,
    // ∂/∂w1 = 2 w1 w0² + 4 w1, ∂/∂w2 = 2 w2.
    let want = [
        8.0 * w[0] + 2.0 * w[1] * w[1] * w[0],
        2.0 * w[1] * w[0] * w[0] + 4.0 * w[1],
        2.0 * w[2],
    ];
    for k in 0..3 {
        assert!(
            (grad[k] - want[k]).abs() < 1e-13,
            "{k}: {} vs {}",
            grad[k],
            want[k]
        );
    }
    // (Not `v` nor `value`: outside items of this file.)
    let direction = [0.3, 1.1, -0.6];
    let (at, derivative) = ranges_and_copies_jvp(&w, &direction);
    assert_eq!(at.to_bits(), loss.to_bits());
    let along: f64 = want.iter().zip(&direction).map(|(a, b)| a * b).sum();
    assert!(
        (derivative - along).abs() < 1e-13,
        "{derivative} vs {along}"
    );
}

#[test]
fn outer_items_named_like_generated_locals_are_read_not_clobbered() {
    for x in [-0.7, 0.3, 1.1] {
        check("outer_items", outer_items, outer_items_grad, x);
        check("calls_helper", calls_helper, calls_helper_grad, x);
    }
    for c in [0.5, -2.0] {
        check(
            "generic_items",
            |w| generic_items(w, c),
            |w| generic_items_grad(w, c),
            [0.3, -1.2],
        );
    }
    let _ = (d_w_0, d_w_1, d_x_1);
}
