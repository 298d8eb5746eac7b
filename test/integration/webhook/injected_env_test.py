#!/usr/bin/env python3
"""The injected environment always starts: every form of the
config.weft.io/opaque-ports annotation the webhook accepts goes through the
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

# What the kubelet would resolve the fieldRef variables to.
FIELD_VALUES = {
    "metadata.name": "web-0",
    "metadata.namespace": "test",
    "spec.serviceAccountName": "default",
    "status.podIP": "127.0.0.1",
}


def review(opaque_ports):
    return {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": "test", "operation": "CREATE",
            "object": {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-0",
                             "annotations": {"config.weft.io/opaque-ports": opaque_ports}},
                "spec": {"containers": [{"name": "app", "image": "busybox"}]},
            },
        },
    }


def injected_env(opaque_ports):
    out = subprocess.run([INJECTED_ENV], input=json.dumps(review(opaque_ports)),
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
    finally:
        config.close()
    assert started == len(FORMS)
    print(f"PASS: {started} forms of opaque-ports start weft-proxy")


if __name__ == "__main__":
    main()
