#!/usr/bin/env bash
# k8s_manifests_test.sh: samples/k8s/ (the sample topology), its routes
# (samples/k8s/routes/) and the gRPC sample (samples/k8s/grpc/) are accepted by
# the real apiserver with the Weft CRDs installed: every object passes a
# server-side dry run, in a fresh namespace standing in for weft-demo (deleted
# afterwards). Then checks what the manifests promise: the weft.io/inject label,
# the images, IfNotPresent, non-root, small resource requests, the Services of
# the split, and gRPC's h2c Service and probes.
#   env: KUBECONFIG, KUBECTL (default: kubectl)
set -euo pipefail

kubectl=${KUBECTL:-kubectl}
samples=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../samples/k8s" && pwd)
ns=samples-manifests-$$
work=$(mktemp -d)
cleanup() {
  "$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL k8s_manifests: $*"
  exit 1
}

# The namespace manifest itself: a dry run, then its label.
ns_out=$("$kubectl" apply --dry-run=server -o json -f "$samples/00-namespace.yaml")
[[ $(jq -r '.metadata.labels["weft.io/inject"]' <<<"$ns_out") == enabled ]] ||
  fail "00-namespace.yaml: weft-demo lacks weft.io/inject=enabled"

# Everything else goes into a namespace of this test's own.
"$kubectl" create namespace "$ns" >/dev/null
for file in "$samples"/*.yaml "$samples"/routes/*.yaml "$samples"/grpc/*.yaml; do
  [[ $(basename "$file") == 00-namespace.yaml ]] && continue
  sed "s/namespace: weft-demo/namespace: $ns/" "$file" >"$work/$(basename "$file")"
  if ! out=$("$kubectl" apply --server-side --dry-run=server -o json -f "$work/$(basename "$file")" 2>&1); then
    fail "$file refused by the apiserver: $out"
  fi
  # kubectl prints a List for several objects, one object otherwise.
  jq -c 'if .kind == "List" then .items[] else . end' <<<"$out" >>"$work/objects.jsonl"
  echo "ok $(basename "$file")"
done

objects=$work/objects.jsonl
count() { jq -s "[.[] | select($1)] | length" "$objects"; }

[[ $(count '.kind == "Deployment"') -eq 6 ]] || fail "expected 6 Deployments"
[[ $(count '.kind == "MeshRoute"') -ge 2 ]] || fail "expected the MeshRoute examples"
for service in web api backend backend-v1 backend-v2 grpc-echo; do
  [[ $(count ".kind == \"Service\" and .metadata.name == \"$service\"") -eq 1 ]] ||
    fail "missing Service $service"
done
[[ $(jq -r 'select(.kind == "Service" and .metadata.name == "backend") | .spec.selector | keys | join(",")' "$objects") == app ]] ||
  fail "Service backend must select every version (app only)"

# Every container: a Weft sample image, IfNotPresent, non-root, small requests.
bad=$(jq -r 'select(.kind == "Deployment" or .kind == "Job") | .metadata.name as $d | .spec.template.spec as $p
  | $p.containers[]
  | select((.image | test("^weft/weft-(sample-app|load|grpc-sample):0\\.1\\.0$") | not)
      or .imagePullPolicy != "IfNotPresent"
      or ($p.securityContext.runAsNonRoot != true)
      or (.securityContext.allowPrivilegeEscalation != false)
      or (.resources.requests.memory == null) or (.resources.requests.cpu == null))
  | "\($d)/\(.name)"' "$objects")
[[ -z $bad ]] || fail "containers breaking the image/non-root/resources rules: $bad"

# The split route sends 90/10 to the two version Services.
weights=$(jq -r 'select(.kind == "MeshRoute" and .metadata.name == "backend")
  | .spec.rules[0].backendRefs | map("\(.name)=\(.weight)") | join(",")' "$objects" | sort -u)
[[ $weights == "backend-v1=90,backend-v2=10" ]] || fail "split route weights: $weights"
# gRPC: cleartext HTTP/2 on the Service, 3 replicas probed by the kubelet's gRPC probe.
[[ $(jq -r 'select(.kind == "Service" and .metadata.name == "grpc-echo") | .spec.ports[0].appProtocol' "$objects") == kubernetes.io/h2c ]] ||
  fail "Service grpc-echo must say appProtocol kubernetes.io/h2c"
[[ $(jq -r 'select(.kind == "Deployment" and .metadata.name == "grpc-echo")
  | "\(.spec.replicas) \(.spec.template.spec.containers[0].readinessProbe.grpc.port)"' "$objects") == "3 8080" ]] ||
  fail "Deployment grpc-echo: want 3 replicas and a gRPC readiness probe on 8080"
echo "PASS k8s_manifests"
