#!/usr/bin/env bash
# Weft installed on the one-node cluster in $WEFT_CLUSTER_DIR: the bundle applied
# as the README says, the control plane running as pods, real pods meshed by the
# webhook, their traffic through weft-proxy. One check per invocation.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
skip_unless_root

admin_port=$(sed -n 's/.*kProxyAdminPort = \([0-9]*\);/\1/p' "$repo/lib/weft/constants.h")

check_apply() {
  k apply --server-side -f "$repo/crds/" >/dev/null
  k wait --for condition=Established crd --all --timeout 60s >/dev/null
  k apply --server-side -f "$repo/manifests/" >/dev/null
  local start=$SECONDS
  k -n weft-system rollout status deployment/weft-operator --timeout 180s >/dev/null ||
    fail "weft-operator not rolled out: $(k -n weft-system get pods -o wide)"
  k -n weft-system rollout status deployment/weft-webhook --timeout 180s >/dev/null ||
    fail "weft-webhook not rolled out: $(k -n weft-system get pods -o wide)"
  # Available is not yet reachable: kube-proxy programs the webhook's Service a
  # moment later. A server-side dry run of a pod in a meshed namespace goes
  # through the webhook, so it succeeds, injected, once admission works.
  # A global: the EXIT trap runs after this function has returned.
  probe_ns=weft-e2e-probe-$$
  k create namespace "$probe_ns" >/dev/null
  k label namespace "$probe_ns" weft.io/inject=enabled >/dev/null
  trap 'k delete namespace "$probe_ns" --wait=false >/dev/null 2>&1 || true' EXIT
  injected() {
    k -n "$probe_ns" run probe --image "$E2E_IMAGE" --restart Never --dry-run=server -o json |
      jq -e '[.spec.initContainers[]?.name] | index("weft-proxy") != null'
  }
  eventually 60 "the webhook injecting pods" injected
  echo "control plane Available and injecting $((SECONDS - start)) s after kubectl apply"
}

check_control_plane() {
  # Every pod of weft-system runs on the node, from the images the node imported.
  local pods
  pods=$(k -n weft-system get pods -o json)
  [[ $(jq '[.items[] | select(.status.phase == "Running")] | length' <<<"$pods") -ge 4 ]] ||
    fail "expected 2 operator and 2 webhook pods Running: $(k -n weft-system get pods)"
  jq -e 'all(.items[].status.containerStatuses[]; .ready and .imageID != "")' <<<"$pods" >/dev/null ||
    fail "a control-plane container is not ready"
  # The webhook provisioned its certificate and the caBundle: the MutatingWebhook-
  # Configuration trusts exactly the CA in the Secret, which signed the serving cert.
  local ca bundle
  ca=$(k -n weft-system get secret weft-webhook-tls -o jsonpath='{.data.ca\.crt}')
  [[ -n $ca ]] || fail "Secret weft-webhook-tls has no ca.crt"
  for bundle in $(k get mutatingwebhookconfiguration weft-webhook -o jsonpath='{.webhooks[*].clientConfig.caBundle}'); do
    [[ $bundle == "$ca" ]] || fail "a caBundle differs from the Secret's CA"
  done
  # A global: the EXIT trap runs after this function has returned.
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  base64 -d <<<"$ca" >"$dir/ca.crt"
  k -n weft-system get secret weft-webhook-tls -o jsonpath='{.data.tls\.crt}' | base64 -d >"$dir/tls.crt"
  openssl verify -CAfile "$dir/ca.crt" "$dir/tls.crt" >/dev/null || fail "the serving certificate is not signed by the caBundle's CA"
  openssl x509 -in "$dir/tls.crt" -noout -ext subjectAltName | grep -q "weft-webhook.weft-system.svc" ||
    fail "the serving certificate does not name the webhook Service"
}

# meshed_namespace PREFIX: a fresh namespace labelled for injection.
meshed_namespace() {
  test_namespace "$1"
  k label namespace "$ns" weft.io/inject=enabled >/dev/null
}

# proxy_metric POD_IP SERIES: the sum of a weft-proxy counter, read from the node.
proxy_metric() {
  "$cluster" node-exec curl -sS -m 5 "http://$1:$admin_port/metrics" |
    awk -v s="$2" 'index($0, s) == 1 { sum += $NF } END { print sum + 0 }'
}

check_meshed_deployment() {
  meshed_namespace mesh-deploy
  local start=$SECONDS
  # No readiness probe: the kubelet's probes would pass through the inbound proxy
  # too, and the counts below must be the client's requests alone.
  k -n "$ns" apply -f - >/dev/null <<EOF2
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: $E2E_IMAGE
        imagePullPolicy: Never
        command: ["/bin/sh", "-c", "echo hello from \$(hostname) >/www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www"]
        ports: [{containerPort: 8080}]
        volumeMounts: [{name: www, mountPath: /www}]
      volumes: [{name: www, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
EOF2
  k -n "$ns" rollout status deployment/web --timeout 120s >/dev/null || fail "meshed Deployment web not rolled out"
  echo "meshed Deployment (2 pods) Ready $((SECONDS - start)) s after kubectl apply"

  # Injected: weft-init ran to completion, weft-proxy is a native sidecar, running.
  local pod
  pod=$(k -n "$ns" get pods -l app=web -o json | jq '.items[0]')
  jq -e '[.spec.initContainers[].name] == ["weft-init", "weft-proxy"]' <<<"$pod" >/dev/null ||
    fail "init containers are not [weft-init, weft-proxy]: $(jq -c '[.spec.initContainers[]?.name]' <<<"$pod")"
  jq -e '.spec.initContainers[1].restartPolicy == "Always"' <<<"$pod" >/dev/null || fail "weft-proxy is not a native sidecar"
  jq -e '.status.initContainerStatuses[] | select(.name == "weft-init") | .state.terminated.exitCode == 0' <<<"$pod" >/dev/null ||
    fail "weft-init did not complete: $(jq -c '.status.initContainerStatuses' <<<"$pod")"
  jq -e '.status.initContainerStatuses[] | select(.name == "weft-proxy") | .ready and .state.running != null' <<<"$pod" >/dev/null ||
    fail "weft-proxy is not running and ready"

  # A meshed client's requests to the Service pass through its outbound proxy and
  # the servers' inbound proxies: each side counts exactly those requests.
  client_pod_in "$ns"
  local cluster_ip client_ip server_ips inbound_before inbound_after outbound requests=10 ip
  cluster_ip=$(k -n "$ns" get service web -o jsonpath='{.spec.clusterIP}')
  client_ip=$(k -n "$ns" get pod client -o jsonpath='{.status.podIP}')
  read -r -a server_ips <<<"$(k -n "$ns" get pods -l app=web -o jsonpath='{.items[*].status.podIP}')"
  inbound_before=0
  for ip in "${server_ips[@]}"; do
    inbound_before=$((inbound_before + $(proxy_metric "$ip" 'request_total{direction="inbound"')))
  done
  for _ in $(seq 1 "$requests"); do
    [[ $(k -n "$ns" exec client -c client -- /bin/busybox wget -qO- "http://$cluster_ip/") == "hello from web-"* ]] ||
      fail "no answer from web through the mesh"
  done
  outbound=$(proxy_metric "$client_ip" 'request_total{direction="outbound",target_service="web:80"')
  [[ $outbound -eq $requests ]] || fail "the client's proxy counted $outbound outbound requests to web:80, sent $requests"
  inbound_after=0
  for ip in "${server_ips[@]}"; do
    inbound_after=$((inbound_after + $(proxy_metric "$ip" 'request_total{direction="inbound"')))
  done
  [[ $((inbound_after - inbound_before)) -eq $requests ]] ||
    fail "the servers' proxies counted $((inbound_after - inbound_before)) inbound requests, sent $requests"
}

# client_pod_in NAMESPACE: a meshed pod that only sleeps; the tests exec into it.
client_pod_in() {
  k -n "$1" run client --image "$E2E_IMAGE" --image-pull-policy Never --restart Never \
    --command -- /bin/busybox sleep 3600 >/dev/null
  k -n "$1" wait --for=condition=Ready pod/client --timeout 120s >/dev/null || fail "client pod not Ready"
}

check_meshed_job() {
  meshed_namespace mesh-job
  k -n "$ns" apply -f - >/dev/null <<EOF2
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  backoffLimit: 0
  activeDeadlineSeconds: 120
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: once
        image: $E2E_IMAGE
        imagePullPolicy: Never
        command: ["/bin/sh", "-c", "echo done"]
EOF2
  # The native sidecar does not keep the Job's pod alive once its container exits.
  k -n "$ns" wait --for=condition=Complete job/once --timeout 120s >/dev/null ||
    fail "meshed Job did not complete: $(k -n "$ns" get pods -o wide)"
  local pod
  pod=$(k -n "$ns" get pods -l job-name=once -o json | jq '.items[0]')
  jq -e '[.spec.initContainers[].name] | index("weft-proxy") != null' <<<"$pod" >/dev/null ||
    fail "the Job's pod was not meshed"
  [[ $(jq -r .status.phase <<<"$pod") == Succeeded ]] || fail "the Job's pod is $(jq -r .status.phase <<<"$pod")"
}

check_drain_on_delete() {
  meshed_namespace mesh-drain
  local grace=30
  k -n "$ns" apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Pod
metadata: {name: server}
spec:
  terminationGracePeriodSeconds: $grace
  containers:
  - name: server
    image: $E2E_IMAGE
    imagePullPolicy: Never
    # As PID 1, httpd would ignore SIGTERM; the shell exits on it at once.
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; /bin/busybox httpd -f -p 8080 -h / & wait"]
EOF2
  k -n "$ns" wait --for=condition=Ready pod/server --timeout 120s >/dev/null || fail "meshed pod not Ready"
  # The proxy's own log and final status tell how it stopped. (Globals: the EXIT
  # trap runs after this function has returned.)
  dir=$(mktemp -d)
  trap 'kill ${logs_pid:-} ${watch_pid:-} 2>/dev/null || true; rm -rf "$dir"; k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT
  # "$KUBECTL", not k: $! must be kubectl itself (a backgrounded function is a
  # subshell, and killing it would leave kubectl watching).
  "$KUBECTL" -n "$ns" logs -f server -c weft-proxy >"$dir/proxy.log" 2>/dev/null &
  logs_pid=$!
  "$KUBECTL" -n "$ns" get pod server -w -o json >"$dir/watch.json" 2>/dev/null &
  watch_pid=$!
  sleep 1
  local start=$SECONDS
  k -n "$ns" delete pod server --wait=true --timeout "$((grace + 30))s" >/dev/null
  local took=$((SECONDS - start))
  # The log stream ends with the container (its kubectl is then a zombie until
  # waited for); both are stopped in any case.
  for _ in $(seq 1 50); do
    [[ $(awk '{print $3}' "/proc/$logs_pid/stat" 2>/dev/null || echo Z) == Z ]] && break
    sleep 0.1
  done
  # The watch goes on after the pod is gone; stop it once it has written the
  # proxy's final state, never in the middle of an object.
  local final_state='[.[] | .status.initContainerStatuses[]? | select(.name == "weft-proxy") | .state.terminated | select(. != null)] | last'
  local final=null
  for _ in $(seq 1 100); do
    final=$(jq -s "$final_state" "$dir/watch.json" 2>/dev/null) || final=null
    [[ $final != null ]] && break
    sleep 0.1
  done
  kill "$logs_pid" "$watch_pid" 2>/dev/null || true
  wait "$logs_pid" "$watch_pid" 2>/dev/null || true
  echo "meshed pod deleted in ${took}s (grace period ${grace}s)"
  ((took < grace)) || fail "the pod took the whole grace period (${took}s): something waited to be killed"
  [[ $(jq -r .exitCode <<<"$final") == 0 ]] || fail "weft-proxy did not exit cleanly: $final"
  grep -q '"shutting down"' "$dir/proxy.log" || fail "weft-proxy logged no shutdown: $(tail -n 5 "$dir/proxy.log")"
  grep -q '"stopped"' "$dir/proxy.log" || fail "weft-proxy did not finish its drain: $(tail -n 5 "$dir/proxy.log")"
}

case "${1:-}" in
  apply | control_plane | meshed_deployment | meshed_job | drain_on_delete) "check_$1" ;;
  *)
    echo "usage: check.sh apply|control_plane|meshed_deployment|meshed_job|drain_on_delete" >&2
    exit 2
    ;;
esac
