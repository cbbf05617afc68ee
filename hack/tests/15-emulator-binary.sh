#!/usr/bin/env bash
# The emulator binary as the lab and end-to-end suite use it: start on a free loopback port,
# wait for the kubeconfig, drive it with kubectl, check every request was logged, stop it.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/debug/lodestone-kube-emulator"
[ -x "$BIN" ] || cargo build -q -p lodestone-test --bin lodestone-kube-emulator
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --listen "127.0.0.1:$PORT" --kubeconfig "$WORK/kubeconfig" \
  --service-cidr 10.96.0.0/16 --service-cidr fd00:10:96::/112 2>"$WORK/log" &
EMU=$!
trap 'kill "$EMU" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$WORK/kubeconfig" ] && break; sleep 0.1; done
[ -s "$WORK/kubeconfig" ] || { echo "FAIL: no kubeconfig written"; cat "$WORK/log"; exit 1; }
export KUBECONFIG="$WORK/kubeconfig"
timeout 30 kubectl version -o json | jq -e '.serverVersion.minor == "32"' >/dev/null
cat <<'YAML' | timeout 30 kubectl apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata: {name: ds, namespace: default}
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  ports: [{port: 80}]
YAML
ips=$(timeout 30 kubectl get svc ds -o jsonpath='{.spec.clusterIPs}')
echo "$ips" | grep -q '"10.96.' || { echo "FAIL: no IPv4 clusterIP from --service-cidr: $ips"; exit 1; }
echo "$ips" | grep -q '"fd00:10:96::' || { echo "FAIL: no IPv6 clusterIP from --service-cidr: $ips"; exit 1; }
grep -q 'request.*method=GET.*services/ds' "$WORK/log" || { echo "FAIL: requests not logged at debug"; exit 1; }
kill "$EMU"
wait "$EMU" 2>/dev/null || true
echo "1 passed, 0 failed"
