#!/usr/bin/env bash
# BGP origination benchmark: N IPv4 /32 announced to one FRR 8.4 by our speaker, BIRD 2 and
# GoBGP 3.10 in turn (same FRR, same run). Prints, per originator and N, the seconds from
# launch to FRR's Established and to FRR holding all N prefixes, and our speaker's RSS.
#   hack/bench-bgp.sh [N...]        default: 10000 100000
# Needs root, ip, FRR, bird2, gobgpd. Prefixes come from 198.18.0.0/15 (RFC 2544 benchmarking
# range: 100,000 /32s do not fit the documentation ranges); they are BGP data only — FRR runs
# with `bgp no-rib`, so nothing is installed and no packet is sent to them.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("${@:-10000 100000}")
read -r -a counts <<<"${counts[*]}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p lodestone-bgp --example bgp-lab-speaker --example bgp-bench-mrt
bin="$CARGO_TARGET_DIR/release/examples"

tag="ls-bgpb-$$"
R="$tag-r"; S="$tag-s"; B="$tag-b"; G="$tag-g"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for d in bgpd zebra; do
    [ -f "/var/run/frr/$R/$d.pid" ] && kill "$(cat "/var/run/frr/$R/$d.pid")" 2>/dev/null || true
  done
  sleep 0.5
  for ns in "$R" "$S" "$B" "$G"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work" "/var/run/frr/$R"
}
trap cleanup EXIT

for ns in "$R" "$S" "$B" "$G"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
link() { # ns_a addr_a ns_b addr_b name
  ip link add "$5a" netns "$1" type veth peer name "$5b" netns "$3"
  ip -n "$1" addr add "$2" dev "$5a"; ip -n "$1" link set "$5a" up
  ip -n "$3" addr add "$4" dev "$5b"; ip -n "$3" link set "$5b" up
}
link "$S" 192.0.2.1/24 "$R" 192.0.2.2/24 vs
link "$B" 198.51.100.1/24 "$R" 198.51.100.2/24 vb
link "$G" 203.0.113.1/24 "$R" 203.0.113.2/24 vg

mkdir -p "/var/run/frr/$R"; chown frr:frr "/var/run/frr/$R"
for d in zebra bgpd; do ip netns exec "$R" /usr/lib/frr/$d -d -N "$R" -u frr -g frr >/dev/null; done
cat >"$work/frr.conf" <<CONF
frr defaults traditional
bgp no-rib
router bgp 64513
 bgp router-id 192.0.2.2
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor 192.0.2.1 remote-as 64512
 neighbor 198.51.100.1 remote-as 64514
 neighbor 203.0.113.1 remote-as 64515
 neighbor 192.0.2.1 timers connect 1
 neighbor 198.51.100.1 timers connect 1
 neighbor 203.0.113.1 timers connect 1
 address-family ipv4 unicast
  neighbor 192.0.2.1 activate
  neighbor 198.51.100.1 activate
  neighbor 203.0.113.1 activate
 exit-address-family
CONF
for _ in $(seq 50); do vtysh -N "$R" -f "$work/frr.conf" >/dev/null 2>&1 && break; sleep 0.2; done
vtysh -N "$R" -c 'show running-config' 2>/dev/null | grep -q 'neighbor 203.0.113.1 remote-as' || { echo "FRR config not loaded" >&2; exit 1; }

now() { date +%s.%N; }
# Echo "ESTABLISHED_AT FULL_AT" (absolute) once FRR holds $2 prefixes from neighbour $1.
wait_full() {
  local peer=$1 n=$2 est="" deadline=$(( $(date +%s) + 600 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    local j; j="$(vtysh -N "$R" -c 'show bgp ipv4 unicast summary json' 2>/dev/null || true)"
    local st rcd
    st="$(jq -r --arg p "$peer" '.peers[$p].state // ""' <<<"$j" 2>/dev/null || true)"
    rcd="$(jq -r --arg p "$peer" '.peers[$p].pfxRcd // 0' <<<"$j" 2>/dev/null || echo 0)"
    if [ -z "$est" ] && [ "$st" = "Established" ]; then est="$(now)"; fi
    if [ "$rcd" = "$n" ]; then echo "${est:-$(now)} $(now)"; return 0; fi
    sleep 0.1
  done
  echo "timeout waiting for $n prefixes from $peer" >&2; return 1
}
wait_empty() {
  for _ in $(seq 600); do
    [ "$(vtysh -N "$R" -c 'show bgp ipv4 unicast summary json' 2>/dev/null | jq '[.peers[].pfxRcd] | add // 0')" = 0 ] && return 0
    sleep 0.2
  done
  echo "FRR did not drop the routes" >&2; return 1
}
report() { # name n t0 est full [extra]
  printf '%-9s %7d prefixes: established %6.2f s, all in FRR %6.2f s (transfer %6.2f s)%s\n' \
    "$1" "$2" "$(echo "$4 - $3" | bc)" "$(echo "$5 - $3" | bc)" "$(echo "$5 - $4" | bc)" "${6:-}"
}

for n in "${counts[@]}"; do
  # --- lodestone ---
  mkfifo "$work/in"
  t0="$(now)"
  ip netns exec "$S" "$bin/bgp-lab-speaker" --local-as 64512 --router-id 192.0.2.1 --hold 90 \
    --peer 192.0.2.2,64513 <"$work/in" >/dev/null &
  sp=$!; pids+=("$sp")
  exec 9>"$work/in"
  echo "gen $n 198.18.0.0" >&9; echo commit >&9
  read -r est full < <(wait_full 192.0.2.1 "$n")
  rss="$(awk '/VmRSS/ {print $2}' "/proc/$sp/status")"
  report lodestone "$n" "$t0" "$est" "$full" ", RSS $((rss / 1024)) MiB"
  echo quit >&9; exec 9>&-; wait "$sp" || true; rm -f "$work/in"
  wait_empty

  # --- BIRD 2 ---
  {
    echo "router id 198.51.100.1;"; echo "protocol device {}"
    echo "protocol static { ipv4;"
    awk -v n="$n" 'BEGIN { base = 198*16777216 + 18*65536; for (i = 0; i < n; i++) { a = base + i;
      printf "route %d.%d.%d.%d/32 blackhole;\n", int(a/16777216), int(a/65536)%256, int(a/256)%256, a%256 } }'
    echo "}"
    echo "protocol bgp frr { local 198.51.100.1 as 64514; neighbor 198.51.100.2 as 64513; hold time 90;"
    echo "  ipv4 { import none; export all; }; }"
  } >"$work/bird.conf"
  t0="$(now)"
  ip netns exec "$B" bird -f -c "$work/bird.conf" -s "$work/bird.ctl" >/dev/null 2>&1 &
  bp=$!; pids+=("$bp")
  read -r est full < <(wait_full 198.51.100.1 "$n")
  report bird "$n" "$t0" "$est" "$full"
  kill "$bp"; wait "$bp" 2>/dev/null || true
  wait_empty

  # --- GoBGP 3.10: routes injected from MRT before the neighbour is added ---
  "$bin/bgp-bench-mrt" "$work/routes.mrt" "$n" 198.18.0.0 203.0.113.1 64515 4096
  cat >"$work/gobgpd.toml" <<CONF
[global.config]
  as = 64515
  router-id = "203.0.113.1"
  port = 179
CONF
  ip netns exec "$G" gobgpd -f "$work/gobgpd.toml" -t toml --api-hosts 127.0.0.1:50051 >/dev/null 2>&1 &
  gp=$!; pids+=("$gp")
  for _ in $(seq 50); do ip netns exec "$G" gobgp --port 50051 global >/dev/null 2>&1 && break; sleep 0.2; done
  # `gobgp mrt inject` can drop the tail of the file (padded with duplicates): check, retry.
  for _ in $(seq 10); do
    ip netns exec "$G" gobgp --port 50051 mrt inject global "$work/routes.mrt"
    have="$(ip netns exec "$G" gobgp --port 50051 global rib summary -a ipv4 | awk '/Destination/ {gsub(",", "", $2); print $2}')"
    [ "$have" = "$n" ] && break
  done
  [ "$have" = "$n" ] || { echo "GoBGP holds $have of $n routes after injection" >&2; exit 1; }
  t0="$(now)"
  ip netns exec "$G" gobgp --port 50051 neighbor add 203.0.113.2 as 64513
  read -r est full < <(wait_full 203.0.113.1 "$n")
  report gobgp "$n" "$t0" "$est" "$full"
  kill "$gp"; wait "$gp" 2>/dev/null || true
  wait_empty
done
