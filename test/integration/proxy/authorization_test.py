#!/usr/bin/env python3
"""MeshPolicy authorization and rate limits enforced by a real weft-proxy on
its inbound side, in front of real backends: plaintext clients straight to
the proxy, meshed clients through a second proxy over mTLS (mtls_test.Mesh,
certificates made here).

    authorization_test.py NAME     runs one test (ctest: proxy.authorization.NAME)
    authorization_test.py --list   lists them
"""

import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time

from h2_peers import H2Backend, H2Client
from harness import (Backend, EchoServer, MountedConfig, Proxy, closed_by_peer, connect,
                     read_response, request, run_main, wait_until)
from mtls_test import TRUST_DOMAIN, Ca, Mesh

TESTS = {}


def test(function):
    TESTS[function.__name__] = function
    return function


# ---- documents -------------------------------------------------------------------

def policy_document(policies=(), default=None, anchors_pem=None):
    inbound = {"policies": list(policies)}
    if default:
        inbound["defaultPolicy"] = default
    body = {"version": 1, "namespace": "test", "outbound": {"services": []}, "inbound": inbound}
    if anchors_pem:
        body["identity"] = {"trustDomain": TRUST_DOMAIN, "trustAnchorsPem": anchors_pem}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    body["hash"] = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def authz_policy(name, rules, default_action="Deny", selector=None, ports=(), **sections):
    policy = {"name": name, "podSelector": selector or {}, "ports": sorted(ports),
              "authorization": {"defaultAction": default_action, "rules": rules}}
    policy.update(sections)
    return policy


def accepted(proxy):
    return proxy.metric("config_reload_total", result="accepted")


def reload(proxy, config, text):
    """Writes a new document and waits until the proxy accepted it."""
    before = accepted(proxy)
    config.write(text)
    wait_until(lambda: accepted(proxy) > before, what="the new document accepted")


class Server:
    """A weft-proxy in front of `app_port` (plaintext clients only)."""

    def __init__(self, app_port, text, *flags):
        self.config = MountedConfig()
        self.config.write(text)
        self.proxy = Proxy(self.config.path, "--inbound-fallback", f"127.0.0.1:{app_port}",
                           *flags)

    def reload(self, text):
        reload(self.proxy, self.config, text)

    def close(self):
        self.proxy.stop()
        self.config.close()


def exchange(port, raw, method="GET"):
    """Sends raw bytes on a new connection and reads until it closes (or 3 s)."""
    sock = connect(port)
    data = b""
    try:
        sock.sendall(raw)
        sock.settimeout(3)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    finally:
        sock.close()
    return data


def statuses(data):
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", data)]


# ---- tests -----------------------------------------------------------------------

@test
def identity_allowed_denied_and_unauthenticated():
    backend = Backend("app")
    ca = Ca("anchor")
    mesh = Mesh(backend.port, ca)
    try:
        front = [{"identities": [{"namespace": "test", "serviceAccount": "front"}]}]
        reload(mesh.server, mesh.server_config,
               policy_document([authz_policy("front-only", front)], anchors_pem=ca.pem))
        status, _, body = request(mesh.client.outbound, "/a")
        assert status == 200, (status, body)
        # Plaintext has no identity: a rule with identities never matches it.
        status, _, body = request(mesh.server.inbound, "/a")
        assert status == 403, (status, body)
        assert body.startswith(b"forbidden: "), body
        # Another ServiceAccount only: the meshed client is refused, and its
        # connection stays usable after the 403.
        other = [{"identities": [{"namespace": "test", "serviceAccount": "back"}]}]
        reload(mesh.server, mesh.server_config,
               policy_document([authz_policy("back-only", other)], anchors_pem=ca.pem))
        sock = connect(mesh.client.outbound)
        for _ in range(3):
            status, _, body = request(mesh.client.outbound, "/b", sock=sock)
            assert status == 403, (status, body)
            assert body.startswith(b"forbidden: "), body
        sock.close()
        assert all(path != "/b" for _, path, _ in backend.requests), backend.requests
        assert mesh.server.metric("inbound_http_authz_deny_total", policy="back-only",
                                  rule="default-action") >= 3
        assert mesh.server.metric("inbound_http_authz_allow_total", policy="front-only",
                                  rule="rule-0") >= 1
    finally:
        mesh.close()
        backend.close()


@test
def cidr_rule():
    backend = Backend("app")
    loopback = policy_document([authz_policy("cidr", [{"cidrs": ["127.0.0.0/8"]}])])
    server = Server(backend.port, loopback)
    try:
        status, _, _ = request(server.proxy.inbound, "/x")
        assert status == 200, status
        server.reload(policy_document([authz_policy("cidr", [{"cidrs": ["10.0.0.0/8"]}])]))
        status, _, body = request(server.proxy.inbound, "/y")
        assert status == 403, (status, body)
        assert [path for _, path, _ in backend.requests] == ["/x"], backend.requests
    finally:
        server.close()
        backend.close()


@test
def path_and_method_rule_cannot_be_bypassed():
    backend = Backend("app")
    rule = {"paths": [{"type": "PathPrefix", "value": "/public"}], "methods": ["GET"]}
    server = Server(backend.port, policy_document([authz_policy("public", [rule])]))
    port = server.proxy.inbound
    try:
        assert request(port, "/public/page")[0] == 200
        assert request(port, "/public/page", method="POST", body=b"x")[0] == 403
        assert request(port, "/admin")[0] == 403
        # The decision is on the normalised path, the one forwarded.
        assert request(port, "/public/../admin")[0] == 403
        assert request(port, "/public/..%2Fadmin")[0] == 400
        assert request(port, "//public//./page")[0] == 200
        paths = [path for _, path, _ in backend.requests]
        assert paths == ["/public/page", "/public/page"], paths
    finally:
        server.close()
        backend.close()


@test
def http2_requests_are_authorized_one_by_one():
    app = H2Backend("app")
    rule = {"paths": [{"type": "PathPrefix", "value": "/public"}], "methods": ["GET"]}
    server = Server(app.port, policy_document([authz_policy("public", [rule])]))
    grpc = [("content-type", "application/grpc"), ("te", "trailers")]
    try:
        client = H2Client(server.proxy.inbound)  # one connection, each stream decided alone
        assert client.get("/public/page").status == 200
        assert client.get("/admin").status == 403
        assert client.get("/public/../admin").status == 403
        assert client.get("/public/..%2Fadmin").status == 400
        response = client.get("/admin", method="POST", headers=grpc, body=b"")
        assert response.status == 200 and response.headers["grpc-status"] == "7", response.headers
        assert client.get("//public//./page").status == 200
        client.close()
        assert app.paths() == ["/public/page", "/public/page"], app.paths()
        assert server.proxy.metric("inbound_http_authz_deny_total") == 3
    finally:
        server.close()
        app.close()


@test
def tcp_denied_before_any_byte_reaches_the_server():
    echo = EchoServer()
    deny = policy_document([authz_policy("tcp", [{"cidrs": ["10.0.0.0/8"]}])])
    server = Server(echo.port, deny, "--opaque-ports", str(echo.port))
    try:
        sock = connect(server.proxy.inbound)
        try:
            sock.sendall(b"hello")
        except OSError:
            pass
        assert closed_by_peer(sock), "a denied connection stays open"
        sock.close()
        time.sleep(0.2)
        assert echo.accepted == 0, "the denied connection reached the server"
        wait_until(lambda: server.proxy.metric("inbound_tcp_authz_deny_total",
                                               policy="tcp") >= 1, what="the denial counted")
        # Allowed: the same bytes reach it.
        server.reload(policy_document([authz_policy("tcp", [{"cidrs": ["127.0.0.1/32"]}])]))
        with connect(server.proxy.inbound) as allowed:
            allowed.sendall(b"hello")
            assert allowed.recv(100) == b"echo:hello"
        assert server.proxy.metric("inbound_tcp_authz_allow_total", policy="tcp",
                                   rule="rule-0") >= 1
    finally:
        server.close()
        echo.close()


@test
def opaque_inside_mtls_is_decided_by_the_client_identity():
    echo = EchoServer()
    ca = Ca("anchor")
    mesh = Mesh(echo.port, ca, server_flags=("--opaque-ports", str(echo.port)))
    try:
        front = [{"identities": [{"namespace": "test", "serviceAccount": "front"}]}]
        reload(mesh.server, mesh.server_config,
               policy_document([authz_policy("front-only", front)], anchors_pem=ca.pem))
        with connect(mesh.client.outbound) as sock:
            sock.sendall(b"hi")
            assert sock.recv(100) == b"echo:hi"
        assert mesh.server.metric("inbound_tcp_authz_allow_total", policy="front-only",
                                  rule="rule-0") == 1
        back = [{"identities": [{"namespace": "test", "serviceAccount": "back"}]}]
        reload(mesh.server, mesh.server_config,
               policy_document([authz_policy("back-only", back)], anchors_pem=ca.pem))
        accepted_before = echo.accepted
        sock = connect(mesh.client.outbound)
        sock.sendall(b"hi")
        assert closed_by_peer(sock), "a denied meshed client reached the app"
        sock.close()
        time.sleep(0.2)
        assert echo.accepted == accepted_before
        assert mesh.server.metric("inbound_tcp_authz_deny_total", policy="back-only") == 1
    finally:
        mesh.close()
        echo.close()


@test
def policy_change_closes_an_open_opaque_connection():
    echo = EchoServer()
    allow = policy_document([authz_policy("tcp", [{"cidrs": ["127.0.0.0/8"]}])])
    server = Server(echo.port, allow, "--opaque-ports", str(echo.port))
    try:
        sock = connect(server.proxy.inbound)
        sock.sendall(b"one")
        assert sock.recv(100) == b"echo:one"
        server.reload(policy_document([authz_policy("tcp", [{"cidrs": ["10.0.0.0/8"]}])]))
        started = time.monotonic()
        assert closed_by_peer(sock, timeout=5), "the connection outlived its policy"
        assert time.monotonic() - started < 3
        sock.close()
        assert server.proxy.metric("inbound_tcp_authz_terminate_total", policy="tcp") == 1
    finally:
        server.close()
        echo.close()


@test
def denied_requests_with_bodies_keep_the_connection():
    backend = Backend("app")
    # Plaintext has no identity: every request here is denied.
    meshed_only = [{"identities": [{"namespace": "test", "serviceAccount": "*"}]}]
    server = Server(backend.port, policy_document([authz_policy("meshed", meshed_only)]),
                    "--max-discarded-body-bytes", "4096")
    port = server.proxy.inbound
    discarded = lambda: server.proxy.metric("limit_reached_total", limit="discarded_body")
    try:
        sock = connect(port)
        # A body with a length, then a chunked one whose bytes look like a
        # request (they are body, never parsed as one), then a GET: one
        # connection, each answered 403 in turn.
        sock.sendall(b"POST /a HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n" +
                     b"x" * 1000)
        assert read_response(sock)[0] == 403
        smuggled = b"GET /smuggled HTTP/1.1\r\nHost: test\r\n\r\n"
        sock.sendall(b"POST /b HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     b"%x\r\n" % len(smuggled) + smuggled + b"\r\n0\r\n\r\n")
        status, headers, _, rest = read_response(sock)
        assert status == 403 and headers.get("connection") != "close", headers
        assert rest == b"", rest  # one answer: the body's bytes were no request
        assert request(port, "/c", sock=sock)[0] == 403
        sock.close()
        assert discarded() == 0
        assert server.proxy.metric("inbound_http_authz_deny_total", policy="meshed") == 3
        # Longer than --max-discarded-body-bytes: answered, then closed.
        for head in (b"Content-Length: 5000\r\n", b"Transfer-Encoding: chunked\r\n"):
            sock = connect(port)
            body = b"x" * 5000 if head.startswith(b"Content") else b"1388\r\n" + b"x" * 5000
            sock.sendall(b"POST /d HTTP/1.1\r\nHost: test\r\n" + head + b"\r\n" + body)
            status, headers, _, _ = read_response(sock)
            assert status == 403 and headers.get("connection") == "close", headers
            assert closed_by_peer(sock)
            sock.close()
        assert discarded() == 2
        assert backend.requests == [], backend.requests
    finally:
        server.close()
        backend.close()


@test
def rate_limit_429_with_retry_after_then_recovery():
    backend = Backend("app")
    limited = {"name": "limited", "podSelector": {}, "ports": [],
               "rateLimit": {"requestsPerSecond": 1, "burst": 2}}
    server = Server(backend.port, policy_document([limited]))
    port = server.proxy.inbound
    try:
        sock = connect(port)
        got = [request(port, "/r", sock=sock) for _ in range(3)]
        assert [status for status, _, _ in got[:2]] == [200, 200], got
        status, headers, _ = got[2]
        assert status == 429, got
        retry_after = int(headers["retry-after"])
        assert 1 <= retry_after <= 2, headers
        time.sleep(retry_after)
        assert request(port, "/r", sock=sock)[0] == 200  # same connection, recovered
        sock.close()
        assert server.proxy.metric("inbound_http_ratelimit_denied_total", policy="limited") == 1
    finally:
        server.close()
        backend.close()


@test
def rate_limit_forgets_idle_clients():
    backend = Backend("app")
    # 12 tokens spent take 12 s to come back: the proxy's sweep (every 10 s)
    # sees the bucket in use first, then full again and forgets it.
    limited = {"name": "limited", "podSelector": {}, "ports": [],
               "rateLimit": {"requestsPerSecond": 1, "burst": 12}}
    server = Server(backend.port, policy_document([limited]))
    port = server.proxy.inbound
    tracked = lambda: server.proxy.metric("rate_limit_tracked_clients")
    try:
        sock = connect(port)
        assert [request(port, "/r", sock=sock)[0] for _ in range(12)] == [200] * 12
        sock.close()
        wait_until(lambda: tracked() == 1, timeout=12, interval=0.5, what="the client's bucket tracked")
        wait_until(lambda: tracked() == 0, timeout=25, interval=0.5, what="the idle client forgotten")
    finally:
        server.close()
        backend.close()


@test
def tcp_rate_limit_takes_a_token_per_connection():
    echo = EchoServer()
    limited = {"name": "tcp-limited", "podSelector": {}, "ports": [],
               "rateLimit": {"requestsPerSecond": 1, "burst": 1}}
    server = Server(echo.port, policy_document([limited]), "--opaque-ports", str(echo.port))
    try:
        with connect(server.proxy.inbound) as first:
            first.sendall(b"a")
            assert first.recv(100) == b"echo:a"
            second = connect(server.proxy.inbound)
            second.sendall(b"b")
            assert closed_by_peer(second), "a connection past the limit was served"
            second.close()
            first.sendall(b"c")  # the open one is not affected
            assert first.recv(100) == b"echo:c"
        assert echo.accepted == 1
        assert server.proxy.metric("inbound_tcp_ratelimit_denied_total",
                                   policy="tcp-limited") == 1
    finally:
        server.close()
        echo.close()


@test
def rate_limited_port_takes_no_undetected_connection():
    backend = Backend("app")
    limited = {"name": "limited", "podSelector": {}, "ports": [],
               "rateLimit": {"requestsPerSecond": 100, "burst": 100}}
    server = Server(backend.port, policy_document([limited]), "--detect-timeout", "300ms")
    port = server.proxy.inbound
    refused = lambda: server.proxy.metric("inbound_tcp_authz_deny_total", policy="limited",
                                          rule="http-only")
    requests = b"GET /pipelined HTTP/1.1\r\nHost: test\r\n\r\n" * 5
    try:
        # Silent past detection, then HTTP: it would be one token for any
        # number of requests. And bytes that are not HTTP to the detector but
        # that a lenient app may parse as requests (a lower-case method).
        for first, pause in ((b"", 0.6), (b"G", 0.6), (b"get / HTTP/1.1\r\n\r\n", 0)):
            sock = connect(port)
            if first:
                sock.sendall(first)
            time.sleep(pause)
            try:
                sock.sendall(requests)
            except OSError:
                pass
            assert closed_by_peer(sock), first
            sock.close()
        time.sleep(0.2)
        assert backend.requests == [], backend.requests
        assert refused() == 3
        # HTTP in time is served and limited per request.
        assert request(port, "/served")[0] == 200
    finally:
        server.close()
        backend.close()


@test
def every_default_policy():
    backend = Backend("app")
    ca = Ca("anchor")
    mesh = Mesh(backend.port, ca)
    try:
        expected = {  # default: (plaintext, meshed client of namespace test)
            "all-unauthenticated": (200, 200),
            "all-authenticated": (403, 200),
            "same-namespace": (403, 200),
            "deny": (403, 403),
        }
        for default, (plain, meshed) in expected.items():
            reload(mesh.server, mesh.server_config,
                   policy_document(default=default, anchors_pem=ca.pem))
            assert request(mesh.server.inbound, "/p")[0] == plain, default
            status, _, body = request(mesh.client.outbound, "/m")
            assert status == meshed, (default, status, body)
            if status == 403:
                assert mesh.server.metric("inbound_http_authz_deny_total",
                                          policy=f"default:{default}", rule="default") >= 1
    finally:
        mesh.close()
        backend.close()


@test
def labels_file_moves_the_pod_in_and_out_of_a_selector():
    backend = Backend("app")
    folder = tempfile.mkdtemp(prefix="weft-podinfo-")
    labels = os.path.join(folder, "labels")

    def write_labels(text):
        with open(labels + ".tmp", "w") as f:
            f.write(text)
        os.rename(labels + ".tmp", labels)  # as atomic as the kubelet's swap

    write_labels('app="api"\n')
    web_only = authz_policy("web-deny", [{"cidrs": ["10.0.0.0/8"]}],
                            selector={"matchLabels": {"app": "web"}})
    server = Server(backend.port, policy_document([web_only]), "--pod-labels-file", labels)
    port = server.proxy.inbound
    try:
        assert request(port, "/a")[0] == 200
        write_labels('app="web"\n')
        started = time.monotonic()
        wait_until(lambda: request(port, "/b")[0] == 403, timeout=3, what="the pod selected")
        assert time.monotonic() - started < 1.5
        # A bad file keeps the last good labels, counted.
        write_labels("not a label line\n")
        wait_until(lambda: server.proxy.metric("pod_labels_reload_total", result="error") >= 1,
                   what="the bad labels counted")
        assert request(port, "/c")[0] == 403
        write_labels('app="api"\ntier="x"\n')
        wait_until(lambda: request(port, "/d")[0] == 200, timeout=3, what="the pod unselected")
        assert server.proxy.metric("pod_labels_reload_total", result="ok") >= 3
    finally:
        server.close()
        backend.close()
        shutil.rmtree(folder, ignore_errors=True)


@test
def missing_labels_file_denies_until_read():
    # Fails closed: a policy selecting the pod by label must not be skipped
    # because its labels are not known yet.
    backend = Backend("app")
    folder = tempfile.mkdtemp(prefix="weft-podinfo-")
    labels = os.path.join(folder, "labels")
    web_only = authz_policy("web-deny", [{"cidrs": ["10.0.0.0/8"]}],
                            selector={"matchLabels": {"app": "web"}})
    server = Server(backend.port, policy_document([web_only]), "--pod-labels-file", labels)
    port = server.proxy.inbound
    try:
        status = request(port, "/a")[0]
        assert status == 403, status
        assert "no pod labels file yet" in server.proxy.output()
        assert backend.requests == []
        with open(labels + ".tmp", "w") as f:
            f.write('app="api"\n')
        os.rename(labels + ".tmp", labels)
        wait_until(lambda: request(port, "/b")[0] == 200, timeout=3, what="the labels read")
    finally:
        server.close()
        backend.close()
        shutil.rmtree(folder, ignore_errors=True)


@test
def denied_head_gets_no_body():
    backend = Backend("app")
    server = Server(backend.port, policy_document(default="deny"))
    try:
        data = exchange(server.proxy.inbound,
                        b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"
                        b"GET /g HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert statuses(data) == [403, 403], data
        head, rest = data.split(b"\r\n\r\n", 1)
        assert rest.startswith(b"HTTP/1.1 403 "), data  # nothing between the two
        assert rest.split(b"\r\n\r\n", 1)[1].startswith(b"forbidden: "), data
        assert backend.requests == []
    finally:
        server.close()
        backend.close()


@test
def probes_admitted_under_default_deny():
    backend = Backend("app")
    server = Server(backend.port, policy_document(default="deny"), "--inbound-probes",
                    f"{backend.port}/healthz")
    try:
        assert request(server.proxy.inbound, "/healthz")[0] == 200
        assert request(server.proxy.inbound, "/healthz", method="HEAD")[0] == 200
        assert request(server.proxy.inbound, "/other")[0] == 403
        assert server.proxy.metric("inbound_http_authz_allow_total", policy="probe",
                                   rule="probe") == 2
    finally:
        server.close()
        backend.close()


@test
def plaintext_keep_alive_refused_after_a_switch_to_strict():
    backend = Backend("app")
    server = Server(backend.port, policy_document())
    try:
        sock = connect(server.proxy.inbound)
        assert request(server.proxy.inbound, "/before", sock=sock)[0] == 200
        strict = {"name": "strict", "podSelector": {}, "ports": [], "mtls": {"mode": "Strict"}}
        server.reload(policy_document([strict]))
        status, _, body = request(server.proxy.inbound, "/after", sock=sock)
        assert status == 403, (status, body)
        assert closed_by_peer(sock)
        sock.close()
        assert [path for _, path, _ in backend.requests] == ["/before"]
    finally:
        server.close()
        backend.close()


@test
def denials_are_counted_and_their_log_lines_throttled():
    backend = Backend("app")
    server = Server(backend.port, policy_document(default="deny"), "--denial-log-interval", "1s")
    try:
        for _ in range(5):
            assert request(server.proxy.inbound, "/x")[0] == 403
        assert server.proxy.metric("inbound_http_authz_deny_total", policy="default:deny",
                                   rule="default") == 5
        lines = [line for line in server.proxy.output().splitlines()
                 if "inbound refused by authorization" in line]
        assert len(lines) == 1, lines
        time.sleep(1.1)
        assert request(server.proxy.inbound, "/x")[0] == 403
        lines = [json.loads(line) for line in server.proxy.output().splitlines()
                 if "inbound refused by authorization" in line]
        assert len(lines) == 2, lines
        assert lines[1]["not_logged_since_last"] == 4, lines[1]
        assert lines[1]["client"] == "127.0.0.1", lines[1]
        assert lines[1]["policy"] == "default:deny", lines[1]
    finally:
        server.close()
        backend.close()


def main():
    run_main(TESTS, "proxy.authorization.", __doc__)


if __name__ == "__main__":
    main()
