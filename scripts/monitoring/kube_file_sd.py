#!/usr/bin/env python3
"""Kubernetes discovery for a Prometheus built without it, through file_sd.

Debian's prometheus package is built without kubernetes_sd_configs. To run
the shipped manifests/monitoring/prometheus.yml with it beside a cluster
(scripts/monitoring/beside-node), each job's kubernetes_sd_configs block is
replaced by a file_sd_configs block, and this program fills that file from
the API server with the targets and __meta_kubernetes_* labels Prometheus's
own Kubernetes discovery gives (roles pod and endpoints, namespaces.names
applied). The jobs' relabel_configs are kept as shipped, so the targets get
the labels the alerting rules expect.

  kube_file_sd.py config PROMETHEUS_YML SD_DIR --rules FILE --alertmanager HOST:PORT
      [--scrape-interval D] [--evaluation-interval D] [--token FILE --ca FILE] > local.yml
                                                             the configuration to run
  kube_file_sd.py once PROMETHEUS_YML SD_DIR                  fills SD_DIR/<job>.json once
  kube_file_sd.py watch PROMETHEUS_YML SD_DIR [--interval S]  refills SD_DIR/<job>.json

Bounded against hostile pods (any user who may create a pod writes its
labels, annotations and ports): a job's file holds only the targets its
leading keep/drop relabel rules keep (applied here as Prometheus applies
them), each with only the __meta_ labels its relabel_configs read (both
derived from PROMETHEUS_YML); at most --max-groups-per-pod targets of one
pod per job and --max-file-bytes per file, the rest skipped, logged and
counted. Each pass's outcome goes to SD_DIR/status.json (the heartbeat:
last_success, failures, dropped counts); a failed pass (any error) is
logged, the last files kept, and the next one tried after a backoff.

The core (pod_targets, endpoints_targets, file_sd_config, job_filter,
bounded_groups) is pure and tested in test/unit/monitoring/beside_node_test.py;
kubectl is the only I/O.
"""

import argparse
import copy
import json
import os
import pathlib
import re
import subprocess
import sys
import time

import yaml

META = "__meta_kubernetes_"
# kubectl's resource names of the kinds read.
KINDS = {"Pod": "pods", "Endpoints": "endpoints", "Service": "services"}
# Where a pod finds its ServiceAccount's token and the cluster's CA.
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount/"


def label_name(text):
    """Prometheus's sanitising of a Kubernetes key into a label name."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", text)


def _object_labels(prefix, metadata, wanted=None):
    """Labels and annotations as discovery names them: value and presence;
    only the label names in WANTED when given (None: all)."""
    labels = {}
    for kind, field in (("label", "labels"), ("annotation", "annotations")):
        for key, value in (metadata.get(field) or {}).items():
            name = label_name(str(key))
            for label, label_value in ((f"{META}{prefix}_{kind}_{name}", value),
                                       (f"{META}{prefix}_{kind}present_{name}", "true")):
                if wanted is None or label in wanted:
                    labels[label] = str(label_value)
    return labels


def _only(labels, wanted):
    return labels if wanted is None else {k: v for k, v in labels.items() if k in wanted}


def _pod_ready(pod):
    for condition in pod.get("status", {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("status", "unknown")).lower()
    return "unknown"


def pod_targets(pod, wanted=None):
    """The target groups of role `pod` for one Pod object (a dict of its JSON):
    one per container port, and one (the bare IP) for a container without
    ports; init containers too, labelled __meta_kubernetes_pod_container_init.
    A pod without an IP has none, as in discovery. WANTED: the label names to
    write (None: all), so that a large annotation nobody reads is not copied
    into every group."""
    metadata, spec, status = pod.get("metadata", {}), pod.get("spec", {}), pod.get("status", {})
    ip = status.get("podIP")
    if not ip:
        return []
    common = {
        f"{META}namespace": metadata.get("namespace", ""),
        f"{META}pod_name": metadata.get("name", ""),
        f"{META}pod_ip": ip,
        f"{META}pod_ready": _pod_ready(pod),
        f"{META}pod_phase": status.get("phase", ""),
        f"{META}pod_node_name": spec.get("nodeName", ""),
        f"{META}pod_host_ip": status.get("hostIP", ""),
        f"{META}pod_uid": metadata.get("uid", ""),
    }
    for owner in metadata.get("ownerReferences") or []:
        if owner.get("controller"):
            common[f"{META}pod_controller_kind"] = owner.get("kind", "")
            common[f"{META}pod_controller_name"] = owner.get("name", "")
    common = _only(common, wanted)
    common.update(_object_labels("pod", metadata, wanted))
    ids = {s.get("name"): s.get("containerID", "")
           for s in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])}
    groups = []
    for init, containers in ((False, spec.get("containers") or []),
                             (True, spec.get("initContainers") or [])):
        for container in containers:
            base = dict(common)
            base[f"{META}pod_container_name"] = container.get("name", "")
            base[f"{META}pod_container_image"] = container.get("image", "")
            base[f"{META}pod_container_init"] = str(init).lower()
            if ids.get(container.get("name")):
                base[f"{META}pod_container_id"] = ids[container.get("name")]
            ports = container.get("ports") or []
            base = _only(base, wanted)
            if not ports:
                groups.append({"targets": [ip], "labels": base})
            for port in ports:
                labels = dict(base)
                labels[f"{META}pod_container_port_name"] = port.get("name", "")
                labels[f"{META}pod_container_port_number"] = str(port["containerPort"])
                labels[f"{META}pod_container_port_protocol"] = port.get("protocol", "TCP")
                groups.append({"targets": [f"{ip}:{port['containerPort']}"],
                               "labels": _only(labels, wanted)})
    return groups


def endpoints_targets(endpoints, service=None, wanted=None):
    """The target groups of role `endpoints` for one Endpoints object and its
    Service (when it exists): one per address and port, ready or not; only
    the label names in WANTED when given."""
    metadata = endpoints.get("metadata", {})
    common = {
        f"{META}namespace": metadata.get("namespace", ""),
        f"{META}endpoints_name": metadata.get("name", ""),
    }
    common.update(_object_labels("endpoints", metadata, wanted))
    if service is not None:
        common[f"{META}service_name"] = service["metadata"]["name"]
        common.update(_object_labels("service", service["metadata"], wanted))
    common = _only(common, wanted)
    groups = []
    for subset in endpoints.get("subsets") or []:
        for ready, addresses in (("true", subset.get("addresses") or []),
                                 ("false", subset.get("notReadyAddresses") or [])):
            for address in addresses:
                for port in subset.get("ports") or []:
                    labels = dict(common)
                    labels[f"{META}endpoint_ready"] = ready
                    labels[f"{META}endpoint_port_name"] = port.get("name", "")
                    labels[f"{META}endpoint_port_protocol"] = port.get("protocol", "TCP")
                    target = address.get("targetRef") or {}
                    if target:
                        labels[f"{META}endpoint_address_target_kind"] = target.get("kind", "")
                        labels[f"{META}endpoint_address_target_name"] = target.get("name", "")
                    groups.append({"targets": [f"{address['ip']}:{port['port']}"],
                                   "labels": _only(labels, wanted)})
    return groups


def discovery_of(job):
    """(role, namespaces or None) of a job's single kubernetes_sd_configs block."""
    blocks = job.get("kubernetes_sd_configs") or []
    if len(blocks) != 1:
        raise ValueError(f"job {job.get('job_name')}: one kubernetes_sd_configs block expected")
    role = blocks[0]["role"]
    if role not in ("pod", "endpoints"):
        raise ValueError(f"job {job['job_name']}: role {role} is not supported (pod, endpoints)")
    names = (blocks[0].get("namespaces") or {}).get("names")
    return role, names


def file_sd_config(config, sd_dir):
    """The configuration with each kubernetes_sd_configs replaced by a
    file_sd_configs of SD_DIR/<job>.json; everything else as given."""
    local = copy.deepcopy(config)
    for job in local.get("scrape_configs") or []:
        if "kubernetes_sd_configs" not in job:
            continue
        discovery_of(job)  # refuses what the generator cannot fill
        del job["kubernetes_sd_configs"]
        job["file_sd_configs"] = [{"files": [str(pathlib.Path(sd_dir) / f"{job['job_name']}.json")]}]
    return local


def beside_node_config(config, sd_dir, rules, alertmanager, scrape_interval=None,
                       evaluation_interval=None, token=None, ca_file=None):
    """The configuration Prometheus runs with beside the node: discovery from
    SD_DIR (file_sd_config), the rules file given, the Alertmanager at
    host:port, optionally other intervals, and the ServiceAccount files that
    an in-cluster Prometheus finds in its pod at the paths given instead.
    Scrape jobs and their relabelling are the shipped ones."""
    local = file_sd_config(config, sd_dir)
    if scrape_interval:
        local["global"]["scrape_interval"] = scrape_interval
    if evaluation_interval:
        local["global"]["evaluation_interval"] = evaluation_interval
    local["rule_files"] = [str(rules)]
    local["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    for job in local["scrape_configs"]:
        authorization = job.get("authorization", {})
        if token and authorization.get("credentials_file", "").startswith(SERVICE_ACCOUNT):
            authorization["credentials_file"] = str(token)
        tls = job.get("tls_config", {})
        if ca_file and tls.get("ca_file", "").startswith(SERVICE_ACCOUNT):
            tls["ca_file"] = str(ca_file)
    return local


def labels_read(job):
    """The __meta_ labels a job's relabel_configs read: all a file needs."""
    return {label for rule in job.get("relabel_configs") or []
            for label in rule.get("source_labels") or [] if label.startswith("__meta_")}


def job_filter(job):
    """The job's leading keep and drop rules as a predicate on a target's
    labels, applied as Prometheus applies them (source labels joined by the
    separator, the regex anchored at both ends, a missing label empty). It
    stops at the first rule of another action: what follows may read labels
    that rule writes."""
    rules = []
    for rule in job.get("relabel_configs") or []:
        if rule.get("action", "replace") not in ("keep", "drop"):
            break
        if not all(l.startswith("__meta_") for l in rule.get("source_labels") or []):
            break
        rules.append((rule["action"], rule.get("source_labels") or [], rule.get("separator", ";"),
                      re.compile(str(rule.get("regex", "(.*)")))))

    def kept(labels):
        for action, sources, separator, regex in rules:
            matched = regex.fullmatch(separator.join(labels.get(l, "") for l in sources)) is not None
            if matched != (action == "keep"):
                return False
        return True
    return kept


class Dropped:
    """Targets skipped by the caps, by reason: the pass logs them, the
    heartbeat counts them."""

    def __init__(self):
        self.by_reason = {}

    def add(self, reason, count):
        if count:
            self.by_reason[reason] = self.by_reason.get(reason, 0) + count


def targets_for(job, pods, endpoints, services, max_groups_per_pod=None, dropped=None):
    """What discovery hands a job, from lists of Pod, Endpoints and Service
    objects: only the targets its keep/drop rules keep, with only the labels
    it reads; at most MAX_GROUPS_PER_POD per pod (the rest counted in
    DROPPED). Without a job's relabel_configs, everything discovery gives."""
    role, names = discovery_of(job)
    wanted_labels = labels_read(job) if job.get("relabel_configs") else None
    kept = job_filter(job)
    dropped = dropped if dropped is not None else Dropped()

    def wanted(obj):
        return names is None or obj.get("metadata", {}).get("namespace") in names

    def bounded(make_groups, *args):
        try:
            groups = [g for g in make_groups(*args) if kept(g["labels"])]
        except Exception:  # noqa: BLE001: one malformed object must not stop discovery
            dropped.add("objects_unreadable", 1)
            return []
        if max_groups_per_pod is not None and len(groups) > max_groups_per_pod:
            dropped.add("groups_over_pod_cap", len(groups) - max_groups_per_pod)
            groups = groups[:max_groups_per_pod]
        return groups
    if role == "pod":
        return [g for pod in pods if wanted(pod) for g in bounded(pod_targets, pod, wanted_labels)]
    by_key = {}
    for service in services:
        metadata = service.get("metadata", {})
        by_key[(metadata.get("namespace"), metadata.get("name"))] = service
    return [g for e in endpoints if wanted(e)
            for g in bounded(endpoints_targets, e,
                             by_key.get((e.get("metadata", {}).get("namespace"),
                                         e.get("metadata", {}).get("name"))),
                             wanted_labels)]


def bounded_file(groups, max_bytes, dropped):
    """(the file_sd JSON of GROUPS, the groups it holds), of at most
    MAX_BYTES: groups past it are left out (counted in DROPPED as
    groups_over_file_bytes)."""
    parts, size = [], 2
    for index, group in enumerate(groups):
        part = json.dumps(group, sort_keys=True)
        if size + len(part) + 2 > max_bytes:
            dropped.add("groups_over_file_bytes", len(groups) - index)
            break
        parts.append(part)
        size += len(part) + 2
    return "[" + ", ".join(parts) + "]", len(parts)


# --- I/O --------------------------------------------------------------------------


# kubectl's own limit on one request, and ours on the whole process.
REQUEST_TIMEOUT = "10s"
PROCESS_TIMEOUT = 30


def kubectl_items(kinds, namespaces=None):
    """Objects of the given kinds, by kind: in every namespace (NAMESPACES
    None), or in those named. One kubectl call per namespace (a process per
    kind would cost more than the reading on a busy machine)."""
    kubectl = os.environ.get("KUBECTL", "kubectl")
    by_kind = {kind: [] for kind in kinds}
    scopes = [["--all-namespaces"]] if namespaces is None else [["-n", n] for n in sorted(namespaces)]
    for scope in scopes:
        out = subprocess.run([kubectl, "get", ",".join(kinds), *scope, "-o", "json",
                              f"--request-timeout={REQUEST_TIMEOUT}"],
                             check=True, capture_output=True, text=True,
                             timeout=PROCESS_TIMEOUT).stdout
        for item in json.loads(out)["items"]:
            by_kind.setdefault(KINDS.get(item.get("kind"), ""), []).append(item)
    return by_kind


def namespaces_of(jobs):
    """The namespaces the jobs read (None: all of them)."""
    names = set()
    for job in jobs:
        job_names = discovery_of(job)[1]
        if job_names is None:
            return None
        names |= set(job_names)
    return names


def write_atomically(path, text):
    """Prometheus watches the file: it must never see half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def refresh(config, sd_dir, max_groups_per_pod, max_file_bytes):
    """One pass: reads the API server, writes each job's file; returns the
    targets written by job and what the caps dropped (Dropped)."""
    jobs = [j for j in config.get("scrape_configs") or [] if "kubernetes_sd_configs" in j]
    pod_jobs = [j for j in jobs if discovery_of(j)[0] == "pod"]
    endpoints_jobs = [j for j in jobs if discovery_of(j)[0] == "endpoints"]
    objects = {}
    if pod_jobs:
        objects.update(kubectl_items(["pods"], namespaces_of(pod_jobs)))
    if endpoints_jobs:
        objects.update(kubectl_items(["endpoints", "services"], namespaces_of(endpoints_jobs)))
    pods, endpoints, services = (objects.get(k, []) for k in ("pods", "endpoints", "services"))
    dropped, written = Dropped(), {}
    for job in jobs:
        groups = targets_for(job, pods, endpoints, services, max_groups_per_pod, dropped)
        text, written[job["job_name"]] = bounded_file(groups, max_file_bytes, dropped)
        path = pathlib.Path(sd_dir) / f"{job['job_name']}.json"
        if not path.exists() or path.read_text() != text:
            write_atomically(path, text)
    return written, dropped


class Heartbeat:
    """SD_DIR/status.json, rewritten after every pass: when the last one ran
    and succeeded, failures, what the caps dropped (in total and in the last
    pass), the targets written. Stale last_success: discovery is stuck."""

    def __init__(self, sd_dir):
        self.path = pathlib.Path(sd_dir) / "status.json"
        self.state = {"passes": 0, "failures": 0, "consecutive_failures": 0,
                      "last_attempt": None, "last_success": None, "last_error": None,
                      "dropped_total": {}, "dropped_last_pass": {}, "targets": {}}

    def record(self, written=None, dropped=None, error=None):
        state, now = self.state, time.time()
        state["passes"] += 1
        state["last_attempt"] = now
        if error is None:
            state["last_success"], state["consecutive_failures"] = now, 0
            state["targets"], state["dropped_last_pass"] = written, dropped.by_reason
            for reason, count in dropped.by_reason.items():
                state["dropped_total"][reason] = state["dropped_total"].get(reason, 0) + count
        else:
            state["failures"] += 1
            state["consecutive_failures"] += 1
            state["last_error"] = str(error)[:500]
        write_atomically(self.path, json.dumps(state, sort_keys=True))


def backoff(interval, failures, ceiling=60.0):
    """Seconds to wait after FAILURES failed passes in a row: doubling from
    the interval, at most CEILING."""
    return min(interval * 2 ** min(failures, 16), max(ceiling, interval))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["config", "once", "watch"])
    parser.add_argument("prometheus_yml", type=pathlib.Path)
    parser.add_argument("sd_dir", type=pathlib.Path)
    parser.add_argument("--interval", type=float, default=5.0,
                        help="seconds between two reads of the API server (watch)")
    parser.add_argument("--rules", help="the rules file to load (config)")
    parser.add_argument("--alertmanager", help="host:port of Alertmanager (config)")
    parser.add_argument("--scrape-interval", help="instead of the shipped one (config)")
    parser.add_argument("--evaluation-interval", help="instead of the shipped one (config)")
    parser.add_argument("--token", help="ServiceAccount token file for the API server's job (config)")
    parser.add_argument("--ca", help="the cluster's CA file for the API server's job (config)")
    parser.add_argument("--max-groups-per-pod", type=int, default=8,
                        help="targets of one pod (or Endpoints) kept per job; more are dropped "
                        "and counted (once, watch)")
    parser.add_argument("--max-file-bytes", type=int, default=32 * 1024 * 1024,
                        help="size of one job's file; targets past it are dropped and counted")
    args = parser.parse_args()
    config = yaml.safe_load(args.prometheus_yml.read_text())
    if args.command == "config":
        if not args.rules or not args.alertmanager:
            parser.error("config needs --rules and --alertmanager")
        local = beside_node_config(config, args.sd_dir.resolve(), args.rules, args.alertmanager,
                                   args.scrape_interval, args.evaluation_interval, args.token,
                                   args.ca)
        print(yaml.safe_dump(local, sort_keys=False), end="")
        return 0
    args.sd_dir.mkdir(parents=True, exist_ok=True)
    heartbeat = Heartbeat(args.sd_dir)
    while True:
        try:
            written, dropped = refresh(config, args.sd_dir, args.max_groups_per_pod,
                                       args.max_file_bytes)
            if dropped.by_reason:
                print(f"kube_file_sd: targets dropped by the caps: {dropped.by_reason}",
                      file=sys.stderr, flush=True)
            heartbeat.record(written, dropped)
            wait = args.interval
        except Exception as error:  # noqa: BLE001: any failure of a pass (a hostile
            # object, the API server away) keeps the last files and the loop going.
            print(f"kube_file_sd: pass failed: {type(error).__name__}: {error}"[:1000],
                  file=sys.stderr, flush=True)
            try:
                heartbeat.record(error=error)
            except OSError as write_error:
                print(f"kube_file_sd: {write_error}", file=sys.stderr, flush=True)
            if args.command == "once":
                return 1
            wait = backoff(args.interval, heartbeat.state["consecutive_failures"])
        if args.command == "once":
            return 0
        time.sleep(wait)


if __name__ == "__main__":
    sys.exit(main())
