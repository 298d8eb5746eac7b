#!/usr/bin/env bash
# Install the Weft CRDs (crds/*.yaml) into the cluster of $KUBECONFIG and wait
# until both are Established and served.
#   env: KUBECONFIG, KUBECTL (default: kubectl), CRD_WAIT_TIMEOUT (default: 60s)
set -euo pipefail

kubectl=${KUBECTL:-kubectl}
timeout=${CRD_WAIT_TIMEOUT:-60s}
crd_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../crds" && pwd)
crds=(meshroutes.weft.io meshpolicies.weft.io)

if ! out=$("$kubectl" apply --server-side --force-conflicts --field-manager=weft-crd-test \
    -f "$crd_dir" 2>&1); then
  echo "FAIL install-crds: kubectl apply of $crd_dir failed"
  echo "$out"
  exit 1
fi
echo "$out"

if ! out=$("$kubectl" wait --for=condition=Established --timeout="$timeout" \
    "${crds[@]/#/crd/}" 2>&1); then
  echo "FAIL install-crds: CRDs not Established within $timeout"
  echo "$out"
  "$kubectl" get crd "${crds[@]}" -o yaml 2>&1 | sed -n '/^  status:/,$p' || true
  exit 1
fi
echo "$out"

# Established means the API is served; make sure discovery agrees before any
# test creates objects (kubectl resolves kinds through discovery).
for _ in $(seq 1 30); do
  if "$kubectl" get meshroutes,meshpolicies --all-namespaces >/dev/null 2>&1; then
    echo "PASS install-crds: ${crds[*]} established"
    exit 0
  fi
  sleep 1
done
echo "FAIL install-crds: meshroutes/meshpolicies not served after 30s"
"$kubectl" get meshroutes,meshpolicies --all-namespaces 2>&1 || true
exit 1
