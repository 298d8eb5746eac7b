#!/usr/bin/env bash
# The failure scenario end to end, through a real
# Prometheus and Alertmanager (Debian's, beside the node:
# scripts/monitoring/beside-node) scraping a meshed topology of callers with
# retries (MeshRoute) and backends, alerts delivered to a webhook receiver.
#
#   B. backend-b answers 500 to 30 % of requests: load-b's proxy retries, its
#      success stays >= 99 % with the budget never exhausted;
#      WeftServiceSuccessRateLow reaches the receiver within its `for` + 30 s
#      of the first failing request, WeftClientSuccessRateLow never does (the
#      callers are not hurt). The fix (the Service switched to a healthy
#      release) resolves it.
#   A. the proxy of one of backend-a's two pods is killed on the node (SIGKILL
#      to its process) until WeftProxyDown reaches the receiver, within its
#      `for` + 30 s of the kill that took it down for good; load-a's success
#      stays >= 99 % (retries on ConnectFailure and Reset, budget held). When
#      the kubelet has restarted it, the alert resolves.
#
# The rules are the shipped file with every `for` divided by $for_divisor
# (scripts/monitoring/scale_for.py derives them and checks that nothing else
# differs): 5m -> 15 s, 2m -> 6 s. The 5-minute rate windows stay, so
# WeftServiceSuccessRateLow resolves only once the failures are under 5 % of
# the window: backend-b-bad got 1.43 tries a request (retries), 30 % failing,
# backend-b-good gets 1, so after failing for F seconds that takes about
# 7 x F (0.3 x 1.43 F / (1.43 F + t) < 0.05): about 2.5 minutes. A runs
# meanwhile. Every figure the bounds rely on is printed, with its margin.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
# shellcheck source=SCRIPTDIR/../mesh/mesh_lib.sh
source "$here/../mesh/mesh_lib.sh"
skip_unless_root

for_divisor=20
rate=50 # requests/s of each caller
# Seconds the test may take, under ctest's TIMEOUT (480) with time to clean up.
time_limit=450
monitoring=$(mktemp -d "${TMPDIR:-/tmp}/weft-alertflow.XXXXXX")
test_start=$SECONDS

cleanup() {
  "$repo/scripts/monitoring/beside-node" down "$monitoring" || true
  if [[ -n ${ns:-} ]]; then k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; fi
  rm -rf "$monitoring"
}
mesh_namespace alertflow
trap cleanup EXIT

now() { date +%s.%N; }
# elapsed FROM [TO]: seconds between two now() values, one decimal.
elapsed() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.1f", b - a }'; }
note() { printf '[%3d s] %s\n' $((SECONDS - test_start)) "$*"; }

# sample_app NAME LABELS-YAML REPLICAS FAILURE-RATE: a Deployment of
# weft-sample-app answering 500 to FAILURE-RATE of its requests.
sample_app() {
  k apply -f - >/dev/null <<EOF || fail "apply deployment $1"
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1, namespace: $ns}
spec:
  replicas: $3
  selector: {matchLabels: {$2}}
  template:
    metadata: {labels: {$2}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: app
          image: weft/weft-sample-app:0.1.0
          imagePullPolicy: IfNotPresent
          args: [--name=$1, --version=v1, --latency=5ms, --port=8080, --failure-rate=$4]
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: /readyz, port: http}, periodSeconds: 2}
EOF
}

# service NAME SELECTOR-YAML
service() {
  k apply -f - >/dev/null <<EOF || fail "apply service $1"
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: $ns}
spec:
  selector: {$2}
  ports: [{name: http, port: 8080, targetPort: http}]
EOF
}

# retry_route SERVICE CODES CONDITIONS: a MeshRoute retrying up to 4 times.
retry_route() {
  apply_route_to "$1" "$1-retries" "    - retry:
        attempts: 4
        codes: $2
        conditions: $3
        backoff: 5ms
        budget:
          percent: 60
          minRetriesPerSecond: 10
          interval: 10s"
}

# --- topology ------------------------------------------------------------------------
install_weft
# Services first: without cluster DNS, pods find them in their environment.
service backend-a 'app: backend-a'
service backend-b 'app: backend-b, release: bad'
sample_app backend-a 'app: backend-a' 2 0
sample_app backend-b-bad 'app: backend-b, release: bad' 1 0.3
sample_app backend-b-good 'app: backend-b, release: good' 1 0
retry_route backend-a '[502, 503]' '[ConnectFailure, Reset]'
retry_route backend-b '[500]' '[ConnectFailure, Reset]'
wait_rolled_out backend-a backend-b-bad backend-b-good
route_ready() {
  config_has "([.outbound.services[] | select(.name == \"backend-a\" or .name == \"backend-b\")
    | .ports[].rules[] | select(.retry.attempts == 4)] | length) == 2
    and ($(endpoints_filter backend-a 2)) and ($(endpoints_filter backend-b 1))"
}
eventually 60 "the retry routes and endpoints in the proxy config" route_ready
note "topology ready: backend-a x2, backend-b-bad (fails 30 %), backend-b-good (not selected)"

# --- Prometheus and Alertmanager beside the node ---------------------------------------
"$repo/scripts/monitoring/beside-node" up "$monitoring" --for-divisor "$for_divisor" \
  --scrape-interval 2s --evaluation-interval 2s --group-wait 1s --group-interval 1s \
  --discovery-interval 5 >/dev/null || fail "beside-node up"
# shellcheck source=scripts/monitoring/read-env.sh
source "$repo/scripts/monitoring/read-env.sh"
read_monitoring_env "$monitoring/env" || fail "beside-node's env unreadable"
for_of() { sed -n "s/^$1: for .* -> \([0-9]*\)s$/\1/p" "$monitoring/for.txt"; }
down_for=$(for_of WeftProxyDown) success_for=$(for_of WeftServiceSuccessRateLow)
[[ -n $down_for && -n $success_for ]] || fail "no derived for: $(cat "$monitoring/for.txt")"
note "Prometheus $PROMETHEUS_URL, Alertmanager $ALERTMANAGER_URL; rules: shipped, for / $for_divisor" \
  "(WeftProxyDown ${down_for}s, WeftServiceSuccessRateLow ${success_for}s)"

# promql QUERY: the first value of an instant query ("" when empty).
promql() {
  curl -sf --max-time 5 "$PROMETHEUS_URL/api/v1/query" --data-urlencode "query=$1" |
    jq -r '.data.result[0].value[1] // ""'
}
proxies_scraped() { [[ $(promql "count(up{job=\"weft-proxy\", namespace=\"$ns\"} == 1)") == 4 ]]; }
eventually 60 "Prometheus scraping the 4 backend proxies" proxies_scraped
# The API server as beside-node's ServiceAccount, whose ClusterRole allows only
# get of /metrics; discovery's heartbeat recent and without failures.
apiserver_scraped() { [[ $(promql 'min(up{job="kubernetes-apiservers"})') == 1 ]]; }
eventually 60 "Prometheus scraping the API server" apiserver_scraped
jq -e '.consecutive_failures == 0 and now - .last_success < 30' "$monitoring/sd/status.json" >/dev/null ||
  fail "discovery's heartbeat: $(cat "$monitoring/sd/status.json")"

# received STATUS ALERTNAME JQ-LABEL-FILTER: the received_at of the first
# notification of that alert in that status, in $ns, whose labels pass the
# filter ("" when none yet).
received() {
  jq -rs --arg s "$1" --arg a "$2" "map(select(.status == \$s and .labels.alertname == \$a
    and .labels.namespace == \"$ns\" and (.labels | $3))) | first | .received_at // \"\"" "$ALERT_LOG"
}
# wait_received SECONDS STATUS ALERTNAME JQ-LABEL-FILTER: waits for it, prints received_at.
wait_received() {
  local end=$((SECONDS + $1)) at
  while :; do
    at=$(received "$2" "$3" "$4")
    if [[ -n $at ]]; then
      echo "$at"
      return 0
    fi
    ((SECONDS < end)) || return 1
    sleep 0.5
  done
}

# Callers: weft-load pods sending $rate/s until deleted, counters on :9090.
caller() {
  k -n "$ns" run "$1" --image "$load_image" --image-pull-policy IfNotPresent --restart Never \
    -- --duration 0 --rate "$rate" --concurrency 8 --timeout 5s --metrics-port 9090 \
    --log-level warn "$2" >/dev/null || fail "start $1"
}
pod_ip() { k -n "$ns" get pod "$1" -o jsonpath='{.status.podIP}'; }
# outcomes POD: "answered-200 all" of a caller, from its own counters.
outcomes() {
  curl -sf --max-time 5 "http://$(pod_ip "$1"):9090/metrics" | awk '
    index($0, "weft_load_requests_total{") == 1 { all += $NF; if (index($0, "outcome=\"200\"")) ok += $NF }
    END { printf "%d %d\n", ok, all }'
}
# success_since POD "OK ALL": the caller's success since those counts, as "ok/all = P %".
success_since() {
  local ok all ok0 all0
  read -r ok all < <(outcomes "$1")
  read -r ok0 all0 <<<"$2"
  awk -v ok=$((ok - ok0)) -v all=$((all - all0)) 'BEGIN {
    printf "%d/%d = %.2f %%\n", ok, all, all ? 100 * ok / all : 0 }'
}
success_percent() { sed -n 's/.*= \([0-9.]*\) %/\1/p' <<<"$1"; }
# budget_exhausted POD: retry_budget_exhausted_total of the caller's proxy.
budget_exhausted() {
  curl -sf --max-time 5 "http://$(pod_ip "$1"):4191/metrics" | metric_sum retry_budget_exhausted_total
}

caller load-b http://backend-b:8080/
caller load-a http://backend-a:8080/
k -n "$ns" wait --for=condition=Ready pod/load-a pod/load-b --timeout=120s >/dev/null ||
  fail "the callers are not Ready"

# --- B: backend-b fails 30 % ------------------------------------------------------------
b_answers() { read -r ok _ < <(outcomes load-b) && ((ok > 0)); }
eventually 30 "load-b's first answers" b_answers
# The fault began with load-b's first request: when its container started
# (whole seconds, so never later than that request). Its counters began there.
b_started_at=$(k -n "$ns" get pod load-b \
  -o jsonpath='{.status.containerStatuses[?(@.name=="load-b")].state.running.startedAt}')
b_start=$(date -d "$b_started_at" +%s) b_counts_start="0 0"
note "B: load-b sends $rate/s to backend-b, whose only endpoint fails 30 %"
b_filter='(.target_service // "") | startswith("backend-b")'
b_fired=$(wait_received $((success_for + 30)) firing WeftServiceSuccessRateLow "$b_filter") ||
  fail "B: WeftServiceSuccessRateLow for backend-b not received within its for + 30 s ($((success_for + 30)) s)"
b_latency=$(elapsed "$b_start" "$b_fired")
note "B: WeftServiceSuccessRateLow received $b_latency s after the first failing request (bound: for ${success_for}s + 30 s)"
jq -c "select(.labels.alertname == \"WeftServiceSuccessRateLow\" and .labels.namespace == \"$ns\")
  | {status, labels, summary: .annotations.summary}" "$ALERT_LOG" | head -n1
b_success=$(success_since load-b "$b_counts_start")
note "B: load-b's success from its first request to the alert: $b_success"

# The fix: the Service goes back to the healthy release.
k -n "$ns" patch service backend-b -p '{"spec":{"selector":{"app":"backend-b","release":"good"}}}' \
  >/dev/null || fail "switch backend-b to the good release"
b_fixed=$(now) b_failing=$(elapsed "$b_start")
fixed_in_config() {
  config_has "[.outbound.services[] | select(.name == \"backend-b\") | .ports[].endpoints[].address]
    == [\"$(pod_ip "$(k -n "$ns" get pods -l release=good -o jsonpath='{.items[0].metadata.name}')")\"]"
}
eventually 30 "backend-b's endpoint switched in the proxy config" fixed_in_config
note "B: fixed (backend-b -> backend-b-good) $b_failing s after the fault began"

# --- A: backend-a's proxy killed ---------------------------------------------------------
a_pod=$(k -n "$ns" get pods -l app=backend-a -o jsonpath='{.items[0].metadata.name}')
proxy_state() {
  k -n "$ns" get pod "$a_pod" -o json |
    jq -r '.status.initContainerStatuses[] | select(.name == "weft-proxy") | .state | keys[0]'
}
# proxy_pid: the host pid of a_pod's running weft-proxy ("" when not running).
proxy_pid() {
  local id
  id=$(k -n "$ns" get pod "$a_pod" -o json | jq -r '.status.initContainerStatuses[]
    | select(.name == "weft-proxy" and .state.running != null) | .containerID | sub("^containerd://"; "")')
  [[ -n $id ]] || return 0
  ctr --address "$WEFT_CLUSTER_DIR/containerd/containerd.sock" -n k8s.io tasks ls |
    awk -v id="$id" '$1 == id && $3 == "RUNNING" { print $2 }'
}
# What A's failures were, so that a failure explains itself: load-a's
# outcomes by kind (status or timeout/connect/resolve/io), its proxy's
# retries, budget, reconnects and responses by classification, and the
# surviving backend-a pod's inbound responses (the killed one's restart at 0).
# scrape POD PORT REGEX: POD's metric lines on PORT matching REGEX, prefixed "POD ".
scrape() {
  curl -sf --max-time 5 "http://$(pod_ip "$1"):$2/metrics" | grep -E "$3" | sed "s/^/$1 /" || true
}
a_other_pod=$(k -n "$ns" get pods -l app=backend-a -o jsonpath='{.items[1].metadata.name}')
a_counters() {
  scrape load-a 9090 '^weft_load_requests_total'
  scrape load-a 4191 '^(retry_total|retry_budget_exhausted_total|upstream_|limit_reached_total|tls_handshake_failures_total)|^response_total\{direction="outbound"'
  scrape "$a_other_pod" 4191 '^response_total\{direction="inbound"'
}
# counter_changes BEFORE AFTER: each series that moved, with its increase.
counter_changes() {
  awk 'FILENAME == ARGV[1] { before[substr($0, 1, length($0) - length($NF) - 1)] = $NF; next }
    { series = substr($0, 1, length($0) - length($NF) - 1); d = $NF - before[series] }
    d != 0 { printf "  %+d %s\n", d, series }' <(echo "$1") <(echo "$2")
}
a_counters_start=$(a_counters)
a_counts_start=$(outcomes load-a)
a_first_kill=$(now) kills=0 a_fired='' last_kill=''
a_filter="(.pod == \"$a_pod\")"
# Kill it whenever it runs, until the alert arrives (the kubelet restarts it
# with a growing back-off: 0, 10, 20, 40 s); at most 6 kills.
while [[ -z $a_fired ]]; do
  pid=$(proxy_pid)
  if [[ -n $pid ]]; then
    ((kills < 6)) || fail "A: WeftProxyDown not received after $kills kills"
    kill -9 "$pid"
    last_kill=$(now) kills=$((kills + 1))
    note "A: kill $kills of $a_pod's weft-proxy (pid $pid)"
  fi
  a_fired=$(received firing WeftProxyDown "$a_filter")
  if [[ -z $a_fired ]] && (($(elapsed "$a_first_kill" | cut -d. -f1) > 150)); then
    fail "A: WeftProxyDown not received within 150 s of the first kill"
  fi
  sleep 0.5
done
# The kill that took it down for good: the last one before the alert arrived.
a_latency=$(elapsed "$last_kill" "$a_fired")
note "A: WeftProxyDown received $a_latency s after kill $kills ($(elapsed "$a_first_kill" "$a_fired") s after the first; bound: for ${down_for}s + 30 s)"
jq -c "select(.labels.alertname == \"WeftProxyDown\" and .labels.namespace == \"$ns\")
  | {status, labels, summary: .annotations.summary}" "$ALERT_LOG" | head -n1
# The fault ends with the kills; the kubelet restarts the proxy after its back-off.
a_resolved=$(wait_received 120 resolved WeftProxyDown "$a_filter") ||
  fail "A: WeftProxyDown not resolved within 120 s of the last kill (proxy: $(proxy_state))"
note "A: resolved $(elapsed "$a_fired" "$a_resolved") s after it fired (the kubelet's back-off, then a scrape)"
a_success=$(success_since load-a "$a_counts_start")
note "A: load-a's success from the first kill to the resolution: $a_success"
echo "A: counters that moved from the first kill to the resolution (load-a's outcomes, its proxy's, $a_other_pod's inbound):"
counter_changes "$a_counters_start" "$(a_counters)"

# --- B resolves ------------------------------------------------------------------------
# Expected about 7 x the failing time (above); allowed 8 x + 30 s, within
# what is left of the test's own limit (its trap must run before ctest's).
b_resolve_limit=$(awk -v f="$b_failing" -v left=$((time_limit - (SECONDS - test_start))) \
  'BEGIN { l = 8 * f + 30; if (l > left) l = left; printf "%d", l }')
b_resolved=$(wait_received "$b_resolve_limit" resolved WeftServiceSuccessRateLow "$b_filter") ||
  fail "B: WeftServiceSuccessRateLow not resolved within $b_resolve_limit s of the fix"
b_resolve_time=$(elapsed "$b_fixed" "$b_resolved")
note "B: resolved $b_resolve_time s after the fix (expected about 7 x $b_failing s: the 5-minute window; allowed $b_resolve_limit s)"

# --- the bounds ------------------------------------------------------------------------
problems=()
check() { awk "BEGIN { exit !($1) }" || problems+=("$2"); }
check "$b_latency <= $success_for + 30" "B: alert after $b_latency s > ${success_for} + 30 s"
check "$a_latency <= $down_for + 30" "A: alert after $a_latency s > ${down_for} + 30 s"
check "$(success_percent "$b_success") >= 99" "B: caller success $b_success < 99 %"
check "$(success_percent "$a_success") >= 99" "A: caller success $a_success < 99 %"
for caller_pod in load-a load-b; do
  exhausted=$(budget_exhausted "$caller_pod")
  ((exhausted == 0)) || problems+=("$caller_pod: the retry budget was exhausted $exhausted times")
done
client_alerts=$(jq -s "map(select(.labels.alertname == \"WeftClientSuccessRateLow\"
  and .labels.namespace == \"$ns\")) | length" "$ALERT_LOG")
((client_alerts == 0)) || problems+=("WeftClientSuccessRateLow fired: retries did not hide the failures")

echo "alerts received for $ns (status, name, labels):"
jq -r "select(.labels.namespace == \"$ns\") | \"  \(.status) \(.labels.alertname) \(.labels | del(.alertname, .namespace, .severity) | tostring)\"" \
  "$ALERT_LOG" | sort | uniq -c
margin() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
echo "figures: B alert ${b_latency}s (for ${success_for}s; margin $(margin "$b_latency" $((success_for + 30))) s)," \
  "A alert ${a_latency}s after the last kill (for ${down_for}s; margin $(margin "$a_latency" $((down_for + 30))) s)," \
  "success B $b_success, A $a_success (margins over 99 %: $(margin 99 "$(success_percent "$b_success")")," \
  "$(margin 99 "$(success_percent "$a_success")") points), kills $kills," \
  "B resolved ${b_resolve_time}s after the fix (limit $b_resolve_limit s), test $((SECONDS - test_start)) s"
((${#problems[@]} == 0)) || fail "$(printf '%s; ' "${problems[@]}")"
echo "PASS"
