#!/usr/bin/env bash
# The install path renders: kubectl kustomize of the base and every overlay, with the objects we
# expect (every CRD, both workloads, RBAC) and nothing pointing outside metallb-system.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*" >&2; exit 1; }

for dir in kustomize/base kustomize/overlays/*/; do
  out=$(kubectl kustomize "$dir") || fail "kubectl kustomize $dir"
  kinds=$(printf '%s\n' "$out" | awk '/^kind: /{print $2}' | sort | uniq -c)
  for want in CustomResourceDefinition Deployment DaemonSet ClusterRole ClusterRoleBinding Role RoleBinding ServiceAccount Namespace Service; do
    printf '%s\n' "$kinds" | grep -qw "$want" || fail "$dir renders no $want"
  done
  crds=$(printf '%s\n' "$out" | grep -c '^kind: CustomResourceDefinition$')
  [ "$crds" -eq "$(ls manifests/crds/*.yaml | grep -vc kustomization)" ] || fail "$dir renders $crds CRDs"
  # Every namespaced object we ship lives in metallb-system.
  others=$(printf '%s\n' "$out" | grep -E '^  namespace: ' | grep -v 'metallb-system' || true)
  [ -z "$others" ] || fail "$dir has objects outside metallb-system: $others"
  echo "ok: $dir renders ($(printf '%s\n' "$out" | grep -c '^kind: ') objects, $crds CRDs)"
done
