//! [`Params`]: the one trait every parameter and gradient type implements.
//!
//! `#[derive_grad]` returns gradients of exactly the parameter's value type:
//! a scalar (`f32`, `f64`), an array `[F; N]`, a nested array
//! `[[F; N]; M]` (any depth) or a tuple of those (`([f64; 8], [f64; 4])`).
//! Optimizers, [`minimize`](crate::minimize()), [`gradcheck`](crate::gradcheck())
//! and [`train`](crate::train()) work on any type implementing [`Params`], so
//! they take those gradients as they are, with no flattening and no heap.
//!
//! Every element of a [`Params`] value has a *flat index*: elements are
//! numbered in memory order, depth first (`[[a, b], [c, d]]` is `a b c d`;
//! a tuple's fields come in field order). [`Params::path`] turns a flat index
//! back into a readable path like `[1][0]` or `.1[3]`.
//!
//! All elements of one value share one scalar type ([`Params::Scalar`]); a
//! tuple mixing `f32` and `f64` is not a [`Params`].
//!
//! ```
//! use backprop_core::Params;
//!
//! let mut w = ([1.0_f64, 2.0], [[3.0, 4.0], [5.0, 6.0]]);
//! assert_eq!(w.len(), 6);
//! assert_eq!(w.norm_squared(), 91.0);
//! assert_eq!(w.path(3), ".1[0][1]");
//!
//! let g = ([1.0, 1.0], [[1.0, 1.0], [1.0, 1.0]]);
//! w.axpy(-0.5, &g); // w ← w − 0.5·g
//! assert_eq!(w, ([0.5, 1.5], [[2.5, 3.5], [4.5, 5.5]]));
//! ```

use std::fmt::{Debug, Display, LowerExp, Write as _};

use num_traits::{Float, Zero};

/// A floating-point element type: `f32` or `f64`.
///
/// Code generic over the element type bounds it by `F: Scalar` (rather than
/// only `num_traits::Float`) so that `F`, `[F; N]` and tuples of them are
/// [`Params`].
pub trait Scalar: Float + Debug + Display + LowerExp + Default + Send + Sync + 'static {}

impl Scalar for f32 {}
impl Scalar for f64 {}

/// A value made of floating-point elements: parameters, gradients, and the
/// optimizer state kept beside them.
///
/// Implemented for every [`Scalar`], for arrays `[T; N]` of any `T: Params`
/// (hence nested arrays of any depth), for tuples of 1 to 12 [`Params`] with
/// the same scalar type, and for `Vec<T>` (whose length is fixed by the first
/// value an optimizer sees).
///
/// Only the four walking methods are required; everything else is provided
/// on top of them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a parameter type of backprop",
    label = "not a float, an array or `Vec` of floats, or a struct with `#[derive(Params)]`",
    note = "for a struct of your own, add `#[derive(Clone, Params)]` to its definition (its fields: floats, arrays, `Vec`s or other `Params` structs)"
)]
pub trait Params: Clone + Send + Sync {
    /// The element type.
    type Scalar: Scalar;

    /// The number of scalar elements.
    ///
    /// ```
    /// use backprop_core::Params;
    /// assert_eq!(1.0_f32.len(), 1);
    /// assert_eq!([[0.0_f64; 3]; 4].len(), 12);
    /// assert_eq!((0.0_f64, [0.0; 2]).len(), 3);
    /// ```
    fn len(&self) -> usize;

    /// Calls `f` on every element, in flat-index order.
    fn for_each(&self, f: &mut impl FnMut(Self::Scalar));

    /// Calls `f` on a mutable reference to every element, in flat-index
    /// order.
    fn for_each_mut(&mut self, f: &mut impl FnMut(&mut Self::Scalar));

    /// Walks `self`, `K` other values of the same shape (mutably) and `other`
    /// (read-only) in lockstep: `f(&mut self[i], [&mut states[0][i], …],
    /// other[i])` for every flat index `i`.
    ///
    /// This is how an optimizer updates the parameters and its state buffers
    /// (velocity, moments) from a gradient in one pass. `K = 0` gives a plain
    /// zip.
    ///
    /// # Panics
    ///
    /// If a `Vec` inside the values has different lengths in `self`, a state
    /// or `other`.
    ///
    /// ```
    /// use backprop_core::Params;
    /// let mut w = [1.0_f64, 2.0];
    /// let mut v = [0.0_f64; 2];
    /// let g = [10.0, 20.0];
    /// w.zip_states([&mut v], &g, &mut |w, [v], g| {
    ///     *v = 0.5 * *v + g;
    ///     *w -= 0.1 * *v;
    /// });
    /// assert_eq!(v, [10.0, 20.0]);
    /// assert_eq!(w, [0.0, 0.0]);
    /// ```
    fn zip_states<const K: usize>(
        &mut self,
        states: [&mut Self; K],
        other: &Self,
        f: &mut impl FnMut(&mut Self::Scalar, [&mut Self::Scalar; K], Self::Scalar),
    );

    /// Writes the readable path of flat element `index` to `out`: `[i]` for
    /// an array or `Vec` element, `.k` for a tuple field, nothing for a
    /// scalar. `index` must be less than [`len`](Params::len).
    fn write_path(&self, index: usize, out: &mut String);

    /// `true` if there are no elements (an empty array or `Vec`).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The readable path of flat element `index`, e.g. `[1][2]` or `.0[3]`;
    /// the empty string for a bare scalar.
    ///
    /// ```
    /// use backprop_core::Params;
    /// let w = ([[0.0_f64; 3]; 4], 0.0_f64);
    /// assert_eq!(w.path(5), ".0[1][2]");
    /// assert_eq!(w.path(12), ".1");
    /// assert_eq!(2.0_f64.path(0), "");
    /// ```
    fn path(&self, index: usize) -> String {
        let mut s = String::new();
        self.write_path(index, &mut s);
        s
    }

    /// Walks `self` mutably and `other` in lockstep.
    ///
    /// ```
    /// use backprop_core::Params;
    /// let mut a = [1.0_f64, 2.0];
    /// a.zip_mut(&[3.0, 4.0], &mut |a, b| *a *= b);
    /// assert_eq!(a, [3.0, 8.0]);
    /// ```
    fn zip_mut(&mut self, other: &Self, f: &mut impl FnMut(&mut Self::Scalar, Self::Scalar)) {
        self.zip_states([], other, &mut |a, [], b| f(a, b));
    }

    /// Sets every element to `value`.
    fn fill(&mut self, value: Self::Scalar) {
        self.for_each_mut(&mut |x| *x = value);
    }

    /// A value of the same shape with every element zero.
    ///
    /// ```
    /// use backprop_core::Params;
    /// assert_eq!((1.0_f64, [2.0, 3.0]).zeros_like(), (0.0, [0.0, 0.0]));
    /// ```
    fn zeros_like(&self) -> Self {
        let mut z = self.clone();
        z.fill(Self::Scalar::zero());
        z
    }

    /// `self ← self + other`, element-wise.
    fn add_assign(&mut self, other: &Self) {
        self.zip_mut(other, &mut |a, b| *a = *a + b);
    }

    /// `self ← self + a·x`, element-wise.
    fn axpy(&mut self, a: Self::Scalar, x: &Self) {
        self.zip_mut(x, &mut |s, x| *s = *s + a * x);
    }

    /// `self ← s·self`, element-wise.
    fn scale(&mut self, s: Self::Scalar) {
        self.for_each_mut(&mut |x| *x = *x * s);
    }

    /// `self ← self / d`, element-wise (exactly divided, not multiplied by
    /// `1/d`).
    fn div_assign_scalar(&mut self, d: Self::Scalar) {
        self.for_each_mut(&mut |x| *x = *x / d);
    }

    /// The sum of element-wise products.
    fn dot(&self, other: &Self) -> Self::Scalar {
        let mut a = self.clone();
        let mut s = Self::Scalar::zero();
        a.zip_mut(other, &mut |x, y| s = s + *x * y);
        s
    }

    /// The sum of the squared elements (the squared Euclidean norm).
    fn norm_squared(&self) -> Self::Scalar {
        let mut s = Self::Scalar::zero();
        self.for_each(&mut |x| s = s + x * x);
        s
    }

    /// The Euclidean norm.
    ///
    /// ```
    /// use backprop_core::Params;
    /// assert_eq!([3.0_f64, 4.0].norm(), 5.0);
    /// ```
    fn norm(&self) -> Self::Scalar {
        self.norm_squared().sqrt()
    }

    /// The largest absolute value of an element (zero when empty; NaN if an
    /// element is NaN).
    fn max_abs(&self) -> Self::Scalar {
        let mut m = Self::Scalar::zero();
        self.for_each(&mut |x| {
            if x.is_nan() || m.is_nan() {
                m = Self::Scalar::nan();
            } else if x.abs() > m {
                m = x.abs();
            }
        });
        m
    }

    /// `true` if every element is finite (neither NaN nor ±∞).
    ///
    /// ```
    /// use backprop_core::Params;
    /// assert!([1.0_f64, 2.0].all_finite());
    /// assert!(!(1.0_f64, [f64::NAN]).all_finite());
    /// ```
    fn all_finite(&self) -> bool {
        // A branchless `and` over every element, which vectorizes; the
        // search for the first non-finite one runs only on failure.
        // (Training checks the gradient and the parameters of every
        // step: with a search each, 2 passes of a branch per element,
        // `train_acc` took 1.20× a plain loop at batches of 16.)
        let mut finite = true;
        self.for_each(&mut |x| finite &= x.is_finite());
        finite
    }

    /// The flat index and value of the first element that is NaN or ±∞.
    ///
    /// ```
    /// use backprop_core::Params;
    /// let g = ([1.0_f64, 2.0], [3.0, f64::INFINITY]);
    /// assert_eq!(g.first_non_finite(), Some((3, f64::INFINITY)));
    /// ```
    fn first_non_finite(&self) -> Option<(usize, Self::Scalar)> {
        let mut i = 0;
        let mut found = None;
        self.for_each(&mut |x| {
            if found.is_none() && !x.is_finite() {
                found = Some((i, x));
            }
            i += 1;
        });
        found
    }

    /// The element at flat `index`, or `None` past the end.
    ///
    /// ```
    /// use backprop_core::Params;
    /// let w = (1.0_f64, [[2.0, 3.0], [4.0, 5.0]]);
    /// assert_eq!(w.get(3), Some(4.0));
    /// assert_eq!(w.get(5), None);
    /// ```
    fn get(&self, index: usize) -> Option<Self::Scalar> {
        let mut i = 0;
        let mut found = None;
        self.for_each(&mut |x| {
            if i == index {
                found = Some(x);
            }
            i += 1;
        });
        found
    }

    /// Sets the element at flat `index` to `value`.
    ///
    /// # Panics
    ///
    /// If `index >= self.len()`.
    fn set(&mut self, index: usize, value: Self::Scalar) {
        let n = self.len();
        assert!(
            index < n,
            "flat index {index} out of range for {n} elements"
        );
        let mut i = 0;
        self.for_each_mut(&mut |x| {
            if i == index {
                *x = value;
            }
            i += 1;
        });
    }

    /// The elements in flat-index order, as a `Vec` (for printing and tests;
    /// the optimizers never call it).
    fn to_vec(&self) -> Vec<Self::Scalar> {
        let mut v = Vec::with_capacity(self.len());
        self.for_each(&mut |x| v.push(x));
        v
    }

    /// `true` if the two values have the same elements bit for bit (so NaNs
    /// with the same payload compare equal, and `0.0` differs from `-0.0`).
    fn bit_eq(&self, other: &Self) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let a = self.to_vec();
        let b = other.to_vec();
        a.iter()
            .zip(&b)
            .all(|(x, y)| x.integer_decode() == y.integer_decode() && x.is_nan() == y.is_nan())
    }
}

impl<F: Scalar> Params for F {
    type Scalar = F;

    #[inline]
    fn len(&self) -> usize {
        1
    }

    #[inline]
    fn for_each(&self, f: &mut impl FnMut(F)) {
        f(*self);
    }

    #[inline]
    fn for_each_mut(&mut self, f: &mut impl FnMut(&mut F)) {
        f(self);
    }

    #[inline]
    fn zip_states<const K: usize>(
        &mut self,
        states: [&mut Self; K],
        other: &Self,
        f: &mut impl FnMut(&mut F, [&mut F; K], F),
    ) {
        f(self, states, *other);
    }

    fn write_path(&self, _index: usize, _out: &mut String) {}
}

impl<T: Params, const N: usize> Params for [T; N] {
    type Scalar = T::Scalar;

    #[inline]
    fn len(&self) -> usize {
        self.iter().map(Params::len).sum()
    }

    #[inline]
    fn for_each(&self, f: &mut impl FnMut(T::Scalar)) {
        for x in self {
            x.for_each(f);
        }
    }

    #[inline]
    fn for_each_mut(&mut self, f: &mut impl FnMut(&mut T::Scalar)) {
        for x in self {
            x.for_each_mut(f);
        }
    }

    #[inline]
    fn zip_states<const K: usize>(
        &mut self,
        mut states: [&mut Self; K],
        other: &Self,
        f: &mut impl FnMut(&mut T::Scalar, [&mut T::Scalar; K], T::Scalar),
    ) {
        for (i, (x, o)) in self.iter_mut().zip(other).enumerate() {
            let sub: [&mut T; K] = states.each_mut().map(|s| &mut s[i]);
            x.zip_states(sub, o, f);
        }
    }

    fn write_path(&self, index: usize, out: &mut String) {
        write_seq_path(self, index, out);
    }
}

impl<T: Params> Params for Vec<T> {
    type Scalar = T::Scalar;

    fn len(&self) -> usize {
        self.iter().map(Params::len).sum()
    }

    fn for_each(&self, f: &mut impl FnMut(T::Scalar)) {
        for x in self {
            x.for_each(f);
        }
    }

    fn for_each_mut(&mut self, f: &mut impl FnMut(&mut T::Scalar)) {
        for x in self {
            x.for_each_mut(f);
        }
    }

    fn zip_states<const K: usize>(
        &mut self,
        mut states: [&mut Self; K],
        other: &Self,
        f: &mut impl FnMut(&mut T::Scalar, [&mut T::Scalar; K], T::Scalar),
    ) {
        // `Vec::len` (inherent) here, not `Params::len`.
        let n = Vec::len(self);
        assert_eq!(Vec::len(other), n, "Vec lengths differ");
        for s in &states {
            assert_eq!(Vec::len(s), n, "Vec lengths differ");
        }
        for (i, (x, o)) in self.iter_mut().zip(other).enumerate() {
            let sub: [&mut T; K] = states.each_mut().map(|s| &mut s[i]);
            x.zip_states(sub, o, f);
        }
    }

    fn write_path(&self, index: usize, out: &mut String) {
        write_seq_path(self, index, out);
    }
}

fn write_seq_path<T: Params>(items: &[T], mut index: usize, out: &mut String) {
    for (i, x) in items.iter().enumerate() {
        let n = x.len();
        if index < n {
            let _ = write!(out, "[{i}]");
            x.write_path(index, out);
            return;
        }
        index -= n;
    }
    let _ = write!(out, "[?]");
}

macro_rules! tuple_params {
    ($( ($($T:ident $i:tt),+) )+) => {$(
        impl<F: Scalar, $($T: Params<Scalar = F>),+> Params for ($($T,)+) {
            type Scalar = F;

            #[inline]
            fn len(&self) -> usize {
                0 $(+ self.$i.len())+
            }

            #[inline]
            fn for_each(&self, f: &mut impl FnMut(F)) {
                $(self.$i.for_each(f);)+
            }

            #[inline]
            fn for_each_mut(&mut self, f: &mut impl FnMut(&mut F)) {
                $(self.$i.for_each_mut(f);)+
            }

            #[inline]
            fn zip_states<const K: usize>(
                &mut self,
                mut states: [&mut Self; K],
                other: &Self,
                f: &mut impl FnMut(&mut F, [&mut F; K], F),
            ) {
                $(
                    self.$i.zip_states(states.each_mut().map(|s| &mut s.$i), &other.$i, f);
                )+
            }

            #[allow(unused_assignments)]
            fn write_path(&self, mut index: usize, out: &mut String) {
                $(
                    let n = self.$i.len();
                    if index < n {
                        let _ = write!(out, ".{}", $i);
                        self.$i.write_path(index, out);
                        return;
                    }
                    index -= n;
                )+
                let _ = write!(out, ".?");
            }
        }
    )+};
}

tuple_params! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, G 5)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8, L 9)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8, L 9, M 10)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8, L 9, M 10, O 11)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_order_is_depth_first_memory_order() {
        let w = ([[1.0_f64, 2.0, 3.0], [4.0, 5.0, 6.0]], 7.0, [8.0, 9.0]);
        assert_eq!(w.len(), 9);
        assert_eq!(w.to_vec(), (1..=9).map(f64::from).collect::<Vec<_>>());
        for i in 0..9 {
            assert_eq!(w.get(i), Some((i + 1) as f64));
        }
    }

    #[test]
    fn paths() {
        let w = ([[0.0_f32; 3]; 4], 0.0_f32, [0.0_f32; 2]);
        assert_eq!(w.path(0), ".0[0][0]");
        assert_eq!(w.path(5), ".0[1][2]");
        assert_eq!(w.path(11), ".0[3][2]");
        assert_eq!(w.path(12), ".1");
        assert_eq!(w.path(14), ".2[1]");
        assert_eq!([1.0_f64; 4].path(2), "[2]");
        assert_eq!(vec![[0.0_f64; 2]; 3].path(3), "[1][1]");
    }

    #[test]
    fn arithmetic_helpers() {
        let mut a = ([1.0_f64, -2.0], 3.0);
        let b = ([0.5, 0.5], 2.0);
        assert_eq!(a.dot(&b), 0.5 - 1.0 + 6.0);
        a.add_assign(&b);
        assert_eq!(a, ([1.5, -1.5], 5.0));
        a.scale(2.0);
        assert_eq!(a, ([3.0, -3.0], 10.0));
        a.div_assign_scalar(4.0);
        assert_eq!(a, ([0.75, -0.75], 2.5));
        assert_eq!(a.max_abs(), 2.5);
        a.set(1, 9.0);
        assert_eq!(a, ([0.75, 9.0], 2.5));
        assert_eq!(a.zeros_like(), ([0.0, 0.0], 0.0));
    }

    #[test]
    fn zip_states_walks_all_in_lockstep() {
        let mut w = ([1.0_f64, 2.0], [[3.0_f64], [4.0]]);
        let mut m = w.zeros_like();
        let mut v = w.zeros_like();
        let g = ([10.0, 20.0], [[30.0], [40.0]]);
        let mut seen = Vec::new();
        w.zip_states([&mut m, &mut v], &g, &mut |w, [m, v], g| {
            seen.push((*w, g));
            *m = g + 1.0;
            *v = g + 2.0;
            *w += 100.0;
        });
        assert_eq!(
            seen,
            vec![(1.0, 10.0), (2.0, 20.0), (3.0, 30.0), (4.0, 40.0)]
        );
        assert_eq!(m, ([11.0, 21.0], [[31.0], [41.0]]));
        assert_eq!(v, ([12.0, 22.0], [[32.0], [42.0]]));
        assert_eq!(w, ([101.0, 102.0], [[103.0], [104.0]]));
    }

    #[test]
    fn non_finite_detection() {
        assert!(([1.0_f32; 3], 2.0_f32).all_finite());
        let g = ([1.0_f64, f64::NAN], f64::INFINITY);
        let (i, x) = g.first_non_finite().unwrap();
        assert_eq!(i, 1);
        assert!(x.is_nan());
        assert!(g.max_abs().is_nan());
    }

    #[test]
    fn bit_eq_distinguishes_signed_zero() {
        assert!([0.0_f64, 1.0].bit_eq(&[0.0, 1.0]));
        assert!(![0.0_f64, 1.0].bit_eq(&[-0.0, 1.0]));
        assert!([f64::NAN].bit_eq(&[f64::NAN]));
    }

    #[test]
    fn large_tuples_and_deep_nesting() {
        let w = (1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, [[[8.0; 2]; 2]; 2]);
        assert_eq!(w.len(), 15);
        assert_eq!(w.path(14), ".7[1][1][1]");
    }
}
