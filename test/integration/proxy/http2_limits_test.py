#!/usr/bin/env python3
"""weft-proxy's HTTP/2 limits that a client meets without attacking, against a
real weft-proxy: a header list past the limit resets its stream and the
connection goes on; the concurrent stream limit is announced and holds; a
stream on which nothing moves is reset (gRPC too), one that moves bytes is
not; upstream connections per endpoint are capped, and an upstream that
allows no stream costs no connection per request; nghttp2's freed blocks
past a session's cache go back to malloc, counted. (The attacks, each with a
bystander client and a memory bound, are in h2_attack_test.py.)

Usage: http2_limits_test.py --list | <test name>   (WEFT_PROXY_BINARY: the binary)"""

import os
import time

from harness import run_main, MountedConfig, Proxy, document, service, wait_until
from h2_peers import H2Backend, H2Client

SERVICE_IP = "10.96.0.10"
GRPC = [("content-type", "application/grpc"), ("te", "trailers")]
TESTS = {}


def test(function):
    TESTS[function.__name__] = function
    return function


def start(backend, *flags):
    config = MountedConfig()
    config.write(document([service("web", SERVICE_IP, 80, [("127.0.0.1", backend.port)])]))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80", *flags)
    return config, proxy


def served(proxy):
    client = H2Client(proxy.outbound)
    try:
        return client.get("/", timeout=10).status == 200
    finally:
        client.close()


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


@test
def a_stream_on_which_nothing_moves_is_reset_grpc_included():
    backend = H2Backend("a")
    config, proxy = start(backend, "--http2-stream-idle-timeout", "2s")
    try:
        client = H2Client(proxy.outbound)
        # A gRPC call that sends its head and then nothing, to a server that
        # waits for the rest: no deadline, nothing moves.
        quiet = client.start("/echo", headers=GRPC, end=False)
        # A client-streaming call that sends a message every half second for
        # 5 s: it moves bytes, so it outlives the limit.
        busy = client.start("/echo", headers=GRPC, end=False)
        # Empty DATA frames every half second move no byte: reset too.
        empty = client.start("/echo", headers=GRPC, end=False)
        for _ in range(10):
            client.send_body(busy, b"\0\0\0\0\1m", end=False)
            client.conn.send_data(empty, b"")  # an empty DATA frame
            client.flush()
            time.sleep(0.5)
        client.send_body(busy, b"", end=True)
        response = client.wait(busy, timeout=10)
        assert response.status == 200 and len(response.body) == 60, (response.status,
                                                                     len(response.body))
        for stream_id in (quiet, empty):
            reset = client.wait(stream_id, timeout=10)
            assert reset.reset is not None and reset.headers is None, reset.headers
        assert proxy.metric("http2_stream_reset_total", limit="stream_idle_timeout") == 2
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def upstream_connections_per_endpoint_are_capped():
    """An app that takes one stream per connection: past the cap, requests
    wait for a stream to end rather than open connection after connection."""
    backend = H2Backend("one", max_streams=1)
    config, proxy = start(backend, "--http2-max-connections-per-endpoint", "2",
                          "--connect-timeout", "10s")
    try:
        client = H2Client(proxy.outbound)
        streams = [client.start("/slow?ms=700") for _ in range(6)]
        for stream_id in streams:
            assert client.wait(stream_id, timeout=20).status == 200
        assert backend.connections <= 2, backend.connections
        assert proxy.metric("limit_reached_total", direction="outbound",
                            limit="http2_upstream_connections") >= 1
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def an_answered_stream_whose_request_stays_open_is_reset_later():
    """RFC 9113 section 8.1: the app answered while the client's request
    is still open. The client gets the whole response, then, if it never
    ends its request, RST_STREAM(NO_ERROR) after --body-idle-timeout (not at
    once: it may be finishing a body)."""
    backend = H2Backend("a")
    config, proxy = start(backend, "--body-idle-timeout", "2s")
    try:
        client = H2Client(proxy.outbound)
        stream_id = client.start("/early", method="POST", end=False)
        client.pump(lambda: client.responses[stream_id].ended, timeout=10)
        response = client.responses[stream_id]
        assert response.status == 200 and bytes(response.body) == b"early", response.body
        answered = time.monotonic()
        client.pump(lambda: response.reset is not None, timeout=10)
        waited = time.monotonic() - answered
        assert response.reset == 0, response.reset  # NO_ERROR
        assert 1.0 <= waited <= 5.0, f"reset {waited:.1f}s after the answer"
        assert proxy.metric("http2_stream_reset_total",
                            limit="request_open_after_response") == 1
        assert client.get("/").status == 200  # the connection goes on
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def a_request_body_the_app_never_reads_fails_its_upstream_stream():
    """The app takes the head and never reads the body: the upstream
    stream's window stays shut with bytes waiting in the proxy. After
    --body-idle-timeout the upstream stream is reset (stalled_stream) and
    the client answered, rather than both held until the client gives up."""
    backend = H2Backend("a")
    config, proxy = start(backend, "--body-idle-timeout", "2s")
    try:
        client = H2Client(proxy.outbound)
        stream_id = client.start("/noread", method="POST", end=False)
        client.send_body(stream_id, b"b" * 200000, end=False)  # stops at the shut window
        started = time.monotonic()
        response = client.wait(stream_id, timeout=15)
        assert response.status == 502 or response.reset is not None, response.headers
        assert time.monotonic() - started < 8
        assert proxy.metric("http2_stream_reset_total", direction="outbound",
                            limit="stalled_stream") == 1
        assert client.get("/").status == 200  # the connections go on
        client.close()
    finally:
        proxy.stop()
        backend.close()
        config.close()


def open_fds(proxy):
    return len(os.listdir(f"/proc/{proxy.process.pid}/fd"))


@test
def an_upstream_allowing_no_stream_costs_no_connection_per_request():
    """SETTINGS_MAX_CONCURRENT_STREAMS 0: never usable. Each request fails
    at once (a connect failure, 502), and no connection stays open."""
    backend = H2Backend("zero", max_streams=0)
    config, proxy = start(backend, "--response-timeout", "20s")
    try:
        before = open_fds(proxy)
        client = H2Client(proxy.outbound)
        for _ in range(10):
            started = time.monotonic()
            response = client.get("/", timeout=30)
            assert response.status == 502, response.status
            assert time.monotonic() - started < 5, "waited for a stream never sent"
        client.close()
        # Every connection to it was given up (GOAWAY, closed).
        wait_until(lambda: open_fds(proxy) <= before, timeout=10,
                   what=f"the proxy's descriptors back to {before} (now {open_fds(proxy)})")
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def nghttp2_blocks_past_the_session_cache_go_back_to_malloc():
    """With --http2-session-cache-bytes 0 every block nghttp2 frees goes back
    to malloc, counted; with the default, a few requests fill no cache."""
    backend = H2Backend("one")
    for flags, overflows in ((["--http2-session-cache-bytes", "0"], True), ([], False)):
        config, proxy = start(backend, *flags)
        try:
            for _ in range(5):
                assert served(proxy)
            counted = proxy.metric("limit_reached_total", direction="outbound",
                                   limit="http2_session_cache")
            assert (counted > 0) == overflows, (flags, counted)
        finally:
            proxy.stop()
            config.close()
    backend.close()


def main():
    run_main(TESTS, "proxy.http2_limits.", __doc__)


if __name__ == "__main__":
    main()
