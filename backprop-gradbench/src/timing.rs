//! Running a compute often enough and timing each run, as GradBench asks.

use serde::Deserialize;
use std::hint::black_box;
use std::time::Instant;

/// GradBench's `Runs` fields: evaluate at least `min_runs` times, and keep
/// going until the runs add up to `min_seconds`. Evals without them (hello)
/// get one run.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Runs {
    /// Evaluate the function at least this many times.
    #[serde(default = "one")]
    pub min_runs: usize,
    /// Evaluate until the total time exceeds this many seconds.
    #[serde(default)]
    pub min_seconds: f64,
}

fn one() -> usize {
    1
}

impl Default for Runs {
    fn default() -> Self {
        Runs {
            min_runs: 1,
            min_seconds: 0.0,
        }
    }
}

impl Runs {
    /// Reads `min_runs`/`min_seconds` from an input object; anything else
    /// (hello's bare number) means a single run.
    pub fn of(input: &serde_json::Value) -> Runs {
        Runs::deserialize(input).unwrap_or_default()
    }
}

/// Runs `compute` until `runs` is satisfied and returns the last result
/// with each run's nanoseconds. Only `compute` is inside the timed region;
/// its result goes through `black_box` so no run can be optimised away.
pub fn measure<T>(runs: Runs, mut compute: impl FnMut() -> T) -> (T, Vec<u64>) {
    let mut timings = Vec::new();
    let mut total = 0.0;
    loop {
        let start = Instant::now();
        let out = black_box(compute());
        let ns = start.elapsed().as_nanos() as u64;
        timings.push(ns);
        total += ns as f64 * 1e-9;
        if timings.len() >= runs.min_runs.max(1) && total >= runs.min_seconds {
            return (out, timings);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_min_runs_and_min_seconds() {
        let (_, t) = measure(
            Runs {
                min_runs: 4,
                min_seconds: 0.0,
            },
            || 1,
        );
        assert_eq!(t.len(), 4);
        let (_, t) = measure(
            Runs {
                min_runs: 1,
                min_seconds: 0.02,
            },
            || std::thread::sleep(std::time::Duration::from_millis(5)),
        );
        assert!(t.len() >= 4, "{}", t.len());
        assert!(t.iter().sum::<u64>() >= 20_000_000);
    }

    #[test]
    fn runs_default_to_one() {
        assert_eq!(Runs::of(&serde_json::json!(2.0)), Runs::default());
        assert_eq!(
            Runs::of(&serde_json::json!({"x": 1, "min_runs": 3})),
            Runs {
                min_runs: 3,
                min_seconds: 0.0
            }
        );
    }
}
