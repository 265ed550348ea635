//! The compiled differential test of `#[derive_grad]` (issue 8).
//!
//! `build.rs` generates a few hundred random loss functions (fixed seed)
//! into `$OUT_DIR/cases.rs`, and `tests/differential.rs` compiles them
//! through the real macro and checks every `NAME_grad` against num-dual's
//! dual numbers and every value bit for bit against the original function.
//! Run it with `cargo test -p backprop-difftest`.
//!
//! This library holds the one piece the test needs that num-dual does not
//! provide: num-dual's dual numbers implement its own `DualNum` trait, not
//! `num_traits::Float`, which `#[derive_grad]`'s generic functions are
//! written against. [`Dual64F`] and [`Dual32F`] wrap num-dual's `Dual64` and
//! `Dual32` and implement `Float` by delegating every differentiable method
//! to num-dual, so a user's generic loss runs on num-dual's arithmetic
//! unchanged:
//!
//! ```
//! use backprop_difftest::Dual64F;
//! use num_traits::Float;
//!
//! fn loss<F: Float>(x: F) -> F {
//!     (x * x).sin() + F::from(2.0).unwrap() * x
//! }
//! let d = loss(Dual64F::new(0.5, 1.0));
//! assert_eq!(d.re(), loss(0.5));
//! assert!((d.eps() - ((0.25f64).cos() * 1.0 + 2.0)).abs() < 1e-15);
//! ```

use std::num::FpCategory;
use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

use num_dual::{Dual32, Dual64, DualNum};
use num_traits::{Float, Num, NumCast, One, Signed, ToPrimitive, Zero};

macro_rules! dual_float {
    ($name:ident, $dual:ty, $f:ty) => {
        /// A num-dual dual number that implements `num_traits::Float`
        /// (derivatives by num-dual; comparisons, rounding and
        /// classification by the real part, whose derivative is 0).
        ///
        /// Like reverse mode, it tracks *activity*: a value computed only
        /// from constants is inactive and its tangent is exactly 0, even
        /// where num-dual alone would compute `0·∞ = NaN` (the tangent of a
        /// constant `(0.0).powi(-1)`); the differentiated inputs are active
        /// whatever their tangent.
        #[derive(Clone, Copy, Debug)]
        pub struct $name {
            d: $dual,
            active: bool,
        }

        impl PartialEq for $name {
            fn eq(&self, o: &Self) -> bool {
                self.d.re == o.d.re
            }
        }
        impl PartialOrd for $name {
            fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
                self.d.re.partial_cmp(&o.d.re)
            }
        }

        impl $name {
            /// A differentiated input `re + eps·ε` (active).
            pub fn new(re: $f, eps: $f) -> Self {
                $name {
                    d: <$dual>::new(re, eps),
                    active: true,
                }
            }
            fn wrap(d: $dual, active: bool) -> Self {
                if active {
                    $name { d, active }
                } else {
                    $name::constant(d.re)
                }
            }
            /// The value.
            pub fn re(self) -> $f {
                self.d.re
            }
            /// The derivative.
            pub fn eps(self) -> $f {
                self.d.eps
            }
            /// A constant: `re + 0·ε` (inactive).
            pub fn constant(re: $f) -> Self {
                $name {
                    d: <$dual>::new(re, 0.0),
                    active: false,
                }
            }
            /// `plain` computes the value exactly as the original does (num-dual
            /// computes some values differently, `exp(ln x · y)` for `powf`),
            /// so that both take the same branches; `dual` the derivative.
            fn map(self, plain: fn($f) -> $f, dual: impl Fn(&$dual) -> $dual) -> Self {
                let mut d = dual(&self.d);
                d.re = plain(self.d.re);
                $name::wrap(d, self.active)
            }
        }

        impl Add for $name {
            type Output = Self;
            fn add(self, o: Self) -> Self {
                $name::wrap(self.d + o.d, self.active || o.active)
            }
        }
        impl Sub for $name {
            type Output = Self;
            fn sub(self, o: Self) -> Self {
                $name::wrap(self.d - o.d, self.active || o.active)
            }
        }
        impl Mul for $name {
            type Output = Self;
            fn mul(self, o: Self) -> Self {
                $name::wrap(self.d * o.d, self.active || o.active)
            }
        }
        impl Div for $name {
            type Output = Self;
            fn div(self, o: Self) -> Self {
                $name::wrap(self.d / o.d, self.active || o.active)
            }
        }
        impl Rem for $name {
            type Output = Self;
            fn rem(self, o: Self) -> Self {
                $name::wrap(self.d % o.d, self.active || o.active)
            }
        }
        impl Neg for $name {
            type Output = Self;
            fn neg(self) -> Self {
                $name::wrap(-self.d, self.active)
            }
        }
        impl Zero for $name {
            fn zero() -> Self {
                $name::constant(0.0)
            }
            fn is_zero(&self) -> bool {
                self.d.re == 0.0
            }
        }
        impl One for $name {
            fn one() -> Self {
                $name::constant(1.0)
            }
        }
        impl Num for $name {
            type FromStrRadixErr = <$f as Num>::FromStrRadixErr;
            fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
                <$f>::from_str_radix(s, radix).map($name::constant)
            }
        }
        impl ToPrimitive for $name {
            fn to_i64(&self) -> Option<i64> {
                self.d.re.to_i64()
            }
            fn to_u64(&self) -> Option<u64> {
                self.d.re.to_u64()
            }
            fn to_f64(&self) -> Option<f64> {
                self.d.re.to_f64()
            }
            fn to_f32(&self) -> Option<f32> {
                self.d.re.to_f32()
            }
        }
        impl NumCast for $name {
            fn from<T: ToPrimitive>(n: T) -> Option<Self> {
                <$f as NumCast>::from(n).map($name::constant)
            }
        }

        impl Float for $name {
            fn nan() -> Self {
                $name::constant(<$f>::NAN)
            }
            fn infinity() -> Self {
                $name::constant(<$f>::INFINITY)
            }
            fn neg_infinity() -> Self {
                $name::constant(<$f>::NEG_INFINITY)
            }
            fn neg_zero() -> Self {
                $name::constant(-0.0)
            }
            fn min_value() -> Self {
                $name::constant(<$f>::MIN)
            }
            fn min_positive_value() -> Self {
                $name::constant(<$f>::MIN_POSITIVE)
            }
            fn max_value() -> Self {
                $name::constant(<$f>::MAX)
            }
            fn epsilon() -> Self {
                $name::constant(<$f>::EPSILON)
            }
            fn is_nan(self) -> bool {
                self.d.re.is_nan()
            }
            fn is_infinite(self) -> bool {
                self.d.re.is_infinite()
            }
            fn is_finite(self) -> bool {
                self.d.re.is_finite()
            }
            fn is_normal(self) -> bool {
                self.d.re.is_normal()
            }
            fn classify(self) -> FpCategory {
                self.d.re.classify()
            }
            fn floor(self) -> Self {
                $name::constant(self.d.re.floor())
            }
            fn ceil(self) -> Self {
                $name::constant(self.d.re.ceil())
            }
            fn round(self) -> Self {
                $name::constant(self.d.re.round())
            }
            fn trunc(self) -> Self {
                $name::constant(self.d.re.trunc())
            }
            fn fract(self) -> Self {
                self - self.trunc()
            }
            fn abs(self) -> Self {
                self.map(|v: $f| v.abs(), Signed::abs)
            }
            fn signum(self) -> Self {
                $name::constant(self.d.re.signum())
            }
            fn is_sign_positive(self) -> bool {
                self.d.re.is_sign_positive()
            }
            fn is_sign_negative(self) -> bool {
                self.d.re.is_sign_negative()
            }
            fn mul_add(self, a: Self, b: Self) -> Self {
                let mut d = self.d.mul_add(a.d, b.d);
                d.re = self.d.re.mul_add(a.d.re, b.d.re);
                $name::wrap(d, self.active || a.active || b.active)
            }
            fn recip(self) -> Self {
                self.map(|v: $f| v.recip(), DualNum::recip)
            }
            fn powi(self, n: i32) -> Self {
                // num-dual's value of `0.0.powi(-1)` is NaN (0⁻² · 0), not ∞.
                let (re, eps) = (self.d.re, self.d.eps);
                // x⁰ is 1 everywhere, 0⁰ included: its derivative is 0.
                let d = if n == 0 {
                    0.0
                } else {
                    n as $f * re.powi(n - 1) * eps
                };
                $name::wrap(<$dual>::new(re.powi(n), d), self.active)
            }
            fn powf(self, n: Self) -> Self {
                let mut d = self.d.powd(n.d);
                d.re = self.d.re.powf(n.d.re);
                $name::wrap(d, self.active || n.active)
            }
            fn sqrt(self) -> Self {
                self.map(|v: $f| v.sqrt(), DualNum::sqrt)
            }
            fn exp(self) -> Self {
                self.map(|v: $f| v.exp(), DualNum::exp)
            }
            fn exp2(self) -> Self {
                self.map(|v: $f| v.exp2(), DualNum::exp2)
            }
            fn ln(self) -> Self {
                self.map(|v: $f| v.ln(), DualNum::ln)
            }
            fn log(self, base: Self) -> Self {
                self.ln() / base.ln()
            }
            fn log2(self) -> Self {
                self.map(|v: $f| v.log2(), DualNum::log2)
            }
            fn log10(self) -> Self {
                self.map(|v: $f| v.log10(), DualNum::log10)
            }
            /// Rust's rule: a NaN operand yields the other one; ties go to
            /// `self` (as backprop's derivative rule for `max` does).
            fn max(self, o: Self) -> Self {
                if o.d.re.is_nan() || self.d.re >= o.d.re {
                    self
                } else if self.d.re.is_nan() || o.d.re > self.d.re {
                    o
                } else {
                    self
                }
            }
            /// As [`max`](Self::max).
            fn min(self, o: Self) -> Self {
                if o.d.re.is_nan() || self.d.re <= o.d.re {
                    self
                } else {
                    o
                }
            }
            fn abs_sub(self, o: Self) -> Self {
                (self - o).max(Self::zero())
            }
            fn cbrt(self) -> Self {
                self.map(|v: $f| v.cbrt(), DualNum::cbrt)
            }
            fn hypot(self, o: Self) -> Self {
                (self * self + o * o).sqrt()
            }
            fn sin(self) -> Self {
                self.map(|v: $f| v.sin(), DualNum::sin)
            }
            fn cos(self) -> Self {
                self.map(|v: $f| v.cos(), DualNum::cos)
            }
            fn tan(self) -> Self {
                self.map(|v: $f| v.tan(), DualNum::tan)
            }
            fn asin(self) -> Self {
                self.map(|v: $f| v.asin(), DualNum::asin)
            }
            fn acos(self) -> Self {
                self.map(|v: $f| v.acos(), DualNum::acos)
            }
            fn atan(self) -> Self {
                self.map(|v: $f| v.atan(), DualNum::atan)
            }
            /// num-dual differentiates `atan2(y, x)` as `atan(y / x)`, which
            /// is NaN at x = 0; this uses `(x·dy − y·dx) / (x² + y²)`.
            fn atan2(self, o: Self) -> Self {
                let (y, x) = (self.d, o.d);
                let d = (x.re * y.eps - y.re * x.eps) / (x.re * x.re + y.re * y.re);
                $name::wrap(<$dual>::new(y.re.atan2(x.re), d), self.active || o.active)
            }
            fn sin_cos(self) -> (Self, Self) {
                (self.sin(), self.cos())
            }
            fn exp_m1(self) -> Self {
                self.map(|v: $f| v.exp_m1(), DualNum::exp_m1)
            }
            fn ln_1p(self) -> Self {
                self.map(|v: $f| v.ln_1p(), DualNum::ln_1p)
            }
            fn sinh(self) -> Self {
                self.map(|v: $f| v.sinh(), DualNum::sinh)
            }
            fn cosh(self) -> Self {
                self.map(|v: $f| v.cosh(), DualNum::cosh)
            }
            /// num-dual computes `tanh` as `sinh / cosh`, which is `inf / inf`
            /// = NaN beyond |x| ≈ 89 (f32) or 710 (f64); this uses the
            /// textbook derivative `1 − tanh²` instead.
            fn tanh(self) -> Self {
                let t = self.d.re.tanh();
                $name::wrap(<$dual>::new(t, self.d.eps * (1.0 - t * t)), self.active)
            }
            fn asinh(self) -> Self {
                self.map(|v: $f| v.asinh(), DualNum::asinh)
            }
            fn acosh(self) -> Self {
                self.map(|v: $f| v.acosh(), DualNum::acosh)
            }
            fn atanh(self) -> Self {
                self.map(|v: $f| v.atanh(), DualNum::atanh)
            }
            fn integer_decode(self) -> (u64, i16, i8) {
                self.d.re.integer_decode()
            }
        }
    };
}

dual_float!(Dual64F, Dual64, f64);
dual_float!(Dual32F, Dual32, f32);

#[cfg(test)]
mod tests {
    use super::*;

    /// Derivatives worked out by hand at x = 0.7.
    #[test]
    fn derivatives_match_hand_derived_formulas() {
        let x = 0.7f64;
        let d = |f: fn(Dual64F) -> Dual64F| f(Dual64F::new(x, 1.0)).eps();
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        close(d(|v| v.sin() * v), x.cos() * x + x.sin());
        close(d(|v| v.tanh()), 1.0 - x.tanh().powi(2));
        close(d(|v| v.powf(Dual64F::constant(2.5))), 2.5 * x.powf(1.5));
        close(
            d(|v| Dual64F::constant(2.0).powf(v)),
            2f64.powf(x) * 2f64.ln(),
        );
        close(d(|v| v.hypot(Dual64F::constant(2.0))), x / x.hypot(2.0));
        close(d(|v| v.max(Dual64F::constant(0.5))), 1.0);
        close(d(|v| v.min(Dual64F::constant(0.5))), 0.0);
        close(d(|v| v.max(Dual64F::nan())), 1.0);
        close(d(|v| v.floor() + v.abs()), 1.0);
        close(d(|v| v.atan2(Dual64F::constant(2.0))), 2.0 / (x * x + 4.0));
        close(d(|v| v.mul_add(v, v)), 2.0 * x + 1.0);
        close(d(|v| v.log(Dual64F::constant(3.0))), 1.0 / (x * 3f64.ln()));
        close(
            d(|v| Dual64F::constant(2.0).atan2(v - Dual64F::constant(0.7))),
            -0.5,
        );
        close(
            d(|v| v + Dual64F::constant(0.0).atan2(Dual64F::constant(0.0))),
            1.0,
        );
        // Values as the plain type computes them.
        assert_eq!(Dual64F::constant(0.0).powi(-1).re(), f64::INFINITY);
        let (a, b) = (Dual64F::new(0.1, 1.0), Dual64F::constant(3.0));
        assert_eq!(a.mul_add(b, b).re(), 0.1f64.mul_add(3.0, 3.0));
        assert_eq!(a.powf(b).re(), 0.1f64.powf(3.0));
        close(d(|v| v.powi(-2)), -2.0 / (x * x * x));
        close(d(|v| (v - Dual64F::constant(0.7)).powi(0)), 0.0);
        // Constants stay constants (num-dual alone gives NaN tangents here).
        close(d(|v| v + Dual64F::constant(0.0).powi(-1).cos()), 1.0);
        close(d(|v| v * Dual64F::constant(0.0).ln().abs().recip()), 0.0);
        // Where num-dual's own tanh (sinh / cosh) overflows to NaN.
        let big = Dual64F::new(800.0, 1.0).tanh();
        assert_eq!((big.re(), big.eps()), (1.0, 0.0));
    }

    #[test]
    fn conversions_round_like_the_plain_type() {
        let a: Dual32F = NumCast::from(0.1f64).unwrap();
        assert_eq!(a.re(), 0.1f32);
        assert_eq!(a.eps(), 0.0);
        assert_eq!(Dual64F::new(-2.5, 1.0).to_i32(), Some(-2));
        assert!(Dual64F::new(1.0, 0.0) < Dual64F::new(2.0, -5.0));
    }
}
