#!/usr/bin/env bash
# weftctl check and version against the real local control plane (no node, no
# Weft installed): check.sh CASE WEFTCTL. The cases only read the cluster,
# except pre_denied, which makes (and removes) a ServiceAccount of its own,
# and crd_faults, which runs on a control plane of its own.
set -euo pipefail

case_name=$1
weftctl=$2
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
KUBECTL=${KUBECTL:-$("$repo/scripts/build-k8s" --bin-dir)/kubectl}
k() { "$KUBECTL" "$@"; }
fail() { echo "FAIL $case_name: $*" >&2; exit 1; }
pass() { echo "PASS $case_name: $*"; }

# run_check ARGS...: sets status and out (stdout), stderr to the log.
run_check() {
  set +e
  out=$("$weftctl" "$@")
  status=$?
  set -e
}

# results CATEGORY: "result<TAB>name" lines of that category of $out (JSON).
results() {
  jq -r --arg c "$1" '.categories[] | select(.name == $c) | .checks[] | "\(.result)\t\(.name)"' <<<"$out"
}

case_unreachable() {
  local dir
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' RETURN
  # A port nothing listens on (bound then released).
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$dir/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:$port", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
YAML
  run_check check --kubeconfig "$dir/kubeconfig" -o json
  [[ $status == 1 ]] || fail "exit $status, want 1: $out"
  [[ $(jq -r '.categories | length' <<<"$out") == 1 ]] || fail "more than the API check: $out"
  [[ $(results kubernetes-api) == $'error\tcan reach the API server' ]] || fail "$out"
  run_check check --kubeconfig "$dir/kubeconfig"
  grep -q -- '--kubeconfig/--context' <<<"$out" || fail "no hint in: $out"
  pass "exit 1, the API server named unreachable, with the hint"
}

case_pre_allowed() {
  run_check check --pre -o json
  [[ $status == 0 ]] || fail "exit $status, want 0: $out"
  [[ $(results kubernetes-api | cut -f1 | sort -u) == ok ]] || fail "$(results kubernetes-api)"
  # Every permission allowed for the cluster's administrator.
  local denied
  denied=$(results pre-install | grep '^error' || true)
  [[ -z $denied ]] || fail "denied for the administrator: $denied"
  results pre-install | grep -q $'^ok\tcan create customresourcedefinitions.apiextensions.k8s.io$' ||
    fail "no CRD permission check: $(results pre-install)"
  results pre-install | grep -q $'^ok\tcan create mutatingwebhookconfigurations.admissionregistration.k8s.io$' ||
    fail "no webhook permission check: $(results pre-install)"
  pass "--pre: every install permission allowed, exit 0"
}

case_pre_denied() {
  local ns=weftctl-pre-$$ token server dir
  k create namespace "$ns" >/dev/null
  dir=$(mktemp -d)
  trap 'k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; rm -rf "$dir"' RETURN
  k -n "$ns" create serviceaccount nobody >/dev/null
  token=$(k -n "$ns" create token nobody --duration 10m)
  server=$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  cat >"$dir/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$server", certificate-authority: "$WEFT_CLUSTER_DIR/pki/ca.crt"}}]
users: [{name: nobody, user: {token: "$token"}}]
contexts: [{name: c, context: {cluster: c, user: nobody}}]
current-context: c
YAML
  run_check check --pre --kubeconfig "$dir/kubeconfig" -o json
  [[ $status == 1 ]] || fail "exit $status, want 1: $out"
  results pre-install | grep -q $'^error\tcan create customresourcedefinitions.apiextensions.k8s.io$' ||
    fail "the CRD permission not refused: $(results pre-install)"
  results pre-install | grep -q $'^error\tcan create namespaces$' ||
    fail "the namespace permission not refused: $(results pre-install)"
  run_check check --pre --kubeconfig "$dir/kubeconfig"
  grep -q 'hint: install Weft as a cluster administrator' <<<"$out" || fail "no hint in: $out"
  grep -q '^Status check results are ×' <<<"$out" || fail "no failed summary in: $out"
  pass "--pre as a ServiceAccount without grants: refused, exit 1, with the hint"
}

case_crds() {
  run_check check -o json
  # No control plane here: the check fails, but not for the CRDs.
  [[ $status == 1 ]] || fail "exit $status without a control plane, want 1"
  local crds
  crds=$(results weft-crds)
  [[ $crds == $'ok\tmeshroutes.weft.io is installed at v1alpha1\nok\tmeshpolicies.weft.io is installed at v1alpha1' ]] ||
    fail "the CRDs of crds/ not judged installed: $crds"
  pass "the installed CRDs pass: $(tr '\n' ' ' <<<"$crds")"
}

# On a control plane of its own (it changes and removes the CRDs, which the
# shared one's other tests use): the CRD checks' failures as a real API
# server presents the objects.
case_crd_faults() {
  local dir=${WEFTCTL_TEST_DIR:-${TMPDIR:-/tmp}}/weftctl-crds-$$
  local -x WEFT_CLUSTER_DIR=$dir KUBECONFIG=$dir/kubeconfig
  "$repo/scripts/local-cluster" up >/dev/null 2>&1 || fail "a control plane of its own did not start"
  trap '"$repo/scripts/local-cluster" down >/dev/null 2>&1 || true; rm -rf "$dir"' RETURN
  "$repo/test/integration/crd/install-crds.sh" >/dev/null || fail "install the CRDs"
  run_check check -o json
  [[ $(results weft-crds | cut -f1 | sort -u) == ok ]] || fail "installed CRDs not ok: $(results weft-crds)"

  # An older MeshRoute CRD: its schema without spec.rules.
  python3 - "$repo/crds/meshroute.yaml" >"$dir/old-meshroute.json" <<'PY'
import json, sys, yaml
crd = yaml.safe_load(open(sys.argv[1]))
spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
del spec["properties"]["rules"]
spec["required"] = [f for f in spec.get("required", []) if f != "rules"]
print(json.dumps(crd))
PY
  k apply --server-side --force-conflicts --field-manager=weft-crd-test -f "$dir/old-meshroute.json" >/dev/null ||
    fail "apply the older CRD"
  k delete crd meshpolicies.weft.io --wait=true --timeout=60s >/dev/null
  run_check check -o json
  [[ $status == 1 ]] || fail "exit $status, want 1"
  local crds
  crds=$(jq -r '.categories[] | select(.name == "weft-crds") | .checks[] | "\(.result)\t\(.detail)\t\(.hint)"' <<<"$out")
  grep -q $'^error\tits schema lacks spec fields rules (an older CRD)\tkubectl apply --server-side -f crds/' <<<"$crds" ||
    fail "the older MeshRoute CRD not named: $crds"
  grep -q $'^error\tnot installed\tkubectl apply --server-side -f crds/' <<<"$crds" ||
    fail "the missing MeshPolicy CRD not named: $crds"
  pass "an older CRD and a missing one fail with the apply hint; the installed ones pass"
}

case_version() {
  run_check version -o json
  [[ $status == 0 ]] || fail "exit $status: $out"
  # shellcheck source=../../../scripts/versions.env
  source "$repo/scripts/versions.env"
  [[ $(jq -r .kubernetes <<<"$out") == "$WEFT_K8S_VERSION" ]] || fail "$out"
  [[ $(jq -r .client <<<"$out") == v* ]] || fail "$out"
  run_check --version
  grep -q "^Kubernetes API server: $WEFT_K8S_VERSION$" <<<"$out" || fail "--version: $out"
  pass "weftctl version: client $(jq -r .client <<<"$out"), Kubernetes $WEFT_K8S_VERSION"
}

"case_$case_name"
