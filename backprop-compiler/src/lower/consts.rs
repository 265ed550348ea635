//! Constants: std's float constants, integer limits, and Rust's integer conversions.

/// `PI`, `E`, … of `std::f64::consts` (or `core::`, or `f32`'s, rounded to
/// `f32`). Any other path, a user's own `mod consts` or a `use`d alias,
/// stays as written and is read at run time.
pub(super) fn known_constant(path: &syn::Path) -> Option<f64> {
    use std::f64::consts::*;
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let [krate, float, consts, name] = segs.as_slice() else {
        return None;
    };
    if !matches!(krate.as_str(), "std" | "core") || consts != "consts" {
        return None;
    }
    let single = match float.as_str() {
        "f64" => false,
        "f32" => true,
        _ => return None,
    };
    let v = match name.as_str() {
        "PI" => PI,
        "TAU" => TAU,
        "E" => E,
        "LN_2" => LN_2,
        "LN_10" => LN_10,
        "LOG2_E" => LOG2_E,
        "LOG10_E" => LOG10_E,
        "SQRT_2" => SQRT_2,
        "FRAC_1_SQRT_2" => FRAC_1_SQRT_2,
        "FRAC_PI_2" => FRAC_PI_2,
        "FRAC_PI_3" => FRAC_PI_3,
        "FRAC_PI_4" => FRAC_PI_4,
        "FRAC_PI_6" => FRAC_PI_6,
        "FRAC_PI_8" => FRAC_PI_8,
        "FRAC_1_PI" => FRAC_1_PI,
        "FRAC_2_PI" => FRAC_2_PI,
        "FRAC_2_SQRT_PI" => FRAC_2_SQRT_PI,
        _ => return None,
    };
    Some(if single { v as f32 as f64 } else { v })
}

/// `i32::MIN`, `u8::MAX`, `u64::BITS`, …
pub(super) fn int_constant(path: &syn::Path) -> Option<i128> {
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let [ty, name] = segs.as_slice() else {
        return None;
    };
    let ty = int_type(ty)?;
    let (lo, hi) = ty.range();
    match name.as_str() {
        "MIN" => Some(lo),
        "MAX" if ty.bits != 128 || ty.signed => Some(hi),
        "BITS" => Some(ty.bits as i128),
        _ => None,
    }
}

/// A primitive integer type, for Rust's `as` conversions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntTy {
    bits: u32,
    signed: bool,
}

/// The integer type named `name` (`u8`, `usize`, …).
pub fn int_type(name: &str) -> Option<IntTy> {
    let (signed, bits) = match name {
        "u8" => (false, 8),
        "u16" => (false, 16),
        "u32" => (false, 32),
        "u64" | "usize" => (false, 64),
        "u128" => (false, 128),
        "i8" => (true, 8),
        "i16" => (true, 16),
        "i32" => (true, 32),
        "i64" | "isize" => (true, 64),
        "i128" => (true, 128),
        _ => return None,
    };
    Some(IntTy { bits, signed })
}

impl IntTy {
    /// `v as Self` for an integer `v`: keep the low bits, read them with
    /// this type's sign (values beyond `i128` do not occur: literals are
    /// parsed as `i128` and `u128` is not supported beyond it).
    pub fn wrap(self, v: i128) -> i128 {
        if self.bits == 128 {
            return if self.signed || v >= 0 { v } else { i128::MAX };
        }
        let modulus = 1i128 << self.bits;
        let low = v.rem_euclid(modulus);
        if self.signed && low >= modulus / 2 {
            low - modulus
        } else {
            low
        }
    }

    /// The smallest and largest value.
    pub fn range(self) -> (i128, i128) {
        match (self.signed, self.bits) {
            (true, 128) => (i128::MIN, i128::MAX),
            (false, 128) => (0, i128::MAX),
            (true, b) => (-(1i128 << (b - 1)), (1i128 << (b - 1)) - 1),
            (false, b) => (0, (1i128 << b) - 1),
        }
    }

    /// `v as Self` for a float `v`: truncated toward zero, saturating at
    /// the type's bounds, NaN to 0.
    pub fn saturate(self, v: f64) -> i128 {
        let (lo, hi) = self.range();
        if v.is_nan() {
            0
        } else if v <= lo as f64 {
            lo
        } else if v >= hi as f64 {
            // `hi as f64` rounds up to 2^bits − 1 + 1 for 64 bits and more.
            hi
        } else {
            v.trunc() as i128
        }
    }
}

/// `F::one()`, `F::zero()`, … of `num_traits::Float`.
pub(super) fn float_associated_constant(name: &str) -> Option<f64> {
    Some(match name {
        "zero" => 0.0,
        "one" => 1.0,
        "infinity" => f64::INFINITY,
        "neg_infinity" => f64::NEG_INFINITY,
        "nan" => f64::NAN,
        "neg_zero" => -0.0,
        _ => return None,
    })
}
