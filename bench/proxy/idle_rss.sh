#!/usr/bin/env bash
# weft-proxy's idle memory as in a pod: with the benchmark's configuration
# document loaded and the ConfigMap watch connected to a real API server (TLS,
# a service-account token that may only get and watch that ConfigMap), and,
# for comparison, with the watch off. Reports VmRSS, RssAnon and RssFile from
# /proc/<pid>/status after the proxy has settled, and the libraries it loads.
#
# Usage: bench/proxy/idle_rss.sh [--build-dir DIR]
# Starts its own local control plane (scripts/local-cluster) and stops it.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$repo/build
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    *) echo "usage: $0 [--build-dir DIR]" >&2; exit 2 ;;
  esac
done
proxy_binary=$build_dir/bin/weft-proxy
[[ -x $proxy_binary ]] || { echo "no $proxy_binary: build it first" >&2; exit 1; }

work=$(mktemp -d /tmp/weft-bench-rss-XXXXXX)
export WEFT_CLUSTER_DIR=$work/cluster
proxy_pid=
cleanup() {
  [[ -n $proxy_pid ]] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  "$repo/scripts/local-cluster" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export KUBECONFIG
KUBECONFIG=$("$repo/scripts/local-cluster" up 2>/dev/null | tail -1)
kubectl() { "$repo/scripts/local-cluster" kubectl "$@"; }

ns=weft-bench-rss
kubectl create namespace "$ns" >/dev/null
kubectl -n "$ns" create serviceaccount app >/dev/null
kubectl -n "$ns" create role weft-proxy-config-reader --verb=get,watch --resource=configmaps \
  --resource-name=weft-proxy-config >/dev/null
kubectl -n "$ns" create rolebinding weft-proxy-config-reader --role=weft-proxy-config-reader \
  --serviceaccount="$ns:app" >/dev/null
mount=$work/serviceaccount
mkdir -p "$mount"
kubectl -n "$ns" create token app >"$mount/token"
kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' |
  base64 -d >"$mount/ca.crt"
echo "$ns" >"$mount/namespace"
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')

# The benchmark's document: one Service with one endpoint.
HARNESS_DIR=$repo/test/integration/proxy python3 - "$work/config.json" <<'PY'
import os, sys
sys.path.insert(0, os.environ["HARNESS_DIR"])
from harness import document, service
with open(sys.argv[1], "w") as f:
    f.write(document([service("web", "10.96.0.10", 80, [("127.0.0.1", 8080)])], "weft-bench-rss"))
PY
kubectl -n "$ns" create configmap weft-proxy-config --from-file=config.json="$work/config.json" \
  >/dev/null

measure() {  # measure LABEL WATCH(on|off): one line of the report
  local label=$1 watch=$2 log=$work/proxy-$2.log
  KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=${server##*:} \
    "$proxy_binary" --config "$work/config.json" --listen-address 127.0.0.1 --outbound-port 0 \
    --inbound-port 0 --admin-port 0 --kube-watch "$watch" --service-account-dir "$mount" \
    >"$log" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 100); do
    grep -q '"weft-proxy started"' "$log" && break
    sleep 0.05
  done
  if [[ $watch == on ]]; then
    # The watch delivered the document (the same as the file's: "unchanged").
    local admin delivered=
    admin=$(grep '"weft-proxy started"' "$log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["admin_port"])')
    for _ in $(seq 100); do
      delivered=$(curl -sf "http://127.0.0.1:$admin/metrics" | grep '^config_reload_total{source="api"' || true)
      [[ -n $delivered ]] && break
      sleep 0.05
    done
    [[ -n $delivered ]] || { echo "the watch delivered nothing:" >&2; cat "$log" >&2; exit 1; }
  fi
  sleep 2
  local status=/proc/$proxy_pid/status libs
  libs=$(awk '$6 ~ /\.so/ {print $6}' "/proc/$proxy_pid/maps" | sort -u | xargs -n1 basename | paste -sd' ')
  awk -v label="$label" -v libs="$libs" '
    /^VmRSS/ {rss = $2} /^RssAnon/ {anon = $2} /^RssFile/ {file = $2}
    END {printf "| %s | %.1f | %.1f | %.1f | %s |\n", label, rss / 1024, anon / 1024, file / 1024, libs}
  ' "$status"
  kill "$proxy_pid"
  wait "$proxy_pid" 2>/dev/null || true
  proxy_pid=
}

cat <<REPORT
### Idle memory of $(date -u +%Y-%m-%dT%H:%MZ)

Command: \`bench/proxy/idle_rss.sh --build-dir ${build_dir#"$repo"/}\`

| weft-proxy, idle, document loaded | VmRSS MiB | RssAnon MiB | RssFile MiB | shared libraries mapped |
|---|---|---|---|---|
REPORT
measure "ConfigMap watch connected (TLS, as in a pod)" on
measure "watch off" off
