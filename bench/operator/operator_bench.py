#!/usr/bin/env python3
"""Benchmark of weft-operator at scale on a local control plane of its own.

usage: bench/operator/operator_bench.py [--operator build/bin/weft-operator] [--changes 200]
                                        [--operator-arg=--kube-api-qps=100 ...]

Creates 20 meshed namespaces holding 1,000 Services (10 ready endpoints each,
one EndpointSlice per Service) and 1,000 MeshRoutes, then starts weft-operator
and measures:
  - time from operator start to every namespace's ConfigMap written (complete);
  - p50/p99 latency from one route change (an apply through the API) to its
    ConfigMap updated, over --changes sequential changes;
  - ConfigMap and status writes per change;
  - the operator's peak RSS (VmHWM).
Everything runs on loopback and stops by itself; the cluster is torn down.
"""
import argparse
import base64
import http.client
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NAMESPACES, SERVICES_PER_NS, ENDPOINTS = 20, 50, 10
LABEL = "app.kubernetes.io/managed-by=weft-operator"


class Api:
    """A minimal HTTPS client with the kubeconfig's client certificate."""

    def __init__(self, kubeconfig):
        import yaml
        config = yaml.safe_load(open(kubeconfig))
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        self.dir = tempfile.mkdtemp(prefix="weft-operator-bench-api-")
        files = {}
        for key, name in (("certificate-authority-data", "ca"), ("client-certificate-data", "crt"),
                          ("client-key-data", "key")):
            src = cluster if name == "ca" else user
            files[name] = os.path.join(self.dir, name)
            with open(files[name], "wb") as f:
                f.write(base64.b64decode(src[key]))
        self.context = ssl.create_default_context(cafile=files["ca"])
        self.context.load_cert_chain(files["crt"], files["key"])
        self.host, self.port = cluster["server"].removeprefix("https://").split(":")
        self.local = threading.local()

    def connection(self):
        if not getattr(self.local, "conn", None):
            self.local.conn = http.client.HTTPSConnection(self.host, int(self.port),
                                                          context=self.context, timeout=60)
        return self.local.conn

    def request(self, method, path, body=None, content_type="application/json"):
        conn = self.connection()
        headers = {"Content-Type": content_type} if body is not None else {}
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers=headers)
        response = conn.getresponse()
        data = response.read()
        if response.status >= 300 and not (method == "POST" and response.status == 409):
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data) if data else None

    def stream(self, path):
        conn = http.client.HTTPSConnection(self.host, int(self.port), context=self.context,
                                           timeout=600)
        conn.request("GET", path)
        return conn.getresponse()


def objects_for(ns):
    out = []
    for i in range(SERVICES_PER_NS):
        name = f"svc-{i:03d}"
        out.append(("/api/v1/namespaces/{ns}/services", {
            "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80,
                                                           "targetPort": 8080}]}}))
        out.append(("/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices", {
            "metadata": {"name": name, "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [f"10.{NAMESPACES + 1}.{i}.{e + 1}"],
                           "conditions": {"ready": True}} for e in range(ENDPOINTS)]}))
        out.append(("/apis/weft.io/v1alpha1/namespaces/{ns}/meshroutes", {
            "apiVersion": "weft.io/v1alpha1", "kind": "MeshRoute",
            "metadata": {"name": f"route-{i:03d}"},
            "spec": {"parentRefs": [{"name": name, "port": 80}],
                     "rules": [{"backendRefs": [
                         {"name": name, "port": 80, "weight": 90},
                         {"name": f"svc-{(i + 1) % SERVICES_PER_NS:03d}", "port": 80,
                          "weight": 10}]}]}}))
    return out


def create_all(api):
    started = time.monotonic()
    namespaces = [f"bench-{n:02d}" for n in range(NAMESPACES)]
    for ns in namespaces:
        api.request("POST", "/api/v1/namespaces",
                    {"metadata": {"name": ns, "labels": {"weft.io/inject": "enabled"}}})

    def worker(chunk):
        for ns in chunk:
            for path, body in objects_for(ns):
                api.request("POST", path.format(ns=ns), body)
    threads = [threading.Thread(target=worker, args=(namespaces[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"created {NAMESPACES} namespaces, {NAMESPACES * SERVICES_PER_NS} Services "
          f"({ENDPOINTS} endpoints each) and {NAMESPACES * SERVICES_PER_NS} MeshRoutes in "
          f"{time.monotonic() - started:.1f}s", flush=True)
    return namespaces


class ConfigMapWatch(threading.Thread):
    """Records, per namespace, when each document hash was first seen."""

    def __init__(self, api):
        super().__init__(daemon=True)
        self.api = api
        self.lock = threading.Condition()
        self.seen = {}  # ns -> list of (time, hash, document)
        listing = api.request("GET", f"/api/v1/configmaps?labelSelector={LABEL}")
        self.version = listing["metadata"]["resourceVersion"]

    def run(self):
        response = self.api.stream(f"/api/v1/configmaps?watch=1&labelSelector={LABEL}"
                                   f"&resourceVersion={self.version}&timeoutSeconds=590")
        while True:
            line = response.readline()
            if not line:
                return
            now = time.monotonic()
            event = json.loads(line)
            obj = event["object"]
            if event["type"] not in ("ADDED", "MODIFIED"):
                continue
            ns = obj["metadata"]["namespace"]
            text = obj["data"]["config.json"]
            with self.lock:
                self.seen.setdefault(ns, []).append((now, json.loads(text)))
                self.lock.notify_all()

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate(self.seen):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("condition not met")
                self.lock.wait(left)
            return predicate(self.seen)


def complete(doc):
    services = doc["outbound"]["services"]
    return len(services) == SERVICES_PER_NS and all(
        len(s["ports"][0]["endpoints"]) == ENDPOINTS and s["ports"][0]["rules"] for s in services)


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        out = {}
        for line in r.read().decode().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--operator", default=os.path.join(ROOT, "build", "bin", "weft-operator"))
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--operator-arg", action="append", default=[],
                        help="extra flag for weft-operator (repeatable)")
    args = parser.parse_args()

    cluster_dir = tempfile.mkdtemp(prefix="weft-operator-bench-")
    env = dict(os.environ, WEFT_CLUSTER_DIR=cluster_dir,
               KUBECONFIG=os.path.join(cluster_dir, "kubeconfig"))
    local_cluster = os.path.join(ROOT, "scripts", "local-cluster")
    subprocess.run([local_cluster, "up"], env=env, check=True, capture_output=True)
    operator = None
    api = None
    try:
        subprocess.run([os.path.join(ROOT, "test", "integration", "crd", "install-crds.sh")],
                       env=env, check=True, capture_output=True)
        api = Api(env["KUBECONFIG"])
        api.request("POST", "/api/v1/namespaces", {"metadata": {"name": "weft-system"}})
        namespaces = create_all(api)

        watch = ConfigMapWatch(api)
        watch.start()
        log = open(os.path.join(cluster_dir, "operator.log"), "w+")
        started = time.monotonic()
        operator = subprocess.Popen([args.operator, f"--kubeconfig={env['KUBECONFIG']}",
                                     "--metrics-bind-address=127.0.0.1:0",
                                     "--health-probe-bind-address=127.0.0.1:0",
                                     *args.operator_arg],
                                    stdout=log, stderr=subprocess.STDOUT)
        watch.wait(lambda seen: all(any(complete(d) for _, d in seen.get(ns, []))
                                    for ns in namespaces), 120)
        first_complete = max(min(t for t, d in watch.seen[ns] if complete(d)) for ns in namespaces)
        all_written = first_complete - started
        print(f"operator start -> all {NAMESPACES} ConfigMaps written: {all_written:.2f}s",
              flush=True)

        port = None
        with open(log.name) as f:
            for line in f:
                if '"endpoints":"/metrics"' in line:
                    port = json.loads(line)["port"]
        # Let the start-up status writes finish before measuring changes.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            m = metrics(port)
            if m.get('weft_operator_status_writes_total{kind="MeshRoute"}', 0) >= \
                    NAMESPACES * SERVICES_PER_NS and m.get("weft_operator_queue_depth", 1) == 0:
                break
            time.sleep(0.5)
        startup_status = time.monotonic() - started
        print(f"operator start -> all {NAMESPACES * SERVICES_PER_NS} route statuses written: "
              f"{startup_status:.2f}s", flush=True)

        before = metrics(port)
        latencies = []
        current = {}  # (ns, route) -> weight of its first backend; a change must change it
        for n in range(args.changes):
            ns = namespaces[n % NAMESPACES]
            i = (n * 7) % SERVICES_PER_NS
            weight = current.get((ns, i), 90) % 89 + 1
            current[(ns, i)] = weight
            with watch.lock:
                seen_before = len(watch.seen[ns])
            patch = {"spec": {"rules": [{"backendRefs": [
                {"name": f"svc-{i:03d}", "port": 80, "weight": weight},
                {"name": f"svc-{(i + 1) % SERVICES_PER_NS:03d}", "port": 80, "weight": 10}]}]}}
            t0 = time.monotonic()
            api.request("PATCH", f"/apis/weft.io/v1alpha1/namespaces/{ns}/meshroutes/route-{i:03d}",
                        patch, "application/merge-patch+json")

            def updated(seen):
                for t, doc in seen[ns][seen_before:]:
                    for svc in doc["outbound"]["services"]:
                        if svc["name"] == f"svc-{i:03d}" and \
                                svc["ports"][0]["rules"][0]["backends"][0]["weight"] == weight:
                            return t
                return None
            try:
                t1 = watch.wait(updated, 30)
            except TimeoutError:
                last = watch.seen[ns][-1][1]
                svc = next(s for s in last["outbound"]["services"] if s["name"] == f"svc-{i:03d}")
                print(f"change {n}: {ns}/route-{i:03d} weight {weight} not seen; last: "
                      f"{svc['ports'][0]['rules']}", file=sys.stderr)
                raise
            latencies.append((t1 - t0) * 1000)
            time.sleep(0.02)
        time.sleep(2)  # let trailing writes (if any) land before counting
        after = metrics(port)
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        cm_writes = delta.get('weft_operator_configmap_writes_total{result="applied"}', 0)
        status_writes = delta.get('weft_operator_status_writes_total{kind="MeshRoute"}', 0)
        with open(f"/proc/{operator.pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
        print(f"route change -> ConfigMap updated over {args.changes} changes: p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms")
        print(f"writes per change: {cm_writes / args.changes:.2f} ConfigMap, "
              f"{status_writes / args.changes:.2f} status")
        print(f"operator peak RSS (VmHWM): {rss / 1024:.1f} MiB")
        size = max(len(json.dumps(d)) for ns in namespaces for _, d in watch.seen[ns][-1:])
        print(f"largest document: {size} bytes")
    except BaseException:
        if operator:
            subprocess.run(["cp", os.path.join(cluster_dir, "operator.log"),
                            "/tmp/weft-operator-bench-failed.log"])
            print("operator log kept in /tmp/weft-operator-bench-failed.log", file=sys.stderr)
        raise
    finally:
        if operator:
            operator.terminate()
            operator.wait(timeout=30)
        subprocess.run([local_cluster, "down"], env=env, capture_output=True)
        shutil.rmtree(cluster_dir, ignore_errors=True)  # the operator log
        if api:
            shutil.rmtree(api.dir, ignore_errors=True)  # the client key


if __name__ == "__main__":
    sys.exit(main())
