#!/usr/bin/env python3
"""weft-proxy's limits on connections and time, and Expect: 100-continue,
against the real binary and real backends on loopback.

    limits_test.py NAME     runs one test (ctest registers each as proxy.limits.NAME)
    limits_test.py --list   lists them

Each silent-client test opens a batch of connections that go silent at one
stage, checks each is cut at its limit (not before), and that the proxy's open
file descriptors and memory come back to where they were. The limits are
small, set by flags; the bounds on time are generous, the machine may be slow."""

import os
import subprocess
import sys
import time

from harness import (run_main, Backend, Proxy, TcpServer, closed_by_peer, connect, read_response,
                     request, run_test, wait_until)

TESTS = {}
BATCH = 40  # connections per stage: enough for a leak to show in the counts


def test(function):
    TESTS[function.__name__] = function
    return function


# ---- backends of our own -------------------------------------------------------------

def _read_request(conn):
    """Head and Content-Length body; (head bytes, body bytes), or None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, value = line.split(b":", 1)
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head, body


def no_continue_server():
    """An HTTP/1.1 server that never sends 100 Continue: it reads the whole
    body, then echoes it (as servers that ignore Expect do)."""

    def serve(conn):
        with conn:
            while True:
                got = _read_request(conn)
                if got is None:
                    return
                _, body = got
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    return TcpServer(serve, backlog=256)


def banner_server():
    """A server-first protocol: greets once, then waits (a backlog wide enough
    for a batch of connections at once)."""

    def serve(conn):
        try:
            conn.sendall(b"220 banner\r\n")
            while conn.recv(65536):
                pass
        except OSError:
            pass

    return TcpServer(serve, backlog=256)


def silent_server():
    """Accepts, reads whatever comes, never answers."""

    def serve(conn):
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass

    return TcpServer(serve, backlog=256)


# ---- what the proxy holds --------------------------------------------------------

def fds(proxy):
    return len(os.listdir(f"/proc/{proxy.process.pid}/fd"))


def rss_kib(proxy):
    with open(f"/proc/{proxy.process.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_connections(proxy):
    return proxy.metric("tcp_open_connections")


def silent_stage(proxy, start, limit_s, check_cut, rounds=2):
    """Opens BATCH connections that `start(sock)` leaves silent at one stage;
    each must be cut after at least limit_s (check_cut(sock) reads how). Two
    rounds: the first warms the allocator up, and after each the proxy's file
    descriptors must be back to their count before any, and its memory, after
    the second, within 2 MiB of where the first left it."""
    fds_before = fds(proxy)
    rss_after_first = None
    for round_number in range(rounds):
        socks = []
        started = time.monotonic()
        for _ in range(BATCH):
            sock = connect(proxy.outbound, timeout=30)
            start(sock)
            socks.append(sock)
        for sock in socks:
            check_cut(sock)
            sock.close()
        elapsed = time.monotonic() - started
        assert elapsed >= limit_s * 0.9, f"cut after {elapsed:.2f}s, before the {limit_s}s limit"
        wait_until(lambda: open_connections(proxy) == 0, timeout=20, what="connections closed")
        wait_until(lambda: fds(proxy) == fds_before, timeout=20,
                   what=f"file descriptors back to {fds_before} (now {fds(proxy)})")
        if round_number == 0:
            rss_after_first = rss_kib(proxy)
    grown = rss_kib(proxy) - rss_after_first
    assert grown < 2048, f"memory grew by {grown} KiB over a round"


def answered(status, closes=True):
    def check(sock):
        sock.settimeout(20)
        got, headers, _, _ = read_response(sock)
        assert got == status, got
        if closes:
            assert headers.get("connection") == "close", headers
            assert closed_by_peer(sock, timeout=20)
    return check


def just_closed(sock):
    assert closed_by_peer(sock, timeout=30), "still open"


# ---- silent clients at every stage -------------------------------------------------

LIMITS = ("--header-timeout", "500ms", "--body-idle-timeout", "500ms",
          "--response-timeout", "700ms", "--tunnel-idle-timeout", "700ms",
          "--detect-timeout", "300ms")


@test
def a_client_silent_in_its_head_is_cut():
    backend = Backend("a")
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{backend.port}",
                  *LIMITS)
    try:
        silent_stage(proxy, lambda s: s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n"), 0.5,
                     answered(408))
        assert request(proxy.outbound, "/")[0] == 200
    finally:
        proxy.stop()
        backend.close()


@test
def a_client_silent_in_its_body_is_cut():
    backend = Backend("a")
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{backend.port}",
                  *LIMITS)
    try:
        head = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"
        silent_stage(proxy, lambda s: s.sendall(head + b"x" * 10), 0.5, answered(408))
        assert proxy.metric("limit_reached_total", limit="body_idle_timeout") == 2 * BATCH
        # A chunked body, and one the route keeps whole for retries, the same.
        sock = connect(proxy.outbound)
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n")
        answered(408)(sock)
        sock.close()
        # A body that keeps coming, slower than the limit between pieces, is not cut.
        sock = connect(proxy.outbound)
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n")
        for piece in (b"a", b"b", b"c", b"d"):
            time.sleep(0.2)
            sock.sendall(piece)
        status, _, body, _ = read_response(sock)
        assert (status, body) == (200, b"abcd"), (status, body)
        sock.close()
    finally:
        proxy.stop()
        backend.close()


@test
def a_backend_that_never_answers_gets_504():
    silent = silent_server()
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{silent.port}",
                  *LIMITS)
    try:
        request_bytes = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
        silent_stage(proxy, lambda s: s.sendall(request_bytes), 0.7, answered(504, closes=False))
        assert proxy.metric("limit_reached_total", limit="response_timeout") == 2 * BATCH
        # With a streamed body, the wait starts once the body is sent.
        sock = connect(proxy.outbound)
        sock.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n")
        time.sleep(0.4)
        sock.sendall(b"abc")
        sent = time.monotonic()
        answered(504, closes=False)(sock)
        assert time.monotonic() - sent >= 0.6
        sock.close()
    finally:
        proxy.stop()
        silent.close()


@test
def a_silent_tunnel_is_closed():
    backend = Backend("a")
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{backend.port}",
                  *LIMITS)
    upgrade = (b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")

    def start(sock):
        sock.sendall(upgrade)
        status, _, _, _ = read_response(sock)
        assert status == 101
        sock.sendall(b"ping")
        assert sock.recv(4) == b"PING"

    try:
        silent_stage(proxy, start, 0.7, just_closed)
        # Counted once the tunnel's tasks end, just after the close.
        wait_until(lambda: proxy.metric("limit_reached_total",
                                        limit="tunnel_idle_timeout") == 2 * BATCH,
                   timeout=20, what="every idle tunnel counted")
        # Traffic keeps a tunnel open past the limit.
        sock = connect(proxy.outbound)
        start(sock)
        for _ in range(6):
            time.sleep(0.3)
            sock.sendall(b"x")
            assert sock.recv(1) == b"X"
        sock.close()
    finally:
        proxy.stop()
        backend.close()


@test
def a_client_that_sends_nothing_is_cut_as_an_idle_tunnel():
    # Sending nothing, it is taken for a server-first protocol after the
    # detection timeout, then tunneled to a server that greets once and waits.
    banner = banner_server()
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{banner.port}",
                  *LIMITS)

    def check(sock):
        sock.settimeout(20)
        assert sock.recv(64) == b"220 banner\r\n"
        just_closed(sock)

    try:
        silent_stage(proxy, lambda s: None, 1.0, check)
    finally:
        proxy.stop()
        banner.close()


@test
def the_tunnel_idle_timeout_is_set_per_port():
    banner = banner_server()
    other = banner_server()
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{banner.port}",
                  "--opaque-ports", f"{banner.port},{other.port}", "--tunnel-idle-timeout", "1h",
                  "--tunnel-idle-timeout-by-port", f"{other.port}=1h,{banner.port}=500ms")
    try:
        sock = connect(proxy.outbound)
        started = time.monotonic()
        assert sock.recv(64) == b"220 banner\r\n"
        just_closed(sock)
        assert time.monotonic() - started >= 0.45
        wait_until(lambda: proxy.metric("limit_reached_total", limit="tunnel_idle_timeout") == 1,
                   timeout=20, what="the idle tunnel counted")
        sock.close()
        bad = subprocess.run([os.environ["WEFT_PROXY_BINARY"], "--tunnel-idle-timeout-by-port",
                              "80:1s"], capture_output=True, text=True, timeout=20)
        assert bad.returncode == 2 and "--tunnel-idle-timeout-by-port" in bad.stderr, bad
    finally:
        proxy.stop()
        banner.close()
        other.close()


# ---- the connection cap ---------------------------------------------------------------

def refused(port):
    """True when a new connection is reset (or closed) without being served."""
    try:
        sock = connect(port)
    except ConnectionResetError:  # the reset can beat connect() back on loopback
        return True
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        sock.settimeout(10)
        return sock.recv(65536) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        sock.close()


@test
def the_connection_cap_refuses_the_next_and_recovers():
    backend = Backend("a")
    cap = 5
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{backend.port}",
                  "--inbound-fallback", f"127.0.0.1:{backend.port}",
                  "--max-outbound-connections", str(cap), "--max-inbound-connections", "2",
                  "--workers", "2")
    try:
        held = []
        for _ in range(cap):
            sock = connect(proxy.outbound)
            assert request(proxy.outbound, "/", sock=sock)[0] == 200
            held.append(sock)
        assert refused(proxy.outbound)
        assert refused(proxy.outbound)
        assert proxy.metric("limit_reached_total", direction="outbound",
                            limit="max_connections") == 2
        # The other listener has its own cap.
        inbound = [connect(proxy.inbound) for _ in range(2)]
        for sock in inbound:
            assert request(proxy.inbound, "/", sock=sock)[0] == 200
        assert refused(proxy.inbound)
        # The ones held still work; one closing makes room for one more.
        assert request(proxy.outbound, "/", sock=held[0])[0] == 200
        held.pop().close()
        wait_until(lambda: proxy.metric("tcp_open_connections", direction="outbound") == cap - 1,
                   what="the closed connection counted")
        sock = connect(proxy.outbound)
        assert request(proxy.outbound, "/", sock=sock)[0] == 200
        held.append(sock)
        assert refused(proxy.outbound)
        for sock in held + inbound:
            sock.close()
        wait_until(lambda: open_connections(proxy) == 0, what="all closed")
        for _ in range(cap + 3):  # one after another, never more than the cap at once
            assert request(proxy.outbound, "/")[0] == 200
    finally:
        proxy.stop()
        backend.close()


@test
def the_admin_port_has_its_own_connection_cap():
    # Any pod reaches the admin port: connections held open there must not
    # take every descriptor the traffic listeners need.
    proxy = Proxy("/nonexistent/config.json", "--max-admin-connections", "2")
    try:
        port = proxy.ports["admin"]
        held = [connect(port) for _ in range(2)]
        for sock in held:
            sock.sendall(b"GET /live HTTP/1.1\r\nHost: t\r\n\r\n")
            sock.settimeout(10)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200"), "a held connection is served"
        assert refused(port)
        held.pop().close()
        # Room for one again: the metric is read through it. A read that comes
        # before the closed connection's place is given back is refused, and
        # counted, too.
        refused_reads = []

        def refusals():
            try:
                return proxy.metric("admin_connections_refused_total") - len(refused_reads)
            except OSError:
                refused_reads.append(1)
                return None

        wait_until(lambda: refusals() == 1, what="the refusal counted")
        for sock in held:
            sock.close()
    finally:
        proxy.stop()


# ---- Expect: 100-continue ------------------------------------------------------------

EXPECT_HEAD = (b"PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
               b"Content-Length: 11\r\n\r\n")


def final_response(sock):
    """(status, body) of the final response, after any 100 Continue, which
    may come in the same read as it (Content-Length bodies only)."""
    sock.settimeout(10)
    data = b""
    while True:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"closed before a response: {data!r}"
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ")[1])
        if status != 100:
            break
        data = rest
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, value = line.split(b":", 1)
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed in the body"
        rest += chunk
    return status, rest[:length]


@test
def expect_continue_with_the_body_sent_at_once_to_a_server_without_100():
    server = no_continue_server()
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{server.port}")
    try:
        sock = connect(proxy.outbound)
        sock.sendall(EXPECT_HEAD + b"hello world")
        assert final_response(sock) == (200, b"hello world")
        sock.close()
    finally:
        proxy.stop()
        server.close()


@test
def expect_continue_with_the_body_sent_at_once_to_a_server_with_100():
    backend = Backend("a")  # Python's http.server answers Expect with 100 Continue
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{backend.port}")
    try:
        sock = connect(proxy.outbound)
        sock.sendall(EXPECT_HEAD + b"hello world")
        assert final_response(sock) == (200, b"hello world")
        # And a client that waits for the 100 still gets it.
        sock.sendall(EXPECT_HEAD)
        status, _, _, rest = read_response(sock)
        assert (status, rest) == (100, b""), (status, rest)
        sock.sendall(b"hello again")
        assert final_response(sock) == (200, b"hello again")
        sock.close()
    finally:
        proxy.stop()
        backend.close()


def curl_put(port, body):
    return subprocess.run(
        ["curl", "-sS", "--max-time", "20", "-H", "Expect: 100-continue", "-X", "PUT",
         "--data-binary", "@-", "-w", "\n%{http_code}", f"http://127.0.0.1:{port}/echo"],
        input=body, capture_output=True, timeout=30)


@test
def expect_continue_from_curl_to_both_kinds_of_server():
    body = os.urandom(200_000)
    servers = {"without 100": no_continue_server(), "with 100": Backend("a")}
    proxies = {name: Proxy("/nonexistent/config.json", "--outbound-fallback",
                           f"127.0.0.1:{server.port}") for name, server in servers.items()}
    try:
        for name, proxy in proxies.items():
            done = curl_put(proxy.outbound, body)
            assert done.returncode == 0, (name, done.stderr)
            answer, _, code = done.stdout.rpartition(b"\n")
            assert code == b"200" and answer == body, (name, code, len(answer))
    finally:
        for proxy in proxies.values():
            proxy.stop()
        for server in servers.values():
            server.close()


def main():
    run_main(TESTS, "proxy.limits.", __doc__)


if __name__ == "__main__":
    main()
