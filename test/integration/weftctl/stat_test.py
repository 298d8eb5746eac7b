#!/usr/bin/env python3
"""weftctl stat and diagnose config over real weft-proxy pages.

A real weft-proxy (test/integration/proxy/harness.py) routes a Service split
3:1 between two real backends; a stand-in for the API server lists one meshed
pod (its admin port in the pod spec, as the webhook injects it), a
Deployment, Services and the namespace's ConfigMap, and answers its pod proxy
path (/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH) from the proxy's admin
port. The test sends its requests between weftctl's two scrapes, so every
figure weftctl prints can be checked exactly against what the backends saw.

    stat_test.py NAME     runs one test (ctest: weftctl.NAME)
    stat_test.py --list   lists them"""

import http.server
import json
import os
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "proxy"))
import harness  # noqa: E402
from harness import Backend, MountedConfig, Proxy, document, request, run_test, service, wait_until  # noqa: E402

WEFTCTL = os.environ.get("WEFTCTL_BINARY", "")
NAMESPACE = "shop"
POD = "client-1"
SERVICE_IP = "10.96.0.10"
TESTS = {}


def test(function):
    TESTS[function.__name__] = function
    return function


class FakeApiServer:
    """GET-only API server on 127.0.0.1: the lists and objects given, and the
    pod proxy of POD forwarded to the proxy's admin port."""

    def __init__(self, objects, admin_port, pod_answer=None):
        self.objects = objects  # path -> JSON
        self.admin_port = admin_port
        # (handler, pod path) -> None: answers the pod proxy itself (a hostile pod)
        self.pod_answer = pod_answer
        self.scrapes = 0
        self.pod_requests = 0
        self.lock = threading.Lock()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                proxy_prefix = f"/api/v1/namespaces/{NAMESPACE}/pods/{POD}:{api.admin_port}/proxy"
                if path.startswith(proxy_prefix) and api.pod_answer:
                    with api.lock:
                        api.pod_requests += 1
                    return api.pod_answer(self, path[len(proxy_prefix):])
                if path.startswith(proxy_prefix):
                    with urllib.request.urlopen(
                            f"http://127.0.0.1:{api.admin_port}{path[len(proxy_prefix):]}",
                            timeout=5) as answer:
                        body = answer.read()
                    if path.endswith("/metrics"):
                        with api.lock:
                            api.scrapes += 1
                    return self.answer(200, body, "text/plain")
                if path in api.objects:
                    return self.answer(200, json.dumps(api.objects[path]).encode())
                status = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                          "reason": "NotFound", "code": 404, "message": f"{path} not found"}
                return self.answer(404, json.dumps(status).encode())

            def answer(self, code, body, content_type="application/json"):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.kubeconfig = tempfile.NamedTemporaryFile("w", suffix=".kubeconfig", delete=False)
        self.kubeconfig.write(f"""apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {{server: "http://127.0.0.1:{self.port}"}}
users:
- name: fake
  user: {{token: "test"}}
contexts:
- name: fake
  context: {{cluster: fake, user: fake, namespace: {NAMESPACE}}}
current-context: fake
""")
        self.kubeconfig.close()

    def scraped(self):
        with self.lock:
            return self.scrapes

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        os.unlink(self.kubeconfig.name)


def listing(kind, items):
    return {"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}


def cluster_objects(admin_port, config_text):
    pod = {"metadata": {"namespace": NAMESPACE, "name": POD, "labels": {"app": "client"},
                        "annotations": {"weft.io/injection-seal": "sha256:00"}},
           "spec": {"serviceAccountName": "client",
                    "containers": [{"name": "app", "image": "client:1"}],
                    "initContainers": [{"name": "weft-proxy", "restartPolicy": "Always",
                                        "env": [{"name": "WEFT_PROXY_ADMIN_PORT",
                                                 "value": str(admin_port)}],
                                        "ports": [{"name": "weft-admin",
                                                   "containerPort": admin_port}]}]},
           "status": {"phase": "Running"}}
    deployment = {"metadata": {"namespace": NAMESPACE, "name": "client"},
                  "spec": {"selector": {"matchLabels": {"app": "client"}}}}
    web = {"metadata": {"namespace": NAMESPACE, "name": "web"},
           "spec": {"selector": {"app": "web"}}}
    config_map = {"metadata": {"namespace": NAMESPACE, "name": "weft-proxy-config",
                               "annotations": {"weft.io/config-hash":
                                               json.loads(config_text)["hash"]}},
                  "data": {"config.json": config_text}}
    base = f"/api/v1/namespaces/{NAMESPACE}"
    return {
        f"{base}/pods": listing("PodList", [pod]),
        f"{base}/pods/{POD}": pod,
        f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments": listing("DeploymentList", [deployment]),
        f"{base}/services": listing("ServiceList", [web]),
        f"{base}/configmaps/weft-proxy-config": config_map,
    }


def split_document():
    """web:80 split 3:1 between web-a:8080 and web-b:8080 by the MeshRoute "split"."""
    def with_backends(a, b):
        rules = [{"route": "split", "routeRule": 0,
                  "backends": [{"service": "web-a", "port": 8080, "weight": 3},
                               {"service": "web-b", "port": 8080, "weight": 1}]}]
        matches = [{"rule": 0, "path": {"type": "PathPrefix", "value": "/"}}]
        return document([
            service("web", SERVICE_IP, 80, [("127.0.0.1", a.port)], rules=rules, matches=matches),
            service("web-a", "10.96.0.11", 8080, [("127.0.0.1", a.port)]),
            service("web-b", "10.96.0.12", 8080, [("127.0.0.1", b.port)]),
        ], namespace=NAMESPACE)
    return with_backends


def weftctl(api, *args):
    return subprocess.Popen([WEFTCTL, "--kubeconfig", api.kubeconfig.name, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Mesh:
    """The proxy, its two backends (b answers 500 to /status/*), the API stand-in."""

    def __init__(self):
        self.a, self.b = Backend("a"), Backend("b")
        self.b.fail_next(-1)
        self.config = MountedConfig()
        self.text = split_document()(self.a, self.b)
        self.config.write(self.text)
        self.proxy = Proxy(self.config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
        self.api = FakeApiServer(cluster_objects(self.proxy.ports["admin"], self.text),
                                 self.proxy.ports["admin"])

    def traffic_between_scrapes(self, run, count):
        """Sends `count` requests once weftctl's first scrape is done; returns
        weftctl's parsed JSON output."""
        wait_until(lambda: self.api.scraped() >= 1, timeout=10, what="weftctl's first scrape")
        for _ in range(count):
            status, _, _ = request(self.proxy.outbound, "/status/500")
            assert status in (200, 500), status
        assert self.api.scraped() == 1, "the traffic did not fit in the window"
        out, err = run.communicate(timeout=30)
        assert run.returncode == 0, f"weftctl exited {run.returncode}: {err}"
        assert err == "", f"weftctl warned: {err}"
        return json.loads(out)

    def close(self):
        self.api.close()
        self.a.close()
        self.b.close()
        self.config.close()


@test
def stat_route_counts_each_backend_exactly():
    mesh = Mesh()
    try:
        run = weftctl(mesh.api, "stat", "route", "--window", "4s", "-o", "json")
        report = mesh.traffic_between_scrapes(run, 80)
        rows = {(row["route"], row["backend"]): row for row in report["rows"]}
        a, b = len(mesh.a.requests), len(mesh.b.requests)
        assert a + b == 80 and a > 0 and b > 0, (a, b)
        route = rows[("split", None)]
        assert route["service"] == "web:80" and route["requests"] == 80, route
        assert route["successes"] == a, (route, a)
        backend_a, backend_b = rows[("split", "web-a:8080")], rows[("split", "web-b:8080")]
        assert backend_a["requests"] == a and backend_a["successRate"] == 1, backend_a
        assert backend_b["requests"] == b and backend_b["successRate"] == 0, backend_b
        assert (backend_a["weight"], backend_b["weight"]) == (3, 1), rows
        assert backend_a["rule"] == 0 and backend_a["weightShare"] == 0.75, backend_a
        assert route["latencyMs"]["p99"] is not None and route["mtlsShare"] == 0, route
        assert 3.5 <= report["windowSeconds"] < 10, report["windowSeconds"]
    finally:
        mesh.close()


@test
def stat_deploy_to_a_service_counts_the_client_side():
    mesh = Mesh()
    try:
        run = weftctl(mesh.api, "stat", "deploy", "client", "--to", "svc/web", "--window", "4s",
                      "-o", "json")
        report = mesh.traffic_between_scrapes(run, 50)
        (row,) = report["rows"]
        assert row["name"] == "client" and row["meshedPods"] == 1, row
        assert row["requests"] == 50 and row["successes"] == len(mesh.a.requests), row
        assert abs(row["requestsPerSecond"] - 50 / report["windowSeconds"]) < 1e-9, row
        # Inbound (the default) saw nothing: this proxy only sent.
        quiet = weftctl(mesh.api, "stat", "deploy", "--window", "1s", "-o", "json")
        out, err = quiet.communicate(timeout=30)
        assert quiet.returncode == 0, err
        (row,) = json.loads(out)["rows"]
        assert row["requests"] == 0 and row["successRate"] is None, row
    finally:
        mesh.close()


@test
def diagnose_config_reads_the_proxy_version():
    mesh = Mesh()
    try:
        run = weftctl(mesh.api, "diagnose", "config", POD, "-o", "json")
        out, err = run.communicate(timeout=30)
        assert run.returncode == 0, err
        answer = json.loads(out)
        assert answer["matches"] is True, answer
        assert answer["servedHash"] == json.loads(mesh.text)["hash"], answer
        assert answer["proxyVersion"].startswith("v"), answer
        # A ConfigMap that moved on: the proxy is stale, exit 1.
        path = f"/api/v1/namespaces/{NAMESPACE}/configmaps/weft-proxy-config"
        mesh.api.objects[path]["metadata"]["annotations"]["weft.io/config-hash"] = \
            "sha256:" + "0" * 64
        stale = weftctl(mesh.api, "diagnose", "config", POD)
        out, err = stale.communicate(timeout=30)
        assert stale.returncode == 1 and "the proxy is stale" in out, (out, err)
    finally:
        mesh.close()


class HostilePod:
    """The API stand-in with a meshed-looking pod whose "proxy" answers what
    its author likes: no weft-proxy runs."""

    ADMIN_PORT = 4191

    def __init__(self, answer):
        text = json.dumps({"hash": "sha256:" + "a" * 64})
        self.api = FakeApiServer(cluster_objects(self.ADMIN_PORT, text), self.ADMIN_PORT, answer)

    def diagnose(self, *flags):
        """weftctl diagnose config: (exit status, stderr, seconds taken)."""
        started = time.monotonic()
        run = weftctl(self.api, *flags, "diagnose", "config", POD, "-o", "json")
        _, err = run.communicate(timeout=60)
        return run.returncode, err, time.monotonic() - started

    def close(self):
        self.api.close()


@test
def diagnose_config_bounds_what_a_pod_answers():
    def huge(handler, _):
        handler.answer(200, b'{"version": "' + b"x" * (1 << 20) + b'"}')

    def slow(handler, _):
        time.sleep(20)
        handler.answer(200, b'{"version": "v1"}')

    def throttled(handler, _):
        handler.send_response(429)
        handler.send_header("Retry-After", "3")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def escapes(handler, _):
        status = {"kind": "Status", "code": 500, "message": "\x1b[2J\x1b]52;c;aGk=\x07 gone"}
        handler.answer(500, json.dumps(status).encode())

    pod = HostilePod(huge)
    try:
        code, err, _ = pod.diagnose()
        assert code == 1 and "larger than 16384 bytes" in err, (code, err)
        # The pod's own 429 is not the API server throttling: asked once.
        pod.api.pod_answer, pod.api.pod_requests = throttled, 0
        code, err, took = pod.diagnose()
        assert code == 1 and pod.api.pod_requests == 1 and took < 3, (code, err, took)
        pod.api.pod_answer = escapes
        code, err, _ = pod.diagnose()
        assert code == 1 and "\x1b" not in err and "\\x1B[2J" in err, (code, err)
        pod.api.pod_answer = slow
        code, err, took = pod.diagnose("--pod-timeout", "1s")
        assert code == 1 and took < 5, (code, err, took)
    finally:
        pod.close()


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        print("\n".join(TESTS))
        sys.exit(0)
    if len(sys.argv) != 2 or sys.argv[1] not in TESTS:
        sys.exit(__doc__)
    if not WEFTCTL or not harness.PROXY_BINARY:
        sys.exit("set WEFTCTL_BINARY and WEFT_PROXY_BINARY")
    run_test(TESTS[sys.argv[1]])
    print("PASS", sys.argv[1])
