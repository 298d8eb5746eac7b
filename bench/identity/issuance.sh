#!/usr/bin/env bash
# Leaf issuance latency on the local node: how long a starting meshed pod's
# proxy waits for its certificate from weft-identity.
#
# Creates --pods pods (busybox sleeping, injected with weft-proxy) in a meshed
# namespace, --batch at a time (a batch starts together, as a rollout does),
# and reads from each proxy's log line "identity certificate obtained":
#   since_start_ms  the proxy process's start -> the certificate held (the
#                   target: p99 <= 500 ms);
#   duration_ms     the request alone: key and CSR, TLS to weft-identity, its
#                   TokenReview, the answer verified;
# and the pod's creation (the script's clock before `kubectl create`) -> the
# line's timestamp (scheduling, sandbox, weft-init, then the above).
# weft-identity's own weft_identity_request_duration_seconds and
# weft_identity_token_review_duration_seconds are read from every replica
# before and after (bucket-based quantiles of the difference).
#
# Runs against $KUBECONFIG / $WEFT_CLUSTER_DIR (a node cluster:
# `ctest --test-dir build -L e2e -R e2e.node_cluster.up`, then
# WEFT_CLUSTER_DIR=build/test-node-cluster), installs Weft from this checkout
# (server-side apply, as the e2e tests do), removes its namespace at the end.
#
# Usage: bench/identity/issuance.sh [--pods N] [--batch N]
# Prints a Markdown report (bench/RESULTS.md, "Leaf issuance").
set -euo pipefail

pods=40
batch=5
while [[ $# -gt 0 ]]; do
  case $1 in
    --pods) pods=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    *) echo "usage: $0 [--pods N] [--batch N]" >&2; exit 2 ;;
  esac
done
for value in "$pods" "$batch"; do
  [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "not a positive integer: $value" >&2; exit 2; }
done
((pods <= 200 && batch <= 20)) || { echo "at most 200 pods, 20 at a time" >&2; exit 2; }

# shellcheck source=test/e2e/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/test/e2e/lib.sh"
# shellcheck source=test/e2e/mesh/mesh_lib.sh
source "$repo/test/e2e/mesh/mesh_lib.sh"
[[ -f $KUBECONFIG ]] || { echo "no $KUBECONFIG: start a node cluster first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/weft-bench-issuance-XXXXXX")
echo "[bench] installing Weft" >&2
install_weft
k -n weft-system rollout status deployment/weft-identity --timeout=180s >/dev/null ||
  fail "weft-identity not rolled out"
mesh_namespace issuance
trap 'k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# identity_metrics FILE: every weft-identity replica's /metrics, concatenated.
identity_metrics() {
  local pod
  : >"$1"
  for pod in $(k -n weft-system get pods -l app.kubernetes.io/name=weft-identity -o name); do
    k get --raw "/api/v1/namespaces/weft-system/pods/${pod#pod/}:9090/proxy/metrics" >>"$1"
  done
}
identity_metrics "$work/identity-before.txt"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# pod_manifest NAME: a meshed pod doing nothing (the proxy is what is measured).
pod_manifest() {
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $ns, labels: {app: issuance}}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {runAsNonRoot: true, runAsUser: 65532}
  containers:
    - name: app
      image: $E2E_IMAGE
      imagePullPolicy: Never
      args: [sleep, "3600"]
---
YAML
}
obtained_line() {  # obtained_line POD: the proxy's "identity certificate obtained" line
  k -n "$ns" logs "$1" -c weft-proxy 2>/dev/null | grep -m1 '"identity certificate obtained"'
}

: >"$work/samples.txt"  # one line per pod: created_at(s) JSON-line
made=0
while ((made < pods)); do
  names=()
  for _ in $(seq "$batch"); do
    ((made < pods)) || break
    made=$((made + 1))
    names+=("p$made")
  done
  for name in "${names[@]}"; do pod_manifest "$name"; done >"$work/batch.yaml"
  created_at=$(date +%s.%N)
  k apply -f "$work/batch.yaml" >/dev/null || fail "creating ${names[*]}"
  for name in "${names[@]}"; do
    eventually 120 "$name's certificate" obtained_line "$name"
    echo "$created_at $(obtained_line "$name")" >>"$work/samples.txt"
  done
  echo "[bench] $made/$pods pods hold their certificate" >&2
  k -n "$ns" delete pod "${names[@]}" --wait=true --timeout=120s >/dev/null
done
identity_metrics "$work/identity-after.txt"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$work" "$pods" "$batch" "$load_before" "$load_after" <<'PY'
import datetime, json, math, re, sys
work, pods, batch, load_before, load_after = sys.argv[1:]
since_start, duration, from_create = [], [], []
for line in open(f"{work}/samples.txt"):
    created_at, text = line.split(" ", 1)
    event = json.loads(text)
    since_start.append(event["since_start_ms"])
    duration.append(event["duration_ms"])
    held = datetime.datetime.strptime(event["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    from_create.append((held - float(created_at)) * 1000)

def quantile(values, q):  # nearest rank
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

def row(name, values):
    return (f"| {name} | {quantile(values, 0.5):.0f} | {quantile(values, 0.9):.0f} | "
            f"**{quantile(values, 0.99):.0f}** | {max(values):.0f} |")

def histogram(path, name):
    buckets, total, count = {}, 0.0, 0.0
    for line in open(path):
        m = re.match(rf'{name}_bucket{{le="([^"]+)"}} (\S+)', line)
        if m:
            le = math.inf if m[1] == "+Inf" else float(m[1])
            buckets[le] = buckets.get(le, 0) + float(m[2])
        elif line.startswith(f"{name}_sum "):
            total += float(line.split()[1])
        elif line.startswith(f"{name}_count "):
            count += float(line.split()[1])
    return buckets, total, count

def histogram_cell(name):
    b0, s0, c0 = histogram(f"{work}/identity-before.txt", name)
    b1, s1, c1 = histogram(f"{work}/identity-after.txt", name)
    count = c1 - c0
    if count <= 0:
        return "no observation"
    def upper(q):  # the upper bound of the bucket holding quantile q
        for le in sorted(b1):
            if b1[le] - b0.get(le, 0) >= q * count:
                return le
    fmt = lambda v: "+Inf" if v == math.inf else f"{v * 1000:g} ms"
    return (f"{count:.0f} requests, mean {(s1 - s0) / count * 1000:.1f} ms, "
            f"p50 ≤ {fmt(upper(0.5))}, p99 ≤ {fmt(upper(0.99))}")

print(f"""### Run of {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H:%MZ}

Command: `bench/identity/issuance.sh --pods {pods} --batch {batch}` on the local node
cluster. Load average before: {load_before}; after: {load_after}.

| {len(since_start)} pods, {batch} started at once | p50 ms | p90 ms | p99 ms | max ms |
|---|---|---|---|---|
{row("proxy start -> certificate held (`since_start_ms`)", since_start)}
{row("of which the request (`duration_ms`: key, CSR, TLS, TokenReview, verification)", duration)}
{row("pod created -> certificate held (scheduling, sandbox, weft-init included)", from_create)}

weft-identity, all replicas (bucket bounds):
- `weft_identity_request_duration_seconds`: {histogram_cell("weft_identity_request_duration_seconds")}
- `weft_identity_token_review_duration_seconds`: {histogram_cell("weft_identity_token_review_duration_seconds")}
""")
PY
