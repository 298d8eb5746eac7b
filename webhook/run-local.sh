#!/usr/bin/env bash
# Runs weft-webhook on this machine for the cluster of $KUBECONFIG, outside any
# pod (for the control-plane-only mode of scripts/local-cluster, which has no
# kubelet to run its Deployment; `up --node` has one, and the bundle runs there):
# registers the MutatingWebhookConfiguration of manifests/webhook.yaml with a
# url to 127.0.0.1 instead of the Service, and lets the webhook provision its own
# serving certificate (Secret weft-system/weft-webhook-tls, caBundle filled).
#
#   webhook/run-local.sh start WEFT_WEBHOOK_BIN STATE_DIR   returns once pods get injected
#   webhook/run-local.sh stop STATE_DIR                     stops it, removes the registration
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kubectl=${KUBECTL:-kubectl}
registration=weft-webhook

start() {
  local bin=$1 state=$2
  mkdir -p "$state"
  "$kubectl" get namespace weft-system >/dev/null 2>&1 || "$kubectl" create namespace weft-system >/dev/null
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 - "$repo/manifests/webhook.yaml" "$registration" "$port" <<'PY' | "$kubectl" apply -f - >/dev/null
import json, sys, yaml
manifest, name, port = sys.argv[1:]
config = next(d for d in yaml.safe_load_all(open(manifest))
              if d and d["kind"] == "MutatingWebhookConfiguration")
config["metadata"]["name"] = name
for webhook in config["webhooks"]:
    path = webhook["clientConfig"]["service"]["path"]
    webhook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{path}"}
print(json.dumps(config))
PY
  "$bin" --address=127.0.0.1 --port="$port" --kubeconfig="${KUBECONFIG:?KUBECONFIG must be set}" \
    --tls-cert-file="$state/tls.crt" --tls-private-key-file="$state/tls.key" \
    --provision-certificates --certificate-secret=weft-system/weft-webhook-tls \
    --webhook-configuration="$registration" --certificate-dns-names=127.0.0.1 \
    >"$state/webhook.log" 2>&1 &
  echo $! >"$state/pid"
  # The API server picks registrations up asynchronously: wait until a
  # server-side dry run in a throwaway labelled namespace comes back injected.
  local probe_ns=weft-webhook-probe
  "$kubectl" get namespace "$probe_ns" >/dev/null 2>&1 || "$kubectl" create namespace "$probe_ns" >/dev/null
  "$kubectl" label namespace "$probe_ns" weft.io/inject=enabled --overwrite >/dev/null
  local ready=0
  for _ in $(seq 1 60); do
    if "$kubectl" -n "$probe_ns" run probe --image=busybox --dry-run=server -o json 2>/dev/null |
      grep -q '"weft-proxy"'; then
      ready=1
      break
    fi
    sleep 0.5
  done
  "$kubectl" delete namespace "$probe_ns" --wait=false >/dev/null
  if ((!ready)); then
    echo "weft-webhook did not start injecting; its log:" >&2
    tail -n 20 "$state/webhook.log" >&2
    exit 1
  fi
  echo "weft-webhook running on 127.0.0.1:$port (pid $(cat "$state/pid"), log $state/webhook.log)"
}

stop() {
  local state=$1
  if [[ -f $state/pid ]]; then
    kill -TERM "$(cat "$state/pid")" 2>/dev/null || true
    rm -f "$state/pid"
  fi
  "$kubectl" delete mutatingwebhookconfiguration "$registration" --ignore-not-found >/dev/null
}

case ${1:-} in
  start) start "${2:?WEFT_WEBHOOK_BIN}" "${3:?STATE_DIR}" ;;
  stop) stop "${2:?STATE_DIR}" ;;
  *) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac
