#!/usr/bin/env bash
# Shared by the webhook's integration tests (sourced by check.sh): runs
# weft-webhook on 127.0.0.1 with a fresh CA, registers the
# MutatingWebhookConfiguration of manifests/webhook.yaml against it by url +
# caBundle (so the real selectors and match conditions are what is tested), and
# removes everything it made on exit.
#
# Needs: KUBECONFIG, KUBECTL (the pinned kubectl), WEBHOOK_BIN (weft-webhook).

: "${KUBECONFIG:?KUBECONFIG must be set}" "${WEBHOOK_BIN:?WEBHOOK_BIN must be set}"
KUBECTL=${KUBECTL:-kubectl}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# The registration's name: tests run one at a time (ctest RESOURCE_LOCK).
registration=weft-webhook-it
work=$(mktemp -d /tmp/weft-webhook-it.XXXXXX)
webhook_pid=""
webhook_port=""
webhook_log=""
namespaces=()
helper_pids=()  # other processes a case started, stopped on exit
objects=()      # "-n NS kind/name" or "-f FILE" of other objects to delete on exit

k() { "$KUBECTL" "$@"; }
fail() {
  echo "FAIL: $*" >&2
  if [[ -n $webhook_log && -f $webhook_log ]]; then
    echo "--- webhook log (last 20 lines)" >&2
    tail -n 20 "$webhook_log" >&2
  fi
  exit 1
}
pass() { echo "PASS: $*"; }

cleanup() {
  # The registration goes first: with failurePolicy Fail, a registered webhook
  # that is down would refuse pods of labelled namespaces.
  k delete mutatingwebhookconfiguration "$registration" --ignore-not-found >/dev/null 2>&1 || true
  stop_webhook
  for pid in "${helper_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for object in "${objects[@]}"; do
    # shellcheck disable=SC2086  # "-n NS kind/name" is several arguments
    k delete $object --ignore-not-found >/dev/null 2>&1 || true
  done
  for ns in "${namespaces[@]}"; do
    k delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# make_certs DIR: a CA and a serving certificate for 127.0.0.1 in DIR.
make_certs() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=weft-test-ca -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
    -keyout "$dir/tls.key.new" -out "$dir/tls.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/ext"
  openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 1 -extfile "$dir/ext" -out "$dir/tls.crt.new" 2>/dev/null
}

# install_certs FROM TO: the serving pair into the files the webhook reads
# (renamed into place, as a Secret volume update does).
install_certs() {
  mkdir -p "$2"
  mv "$1/tls.key.new" "$2/tls.key"
  mv "$1/tls.crt.new" "$2/tls.crt"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_webhook [ARGS...]: runs the webhook (its sidecar mode discovered from the
# API server) with the serving files in $work/tls; sets webhook_pid and _port.
start_webhook() {
  webhook_log=$work/webhook.log
  "$WEBHOOK_BIN" --address=127.0.0.1 --port="${WEBHOOK_PORT:-0}" \
    --tls-cert-file="$work/tls/tls.crt" --tls-private-key-file="$work/tls/tls.key" \
    --kubeconfig="${WEBHOOK_KUBECONFIG:-$KUBECONFIG}" "$@" >>"$webhook_log" 2>&1 &
  webhook_pid=$!
  for _ in $(seq 1 100); do
    if [[ ${WEBHOOK_PORT:-0} != 0 ]]; then
      # A fixed port (the "listening" line may be below the log level).
      curl -sk -o /dev/null "https://127.0.0.1:$WEBHOOK_PORT/healthz" && webhook_port=$WEBHOOK_PORT
    else
      webhook_port=$(jq -r 'select(.msg == "listening") | .port' "$webhook_log" 2>/dev/null | tail -n 1)
    fi
    [[ -n $webhook_port ]] && return 0
    kill -0 "$webhook_pid" 2>/dev/null || fail "weft-webhook exited at start"
    sleep 0.1
  done
  fail "weft-webhook did not start listening"
}

stop_webhook() {
  if [[ -n $webhook_pid ]]; then
    kill -TERM "$webhook_pid" 2>/dev/null || true
    wait "$webhook_pid" 2>/dev/null || true
    webhook_pid=""
  fi
}

# register_webhook PORT [CA_FILE]: the manifest's MutatingWebhookConfiguration,
# pointed at https://127.0.0.1:PORT with that CA (none: left empty, to be filled).
register_webhook() {
  local port=$1 ca_file=${2:-}
  local ca_bundle=""
  [[ -n $ca_file ]] && ca_bundle=$(base64 -w0 <"$ca_file")
  python3 - "$repo/manifests/webhook.yaml" "$registration" "$port" "$ca_bundle" <<'PY' | k apply -f - >/dev/null
import json, sys, yaml
manifest, name, port, ca_bundle = sys.argv[1:]
config = next(d for d in yaml.safe_load_all(open(manifest))
              if d and d["kind"] == "MutatingWebhookConfiguration")
config["metadata"]["name"] = name
for webhook in config["webhooks"]:
    # The bundle's selectors, narrowed to the namespaces this test made (new_namespace).
    webhook["namespaceSelector"]["matchExpressions"].append(
        {"key": "weft-webhook-it", "operator": "In", "values": ["yes"]})
    path = webhook["clientConfig"]["service"]["path"]
    webhook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{path}"}
    if ca_bundle:
        webhook["clientConfig"]["caBundle"] = ca_bundle
print(json.dumps(config))
PY
}

# new_namespace PREFIX [enabled]: a namespace removed on exit; prints its name.
new_namespace() {
  local ns
  ns="$1-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  k create namespace "$ns" >/dev/null
  # Only namespaces so labelled are sent to this test's registration, so that
  # the pods other tests create meanwhile (their own namespaces) are not.
  k label namespace "$ns" weft-webhook-it=yes >/dev/null
  if [[ ${2:-} == enabled ]]; then
    k label namespace "$ns" weft.io/inject=enabled >/dev/null
  fi
  namespaces+=("$ns")
  echo "$ns"
}

# pod_json NAME [ANNOTATIONS_JSON]: a minimal pod (stored, never run: no kubelet).
pod_json() {
  local annotations=${2:-"{}"}
  jq -n --arg name "$1" --argjson annotations "$annotations" '{
    apiVersion: "v1", kind: "Pod",
    metadata: {name: $name, annotations: $annotations},
    spec: {containers: [{name: "app", image: "busybox:1.36", command: ["sleep", "3600"]}]}}'
}

# wait_until_injecting NS: the API server picks registrations up asynchronously;
# a server-side dry run shows when ours is in effect (and stores nothing).
wait_until_injecting() {
  for _ in $(seq 1 60); do
    if pod_json probe | k -n "$1" create --dry-run=server -o json -f - 2>/dev/null |
      jq -e '[.spec.initContainers[]?.name] | index("weft-proxy")' >/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  fail "the webhook registration did not take effect within 30 s"
}

# start_and_register: certificates, webhook, registration, and wait for it.
start_and_register() {
  local ns=$1
  shift
  make_certs "$work/pki"
  install_certs "$work/pki" "$work/tls"
  start_webhook "$@"
  register_webhook "$webhook_port" "$work/pki/ca.crt"
  wait_until_injecting "$ns"
}

# container_names NS POD: "init: a b | containers: c d"
container_names() {
  k -n "$1" get pod "$2" -o json |
    jq -r '"init: \([.spec.initContainers[]?.name] | join(" ")) | containers: \([.spec.containers[].name] | join(" "))"'
}

# check_injected NS POD: weft-init then weft-proxy (native) exactly once, and the annotations.
check_injected() {
  local ns=$1 pod=$2 json
  json=$(k -n "$ns" get pod "$pod" -o json)
  local init_count proxy_count
  init_count=$(jq '[.spec.initContainers[]?, .spec.containers[] | select(.name == "weft-init")] | length' <<<"$json")
  proxy_count=$(jq '[.spec.initContainers[]?, .spec.containers[] | select(.name == "weft-proxy")] | length' <<<"$json")
  [[ $init_count == 1 && $proxy_count == 1 ]] ||
    fail "$ns/$pod: weft-init x$init_count, weft-proxy x$proxy_count ($(container_names "$ns" "$pod"))"
  jq -e '.spec.initContainers[0].name == "weft-init" and .spec.initContainers[1].name == "weft-proxy"
         and .spec.initContainers[1].restartPolicy == "Always"
         and .spec.initContainers[1].startupProbe.httpGet.port == 4191
         and .metadata.annotations["weft.io/injected"] == "weft-init,weft-proxy"
         and .metadata.annotations["weft.io/sidecar-mode"] == "native"
         and (.metadata.annotations["weft.io/proxy-version"] | length > 0)' <<<"$json" >/dev/null ||
    fail "$ns/$pod is not injected as expected: $(container_names "$ns" "$pod")"
}

check_untouched() {
  local ns=$1 pod=$2
  k -n "$ns" get pod "$pod" -o json |
    jq -e '([.spec.initContainers[]?.name, .spec.containers[].name] | map(startswith("weft-")) | any | not)
           and (.metadata.annotations["weft.io/injected"] == null)' >/dev/null ||
    fail "$ns/$pod was modified: $(container_names "$ns" "$pod")"
}

# metric NAME_WITH_LABELS: its value from the running webhook's /metrics.
metric() {
  curl -sf --cacert "$work/pki/ca.crt" "https://127.0.0.1:$webhook_port/metrics" |
    awk -v name="$1" '$1 == name { print $2 }'
}
