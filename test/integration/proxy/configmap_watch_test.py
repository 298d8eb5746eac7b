#!/usr/bin/env python3
"""weft-proxy follows its ConfigMap through the real apiserver, with a
service-account token that may read exactly that ConfigMap (what the operator
grants), and applies a change within seconds (the kubelet's file update takes
up to a minute). Needs the `cluster` fixture: KUBECONFIG and KUBECTL."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

from harness import Backend, Proxy, document, request, service, wait_until

KUBECTL = os.environ.get("KUBECTL", "kubectl")
SERVICE_IP = "10.96.0.10"


def kubectl(*args, stdin=None, check=True):
    result = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True,
                            timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}")
    return result


def apply_config_map(namespace, text):
    config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "weft-proxy-config", "namespace": namespace},
                  "data": {"config.json": text}}
    kubectl("apply", "-f", "-", stdin=json.dumps(config_map))


def token_kubeconfig(namespace, directory):
    """A kubeconfig for the service account `app`, which may only get, list and
    watch the ConfigMap weft-proxy-config of its namespace."""
    for manifest in (
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "app", "namespace": namespace}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "weft-proxy-config-reader", "namespace": namespace},
         "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                    "resourceNames": ["weft-proxy-config"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "weft-proxy-config-reader", "namespace": namespace},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": "weft-proxy-config-reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": namespace}]},
    ):
        kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    token = kubectl("-n", namespace, "create", "token", "app", "--duration", "1h").stdout.strip()
    admin = json.loads(kubectl("config", "view", "--raw", "--minify", "-o", "json").stdout)
    cluster = admin["clusters"][0]["cluster"]
    ca_path = os.path.join(directory, "ca.crt")
    with open(ca_path, "wb") as f:
        f.write(base64.b64decode(cluster["certificate-authority-data"]))
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "app",
        "clusters": [{"name": "c", "cluster": {"server": cluster["server"],
                                               "certificate-authority": ca_path}}],
        "users": [{"name": "app", "user": {"token": token}}],
        "contexts": [{"name": "app", "context": {"cluster": "c", "user": "app",
                                                 "namespace": namespace}}],
    }
    path = os.path.join(directory, "kubeconfig")
    with open(path, "w") as f:
        json.dump(config, f)
    return path


def main():
    namespace = "weft-proxy-watch-" + uuid.uuid4().hex[:8]
    kubectl("create", "namespace", namespace)
    a, b = Backend("a"), Backend("b")
    directory = tempfile.mkdtemp(prefix="weft-proxy-watch-")
    proxy = None
    try:
        kubeconfig = token_kubeconfig(namespace, directory)
        # The token reads that ConfigMap and nothing else.
        denied = kubectl("--kubeconfig", kubeconfig, "-n", namespace, "get", "configmap",
                         "kube-root-ca.crt", check=False)
        assert denied.returncode != 0 and "forbidden" in denied.stderr, denied
        apply_config_map(namespace, document(
            [service("web", SERVICE_IP, 80, [("127.0.0.1", a.port)])], namespace))
        # No mounted file (the kubelet has not written it yet): the watch alone configures.
        proxy = Proxy("/nonexistent/config.json", "--kube-watch", "on",
                      "--kubeconfig", kubeconfig, "--pod-namespace", namespace,
                      "--outbound-fallback", f"{SERVICE_IP}:80")
        wait_until(lambda: request(proxy.outbound, "/")[2] == b"a", timeout=20,
                   what="the first document from the watch")

        apply_config_map(namespace, document(
            [service("web", SERVICE_IP, 80, [("127.0.0.1", b.port)])], namespace))
        started = time.monotonic()
        wait_until(lambda: request(proxy.outbound, "/")[2] == b"b", timeout=10,
                   interval=0.02, what="the update from the watch")
        elapsed = time.monotonic() - started
        print(f"update applied {elapsed * 1000:.0f} ms after kubectl apply returned")
        assert proxy.metric("config_reload_total", source="api", result="accepted") == 2

        apply_config_map(namespace, '{"version": 2}')  # refused; b keeps serving
        wait_until(lambda: proxy.metric("config_reload_total", source="api",
                                        result="refused") == 1, what="the refusal")
        assert request(proxy.outbound, "/")[2] == b"b"
        kubectl("-n", namespace, "delete", "configmap", "weft-proxy-config")
        time.sleep(0.5)
        assert request(proxy.outbound, "/")[2] == b"b"  # deletion keeps the last good one
        print("proxy.configmap_watch: passed")
    finally:
        if proxy:
            proxy.stop()
        a.close()
        b.close()
        kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        shutil.rmtree(directory, ignore_errors=True)  # it holds a token


if __name__ == "__main__":
    main()
