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
import urllib.parse
import uuid

from harness import Backend, MountedConfig, Proxy, document, request, service, wait_until

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


def service_account_dir(namespace, directory):
    """What the kubelet mounts into a pod of the service account `app`, which may
    only get and watch the ConfigMap weft-proxy-config of its namespace (the
    operator's Role, operator/namespace_plan.cpp):
    token, ca.crt and namespace. Returns (directory, token, server URL)."""
    for manifest in (
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "app", "namespace": namespace}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "weft-proxy-config-reader", "namespace": namespace},
         "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                    "resourceNames": ["weft-proxy-config"], "verbs": ["get", "watch"]}]},
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
    mount = os.path.join(directory, "serviceaccount")
    os.mkdir(mount)
    with open(os.path.join(mount, "ca.crt"), "wb") as f:
        f.write(base64.b64decode(cluster["certificate-authority-data"]))
    with open(os.path.join(mount, "namespace"), "w") as f:
        f.write(namespace)
    return mount, token, cluster["server"]


def write_token(mount, token):
    """As the kubelet rotates a projected token: a new file renamed over the old."""
    path = os.path.join(mount, "token")
    with open(path + ".new", "w") as f:
        f.write(token + "\n")
    os.replace(path + ".new", path)


def resumed_watches(proxy):
    """The watch requests that resumed from a resourceVersion (debug log)."""
    events = [json.loads(line) for line in proxy.output().splitlines()
              if '"ConfigMap watch request"' in line]
    return [e for e in events if e.get("resource_version")]


def main():
    namespace = "weft-proxy-watch-" + uuid.uuid4().hex[:8]
    kubectl("create", "namespace", namespace)
    a, b = Backend("a"), Backend("b")
    directory = tempfile.mkdtemp(prefix="weft-proxy-watch-")
    mounted = MountedConfig()
    proxy = None
    try:
        mount, token, server = service_account_dir(namespace, directory)
        # The token reads that ConfigMap and nothing else.
        empty_kubeconfig = os.path.join(directory, "empty-kubeconfig")
        open(empty_kubeconfig, "w").close()
        denied = kubectl("--kubeconfig", empty_kubeconfig, "--server", server,
                         "--certificate-authority", os.path.join(mount, "ca.crt"),
                         "--token", token, "-n", namespace, "get", "configmap",
                         "kube-root-ca.crt", check=False)
        assert denied.returncode != 0 and "forbidden" in denied.stderr, denied
        apply_config_map(namespace, document(
            [service("web", SERVICE_IP, 80, [("127.0.0.1", a.port)])], namespace))
        # The kubelet's variables and mount, as in a pod; the token is not valid
        # yet (as if the kubelet had not refreshed it): the API server refuses it.
        host, port = urllib.parse.urlsplit(server).hostname, urllib.parse.urlsplit(server).port
        write_token(mount, "not-a-valid-token")
        # No mounted file yet (the kubelet has not written it): the watch alone configures.
        # Watch requests of 2 s: the server ends them often, the proxy resumes.
        proxy = Proxy(mounted.path, "--kube-watch", "auto", "--kube-watch-timeout", "2s",
                      "--service-account-dir", mount,
                      "--outbound-fallback", f"{SERVICE_IP}:80",
                      env={"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": str(port)})
        wait_until(lambda: "401" in proxy.output() and "ConfigMap watch failed" in proxy.output(),
                   timeout=20, what="the refusal of the invalid token")
        assert proxy.admin("/config")[0] == 404, "no document yet"
        # The rotated token is read at the next reconnection.
        write_token(mount, token)
        wait_until(lambda: request(proxy.outbound, "/")[2] == b"a", timeout=20,
                   what="the first document from the watch, with the rotated token")

        # The server ends each watch after 2 s; the proxy resumes from the last
        # resourceVersion at once, without an error or a backoff.
        failures = proxy.output().count("ConfigMap watch failed")
        wait_until(lambda: len(resumed_watches(proxy)) >= 3, timeout=20,
                   what="watches resumed after the server ended them")
        assert proxy.output().count("ConfigMap watch failed") == failures, proxy.output()

        apply_config_map(namespace, document(
            [service("web", SERVICE_IP, 80, [("127.0.0.1", b.port)])], namespace))
        started = time.monotonic()
        wait_until(lambda: request(proxy.outbound, "/")[2] == b"b", timeout=10,
                   interval=0.02, what="the update from the watch")
        elapsed = time.monotonic() - started
        print(f"update applied {elapsed * 1000:.0f} ms after kubectl apply returned")
        assert proxy.metric("config_reload_total", source="api", result="accepted") == 2

        # The kubelet's file lags behind: it now shows the first version, older
        # than what the watch delivered, and is ignored.
        mounted.write(document([service("web", SERVICE_IP, 80, [("127.0.0.1", a.port)])],
                               namespace))
        wait_until(lambda: proxy.metric("config_reload_total", source="file",
                                        result="superseded") == 1, what="the stale file")
        assert request(proxy.outbound, "/")[2] == b"b"

        apply_config_map(namespace, '{"version": 2}')  # refused; b keeps serving
        wait_until(lambda: proxy.metric("config_reload_total", source="api",
                                        result="refused") == 1, what="the refusal")
        assert request(proxy.outbound, "/")[2] == b"b"
        kubectl("-n", namespace, "delete", "configmap", "weft-proxy-config")
        time.sleep(0.5)
        assert request(proxy.outbound, "/")[2] == b"b"  # deletion keeps the last good one
        # Shutdown is prompt although the watch request is in progress.
        started = time.monotonic()
        assert proxy.stop() == 0 and not proxy.problem, proxy.problem
        stopped_in = time.monotonic() - started
        proxy = None
        assert stopped_in < 5, f"stopping took {stopped_in:.1f} s"
        print("proxy.configmap_watch: passed")
    finally:
        if proxy:
            proxy.stop()
        a.close()
        b.close()
        kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        shutil.rmtree(directory, ignore_errors=True)  # it holds a token
        mounted.close()


if __name__ == "__main__":
    main()
