#!/usr/bin/env bash
# BFD benchmark (root, network namespaces, FRR bfdd). Prints numbers; asserts nothing.
#  1. Detection-time distribution over N link cuts (100 % loss both ways) at 3×50 ms and
#     3×300 ms: lodestone-bfd ↔ FRR (both sides' detection) beside FRR ↔ FRR in the same run,
#     with the theoretical bound (multiplier × interval, measured from the cut).
#  2. CPU of one bfd-lab process holding 200 sessions at 3×50 ms against FRR, and false Downs.
# Usage: hack/bench-bfd.sh            (BFD_BENCH_CUTS=50 BFD_BENCH_CPU_SECONDS=60 by default)
# The lab kernel has no netem: a cut is a permanent neighbour entry with an unused MAC on each
# end (frames are dropped by the far veth), which no daemon is told about.
set -euo pipefail
cd "$(dirname "$0")/.."
CUTS="${BFD_BENCH_CUTS:-50}"
CPU_SECONDS="${BFD_BENCH_CPU_SECONDS:-60}"
SESSIONS="${BFD_BENCH_SESSIONS:-200}"
target="${CARGO_TARGET_DIR:-target}"
cargo build -q --release -p lodestone-bfd --example bfd-lab
BIN="$target/release/examples/bfd-lab"
[ -x "$BIN" ] || { echo "no $BIN" >&2; exit 1; }

tag="lsbb$$"
work="$(mktemp -d)"
chmod 755 "$work"; mkdir "$work/log"; chown frr:frr "$work/log"   # FRR logs as user frr
pids=()
namespaces=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$work"/*.pid /var/run/frr/"$tag"*/*.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 0.3
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  [ -n "${BFD_BENCH_KEEP:-}" ] && cp -r "$work" /tmp/bfd-bench-last
  rm -rf /var/run/frr/"$tag"* "$work"
}
trap cleanup EXIT

BOGUS=02:00:5e:00:53:01
ns_new() { ip netns add "$1"; namespaces+=("$1"); ip -n "$1" link set lo up; }
# link NS1 IF1 ADDR1 NS2 IF2 ADDR2
link() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  ip -n "$1" addr add "$3/24" dev "$2"; ip -n "$1" link set "$2" up
  ip -n "$4" addr add "$6/24" dev "$5"; ip -n "$4" link set "$5" up
}
# frr NS CONFIG-BODY
frr() {
  local ns=$1 dir=/var/run/frr/$1
  mkdir -p "$dir"; chown frr:frr "$dir"
  ip netns exec "$ns" /usr/lib/frr/zebra -d -N "$ns" -i "$dir/zebra.pid"
  ip netns exec "$ns" /usr/lib/frr/bfdd -d -N "$ns" -i "$dir/bfdd.pid"
  for _ in $(seq 100); do vtysh -N "$ns" -c 'show bfd peers' >/dev/null 2>&1 && break; sleep 0.1; done
  printf 'frr defaults traditional\nlog file %s/log/%s.log debugging\nlog timestamp precision 6\ndebug bfd peer\n%s\n' \
    "$work" "$ns" "$2" > "$work/$ns.conf"
  vtysh -N "$ns" -f "$work/$ns.conf" > "$work/$ns.vtysh" 2>&1 || { cat "$work/$ns.vtysh" >&2; return 1; }
}
frr_profile() { printf 'bfd\n profile p\n  transmit-interval %s\n  receive-interval %s\n  detect-multiplier 3\n !\n' "$1" "$1"; }
frr_up_count() { vtysh -N "$1" -c 'show bfd peers json' 2>/dev/null | jq '[.[] | select(.status=="up")] | length'; }
# First "-> down" in NS's log after epoch T; prints its epoch.
frr_down_after() {
  local ns=$1 t=$2
  grep -h 'state-change' "$work/log/$ns.log" 2>/dev/null | grep -- '-> down' | while read -r d tm _; do
    e=$(date -u -d "$d $tm" +%s.%N 2>/dev/null || echo 0)
    if awk -v e="$e" -v t="$t" 'BEGIN{exit !(e>t)}'; then echo "$e"; break; fi
  done || true
}
ours_down_after() { { jq -r --argjson t "$2" 'select(.to=="down" and .ts>$t) | .ts' "$1" 2>/dev/null || true; } | head -n1; }
now() { date +%s.%N; }
cut() { ip -n "$1" neigh replace "$2" lladdr $BOGUS dev "$3" nud permanent; }
timed_cut() {
  local t0 t1; t0=$(now); cut "$@"; t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6f", (a+b)/2}'
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", (b-a)*1000}' >> "$work/cut-latency"
}
uncut() { ip -n "$1" neigh del "$2" dev "$3" 2>/dev/null || true; }
stats() { # file theory_ms label
  sort -n "$1" | awk -v th="$2" -v label="$3" '{v[NR]=$1} END {
    if (NR==0) { printf "  %-34s no samples\n", label; exit }
    p50=v[int((NR-1)*0.50)+1]; p99=v[int((NR-1)*0.99)+1];
    printf "  %-34s n=%3d  min %6.1f  p50 %6.1f  p99 %6.1f  max %6.1f ms", label, NR, v[1], p50, p99, v[NR];
    if (th > 0) printf "  (theory <= %d ms; p99 %+.1f%%)", th, (p99-th)*100/th;
    printf "\n" }'
}

detection_run() { # interval_ms
  local ms=$1 A=${tag}a$1 B=${tag}b$1 C=${tag}c$1 D=${tag}d$1
  ns_new "$A"; ns_new "$B"; ns_new "$C"; ns_new "$D"
  link "$A" va 192.0.2.1 "$B" vb 192.0.2.2
  link "$C" vc 198.51.100.1 "$D" vd 198.51.100.2
  local ev="$work/events-$ms.jsonl"
  ip netns exec "$A" "$BIN" --tx "$ms" --rx "$ms" --mult 3 192.0.2.2@192.0.2.1 > "$ev" &
  pids+=($!)
  frr "$B" "$(frr_profile "$ms")
 peer 192.0.2.1 local-address 192.0.2.2
  profile p
 !
!"
  frr "$C" "$(frr_profile "$ms")
 peer 198.51.100.2 local-address 198.51.100.1
  profile p
 !
!"
  frr "$D" "$(frr_profile "$ms")
 peer 198.51.100.1 local-address 198.51.100.2
  profile p
 !
!"
  wait_up() {
    for _ in $(seq 300); do
      if [ "$(frr_up_count "$B")" = 1 ] && [ "$(frr_up_count "$C")" = 1 ] && [ "$(frr_up_count "$D")" = 1 ] &&
         [ "$(jq -s 'last | .to' "$ev" 2>/dev/null)" = '"up"' ]; then return 0; fi
      sleep 0.1
    done
    echo "sessions did not come back Up" >&2; return 1
  }
  wait_up
  sleep 2
  : > "$work/ours-$ms"; : > "$work/frr-vs-ours-$ms"; : > "$work/frr-frr-$ms"
  for i in $(seq "$CUTS"); do
    # Random phase relative to the transmit schedule.
    sleep "0.$(( RANDOM % 9 + 1 ))"
    # Each cut happens somewhere inside its `ip` command: take the midpoint of before/after.
    tA=$(timed_cut "$A" 192.0.2.2 va)      # our packets stop: FRR B must detect
    tB=$(timed_cut "$B" 192.0.2.1 vb)      # FRR B's packets stop: we must detect
    tC=$(timed_cut "$C" 198.51.100.2 vc)   # FRR C → D stops: D detects
    tD=$(timed_cut "$D" 198.51.100.1 vd)   # FRR D → C stops: C detects
    # Stay quiet while the daemons detect (polling here would steal CPU from them), then read.
    sleep "$(awk -v ms="$ms" 'BEGIN{printf "%.3f", (3*ms+250)/1000}')"
    local dO="" dB="" dC="" dD=""
    for _ in $(seq 100); do
      [ -n "$dO" ] || dO=$(ours_down_after "$ev" "$tB")
      [ -n "$dB" ] || dB=$(frr_down_after "$B" "$tA")
      [ -n "$dC" ] || dC=$(frr_down_after "$C" "$tD")
      [ -n "$dD" ] || dD=$(frr_down_after "$D" "$tC")
      [ -n "$dO" ] && [ -n "$dB" ] && [ -n "$dC" ] && [ -n "$dD" ] && break
      sleep 0.1
    done
    [ -n "$dO" ] && awk -v a="$dO" -v b="$tB" 'BEGIN{printf "%.3f\n",(a-b)*1000}' >> "$work/ours-$ms"
    [ -n "$dB" ] && awk -v a="$dB" -v b="$tA" 'BEGIN{printf "%.3f\n",(a-b)*1000}' >> "$work/frr-vs-ours-$ms"
    [ -n "$dC" ] && awk -v a="$dC" -v b="$tD" 'BEGIN{printf "%.3f\n",(a-b)*1000}' >> "$work/frr-frr-$ms"
    [ -n "$dD" ] && awk -v a="$dD" -v b="$tC" 'BEGIN{printf "%.3f\n",(a-b)*1000}' >> "$work/frr-frr-$ms"
    uncut "$A" 192.0.2.2 va; uncut "$B" 192.0.2.1 vb; uncut "$C" 198.51.100.2 vc; uncut "$D" 198.51.100.1 vd
    wait_up
  done
  echo "detection time, 3 x ${ms} ms, ${CUTS} cuts (cut -> Down):"
  stats "$work/ours-$ms" $((3 * ms)) "lodestone detects FRR"
  stats "$work/frr-vs-ours-$ms" $((3 * ms)) "FRR detects lodestone"
  stats "$work/frr-frr-$ms" $((3 * ms)) "FRR detects FRR (both ends)"
  stats "$work/cut-latency" 0 "(duration of one cut command)"
  : > "$work/cut-latency"
}

cpu_run() {
  local A=${tag}ca B=${tag}cb
  ns_new "$A"; ns_new "$B"
  link "$A" va 192.0.2.1 "$B" vb 192.0.2.2
  local args=() peers="" n
  [ "$SESSIONS" -le 240 ] || { echo "at most 240 sessions (one /24)" >&2; return 1; }
  # One FRR address, one local address of ours per session (FRR keys single-hop sessions by the
  # peer address).
  for n in $(seq 0 $((SESSIONS - 1))); do
    local addr="192.0.2.$((10 + n))"
    ip -n "$A" addr add "$addr/32" dev va
    args+=("192.0.2.2@$addr")
    peers+=" peer $addr local-address 192.0.2.2
  profile p
 !
"
  done
  frr "$B" "$(frr_profile 50)
$peers!"
  local ev="$work/events-cpu.jsonl"
  ip netns exec "$A" "$BIN" --tx 50 --rx 50 --mult 3 "${args[@]}" > "$ev" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 600); do
    [ "$(jq -s '[.[] | select(.to=="up")] | length' "$ev")" -ge "$SESSIONS" ] && break
    sleep 0.1
  done
  local up; up=$(jq -s '[.[] | select(.to=="up")] | length' "$ev")
  sleep 3
  local hz; hz=$(getconf CLK_TCK)
  local bfdd_pid; bfdd_pid=$(cat "/var/run/frr/$B/bfdd.pid")
  cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
  local downs0; downs0=$(jq -s '[.[] | select(.to=="down")] | length' "$ev")
  local c0 f0 t0 c1 f1 t1
  c0=$(cpu "$pid"); f0=$(cpu "$bfdd_pid"); t0=$(now)
  sleep "$CPU_SECONDS"
  c1=$(cpu "$pid"); f1=$(cpu "$bfdd_pid"); t1=$(now)
  local downs1; downs1=$(jq -s '[.[] | select(.to=="down")] | length' "$ev")
  local frr_up; frr_up=$(frr_up_count "$B")
  echo "CPU, ${SESSIONS} sessions at 3 x 50 ms against FRR, ${CPU_SECONDS} s (sessions Up: ours $up, FRR $frr_up):"
  awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v d=$((downs1 - downs0)) \
    'BEGIN{printf "  lodestone bfd-lab: %.1f%% of one core, false Downs during the window: %d\n", (b-a)/hz/(t1-t0)*100, d}'
  awk -v a="$f0" -v b="$f1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    'BEGIN{printf "  FRR bfdd (peer):   %.1f%% of one core\n", (b-a)/hz/(t1-t0)*100}'
  echo "  FRR Down transitions in its log: $(grep -c -- '-> down' "$work/log/$B.log" 2>/dev/null || true)"
}

echo "lodestone-bfd benchmark ($(nproc) cores, $(date -u +%FT%TZ))"
detection_run 50
detection_run 300
cpu_run
