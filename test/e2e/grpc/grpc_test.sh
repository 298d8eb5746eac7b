#!/usr/bin/env bash
# gRPC through the mesh end to end (issue 16, point 6), one check per
# invocation: grpc_test.sh NAME. Each check installs Weft if needed, deploys
# weft-grpc-sample's Echo service (samples/k8s/grpc/grpc-echo.yaml, edited per
# check) into a meshed namespace of its own, and calls it from a meshed pod
# running `weft-grpc-sample load`, which keeps ONE HTTP/2 connection (grpc-go's
# pick_first): only the proxy can spread its calls. The load client's JSON
# summary counts calls per status code, per replica (the `weft-pod` trailer)
# and per version (samples/README.md).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
# shellcheck source=SCRIPTDIR/../mesh/mesh_lib.sh
source "$here/../mesh/mesh_lib.sh"
skip_unless_root

grpc_image=weft/weft-grpc-sample:0.1.0
grpc_sample=$repo/samples/k8s/grpc/grpc-echo.yaml

# sample_objects: the objects of the gRPC sample, in $ns, as JSON {items: [...]}.
sample_objects() {
  sed "s/namespace: weft-demo/namespace: $ns/" "$grpc_sample" |
    k create --dry-run=client -o json -f - | jq -s '{items: .}'
}

# deploy_echo_service: the sample's ServiceAccount and its Service grpc-echo
# (port 8080, every replica of app=grpc-echo, whatever its version). First:
# without cluster DNS, pods find a Service only if it existed when they started.
deploy_echo_service() {
  sample_objects | jq '.items[] | select(.kind != "Deployment")' | k apply -f - >/dev/null ||
    fail "apply grpc-echo's Service"
}

# deploy_echo NAME VERSION REPLICAS [SERVE-FLAG...]: the sample's Deployment as
# NAME, its pods labelled app=grpc-echo and version=VERSION (so grpc-echo
# selects them) and serving with the sample's flags, then --version=VERSION and
# the given ones (the last of a flag given twice wins). A NAME other than
# grpc-echo also gets a Service NAME of its own version only.
deploy_echo() {
  local name=$1 version=$2 replicas=$3
  shift 3
  local extra
  extra=$(printf '%s\n' "--version=$version" "$@" | jq -R . | jq -sc .)
  sample_objects | jq --arg name "$name" --arg version "$version" --argjson replicas "$replicas" \
    --argjson extra "$extra" '
    [.items[] | select(.kind == "Service") | select($name != "grpc-echo")
      | .metadata.name = $name | .spec.selector.version = $version] +
    [.items[] | select(.kind == "Deployment")
      | .metadata.name = $name | .metadata.labels.version = $version
      | .spec.replicas = $replicas
      | .spec.selector.matchLabels = {app: "grpc-echo", version: $version}
      | .spec.template.metadata.labels.version = $version
      | .spec.template.spec.containers[0].args += $extra]
    | {apiVersion: "v1", kind: "List", items: .}' | k apply -f - >/dev/null ||
    fail "apply grpc-echo Deployment $name"
}

# run_grpc_load NAME ARGS...: `weft-grpc-sample load ARGS...` in a pod of $ns
# (meshed: its one connection goes through its own proxy) until it completes;
# prints its JSON summary.
run_grpc_load() {
  local name=$1
  shift
  k -n "$ns" run "$name" --image "$grpc_image" --image-pull-policy IfNotPresent \
    --restart Never -- load "$@" >/dev/null || fail "start $name"
  k -n "$ns" wait --for=jsonpath='{.status.phase}'=Succeeded "pod/$name" --timeout=300s \
    >/dev/null || fail "$name did not complete: $(k -n "$ns" get pod "$name" -o wide 2>&1)
$(k -n "$ns" logs "$name" -c "$name" 2>&1 | tail -n 5)"
  # The summary is the one object with "requests"; log lines are JSON too.
  k -n "$ns" logs "pod/$name" -c "$name" |
    jq -s 'map(select(type == "object" and has("requests"))) | last'
}

# proxy_logs LOAD-POD: the last log lines of the proxies of LOAD-POD and of
# every grpc-echo pod, for a failure to say what the proxies saw.
proxy_logs() {
  local pod
  for pod in "$1" $(echo_pods); do
    echo "--- $pod's proxy:"
    k -n "$ns" logs "pod/$pod" -c weft-proxy 2>&1 | tail -n 20
  done
}

# echo_pods: the names of grpc-echo's pods, every version.
echo_pods() {
  k -n "$ns" get pods -l app=grpc-echo -o jsonpath='{.items[*].metadata.name}'
}

# ready_echo SERVICE COUNT: SERVICE:8080 has COUNT endpoints in the namespace's
# proxy document (the client's proxy can balance over them).
ready_echo() {
  eventually 60 "$2 endpoints of $1 in the proxy config" config_has "$(endpoints_filter "$1" "$2")"
}

# inbound_mtls_requests: the requests grpc-echo's proxies received over mTLS
# (from meshed callers; the kubelet's probes are plaintext), all pods summed.
inbound_mtls_requests() {
  local pod sum=0
  for pod in $(echo_pods); do
    sum=$((sum + $(proxy_metrics "$pod" | metric_sum request_total 'direction="inbound"' 'tls="true"')))
  done
  echo "$sum"
}

# echo_rule METHOD FIELDS: one item of a MeshRoute's spec.rules: a grpcMethod
# match on weft.sample.v1.Echo (and METHOD unless empty), then FIELDS, the
# rule's other fields as YAML (the first line unindented, the next ones by 8
# spaces).
echo_rule() {
  printf '    - matches:\n        - grpcMethod:\n            service: weft.sample.v1.Echo\n'
  if [[ -n $1 ]]; then printf '            method: %s\n' "$1"; fi
  printf '      %s\n' "$2"
}

# spread_summary NAME: 3000 calls at 200/s from a new meshed client pod NAME,
# all answered OK; prints the summary and each replica's proxy's view.
spread_calls=3000
spread_summary() {
  local summary
  summary=$(run_grpc_load "$1" --requests "$spread_calls" --rate 200 --concurrency 10 grpc-echo:8080)
  echo "$1: $(jq -c '{requests, ok, codes, pods, latency_ms}' <<<"$summary")" >&2
  [[ $(jq -r '.ok' <<<"$summary") -eq $spread_calls ]] || fail "not every call answered OK: $summary"
  echo "$summary"
}

# (a) Calls of one connection from a meshed client spread over 3 replicas:
# the client's proxy balances each call, not the connection (which alone
# would pin every call to one replica).
# - With the default balancer, Peak-EWMA, every replica answers, and none
#   more than two thirds of the calls (one pinned connection: all of them).
#   Not an even share: Peak-EWMA favours whichever replica answers faster,
#   and on this shared 2-core node the replicas' latencies differ by
#   scheduling noise; one latency peak weighs on a replica until it decays
#   (kEwmaDecay, 10 s per e-fold: ~45 s from 500 ms to 5 ms), longer than
#   this 15 s run. Seen: 795/593/988, 769/674/759 per 10 s window of a 70 s
#   run, and once, under a loaded CI run, 4/1421/1575.
# - With a MeshPolicy choosing RoundRobin for grpc-echo (docs/crds.md,
#   spec.loadBalancer): within ±10 % of even (900..1100 each).
# Each replica's proxy shows the calls it got over mTLS, and on how many
# connections.
check_spread() {
  mesh_namespace grpc-spread
  install_weft
  deploy_echo_service
  deploy_echo grpc-echo v1 3
  wait_rolled_out grpc-echo
  ready_echo grpc-echo 3

  local summary even=$((spread_calls / 3))
  summary=$(spread_summary peak-ewma)
  jq -e --argjson n "$spread_calls" '(.pods | length) == 3 and all(.pods[]; . <= $n * 2 / 3)' \
    <<<"$summary" >/dev/null ||
    fail "Peak-EWMA: calls not spread over the 3 replicas: $(jq -c .pods <<<"$summary")"

  k apply -f - >/dev/null <<EOF || fail "apply the RoundRobin MeshPolicy"
apiVersion: weft.io/v1alpha1
kind: MeshPolicy
metadata:
  name: grpc-echo-round-robin
  namespace: $ns
spec:
  targetRef:
    name: grpc-echo
  loadBalancer:
    algorithm: RoundRobin
EOF
  eventually 60 "RoundRobin for grpc-echo in the proxy config" config_has '
    [.outbound.services[] | select(.name == "grpc-echo") | .ports[].loadBalancer.algorithm]
      == ["RoundRobin"]'
  summary=$(spread_summary round-robin)
  jq -e --argjson even "$even" '(.pods | length) == 3
    and all(.pods[]; . >= $even * 0.9 and . <= $even * 1.1)' <<<"$summary" >/dev/null ||
    fail "RoundRobin: calls not within ±10 % of even: $(jq -c .pods <<<"$summary")"

  local pod metrics calls connections
  for pod in $(echo_pods); do
    metrics=$(proxy_metrics "$pod")
    calls=$(metric_sum request_total 'direction="inbound"' 'tls="true"' <<<"$metrics")
    connections=$(metric_sum tcp_tls_connections_total 'direction="inbound"' 'tls="true"' \
      <<<"$metrics")
    echo "$pod's proxy: $calls calls over $connections mTLS connection(s) from the 2 clients"
    ((calls >= even / 2)) || fail "$pod's proxy counted only $calls inbound mTLS calls"
  done
}

# (b) One replica of three fails half of its calls with UNAVAILABLE (its
# --failure-rate). Called alone, it fails about 50 %. A MeshRoute retrying
# UNAVAILABLE (retry.grpcCodes, 4 retries) lifts grpc-echo to >= 99.5 % success
# over 2000 calls (10 failures allowed). A try fails with probability at most
# 1/2 (it reached the failing replica, and failed), so a call fails after 5
# tries with at most 1/32 even if the balancer always picked that replica. It
# does not: a failure is a trailers-only HTTP 200 answered as fast as a
# success, so Peak-EWMA gives the failing replica about 40 % of the tries
# (measured), and a call fails with about (0.4 x 0.5)^5 = 0.03 % (0.6 of
# 2000 expected; with 3 retries it was 0.16 %, and one run had 4 failures).
check_retry_unavailable() {
  mesh_namespace grpc-retry
  install_weft
  deploy_echo_service
  deploy_echo grpc-echo v1 2
  deploy_echo grpc-echo-failing failing 1 --failure-rate=0.5
  wait_rolled_out grpc-echo grpc-echo-failing
  ready_echo grpc-echo 3
  ready_echo grpc-echo-failing 1

  # Without retries, the failing replica alone: its failures are there.
  local direct
  direct=$(run_grpc_load direct --requests 400 --rate 200 --concurrency 8 grpc-echo-failing:8080)
  echo "failing replica, no route: $(jq -c '{requests, success_rate, codes}' <<<"$direct")"
  jq -e '.success_rate < 0.8 and (.codes.UNAVAILABLE // 0) > 0' <<<"$direct" >/dev/null ||
    fail "grpc-echo-failing does not fail with UNAVAILABLE: $direct"

  apply_route_to grpc-echo grpc-echo-retries "$(echo_rule Echo 'retry:
        attempts: 4
        grpcCodes: [Unavailable]
        backoff: 5ms
        budget:
          percent: 50
          minRetriesPerSecond: 10
          interval: 10s')"
  eventually 60 "the retry route in the proxy config" config_has '
    [.outbound.services[] | select(.name == "grpc-echo") | .ports[].rules[]
      | select(.route == "grpc-echo-retries") | .retry.attempts] == [4]'

  local n=2000 summary tries_before tries
  tries_before=$(inbound_mtls_requests)
  summary=$(run_grpc_load retried --requests "$n" --rate 200 --concurrency 10 grpc-echo:8080)
  tries=$(($(inbound_mtls_requests) - tries_before))
  echo "with retries: $(jq -c '{requests, success_rate, codes, pods, failures_by_pod}' <<<"$summary")"
  echo "tries received by grpc-echo's proxies: $tries for $n calls ($((tries - n)) retries)"
  jq -e --argjson n "$n" '.requests == $n and .ok >= $n * 0.995' <<<"$summary" >/dev/null ||
    fail "success below 99.5 % with retries: $summary"
  # Retries hid the failures, not the balancer alone.
  ((tries > n)) || fail "no call was retried ($tries tries for $n calls)"
}

# (c) A deadline honoured, two ways, against a replica whose every call takes
# 2 s. The client's own deadline (grpc-timeout, 300 ms): every call ends
# DEADLINE_EXCEEDED within 300 ms plus 400 ms of slack. A MeshRoute's request
# timeout (300 ms) with a client deadline of 10 s: the client's proxy ends
# each call itself, as gRPC's DEADLINE_EXCEEDED (grpc-status 4, not an HTTP
# 504, which a gRPC client would report as UNAVAILABLE or UNKNOWN), within the
# same bounds.
check_deadline() {
  mesh_namespace grpc-deadline
  install_weft
  deploy_echo_service
  deploy_echo grpc-echo v1 1 --latency=2s
  wait_rolled_out grpc-echo
  ready_echo grpc-echo 1

  # within_deadline SUMMARY DEADLINE-MS LOAD-POD: every call ended within the
  # deadline plus 400 ms, and DEADLINE_EXCEEDED. One call of 50 may have
  # failed otherwise (it is reported, with the client's message and the
  # proxies' logs): a CI run once saw one early UNAVAILABLE among 49
  # DEADLINE_EXCEEDED, not reproduced since, and it says nothing about
  # deadlines; a proxy that ignored them would fail all 50.
  within_deadline() {
    if jq -e '.codes.DEADLINE_EXCEEDED != .requests' <<<"$1" >/dev/null; then
      echo "WARN: not every call ended DEADLINE_EXCEEDED: $(jq -c '{codes, first_failures}' <<<"$1")"
      proxy_logs "$3"
    fi
    jq -e --argjson d "$2" '.requests == 50 and .codes.DEADLINE_EXCEEDED >= 49
      and .latency_ms.p50 >= $d * 0.9 and .latency_ms.max <= $d + 400' <<<"$1" >/dev/null
  }
  local summary
  summary=$(run_grpc_load client-deadline --requests 50 --rate 50 --concurrency 10 \
    --timeout 300ms grpc-echo:8080)
  echo "client deadline 300ms: $(jq -c '{requests, codes, latency_ms}' <<<"$summary")"
  within_deadline "$summary" 300 client-deadline ||
    fail "calls not DEADLINE_EXCEEDED within 300 ms + 400 ms: $summary"

  apply_route_to grpc-echo grpc-echo-timeout '    - timeouts:
        request: 300ms'
  eventually 60 "the timeout route in the proxy config" config_has '
    [.outbound.services[] | select(.name == "grpc-echo") | .ports[].rules[]
      | select(.route == "grpc-echo-timeout")] | length == 1'
  summary=$(run_grpc_load route-timeout --requests 50 --rate 50 --concurrency 10 \
    --timeout 10s grpc-echo:8080)
  echo "route timeout 300ms, client deadline 10s: $(jq -c '{requests, codes, latency_ms}' <<<"$summary")"
  within_deadline "$summary" 300 route-timeout ||
    fail "the route's timeout did not end the calls as DEADLINE_EXCEEDED within 300 ms + 400 ms: $summary"
}

# (d) A MeshRoute splitting grpc-echo's calls 90/10 between grpc-echo-v1 and
# grpc-echo-v2 (with a gRPC method match, if this tree's MeshRoute has them),
# observed within ±5 points over 2000 calls of one connection (binomial
# standard deviation 0.67 points: 7 sigma).
check_split() {
  mesh_namespace grpc-split
  install_weft
  deploy_echo_service
  deploy_echo grpc-echo-v1 v1 1
  deploy_echo grpc-echo-v2 v2 1
  wait_rolled_out grpc-echo-v1 grpc-echo-v2
  ready_echo grpc-echo-v1 1
  ready_echo grpc-echo-v2 1

  echo "the split matches the gRPC service weft.sample.v1.Echo"
  apply_route_to grpc-echo grpc-echo-split "$(echo_rule '' 'backendRefs:
        - name: grpc-echo-v1
          port: 8080
          weight: 90
        - name: grpc-echo-v2
          port: 8080
          weight: 10')"
  eventually 60 "the split in the proxy config" config_has '
    [.outbound.services[] | select(.name == "grpc-echo") | .ports[].rules[]
      | select(.route == "grpc-echo-split") | .backends[] | "\(.service)=\(.weight)"] | sort
      == ["grpc-echo-v1=90", "grpc-echo-v2=10"]'

  local n=2000 summary
  summary=$(run_grpc_load split --requests "$n" --rate 200 --concurrency 10 grpc-echo:8080)
  echo "load: $(jq -c '{requests, ok, codes, versions}' <<<"$summary")"
  [[ $(jq -r '.ok' <<<"$summary") -eq $n ]] || fail "not every call answered OK: $summary"
  echo "grpc-echo-v2 share: $(jq -r '(.versions.v2 // 0) * 100 / 2000' <<<"$summary") %"
  jq -e --argjson n "$n" '(.versions.v2 // 0) >= $n * 0.05 and (.versions.v2 // 0) <= $n * 0.15
    and ((.versions.v1 // 0) + (.versions.v2 // 0)) == $n' <<<"$summary" >/dev/null ||
    fail "v2 got $(jq -c .versions <<<"$summary"), expected 10 ± 5 %"
}

# (e) HTTP/1 between meshed pods carried as HTTP/2 between the proxies
# (Linkerd's transparent upgrade): weft-load (HTTP/1.1, 8 connections in
# flight) calls backend-v1; its proxy opens one mTLS connection to backend's
# proxy (per worker), which detects HTTP/2 in it and sends each stream to
# the app as HTTP/1.1 (docs/proxy.md, "HTTP/1.1 between proxies as HTTP/2").
# Measured at backend's proxy: the mTLS connections it accepted, what it
# detected in them, and the requests it counted as carried so
# (http1_upgraded_requests_total).
check_http1_over_http2() {
  mesh_namespace grpc-h1
  install_weft
  deploy_samples 01-services.yaml
  deploy_samples backend.yaml 's/ *- --failure-rate=0.2$//'
  k -n "$ns" scale deployment/backend-v2 --replicas 0 >/dev/null
  wait_rolled_out backend-v1
  eventually 60 "backend's endpoint in the proxy config" config_has "$(endpoints_filter backend 1)"

  local backend
  backend=$(pod_of backend v1)
  server_counts() { # h2, h1, mTLS connections, mTLS requests, upgraded requests at backend's proxy
    local metrics
    metrics=$(proxy_metrics "$backend")
    echo "$(metric_sum protocol_detect_total 'direction="inbound"' 'protocol="http2"' <<<"$metrics")" \
      "$(metric_sum protocol_detect_total 'direction="inbound"' 'protocol="http1"' <<<"$metrics")" \
      "$(metric_sum tcp_tls_connections_total 'direction="inbound"' 'tls="true"' <<<"$metrics")" \
      "$(metric_sum request_total 'direction="inbound"' 'tls="true"' <<<"$metrics")" \
      "$(metric_sum http1_upgraded_requests_total 'direction="inbound"' <<<"$metrics")"
  }
  local before after n=1000 summary
  read -ra before <<<"$(server_counts)"
  summary=$(run_load h1 --requests "$n" --rate 200 --concurrency 8 http://backend:8080/)
  read -ra after <<<"$(server_counts)"
  echo "load (HTTP/1.1): $(jq -c '{requests, statuses}' <<<"$summary")"
  [[ $(jq -r '.statuses["200"] // 0' <<<"$summary") -eq $n ]] ||
    fail "not every request answered 200: $summary"
  local h2=$((after[0] - before[0])) h1=$((after[1] - before[1]))
  local connections=$((after[2] - before[2])) requests=$((after[3] - before[3]))
  local upgraded=$((after[4] - before[4]))
  echo "backend's proxy: $requests requests over $connections mTLS connection(s)," \
    "$upgraded carried as HTTP/2; detected: $h2 HTTP/2, $h1 HTTP/1 (HTTP/1 includes the" \
    "kubelet's plaintext probes)"
  ((requests >= n)) || fail "backend's proxy counted $requests mTLS requests, expected $n"
  ((upgraded >= n)) ||
    fail "backend's proxy counted $upgraded requests carried as HTTP/2, expected $n"
  # The client's requests share HTTP/2 connections (one per worker of the
  # client's proxy, a few more if one is replaced).
  ((h2 == connections)) ||
    fail "of $connections mTLS connections, $h2 were HTTP/2: some requests stayed HTTP/1"
  ((connections <= 2)) ||
    fail "$connections mTLS connections for $n requests: not multiplexed over one"
}

case "${1:-}" in
  spread | retry_unavailable | deadline | split | http1_over_http2)
    "check_$1"
    ;;
  *)
    echo "usage: grpc_test.sh NAME (a check_NAME function of this file)" >&2
    exit 2
    ;;
esac
echo "PASS $1"
