#!/usr/bin/env bash
# weftctl on the real node, one check per invocation: weftctl_test.sh NAME.
# Each check installs Weft if needed, deploys the sample backend (v1 healthy,
# v2 failing 20 % of requests) behind the 90/10 MeshRoute of
# samples/k8s/routes/backend-split.yaml into a meshed namespace of its own,
# and runs build/bin/weftctl with the fixture's kubeconfig.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
# shellcheck source=SCRIPTDIR/../mesh/mesh_lib.sh
source "$here/../mesh/mesh_lib.sh"
skip_unless_root

weftctl=${WEFT_E2E_BUILD_DIR:-$repo/build}/bin/weftctl
[[ -x $weftctl ]] || fail "no $weftctl: build the weftctl target"

# split_backend PREFIX: a meshed namespace with backend-v1 (healthy),
# backend-v2 (failing 20 %) and the 90/10 route, ready (mesh_lib.sh).
split_backend() {
  mesh_namespace "$1"
  trap cleanup EXIT  # (test_namespace set its own)
  install_weft
  k -n weft-system rollout status deployment/weft-identity --timeout=180s >/dev/null ||
    fail "weft-identity not rolled out"
  deploy_backend_split
  eventually 60 "backend's endpoints meshed in the proxy config" config_has "
    [.outbound.services[] | select(.name == \"backend\") | .ports[].endpoints[].identity]
      | length == 2 and all(startswith(\"spiffe://\"))"
}

# within PERCENT A B: A and B differ by at most PERCENT % of B.
within() {
  awk -v p="$1" -v a="$2" -v b="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= p / 100 * b) }'
}

# stat deploy over a window that holds a whole run of the load generator: the
# backends' requests and successes, summed, agree with the load's own counts
# within 5 %. (The servers' inbound side also sees the kubelet's probes, about
# 2 per second over both pods: 1-2 % of the requests here.)
check_stat() {
  split_backend ctl-stat
  local n=3000 out=$WORK/stat.json
  "$weftctl" -n "$ns" stat deploy --window 50s -o json >"$out" 2>"$WORK/stat.err" &
  local stat_pid=$!
  sleep 3  # (the first scrape is done within a second)
  local summary
  summary=$(run_load load --requests "$n" --rate 200 --concurrency 8 http://backend:8080/)
  echo "load: $(jq -c '{requests, statuses, versions}' <<<"$summary")"
  wait "$stat_pid" || fail "weftctl stat failed: $(cat "$WORK/stat.err")"
  cat "$WORK/stat.err" >&2
  "$weftctl" -n "$ns" stat deploy --window 1s >/dev/null || fail "the table form failed"
  jq -c '.rows[] | {name, requests, successes, successRate, requestsPerSecond, latencyMs}' "$out"
  local sent ok requests successes
  sent=$(jq -r '[.statuses[]] | add' <<<"$summary")
  ok=$(jq -r '.statuses["200"] // 0' <<<"$summary")
  requests=$(jq -r '[.rows[] | select(.name | startswith("backend-")) | .requests] | add' "$out")
  successes=$(jq -r '[.rows[] | select(.name | startswith("backend-")) | .successes] | add' "$out")
  echo "load: $sent answered, $ok with 200; weftctl: $requests requests, $successes successes"
  ((sent == n)) || fail "the load generator got $sent answers of $n"
  within 5 "$requests" "$sent" || fail "weftctl counted $requests requests, the load $sent"
  within 5 "$successes" "$ok" || fail "weftctl counted $successes successes, the load $ok"
  # v2 fails a fifth of its requests: it shows, and v1 does not.
  jq -e '.rows[] | select(.name == "backend-v1") | .successRate == 1' "$out" >/dev/null ||
    fail "backend-v1 should be all successes: $(cat "$out")"
  jq -e '.rows[] | select(.name == "backend-v2") | .successRate < 0.95' "$out" >/dev/null ||
    fail "backend-v2 fails 20 %: $(cat "$out")"
  jq -e '.rows[] | select(.name == "backend-v1") | .mtlsShare > 0.9 and (.identities | length) >= 1' \
    "$out" >/dev/null || fail "the load's requests come over mTLS: $(cat "$out")"
}

# stat route from a steady meshed client: the route's backends split 9 to 1
# (10 ± 5 points of ~2,000 requests), with the document's weights beside.
check_route() {
  split_backend ctl-route
  start_steady_load --rate 100 --concurrency 4 http://backend:8080/
  local out=$WORK/route.json
  "$weftctl" -n "$ns" stat route --window 20s || fail "weftctl stat route failed"
  "$weftctl" -n "$ns" stat route --window 20s -o json >"$out" || fail "weftctl stat route -o json failed"
  jq -c '.rows[] | {service, route, rule, backend, weight, requests, successRate}' "$out"
  local all v1 v2
  all=$(jq -r '.rows[] | select(.route == "backend" and .backend == null) | .requests' "$out")
  v1=$(jq -r '.rows[] | select(.backend == "backend-v1:8080") | .requests' "$out")
  v2=$(jq -r '.rows[] | select(.backend == "backend-v2:8080") | .requests' "$out")
  echo "route backend: $all requests, v1 $v1, v2 $v2"
  ((all >= 1000)) || fail "the route saw $all requests in 20s at 100/s"
  ((v1 + v2 == all)) || fail "the backends' requests ($v1 + $v2) are not the route's ($all)"
  awk -v v2="$v2" -v all="$all" 'BEGIN { s = 100 * v2 / all; exit !(s >= 5 && s <= 15) }' ||
    fail "backend-v2 got $v2 of $all, expected 10 ± 5 %"
  jq -e '[.rows[] | select(.backend != null) | .weight] | sort == [10, 90]' "$out" >/dev/null ||
    fail "the weights are not the route's 90/10: $(cat "$out")"
}

# diagnose: a proxy serves its ConfigMap's document; the endpoints of the split
# by backend; what the (absent) policies decide: the default, allow.
check_diagnose() {
  split_backend ctl-diagnose
  local pod
  pod=$(pod_of backend v1)
  "$weftctl" -n "$ns" diagnose config "$pod" || fail "diagnose config: the proxy is not up to date"
  "$weftctl" -n "$ns" diagnose config "$pod" -o json | jq -e '.matches == true and
    (.servedHash | startswith("sha256:")) and .document.namespace != null' >/dev/null ||
    fail "diagnose config -o json"
  "$weftctl" -n "$ns" diagnose endpoints backend:8080 || fail "diagnose endpoints"
  "$weftctl" -n "$ns" diagnose endpoints backend -o json | jq -e '
    [.[0].backends[] | "\(.service)=\(.weight)=\(.endpoints | length)"] | sort
      == ["backend-v1:8080=90=1", "backend-v2:8080=10=1"]' >/dev/null ||
    fail "diagnose endpoints -o json: not the split"
  "$weftctl" -n "$ns" diagnose policy "$pod" || fail "diagnose policy"
  "$weftctl" -n "$ns" diagnose policy "$pod" -o json | jq -e '
    .ports[] | select(.port == 8080) | .decisions | all(.allowed)' >/dev/null ||
    fail "diagnose policy: without a MeshPolicy every client is allowed"
}

WORK=$(mktemp -d)
cleanup() {
  if [[ -n ${ns:-} ]]; then k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

case "${1:-}" in
  stat | route | diagnose)
    "check_$1"
    ;;
  *)
    echo "usage: weftctl_test.sh stat|route|diagnose" >&2
    exit 2
    ;;
esac
echo "PASS $1"
