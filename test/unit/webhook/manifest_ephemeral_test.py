#!/usr/bin/env python3
"""The install bundle's MutatingWebhookConfiguration sends UPDATEs of
pods/ephemeralcontainers (kubectl debug) to both webhooks, so an ephemeral
container that could rewrite a meshed pod's capture rules is reviewed.

  manifest_ephemeral_test.py manifests/webhook.yaml
"""
import sys

import yaml

manifest = sys.argv[1]
config = next(d for d in yaml.safe_load_all(open(manifest))
              if d and d["kind"] == "MutatingWebhookConfiguration")
for webhook in config["webhooks"]:
    name = webhook["name"]
    reviewed = [r for r in webhook["rules"]
                if "pods/ephemeralcontainers" in r["resources"] and "UPDATE" in r["operations"]
                and r["apiGroups"] == [""] and "v1" in r["apiVersions"]]
    assert reviewed, f"{name}: UPDATE of pods/ephemeralcontainers is not sent to the webhook"
    creates = [r for r in webhook["rules"] if "pods" in r["resources"] and "CREATE" in r["operations"]]
    assert creates, f"{name}: pod CREATE is not sent to the webhook"
print("PASS: both webhooks review pod CREATE and UPDATE of pods/ephemeralcontainers")
