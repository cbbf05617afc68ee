#!/usr/bin/env bash
# Bounded cargo-fuzz run of the layer-2 frame decoders and responder (~30 s of fuzzing).
set -euo pipefail
cd "$(dirname "$0")/../../speaker/l2/fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_L2_FUZZ:-$PWD/target}"
seconds="${L2_FUZZ_SECONDS:-30}"
# A scratch copy of the seed corpus (frames captured from arping, ndisc6 and the kernel): new
# inputs found in CI are not written into the tree.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp seeds/frames/* "$work/"
cargo fuzz run frames "$work" -- -max_total_time="$seconds" -max_len=256 -print_final_stats=1 2>&1 | tail -n 25
echo "l2 fuzz: ${seconds}s without a crash"
