//! Second derivatives through calls that pass a slice to another
//! `#[derive_grad]` function: `NAME_hvp` and `NAME_hessian` take the
//! callee's value, gradient and H·t from its second-order companion
//! `NAME_hvp_all`, whose slice parts are added into the caller's adjoint
//! buffers. A call at the top level, in a loop over ranges of a slice,
//! with a `vec!` built in a loop, with a `vec!` written before the call, after it, and before each call
//! of an unrolled loop,
//! under a condition, with a slice of arrays, with a slice that is not
//! differentiated, with a fixed-size array passed to a slice parameter,
//! and with one slice passed twice.
//!
//! Every result is checked against the original (the value, bit for
//! bit), `NAME_grad` (the gradient) and central differences of
//! `NAME_grad` (H·v); `NAME_hessian`'s columns against H·eⱼ, and H's
//! symmetry.
#![allow(clippy::needless_range_loop, clippy::useless_vec)] // as users write them

use backprop::prelude::*;

/// `NAME_hvp` as the checks take it: (value, gradient, H·v).
type Hvp<'a> = &'a dyn Fn(&[f64], &[f64]) -> (f64, Vec<f64>, Vec<f64>);

#[derive_grad]
fn cube_sum(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i] * x[i];
    }
    s
}

/// A slice and a scalar: both differentiated by the companion.
#[derive_grad]
fn weighted(x: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (w * x[i]).sin() * x[i];
    }
    s * w
}

#[derive_grad]
fn rows_norm(rows: &[[f64; 2]]) -> f64 {
    let mut s = 0.0;
    for r in 0..rows.len() {
        s += (rows[r][0] * rows[r][1]).exp();
    }
    s
}

#[derive_grad]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i] * b[i];
    }
    s
}

#[derive_grad(hessian)]
fn top(x: &[f64]) -> f64 {
    cube_sum(x).sin()
}

#[derive_grad(hessian)]
fn ranges(x: &[f64], d: usize) -> f64 {
    let mut s = 0.0;
    for j in 0..x.len() / d {
        s += cube_sum(&x[j * d..(j + 1) * d]) * x[j];
    }
    s + weighted(x, x[0])
}

#[derive_grad(hessian)]
fn vec_in_loop(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let mut h = vec![1.0; 3];
        h[0] = x[i];
        h[1] = x[i] * 2.0;
        s += cube_sum(&h) * x[i];
    }
    s
}

/// Written after the call: the call reads it as it was.
#[derive_grad(hessian)]
fn written_after(x: [f64; 3]) -> f64 {
    let mut h = vec![0.0; 3];
    for i in 0..3 {
        h[i] = x[i] * x[(i + 1) % 3];
    }
    let a = cube_sum(&h);
    h[0] = a * x[2];
    a + h[0] * h[1]
}

/// Written before each call of a loop of compile-time length (unrolled):
/// each call reads what the iteration wrote.
#[derive_grad(hessian)]
fn unrolled_rewrites(x: [f64; 3]) -> f64 {
    let mut h = vec![0.0; 2];
    let mut s = 0.0;
    for i in 0..3 {
        h[0] = x[i] * s;
        h[1] = x[i];
        s = s * 0.5 + cube_sum(&h);
    }
    s
}

#[derive_grad(hessian)]
fn written_before(x: [f64; 3]) -> f64 {
    let mut h = vec![0.0; 3];
    for i in 0..3 {
        h[i] = x[i] * x[(i + 1) % 3];
    }
    let a = cube_sum(&h);
    a + h[0] * h[1]
}

#[derive_grad(hessian)]
fn under_if(x: &[f64]) -> f64 {
    if x[0] > 0.0 {
        (cube_sum(x) * 0.1).exp()
    } else {
        x[0] * x[1]
    }
}

#[derive_grad(hessian)]
fn of_rows(x: &[[f64; 2]]) -> f64 {
    rows_norm(x) * x[0][1]
}

#[derive_grad(hessian)]
fn fit(w: [f64; 2], data: &[f64]) -> f64 {
    weighted(data, w[0]) * w[1] + w[0] * w[1]
}

#[derive_grad(hessian)]
fn array_to_slice(x: [f64; 2]) -> f64 {
    let a = [x[0] * 2.0, x[1], x[0] * x[1]];
    cube_sum(&a) + x[1]
}

#[derive_grad(hessian)]
fn twice(x: &[f64]) -> f64 {
    dot(x, x).sqrt()
}

/// Calls a function that passes its slice on: the companion's own
/// direction call.
#[derive_grad]
fn middle(x: &[f64]) -> f64 {
    cube_sum(x) * x[0] + dot(x, x)
}

#[derive_grad(hessian)]
fn nested(x: &[f64]) -> f64 {
    (middle(x) * 0.1).exp()
}

/// A `vec!` declared before the loop, written before the call in each
/// iteration (the reverse reads what each call read from the tape).
#[derive_grad(hessian)]
fn rewritten_each_iteration(x: &[f64]) -> f64 {
    let mut h = vec![0.0; 2];
    let mut s = 0.0;
    for i in 0..x.len() {
        h[0] = x[i];
        h[1] = s;
        s += cube_sum(&h) * x[i];
    }
    s
}

/// Written after the call in each iteration of a loop that stays a loop.
#[derive_grad(hessian)]
fn rewritten_after_each_call(x: &[f64]) -> f64 {
    let mut h = vec![0.0; 2];
    let mut s = 0.0;
    for i in 0..x.len() {
        h[0] = x[i];
        s += cube_sum(&h) * x[i];
        h[1] = s;
    }
    s
}

#[derive_grad(hessian)]
fn guarded_in_loop(x: &[f64], d: usize) -> f64 {
    let mut s = 0.0;
    for j in 0..x.len() / d {
        if x[j] > 0.0 {
            s += cube_sum(&x[j * d..(j + 1) * d]).sqrt();
        } else {
            s -= x[j];
        }
    }
    s
}

/// Chunks of a `vec!` rewritten before each call of an unrolled loop
/// (the calls in a loop that stays a loop, inside one that is unrolled).
#[derive_grad(hessian)]
fn chunks_rewritten(x: [f64; 2]) -> f64 {
    let mut s = 0.0;
    let mut h = vec![0.0; 3];
    for i in 0..3 {
        for j in 0..3 {
            h[j] = x[0] * (i + j) as f64 + x[1];
        }
        s = s * 0.5 + h.chunks(2).fold(0.0, |acc, r| acc + weighted(r, x[1]));
    }
    s
}

/// Checks `hvp` at `x` along `v` against `f` and `grad` (flat vectors).
fn check(
    f: &dyn Fn(&[f64]) -> f64,
    grad: &dyn Fn(&[f64]) -> Vec<f64>,
    hvp: Hvp,
    x: &[f64],
    v: &[f64],
) {
    let (value, g, hv) = hvp(x, v);
    assert_eq!(value.to_bits(), f(x).to_bits(), "value at {x:?}");
    let want = grad(x);
    assert_eq!(g.len(), want.len());
    for j in 0..want.len() {
        assert!(
            (g[j] - want[j]).abs() <= 1e-12 * want[j].abs().max(1.0),
            "gradient {g:?} vs {want:?} at {x:?}"
        );
    }
    let h = 1e-6;
    let at = |t: f64| {
        let moved: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + t * b).collect();
        grad(&moved)
    };
    let (plus, minus) = (at(h), at(-h));
    assert_eq!(hv.len(), x.len());
    for j in 0..x.len() {
        let fd = (plus[j] - minus[j]) / (2.0 * h);
        assert!(
            (hv[j] - fd).abs() <= 1e-5 * fd.abs().max(1.0),
            "H·v {hv:?}, differences give {fd} at [{j}], x = {x:?}"
        );
    }
}

/// Checks that two gradients agree to rounding.
fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{a:?} vs {b:?}");
    }
}

/// Checks a row-major `n × n` Hessian: symmetric, its columns H·eⱼ.
fn check_hessian(h: &[f64], hvp: &dyn Fn(&[f64]) -> Vec<f64>, n: usize) {
    assert_eq!(h.len(), n * n);
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        let col = hvp(&e);
        for i in 0..n {
            assert_eq!(h[i * n + j].to_bits(), col[i].to_bits(), "H[{i}][{j}]");
            let (a, b) = (h[i * n + j], h[j * n + i]);
            assert!(
                (a - b).abs() <= 1e-10 * a.abs().max(1.0),
                "H not symmetric at {i},{j}"
            );
        }
    }
}

/// [`check`] for a function of a fixed-size array `[f64; N]`.
fn check_array<const N: usize>(
    f: impl Fn([f64; N]) -> f64,
    grad: impl Fn([f64; N]) -> (f64, [f64; N]),
    hvp: impl Fn([f64; N], [f64; N]) -> (f64, [f64; N], [f64; N]),
    x: [f64; N],
    v: [f64; N],
) {
    let arr = |x: &[f64]| -> [f64; N] { x.try_into().expect("N elements") };
    check(
        &|x| f(arr(x)),
        &|x| grad(arr(x)).1.to_vec(),
        &|x, v| {
            let (a, g, h) = hvp(arr(x), arr(v));
            (a, g.to_vec(), h.to_vec())
        },
        &x,
        &v,
    );
}

/// Checks `NAME_hessian` of a function of `[f64; N]` at `x`: the value
/// bit for bit, the gradient, H's columns and symmetry.
fn check_array_hessian<const N: usize>(
    f: impl Fn([f64; N]) -> f64,
    grad: impl Fn([f64; N]) -> (f64, [f64; N]),
    hvp: impl Fn([f64; N], [f64; N]) -> (f64, [f64; N], [f64; N]),
    hessian: impl Fn([f64; N]) -> (f64, [f64; N], [[f64; N]; N]),
    x: [f64; N],
) {
    let (value, g, h) = hessian(x);
    assert_eq!(value.to_bits(), f(x).to_bits());
    close(&g, &grad(x).1);
    let flat: Vec<f64> = h.iter().flatten().copied().collect();
    let arr = |e: &[f64]| -> [f64; N] { e.try_into().expect("N elements") };
    check_hessian(&flat, &|e| hvp(x, arr(e)).2.to_vec(), N);
}

#[test]
fn a_call_passing_the_parameter() {
    for x in [vec![0.3, -0.7, 1.1], vec![-1.2], vec![]] {
        let v: Vec<f64> = (0..x.len()).map(|i| 0.5 - i as f64).collect();
        check(
            &|x| top(x),
            &|x| top_grad(x).1,
            &|x, v| top_hvp(x, v),
            &x,
            &v,
        );
        let (value, g, h) = top_hessian(&x);
        assert_eq!(value.to_bits(), top(&x).to_bits());
        close(&g, &top_grad(&x).1);
        check_hessian(&h, &|e| top_hvp(&x, e).2, x.len());
    }
}

#[test]
fn calls_passing_ranges_in_a_loop() {
    let x = [0.3, -0.7, 1.1, 0.4, -0.2, 0.9];
    let v = [0.5, 1.0, -0.3, 0.2, 0.7, -1.1];
    for d in [1, 2, 3, 4] {
        check(
            &|x| ranges(x, d),
            &|x| ranges_grad(x, d).1,
            &|x, v| ranges_hvp(x, d, v),
            &x,
            &v,
        );
    }
    let (_, _, h) = ranges_hessian(&x, 2);
    check_hessian(&h, &|e| ranges_hvp(&x, 2, e).2, x.len());
}

#[test]
fn a_vec_built_in_each_iteration() {
    let x = [0.3, -0.7, 1.1];
    check(
        &|x| vec_in_loop(x),
        &|x| vec_in_loop_grad(x).1,
        &|x, v| vec_in_loop_hvp(x, v),
        &x,
        &[1.0, 0.5, -2.0],
    );
}

#[test]
fn a_vec_written_before_the_call() {
    for x in [[0.3, -0.7, 1.1], [1.5, 0.2, -0.4]] {
        check_array(
            written_before,
            written_before_grad,
            written_before_hvp,
            x,
            [0.4, -1.0, 0.6],
        );
        check_array_hessian(
            written_before,
            written_before_grad,
            written_before_hvp,
            written_before_hessian,
            x,
        );
    }
}

#[test]
fn a_vec_written_after_the_call() {
    for x in [[0.3, -0.7, 1.1], [1.5, 0.2, -0.4]] {
        check_array(
            written_after,
            written_after_grad,
            written_after_hvp,
            x,
            [0.4, -1.0, 0.6],
        );
        check_array_hessian(
            written_after,
            written_after_grad,
            written_after_hvp,
            written_after_hessian,
            x,
        );
    }
}

#[test]
fn a_vec_rewritten_before_each_call_of_an_unrolled_loop() {
    for x in [[0.3, -0.7, 1.1], [1.5, 0.2, -0.4]] {
        check_array(
            unrolled_rewrites,
            unrolled_rewrites_grad,
            unrolled_rewrites_hvp,
            x,
            [0.4, -1.0, 0.6],
        );
        check_array_hessian(
            unrolled_rewrites,
            unrolled_rewrites_grad,
            unrolled_rewrites_hvp,
            unrolled_rewrites_hessian,
            x,
        );
    }
}

#[test]
fn a_call_under_a_condition() {
    for x in [[0.3, -0.7, 1.1], [-0.3, 0.8, 0.1]] {
        check(
            &|x| under_if(x),
            &|x| under_if_grad(x).1,
            &|x, v| under_if_hvp(x, v),
            &x,
            &[0.4, -1.0, 0.6],
        );
    }
}

#[test]
fn a_slice_of_arrays() {
    let rows = |x: &[f64]| -> Vec<[f64; 2]> { x.chunks(2).map(|c| [c[0], c[1]]).collect() };
    let flat = |r: Vec<[f64; 2]>| -> Vec<f64> { r.into_iter().flatten().collect() };
    check(
        &|x| of_rows(&rows(x)),
        &|x| flat(of_rows_grad(&rows(x)).1),
        &|x, v| {
            let (a, g, h) = of_rows_hvp(&rows(x), &rows(v));
            (a, flat(g), flat(h))
        },
        &[0.3, -0.7, 1.1, 0.4],
        &[0.4, -1.0, 0.6, 0.2],
    );
}

#[test]
fn a_slice_that_is_not_differentiated() {
    let data = [0.5, -1.5, 2.0, 0.25];
    let w = [0.7, -0.3];
    check_array(
        |w| fit(w, &data),
        |w| fit_grad(w, &data),
        |w, v| fit_hvp(w, &data, v),
        w,
        [1.0, 2.0],
    );
    check_array_hessian(
        |w| fit(w, &data),
        |w| fit_grad(w, &data),
        |w, v| fit_hvp(w, &data, v),
        |w| fit_hessian(w, &data),
        w,
    );
}

#[test]
fn a_fixed_size_array_passed_to_a_slice_parameter() {
    check_array(
        array_to_slice,
        array_to_slice_grad,
        array_to_slice_hvp,
        [0.7, -0.3],
        [1.0, 2.0],
    );
}

#[test]
fn one_slice_passed_twice() {
    check(
        &|x| twice(x),
        &|x| twice_grad(x).1,
        &|x, v| twice_hvp(x, v),
        &[0.7, -0.3, 1.2],
        &[1.0, 2.0, -0.5],
    );
}

#[test]
fn a_callee_that_passes_its_slice_on() {
    check(
        &|x| nested(x),
        &|x| nested_grad(x).1,
        &|x, v| nested_hvp(x, v),
        &[0.7, -0.3, 1.2],
        &[1.0, 2.0, -0.5],
    );
}

#[test]
fn a_vec_rewritten_before_the_call_in_each_iteration() {
    check(
        &|x| rewritten_each_iteration(x),
        &|x| rewritten_each_iteration_grad(x).1,
        &|x, v| rewritten_each_iteration_hvp(x, v),
        &[0.7, -0.3, 1.2, 0.4],
        &[1.0, 2.0, -0.5, 0.3],
    );
}

#[test]
fn a_call_under_a_condition_in_a_loop() {
    let x = [0.7, -0.3, 1.2, 0.4, 0.9, 0.2];
    for d in [1, 2] {
        check(
            &|x| guarded_in_loop(x, d),
            &|x| guarded_in_loop_grad(x, d).1,
            &|x, v| guarded_in_loop_hvp(x, d, v),
            &x,
            &[1.0, 2.0, -0.5, 0.3, 0.1, -0.8],
        );
    }
}

#[test]
fn a_vec_rewritten_after_the_call_in_each_iteration() {
    check(
        &|x| rewritten_after_each_call(x),
        &|x| rewritten_after_each_call_grad(x).1,
        &|x, v| rewritten_after_each_call_hvp(x, v),
        &[0.7, -0.3, 1.2, 0.4],
        &[1.0, 2.0, -0.5, 0.3],
    );
}

#[test]
fn chunks_of_a_vec_rewritten_in_an_unrolled_loop() {
    check_array(
        chunks_rewritten,
        chunks_rewritten_grad,
        chunks_rewritten_hvp,
        [0.7, -0.3],
        [1.0, 2.0],
    );
}
