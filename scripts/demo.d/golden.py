#!/usr/bin/env python3
"""The demo's golden-metrics table, read from the proxies of a meshed namespace.

  golden.py snapshot --namespace NS [--via pod-ip|apiserver] > SNAPSHOT.json
  golden.py table BEFORE.json AFTER.json
  golden.py mtls BEFORE.json AFTER.json    (the who-talks-to-whom rows, as JSON)

`snapshot` reads /metrics from the admin port (4191) of every running pod of NS
that carries weft-proxy: straight from the pod IP (the local cluster's pod range
is routed on this machine), or through the API server's pod proxy (any
cluster). `table` prints, for the window between two snapshots, per service:
requests/s, success rate and p50/p95/p99 latency, twice: as each workload
answers it (inbound, by the pod's `app` and `version` labels) and as its
callers see it (outbound, by target Service, after retries); then who talks to
whom: each server's callers by the identity their mTLS certificates proved
(or none), with their share of its requests.

The parsing and the quantiles are samples/golden_metrics.py's, shared with the
e2e tests; this file only adds reading by pod IP and the two-view table.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples"))
import golden_metrics  # noqa: E402  (found through the path above)

ADMIN_PORT = golden_metrics.ADMIN_PORT


def kubectl(*args):
    command = [os.environ.get("KUBECTL", "kubectl"), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def meshed_pods(namespace):
    """[{name, ip, labels}] of the running pods that carry weft-proxy."""
    pods = json.loads(kubectl("-n", namespace, "get", "pods", "-o", "json"))["items"]
    found = []
    for pod in pods:
        spec = pod["spec"]
        names = [c["name"] for c in spec.get("initContainers", []) + spec.get("containers", [])]
        if pod["status"].get("phase") == "Running" and golden_metrics.PROXY_CONTAINER in names:
            found.append({"name": pod["metadata"]["name"], "ip": pod["status"].get("podIP", ""),
                          "labels": pod["metadata"].get("labels", {}),
                          "service_account": spec.get("serviceAccountName", "default")})
    return found


def read_metrics(namespace, pod, via):
    if via == "pod-ip":
        url = f"http://{pod['ip']}:{ADMIN_PORT}/metrics"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.read().decode()
    return kubectl("get", "--raw",
                   f"/api/v1/namespaces/{namespace}/pods/{pod['name']}:{ADMIN_PORT}/proxy/metrics")


def snapshot(args):
    taken = {"time": time.monotonic(), "namespace": args.namespace, "pods": {}}
    for pod in meshed_pods(args.namespace):
        try:
            text = read_metrics(args.namespace, pod, args.via)
        except (OSError, subprocess.CalledProcessError) as error:
            # A pod going away between listing and reading: left out of this window.
            print(f"golden.py: {pod['name']}: {error}", file=sys.stderr)
            continue
        taken["pods"][pod["name"]] = {"labels": pod["labels"],
                                      "service_account": pod["service_account"], "metrics": text}
    json.dump(taken, sys.stdout)
    return 0


def load_window(args):
    """(before, after, seconds) of the two snapshot files; None if out of order."""
    with open(args.before) as file:
        before = json.load(file)
    with open(args.after) as file:
        after = json.load(file)
    seconds = after["time"] - before["time"]
    if seconds <= 0:
        print("golden.py: the second snapshot is not later than the first", file=sys.stderr)
        return None
    return before, after, seconds


def samples_of(snap):
    return {pod: golden_metrics.parse_prometheus(entry["metrics"])
            for pod, entry in snap["pods"].items()}


def workload_namer(after):
    labels = {pod: entry["labels"] for pod, entry in after["pods"].items()}

    def workload_of_pod(pod):
        # Only the sample services; a load generator's pod answers no traffic.
        pod_labels = labels.get(pod, {})
        if "app" not in pod_labels:
            return None
        return f"{pod_labels['app']} {pod_labels.get('version', '')}".strip()
    return workload_of_pod


def mtls_rows(old, new, after, seconds):
    namespace = after.get("namespace", "")
    return golden_metrics.mtls_rows(
        golden_metrics.mtls_window(old, new, workload_namer(after)), seconds,
        golden_metrics.identity_names(after["pods"], namespace), namespace)


def mtls(args):
    loaded = load_window(args)
    if loaded is None:
        return 2
    before, after, seconds = loaded
    json.dump(mtls_rows(samples_of(before), samples_of(after), after, seconds), sys.stdout)
    return 0


def table(args):
    loaded = load_window(args)
    if loaded is None:
        return 2
    before, after, seconds = loaded
    workload_of_pod = workload_namer(after)

    def workload(pod, _series):
        return workload_of_pod(pod)

    def target_service(_pod, series):
        return series.get("target_service") or None

    old, new = samples_of(before), samples_of(after)
    print("Served (each workload's inbound proxy):")
    print(indent(golden_metrics.render(golden_metrics.summarize(
        golden_metrics.window(old, new, workload, "inbound"), seconds))))
    print("Called (the callers' outbound proxies, retries included):")
    print(indent(golden_metrics.render(golden_metrics.summarize(
        golden_metrics.window(old, new, target_service, "outbound"), seconds))))
    print(f"Retries sent by the proxies in the window: {counted('retry_total', old, new):.0f}"
          f" (refused by the retry budget: {counted('retry_budget_exhausted_total', old, new):.0f})")
    print("Who talks to whom (each server's inbound proxy, by the identity its callers proved):")
    print(indent(golden_metrics.render_mtls(mtls_rows(old, new, after, seconds))))
    return 0


def counted(metric, old, new):
    """How much the counter METRIC grew over the window, summed over the pods."""
    def total(samples):
        return sum(value for series in samples.values() for name, _, value in series
                   if name == metric)
    return total(new) - total({pod: old.get(pod, []) for pod in new})


def indent(text):
    return "\n".join("  " + line for line in text.splitlines())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    snap = commands.add_parser("snapshot", help="print the proxies' metrics as JSON")
    snap.add_argument("--namespace", "-n", required=True)
    snap.add_argument("--via", choices=["pod-ip", "apiserver"], default="pod-ip")
    tab = commands.add_parser("table", help="the golden metrics between two snapshots")
    tab.add_argument("before")
    tab.add_argument("after")
    who = commands.add_parser("mtls", help="who talks to whom over the window, as JSON")
    who.add_argument("before")
    who.add_argument("after")
    args = parser.parse_args()
    return {"snapshot": snapshot, "table": table, "mtls": mtls}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
