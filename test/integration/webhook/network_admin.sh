#!/usr/bin/env bash
# Containers that could rewrite a meshed pod's capture rules (privileged, or
# adding NET_ADMIN, NET_RAW, SYS_ADMIN, ALL), against the real API server with
# the bundle's own registration (lib.sh): refused by default with the container,
# the privilege and how to allow it; in a namespace the configuration's
# podNetworkAdminAllowedNamespaces lists, admitted, counted and logged. The
# same for an ephemeral container added to an injected pod (an UPDATE of
# pods/ephemeralcontainers, which the registration sends to the webhook).
#   network_admin.sh WEBHOOK_BIN
set -euo pipefail
WEBHOOK_BIN=${1:?usage: network_admin.sh WEBHOOK_BIN}
export WEBHOOK_BIN
# shellcheck source=test/integration/webhook/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# refused WANT COMMAND...: the command fails with a message containing WANT.
refused() {
  local want=$1 out
  shift
  if out=$("$@" 2>&1); then fail "admitted, want refused with '$want': $out"; fi
  grep -qF -- "$want" <<<"$out" || fail "refused, but not with '$want': $out"
  echo "ok: refused: $want"
}

# add_ephemeral NS POD NAME CONTEXT_JSON: an ephemeral container, as kubectl debug adds it.
add_ephemeral() {
  local patch
  patch=$(jq -cn --arg name "$3" --argjson context "$4" \
    '{spec: {ephemeralContainers: [{name: $name, image: "busybox:1.36", securityContext: $context}]}}')
  k -n "$1" patch pod "$2" --subresource=ephemeralcontainers --type=strategic -p "$patch"
}

granted() { metric 'weft_webhook_opt_outs_total{kind="network_admin"}'; }

ns=$(new_namespace netadmin enabled)
allowed=$(new_namespace netadmin-allowed enabled)
jq -n --arg ns "$allowed" '{podNetworkAdminAllowedNamespaces: [$ns]}' >"$work/config.json"
start_and_register "$ns" --config="$work/config.json"

# Denied by default, whichever container and privilege.
pod_json cap | jq '.spec.containers[0].securityContext = {capabilities: {add: ["NET_ADMIN"]}}' |
  refused "container 'app' adds the capability NET_ADMIN" k -n "$ns" create -f -
pod_json raw | jq '.spec.containers[0].securityContext = {capabilities: {add: ["NET_RAW"]}}' |
  refused "podNetworkAdminAllowedNamespaces" k -n "$ns" create -f -
pod_json priv-init |
  jq '.spec.initContainers = [{name: "setup", image: "busybox:1.36", securityContext: {privileged: true}}]' |
  refused "init container 'setup' is privileged" k -n "$ns" create -f -
[[ $(granted) == 0 ]] || fail "a denied pod was counted as granted"

# Allowed where the configuration says, and then counted and logged.
pod_json netops | jq '.spec.containers[0].securityContext = {capabilities: {add: ["NET_ADMIN"]}}' |
  k -n "$allowed" create -f - >/dev/null || fail "the allowed namespace's pod was refused"
check_injected "$allowed" netops
[[ $(granted) == 1 ]] || fail "the grant was not counted: $(granted)"
jq -e -s --arg ns "$allowed" --arg value "container 'app': NET_ADMIN" \
  'any(.msg == "capture opt-out granted" and .kind == "network_admin"
       and .namespace == $ns and .value == $value)' "$webhook_log" >/dev/null ||
  fail "the grant was not logged"
echo "ok: allowed in $allowed: injected, counted, logged"

# Ephemeral containers added to an injected pod go through the webhook too.
pod_json plain | k -n "$ns" create -f - >/dev/null
check_injected "$ns" plain
refused "ephemeral container 'debugger' adds the capability NET_ADMIN" \
  add_ephemeral "$ns" plain debugger '{"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}}'
add_ephemeral "$ns" plain looker '{}' >/dev/null || fail "a plain ephemeral container was refused"
echo "ok: a plain ephemeral container is admitted"
add_ephemeral "$allowed" netops debugger '{"privileged": true}' >/dev/null ||
  fail "a privileged ephemeral container was refused in the allowed namespace"
[[ $(granted) -ge 2 ]] || fail "the ephemeral grant was not counted: $(granted)"
echo "ok: ephemeral containers reviewed: refused by default, granted and counted where allowed"

# Not meshed, nothing to protect: an opted-out pod keeps its privileges.
pod_json opted-out '{"weft.io/inject": "disabled"}' |
  jq '.spec.containers[0].securityContext = {privileged: true}' |
  k -n "$ns" create -f - >/dev/null || fail "an opted-out privileged pod was refused"
check_untouched "$ns" opted-out
echo "ok: an opted-out pod is not checked"

# The documented policy against an image's USER 2102 (docs/webhook.md, "What
# the webhook cannot see"), bound to this namespace only; it runs after the
# webhook, so it sees the injected containers and must let them be.
python3 - "$repo/docs/examples/no-proxy-uid-policy.yaml" "$ns" <<'PY' | k apply -f - >/dev/null
import json, sys, yaml
documents = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for d in documents:
    if d["kind"] == "ValidatingAdmissionPolicyBinding":
        d["spec"]["matchResources"]["namespaceSelector"] = {
            "matchLabels": {"kubernetes.io/metadata.name": sys.argv[2]}}
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}))
PY
objects+=("validatingadmissionpolicybinding/weft-no-proxy-uid" "validatingadmissionpolicy/weft-no-proxy-uid")
# The API server picks policies up asynchronously: wait until it refuses.
for _ in $(seq 1 60); do
  if ! pod_json probe-uid | k -n "$ns" create --dry-run=server -f - >/dev/null 2>&1; then break; fi
  sleep 0.5
done
pod_json no-user | refused "needs a runAsUser" k -n "$ns" create -f -
pod_json with-user | jq '.spec.securityContext = {runAsUser: 1000}' |
  k -n "$ns" create -f - >/dev/null || fail "a pod with runAsUser 1000 was refused by the policy"
check_injected "$ns" with-user
# Both expressions type-check against the Pod schema (a warning would mean one
# never denies anything).
warnings=$(k get validatingadmissionpolicy weft-no-proxy-uid \
  -o jsonpath='{.status.typeChecking.expressionWarnings}')
[ -z "$warnings" ] || fail "the policy's expressions do not type-check: $warnings"
# kubectl debug's way in: an ephemeral container without runAsUser, in a pod
# whose containers set theirs one by one (nothing for it to inherit).
pod_json own-user | jq '.spec.containers[0].securityContext.runAsUser = 1000' |
  k -n "$ns" create -f - >/dev/null || fail "a pod whose container runs as 1000 was refused"
k -n "$ns" get pod own-user -o json |
  jq '.spec.ephemeralContainers = [{name: "debugger", image: "busybox"}]' |
  refused "every ephemeral container of a meshed pod needs a runAsUser" \
    k -n "$ns" replace --subresource=ephemeralcontainers -f -
echo "ok: the documented policy refuses pods and ephemeral containers without runAsUser, admits and lets inject the others"

pass "a container that could undo capture is refused, or granted and counted"
