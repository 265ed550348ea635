#!/usr/bin/env bash
# rustc's extra build time for #[derive_grad]: a crate with a loss of
# TERMS terms (3 forward operations each; default 3333 ≈ 10k operations)
# built with and without the attribute, in dev and release, with the macro
# at cargo's default opt-level 0 and with
# [profile.*.build-override] opt-level = 3. Each figure is the best of
# RUNS rebuilds of the loss crate alone (dependencies already built).
#   backprop-bench/scripts/build_time.sh [TERMS] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
terms=${1:-3333}
runs=${2:-3}
work=${BP_BUILD_TIME_DIR:-$root/target/bp-build-time}
mkdir -p "$work"

make_crate() { # name attr override
    local d=$work/$1
    mkdir -p "$d/src"
    cat > "$d/Cargo.toml" <<EOT
[package]
name = "$1"
version = "0.0.0"
edition = "2021"

[dependencies]
backprop = { path = "$root" }

[workspace]

$3
EOT
    cat > "$d/src/lib.rs" <<EOT
#[allow(unused_imports)]
use backprop::prelude::*;

$2
pub fn big(w: &[f64; $terms], x: &[f64; $terms]) -> f64 {
    let mut s = 0.0;
    for i in 0..$terms {
        s += (w[i] * x[i]).tanh();
    }
    s
}
EOT
}

best_build() { # dir profile-flag
    local d=$1 best=
    (cd "$d" && CARGO_TARGET_DIR=$d/target cargo build -q $2 >/dev/null 2>&1)
    for _ in $(seq "$runs"); do
        touch "$d/src/lib.rs"
        local s e t
        s=$(date +%s.%N)
        (cd "$d" && CARGO_TARGET_DIR=$d/target cargo build -q $2 2>/dev/null)
        e=$(date +%s.%N)
        t=$(awk "BEGIN{print $e - $s}")
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    done
    echo "$best"
}

override3='[profile.dev.build-override]
opt-level = 3
[profile.release.build-override]
opt-level = 3'

echo "loss of $terms terms (~$((3 * terms)) forward operations), best of $runs rebuilds"
echo "| macro built at | profile | without #[derive_grad] | with | extra |"
echo "|---|---|---:|---:|---:|"
for macro in 0 3; do
    ov=""
    [ $macro = 3 ] && ov=$override3
    make_crate "bp_without_o$macro" "" "$ov"
    make_crate "bp_with_o$macro" "#[derive_grad]" "$ov"
    for prof in dev release; do
        flag=""
        [ $prof = release ] && flag=--release
        a=$(best_build "$work/bp_without_o$macro" "$flag")
        b=$(best_build "$work/bp_with_o$macro" "$flag")
        printf "| opt-level %s | %s | %.2f s | %.2f s | %.2f s |\n" "$macro" "$prof" "$a" "$b" "$(awk "BEGIN{print $b - $a}")"
    done
done
