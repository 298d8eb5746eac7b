#!/usr/bin/env bash
# weftctl inject on the real node with Weft installed: one Deployment, applied
# with kubectl apply twice, in two namespaces neither labelled for injection:
# once as `weftctl inject` writes it by default (opted in: the webhook injects
# its pods at admission), once as `weftctl inject --manual` writes it (the
# webhook's configuration read from the cluster: the proxy is in the manifest,
# the webhook verifies it and leaves the pods alone). Both roll out with a
# ready proxy, and their pods are identical but for what names them.
#
# usage: inject_test.sh WEFTCTL_BIN
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"
skip_unless_root
weftctl=${1:?usage: inject_test.sh WEFTCTL_BIN}

work=$(mktemp -d)
by_webhook=weftctl-webhook-$$
by_weftctl=weftctl-manual-$$
cleanup() {
  k delete namespace "$by_webhook" "$by_weftctl" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
for ns in "$by_webhook" "$by_weftctl"; do
  k create namespace "$ns" >/dev/null
  # weft-init runs as root with NET_ADMIN (docs/install.md).
  k label namespace "$ns" pod-security.kubernetes.io/enforce=privileged >/dev/null
done

# A Helm-style manifest: comments, a Service the injection leaves alone.
cat >"$work/app.yaml" <<YAML
---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 8080}
---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: $E2E_IMAGE
          # As PID 1, httpd would ignore SIGTERM; the shell exits on it at once.
          command: ["/bin/sh", "-c", "trap 'exit 0' TERM; echo hello >/www/index.html && /bin/busybox httpd -f -p 8080 -h /www & wait"]
          ports:
            - {name: http, containerPort: 8080}
          readinessProbe:
            httpGet: {path: /, port: 8080}
            periodSeconds: 2
          volumeMounts:
            - {name: www, mountPath: /www}
      volumes:
        - {name: www, emptyDir: {}}
YAML

"$weftctl" inject -f "$work/app.yaml" >"$work/annotated.yaml" 2>"$work/annotate.log" ||
  fail "weftctl inject: $(cat "$work/annotate.log")"
"$weftctl" inject --manual -f "$work/app.yaml" >"$work/manual.yaml" 2>"$work/manual.log" ||
  fail "weftctl inject --manual: $(cat "$work/manual.log")"
grep -q "Deployment web: injected" "$work/manual.log" || fail "--manual did not inject: $(cat "$work/manual.log")"
# The Service document comes back byte for byte in both.
for output in annotated manual; do
  python3 - "$work/app.yaml" "$work/$output.yaml" <<'PY' || fail "$output: the Service document changed"
import sys
first, second = (open(p).read().split("---\n")[1] for p in sys.argv[1:])
assert first == second
PY
done

k -n "$by_webhook" apply -f "$work/annotated.yaml" >/dev/null || fail "kubectl apply of inject's output"
k -n "$by_weftctl" apply -f "$work/manual.yaml" >/dev/null || fail "kubectl apply of inject --manual's output"
for ns in "$by_webhook" "$by_weftctl"; do
  k -n "$ns" rollout status deployment/web --timeout=180s >/dev/null ||
    fail "$ns: web not rolled out: $(k -n "$ns" get pods -o wide 2>&1)"
done

pod_of() { k -n "$1" get pods -l app=web -o json | jq '.items[0]'; }
pod_of "$by_webhook" >"$work/by_webhook.json"
pod_of "$by_weftctl" >"$work/by_weftctl.json"
python3 - "$work/by_webhook.json" "$work/by_weftctl.json" <<'PY' || fail "the pods differ"
import json, re, sys
def comparable(path):
    pod = json.load(open(path))
    # What names the pod and its API token volume (random per pod), and the
    # template hash (the two templates differ: one carries the proxy).
    text = re.sub(r"kube-api-access-[a-z0-9]+", "kube-api-access", json.dumps(pod))
    pod = json.loads(text)
    labels = dict(pod["metadata"]["labels"])
    labels.pop("pod-template-hash", None)
    spec = pod["spec"]
    # The API server's ServiceAccount admission adds the token volume before
    # the webhook adds its own, and after volumes already in the manifest.
    spec["volumes"] = sorted(spec["volumes"], key=lambda v: v["name"])
    return {"spec": spec, "labels": labels, "annotations": pod["metadata"].get("annotations"),
            "ready": [(s["name"], s["ready"]) for s in pod["status"].get("initContainerStatuses", []) +
                      pod["status"]["containerStatuses"] if s["name"] != "weft-init"]}
a, b = comparable(sys.argv[1]), comparable(sys.argv[2])
def differences(x, y, path=""):
    if isinstance(x, dict) and isinstance(y, dict):
        for key in sorted(x.keys() | y.keys()):
            yield from differences(x.get(key), y.get(key), f"{path}/{key}")
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (u, v) in enumerate(zip(x, y)):
            yield from differences(u, v, f"{path}/{i}")
    elif x != y:
        yield f"{path}: {json.dumps(x)} != {json.dumps(y)}"
found = list(differences(a, b))
assert not found, "\n".join(found)
names = [c["name"] for c in a["spec"].get("initContainers", [])]
assert names[:2] == ["weft-init", "weft-proxy"], names
assert all(ready for _, ready in a["ready"]), a["ready"]
print("pods identical:", ", ".join(f"{n} ready" for n, _ in a["ready"]))
PY
# Applied again, the pre-injected Deployment does not change (idempotent output).
"$weftctl" inject --manual -f "$work/manual.yaml" 2>/dev/null | cmp -s - "$work/manual.yaml" ||
  fail "inject --manual of its own output changed it"
echo "PASS: inject's output and inject --manual's give identical, ready pods"
