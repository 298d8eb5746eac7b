#!/usr/bin/env python3
"""weft-proxy's HTTP/1 edge cases against a scripted upstream on loopback:
the cap on interim responses, a response with transfer codings before
chunked, a Connection header naming Host, and the normalised path.

    http1_gaps_test.py NAME     runs one test (ctest registers each as proxy.http1_gaps.NAME)
    http1_gaps_test.py --list   lists them"""

import os
import sys

from harness import Proxy, TcpServer, connect, read_response, run_main, run_test

TESTS = {}


def test(function):
    TESTS[function.__name__] = function
    return function


class ScriptedUpstream(TcpServer):
    """Reads each request head, records it, and answers with `answer` (bytes),
    then closes the connection."""

    def __init__(self, answer):
        self.answer = answer
        self.heads = []
        super().__init__(self._one)

    def _one(self, conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            self.heads.append(data.split(b"\r\n\r\n", 1)[0].decode("latin-1"))
            try:
                conn.sendall(self.answer)
            except OSError:
                pass


def proxy_to(upstream, *flags):
    return Proxy("/nonexistent/config.json", "--outbound-fallback", f"127.0.0.1:{upstream.port}",
                 *flags)


def send(port, raw):
    sock = connect(port)
    sock.sendall(raw)
    return sock


def read_all(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


@test
def interim_responses_are_capped():
    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
    final = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    upstream = ScriptedUpstream(hints * 5 + final)
    proxy = proxy_to(upstream, "--max-interim-responses", "3")
    try:
        with send(proxy.outbound, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n") as sock:
            sock.settimeout(10)
            text = read_all(sock).decode("latin-1")
        assert text.count("HTTP/1.1 103") == 3, text
        assert "HTTP/1.1 502" in text and "HTTP/1.1 200" not in text, text
        assert proxy.metric("interim_limit_total", direction="outbound") == 1
    finally:
        proxy.stop()
        upstream.close()
    # Within the default limit, every hint and the final response are relayed.
    upstream = ScriptedUpstream(hints * 5 + final)
    proxy = proxy_to(upstream)
    try:
        with send(proxy.outbound, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n") as sock:
            sock.settimeout(10)
            text = read_all(sock).decode("latin-1")
        assert text.count("HTTP/1.1 103") == 5 and "HTTP/1.1 200" in text, text
        assert proxy.metric("interim_limit_total", direction="outbound") == 0
    finally:
        proxy.stop()
        upstream.close()


@test
def gzip_chunked_response_is_relayed():
    body = b"\x1f\x8b\x08\x00not-really-gzip"
    answer = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n"
              + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    upstream = ScriptedUpstream(answer)
    proxy = proxy_to(upstream)
    try:
        with send(proxy.outbound, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n") as sock:
            sock.settimeout(10)
            data = read_all(sock)
        head, rest = data.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200"), data
        assert b"Transfer-Encoding: gzip, chunked" in head, head
        decoded, chunks = b"", rest
        while True:
            size_line, chunks = chunks.split(b"\r\n", 1)
            size = int(size_line, 16)
            if size == 0:
                break
            decoded += chunks[:size]
            chunks = chunks[size + 2:]
        assert decoded == body, decoded
        # An HTTP/1.0 client cannot decode transfer codings: 502, not a corrupt body.
        with send(proxy.outbound, b"GET / HTTP/1.0\r\n\r\n") as sock:
            sock.settimeout(10)
            status, _, _, _ = read_response(sock)
        assert status == 502, status
    finally:
        proxy.stop()
        upstream.close()


@test
def connection_header_keeps_host():
    upstream = ScriptedUpstream(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
    proxy = proxy_to(upstream)
    try:
        raw = b"GET /x HTTP/1.1\r\nHost: svc.example\r\nConnection: close, host, x-hop\r\nX-Hop: 1\r\n\r\n"
        with send(proxy.outbound, raw) as sock:
            sock.settimeout(10)
            status, _, _, _ = read_response(sock)
        assert status == 204, status
        head = upstream.heads[-1]
        assert "\r\nHost: svc.example" in head, head
        assert "X-Hop" not in head, head
    finally:
        proxy.stop()
        upstream.close()


@test
def paths_are_normalised_or_refused():
    upstream = ScriptedUpstream(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
    proxy = proxy_to(upstream)
    try:
        raw = b"GET /a/%2e%2e//b/./c/../%7Ed?q=/../x HTTP/1.1\r\nHost: a\r\n\r\n"
        with send(proxy.outbound, raw) as sock:
            sock.settimeout(10)
            status, _, _, _ = read_response(sock)
        assert status == 204, status
        assert upstream.heads[-1].startswith("GET /b/~d?q=/../x HTTP/1.1\r\n"), upstream.heads
        seen = len(upstream.heads)
        for target in (b"/admin%2Fsecret", b"/admin%5csecret", b"/admin\\secret"):
            with send(proxy.outbound, b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n") as sock:
                sock.settimeout(10)
                status, _, body, _ = read_response(sock)
            assert status == 400, (target, status, body)
        assert len(upstream.heads) == seen, upstream.heads  # none reached the upstream
        assert proxy.metric("response_total", direction="outbound", status_code="400") == 3
    finally:
        proxy.stop()
        upstream.close()


def main():
    run_main(TESTS, "proxy.http1_gaps.", __doc__)


if __name__ == "__main__":
    main()
