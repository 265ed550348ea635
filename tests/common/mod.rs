//! Finite-difference checking for the integration tests: gradients that
//! `NAME_grad` returns are compared with central differences of the
//! *original* function, for scalars, arrays and nested arrays of `f32` and
//! `f64`.

#![allow(dead_code)]

/// A value made of floats, seen as a flat list of `f64` (row-major for
/// nested arrays, the order of the flat gradient elements).
pub trait Flat: Copy + std::fmt::Debug {
    /// Number of float elements.
    const LEN: usize;
    /// Whether the elements are `f32` (coarser steps and tolerances).
    const F32: bool;
    /// Element `i`, widened to `f64`.
    fn get(&self, i: usize) -> f64;
    /// Sets element `i` (rounded to the element type).
    fn set(&mut self, i: usize, v: f64);
}

impl Flat for f64 {
    const LEN: usize = 1;
    const F32: bool = false;
    fn get(&self, _: usize) -> f64 {
        *self
    }
    fn set(&mut self, _: usize, v: f64) {
        *self = v;
    }
}

impl Flat for f32 {
    const LEN: usize = 1;
    const F32: bool = true;
    fn get(&self, _: usize) -> f64 {
        f64::from(*self)
    }
    fn set(&mut self, _: usize, v: f64) {
        *self = v as f32;
    }
}

impl<T: Flat, const N: usize> Flat for [T; N] {
    const LEN: usize = N * T::LEN;
    const F32: bool = T::F32;
    fn get(&self, i: usize) -> f64 {
        self[i / T::LEN].get(i % T::LEN)
    }
    fn set(&mut self, i: usize, v: f64) {
        self[i / T::LEN].set(i % T::LEN, v);
    }
}

/// The flat elements.
pub fn flat<P: Flat>(p: &P) -> Vec<f64> {
    (0..P::LEN).map(|i| p.get(i)).collect()
}

/// The gradient of `f` at `at` by fourth-order central differences,
/// `(8(f(x+h) − f(x−h)) − (f(x+2h) − f(x−2h))) / 12h` per element.
pub fn fd_grad<P: Flat, R: Flat>(f: impl Fn(P) -> R, at: P) -> Vec<f64> {
    let rel = if P::F32 { 4e-3 } else { 1e-4 };
    (0..P::LEN)
        .map(|i| {
            let x = at.get(i);
            let h = rel * x.abs().max(1.0);
            let eval = |d: f64| {
                let mut p = at;
                p.set(i, x + d);
                f(p).get(0)
            };
            // The step actually taken, after rounding to the element type.
            let step = |d: f64| {
                let mut p = at;
                p.set(i, x + d);
                p.get(i) - x
            };
            let (h1, h2) = (step(h), step(2.0 * h));
            let (m1, m2) = (step(-h), step(-2.0 * h));
            if P::F32 {
                // Steps are not exactly ±h after rounding: use the plain
                // central difference with the steps really taken.
                let d1 = (eval(h) - eval(-h)) / (h1 - m1);
                let d2 = (eval(2.0 * h) - eval(-2.0 * h)) / (h2 - m2);
                (4.0 * d1 - d2) / 3.0
            } else {
                (8.0 * (eval(h) - eval(-h)) - (eval(2.0 * h) - eval(-2.0 * h))) / (12.0 * h)
            }
        })
        .collect()
}

/// Asserts that `grad` (what `NAME_grad` returned) matches finite
/// differences of `f` at `at`, element by element.
#[track_caller]
pub fn assert_grad<P: Flat, R: Flat>(what: &str, grad: &P, f: impl Fn(P) -> R, at: P) {
    let fd = fd_grad(&f, at);
    let g = flat(grad);
    let scale = f(at).get(0).abs().max(1.0);
    let (rtol, atol) = if P::F32 || R::F32 {
        (2e-3, 2e-3 * scale)
    } else {
        (1e-6, 1e-8 * scale)
    };
    for (i, (a, b)) in g.iter().zip(&fd).enumerate() {
        assert!(
            a.is_finite() && (a - b).abs() <= rtol * a.abs().max(b.abs()) + atol,
            "{what}: gradient element {i} at {at:?}: derived {a:e}, finite differences {b:e}\n derived {g:?}\n fd      {fd:?}"
        );
    }
}

/// Asserts that the value `NAME_grad` returned is bit for bit the value of
/// the original function.
#[track_caller]
pub fn assert_same_value<R: Flat>(what: &str, from_grad: R, original: R) {
    assert_eq!(
        from_grad.get(0).to_bits(),
        original.get(0).to_bits(),
        "{what}: NAME_grad(..).0 = {from_grad:?} but NAME(..) = {original:?}"
    );
}

/// The usual check of one function with respect to one parameter: the
/// value of `f_grad` is `f`'s bit for bit, and its gradient matches finite
/// differences of `f` at `at`.
#[track_caller]
pub fn check<P: Flat, R: Flat>(
    what: &str,
    f: impl Fn(P) -> R,
    f_grad: impl Fn(P) -> (R, P),
    at: P,
) {
    let (v, g) = f_grad(at);
    assert_same_value(what, v, f(at));
    assert_grad(what, &g, f, at);
}

/// Central differences of `f` at a slice `x` (a step of 1e-6 relative to
/// each element, at least 1e-6), for functions of run-time length.
pub fn central_slice(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let h = 1e-6 * x[i].abs().max(1.0);
            let at = |d: f64| {
                let mut y = x.to_vec();
                y[i] += d;
                f(&y)
            };
            (at(h) - at(-h)) / (2.0 * h)
        })
        .collect()
}

/// Asserts `got` equals `want` element by element within `tol` relative
/// (absolute below 1).
pub fn assert_near(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{what}, element {i}: {g:e} vs {w:e}"
        );
    }
}

/// `Σ_j tanh(w_j · x)`, the rows `w_j` of a flat `w` (`x.len()` each), and
/// its gradient with respect to `w` by hand: the oracle of the losses that
/// read those rows through ranges.
pub fn tanh_rows_by_hand(w: &[f64], x: &[f64]) -> (f64, Vec<f64>) {
    let d = x.len();
    let mut value = 0.0;
    let mut grad = vec![0.0; w.len()];
    for j in 0..w.len() / d {
        let z: f64 = (0..d).map(|i| w[j * d + i] * x[i]).sum();
        let t = z.tanh();
        value += t;
        for i in 0..d {
            grad[j * d + i] = (1.0 - t * t) * x[i];
        }
    }
    (value, grad)
}

/// The message of the panic of `f`, which must panic: what the tests
/// compare between an original function and its generated ones.
pub fn panic_message(f: impl FnOnce() -> f64 + std::panic::UnwindSafe) -> String {
    let e = std::panic::catch_unwind(f).expect_err("must panic");
    e.downcast_ref::<String>().cloned().unwrap_or_default()
}
