#!/usr/bin/env python3
"""weft-proxy as an HTTP/2 proxy: h2c (prior knowledge) in and out, real
clients (python3-h2, curl, nghttp2's h2load) and python3-h2 backends.

Usage: http2_test.py --list | <test name>   (WEFT_PROXY_BINARY: the binary)"""

import os
import signal
import shutil
import subprocess
import threading
import time

from harness import (run_main, Backend, MountedConfig, Proxy, document, request, service,
                     wait_until)
from h2_peers import H2Backend, H2Client

SERVICE_IP = "10.96.0.10"  # only a lookup key: the fallback destination names it

TESTS = {}


def test(function):
    TESTS[function.__name__] = function
    return function


def web(backends, algorithm="PeakEWMA", rules=None, matches=None, **port_fields):
    return service("web", SERVICE_IP, 80, [("127.0.0.1", b.port) for b in backends],
                   rules=rules, matches=matches, loadBalancer={"algorithm": algorithm},
                   **port_fields)


def routed(backends, **rule_fields):
    """web:80 with one route for every path, and the rule's extra fields."""
    rules = [{"route": "r", "routeRule": 0,
              "backends": [{"service": "web", "port": 80, "weight": 1}], **rule_fields}]
    matches = [{"rule": 0, "path": {"type": "PathPrefix", "value": "/"}}]
    return web(backends, rules=rules, matches=matches)


def start(services, *flags):
    config = MountedConfig()
    config.write(document(services))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80", *flags)
    return config, proxy


@test
def balances_each_request_of_one_connection():
    backends = [H2Backend(n) for n in ("a", "b", "c")]
    config, proxy = start([web(backends, algorithm="RoundRobin")])
    try:
        client = H2Client(proxy.outbound)
        # Concurrent streams on the one connection, in batches of 30.
        names = []
        for _ in range(10):
            ids = [client.start("/") for _ in range(30)]
            for stream_id in ids:
                response = client.wait(stream_id)
                assert response.status == 200, response.headers
                names.append(response.headers["x-backend"])
        client.close()
        counts = {n: names.count(n) for n in ("a", "b", "c")}
        assert all(90 <= c <= 110 for c in counts.values()), counts
        # One connection from the proxy to each backend carried them all.
        assert all(b.connections == 1 for b in backends), [b.connections for b in backends]
        assert proxy.metric("protocol_detect_total", direction="outbound", protocol="http2") == 1
        assert proxy.metric("request_total", direction="outbound", target_service="web:80") == 300
        assert proxy.metric("response_total", target_service="web:80", status_code="200",
                            classification="success") == 300
        # Peak-EWMA (the default) spreads concurrent streams too: each
        # stream in flight counts against its endpoint.
        config.write(document([web(backends)]))
        time.sleep(1.5)
        client = H2Client(proxy.outbound)
        names = []
        for _ in range(10):
            ids = [client.start("/slow?ms=20") for _ in range(30)]
            names += [client.wait(i).headers["x-backend"] for i in ids]
        client.close()
        assert all(names.count(n) >= 60 for n in ("a", "b", "c")), \
            {n: names.count(n) for n in ("a", "b", "c")}
    finally:
        proxy.stop()
        for backend in backends:
            backend.close()
        config.close()


@test
def a_full_or_closing_upstream_connection_gets_a_new_one():
    backend = H2Backend("a", max_streams=2)
    config, proxy = start([web([backend])])
    try:
        client = H2Client(proxy.outbound)
        assert client.get("/").status == 200  # the backend's SETTINGS are known from here
        # Six at once, two per connection: three connections.
        ids = [client.start("/slow?ms=300") for _ in range(6)]
        assert all(client.wait(i).status == 200 for i in ids)
        assert backend.connections == 3, backend.connections
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()
    # A GOAWAY from the backend: the next request goes on a new connection.
    backend = H2Backend("b")
    config, proxy = start([web([backend])])
    try:
        client = H2Client(proxy.outbound)
        assert client.get("/").status == 200
        assert client.get("/goaway").status == 200
        for _ in range(5):
            assert client.get("/").status == 200
        assert backend.connections == 2, backend.connections
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def an_upstream_that_breaks_mid_request_is_a_502():
    backend = H2Backend("a")
    config, proxy = start([web([backend])])
    try:
        client = H2Client(proxy.outbound)
        stream_id = client.start("/hang")
        wait_until(lambda: "/hang" in backend.paths(), what="the request to reach the backend")
        backend.close()
        backend.drop_connections()
        response = client.wait(stream_id, timeout=10)
        assert response.status == 502, response.headers
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def real_clients_curl_and_h2load():
    backends = [H2Backend(n) for n in ("a", "b")]
    config, proxy = start([web(backends, algorithm="RoundRobin")])
    try:
        out = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-D", "-",
                              f"http://127.0.0.1:{proxy.outbound}/"],
                             capture_output=True, timeout=20, check=True).stdout
        assert out.startswith(b"HTTP/2 200"), out
        if shutil.which("h2load"):
            out = subprocess.run(["h2load", "-n", "2000", "-c", "2", "-m", "50",
                                  f"http://127.0.0.1:{proxy.outbound}/"],
                                 capture_output=True, timeout=60, check=True).stdout.decode()
            assert "2000 succeeded" in out, out
            assert "2000 2xx" in out, out
        # HTTP/1 on the same listener keeps working, to the same backends? No:
        # they speak only HTTP/2; an HTTP/1 backend is another Service.
    finally:
        proxy.stop()
        for backend in backends:
            backend.close()
        config.close()


@test
def bodies_stream_both_ways_with_trailers():
    backend = H2Backend("a")
    config, proxy = start([web([backend])])
    try:
        client = H2Client(proxy.outbound)
        body = os.urandom(3 * 1024 * 1024 + 17)  # many windows' worth
        stream_id = client.start("/echo", method="POST", body=body,
                                 trailers=[("x-client-trailer", "t1")])
        response = client.wait(stream_id, timeout=30)
        assert response.status == 200
        assert bytes(response.body) == body
        assert response.trailers == {"x-echo-trailer": "yes"}, response.trailers
        assert response.headers["x-request-trailers"] == "x-client-trailer=t1"
        # A large response only: streamed through the proxy's windows.
        response = client.get("/big?n=5000000", timeout=30)
        assert len(response.body) == 5000000
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def a_slow_reader_stalls_only_its_own_stream():
    backend = H2Backend("a")
    config, proxy = start([web([backend])], "--body-idle-timeout", "2s")
    try:
        client = H2Client(proxy.outbound)
        stalled = client.start("/big?n=4000000")
        client.held.add(stalled)
        # The other streams of the connection go on while that one waits.
        for _ in range(3):
            response = client.get("/big?n=1000000", timeout=20)
            assert len(response.body) == 1000000
        stuck = client.responses[stalled]
        assert not stuck.done and len(stuck.body) <= 65535, len(stuck.body)
        # Its window never opens: the proxy resets it after the stall limit.
        response = client.wait(stalled, timeout=10)
        assert response.reset is not None, "the stalled stream was not reset"
        assert proxy.metric("http2_stream_reset_total", limit="stalled_stream") == 1
        assert client.get("/").status == 200
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def local_answers_are_grpc_statuses_for_grpc():
    backend = H2Backend("a")
    only = {"rule": 0, "path": {"type": "Exact", "value": "/only"}}
    rules = [{"route": "r", "routeRule": 0,
              "backends": [{"service": "web", "port": 80, "weight": 1}]}]
    services = [web([backend], rules=rules, matches=[only]),
                service("empty", "10.96.0.12", 80, [])]
    config = MountedConfig()
    config.write(document(services))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    proxy_empty = Proxy(config.path, "--outbound-fallback", "10.96.0.12:80")
    grpc = [("content-type", "application/grpc"), ("te", "trailers")]
    try:
        client = H2Client(proxy.outbound)
        response = client.get("/missing")
        assert response.status == 404, response.headers
        response = client.get("/missing", method="POST", headers=grpc, body=b"")
        assert response.status == 200 and response.ended, response.headers
        assert response.headers["grpc-status"] == "12", response.headers  # UNIMPLEMENTED
        assert response.headers["grpc-message"], response.headers
        response = client.get("/only", method="POST", headers=grpc, body=b"\0\0\0\0\0")
        assert response.status == 200 and response.headers["x-backend"] == "a"
        client.close()
        client = H2Client(proxy_empty.outbound)
        assert client.get("/").status == 503
        response = client.get("/", method="POST", headers=grpc, body=b"")
        assert response.headers["grpc-status"] == "14", response.headers  # UNAVAILABLE
        client.close()
        # A backend's trailers-only answer passes through as it is.
        client = H2Client(proxy.outbound)
        config.write(document([web([backend])]))
        time.sleep(1.5)
        response = client.get("/grpc-fail", method="POST", headers=grpc, body=b"")
        assert response.status == 200 and response.headers["grpc-status"] == "14"
        response = client.get("/grpc-ok", method="POST", headers=grpc, body=b"")
        assert response.trailers == {"grpc-status": "0"}, response.trailers
        client.close()
        # gRPC-aware metrics: the status each response carried, classified.
        for proxy_, status, classification, count in (
                (proxy, "12", "failure", 1), (proxy, "14", "failure", 1),
                (proxy, "0", "success", 1), (proxy_empty, "14", "failure", 1),
                # /only's answer (the backend's plain one) ended without a status.
                (proxy, "", "failure", 1)):
            wait_until(lambda: proxy_.metric("grpc_response_total", grpc_status=status,
                                             classification=classification) == count,
                       what=f"grpc_response_total{{grpc_status={status}}} == {count}")
    finally:
        proxy.stop()
        proxy_empty.stop()
        backend.close()
        config.close()


@test
def a_response_ending_after_its_head_outlives_its_handler():
    """The handler of a request ends once the response's head is relayed; the
    upstream stream carries on (body, trailers, close) and must not wake the
    finished try (a use after free that crashed weft-proxy under gRPC load;
    under ASan it is reported on the first such stream)."""
    backend = H2Backend("a")
    config, proxy = start([web([backend])])
    grpc = [("content-type", "application/grpc"), ("te", "trailers")]
    try:
        client = H2Client(proxy.outbound)
        for _ in range(5):
            ids = [client.start("/grpc-late?ms=30", method="POST", headers=grpc, body=b"\0" * 5)
                   for _ in range(20)]
            for stream_id in ids:
                response = client.wait(stream_id)
                assert response.status == 200, response.headers
                assert bytes(response.body) == b"\0\0\0\0\2hi", response.body
                assert response.trailers == {"grpc-status": "0"}, response.trailers
        client.close()
        assert proxy.process.poll() is None, proxy.output()[-4000:]
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def grpc_timeout_gives_deadline_exceeded():
    backend = H2Backend("a")
    config, proxy = start([web([backend])])
    grpc = [("content-type", "application/grpc"), ("te", "trailers")]
    try:
        client = H2Client(proxy.outbound)
        started = time.monotonic()
        response = client.get("/hang", method="POST", headers=grpc + [("grpc-timeout", "300m")],
                              body=b"")
        took = time.monotonic() - started
        assert response.status == 200, response.headers
        assert response.headers["grpc-status"] == "4", response.headers  # DEADLINE_EXCEEDED
        assert 0.25 <= took < 3, took
        # Not gRPC: the same wait is the route's business (here none: it is answered).
        assert client.get("/slow?ms=400").status == 200
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def a_silent_request_body_resets_its_stream():
    backend = H2Backend("a")
    config, proxy = start([web([backend])], "--body-idle-timeout", "2s")
    try:
        client = H2Client(proxy.outbound)
        stream_id = client.start("/echo", method="POST", body=b"part", end=False)
        response = client.wait(stream_id, timeout=10)
        assert response.reset is not None, response.headers
        assert proxy.metric("limit_reached_total", limit="body_idle_timeout") == 1
        assert proxy.metric("http2_stream_reset_total", limit="body_idle_timeout") == 1
        assert client.get("/").status == 200  # the connection goes on
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def inbound_h2c_to_the_app():
    app = H2Backend("app")
    config = MountedConfig()
    config.write(document([]))
    proxy = Proxy(config.path, "--inbound-fallback", f"127.0.0.1:{app.port}")
    try:
        client = H2Client(proxy.inbound)
        for _ in range(20):
            assert client.get("/").headers["x-backend"] == "app"
        response = client.get("/echo", method="POST", body=b"hello" * 1000)
        assert bytes(response.body) == b"hello" * 1000
        client.close()
        assert app.connections == 1
        assert proxy.metric("protocol_detect_total", direction="inbound", protocol="http2") == 1
        assert proxy.metric("request_total", direction="inbound") == 21
    finally:
        proxy.stop()
        app.close()
        config.close()


@test
def retries_replay_kept_bodies_on_a_new_stream():
    backend = H2Backend("a")
    retry = {"attempts": 2, "codes": [503], "conditions": [], "backoffMs": 5,
             "budget": {"percent": 100, "minRetriesPerSecond": 100, "intervalMs": 10000}}
    config, proxy = start([routed([backend], retry=retry)])
    try:
        client = H2Client(proxy.outbound)
        # A known length: kept whole, so that a try can be sent again.
        response = client.get("/status?code=503", method="POST",
                              headers=[("content-length", "5")], body=b"again")
        assert response.status == 503
        posts = [r for r in backend.requests if r[0].startswith("/status")]
        assert len(posts) == 3 and all(r[2] == b"again" for r in posts), posts
        assert proxy.metric("retry_total", target_service="web:80") == 2
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def grpc_calls_without_a_length_are_retried_from_a_copy():
    """A gRPC call has no content-length: its body streams on the first try,
    copied as it goes, and a retry on a listed grpc-status sends the copy."""
    backend = H2Backend("a")
    retry = {"attempts": 2, "codes": [], "conditions": [], "backoffMs": 5, "grpcCodes": [14],
             "budget": {"percent": 100, "minRetriesPerSecond": 100, "intervalMs": 10000}}
    config, proxy = start([routed([backend], retry=retry)])
    grpc = [("content-type", "application/grpc"), ("te", "trailers")]
    message = b"\0\0\0\0\x05hello"
    try:
        client = H2Client(proxy.outbound)
        response = client.get("/grpc-fail", method="POST", headers=grpc, body=message)
        assert response.status == 200 and response.headers["grpc-status"] == "14", response.headers
        tries = [r for r in backend.requests if r[0].startswith("/grpc-fail")]
        assert len(tries) == 3 and all(r[2] == message for r in tries), tries
        assert proxy.metric("retry_total", target_service="web:80") == 2
        # A call the backend answers is sent once, its answer relayed whole.
        response = client.get("/grpc-ok", method="POST", headers=grpc, body=message)
        assert response.trailers == {"grpc-status": "0"}, response.trailers
        assert len([r for r in backend.requests if r[0].startswith("/grpc-ok")]) == 1
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def grpc_failures_in_a_200_eject_their_endpoint():
    """gRPC failures travel in a 200 (trailers-only UNAVAILABLE): the
    balancer counts them as failures, so the circuit breaker ejects the
    endpoint that gives them, as it would one answering 503."""
    backends = [H2Backend(n) for n in ("a", "b")]
    breaker = {"consecutiveFailures": 3, "ejectionTimeMs": 60000, "maxEjectionTimeMs": 60000}
    config, proxy = start([web(backends, algorithm="RoundRobin", circuitBreaker=breaker)])
    grpc = [("content-type", "application/grpc"), ("te", "trailers")]
    message = b"\0\0\0\0\5hello"
    try:
        client = H2Client(proxy.outbound)
        statuses = []
        for _ in range(40):
            response = client.get("/grpc-fail-on?backend=a", method="POST", headers=grpc,
                                  body=message)
            assert response.status == 200, response.headers
            statuses.append(response.headers.get("grpc-status") or
                            (response.trailers or {}).get("grpc-status"))
        # Round robin sends every other call to a until its third failure in
        # a row ejects it (its successes in between are b's, not its own).
        assert statuses.count("14") == 3, statuses
        assert statuses[-20:] == ["0"] * 20, statuses
        assert len([p for p in backends[0].paths() if p.startswith("/grpc-fail-on")]) == 3
        client.close()
    finally:
        proxy.stop()
        for backend in backends:
            backend.close()
        config.close()


@test
def goaway_on_drain_finishes_streams_in_flight():
    """nghttp as the client: python3-h2 takes any GOAWAY as the connection's end."""
    backend = H2Backend("a")
    config, proxy = start([web([backend])])
    stopper = None
    try:
        client = subprocess.Popen(["nghttp", "-v", f"http://127.0.0.1:{proxy.outbound}/slow?ms=2500"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_until(lambda: backend.paths(), what="the request to reach the backend")
        stopper = threading.Thread(target=proxy.stop)
        stopper.start()
        out = client.communicate(timeout=30)[0].decode()
        assert client.returncode == 0, out
        assert "recv (stream_id=13) :status: 200" in out, out
        assert "recv GOAWAY frame" in out and "error_code=NO_ERROR" in out, out
        assert "END_STREAM" in out.split("recv GOAWAY frame", 1)[1], out  # the stream ended after
        stopper.join()
        assert proxy.returncode == 0
        assert "connections_cut\":0" in proxy.final_output, proxy.final_output[-500:]
    finally:
        if stopper is not None:
            stopper.join()
        proxy.stop()
        backend.close()
        config.close()


@test
def idle_connection_gets_goaway():
    backend = H2Backend("a")
    config, proxy = start([web([backend])], "--idle-timeout", "1s")
    try:
        client = H2Client(proxy.outbound)
        assert client.get("/").status == 200
        client.pump(lambda: client.goaway is not None or client.closed, timeout=10)
        assert client.goaway is not None
        assert proxy.metric("http2_goaway_sent_total", reason="idle") == 1
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def smuggling_header_blocks_are_refused():
    backend = H2Backend("a")
    config, proxy = start([web([backend])])
    attacks = {
        "connection": [("connection", "keep-alive")],
        "transfer-encoding": [("transfer-encoding", "chunked")],
        "keep-alive": [("keep-alive", "timeout=5")],
        "upgrade": [("upgrade", "websocket")],
        "te gzip": [("te", "gzip")],
        "uppercase name": [("X-Upper", "1")],
        "CR LF in value": [("x-a", "1\r\nx-b: 2")],
        "NUL in value": [("x-a", "1\x002")],
        "pseudo-header after a field": [("x-a", "1"), (":path", "/admin")],
        "unknown pseudo-header": [(":x", "1")],
    }
    try:
        for name, headers in attacks.items():
            client = H2Client(proxy.outbound, checked=False)
            response = client.wait(client.start("/smuggled", headers=headers), timeout=10)
            assert response.reset is not None or (response.status or 0) >= 400, (name, response.headers)
            client.close()
        # A body longer than its content-length.
        client = H2Client(proxy.outbound, checked=False)
        stream_id = client.start("/smuggled", method="POST", headers=[("content-length", "3")],
                                 body=b"abcdef")
        response = client.wait(stream_id)
        assert response.reset is not None or (response.status or 0) >= 400, response.headers
        client.close()
        time.sleep(0.3)
        assert not any(p.startswith("/smuggled") and b for p, _, b, _ in backend.requests if b)
        assert [r for r in backend.requests if r[0] == "/admin"] == []
        # Valid requests still pass.
        client = H2Client(proxy.outbound)
        assert client.get("/").status == 200
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def http1_still_served_on_the_same_listener():
    h1 = Backend("h1")
    config = MountedConfig()
    config.write(document([service("web", SERVICE_IP, 80, [("127.0.0.1", h1.port)])]))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        status, _, body = request(proxy.outbound, "/")[:3]
        assert status == 200 and body == b"h1"
        assert proxy.metric("protocol_detect_total", direction="outbound", protocol="http1") == 1
    finally:
        proxy.stop()
        h1.close()
        config.close()


def main():
    run_main(TESTS, "proxy.http2.", __doc__)


if __name__ == "__main__":
    main()
