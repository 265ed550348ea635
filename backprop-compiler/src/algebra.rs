//! A little computer algebra for explanations: rational functions over
//! atoms (named values, adjoint symbols, and opaque terms such as `ln(p1)`),
//! enough to simplify what the chain rule produces to the form a person
//! writes. It multiplies out, puts sums over a common denominator and
//! cancels denominator factors that divide the numerator exactly, which is
//! what turns sigmoid + cross-entropy,
//! `−(y1/p1 − (1 − y1)/(1 − p1)) · p1·(1 − p1)`, into `p1 − y1`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::sym::Sym;

/// Index of an atom in [`Atoms`].
pub type Atom = u32;

/// A product of atoms with exponents, sorted by atom.
pub type Monomial = Vec<(Atom, u32)>;

/// How an atom prints, and where it sorts when printed.
#[derive(Clone, Debug)]
pub struct AtomInfo {
    /// Unicode spelling.
    pub unicode: String,
    /// LaTeX spelling.
    pub latex: String,
    /// Adjoint symbols (`∂E/∂a1`) print before other factors.
    pub is_adjoint: bool,
}

/// The atoms of one explanation.
#[derive(Default)]
pub struct Atoms {
    /// By index.
    pub info: Vec<AtomInfo>,
    by_key: BTreeMap<String, Atom>,
}

impl Atoms {
    /// The atom with this key, created on first use.
    pub fn intern(&mut self, key: &str, info: impl FnOnce() -> AtomInfo) -> Atom {
        if let Some(&a) = self.by_key.get(key) {
            return a;
        }
        let a = self.info.len() as Atom;
        self.info.push(info());
        self.by_key.insert(key.to_owned(), a);
        a
    }
}

const EPS: f64 = 1e-12;

/// A polynomial: monomial → coefficient.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Poly(pub BTreeMap<Monomial, f64>);

/// Lexicographic order on exponent vectors (a monomial order, which exact
/// division relies on): the monomial with the larger exponent of the first
/// atom where they differ is larger.
fn lex_cmp(a: &Monomial, b: &Monomial) -> Ordering {
    let (mut i, mut j) = (0, 0);
    loop {
        match (a.get(i), b.get(j)) {
            (None, None) => return Ordering::Equal,
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (Some(&(x, ex)), Some(&(y, ey))) => {
                if x < y {
                    return Ordering::Greater; // a has atom x, b has exponent 0 there
                }
                if y < x {
                    return Ordering::Less;
                }
                if ex != ey {
                    return ex.cmp(&ey);
                }
                i += 1;
                j += 1;
            }
        }
    }
}

fn mono_mul(a: &Monomial, b: &Monomial) -> Monomial {
    let mut out: BTreeMap<Atom, u32> = a.iter().copied().collect();
    for &(x, e) in b {
        *out.entry(x).or_insert(0) += e;
    }
    out.into_iter().collect()
}

/// `a / b` if `b` divides `a`.
fn mono_div(a: &Monomial, b: &Monomial) -> Option<Monomial> {
    let mut out: BTreeMap<Atom, u32> = a.iter().copied().collect();
    for &(x, e) in b {
        let have = out.get_mut(&x)?;
        if *have < e {
            return None;
        }
        *have -= e;
        if *have == 0 {
            out.remove(&x);
        }
    }
    Some(out.into_iter().collect())
}

impl Poly {
    /// A constant.
    pub fn constant(c: f64) -> Poly {
        let mut p = Poly::default();
        p.add_term(Vec::new(), c);
        p
    }

    /// One atom.
    pub fn atom(a: Atom) -> Poly {
        let mut p = Poly::default();
        p.add_term(vec![(a, 1)], 1.0);
        p
    }

    fn add_term(&mut self, m: Monomial, c: f64) {
        let e = self.0.entry(m.clone()).or_insert(0.0);
        *e += c;
        if e.abs() < EPS {
            self.0.remove(&m);
        }
    }

    /// Whether it is zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// The constant value, if it is one.
    pub fn as_constant(&self) -> Option<f64> {
        match self.0.len() {
            0 => Some(0.0),
            1 => self.0.get(&Vec::new()).copied(),
            _ => None,
        }
    }

    /// `self + other`.
    pub fn add(&self, other: &Poly) -> Poly {
        let mut out = self.clone();
        for (m, c) in &other.0 {
            out.add_term(m.clone(), *c);
        }
        out
    }

    /// `c · self`.
    pub fn scale(&self, c: f64) -> Poly {
        let mut out = Poly::default();
        for (m, v) in &self.0 {
            out.add_term(m.clone(), v * c);
        }
        out
    }

    /// `self · other`.
    pub fn mul(&self, other: &Poly) -> Poly {
        let mut out = Poly::default();
        for (ma, ca) in &self.0 {
            for (mb, cb) in &other.0 {
                out.add_term(mono_mul(ma, mb), ca * cb);
            }
        }
        out
    }

    fn leading(&self) -> Option<(&Monomial, f64)> {
        self.0
            .iter()
            .max_by(|a, b| lex_cmp(a.0, b.0))
            .map(|(m, c)| (m, *c))
    }

    /// `self / d` when `d` divides `self` exactly.
    pub fn exact_div(&self, d: &Poly) -> Option<Poly> {
        let (dm, dc) = d.leading()?;
        let mut rem = self.clone();
        let mut quot = Poly::default();
        // Each step removes the remainder's leading term, so it ends; if
        // d | self then LM(d) | LM(rem) at every step.
        for _ in 0..10_000 {
            let Some((rm, rc)) = rem.leading() else {
                return Some(quot);
            };
            let m = mono_div(rm, dm)?;
            let c = rc / dc;
            let mut t = Poly::default();
            t.add_term(m, c);
            quot = quot.add(&t);
            rem = rem.add(&t.mul(d).scale(-1.0));
        }
        None
    }

    /// Same polynomial up to rounding of the coefficients.
    fn same(&self, other: &Poly) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().all(|(m, c)| {
                other
                    .0
                    .get(m)
                    .is_some_and(|d| (c - d).abs() <= EPS * c.abs().max(1.0))
            })
    }
}

/// A rational function: numerator over a product of polynomial factors.
#[derive(Clone, Debug)]
pub struct Rat {
    /// The numerator.
    pub num: Poly,
    /// The denominator's factors, each with a positive leading coefficient
    /// of 1.
    pub den: Vec<Poly>,
}

impl Rat {
    /// A constant.
    pub fn constant(c: f64) -> Rat {
        Rat {
            num: Poly::constant(c),
            den: Vec::new(),
        }
    }

    /// An atom.
    pub fn atom(a: Atom) -> Rat {
        Rat {
            num: Poly::atom(a),
            den: Vec::new(),
        }
    }

    /// `self · other`, cancelled.
    pub fn mul(&self, other: &Rat) -> Rat {
        let mut den = self.den.clone();
        den.extend(other.den.iter().cloned());
        Rat {
            num: self.num.mul(&other.num),
            den,
        }
        .cancel()
    }

    /// `self + other` over a common denominator, cancelled.
    pub fn add(&self, other: &Rat) -> Rat {
        let mut common: Vec<Poly> = self.den.clone();
        let mut b_rest = Vec::new(); // factors of `other` missing from `self`
        let mut a_only: Vec<Poly> = self.den.clone();
        for f in &other.den {
            if let Some(i) = a_only.iter().position(|g| g.same(f)) {
                a_only.remove(i);
            } else {
                common.push(f.clone());
                b_rest.push(f.clone());
            }
        }
        // self.num · (factors only other has) + other.num · (factors only self has)
        let a = b_rest.iter().fold(self.num.clone(), |acc, f| acc.mul(f));
        let b = a_only.iter().fold(other.num.clone(), |acc, f| acc.mul(f));
        Rat {
            num: a.add(&b),
            den: common,
        }
        .cancel()
    }

    /// `−self`.
    pub fn neg(&self) -> Rat {
        Rat {
            num: self.num.scale(-1.0),
            den: self.den.clone(),
        }
    }

    /// `1 / self`.
    pub fn recip(&self) -> Rat {
        let num = self
            .den
            .iter()
            .fold(Poly::constant(1.0), |acc, f| acc.mul(f));
        Rat {
            num,
            den: vec![self.num.clone()],
        }
        .normalize()
        .cancel()
    }

    /// Moves constant factors of the denominator into the numerator and
    /// makes each factor's leading coefficient 1.
    fn normalize(mut self) -> Rat {
        let mut den = Vec::new();
        for f in std::mem::take(&mut self.den) {
            if let Some(c) = f.as_constant() {
                self.num = self.num.scale(1.0 / c);
                continue;
            }
            // Canonical factor: leading coefficient ±1, and a constant term,
            // if any, positive (`1 − p`, as people write it, not `p − 1`).
            let (_, lc) = f.leading().expect("a non-constant factor has terms");
            let mut scale = 1.0 / lc.abs();
            if f.0.get(&Vec::new()).is_some_and(|c| c * scale < 0.0)
                || (!f.0.contains_key(&Vec::new()) && lc < 0.0)
            {
                scale = -scale;
            }
            // num / f = (num · scale) / (f · scale)
            self.num = self.num.scale(scale);
            den.push(f.scale(scale));
        }
        self.den = den;
        self
    }

    /// Cancels denominator factors that divide the numerator.
    fn cancel(self) -> Rat {
        let mut r = self.normalize();
        if r.num.is_zero() {
            r.den.clear();
            return r;
        }
        let mut i = 0;
        while i < r.den.len() {
            if let Some(q) = r.num.exact_div(&r.den[i]) {
                r.num = q;
                r.den.remove(i);
            } else {
                i += 1;
            }
        }
        r
    }

    /// The value, given each atom's value.
    #[cfg(test)]
    pub fn eval(&self, atom: &dyn Fn(Atom) -> f64) -> f64 {
        let poly = |p: &Poly| {
            p.0.iter()
                .map(|(m, c)| {
                    c * m
                        .iter()
                        .map(|&(a, e)| atom(a).powi(e as i32))
                        .product::<f64>()
                })
                .sum::<f64>()
        };
        poly(&self.num) / self.den.iter().map(poly).product::<f64>()
    }

    /// Printable form: the numerator's common factor pulled out
    /// (`(p1 − y1)·a1`, not `a1·p1 − a1·y1`), over the denominator.
    pub fn to_sym(&self, atoms: &Atoms) -> Sym {
        let num = poly_factored(&self.num, atoms);
        if self.den.is_empty() {
            return num;
        }
        // Single atoms before sums: `p·(1 − p)`.
        let mut den: Vec<&Poly> = self.den.iter().collect();
        den.sort_by_key(|f| f.0.len());
        let den = Sym::product(den.into_iter().map(|f| poly_factored(f, atoms)).collect());
        Sym::Div(Box::new(num), Box::new(den))
    }
}

/// A polynomial printed with its common monomial factor and constant pulled
/// out: adjoint symbols first, then the remaining sum, then other atoms.
fn poly_factored(p: &Poly, atoms: &Atoms) -> Sym {
    if p.0.is_empty() {
        return Sym::Num(0.0);
    }
    // Common monomial: the smallest exponent of each atom in every term.
    let mut common: Option<BTreeMap<Atom, u32>> = None;
    for m in p.0.keys() {
        let here: BTreeMap<Atom, u32> = m.iter().copied().collect();
        common = Some(match common {
            None => here,
            Some(c) => c
                .into_iter()
                .filter_map(|(a, e)| here.get(&a).map(|&h| (a, e.min(h))))
                .collect(),
        });
    }
    let common: Monomial = common.unwrap_or_default().into_iter().collect();
    let coefs: Vec<f64> = p.0.values().copied().collect();
    let all_negative = coefs.iter().all(|c| *c < 0.0);
    let first = coefs[0].abs();
    let same_magnitude = coefs.iter().all(|c| (c.abs() - first).abs() <= EPS * first);
    let c = match (same_magnitude, all_negative) {
        (true, true) => -first,
        (true, false) => first,
        (false, true) => -1.0,
        (false, false) => 1.0,
    };
    let rest: Vec<(Monomial, f64)> =
        p.0.iter()
            .map(|(m, v)| (mono_div(m, &common).expect("common factor divides"), v / c))
            .collect();

    let mut factors = Vec::new();
    let atom_sym = |a: Atom, e: u32| {
        let info = &atoms.info[a as usize];
        let s = Sym::Atom(info.unicode.clone(), info.latex.clone());
        if e == 1 {
            s
        } else {
            Sym::Pow(Box::new(s), e as i32)
        }
    };
    for &(a, e) in &common {
        if atoms.info[a as usize].is_adjoint {
            factors.push(atom_sym(a, e));
        }
    }
    if rest.len() > 1
        || rest
            .first()
            .is_some_and(|(m, v)| !m.is_empty() || *v != 1.0)
    {
        factors.push(sum_sym(&rest, atoms, &atom_sym));
    }
    for &(a, e) in &common {
        if !atoms.info[a as usize].is_adjoint {
            factors.push(atom_sym(a, e));
        }
    }
    let body = Sym::product(factors);
    if c == 1.0 {
        body
    } else if c == -1.0 {
        Sym::Neg(Box::new(body))
    } else if c < 0.0 {
        Sym::Neg(Box::new(Sym::product(vec![Sym::Num(-c), body])))
    } else {
        Sym::product(vec![Sym::Num(c), body])
    }
}

/// A sum of terms: positive terms first, then by degree and atom order.
fn sum_sym(terms: &[(Monomial, f64)], atoms: &Atoms, atom_sym: &dyn Fn(Atom, u32) -> Sym) -> Sym {
    let mut sorted: Vec<&(Monomial, f64)> = terms.iter().collect();
    sorted.sort_by(|a, b| {
        let degree = |m: &Monomial| m.iter().map(|x| x.1).sum::<u32>();
        (a.1 < 0.0)
            .cmp(&(b.1 < 0.0))
            .then(a.0.is_empty().cmp(&b.0.is_empty()).reverse())
            .then(degree(&a.0).cmp(&degree(&b.0)))
            .then(lex_cmp(&b.0, &a.0))
    });
    let _ = atoms;
    let items = sorted
        .into_iter()
        .map(|(m, v)| {
            let mag = v.abs();
            let mut fs: Vec<Sym> = Vec::new();
            if mag != 1.0 || m.is_empty() {
                fs.push(Sym::Num(mag));
            }
            fs.extend(m.iter().map(|&(a, e)| atom_sym(a, e)));
            (*v < 0.0, Sym::product(fs))
        })
        .collect();
    Sym::Add(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atoms(names: &[&str]) -> (Atoms, Vec<Rat>) {
        let mut a = Atoms::default();
        let rats = names
            .iter()
            .map(|n| {
                Rat::atom(a.intern(n, || AtomInfo {
                    unicode: n.to_string(),
                    latex: n.to_string(),
                    is_adjoint: n.starts_with('∂'),
                }))
            })
            .collect();
        (a, rats)
    }

    #[test]
    fn sigmoid_and_cross_entropy_cancel_to_p_minus_y() {
        let (at, v) = atoms(&["y1", "p1", "a1"]);
        let (y, p, a) = (&v[0], &v[1], &v[2]);
        let one = Rat::constant(1.0);
        let one_minus_p = one.add(&p.neg());
        // ∂e/∂p = −(y/p − (1 − y)/(1 − p))
        let de_dp = y
            .mul(&p.recip())
            .add(&one.add(&y.neg()).mul(&one_minus_p.recip()).neg())
            .neg();
        // ∂p/∂z = p·(1 − p)
        let dp_dz = p.mul(&one_minus_p);
        let de_dz = de_dp.mul(&dp_dz);
        assert_eq!(de_dz.to_sym(&at).unicode(), "p1 − y1");
        assert_eq!(de_dz.mul(a).to_sym(&at).unicode(), "(p1 − y1)·a1");
    }

    #[test]
    fn factors_print_in_reading_order() {
        let (at, v) = atoms(&["t", "y", "∂E/∂a1", "a1"]);
        let (t, y, s, a) = (&v[0], &v[1], &v[2], &v[3]);
        let one = Rat::constant(1.0);
        assert_eq!(y.add(&t.neg()).to_sym(&at).unicode(), "y − t");
        let local = a.mul(&one.add(&a.neg()));
        assert_eq!(s.mul(&local).to_sym(&at).unicode(), "∂E/∂a1·(1 − a1)·a1");
        assert_eq!(y.mul(&Rat::constant(-2.0)).to_sym(&at).unicode(), "−2·y");
        assert_eq!(y.mul(&t.recip()).to_sym(&at).unicode(), "y/t");
    }

    #[test]
    fn exact_division() {
        let (_, v) = atoms(&["a", "b"]);
        let (a, b) = (&v[0].num, &v[1].num);
        let sum = a.add(b);
        let prod = sum.mul(&a.add(&b.scale(-1.0)));
        assert!(prod.exact_div(&sum).is_some());
        assert!(prod.exact_div(&a.add(&Poly::constant(1.0))).is_none());
    }
}
