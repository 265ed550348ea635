#!/usr/bin/env bash
# Compile time and peak rustc memory of a crate holding a tanh MLP with
# softmax cross-entropy written with `for` loops (weights `&[[f64; IN]; HID]`
# and `&[[f64; HID]; OUT]`), in the dev and release profiles. The loss crate
# alone is rebuilt (dependencies built first); a failed build fails the
# script with rustc's output.
#   backprop-bench/scripts/mlp_build.sh [IN HID OUT]...   (default: 784 128 10)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=timed_rebuild.sh
. "$(dirname "$0")/timed_rebuild.sh"
work=${BP_BUILD_TIME_DIR:-$root/target/bp-mlp-build}
[ $# -eq 0 ] && set -- 784 128 10
mkdir -p "$work"
while [ $# -ge 3 ]; do
    n_in=$1 n_hid=$2 n_out=$3
    shift 3
    d=$work/mlp_${n_in}_${n_hid}_${n_out}
    loss_crate "$d" "mlp_${n_in}_${n_hid}_${n_out}" "$root"
    cat > "$d/src/lib.rs" <<EOT
use backprop::prelude::*;

#[derive_grad(wrt(w1, w2))]
pub fn loss(
    w1: &[[f64; $n_in]; $n_hid],
    w2: &[[f64; $n_hid]; $n_out],
    x: &[f64; $n_in],
    label: usize,
) -> f64 {
    let mut h = [0.0; $n_hid];
    for j in 0..$n_hid {
        let mut s = 0.0;
        for i in 0..$n_in {
            s += w1[j][i] * x[i];
        }
        h[j] = s.tanh();
    }
    let mut z = [0.0; $n_out];
    for k in 0..$n_out {
        let mut s = 0.0;
        for j in 0..$n_hid {
            s += w2[k][j] * h[j];
        }
        z[k] = s;
    }
    let mut m = 0.0;
    for k in 0..$n_out {
        m += z[k].exp();
    }
    m.ln() - z[label]
}
EOT
    timed_rebuild "$d" "$d/target" "mlp ${n_in}-${n_hid}-${n_out}"
done
