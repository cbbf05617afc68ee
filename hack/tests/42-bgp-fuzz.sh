#!/usr/bin/env bash
# Bounded cargo-fuzz run of the BGP message decoder (~45 s of fuzzing).
set -euo pipefail
cd "$(dirname "$0")/../../speaker/bgp/fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_BGP_FUZZ:-$PWD/target}"
seconds="${BGP_FUZZ_SECONDS:-45}"
# A scratch copy of the seed corpus: new inputs found in CI are not written into the tree.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp seeds/decode/* "$work/"
cargo fuzz run decode "$work" -- -max_total_time="$seconds" -max_len=4200 -print_final_stats=1 2>&1 | tail -n 25
echo "bgp fuzz: ${seconds}s without a crash"
