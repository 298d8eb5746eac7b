#!/usr/bin/env python3
"""weft-proxy's HTTP/2 limits that a client meets without attacking, against a
real weft-proxy: a header list past the limit resets its stream and the
connection goes on; the concurrent stream limit is announced and holds. (The
attacks, each with a bystander client and a memory bound, are in
h2_attack_test.py.)

Usage: http2_limits_test.py --list | <test name>   (WEFT_PROXY_BINARY: the binary)"""

from harness import run_main, MountedConfig, Proxy, document, service
from h2_peers import H2Backend, H2Client

SERVICE_IP = "10.96.0.10"
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


def main():
    run_main(TESTS, "proxy.http2_limits.", __doc__)


if __name__ == "__main__":
    main()
