#!/usr/bin/env bash
# Compile time and peak rustc memory of a crate holding losses over arrays
# of literal length N (`[f64; N]`, `for i in 0..N`): a log-sum-exp and a
# weighted squared error, each with `#[derive_grad]`. The issue-9 target:
# the cost does not grow with N (a loop of N iterations stays a loop; below
# 16 iterations it is written out). The loss crate alone is rebuilt
# (dependencies built first, shared by every N); a failed build fails the
# script with rustc's output.
#   backprop-bench/scripts/length_build.sh [N]...   (default: 10 1000 100000)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=timed_rebuild.sh
. "$(dirname "$0")/timed_rebuild.sh"
work=${BP_BUILD_TIME_DIR:-$root/target/bp-length-build}
[ $# -eq 0 ] && set -- 10 1000 100000
mkdir -p "$work"
for n in "$@"; do
    d=$work/length_$n
    loss_crate "$d" "length_$n" "$root"
    cat > "$d/src/lib.rs" <<EOT
use backprop::prelude::*;

#[derive_grad]
pub fn log_sum_exp(z: &[f64; $n]) -> f64 {
    let mut m = z[0];
    for i in 1..$n {
        m = m.max(z[i]);
    }
    let mut s = 0.0;
    for i in 0..$n {
        s += (z[i] - m).exp();
    }
    m + s.ln()
}

#[derive_grad(wrt(w))]
pub fn weighted_error(w: &[f64; $n], x: &[f64; $n], y: &[f64; $n]) -> f64 {
    let mut s = 0.0;
    for i in 0..$n {
        let r = w[i] * x[i] - y[i];
        s += r * r * (1.0 + i as f64);
    }
    s / $n as f64
}
EOT
    timed_rebuild "$d" "$work/target" "N = $n"
done
