#!/usr/bin/env bash
# Checks of the local control plane (scripts/local-cluster) against the running
# cluster in $WEFT_CLUSTER_DIR. One check per invocation: check.sh NAME.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cluster=$repo/scripts/local-cluster
export KUBECONFIG=$WEFT_CLUSTER_DIR/kubeconfig
KUBECTL=${KUBECTL:-$("$repo/scripts/build-k8s" --bin-dir)/kubectl}
k() { "$KUBECTL" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

check_readyz() {
  [[ $(k get --raw /readyz) == ok ]] || fail "/readyz is not ok"
  local version
  version=$(k version -o json | jq -r .serverVersion.gitVersion)
  # shellcheck source=../../../scripts/versions.env
  source "$repo/scripts/versions.env"
  [[ $version == "$WEFT_K8S_VERSION" ]] || fail "server version $version, pinned $WEFT_K8S_VERSION"
  # Loopback only: every listening socket of the cluster's processes is on 127.0.0.1.
  local pids
  pids=$(cat "$WEFT_CLUSTER_DIR"/run/*.pid | paste -sd,)
  if ss -Htlnp | grep -E "pid=(${pids//,/|})," | awk '{print $4}' | grep -v '^127\.0\.0\.1:'; then
    fail "a cluster process listens outside 127.0.0.1"
  fi
  [[ -n $(ss -Htlnp | grep -E "pid=(${pids//,/|}),") ]] || fail "found no listening socket of the cluster"
}

check_token_request_review() {
  local token review
  token=$(k -n default create token default --audience weft.test --duration 10m)
  [[ $token == *.*.* ]] || fail "TokenRequest returned no JWT"
  review=$(k create -o json -f - <<JSON
{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview",
 "spec":{"token":"$token","audiences":["weft.test"]}}
JSON
)
  [[ $(jq -r .status.authenticated <<<"$review") == true ]] || fail "TokenReview did not authenticate: $review"
  [[ $(jq -r .status.user.username <<<"$review") == system:serviceaccount:default:default ]] ||
    fail "TokenReview named the wrong user: $review"
  # A token for another audience must not pass a review that asks for weft.test.
  token=$(k -n default create token default --audience someone.else --duration 10m)
  review=$(k create -o json -f - <<JSON
{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview",
 "spec":{"token":"$token","audiences":["weft.test"]}}
JSON
)
  [[ $(jq -r .status.authenticated <<<"$review") != true ]] || fail "a token for another audience was accepted"
}

check_rbac() {
  local token out
  token=$(k -n default create token default --duration 10m)
  # The default ServiceAccount has no grants: RBAC must refuse it.
  if out=$(k --token "$token" --kubeconfig /dev/null --server "$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')" \
    --certificate-authority "$WEFT_CLUSTER_DIR/pki/ca.crt" -n default get secrets 2>&1); then
    fail "an unprivileged ServiceAccount could list secrets"
  fi
  [[ $out == *Forbidden* || $out == *forbidden* ]] || fail "expected Forbidden, got: $out"
  [[ $(k auth can-i list secrets -n default --as system:serviceaccount:default:default || true) == no ]] ||
    fail "can-i says the default ServiceAccount may list secrets"
  [[ $(k auth can-i list secrets -n default) == yes ]] || fail "the admin cannot list secrets"
}

check_mutating_webhook_plugin() {
  # A webhook that fails closed and points at a closed loopback port: if the
  # MutatingAdmissionWebhook plugin is on, writes in the selected namespace fail.
  # Globals, not locals: the EXIT trap runs after this function has returned.
  ns=weft-webhook-check-$RANDOM
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  trap 'k delete mutatingwebhookconfiguration "$ns" --ignore-not-found >/dev/null; k delete namespace "$ns" --wait=false --ignore-not-found >/dev/null' EXIT
  k create namespace "$ns" >/dev/null
  k label namespace "$ns" weft-webhook-check=yes >/dev/null
  k apply -f - >/dev/null <<YAML
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: $ns}
webhooks:
- name: check.weft.io
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  timeoutSeconds: 2
  clientConfig:
    url: https://127.0.0.1:$port/mutate
    caBundle: $(base64 -w0 <"$WEFT_CLUSTER_DIR/pki/ca.crt")
  namespaceSelector: {matchLabels: {weft-webhook-check: "yes"}}
  rules:
  - {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}
YAML
  local out deadline=$((SECONDS + 20))
  # The webhook configuration reaches the apiserver's cache asynchronously.
  while out=$(k -n "$ns" create configmap probe-$RANDOM 2>&1); do
    ((SECONDS < deadline)) || fail "writes succeeded although a fail-closed webhook is configured"
    k -n "$ns" delete configmaps --all >/dev/null
    sleep 0.5
  done
  [[ $out == *'failed calling webhook "check.weft.io"'* ]] || fail "unexpected error: $out"
}

check_two_clusters() {
  # Globals, not locals: the EXIT trap runs after this function has returned.
  second_parent=$(mktemp -d)
  second=$second_parent/cluster
  trap 'WEFT_CLUSTER_DIR=$second "$cluster" down >/dev/null 2>&1 || true; rm -rf "$second_parent"' EXIT
  WEFT_CLUSTER_DIR=$second "$cluster" up >/dev/null 2>&1
  [[ $(k --kubeconfig "$second/kubeconfig" get --raw /readyz) == ok ]] || fail "second cluster not ready"
  [[ $(k get --raw /readyz) == ok ]] || fail "first cluster not ready while the second runs"
  local p1 p2
  p1=$(sed -n 's/^apiserver=//p' "$WEFT_CLUSTER_DIR/run/ports")
  p2=$(sed -n 's/^apiserver=//p' "$second/run/ports")
  [[ $p1 != "$p2" ]] || fail "both clusters use port $p1"
  # Objects are separate: a namespace in the second is not in the first.
  k --kubeconfig "$second/kubeconfig" create namespace only-in-second >/dev/null
  if k get namespace only-in-second >/dev/null 2>&1; then fail "the clusters share storage"; fi
  local pids
  pids=$(cat "$second"/run/*.pid)
  WEFT_CLUSTER_DIR=$second "$cluster" down >/dev/null 2>&1
  for pid in $pids; do
    if kill -0 "$pid" 2>/dev/null; then fail "pid $pid of the second cluster survived down"; fi
  done
  [[ ! -e $second ]] || fail "down left $second behind"
  [[ $(k get --raw /readyz) == ok ]] || fail "down of the second cluster disturbed the first"
  if WEFT_CLUSTER_DIR=$second "$cluster" status >/dev/null 2>&1; then fail "status reports a removed cluster"; fi
}

"check_$1"
echo "PASS: $1"
