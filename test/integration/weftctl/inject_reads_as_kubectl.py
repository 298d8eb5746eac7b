#!/usr/bin/env python3
"""weftctl inject reads manifests as kubectl does, or refuses them.

kubectl_decode/ is kubectl's own stream decoder (k8s.io/apimachinery's
NewYAMLOrJSONDecoder, the version pinned in its go.mod), built here with Go
(modules through the Go module proxy, or its cache). Every manifest below goes
through `weftctl inject`; when weftctl accepts it, kubectl must read from the
output a pod template with `weft.io/inject: enabled` in every workload, and
the same objects as from the input but for that annotation. A document
weftctl passes through unchanged that kubectl reads as an unannotated
Deployment (a merge key, a !!binary tag) fails the test.

    inject_reads_as_kubectl.py WEFTCTL"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(HERE, "..", "..", "unit", "weftctl", "testdata", "inject")
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod",
             "ReplicationController", "CronJob"}
GROUPS = {"", "apps", "batch", "extensions"}  # of the built-in workloads (not a CRD's Deployment)
SYSTEM = {"kube-system", "weft-system"}

TEMPLATE = """apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: shop}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata:
      labels: {app: a}
%s
    spec: {containers: [{name: c, image: b}]}
"""

# Each read differently by yaml-cpp and go-yaml if taken naively.
HOSTILE = {
    "merge-after-kind": "apiVersion: v1\nkind: ConfigMap\n<<: {apiVersion: apps/v1, kind: Deployment}\n"
                        "metadata: {name: sneaky}\nspec:\n  selector: {matchLabels: {app: s}}\n"
                        "  template:\n    metadata: {labels: {app: s}}\n"
                        "    spec: {containers: [{name: c, image: busybox}]}\n",
    "merge-over-template": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: m}\n"
                           "spec:\n  template:\n    metadata: {annotations: {weft.io/inject: enabled}}\n"
                           "  <<: {template: {metadata: {labels: {app: m}}, "
                           "spec: {containers: [{name: c, image: b}]}}}\n",
    "tagged-merge": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t}\n"
                    "!!merge <<: {kind: Deployment}\n",
    "binary-api-version": "apiVersion: !!binary YXBwcy92MQ==\nkind: Deployment\nmetadata: {name: b}\n"
                          "spec:\n  template:\n    spec: {containers: [{name: c, image: b}]}\n",
    "timestamp-tag": TEMPLATE % "      annotations: {at: !!timestamp 2020-01-01}",
    "set-tag": TEMPLATE % "      annotations: !!set {a, b}",
    "yaml11-keys": TEMPLATE % "      annotations: {y: a, 0x1f: b, 0644: c, \"on\": d}",
    # Outside the pod template (annotations must be strings): the object is
    # rewritten, so kubectl reads these as weftctl resolved them.
    "typed-scalars": TEMPLATE % "      annotations: {}" + "extra: {a: !!str 12, b: !!int \"12\", c: yes, "
                                                    "d: 0644, e: 1_000, f: ~, g: 2020-01-01, h: 0x1f}\n",
    "merge-then-override": TEMPLATE % "      annotations: {<<: {a: \"1\", b: \"2\"}, b: \"3\"}",
    "merge-list": TEMPLATE % "      annotations: {<<: [{a: \"1\"}, {a: \"2\", c: \"3\"}]}",
}


def build_decoder(directory):
    binary = os.path.join(directory, "kubectl-decode")
    env = dict(os.environ, GOFLAGS="-mod=mod", CGO_ENABLED="0")
    subprocess.run(["go", "build", "-o", binary, "."], cwd=os.path.join(HERE, "kubectl_decode"),
                   env=env, check=True)
    return binary


def kubectl_reads(decoder, text):
    run = subprocess.run([decoder], input=text, capture_output=True, text=True)
    if run.returncode != 0:
        return None  # kubectl refuses it too
    return [json.loads(line) for line in run.stdout.splitlines()]


def group_of(o):
    api_version = o.get("apiVersion") if isinstance(o.get("apiVersion"), str) else ""
    return api_version.rpartition("/")[0]


def workloads_of(objects):
    for o in objects:
        if o.get("kind", "").endswith("List") and isinstance(o.get("items"), list):
            yield from workloads_of(o["items"])
        elif o.get("kind") in WORKLOADS and group_of(o) in GROUPS:
            yield o


def template_of(o):
    if o["kind"] == "Pod":
        return o
    if o["kind"] == "CronJob":
        return o.get("spec", {}).get("jobTemplate", {}).get("spec", {}).get("template", {})
    return o.get("spec", {}).get("template", {})


def without_opt_in(objects):
    objects = json.loads(json.dumps(objects))
    for o in workloads_of(objects):
        template = template_of(o)
        metadata = template.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        if annotations.get("weft.io/inject") == "enabled":
            del annotations["weft.io/inject"]
        # None, empty or null: the same to Kubernetes.
        if not annotations:
            metadata.pop("annotations", None)
        if not metadata:
            template.pop("metadata", None)
    return objects


def check(weftctl, decoder, name, text):
    run = subprocess.run([weftctl, "inject"], input=text, capture_output=True, text=True)
    if run.returncode != 0:
        return "refused"
    before, after = kubectl_reads(decoder, text), kubectl_reads(decoder, run.stdout)
    if before is None:  # kubectl refuses the input (a %YAML directive): the output too
        assert after is None, (name, run.stdout)
        return "kubectl refuses"
    assert after is not None, (name, run.stdout)
    assert without_opt_in(before) == without_opt_in(after), (name, before, after)
    for o in workloads_of(after):
        annotations = (template_of(o).get("metadata") or {}).get("annotations") or {}
        opted_out = annotations.get("weft.io/inject") == "disabled"
        system = (o.get("metadata") or {}).get("namespace") in SYSTEM
        host = (template_of(o).get("spec") or {}).get("hostNetwork") is True
        assert opted_out or system or host or annotations.get("weft.io/inject") == "enabled", \
            (name, "kubectl reads an unannotated workload weftctl passed through", o)
    return "read alike"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    weftctl = sys.argv[1]
    with tempfile.TemporaryDirectory() as directory:
        decoder = build_decoder(directory)
        cases = dict(HOSTILE)
        for fixture in sorted(os.listdir(TESTDATA)):
            with open(os.path.join(TESTDATA, fixture), newline="") as f:
                cases["fixture " + fixture] = f.read()
        outcomes = {name: check(weftctl, decoder, name, text) for name, text in cases.items()}
    for name, outcome in outcomes.items():
        print(f"{outcome:10} {name}")
    # What weftctl cannot read as kubectl does is refused; the rest is taken.
    for name in ("merge-after-kind", "merge-over-template", "tagged-merge", "binary-api-version",
                 "timestamp-tag", "set-tag"):
        assert outcomes[name] == "refused", name
    for name in ("yaml11-keys", "typed-scalars", "merge-then-override", "merge-list"):
        assert outcomes[name] == "read alike", name
    assert all(outcomes[n] != "refused" for n in outcomes if n.startswith("fixture")), outcomes
    print("PASS")


if __name__ == "__main__":
    main()
