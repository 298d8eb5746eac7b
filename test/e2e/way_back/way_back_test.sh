#!/usr/bin/env bash
# The way back to direct communication, as docs/alerts.md
# ("Emergency: out of the mesh, and back") tells an operator to do it, one
# check per invocation:
#   out_and_back        under steady load from a meshed client, a 2-replica
#                       meshed server is rolled out of the mesh (pod template
#                       annotated weft.io/inject: disabled) and back in:
#                       no request fails, and the client's proxy counters show
#                       plaintext to the unmeshed pods, then mTLS again;
#   out_while_webhook_down  the same way out while the webhook is down;
#   uninject            `weftctl uninject` of manifests applied with kubectl
#                       (opted in by `weftctl inject`, and pre-injected by
#                       `weftctl inject --manual`) gives pods without a proxy;
#   control_plane_gone  the operator, the webhook and weft-identity scaled to
#                       zero: traffic between running meshed pods goes on.
# usage: way_back_test.sh CHECK [WEFTCTL_BIN]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
# shellcheck source=SCRIPTDIR/../mesh/mesh_lib.sh
source "$here/../mesh/mesh_lib.sh"
skip_unless_root

# proxy_names NAMESPACE DEPLOYMENT: one line per pod of the Deployment, "POD
# yes|no" (whether it carries weft-proxy, as a native sidecar or a container).
proxy_names() {
  local selector
  selector=$(k -n "$1" get deployment "$2" -o json |
    jq -r '.spec.selector.matchLabels | to_entries | map("\(.key)=\(.value)") | join(",")')
  k -n "$1" get pods -l "$selector" -o json | jq -r '.items[]
    | select(.metadata.deletionTimestamp == null)
    | "\(.metadata.name) \(if [(.spec.initContainers // [])[].name, .spec.containers[].name]
        | index("weft-proxy") then "yes" else "no" end)"'
}

# expect_proxies NAMESPACE DEPLOYMENT yes|no: every current pod of the
# Deployment has (yes) or lacks (no) weft-proxy.
expect_proxies() {
  local pods
  pods=$(proxy_names "$1" "$2")
  [[ -n $pods ]] || fail "$1/$2 has no pods"
  if grep -qv " $3\$" <<<"$pods"; then fail "$1/$2: expected weft-proxy: $3, pods: $(tr '\n' ';' <<<"$pods")"; fi
  echo "  $2: $(wc -l <<<"$pods") pods, weft-proxy: $3"
}

# The client's proxy's outbound requests to backend-v1: over mTLS to backend's
# identity (tls), or in plaintext (plain).
client_tries() {
  local metrics
  metrics=$(proxy_metrics steady)
  case $1 in
    tls) metric_sum request_total 'direction="outbound"' 'target_service="backend-v1' 'tls="true"' \
      "server_id=\"spiffe://cluster.local/ns/$ns/sa/backend\"" <<<"$metrics" ;;
    plain) metric_sum request_total 'direction="outbound"' 'target_service="backend-v1' \
      'tls="no_identity"' <<<"$metrics" ;;
  esac
}

# window_tries: 200 further requests of the steady load; prints "TLS PLAIN",
# how many of the client proxy's tries went over mTLS and in plaintext meanwhile.
window_tries() {
  local tls plain
  tls=$(client_tries tls) plain=$(client_tries plain)
  outcomes_grow_by 200
  echo "$(($(client_tries tls) - tls)) $(($(client_tries plain) - plain))"
}

# backend_v1_endpoints_are JSON-LIST: the identities backend-v1's endpoints have in the
# namespace's document ("none" for an endpoint reached in plaintext), in order.
backend_v1_endpoints_are() {
  config_has "[.outbound.services[] | select(.name == \"backend-v1\") | .ports[].endpoints[]
    | .identity // \"none\"] == $1"
}

# phase NAME CHANGE-COMMAND...: runs the change (a patch of backend-v1's pod
# template), waits for its rollout and the old pods' exit, and reports the
# steady load's answers and failures meanwhile; fails on any failure.
phase() {
  local name=$1 old_pods answered_before failed_before answered failed
  shift
  old_pods=$(k -n "$ns" get pods -l app=backend,version=v1 -o jsonpath='{.items[*].metadata.name}')
  answered_before=$(steady_outcomes 200) failed_before=$(steady_outcomes failed)
  local start=$SECONDS
  "$@" >/dev/null || fail "$name: the change failed"
  wait_replaced "$old_pods" backend-v1
  answered=$(($(steady_outcomes 200) - answered_before))
  failed=$(($(steady_outcomes failed) - failed_before))
  echo "$name: rolled out in $((SECONDS - start))s; meanwhile $answered answered 200, $failed failed"
  ((failed == 0)) || fail "$name: $failed requests failed: $(pod_metrics steady 9090 | grep '^weft_load_requests_total')"
  ((answered >= 500)) || fail "$name: only $answered requests answered during the rollout"
}

# meshed_backend_under_load: in the (meshed, Weft installed) namespace,
# backend-v1 alone with two replicas, never failing, replaced one at a time
# (each new pod ready before an old one goes), and a meshed client's steady
# load on it (100/s, no MeshRoute: no retries, so a failed request would be
# the way back's fault), all of it over mTLS.
meshed_backend_under_load() {
  k -n weft-system rollout status deployment/weft-identity --timeout=180s >/dev/null ||
    fail "weft-identity not rolled out"
  deploy_samples 01-services.yaml
  deploy_samples backend.yaml 's/^  replicas: 1$/  replicas: 2/; s/ *- --failure-rate=0.2$//'
  k -n "$ns" scale deployment/backend-v2 --replicas 0 >/dev/null
  k -n "$ns" patch deployment backend-v1 --type merge \
    -p '{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}' \
    >/dev/null || fail "set backend-v1's rollout strategy"
  wait_rolled_out backend-v1
  local id="spiffe://cluster.local/ns/$ns/sa/backend"
  eventually 60 "backend-v1's two endpoints meshed in the proxy config" \
    backend_v1_endpoints_are "[\"$id\", \"$id\"]"
  start_steady_load --rate 100 --concurrency 8 --timeout 5s http://backend-v1:8080/
  local tries
  tries=$(window_tries)
  echo "meshed: of 200 requests, the client's proxy sent ${tries% *} over mTLS, ${tries#* } in plaintext"
  ((${tries#* } == 0 && ${tries% *} >= 150)) || fail "expected mTLS only before the change: $tries"
}

# take_backend_out: (a) of the procedure: the annotation on backend-v1's pod
# template and the rollout it causes, with no failed request; then pods
# without a proxy, reached in plaintext.
take_backend_out() {
  phase "out of the mesh (weft.io/inject: disabled)" k -n "$ns" patch deployment backend-v1 \
    --type merge -p '{"spec":{"template":{"metadata":{"annotations":{"weft.io/inject":"disabled"}}}}}'
  expect_proxies "$ns" backend-v1 no
  eventually 60 "backend-v1's two endpoints unmeshed in the proxy config" \
    backend_v1_endpoints_are '["none", "none"]'
  local tries
  tries=$(window_tries)
  echo "out: of 200 requests, the client's proxy sent ${tries% *} over mTLS, ${tries#* } in plaintext"
  ((${tries% *} == 0 && ${tries#* } >= 150)) || fail "expected plaintext only once out: $tries"
}

check_out_and_back() {
  mesh_namespace way-back
  install_weft
  meshed_backend_under_load
  local id="spiffe://cluster.local/ns/$ns/sa/backend" tries
  take_backend_out

  # (b) Back in: the annotation removed, rolled out again.
  phase "back into the mesh (annotation removed)" k -n "$ns" patch deployment backend-v1 \
    --type json -p '[{"op":"remove","path":"/spec/template/metadata/annotations/weft.io~1inject"}]'
  expect_proxies "$ns" backend-v1 yes
  eventually 60 "backend-v1's two endpoints meshed again in the proxy config" \
    backend_v1_endpoints_are "[\"$id\", \"$id\"]"
  tries=$(window_tries)
  echo "back in: of 200 requests, the client's proxy sent ${tries% *} over mTLS, ${tries#* } in plaintext"
  ((${tries#* } == 0 && ${tries% *} >= 150)) || fail "expected mTLS only once back in: $tries"
  # The servers' proxies name the client: mTLS both ways.
  local pod served
  for pod in $(k -n "$ns" get pods -l app=backend,version=v1 -o jsonpath='{.items[*].metadata.name}'); do
    served=$(proxy_metrics "$pod" | metric_sum request_total 'direction="inbound"' 'tls="true"' \
      "client_id=\"spiffe://cluster.local/ns/$ns/sa/default\"")
    echo "  $pod's proxy: $served requests over mTLS from the client's identity"
    ((served > 0)) || fail "$pod's proxy saw no mTLS request from the client"
  done
  echo "failed requests over the whole test: $(steady_outcomes failed)"
}

# The same way out while the webhook is down (scaled to 0), as in a webhook
# outage (docs/alerts.md, WeftWebhookDown): opted-out pods are never sent to
# it, so they are created, and callers lose no request. The webhook comes
# back at the end, even on failure.
check_out_while_webhook_down() {
  mesh_namespace way-back-webhook
  install_weft
  trap 'install_weft >/dev/null 2>&1 || true; k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT
  meshed_backend_under_load
  k -n weft-system scale deployment/weft-webhook --replicas 0 >/dev/null || fail "scale the webhook to 0"
  webhook_gone() { [[ -z $(k -n weft-system get pods -l app.kubernetes.io/name=weft-webhook -o name) ]]; }
  eventually 90 "the webhook's pods to exit" webhook_gone
  take_backend_out
  echo "failed requests over the whole test: $(steady_outcomes failed)"
  install_weft
}

# same_yaml A B: the two YAML files hold the same data.
same_yaml() {
  python3 - "$1" "$2" <<'PY'
import sys, yaml
a, b = (list(yaml.safe_load_all(open(path))) for path in sys.argv[1:])
sys.exit(0 if a == b else 1)
PY
}

check_uninject() {
  local weftctl=${1:?usage: way_back_test.sh uninject WEFTCTL_BIN}
  # A namespace not labelled for injection: only the manifests opt in.
  test_namespace way-back-gitops
  k label namespace "$ns" pod-security.kubernetes.io/enforce=privileged >/dev/null
  work=$(mktemp -d)
  trap 'rm -rf "$work"; k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT
  install_weft
  local name
  for name in opted manual; do
    cat >"$work/$name.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $name
  labels: {app: $name}
spec:
  replicas: 1
  selector:
    matchLabels: {app: $name}
  template:
    metadata:
      labels: {app: $name}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: app
          image: weft/weft-sample-app:0.1.0
          imagePullPolicy: IfNotPresent
          args: [--name=$name, --port=8080, --shutdown-grace=2s]
          ports:
            - {name: http, containerPort: 8080}
          readinessProbe:
            httpGet: {path: /readyz, port: http}
            periodSeconds: 2
YAML
  done
  apply_both() { # apply_both in|out: kubectl apply of both NAME.in|out.yaml, both rolled out
    for name in opted manual; do
      k -n "$ns" apply -f "$work/$name.$1.yaml" >/dev/null || fail "kubectl apply $name.$1.yaml"
    done
    for name in opted manual; do
      k -n "$ns" rollout status "deployment/$name" --timeout=180s >/dev/null || fail "$name not rolled out"
    done
  }
  # As the Git repository holds them: opted in (the webhook injects), and
  # pre-injected (the proxy in the manifest).
  "$weftctl" inject -f "$work/opted.yaml" >"$work/opted.in.yaml" 2>/dev/null || fail "weftctl inject"
  "$weftctl" inject --manual -f "$work/manual.yaml" >"$work/manual.in.yaml" 2>/dev/null ||
    fail "weftctl inject --manual"
  apply_both in
  echo "applied as injected:"
  expect_proxies "$ns" opted yes
  expect_proxies "$ns" manual yes

  # The emergency change, GitOps style: the manifests uninjected, applied.
  for name in opted manual; do
    "$weftctl" uninject -f "$work/$name.in.yaml" >"$work/$name.out.yaml" 2>"$work/uninject.log" ||
      fail "weftctl uninject $name: $(cat "$work/uninject.log")"
    same_yaml "$work/$name.out.yaml" "$work/$name.yaml" ||
      fail "uninject of $name did not give back the original manifest: $(diff "$work/$name.yaml" "$work/$name.out.yaml")"
  done
  apply_both out
  echo "applied as uninjected:"
  local ip
  for name in opted manual; do
    eventually 60 "$name's old pods to exit" \
      test "$(proxy_names "$ns" "$name" | grep -c ' yes$')" -eq 0
    expect_proxies "$ns" "$name" no
    # It serves, directly: from this machine to the pod's address.
    ip=$(k -n "$ns" get pods -l "app=$name" -o json |
      jq -r '[.items[] | select(.metadata.deletionTimestamp == null)][0].status.podIP')
    curl --noproxy '*' -sf --max-time 5 "http://$ip:8080/" | jq -e --arg n "$name" '.name == $n' \
      >/dev/null || fail "$name's unmeshed pod does not answer at $ip:8080"
    echo "  $name answers at $ip:8080 without a proxy"
  done
}

check_control_plane_gone() {
  mesh_namespace way-back-cp
  install_weft
  # Whatever happens, the control plane comes back (manifests/ applied again
  # restores every replica count) and the namespace goes.
  trap 'install_weft >/dev/null 2>&1 || true; k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT
  k -n weft-system rollout status deployment/weft-identity --timeout=180s >/dev/null ||
    fail "weft-identity not rolled out"
  deploy_samples 01-services.yaml
  deploy_samples backend.yaml 's/ *- --failure-rate=0.2$//'
  k -n "$ns" scale deployment/backend-v2 --replicas 0 >/dev/null
  wait_rolled_out backend-v1
  local id="spiffe://cluster.local/ns/$ns/sa/backend"
  eventually 60 "backend-v1's endpoint meshed in the proxy config" backend_v1_endpoints_are "[\"$id\"]"
  start_steady_load --rate 100 --concurrency 8 --timeout 5s http://backend-v1:8080/

  k -n weft-system scale deployment/weft-operator deployment/weft-webhook deployment/weft-identity \
    --replicas 0 >/dev/null || fail "scale the control plane to 0"
  control_plane_gone() {
    [[ -z $(k -n weft-system get pods \
      -l 'app.kubernetes.io/name in (weft-operator,weft-webhook,weft-identity)' -o name) ]]
  }
  eventually 90 "the operator, webhook and weft-identity pods to exit" control_plane_gone
  local tls_before answered_before failed_before answered failed tls
  tls_before=$(client_tries tls) answered_before=$(steady_outcomes 200) failed_before=$(steady_outcomes failed)
  sleep 10
  answered=$(($(steady_outcomes 200) - answered_before))
  failed=$(($(steady_outcomes failed) - failed_before))
  tls=$(($(client_tries tls) - tls_before))
  echo "10s without operator, webhook and weft-identity: $answered answered 200 ($tls over mTLS), $failed failed"
  ((failed == 0)) || fail "$failed requests failed"
  ((answered >= 500)) || fail "only $answered requests answered in 10s at 100/s"
  ((tls >= answered - 16)) || fail "only $tls of $answered requests over mTLS"
  install_weft
  k -n weft-system rollout status deployment/weft-identity --timeout=180s >/dev/null ||
    fail "weft-identity not back"
  echo "control plane back; failed requests over the whole test: $(steady_outcomes failed)"
}

case "${1:-}" in
  out_and_back | out_while_webhook_down | uninject | control_plane_gone) "check_$1" "${@:2}" ;;
  *)
    echo "usage: way_back_test.sh out_and_back|out_while_webhook_down|uninject WEFTCTL_BIN|control_plane_gone" >&2
    exit 2
    ;;
esac
echo "PASS $1"
