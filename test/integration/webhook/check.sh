#!/usr/bin/env bash
# Integration tests of weft-webhook against the real local control plane:
#   check.sh CASE WEBHOOK_BIN
# Each case starts its own webhook on 127.0.0.1, registers it (url + caBundle)
# and removes what it made. Cases: see the `case` at the end.
set -euo pipefail
case_name=${1:?usage: check.sh CASE WEBHOOK_BIN}
WEBHOOK_BIN=${2:?usage: check.sh CASE WEBHOOK_BIN}
export WEBHOOK_BIN
# shellcheck source=test/integration/webhook/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# kubectl apply of a Pod in a labelled namespace.
case_pod() {
  local ns
  ns=$(new_namespace inject enabled)
  start_and_register "$ns"
  pod_json web | k -n "$ns" apply -f - >/dev/null
  check_injected "$ns" web
  # The app container is still there, unchanged, after the proxy.
  k -n "$ns" get pod web -o json | jq -e '.spec.containers == [.spec.containers[] | select(.name == "app")]
    and (.spec.volumes | map(.name) | index("weft-proxy-config") != null)' >/dev/null ||
    fail "app container or volumes wrong"
  [[ $(metric 'weft_webhook_injections_total{mode="native"}') -ge 1 ]] || fail "injection not counted"
  pass "pod injected once; metrics count it"
}

# sidecarMode classic (clusters before 1.29): the proxy is the first container,
# with the start-up wait; images and proxy version come from --config.
case_classic() {
  local ns
  ns=$(new_namespace classic enabled)
  cat >"$work/config.json" <<'JSON'
{"sidecarMode": "classic", "proxyImage": "registry.test/proxy:classic", "proxyVersion": "v9.9.9"}
JSON
  make_certs "$work/pki"
  install_certs "$work/pki" "$work/tls"
  start_webhook --config="$work/config.json"
  register_webhook "$webhook_port" "$work/pki/ca.crt"
  local ready=0
  for _ in $(seq 1 60); do
    if pod_json probe | k -n "$ns" create --dry-run=server -o json -f - 2>/dev/null |
      jq -e '.spec.containers[0].name == "weft-proxy"' >/dev/null; then
      ready=1
      break
    fi
    sleep 0.5
  done
  ((ready)) || fail "classic registration did not take effect"
  pod_json web | k -n "$ns" apply -f - >/dev/null
  k -n "$ns" get pod web -o json | jq -e '
      [.spec.containers[].name] == ["weft-proxy", "app"]
      and [.spec.initContainers[].name] == ["weft-init"]
      and .spec.containers[0].image == "registry.test/proxy:classic"
      and (.spec.containers[0].lifecycle.postStart.exec.command | length > 0)
      and (.spec.containers[0] | has("restartPolicy") | not)
      and .metadata.annotations["weft.io/sidecar-mode"] == "classic"
      and .metadata.annotations["weft.io/proxy-version"] == "v9.9.9"' >/dev/null ||
    fail "classic injection wrong: $(container_names "$ns" web)"
  pass "classic sidecar: proxy first with postStart wait; image and version from --config"
}

# Reinvocation: another webhook changes the pod after weft-webhook injected it, so
# the API server calls weft-webhook again (reinvocationPolicy IfNeeded); the
# second review must add nothing.
case_reinvocation() {
  local ns
  ns=$(new_namespace reinvoke enabled)
  start_and_register "$ns"
  python3 "$(dirname "${BASH_SOURCE[0]}")/label_webhook.py" "$work/tls/tls.crt" "$work/tls/tls.key" \
    "$work/label.port" >"$work/label.log" 2>&1 &
  local label_pid=$!
  helper_pids+=("$label_pid")
  for _ in $(seq 1 50); do [[ -s $work/label.port ]] && break; sleep 0.1; done
  [[ -s $work/label.port ]] || fail "label webhook did not start"
  # Named after ours, so the API server calls it second.
  jq -n --arg name "$registration-relabel" --arg ns "$ns" --arg url "https://127.0.0.1:$(cat "$work/label.port")/" \
    --arg ca "$(base64 -w0 <"$work/pki/ca.crt")" '{
      apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration",
      metadata: {name: $name},
      webhooks: [{name: "relabel.test.weft.io", clientConfig: {url: $url, caBundle: $ca},
        rules: [{operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"]}],
        namespaceSelector: {matchLabels: {"kubernetes.io/metadata.name": $ns}},
        sideEffects: "None", admissionReviewVersions: ["v1"], timeoutSeconds: 5,
        failurePolicy: "Fail", reinvocationPolicy: "IfNeeded"}]}' | k apply -f - >/dev/null
  local skipped_before ready=0
  for _ in $(seq 1 60); do
    if pod_json probe | k -n "$ns" create --dry-run=server -o json -f - 2>/dev/null |
      jq -e '.metadata.labels["weft-test/relabelled"] == "yes"' >/dev/null; then
      ready=1
      break
    fi
    sleep 0.5
  done
  skipped_before=$(metric 'weft_webhook_reviews_total{result="skipped"}')
  pod_json twice | k -n "$ns" apply -f - >/dev/null
  local skipped_after
  skipped_after=$(metric 'weft_webhook_reviews_total{result="skipped"}')
  k delete mutatingwebhookconfiguration "$registration-relabel" --ignore-not-found >/dev/null
  kill "$label_pid" 2>/dev/null || true
  ((ready)) || fail "the relabelling webhook did not take effect"
  k -n "$ns" get pod twice -o json | jq -e '.metadata.labels["weft-test/relabelled"] == "yes"' >/dev/null ||
    fail "the other webhook did not run"
  check_injected "$ns" twice
  ((skipped_after > skipped_before)) || fail "weft-webhook was not reinvoked (skipped $skipped_before -> $skipped_after)"
  pass "reinvoked after another webhook's change: no second injection"
}

# A Deployment: the ReplicaSet controller (in kube-controller-manager) creates the pods.
case_deployment() {
  local ns
  ns=$(new_namespace deploy enabled)
  start_and_register "$ns"
  k -n "$ns" apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27", ports: [{containerPort: 8080}]}]
YAML
  local pods=""
  for _ in $(seq 1 60); do
    pods=$(k -n "$ns" get pods -l app=web -o name)
    [[ $(wc -w <<<"$pods") -ge 2 ]] && break
    sleep 0.5
  done
  [[ $(wc -w <<<"$pods") -ge 2 ]] || fail "the ReplicaSet controller made no 2 pods: $pods"
  for pod in $pods; do check_injected "$ns" "${pod#pod/}"; done
  pass "both Deployment pods injected once"
}

# A Job: the Job controller creates the pod.
case_job() {
  local ns
  ns=$(new_namespace job enabled)
  start_and_register "$ns"
  k -n "$ns" apply -f - >/dev/null <<'YAML'
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: task, image: "busybox:1.36", command: ["true"]}]
YAML
  local pod=""
  for _ in $(seq 1 60); do
    pod=$(k -n "$ns" get pods -l job-name=once -o name | head -n 1)
    [[ -n $pod ]] && break
    sleep 0.5
  done
  [[ -n $pod ]] || fail "the Job controller made no pod"
  check_injected "$ns" "${pod#pod/}"
  pass "Job pod injected once"
}

# Left alone: unlabelled namespace, opted-out pod, kube-system; opt-in by annotation works.
case_untouched() {
  local labelled plain
  labelled=$(new_namespace optout enabled)
  plain=$(new_namespace plain)
  start_and_register "$labelled"
  pod_json plain | k -n "$plain" apply -f - >/dev/null
  check_untouched "$plain" plain
  pod_json out '{"weft.io/inject":"disabled"}' | k -n "$labelled" apply -f - >/dev/null
  check_untouched "$labelled" out
  # Opting out does not carry a made-up proxy past the seal check (the
  # matchCondition sends such a pod to the webhook, which refuses it).
  local fake out
  fake=$(pod_json fake '{"weft.io/inject":"disabled","weft.io/injection-seal":"sha256:00"}' |
    jq '.spec.containers += [{name: "weft-proxy", image: "busybox:1.36"}]')
  if out=$(k -n "$labelled" apply -f - <<<"$fake" 2>&1); then
    fail "an opted-out pod with a made-up weft-proxy was admitted: $out"
  fi
  grep -q 'reserved for the injection' <<<"$out" || fail "refused without the reason: $out"
  # The names and the seal are reserved outside meshed namespaces too: a claim
  # there goes to the opt-in registration and is verified the same way.
  fake=$(pod_json fake '{"weft.io/injection-seal":"sha256:00"}' |
    jq '.spec.initContainers = [{name: "weft-init", image: "busybox:1.36"}]
        | .spec.containers += [{name: "weft-proxy", image: "busybox:1.36"}]')
  if out=$(k -n "$plain" apply -f - <<<"$fake" 2>&1); then
    fail "a made-up weft-proxy was admitted in an unlabelled namespace: $out"
  fi
  grep -q 'reserved for the injection' <<<"$out" || fail "refused without the reason: $out"
  local system_pod
  system_pod="weft-it-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  pod_json "$system_pod" '{"weft.io/inject":"enabled"}' | k -n kube-system apply -f - >/dev/null
  local system_ok=0
  (check_untouched kube-system "$system_pod") && system_ok=1
  k -n kube-system delete pod "$system_pod" --wait=false >/dev/null
  ((system_ok)) || fail "kube-system pod modified"
  pod_json optin '{"weft.io/inject":"enabled"}' | k -n "$plain" apply -f - >/dev/null
  check_injected "$plain" optin
  pass "unlabelled, opted-out and kube-system pods untouched; a made-up proxy refused in both; annotated pod opted in"
}

# A pod the webhook cannot inject is denied with the reason; nothing is stored.
case_denied() {
  local ns out
  ns=$(new_namespace deny enabled)
  start_and_register "$ns"
  if out=$(pod_json bad '{"config.weft.io/skip-subnets":"10.1.2.3/8"}' | k -n "$ns" apply -f - 2>&1); then
    fail "a pod with a bad annotation was admitted: $out"
  fi
  grep -q 'did you mean 10.0.0.0/8' <<<"$out" || fail "denial without the reason: $out"
  k -n "$ns" get pod bad >/dev/null 2>&1 && fail "the denied pod was stored"
  [[ $(metric 'weft_webhook_reviews_total{result="denied"}') -ge 1 ]] || fail "denial not counted"
  pass "denied with: $(grep -o 'annotation config.weft.io/skip-subnets[^(]*' <<<"$out")"
}

# kubectl create --dry-run=server goes through the webhook (sideEffects: None) and stores nothing.
case_dry_run() {
  local ns
  ns=$(new_namespace dryrun enabled)
  start_and_register "$ns"
  pod_json dry | k -n "$ns" create --dry-run=server -o json -f - |
    jq -e '[.spec.initContainers[].name] == ["weft-init", "weft-proxy"]' >/dev/null ||
    fail "dry-run result not injected"
  k -n "$ns" get pod dry >/dev/null 2>&1 && fail "a dry-run pod was stored"
  pass "dry run injected, nothing stored"
}

# failurePolicy Fail: with the webhook down, pods of meshed namespaces are refused;
# other namespaces and opted-out pods are not affected.
case_failure_policy() {
  local ns plain out
  ns=$(new_namespace down enabled)
  plain=$(new_namespace downplain)
  start_and_register "$ns"
  stop_webhook
  if out=$(pod_json refused | k -n "$ns" apply -f - 2>&1); then
    fail "pod admitted while the webhook is down: $out"
  fi
  grep -q 'failed calling webhook' <<<"$out" || fail "unexpected error: $out"
  k -n "$ns" get pod refused >/dev/null 2>&1 && fail "the refused pod was stored"
  pod_json other | k -n "$plain" apply -f - >/dev/null || fail "unlabelled namespace affected"
  pod_json out '{"weft.io/inject":"disabled"}' | k -n "$ns" apply -f - >/dev/null ||
    fail "opted-out pod refused while the webhook is down"
  pass "webhook down: meshed pod refused ('failed calling webhook'), others created"
}

# 1,000 TCP connections that never finish the TLS handshake: the webhook's open
# files stay bounded and real reviews are still answered.
case_handshake_flood() {
  local ns
  ns=$(new_namespace flood enabled)
  start_and_register "$ns"
  local before
  before=$(ls "/proc/$webhook_pid/fd" | wc -l)
  python3 - "$webhook_port" 1000 >"$work/flood.out" 2>&1 <<'PY' &
import resource, socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 100), hard))
held = []
for i in range(count):
    s = socket.socket()
    s.settimeout(5)
    try:
        # From 16 addresses, none of them the API server's (127.0.0.1), each
        # under the webhook's per-address connection cap (64).
        s.bind((f"127.0.0.{2 + i % 16}", 0))
        s.connect(("127.0.0.1", port))
        held.append(s)  # sends nothing: a stalled TLS handshake
    except OSError:
        s.close()
print("connected", len(held), flush=True)
time.sleep(20)
PY
  local flood_pid=$!
  helper_pids+=("$flood_pid")
  for _ in $(seq 1 100); do
    grep -q connected "$work/flood.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q 'connected 1000' "$work/flood.out" || fail "flood did not connect 1000 sockets: $(cat "$work/flood.out")"
  local during
  during=$(ls "/proc/$webhook_pid/fd" | wc -l)
  pod_json during-flood | k -n "$ns" apply -f - >/dev/null || fail "pod refused during the flood"
  check_injected "$ns" during-flood
  local evicted
  evicted=$(metric 'weft_webhook_http_connections_dropped_total{reason="handshake_evicted"}')
  kill "$flood_pid" 2>/dev/null || true
  wait "$flood_pid" 2>/dev/null || true
  echo "open files: $before before, $during with 1000 stalled handshakes; evicted: $evicted"
  ((during < before + 150)) || fail "open files not bounded: $during (was $before)"
  ((evicted >= 800)) || fail "stalled handshakes were not evicted: $evicted"
  pass "open files bounded ($during) under 1000 stalled handshakes; real review answered"
}

# New certificate and key files are served without a restart.
case_certificate_reload() {
  local ns
  ns=$(new_namespace reload enabled)
  start_and_register "$ns"
  local pid=$webhook_pid
  make_certs "$work/pki2"
  install_certs "$work/pki2" "$work/tls"
  register_webhook "$webhook_port" "$work/pki2/ca.crt"
  local ok=0
  for _ in $(seq 1 60); do
    if curl -sf --cacert "$work/pki2/ca.crt" "https://127.0.0.1:$webhook_port/healthz" >/dev/null; then
      ok=1
      break
    fi
    sleep 0.25
  done
  ((ok)) || fail "new certificate not served"
  curl -sf --cacert "$work/pki/ca.crt" "https://127.0.0.1:$webhook_port/healthz" >/dev/null &&
    fail "old certificate still served"
  wait_until_injecting "$ns"
  pod_json after-reload | k -n "$ns" apply -f - >/dev/null
  check_injected "$ns" after-reload
  [[ $webhook_pid == "$pid" ]] && kill -0 "$pid" || fail "the webhook restarted"
  grep -q 'TLS certificate reloaded' "$webhook_log" || fail "no reload logged"
  pass "certificate rotated on disk, served without restart, pods still injected"
}

# --provision-certificates: CA + certificate in a Secret, the files written, the
# caBundle filled; a second replica reuses the same Secret.
case_provision() {
  local ns secret_ns
  ns=$(new_namespace provision enabled)
  secret_ns=$(new_namespace provision-secrets)
  local port
  port=$(free_port)
  register_webhook "$port"  # no caBundle: the webhook fills it
  mkdir -p "$work/tls"
  local provision=(--provision-certificates "--certificate-secret=$secret_ns/weft-webhook-tls"
    "--webhook-configuration=$registration" --certificate-dns-names=127.0.0.1)
  WEBHOOK_PORT=$port start_webhook "${provision[@]}"
  k -n "$secret_ns" get secret weft-webhook-tls -o json |
    jq -e '.type == "kubernetes.io/tls" and (.data | keys) == ["ca.crt", "ca.key", "tls.crt", "tls.key"]' \
      >/dev/null || fail "Secret not provisioned"
  local bundle
  bundle=$(k get mutatingwebhookconfiguration "$registration" -o json |
    jq -r '[.webhooks[].clientConfig.caBundle] | unique | .[]')
  [[ $bundle == $(k -n "$secret_ns" get secret weft-webhook-tls -o jsonpath='{.data.ca\.crt}') ]] ||
    fail "caBundle not filled from the Secret"
  wait_until_injecting "$ns"
  pod_json provisioned | k -n "$ns" apply -f - >/dev/null
  check_injected "$ns" provisioned
  # A second replica: same Secret, same certificate.
  local first_cert
  first_cert=$(cat "$work/tls/tls.crt")
  mkdir -p "$work/second"
  "$WEBHOOK_BIN" --address=127.0.0.1 --port=0 --kubeconfig="$KUBECONFIG" \
    --tls-cert-file="$work/second/tls.crt" --tls-private-key-file="$work/second/tls.key" \
    "${provision[@]}" >"$work/second.log" 2>&1 &
  local second=$!
  local listening=0
  for _ in $(seq 1 100); do
    grep -q '"listening"' "$work/second.log" && { listening=1; break; }
    sleep 0.1
  done
  ((listening)) || fail "second replica did not start: $(tail -n 5 "$work/second.log")"
  kill -TERM "$second"
  # SIGTERM is a graceful stop: exit 0.
  wait "$second" || fail "second replica exited with $? on SIGTERM: $(tail -n 5 "$work/second.log")"
  [[ $(cat "$work/second/tls.crt") == "$first_cert" ]] || fail "second replica made another certificate"
  pass "Secret provisioned, caBundle filled, pods injected; second replica reused the Secret"
}

# The bundle's RBAC is enough for provisioning: the webhook runs with a token of
# the manifest's ServiceAccount (RBAC objects from manifests/webhook.yaml), and
# the registration and Secret carry the names the Role and ClusterRole allow.
case_provision_rbac() {
  registration=weft-webhook  # the ClusterRole's resourceNames
  k get namespace weft-system >/dev/null 2>&1 || k create namespace weft-system >/dev/null
  k -n weft-system get secret weft-webhook-tls >/dev/null 2>&1 &&
    fail "weft-system/weft-webhook-tls exists already; not touching it"
  python3 - "$repo/manifests/webhook.yaml" >"$work/rbac.json" <<'PY'
import json, sys, yaml
kinds = ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
items = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] in kinds]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
  k apply -f "$work/rbac.json" >/dev/null
  objects+=("-f $work/rbac.json" "-n weft-system secret/weft-webhook-tls")
  local ns port server
  ns=$(new_namespace rbac enabled)
  port=$(free_port)
  register_webhook "$port"
  server=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
  k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' |
    base64 -d >"$work/apiserver-ca.crt"
  cat >"$work/sa.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$server", certificate-authority: "$work/apiserver-ca.crt"}}]
users: [{name: sa, user: {token: "$(k -n weft-system create token weft-webhook)"}}]
contexts: [{name: c, context: {cluster: c, user: sa}}]
current-context: c
YAML
  mkdir -p "$work/tls"
  WEBHOOK_KUBECONFIG=$work/sa.kubeconfig WEBHOOK_PORT=$port start_webhook \
    --provision-certificates --certificate-dns-names=127.0.0.1
  wait_until_injecting "$ns"
  pod_json rbac | k -n "$ns" apply -f - >/dev/null
  check_injected "$ns" rbac
  pass "provisioned with the bundle's ServiceAccount and RBAC only"
}

case $case_name in
  pod) case_pod ;;
  classic) case_classic ;;
  reinvocation) case_reinvocation ;;
  deployment) case_deployment ;;
  job) case_job ;;
  untouched) case_untouched ;;
  denied) case_denied ;;
  dry_run) case_dry_run ;;
  failure_policy) case_failure_policy ;;
  handshake_flood) case_handshake_flood ;;
  certificate_reload) case_certificate_reload ;;
  provision) case_provision ;;
  provision_rbac) case_provision_rbac ;;
  *) echo "unknown case: $case_name" >&2; exit 2 ;;
esac
