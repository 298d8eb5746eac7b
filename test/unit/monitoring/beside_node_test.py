#!/usr/bin/env python3
"""The pieces of scripts/monitoring/ that run the bundle beside the node.

    beside_node_test.py discovery   kube_file_sd.py turns Pod and Endpoints
                                    objects into the targets and __meta labels
                                    scrape_relabel_test.py feeds the shipped
                                    relabelling (what Kubernetes discovery gives)
    beside_node_test.py config      the configuration to run: each job as
                                    shipped but its discovery, rules, alerting
    beside_node_test.py scale-for   scale_for.py: only `for` divided; any other
                                    difference is caught
    beside_node_test.py receiver    alert_receiver.py's lines of a notification
    beside_node_test.py hostile     kube_file_sd.py against a hostile pod (thousands
                                    of ports, a 250 KB annotation, a forged seal)
                                    and a malformed one: small files, only kept
                                    targets and read labels, drops counted;
                                    kubectl bounded in time and namespaces; a
                                    failed pass recorded in status.json
    beside_node_test.py up-down     beside-node up and down for real against a
                                    stub kubectl: the ServiceAccount's ClusterRole
                                    allows only get of /metrics, the token and
                                    every file private, down stops everything
                                    and deletes the token (skips, 77, without
                                    Debian's prometheus, except as root)
    beside_node_test.py private-dir beside-node refuses a DIR others own or may
                                    write, creates one 0700, and `down` kills
                                    only the processes `up` recorded (same
                                    start time and command line)

No server is started (scrape_relabel_test.py runs the relabelling in one).
"""

import copy
import hashlib
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

HERE = pathlib.Path(__file__).resolve().parent
SCRIPTS = HERE.parent.parent.parent / "scripts" / "monitoring"
sys.path.insert(0, str(SCRIPTS))

import alert_receiver  # noqa: E402
import kube_file_sd  # noqa: E402
import scale_for  # noqa: E402
from monitoring_test import CONFIG, RULES  # noqa: E402
from scrape_relabel_test import (NATIVE_SIDECAR_INIT, discovered_endpoints,  # noqa: E402
                                 discovered_pods)

CHECKS = {}


def check(name):
    def register(function):
        CHECKS[name] = function
        return function
    return register


def pod_object(labels_of_target):
    """A Pod object (as `kubectl get -o json` gives it) that Kubernetes
    discovery would turn into the targets of one pod of discovered_pods()."""
    first = labels_of_target[0]["labels"]
    meta = kube_file_sd.META
    metadata = {"namespace": first[meta + "namespace"], "name": first[meta + "pod_name"],
                "labels": {}, "annotations": {}}
    if first.get(kube_file_sd.META + "pod_annotationpresent_weft_io_injection_seal") == "true":
        metadata["annotations"]["weft.io/injection-seal"] = "sealed"
    for key, value in first.items():
        if key.startswith(meta + "pod_label_"):
            # The test's labels are app.kubernetes.io/name: sanitised, this is it.
            metadata["labels"]["app.kubernetes.io/name"] = value
    if meta + "pod_controller_kind" in first:
        metadata["ownerReferences"] = [{"kind": first[meta + "pod_controller_kind"],
                                        "name": first[meta + "pod_controller_name"],
                                        "controller": True}]
    containers, init = {}, {}
    for target in labels_of_target:
        labels = target["labels"]
        name = labels[meta + "pod_container_name"]
        into = init if name in NATIVE_SIDECAR_INIT else containers
        entry = into.setdefault(name, {"name": name, "image": "example/" + name})
        if meta + "pod_container_port_number" in labels:
            entry.setdefault("ports", []).append(
                {"name": labels[meta + "pod_container_port_name"],
                 "containerPort": int(labels[meta + "pod_container_port_number"])})
    return {"metadata": metadata,
            "spec": {"containers": list(containers.values()),
                     "initContainers": list(init.values())},
            "status": {"podIP": first[meta + "pod_ip"], "phase": first[meta + "pod_phase"]}}


def by_pod(groups):
    pods = {}
    for group in groups:
        pods.setdefault(group["labels"][kube_file_sd.META + "pod_name"], []).append(group)
    return pods


def same_targets(got, want, what):
    """Every wanted target, with at least its labels (discovery gives more:
    the image, readiness), and no other target."""
    # A pod's containers without ports share its bare IP: keyed by container too.
    def key(group):
        return group["targets"][0], group["labels"].get(kube_file_sd.META + "pod_container_name")
    got_by_address = {key(g): g["labels"] for g in got}
    want_by_address = {key(w): w["labels"] for w in want}
    assert len(got_by_address) == len(got) and len(want_by_address) == len(want), what
    assert set(got_by_address) == set(want_by_address), \
        f"{what}: targets {sorted(got_by_address)} != {sorted(want_by_address)}"
    for address, labels in want_by_address.items():
        missing = {k: v for k, v in labels.items() if got_by_address[address].get(k) != v}
        assert not missing, f"{what} {address}: labels differ: {missing}"


@check("discovery")
def discovery():
    wanted = by_pod(discovered_pods())
    for name, groups in wanted.items():
        same_targets(kube_file_sd.pod_targets(pod_object(groups)), groups, f"pod {name}")
    # A pod without an IP yet has no target.
    assert kube_file_sd.pod_targets({"metadata": {"name": "p"}, "spec": {}, "status": {}}) == []
    # Annotations and labels are sanitised into label names, present and valued.
    labels = kube_file_sd.pod_targets({
        "metadata": {"name": "p", "namespace": "n", "annotations": {"weft.io/injection-seal": "x"},
                     "labels": {"app.kubernetes.io/name": "a"}},
        "spec": {"containers": [{"name": "c"}]},
        "status": {"podIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": "True"}]},
    })[0]["labels"]
    assert labels["__meta_kubernetes_pod_annotation_weft_io_injection_seal"] == "x"
    assert labels["__meta_kubernetes_pod_annotationpresent_weft_io_injection_seal"] == "true"
    assert labels["__meta_kubernetes_pod_label_app_kubernetes_io_name"] == "a"
    assert labels["__meta_kubernetes_pod_ready"] == "true"

    # Endpoints: the API server's Service and another, as discovered_endpoints().
    endpoints = [{"metadata": {"namespace": "default", "name": name},
                  "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": port}]}]}
                 for name, ip, port in (("kubernetes", "127.0.3.1", 6443), ("other", "127.0.3.2", 443))]
    services = [{"metadata": {"namespace": "default", "name": n}} for n in ("kubernetes", "other")]
    job = {"job_name": "apiservers",
           "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": ["default"]}}]}
    same_targets(kube_file_sd.targets_for(job, [], endpoints, services), discovered_endpoints(),
                 "endpoints")
    # namespaces.names applies: nothing of other namespaces.
    elsewhere = copy.deepcopy(endpoints)
    for e in elsewhere:
        e["metadata"]["namespace"] = "shop"
    assert kube_file_sd.targets_for(job, [], elsewhere, services) == []


@check("config")
def config():
    shipped = yaml.safe_load(CONFIG.read_text())
    local = kube_file_sd.beside_node_config(shipped, "/sd", "/rules.yml", "127.0.0.1:9093",
                                            "2s", "3s", "/token", "/ca.crt")
    assert local["rule_files"] == ["/rules.yml"]
    assert local["global"]["scrape_interval"] == "2s"
    assert local["global"]["evaluation_interval"] == "3s"
    assert local["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9093"]
    for job_s, job_l in zip(shipped["scrape_configs"], local["scrape_configs"]):
        name = job_s["job_name"]
        assert job_l["file_sd_configs"] == [{"files": [f"/sd/{name}.json"]}], name
        assert "kubernetes_sd_configs" not in job_l, name
        # Everything else as shipped, the ServiceAccount's paths aside.
        rest_s = {k: v for k, v in job_s.items() if k not in ("kubernetes_sd_configs",)}
        rest_l = {k: v for k, v in job_l.items() if k != "file_sd_configs"}
        if "authorization" in rest_s:
            assert rest_l["authorization"]["credentials_file"] == "/token", name
            rest_l["authorization"] = rest_s["authorization"]
        if "ca_file" in rest_s.get("tls_config", {}):
            assert rest_l["tls_config"]["ca_file"] == "/ca.crt", name
            rest_l["tls_config"] = rest_s["tls_config"]
        assert rest_s == rest_l, f"job {name} differs beyond its discovery"
    # A role the generator cannot fill is refused, not silently dropped.
    try:
        kube_file_sd.file_sd_config({"scrape_configs": [
            {"job_name": "n", "kubernetes_sd_configs": [{"role": "node"}]}]}, "/sd")
    except ValueError:
        pass
    else:
        raise AssertionError("role node accepted")


@check("scale-for")
def scale_for_check():
    shipped = yaml.safe_load(RULES.read_text())
    derived = scale_for.scaled(shipped, 20)
    assert scale_for.differences(shipped, derived, 20) == []
    fors = {r["alert"]: r["for"] for g in derived["groups"] for r in g["rules"] if "for" in r}
    assert fors["WeftServiceSuccessRateLow"] == "15s" and fors["WeftProxyDown"] == "6s", fors
    assert scale_for.seconds("1h30m") == 5400 and scale_for.seconds("90s") == 90
    # Anything else changed is caught: an expression, a `for` not divided, one added.
    for change in (lambda r: r.update(expr=r["expr"] + " * 2"),
                   lambda r: r.update({"for": "5m"}),
                   lambda r: r.pop("for")):
        tampered = copy.deepcopy(derived)
        rule = next(r for g in tampered["groups"] for r in g["rules"]
                    if r.get("alert") == "WeftProxyDown")
        change(rule)
        assert scale_for.differences(shipped, tampered, 20), "a tampered rule went unnoticed"


@check("receiver")
def receiver():
    payload = {"receiver": "r", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "A"}, "annotations": {"summary": "s"},
         "startsAt": "t0", "endsAt": "0001-01-01T00:00:00Z"},
        {"status": "resolved", "labels": {"alertname": "B"}, "annotations": {},
         "startsAt": "t1", "endsAt": "t2"}]}
    lines = [yaml.safe_load(line) for line in alert_receiver.alert_lines(payload, 12.5)]
    assert [(l["status"], l["labels"]["alertname"], l["received_at"]) for l in lines] == \
        [("firing", "A", 12.5), ("resolved", "B", 12.5)], lines
    assert lines[0]["annotations"] == {"summary": "s"} and lines[1]["endsAt"] == "t2"

    # Its limits, pure: Content-Length, and the log's size.
    assert alert_receiver.body_length("12", 100) == (12, None)
    for header, status in ((None, 411), ("-1", 400), ("1e3", 400), (" +5", 400), ("", 400),
                           ("101", 413), ("99999999999999999999", 413)):
        assert alert_receiver.body_length(header, 100)[1][0] == status, header
    assert alert_receiver.lines_within(["aaaa", "bbbb", "cccc"], 0, 10) == (["aaaa", "bbbb"], 1)
    assert alert_receiver.lines_within(["aaaa"], 8, 10) == ([], 1)

    # And served, on loopback, with small limits.
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        log = tmp / "alerts.jsonl"
        server = subprocess.Popen([sys.executable, str(SCRIPTS / "alert_receiver.py"),
                                   str(tmp / "port"), str(log), "--max-body-bytes", "2000",
                                   "--max-log-bytes", "1000", "--timeout", "2"])
        try:
            deadline = time.monotonic() + 10
            while not (tmp / "port").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            port = int((tmp / "port").read_text())

            def raw(request):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                    connection.sendall(request)
                    return connection.recv(65536).split(b" ", 2)[1].decode()
            body = json.dumps(payload).encode()
            post = b"POST / HTTP/1.1\r\nHost: x\r\n"
            assert raw(post + b"Content-Length: %d\r\n\r\n" % len(body) + body) == "200"
            assert raw(post + b"Content-Length: -5\r\n\r\n") == "400"
            assert raw(post + b"\r\n") == "411"
            assert raw(post + b"Content-Length: 999999999\r\n\r\n") == "413"
            assert raw(post + b"Content-Length: 3\r\n\r\n[1]") == "400"
            for _ in range(10):  # each notification adds about 400 bytes
                raw(post + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            assert log.stat().st_size <= 1000, log.stat().st_size
            stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats",
                                                      timeout=5).read())
            assert stats["refused_length_bad"] == 1 and stats["refused_length_missing"] == 1 \
                and stats["refused_body_too_large"] == 1 and stats["refused_not_json"] == 1, stats
            assert stats["lines_dropped_log_full"] >= 10 and stats["lines_written"] >= 2, stats
        finally:
            server.kill()
            server.wait()


def hostile_pod(ports=5000, annotation=250_000):
    """A pod anyone may create: the seal forged, a weft-proxy container with
    thousands of ports named weft-admin, another with thousands more, and a
    huge annotation."""
    return {"kind": "Pod", "metadata": {
        "namespace": "attacker", "name": "bomb", "uid": "u",
        "labels": {f"l{i}": "v" * 60 for i in range(100)},
        "annotations": {"weft.io/injection-seal": "forged", "big": "x" * annotation}},
        "spec": {"containers": [
            {"name": "weft-proxy", "image": "i",
             "ports": [{"name": "weft-admin", "containerPort": 1 + i} for i in range(ports)]},
            {"name": "other", "image": "i",
             "ports": [{"name": f"p{i}", "containerPort": 20000 + i} for i in range(ports)]}]},
        "status": {"podIP": "10.0.0.9", "phase": "Running"}}


def meshed_pod():
    return {"kind": "Pod", "metadata": {
        "namespace": "shop", "name": "api-7d9f8c6b5-x2x4q", "uid": "m",
        "annotations": {"weft.io/injection-seal": "s", "big": "y" * 10_000},
        "ownerReferences": [{"kind": "ReplicaSet", "name": "api-7d9f8c6b5", "controller": True}]},
        "spec": {"containers": [{"name": "api", "ports": [{"name": "http", "containerPort": 8080}]}],
                 "initContainers": [{"name": "weft-proxy", "ports": [
                     {"name": "weft-admin", "containerPort": 4191},
                     {"name": "weft-inbound", "containerPort": 4143}]}]},
        "status": {"podIP": "10.0.0.7", "phase": "Running"}}


@check("hostile")
def hostile():
    shipped = yaml.safe_load(CONFIG.read_text())
    jobs = {j["job_name"]: j for j in shipped["scrape_configs"]}
    proxy_job = jobs["weft-proxy"]
    pods = [hostile_pod(), meshed_pod(), {"kind": "Pod", "metadata": {"name": "malformed"},
                                          "spec": {"containers": [{"ports": [{"name": "x"}]}]},
                                          "status": {"podIP": "10.0.0.8"}}]
    dropped = kube_file_sd.Dropped()
    groups = kube_file_sd.targets_for(proxy_job, pods, [], [], 8, dropped)
    text, count = kube_file_sd.bounded_file(groups, 32 * 1024 * 1024, dropped)
    # The hostile pod: at most the per-pod cap, the rest counted; the meshed
    # one: its admin port only. Labels: only what the job's rules read.
    per_pod = by_pod(groups)
    assert len(per_pod["bomb"]) == 8, len(per_pod["bomb"])
    assert [g["targets"] for g in per_pod["api-7d9f8c6b5-x2x4q"]] == [["10.0.0.7:4191"]]
    assert dropped.by_reason == {"groups_over_pod_cap": 5000 - 8, "objects_unreadable": 1}, \
        dropped.by_reason
    read = kube_file_sd.labels_read(proxy_job)
    assert all(set(g["labels"]) <= read for g in groups), "labels the job does not read written"
    assert len(text) < 10_000 and count == 9, (len(text), count)
    # Prometheus keeps the same as the generator: the kept target's labels
    # are what discovery would give for them.
    full = [g for g in kube_file_sd.pod_targets(meshed_pod())
            if g["labels"][kube_file_sd.META + "pod_container_port_name"] == "weft-admin"]
    assert per_pod["api-7d9f8c6b5-x2x4q"][0]["labels"] == \
        {k: v for k, v in full[0]["labels"].items() if k in read}
    # The control plane's jobs: nothing outside weft-system, however it looks.
    for name in ("weft-operator", "weft-identity", "weft-webhook"):
        assert kube_file_sd.targets_for(jobs[name], pods, [], [], 8) == [], name
    # The file size cap: groups past it left out and counted.
    dropped = kube_file_sd.Dropped()
    text, count = kube_file_sd.bounded_file(groups, 2_000, dropped)
    assert len(text) <= 2_000 and 0 < count < 9 and \
        dropped.by_reason == {"groups_over_file_bytes": 9 - count}, (len(text), dropped.by_reason)
    # Before the fix: every label and annotation in every port's group.
    assert len(json.dumps(kube_file_sd.pod_targets(hostile_pod(ports=20, annotation=1000)))) > 40_000

    # I/O: kubectl bounded in time, Endpoints and Services read in default only;
    # a failed pass (garbage from kubectl) leaves the last files and is recorded.
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        calls, answer = tmp / "calls", tmp / "answer.json"
        kubectl = tmp / "kubectl"
        kubectl.write_text(f'#!/bin/sh\necho "$*" >>{calls}\ncat {answer}\n')
        kubectl.chmod(0o755)
        answer.write_text(json.dumps({"items": [meshed_pod(), hostile_pod(ports=50)]}))
        sd = tmp / "sd"
        run = [sys.executable, str(SCRIPTS / "kube_file_sd.py"), "once", str(CONFIG), str(sd)]
        env = {**os.environ, "KUBECTL": str(kubectl)}
        result = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "dropped by the caps" in result.stderr, result.stderr
        lines = calls.read_text().splitlines()
        assert all("--request-timeout=10s" in line for line in lines), lines
        assert any(line.startswith("get endpoints,services -n default ") for line in lines), lines
        assert not any("endpoints" in line and "--all-namespaces" in line for line in lines), lines
        assert len(json.loads((sd / "weft-proxy.json").read_text())) == 9
        status = json.loads((sd / "status.json").read_text())
        assert status["last_success"] and status["dropped_total"] == {"groups_over_pod_cap": 42}, status
        kept = (sd / "weft-proxy.json").read_text()
        answer.write_text("not json")
        result = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 1 and "pass failed" in result.stderr, result
        assert (sd / "weft-proxy.json").read_text() == kept, "a failed pass changed the file"
        status = json.loads((sd / "status.json").read_text())
        assert status["failures"] == 1 and status["last_error"], status
    assert kube_file_sd.backoff(5, 1) == 10 and kube_file_sd.backoff(5, 10) == 60


STUB_KUBECTL = """#!/bin/sh
# kubectl for beside-node without a cluster: records what is applied.
case "$*" in
  "apply -f -") cat >"$RECORD/applied.yaml" ;;
  *"create token"*) echo not-a-real-token ;;
  *certificate-authority-data*) base64 -w0 "$RECORD/ca.crt" ;;
  get*) echo '{"items": []}' ;;
  *) exit 1 ;;
esac
"""


@check("up-down")
def up_down():
    from monitoring_test import require_tool
    for tool in ("prometheus", "prometheus-alertmanager", "amtool", "promtool"):
        require_tool(tool)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        kubectl = tmp / "kubectl"
        kubectl.write_text(STUB_KUBECTL)
        kubectl.chmod(0o755)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(tmp / "ca.key"),
                        "-out", str(tmp / "ca.crt"), "-subj", "/CN=stub", "-days", "1"],
                       check=True, capture_output=True)
        mon = tmp / "mon"
        env = {"KUBECTL": str(kubectl), "RECORD": str(tmp)}
        result = beside_node("up", str(mon), "--discovery-interval", "1", **env)
        try:
            assert result.returncode == 0, result.stderr
            applied = list(yaml.safe_load_all((tmp / "applied.yaml").read_text()))
            roles = [o for o in applied if o["kind"] == "ClusterRole"]
            assert [r["metadata"]["name"] for r in roles] == ["prometheus-weft-beside-node"], roles
            assert roles[0]["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}], roles
            assert (mon / "token").stat().st_mode & 0o777 == 0o600
            loose = [str(p) for p in [mon, *mon.rglob("*")] if p.stat().st_mode & 0o077]
            assert not loose, f"readable by others: {loose}"
            read = f'source {SCRIPTS / "read-env.sh"}; read_monitoring_env {mon / "env"} && ' \
                'curl -sf "$PROMETHEUS_URL/-/ready" >/dev/null && curl -sf "$ALERTMANAGER_URL/-/ready"'
            assert subprocess.run(["bash", "-c", read], capture_output=True).returncode == 0
            pids = [int(line.split()[0]) for line in (mon / "pids").read_text().splitlines()]
            assert len(pids) == 4, pids
        finally:
            down = beside_node("down", str(mon))
        assert down.returncode == 0 and "left alone" not in down.stderr, down.stderr
        assert not (mon / "token").exists() and not (mon / "pids").exists()
        def running(pid):
            try:
                return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] not in "ZX"
            except (OSError, IndexError):
                return False
        # down returns once their command lines are gone: the kernel may still be ending them.
        deadline = time.monotonic() + 5
        while any(map(running, pids)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(running, pids)), f"still running after down: {pids}"


def beside_node(*args, **env):
    return subprocess.run([str(SCRIPTS / "beside-node"), *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=90)


def pids_line(process, name):
    """The DIR/pids line beside-node's `start` writes for PROCESS."""
    start = pathlib.Path(f"/proc/{process.pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]
    # The arguments after the program's own name (a launcher may exec it under another path).
    # Right after Popen the child may not have exec'd yet: its cmdline is then not the command's.
    deadline = time.monotonic() + 5
    while True:
        parts = pathlib.Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0", 1)
        if len(parts) == 2 and parts[1] == b"".join(a.encode() + b"\0" for a in process.args[1:]):
            break
        assert time.monotonic() < deadline, f"pid {process.pid} never showed {process.args}"
        time.sleep(0.01)
    digest = hashlib.sha256(parts[1]).hexdigest()
    return f"{process.pid} {start} {digest} {name}\n"


@check("private-dir")
def private_dir():
    with tempfile.TemporaryDirectory() as parent:
        # Absent: created 0700 (up then stops at the cluster it cannot reach).
        fresh = pathlib.Path(parent) / "fresh"
        beside_node("up", str(fresh), KUBECTL="false")
        assert fresh.is_dir() and fresh.stat().st_mode & 0o777 == 0o700, "DIR not created 0700"
        # Writable by group or others: refused by up and down, nothing written.
        shared = pathlib.Path(parent) / "shared"
        shared.mkdir()
        for mode in (0o777, 0o770, 0o702):
            shared.chmod(mode)
            for command in ("up", "down"):
                result = beside_node(command, str(shared), KUBECTL="false")
                assert result.returncode == 1 and "writable by group or others" in result.stderr,                     (command, oct(mode), result.stderr)
        assert list(shared.iterdir()) == [], "a refused DIR was written to"
        # Owned by another user: refused.
        other = pathlib.Path(parent) / "other"
        other.mkdir(mode=0o700)
        if os.geteuid() == 0:
            os.chown(other, 65534, 65534)
        else:
            other = pathlib.Path("/")  # root's, never the caller's here
        result = beside_node("up", str(other), KUBECTL="false")
        assert result.returncode == 1 and "not to you" in result.stderr, result.stderr
        # In a directory others may write to (no sticky bit): they could swap DIR.
        open_parent = pathlib.Path(parent) / "open"
        open_parent.mkdir()
        open_parent.chmod(0o777)
        result = beside_node("up", str(open_parent / "mon"), KUBECTL="false")
        assert result.returncode == 1 and "sticky" in result.stderr, result.stderr
        assert not (open_parent / "mon").exists()
        # Or higher up: whoever may rename a directory above may swap DIR.
        (open_parent / "mine").mkdir(mode=0o700)
        result = beside_node("up", str(open_parent / "mine" / "mon"), KUBECTL="false")
        assert result.returncode == 1 and "sticky" in result.stderr, result.stderr
        assert not (open_parent / "mine" / "mon").exists()

        # down: only what up recorded; a planted or reused pid is left alone.
        private = pathlib.Path(parent) / "private"
        private.mkdir(mode=0o700)
        ours = subprocess.Popen(["sleep", "60"])
        planted = subprocess.Popen(["sleep", "61"])
        reused = subprocess.Popen(["sleep", "62"])
        try:
            reused_line = pids_line(reused, "reused").split()
            reused_line[1] = str(int(reused_line[1]) + 1)  # another start: the pid was reused
            other_digest = hashlib.sha256(b"sleep\x0099\x00").hexdigest()
            planted_line = pids_line(planted, "planted").split()
            planted_line[2] = other_digest  # another command line at that pid
            (private / "pids").write_text(pids_line(ours, "ours") + " ".join(reused_line) + "\n"
                                          + " ".join(planted_line) + "\n")
            (private / "token").write_text("secret")
            result = beside_node("down", str(private))
            assert result.returncode == 0, result.stderr
            assert ours.wait(timeout=10) is not None
            time.sleep(0.2)
            assert planted.poll() is None, "down killed a process whose command line differs"
            assert reused.poll() is None, "down killed a process whose start time differs"
            assert not (private / "token").exists(), "down left the token"
            assert not (private / "pids").exists()
        finally:
            for process in (ours, planted, reused):
                process.kill()
                process.wait()

        # DIR/env is parsed, never run: a planted line is refused, not executed.
        env = private / "env"
        witness = pathlib.Path(parent) / "ran"
        read = f'source {SCRIPTS / "read-env.sh"}; read_monitoring_env {env} && echo "$PROMETHEUS_URL"'
        env.write_text("PROMETHEUS_URL=http://127.0.0.1:9090\nALERTMANAGER_URL=http://127.0.0.1:9093\n"
                       "ALERT_LOG=/d/alerts.jsonl\n")
        result = subprocess.run(["bash", "-c", read], capture_output=True, text=True)
        assert result.stdout == "http://127.0.0.1:9090\n", result
        for planted_env in (f"PROMETHEUS_URL=$(touch {witness})\n", f"touch {witness}\n",
                            f"PATH=/nowhere\nALERT_LOG=/x\n"):
            env.write_text(planted_env)
            result = subprocess.run(["bash", "-c", read], capture_output=True, text=True)
            assert result.returncode != 0 and not witness.exists(), (planted_env, result)


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CHECKS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        CHECKS[sys.argv[1]]()
    except AssertionError as error:
        print(f"FAIL: {error}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
