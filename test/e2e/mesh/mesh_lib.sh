# shellcheck shell=bash
# repo, ns, k, fail and eventually come from ../lib.sh.
# shellcheck disable=SC2154
# Helpers of the mesh e2e tests (sourced after ../lib.sh): install Weft, deploy
# the sample topology into the test's namespace, wait for the proxy
# configuration, run weft-load in a pod, read a proxy's metrics.

samples_k8s=$repo/samples/k8s
load_image=weft/weft-load:0.1.0

# install_weft: the CRDs and the install bundle, as a user would (server-side
# apply is idempotent, so every test may call it), then waits for the operator
# and the webhook, and for the webhook's caBundle.
install_weft() {
  k apply --server-side --force-conflicts -f "$repo/crds/" >/dev/null || fail "apply crds/"
  # Polled: on a fresh CRD, `kubectl wait` fails at once while it has no status yet.
  crds_established() {
    k wait --for=condition=Established --timeout=5s crd/meshroutes.weft.io crd/meshpolicies.weft.io
  }
  eventually 60 "the CRDs Established" crds_established
  k apply --server-side --force-conflicts -f "$repo/manifests/" >/dev/null || fail "apply manifests/"
  k -n weft-system rollout status deployment/weft-operator --timeout=180s >/dev/null ||
    fail "weft-operator not rolled out"
  k -n weft-system rollout status deployment/weft-webhook --timeout=180s >/dev/null ||
    fail "weft-webhook not rolled out"
  ca_bundle_set() {
    [[ -n $(k get mutatingwebhookconfigurations -o jsonpath='{.items[*].webhooks[*].clientConfig.caBundle}') ]]
  }
  eventually 60 "the webhook's caBundle" ca_bundle_set
  # The API server dials the webhook's cluster IP, which kube-proxy forwards a
  # moment after the rollout: until then pod creation fails "connection refused".
  local webhook_ip
  webhook_ip=$(k -n weft-system get service weft-webhook -o jsonpath='{.spec.clusterIP}')
  webhook_forwarded() { timeout 2 bash -c "exec 3<>/dev/tcp/$webhook_ip/443" 2>/dev/null; }
  eventually 60 "the webhook's Service forwarded to it" webhook_forwarded
}

# mesh_namespace PREFIX: test_namespace, labelled for injection, with the Pod
# Security level weft-init needs (root, NET_ADMIN), as docs/install.md says.
mesh_namespace() {
  test_namespace "$1"
  k label namespace "$ns" weft.io/inject=enabled pod-security.kubernetes.io/enforce=privileged \
    >/dev/null
}

# deploy_samples FILE [SED-EXPRESSION]: one file of samples/k8s/ into $ns, edited
# by the optional sed expression (e.g. to drop a failure rate).
deploy_samples() {
  local file=$samples_k8s/$1 edit=${2:-}
  sed -e "s/namespace: weft-demo/namespace: $ns/" ${edit:+-e "$edit"} "$file" |
    k apply -f - >/dev/null || fail "apply $file"
}

# wait_rolled_out DEPLOYMENT...: every pod Ready, and injected with weft-proxy.
wait_rolled_out() {
  local deployment
  for deployment in "$@"; do
    k -n "$ns" rollout status "deployment/$deployment" --timeout=180s >/dev/null ||
      fail "deployment $deployment not rolled out: $(k -n "$ns" get pods -o wide 2>&1)"
  done
  local uninjected
  uninjected=$(k -n "$ns" get pods -o json | jq -r '.items[]
    | select([(.spec.initContainers // [])[].name, .spec.containers[].name] | index("weft-proxy") | not)
    | .metadata.name')
  [[ -z $uninjected ]] || fail "pods without weft-proxy: $uninjected"
}

# config_has JQ-FILTER: the namespace's proxy document satisfies the filter
# (given the document as input).
config_has() {
  k -n "$ns" get configmap weft-proxy-config -o json 2>/dev/null |
    jq -e ".data[\"config.json\"] | fromjson | $1" >/dev/null
}

# endpoints_filter SERVICE COUNT: a jq filter "SERVICE:8080 has COUNT ready endpoints".
endpoints_filter() {
  echo "[.outbound.services[] | select(.name == \"$1\") | .ports[] | select(.port == 8080)
    | .endpoints | length] == [$2]"
}

# deploy_backend_split [SED-EXPRESSION]: backend-v1 and backend-v2 (backend.yaml,
# edited by the optional sed expression) behind the 90/10 MeshRoute of
# routes/backend-split.yaml, every pod ready and the split in the proxies' document.
deploy_backend_split() {
  deploy_samples 01-services.yaml
  deploy_samples backend.yaml "${1:-}"
  wait_rolled_out backend-v1 backend-v2
  sed "s/namespace: weft-demo/namespace: $ns/" "$samples_k8s/routes/backend-split.yaml" |
    k apply -f - >/dev/null || fail "apply the split route"
  eventually 60 "the split in the proxy config" config_has "
    ([.outbound.services[] | select(.name == \"backend\") | .ports[].rules[]
      | select(.route == \"backend\") | .backends[] | \"\(.service)=\(.weight)\"] | sort
      == [\"backend-v1=90\", \"backend-v2=10\"])
    and ($(endpoints_filter backend-v1 1)) and ($(endpoints_filter backend-v2 1))"
}

# run_load NAME ARGS...: weft-load in a pod of $ns (meshed: its requests leave
# through its own proxy) until it completes; prints its JSON summary.
run_load() {
  run_load_in "$ns" "$@"
}

# run_load_in NAMESPACE NAME ARGS...: the same in another namespace.
run_load_in() {
  local namespace=$1 name=$2
  shift 2
  k -n "$namespace" run "$name" --image "$load_image" --image-pull-policy IfNotPresent \
    --restart Never -- --json --log-level warn "$@" >/dev/null || fail "start $name"
  k -n "$namespace" wait --for=jsonpath='{.status.phase}'=Succeeded "pod/$name" --timeout=300s \
    >/dev/null || fail "$name did not complete: $(k -n "$namespace" get pod "$name" -o wide 2>&1)"
  # stdout and stderr are merged in the log; the summary is the object with "requests".
  k -n "$namespace" logs "pod/$name" -c "$name" |
    jq -s 'map(select(type == "object" and has("requests"))) | last'
}

# proxy_metrics POD: the Prometheus text of the pod's proxy (admin port 4191),
# through the apiserver's pod proxy.
proxy_metrics() {
  pod_metrics "$1" 4191
}

# pod_metrics POD PORT: /metrics of a pod of $ns on PORT.
pod_metrics() {
  k get --raw "/api/v1/namespaces/$ns/pods/$1:$2/proxy/metrics"
}

# metric_sum METRIC LABEL-SUBSTRING... < TEXT: the sum of the series of METRIC
# whose labels contain every substring.
metric_sum() {
  local metric=$1
  shift
  awk -v metric="$metric" -v wanted="$(printf '%s\n' "$@")" '
    BEGIN { n = split(wanted, need, "\n") }
    index($0, metric "{") == 1 {
      ok = 1
      for (i = 1; i <= n; i++) if (need[i] != "" && index($0, need[i]) == 0) ok = 0
      if (ok) sum += $NF
    }
    END { printf "%d\n", sum }'
}

# pod_of DEPLOYMENT: the name of its (only) pod.
pod_of() {
  k -n "$ns" get pods -l "app=$1${2:+,version=$2}" -o jsonpath='{.items[0].metadata.name}'
}

# apply_route NAME RULES-YAML [APPLY-FLAG...]: a MeshRoute on backend:8080 with
# the given rules (indented as items of spec.rules), applied with `kubectl apply`
# and the given flags (e.g. --server-side).
apply_route() {
  apply_route_to backend "$@"
}

# apply_route_to SERVICE NAME RULES-YAML [APPLY-FLAG...]: the same on SERVICE:8080.
apply_route_to() {
  local parent=$1 name=$2 rules=$3
  shift 3
  k apply "$@" -f - >/dev/null <<EOF || fail "apply MeshRoute $name"
apiVersion: weft.io/v1alpha1
kind: MeshRoute
metadata:
  name: $name
  namespace: $ns
spec:
  parentRefs:
    - name: $parent
      port: 8080
  rules:
$rules
EOF
}

# percentile P < NUMBERS: nearest-rank percentile of one number a line.
percentile() {
  sort -n | awk -v p="$1" '{ v[NR] = $1 } END {
    r = int(p / 100 * NR); if (r < p / 100 * NR) r++; if (r < 1) r = 1; print v[r] }'
}

# start_steady_load ARGS...: a weft-load pod "steady" in $ns sending until it is
# deleted, with its counters on /metrics (port 9090); waits for its first answers.
start_steady_load() {
  k -n "$ns" run steady --image "$load_image" --image-pull-policy IfNotPresent --restart Never \
    -- --duration 0 --metrics-port 9090 --log-level warn "$@" >/dev/null || fail "start steady"
  k -n "$ns" wait --for=condition=Ready pod/steady --timeout=120s >/dev/null ||
    fail "steady not Ready"
  steady_answered() { (($(steady_outcomes 200) > 0)); }
  eventually 30 "the steady load's first answers" steady_answered
}

# steady_outcomes 200|failed: the steady load's requests answered 200, or all
# others (other statuses, timeouts, connection failures).
steady_outcomes() {
  pod_metrics steady 9090 | awk -v want="$1" '
    index($0, "weft_load_requests_total{") == 1 {
      ok = index($0, "outcome=\"200\"") > 0
      if ((want == "200") == ok) sum += $NF
    }
    END { printf "%d\n", sum }'
}

# outcomes_grow_by N: waits until the steady load has counted N more outcomes
# (answered or failed) than now.
outcomes_grow_by() {
  local target
  target=$(($(steady_outcomes 200) + $(steady_outcomes failed) + $1))
  outcomes_reached() { (($(steady_outcomes 200) + $(steady_outcomes failed) >= target)); }
  eventually 60 "$1 further outcomes of the steady load" outcomes_reached
}

# wait_replaced OLD-PODS DEPLOYMENT: waits for the Deployment's rollout and for
# OLD-PODS (names, space-separated) to exit (their preStop, then the app's
# drain), then 2 s for requests sent to the last of them to finish.
wait_replaced() {
  local old_pods=$1
  k -n "$ns" rollout status "deployment/$2" --timeout=180s >/dev/null ||
    fail "$2 not rolled out: $(k -n "$ns" get pods -o wide 2>&1)"
  old_pods_gone() {
    local pod
    for pod in $old_pods; do
      if k -n "$ns" get pod "$pod" >/dev/null 2>&1; then return 1; fi
    done
  }
  eventually 90 "the old pods of $2 to exit" old_pods_gone
  sleep 2
}

# log_times_ms JQ-FILTER < JSON-LINES: the "ts" (ms since the epoch) of each log
# line of a Weft program that the filter selects.
log_times_ms() {
  jq -Rr "fromjson? | select($1) | .ts" | while read -r ts; do date -d "$ts" +%s%3N; done
}

# propagation_breakdown START-MS:OBSERVED-MS...: where each change's time went,
# in ms after its `kubectl apply` started: when the operator logged its
# ConfigMap write (the line follows the write's answer, so the proxy's watch
# may see it a few ms earlier) and when the steady client's proxy accepted the
# document from its watch, beside when the test saw the traffic move. Then p50
# and p99 of apply started -> client proxy accepted, which leave out the test's
# polling. (The changes are sequential: each begins after the last was seen.)
propagation_breakdown() {
  local written accepted
  written=$(k -n weft-system logs -l app.kubernetes.io/name=weft-operator --tail=-1 |
    log_times_ms ".msg == \"proxy configuration written\" and .namespace == \"$ns\"")
  accepted=$(k -n "$ns" logs steady -c weft-proxy |
    log_times_ms '.msg == "configuration accepted" and .source == "api"')
  after_start() { # after_start MS < TIMES: the first time at or after MS, as an offset
    awk -v t="$1" '$1 >= t { print $1 - t; found = 1; exit } END { if (!found) print "?" }'
  }
  local change=0 start observed written_after accepted_after to_proxy=()
  echo "change: ms after kubectl apply started until ConfigMap written / client proxy accepted / traffic seen moved"
  for start in "$@"; do
    change=$((change + 1))
    observed=${start#*:} start=${start%:*}
    written_after=$(after_start "$start" <<<"$written")
    accepted_after=$(after_start "$start" <<<"$accepted")
    echo "  $change: $written_after / $accepted_after / $observed"
    if [[ $accepted_after != "?" ]]; then to_proxy+=("$accepted_after"); fi
  done
  ((${#to_proxy[@]} > 0)) || fail "no change found in the client proxy's log"
  echo "kubectl apply started -> client proxy accepted:" \
    "p50 $(printf '%s\n' "${to_proxy[@]}" | percentile 50) ms," \
    "p99 $(printf '%s\n' "${to_proxy[@]}" | percentile 99) ms over ${#to_proxy[@]} changes"
}
