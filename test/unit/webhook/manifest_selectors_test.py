#!/usr/bin/env python3
"""The install bundle's MutatingWebhookConfiguration: only the namespace exempts
Weft's control plane, never a label a pod can set on itself.

  manifest_selectors_test.py manifests/webhook.yaml
"""
import sys

import yaml

manifest = sys.argv[1]
config = next(d for d in yaml.safe_load_all(open(manifest))
              if d and d["kind"] == "MutatingWebhookConfiguration")
assert len(config["webhooks"]) == 2, "expected the namespace and the pod opt-in webhooks"
for webhook in config["webhooks"]:
    name = webhook["name"]
    # An objectSelector is matched against labels the pod's author writes.
    assert "objectSelector" not in webhook, f"{name}: objectSelector lets pods skip review"
    excluded = [e for e in webhook["namespaceSelector"]["matchExpressions"]
                if e["key"] == "kubernetes.io/metadata.name" and e["operator"] == "NotIn"]
    assert len(excluded) == 1 and sorted(excluded[0]["values"]) == ["kube-system", "weft-system"], \
        f"{name}: the system namespaces, and only they, are exempt: {excluded}"
    for condition in webhook.get("matchConditions", []):
        assert "labels" not in condition["expression"], f"{name}: a label decides {condition}"
print("PASS: the webhook configuration exempts only kube-system and weft-system")
