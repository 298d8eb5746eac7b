#!/usr/bin/env python3
"""Golden metrics of a meshed namespace, read from its proxies.

Reads /metrics of every running meshed pod's weft-proxy (admin port 4191,
through the API server's pod proxy) twice, INTERVAL seconds apart, and prints
for that window, per service: requests per second, success rate, and p50, p95,
p99 latency (from the proxies' response_latency_ms histograms, interpolated
within a bucket as Prometheus' histogram_quantile does).

  golden_metrics.py --namespace weft-demo [--interval 10] [--direction inbound|outbound] [--json]

--direction inbound (default): grouped by the serving pod's `app` and `version`
labels: what each workload answers (the kubelet's probes included). outbound: grouped by the target Service,
summed over the calling pods: what callers get, after retries and timeouts.
Uses $KUBECTL (default kubectl) and $KUBECONFIG.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

ADMIN_PORT = 4191
PROXY_CONTAINER = "weft-proxy"

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text):
    """Text format 0.0.4 -> [(name, {label: value}, float)]; comments skipped."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        name, labels, value = match.groups()
        try:
            number = float(value)
        except ValueError:
            continue
        parsed = {key: raw.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                  for key, raw in _LABEL.findall(labels or "")}
        samples.append((name, parsed, number))
    return samples


def histogram_quantile(q, buckets):
    """The q-quantile (0..1) of cumulative buckets [(upper bound, count)], with
    linear interpolation inside the bucket, as Prometheus does. None if empty."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # the last finite bound: nothing better is known
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return buckets[-1][0]


def window(before, after, group_of, direction):
    """Per group: requests, successes, latency buckets over the window between
    two scrapes. before/after: {pod: [samples]}; group_of(pod, labels) names
    the group of a series (None: left out)."""
    groups = {}

    def add(pod, samples, sign):
        for name, labels, value in samples:
            if labels.get("direction") != direction:
                continue
            group = group_of(pod, labels)
            if group is None:
                continue
            entry = groups.setdefault(group, {"requests": 0.0, "successes": 0.0, "buckets": {}})
            if name == "response_total":
                entry["requests"] += sign * value
                if labels.get("classification") == "success":
                    entry["successes"] += sign * value
            elif name == "response_latency_ms_bucket":
                bound = float(labels["le"])
                entry["buckets"][bound] = entry["buckets"].get(bound, 0.0) + sign * value

    for pod, samples in after.items():
        add(pod, samples, +1)
        # A pod that appeared during the window counts from zero.
        add(pod, before.get(pod, []), -1)
    return groups


def summarize(groups, seconds):
    rows = []
    for group in sorted(groups):
        entry = groups[group]
        if entry["requests"] <= 0:
            continue
        buckets = list(entry["buckets"].items())
        rows.append({
            "service": group,
            "rps": entry["requests"] / seconds,
            "success_rate": entry["successes"] / entry["requests"],
            "p50_ms": histogram_quantile(0.50, buckets),
            "p95_ms": histogram_quantile(0.95, buckets),
            "p99_ms": histogram_quantile(0.99, buckets),
        })
    return rows


def render(rows):
    def ms(value):
        return "-" if value is None else f"{value:.1f}"
    lines = [f"{'SERVICE':<24} {'RPS':>8} {'SUCCESS':>9} {'P50 ms':>8} {'P95 ms':>8} {'P99 ms':>8}"]
    for row in rows:
        lines.append(f"{row['service']:<24} {row['rps']:>8.1f} {100 * row['success_rate']:>8.2f}% "
                     f"{ms(row['p50_ms']):>8} {ms(row['p95_ms']):>8} {ms(row['p99_ms']):>8}")
    if not rows:
        lines.append("(no requests in the window)")
    return "\n".join(lines)


# ---- the cluster --------------------------------------------------------------

def kubectl(*args):
    command = [os.environ.get("KUBECTL", "kubectl"), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def meshed_pods(namespace):
    """{pod name: its labels} of the running pods that carry weft-proxy."""
    pods = json.loads(kubectl("-n", namespace, "get", "pods", "-o", "json"))["items"]
    found = {}
    for pod in pods:
        spec = pod["spec"]
        containers = spec.get("initContainers", []) + spec.get("containers", [])
        if pod["status"].get("phase") == "Running" and any(
                c["name"] == PROXY_CONTAINER for c in containers):
            found[pod["metadata"]["name"]] = pod["metadata"].get("labels", {})
    return found


def scrape(namespace, pods):
    samples = {}
    for pod in pods:
        try:
            text = kubectl("get", "--raw",
                           f"/api/v1/namespaces/{namespace}/pods/{pod}:{ADMIN_PORT}/proxy/metrics")
        except subprocess.CalledProcessError:
            continue  # a pod going away between listing and scraping
        samples[pod] = parse_prometheus(text)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespace", "-n", default="weft-demo")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between scrapes")
    parser.add_argument("--direction", choices=["inbound", "outbound"], default="inbound")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    if args.interval <= 0:
        parser.error("--interval must be positive")

    pods = meshed_pods(args.namespace)
    if not pods:
        print(f"no running meshed pods in namespace {args.namespace}", file=sys.stderr)
        return 1
    before = scrape(args.namespace, pods)
    start = time.monotonic()
    time.sleep(args.interval)
    after = scrape(args.namespace, pods)
    seconds = time.monotonic() - start

    if args.direction == "inbound":
        def group_of(pod, _labels):
            labels = pods.get(pod, {})
            name = labels.get("app") or labels.get("app.kubernetes.io/name") or pod
            return f"{name} {labels['version']}" if "version" in labels else name
    else:
        def group_of(_pod, labels):
            return labels.get("target_service") or None

    rows = summarize(window(before, after, group_of, args.direction), seconds)
    print(json.dumps(rows, indent=2) if args.json else render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
