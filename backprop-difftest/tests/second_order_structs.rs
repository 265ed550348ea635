//! `jvp` and `hessian` of struct parameters (issue 11's contract: "a
//! documented shape for … structs"): the tangent of a struct is a struct
//! of the same type, `NAME_hvp` returns the gradient and H·v as structs,
//! and H is `[[F; n]; n]` over the struct's float elements in the order
//! of `Params::for_each` (fields in declaration order, nested structs in
//! place, arrays row-major). Checked against dual numbers run through the
//! generated gradient; values bit-equal to the original's.

#![allow(clippy::needless_range_loop)] // index loops read like the formulas

use backprop::core::Params;
use backprop::prelude::*;
use backprop_difftest::Dual64F;

#[derive(Clone, Debug, Params)]
struct Inner<F> {
    v: [F; 2],
}

#[derive(Clone, Debug, Params)]
struct Net<F> {
    w: [[F; 2]; 2],
    b: [F; 2],
    s: F,
    inner: Inner<F>,
}

const N: usize = 9;

/// The net with element `j` (in `for_each` order) as a dual number of
/// unit derivative, the others constant.
fn seeded(net: &Net<f64>, j: usize) -> Net<Dual64F> {
    let mut k = 0;
    let mut d = |x: f64| {
        let e = if k == j { 1.0 } else { 0.0 };
        k += 1;
        Dual64F::new(x, e)
    };
    Net {
        w: [
            [d(net.w[0][0]), d(net.w[0][1])],
            [d(net.w[1][0]), d(net.w[1][1])],
        ],
        b: [d(net.b[0]), d(net.b[1])],
        s: d(net.s),
        inner: Inner {
            v: [d(net.inner.v[0]), d(net.inner.v[1])],
        },
    }
}

fn flat<P: Params>(p: &P) -> Vec<P::Scalar> {
    let mut out = Vec::new();
    p.for_each(&mut |x| out.push(x));
    out
}

/// The same order for dual numbers (not a `Params` scalar).
fn flat_dual(p: &Net<Dual64F>) -> Vec<Dual64F> {
    let mut out: Vec<Dual64F> = p.w.iter().flatten().copied().collect();
    out.extend(p.b);
    out.push(p.s);
    out.extend(p.inner.v);
    out
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-10 * (1.0 + want.abs()),
        "{what}: {got} vs {want}"
    );
}

#[derive_grad(jvp, hessian)]
fn loss<F: Float>(net: &Net<F>, x: [F; 2]) -> F {
    let mut out = F::zero();
    for j in 0..2 {
        let z = net.w[j][0] * x[0] + net.w[j][1] * x[1] + net.b[j];
        out = out + (z * net.s).tanh() * net.inner.v[j];
    }
    out * out + net.s * net.inner.v[0] * net.inner.v[1]
}

fn net() -> Net<f64> {
    Net {
        w: [[0.3, -0.8], [0.5, 0.2]],
        b: [0.1, -0.4],
        s: 0.9,
        inner: Inner { v: [0.7, -1.2] },
    }
}

#[test]
fn a_struct_tangent_gradient_and_hessian() {
    let (n, x) = (net(), [0.6, -1.1]);
    let mut v = net();
    v.for_each_mut(&mut |e| *e = (*e * 3.7).sin());
    // H by dual numbers through the generated gradient.
    let xd = [Dual64F::constant(x[0]), Dual64F::constant(x[1])];
    let mut want = [[0.0; N]; N];
    for j in 0..N {
        let g = flat_dual(&loss_grad(&seeded(&n, j), xd).1);
        for i in 0..N {
            want[i][j] = g[i].eps();
        }
    }
    let (value, g, h) = loss_hessian(&n, x);
    assert_eq!(value.to_bits(), loss(&n, x).to_bits());
    assert_eq!(flat(&g), flat(&loss_grad(&n, x).1));
    for i in 0..N {
        for j in 0..N {
            assert_close(h[i][j], want[i][j], &format!("H[{i}][{j}]"));
        }
    }
    let (value, g2, hv) = loss_hvp(&n, x, &v);
    assert_eq!(value.to_bits(), loss(&n, x).to_bits());
    assert_eq!(flat(&g2), flat(&g));
    let (vf, hvf) = (flat(&v), flat(&hv));
    for i in 0..N {
        let row: f64 = (0..N).map(|j| want[i][j] * vf[j]).sum();
        assert_close(hvf[i], row, &format!("Hv[{i}]"));
    }
    let (value, d) = loss_jvp(&n, x, &v);
    assert_eq!(value.to_bits(), loss(&n, x).to_bits());
    let gf = flat(&g);
    assert_close(d, (0..N).map(|k| gf[k] * vf[k]).sum(), "jvp");
}

/// A struct by value and an array, differentiated together: the tangent
/// and H·v are tuples, H is over the struct's elements then the array's.
#[derive_grad(hessian, wrt(net, x))]
fn both<F: Float>(net: Net<F>, x: [F; 2]) -> F {
    let z = net.w[0][0] * x[0] * x[1] + net.b[1] * x[0].sin() + net.inner.v[1] * net.s;
    z * z + (net.w[1][1] * x[1]).exp()
}

#[test]
fn a_struct_and_an_array_together() {
    let (n, x) = (net(), [0.6, -1.1]);
    const M: usize = N + 2;
    let mut want = [[0.0; M]; M];
    for j in 0..M {
        let nd = seeded(&n, j);
        let xd: [Dual64F; 2] =
            std::array::from_fn(|k| Dual64F::new(x[k], if N + k == j { 1.0 } else { 0.0 }));
        let (gn, gx) = both_grad(nd, xd).1;
        let mut g = flat_dual(&gn);
        g.extend(gx);
        for i in 0..M {
            want[i][j] = g[i].eps();
        }
    }
    let (value, (gn, gx), h) = both_hessian(n.clone(), x);
    assert_eq!(value.to_bits(), both(n.clone(), x).to_bits());
    let (_, (wn, wx)) = both_grad(n.clone(), x);
    assert_eq!((flat(&gn), gx), (flat(&wn), wx));
    for i in 0..M {
        for j in 0..M {
            assert_close(h[i][j], want[i][j], &format!("H[{i}][{j}]"));
        }
    }
    let mut vn = net();
    vn.for_each_mut(&mut |e| *e = (*e * 1.3).cos());
    let vx = [0.4, -0.9];
    let (_, _, (hn, hx)) = both_hvp(n.clone(), x, (vn.clone(), vx));
    let mut vf = flat(&vn);
    vf.extend(vx);
    let mut hvf = flat(&hn);
    hvf.extend(hx);
    for i in 0..M {
        let row: f64 = (0..M).map(|j| want[i][j] * vf[j]).sum();
        assert_close(hvf[i], row, &format!("Hv[{i}]"));
    }
}

#[derive(Clone, Debug, Params)]
struct Chain {
    a: [f64; 40],
    r: f64,
}

/// The model as a struct with the loss a method differentiated with
/// respect to `self`, through a loop that stays a loop (40 iterations).
#[derive_grad]
impl Chain {
    #[derive_grad(wrt(self), jvp, hessian)]
    fn energy(&self, x0: f64) -> f64 {
        let mut x = x0;
        let mut s = 0.0;
        for i in 0..40 {
            x = (self.r * x + self.a[i]).sin();
            s += x * x * self.a[i];
        }
        s
    }
}

#[test]
fn a_method_through_a_rolled_loop() {
    let c = Chain {
        a: std::array::from_fn(|k| 0.4 * (k as f64 * 0.9).cos()),
        r: 0.8,
    };
    let x0 = 0.3;
    const M: usize = 41;
    let mut v = c.clone();
    v.for_each_mut(&mut |e| *e = (*e * 5.1).sin());
    let vf = flat(&v);
    // Columns of H by central differences of the generated gradient (the
    // method's struct is not generic, so no dual numbers here).
    let eps = 1e-6;
    let mut want = vec![[0.0; M]; M];
    for j in 0..M {
        let moved = |by: f64| {
            let mut k = 0;
            let mut m = c.clone();
            m.for_each_mut(&mut |e| {
                if k == j {
                    *e += by;
                }
                k += 1;
            });
            flat(&m.energy_grad(x0).1)
        };
        let (up, down) = (moved(eps), moved(-eps));
        for i in 0..M {
            want[i][j] = (up[i] - down[i]) / (2.0 * eps);
        }
    }
    let close = |got: f64, want: f64, what: &str| {
        assert!(
            (got - want).abs() <= 1e-6 * (1.0 + want.abs()),
            "{what}: {got} vs {want}"
        );
    };
    let (value, g, hv) = c.energy_hvp(x0, &v);
    assert_eq!(value.to_bits(), c.energy(x0).to_bits());
    // Through the loop, H·v's gradient comes from another sweep (reverse
    // over forward): the same up to rounding.
    let plain = flat(&c.energy_grad(x0).1);
    for (i, (a, b)) in flat(&g).iter().zip(&plain).enumerate() {
        assert_close(*a, *b, &format!("gradient[{i}]"));
    }
    let hvf = flat(&hv);
    for i in 0..M {
        let row: f64 = (0..M).map(|j| want[i][j] * vf[j]).sum();
        close(hvf[i], row, &format!("Hv[{i}]"));
    }
    let (value, _, h) = c.energy_hessian(x0);
    assert_eq!(value.to_bits(), c.energy(x0).to_bits());
    for i in 0..M {
        for j in 0..M {
            close(h[i][j], want[i][j], &format!("H[{i}][{j}]"));
        }
        // H·v against H times v: the same numbers, exactly computed.
        let row: f64 = (0..M).map(|j| h[i][j] * vf[j]).sum();
        assert_close(hvf[i], row, &format!("H times v [{i}]"));
    }
    let (_, d) = c.energy_jvp(x0, &v);
    let gf = flat(&g);
    assert_close(d, (0..M).map(|k| gf[k] * vf[k]).sum(), "jvp");
}

/// Several parameters through a loop of run-time length: H assembled from
/// its columns (it used to be refused).
#[derive_grad(hessian, wrt(a, w))]
fn two<F: Float>(a: F, w: [F; 2], n: usize) -> F {
    let mut s = F::zero();
    for i in 0..n {
        s = (s + a * w[i % 2]).sin() + w[(i + 1) % 2] * F::from(i).unwrap() * a;
    }
    s
}

#[test]
fn several_parameters_through_a_loop_of_run_time_length() {
    let (a, w) = (0.7f64, [0.4, -0.9]);
    for n in [0, 1, 6] {
        let mut want = [[0.0; 3]; 3];
        for j in 0..3 {
            let e = |k: usize| if k == j { 1.0 } else { 0.0 };
            let ad = Dual64F::new(a, e(0));
            let wd = [Dual64F::new(w[0], e(1)), Dual64F::new(w[1], e(2))];
            let (ga, gw) = two_grad(ad, wd, n).1;
            for (i, g) in [ga, gw[0], gw[1]].iter().enumerate() {
                want[i][j] = g.eps();
            }
        }
        let (value, _, h) = two_hessian(a, w, n);
        assert_eq!(value.to_bits(), two(a, w, n).to_bits());
        for i in 0..3 {
            for j in 0..3 {
                assert_close(h[i][j], want[i][j], &format!("n {n}: H[{i}][{j}]"));
            }
        }
    }
}

/// A slice of arrays: its tangent is a slice of arrays too, and H is
/// row-major over the flat elements (`H[i * n + j]`, element `k` being
/// `w[k / 2][k % 2]`).
#[derive_grad(jvp, hessian)]
fn pairs<F: Float>(w: &[[F; 2]]) -> F {
    let mut s = F::zero();
    for i in 0..w.len() {
        s = s + (w[i][0] * w[i][1]).sin() + w[i][1] * w[(i + 1) % w.len()][0];
    }
    s
}

#[test]
fn a_slice_of_arrays() {
    let w: Vec<[f64; 2]> = (0..4)
        .map(|k| [0.3 * k as f64 - 0.5, (k as f64).cos()])
        .collect();
    let v: Vec<[f64; 2]> = (0..4).map(|k| [(k as f64 * 0.7).sin(), 0.5]).collect();
    let n = 8;
    let mut want = vec![0.0; n * n];
    for j in 0..n {
        let wd: Vec<[Dual64F; 2]> = (0..4)
            .map(|k| {
                std::array::from_fn(|c| {
                    Dual64F::new(w[k][c], if 2 * k + c == j { 1.0 } else { 0.0 })
                })
            })
            .collect();
        let g = pairs_grad(&wd).1;
        for i in 0..n {
            want[i * n + j] = g[i / 2][i % 2].eps();
        }
    }
    let (value, g, h) = pairs_hessian(&w);
    assert_eq!(value.to_bits(), pairs(&w).to_bits());
    assert_eq!(g, pairs_grad(&w).1);
    for k in 0..n * n {
        assert_close(h[k], want[k], &format!("H[{}][{}]", k / n, k % n));
    }
    let (value, _, hv) = pairs_hvp(&w, &v);
    assert_eq!(value.to_bits(), pairs(&w).to_bits());
    for i in 0..n {
        let row: f64 = (0..n).map(|j| want[i * n + j] * v[j / 2][j % 2]).sum();
        assert_close(hv[i / 2][i % 2], row, &format!("Hv[{i}]"));
    }
    let (_, d) = pairs_jvp(&w, &v);
    assert_close(
        d,
        (0..n).map(|k| g[k / 2][k % 2] * v[k / 2][k % 2]).sum(),
        "jvp",
    );
}

#[derive(Clone, Debug, Params)]
struct Grows<F> {
    w: Vec<F>,
    b: F,
}

/// A struct with a `Vec` field: `jvp` (its tangent a struct of the same
/// type, the `Vec` as long); `hessian` is refused for it (ui fail_37).
#[derive_grad(jvp)]
fn grows<F: Float>(net: &Grows<F>, x: F) -> F {
    let mut s = net.b;
    for i in 0..net.w.len() {
        s = s + (net.w[i] * x).sin() * net.b;
    }
    s * s
}

#[test]
fn jvp_of_a_struct_with_a_vec_field() {
    for len in [0, 1, 5] {
        let net = Grows {
            w: (0..len).map(|k| 0.3 * k as f64 - 0.4).collect(),
            b: 0.8,
        };
        let v = Grows {
            w: (0..len).map(|k| (k as f64 * 1.1).cos()).collect(),
            b: -0.6,
        };
        let (value, d) = grows_jvp(&net, 1.3, &v);
        assert_eq!(value.to_bits(), grows(&net, 1.3).to_bits());
        let dual = Grows {
            w: (0..len).map(|k| Dual64F::new(net.w[k], v.w[k])).collect(),
            b: Dual64F::new(net.b, v.b),
        };
        assert_close(
            d,
            grows(&dual, Dual64F::constant(1.3)).eps(),
            &format!("len {len}"),
        );
    }
}
