#!/usr/bin/env python3
"""Known HTTP/2 denial-of-service attacks against a real weft-proxy: each ends
the attacker's connection (or stream), while another client on its own
connection keeps being served and the proxy's memory stays bounded.

Usage: http2_attack_test.py --list | <test name>   (WEFT_PROXY_BINARY: the binary)"""

import socket
import time

from harness import run_main, MountedConfig, Proxy, document, service
from h2_peers import H2Backend, H2Client

import hpack  # noqa: E402  (python3-h2's own dependencies, found by h2_peers)
from hyperframe.frame import (ContinuationFrame, HeadersFrame, PingFrame,  # noqa: E402
                              SettingsFrame)

SERVICE_IP = "10.96.0.10"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
TESTS = {}


def test(function):
    TESTS[function.__name__] = function
    return function


def start(backend, *flags):
    config = MountedConfig()
    config.write(document([service("web", SERVICE_IP, 80, [("127.0.0.1", backend.port)])]))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80", *flags)
    return config, proxy


def rss_kib(proxy):
    with open(f"/proc/{proxy.process.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def served(proxy):
    client = H2Client(proxy.outbound)
    try:
        return client.get("/", timeout=10).status == 200
    finally:
        client.close()


def closed_within(sock, seconds):
    """Reads (discarding) until the proxy closes the connection."""
    sock.settimeout(0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


@test
def rapid_reset_ends_the_attackers_connection():
    backend = H2Backend("a")
    config, proxy = start(backend, "--http2-reset-burst", "50", "--http2-reset-rate", "5")
    try:
        attacker = H2Client(proxy.outbound)
        for _ in range(500):
            try:
                stream_id = attacker.start("/hang")
                attacker.conn.reset_stream(stream_id)
                attacker.flush()
            except OSError:
                break  # cut off mid-attack: the defence
        assert closed_within(attacker.sock, 10), "the attacker's connection stayed open"
        # Far fewer requests than streams reached the backend.
        assert len(backend.requests) <= 100, len(backend.requests)
        assert served(proxy)
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def continuation_flood_ends_the_connection():
    backend = H2Backend("a")
    config, proxy = start(backend)
    try:
        before = rss_kib(proxy)
        sock = socket.create_connection(("127.0.0.1", proxy.outbound))
        encoder = hpack.Encoder()
        block = encoder.encode([(":method", "GET"), (":scheme", "http"), (":authority", "web"),
                                (":path", "/")])
        frames = [PREFACE, SettingsFrame(0).serialize()]
        headers = HeadersFrame(1)
        headers.data = block
        frames.append(headers.serialize())  # no END_HEADERS: CONTINUATIONs follow
        for i in range(10000):
            continuation = ContinuationFrame(1)
            continuation.data = encoder.encode([(f"x-flood-{i}", "v" * 100)])
            frames.append(continuation.serialize())
        try:
            sock.sendall(b"".join(frames))
        except OSError:
            pass  # closed on us mid-flood: that is the defence
        assert closed_within(sock, 10), "the flooding connection stayed open"
        sock.close()
        assert backend.requests == []
        assert served(proxy)
        assert rss_kib(proxy) - before < 20 * 1024, (before, rss_kib(proxy))
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def ping_flood_without_reading_ends_the_connection():
    backend = H2Backend("a")
    config, proxy = start(backend, "--http2-max-outbound-acks", "100")
    try:
        before = rss_kib(proxy)
        sock = socket.create_connection(("127.0.0.1", proxy.outbound))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and never read
        ping = PingFrame(0)
        ping.opaque_data = b"12345678"
        burst = PREFACE + SettingsFrame(0).serialize() + ping.serialize() * 200000
        try:
            sock.sendall(burst)
        except OSError:
            pass
        assert closed_within(sock, 15), "the flooding connection stayed open"
        sock.close()
        assert served(proxy)
        assert rss_kib(proxy) - before < 20 * 1024, (before, rss_kib(proxy))
        assert proxy.metric("http2_protocol_errors_total", side="server") >= 1
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def a_header_list_past_the_limit_resets_the_stream():
    backend = H2Backend("a")
    config, proxy = start(backend, "--http2-max-header-list-size", "4096")
    try:
        client = H2Client(proxy.outbound)
        response = client.get("/", headers=[("x-big", "v" * 5000)])
        assert response.reset is not None and response.headers is None, response.headers
        assert proxy.metric("http2_stream_reset_total", limit="header_list_too_large") == 1
        assert client.get("/").status == 200  # the connection goes on
        client.close()
        assert [r for r in backend.requests if "x-big" in r[1]] == []
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def streams_past_the_concurrency_limit_are_refused():
    backend = H2Backend("a")
    config, proxy = start(backend, "--http2-max-concurrent-streams", "5")
    try:
        client = H2Client(proxy.outbound)
        client.pump(lambda: client.conn.remote_settings.max_concurrent_streams == 5, timeout=5)
        hung = [client.start("/hang") for _ in range(5)]
        # The library itself now refuses a sixth: the limit was announced.
        try:
            client.start("/hang")
            raise AssertionError("a sixth concurrent stream was allowed")
        except Exception as error:  # h2.exceptions.TooManyStreamsError
            assert "TooManyStreams" in type(error).__name__, error
        for stream_id in hung:
            client.conn.reset_stream(stream_id)
        client.flush()
        assert served(proxy)
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


def main():
    run_main(TESTS, "proxy.http2_attack.", __doc__)


if __name__ == "__main__":
    main()
