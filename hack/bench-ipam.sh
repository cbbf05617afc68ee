#!/usr/bin/env bash
# Allocator benchmarks (criterion, in-process): allocations/s in an IPv4 /8 (avoidBuggyIPs) and
# an IPv6 /64 at 0/50/99 % fill beside MetalLB's linear scan, and the time to rebuild 10,000
# allocations. Prints a table; criterion's full report stays under target/criterion.
#   hack/bench-ipam.sh            run and print the table
#   hack/bench-ipam.sh --table F  print the table from a saved criterion log F
set -euo pipefail
cd "$(dirname "$0")/.."

log=""
if [ "${1:-}" = "--table" ]; then
  log="$2"
else
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  cargo bench -p lodestone-ccm --bench ipam 2>&1 | tee "$log" >&2
fi

# criterion prints "<id>" (alone on a line when long) then "time: [low mid high]".
awk '
  function ns(v, u) {
    if (u == "ps") return v / 1000; if (u == "ns") return v; if (u == "µs" || u == "us") return v * 1000;
    if (u == "ms") return v * 1e6; if (u == "s") return v * 1e9; return -1
  }
  /^(allocate|rebuild)\// { name = $1 }
  /time:/ {
    n = split($0, f, /[][ \t]+/); k = 0
    for (i = 1; i <= n; i++) if (f[i] == "time:") k = i
    mid = f[k + 3]; unit = f[k + 4]; t = ns(mid, unit)
    rows[++count] = name; times[count] = t
  }
  /baseline linear-scan.*skipped/ { skipped[++nskip] = $0 }
  END {
    printf "%-44s %14s %18s\n", "benchmark (group/impl/pool/fill%)", "time/iter", "per second"
    for (i = 1; i <= count; i++) {
      t = times[i]; name = rows[i]
      if (name ~ /^rebuild/) { per = 10000 / (t / 1e9); unit = "allocations/s" } else { per = 1e9 / t; unit = "allocations/s" }
      if (t >= 1e6) ts = sprintf("%.2f ms", t / 1e6); else if (t >= 1e3) ts = sprintf("%.2f µs", t / 1e3); else ts = sprintf("%.1f ns", t)
      printf "%-44s %14s %12.0f %s\n", name, ts, per, unit
    }
    for (i = 1; i <= nskip; i++) print skipped[i]
  }
' "$log"
