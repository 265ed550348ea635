#!/usr/bin/env bash
# Instructions per call of each contender under valgrind's callgrind: a
# noise-free second opinion for the criterion ratios.
#   backprop-bench/scripts/instructions.sh [ITERS]
# Counts (Ir(ITERS) - Ir(0)) / ITERS for every problem and contender.
set -euo pipefail
cd "$(dirname "$0")/../.."
iters=${1:-2000}
cargo build -q --release -p backprop-bench --bin count
bin=${CARGO_TARGET_DIR:-target}/release/count
ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
echo "| problem | forward | backprop | hand | num-dual | central fd | candle 1 | symdiff | backprop ÷ hand | backprop ÷ forward |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for p in seed001 seed003 rosenbrock mlp logistic; do
    row="| $p"
    declare -A per=()
    for c in forward backprop hand num_dual central_fd candle_1 symdiff; do
        if [ "$p" = mlp ] && [ "$c" = symdiff ]; then row="$row | —"; continue; fi
        n=$iters
        case $c in candle_1|central_fd|num_dual) n=$((iters / 10)) ;; esac
        base=$(ir "$p" "$c" 0)
        full=$(ir "$p" "$c" "$n")
        per[$c]=$(( (full - base) / n ))
        row="$row | ${per[$c]}"
    done
    row="$row | $(awk "BEGIN{printf \"%.2f\", ${per[backprop]}/${per[hand]}}") | $(awk "BEGIN{printf \"%.2f\", ${per[backprop]}/${per[forward]}}") |"
    echo "$row"
    unset per
done
