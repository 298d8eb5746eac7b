#!/usr/bin/env python3
"""weft-webhook under hostile load: 64 clients from 8 addresses send 4 MiB
bodies at once (half with a Content-Length, half chunked, again and again), and
400 more send request heads that announce a review body and then wait, while a
client that behaves like the API server (one kept-alive TLS connection, one
review at a time) keeps sending real AdmissionReviews. Every real review must be answered
200 with a patch, its p99 latency stay under a generous bound (the measured
value is printed), and the webhook's peak resident memory (VmHWM) stay under
the manifest's 128 Mi limit.

No cluster: the webhook runs with --kubernetes-version and its own certificate.

  WEFT_WEBHOOK_BINARY=build/bin/weft-webhook python3 hostile_load_test.py
  python3 hostile_load_test.py --measure   # sizes of a typical and a large review
"""

import json
import multiprocessing
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import http.client

ATTACKERS = int(os.environ.get("WEFT_TEST_ATTACKERS", "64"))  # clients
ATTACKER_PROCESSES = 4  # so the attack does not share the measuring client's GIL
ATTACK_BODY = 4 * 1024 * 1024
ATTACK_SECONDS = 8.0
ATTACK_SOURCES = 8  # 127.0.0.2-9: the flooding pods; the API server is 127.0.0.1
SILENT_HEADS = 400  # from 127.0.0.10-17; together they announce more than the 24 MiB budget
SILENT_BODY = 63000  # each under the 64 KiB "large" bound
MEMORY_LIMIT = 128 * 1024 * 1024  # manifests/webhook.yaml
P99_BOUND = 0.5  # seconds; the target is 10 ms, the bound is for slow, shared machines


def container(name, envs, mounts):
    """A container as large production manifests write them."""
    return {
        "name": name,
        "image": f"registry.example.com/team/{name}:v1.27.3@sha256:" + "a" * 64,
        "imagePullPolicy": "IfNotPresent",
        "args": ["--config=/etc/app/config.yaml", "--log-level=info", "--port=8080"],
        "ports": [{"name": f"p{i}", "containerPort": 8080 + i, "protocol": "TCP"} for i in range(4)],
        "env": [
            {"name": f"APP_SETTING_{i:03d}", "value": f"value-for-setting-{i}-" + "x" * 40}
            if i % 3
            else {"name": f"APP_SECRET_{i:03d}",
                  "valueFrom": {"secretKeyRef": {"name": "app-secrets", "key": f"key-{i}"}}}
            for i in range(envs)
        ],
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"},
                      "limits": {"cpu": "2", "memory": "2Gi"}},
        "volumeMounts": [{"name": f"vol-{i}", "mountPath": f"/etc/app/volume-{i}", "readOnly": True}
                         for i in range(mounts)],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                          "initialDelaySeconds": 10, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"},
                           "periodSeconds": 5},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000,
                            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }


def review(containers, envs, mounts, volumes, annotations):
    """An AdmissionReview of a pod CREATE as the API server sends it: with the
    object's managedFields and kubectl's last-applied-configuration, which
    roughly triple the spec's size."""
    spec = {
        "containers": [container(f"app-{i}", envs, mounts) for i in range(containers)],
        "volumes": [{"name": f"vol-{i}", "configMap": {"name": f"config-{i}", "defaultMode": 420}}
                    for i in range(volumes)],
        "serviceAccountName": "app",
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
    }
    metadata = {
        "generateName": "app-7d9f8b6c5d-",
        "namespace": "shop",
        "labels": {f"app.example.com/label-{i}": f"value-{i}" for i in range(annotations)},
        "annotations": {**{f"example.com/annotation-{i}": "v" * 100 for i in range(annotations)},
                        "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"spec": spec})},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "app-7d9f8b6c5d",
                             "uid": str(uuid.uuid4()), "controller": True,
                             "blockOwnerDeletion": True}],
        "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                           "apiVersion": "v1", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:spec": spec}}],
    }
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
    kind = {"group": "", "version": "v1", "kind": "Pod"}
    resource = {"group": "", "version": "v1", "resource": "pods"}
    request = {
        "uid": str(uuid.uuid4()), "kind": kind, "resource": resource, "requestKind": kind,
        "requestResource": resource, "namespace": "shop", "operation": "CREATE",
        "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller",
                     "groups": ["system:serviceaccounts", "system:authenticated"]},
        "object": pod, "oldObject": None, "dryRun": False,
        "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
    }
    body = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
    return json.dumps(body, separators=(",", ":")).encode()


def typical_review():
    return review(containers=1, envs=10, mounts=3, volumes=3, annotations=3)


def large_review():
    # Four containers of 100 variables and 30 mounts each: larger than any pod
    # we have seen in production; the --max-review-bytes default gives it ~5x room.
    return review(containers=4, envs=100, mounts=30, volumes=30, annotations=20)


def fail(message):
    print("FAIL:", message, flush=True)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(directory):
    def run(*args):
        subprocess.run(args, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-days", "1", "-subj", "/CN=weft-test-ca", "-keyout", f"{directory}/ca.key",
        "-out", f"{directory}/ca.crt")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-subj", "/CN=127.0.0.1", "-keyout", f"{directory}/tls.key", "-out", f"{directory}/tls.csr")
    with open(f"{directory}/ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", f"{directory}/tls.csr", "-CA", f"{directory}/ca.crt",
        "-CAkey", f"{directory}/ca.key", "-CAcreateserial", "-days", "1", "-extfile",
        f"{directory}/ext", "-out", f"{directory}/tls.crt")


def memory_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


# ---- the attack (in child processes) ----

# Whole requests, built once: the attack spends its CPU on sending, not on Python.
LENGTH_REQUEST = (b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % ATTACK_BODY + b"a" * ATTACK_BODY)
CHUNKED_REQUEST = (b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n"
                   + (b"%x\r\n" % 65536 + b"a" * 65536 + b"\r\n") * (ATTACK_BODY // 65536)
                   + b"0\r\n\r\n")


def attack_once(port, chunked, context, source):
    raw = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))
    with context.wrap_socket(raw) as tls:
        tls.sendall(CHUNKED_REQUEST if chunked else LENGTH_REQUEST)
        return tls.recv(64).split(b" ")[1].decode()


def attacker(port, number, stop_at, outcomes, lock):
    chunked = number % 2 == 1
    source = f"127.0.0.{2 + number % ATTACK_SOURCES}"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    while time.monotonic() < stop_at:
        try:
            status = attack_once(port, chunked, context, source)
        except (OSError, IndexError, ssl.SSLError):
            # The server answers 413/503 and closes while the body still flows.
            status = "closed"
        outcome = ("chunked " if chunked else "length ") + status
        with lock:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1


def attack_process(port, first, count, stop_at, result_file):
    # The attackers are on other nodes in a cluster; here they share the
    # machine, and at the lowest priority they cannot starve the webhook or the
    # measuring client of CPU, which would measure the machine, not the webhook.
    os.nice(19)
    outcomes, lock = {}, threading.Lock()
    threads = [threading.Thread(target=attacker,
                                args=(port, first + i, stop_at, outcomes, lock))
               for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # A file, not a multiprocessing queue: a queue's feeder thread can keep a
    # finished process from exiting while its parent waits for it.
    with open(result_file + ".tmp", "w") as f:
        json.dump(outcomes, f)
    os.rename(result_file + ".tmp", result_file)


def silent_heads(port, count):
    """Connections that announce a review body and send none of it: each would
    hold its declared length if the webhook reserved memory from the head."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    head = (b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % SILENT_BODY)
    held = []
    for i in range(count):
        raw = socket.create_connection(("127.0.0.1", port), timeout=15,
                                       source_address=(f"127.0.0.{10 + i % 8}", 0))
        try:
            tls = context.wrap_socket(raw)
            tls.sendall(head)
            held.append(tls)
        except (OSError, ssl.SSLError):
            raw.close()  # over the connection cap: the oldest waiting was evicted, or this one
    return held


# ---- the API server's side ----

def post_review(connection, body):
    start = time.perf_counter()
    connection.request("POST", "/mutate?timeout=10s", body=body,
                       headers={"Content-Type": "application/json", "Accept": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    return time.perf_counter() - start, response.status, payload


def main():
    if "--measure" in sys.argv:
        print(f"typical review: {len(typical_review())} bytes; large review: {len(large_review())} bytes")
        return
    binary = os.environ.get("WEFT_WEBHOOK_BINARY") or fail("WEFT_WEBHOOK_BINARY is not set")
    work = tempfile.mkdtemp(prefix="weft-webhook-load-")
    webhook = None
    attackers = []
    held = []
    try:
        make_certs(work)
        port = free_port()
        log = open(f"{work}/webhook.log", "w")
        webhook = subprocess.Popen(
            [binary, "--address=127.0.0.1", f"--port={port}", "--kubernetes-version=v1.30.0",
             f"--tls-cert-file={work}/tls.crt", f"--tls-private-key-file={work}/tls.key",
             "--log-level=warn"]
            # e.g. the limits of old, to see this test fail without them
            + os.environ.get("WEFT_WEBHOOK_EXTRA_ARGS", "").split(),
            stdout=log, stderr=subprocess.STDOUT)
        context = ssl.create_default_context(cafile=f"{work}/ca.crt")
        deadline = time.monotonic() + 20
        while True:
            try:
                c = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or webhook.poll() is not None:
                fail("the webhook did not become ready")
            time.sleep(0.1)

        body = typical_review()
        large = large_review()
        api_server = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        for _ in range(20):  # warm up the connection and the allocator
            post_review(api_server, body)
        resident_before = memory_kib(webhook.pid, "VmRSS")
        held = silent_heads(port, SILENT_HEADS)

        stop_at = time.monotonic() + ATTACK_SECONDS
        per_process = ATTACKERS // ATTACKER_PROCESSES
        result_files = [f"{work}/attack-{i}.json" for i in range(ATTACKER_PROCESSES)]
        attackers = [multiprocessing.Process(target=attack_process,
                                             args=(port, i * per_process, per_process, stop_at,
                                                   result_files[i]))
                     for i in range(ATTACKER_PROCESSES)]
        for p in attackers:
            p.start()
        time.sleep(0.5)  # the attack under way before measuring

        latencies, statuses, large_statuses = [], {}, {}
        peak_rss = 0
        while time.monotonic() < stop_at - 0.2:
            elapsed, status, payload = post_review(api_server, body)
            latencies.append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                answer = json.loads(payload)
                if not answer["response"]["allowed"] or "patch" not in answer["response"]:
                    fail(f"a real review was not injected: {payload[:200]!r}")
            if len(latencies) % 20 == 0:
                # A large pod now and then: answered unless large bodies are all
                # taken, in which case the API server retries (503).
                _, status, _ = post_review(api_server, large)
                large_statuses[status] = large_statuses.get(status, 0) + 1
            peak_rss = max(peak_rss, memory_kib(webhook.pid, "VmRSS"))
            time.sleep(0.005)
        # Each attack ends within its socket timeout (15 s) after stop_at.
        attack = {}
        for p, result_file in zip(attackers, result_files):
            p.join(timeout=max(0.0, stop_at - time.monotonic()) + 30)
            if p.is_alive():
                p.kill()
                fail("an attacking process did not end within 30 s of the attack's end")
            with open(result_file) as f:
                for outcome, n in json.load(f).items():
                    attack[outcome] = attack.get(outcome, 0) + n
        peak = memory_kib(webhook.pid, "VmHWM") * 1024

        c = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
        c.request("GET", "/metrics")
        metrics = c.getresponse().read().decode()
        refused = [line for line in metrics.splitlines()
                   if line.startswith(("weft_webhook_http_requests_refused_total",
                                       "weft_webhook_http_connections_dropped_total"))]

        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("inf")
        p50 = latencies[len(latencies) // 2] if latencies else float("inf")
        print(f"real reviews: {len(latencies)}, statuses {statuses}, p50 {p50 * 1000:.2f} ms, "
              f"p99 {p99 * 1000:.2f} ms (target 10 ms, bound {P99_BOUND * 1000:.0f} ms)")
        print(f"large real reviews ({len(large)} bytes): statuses {large_statuses}")
        print(f"attack requests by outcome: {attack}")
        print(f"webhook resident memory: {resident_before // 1024} MiB before, "
              f"{peak_rss // 1024} MiB sampled peak, {peak // (1024 * 1024)} MiB VmHWM "
              f"(limit {MEMORY_LIMIT // (1024 * 1024)} MiB)")
        print("\n".join(refused))

        if webhook.poll() is not None:
            fail("the webhook died under the attack")
        if len(latencies) < 50:
            fail(f"only {len(latencies)} real reviews were answered")
        if statuses.get(200, 0) != len(latencies):
            fail(f"real reviews were not all answered 200: {statuses}")
        if sum(attack.values()) < ATTACKERS:
            fail(f"the attack did not run: {attack}")
        if p99 > P99_BOUND:
            fail(f"p99 {p99 * 1000:.1f} ms over {P99_BOUND * 1000:.0f} ms")
        if peak >= MEMORY_LIMIT:
            fail(f"peak resident memory {peak} bytes reached the {MEMORY_LIMIT}-byte limit")
        print("PASS: webhook.hostile_load")
    finally:
        for connection in held:
            connection.close()
        for p in attackers:
            if p.is_alive():
                p.kill()
        if webhook is not None and webhook.poll() is None:
            webhook.terminate()
            try:
                webhook.wait(timeout=10)
            except subprocess.TimeoutExpired:
                webhook.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
