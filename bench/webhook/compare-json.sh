#!/usr/bin/env bash
# The webhook's JSON candidates side by side in one run, rounds interleaved,
# medians printed at the end (docs/webhook.md, "How a review is read"):
#   reader  the hand-written one-pass pull reader
#   sax     nlohmann::json's SAX interface, keeping only the parts the webhook reads
#   dom     the whole body parsed into an nlohmann::json DOM
# Per round and candidate: CPU per review without network (webhook_mutate_micro,
# which interleaves the three itself), /mutate closed loop (64 TLS clients), and
# the pod-create overhead through a local API server. The webhook binary is the
# same; WEFT_WEBHOOK_JSON picks the path.
#   bench/webhook/compare-json.sh [BUILD_DIR] [ROUNDS] [PODS]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
rounds=${2:-3}
pods=${3:-100}
cmake --build "$build" -j2 --target weft-webhook webhook_load webhook_create_latency \
  webhook_mutate_micro >/dev/null
WEBHOOK_BIN=$build/bin/weft-webhook
export WEBHOOK_BIN
export WEFT_CLUSTER_DIR=${WEFT_CLUSTER_DIR:-/tmp/weft-webhook-compare}
KUBECONFIG=$("$repo/scripts/local-cluster" up)
KUBECTL="$("$repo/scripts/build-k8s" --bin-dir)/kubectl"
export KUBECONFIG KUBECTL
# shellcheck source=test/integration/webhook/lib.sh
source "$repo/test/integration/webhook/lib.sh"
trap 'cleanup; "$repo/scripts/local-cluster" down >/dev/null' EXIT
results=$work/results.txt

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
review=$repo/test/unit/webhook/testdata/deployment-pod-review.json
meshed=$(new_namespace bench-meshed enabled)
plain=$(new_namespace bench-plain)
port=$(free_port)
WEBHOOK_PORT=$port WEFT_WEBHOOK_JSON=sax start_and_register "$meshed" --log-level=warn

for round in $(seq 1 "$rounds"); do
  echo "== round $round, load average $(cut -d' ' -f1 /proc/loadavg)"
  "$build/bin/webhook_mutate_micro" "$review" 20000 1 | tee -a "$results" | sed 's/^/  /'
  for json in reader sax dom; do
    stop_webhook
    WEBHOOK_PORT=$port WEFT_WEBHOOK_JSON=$json start_webhook --log-level=warn
    wait_until_injecting "$meshed"
    line=$("$build/bin/webhook_load" --port "$webhook_port" --ca "$work/pki/ca.crt" \
      --review "$review" --connections 64 --seconds 8 --warmup 2 --server-pid "$webhook_pid")
    echo "load json=$json $line" | tee -a "$results" | sed 's/^/  /'
    added=$("$build/bin/webhook_create_latency" --meshed "$meshed" --plain "$plain" --pods "$pods" |
      awk '/^added/ {print $2}')
    echo "create json=$json added_ms=${added#p50_ms=}" | tee -a "$results" | sed 's/^/  /'
  done
done

echo "== medians over $rounds rounds"
python3 - "$results" <<'PY'
import re, statistics, sys
values = {}
def add(key, value):
    values.setdefault(key, []).append(float(value))
for line in open(sys.argv[1]):
    line = line.strip()
    fields = dict(re.findall(r"(\w+)=([\w.-]+)", line))
    if line.startswith("json="):
        add((fields["json"], "parse_us"), fields["parse_us"])
        add((fields["json"], "cpu_us_per_review"), fields["parse_mutate_respond_us"])
    elif line.startswith("load "):
        add((fields["json"], "reviews_per_s"), fields["reviews_per_s"])
        add((fields["json"], "server_cpu_us_per_review"), fields["server_cpu_us_per_review"])
        add((fields["json"], "p99_ms"), fields["p99_ms"])
    elif line.startswith("create "):
        add((fields["json"], "create_added_p50_ms"), fields["added_ms"])
for json in ("reader", "sax", "dom"):
    print(json.ljust(7), " ".join(
        f"{name}={statistics.median(v):.4g} [{min(v):.4g}..{max(v):.4g}]"
        for (j, name), v in values.items() if j == json))
PY
