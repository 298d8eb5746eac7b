#!/usr/bin/env bash
# docs/install.md's registry overlay, rendered by the pinned kubectl's kustomize
# over this tree's manifests/: the webhook's injection settings differ from the
# release's in the two images only (the proxy's resource settings kept), and the
# Deployments use the registry. Fails when manifests/ and the doc drift apart.
set -euo pipefail
kubectl=${KUBECTL:?KUBECTL is not set}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/vendor/weft" && cp -r "$repo/manifests" "$dir/vendor/weft/"
awk '/^  # kustomization.yaml/{on=1} on && /^  ```/{exit} on' "$repo/docs/install.md" | sed 's/^  //' >"$dir/kustomization.yaml"
"$kubectl" kustomize "$dir" >"$dir/out.yaml"
python3 - "$dir/out.yaml" "$repo/manifests/webhook.yaml" <<'PY'
import json, sys, yaml
out = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
src = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(open(sys.argv[2])) if d}
got = json.loads(out[("ConfigMap", "weft-webhook-config")]["data"]["config.json"])
want = json.loads(src[("ConfigMap", "weft-webhook-config")]["data"]["config.json"])
changed = {k for k in set(got) | set(want) if got.get(k) != want.get(k)}
print("rendered config:", json.dumps(got))
print("keys changed from the release:", sorted(changed))
assert changed == {"proxyImage", "initImage"}, changed
assert got["proxyResources"] == want["proxyResources"]
image = out[("Deployment", "weft-webhook")]["spec"]["template"]["spec"]["containers"][0]["image"]
assert image.startswith("registry.example.com/"), image
print("OK: only the two images changed; proxyResources kept:", got["proxyResources"])
PY
