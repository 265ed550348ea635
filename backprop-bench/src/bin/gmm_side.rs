//! GradBench's gmm, the tool's functions beside `manual`'s hand-written C++
//! (compiled `-O3 -march=native` into this process by the feature
//! `manual`), timed call by call in turn so that a slow moment of a
//! shared machine slows both. The harness (`../shared/gradbench/run`)
//! times the tool and `manual` in separate runs, minutes apart, and on
//! this machine their ratios moved by up to 2× between runs.
//!
//! ```sh
//! ../shared/gradbench/run --setup     # once: the GradBench checkout
//! cargo run --release -p backprop-bench --features manual --bin gmm_side
//! cargo run --release -p backprop-bench --features manual --bin gmm_side -- 20 10 1000 50
//! ```
//!
//! Without arguments, the harness's default sizes (d = 2, 10, 20; k = 5,
//! 10; n = 1000), 40 calls of each; with `d k n calls`, one size. Data are
//! pseudo-random (a fixed seed) in the eval's shapes. Each row also gives
//! the largest difference between the tool's gradient and `manual`'s.

use backprop::core::Workspace;
use backprop_gradbench::gmm::Mixture;
use std::time::Instant;

// Built by build.rs with the feature `manual`; it links against the C++
// standard library.
#[link(name = "manual_gmm", kind = "static")]
#[link(name = "stdc++")]
extern "C" {
    fn manual_gmm_jacobian(
        d: i32,
        k: i32,
        n: i32,
        alpha: *const f64,
        mu: *const f64,
        q: *const f64,
        l: *const f64,
        x: *const f64,
        gamma: f64,
        m: i32,
        alpha_d: *mut f64,
        mu_d: *mut f64,
        q_d: *mut f64,
        l_d: *mut f64,
    ) -> f64;
    fn manual_gmm_objective(
        d: i32,
        k: i32,
        n: i32,
        alpha: *const f64,
        mu: *const f64,
        q: *const f64,
        l: *const f64,
        x: *const f64,
        gamma: f64,
        m: i32,
    ) -> f64;
}

/// xorshift64, in [−½, ½).
fn uniform(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

fn mixture(d: usize, k: usize, n: usize) -> Mixture {
    let mut state = 0x2545_F491_4F6C_DD1D;
    let mut draw = |len: usize, scale: f64| -> Vec<f64> {
        (0..len).map(|_| scale * uniform(&mut state)).collect()
    };
    Mixture {
        alpha: draw(k, 1.0),
        mu: draw(k * d, 1.0),
        q: draw(k * d, 0.2),
        l: draw(k * d * d.saturating_sub(1) / 2, 0.2),
        x: draw(n * d, 1.0),
        d,
        k,
        n,
        m: 2,
        gamma: 1.3,
    }
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn int(v: usize) -> i32 {
    i32::try_from(v).expect("sizes fit an int, as in manual")
}

/// One size: prints a table row.
fn run(d: usize, k: usize, n: usize, calls: usize) {
    let p = mixture(d, k, n);
    let (di, ki, ni, mi) = (int(d), int(k), int(n), int(p.m));
    let mut grad = p.zero_gradient();
    let mut manual = p.zero_gradient();
    let mut work = Workspace::new();
    // manual's Jacobian, the tool's, manual's objective, the tool's.
    let mut times = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..calls.max(1) {
        let start = Instant::now();
        // SAFETY: every pointer is to a vector of the length manual reads
        // (k, k·d, k·d, k·d(d−1)/2, n·d) and outlives the call.
        let value = unsafe {
            manual_gmm_jacobian(
                di,
                ki,
                ni,
                p.alpha.as_ptr(),
                p.mu.as_ptr(),
                p.q.as_ptr(),
                p.l.as_ptr(),
                p.x.as_ptr(),
                p.gamma,
                mi,
                manual.0.as_mut_ptr(),
                manual.1.as_mut_ptr(),
                manual.2.as_mut_ptr(),
                manual.3.as_mut_ptr(),
            )
        };
        times[0].push(start.elapsed().as_secs_f64());
        std::hint::black_box(value);
        let start = Instant::now();
        std::hint::black_box(p.jacobian(&mut grad, &mut work));
        times[1].push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        // SAFETY: as above.
        let value = unsafe {
            manual_gmm_objective(
                di,
                ki,
                ni,
                p.alpha.as_ptr(),
                p.mu.as_ptr(),
                p.q.as_ptr(),
                p.l.as_ptr(),
                p.x.as_ptr(),
                p.gamma,
                mi,
            )
        };
        times[2].push(start.elapsed().as_secs_f64());
        std::hint::black_box(value);
        let start = Instant::now();
        std::hint::black_box(p.objective());
        times[3].push(start.elapsed().as_secs_f64());
    }
    let [mj, tj, mo, to] = times.map(|t| median(t) * 1e6);
    let parts = [
        (&grad.0, &manual.0),
        (&grad.1, &manual.1),
        (&grad.2, &manual.2),
        (&grad.3, &manual.3),
    ];
    let diff = parts
        .iter()
        .flat_map(|(a, b)| a.iter().zip(b.iter()).map(|(a, b)| (a - b).abs()))
        .fold(0.0, f64::max);
    println!(
        "| {d}_{k}_{n} | {mj:.0} | {tj:.0} | **{:.2}** | {mo:.0} | {to:.0} | **{:.2}** | {diff:.1e} |",
        tj / mj,
        to / mo,
    );
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments: d k n calls"))
        .collect();
    println!("| d_k_n | manual Jacobian µs | backprop µs | ratio | manual objective µs | backprop µs | ratio | max gradient difference |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    match args[..] {
        [d, k, n, calls] => run(d, k, n, calls),
        [] => {
            for d in [2, 10, 20] {
                for k in [5, 10] {
                    run(d, k, 1000, 40);
                }
            }
        }
        _ => panic!("arguments: d k n calls, or none"),
    }
}
