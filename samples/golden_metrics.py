#!/usr/bin/env python3
"""Golden metrics of a meshed namespace, read from its proxies.

Reads /metrics of every running meshed pod's weft-proxy (admin port 4191,
through the API server's pod proxy) twice, INTERVAL seconds apart, and prints
for that window, per service: requests per second, success rate, and p50, p95,
p99 latency (from the proxies' response_latency_ms histograms, interpolated
within a bucket as Prometheus' histogram_quantile does).

Then, from the same windows, who talks to whom and how: for each server
workload, its callers as its inbound proxy saw them, by the identity their
mTLS certificate proved (request_total's client_id, named by the workloads
whose pods run as that ServiceAccount), or without one (no_tls_reason), with
requests per second and the share of the server's requests.

  golden_metrics.py --namespace weft-demo [--interval 10] [--direction inbound|outbound] [--json] [--mtls]

--direction inbound (default): grouped by the serving pod's `app` and `version`
labels: what each workload answers (the kubelet's probes included). outbound: grouped by the target Service,
summed over the calling pods: what callers get, after retries and timeouts.
--json prints the golden-metrics rows as JSON; with --mtls, the who-talks-to-whom
rows instead (--mtls alone prints only that table).
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


# ---- who talks to whom, over mTLS or not ------------------------------------------

_SPIFFE = re.compile(r"^spiffe://[^/]+/ns/([^/]+)/sa/([^/]+)$")


def mtls_window(before, after, server_of):
    """Per (client, server): requests over the window, from the servers' inbound
    request_total. client: the client_id of tls="true" series, else
    "no_identity:<no_tls_reason>"; server_of(pod) names the server (None: left
    out). The TLS labels (a Weft proxy's, as Linkerd's) are read, never required:
    a series without them counts as no identity."""
    pairs = {}

    def add(pod, samples, sign):
        server = server_of(pod)
        if server is None:
            return
        for name, labels, value in samples:
            if name != "request_total" or labels.get("direction") != "inbound":
                continue
            if labels.get("tls") == "true" and labels.get("client_id"):
                client = labels["client_id"]
            else:
                client = "no_identity:" + (labels.get("no_tls_reason") or "unknown")
            pairs[(client, server)] = pairs.get((client, server), 0.0) + sign * value

    for pod, samples in after.items():
        add(pod, samples, +1)
        add(pod, before.get(pod, []), -1)
    return pairs


def identity_names(pods, namespace):
    """{ServiceAccount: sorted workload names} of the pods of `namespace`;
    pods: {pod: {"labels": {...}, "service_account": name}}."""
    names = {}
    for pod, entry in pods.items():
        labels = entry.get("labels", {})
        workload = labels.get("app") or labels.get("app.kubernetes.io/name") or pod
        names.setdefault(entry.get("service_account") or "default", set()).add(workload)
    return {account: sorted(found) for account, found in names.items()}


def caller_name(client, names, namespace):
    """A client of mtls_window, for people: "web (sa web)" for an identity of
    `namespace` whose pods are known, "sa x, ns y" for another namespace's,
    "unmeshed (reason)" for plaintext."""
    if client.startswith("no_identity:"):
        return f"unmeshed ({client.split(':', 1)[1]})"
    match = _SPIFFE.match(client)
    if not match:
        return client
    ns, account = match.groups()
    if ns != namespace:
        return f"sa {account}, ns {ns}"
    workloads = names.get(account)
    return f"{', '.join(workloads)} (sa {account})" if workloads else f"sa {account}"


def mtls_rows(pairs, seconds, names, namespace):
    """Rows of the who-talks-to-whom table, by server, busiest callers first."""
    per_server = {}
    for (_, server), count in pairs.items():
        per_server[server] = per_server.get(server, 0.0) + max(count, 0.0)
    rows = []
    for (client, server), count in sorted(pairs.items(),
                                          key=lambda item: (item[0][1], -item[1], item[0][0])):
        if count <= 0:
            continue
        meshed = not client.startswith("no_identity:")
        rows.append({
            "client": caller_name(client, names, namespace),
            "client_id": client if meshed else "",
            "server": server,
            "rps": count / seconds,
            "mtls": meshed,
            "share": count / per_server[server],
        })
    return rows


def render_mtls(rows):
    width = max([len(row["client"]) for row in rows] + [len("CLIENT")])
    lines = [f"{'CLIENT':<{width}}    {'SERVER':<16} {'RPS':>8}  {'TLS':<9} {'SHARE':>7}"]
    for row in rows:
        lines.append(f"{row['client']:<{width}} -> {row['server']:<16} {row['rps']:>8.1f}  "
                     f"{'mTLS' if row['mtls'] else 'plaintext':<9} {100 * row['share']:>6.1f}%")
    if not rows:
        lines.append("(no inbound requests in the window)")
    return "\n".join(lines)


# ---- the cluster --------------------------------------------------------------

def kubectl(*args):
    command = [os.environ.get("KUBECTL", "kubectl"), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def meshed_pods(namespace):
    """{pod name: {"labels", "service_account"}} of the running pods that carry weft-proxy."""
    pods = json.loads(kubectl("-n", namespace, "get", "pods", "-o", "json"))["items"]
    found = {}
    for pod in pods:
        spec = pod["spec"]
        containers = spec.get("initContainers", []) + spec.get("containers", [])
        if pod["status"].get("phase") == "Running" and any(
                c["name"] == PROXY_CONTAINER for c in containers):
            found[pod["metadata"]["name"]] = {
                "labels": pod["metadata"].get("labels", {}),
                "service_account": spec.get("serviceAccountName", "default")}
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
    parser.add_argument("--mtls", action="store_true",
                        help="print only who talks to whom, over mTLS or not")
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

    def workload(pod):
        labels = pods.get(pod, {}).get("labels", {})
        name = labels.get("app") or labels.get("app.kubernetes.io/name") or pod
        return f"{name} {labels['version']}" if "version" in labels else name

    if args.direction == "inbound":
        def group_of(pod, _labels):
            return workload(pod)
    else:
        def group_of(_pod, labels):
            return labels.get("target_service") or None

    mtls = mtls_rows(mtls_window(before, after, workload), seconds,
                     identity_names(pods, args.namespace), args.namespace)
    if args.mtls:
        print(json.dumps(mtls, indent=2) if args.json else render_mtls(mtls))
        return 0
    rows = summarize(window(before, after, group_of, args.direction), seconds)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(render(rows))
    print()
    print("Who talks to whom (each server's inbound proxy, by the identity its callers proved):")
    print(render_mtls(mtls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
