#!/usr/bin/env bash
# The one test command: installs what a fresh Debian machine lacks, then runs every test.
#   hack/test.sh            everything
# Each hack/tests/NN-*.sh runs after the cargo tests, in name order; any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

log() { printf '\n=== %s (%ss)\n' "$*" "$SECONDS"; }

apt_packages=(frr bird2 gobgpd arping ndisc6 tcpdump tshark iproute2 jq ethtool iputils-ping)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v kubectl >/dev/null || { echo "kubectl (v1.32) is required on PATH" >&2; exit 1; }
command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
# Fuzz runs (hack/tests/*-fuzz.sh) use cargo-fuzz on the stable toolchain with RUSTC_BOOTSTRAP=1.
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz

# Network-namespace tests (interop with FRR/BIRD/GoBGP, L2 clients) run only when this is set;
# when it is set, a missing tool is a failure, not a skip.
export LODESTONE_NETLAB=1

log "cargo fmt --check"
cargo fmt --all --check

log "build"
cargo build --workspace --all-targets --locked

log "cargo nextest"
cargo nextest run --workspace --locked --no-fail-fast

for t in hack/tests/*.sh; do
  [ -e "$t" ] || continue
  log "$t"
  bash "$t"
done
log "all tests passed"
