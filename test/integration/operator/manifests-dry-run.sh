#!/usr/bin/env bash
# The install bundle is accepted by the API server: the namespace is applied for
# real (objects in it cannot be dry-run without it), then every manifest with
# --dry-run=server (schema, admission, RBAC escalation checks, Pod Security).
#   env: KUBECONFIG, KUBECTL (default: kubectl)
set -euo pipefail

kubectl=${KUBECTL:-kubectl}
manifests=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../manifests" && pwd)

"$kubectl" apply -f "$manifests/00-namespace.yaml"
if ! out=$("$kubectl" apply --dry-run=server -f "$manifests" 2>&1); then
  echo "FAIL manifests: kubectl apply --dry-run=server -f manifests/ was refused"
  echo "$out"
  exit 1
fi
echo "$out"
# Pod Security "restricted" would print a warning for a non-compliant Deployment.
if grep -qi 'would violate PodSecurity' <<<"$out"; then
  echo "FAIL manifests: Pod Security warnings"
  exit 1
fi
grep -q 'deployment.apps/weft-operator .*(server dry run)' <<<"$out" || {
  echo "FAIL manifests: the operator Deployment was not part of the dry run"
  exit 1
}
echo "PASS manifests dry run"
