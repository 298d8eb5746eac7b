#!/usr/bin/env python3
"""weft-proxy's limit on silent connections, against the real binary and real
backends on loopback: a connection on which no byte moved either way since its
accept is closed after --silent-connection-timeout (counted in
limit_reached_total{limit="silent_connection_timeout"}), on both listeners,
while a server-first protocol, and a connection that moved bytes and then went
idle, live on; and a silent connection holds no read buffer. Bytes must move
both ways for the silent limit to end (one byte from the client is not
enough), a half-closed tunnel is cut after --tunnel-half-closed-timeout, and a
request, half-close and whole answer still pass.

    silent_test.py NAME     runs one test (ctest registers each as proxy.silent.NAME)
    silent_test.py --list   lists them

The limits are small, set by flags; the bounds on time are generous, the
machine may be slow."""

import os
import socket
import sys
import threading
import time

from harness import (BannerServer, Proxy, TcpServer, closed_by_peer, connect, run_main, run_test,
                     wait_until)

TESTS = {}
BATCH = 40  # connections per round: enough for a leak to show in the counts
SILENT_LIMIT = ("--silent-connection-timeout", "1s", "--detect-timeout", "200ms")


def test(function):
    TESTS[function.__name__] = function
    return function


class QuietServer(TcpServer):
    """Accepts and keeps each connection; `echo`: a thread per connection sends
    back what it reads (the app does not speak first), else it never sends
    anything and takes no thread per connection."""

    def __init__(self, echo=False):
        super().__init__(self._echo if echo else None, backlog=1024)

    @staticmethod
    def _echo(conn):
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass

    def open_count(self):
        """Connections the proxy has not closed yet (a closed one reads EOF)."""
        alive = 0
        for conn in self.connections():
            try:
                if conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b"":
                    alive += 1
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        return alive


def fds(proxy):
    return len(os.listdir(f"/proc/{proxy.process.pid}/fd"))


def rss_kib(proxy):
    with open(f"/proc/{proxy.process.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def silent_metric(proxy, direction):
    return proxy.metric("limit_reached_total", direction=direction,
                        limit="silent_connection_timeout")


def silent_rounds(direction, rounds=2):
    """BATCH connections that send nothing, to an app that sends nothing,
    through the `direction` listener: each is closed after the silent limit
    (the tunnel idle limit, 1 h, is not what closes it), the upstream side too,
    and counted; after each round the proxy's descriptors are back to their
    count before any, and its memory, after the second, within 2 MiB of where
    the first left it."""
    app = QuietServer()
    proxy = Proxy("/nonexistent/config.json", f"--{direction}-fallback", f"127.0.0.1:{app.port}",
                  *SILENT_LIMIT)
    port = proxy.inbound if direction == "inbound" else proxy.outbound
    try:
        fds_before = fds(proxy)
        rss_after_first = None
        for round_number in range(rounds):
            started = time.monotonic()
            socks = [connect(port, timeout=30) for _ in range(BATCH)]
            for sock in socks:
                assert closed_by_peer(sock, timeout=30), "a silent connection is still open"
                sock.close()
            elapsed = time.monotonic() - started
            assert elapsed >= 0.9, f"closed after {elapsed:.2f}s, before the 1s limit"
            # Counted once the connection's tasks end, just after the close.
            wait_until(lambda: silent_metric(proxy, direction) == (round_number + 1) * BATCH,
                       timeout=20, what="every silent connection counted")
            wait_until(lambda: app.open_count() == 0, timeout=20,
                       what="the upstream connections closed")
            wait_until(lambda: proxy.metric("tcp_open_connections") == 0, timeout=20,
                       what="connections closed")
            wait_until(lambda: fds(proxy) == fds_before, timeout=20,
                       what=f"file descriptors back to {fds_before} (now {fds(proxy)})")
            if round_number == 0:
                rss_after_first = rss_kib(proxy)
        grown = rss_kib(proxy) - rss_after_first
        assert grown < 2048, f"memory grew by {grown} KiB over a round"
        assert proxy.metric("limit_reached_total", limit="tunnel_idle_timeout") == 0
    finally:
        proxy.stop()
        app.close()


@test
def silent_outbound_connections_are_closed():
    silent_rounds("outbound")


@test
def silent_inbound_connections_are_closed():
    silent_rounds("inbound")


@test
def silent_connections_on_an_opaque_port_are_closed():
    # No detection there: the limit runs from the accept all the same.
    app = QuietServer()
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{app.port}",
                  "--opaque-ports", str(app.port), *SILENT_LIMIT)
    try:
        sock = connect(proxy.outbound)
        started = time.monotonic()
        assert closed_by_peer(sock, timeout=30)
        assert time.monotonic() - started >= 0.9
        sock.close()
        wait_until(lambda: silent_metric(proxy, "outbound") == 1, timeout=20,
                   what="the silent connection counted")
    finally:
        proxy.stop()
        app.close()


@test
def a_server_first_protocol_works_past_the_silent_limit():
    # The app's greeting and the client's answer are bytes moved both ways:
    # from then on only the tunnel idle limit applies, on both listeners.
    banner = BannerServer()
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{banner.port}",
                  "--inbound-fallback", f"127.0.0.1:{banner.port}", *SILENT_LIMIT)
    try:
        for port in (proxy.outbound, proxy.inbound):
            sock = connect(port)
            assert sock.recv(64) == b"220 banner\r\n"
            sock.sendall(b"helo")  # both sides spoke: the silent limit is off
            assert sock.recv(64) == b"echo:helo"
            time.sleep(2.5)  # idle past the 1s limit
            sock.sendall(b"hello")
            assert sock.recv(64) == b"echo:hello"
            sock.close()
        assert proxy.metric("limit_reached_total", limit="silent_connection_timeout") == 0
    finally:
        proxy.stop()
        banner.close()


@test
def a_connection_that_moved_bytes_then_idles_outlives_the_silent_limit():
    app = QuietServer(echo=True)
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{app.port}",
                  "--inbound-fallback", f"127.0.0.1:{app.port}", *SILENT_LIMIT)
    try:
        socks = []
        for port in (proxy.outbound, proxy.inbound):
            sock = connect(port)
            sock.sendall(b"\x00hello")  # not HTTP: a tunnel at once
            assert sock.recv(64) == b"\x00hello"
            socks.append(sock)
        time.sleep(2.5)  # idle past the 1s silent limit
        for sock in socks:
            sock.settimeout(0.2)
            try:
                got = sock.recv(1)
                raise AssertionError(f"the idle connection was closed ({got!r})")
            except socket.timeout:
                pass
            sock.settimeout(10)
            sock.sendall(b"\x00again")
            assert sock.recv(64) == b"\x00again"
            sock.close()
        assert proxy.metric("limit_reached_total", limit="silent_connection_timeout") == 0
    finally:
        proxy.stop()
        app.close()


@test
def a_silent_connection_holds_no_read_buffer():
    # Resident memory per silent tunnel, many opened at once on a fresh
    # proxy: the sockets' and coroutines' state, under one 16 KiB read buffer
    # (about 5 KiB measured; 29 KiB when detection's buffer and both
    # directions' were taken at once).
    count = 400
    app = QuietServer()
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{app.port}",
                  "--silent-connection-timeout", "1h", "--detect-timeout", "200ms")
    try:
        time.sleep(0.5)  # settled after start-up
        before = rss_kib(proxy)
        socks = [connect(proxy.outbound, timeout=30) for _ in range(count)]
        wait_until(lambda: app.open_count() == count, timeout=60,
                   what="every silent connection tunneled")
        per_connection = (rss_kib(proxy) - before) / count
        print(f"resident memory per silent tunnel: {per_connection:.1f} KiB")
        assert per_connection < 12, f"{per_connection:.1f} KiB per silent tunnel"
        for sock in socks:
            sock.close()
    finally:
        proxy.stop()
        app.close()


def half_closed_metric(proxy):
    return proxy.metric("limit_reached_total", limit="tunnel_half_closed_timeout")


@test
def a_client_that_sends_one_byte_then_nothing_is_closed_at_the_silent_limit():
    # One byte from the client, none from the app: not a conversation; the
    # silent limit holds until both sides spoke, not the tunnel's idle hour.
    app = QuietServer()
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{app.port}",
                  "--inbound-fallback", f"127.0.0.1:{app.port}", *SILENT_LIMIT)
    try:
        for direction, port in (("outbound", proxy.outbound), ("inbound", proxy.inbound)):
            sock = connect(port)
            started = time.monotonic()
            sock.sendall(b"\x00")  # not HTTP: detected as opaque TCP
            assert closed_by_peer(sock, timeout=20), "a one-byte connection is still open"
            elapsed = time.monotonic() - started
            assert elapsed >= 0.5, f"closed after {elapsed:.2f}s, long before the 1s limit"
            sock.close()
            # The count may follow the close by a moment: wait for it.
            wait_until(lambda: silent_metric(proxy, direction) == 1, timeout=20,
                       what=f"the {direction} silent limit counted")
        # (The app's sockets hold the unread byte: their count cannot tell.)
        wait_until(lambda: proxy.metric("tcp_open_connections") == 0, timeout=20,
                   what="connections closed")
        assert proxy.metric("limit_reached_total", limit="tunnel_idle_timeout") == 0
    finally:
        proxy.stop()
        app.close()


class AnswerAtEndServer(TcpServer):
    """Reads each connection's request until the client ends its stream, then
    (if `answer`) sends `answer` and closes; else never sends anything."""

    def __init__(self, answer=None):
        self.answer = answer
        self.requests = []
        self.closed = threading.Event()
        super().__init__(self._one)

    def _one(self, conn):
        with conn:
            request = b""
            while data := conn.recv(65536):
                request += data
            self.requests.append(request)
            if self.answer is None:
                self.closed.wait()  # never answers, never closes
                return
            time.sleep(0.2)
            conn.sendall(self.answer)

    def close(self):
        self.closed.set()
        super().close()


@test
def a_half_closed_connection_is_closed_at_the_half_closed_limit():
    # The client sends its request and ends its stream; the app never answers.
    # The silent limit is an hour here, so what cuts it is the half-close.
    app = AnswerAtEndServer()
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{app.port}",
                  "--silent-connection-timeout", "1h", "--detect-timeout", "200ms",
                  "--tunnel-half-closed-timeout", "1s")
    try:
        sock = connect(proxy.outbound)
        sock.sendall(b"\x00request")
        sock.shutdown(socket.SHUT_WR)
        started = time.monotonic()
        assert closed_by_peer(sock, timeout=20), "a half-closed connection is still open"
        elapsed = time.monotonic() - started
        assert elapsed >= 0.9, f"closed after {elapsed:.2f}s, before the 1s limit"
        sock.close()
        wait_until(lambda: half_closed_metric(proxy) == 1, timeout=20,
                   what="the half-closed limit counted")
        assert app.requests == [b"\x00request"]
        assert proxy.metric("limit_reached_total", limit="tunnel_idle_timeout") == 0
    finally:
        proxy.stop()
        app.close()


@test
def a_request_then_half_close_gets_the_whole_answer():
    # nc -N: the client sends, ends its stream, and reads the answer that the
    # app sends once it saw the end; the limits must not cut it.
    answer = bytes(range(256)) * 1024  # 256 KiB
    app = AnswerAtEndServer(answer)
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{app.port}",
                  "--inbound-fallback", f"127.0.0.1:{app.port}", *SILENT_LIMIT,
                  "--tunnel-half-closed-timeout", "1s")
    try:
        for port in (proxy.outbound, proxy.inbound):
            sock = connect(port, timeout=20)
            sock.sendall(b"\x00question")
            sock.shutdown(socket.SHUT_WR)
            received = b""
            while data := sock.recv(65536):
                received += data
            sock.close()
            assert received == answer, f"got {len(received)} of {len(answer)} bytes"
        assert app.requests == [b"\x00question"] * 2
        for limit in ("silent_connection_timeout", "tunnel_half_closed_timeout",
                      "tunnel_idle_timeout"):
            assert proxy.metric("limit_reached_total", limit=limit) == 0, limit
    finally:
        proxy.stop()
        app.close()


@test
def a_tunnel_holds_no_detection_buffer():
    # Connections that sent one byte before detection made them opaque TCP,
    # many at once on a fresh proxy: the byte is kept at its size, detection's
    # 16 KiB buffer freed before the tunnel waits (about 21 KiB each when it
    # was held for the tunnel's life).
    count = 400
    app = QuietServer()
    proxy = Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{app.port}",
                  "--silent-connection-timeout", "1h", "--detect-timeout", "200ms")
    try:
        time.sleep(0.5)  # settled after start-up
        before = rss_kib(proxy)
        socks = []
        for _ in range(count):
            sock = connect(proxy.outbound, timeout=30)
            sock.sendall(b"\x00")
            socks.append(sock)
        wait_until(lambda: app.open_count() == count, timeout=60,
                   what="every connection tunneled")
        per_connection = (rss_kib(proxy) - before) / count
        print(f"resident memory per one-byte tunnel: {per_connection:.1f} KiB")
        assert per_connection < 12, f"{per_connection:.1f} KiB per one-byte tunnel"
        for sock in socks:
            sock.close()
    finally:
        proxy.stop()
        app.close()


def main():
    run_main(TESTS, "proxy.silent.", __doc__)


if __name__ == "__main__":
    main()
