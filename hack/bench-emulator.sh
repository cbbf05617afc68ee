#!/usr/bin/env bash
# Benchmark of the kube API emulator: 10,000 Services created by 16 concurrent clients while
# 50 watches run. Prints requests/s, latency percentiles and the emulator's memory.
# Usage: hack/bench-emulator.sh [services] [clients] [watches]
set -euo pipefail
cd "$(dirname "$0")/.."
SERVICES=${1:-10000}
CLIENTS=${2:-16}
WATCHES=${3:-50}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -p lodestone-test --bin lodestone-kube-emulator --example bench_emulator
BIN="$CARGO_TARGET_DIR/release"
WORK=$(mktemp -d)
PORT=$(( 20000 + RANDOM % 20000 ))
RUST_LOG=warn "$BIN/lodestone-kube-emulator" --listen "127.0.0.1:$PORT" --kubeconfig "$WORK/kubeconfig" &
EMU=$!
trap 'kill "$EMU" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$WORK/kubeconfig" ] && break; sleep 0.1; done
[ -s "$WORK/kubeconfig" ] || { echo "emulator did not start" >&2; exit 1; }
RSS_BEFORE=$(awk '/VmRSS/ {print $2}' "/proc/$EMU/status")
timeout 600 "$BIN/examples/bench_emulator" "$WORK/kubeconfig" "$SERVICES" "$CLIENTS" "$WATCHES"
echo "emulator_rss_before_kib=$RSS_BEFORE"
echo "emulator_rss_after_kib=$(awk '/VmRSS/ {print $2}' "/proc/$EMU/status")"
echo "emulator_rss_peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$EMU/status")"
