#!/usr/bin/env python3
"""weft-operator with exactly the bundle's RBAC: it works, and nothing more is allowed.

usage: least_privilege_test.py OPERATOR_BINARY

Applies the RBAC objects of manifests/operator.yaml, starts the real operator
with a token of its ServiceAccount, and checks against the real kube-apiserver
(the ctest fixture's) that:
- it reconciles a meshed namespace: the ConfigMap (with the service account of
  an endpoint's Pod), the proxies' RoleBinding to the bundle's ClusterRole, a
  status and an Event; for an injected pod whose proxy is not ready, the
  proxy health summary (ConfigMap weft-proxy-health) and an Event on the pod;
  a RoleBinding an older operator wrote (to a Role) is replaced; unlabelling,
  once the injected pod is gone, deletes what it wrote; nothing it asked was
  Forbidden;
- with the same token, everything out of its scope is Forbidden: reading a
  Secret, reading or listing any ConfigMap but weft-proxy-config (in a meshed
  or any other namespace), writing or creating another ConfigMap, creating a
  Role, binding cluster-admin, edit or view, creating a RoleBinding of another
  name.
"""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from operator_test import (KUBECTL, READER, ROOT, Case, Failure, apply,  # noqa: E402
                           bundle_rbac, condition, config_map, document, injected_pod, kubectl,
                           log, pod_events, proxy_health, service, service_of, set_proxy_status,
                           token_kubeconfig, wait_for)


def as_operator(kubeconfig, *args, stdin=None):
    """kubectl with the operator's token: (exit code, stdout + stderr)."""
    result = subprocess.run([KUBECTL, f"--kubeconfig={kubeconfig}", *args], input=stdin,
                            capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


def binding_to(ns, name, role_kind, role):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}]}


def check_out_of_scope(kubeconfig, meshed, other):
    """Every request here must be refused by the API server with Forbidden."""
    json_stdin = json.dumps
    refused = {
        "get a Secret": ["get", "secret", "app-secret", "-n", meshed],
        "list Secrets": ["get", "secrets", "-A"],
        "get another ConfigMap of a meshed namespace": ["get", "configmap", "app-settings", "-n",
                                                        meshed],
        "list the ConfigMaps of a meshed namespace": ["get", "configmaps", "-n", meshed],
        "list the ConfigMaps of a namespace not meshed": ["get", "configmaps", "-n", other],
        "list every ConfigMap": ["get", "configmaps", "-A"],
        "watch every ConfigMap": ["get", "configmaps", "-A", "--watch", "--request-timeout=5s"],
        "patch another ConfigMap": ["patch", "configmap", "app-settings", "-n", meshed,
                                    "--type=merge", "-p", '{"data":{"x":"y"}}'],
        "delete another ConfigMap": ["delete", "configmap", "app-settings", "-n", other],
        "list RoleBindings": ["get", "rolebindings", "-n", meshed],
        "get even its own ConfigMap (it lists by name, never gets)":
            ["get", "configmap", "weft-proxy-config", "-n", meshed],
        "get a Pod by name (it lists, never gets)": ["get", "pod", "app", "-n", meshed],
    }
    creates = {
        "create a Role": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                          "metadata": {"name": "weft-proxy-config-reader", "namespace": other},
                          "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                                     "resourceNames": ["weft-proxy-config"],
                                     "verbs": ["get"]}]},
        "bind cluster-admin": binding_to(other, "escalate", "ClusterRole", "cluster-admin"),
        "bind the ClusterRole edit": binding_to(other, "escalate-edit", "ClusterRole", "edit"),
        "bind the ClusterRole view": binding_to(other, "escalate-view", "ClusterRole", "view"),
        "create a RoleBinding of another name, even to the proxies' ClusterRole":
            binding_to(other, "other-name", "ClusterRole", READER),
        "create another ConfigMap": {"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "planted", "namespace": other},
                                     "data": {"k": "v"}},
        # Its own name, but another role: the name is not what lets it bind.
        "bind cluster-admin under the proxies' name": binding_to(other, READER, "ClusterRole",
                                                                 "cluster-admin"),
    }
    problems = []
    for what, args in refused.items():
        code, out = as_operator(kubeconfig, *args)
        if code == 0 or "forbidden" not in out.lower():
            problems.append(f"{what}: not Forbidden (exit {code}): {out.strip()[:300]}")
        else:
            log(f"Forbidden as expected: {what}")
    for what, obj in creates.items():
        code, out = as_operator(kubeconfig, "create", "-f", "-", stdin=json_stdin(obj))
        if code == 0 or "forbidden" not in out.lower():
            problems.append(f"{what}: not Forbidden (exit {code}): {out.strip()[:300]}")
            kubectl("delete", obj["kind"].lower(), obj["metadata"]["name"], "-n", other,
                    check=False)
        else:
            log(f"Forbidden as expected: {what}")
    if problems:
        raise Failure("the operator's token may do more than it needs:\n  " + "\n  ".join(problems))


def check_in_scope(kubeconfig, meshed):
    """What the operator does, done by hand with its token: allowed."""
    allowed = {
        "list weft-proxy-config in every namespace":
            ["get", "configmaps", "-A", "--field-selector=metadata.name=weft-proxy-config"],
        "list a namespace's weft-proxy-config": ["get", "configmaps", "-n", meshed,
                                                 "--field-selector=metadata.name=weft-proxy-config"],
        "list Pods": ["get", "pods", "-A"],
        "list the trust anchors ConfigMap": ["get", "configmaps", "-n", "weft-system",
                                             "--field-selector=metadata.name="
                                             "weft-identity-trust-anchors"],
    }
    for what, args in allowed.items():
        code, out = as_operator(kubeconfig, *args)
        if code != 0:
            raise Failure(f"{what}: refused (exit {code}): {out.strip()[:300]}")


def run(binary):
    rbac = bundle_rbac()
    kubectl("apply", "-f", os.path.join(ROOT, "manifests", "00-namespace.yaml"))
    for doc in rbac:
        apply(doc)
    kubeconfig = token_kubeconfig()
    c = Case(binary)
    failed = True
    try:
        ns = c.namespace()
        other = c.namespace(meshed=False)
        # What the operator must not read, in both namespaces.
        for where in (ns, other):
            kubectl("create", "secret", "generic", "app-secret", "-n", where,
                    "--from-literal=password=hunter2")
            kubectl("create", "configmap", "app-settings", "-n", where, "--from-literal=k=v")
        # An older operator's binding to a Role: its roleRef cannot change.
        kubectl("create", "role", READER, "-n", ns, "--verb=get,watch", "--resource=configmaps",
                "--resource-name=weft-proxy-config")
        kubectl("create", "rolebinding", READER, "-n", ns, f"--role={READER}",
                f"--group=system:serviceaccounts:{ns}")
        kubectl("label", "role,rolebinding", READER, "-n", ns,
                "app.kubernetes.io/managed-by=weft-operator")
        # A Pod (never scheduled: the fixture has no node) behind an endpoint,
        # so that its service account reaches the document.
        apply({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "web-sa", "namespace": ns}})
        apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app", "namespace": ns},
               "spec": {"serviceAccountName": "web-sa",
                        "containers": [{"name": "app", "image": "example.invalid/app:1"}]}})
        # An injected pod whose proxy is not ready: the proxy health summary and
        # an Event on the pod, written with the bundle's permissions.
        apply(injected_pod(ns, "sidecar"))
        set_proxy_status(ns, "sidecar", ready=False)
        apply(service(ns, "web"))
        apply({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": "web-manual", "namespace": ns,
                            "labels": {"kubernetes.io/service-name": "web"}},
               "addressType": "IPv4",
               "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
               "endpoints": [{"addresses": ["10.4.0.1"], "conditions": {"ready": True},
                              "targetRef": {"kind": "Pod", "name": "app", "namespace": ns}}]})
        apply({"apiVersion": "weft.io/v1alpha1", "kind": "MeshRoute",
               "metadata": {"name": "r", "namespace": ns},
               "spec": {"parentRefs": [{"name": "web", "port": 8080}],
                        "rules": [{"backendRefs": [{"name": "missing", "port": 8080}]}]}})

        op = c.operator("least-privilege", lease_ns="weft-system",
                        args=[f"--kubeconfig={kubeconfig}", "--proxy-event-delay=0s"]).start()

        def endpoint_identity():
            web = service_of(document(ns), "web")
            endpoints = [e for p in (web or {}).get("ports", []) for e in p["endpoints"]]
            return endpoints and endpoints[0].get("serviceAccount") == "web-sa"

        wait_for("the document, with the endpoint's service account", endpoint_identity)
        wait_for("the proxies' RoleBinding, now to the bundle's ClusterRole", lambda: json.loads(
            kubectl("get", "rolebinding", READER, "-n", ns, "-o", "json", check=False) or "{}")
            .get("roleRef", {}).get("kind") == "ClusterRole")
        can = kubectl("auth", "can-i", "watch", "configmap/weft-proxy-config", "-n", ns,
                      f"--as=system:serviceaccount:{ns}:default", check=False).strip()
        assert can == "yes", f"the namespace's proxies may not watch their ConfigMap: {can}"
        wait_for("status", lambda: (condition("meshroute", ns, "r", "ResolvedRefs") or {})
                 .get("reason") == "BackendNotFound")
        wait_for("an Event", lambda: "BackendNotFound" in kubectl(
            "get", "events", "-n", ns, "-o", "jsonpath={.items[*].reason}"))

        wait_for("the proxy health summary", lambda: (proxy_health(ns) or {}).get("healthy")
                 == "false")
        wait_for("a ProxyNotReady Event on the pod",
                 lambda: pod_events(ns, "sidecar", "ProxyNotReady"))
        check_in_scope(kubeconfig, ns)
        check_out_of_scope(kubeconfig, ns, other)

        # Out of the mesh: unlabelled, and its injected pod gone (while it runs, its
        # proxy still needs the document).
        kubectl("label", "namespace", ns, "weft.io/inject-")
        kubectl("delete", "pod", "sidecar", "-n", ns, "--wait=false", "--grace-period=0",
                "--force")
        wait_for("ConfigMap deleted", lambda: config_map(ns) is None)
        wait_for("the proxy health summary deleted", lambda: proxy_health(ns) is None)
        wait_for("RoleBinding deleted", lambda: READER not in kubectl(
            "get", "rolebinding", "-n", ns, "-o", "name", check=False))
        op.signal(signal.SIGTERM)
        assert op.wait() == 0, "the operator did not exit 0 on SIGTERM"
        text = op.text()
        assert "forbidden" not in text.lower(), "a request of the operator was Forbidden"
        failed = False
    finally:
        c.cleanup(failed)
        os.unlink(kubeconfig)
        for doc in rbac:
            if doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
                kubectl("delete", doc["kind"].lower(), doc["metadata"]["name"], check=False)


if __name__ == "__main__":
    log("case least_privilege")
    try:
        run(sys.argv[1])
    except (Failure, AssertionError) as error:
        print(f"FAIL: {error!r}", flush=True)
        sys.exit(1)
    log("PASS least_privilege")
