#!/usr/bin/env bash
# Layer-2 interop in network namespaces: a bridge, three "node" namespaces running the lodestone-l2
# driver + election (examples/l2-lab-node, Leases as files), a client namespace with arping,
# ndisc6, ping and tcpdump.
#
# Checks: arping / ndisc6 get exactly one answer, from the owner's MAC; the client's neighbour
# entries move on graceful stop (SIGTERM), crash (SIGKILL), exclusion and preemption; repeated
# handovers never leave two nodes answering (ownership intervals from the nodes' logs are
# disjoint, and every ARP/NA for a VIP in the client's capture comes from the node owning it at
# that moment); an interface restriction and MetalLB's default exclusions are honoured.
#
#   L2_HANDOVERS=N   repeated graceful handovers (default 10)
#   KEEP=1           keep the work directory
set -euo pipefail

if [ "${LODESTONE_NETLAB:-}" != 1 ]; then
  echo "skipped: set LODESTONE_NETLAB=1" >&2
  exit 0
fi
for tool in ip arping ndisc6 tcpdump tshark jq ping awk; do
  command -v "$tool" >/dev/null || { echo "FAIL: missing tool $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root" >&2; exit 1; }

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
cargo build -q -p lodestone-l2 --example l2-lab-node
bin="${CARGO_TARGET_DIR:-$repo/target}/debug/examples/l2-lab-node"
[ -x "$bin" ] || { echo "FAIL: $bin not built" >&2; exit 1; }

P="ls-l2-$$"
work=$(mktemp -d)
leases="$work/leases"
mkdir -p "$leases"
V4=192.0.2.100
V6=2001:db8::100
HANDOVERS=${L2_HANDOVERS:-10}
TIMING=(--lease-ms 2000 --renew-ms 500 --margin-ms 500 --handover-ms 500
  --announce-ms 2000 --announce-interval-ms 500)
declare -A pid=()
tcpdump_pid=""
namespaces=()

cleanup() {
  set +e
  for n in "${!pid[@]}"; do kill -KILL "${pid[$n]}" 2>/dev/null; done
  [ -n "$tcpdump_pid" ] && kill -KILL "$tcpdump_pid" 2>/dev/null
  wait 2>/dev/null
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/n*.log; do echo "--- $f" >&2; tail -n 5 "$f" >&2; done
  exit 1
}
now_us() { echo $(( $(date +%s%N) / 1000 )); }
mac_of() { printf '02:00:00:00:01:%02x' "${1#n}"; }

# --- topology -----------------------------------------------------------------------------------
netns() { ip netns add "$1"; namespaces+=("$1"); }
netns "$P-sw"
ip -n "$P-sw" link add br0 type bridge
ip -n "$P-sw" link set br0 up
attach() { # namespace mac port
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip link add eth0 netns "$1" address "$2" type veth peer name "$3" netns "$P-sw"
  ip -n "$P-sw" link set "$3" master br0 up
  ip -n "$1" link set eth0 up
}
for i in 1 2 3; do
  netns "$P-n$i"
  attach "$P-n$i" "$(mac_of n$i)" "p$i"
done
netns "$P-c"
attach "$P-c" 02:00:00:00:02:01 pc
ip -n "$P-c" addr add 192.0.2.10/24 dev eth0
ip -n "$P-c" addr add 2001:db8::10/64 dev eth0 nodad

ip netns exec "$P-c" tcpdump -i eth0 -U -n -w "$work/client.pcap" \
  'arp or (icmp6 and (ip6[40] == 135 or ip6[40] == 136))' 2>"$work/tcpdump.err" &
tcpdump_pid=$!

# --- nodes --------------------------------------------------------------------------------------
start_node() { # node [extra args...]
  local n=$1
  shift
  ip netns exec "$P-$n" "$bin" --node "$n" --lease-dir "$leases" --addresses "$V4,$V6" \
    "${TIMING[@]}" "$@" >>"$work/$n.log" 2>>"$work/$n.err" &
  pid[$n]=$!
}
stop_node() { # node TERM|KILL
  local n=$1 sig=$2 t
  kill "-$sig" "${pid[$n]}"
  wait "${pid[$n]}" 2>/dev/null || true
  t=$(now_us)
  unset "pid[$n]"
  # A crashed node logs nothing: record when it was certainly gone.
  if [ "$sig" = KILL ]; then
    echo "owned t_before_us=$t t_after_us=$t node=$n addrs=" >>"$work/$n.log"
  fi
}
owners() { # running nodes whose last ownership line is non-empty
  local n
  for n in "${!pid[@]}"; do
    if grep '^owned ' "$work/$n.log" 2>/dev/null | tail -n 1 | grep -q 'addrs=.\+'; then echo "$n"; fi
  done | sort
}
wait_owner() { # [not-this-node] -> prints the single owner
  local i o
  for i in $(seq 1 150); do
    o=$(owners)
    if [ "$(echo "$o" | grep -c .)" = 1 ] && [ "$o" != "${1:-}" ]; then echo "$o"; return 0; fi
    sleep 0.05
  done
  fail "no single owner (have: $(owners | tr '\n' ' '))"
}
neigh_mac() { ip -n "$P-c" -j neigh show "$1" dev eth0 | jq -r '.[0].lladdr // empty'; }
wait_neigh() { # ip mac
  local i
  for i in $(seq 1 100); do
    [ "$(neigh_mac "$1")" = "$2" ] && return 0
    sleep 0.05
  done
  fail "client neighbour entry for $1 is '$(neigh_mac "$1")', want $2"
}
# Strict checks (exactly one answer per request) only hold once the takeover announcements are
# over: arping and ndisc6 -m also count gratuitous ARP replies / unsolicited NAs. Right after a
# takeover use "loose": every answer from the owner, at least one per request.
check_arping() { # mac count [loose]
  local out replies macs
  out=$(ip netns exec "$P-c" arping -c "$2" -w 5 -I eth0 "$V4" 2>&1 || true)
  replies=$(grep -c 'bytes from' <<<"$out" || true)
  macs=$(grep 'bytes from' <<<"$out" | awk '{print tolower($4)}' | sort -u | tr '\n' ' ')
  [ "$macs" = "$1 " ] || fail "arping answered by [$macs], want only $1: $out"
  if [ "${3:-}" = loose ]; then
    [ "$replies" -ge "$2" ] || fail "arping: $replies replies, want >= $2: $out"
  else
    [ "$replies" = "$2" ] || fail "arping: $replies replies, want $2: $out"
    grep -q '(0 extra)' <<<"$out" || fail "arping saw extra replies: $out"
  fi
}
check_ndisc() { # mac [loose]
  local out answers
  out=$(ip netns exec "$P-c" ndisc6 -m -n -r 1 -w 1500 "$V6" eth0 2>&1 || true)
  answers=$(grep -i 'Target link-layer address' <<<"$out" | awk '{print tolower($4)}' | tr '\n' ' ')
  if [ "${2:-}" = loose ]; then
    answers=$(tr ' ' '\n' <<<"$answers" | grep . | sort -u | tr '\n' ' ')
  fi
  [ "$answers" = "$1 " ] || fail "ndisc6 answers [$answers], want exactly $1: $out"
}
touch_neigh() {
  ip netns exec "$P-c" ping -c 1 -W 1 "$V4" >/dev/null 2>&1 || true
  ip netns exec "$P-c" ping -6 -c 1 -W 1 "$V6" >/dev/null 2>&1 || true
}
expect_move() { # label new-owner start_us
  wait_neigh "$V4" "$(mac_of "$2")"
  wait_neigh "$V6" "$(mac_of "$2")"
  echo "ok: $1: owner $2, client neighbour entries moved in $(( ($(now_us) - $3) / 1000 )) ms"
}

all=n1,n2,n3
for n in n1 n2 n3; do start_node "$n" --candidates "$all"; done

# --- one answer, from the owner -----------------------------------------------------------------
owner=$(wait_owner)
sleep 2.6 # past the join handover delay and the takeover announcements
owner=$(wait_owner)
check_arping "$(mac_of "$owner")" 3
check_ndisc "$(mac_of "$owner")"
touch_neigh
wait_neigh "$V4" "$(mac_of "$owner")"
wait_neigh "$V6" "$(mac_of "$owner")"
echo "ok: arping and ndisc6 answered once each by owner $owner ($(mac_of "$owner"))"

# --- graceful stop --------------------------------------------------------------------------------
t=$(now_us)
stop_node "$owner" TERM
new=$(wait_owner "$owner")
expect_move "SIGTERM of $owner" "$new" "$t"
start_node "$owner" --candidates "$all"
sleep 1
owner=$(wait_owner)
wait_neigh "$V4" "$(mac_of "$owner")"
echo "ok: restarted node settled, owner $owner"

# --- crash ----------------------------------------------------------------------------------------
t=$(now_us)
stop_node "$owner" KILL
new=$(wait_owner "$owner")
expect_move "SIGKILL of $owner" "$new" "$t"
check_arping "$(mac_of "$new")" 2 loose
start_node "$owner" --candidates "$all"
sleep 1
owner=$(wait_owner)
wait_neigh "$V4" "$(mac_of "$owner")"

# --- exclusion (the caller removes the node from the candidates) -------------------------------
t=$(now_us)
echo "$owner" >"$leases/excluded"
new=$(wait_owner "$owner")
expect_move "exclusion of $owner" "$new" "$t"
check_ndisc "$(mac_of "$new")" loose
t=$(now_us)
rm -f "$leases/excluded"
sleep 1
owner=$(wait_owner)
wait_neigh "$V4" "$(mac_of "$owner")"
echo "ok: exclusion lifted, owner $owner"

# --- repeated handovers ----------------------------------------------------------------------------
for i in $(seq 1 "$HANDOVERS"); do
  stop_node "$owner" TERM
  new=$(wait_owner "$owner")
  wait_neigh "$V4" "$(mac_of "$new")"
  start_node "$owner" --candidates "$all"
  sleep 0.7
  owner=$(wait_owner)
  wait_neigh "$V4" "$(mac_of "$owner")"
done
check_arping "$(mac_of "$owner")" 2 loose
echo "ok: $HANDOVERS graceful handovers (plus the restarts' preemptions)"

# Counters of the owner.
grep -q "^requests_received $V4 " "$leases/$owner.status" || fail "owner counted no requests"
grep -q "^responses_sent $V4 " "$leases/$owner.status" || fail "owner counted no responses"
grep -q "^gratuitous_sent $V4 " "$leases/$owner.status" || fail "owner counted no gratuitous frames"
grep -q "not_owned" "$leases"/n*.status || fail "no not_owned drops counted anywhere"

for n in "${!pid[@]}"; do stop_node "$n" TERM; done
sleep 0.3
kill -TERM "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null || true
tcpdump_pid=""

# --- never two answering nodes ----------------------------------------------------------------------
# Ownership intervals [t_before of gaining, t_after of losing] per node, from the logs.
for n in n1 n2 n3; do
  grep '^owned ' "$work/$n.log" | awk -v mac="$(mac_of "$n")" '
    { split($2, b, "="); split($3, a, "="); has = ($5 != "addrs=") }
    has && !open { start = b[2]; open = 1 }
    !has && open { print mac, start, a[2]; open = 0 }
    END { if (open) print mac, start, 9999999999999999 }'
done | sort -k2,2n >"$work/intervals"
[ -s "$work/intervals" ] || fail "no ownership intervals"
awk 'NR > 1 && $2 < prev_end { bad = 1; print "overlap:", prev, "and", $0 }
     { prev = $0; prev_end = $3 } END { exit bad }' "$work/intervals" ||
  fail "ownership intervals overlap"
echo "ok: $(wc -l <"$work/intervals") ownership intervals, pairwise disjoint"

# Every ARP reply / gratuitous ARP / NA for a VIP seen by the client, checked against the intervals.
tshark -r "$work/client.pcap" -T fields -E separator=' ' \
  -e frame.time_epoch -e eth.src -e arp.src.proto_ipv4 -e icmpv6.type -e icmpv6.nd.na.target_address \
  2>/dev/null >"$work/frames"
awk -v v4="$V4" -v v6="$V6" '
  FILENAME == ARGV[1] { n++; m[n] = $1; s[n] = $2; e[n] = $3; next }
  {
    split($1, t, "."); us = t[1] * 1000000 + substr(t[2] "000000", 1, 6)
    claim = ($3 == v4) || ($4 == 136 && $5 == v6)
    if (!claim || $2 !~ /^02:00:00:00:01:/) next
    total++
    ok = 0
    for (i = 1; i <= n; i++) if (m[i] == $2 && us >= s[i] && us <= e[i] + 5000) ok = 1
    if (!ok) { bad++; print "frame outside its sender'"'"'s ownership:", $0 }
    macs[$2] = 1
  }
  END {
    for (k in macs) distinct++
    printf "frames claiming a VIP: %d from %d MACs, %d outside ownership\n", total, distinct, bad
    exit (bad > 0 || total == 0 || distinct < 2)
  }' "$work/intervals" "$work/frames" || fail "capture shows a VIP answered outside its owner's interval"
echo "ok: capture never shows two MACs answering for one address"

# --- interface restriction and default exclusions ---------------------------------------------------
ip -n "$P-n1" link add eth9 type veth peer name eth9p
ip -n "$P-n1" link add veth-x type veth peer name veth-y
for l in eth9 eth9p veth-x veth-y; do ip -n "$P-n1" link set "$l" up; done
rm -f "$leases"/n*
start_node n1 --candidates n1 --interfaces eth9
wait_owner >/dev/null
sleep 0.5
grep -q '^link eth9 ' "$leases/n1.status" || fail "no responder on eth9"
grep -q '^link eth0 ' "$leases/n1.status" && fail "responder on eth0 despite --interfaces eth9"
out=$(ip netns exec "$P-c" arping -c 2 -w 3 -I eth0 "$V4" 2>&1 || true)
grep -q 'bytes from' <<<"$out" && fail "answered on an interface outside the restriction: $out"
stop_node n1 TERM
start_node n1 --candidates n1
wait_owner >/dev/null
sleep 0.5
grep -q '^link veth-x ' "$leases/n1.status" && fail "responder on veth-x (MetalLB excludes ^veth.*)"
grep -q '^link eth9 ' "$leases/n1.status" || fail "no responder on eth9 with the default selection"
check_arping "$(mac_of n1)" 2 loose
echo "ok: interface restriction honoured; veth* excluded by default"
stop_node n1 TERM
echo "PASS: l2 interop"
