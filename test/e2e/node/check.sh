#!/usr/bin/env bash
# Checks of the one-node cluster (scripts/local-cluster up --node) in
# $WEFT_CLUSTER_DIR. One check per invocation: check.sh NAME.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
skip_unless_root

# web_deployment NAMESPACE REPLICAS: busybox httpd pods answering "hello from <pod>"
# on 8080, behind Service web (port 80).
web_deployment() {
  k -n "$1" apply -f - >/dev/null <<EOF2
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: $2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: $E2E_IMAGE
        imagePullPolicy: Never
        # As PID 1, httpd would ignore SIGTERM; the shell exits on it at once.
        command: ["/bin/sh", "-c", "echo hello from \$(hostname) >/www/index.html; trap 'exit 0' TERM; /bin/busybox httpd -f -p 8080 -h /www & wait"]
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
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
}

# A client pod that only sleeps; the tests exec into it.
client_pod() {
  k -n "$1" run client --image "$E2E_IMAGE" --image-pull-policy Never --restart Never \
    --command -- /bin/busybox sleep 3600 >/dev/null
  k -n "$1" wait --for=condition=Ready pod/client --timeout 120s >/dev/null || fail "client pod not Ready"
}

check_deployment_service() {
  test_namespace node-deploy
  local start=$SECONDS
  web_deployment "$ns" 2
  k -n "$ns" rollout status deployment/web --timeout 120s >/dev/null || fail "Deployment web not rolled out"
  echo "2 pods Ready $((SECONDS - start)) s after kubectl apply"

  # Real pods: Running on the node with addresses from the node's pod range.
  local pod_cidr_prefix pod_ips
  pod_cidr_prefix=$(node_var pod_gateway)
  pod_cidr_prefix=${pod_cidr_prefix%.*}.
  mapfile -t pod_ips < <(k -n "$ns" get pods -l app=web -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}')
  ((${#pod_ips[@]} == 2)) || fail "expected 2 pod IPs, got: ${pod_ips[*]}"
  for ip in "${pod_ips[@]}"; do
    [[ $ip == "$pod_cidr_prefix"* ]] || fail "pod IP $ip is outside the node's pod range"
  done
  [[ $(k -n "$ns" get pods -l app=web -o jsonpath='{.items[*].spec.nodeName}') == "weft-node weft-node" ]] ||
    fail "pods not bound to weft-node"

  # The EndpointSlice lists both, ready.
  slice_has_both() {
    local got
    got=$(k -n "$ns" get endpointslices -l kubernetes.io/service-name=web -o json |
      jq -r '[.items[].endpoints[] | select(.conditions.ready) | .addresses[0]] | sort | join(" ")')
    [[ $got == "$(printf '%s\n' "${pod_ips[@]}" | sort | paste -sd' ')" ]]
  }
  eventually 30 "EndpointSlice of web lists both pods" slice_has_both

  # The ClusterIP through kube-proxy's rules, from the node: both pods answer.
  local cluster_ip answers=""
  cluster_ip=$(k -n "$ns" get service web -o jsonpath='{.spec.clusterIP}')
  # kube-proxy writes its rules a moment after the EndpointSlice changes.
  eventually 30 "web answers on $cluster_ip from the node" "$cluster" node-exec curl -sS -m 5 "http://$cluster_ip/"
  for _ in $(seq 1 30); do
    answers+=$("$cluster" node-exec curl -sS -m 5 "http://$cluster_ip/" || true)$'\n'
  done
  for pod in $(k -n "$ns" get pods -l app=web -o name); do
    grep -q "hello from ${pod#pod/}" <<<"$answers" || fail "pod ${pod#pod/} never answered on $cluster_ip from the node"
  done

  # ... from the root namespace (routed into the node), and from another pod.
  [[ $(curl -sS -m 5 "http://$cluster_ip/") == "hello from web-"* ]] || fail "no answer on $cluster_ip from the host"
  client_pod "$ns"
  [[ $(k -n "$ns" exec client -- /bin/busybox wget -qO- "http://$cluster_ip/") == "hello from web-"* ]] ||
    fail "no answer on $cluster_ip from another pod"
  # Pods reach the apiserver through the `kubernetes` Service.
  local kube_ip reply
  kube_ip=$(k -n default get service kubernetes -o jsonpath='{.spec.clusterIP}')
  reply=$(k -n "$ns" exec client -- /bin/sh -c \
    "printf 'GET /livez HTTP/1.0\r\n\r\n' | /bin/busybox nc -w 5 $kube_ip 443" || true)
  [[ $reply == *"HTTP request to an HTTPS server"* ]] || fail "the apiserver did not answer on $kube_ip:443 from a pod: $reply"

  # A Service whose pods go away stops answering (kube-proxy follows the slices).
  k -n "$ns" scale deployment/web --replicas 0 >/dev/null
  no_answer() { ! "$cluster" node-exec curl -sS -m 2 "http://$cluster_ip/"; }
  eventually 60 "web still answers after scaling to 0" no_answer
}

check_no_packet_leaves() {
  local node_netns pod_cidr service_cidr node_ip bridge outside=198.51.100.1
  node_netns=$(node_var node_netns)
  pod_cidr=$(node_var pod_cidr)
  service_cidr=$(node_var service_cidr)
  node_ip=$(node_var node_ip)
  bridge=$(node_var node_bridge)

  # Root namespace: the pod and service ranges route into the node's link only.
  local r
  r=$(ip -4 route get "${pod_cidr%.*}.77")
  [[ $r == *" via $node_ip "* ]] || fail "pod range routes elsewhere: $r"
  r=$(ip -4 route get "${service_cidr%.*}.77")
  [[ $r == *" via $node_ip "* ]] || fail "service range routes elsewhere: $r"

  # Node namespace: no default route but an unreachable one; a pod's packet to the
  # outside is refused there. Checked before anything is sent.
  [[ $(ip -n "$node_netns" -4 route show default) == "unreachable default"* ]] ||
    fail "the node namespace has a default route: $(ip -n "$node_netns" -4 route show default)"
  if r=$(ip -n "$node_netns" -4 route get "$outside" from "${pod_cidr%.*}.77" iif "$bridge" 2>&1); then
    fail "pod traffic to $outside would be forwarded: $r"
  fi
  [[ $r == *"No route to host"* || $r == *unreachable* ]] || fail "unexpected route answer: $r"

  # No masquerading of pod traffic towards the outside: CNI's ipMasq is off; the only
  # MASQUERADE rule is kube-proxy's, reached only by packets it marked; and it marks
  # service traffic from pods never (masqueradeAll false, clusterCIDR set).
  local nat masq
  nat=$(ip netns exec "$node_netns" iptables-save -t nat)
  masq=$(grep -- '-j MASQUERADE' <<<"$nat" || true)
  [[ $(wc -l <<<"$masq") -eq 1 && $masq == "-A KUBE-POSTROUTING "* ]] ||
    fail "expected kube-proxy's one MASQUERADE rule, got: $masq"
  [[ $(grep -m1 -- '^-A KUBE-POSTROUTING ' <<<"$nat") == "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN" ]] ||
    fail "KUBE-POSTROUTING does not start by returning unmarked packets"
  if grep -- '^-A KUBE-SVC-.* -j KUBE-MARK-MASQ' <<<"$nat" | grep -v -- "! -s $pod_cidr "; then
    fail "kube-proxy marks pod traffic for masquerading (above)"
  fi
  jq -e '.plugins[] | select(.type == "bridge") | .ipMasq == false' \
    "$WEFT_CLUSTER_DIR/cni/net.d/10-weft-node.conflist" >/dev/null || fail "CNI bridge ipMasq is not false"

  # From inside a real pod's network namespace: a TCP connect to a TEST-NET address
  # fails at once with "unreachable", from the node, not after a timeout.
  test_namespace node-leak
  client_pod "$ns"
  local netns result
  netns=$(pod_netns "$ns" client) || fail "no network namespace found for pod client"
  result=$(nsenter --net="$netns" python3 - "$outside" <<'PY'
import errno, socket, sys, time
s = socket.socket()
s.settimeout(10)
start = time.monotonic()
try:
    s.connect((sys.argv[1], 80))
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, "timeout"), round(time.monotonic() - start, 2))
PY
)
  read -r code elapsed <<<"$result"
  [[ $code == EHOSTUNREACH || $code == ENETUNREACH ]] || fail "connect to $outside from a pod: $result"
  awk -v t="$elapsed" 'BEGIN { exit !(t < 5) }' || fail "the refusal took ${elapsed}s (a timeout, not a local refusal)"
  echo "pod -> $outside:80: $code after ${elapsed}s"
}

check_job() {
  test_namespace node-job
  k -n "$ns" apply -f - >/dev/null <<EOF2
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: once
        image: $E2E_IMAGE
        imagePullPolicy: Never
        command: ["/bin/sh", "-c", "echo ran as uid \$(/bin/busybox id -u) in \$(/bin/busybox hostname)"]
EOF2
  k -n "$ns" wait --for=condition=Complete job/once --timeout 120s >/dev/null || fail "Job once did not complete"
  local out
  out=$(k -n "$ns" logs job/once)
  [[ $out == "ran as uid 65532 in once-"* ]] || fail "unexpected Job output: $out"
  [[ $(k -n "$ns" get job once -o jsonpath='{.status.succeeded}') == 1 ]] || fail "Job not succeeded once"
}

case "${1:-}" in
  deployment_service | no_packet_leaves | job) "check_$1" ;;
  *)
    echo "usage: check.sh deployment_service|no_packet_leaves|job" >&2
    exit 2
    ;;
esac
