#!/usr/bin/env python3
"""weft-proxy's pool of upstream connections is safe: real backends on loopback
that close idle keep-alive connections, send stray bytes after a response, or
break a connection in the middle of a response; idle expiry, the per-endpoint
cap, and endpoints that leave the document.

    connection_pool_test.py NAME     runs one test (ctest: proxy.connection_pool.NAME)
    connection_pool_test.py --list   lists them"""

import os
import socket
import sys
import threading
import time

from harness import (Backend, MountedConfig, Proxy, TcpServer, document, request, run_main, run_test,
                     service, wait_until)

TESTS = {}
SERVICE_IP = "10.96.0.10"  # only a lookup key: the fallback destination names it


def test(function):
    TESTS[function.__name__] = function
    return function


class RawBackend:
    """An HTTP/1.1 server written on raw sockets, so a test can misbehave exactly.
    `respond(sock, number, path)` answers the number-th request (1-based) of a
    connection and returns False to close it. A connection idle for `idle_close`
    seconds is closed by the server (as Node's 5 s keep-alive timeout does)."""

    def __init__(self, respond, idle_close=None, delay=0.0):
        self.respond, self.idle_close, self.delay = respond, idle_close, delay
        self.lock = threading.Lock()
        self.paths, self.open, self.closed_by_client = [], 0, 0
        self.server = TcpServer(self._one, backlog=128)
        self.port = self.server.port

    @property
    def connections(self):
        with self.server.lock:
            return self.server.accepted

    def _one(self, conn):
        with self.lock:
            self.open += 1
        number, data = 0, b""
        try:
            conn.settimeout(self.idle_close)
            while True:
                while b"\r\n\r\n" not in data:
                    try:
                        chunk = conn.recv(65536)
                    except socket.timeout:
                        return  # idle: the server closes it
                    if not chunk:
                        with self.lock:
                            self.closed_by_client += 1
                        return
                    data += chunk
                head, data = data.split(b"\r\n\r\n", 1)
                path = head.split(b" ")[1].decode()
                number += 1
                with self.lock:
                    self.paths.append(path)
                if self.delay:
                    time.sleep(self.delay)
                if not self.respond(conn, number, path):
                    return
        except OSError:
            return
        finally:
            conn.close()
            with self.lock:
                self.open -= 1

    def count(self, attribute):
        with self.lock:
            return getattr(self, attribute)

    def close(self):
        self.server.close()


def ok(conn, body):
    body = body.encode()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def echo_path(conn, number, path):
    ok(conn, path)
    return True


def fallback_proxy(backend, *flags):
    return Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{backend.port}",
                 *flags)


def concurrently(port, paths):
    results = [None] * len(paths)

    def one(i):
        results[i] = request(port, paths[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@test
def connections_the_server_closed_while_idle_are_never_reused():
    # Three pooled connections the server closes 50 ms after their response;
    # the next request comes within half a second of their last use.
    backend = RawBackend(echo_path, idle_close=0.05, delay=0.3)
    proxy = fallback_proxy(backend)
    results = concurrently(proxy.outbound, ["/a", "/b", "/c"])
    assert [r[0] for r in results] == [200, 200, 200], results
    assert backend.count("connections") == 3
    wait_until(lambda: backend.count("open") == 0, what="the server to close its idle connections")
    status, _, body = request(proxy.outbound, "/next")
    assert (status, body) == (200, b"/next"), (status, body)
    assert proxy.metric("upstream_pool_closed_total", reason="closed_by_server") >= 1
    # Sequential requests slower than the server's idle close: each one fine.
    for i in range(4):
        time.sleep(0.2)
        assert request(proxy.outbound, f"/slow{i}")[:3:2] == (200, f"/slow{i}".encode())
    backend.close()


@test
def stray_bytes_after_a_response_do_not_desync_the_next_request():
    def respond_then_stray(conn, number, path):
        ok(conn, path)
        time.sleep(0.05)  # after the proxy has relayed the response and pooled the connection
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray")
        return True

    backend = RawBackend(respond_then_stray)
    proxy = fallback_proxy(backend)
    assert request(proxy.outbound, "/one")[:3:2] == (200, b"/one")
    time.sleep(0.3)  # the stray bytes are in; the connection was used a moment ago
    status, _, body = request(proxy.outbound, "/two")
    assert (status, body) == (200, b"/two"), (status, body)  # its own response, not "stray"
    assert proxy.metric("upstream_pool_closed_total", reason="stray_bytes") >= 1
    backend.close()


@test
def a_reused_connection_broken_after_response_bytes_is_not_retried():
    def break_second(conn, number, path):
        if number == 1:
            ok(conn, path)
            return True
        conn.sendall(b"HTTP/1.1 200 OK\r\n")  # the server acted on it, then broke
        return False

    backend = RawBackend(break_second)
    proxy = fallback_proxy(backend)
    assert request(proxy.outbound, "/first")[:3:2] == (200, b"/first")
    status, _, _ = request(proxy.outbound, "/charge")
    assert status == 502, status
    assert backend.count("paths").count("/charge") == 1, backend.count("paths")  # sent once
    assert proxy.metric("upstream_retry_on_new_connection_total") == 0


@test
def a_reused_connection_that_fails_before_any_response_byte_is_retried_once_on_a_new_one():
    # The server reads the request and closes without answering (it was shutting
    # the connection down): every pooled connection is bad, yet one retry suffices.
    def close_second(conn, number, path):
        if number == 1:
            ok(conn, path)
            return True
        return False

    backend = RawBackend(close_second, delay=0.3)
    proxy = fallback_proxy(backend)
    assert [r[0] for r in concurrently(proxy.outbound, ["/a", "/b", "/c"])] == [200] * 3
    status, _, body = request(proxy.outbound, "/again")
    assert (status, body) == (200, b"/again"), (status, body)
    assert proxy.metric("upstream_retry_on_new_connection_total") == 1
    # The retry is not a policy retry: no budget, no retry_total.
    assert proxy.metric("retry_total") == 0
    backend.close()


@test
def a_post_on_a_reused_connection_that_fails_is_not_sent_again():
    # The server may have acted on a POST before the connection broke: unlike
    # the GET above, it must not reach the server twice.
    def close_second(conn, number, path):
        if number == 1:
            ok(conn, path)
            return True
        return False

    backend = RawBackend(close_second)
    proxy = fallback_proxy(backend)
    assert request(proxy.outbound, "/first")[0] == 200
    status, _, _ = request(proxy.outbound, "/order", method="POST")
    assert status == 502, status
    assert backend.count("paths").count("/order") == 1, backend.count("paths")
    assert proxy.metric("upstream_retry_on_new_connection_total") == 0
    backend.close()


@test
def idle_pooled_connections_expire():
    backend = RawBackend(echo_path)
    proxy = fallback_proxy(backend, "--pool-idle-timeout", "500ms")
    assert request(proxy.outbound, "/")[0] == 200
    wait_until(lambda: backend.count("closed_by_client") == 1, timeout=10,
               what="the proxy to close the idle connection")
    assert proxy.metric("upstream_pool_closed_total", reason="idle_expired") == 1
    assert request(proxy.outbound, "/later")[:3:2] == (200, b"/later")  # a new connection
    assert backend.count("connections") == 2
    backend.close()


@test
def idle_connections_per_endpoint_are_capped():
    backend = RawBackend(echo_path, delay=0.5)
    proxy = fallback_proxy(backend, "--pool-max-idle-per-endpoint", "2")
    results = concurrently(proxy.outbound, [f"/{i}" for i in range(5)])
    assert [r[0] for r in results] == [200] * 5, results
    assert backend.count("connections") == 5
    # The backend counts a close, then ends the connection's thread: both.
    wait_until(lambda: backend.count("closed_by_client") == 3 and backend.count("open") == 2,
               what="the connections over the cap to be closed")
    assert proxy.metric("upstream_pool_closed_total", reason="over_cap") == 3
    backend.close()


@test
def connections_to_an_endpoint_that_left_the_document_are_closed():
    leaving, staying = RawBackend(echo_path), Backend("staying")
    config = MountedConfig()
    config.write(document([service("web", SERVICE_IP, 80, [("127.0.0.1", leaving.port)])]))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        assert request(proxy.outbound, "/")[:3:2] == (200, b"/")
        assert leaving.count("open") == 1  # pooled
        config.write(document([service("web", SERVICE_IP, 80, [("127.0.0.1", staying.port)])]))
        wait_until(lambda: leaving.count("closed_by_client") == 1, timeout=15,
                   what="the proxy to close the connection to the removed endpoint")
        assert proxy.metric("upstream_pool_closed_total", reason="endpoint_removed") == 1
        assert request(proxy.outbound, "/")[:3:2] == (200, b"staying")
    finally:
        leaving.close()
        staying.close()
        config.close()


def main():
    run_main(TESTS, "proxy.connection_pool.", __doc__)


if __name__ == "__main__":
    main()
