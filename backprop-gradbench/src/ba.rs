//! `ba`: ADBench's bundle adjustment. Each observation has two reprojection
//! errors (a camera with Rodrigues rotation, centre, focal length,
//! principal point and radial distortion, seeing a 3-D point, scaled by the
//! observation's weight) and one weight error 1 − w². The Jacobian is
//! sparse: each reprojection row depends on 11 camera parameters, 3 point
//! coordinates and 1 weight.
//!
//! The objective computes both errors of an observation in one call of
//! [`reproj_errors`]. `#[derive_grad]` gives gradients of scalar
//! functions, so the Jacobian is built a row at a time: [`reproj_error`]
//! returns one of the two errors (`row`), and its gradient with respect to
//! (camera, point, weight) is that row's 15 non-zeros — two reverse sweeps
//! per observation, each recomputing the projection, where the
//! hand-written C++ computes both rows in one.

use crate::timing::{measure, Runs};
use crate::{parse, unknown_function, Evaluated};
use backprop::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

/// Camera parameters per camera: rotation (3), centre (3), focal length,
/// principal point (2), radial distortion (2).
pub const NCAM: usize = 11;

/// The two reprojection errors of point `x` seen by camera `cam` at
/// feature `feat`, weighted by `w` (ADBench `computeReprojError`): the
/// objective's, in one pass.
#[derive_grad]
#[inline(always)]
pub fn reproj_errors(cam: [f64; 11], x: [f64; 3], w: f64, feat: [f64; 2]) -> (f64, f64) {
    // The point relative to the camera centre.
    let p0 = x[0] - cam[3];
    let p1 = x[1] - cam[4];
    let p2 = x[2] - cam[5];
    // Rodrigues rotation by the axis-angle vector cam[0..3].
    let sqtheta = cam[0] * cam[0] + cam[1] * cam[1] + cam[2] * cam[2];
    let r0 = cam[0];
    let r1 = cam[1];
    let r2 = cam[2];
    let xc0;
    let xc1;
    let xc2;
    if sqtheta != 0.0 {
        let theta = sqtheta.sqrt();
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let theta_inverse = 1.0 / theta;
        let w0 = r0 * theta_inverse;
        let w1 = r1 * theta_inverse;
        let w2 = r2 * theta_inverse;
        let tmp = (w0 * p0 + w1 * p1 + w2 * p2) * (1.0 - costheta);
        xc0 = p0 * costheta + (w1 * p2 - w2 * p1) * sintheta + w0 * tmp;
        xc1 = p1 * costheta + (w2 * p0 - w0 * p2) * sintheta + w1 * tmp;
        xc2 = p2 * costheta + (w0 * p1 - w1 * p0) * sintheta + w2 * tmp;
    } else {
        xc0 = p0 + (r1 * p2 - r2 * p1);
        xc1 = p1 + (r2 * p0 - r0 * p2);
        xc2 = p2 + (r0 * p1 - r1 * p0);
    }
    // Perspective division, radial distortion, focal length and centre.
    let q0 = xc0 / xc2;
    let q1 = xc1 / xc2;
    let rsq = q0 * q0 + q1 * q1;
    let l = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq;
    let proj0 = q0 * l * cam[6] + cam[7];
    let proj1 = q1 * l * cam[6] + cam[8];
    (w * (proj0 - feat[0]), w * (proj1 - feat[1]))
}

/// Reprojection error `row` (0: x, 1: y) of [`reproj_errors`]: a row of
/// the Jacobian is its gradient.
#[derive_grad(wrt(cam, x, w))]
#[inline(always)]
pub fn reproj_error(cam: [f64; 11], x: [f64; 3], w: f64, feat: [f64; 2], row: usize) -> f64 {
    if row == 0 {
        reproj_errors(cam, x, w, feat).0
    } else {
        reproj_errors(cam, x, w, feat).1
    }
}

/// The weight error 1 − w² (ADBench `computeZachWeightError`).
#[derive_grad]
pub fn w_error(w: f64) -> f64 {
    1.0 - w * w
}

/// The eval's `BAInput` (without the `Runs` fields): one camera, point,
/// weight and feature, to be replicated `n`, `m`, `p` and `p` times.
#[derive(Deserialize)]
struct Input {
    n: usize,
    m: usize,
    p: usize,
    cam: Vec<f64>,
    x: Vec<f64>,
    w: f64,
    feat: Vec<f64>,
}

/// The full problem, replicated as upstream `ba.hpp` does (observation i
/// sees camera i mod n and point i mod m).
struct Problem {
    n: usize,
    m: usize,
    cams: Vec<[f64; NCAM]>,
    points: Vec<[f64; 3]>,
    w: Vec<f64>,
    feats: Vec<[f64; 2]>,
    obs: Vec<(usize, usize)>,
}

impl Problem {
    fn new(i: Input) -> Result<Problem, String> {
        let cam: [f64; NCAM] = i.cam.try_into().map_err(|_| "cam must have 11 entries")?;
        let x: [f64; 3] = i.x.try_into().map_err(|_| "x must have 3 entries")?;
        let feat: [f64; 2] = i.feat.try_into().map_err(|_| "feat must have 2 entries")?;
        if i.n == 0 || i.m == 0 || i.p == 0 {
            return Err("n, m and p must be positive".into());
        }
        Ok(Problem {
            n: i.n,
            m: i.m,
            cams: vec![cam; i.n],
            points: vec![x; i.m],
            w: vec![i.w; i.p],
            feats: vec![feat; i.p],
            obs: (0..i.p).map(|k| (k % i.n, k % i.m)).collect(),
        })
    }
}

/// The Jacobian in upstream's sparse (CSR-like) layout: `rows` holds row
/// start offsets, `cols`/`vals` the non-zeros row by row.
#[derive(Default)]
struct Sparse {
    rows: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
}

/// Fills `jac` with the whole Jacobian: for each observation its two
/// reprojection rows (camera, point, weight columns), then one row per
/// weight error. Every entry comes from a generated gradient.
fn jacobian(pb: &Problem, jac: &mut Sparse) {
    jac.rows.clear();
    jac.cols.clear();
    jac.vals.clear();
    jac.rows.push(0);
    let p = pb.obs.len();
    let (point_col, w_col) = (NCAM * pb.n, NCAM * pb.n + 3 * pb.m);
    for (i, &(c, pt)) in pb.obs.iter().enumerate() {
        for row in 0..2 {
            let (_, (gc, gx, gw)) =
                reproj_error_grad(pb.cams[c], pb.points[pt], pb.w[i], pb.feats[i], row);
            jac.cols.extend((0..NCAM).map(|j| NCAM * c + j));
            jac.vals.extend_from_slice(&gc);
            jac.cols.extend((0..3).map(|j| point_col + 3 * pt + j));
            jac.vals.extend_from_slice(&gx);
            jac.cols.push(w_col + i);
            jac.vals.push(gw);
            jac.rows.push(jac.cols.len());
        }
    }
    for i in 0..p {
        let (_, gw) = w_error_grad(pb.w[i]);
        jac.cols.push(w_col + i);
        jac.vals.push(gw);
        jac.rows.push(jac.cols.len());
    }
}

/// The first 30 entries and the last of a list: what the eval compares.
fn summary<T: Copy>(v: &[T]) -> Vec<T> {
    let mut out: Vec<T> = v.iter().take(30).copied().collect();
    out.extend(v.last());
    out
}

/// Answers `objective` and `jacobian`.
pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, String> {
    let pb = Problem::new(parse(input)?)?;
    let runs = Runs::of(input);
    let p = pb.obs.len();
    let (output, timings) = match function {
        "objective" => {
            let mut reproj = vec![0.0; 2 * p];
            let mut w_err = vec![0.0; p];
            let (_, t) = measure(runs, || {
                for (i, &(c, pt)) in pb.obs.iter().enumerate() {
                    let (ex, ey) = reproj_errors(pb.cams[c], pb.points[pt], pb.w[i], pb.feats[i]);
                    reproj[2 * i] = ex;
                    reproj[2 * i + 1] = ey;
                }
                for (e, &w) in w_err.iter_mut().zip(&pb.w) {
                    *e = w_error(w);
                }
            });
            let out = json!({
                "reproj_error": {"elements": [reproj[0], reproj[1]], "repeated": p},
                "w_err": {"element": w_err[0], "repeated": p},
            });
            (out, t)
        }
        "jacobian" => {
            let mut jac = Sparse::default();
            let (_, t) = measure(runs, || jacobian(&pb, &mut jac));
            let out = json!({
                "rows": summary(&jac.rows),
                "cols": summary(&jac.cols),
                "vals": summary(&jac.vals),
            });
            (out, t)
        }
        _ => return Err(unknown_function("ba", function)),
    };
    Ok(Evaluated { output, timings })
}
