#!/usr/bin/env bash
# Allocator benchmarks (criterion, in-process): allocations/s in an IPv4 /8 (avoidBuggyIPs) and
# an IPv6 /64 at 0/50/99 % fill beside MetalLB's linear scan, and the time to rebuild 10,000
# allocations. Prints a table; criterion's full report stays under target/criterion.
#   hack/bench-ipam.sh            run and print the table
#   hack/bench-ipam.sh --table F  print the table from a saved log F of this script's bench run
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--table" ]; then
  log="$2"
else
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  cargo bench -p lodestone-ccm --bench ipam 2>&1 | tee "$log" >&2
fi

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) on $(nproc) cores"
# criterion prints "<id>" (alone on a line when long), then "time: [low mid high]" (the
# benchmark thread's CPU time, see ccm/benches/ipam.rs), then maybe "time: [change]" lines.
awk '
  function ns(v, u) {
    if (u == "ps") return v / 1000; if (u == "ns") return v; if (u == "µs" || u == "us") return v * 1000;
    if (u == "ms") return v * 1e6; if (u == "s") return v * 1e9; return -1
  }
  /^(allocate|rebuild)\// { name = $1 }
  /time:/ && name != "" {
    n = split($0, f, /[][ \t]+/); k = 0
    for (i = 1; i <= n; i++) if (f[i] == "time:") k = i
    t = ns(f[k + 3], f[k + 4])
    rows[++count] = name; times[count] = t
    name = ""
  }
  /baseline linear-scan.*skipped/ { skipped[++nskip] = $0 }
  END {
    printf "%-40s %14s %16s\n", "benchmark (group/impl/pool/fill %)", "cpu time/iter", "allocations/s"
    for (i = 1; i <= count; i++) {
      t = times[i]; name = rows[i]
      per = (name ~ /^rebuild/) ? 10000 / (t / 1e9) : 1e9 / t
      if (t >= 1e6) ts = sprintf("%.2f ms", t / 1e6); else if (t >= 1e3) ts = sprintf("%.2f µs", t / 1e3); else ts = sprintf("%.1f ns", t)
      printf "%-40s %14s %16.0f\n", name, ts, per
    }
    for (i = 1; i <= nskip; i++) print skipped[i]
    print "(allocate: one iteration = assign + release of one Service; rebuild: 10,000 Services per iteration)"
  }
' "$log"
