#!/usr/bin/env bash
# Regenerates manifests/crds/ (the metallb.io CRDs and their kustomization.yaml) from the
# Rust types in apis/. Run it after changing anything under apis/src/v1beta1 or v1beta2;
# apis/tests/crd_manifests.rs fails while the checked-in files are stale.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${repo}/manifests/crds"
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

# Generate aside first, so a failed build leaves the checked-in files alone.
cargo run --quiet --manifest-path "${repo}/Cargo.toml" -p lodestone-apis --bin lodestone-gen-crds -- "${tmp}"
mkdir -p "${out}"
# Files the generator no longer produces must not linger.
find "${out}" -maxdepth 1 -name 'metallb.io_*.yaml' -delete
cp "${tmp}"/*.yaml "${out}/"
echo "wrote $(find "${tmp}" -maxdepth 1 -name '*.yaml' | wc -l) files to manifests/crds"
