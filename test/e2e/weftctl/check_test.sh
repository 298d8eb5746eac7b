#!/usr/bin/env bash
# weftctl check against Weft installed on the node cluster: check_test.sh WEFTCTL.
# Green on a healthy install with a meshed Deployment; then each fault in turn,
# red with the right hint, and restored (checked green again) before the next:
#   1. the webhook scaled to zero;
#   2. a proxy with a stale document: its API watch cut in its pod's network
#      namespace (an iptables rule for the proxy's UID) while an input of the
#      namespace's document changes;
#   3. the CRDs removed (re-applied from crds/ after);
#   4. an expired webhook serving certificate in the Secret weft-webhook-tls
#      (the original put back after).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
# shellcheck source=SCRIPTDIR/../mesh/mesh_lib.sh
source "$here/../mesh/mesh_lib.sh"
skip_unless_root

weftctl=$1
work=$(mktemp -d)
blocked_netns=""
# Whatever happens, put back what a fault took away, for the tests after this one.
restore_all() {
  if [[ -n $blocked_netns ]]; then
    nsenter --net="$blocked_netns" iptables -w -D OUTPUT -m owner --uid-owner 2102 -p tcp \
      -d "$api_host" --dport "$api_port" -j REJECT --reject-with tcp-reset 2>/dev/null || true
  fi
  k -n weft-system scale deployment/weft-webhook --replicas=2 >/dev/null 2>&1 || true
  k apply --server-side --force-conflicts -f "$repo/crds/" >/dev/null 2>&1 || true
  if [[ -s $work/webhook-tls.json ]]; then
    k -n weft-system patch secret weft-webhook-tls --type merge \
      -p "$(jq -c '{data: .data}' "$work/webhook-tls.json")" >/dev/null 2>&1 || true
  fi
  k delete namespace "${ns:-none}" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap restore_all EXIT

log() { echo "[$(date +%T)] $*"; }

# check [ARGS...]: runs weftctl check -o json; sets status and out.
check() {
  set +e
  out=$("$weftctl" check -o json "$@" 2>"$work/stderr")
  status=$?
  set -e
  jq -e . >/dev/null <<<"$out" || fail "weftctl check wrote no JSON (exit $status): $out $(cat "$work/stderr")"
}

# result NAME-PREFIX: "result<TAB>detail<TAB>hint" of the first check so named.
result() {
  jq -r --arg n "$1" '[.categories[].checks[] | select(.name | startswith($n))][0]
    | "\(.result)\t\(.detail)\t\(.hint)"' <<<"$out"
}

# failures: the failed checks of $out, one line each, for messages.
failures() {
  jq -r '.categories[] | .name as $c | .checks[] | select(.result == "error")
    | "\($c): \(.name): \(.detail)"' <<<"$out"
}

# expect_failure NAME-PREFIX DETAIL-PART HINT-PART: the check failed (exit 1),
# that check is an error whose detail and hint say so.
expect_failure() {
  local name=$1 detail=$2 hint=$3 line
  [[ $status == 1 ]] || fail "exit $status, want 1 (expected '$name' to fail)"
  line=$(result "$name")
  [[ $line == error$'\t'* ]] || fail "'$name' is not an error: $line; failures: $(failures)"
  [[ $(cut -f2 <<<"$line") == *"$detail"* ]] || fail "'$name' detail lacks '$detail': $line"
  [[ $(cut -f3 <<<"$line") == *"$hint"* ]] || fail "'$name' hint lacks '$hint': $line"
  log "red as expected: $name: $(cut -f2 <<<"$line") (hint: $(cut -f3 <<<"$line"))"
}

# expect_green WHY [SECONDS]: weftctl check --wait passes (exit 0) in time (120).
expect_green() {
  local limit=${2:-120}
  check --wait "${limit}s"
  [[ $status == 0 ]] || fail "$1: not healthy within ${limit}s: $(failures)"
  log "green: $1"
}

# proxy_hash POD: the document hash POD's proxy serves, read as weftctl reads it.
proxy_hash() {
  k get --raw "/api/v1/namespaces/$ns/pods/$1:4191/proxy/version" | jq -r '.configHash // ""'
}
configmap_hash() {
  k -n "$ns" get configmap weft-proxy-config -o jsonpath='{.metadata.annotations.weft\.io/config-hash}'
}

# ---- A healthy install with a meshed Deployment.
log "installing Weft"
install_weft
k -n weft-system rollout status deployment/weft-identity --timeout=180s >/dev/null ||
  fail "weft-identity not rolled out"
mesh_namespace weftctl
trap restore_all EXIT  # test_namespace set its own
k -n "$ns" apply -f - >/dev/null <<YAML
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
        command: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
        ports: [{containerPort: 8080}]
        volumeMounts: [{name: www, mountPath: /www}]
      volumes: [{name: www, emptyDir: {}}]
YAML
wait_rolled_out web
expect_green "a healthy install"
[[ $(result "meshed pods' proxies answer /version") == ok$'\t'"2 meshed pod(s)"* ]] ||
  log "note: $(result "meshed pods' proxies answer /version")"

# ---- 1. The webhook scaled to zero.
log "fault 1: weft-webhook scaled to zero"
k -n weft-system scale deployment/weft-webhook --replicas=0 >/dev/null
no_webhook_pod() { [[ -z $(k -n weft-system get pods -l app.kubernetes.io/name=weft-webhook -o name) ]]; }
eventually 120 "the webhook's pods gone" no_webhook_pod
check
expect_failure "weft-webhook is ready" "scaled to zero replicas" \
  "scale deployment/weft-webhook --replicas=2"
k -n weft-system scale deployment/weft-webhook --replicas=2 >/dev/null
k -n weft-system rollout status deployment/weft-webhook --timeout=180s >/dev/null
expect_green "the webhook scaled back to 2"

# ---- 2. A proxy with a stale document.
log "fault 2: a proxy that cannot read its ConfigMap while the document changes"
mapfile -t pods < <(k -n "$ns" get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
((${#pods[@]} == 2)) || fail "want 2 web pods, have ${pods[*]}"
stale_pod=${pods[0]} fresh_pod=${pods[1]}
# What the kubelet gives pods as KUBERNETES_SERVICE_HOST and _PORT: the proxy's
# API server.
api_host=$(k -n default get service kubernetes -o jsonpath='{.spec.clusterIP}')
api_port=$(k -n default get service kubernetes -o jsonpath='{.spec.ports[0].port}')
blocked_netns=$(pod_netns "$ns" "$stale_pod") || fail "no network namespace for $stale_pod"
nsenter --net="$blocked_netns" iptables -w -I OUTPUT -m owner --uid-owner 2102 -p tcp \
  -d "$api_host" --dport "$api_port" -j REJECT --reject-with tcp-reset
# Each try changes the document, and counts only if the blocked proxy is still
# behind when the other one has the new document: the first change may still
# arrive on the watch opened before the rule (its bytes are received before the
# proxy's ACK is refused), and the kubelet refreshes the mounted file too.
stale_seen=0
for attempt in 1 2 3 4 5; do
  k -n "$ns" create service clusterip "changed-$attempt" --tcp=80:8080 >/dev/null
  fresh_has_new() {
    local want
    want=$(configmap_hash)
    [[ -n $want && $(proxy_hash "$fresh_pod") == "$want" ]] || return 1
    grep -q "changed-$attempt" < <(k -n "$ns" get configmap weft-proxy-config -o jsonpath='{.data.config\.json}')
  }
  eventually 60 "the unblocked proxy's new document" fresh_has_new
  if [[ $(proxy_hash "$stale_pod") == "$(configmap_hash)" ]]; then
    log "attempt $attempt: $stale_pod took the change anyway (the watch opened before the rule, or the kubelet's file); again"
    continue
  fi
  check
  if [[ $(result "proxies serve their namespace's current configuration") == *"$ns/$stale_pod serves"* ]]; then
    stale_seen=1
    break
  fi
done
((stale_seen)) || fail "no attempt caught $stale_pod behind"
expect_failure "proxies serve their namespace's current configuration" "$ns/$stale_pod serves sha256:" \
  "logs POD -c weft-proxy"
[[ $(result "proxies serve their namespace's current configuration") != *"$fresh_pod"* ]] ||
  fail "the current proxy $fresh_pod named stale too"
nsenter --net="$blocked_netns" iptables -w -D OUTPUT -m owner --uid-owner 2102 -p tcp \
  -d "$api_host" --dport "$api_port" -j REJECT --reject-with tcp-reset
blocked_netns=""
expect_green "the proxy's API watch restored"

# ---- 3. The CRDs removed.
log "fault 3: the CRDs removed"
k delete crd meshroutes.weft.io meshpolicies.weft.io --wait=true --timeout=60s >/dev/null
check
expect_failure "meshroutes.weft.io is installed at v1alpha1" "not installed" \
  "kubectl apply --server-side -f crds/"
expect_failure "meshpolicies.weft.io is installed at v1alpha1" "not installed" \
  "kubectl apply --server-side -f crds/"
install_weft
# The operator's watches of the CRDs' kinds failed meanwhile: time to relist.
expect_green "the CRDs re-applied" 240

# ---- 4. An expired webhook serving certificate.
log "fault 4: the webhook's serving certificate replaced by an expired one"
k -n weft-system get secret weft-webhook-tls -o json >"$work/webhook-tls.json"
# Signed by the webhook's own CA for the right name: only its dates are wrong.
python3 - "$work/webhook-tls.json" >"$work/expired.json" <<'PY'
import base64, datetime, json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

data = json.load(open(sys.argv[1]))["data"]
ca_cert = x509.load_pem_x509_certificate(base64.b64decode(data["ca.crt"]))
ca_key = serialization.load_pem_private_key(base64.b64decode(data["ca.key"]), None)
key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weft-webhook")]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=100))
        .not_valid_after(now - datetime.timedelta(days=10))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("weft-webhook.weft-system.svc")]), False)
        .sign(ca_key, hashes.SHA256()))
pem = lambda b: base64.b64encode(b).decode()
print(json.dumps({"data": {
    "tls.crt": pem(cert.public_bytes(serialization.Encoding.PEM)),
    "tls.key": pem(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))}}))
PY
k -n weft-system patch secret weft-webhook-tls --type merge -p "$(cat "$work/expired.json")" >/dev/null
check
expect_failure "the serving certificate is valid" "expired at" "weft-webhook-tls"
k -n weft-system patch secret weft-webhook-tls --type merge \
  -p "$(jq -c '{data: .data}' "$work/webhook-tls.json")" >/dev/null
rm -f "$work/webhook-tls.json"
expect_green "the original certificate put back"

# The checklist a person reads, once, for the log.
"$weftctl" check
echo "PASS e2e.weftctl.check: green, then red with the right hint for each fault, and restored"
