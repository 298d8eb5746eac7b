#!/usr/bin/env python3
"""HTTP/1.1 between two real weft-proxy processes carried as HTTP/2 streams
over their one mTLS connection (docs/proxy.md, "HTTP/1.1 between proxies as
HTTP/2"):

    HTTP/1 client -> client proxy ==mTLS, HTTP/2==> relay -> server proxy -> HTTP/1 app

The app is a raw HTTP/1.1 server written here, so that each test sees the
exact request the server proxy wrote (method, target, fields, framing,
trailers) and can answer with exact bytes. The two proxies and their
certificates are mtls_test.py's `Mesh`.

    http1_over_http2_test.py NAME     runs one test (ctest: proxy.http1_over_http2.NAME)
    http1_over_http2_test.py --list   lists them
"""

import hashlib
import json
import socket
import threading
import time

from h2_peers import H2Backend, H2Client
from harness import (Proxy, TcpServer, connect, read_response, request, run_main, wait_until,
                     MountedConfig)
from mtls_test import (CLIENT_ID, ENV, SERVER_ID, SERVICE_IP, TRUST_DOMAIN, Ca, Mesh,
                       assert_encrypted, mesh_document)

TESTS = {}


def test(function):
    TESTS[function.__name__] = function
    return function


# ---- the app: a raw HTTP/1.1 server ------------------------------------------------------

class Seen:
    """One request as the app read it."""

    def __init__(self, method, target, version, fields, body, trailers, chunked):
        self.method, self.target, self.version = method, target, version
        self.fields = fields  # [(name as sent, value)]
        self.body, self.trailers, self.chunked = body, trailers, chunked

    def names(self):
        return {name.lower() for name, _ in self.fields}

    def field(self, name):
        for field, value in self.fields:
            if field.lower() == name:
                return value
        return None


class App(TcpServer):
    """Keep-alive HTTP/1.1. Paths:
    /info            200, content-length, body: the method and target
    /echo            200, the request body back, chunked, trailer x-echo-trailer: yes
    /big?n=N         200, N bytes (content-length), written as fast as the socket takes them
    /chunked?n=N     200, N chunks of 1,000 bytes, trailer x-checksum: <sha256 of the body>
    /status?code=N   status N (no body for 204 and 304; content-length 0 otherwise)
    /head            200 content-length 1234 (HEAD: no body)
    /hop             200 with Connection: x-internal, X-Internal, Keep-Alive
    /smuggle         200 with both Content-Length and Transfer-Encoding (a broken app)
    /badchunk        200 chunked, with a chunk size that is no number in the head's write
    /continue        100 Continue first, then reads the body and answers 200 with it
    /early           413 at once, without reading the body, then close
    /flaky?k=K       503 the first time for each K, then 200 with the request body
    /sleep?ms=N      200 after N ms
    /ws              101 websocket, then echoes bytes upper-cased"""

    def __init__(self):
        self.flaky_seen = set()
        self.seen = []
        self.seen_lock = threading.Lock()
        super().__init__(self._serve, backlog=64)

    def requests(self):
        with self.seen_lock:
            return list(self.seen)

    def _serve(self, conn):
        reader = _Reader(conn)
        try:
            while True:
                head = reader.until(b"\r\n\r\n")
                if head is None:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ")
                fields = [tuple(part.strip() for part in line.split(":", 1))
                          for line in lines[1:] if line]
                lookup = {n.lower(): v for n, v in fields}
                path, _, query = target.partition("?")
                params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                if path == "/early":
                    conn.sendall(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                    time.sleep(0.2)
                    return
                if path == "/continue":
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                chunked = lookup.get("transfer-encoding", "").lower() == "chunked"
                body, trailers = reader.body(chunked, int(lookup.get("content-length", "0")))
                seen = Seen(method, target, version, fields, body, trailers, chunked)
                with self.seen_lock:
                    self.seen.append(seen)
                if not self._answer(conn, seen, path, params):
                    return
        except OSError:
            pass
        finally:
            conn.close()

    def _answer(self, conn, seen, path, params):
        head_only = seen.method == "HEAD"

        def send(status, reason, fields, body=b""):
            lines = [f"HTTP/1.1 {status} {reason}"] + [f"{n}: {v}" for n, v in fields]
            conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode()
                         + (b"" if head_only else body))

        if path in ("/info", "/continue"):
            body = f"{seen.method} {seen.target}".encode() if path == "/info" else seen.body
            send(200, "OK", [("Content-Length", len(body)), ("X-App", "yes")], body)
        elif path == "/echo":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            if seen.body:
                conn.sendall(b"%x\r\n%s\r\n" % (len(seen.body), seen.body))
            conn.sendall(b"0\r\nX-Echo-Trailer: yes\r\n\r\n")
        elif path == "/flaky":
            first = params.get("k") not in self.flaky_seen
            self.flaky_seen.add(params.get("k"))
            send(503 if first else 200, "Status", [("Content-Length", len(seen.body))], seen.body)
        elif path == "/sleep":
            time.sleep(int(params.get("ms", "100")) / 1000)
            send(200, "OK", [("Content-Length", "2")], b"ok")
        elif path == "/big":
            n = int(params.get("n", "1000"))
            send(200, "OK", [("Content-Length", n)])
            piece = b"x" * 65536
            while n > 0:
                conn.sendall(piece[:min(n, len(piece))])
                n -= min(n, len(piece))
        elif path == "/chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            digest = hashlib.sha256()
            for i in range(int(params.get("n", "3"))):
                piece = (str(i % 10) * 1000).encode()
                digest.update(piece)
                conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            conn.sendall(b"0\r\nX-Checksum: " + digest.hexdigest().encode() + b"\r\n\r\n")
        elif path == "/status":
            code = int(params.get("code", "200"))
            fields = [] if code in (204, 304) else [("Content-Length", "0")]
            if code == 304:
                fields.append(("ETag", '"v1"'))
            send(code, "Status", fields)
        elif path == "/head":
            send(200, "OK", [("Content-Length", "1234")], b"y" * 1234)
        elif path == "/hop":
            send(200, "OK", [("Connection", "x-internal"), ("X-Internal", "secret"),
                             ("Keep-Alive", "timeout=5"), ("Content-Length", "2")], b"ok")
        elif path == "/badchunk":
            # The head and a chunk size that is no number, in one write.
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n")
        elif path == "/smuggle":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked"
                         b"\r\n\r\n0\r\n\r\n")
        elif path == "/ws":
            send(101, "Switching Protocols", [("Upgrade", "websocket"), ("Connection", "Upgrade")])
            while True:
                data = conn.recv(65536)
                if not data:
                    return False
                conn.sendall(data.upper())
        else:
            send(404, "Not Found", [("Content-Length", "0")])
        return True


class _Reader:
    def __init__(self, conn):
        self.conn, self.buffer = conn, b""

    def _more(self):
        data = self.conn.recv(65536)
        if not data:
            raise OSError("closed")
        self.buffer += data

    def until(self, marker):
        while marker not in self.buffer:
            try:
                self._more()
            except OSError:
                return None
        out, self.buffer = self.buffer.split(marker, 1)
        return out

    def exactly(self, n):
        while len(self.buffer) < n:
            self._more()
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def body(self, chunked, length):
        if not chunked:
            return self.exactly(length), []
        body = b""
        while True:
            size = int(self.until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                trailers = []
                while True:
                    line = self.until(b"\r\n")
                    if not line:
                        return body, trailers
                    name, value = line.decode().split(":", 1)
                    trailers.append((name.strip().lower(), value.strip()))
            body += self.exactly(size)
            self.until(b"\r\n")


# ---- helpers -----------------------------------------------------------------------------

def raw(port, data, method="GET", sock=None):
    """Sends raw request bytes; returns (status, headers, body, rest)."""
    own = sock is None
    sock = sock or connect(port)
    try:
        sock.sendall(data)
        return read_response(sock, method)
    finally:
        if own:
            sock.close()


def chunked_trailers(sock):
    """After a chunked response's last chunk: read_response drops trailers, so
    tests that check them read the response themselves."""
    data = b""
    while b"\r\n0\r\n" not in data or not data.endswith(b"\r\n\r\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def upgraded(mesh, direction):
    proxy = mesh.client if direction == "outbound" else mesh.server
    return proxy.metric("http1_upgraded_requests_total", direction=direction)


def inbound_connections(mesh):
    return mesh.server.metric("tcp_tls_connections_total", direction="inbound", tls="true",
                              client_id=CLIENT_ID)


def with_mesh(function, **mesh_arguments):
    app = App()
    mesh = Mesh(app.port, Ca("anchor"), **mesh_arguments)
    try:
        function(app, mesh)
    finally:
        mesh.close()
        app.close()


def opaque_server_mesh(app_port, **mesh_arguments):
    """A Mesh whose server proxy treats the app's port as opaque
    (config.weft.io/opaque-ports on the server pod alone), with the client's
    document marking the endpoint "opaque", as the operator writes it."""
    return Mesh(app_port, Ca("anchor"), server_flags=("--opaque-ports", str(app_port)),
                client_endpoint_fields={"opaque": True}, **mesh_arguments)


def get_info_kept_alive(mesh, count):
    """`count` GET /info?i=N on one client connection, each answered 200
    with its own target."""
    sock = connect(mesh.client.outbound)
    for i in range(count):
        status, _, got = request(mesh.client.outbound, f"/info?i={i}", sock=sock)
        assert status == 200 and got == f"GET /info?i={i}".encode(), (status, got)
    sock.close()


# ---- tests -------------------------------------------------------------------------------

@test
def methods_and_bodies_cross_as_http2_on_one_connection():
    def run(app, mesh):
        # Ten keep-alive client connections at once, every method, bodies by
        # content-length and chunked: one mTLS connection between the proxies.
        errors = []

        def client(index):
            try:
                sock = connect(mesh.client.outbound)
                for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"):
                    body = f"{method}-{index}".encode() if method in ("POST", "PUT") else b""
                    status, headers, got = request(mesh.client.outbound, f"/info?c={index}",
                                                   method=method, body=body, sock=sock)
                    assert status == 200, (method, status, got)
                    expected = f"{method} /info?c={index}".encode()
                    assert got == (b"" if method == "HEAD" else expected), (method, got)
                    assert headers["x-app"] == "yes"
                data = b"hello chunked world" * 100
                sock.sendall(f"POST /echo?c={index} HTTP/1.1\r\nHost: web\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n".encode()
                             + b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
                status, headers, got, _ = read_response(sock)
                assert status == 200 and got == data, (status, len(got))
                sock.close()
            except Exception as error:  # noqa: BLE001 (reported below)
                errors.append(error)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        seen = app.requests()
        assert len(seen) == 70, len(seen)
        assert {s.method for s in seen} == {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"}
        for s in seen:
            assert s.version == "HTTP/1.1" and s.field("host") == "test" or s.target.startswith(
                "/echo"), (s.target, s.fields)
            if s.method in ("POST", "PUT") and s.target.startswith("/info"):
                assert not s.chunked and s.body == f"{s.method}-{s.target[8:]}".encode(), s.body
        assert all(s.chunked for s in seen if s.target.startswith("/echo"))
        assert upgraded(mesh, "outbound") == 70
        assert upgraded(mesh, "inbound") == 70
        assert inbound_connections(mesh) == 1
        assert mesh.server.metric("protocol_detect_total", direction="inbound",
                                  protocol="http2") == 1
        assert mesh.server.metric("protocol_detect_total", direction="inbound",
                                  protocol="http1") == 0
        # The golden metrics count the requests as they are, on both sides.
        assert mesh.client.metric("request_total", direction="outbound", tls="true") == 70
        assert mesh.server.metric("request_total", direction="inbound", tls="true",
                                  client_id=CLIENT_ID) == 70
        assert mesh.server.metric("response_total", direction="inbound",
                                  status_code="200") == 70
    with_mesh(run)


@test
def a_body_read_with_its_head_is_relayed_whole_and_the_app_connection_kept():
    # The server proxy puts the body bytes that came with the app's head into
    # the stream before submitting the head (one write to the peer proxy):
    # the app's connection then goes back to the pool at once, and a
    # malformed body found there fails the try, as a malformed head does:
    # 502, the app's connection closed.
    def run(app, mesh):
        get_info_kept_alive(mesh, 20)
        assert app.accepted == 1, app.accepted
        status, _, _ = request(mesh.client.outbound, "/badchunk")
        assert status == 502, status
        assert mesh.server.metric("response_total", direction="inbound",
                                  status_code="502") == 1
        get_info_kept_alive(mesh, 3)
        assert app.accepted == 2, app.accepted  # the broken connection was not reused
        assert upgraded(mesh, "inbound") == 24
    with_mesh(run)


@test
def connection_fields_are_removed_and_host_becomes_authority():
    def run(app, mesh):
        sock = connect(mesh.client.outbound)
        status, headers, _, _ = raw(mesh.client.outbound, (
            "GET /info HTTP/1.1\r\nHost: web.test\r\nConnection: keep-alive, x-hop\r\n"
            "X-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
            "TE: trailers, gzip\r\nX-Kept: yes\r\nweft-orig-proto: HTTP/9\r\n\r\n").encode(),
            sock=sock)
        assert status == 200
        # Absolute form: the URI's authority is the Host, the path goes alone.
        status, _, body, _ = raw(mesh.client.outbound,
                                 b"GET http://web.test/info?q=1 HTTP/1.1\r\nHost: web.test\r\n\r\n",
                                 sock=sock)
        assert status == 200 and body == b"GET /info?q=1", body
        # The app's hop-by-hop fields do not reach the client either.
        status, headers, body, _ = raw(mesh.client.outbound,
                                       b"GET /hop HTTP/1.1\r\nHost: web.test\r\n\r\n", sock=sock)
        assert status == 200 and body == b"ok"
        assert "x-internal" not in headers and "keep-alive" not in headers, headers
        sock.close()
        first, absolute = app.requests()[0], app.requests()[1]
        names = first.names()
        for gone in ("connection", "x-hop", "keep-alive", "proxy-connection", "te", "upgrade",
                     "transfer-encoding"):
            assert gone not in names, (gone, first.fields)
        assert first.field("x-kept") == "yes" and first.field("host") == "web.test"
        # The client's own marker is not the proxies': never forwarded.
        assert first.field("weft-orig-proto") is None, first.fields
        assert absolute.target == "/info?q=1" and absolute.field("host") == "web.test"
        assert upgraded(mesh, "inbound") == 3
    with_mesh(run)


def routed_document(anchors_pem, endpoint_port, rule):
    """The client proxy's document with one route rule (retries, timeouts)
    in front of the server proxy's meshed endpoint."""
    services = [{"name": "web", "clusterIPs": [SERVICE_IP], "ports": [{
        "port": 80, "loadBalancer": {"algorithm": "PeakEWMA"},
        "endpoints": [{"address": "127.0.0.1", "port": endpoint_port, "identity": SERVER_ID}],
        "rules": [dict(route="r", routeRule=0,
                       backends=[{"service": "web", "port": 80, "weight": 1}], **rule)],
        "matches": [{"rule": 0, "path": {"type": "PathPrefix", "value": "/"}}]}]}]
    body = {"version": 1, "namespace": "test", "outbound": {"services": services},
            "inbound": {"policies": []},
            "identity": {"trustDomain": TRUST_DOMAIN, "trustAnchorsPem": anchors_pem}}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    body["hash"] = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


@test
def retries_and_timeouts_keep_their_meaning():
    app = App()
    ca = Ca("anchor")
    mesh = Mesh(app.port, ca)
    try:
        accepted = mesh.client.metric("config_reload_total", result="accepted")
        mesh.configs[1].write(routed_document(ca.pem, mesh.relay.port, {
            "retry": {"attempts": 2, "codes": [503], "conditions": [], "backoffMs": 5,
                      "budget": {"percent": 100, "minRetriesPerSecond": 10,
                                 "intervalMs": 10000}},
            "timeouts": {"requestMs": 700}}))
        wait_until(lambda: mesh.client.metric("config_reload_total", result="accepted")
                   > accepted, what="the routed document")
        # A 503 is retried (the small body kept and sent again), as over HTTP/1.
        status, _, body = request(mesh.client.outbound, "/flaky?k=get")
        assert (status, body) == (200, b"")
        status, _, body = request(mesh.client.outbound, "/flaky?k=post", method="POST",
                                  body=b"replayed")
        assert (status, body) == (200, b"replayed"), (status, body)
        posts = [s for s in app.requests() if s.method == "POST"]
        assert [s.body for s in posts] == [b"replayed", b"replayed"]
        assert mesh.client.metric("retry_total", route="r") == 2
        # The route's timeout: a 504 from the client's proxy, in time.
        started = time.monotonic()
        status, _, _ = request(mesh.client.outbound, "/sleep?ms=3000")
        elapsed = time.monotonic() - started
        assert status == 504 and 0.6 < elapsed < 2.5, (status, elapsed)
        assert mesh.client.metric("response_total", route="r", status_code="504") == 1
        # Every try was carried as HTTP/2, on one connection between the proxies.
        assert upgraded(mesh, "outbound") == 3
        assert upgraded(mesh, "inbound") == 5
        assert inbound_connections(mesh) == 1
    finally:
        mesh.close()
        app.close()


@test
def head_204_304_have_no_body_and_keep_the_connection():
    def run(app, mesh):
        sock = connect(mesh.client.outbound)
        status, headers, body = request(mesh.client.outbound, "/head", method="HEAD", sock=sock)
        assert status == 200 and headers["content-length"] == "1234" and body == b""
        status, headers, body = request(mesh.client.outbound, "/status?code=204", sock=sock)
        assert status == 204 and body == b"" and "content-length" not in headers, headers
        assert "transfer-encoding" not in headers
        status, headers, body = request(mesh.client.outbound, "/status?code=304", sock=sock)
        assert status == 304 and body == b"" and headers["etag"] == '"v1"'
        assert "transfer-encoding" not in headers
        # The framing held: the connection carries on.
        status, _, body = request(mesh.client.outbound, "/info", sock=sock)
        assert status == 200 and body == b"GET /info"
        sock.close()
        assert upgraded(mesh, "outbound") == 4
    with_mesh(run)


@test
def trailers_and_chunked_bodies_cross_both_ways():
    def run(app, mesh):
        sock = connect(mesh.client.outbound)
        data = b"a" * 5000
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: web\r\nTE: trailers\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n"
                     + b"%x\r\n%s\r\n" % (len(data), data)
                     + b"0\r\nX-Request-Checksum: abc\r\nContent-Length: 99\r\n\r\n")
        response = chunked_trailers(sock)
        assert response.startswith(b"HTTP/1.1 200"), response[:100]
        assert b"transfer-encoding: chunked" in response.lower()
        assert response.lower().endswith(b"\r\n0\r\nx-echo-trailer: yes\r\n\r\n"), response[-80:]
        sock.sendall(b"GET /chunked?n=50 HTTP/1.1\r\nHost: web\r\n\r\n")
        response = chunked_trailers(sock)
        body = b"".join((str(i % 10) * 1000).encode() for i in range(50))
        assert b"x-checksum: " + hashlib.sha256(body).hexdigest().encode() in response.lower()
        sock.close()
        echo = app.requests()[0]
        assert echo.chunked and echo.body == data
        # Trailers that may not be trailers are dropped on the way.
        assert echo.trailers == [("x-request-checksum", "abc")], echo.trailers
    with_mesh(run)


@test
def expect_100_continue():
    def run(app, mesh):
        sock = connect(mesh.client.outbound)
        body = b"z" * 10000
        sock.sendall(b"POST /continue HTTP/1.1\r\nHost: web\r\nExpect: 100-continue\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        sock.settimeout(5)
        interim = sock.recv(64)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim
        sock.sendall(body)
        status, _, got, _ = read_response(sock)
        assert status == 200 and got == body
        # The app answers before the body: relayed, and the connection ends.
        sock2 = connect(mesh.client.outbound)
        sock2.sendall(b"POST /early HTTP/1.1\r\nHost: web\r\nContent-Length: 100000\r\n\r\n"
                      + b"q" * 1000)
        status, headers, _, _ = read_response(sock2)
        assert status == 413, status
        sock.close()
        sock2.close()
        assert app.requests()[0].field("expect") == "100-continue"
    with_mesh(run)


@test
def big_bodies_and_a_slow_reader_slows_only_its_stream():
    def run(app, mesh):
        # 8 MB up and 8 MB down, hashed.
        sock = connect(mesh.client.outbound)
        upload = bytes(range(256)) * (8 * 4096)
        sock.sendall(b"POST /continue HTTP/1.1\r\nHost: web\r\nExpect: 100-continue\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(upload))
        assert sock.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"  # (only one)
        sock.sendall(upload)
        status, _, got, _ = read_response(sock)
        assert status == 200 and hashlib.sha256(got).digest() == hashlib.sha256(upload).digest()
        status, _, got = request(mesh.client.outbound, "/big?n=8000000", sock=sock)
        assert status == 200 and len(got) == 8_000_000
        # A client that never reads a 50 MB answer holds its stream's window,
        # not the connection: other requests go on meanwhile, on the same
        # mTLS connection between the proxies.
        slow = connect(mesh.client.outbound)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b"GET /big?n=50000000 HTTP/1.1\r\nHost: web\r\n\r\n")
        time.sleep(1)
        started = time.monotonic()
        for _ in range(20):
            status, _, body = request(mesh.client.outbound, "/info")
            assert status == 200 and body == b"GET /info"
        assert time.monotonic() - started < 5
        assert inbound_connections(mesh) == 1
        slow.close()
        sock.close()
    with_mesh(run)


@test
def websocket_keeps_its_own_connection():
    def run(app, mesh):
        sock = connect(mesh.client.outbound)
        sock.sendall(b"GET /ws HTTP/1.1\r\nHost: web\r\nConnection: Upgrade\r\n"
                     b"Upgrade: websocket\r\n\r\n")
        status, headers, _, rest = read_response(sock)
        assert status == 101 and headers["upgrade"].lower() == "websocket"
        sock.sendall(b"hello")
        data = rest
        while len(data) < 5:
            data += sock.recv(64)
        assert data == b"HELLO"
        sock.close()
        assert upgraded(mesh, "outbound") == 0
        # The server proxy saw it as HTTP/1 inside the mTLS, as before.
        assert mesh.server.metric("protocol_detect_total", direction="inbound",
                                  protocol="http1") == 1
    with_mesh(run)


@test
def the_flag_turns_it_off():
    def run(app, mesh):
        for _ in range(3):
            status, _, body = request(mesh.client.outbound, "/info")
            assert status == 200 and body == b"GET /info"
        assert upgraded(mesh, "outbound") == 0 and upgraded(mesh, "inbound") == 0
        assert mesh.server.metric("protocol_detect_total", direction="inbound",
                                  protocol="http2") == 0
    with_mesh(run, client_flags=("--http1-upgrade-between-proxies=false",))


@test
def no_new_smuggling_through_the_translation():
    def run(app, mesh):
        # The HTTP/1 parser's defences hold before any translation.
        status, _, _, _ = raw(mesh.client.outbound,
                              b"POST /info HTTP/1.1\r\nHost: web\r\nContent-Length: 3\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        assert status == 400
        # A response with both framings is the app's fault: 502, not relayed.
        status, _, _ = request(mesh.client.outbound, "/smuggle")
        assert status == 502, status
        # A body cut short by the client never reaches the app as complete.
        sock = connect(mesh.client.outbound)
        sock.sendall(b"POST /info HTTP/1.1\r\nHost: web\r\nContent-Length: 1000\r\n\r\nshort")
        sock.close()
        time.sleep(0.5)
        assert all(s.target != "/info" for s in app.requests()), app.requests()
        status, _, body = request(mesh.client.outbound, "/info")
        assert status == 200 and body == b"GET /info"
    with_mesh(run)


@test
def heads_the_peer_would_refuse_as_http2_keep_http1():
    # HTTP/1 takes a Host with a space and a head just under its limit;
    # the peer's nghttp2 would refuse both as HTTP/2, each refusal a stream
    # error charged to the one connection every request of the pod shares
    # with the peer (a flood of them had it cut with GOAWAY). They go as
    # HTTP/1 instead, and the shared connection is not touched.
    def run(app, mesh):
        for _ in range(50):
            status, _, _, _ = raw(mesh.client.outbound, b"GET /info HTTP/1.1\r\nHost: a b\r\n\r\n")
            assert status == 200, status
        fields = b"".join(b"X-F%02d: %s\r\n" % (i, b"v" * 300) for i in range(99))
        status, _, _, _ = raw(mesh.client.outbound,
                              b"GET /info HTTP/1.1\r\nHost: web\r\n" + fields + b"\r\n")
        assert status == 200, status
        assert upgraded(mesh, "outbound") == 0
        status, _, body = request(mesh.client.outbound, "/info")
        assert status == 200 and body == b"GET /info"
        assert upgraded(mesh, "outbound") == 1 and upgraded(mesh, "inbound") == 1
        assert mesh.server.metric("http2_goaway_sent_total", direction="inbound") == 0
    with_mesh(run)


@test
def the_marker_from_outside_the_mesh_is_ignored():
    # A plaintext HTTP/2 client sends the marker straight to a proxy's inbound
    # listener: the stream stays HTTP/2 (to an HTTP/2 app here) and the field
    # is dropped.
    app = H2Backend("app")
    config = MountedConfig()
    config.write(mesh_document(Ca("anchor").pem))
    proxy = Proxy(config.path, "--inbound-fallback", f"127.0.0.1:{app.port}", env=ENV)
    try:
        client = H2Client(proxy.inbound)
        response = client.get("/plain", headers=[("weft-orig-proto", "HTTP/1.1")])
        assert response.status == 200 and response.headers["x-backend"] == "app"
        client.close()
        path, headers, _, _ = app.requests[0]
        assert "weft-orig-proto" not in headers, headers
        assert proxy.metric("http1_upgraded_requests_total") == 0
    finally:
        proxy.stop()
        config.close()
        app.close()


@test
def a_port_the_server_proxy_treats_as_opaque_is_sent_as_tcp():
    # The server pod declares its app's port opaque (config.weft.io/opaque-ports
    # on the server alone): its proxy hands the app whatever arrives. The
    # operator writes that into the client's document (the endpoint's
    # "opaque"), so the client proxy sends the connection as TCP over mTLS
    # instead of carrying its requests as HTTP/2, which the app could not read.
    app = App()
    mesh = opaque_server_mesh(app.port)
    try:
        get_info_kept_alive(mesh, 3)
        assert [s.version for s in app.requests()] == ["HTTP/1.1"] * 3
        assert upgraded(mesh, "outbound") == 0
        assert mesh.client.metric("protocol_detect_total", direction="outbound",
                                  protocol="opaque-port") == 1
        assert inbound_connections(mesh) == 1  # still mTLS between the proxies
        assert_encrypted(mesh.relay, b"/info?i=")
    finally:
        mesh.close()
        app.close()


@test
def an_opaque_endpoint_among_others_gets_http1_and_the_service_keeps_its_routes():
    # One endpoint of the Service treats its port as opaque, another (an
    # unmeshed app) does not: the Service's connections are still HTTP
    # (balanced per request, its routes kept), and the tries that go to the
    # opaque endpoint cross the mTLS hop as HTTP/1.1, never as HTTP/2.
    app, other = App(), App()
    mesh = opaque_server_mesh(app.port, client_document={
        "algorithm": "RoundRobin", "extra_endpoints": [{"address": "127.0.0.1", "port": other.port}]})
    try:
        get_info_kept_alive(mesh, 10)
        assert len(app.requests()) == 5 and len(other.requests()) == 5, (
            len(app.requests()), len(other.requests()))
        assert all(s.version == "HTTP/1.1" for s in app.requests())
        assert upgraded(mesh, "outbound") == 0
        assert mesh.client.metric("protocol_detect_total", direction="outbound",
                                  protocol="http1") == 1
        assert inbound_connections(mesh) >= 1  # the opaque endpoint's tries: mTLS
        assert_encrypted(mesh.relay, b"/info?i=")
    finally:
        mesh.close()
        app.close()
        other.close()


@test
def a_server_first_protocol_is_not_kept_waiting_by_the_client_proxy():
    # A port the server's proxy treats as opaque is sent as TCP at once: the
    # client proxy does not wait --detect-timeout (20 s here) for bytes a
    # server-first protocol (SMTP, MySQL) never sends before its banner.
    def serve(conn):
        with conn:
            conn.sendall(b"220 banner\r\n")
            data = conn.recv(100)
            conn.sendall(b"250 " + data)

    app = TcpServer(serve)
    mesh = opaque_server_mesh(app.port, client_flags=("--detect-timeout", "20s"))
    try:
        started = time.monotonic()
        sock = connect(mesh.client.outbound)
        sock.settimeout(15)
        banner = sock.recv(100)
        waited = time.monotonic() - started
        assert banner == b"220 banner\r\n", banner
        assert waited < 10, f"the banner took {waited:.1f} s"
        sock.sendall(b"HELO x\r\n")
        assert sock.recv(100) == b"250 HELO x\r\n"
        sock.close()
        assert inbound_connections(mesh) == 1
    finally:
        mesh.close()
        app.close()


def main():
    run_main(TESTS, "proxy.http1_over_http2.", __doc__)


if __name__ == "__main__":
    main()
