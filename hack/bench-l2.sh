#!/usr/bin/env bash
# Layer-2 failover benchmark in network namespaces (root): three lab nodes (lodestone-l2 driver +
# election, Leases as files polled every 5 ms in place of the API watch) on a bridge, a client
# with a neighbour entry for the VIP. For each lease setting and for graceful stop (SIGTERM) and
# crash (SIGKILL) of the owner, RUNS times:
#   death    → the new owner's decision (it calls set_owned)
#   death    → its first gratuitous ARP / unsolicited NA seen by the client (tcpdump)
#   death    → the client's neighbour entry for the IPv4 VIP changing (ip monitor)
#   decision → first gratuitous packet, decision → neighbour change
# and prints p50/p99 in ms, plus the measured Lease writes per second per node.
#
#   hack/bench-l2.sh [RUNS]        (default 30)
set -euo pipefail
runs=${1:-30}
for tool in ip tcpdump tshark jq ping awk; do
  command -v "$tool" >/dev/null || { echo "missing tool $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cargo build -q --release -p lodestone-l2 --example l2-lab-node
bin="${CARGO_TARGET_DIR:-$repo/target}/release/examples/l2-lab-node"

P="ls-l2b-$$"
work=$(mktemp -d)
V4=192.0.2.100
V6=2001:db8::100
declare -A pid=()
aux=()
namespaces=()
cleanup() {
  set +e
  for n in "${!pid[@]}"; do kill -KILL "${pid[$n]}" 2>/dev/null; done
  for p in "${aux[@]}"; do kill -TERM "$p" 2>/dev/null; done
  wait 2>/dev/null
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now_us() { echo $(( $(date +%s%N) / 1000 )); }
mac_of() { printf '02:00:00:00:01:%02x' "${1#n}"; }

netns() { ip netns add "$1"; namespaces+=("$1"); }
netns "$P-sw"
ip -n "$P-sw" link add br0 type bridge
ip -n "$P-sw" link set br0 up
attach() {
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip link add eth0 netns "$1" address "$2" type veth peer name "$3" netns "$P-sw"
  ip -n "$P-sw" link set "$3" master br0 up
  ip -n "$1" link set eth0 up
}
for i in 1 2 3; do netns "$P-n$i"; attach "$P-n$i" "$(mac_of n$i)" "p$i"; done
netns "$P-c"
attach "$P-c" 02:00:00:00:02:01 pc
ip -n "$P-c" addr add 192.0.2.10/24 dev eth0
ip -n "$P-c" addr add 2001:db8::10/64 dev eth0 nodad

ip netns exec "$P-c" tcpdump -i eth0 -U -n -w "$work/client.pcap" \
  'arp or (icmp6 and ip6[40] == 136)' 2>/dev/null &
aux+=($!)
TZ=UTC ip -n "$P-c" -ts monitor neigh >"$work/neigh.mon" &
aux+=($!)

start_node() { # node leases timing...
  local n=$1 dir=$2
  shift 2
  ip netns exec "$P-$n" "$bin" --node "$n" --lease-dir "$dir" --addresses "$V4,$V6" \
    --candidates n1,n2,n3 --poll-ms 5 "$@" >>"$work/$n.log" 2>>"$work/$n.err" &
  pid[$n]=$!
}
owners() {
  local n
  for n in "${!pid[@]}"; do
    if grep '^owned ' "$work/$n.log" 2>/dev/null | tail -n 1 | grep -q 'addrs=.\+'; then echo "$n"; fi
  done | sort
}
wait_owner() { # [not-this-node]
  local i o
  for i in $(seq 1 3000); do
    o=$(owners)
    if [ "$(echo "$o" | grep -c .)" = 1 ] && [ "$o" != "${1:-}" ]; then echo "$o"; return 0; fi
    sleep 0.005
  done
  echo "no single owner" >&2
  exit 1
}
wait_neigh() {
  local i
  for i in $(seq 1 3000); do
    [ "$(ip -n "$P-c" -j neigh show "$V4" dev eth0 | jq -r '.[0].lladdr // empty')" = "$1" ] && return 0
    sleep 0.005
  done
  echo "neighbour entry never moved to $1" >&2
  exit 1
}

# name lease renew margin handover
configs=("default 4000 1000 1000 1000" "tuned 1000 250 250 250")
: >"$work/runs"
for cfg in "${configs[@]}"; do
  read -r name lease renew margin handover <<<"$cfg"
  timing=(--lease-ms "$lease" --renew-ms "$renew" --margin-ms "$margin" --handover-ms "$handover")
  dir="$work/leases-$name"
  mkdir -p "$dir"
  for n in n1 n2 n3; do start_node "$n" "$dir" "${timing[@]}"; done
  sleep $(( lease / 1000 + 2 ))
  for mode in TERM KILL; do
    for r in $(seq 1 "$runs"); do
      owner=$(wait_owner)
      ip netns exec "$P-c" ping -c 1 -W 1 "$V4" >/dev/null 2>&1 || true
      wait_neigh "$(mac_of "$owner")"
      sleep 1.2 # past the neighbour locktime (1 s) since the entry last changed
      t=$(now_us)
      kill "-$mode" "${pid[$owner]}"
      if [ "$mode" = KILL ]; then
        # A crashed node logs nothing: it owned nothing from the moment it was killed.
        wait "${pid[$owner]}" 2>/dev/null || true
        unset "pid[$owner]"
        echo "owned t_before_us=$t t_after_us=$t node=$owner addrs=" >>"$work/$owner.log"
      fi
      new=$(wait_owner "$owner")
      wait_neigh "$(mac_of "$new")"
      if [ -n "${pid[$owner]:-}" ]; then
        wait "${pid[$owner]}" 2>/dev/null || true
        unset "pid[$owner]"
      fi
      echo "$name $mode $r $owner $new $t" >>"$work/runs"
      start_node "$owner" "$dir" "${timing[@]}"
      sleep $(( handover / 1000 + 1 ))
    done
  done
  for n in n1 n2 n3; do
    awk -v n="$n" -v cfg="$name" '$1 == "lease_writes" && $4 > 0 {
      printf "%s %s lease writes/s: %.2f\n", cfg, n, $2 * 1000 / $4 }' "$dir/$n.status"
  done >>"$work/rates"
  for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}"; wait "${pid[$n]}" 2>/dev/null || true; unset "pid[$n]"; done
  for n in n1 n2 n3; do echo "owned t_before_us=0 t_after_us=0 node=$n addrs=" >>"$work/$n.log"; done
done
sleep 0.3
# SIGTERM: background jobs of a script ignore SIGINT.
for p in "${aux[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
aux=()

# --- analysis ---------------------------------------------------------------------------------------
tshark -r "$work/client.pcap" -T fields -E separator=' ' \
  -e frame.time_epoch -e eth.src -e arp.src.proto_ipv4 -e icmpv6.nd.na.target_address \
  2>/dev/null | awk -v v4="$V4" -v v6="$V6" '($3 == v4 || $4 == v6) {
    split($1, t, "."); printf "%.0f %s\n", t[1] * 1000000 + substr(t[2] "000000", 1, 6), $2 }' >"$work/grat"
awk -v v4="$V4" '$2 == v4 && $5 == "lladdr" { ts = substr($1, 2, 26); print ts, $6 }' "$work/neigh.mon" |
  while read -r ts mac; do echo "$(date -u -d "$ts" +%s%6N) $mac"; done >"$work/neigh"
for n in n1 n2 n3; do
  grep '^owned ' "$work/$n.log" | awk -v n="$n" '$5 != "addrs=" { split($2, b, "="); print b[2], n }'
done | sort -n >"$work/decisions"

while read -r name mode r old new t; do
  mac=$(mac_of "$new")
  d=$(awk -v n="$new" -v t="$t" '$2 == n && $1 >= t { print $1; exit }' "$work/decisions")
  g=$(awk -v m="$mac" -v t="$t" '$2 == m && $1 >= t { print $1; exit }' "$work/grat")
  c=$(awk -v m="$mac" -v t="$t" '$2 == m && $1 >= t { print $1; exit }' "$work/neigh")
  echo "$name $mode $t ${d:-NA} ${g:-NA} ${c:-NA}"
done <"$work/runs" >"$work/samples"

pct() { # column-expression name mode
  awk -v name="$2" -v mode="$3" "\$1 == name && \$2 == mode && \$4 != \"NA\" && \$5 != \"NA\" && \$6 != \"NA\" { print ($1) / 1000 }" \
    "$work/samples" | sort -n | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "n/a"; exit }
      i50 = int((NR * 50 + 99) / 100); i99 = int((NR * 99 + 99) / 100)
      printf "%8.1f %8.1f  (n=%d)", v[i50], v[i99], NR }'
}
printf '\n%-8s %-5s %-28s %8s %8s\n' lease mode interval p50_ms p99_ms
for cfg in "${configs[@]}"; do
  read -r name _ <<<"$cfg"
  for mode in TERM KILL; do
    printf '%-8s %-5s %-28s %s\n' "$name" "$mode" "death -> decision" "$(pct '$4 - $3' "$name" "$mode")"
    printf '%-8s %-5s %-28s %s\n' "$name" "$mode" "death -> first gratuitous" "$(pct '$5 - $3' "$name" "$mode")"
    printf '%-8s %-5s %-28s %s\n' "$name" "$mode" "death -> client neighbour" "$(pct '$6 - $3' "$name" "$mode")"
    printf '%-8s %-5s %-28s %s\n' "$name" "$mode" "decision -> first gratuitous" "$(pct '$5 - $4' "$name" "$mode")"
    printf '%-8s %-5s %-28s %s\n' "$name" "$mode" "decision -> client neighbour" "$(pct '$6 - $4' "$name" "$mode")"
  done
done
echo
cat "$work/rates"
