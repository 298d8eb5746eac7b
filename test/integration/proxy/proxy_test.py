#!/usr/bin/env python3
"""weft-proxy integration tests against real backends on loopback.

    proxy_test.py NAME     runs one test (ctest registers each as proxy.NAME)
    proxy_test.py --list   lists them

Traffic goes to 127.0.0.1 only. Connections reach the proxy's listeners
directly (no iptables here), so the tests use --outbound-fallback, the
documented mode for connections that were not redirected; the transparent
capture itself is tested by netns_capture_test.sh."""

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from harness import (run_main, PROXY_BINARY, Backend, BannerServer, MountedConfig, Proxy, closed_by_peer,
                     connect, document, free_port, read_response, request, run_test, service,
                     wait_until)

TESTS = {}
SERVICE_IP = "10.96.0.10"  # only a lookup key: the fallback destination names it


def test(function):
    TESTS[function.__name__] = function
    return function


def passthrough_proxy(backend, *flags):
    return Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{backend.port}",
                 *flags)


@test
def passthrough_without_config():
    backend = Backend("a")
    proxy = passthrough_proxy(backend)
    try:
        status, _, body = request(proxy.outbound, "/hello")
        assert (status, body) == (200, b"a"), (status, body)
        assert "passing traffic through" in proxy.output()
        code, text, _ = proxy.admin("/config")
        assert code == 404 and "no configuration" in text, (code, text)
    finally:
        proxy.stop()  # run_test() fails the test on a bad exit, after its own checks
        backend.close()


@test
def keep_alive_and_pooling():
    backend = Backend("a")
    proxy = passthrough_proxy(backend)
    try:
        sock = connect(proxy.outbound)
        for i in range(5):
            status, _, body = request(proxy.outbound, f"/r{i}", sock=sock)
            assert (status, body) == (200, b"a")
        sock.close()
        for i in range(3):  # new client connections reuse the pooled upstream one
            assert request(proxy.outbound, "/again")[0] == 200
        assert len(backend.requests) == 8
        assert backend.connections == 1, backend.connections
        assert proxy.metric("tcp_open_total", direction="outbound") == 4
        wait_until(lambda: proxy.metric("tcp_close_total", direction="outbound") == 4,
                   what="closes counted")
        assert proxy.metric("tcp_open_connections", direction="outbound") == 0
        assert proxy.metric("tcp_read_bytes_total", direction="outbound") > 0
        assert proxy.metric("tcp_write_bytes_total", direction="outbound") > 0
    finally:
        proxy.stop()
        backend.close()


@test
def several_workers_share_connections():
    backend = Backend("a")
    proxy = passthrough_proxy(backend, "--workers", "2")
    try:
        results = []

        def client():
            sock = connect(proxy.outbound)
            for _ in range(10):
                results.append(request(proxy.outbound, "/", sock=sock)[0])
            sock.close()

        threads = [threading.Thread(target=client) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert results == [200] * 160, results
        # Each worker accepted on its own SO_REUSEPORT socket: both listeners work.
        assert proxy.metric("tcp_open_total", direction="outbound") == 16
    finally:
        proxy.stop()
        backend.close()


@test
def pipelined_requests_answer_in_order():
    backend = Backend("a")
    proxy = passthrough_proxy(backend)
    try:
        sock = connect(proxy.outbound)
        sock.sendall(b"GET /one HTTP/1.1\r\nHost: t\r\n\r\nGET /two HTTP/1.1\r\nHost: t\r\n\r\n"
                     b"GET /three HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        rest = b""
        for _ in range(3):
            status, _, body, rest = read_response(_Prefixed(sock, rest))
            assert (status, body) == (200, b"a")
        assert closed_by_peer(sock)
        assert [r[1] for r in backend.requests] == ["/one", "/two", "/three"]
    finally:
        proxy.stop()
        backend.close()


class _Prefixed:
    """A socket whose first reads return bytes already received."""

    def __init__(self, sock, prefix):
        self.sock, self.prefix = sock, prefix

    def recv(self, n):
        if self.prefix:
            data, self.prefix = self.prefix[:n], self.prefix[n:]
            return data
        return self.sock.recv(n)


@test
def streaming_bodies_both_ways():
    backend = Backend("a")
    proxy = passthrough_proxy(backend)
    try:
        payload = os.urandom(3 * 1024 * 1024)
        sock = connect(proxy.outbound)
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for offset in range(0, len(payload), 100_000):
            piece = payload[offset:offset + 100_000]
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.sendall(b"0\r\n\r\n")
        status, headers, body, _ = read_response(sock)
        assert status == 200
        assert headers["x-body-sha256"] == hashlib.sha256(payload).hexdigest()
        assert body == payload
        # A chunked response streams back, re-chunked, on the same connection.
        status, headers, body, _ = read_response(_send(sock, b"GET /chunked?n=500 HTTP/1.1\r\n"
                                                             b"Host: t\r\n\r\n"))
        assert status == 200 and headers["transfer-encoding"] == "chunked"
        assert body == b"".join((str(i) * 1000).encode() for i in range(500))
        sock.close()
        # An HTTP/1.0 client gets the chunked response delimited by the close.
        sock = connect(proxy.outbound)
        sock.sendall(b"GET /chunked?n=3 HTTP/1.0\r\n\r\n")
        status, headers, body, _ = read_response(sock)
        assert "transfer-encoding" not in headers and body == b"0" * 1000 + b"1" * 1000 + b"2" * 1000
        sock.close()
    finally:
        proxy.stop()
        backend.close()


class EarlyAnswerServer:
    """A backend that answers each request as soon as its head arrives, without
    reading its body, then closes (close_after) or keeps the connection open
    and still reads nothing."""

    def __init__(self, response, close_after):
        self.response, self.close_after = response, close_after
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            conn.sendall(self.response)
            if not self.close_after:
                self.stopped.wait(30)
            conn.close()

    def close(self):
        self.stopped.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.listener.close()
        self.thread.join(timeout=5)


@test
def early_answers_during_a_streamed_upload_are_relayed():
    """Full duplex: the response is read while the request body is still being
    sent, so an upstream that answers before reading a large upload (413 then
    close, or 200 and reads nothing more) is relayed instead of becoming 502."""
    cases = (
        (True, b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 9\r\n"
               b"Connection: close\r\n\r\ntoo large", 413, b"too large"),
        (False, b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nignored", 200, b"ignored"),
    )
    size = 64 * 1024 * 1024  # far more than the socket buffers on the way hold
    piece = b"x" * 65536
    for (close_after, response, status_expected, body_expected), chunked in (
            (case, chunked) for case in cases for chunked in (False, True)):
        server = EarlyAnswerServer(response, close_after)
        proxy = passthrough_proxy(server)
        sock = connect(proxy.outbound)

        def upload():
            try:
                for _ in range(size // len(piece)):
                    sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            except OSError:
                pass  # the proxy closed the connection once the answer was relayed

        uploader = threading.Thread(target=upload, daemon=True)
        try:
            framing = (b"Transfer-Encoding: chunked" if chunked
                       else b"Content-Length: %d" % size)
            sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\n%s\r\n\r\n" % framing)
            uploader.start()
            status, headers, body, _ = read_response(sock)
            assert (status, body) == (status_expected, body_expected), (status, headers, body)
            # The rest of the body was not read: the connection ends after the answer.
            assert headers.get("connection") == "close", headers
            assert closed_by_peer(sock, timeout=10)
            assert proxy.metric("response_total", status_code=str(status_expected)) == 1
            assert proxy.metric("response_total", status_code="502") == 0
        finally:
            sock.close()
            uploader.join(timeout=10)
            proxy.stop()
            server.close()


def _send(sock, data):
    sock.sendall(data)
    return sock


@test
def hop_by_hop_headers_are_not_forwarded():
    backend = Backend("a")
    proxy = passthrough_proxy(backend)
    try:
        status, headers, _ = request(proxy.outbound, "/echo", headers={
            "Connection": "X-Private", "X-Private": "1", "Keep-Alive": "timeout=5",
            "Proxy-Connection": "keep-alive", "TE": "trailers", "X-End-To-End": "2"})
        assert status == 200
        seen = headers["x-seen-headers"].split(",")
        assert "x-end-to-end" in seen
        for hop in ("x-private", "keep-alive", "proxy-connection", "te"):
            assert hop not in seen, (hop, seen)
    finally:
        proxy.stop()
        backend.close()


@test
def expect_100_continue():
    backend = Backend("a")
    proxy = passthrough_proxy(backend)
    try:
        sock = connect(proxy.outbound)
        sock.sendall(b"PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                     b"Content-Length: 11\r\n\r\n")
        status, _, _, rest = read_response(sock)
        assert status == 100, status  # the body is sent only after this
        assert rest == b""
        sock.sendall(b"hello world")
        status, headers, body, _ = read_response(sock)
        assert (status, body) == (200, b"hello world")
        sock.close()
    finally:
        proxy.stop()
        backend.close()


@test
def websocket_upgrade_is_tunneled():
    backend = Backend("a")
    proxy = passthrough_proxy(backend)
    try:
        sock = connect(proxy.outbound)
        sock.sendall(b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        status, headers, _, rest = read_response(sock)
        assert status == 101 and headers["upgrade"] == "websocket", (status, headers)
        assert rest == b""
        for message in (b"frame-one", b"\x81\x05hello", b"x" * 50000):
            sock.sendall(message)
            received = b""
            while len(received) < len(message):
                received += sock.recv(65536)
            assert received == message.upper()
        sock.close()
    finally:
        proxy.stop()
        backend.close()


@test
def smuggling_attempts_get_400_and_close():
    backend = Backend("a")
    proxy = passthrough_proxy(backend)
    attacks = [
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 30\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n",
    ]
    try:
        for attack in attacks:
            sock = connect(proxy.outbound)
            sock.sendall(attack)
            status, headers, _, _ = read_response(sock)
            assert status == 400, (attack, status)
            assert headers.get("connection") == "close"
            assert closed_by_peer(sock), attack
            sock.close()
        # Only the invalid-chunk-size request had a valid head: it reached the
        # backend, but its body was cut and nothing after it was read.
        assert not any(r[1] == "/smuggled" for r in backend.requests)
        assert proxy.metric("response_total", status_code="400") == len(attacks)
    finally:
        proxy.stop()
        backend.close()


@test
def opaque_tcp_after_detection_timeout():
    banner = BannerServer()
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{banner.port}",
                  "--detect-timeout", "200ms")
    try:
        sock = connect(proxy.outbound)
        started = time.monotonic()
        assert sock.recv(100) == b"220 banner\r\n"  # after the detect timeout
        assert time.monotonic() - started >= 0.15
        sock.sendall(b"\x00\x01binary")
        assert sock.recv(100) == b"echo:\x00\x01binary"
        sock.close()
        # A client speaking first with non-HTTP bytes is passed at once.
        sock = connect(proxy.outbound)
        sock.sendall(b"\x16\x03\x01hello")
        data = b""
        while len(data) < len(b"220 banner\r\necho:\x16\x03\x01hello"):
            data += sock.recv(100)
        assert data == b"220 banner\r\necho:\x16\x03\x01hello", data
        sock.close()
        assert proxy.metric("protocol_detect_total", protocol="opaque") == 2
    finally:
        proxy.stop()
        banner.close()


@test
def opaque_ports_skip_detection():
    banner = BannerServer()
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{banner.port}",
                  "--opaque-ports", str(banner.port), "--detect-timeout", "5s")
    try:
        sock = connect(proxy.outbound)
        started = time.monotonic()
        assert sock.recv(100) == b"220 banner\r\n"
        assert time.monotonic() - started < 2, "waited for detection"
        sock.close()
        assert proxy.metric("protocol_detect_total", protocol="opaque-port") == 1
    finally:
        proxy.stop()
        banner.close()


def routed_services(a, b, canary, algorithm="PeakEWMA", **extra):
    """web (SERVICE_IP:80) -> endpoints a, b; /api + x-canary: true -> web-canary."""
    rules = [
        {"route": "web-route", "routeRule": 0,
         "backends": [{"service": "web-canary", "port": 8080, "weight": 1}]},
        {"route": "web-route", "routeRule": 1,
         "backends": [{"service": "web", "port": 80, "weight": 1}], **extra},
    ]
    matches = [
        {"rule": 0, "path": {"type": "PathPrefix", "value": "/api"},
         "headers": [{"type": "Exact", "name": "x-canary", "value": "true"}]},
        {"rule": 1, "path": {"type": "PathPrefix", "value": "/"}},
    ]
    return [
        service("web", SERVICE_IP, 80, [("127.0.0.1", a.port), ("127.0.0.1", b.port)],
                rules=rules, matches=matches, loadBalancer={"algorithm": algorithm}),
        service("web-canary", "10.96.0.11", 8080, [("127.0.0.1", canary.port)]),
    ]


@test
def routing_rules_and_balancing():
    a, b, canary = Backend("a"), Backend("b"), Backend("canary")
    config = MountedConfig()
    config.write(document(routed_services(a, b, canary, algorithm="RoundRobin")))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        names = [request(proxy.outbound, "/shop")[2] for _ in range(60)]
        assert names.count(b"a") == 30 and names.count(b"b") == 30, names
        assert request(proxy.outbound, "/api/cart", headers={"X-Canary": "true"})[2] == b"canary"
        assert request(proxy.outbound, "/api/cart")[2] in (b"a", b"b")
        assert proxy.metric("request_total", target_service="web:80", route="web-route") == 62
        assert proxy.metric("response_total", target_service="web:80", status_code="200",
                            classification="success") == 62
        assert proxy.metric("response_latency_ms_count", target_service="web:80") == 62
        code, text, headers = proxy.admin("/config")
        assert code == 200 and '"web-route"' in text and headers["X-Weft-Config-Hash"]
    finally:
        proxy.stop()
        for backend in (a, b, canary):
            backend.close()
        config.close()


@test
def grpc_matches_take_grpc_calls_only():
    """A document's grpc match (a MeshRoute grpcMethod) holds for gRPC calls only.

    The router is the same for every codec; HTTP/1 is enough to show it.
    """
    a, canary = Backend("a"), Backend("canary")
    rules = [{"route": "cart", "routeRule": 0,
              "backends": [{"service": "web-canary", "port": 8080, "weight": 1}]},
             {"route": "cart", "routeRule": 1,
              "backends": [{"service": "web", "port": 80, "weight": 1}]}]
    matches = [{"rule": 0, "path": {"type": "PathPrefix", "value": "/shop.v1.Cart/"},
                "grpc": True},
               {"rule": 1, "path": {"type": "PathPrefix", "value": "/"}}]
    config = MountedConfig()
    config.write(document([
        service("web", SERVICE_IP, 80, [("127.0.0.1", a.port)], rules=rules, matches=matches),
        service("web-canary", "10.96.0.11", 8080, [("127.0.0.1", canary.port)])]))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        def backend(path, content_type=None):
            headers = {"Content-Type": content_type} if content_type else {}
            return request(proxy.outbound, path, method="POST", headers=headers, body=b"x")[2]
        assert backend("/shop.v1.Cart/AddItem", "application/grpc") == b"canary"
        assert backend("/shop.v1.Cart/AddItem", "application/grpc+proto") == b"canary"
        assert backend("/shop.v1.Cart/AddItem", "application/json") == b"a"
        assert backend("/shop.v1.Cart/AddItem") == b"a"
        assert backend("/shop.v1.Cart/AddItem/more", "application/grpc") == b"a"
        assert backend("/shop.v1.Orders/Get", "application/grpc") == b"a"
        code, text, _ = proxy.admin("/config")
        assert code == 200 and '"grpc":true' in text, text
    finally:
        proxy.stop()
        a.close()
        canary.close()
        config.close()


@test
def peak_ewma_prefers_the_faster_endpoint():
    fast, slow = Backend("fast"), Backend("slow")
    config = MountedConfig()
    config.write(document([service("web", SERVICE_IP, 80,
                                   [("127.0.0.1", fast.port), ("127.0.0.1", slow.port)])]))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        slow.server.delay = 0.2
        names = [request(proxy.outbound, "/")[2] for _ in range(40)]
        assert names.count(b"slow") <= 3, names
    finally:
        proxy.stop()
        fast.close()
        slow.close()
        config.close()


@test
def no_route_404_no_endpoint_503_refused_502():
    a = Backend("a")
    closed_port = free_port()
    services = [
        service("web", SERVICE_IP, 80, [("127.0.0.1", a.port)],
                rules=[{"route": "r", "routeRule": 0,
                        "backends": [{"service": "web", "port": 80, "weight": 1}]}],
                matches=[{"rule": 0, "path": {"type": "Exact", "value": "/only"}}]),
        service("empty", "10.96.0.12", 80, []),
        service("dead", "10.96.0.13", 80, [("127.0.0.1", closed_port)]),
    ]
    config = MountedConfig()
    config.write(document(services))
    proxies = {name: Proxy(config.path, "--outbound-fallback", f"{ip}:80")
               for name, ip in (("web", SERVICE_IP), ("empty", "10.96.0.12"),
                                ("dead", "10.96.0.13"))}
    try:
        assert request(proxies["web"].outbound, "/only")[0] == 200
        assert request(proxies["web"].outbound, "/other")[0] == 404
        assert request(proxies["empty"].outbound, "/")[0] == 503
        assert request(proxies["dead"].outbound, "/")[0] == 502
        assert proxies["dead"].metric("response_total", status_code="502",
                                      classification="failure") == 1
    finally:
        for proxy in proxies.values():
            proxy.stop()
        a.close()
        config.close()


@test
def timeouts_give_504():
    slow = Backend("slow")
    services = [service("web", SERVICE_IP, 80, [("127.0.0.1", slow.port)],
                        rules=[{"route": "r", "routeRule": 0,
                                "backends": [{"service": "web", "port": 80, "weight": 1}],
                                "timeouts": {"requestMs": 300}}],
                        matches=[{"rule": 0, "path": {"type": "PathPrefix", "value": "/"}}])]
    config = MountedConfig()
    config.write(document(services))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        started = time.monotonic()
        status, _, _ = request(proxy.outbound, "/slow?ms=3000")
        elapsed = time.monotonic() - started
        assert status == 504, status
        assert elapsed < 2.5, elapsed
        assert request(proxy.outbound, "/slow?ms=10")[0] == 200
    finally:
        proxy.stop()
        slow.close()
        config.close()


class FullBacklogServer:
    """A listening socket whose accept queue is full and never drained: a
    connect to it hangs (the kernel drops the SYN) until the client gives up."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _ in range(4):  # more than a backlog of 0 admits
            filler = socket.socket()
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(filler)
        time.sleep(0.2)  # let the handshakes that can complete complete

    def close(self):
        for filler in self.fillers:
            filler.close()
        self.listener.close()


def deadline_services(endpoint_port, retry=None):
    rule = {"route": "r", "routeRule": 0,
            "backends": [{"service": "web", "port": 80, "weight": 1}],
            "timeouts": {"requestMs": 300}}
    if retry:
        rule["retry"] = retry
    return [service("web", SERVICE_IP, 80, [("127.0.0.1", endpoint_port)], rules=[rule],
                    matches=[{"rule": 0, "path": {"type": "PathPrefix", "value": "/"}}])]


@test
def the_request_deadline_bounds_backoff_and_connect():
    """timeouts.request covers the retry backoff and the connect phase: with a
    backoff of a minute after each 503, or an endpoint whose connect hangs
    longer than the deadline, the client gets 504 at the deadline, not after
    the backoff or the connect timeout."""
    backend = Backend("a")
    backend.fail_next(-1)  # always 503
    hanging = FullBacklogServer()
    retry = {"attempts": 3, "codes": [503], "conditions": [], "backoffMs": 60000,
             "budget": {"percent": 100, "minRetriesPerSecond": 100, "intervalMs": 10000}}
    configs = {"backoff": MountedConfig(), "connect": MountedConfig()}
    configs["backoff"].write(document(deadline_services(backend.port, retry)))
    configs["connect"].write(document(deadline_services(hanging.port)))
    proxies = {name: Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80",
                           "--connect-timeout", "5s")
               for name, config in configs.items()}
    try:
        for name, proxy in proxies.items():
            started = time.monotonic()
            status, _, _ = request(proxy.outbound, "/status/503")
            elapsed = time.monotonic() - started
            assert status == 504, (name, status)
            assert 0.25 < elapsed < 1.5, (name, elapsed)
            assert proxy.metric("response_total", status_code="504") == 1, name
    finally:
        for proxy in proxies.values():
            proxy.stop()
        for config in configs.values():
            config.close()
        backend.close()
        hanging.close()


def retry_services(backend, budget=None, **retry):
    policy = {"attempts": 2, "codes": [503], "conditions": ["ConnectFailure"], "backoffMs": 5,
              "budget": budget or {"percent": 20, "minRetriesPerSecond": 10, "intervalMs": 10000}}
    policy.update(retry)
    return [service("web", SERVICE_IP, 80, [("127.0.0.1", backend.port)],
                    rules=[{"route": "r", "routeRule": 0,
                            "backends": [{"service": "web", "port": 80, "weight": 1}],
                            "retry": policy}],
                    matches=[{"rule": 0, "path": {"type": "PathPrefix", "value": "/"}}])]


@test
def retries_on_configured_codes_within_budget():
    backend = Backend("a")
    config = MountedConfig()
    config.write(document(retry_services(backend)))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        backend.fail_next(2)
        assert request(proxy.outbound, "/status/503")[0] == 200  # third try succeeds
        assert proxy.metric("retry_total", route="r") == 2
        backend.fail_next(3)  # more failures than attempts: the last 503 is returned
        assert request(proxy.outbound, "/status/503")[0] == 503
        backend.fail_next(1)  # a POST body (small) is replayed
        status, _, body = request(proxy.outbound, "/status/503", method="POST", body=b"x" * 1000)
        assert (status, body) == (200, b"a")
        posts = [r for r in backend.requests if r[0] == "POST"]
        assert len(posts) == 2
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def a_replayed_body_is_never_sent_again():
    # A small body on a retry route is kept to replay it; the next request
    # of the connection must not carry it (here it would be a second,
    # smuggled request to the backend).
    backend = Backend("a")
    config = MountedConfig()
    config.write(document(retry_services(backend)))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        sock = connect(proxy.outbound)
        smuggled = b"GET /smuggled HTTP/1.1\r\nHost: evil\r\n\r\n"
        status, _, body = request(proxy.outbound, "/echo", method="POST", body=smuggled, sock=sock)
        assert (status, body) == (200, smuggled)
        assert request(proxy.outbound, "/after", sock=sock)[0] == 200
        # Same upstream connection, in order: a smuggled request would be seen before this one.
        assert request(proxy.outbound, "/last", sock=sock)[0] == 200
        paths = [r[1] for r in backend.requests]
        assert paths == ["/echo", "/after", "/last"], paths
        sock.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def per_try_timeout_is_retried_on_another_endpoint():
    slow, fast = Backend("slow"), Backend("fast")
    slow.server.delay = 3.0
    services = [service("web", SERVICE_IP, 80, [("127.0.0.1", slow.port), ("127.0.0.1", fast.port)],
                        loadBalancer={"algorithm": "RoundRobin"},
                        rules=[{"route": "r", "routeRule": 0,
                                "backends": [{"service": "web", "port": 80, "weight": 1}],
                                "timeouts": {"requestMs": 5000, "backendRequestMs": 300},
                                "retry": {"attempts": 1, "conditions": ["Timeout"], "codes": [],
                                          "backoffMs": 0,
                                          "budget": {"percent": 20, "minRetriesPerSecond": 10,
                                                     "intervalMs": 10000}}}],
                        matches=[{"rule": 0, "path": {"type": "PathPrefix", "value": "/"}}])]
    config = MountedConfig()
    config.write(document(services))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        # Round robin: of two requests, at least one tries the slow endpoint
        # first, times out after 300ms and is retried on the fast one.
        for _ in range(2):
            started = time.monotonic()
            status, _, body = request(proxy.outbound, "/")
            assert (status, body) == (200, b"fast"), (status, body)
            assert time.monotonic() - started < 2.5
        assert proxy.metric("retry_total", route="r") >= 1
    finally:
        proxy.stop()
        slow.close()
        fast.close()
        config.close()


@test
def large_bodies_are_never_retried():
    backend = Backend("a")
    config = MountedConfig()
    config.write(document(retry_services(backend)))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        backend.fail_next(1)
        status, _, _ = request(proxy.outbound, "/status/503", method="POST",
                               body=b"x" * (64 * 1024 + 1))
        assert status == 503
        assert len(backend.requests) == 1
        assert proxy.metric("retry_total") == 0
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def retry_budget_exhaustion_is_counted():
    backend = Backend("a")
    config = MountedConfig()
    # 0 % and 1 retry/s over 1s: one retry in the window, then the budget is spent.
    config.write(document(retry_services(
        backend, budget={"percent": 0, "minRetriesPerSecond": 1, "intervalMs": 1000})))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        backend.fail_next(-1)  # fail every request from now on
        for _ in range(4):
            assert request(proxy.outbound, "/status/503")[0] == 503
        # The first request retried once, then found the budget spent for its
        # second retry; the next three were refused their first retry.
        assert proxy.metric("retry_total") == 1, proxy.metric("retry_total")
        assert proxy.metric("retry_budget_exhausted_total") == 4
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def failure_accrual_ejects_a_failing_endpoint():
    good, bad = Backend("good"), Backend("bad")
    bad.fail_next(-1)
    services = [service("web", SERVICE_IP, 80,
                        [("127.0.0.1", good.port), ("127.0.0.1", bad.port)],
                        loadBalancer={"algorithm": "RoundRobin"},
                        circuitBreaker={"consecutiveFailures": 2, "ejectionTimeMs": 60000,
                                        "maxEjectionTimeMs": 60000})]
    config = MountedConfig()
    config.write(document(services))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        statuses = [request(proxy.outbound, "/status/500")[0] for _ in range(20)]
        # Round robin: the bad endpoint fails twice, then is ejected for a minute.
        assert statuses.count(500) == 2, statuses
        assert len(bad.requests) == 2
    finally:
        proxy.stop()
        good.close()
        bad.close()
        config.close()


@test
def config_follows_the_kubelet_symlink_swap():
    a, b = Backend("a"), Backend("b")
    config = MountedConfig()
    config.write(document([service("web", SERVICE_IP, 80, [("127.0.0.1", a.port)])]))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        sock = connect(proxy.outbound)  # a keep-alive connection spanning the reload
        assert request(proxy.outbound, "/", sock=sock)[2] == b"a"
        config.write(document([service("web", SERVICE_IP, 80, [("127.0.0.1", b.port)])]))
        wait_until(lambda: request(proxy.outbound, "/")[2] == b"b", what="the new endpoint")
        assert request(proxy.outbound, "/", sock=sock)[2] == b"b"  # not dropped, re-routed
        assert proxy.metric("config_reload_total", source="file", result="accepted") == 2
        # An invalid document is refused, counted and logged; b keeps serving.
        config.write('{"version": 1, "namespace": "test", "hash": "sha256:00"}')
        wait_until(lambda: proxy.metric("config_reload_total", source="file",
                                        result="refused") == 1, what="the refusal")
        assert request(proxy.outbound, "/", sock=sock)[2] == b"b"
        assert "configuration refused" in proxy.output()
        sock.close()
    finally:
        proxy.stop()
        a.close()
        b.close()
        config.close()


@test
def config_appearing_later_applies():
    a = Backend("a")
    fallback_target = Backend("direct")
    config = MountedConfig()
    proxy = Proxy(config.path, "--outbound-fallback", f"127.0.0.1:{fallback_target.port}")
    try:
        assert request(proxy.outbound, "/")[2] == b"direct"  # pass-through
        config.write(document([service("web", "127.0.0.1", fallback_target.port,
                                        [("127.0.0.1", a.port)])]))
        wait_until(lambda: request(proxy.outbound, "/")[2] == b"a", what="the document")
    finally:
        proxy.stop()
        a.close()
        fallback_target.close()
        config.close()


@test
def malformed_config_at_start_exits():
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write('{"version": 1, "namespace": ')
    port = free_port()
    result = subprocess.run([os.environ["WEFT_PROXY_BINARY"], "--config", f.name,
                             "--listen-address", "127.0.0.1", "--outbound-port", str(port),
                             "--kube-watch", "off"], capture_output=True, text=True, timeout=20)
    os.unlink(f.name)
    assert result.returncode == 3, result
    assert "invalid configuration" in result.stderr and f.name in result.stderr, result.stderr
    with socket.socket() as s:  # nothing was bound
        s.bind(("127.0.0.1", port))
    bad_flag = subprocess.run([os.environ["WEFT_PROXY_BINARY"], "--workers", "zero"],
                              capture_output=True, text=True, timeout=20)
    assert bad_flag.returncode == 2 and "--workers" in bad_flag.stderr, bad_flag


@test
def slow_heads_get_408_and_idle_connections_close():
    backend = Backend("a")
    proxy = passthrough_proxy(backend, "--header-timeout", "300ms", "--idle-timeout", "600ms")
    try:
        sock = connect(proxy.outbound)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n")  # the head never ends
        started = time.monotonic()
        status, headers, _, _ = read_response(sock)
        assert status == 408 and headers["connection"] == "close", status
        assert 0.2 < time.monotonic() - started < 3
        assert closed_by_peer(sock)
        sock.close()
        # A keep-alive connection: requests keep it open, idleness closes it.
        sock = connect(proxy.outbound)
        for _ in range(3):
            time.sleep(0.3)  # each pause is shorter than the idle timeout
            assert request(proxy.outbound, "/", sock=sock)[0] == 200
        last_request = time.monotonic()
        assert closed_by_peer(sock, timeout=5)
        assert 0.4 < time.monotonic() - last_request < 3
        sock.close()
    finally:
        proxy.stop()
        backend.close()


@test
def admin_port_is_read_only():
    backend = Backend("a")
    proxy = passthrough_proxy(backend)
    try:
        assert proxy.admin("/live")[0] == 200
        assert proxy.admin("/ready")[0] == 200
        for method in ("POST", "PUT", "DELETE"):
            assert proxy.admin("/ready", method=method)[0] == 405
        assert proxy.admin("/quitquitquit", method="POST")[0] == 405
        assert proxy.admin("/shutdown")[0] == 404
        code, text, headers = proxy.admin("/metrics")
        assert code == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert proxy.process.poll() is None
    finally:
        proxy.stop()
        backend.close()


@test
def graceful_shutdown_finishes_requests_in_flight():
    backend = Backend("a")
    proxy = passthrough_proxy(backend, "--shutdown-grace", "10s")
    try:
        results = {}

        def slow_request():
            results["slow"] = request(proxy.outbound, "/slow?ms=1500")

        idle = connect(proxy.outbound)  # a keep-alive connection with nothing in flight
        assert request(proxy.outbound, "/", sock=idle)[0] == 200
        thread = threading.Thread(target=slow_request)
        thread.start()
        wait_until(lambda: any(r[1].startswith("/slow") for r in backend.requests),
                   what="the slow request to arrive")
        started = time.monotonic()
        proxy.process.send_signal(signal.SIGTERM)
        assert closed_by_peer(idle, timeout=5)  # idle connections are closed at once
        wait_until(lambda: proxy.admin_down_or_not_ready(), what="not ready")
        thread.join(timeout=10)
        assert results["slow"][0] == 200  # the request in flight finished
        assert proxy.process.wait(timeout=10) == 0
        assert time.monotonic() - started < 9  # exited when the work was done
        try:
            connect(proxy.outbound, timeout=2).close()
            raise AssertionError("still accepting after SIGTERM")
        except OSError:
            pass
    finally:
        proxy.stop()
        backend.close()


@test
def shutdown_cuts_what_the_grace_period_left_open():
    """Connections still open when --shutdown-grace ends are cut, and the proxy
    exits 0 at once: a request whose backend never answers in time, one whose
    body is still streaming, an opaque tunnel, a head half sent, and an idle
    keep-alive connection. Their coroutines are destroyed suspended, while the
    worker state they use still exists: with weft-proxy built with ASan (this
    test under build-asan), a use after free there fails the test."""
    backend = Backend("a")
    proxy = passthrough_proxy(backend, "--shutdown-grace", "300ms", "--detect-timeout", "100ms")
    clients = []
    try:
        idle = connect(proxy.outbound)
        assert request(proxy.outbound, "/", sock=idle)[0] == 200
        in_flight = connect(proxy.outbound)
        in_flight.sendall(b"GET /slow?ms=20000 HTTP/1.1\r\nHost: t\r\n\r\n")
        streaming = connect(proxy.outbound)
        streaming.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"
                          b"the first bytes of the body")
        tunneled = connect(proxy.outbound)  # says nothing: TCP after the detect timeout
        half_head = connect(proxy.outbound)
        half_head.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n")
        clients = [idle, in_flight, streaming, tunneled, half_head]
        wait_until(lambda: {"/slow?ms=20000", "/echo"} <= {r[1] for r in backend.requests},
                   what="the two requests in flight to reach the backend")
        wait_until(lambda: proxy.metric("protocol_detect_total", protocol="opaque") >= 1,
                   what="the tunnel to start")
        time.sleep(0.1)  # (the tunnel's connect to the backend)
        started = time.monotonic()
        proxy.process.send_signal(signal.SIGTERM)
        assert proxy.stop(timeout=10) == 0, proxy.problem
        assert time.monotonic() - started < 3, "not stopped when the grace period ended"
        stopped = [json.loads(line) for line in proxy.final_output.splitlines()
                   if '"stopped"' in line]
        assert [event["connections_cut"] for event in stopped] == [4], proxy.final_output
        for client in clients:
            assert closed_by_peer(client)
    finally:
        proxy.stop()
        for client in clients:
            client.close()
        backend.close()


@test
def wait_ready_returns_once_the_proxy_is_ready():
    """The classic-sidecar postStart hook: `weft-proxy wait-ready` as the
    webhook injects it (no flags; the admin port from WEFT_PROXY_ADMIN_PORT)."""
    port = free_port()
    env = {**os.environ, "WEFT_PROXY_ADMIN_PORT": str(port)}
    # Started before the proxy: it keeps polling.
    waiting = subprocess.Popen([PROXY_BINARY, "wait-ready"], env=env, stderr=subprocess.PIPE)
    time.sleep(0.5)
    assert waiting.poll() is None, "wait-ready returned before the proxy was up"
    proxy = Proxy("/nonexistent/config.json", "--admin-port", str(port))
    try:
        assert waiting.wait(timeout=10) == 0
        # Ready already: at once.
        started = time.monotonic()
        assert subprocess.run([PROXY_BINARY, "wait-ready", "--admin-port", str(port)],
                              timeout=10).returncode == 0
        assert time.monotonic() - started < 2
    finally:
        proxy.stop()
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    # Nothing listening: exit 1 after the timeout, saying why.
    started = time.monotonic()
    failed = subprocess.run([PROXY_BINARY, "wait-ready", "--timeout", "1s"], env=env,
                            capture_output=True, text=True, timeout=10)
    assert failed.returncode == 1, failed
    assert "did not answer 200" in failed.stderr
    assert 0.9 < time.monotonic() - started < 5
    # A bad flag is a usage error.
    bad = subprocess.run([PROXY_BINARY, "wait-ready", "--timeout", "soon"],
                         capture_output=True, text=True, timeout=10)
    assert bad.returncode == 2 and "--timeout" in bad.stderr, bad


def _admin_down_or_not_ready(self):
    try:
        return self.admin("/ready")[0] == 503
    except OSError:
        return True


Proxy.admin_down_or_not_ready = _admin_down_or_not_ready


def main():
    run_main(TESTS, "proxy.", __doc__)


if __name__ == "__main__":
    main()
