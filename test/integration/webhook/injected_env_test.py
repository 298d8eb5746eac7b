#!/usr/bin/env python3
"""The injected environment always starts: every form of the
config.weft.io/opaque-ports annotation the webhook accepts, and of the app's
HTTP probes it hands on (WEFT_PROXY_INBOUND_PROBES), goes through the
webhook's real mutation (injected_env, the Injector on an AdmissionReview) and
the environment it writes into weft-proxy starts the real weft-proxy binary.

  injected_env_test.py INJECTED_ENV_BIN   (WEFT_PROXY_BINARY in the environment)
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "proxy"))
import harness  # noqa: E402

INJECTED_ENV = sys.argv[1]

# Every shape the annotation may take: single ports, ranges, both, spaces,
# the bounds, the whole range, and as many entries as a list may hold.
FORMS = [
    "3306",
    "8000-8100",
    "25,443,8000-8100",
    " 25 , 8000-8100 ",
    "1",
    "65535",
    "1-65535",
    "8000-8000",
    ",".join(str(port) for port in range(10000, 10064)),
]


def http_probe(port, path=None, scheme=None):
    get = {"port": port}
    if path is not None:
        get["path"] = path
    if scheme:
        get["scheme"] = scheme
    return {"httpGet": get, "periodSeconds": 5}


# Probe shapes whose routes the webhook writes: named ports, the default path,
# queries, commas, escapes and dot segments (which the proxy normalises), the
# longest path, and as many routes as a pod may have.
PROBE_FORMS = [
    [{"name": "app", "image": "busybox", "ports": [{"name": "http", "containerPort": 8080}],
      "readinessProbe": http_probe("http", "/ready?full=1&x=%2F"),
      "livenessProbe": http_probe(8080), "startupProbe": http_probe(8443, "/s", "HTTPS")}],
    [{"name": "app", "image": "busybox",
      "readinessProbe": http_probe(8080, "/a,b;c=d/../e%7Ef//g"),
      "livenessProbe": http_probe(9090, "/" + "a" * 255)}],
    [{"name": f"c{i}", "image": "busybox",
      "readinessProbe": http_probe(8000 + i, f"/r{i}"),
      "livenessProbe": http_probe(8000 + i, f"/l{i}")} for i in range(20)],
]

# What the kubelet would resolve the fieldRef variables to.
FIELD_VALUES = {
    "metadata.name": "web-0",
    "metadata.namespace": "test",
    "spec.serviceAccountName": "default",
    "status.podIP": "127.0.0.1",
}


def review(opaque_ports, containers=None):
    return {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": "test", "operation": "CREATE",
            "object": {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-0", "annotations": (
                    {} if opaque_ports is None
                    else {"config.weft.io/opaque-ports": opaque_ports})},
                "spec": {"containers": containers or [{"name": "app", "image": "busybox"}]},
            },
        },
    }


def injected_env(opaque_ports, containers=None):
    out = subprocess.run([INJECTED_ENV], input=json.dumps(review(opaque_ports, containers)),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, f"the webhook did not inject '{opaque_ports}': {out.stderr}"
    env = {}
    for variable in json.loads(out.stdout):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        else:
            env[variable["name"]] = FIELD_VALUES[variable["valueFrom"]["fieldRef"]["fieldPath"]]
    return env


def main():
    config = harness.MountedConfig()
    config.write(harness.document([]))
    started = 0
    try:
        for form in FORMS:
            env = injected_env(form)
            assert "WEFT_PROXY_OPAQUE_PORTS" in env, f"no opaque ports written for '{form}'"

            def start():
                # The injected environment as is; only the listeners move to free
                # loopback ports (flags win over the environment).
                proxy = harness.Proxy(config.path, env=env)
                proxy.stop()

            harness.run_test(start)
            started += 1
            print(f"ok: opaque-ports '{form}' -> WEFT_PROXY_OPAQUE_PORTS="
                  f"'{env['WEFT_PROXY_OPAQUE_PORTS'][:40]}': weft-proxy started")
        for containers in PROBE_FORMS:
            env = injected_env(None, containers)
            probes = env.get("WEFT_PROXY_INBOUND_PROBES", "")
            assert probes, f"no probes written for {containers}"

            def start_with_probes():
                proxy = harness.Proxy(config.path, env=env)
                proxy.stop()

            harness.run_test(start_with_probes)
            started += 1
            print(f"ok: {len(probes.split(' '))} probe routes -> WEFT_PROXY_INBOUND_PROBES="
                  f"'{probes[:60]}': weft-proxy started")
    finally:
        config.close()
    assert started == len(FORMS) + len(PROBE_FORMS)
    print(f"PASS: {len(FORMS)} forms of opaque-ports and {len(PROBE_FORMS)} of probes "
          "start weft-proxy")


if __name__ == "__main__":
    main()
