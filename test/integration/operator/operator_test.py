#!/usr/bin/env python3
"""Integration tests of weft-operator against a real kube-apiserver.

usage: operator_test.py CASE OPERATOR_BINARY

Each case starts the real weft-operator binary as a process against the cluster
of $KUBECONFIG (the ctest fixture), drives it with the pinned kubectl ($KUBECTL)
and waits, with generous bounds, for the ConfigMap, statuses and Events to
converge. Every namespace and process a case creates is removed at its end.
The `relist` case starts and stops a cluster of its own.
"""
import json
import os
import random
import re
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SCHEMA = os.path.join(ROOT, "docs", "proxy-config.schema.json")
KUBECTL = os.environ.get("KUBECTL", "kubectl")
WAIT = 60  # seconds: generous bound for any convergence


class Failure(Exception):
    pass


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def kubectl(*args, stdin=None, check=True, env=None):
    result = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True,
                            env=env, timeout=60)
    if check and result.returncode != 0:
        raise Failure(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def apply(obj, env=None):
    kubectl("apply", "-f", "-", stdin=json.dumps(obj), env=env)


def wait_for(what, probe, timeout=WAIT):
    """Calls probe() until it returns a truthy value; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except Failure as error:
            last = error
        if last and not isinstance(last, Failure):
            return last
        time.sleep(0.2)
    raise Failure(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def suffix():
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(6))


# ---- objects -------------------------------------------------------------------

def namespace(name, meshed=True, extra_labels=None):
    labels = {"weft.io/inject": "enabled"} if meshed else {}
    labels.update(extra_labels or {})
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def service(ns, name, port=8080, selector=None):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": selector or {"app": name},
                     "ports": [{"name": "http", "port": port, "targetPort": port}]}}


def endpoint_slice(ns, service_name, addresses, port=8080, ready=True):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{service_name}-manual", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [a], "conditions": {"ready": ready}} for a in addresses]}


def mesh_route(ns, name, parent, backends, port=8080):
    return {"apiVersion": "weft.io/v1alpha1", "kind": "MeshRoute",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"parentRefs": [{"name": parent, "port": port}],
                     "rules": [{"backendRefs": [{"name": b, "port": port, "weight": w}
                                                for b, w in backends]}]}}


def mesh_policy(ns, name, target, algorithm="RoundRobin"):
    return {"apiVersion": "weft.io/v1alpha1", "kind": "MeshPolicy",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"targetRef": {"name": target}, "mtls": {"mode": "Strict"},
                     "loadBalancer": {"algorithm": algorithm}}}


# ---- reading what the operator wrote -------------------------------------------

def config_map(ns, env=None):
    out = kubectl("get", "configmap", "weft-proxy-config", "-n", ns, "-o", "json", check=False,
                  env=env)
    return json.loads(out) if out.strip() else None


def document(ns, env=None):
    cm = config_map(ns, env)
    if not cm:
        return None
    doc = json.loads(cm["data"]["config.json"])
    annotation = cm["metadata"].get("annotations", {}).get("weft.io/config-hash")
    if annotation != doc.get("hash"):
        raise Failure(f"hash annotation {annotation} != document hash {doc.get('hash')}")
    return doc


def service_of(doc, name):
    for svc in (doc or {}).get("outbound", {}).get("services", []):
        if svc["name"] == name:
            return svc
    return None


def port_of(doc, name, port=8080):
    svc = service_of(doc, name)
    for p in (svc or {}).get("ports", []):
        if p["port"] == port:
            return p
    return None


def addresses(doc, name, port=8080):
    p = port_of(doc, name, port)
    return None if p is None else sorted(e["address"] for e in p["endpoints"])


def condition(kind, ns, name, type_):
    out = kubectl("get", kind, name, "-n", ns, "-o", "json", check=False)
    if not out.strip():
        return None
    obj = json.loads(out)
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == type_:
            return c
    return None


def validate_schema(doc):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(doc, f)
    try:
        result = subprocess.run([sys.executable, os.path.join(ROOT, "test", "unit", "operator",
                                                               "validate_schema.py"), SCHEMA, f.name],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise Failure(f"document does not validate against the schema: {result.stdout}")
    finally:
        os.unlink(f.name)


# ---- the operator process --------------------------------------------------------

class Operator:
    """One weft-operator process, its log in a temporary file."""

    def __init__(self, binary, lease_ns, env=None, name="operator", args=()):
        self.binary, self.lease_ns, self.env, self.name = binary, lease_ns, env, name
        self.args = list(args)
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"weft-operator-test-{name}-", suffix=".log",
                                               delete=False)
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "--namespace", self.lease_ns, "--metrics-bind-address=127.0.0.1:0",
             "--health-probe-bind-address=127.0.0.1:0", "--log-level=debug", *self.args],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        self.metrics_port = wait_for(f"{self.name} to serve /metrics", self._port("/metrics"), 30)
        self.health_port = wait_for(f"{self.name} to serve /readyz", self._port("/healthz /readyz"), 30)
        log(f"{self.name} started (pid {self.process.pid}, metrics :{self.metrics_port})")
        return self

    def _port(self, endpoints):
        def probe():
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.process.returncode}:\n{self.text()}")
            for line in self.text().splitlines():
                if '"msg":"serving"' in line and f'"endpoints":"{endpoints}"' in line:
                    return json.loads(line)["port"]
            return None
        return probe

    def text(self):
        with open(self.log.name) as f:
            return f.read()

    def metrics(self):
        """{'name{labels}': value} from /metrics."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            body = r.read().decode()
        values = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                values[key] = float(value)
        return values

    def metric(self, key):
        return self.metrics().get(key, 0.0)

    def ready(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/readyz", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    def signal(self, sig):
        self.process.send_signal(sig)

    def wait(self, timeout=30):
        return self.process.wait(timeout=timeout)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        os.unlink(self.log.name) if os.path.exists(self.log.name) else None


class Case:
    """Namespaces and operators of one case, cleaned up at the end."""

    def __init__(self, binary, env=None):
        self.binary, self.env = binary, env
        self.namespaces, self.operators = [], []
        # The case's operators reconcile only its namespaces, so that they leave
        # alone what other tests create in the shared cluster.
        self.label = {"weft-test": f"operator-{suffix()}"}
        self.lease_ns = self.namespace(meshed=False)

    def namespace(self, meshed=True):
        name = f"op-{suffix()}"
        apply(namespace(name, meshed, self.label), self.env)
        self.namespaces.append(name)
        return name

    def operator(self, name="operator", lease_ns=None, args=()):
        selector = ",".join(f"{k}={v}" for k, v in self.label.items())
        op = Operator(self.binary, lease_ns or self.lease_ns, self.env, name,
                      [f"--namespace-selector={selector}", *args])
        self.operators.append(op)
        return op

    def cleanup(self, failed):
        for op in self.operators:
            if failed and op.process:
                print(f"---- {op.name} log (last 60 lines) ----")
                print("\n".join(op.text().splitlines()[-60:]))
            op.stop()
        for ns in self.namespaces:
            kubectl("delete", "namespace", ns, "--wait=false", check=False, env=self.env)


# ---- cases ------------------------------------------------------------------------

def case_converge(c):
    """Create, update and delete of Service, EndpointSlice, MeshRoute and MeshPolicy."""
    ns = c.namespace()
    # A meshed namespace outside the operator's --namespace-selector.
    outsider = f"op-out-{suffix()}"
    apply(namespace(outsider, True))
    c.namespaces.append(outsider)
    op = c.operator().start()
    wait_for("readyz", op.ready)
    doc = wait_for("an empty document", lambda: document(ns))
    assert doc["outbound"]["services"] == [] and doc["namespace"] == ns, doc

    apply(service(ns, "web"))
    wait_for("Service web in the document", lambda: service_of(document(ns), "web"))
    apply(endpoint_slice(ns, "web", ["10.1.0.1", "10.1.0.2"]))
    wait_for("two endpoints", lambda: addresses(document(ns), "web") == ["10.1.0.1", "10.1.0.2"])
    apply(endpoint_slice(ns, "web", ["10.1.0.1", "10.1.0.3"]))
    wait_for("updated endpoints",
             lambda: addresses(document(ns), "web") == ["10.1.0.1", "10.1.0.3"])
    apply(endpoint_slice(ns, "web", ["10.1.0.1", "10.1.0.3"], ready=False))
    wait_for("not-ready endpoints left out", lambda: addresses(document(ns), "web") == [])

    apply(service(ns, "web-v2"))
    apply(mesh_route(ns, "split", "web", [("web", 90), ("web-v2", 10)]))
    wait_for("route rules", lambda: [b["weight"] for b in
                                     port_of(document(ns), "web")["rules"][0]["backends"]]
             == [90, 10])
    apply(mesh_route(ns, "split", "web", [("web", 50), ("web-v2", 50)]))
    wait_for("updated weights", lambda: [b["weight"] for b in
                                         port_of(document(ns), "web")["rules"][0]["backends"]]
             == [50, 50])
    wait_for("route Accepted", lambda: (condition("meshroute", ns, "split", "Accepted") or {})
             .get("status") == "True")

    apply(mesh_policy(ns, "lb", "web"))
    wait_for("inbound policy and load balancer", lambda: (
        port_of(document(ns), "web")["loadBalancer"]["algorithm"] == "RoundRobin"
        and [p["name"] for p in document(ns)["inbound"]["policies"]] == ["lb"]))
    apply(mesh_policy(ns, "lb", "web", algorithm="LeastRequest"))
    wait_for("updated policy", lambda: port_of(document(ns), "web")["loadBalancer"]["algorithm"]
             == "LeastRequest")
    validate_schema(document(ns))

    kubectl("delete", "meshpolicy", "lb", "-n", ns)
    wait_for("policy removed", lambda: document(ns)["inbound"]["policies"] == [])
    kubectl("delete", "meshroute", "split", "-n", ns)
    wait_for("route removed", lambda: port_of(document(ns), "web")["rules"] == [])
    kubectl("delete", "endpointslice", "web-manual", "-n", ns)
    kubectl("delete", "service", "web-v2", "-n", ns)
    wait_for("service removed", lambda: service_of(document(ns), "web-v2") is None)

    # Nothing changes: nothing is written. Requeue everything through a resync-like
    # burst of no-op updates (an annotation on the namespace) and count writes.
    applied = op.metric('weft_operator_configmap_writes_total{result="applied"}')
    skipped = op.metric('weft_operator_configmap_writes_total{result="skipped_unchanged"}')
    kubectl("annotate", "namespace", ns, f"touch={suffix()}")
    wait_for("a reconcile skipped as unchanged", lambda: op.metric(
        'weft_operator_configmap_writes_total{result="skipped_unchanged"}') > skipped)
    assert op.metric('weft_operator_configmap_writes_total{result="applied"}') == applied
    assert config_map(outsider) is None, "a namespace outside --namespace-selector was written"


def case_grpc_route(c):
    """examples/meshroute-grpc-split-retry.yaml, through the API server's defaulting, in order."""
    import yaml  # python3-yaml
    ns = c.namespace()
    c.operator().start()
    for name in ("cart", "cart-v1", "cart-v2"):
        apply(service(ns, name, port=9090))
    route = yaml.safe_load(open(os.path.join(ROOT, "examples", "meshroute-grpc-split-retry.yaml")))
    route["metadata"]["namespace"] = ns
    apply(route)
    wait_for("route Accepted", lambda: (condition("meshroute", ns, "cart-grpc", "Accepted") or {})
             .get("status") == "True")
    port = wait_for("the route's rules", lambda: (port_of(document(ns), "cart", 9090) or {})
                    .get("rules") and port_of(document(ns), "cart", 9090))
    got = [(m["rule"], m["path"]["type"], m["path"]["value"], m.get("grpc", False))
           for m in port["matches"]]
    want = [(0, "Exact", "/shop.v1.Cart/AddItem", True),
            (1, "PathPrefix", "/shop.v1.Cart/", True),
            (2, "RegularExpression", r"/(?:grpc\.health\.v1\..*)/(?:Check|Watch)", True),
            (3, "PathPrefix", "/", False)]
    assert got == want, f"matches {got} != {want}"
    retry = port["rules"][0]["retry"]
    assert retry["grpcCodes"] == [14] and retry["codes"] == [], retry
    assert [b["weight"] for b in port["rules"][0]["backends"]] == [80, 20], port["rules"][0]
    assert "retry" not in port["rules"][1] and port["rules"][1]["timeouts"] == {"requestMs": 2000}
    validate_schema(document(ns))


def case_resolved_refs(c):
    """References to missing Services: ResolvedRefs=False BackendNotFound, with an Event."""
    ns = c.namespace()
    c.operator().start()
    apply(service(ns, "front"))
    apply(mesh_route(ns, "to-missing", "front", [("missing", 1)]))
    cond = wait_for("ResolvedRefs=False", lambda: (lambda x: x if x and x["status"] == "False"
                                                   else None)(condition("meshroute", ns,
                                                                        "to-missing",
                                                                        "ResolvedRefs")))
    assert cond["reason"] == "BackendNotFound", cond
    assert "missing:8080" in cond["message"], cond
    wait_for("a BackendNotFound Event", lambda: "BackendNotFound" in kubectl(
        "get", "events", "-n", ns, "--field-selector", "involvedObject.name=to-missing",
        "-o", "jsonpath={.items[*].reason}"))
    apply(mesh_route(ns, "no-parent", "nowhere", [("front", 1)]))
    cond = wait_for("Accepted=False", lambda: (lambda x: x if x and x["status"] == "False"
                                               else None)(condition("meshroute", ns, "no-parent",
                                                                    "Accepted")))
    assert cond["reason"] == "ParentNotFound", cond
    apply(service(ns, "missing"))
    wait_for("ResolvedRefs=True once the backend exists",
             lambda: (condition("meshroute", ns, "to-missing", "ResolvedRefs") or {})
             .get("status") == "True")


READER = "weft-proxy-config-reader"  # the proxies' RoleBinding and ClusterRole


def apply_proxy_reader():
    """The bundle's ClusterRole that the operator's RoleBindings name (the rbac case
    deletes the bundle's cluster-wide objects at its end)."""
    for doc in bundle_rbac():
        if doc["kind"] == "ClusterRole" and doc["metadata"]["name"] == READER:
            apply(doc)


def case_unlabel(c):
    """Removing the label deletes the ConfigMap and the proxies' RoleBinding."""
    apply_proxy_reader()
    ns = c.namespace()
    c.operator().start()
    wait_for("ConfigMap", lambda: config_map(ns))
    wait_for("RoleBinding", lambda: READER in kubectl(
        "get", "rolebinding", "-n", ns, "-o", "name", check=False))
    # The proxies' service accounts may read exactly that ConfigMap.
    can = kubectl("auth", "can-i", "watch", "configmap/weft-proxy-config", "-n", ns,
                  f"--as=system:serviceaccount:{ns}:default", check=False).strip()
    cannot = kubectl("auth", "can-i", "get", "configmap/other", "-n", ns,
                     f"--as=system:serviceaccount:{ns}:default", check=False).strip()
    assert (can, cannot) == ("yes", "no"), (can, cannot)
    kubectl("label", "namespace", ns, "weft.io/inject-")
    wait_for("ConfigMap deleted", lambda: config_map(ns) is None)
    wait_for("RoleBinding deleted", lambda: READER not in kubectl(
        "get", "rolebinding", "-n", ns, "-o", "name", check=False))
    kubectl("label", "namespace", ns, "weft.io/inject=enabled")
    wait_for("ConfigMap back after relabel", lambda: config_map(ns))


def case_opt_in_pod(c):
    """A pod opted in by annotation in an unlabelled namespace: its proxy gets the
    namespace's document and the right to read it, which go when the pod does."""
    apply_proxy_reader()
    ns = c.namespace(meshed=False)
    c.operator().start()
    apply(service(ns, "web"))
    time.sleep(2)
    assert config_map(ns) is None, "an unlabelled namespace without meshed pods got a document"
    apply(workload_pod(ns, "hello", "default", True))
    wait_for("ConfigMap for the opted-in pod", lambda: config_map(ns))
    wait_for("RoleBinding", lambda: READER in kubectl(
        "get", "rolebinding", "-n", ns, "-o", "name", check=False))
    kubectl("delete", "pod", "hello", "-n", ns, "--wait=false", "--grace-period=0", "--force")
    wait_for("ConfigMap deleted with the pod", lambda: config_map(ns) is None)


def case_rbac_restore(c):
    """The proxies' RoleBinding, deleted or edited, is restored within seconds."""
    ns = c.namespace()
    c.operator().start()

    def binding():
        out = kubectl("get", "rolebinding", READER, "-n", ns, "-o", "json", check=False)
        return json.loads(out) if out.strip() else None

    wait_for("RoleBinding", binding)
    before = binding()["metadata"]["uid"]
    kubectl("delete", "rolebinding", READER, "-n", ns)
    # A new object (new uid), possibly already there when kubectl returns.
    wait_for("RoleBinding restored",
             lambda: (binding() or {}).get("metadata", {}).get("uid") not in (None, before),
             timeout=5)
    kubectl("patch", "rolebinding", READER, "-n", ns, "--type=json", "-p",
            '[{"op":"replace","path":"/subjects/0/name","value":"system:authenticated"}]')
    wait_for("the RoleBinding's subjects restored", lambda: binding()["subjects"][0]["name"]
             == f"system:serviceaccounts:{ns}", timeout=5)


def case_restart(c):
    """Changes made while the operator is down converge after a restart; SIGTERM exits 0."""
    ns = c.namespace()
    first = c.operator("first").start()
    apply(service(ns, "a"))
    wait_for("Service a", lambda: service_of(document(ns), "a"))
    apply(service(ns, "b"))
    first.signal(signal.SIGKILL)  # in the middle of changes
    first.wait()
    apply(endpoint_slice(ns, "a", ["10.2.0.1"]))
    apply(mesh_route(ns, "r", "a", [("b", 1)]))
    kubectl("delete", "service", "b", "-n", ns)
    second = c.operator("second").start()
    wait_for("converged after restart", lambda: (
        addresses(document(ns), "a") == ["10.2.0.1"] and service_of(document(ns), "b") is None
        and port_of(document(ns), "a")["rules"] != []))
    wait_for("BackendNotFound after restart",
             lambda: (condition("meshroute", ns, "r", "ResolvedRefs") or {}).get("reason")
             == "BackendNotFound")
    # The second one waits for the first one's lease to expire, then leads.
    second.signal(signal.SIGTERM)
    code = second.wait()
    assert code == 0, f"SIGTERM exit code {code}"
    assert '"msg":"released the lease"' in second.text()
    holder = kubectl("get", "lease", "weft-operator", "-n", c.lease_ns,
                     "-o", "jsonpath={.spec.holderIdentity}")
    assert holder == "", f"lease still held by {holder!r}"


class Rival(threading.Thread):
    """Writes a MeshRoute's status as fast as it can, through the API, until stopped."""

    def __init__(self, ns, name):
        super().__init__(daemon=True)
        import base64
        import http.client
        import ssl
        import yaml
        config = yaml.safe_load(open(os.environ["KUBECONFIG"]))
        cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
        self.dir = tempfile.mkdtemp(prefix="weft-operator-rival-")
        paths = {}
        for source, key, name_ in ((cluster, "certificate-authority-data", "ca"),
                                   (user, "client-certificate-data", "crt"),
                                   (user, "client-key-data", "key")):
            paths[name_] = os.path.join(self.dir, name_)
            with open(paths[name_], "wb") as f:
                f.write(base64.b64decode(source[key]))
        context = ssl.create_default_context(cafile=paths["ca"])
        context.load_cert_chain(paths["crt"], paths["key"])
        host, port = cluster["server"].removeprefix("https://").split(":")
        self.connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
        self.path = f"/apis/weft.io/v1alpha1/namespaces/{ns}/meshroutes/{name}/status"
        self.stop = threading.Event()
        self.writes = 0

    def run(self):
        body = json.dumps({"status": {"observedGeneration": 0, "conditions": [
            {"type": "Accepted", "status": "False", "reason": "Rival", "message": "rival",
             "lastTransitionTime": "2020-01-01T00:00:00Z"}]}})
        while not self.stop.is_set():
            self.connection.request("PATCH", self.path, body=body,
                                    headers={"Content-Type": "application/merge-patch+json"})
            self.connection.getresponse().read()
            self.writes += 1


def case_conflict(c):
    """A concurrent writer of the same status makes the operator's writes fail with 409
    Conflict; they are retried and the operator's status wins once the rival stops. A
    rival edit of the ConfigMap is undone."""
    ns = c.namespace()
    op = c.operator().start()
    apply(service(ns, "web"))
    apply(mesh_route(ns, "r", "web", [("web", 1)]))
    wait_for("Accepted", lambda: (condition("meshroute", ns, "r", "Accepted") or {})
             .get("status") == "True")
    rival = Rival(ns, "r")
    rival.start()
    try:
        weight = 1
        deadline = time.monotonic() + 60
        while op.metric("weft_operator_write_conflicts_total") == 0:
            if time.monotonic() > deadline:
                raise Failure("no 409 Conflict in 60s of concurrent status writes")
            weight = weight % 50 + 1  # a spec change: the operator writes status again
            apply(mesh_route(ns, "r", "web", [("web", weight)]))
            time.sleep(0.1)
    finally:
        rival.stop.set()
        rival.join(timeout=30)
        shutil.rmtree(rival.dir, ignore_errors=True)  # its client key
    log(f"conflicts: {op.metric('weft_operator_write_conflicts_total')}, rival writes: "
        f"{rival.writes}")
    # The rival's last write triggers a watch event: the operator restores its status.
    wait_for("status restored", lambda: (lambda x: x and x["reason"] == "Accepted" and
                                         x["observedGeneration"] > 1)(
        condition("meshroute", ns, "r", "Accepted")))
    assert op.metric("weft_operator_reconcile_errors_total{kind=\"Status\"}") >= 1
    wait_for("document with the last weight", lambda: port_of(document(ns), "web")["rules"][0]
             ["backends"][0]["weight"] == weight)
    kubectl("patch", "configmap", "weft-proxy-config", "-n", ns, "--type=merge",
            "-p", json.dumps({"data": {"config.json": "{}"}}))
    wait_for("ConfigMap edit undone", lambda: port_of(document(ns), "web")["rules"][0]
             ["backends"][0]["weight"] == weight)


def case_failover(c):
    """Two replicas: exactly one writes; kill -9 the leader, the other takes over in time."""
    ns = c.namespace()
    a = c.operator("a").start()
    b = c.operator("b").start()
    leader = wait_for("a leader", lambda: next(
        (op for op in (a, b) if op.metric("weft_operator_leader") == 1), None))
    follower = b if leader is a else a
    apply(service(ns, "web"))
    wait_for("written by the leader", lambda: service_of(document(ns), "web"))
    wait_for("follower ready (caches synced)", follower.ready)
    assert follower.metric("weft_operator_leader") == 0
    for key in ('weft_operator_configmap_writes_total{result="applied"}',
                'weft_operator_status_writes_total{kind="MeshRoute"}'):
        assert follower.metric(key) == 0, f"follower wrote: {key}"
    assert leader.metric('weft_operator_configmap_writes_total{result="applied"}') >= 1

    killed_at = time.monotonic()
    leader.signal(signal.SIGKILL)
    leader.wait()
    wait_for("the follower to lead", lambda: follower.metric("weft_operator_leader") == 1, 45)
    took = time.monotonic() - killed_at
    log(f"takeover after {took:.1f}s (lease 15s, retry 2s)")
    # Within the lease duration of the last renewal, plus one retry period and slack.
    assert took < 15 + 2 + 8, f"takeover took {took:.1f}s"
    apply(service(ns, "after"))
    wait_for("written by the new leader", lambda: service_of(document(ns), "after"))


def case_missing_lease_namespace(c):
    """Run outside the install bundle, before weft-system exists: the operator
    says what it waits for, and leads as soon as the namespace appears."""
    lease_ns = f"op-lease-{suffix()}"
    ns = c.namespace()
    apply(service(ns, "web"))
    op = c.operator(lease_ns=lease_ns)
    op.start()
    wait_for("the missing-namespace warning",
             lambda: "waiting for the leader-election namespace" in op.text())
    assert op.metric("weft_operator_leader") == 0
    apply(namespace(lease_ns, False, c.label))
    c.namespaces.append(lease_ns)
    wait_for("leadership", lambda: op.metric("weft_operator_leader") == 1)
    wait_for("the document written", lambda: service_of(document(ns), "web"))
    assert op.text().count("waiting for the leader-election namespace") == 1


def case_too_large(c):
    """A document over 1 MiB is never written: reported by condition, Events and metric."""
    ns = c.namespace()
    op = c.operator().start()
    apply(service(ns, "big"))
    apply(mesh_route(ns, "r", "big", [("big", 1)]))
    wait_for("the small document", lambda: port_of(document(ns), "big"))
    wait_for("Programmed=True", lambda: (condition("meshroute", ns, "r", "Programmed") or {})
             .get("status") == "True")
    # 34 slices of 1,000 endpoints: about 1.2 MB of document.
    slices = []
    for n in range(34):
        s = endpoint_slice(ns, "big", [f"10.{100 + n // 4}.{n % 4 * 60 + i // 250}.{i % 250 + 1}"
                                       for i in range(1000)])
        s["metadata"]["name"] = f"big-{n}"
        slices.append(s)
    kubectl("apply", "--server-side", "-f", "-",
            stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": slices}))
    cond = wait_for("Programmed=False ConfigTooLarge", lambda: (lambda x: x if x and
                    x.get("reason") == "ConfigTooLarge" else None)(
                        condition("meshroute", ns, "r", "Programmed")))
    assert "over the ConfigMap limit of 1048576 bytes" in cond["message"], cond
    wait_for("a ConfigTooLarge Event on the Namespace", lambda: "ConfigTooLarge" in kubectl(
        "get", "events", "-n", "default", "--field-selector",
        f"involvedObject.kind=Namespace,involvedObject.name={ns}",
        "-o", "jsonpath={.items[*].reason}"))
    too_large = op.metric('weft_operator_configmap_writes_total{result="too_large"}')
    assert too_large >= 1, f"too_large writes: {too_large}"
    size = op.metric(f'weft_operator_proxy_config_bytes{{namespace="{ns}"}}')
    assert size > 1024 * 1024, f"size gauge {size}"
    # The last document that fitted stays, whole and valid (document() checks its hash).
    kept = document(ns)
    kept_bytes = len(config_map(ns)["data"]["config.json"].encode())
    assert kept and kept_bytes <= 1024 * 1024, f"kept document missing or {kept_bytes} bytes"
    last_written = [json.loads(line)["hash"] for line in op.text().splitlines()
                    if '"msg":"proxy configuration written"' in line][-1]
    assert kept["hash"] == last_written, (kept["hash"], last_written)
    assert '"msg":"proxy configuration too large; not written"' in op.text(), "no error log"
    kubectl("delete", "endpointslices", "-n", ns, "--all")
    wait_for("Programmed=True again", lambda: (condition("meshroute", ns, "r", "Programmed")
                                               or {}).get("status") == "True")
    # Unmeshed, the namespace's size series goes away instead of going stale.
    size_key = f'weft_operator_proxy_config_bytes{{namespace="{ns}"}}'
    assert size_key in op.metrics()
    kubectl("label", "namespace", ns, "weft.io/inject-")
    wait_for("the size series removed", lambda: size_key not in op.metrics())


def self_signed_pem(name):
    """A real CA certificate (PEM) made by the openssl command line, as weft-identity's anchor."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", f"/CN={name}",
                        "-keyout", os.path.join(d, "key.pem"), "-out", os.path.join(d, "cert.pem")],
                       check=True, capture_output=True, timeout=60)
        return open(os.path.join(d, "cert.pem")).read()


def trust_anchors(ns, bundle):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "weft-identity-trust-anchors", "namespace": ns},
            "data": {"ca-bundle.crt": bundle}}


def workload_pod(ns, name, account, meshed):
    """A Pod as the webhook leaves it (native sidecar and seal) or as it is without Weft."""
    spec = {"serviceAccountName": account,
            "containers": [{"name": "app", "image": "example.invalid/app:1"}]}
    metadata = {"name": name, "namespace": ns, "labels": {"app": "web"}}
    if meshed:
        spec["initContainers"] = [{"name": "weft-proxy", "image": "example.invalid/proxy:1",
                                   "restartPolicy": "Always"}]
        metadata["annotations"] = {"weft.io/injection-seal": "sha256:" + "0" * 64}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def case_identity(c):
    """A meshed pod's endpoint carries its SPIFFE ID, an unmeshed one's none; the trust
    anchors ConfigMap decides whether documents carry identity, and its changes reach them."""
    # The pods are created before the namespace is meshed: a webhook registered by
    # another test must not review them (they only look injected).
    ns = c.namespace(meshed=False)
    for account in ("web-sa", "legacy-sa"):
        apply({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": account, "namespace": ns}})
    apply(workload_pod(ns, "meshed", "web-sa", True))
    apply(workload_pod(ns, "plain", "legacy-sa", False))
    apply(service(ns, "web"))
    apply({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": "web-manual", "namespace": ns,
                        "labels": {"kubernetes.io/service-name": "web"}},
           "addressType": "IPv4",
           "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
           "endpoints": [{"addresses": [address], "conditions": {"ready": True},
                          "targetRef": {"kind": "Pod", "name": pod, "namespace": ns}}
                         for address, pod in (("10.5.0.1", "meshed"), ("10.5.0.2", "plain"))]})
    apply({"apiVersion": "weft.io/v1alpha1", "kind": "MeshPolicy",
           "metadata": {"name": "strict", "namespace": ns},
           "spec": {"podSelector": {}, "mtls": {"mode": "Strict"}}})
    kubectl("label", "namespace", ns, "weft.io/inject=enabled")
    op = c.operator(args=["--trust-domain=mesh.test"]).start()

    def endpoints():
        port = port_of(document(ns), "web")
        return {e.get("pod"): e for e in (port or {}).get("endpoints", [])}

    # No anchors yet: plaintext, and the status, log and metric say why.
    wait_for("both endpoints", lambda: set(endpoints()) == {"meshed", "plain"})
    doc = document(ns)
    assert "identity" not in doc, doc.get("identity")
    assert all("identity" not in e for e in endpoints().values()), endpoints()
    cond = wait_for("Programmed=False IdentityNotConfigured", lambda: (lambda x: x if x and
                    x.get("reason") == "IdentityNotConfigured" else None)(
                        condition("meshpolicy", ns, "strict", "Programmed")))
    assert "weft-identity-trust-anchors does not exist" in cond["message"], cond
    # `kubectl get` shows it too, not only `describe`.
    header, row = kubectl("get", "meshpolicy", "strict", "-n", ns).splitlines()[:2]

    def column(name):
        return row[header.index(name):].split()[0]
    assert (column("ACCEPTED"), column("PROGRAMMED")) == ("True", "False"), (header, row)
    assert op.metric('weft_operator_identity_state{state="missing"}') == 1
    assert '"msg":"no usable trust anchors' in op.text(), "no log line about the anchors"

    # The anchors appear: every document gets identity, meshed endpoints their ID.
    first = self_signed_pem("weft-test-anchor-1")
    apply(trust_anchors(c.lease_ns, first))
    wait_for("identity in the document", lambda: document(ns).get("identity") ==
             {"trustDomain": "mesh.test", "trustAnchorsPem": first})
    by_pod = endpoints()
    assert by_pod["meshed"].get("identity") == f"spiffe://mesh.test/ns/{ns}/sa/web-sa", by_pod
    assert "identity" not in by_pod["plain"], by_pod
    validate_schema(document(ns))
    wait_for("Programmed=True, mtls enforced", lambda: (
        condition("meshpolicy", ns, "strict", "Programmed") or {}).get("status") == "True")
    message = condition("meshpolicy", ns, "strict", "Programmed")["message"]
    assert "mtls Strict enforced by the proxies of 1 pods" in message, message
    assert op.metric('weft_operator_identity_state{state="configured"}') == 1

    # A rotation (old and new anchors) reaches the document.
    both = first + self_signed_pem("weft-test-anchor-2")
    apply(trust_anchors(c.lease_ns, both))
    wait_for("the rotated bundle", lambda: document(ns)["identity"]["trustAnchorsPem"] == both)

    # An unusable bundle is not copied: back to plaintext, with the reason.
    apply(trust_anchors(c.lease_ns, "not a certificate"))
    wait_for("no identity", lambda: "identity" not in document(ns))
    assert all("identity" not in e for e in endpoints().values()), endpoints()
    wait_for("the invalid state", lambda: op.metric(
        'weft_operator_identity_state{state="invalid"}') == 1)
    cond = wait_for("Programmed=False for the bad bundle", lambda: (lambda x: x if x and
                    "holds no PEM certificate" in x.get("message", "") else None)(
                        condition("meshpolicy", ns, "strict", "Programmed")))
    assert cond["reason"] == "IdentityNotConfigured", cond

    apply(trust_anchors(c.lease_ns, first))
    wait_for("identity again", lambda: (document(ns).get("identity") or {}).get(
        "trustAnchorsPem") == first)
    kubectl("delete", "configmap", "weft-identity-trust-anchors", "-n", c.lease_ns)
    wait_for("identity gone with the ConfigMap", lambda: "identity" not in document(ns))


def injected_pod(ns, name, proxy=True, version="v0.1.0"):
    """A Pod as the webhook leaves it (native sidecar, seal, version); proxy=False: the
    seal without the container, as if the injection had been undone."""
    pod = workload_pod(ns, name, "default", True)
    pod["metadata"]["annotations"]["weft.io/proxy-version"] = version
    if not proxy:
        del pod["spec"]["initContainers"]
    return pod


def set_proxy_status(ns, pod, ready, restarts=0, waiting=None):
    """What the kubelet would report, written through the pod's status subresource (this
    cluster has no kubelet, so nothing overwrites it)."""
    state = ({"waiting": {"reason": waiting, "message": "back-off restarting"}} if waiting
             else {"running": {"startedAt": "2026-01-01T00:00:00Z"}})
    proxy = {"name": "weft-proxy", "image": "example.invalid/proxy:1", "imageID": "",
             "ready": ready, "restartCount": restarts, "started": ready, "state": state}
    app = {"name": "app", "image": "example.invalid/app:1", "imageID": "", "ready": True,
           "restartCount": 0, "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}
    kubectl("patch", "pod", pod, "-n", ns, "--subresource=status", "--type=merge", "-p",
            json.dumps({"status": {"phase": "Running", "initContainerStatuses": [proxy],
                                   "containerStatuses": [app]}}))


def pod_events(ns, pod, reason):
    out = kubectl("get", "events", "-n", ns, "--field-selector",
                  f"involvedObject.kind=Pod,involvedObject.name={pod},reason={reason}",
                  "-o", "json")
    return json.loads(out)["items"]


def proxy_health(ns):
    """The data of the namespace's weft-proxy-health ConfigMap, or None."""
    out = kubectl("get", "configmap", "weft-proxy-health", "-n", ns, "-o", "json", check=False)
    return json.loads(out).get("data") if out.strip() else None


def case_proxy_health(c):
    """Injected pods whose proxy statuses say not ready, crash-looping, restarting; one
    missing its proxy, one of another version: the metrics, the Events on the pods and the
    namespace's summary say so, Events are not repeated for a flapping proxy, and all ready
    turns the summary's condition True."""
    ns = c.namespace(meshed=False)  # pods first: no webhook of another test reviews them
    names = ("good", "slow", "crashing", "restarting", "stripped", "old")
    for name in names:
        apply(injected_pod(ns, name, proxy=name != "stripped",
                           version="v0.0.9" if name == "old" else "v0.1.0"))
    set_proxy_status(ns, "good", True)
    set_proxy_status(ns, "slow", False)
    set_proxy_status(ns, "crashing", False, restarts=4, waiting="CrashLoopBackOff")
    set_proxy_status(ns, "restarting", True, restarts=1)
    set_proxy_status(ns, "old", True)
    kubectl("label", "namespace", ns, "weft.io/inject=enabled")
    op = c.operator(args=["--proxy-version=v0.1.0", "--proxy-restart-window=20s",
                          "--proxy-health-write-interval=1s", "--proxy-event-delay=2s"]).start()

    def gauge(state):
        return op.metrics().get(f'weft_operator_meshed_pods{{namespace="{ns}",state="{state}"}}')

    def counts():
        return {state: gauge(state) for state in
                ("ready", "not_ready", "restarting", "crash_looping", "missing_proxy",
                 "version_skew")}
    expected = {"ready": 2, "not_ready": 1, "restarting": 0, "crash_looping": 1,
                "missing_proxy": 1, "version_skew": 1}
    wait_for(f"the states {expected}", lambda: counts() == expected)
    assert f'weft_operator_meshed_pods{{namespace="{ns}",state="stale_config"}}' not in op.metrics()
    assert op.metric(f'weft_operator_proxy_restarts_total{{namespace="{ns}"}}') == 0

    # The restart count grows: counted, and the pod is restarting for the window.
    set_proxy_status(ns, "restarting", True, restarts=3)
    wait_for("restarting", lambda: gauge("restarting") == 1 and gauge("ready") == 1)
    assert op.metric(f'weft_operator_proxy_restarts_total{{namespace="{ns}"}}') == 2

    # An Event on each unhealthy pod, with its reason.
    for pod, reason in (("slow", "ProxyNotReady"), ("crashing", "ProxyCrashLooping"),
                        ("restarting", "ProxyRestarting"), ("stripped", "ProxyMissing"),
                        ("old", "ProxyVersionSkew")):
        events = wait_for(f"{reason} on {pod}", lambda: pod_events(ns, pod, reason))
        assert events[0]["type"] == "Warning", events
        assert events[0]["source"]["component"] == "weft-operator", events
    assert not pod_events(ns, "good", "ProxyNotReady")
    assert "CrashLoopBackOff (4 restarts)" in pod_events(ns, "crashing", "ProxyCrashLooping")[0][
        "message"]

    # The namespace's summary.
    data = wait_for("the summary", lambda: (lambda d: d if d and d.get("healthy") == "false"
                                            else None)(proxy_health(ns)))
    condition = json.loads(data["conditions"])[0]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "ProxiesHealthy", "False", "ProxyMissing"), condition
    assert "stripped: missing_proxy" in data["unhealthy"], data
    assert json.loads(data["pods"])["crash_looping"] == 1, data

    # A flapping proxy: ready, not ready, ready, not ready... each time for less than
    # the Event's delay (2 s), then not ready past it: one ProxyNotReady Event in all,
    # the second held back by the interval.
    for ready in (True, False, True, False):
        set_proxy_status(ns, "slow", ready)
        wait_for(f"slow ready={ready}", lambda: gauge("not_ready") == (0 if ready else 1))
    wait_for("the second Event held back",
             lambda: op.metric("weft_operator_proxy_events_suppressed_total") >= 1)
    assert len(pod_events(ns, "slow", "ProxyNotReady")) == 1, pod_events(ns, "slow",
                                                                         "ProxyNotReady")

    # Everything fixed: the stripped and old pods replaced by good ones, the others ready.
    kubectl("delete", "pod", "stripped", "old", "-n", ns, "--grace-period=0", "--force")
    set_proxy_status(ns, "slow", True)
    set_proxy_status(ns, "crashing", True, restarts=4)
    wait_for("all ready once the restart window is over",
             lambda: gauge("ready") == 4 and gauge("restarting") == 0, timeout=WAIT)
    data = wait_for("the summary healthy", lambda: (lambda d: d if d and d.get("healthy") == "true"
                                                    else None)(proxy_health(ns)))
    condition = json.loads(data["conditions"])[0]
    assert (condition["status"], condition["reason"]) == ("True", "AllProxiesReady"), condition
    assert condition["message"] == "4 of 4 proxies ready", condition
    # The scripted check docs/operator.md gives.
    kubectl("wait", "-n", ns, "configmap/weft-proxy-health", "--for=jsonpath={.data.healthy}=true",
            "--timeout=10s")

    # Unmeshed (unlabelled, and its injected pods gone): the summary and the series go.
    kubectl("label", "namespace", ns, "weft.io/inject-")
    kubectl("delete", "pod", "--all", "-n", ns, "--wait=false", "--grace-period=0", "--force")
    wait_for("the summary deleted", lambda: proxy_health(ns) is None)
    wait_for("the series removed", lambda: gauge("ready") is None)


def namespace_events(ns, reason):
    return kubectl("get", "events", "-n", "default", "--field-selector",
                   f"involvedObject.kind=Namespace,involvedObject.name={ns},reason={reason}",
                   "-o", "jsonpath={.items[*].message}")


def case_default_policy(c):
    """The operator's --default-inbound-policy, the Namespace annotation over it; an unknown
    word fails closed to deny, with a Warning Event on the Namespace."""
    ns = c.namespace()
    op = c.operator(args=["--default-inbound-policy=all-authenticated"]).start()
    annotation = "config.weft.io/default-inbound-policy"
    wait_for("the flag's default in the document",
             lambda: (document(ns) or {}).get("inbound", {}).get("defaultPolicy")
             == "all-authenticated")
    kubectl("annotate", "namespace", ns, f"{annotation}=Same-Namespace")
    wait_for("the annotation's value (any case)",
             lambda: document(ns)["inbound"].get("defaultPolicy") == "same-namespace")
    kubectl("annotate", "--overwrite", "namespace", ns, f"{annotation}=all-unauthenticated")
    # The default word is omitted from the document.
    wait_for("all-unauthenticated (omitted)",
             lambda: "defaultPolicy" not in document(ns)["inbound"])
    kubectl("annotate", "--overwrite", "namespace", ns, f"{annotation}=allow-everything")
    wait_for("an unknown word: deny",
             lambda: document(ns)["inbound"].get("defaultPolicy") == "deny")
    message = wait_for("a Warning Event on the Namespace",
                       lambda: namespace_events(ns, "InvalidDefaultInboundPolicy"))
    assert '"allow-everything"' in message, message
    assert "bad default inbound policy annotation" in op.text(), "no log line"
    validate_schema(document(ns))
    kubectl("annotate", "namespace", ns, f"{annotation}-")
    wait_for("the flag again", lambda: document(ns)["inbound"].get("defaultPolicy")
             == "all-authenticated")


def case_policy_reach(c):
    """A MeshPolicy's Programmed condition counts the meshed pods whose proxy enforces it."""
    ns = c.namespace(meshed=False)  # pods first: no webhook of another test reviews them
    for account in ("web-sa",):
        apply({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": account, "namespace": ns}})
    apply(workload_pod(ns, "meshed", "web-sa", True))
    apply(workload_pod(ns, "opted-out", "web-sa", False))
    kubectl("label", "namespace", ns, "weft.io/inject=enabled")
    apply({"apiVersion": "weft.io/v1alpha1", "kind": "MeshPolicy",
           "metadata": {"name": "web-authz", "namespace": ns},
           "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                    "authorization": {"rules": [{"to": {"methods": ["GET"]}}]}}})
    apply({"apiVersion": "weft.io/v1alpha1", "kind": "MeshPolicy",
           "metadata": {"name": "db-authz", "namespace": ns},
           "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                    "authorization": {"rules": [{"to": {"methods": ["GET"]}}]}}})
    c.operator().start()

    def programmed(name, reason):
        return lambda: (lambda x: x if x and x.get("reason") == reason else None)(
            condition("meshpolicy", ns, name, "Programmed"))

    cond = wait_for("web-authz Programmed", programmed("web-authz", "Programmed"))
    assert cond["status"] == "True", cond
    assert "authorization enforced by the proxies of 1 pods" in cond["message"], cond
    assert "opted-out" in cond["message"], cond
    cond = wait_for("db-authz NoPodsSelected", programmed("db-authz", "NoPodsSelected"))
    assert cond["status"] == "False", cond
    kubectl("delete", "pod", "meshed", "-n", ns, "--grace-period=0", "--force")
    cond = wait_for("web-authz PodsNotMeshed", programmed("web-authz", "PodsNotMeshed"))
    assert "opted-out" in cond["message"], cond


def case_across_namespaces(c):
    """A Service of one meshed namespace whose pods are all meshed under one ServiceAccount
    is listed, with that identity, in every other meshed namespace's document (mTLS across
    namespaces), and leaves those documents when a plain pod joins it."""
    server, client = c.namespace(meshed=False), c.namespace(meshed=False)
    apply({"apiVersion": "v1", "kind": "ServiceAccount",
           "metadata": {"name": "api-sa", "namespace": server}})
    for pod in ("api-1", "api-2"):
        apply(workload_pod(server, pod, "api-sa", True))
    apply(workload_pod(server, "legacy", "api-sa", False))
    apply(service(server, "api"))

    def slice_of(pods):
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "api-manual", "namespace": server,
                             "labels": {"kubernetes.io/service-name": "api"}},
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                "endpoints": [{"addresses": [f"10.6.0.{i + 1}"], "conditions": {"ready": True},
                               "targetRef": {"kind": "Pod", "name": pod, "namespace": server}}
                              for i, pod in enumerate(pods)]}
    apply(slice_of(["api-1", "api-2"]))
    apply(trust_anchors(c.lease_ns, self_signed_pem("weft-test-anchor-across")))
    for ns in (server, client):
        kubectl("label", "namespace", ns, "weft.io/inject=enabled")
    op = c.operator().start()
    cluster_ip = kubectl("get", "service", "api", "-n", server, "-o",
                         "jsonpath={.spec.clusterIP}").strip()

    def others(ns):
        return (document(ns) or {}).get("outbound", {}).get("otherNamespaces", [])

    def ours(ns):
        return [o for o in others(ns) if o["namespace"] in (server, client)]

    expected = [{"namespace": server, "name": "api", "clusterIPs": [cluster_ip], "ports": [8080],
                 "identity": f"spiffe://cluster.local/ns/{server}/sa/api-sa"}]
    wait_for("api listed in the client namespace's document", lambda: ours(client) == expected)
    assert ours(server) == [], ours(server)  # its own namespace lists it in services
    validate_schema(document(client))

    # A plain pod behind it: kube-proxy may pick it, so no identity can be expected.
    apply(slice_of(["api-1", "api-2", "legacy"]))
    wait_for("api no longer listed", lambda: ours(client) == [])
    apply(slice_of(["api-2"]))
    wait_for("api listed again", lambda: ours(client) == expected)
    # The server's namespace leaves the mesh: unlabelled, it stays meshed while its
    # injected pods run (their proxies still need the document), and its Services
    # are offered no more once they are replaced by plain ones.
    kubectl("label", "namespace", server, "weft.io/inject-")
    time.sleep(2)
    assert ours(client) == expected, ours(client)
    kubectl("delete", "pod", "api-1", "api-2", "-n", server, "--wait=false")
    wait_for("api gone with its namespace's meshing", lambda: ours(client) == [])
    assert '"msg":"meshed Services offered to other namespaces changed"' in op.text()


def bundle_rbac():
    """The ServiceAccount and RBAC objects of manifests/operator.yaml."""
    import yaml  # python3-yaml
    path = os.path.join(ROOT, "manifests", "operator.yaml")
    return [d for d in yaml.safe_load_all(open(path))
            if d and d["kind"] in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
                                   "RoleBinding")]


def token_kubeconfig():
    """A kubeconfig file for the operator's ServiceAccount (a bound token, 1 h)."""
    token = kubectl("create", "token", "weft-operator", "-n", "weft-system",
                    "--duration=1h").strip()
    admin = json.loads(kubectl("config", "view", "--raw", "--minify", "-o", "json"))
    kubeconfig = tempfile.NamedTemporaryFile("w", suffix=".kubeconfig", delete=False)
    json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "sa",
               "clusters": [{"name": "c", "cluster": admin["clusters"][0]["cluster"]}],
               "users": [{"name": "sa", "user": {"token": token}}],
               "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "sa"}}]},
              kubeconfig)
    kubeconfig.close()
    return kubeconfig.name


def case_rbac(c):
    """The operator works with exactly the permissions of manifests/operator.yaml."""
    kubectl("apply", "-f", os.path.join(ROOT, "manifests", "00-namespace.yaml"))
    rbac = bundle_rbac()
    for doc in rbac:
        apply(doc)
    kubeconfig = token_kubeconfig()
    try:
        ns = c.namespace()
        op = c.operator("least-privilege", lease_ns="weft-system",
                        args=[f"--kubeconfig={kubeconfig}"]).start()
        apply(service(ns, "web"))
        apply(mesh_route(ns, "r", "web", [("missing", 1)]))
        wait_for("ConfigMap", lambda: service_of(document(ns), "web"))
        wait_for("RoleBinding", lambda: READER in kubectl(
            "get", "rolebinding", "-n", ns, "-o", "name", check=False))
        wait_for("status", lambda: (condition("meshroute", ns, "r", "ResolvedRefs") or {})
                 .get("reason") == "BackendNotFound")
        wait_for("an Event", lambda: "BackendNotFound" in kubectl(
            "get", "events", "-n", ns, "-o", "jsonpath={.items[*].reason}"))
        kubectl("label", "namespace", ns, "weft.io/inject-")
        wait_for("ConfigMap deleted", lambda: config_map(ns) is None)
        op.signal(signal.SIGTERM)
        assert op.wait() == 0
        text = op.text()
        assert "Forbidden" not in text and "forbidden" not in text, "a request was forbidden"
        holder = kubectl("get", "lease", "weft-operator", "-n", "weft-system",
                         "-o", "jsonpath={.spec.holderIdentity}")
        assert holder == "", f"lease still held by {holder!r}"
    finally:
        os.unlink(kubeconfig)
        for doc in rbac:
            if doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
                kubectl("delete", doc["kind"].lower(), doc["metadata"]["name"], check=False)


def case_relist(binary):
    """Watches that drop and expire (apiserver restart + etcd compaction) relist and lose nothing.

    Runs on a cluster of its own: restarting the shared fixture's apiserver would
    disturb the other tests."""
    cluster_dir = os.path.join(os.environ.get("WEFT_OPERATOR_TEST_DIR", tempfile.gettempdir()),
                               f"weft-operator-relist-{suffix()}")
    env = dict(os.environ, WEFT_CLUSTER_DIR=cluster_dir,
               KUBECONFIG=os.path.join(cluster_dir, "kubeconfig"))
    local_cluster = os.path.join(ROOT, "scripts", "local-cluster")
    subprocess.run([local_cluster, "up"], env=env, check=True, capture_output=True, timeout=300)
    c = None
    failed = True
    try:
        subprocess.run([os.path.join(ROOT, "test", "integration", "crd", "install-crds.sh")],
                       env=env, check=True, capture_output=True, timeout=120)
        os.environ["KUBECONFIG"] = env["KUBECONFIG"]  # kubectl() below uses this cluster
        c = Case(binary, env)
        ns = c.namespace()
        op = c.operator().start()
        apply(service(ns, "web"), env)
        wait_for("Service web", lambda: service_of(document(ns, env), "web"))

        # Freeze the operator, change things, restart the apiserver and compact
        # etcd so the operator's resourceVersions are gone (410 on resume).
        op.signal(signal.SIGSTOP)
        apply(endpoint_slice(ns, "web", ["10.3.0.1"]), env)
        apply(service(ns, "added-while-away"), env)
        restart_apiserver(cluster_dir, env)
        compact_etcd(cluster_dir)
        op.signal(signal.SIGCONT)
        wait_for("changes made while the watches were gone", lambda: (
            addresses(document(ns, env), "web") == ["10.3.0.1"]
            and service_of(document(ns, env), "added-while-away")), 90)
        restarts = wait_for("watch restarts counted", lambda: sum(
            v for k, v in op.metrics().items() if k.startswith("weft_operator_watch_restarts_total")))
        log(f"watch restarts: {restarts}")
        # And the relisted watches keep delivering.
        apply(service(ns, "after-relist"), env)
        wait_for("a change after the relist", lambda: service_of(document(ns, env), "after-relist"))
        for line in op.text().splitlines():
            if '"msg":"watch restarting with a relist"' in line:
                event = json.loads(line)
                log(f"relist of {event['resource']} at {event['ts']}: {event['error'][:160]}")
        failed = False
    finally:
        if c:
            c.cleanup(failed)
        subprocess.run([local_cluster, "down"], env=env, capture_output=True, timeout=120)


def restart_apiserver(cluster_dir, env):
    pid_file = os.path.join(cluster_dir, "run", "kube-apiserver.pid")
    pid = int(open(pid_file).read())
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = [a.decode() for a in f.read().split(b"\0") if a]
    os.kill(pid, signal.SIGKILL)  # an abrupt drop: every watch stream is cut
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.1)
    log_file = open(os.path.join(cluster_dir, "logs", "kube-apiserver.log"), "a")
    process = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT,
                               start_new_session=True)
    with open(pid_file, "w") as f:
        f.write(str(process.pid))  # so that `local-cluster down` stops it
    wait_for("apiserver back", lambda: kubectl("get", "--raw", "/readyz", check=False,
                                               env=env).strip() == "ok", 60)
    log("apiserver restarted")


def compact_etcd(cluster_dir):
    """Compacts etcd (plain HTTP on loopback) at its current revision via its JSON gateway."""
    ports = open(os.path.join(cluster_dir, "run", "ports")).read()
    url = "http://127.0.0.1:" + re.search(r"^etcd=(\d+)$", ports, re.M).group(1)

    def post(path, body):
        request = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    revision = int(post("/v3/kv/range", {"key": "AA=="})["header"]["revision"])
    post("/v3/kv/compaction", {"revision": revision, "physical": True})
    log(f"etcd compacted at revision {revision}")


CASES = {
    "default_policy": case_default_policy,
    "policy_reach": case_policy_reach,
    "converge": case_converge,
    "grpc_route": case_grpc_route,
    "resolved_refs": case_resolved_refs,
    "unlabel": case_unlabel,
    "restart": case_restart,
    "conflict": case_conflict,
    "failover": case_failover,
    "rbac": case_rbac,
    "rbac_restore": case_rbac_restore,
    "too_large": case_too_large,
    "missing_lease_namespace": case_missing_lease_namespace,
    "identity": case_identity,
    "across_namespaces": case_across_namespaces,
    "opt_in_pod": case_opt_in_pod,
    "proxy_health": case_proxy_health,
}


def main():
    name, binary = sys.argv[1], sys.argv[2]
    log(f"case {name}")
    if name == "relist":
        case_relist(binary)
    else:
        c = Case(binary)
        failed = True
        try:
            CASES[name](c)
            failed = False
        finally:
            c.cleanup(failed)
    log(f"PASS {name}")


if __name__ == "__main__":
    try:
        main()
    except (Failure, AssertionError) as error:
        print(f"FAIL: {error!r}", flush=True)
        sys.exit(1)
