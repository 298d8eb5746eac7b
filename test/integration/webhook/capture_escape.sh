#!/usr/bin/env bash
# No pod leaves the mesh unseen, against the real API server with the bundle's
# own registration (lib.sh): the control-plane label does not skip review;
# containers named weft-proxy/weft-init are reserved (made up or tampered ones
# are denied, a copy of an injected pod as the API server stored it is
# admitted: the injection seal and the injected volumes and mounts survive the
# server's defaulting, and a copy with them changed is denied); wide skips
# and the proxy's UID are denied; granted opt-outs are counted.
#   capture_escape.sh WEBHOOK_BIN
set -euo pipefail
WEBHOOK_BIN=${1:?usage: capture_escape.sh WEBHOOK_BIN}
export WEBHOOK_BIN
# shellcheck source=test/integration/webhook/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# refused NS WANT: the pod JSON on stdin is refused with a message containing WANT.
refused() {
  local ns=$1 want=$2 out
  if out=$(k -n "$ns" create -f - 2>&1); then fail "admitted, want refused with '$want': $out"; fi
  grep -qF -- "$want" <<<"$out" || fail "refused, but not with '$want': $out"
  echo "ok: refused: $want"
}

ns=$(new_namespace escape enabled)
start_and_register "$ns"

# The label Weft's own pods carry exempts nothing outside weft-system.
pod_json labelled | jq '.metadata.labels = {"weft.io/control-plane-component": "webhook"}' |
  k -n "$ns" create -f - >/dev/null
check_injected "$ns" labelled
echo "ok: a pod labelled weft.io/control-plane-component is injected"

# Made-up containers with the reserved names.
pod_json fake-proxy | jq '.spec.containers += [{name: "weft-proxy", image: "busybox:1.36"}]' |
  refused "$ns" "reserved for the injection"
pod_json fake-init | jq '.spec.initContainers = [{name: "weft-init", image: "busybox:1.36"}]' |
  refused "$ns" "a weft-init but no weft-proxy"

# A copy of the injected pod as the API server stored it (defaults filled in):
# the seal still matches, nothing is added twice.
stored=$(k -n "$ns" get pod labelled -o json |
  jq 'del(.metadata.uid, .metadata.resourceVersion, .metadata.creationTimestamp,
          .metadata.managedFields, .metadata.generation, .status, .spec.nodeName)')
skipped_before=$(metric 'weft_webhook_reviews_total{result="skipped"}')
jq '.metadata.name = "copy"' <<<"$stored" | k -n "$ns" create -f - >/dev/null ||
  fail "a copy of an injected pod was refused"
check_injected "$ns" copy
[[ $(metric 'weft_webhook_reviews_total{result="skipped"}') -gt $skipped_before ]] ||
  fail "the copy was not taken as already injected"
echo "ok: a copy of an injected pod is admitted unchanged"

# The same copy with its capture weakened.
jq '.metadata.name = "tampered" | .spec.initContainers[0].args += ["--skip-inbound-ports", "1-65535"]' \
  <<<"$stored" | refused "$ns" "changed after injection"
jq '.metadata.name = "swapped" | .spec.initContainers[1].image = "busybox:1.36"' <<<"$stored" |
  refused "$ns" "changed after injection"
# ...or the volumes the seal does not cover: the proxy's labels from the
# author's ConfigMap, its configuration from one that does not exist, a mount
# over its labels file.
jq '.metadata.name = "relabelled" | (.spec.volumes[] | select(.name == "weft-podinfo")) |=
      {name: "weft-podinfo", configMap: {name: "chosen-labels"}}' <<<"$stored" |
  refused "$ns" "its volume weft-podinfo is not the one the webhook injects"
jq '.metadata.name = "unconfigured" | .spec.automountServiceAccountToken = false |
    (.spec.volumes[] | select(.name == "weft-proxy-config")) |=
      {name: "weft-proxy-config", configMap: {name: "missing", optional: true}}' <<<"$stored" |
  refused "$ns" "its volume weft-proxy-config is not the one the webhook injects"
jq '.metadata.name = "shadowed" | .spec.volumes += [{name: "mine", emptyDir: {}}] |
    (.spec.initContainers[] | select(.name == "weft-proxy") | .volumeMounts) +=
      [{name: "mine", mountPath: "/var/run/weft/podinfo/labels", subPath: "labels"}]' <<<"$stored" |
  refused "$ns" "the volumeMounts of its weft-proxy are not the ones the webhook injects"

# Wide skips need the cluster's allow-list; narrow ones are granted and counted.
pod_json wide '{"config.weft.io/skip-inbound-ports": "1-65535"}' |
  refused "$ns" "podSkipAllowedInboundPorts"
pod_json everywhere '{"config.weft.io/skip-subnets": "0.0.0.0/0"}' |
  refused "$ns" "podSkipAllowedSubnets"
granted_before=$(metric 'weft_webhook_opt_outs_total{kind="skip_subnets"}')
pod_json narrow '{"config.weft.io/skip-subnets": "10.9.0.0/24"}' | k -n "$ns" create -f - >/dev/null ||
  fail "a narrow skip was refused"
[[ $(metric 'weft_webhook_opt_outs_total{kind="skip_subnets"}') -gt $granted_before ]] ||
  fail "the granted skip was not counted"
grep -q '"capture opt-out granted"' "$webhook_log" || fail "the granted skip was not logged"
echo "ok: wide skips refused; a narrow one granted, counted and logged"

# An app running as the proxy's UID would bypass outbound capture.
pod_json as-proxy | jq '.spec.securityContext = {runAsUser: 2102}' |
  refused "$ns" "runs as UID 2102, the proxy's UID"

pass "no way out of capture without an explicit, counted choice"
