#!/usr/bin/env python3
"""prometheus.yml's relabelling, run by a real Prometheus (Debian's server).

Debian builds Prometheus without Kubernetes discovery, so each job's
kubernetes_sd_configs is replaced by a file_sd_configs whose targets carry the
__meta_kubernetes_* labels Kubernetes discovery gives, one target per
container port as it does (pods of a meshed namespace and of weft-system, a
Job's finished pod, an uninjected pod with a container named weft-proxy, the
API server's endpoints), with namespaces.names applied as discovery applies
it. Prometheus then relabels them with the bundle's own rules; the test reads
/api/v1/targets and checks which targets each job keeps and their labels.

Every address is on 127.0.0.0/8 (the scrapes fail, nothing leaves loopback);
the server listens on 127.0.0.1 and is stopped at the end.
"""

import contextlib
import copy
import json
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

from monitoring_test import BUNDLE, CONFIG, require_tool

SEAL = "__meta_kubernetes_pod_annotationpresent_weft_io_injection_seal"


def pod(namespace, name, address, containers, controller=None, phase="Running", labels=None,
        sealed=False):
    """Kubernetes discovery's targets for one pod: one per container port, and
    one (the bare address) for a container without ports."""
    common = {
        "__meta_kubernetes_namespace": namespace,
        "__meta_kubernetes_pod_name": name,
        "__meta_kubernetes_pod_phase": phase,
        "__meta_kubernetes_pod_ip": address,
    }
    if controller:
        common["__meta_kubernetes_pod_controller_kind"] = controller[0]
        common["__meta_kubernetes_pod_controller_name"] = controller[1]
    if sealed:
        common[SEAL] = "true"
    for key, value in (labels or {}).items():
        common["__meta_kubernetes_pod_label_" + key.replace(".", "_").replace("/", "_")] = value
    targets = []
    for container, ports in containers.items():
        for port_name, port in ports or [(None, None)]:
            labels_of = dict(common, __meta_kubernetes_pod_container_name=container)
            # Native sidecars are init containers; discovery lists their ports too.
            labels_of["__meta_kubernetes_pod_container_init"] = str(
                container in NATIVE_SIDECAR_INIT).lower()
            target = address
            if port is not None:
                target = f"{address}:{port}"
                labels_of["__meta_kubernetes_pod_container_port_name"] = port_name
                labels_of["__meta_kubernetes_pod_container_port_number"] = str(port)
            targets.append({"targets": [target], "labels": labels_of})
    return targets


PROXY = {"weft-init": None, "weft-proxy": [("weft-admin", 4191), ("weft-inbound", 4143)]}
NATIVE_SIDECAR_INIT = {"weft-init", "weft-proxy"}


def discovered_pods():
    meshed = [
        # A Deployment's pod: the ReplicaSet is <deployment>-<hash>, and a
        # Deployment's name may hold dashes.
        pod("shop", "order-api-7d9f8c6b5-x2x4q", "127.0.1.7",
            dict(PROXY, api=[("http", 8080)]),
            controller=("ReplicaSet", "order-api-7d9f8c6b5"), sealed=True),
        pod("shop", "db-0", "127.0.1.8", dict(PROXY, db=[("pg", 5432)]),
            controller=("StatefulSet", "db"), sealed=True),
        pod("shop", "agent-k7x2p", "127.0.1.9", dict(PROXY, agent=[]),
            controller=("DaemonSet", "agent"), sealed=True),
        # A finished Job pod keeps its address in discovery.
        pod("shop", "migrate-8xk2d", "127.0.1.10", dict(PROXY, migrate=[]),
            controller=("Job", "migrate"), phase="Succeeded", sealed=True),
    ]
    others = [
        # Not injected (no seal) but with a container of that name and port.
        pod("shop", "impostor", "127.0.1.11", {"weft-proxy": [("weft-admin", 4191)]}),
        pod("shop", "plain-5c4f7-abcde", "127.0.1.12", {"app": [("metrics", 9090)]},
            controller=("ReplicaSet", "plain-5c4f7")),
    ]
    control_plane = [
        pod("weft-system", f"weft-operator-6c8d9-{suffix}", address,
            {"operator": [("metrics", 8080), ("health", 8081)]},
            controller=("ReplicaSet", "weft-operator-6c8d9"),
            labels={"app.kubernetes.io/name": "weft-operator"})
        for suffix, address in (("aaaaa", "127.0.2.1"), ("bbbbb", "127.0.2.2"))
    ] + [
        pod("weft-system", "weft-identity-7f6b5-ccccc", "127.0.2.3",
            {"identity": [("https", 8443), ("metrics", 9090)]},
            controller=("ReplicaSet", "weft-identity-7f6b5"),
            labels={"app.kubernetes.io/name": "weft-identity"}),
        pod("weft-system", "weft-webhook-5d4c3-ddddd", "127.0.2.4",
            {"webhook": [("https", 8443)]},
            controller=("ReplicaSet", "weft-webhook-5d4c3"),
            labels={"app.kubernetes.io/name": "weft-webhook"}),
    ]
    # A pod elsewhere that looks like the operator: outside weft-system.
    lookalike = pod("shop", "weft-operator-fake", "127.0.1.13", {"x": [("metrics", 8080)]},
                    labels={"app.kubernetes.io/name": "weft-operator"})
    return [t for group in meshed + others + control_plane + [lookalike] for t in group]


def discovered_endpoints():
    def endpoint(service, port_name, target):
        return {"targets": [target], "labels": {
            "__meta_kubernetes_namespace": "default",
            "__meta_kubernetes_service_name": service,
            "__meta_kubernetes_endpoint_port_name": port_name,
        }}
    return [endpoint("kubernetes", "https", "127.0.3.1:6443"),
            endpoint("other", "https", "127.0.3.2:443")]


def expected_targets():
    """(job, scrape URL) -> the target's labels after relabelling."""
    proxy = {"job": "weft-proxy", "namespace": "shop"}
    def control(job, pod_name, address):
        return {"job": job, "namespace": "weft-system", "pod": pod_name, "deployment": job,
                "instance": address}
    return {
        ("weft-proxy", "http://127.0.1.7:4191/metrics"): dict(
            proxy, pod="order-api-7d9f8c6b5-x2x4q", deployment="order-api", instance="127.0.1.7:4191"),
        ("weft-proxy", "http://127.0.1.8:4191/metrics"): dict(
            proxy, pod="db-0", statefulset="db", instance="127.0.1.8:4191"),
        ("weft-proxy", "http://127.0.1.9:4191/metrics"): dict(
            proxy, pod="agent-k7x2p", daemonset="agent", instance="127.0.1.9:4191"),
        ("weft-operator", "http://127.0.2.1:8080/metrics"): control(
            "weft-operator", "weft-operator-6c8d9-aaaaa", "127.0.2.1:8080"),
        ("weft-operator", "http://127.0.2.2:8080/metrics"): control(
            "weft-operator", "weft-operator-6c8d9-bbbbb", "127.0.2.2:8080"),
        ("weft-identity", "http://127.0.2.3:9090/metrics"): control(
            "weft-identity", "weft-identity-7f6b5-ccccc", "127.0.2.3:9090"),
        ("weft-webhook", "https://127.0.2.4:8443/metrics"): control(
            "weft-webhook", "weft-webhook-5d4c3-ddddd", "127.0.2.4:8443"),
        ("kubernetes-apiservers", "https://127.0.3.1:6443/metrics"): {
            "job": "kubernetes-apiservers", "instance": "127.0.3.1:6443"},
    }


def discovered_for(job):
    """What Kubernetes discovery would hand this job: its role's objects, in
    the namespaces it names."""
    blocks = job["kubernetes_sd_configs"]
    assert len(blocks) == 1, f"job {job['job_name']}: one kubernetes_sd_configs block expected"
    role = blocks[0]["role"]
    groups = {"pod": discovered_pods, "endpoints": discovered_endpoints}[role]()
    names = blocks[0].get("namespaces", {}).get("names")
    if names:
        groups = [g for g in groups if g["labels"]["__meta_kubernetes_namespace"] in names]
    return groups


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


@contextlib.contextmanager
def prometheus_server(server, config_file, tmp):
    """Prometheus (the binary SERVER) on 127.0.0.1 running CONFIG_FILE, its
    data and log (prometheus.log) in TMP: yields (base URL, process); stopped
    at the end."""
    port = free_port()
    with open(tmp / "prometheus.log", "w") as log:
        process = subprocess.Popen(
            [server, f"--config.file={config_file}", f"--storage.tsdb.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            yield f"http://127.0.0.1:{port}", process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main():
    server = require_tool("prometheus")
    config = yaml.safe_load(CONFIG.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        token = tmp / "token"
        token.write_text("not-a-token\n")
        run_config = copy.deepcopy(config)
        run_config["global"]["scrape_interval"] = "1h"  # nothing to scrape here
        for rule_file in run_config.get("rule_files", []):
            (tmp / rule_file).write_text((BUNDLE / rule_file).read_text())
        for job in run_config["scrape_configs"]:
            sd_file = tmp / f"{job['job_name']}.json"
            sd_file.write_text(json.dumps(discovered_for(job)))
            del job["kubernetes_sd_configs"]
            job["file_sd_configs"] = [{"files": [str(sd_file)]}]
            # The pod's ServiceAccount files, where the job reads them.
            if "authorization" in job:
                job["authorization"]["credentials_file"] = str(token)
            if "ca_file" in job.get("tls_config", {}):
                job["tls_config"]["ca_file"] = "/etc/ssl/certs/ca-certificates.crt"
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(run_config, sort_keys=False))

        with prometheus_server(server, tmp / "prometheus.yml", tmp) as (base, process):
            wanted = expected_targets()
            got = {}
            deadline = time.monotonic() + 60
            # The scrape manager applies discovered targets every 5 s.
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    break
                try:
                    data = get_json(base + "/api/v1/targets?state=any")["data"]
                except OSError:
                    time.sleep(0.5)
                    continue
                got = {(t["scrapePool"], t["scrapeUrl"]): t["labels"]
                       for t in data["activeTargets"]}
                pools = {t["scrapePool"] for t in data["activeTargets"]}
                if pools >= {job for job, _ in wanted}:
                    break
                time.sleep(0.5)
        if not got:
            print((tmp / "prometheus.log").read_text(), file=sys.stderr)
            print("FAIL: Prometheus listed no target", file=sys.stderr)
            return 1

    problems = []
    for key in sorted(set(wanted) | set(got)):
        if key not in got:
            problems.append(f"not scraped: {key}")
        elif key not in wanted:
            problems.append(f"scraped but should not be: {key} {got[key]}")
        elif got[key] != wanted[key]:
            problems.append(f"{key}: labels {got[key]}, want {wanted[key]}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"FAIL: {len(problems)} target(s) wrong", file=sys.stderr)
        return 1
    print(f"{len(got)} targets kept, each with the expected labels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
