//! `ht`: ADBench's hand tracking. A skinned hand model (bones with Euler
//! angles from the pose vector θ, linear blend skinning, a global rotation
//! and translation) is fitted to observed points; the objective is the
//! vector of 3 errors per correspondence, and the Jacobian is taken with
//! respect to θ (26 parameters) and, in the "complicated" variant, each
//! correspondence's two barycentric coordinates `us` on its triangle.
//!
//! Two `#[derive_grad]` functions, as the model is built: [`ht_vertex`],
//! one coordinate of a posed model vertex (the bones, the skinning, the
//! global transform), and [`ht_error`], one error of a correspondence from
//! the posed coordinates of its triangle's vertices. Each vertex a
//! correspondence refers to is posed once per call, however many
//! correspondences refer to it (the work grows with the model, not with
//! the number of correspondences, as in the hand-written C++), and a
//! Jacobian row is the chain rule through the two generated gradients:
//! ∂e/∂θ = Σₜ ∂e/∂vₜ · ∂vₜ/∂θ, ∂e/∂u from [`ht_error`]'s own gradient.
//! Each of a vertex's 3 coordinates is its own reverse sweep, rebuilding the
//! 22 bone transforms, where the hand-written C++ propagates all 26
//! columns at once.

use crate::timing::{measure, Runs};
use crate::{parse, unknown_function, Evaluated};
use backprop::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

/// Coordinate `coord` of model vertex `v`, posed by θ: skinned by the
/// bones' transforms, mirrored, then globally rotated and translated.
///
/// Model arrays are flat: `base_relatives` and `inverse_base_absolutes`
/// hold a row-major 4×4 matrix per bone, `base_positions` a homogeneous
/// 4-vector per vertex, `weights` one weight per (vertex, bone). The bone
/// hierarchy `parents` is passed as floats (−1 for the root): a
/// `#[derive_grad]` function cannot take an integer table (LIMITATIONS.md).
// `div_ceil` is a method call the macro does not differentiate through.
#[allow(clippy::too_many_arguments, clippy::manual_div_ceil)]
#[derive_grad(wrt(theta))]
pub fn ht_vertex(
    theta: &[f64],
    parents: &[f64],
    base_relatives: &[f64],
    inverse_base_absolutes: &[f64],
    base_positions: &[f64],
    weights: &[f64],
    v: usize,
    coord: usize,
    bones: usize,
    is_mirrored: bool,
) -> f64 {
    // Each bone's absolute transform times its inverse base absolute.
    let mut absolutes = vec![0.0; bones * 16];
    let mut transforms = vec![0.0; bones * 16];
    for b in 0..bones {
        // Pose column b + 3: Euler angles (x, z, y) of the bone. Fingers
        // f = 0..5 own columns 5 + 4f .. 7 + 4f; the first of them also
        // has a second angle. θ[0..6] are the global rotation/translation.
        let col = b + 3;
        // f + 2 and k for column col = 5 + 4f + k (no subtraction, which
        // would underflow for the first two bones).
        let f2 = (col + 3) / 4;
        let k = (col + 3) % 4;
        let tx = if col >= 5 && k < 3 {
            if k == 0 {
                theta[4 * f2 - 2]
            } else {
                theta[4 * f2 - 1 + k]
            }
        } else {
            0.0
        };
        let tz = if col >= 5 && k == 0 {
            theta[4 * f2 - 1]
        } else {
            0.0
        };
        let ty = 0.0;
        // R = Rz · Ry · Rx.
        let cx = tx.cos();
        let sx = tx.sin();
        let cy = ty.cos();
        let sy = ty.sin();
        let cz = tz.cos();
        let sz = tz.sin();
        let mut r = [0.0; 9];
        r[0] = cz * cy;
        r[1] = -sz * cx + cz * sy * sx;
        r[2] = sz * sx + cz * sy * cx;
        r[3] = sz * cy;
        r[4] = cz * cx + sz * sy * sx;
        r[5] = -cz * sx + sz * sy * cx;
        r[6] = -sy;
        r[7] = cy * sx;
        r[8] = cy * cx;
        // relative = base_relative · [R 0; 0 1]; absolute = parent's · relative.
        let mut rel = [0.0; 16];
        for i in 0..4 {
            for j in 0..3 {
                let mut s = 0.0;
                for m in 0..3 {
                    s += base_relatives[b * 16 + i * 4 + m] * r[m * 3 + j];
                }
                rel[i * 4 + j] = s;
            }
            rel[i * 4 + 3] = base_relatives[b * 16 + i * 4 + 3];
        }
        let p = parents[b];
        for i in 0..4 {
            for j in 0..4 {
                let a = if p < 0.0 {
                    rel[i * 4 + j]
                } else {
                    let q = p as usize;
                    let mut s = 0.0;
                    for m in 0..4 {
                        s += absolutes[q * 16 + i * 4 + m] * rel[m * 4 + j];
                    }
                    s
                };
                absolutes[b * 16 + i * 4 + j] = a;
            }
        }
        for i in 0..4 {
            for j in 0..4 {
                let mut s = 0.0;
                for m in 0..4 {
                    s += absolutes[b * 16 + i * 4 + m] * inverse_base_absolutes[b * 16 + m * 4 + j];
                }
                transforms[b * 16 + i * 4 + j] = s;
            }
        }
    }
    // The global rotation (angle-axis θ[0..3], identity below 1e-4).
    let norm = (theta[0] * theta[0] + theta[1] * theta[1] + theta[2] * theta[2]).sqrt();
    let mut g = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    if norm >= 0.0001 {
        let x = theta[0] / norm;
        let y = theta[1] / norm;
        let z = theta[2] / norm;
        let s = norm.sin();
        let c = norm.cos();
        g[0] = x * x + (1.0 - x * x) * c;
        g[1] = x * y * (1.0 - c) - z * s;
        g[2] = x * z * (1.0 - c) + y * s;
        g[3] = x * y * (1.0 - c) + z * s;
        g[4] = y * y + (1.0 - y * y) * c;
        g[5] = y * z * (1.0 - c) - x * s;
        g[6] = x * z * (1.0 - c) - y * s;
        g[7] = z * y * (1.0 - c) + x * s;
        g[8] = z * z + (1.0 - z * z) * c;
    }
    // The skinned, mirrored, globally transformed vertex.
    let mut pos = [0.0; 3];
    for i in 0..3 {
        let mut s = 0.0;
        for b in 0..bones {
            let mut tp = 0.0;
            for m in 0..4 {
                tp += transforms[b * 16 + i * 4 + m] * base_positions[v * 4 + m];
            }
            s += tp * weights[v * bones + b];
        }
        pos[i] = s;
    }
    if is_mirrored {
        pos[0] = -pos[0];
    }
    g[coord * 3] * pos[0] + g[coord * 3 + 1] * pos[1] + g[coord * 3 + 2] * pos[2] + theta[3 + coord]
}

/// One error of the hand objective: coordinate `coord` of the observed
/// `point` minus the model's point, from the posed coordinates `verts` of
/// its vertices (`verts[3t + c]`, t = 0, 1, 2): vertex 0 (simple variant,
/// `complicated` false) or u₀·v0 + u₁·v1 + (1 − u₀ − u₁)·v2 on a triangle.
#[derive_grad(wrt(u, verts))]
pub fn ht_error(
    u: [f64; 2],
    verts: [f64; 9],
    point: [f64; 3],
    coord: usize,
    complicated: bool,
) -> f64 {
    let mut hand = 0.0;
    for t in 0..3 {
        let factor = if complicated {
            if t == 0 {
                u[0]
            } else if t == 1 {
                u[1]
            } else {
                1.0 - u[0] - u[1]
            }
        } else if t == 0 {
            1.0
        } else {
            0.0
        };
        hand += factor * verts[3 * t + coord];
    }
    point[coord] - hand
}

/// How many pose parameters `bones` bones read (as [`ht_vertex`] indexes
/// θ): 6 global ones, then the fingers' angles.
fn theta_needed(bones: usize) -> usize {
    (5..bones + 3)
        .filter(|col| (col - 5) % 4 < 3)
        .map(|col| 10 + 4 * ((col - 5) / 4))
        .max()
        .unwrap_or(6)
}

/// The eval's `HTModel` (the parts the objective uses).
#[derive(Deserialize)]
struct Model {
    bone_count: usize,
    parents: Vec<i64>,
    base_relatives: Vec<Vec<Vec<f64>>>,
    inverse_base_absolutes: Vec<Vec<Vec<f64>>>,
    base_positions: Vec<Vec<f64>>,
    weights: Vec<Vec<f64>>,
    triangles: Vec<[usize; 3]>,
    is_mirrored: bool,
}

/// The eval's `HTData`.
#[derive(Deserialize)]
struct Data {
    model: Model,
    correspondences: Vec<usize>,
    points: Vec<[f64; 3]>,
}

/// The eval's `HTInput` (without the `Runs` fields).
#[derive(Deserialize)]
struct Input {
    theta: Vec<f64>,
    data: Data,
    us: Vec<[f64; 2]>,
}

/// The model in the flat layout [`ht_vertex`] takes, and each
/// correspondence's vertices and barycentric coordinates.
struct Problem {
    theta: Vec<f64>,
    parents: Vec<f64>,
    base_relatives: Vec<f64>,
    inverse_base_absolutes: Vec<f64>,
    base_positions: Vec<f64>,
    weights: Vec<f64>,
    bones: usize,
    is_mirrored: bool,
    complicated: bool,
    /// Per correspondence: its vertices as positions in `posed` (one
    /// repeated in the simple variant), its `us` and the observed point.
    rows: Vec<([usize; 3], [f64; 2], [f64; 3])>,
    /// The model vertices some correspondence refers to, each once.
    posed: Vec<usize>,
}

impl Problem {
    fn new(i: Input) -> Result<Problem, String> {
        let m = i.data.model;
        let bones = m.bone_count;
        let flat4 = |ms: &[Vec<Vec<f64>>]| -> Result<Vec<f64>, String> {
            if ms.len() != bones || ms.iter().flatten().any(|r| r.len() != 4) {
                return Err("expected a 4×4 matrix per bone".into());
            }
            Ok(ms.iter().flatten().flatten().copied().collect())
        };
        let verts = m.base_positions.len();
        if m.parents.len() != bones
            || m.parents.iter().enumerate().any(|(b, &p)| p >= b as i64)
            || m.weights.len() != verts
            || m.weights.iter().any(|w| w.len() != bones)
            || m.base_positions.iter().any(|p| p.len() != 4)
            || i.theta.len() < theta_needed(bones)
        {
            return Err("inconsistent hand model".into());
        }
        let complicated = !i.us.is_empty();
        let n = i.data.correspondences.len();
        if i.data.points.len() != n || (complicated && i.us.len() != n) {
            return Err("points, correspondences and us differ in length".into());
        }
        let mut rows = Vec::with_capacity(n);
        let mut posed = Vec::new();
        let mut position = vec![usize::MAX; verts];
        for (k, &c) in i.data.correspondences.iter().enumerate() {
            let vs = if complicated {
                *m.triangles.get(c).ok_or("triangle index out of range")?
            } else {
                [c, c, c]
            };
            if vs.iter().any(|&v| v >= verts) {
                return Err("vertex index out of range".into());
            }
            let slots = vs.map(|v| {
                if position[v] == usize::MAX {
                    position[v] = posed.len();
                    posed.push(v);
                }
                position[v]
            });
            let u = if complicated { i.us[k] } else { [0.0; 2] };
            rows.push((slots, u, i.data.points[k]));
        }
        Ok(Problem {
            theta: i.theta,
            parents: m.parents.iter().map(|&p| p as f64).collect(),
            base_relatives: flat4(&m.base_relatives)?,
            inverse_base_absolutes: flat4(&m.inverse_base_absolutes)?,
            base_positions: m.base_positions.concat(),
            weights: m.weights.concat(),
            bones,
            is_mirrored: m.is_mirrored,
            complicated,
            rows,
            posed,
        })
    }

    /// Coordinate `coord` of model vertex `v`, posed.
    fn vertex(&self, v: usize, coord: usize) -> f64 {
        ht_vertex(
            &self.theta,
            &self.parents,
            &self.base_relatives,
            &self.inverse_base_absolutes,
            &self.base_positions,
            &self.weights,
            v,
            coord,
            self.bones,
            self.is_mirrored,
        )
    }

    /// The posed coordinates of a correspondence's vertices, from the
    /// posed vertices `posed` (3 per entry of [`Problem::posed`]).
    fn triangle(posed: &[f64], slots: [usize; 3]) -> [f64; 9] {
        std::array::from_fn(|i| posed[3 * slots[i / 3] + i % 3])
    }

    /// The 3 errors per correspondence, each vertex posed once.
    fn objective(&self, posed: &mut Vec<f64>, err: &mut [f64]) {
        posed.clear();
        for &v in &self.posed {
            posed.extend((0..3).map(|coord| self.vertex(v, coord)));
        }
        for (e, &(slots, u, point)) in err.chunks_mut(3).zip(&self.rows) {
            let verts = Self::triangle(posed, slots);
            for (coord, x) in e.iter_mut().enumerate() {
                *x = ht_error(u, verts, point, coord, self.complicated);
            }
        }
    }

    /// Fills `jac` (row-major, rows = errors, columns = [u₀, u₁,] θ): each
    /// posed vertex coordinate's gradient with respect to θ by a reverse
    /// sweep of [`ht_vertex`] (`dpose`, 3 rows of θ per posed vertex),
    /// then each error's row by the chain rule through [`ht_error`]'s
    /// gradient with respect to its vertices' coordinates and `u`.
    fn jacobian(
        &self,
        jac: &mut [f64],
        dpose: &mut Vec<f64>,
        work: &mut backprop::core::Workspace<f64>,
    ) {
        let skip = if self.complicated { 2 } else { 0 };
        let nt = self.theta.len();
        let cols = skip + nt;
        let mut posed = Vec::with_capacity(3 * self.posed.len());
        dpose.resize(3 * self.posed.len() * nt, 0.0);
        let mut g = vec![0.0; nt];
        for (p, &v) in self.posed.iter().enumerate() {
            for coord in 0..3 {
                g.fill(0.0);
                posed.push(ht_vertex_grad_acc_with(
                    &self.theta,
                    &self.parents,
                    &self.base_relatives,
                    &self.inverse_base_absolutes,
                    &self.base_positions,
                    &self.weights,
                    v,
                    coord,
                    self.bones,
                    self.is_mirrored,
                    &mut g,
                    work,
                ));
                dpose[(3 * p + coord) * nt..(3 * p + coord + 1) * nt].copy_from_slice(&g);
            }
        }
        for (k, &(slots, u, point)) in self.rows.iter().enumerate() {
            let verts = Self::triangle(&posed, slots);
            for coord in 0..3 {
                let (_, (du, dverts)) = ht_error_grad(u, verts, point, coord, self.complicated);
                let row = &mut jac[(3 * k + coord) * cols..(3 * k + coord + 1) * cols];
                row[..skip].copy_from_slice(&du[..skip]);
                let theta_part = &mut row[skip..];
                theta_part.fill(0.0);
                for t in 0..3 {
                    let d = dverts[3 * t + coord];
                    if d == 0.0 {
                        continue;
                    }
                    let from = (3 * slots[t] + coord) * nt;
                    for (j, x) in theta_part.iter_mut().enumerate() {
                        *x += d * dpose[from + j];
                    }
                }
            }
        }
    }
}

/// Answers `objective` (the 3 errors per correspondence) and `jacobian`
/// (one row per error: ∂/∂us of its own point in the complicated variant,
/// then ∂/∂θ).
pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, String> {
    let pb = Problem::new(parse(input)?)?;
    let runs = Runs::of(input);
    let n = pb.rows.len();
    let (output, timings) = match function {
        "objective" => {
            let mut err = vec![0.0; 3 * n];
            let mut posed = Vec::new();
            let (_, t) = measure(runs, || pb.objective(&mut posed, &mut err));
            (json!(err), t)
        }
        "jacobian" => {
            let cols = if pb.complicated { 2 } else { 0 } + pb.theta.len();
            let mut jac = vec![0.0; 3 * n * cols];
            let mut dpose = Vec::new();
            let mut work = backprop::core::Workspace::new();
            let (_, t) = measure(runs, || pb.jacobian(&mut jac, &mut dpose, &mut work));
            let rows: Vec<&[f64]> = jac.chunks(cols.max(1)).collect();
            (json!(rows), t)
        }
        _ => return Err(unknown_function("ht", function)),
    };
    Ok(Evaluated { output, timings })
}
