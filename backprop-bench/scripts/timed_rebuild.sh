# Sourced by mlp_build.sh and length_build.sh.

# loss_crate DIR NAME ROOT: makes DIR a crate NAME depending on backprop at
# ROOT (its own workspace), with an empty src/ for the caller's lib.rs.
loss_crate() {
    mkdir -p "$1/src"
    cat > "$1/Cargo.toml" <<EOT
[package]
name = "$2"
version = "0.0.0"
edition = "2021"

[dependencies]
backprop = { path = "$3" }

[workspace]
EOT
}

# timed_rebuild CRATE_DIR TARGET_DIR LABEL: for the dev and the release
# profile, builds the crate (its dependencies too), then touches its
# lib.rs and times the rebuild of the crate alone, printing
# "LABEL  PROFILE  build WALL  peak RSS KB". A failed build prints rustc's
# output and exits with an error.
timed_rebuild() {
    local d=$1 target=$2 label=$3 profile flag log wall rss
    for profile in dev release; do
        flag=""
        [ $profile = release ] && flag=--release
        (cd "$d" && CARGO_TARGET_DIR=$target cargo build -q $flag)
        touch "$d/src/lib.rs"
        log=$(mktemp)
        if ! (cd "$d" && CARGO_TARGET_DIR=$target /usr/bin/time -v cargo build -q $flag) 2>"$log"; then
            cat "$log" >&2
            echo "$label ($profile): the build FAILED" >&2
            exit 1
        fi
        wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}')
        rss=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
        echo "$label  $profile  build ${wall}  peak ${rss} KB"
        rm -f "$log"
    done
}
