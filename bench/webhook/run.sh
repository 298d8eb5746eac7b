#!/usr/bin/env bash
# weft-webhook benchmarks; prints the figures that go into bench/RESULTS.md.
#   bench/webhook/run.sh [BUILD_DIR]
# 1. /mutate directly: 64 concurrent keep-alive TLS clients for 10 s (reviews/s,
#    p50/p99), the captured Deployment pod review as the body.
# 2. Through the real API server: the latency the webhook adds to a pod create
#    (200 pods in a meshed namespace vs 200 in a plain one), on a local control
#    plane started here and stopped after.
# Everything runs on loopback and stops by itself.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build-webhook}
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target weft-webhook webhook_load webhook_create_latency \
  webhook_mutate_micro >/dev/null
WEBHOOK_BIN=$build/bin/weft-webhook
export WEBHOOK_BIN
export WEFT_CLUSTER_DIR=${WEFT_CLUSTER_DIR:-/tmp/weft-webhook-bench}
KUBECONFIG=$("$repo/scripts/local-cluster" up)
KUBECTL="$("$repo/scripts/build-k8s" --bin-dir)/kubectl"
export KUBECONFIG KUBECTL
# shellcheck source=test/integration/webhook/lib.sh
source "$repo/test/integration/webhook/lib.sh"
trap 'cleanup; "$repo/scripts/local-cluster" down >/dev/null' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
review=$repo/test/unit/webhook/testdata/deployment-pod-review.json

echo "== CPU per review, no network (parse + decide + patch + response), 1 thread"
"$build/bin/webhook_mutate_micro" "$review" 20000
meshed=$(new_namespace bench-meshed enabled)
plain=$(new_namespace bench-plain)
# A fixed port: at log level warn the "listening" line is not printed.
WEBHOOK_PORT=$(free_port) start_and_register "$meshed" --log-level=warn

load() {
  "$build/bin/webhook_load" --port "$webhook_port" --ca "$work/pki/ca.crt" --review "$review" \
    --connections 64 --seconds 10 --warmup 2 --server-pid "$webhook_pid" "$@"
}
echo "== /mutate, 64 concurrent keep-alive TLS clients, 10 s, as fast as answered (closed loop)"
load
echo "== /mutate, 64 concurrent clients, 5,000 reviews/s offered (open loop)"
load --rate 5000
echo "== time inside the webhook (parse, decide, patch, response), all reviews above"
# The smallest histogram bucket holding 50% / 99% of the reviews.
curl -sf --cacert "$work/pki/ca.crt" "https://127.0.0.1:$webhook_port/metrics" | awk '
  /^weft_webhook_review_duration_seconds_bucket/ {
    match($0, /le="[^"]*"/); le[n] = substr($0, RSTART + 4, RLENGTH - 5); count[n++] = $2 }
  /^weft_webhook_review_duration_seconds_count/ { total = $2 }
  END {
    for (i = 0; i < n; i++) if (!p50 && count[i] >= total * 0.50) p50 = le[i]
    for (i = 0; i < n; i++) if (!p99 && count[i] >= total * 0.99) p99 = le[i]
    printf "reviews=%d p50_le_s=%s p99_le_s=%s\n", total, p50, p99 }'

echo "== pod create through the API server, with and without the webhook"
"$build/bin/webhook_create_latency" --meshed "$meshed" --plain "$plain" --pods 200
