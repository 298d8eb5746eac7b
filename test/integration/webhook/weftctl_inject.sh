#!/usr/bin/env bash
# weftctl inject against the real API server and the real webhook: the pods of
# the unit tests' real-world manifests (test/unit/weftctl/testdata/inject),
# created with a server-side dry run, are the same whether the webhook injects
# them at admission (weftctl inject's default output, or a namespace labelled
# for injection) or weftctl inject --manual injected them beforehand, which the
# webhook must then verify and leave alone (it refuses a pod whose proxy is not
# the one it would inject). weftctl --manual reads the webhook's configuration
# from a ConfigMap and the sidecar mode from the API server, as in a cluster.
#
# usage: weftctl_inject.sh WEBHOOK_BIN WEFTCTL_BIN   (KUBECONFIG, KUBECTL as lib.sh)
set -euo pipefail
WEBHOOK_BIN=${1:?usage: weftctl_inject.sh WEBHOOK_BIN WEFTCTL_BIN}
WEFTCTL_BIN=${2:?usage: weftctl_inject.sh WEBHOOK_BIN WEFTCTL_BIN}
export WEBHOOK_BIN
# shellcheck source=test/integration/webhook/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fixtures=$repo/test/unit/weftctl/testdata/inject

opt_in=$(new_namespace weftctl-opt-in)
enabled=$(new_namespace weftctl-enabled enabled)

# The webhook's configuration, as the bundle gives it (a ConfigMap); sidecarMode
# auto, so both ask the API server's version.
cat >"$work/config.json" <<'JSON'
{"proxyVersion": "v0.1.0-it", "sidecarMode": "auto", "skipSubnets": "169.254.169.254/32",
 "proxyResources": {"cpuRequest": "50m", "cpuLimit": "1", "memoryRequest": "32Mi", "memoryLimit": "128Mi"}}
JSON
k -n "$opt_in" create configmap webhook-config --from-file=config.json="$work/config.json" >/dev/null
start_and_register "$enabled" --config="$work/config.json"

# workloads NS: every object with a pod template in the fixtures, moved to NS
# (kind, name and template kept), as one YAML stream.
workloads() {
  python3 - "$fixtures" "$1" <<'PY'
import json, os, sys, yaml
folder, ns = sys.argv[1:]
kinds = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
         "Job", "CronJob"}
def documents(path):
    text = open(path).read()
    if path.endswith(".json"):
        decoder, at = json.JSONDecoder(), 0
        while text[at:].strip():
            value, end = decoder.raw_decode(text[at:].lstrip())
            at = len(text) - len(text[at:].lstrip()) + end
            yield value
    else:
        yield from (d for d in yaml.safe_load_all(text) if d)
def flatten(document):
    if document.get("kind", "").endswith("List"):
        for item in document.get("items", []):
            yield from flatten(item)
    else:
        yield document
out = []
for name in sorted(os.listdir(folder)):
    for document in documents(os.path.join(folder, name)):
        for item in flatten(document):
            api = item.get("apiVersion", "")
            if item.get("kind") in kinds and ("/" not in api or api.split("/")[0] in ("apps", "batch")):
                item["metadata"]["namespace"] = ns
                out.append(item)
# Every string double-quoted: PyYAML writes "0o17" plain, which kubectl (and
# weftctl) read as a number.
print(yaml.safe_dump_all(out, sort_keys=False, default_style='"'), end="")
PY
}

# pods FILE: the pods the workloads of FILE (a YAML stream) would create, as a
# List named in document order (a StatefulSet's claims become emptyDirs, as
# for both sides alike).
pods() {
  python3 - "$1" <<'PY'
import json, sys, yaml
items = []
for index, workload in enumerate(d for d in yaml.safe_load_all(open(sys.argv[1])) if d):
    kind = workload["kind"]
    if kind == "Pod":
        template = {"metadata": workload.get("metadata", {}), "spec": workload["spec"]}
    elif kind == "CronJob":
        template = workload["spec"]["jobTemplate"]["spec"]["template"]
    else:
        template = workload["spec"]["template"]
    metadata = dict(template.get("metadata") or {})
    metadata["name"] = f"p{index:02d}-{kind.lower()}"
    metadata["namespace"] = workload["metadata"]["namespace"]
    metadata.pop("generateName", None)
    spec = dict(template["spec"])
    claims = [c["metadata"]["name"] for c in workload.get("spec", {}).get("volumeClaimTemplates", [])]
    if claims:
        spec["volumes"] = (spec.get("volumes") or []) + [{"name": c, "emptyDir": {}} for c in claims]
    items.append({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
}

# created NAME FILE: the pods of FILE as the API server admits them (dry run).
created() {
  pods "$2" >"$work/$1.pods.json"
  k create --dry-run=server -o json -f "$work/$1.pods.json" >"$work/$1.created.json" ||
    fail "the API server refused the pods of $1"
}

# service_accounts NS: the ones the fixtures' pods name.
for ns in "$opt_in" "$enabled"; do
  for sa in release-name-nginx release-name-redis fluent-bit; do
    k -n "$ns" create serviceaccount "$sa" >/dev/null
  done
done

# compare A B [IGNORED_ANNOTATION]: the admitted pods of A and B are the same
# (spec, labels, annotations), and enough of them carry the proxy for the
# comparison to mean something.
compare() {
  python3 - "$work/$1.created.json" "$work/$2.created.json" "${3:-}" <<'PY' ||
import json, re, sys
first, second, ignored = sys.argv[1:]
def comparable(value):
    # The API token's volume is named at random per pod; and the API server's
    # ServiceAccount admission adds it before the webhook adds its volumes but
    # after the volumes of a manifest injected beforehand: volumes are compared
    # by name (their order means nothing to the kubelet).
    value = json.loads(re.sub(r"kube-api-access-[a-z0-9]+", "kube-api-access", json.dumps(value)))
    value["spec"]["volumes"] = sorted(value["spec"].get("volumes", []), key=lambda v: v["name"])
    return value
def pods(path):  # kubectl -o json writes one object after another (or a List)
    text, decoder, items = open(path).read(), json.JSONDecoder(), []
    while text.strip():
        value, end = decoder.raw_decode(text.lstrip())
        text = text.lstrip()[end:]
        items += value["items"] if value.get("kind") == "List" else [value]
    out = {}
    for pod in items:
        annotations = dict(pod["metadata"].get("annotations") or {})
        annotations.pop(ignored, None)
        out[pod["metadata"]["name"]] = comparable({"spec": pod["spec"], "annotations": annotations,
                                                   "labels": pod["metadata"].get("labels")})
    return out
a, b = pods(first), pods(second)
assert a.keys() == b.keys(), f"different pods: {sorted(a.keys() ^ b.keys())}"
def differences(x, y, path=""):
    if isinstance(x, dict) and isinstance(y, dict):
        for key in sorted(x.keys() | y.keys()):
            yield from differences(x.get(key), y.get(key), f"{path}/{key}")
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (u, v) in enumerate(zip(x, y)):
            yield from differences(u, v, f"{path}/{i}")
    elif x != y:
        yield f"{path}: {json.dumps(x)} != {json.dumps(y)}"
different = [name for name in a if a[name] != b[name]]
for name in different:
    print(f"{name}: " + "; ".join(list(differences(a[name], b[name]))[:5]), file=sys.stderr)
injected = [name for name in a
            if any(c["name"] == "weft-proxy" for c in a[name]["spec"].get("initContainers", []) +
                   a[name]["spec"]["containers"])]
assert not different, f"{len(different)} of {len(a)} pods differ"
assert len(injected) >= 15, f"only {len(injected)} of {len(a)} pods got the proxy"
print(f"{len(a)} pods alike, {len(injected)} with the proxy")
PY
    fail "the pods of $1 and $2 differ"
}

for ns in "$opt_in" "$enabled"; do
  workloads "$ns" >"$work/$ns.yaml"
  "$WEFTCTL_BIN" inject -n "$ns" -f "$work/$ns.yaml" >"$work/$ns.annotated.yaml" 2>"$work/$ns.annotate.log" ||
    fail "weftctl inject failed: $(cat "$work/$ns.annotate.log")"
  "$WEFTCTL_BIN" inject --manual --webhook-config-map "$opt_in/webhook-config" -n "$ns" \
    -f "$work/$ns.yaml" >"$work/$ns.manual.yaml" 2>"$work/$ns.manual.log" ||
    fail "weftctl inject --manual failed: $(cat "$work/$ns.manual.log")"
  grep -q ': injected$' "$work/$ns.manual.log" || fail "weftctl --manual injected nothing"
  created "$ns.annotated" "$work/$ns.annotated.yaml"
  created "$ns.manual" "$work/$ns.manual.yaml"
  compare "$ns.annotated" "$ns.manual"
done
pass "opt-in and labelled namespaces: annotate-only output injected by the webhook = --manual output"

# A labelled namespace injects the original manifests too: the same pods but
# for the opt-in annotation inject adds.
created "$enabled.original" "$work/$enabled.yaml"
compare "$enabled.original" "$enabled.manual" weft.io/inject
pass "labelled namespace: the untouched manifests injected by the webhook = --manual output"

# The webhook verified the pre-injected pods rather than injecting them again:
# skips counted for every injected pod of the --manual runs.
skipped=$(metric 'weft_webhook_reviews_total{result="skipped"}')
((${skipped%.*} >= 30)) || fail "the webhook skipped only ${skipped:-0} reviews"
# uninject gives the workloads back (as YAML reads them).
"$WEFTCTL_BIN" uninject -f "$work/$opt_in.manual.yaml" >"$work/uninjected.yaml" 2>/dev/null
python3 - "$work/$opt_in.yaml" "$work/uninjected.yaml" <<'PY' || fail "uninject did not give the workloads back"
import sys, yaml
# Kubernetes reads null and {} members as absent; a template opted in already
# loses weft.io/inject: enabled to uninject too (docs/weftctl.md).
def kept(value):
    if isinstance(value, list):
        return [kept(v) for v in value]
    if isinstance(value, dict):
        return {k: kept(v) for k, v in value.items()
                if v is not None and kept(v) != {} and k != "weft.io/inject"}
    return value
a, b = (kept(list(yaml.safe_load_all(open(p)))) for p in sys.argv[1:])
assert a == b, "differ"
PY
pass "pre-injected pods verified and skipped by the webhook ($skipped skips); uninject reverses"
