#!/usr/bin/env bash
# MeshPolicy enforcement on the one-node cluster, one check per invocation:
# authz_test.sh policies|default_deny. Real pods: an HTTP server behind a
# Service, a server-first TCP server on an opaque port, and client pods each
# running as a ServiceAccount of its own (their container only sleeps). The
# clients' requests are sent by this machine's curl (and, for the 20 ms
# polling and the TCP checks, a few lines of Python) run in the client pod's
# network namespace (nsenter): the pod's capture sends them through its proxy,
# which proves the pod's identity over mTLS, exactly as the pod's own requests
# would go. The figures (propagation p50/p99, label change, rate limit observed
# against expected) are printed; namespaces are deleted at exit.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
# shellcheck source=SCRIPTDIR/../mesh/mesh_lib.sh
source "$here/../mesh/mesh_lib.sh"
skip_unless_root

sample_image=weft/weft-sample-app:0.1.0
namespaces=()
poller_pid=''
poll_dir=$(mktemp -d)
# At exit (also on failure): the poller stopped, every namespace the test made
# deleted.
cleanup() {
  if [[ -n $poller_pid ]]; then kill "$poller_pid" 2>/dev/null || true; fi
  rm -rf "$poll_dir"
  if ((${#namespaces[@]})); then k delete namespace "${namespaces[@]}" --wait=false >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# new_namespace VAR PREFIX meshed|plain [ANNOTATION=VALUE]: a fresh namespace,
# its name in VAR, labelled for injection (with the Pod Security level
# weft-init needs) when meshed.
new_namespace() {
  local name=$2-$$
  printf -v "$1" %s "$name"
  namespaces+=("$name")
  k create namespace "$name" >/dev/null || fail "create namespace $name"
  if [[ $3 == meshed ]]; then
    k label namespace "$name" weft.io/inject=enabled pod-security.kubernetes.io/enforce=privileged \
      >/dev/null
  fi
  if [[ -n ${4:-} ]]; then k annotate namespace "$name" "$4" >/dev/null; fi
}

# client_pod NAMESPACE NAME SERVICE-ACCOUNT: a pod that only sleeps, running as
# its own ServiceAccount (created here). Its proxy learns from its document
# that the banner server's port 9000 is opaque (declared on the server only).
client_pod() {
  k -n "$1" create serviceaccount "$3" >/dev/null 2>&1 || true
  k apply -f - >/dev/null <<EOF || fail "create pod $1/$2"
apiVersion: v1
kind: Pod
metadata:
  name: $2
  namespace: $1
spec:
  serviceAccountName: $3
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: $E2E_IMAGE
    imagePullPolicy: Never
    command: [/bin/busybox, sleep, "3600"]
EOF
}

# http_server NAMESPACE NAME: weft-sample-app answering any path on 8080, with
# the kubelet's HTTP readiness (/readyz) and liveness (/healthz) probes,
# label app=NAME, ServiceAccount NAME, behind Service NAME:8080.
http_server() {
  k -n "$1" create serviceaccount "$2" >/dev/null 2>&1 || true
  k apply -f - >/dev/null <<EOF || fail "create server $1/$2"
apiVersion: v1
kind: Pod
metadata: {name: $2, namespace: $1, labels: {app: $2}}
spec:
  serviceAccountName: $2
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: $sample_image
    imagePullPolicy: IfNotPresent
    args: [--name=$2, --port=8080]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /readyz, port: http}
      periodSeconds: 2
      failureThreshold: 1
    livenessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 5
---
apiVersion: v1
kind: Service
metadata: {name: $2, namespace: $1}
spec:
  selector: {app: $2}
  ports: [{port: 8080, targetPort: 8080}]
EOF
}

# banner_server NAMESPACE: a server-first TCP server on the opaque port 9000
# (busybox nc writing "banner\n" to each connection, then closing it), behind
# Service banner:9000.
banner_server() {
  k apply -f - >/dev/null <<EOF || fail "create the banner server"
apiVersion: v1
kind: Pod
metadata:
  name: banner
  namespace: $1
  labels: {app: banner}
  annotations: {config.weft.io/opaque-ports: "9000"}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: banner
    image: $E2E_IMAGE
    imagePullPolicy: Never
    command: [/bin/busybox, nc, -ll, -p, "9000", -e, /bin/busybox, echo, banner]
    ports: [{containerPort: 9000}]
---
apiVersion: v1
kind: Service
metadata: {name: banner, namespace: $1}
spec:
  selector: {app: banner}
  ports: [{port: 9000, targetPort: 9000}]
EOF
}

# wait_ready NAMESPACE POD...: Ready (a meshed pod: its proxy too, a native
# sidecar started first).
wait_ready() {
  local namespace=$1 pod
  shift
  for pod in "$@"; do
    k -n "$namespace" wait --for=condition=Ready "pod/$pod" --timeout=180s >/dev/null ||
      fail "$namespace/$pod not Ready: $(k -n "$namespace" get pod "$pod" -o wide 2>&1)"
  done
}

declare -A netns_of
# remember_netns NAMESPACE POD: where in_pod runs commands for POD.
remember_netns() {
  netns_of[$2]=$(pod_netns "$1" "$2") || fail "no network namespace for $1/$2"
}

# in_pod POD COMMAND...: COMMAND (a program of this machine) in the pod's
# network namespace.
in_pod() {
  local netns=${netns_of[$1]:?no network namespace remembered for $1}
  shift
  nsenter --net="$netns" "$@"
}

# request POD URL [CURL-ARG...]: one request from POD; prints "STATUS BODY"
# (the body on one line; status 000 when nothing answered).
request() {
  local pod=$1 url=$2 out
  shift 2
  out=$(in_pod "$pod" curl --noproxy '*' -s --max-time 5 -w '\n%{http_code}' "$@" "$url") || true
  printf '%s %s\n' "${out##*$'\n'}" "$(head -n -1 <<<"$out" | tr '\n' ' ')"
}

# status_from POD URL: the status of one request from POD.
status_from() {
  in_pod "$1" curl --noproxy '*' -s -o /dev/null --max-time 5 -w '%{http_code}' "$2" || true
}

# expect POD URL STATUS [BODY-PREFIX [CURL-ARG...]]: one request from POD is
# answered STATUS (and its body starts with BODY-PREFIX).
expect() {
  local got
  got=$(request "$1" "$2" "${@:5}")
  [[ ${got%% *} == "$3" ]] || fail "$1 -> $2: expected $3, got: $got"
  [[ -z ${4:-} || ${got#* } == "$4"* ]] || fail "$1 -> $2: expected a body starting '$4', got: $got"
  echo "  $1${5:+ ${*:5}} -> $2: ${got:0:100}"
}

# await_status POD URL STATUS: polls until a request from POD is answered
# STATUS (a policy on its way to the proxy), 30 s at most.
await_status() {
  answered() { [[ $(status_from "$1" "$2") == "$3" ]]; }
  eventually 30 "$1 -> $2 answered $3" answered "$@"
}

# start_poller POD ADDRESS PORT PATH: from POD, one GET every 20 ms (a new
# connection each), each answer logged as "MICROSECONDS-SINCE-EPOCH STATUS"
# (0: no answer) in $poll_dir/log, taken when the answer arrived. One
# process for the whole test: a curl per request would cost 20 ms of start-up.
start_poller() {
  : >"$poll_dir/log"
  # Not through in_pod: $! is then nsenter, which becomes python.
  nsenter --net="${netns_of[$1]}" python3 - "$2" "$3" "$4" "$poll_dir/log" <<'PY' &
import http.client, sys, time
host, port, path, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(out, "a", buffering=1) as log:
    while True:
        try:
            connection = http.client.HTTPConnection(host, port, timeout=2)
            connection.request("GET", path)
            status = connection.getresponse().status
            connection.close()
        except OSError:
            status = 0
        log.write(f"{time.time_ns() // 1000} {status}\n")
        time.sleep(0.02)
PY
  poller_pid=$!
  eventually 10 "the poller's first answer" test -s "$poll_dir/log"
}

# ms_until_polled START-US STATUS LIMIT-MS: waits for the poller's first
# answer STATUS that arrived after START-US (an $EPOCHREALTIME without its
# dot, taken when the change was made); prints the ms from START-US to it.
# Fails after LIMIT-MS.
ms_until_polled() {
  local start=$1 want=$2 limit=$3 seen now
  while :; do
    seen=$(awk -v t="$start" -v want="$want" '$1 >= t && $2 == want { print $1; exit }' \
      "$poll_dir/log")
    [[ -z $seen ]] || break
    now=${EPOCHREALTIME/./}
    (((now - start) / 1000 < limit)) ||
      fail "not answered $want within $limit ms (last: $(tail -n1 "$poll_dir/log"))"
    sleep 0.01
  done
  echo $(((seen - start) / 1000))
}

# tcp_bytes POD ADDRESS PORT: how many bytes the server sent on one connection
# from POD before it was closed (the client sends nothing; 3 s at most).
tcp_bytes() {
  in_pod "$1" python3 - "$2" "$3" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.settimeout(3)
received = 0
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        received += len(chunk)
except OSError:  # reset or silence: what arrived before counts
    pass
print(received)
PY
}

# apply_policy NAMESPACE NAME SPEC: a MeshPolicy (SPEC: the lines of its spec,
# indented by two), applied server-side as GitOps tools do.
apply_policy() {
  k apply --server-side --force-conflicts -f - >/dev/null <<EOF || fail "apply MeshPolicy $2"
apiVersion: weft.io/v1alpha1
kind: MeshPolicy
metadata: {name: $2, namespace: $1}
spec:
$3
EOF
}

# condition NAMESPACE POLICY TYPE: "STATUS REASON: MESSAGE" of the condition.
condition() {
  k -n "$1" get meshpolicy "$2" -o json |
    jq -r --arg t "$3" '.status.conditions[]? | select(.type == $t) | "\(.status) \(.reason): \(.message)"'
}

# config_of_has NAMESPACE JQ-FILTER: config_has for another namespace's document.
config_of_has() {
  k -n "$1" get configmap weft-proxy-config -o json 2>/dev/null |
    jq -e ".data[\"config.json\"] | fromjson | $2" >/dev/null
}

# server_identity NAMESPACE: the SPIFFE ID of the http_server pod of NAMESPACE.
server_identity() {
  echo "spiffe://cluster.local/ns/$1/sa/server"
}

# authz_count PROXY-METRICS allow|deny POLICY: the proxy's HTTP decisions of POLICY.
authz_count() {
  metric_sum "inbound_http_authz_$2_total" "policy=\"$3\"" <<<"$1"
}

check_policies() {
  local ns plain
  new_namespace ns authz meshed
  new_namespace plain authz-plain plain
  install_weft
  k -n weft-system rollout status deployment/weft-identity --timeout=180s >/dev/null ||
    fail "weft-identity not rolled out"
  http_server "$ns" server
  banner_server "$ns"
  client_pod "$ns" client-a client-a
  client_pod "$ns" client-b client-b
  client_pod "$plain" plain default
  wait_ready "$ns" server banner client-a client-b
  wait_ready "$plain" plain
  local pod
  for pod in client-a client-b; do remember_netns "$ns" "$pod"; done
  remember_netns "$plain" plain
  local server_ip banner_ip server b_ip plain_ip
  server_ip=$(k -n "$ns" get service server -o jsonpath='{.spec.clusterIP}')
  banner_ip=$(k -n "$ns" get service banner -o jsonpath='{.spec.clusterIP}')
  server=http://$server_ip:8080
  b_ip=$(k -n "$ns" get pod client-b -o jsonpath='{.status.podIP}')
  plain_ip=$(k -n "$plain" get pod plain -o jsonpath='{.status.podIP}')
  # The clients reach the server over mTLS once the document lists its identity.
  eventually 60 "the server's endpoint meshed in the proxy config" config_has "
    [.outbound.services[] | select(.name == \"server\") | .ports[].endpoints[].identity]
      == [\"$(server_identity "$ns")\"]"
  echo "no policy: everyone is served"
  expect client-a "$server/" 200
  expect client-b "$server/" 200
  expect plain "$server/" 200

  echo "a policy allowing only ServiceAccount client-b (so denying client-a):"
  apply_policy "$ns" deny-a "  targetRef: {name: server}
  authorization:
    defaultAction: Deny
    rules:
      - from:
          identities: [{namespace: $ns, serviceAccount: client-b}]"
  local before after
  before=$(proxy_metrics server)
  await_status client-a "$server/" 403
  expect client-a "$server/" 403 "forbidden: "
  expect client-b "$server/" 200
  expect plain "$server/" 403 "forbidden: "
  after=$(proxy_metrics server)
  (($(authz_count "$after" deny deny-a) - $(authz_count "$before" deny deny-a) >= 2)) ||
    fail "server's proxy did not count the denials: $(grep '^inbound_http_authz' <<<"$after")"
  (($(authz_count "$after" allow deny-a) - $(authz_count "$before" allow deny-a) >= 1)) ||
    fail "server's proxy did not count the allowed request: $(grep '^inbound_http_authz' <<<"$after")"
  grep '^inbound_http_authz_.*deny-a' <<<"$after" | sed 's/^/  metric: /'

  echo "status conditions:"
  programmed_with_count() { [[ $(condition "$ns" deny-a Programmed) =~ ^True\ .*enforced\ by\ the\ proxies\ of\ 1\ pod ]]; }
  eventually 30 "deny-a Programmed with its pod count" programmed_with_count
  echo "  deny-a Programmed: $(condition "$ns" deny-a Programmed)"
  apply_policy "$ns" nobody "  podSelector: {matchLabels: {app: nobody}}
  authorization: {}"
  no_pods_selected() {
    k -n "$ns" get meshpolicy nobody -o json |
      jq -e '[.status.conditions[]? | select(.type == "Programmed" and .status == "False"
        and .reason == "NoPodsSelected")] | length == 1'
  }
  eventually 30 "a policy selecting no pod reports NoPodsSelected" no_pods_selected
  echo "  nobody: $(k -n "$ns" get meshpolicy nobody -o json | jq -c '[.status.conditions[] | {type, status, reason, message}]')"
  k -n "$ns" delete meshpolicy deny-a nobody >/dev/null

  echo "a CIDR rule: client-b's and the unmeshed pod's addresses only:"
  apply_policy "$ns" cidr "  targetRef: {name: server}
  authorization:
    rules:
      - from:
          cidrs: [$b_ip/32, $plain_ip/32]"
  await_status client-a "$server/" 403
  expect client-a "$server/" 403 "forbidden: "
  expect client-b "$server/" 200
  expect plain "$server/" 200
  k -n "$ns" delete meshpolicy cidr >/dev/null

  echo "Strict mTLS and authorization together:"
  apply_policy "$ns" strict "  podSelector: {}
  mtls: {mode: Strict}
  authorization:
    rules:
      - from:
          identities: [{namespace: $ns, serviceAccount: client-b}]"
  before=$(proxy_metrics server)
  await_status client-a "$server/" 403
  local refused
  refused=$(request plain "$server/")
  [[ ${refused%% *} != 200 ]] || fail "Strict served the unmeshed client: $refused"
  echo "  plain (unmeshed) -> $server/: refused (${refused:0:60})"
  after=$(proxy_metrics server)
  (($(metric_sum mtls_strict_refused_total <<<"$after") > $(metric_sum mtls_strict_refused_total <<<"$before"))) ||
    fail "the refusal is not Strict's: $(grep '^mtls_strict_refused_total' <<<"$after")"
  expect client-a "$server/" 403 "forbidden: "
  expect client-b "$server/" 200
  k -n "$ns" delete meshpolicy strict >/dev/null
  await_status plain "$server/" 200

  echo "an opaque TCP port (server-first):"
  local bytes
  bytes=$(tcp_bytes client-a "$banner_ip" 9000)
  ((bytes == 7)) || fail "client-a got $bytes bytes from banner before any policy, expected 7"
  # Declared opaque on the server alone: once its document says so (the
  # operator's endpoint "opaque"), client-a's proxy sends it as TCP without
  # waiting for bytes a server-first protocol never sends first.
  sent_as_opaque() {
    tcp_bytes client-a "$banner_ip" 9000 >/dev/null
    (($(metric_sum protocol_detect_total 'direction="outbound"' 'protocol="opaque-port"' \
      <<<"$(proxy_metrics client-a)") >= 1))
  }
  eventually 30 "client-a's proxy sending banner:9000 as opaque TCP" sent_as_opaque
  echo "  client-a -> banner:9000: sent as opaque TCP (declared on the server only)"
  apply_policy "$ns" tcp "  targetRef: {name: banner, port: 9000}
  authorization:
    rules:
      - from:
          identities: [{namespace: $ns, serviceAccount: client-b}]"
  no_byte_for_a() { (($(tcp_bytes client-a "$banner_ip" 9000) == 0)); }
  eventually 30 "client-a's connection to banner denied" no_byte_for_a
  bytes=$(tcp_bytes client-a "$banner_ip" 9000)
  ((bytes == 0)) || fail "denied client-a got $bytes bytes from banner"
  echo "  client-a -> banner:9000: $bytes bytes (denied)"
  local banner_metrics
  banner_metrics=$(proxy_metrics banner)
  (($(metric_sum inbound_tcp_authz_deny_total 'policy="tcp"' <<<"$banner_metrics") >= 1)) ||
    fail "banner's proxy did not count the denied connection: $(grep '^inbound_tcp_authz' <<<"$banner_metrics")"
  bytes=$(tcp_bytes client-b "$banner_ip" 9000)
  ((bytes == 7)) || fail "allowed client-b got $bytes bytes from banner, expected 7"
  echo "  client-b -> banner:9000: $bytes bytes"

  echo "a label change moving the server in and out of a podSelector policy:"
  apply_policy "$ns" labelled "  podSelector: {matchLabels: {authz-e2e: deny}}
  authorization: {}"
  eventually 30 "the labelled policy in the proxy config" config_has \
    '[.inbound.policies[] | select(.name == "labelled")] | length == 1'
  expect client-b "$server/" 200
  # From here client-b polls the server every 20 ms.
  start_poller client-b "$server_ip" 8080 /
  local start label_in label_out
  k -n "$ns" label pod server authz-e2e=deny >/dev/null
  start=${EPOCHREALTIME/./}
  label_in=$(ms_until_polled "$start" 403 120000)
  k -n "$ns" label pod server authz-e2e- >/dev/null
  start=${EPOCHREALTIME/./}
  label_out=$(ms_until_polled "$start" 200 120000)
  echo "  label added -> denied after $label_in ms; label removed -> served after $label_out ms"
  k -n "$ns" delete meshpolicy labelled >/dev/null

  echo "policy changes reaching enforcement (20 flips allow <-> deny of client-b's requests):"
  apply_policy "$ns" flip "  targetRef: {name: server}
  authorization: {defaultAction: Allow}"
  start=${EPOCHREALTIME/./}
  ms_until_polled "$start" 200 30000 >/dev/null
  # Measured from when `kubectl apply` returned (the issue's figure), and
  # also from when it started (kubectl's own start-up and request included).
  local change action want took issued times=() from_start=()
  for change in $(seq 1 20); do
    if ((change % 2)); then action=Deny want=403; else action=Allow want=200; fi
    issued=${EPOCHREALTIME/./}
    apply_policy "$ns" flip "  targetRef: {name: server}
  authorization: {defaultAction: $action}"
    start=${EPOCHREALTIME/./}
    took=$(ms_until_polled "$start" "$want" 15000)
    times+=("$took")
    from_start+=($((took + (start - issued) / 1000)))
  done
  local p50 p99
  p50=$(printf '%s\n' "${times[@]}" | percentile 50)
  p99=$(printf '%s\n' "${times[@]}" | percentile 99)
  echo "  kubectl apply returned -> first request with the new decision, ms: ${times[*]}"
  echo "  propagation p50 $p50 ms, p99 $p99 ms (20 changes, polled every 20 ms)"
  echo "  from kubectl apply started: p50 $(printf '%s\n' "${from_start[@]}" | percentile 50) ms," \
    "p99 $(printf '%s\n' "${from_start[@]}" | percentile 99) ms"
  kill "$poller_pid"
  poller_pid=''
  k -n "$ns" delete meshpolicy flip >/dev/null

  echo "a rate limit of 10 requests/s (burst 20) per client:"
  apply_policy "$ns" limit "  targetRef: {name: server}
  rateLimit: {requestsPerSecond: 10, burst: 20}"
  # client-a's own bucket: 60 requests back to back (a curl each, about 40/s) meet a 429.
  local limited_headers=''
  limited() {
    local i headers
    for i in $(seq 60); do
      headers=$(in_pod client-a curl --noproxy '*' -s -o /dev/null -D - --max-time 5 "$server/$i")
      if [[ $headers == "HTTP/1.1 429"* ]]; then
        limited_headers=$headers
        return 0
      fi
    done
    return 1
  }
  eventually 30 "a 429 for client-a's burst" limited
  grep -qi '^retry-after: [1-9]' <<<"$limited_headers" || fail "429 without Retry-After: $limited_headers"
  echo "  client-a's burst met: $(tr -d '\r' <<<"$limited_headers" | grep -i -e '^HTTP' -e '^retry-after' | paste -sd' ')"
  # The load pod (ServiceAccount default) has a bucket of its own: full (20)
  # at its first request, then 10 tokens a second.
  local summary ok limited_count duration expected low high
  summary=$(run_load_in "$ns" fast --rate 20 --duration 30s --concurrency 4 "$server/")
  ok=$(jq -r '.statuses["200"] // 0' <<<"$summary")
  limited_count=$(jq -r '.statuses["429"] // 0' <<<"$summary")
  duration=$(jq -r '.duration_s' <<<"$summary")
  expected=$(awk -v d="$duration" 'BEGIN { printf "%d", 20 + 10 * d }')
  low=$((expected * 90 / 100)) high=$((expected * 110 / 100))
  echo "  20/s for ${duration}s: $ok answered 200, $limited_count answered 429;" \
    "expected 200s: 20 + 10 x ${duration} = $expected (±10 %: $low..$high)"
  ((ok >= low && ok <= high)) || fail "$ok requests served under the rate limit, expected $low..$high"
  (($(jq -r '.requests' <<<"$summary") == ok + limited_count)) ||
    fail "answers other than 200 and 429: $(jq -c '.statuses' <<<"$summary")"

  echo "FIGURES policies: propagation p50 $p50 ms p99 $p99 ms;" \
    "label in $label_in ms out $label_out ms; rate limit $ok of expected $expected"
  ((p99 <= 1000)) || fail "policy propagation p99 $p99 ms exceeds 1 s"
}

check_default_deny() {
  local ns other plain
  new_namespace ns authz-deny meshed config.weft.io/default-inbound-policy=deny
  new_namespace other authz-other meshed
  new_namespace plain authz-deny-plain plain
  install_weft
  k -n weft-system rollout status deployment/weft-identity --timeout=180s >/dev/null ||
    fail "weft-identity not rolled out"
  http_server "$ns" server
  client_pod "$ns" client client
  client_pod "$other" client-other client
  client_pod "$plain" plain default
  eventually 60 "the default policy deny in the proxy config" config_has \
    '.inbound.defaultPolicy == "deny"'
  # The kubelet's probes pass: the pod becomes Ready under deny.
  wait_ready "$ns" server client
  wait_ready "$other" client-other
  wait_ready "$plain" plain
  remember_netns "$ns" client
  remember_netns "$other" client-other
  remember_netns "$plain" plain
  local server
  server=http://$(k -n "$ns" get service server -o jsonpath='{.spec.clusterIP}'):8080
  # Meshed clients, of this namespace and the other, call the server over
  # mTLS once their documents list its identity.
  eventually 60 "the server's endpoint meshed in the proxy config" config_has "
    [.outbound.services[] | select(.name == \"server\") | .ports[].endpoints[].identity]
      == [\"$(server_identity "$ns")\"]"
  eventually 60 "the server listed in $other's proxy config" config_of_has "$other" "
    [.outbound.otherNamespaces[] | select(.namespace == \"$ns\" and .name == \"server\")
      | .identity] == [\"$(server_identity "$ns")\"]"

  echo "default-inbound-policy deny:"
  expect client "$server/" 403 "forbidden: "
  expect client-other "$server/" 403 "forbidden: "
  expect plain "$server/" 403 "forbidden: "
  # Many probe periods (2 s, one failure is enough): still Ready, never
  # flipped, and the probes answered 200 through the proxy.
  local ready_since probes_before probes_after
  ready_condition() {
    k -n "$ns" get pod server -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].$1}"
  }
  inbound_ok() {
    metric_sum response_total 'direction="inbound"' 'status_code="200"' <<<"$(proxy_metrics server)"
  }
  ready_since=$(ready_condition lastTransitionTime)
  probes_before=$(inbound_ok)
  sleep 8
  [[ $(ready_condition status) == True ]] || fail "server went unready under deny"
  [[ $(ready_condition lastTransitionTime) == "$ready_since" ]] ||
    fail "server's readiness flipped under deny"
  probes_after=$(inbound_ok)
  ((probes_after - probes_before >= 3)) ||
    fail "the kubelet's probes did not pass: $probes_before then $probes_after answered 200"
  echo "  server stayed Ready: $((probes_after - probes_before)) probes answered 200 in 8 s"

  echo "an allow policy opens a path:"
  apply_policy "$ns" open "  targetRef: {name: server}
  authorization:
    rules:
      - to:
          paths: [{type: PathPrefix, value: /open}]
          methods: [GET]"
  await_status client "$server/open" 200
  expect client "$server/open/x" 200
  expect plain "$server/open" 200
  expect client "$server/closed" 403 "forbidden: "
  expect client "$server/open" 403 "forbidden: " -X POST
  k -n "$ns" delete meshpolicy open >/dev/null
  await_status client "$server/open" 403

  echo "same-namespace: only meshed clients of the namespace:"
  k annotate namespace "$ns" --overwrite config.weft.io/default-inbound-policy=same-namespace \
    >/dev/null
  await_status client "$server/" 200
  expect client-other "$server/" 403 "forbidden: "
  expect plain "$server/" 403 "forbidden: "

  echo "all-authenticated: every meshed client:"
  k annotate namespace "$ns" --overwrite config.weft.io/default-inbound-policy=all-authenticated \
    >/dev/null
  await_status client-other "$server/" 200
  expect client "$server/" 200
  expect plain "$server/" 403 "forbidden: "
}

case "${1:-}" in
  policies | default_deny)
    "check_$1"
    ;;
  *)
    echo "usage: authz_test.sh policies|default_deny" >&2
    exit 2
    ;;
esac
echo "PASS $1"
