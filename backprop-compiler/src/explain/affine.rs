//! Index expressions of the indexed explanation as affine forms over loop
//! variables and run-time integers (`t + 1`, `n − 1`, `j`), so that the
//! derivation can solve "which iteration wrote the element this one reads"
//! (`h[t − 1]` read in iteration `t` is `h[t]` of iteration `t + 1`).

use std::collections::BTreeMap;
use std::fmt;

/// `c + Σ coef·atom`, the atoms being loop variables and other integers
/// written by name (`n`, `label`, `(i·j)` for what is not affine).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Affine {
    /// The constant term.
    pub c: i64,
    /// Coefficient per atom, never 0.
    pub terms: BTreeMap<String, i64>,
}

impl Affine {
    /// The constant `c`.
    pub fn constant(c: i64) -> Affine {
        Affine {
            c,
            terms: BTreeMap::new(),
        }
    }

    /// The atom `name`.
    pub fn atom(name: &str) -> Affine {
        let mut terms = BTreeMap::new();
        terms.insert(name.to_owned(), 1);
        Affine { c: 0, terms }
    }

    /// `self + k·other`. Where a coefficient would overflow `i64` (a loop
    /// from `i64::MIN`), the result is one opaque atom written out, which
    /// the derivation treats as any other unknown integer.
    pub fn add_scaled(&self, other: &Affine, k: i64) -> Affine {
        self.checked_add_scaled(other, k).unwrap_or_else(|| {
            let text = match k {
                1 => format!("({self}+{other})"),
                -1 => format!("({self}−({other}))"),
                _ => format!("({self}+{k}·({other}))"),
            };
            Affine::atom(&text)
        })
    }

    fn checked_add_scaled(&self, other: &Affine, k: i64) -> Option<Affine> {
        let mut out = self.clone();
        out.c = out.c.checked_add(k.checked_mul(other.c)?)?;
        for (name, coef) in &other.terms {
            let e = out.terms.entry(name.clone()).or_insert(0);
            *e = e.checked_add(k.checked_mul(*coef)?)?;
            if *e == 0 {
                out.terms.remove(name);
            }
        }
        Some(out)
    }

    /// `self · k` for a constant `k`.
    pub fn scale(&self, k: i64) -> Affine {
        Affine::default().add_scaled(self, k)
    }

    /// The constant, if `self` is one.
    pub fn as_const(&self) -> Option<i64> {
        self.terms.is_empty().then_some(self.c)
    }

    /// Whether atom `name` occurs.
    pub fn mentions(&self, name: &str) -> bool {
        self.terms.contains_key(name)
    }

    /// Writes it with a minus sign for `-` (`−` in Unicode).
    fn render(&self, minus: &str) -> String {
        let mut s = String::new();
        for (name, &coef) in &self.terms {
            let (neg, abs) = (coef < 0, coef.unsigned_abs());
            if s.is_empty() {
                if neg {
                    s.push_str(minus);
                }
            } else {
                s.push_str(if neg { minus } else { "+" });
            }
            if abs != 1 {
                s.push_str(&format!("{abs}·"));
            }
            s.push_str(name);
        }
        if s.is_empty() {
            return if self.c < 0 {
                format!("{minus}{}", self.c.unsigned_abs())
            } else {
                self.c.to_string()
            };
        }
        if self.c > 0 {
            s.push_str(&format!("+{}", self.c));
        } else if self.c < 0 {
            s.push_str(&format!("{minus}{}", self.c.unsigned_abs()));
        }
        s
    }

    /// LaTeX.
    pub fn latex(&self) -> String {
        self.render("-").replace('·', " ").replace('′', "'")
    }
}

impl fmt::Display for Affine {
    /// `t+1`, `n−1`, `2·i+j`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render("−"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_substitutes() {
        let t = Affine::atom("t");
        let prev = t.add_scaled(&Affine::constant(1), -1);
        assert_eq!(prev.to_string(), "t−1");
        let next = t.add_scaled(&Affine::constant(1), 1);
        assert_eq!(prev.add_scaled(&next, 1).to_string(), "2·t");
        assert_eq!(Affine::constant(-3).to_string(), "−3");
        let two_i = Affine::atom("i").scale(2).add_scaled(&Affine::atom("j"), 1);
        assert_eq!(two_i.to_string(), "2·i+j");
        assert_eq!(two_i.latex(), "2 i+j");
        assert_eq!(
            Affine::atom("n")
                .add_scaled(&Affine::constant(1), -1)
                .latex(),
            "n-1"
        );
        // A loop from i64::MIN: its last index minus one does not fit.
        let low = Affine::constant(i64::MIN).add_scaled(&Affine::constant(1), -1);
        assert_eq!(low.as_const(), None);
        assert!(low.to_string().contains("9223372036854775808"), "{low}");
    }
}
