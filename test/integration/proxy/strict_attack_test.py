#!/usr/bin/env python3
"""Attacks on the Strict exemption for the kubelet's probes, against a real
weft-proxy in front of a real backend: whatever a plaintext client sends, the
app sees only GET/HEAD of the probe targets (and each spelling that reaches it
is forwarded as the probe itself).

    strict_attack_test.py NAME     runs one test
    strict_attack_test.py --list   lists them
"""

import re
import socket
import ssl

from harness import connect, run_main, wait_until
from mtls_test import STRICT, Backend, Ca, Mesh

TESTS = {}


def test(function):
    TESTS[function.__name__] = function
    return function


def exchange(port, raw):
    """Sends raw bytes on a new connection and reads until the proxy closes
    it: the status of each response, and whether it closed (within 5 s)."""
    sock = connect(port)
    data = b""
    closed = False
    try:
        sock.sendall(raw)
        sock.settimeout(5)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    finally:
        sock.close()
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", data)], closed


@test
def plaintext_tricks_reach_only_the_probes():
    backend = Backend("app")
    ca = Ca("anchor")
    probes = f"{backend.port}/healthz {backend.port}/ready?full=1"
    strict = Mesh(backend.port, ca, server_policies=[STRICT],
                  server_flags=("--inbound-probes", probes))
    port = strict.server.inbound
    host = b"Host: t\r\n"
    try:
        refused = {
            # a request smuggled after a probe, in one segment
            "pipelined": b"GET /healthz HTTP/1.1\r\n" + host + b"\r\n"
                         b"GET /secret HTTP/1.1\r\n" + host + b"\r\n",
            "pipelined after HEAD": b"HEAD /healthz HTTP/1.1\r\n" + host + b"\r\n"
                                    b"DELETE /secret HTTP/1.1\r\n" + host + b"\r\n",
            "after Content-Length: 0": b"GET /healthz HTTP/1.1\r\n" + host +
                                       b"Content-Length: 0\r\n\r\n"
                                       b"GET /secret HTTP/1.1\r\n" + host + b"\r\n",
            "HTTP/1.0 then another": b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                                     b"GET /secret HTTP/1.0\r\n\r\n",
        }
        for what, raw in refused.items():
            statuses, closed = exchange(port, raw)
            assert statuses == [200, 403], (what, statuses)
            assert closed, what
        alone = {
            "body in Content-Length": b"GET /healthz HTTP/1.1\r\n" + host +
                                      b"Content-Length: 33\r\n\r\n"
                                      b"GET /secret HTTP/1.1\r\nHost: t\r\n\r\n",
            "chunked body": b"GET /healthz HTTP/1.1\r\n" + host +
                            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                            b"GET /secret HTTP/1.1\r\n" + host + b"\r\n",
            "upgrade": b"GET /healthz HTTP/1.1\r\n" + host +
                       b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "absolute form": b"GET http://t/healthz HTTP/1.1\r\n" + host + b"\r\n",
            "asterisk": b"OPTIONS * HTTP/1.1\r\n" + host + b"\r\n",
            "case": b"GET /HEALTHZ HTTP/1.1\r\n" + host + b"\r\n",
            "lower-case method": b"get /healthz HTTP/1.1\r\n" + host + b"\r\n",
            "trailing slash": b"GET /healthz/ HTTP/1.1\r\n" + host + b"\r\n",
            "path parameter": b"GET /healthz;x=1 HTTP/1.1\r\n" + host + b"\r\n",
            "dot-dot-semicolon": b"GET /healthz/..;/secret HTTP/1.1\r\n" + host + b"\r\n",
            "fragment": b"GET /healthz#x HTTP/1.1\r\n" + host + b"\r\n",
            "extra query": b"GET /ready?full=1&x=2 HTTP/1.1\r\n" + host + b"\r\n",
            "query on a probe without one": b"GET /healthz?x=1 HTTP/1.1\r\n" + host + b"\r\n",
            "encoded query": b"GET /ready?full%3D1 HTTP/1.1\r\n" + host + b"\r\n",
            "CONNECT": b"CONNECT t:443 HTTP/1.1\r\n" + host + b"\r\n",
        }
        for what, raw in alone.items():
            statuses, closed = exchange(port, raw)
            assert statuses in ([], [400], [403], [501]), (what, statuses)
            # (CONNECT's 501 keeps the connection: each request is judged alone.)
            assert closed or statuses == [501], what
        malformed = {
            "encoded slash": b"GET /healthz%2f HTTP/1.1\r\n" + host + b"\r\n",
            "backslash": b"GET /x\\..\\healthz HTTP/1.1\r\n" + host + b"\r\n",
            "bare LF": b"GET /healthz HTTP/1.1\n" + host + b"\n",
            "obs-fold": b"GET /healthz HTTP/1.1\r\n" + host + b"X: a\r\n b\r\n\r\n",
            "CL and TE": b"GET /healthz HTTP/1.1\r\n" + host +
                         b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        }
        for what, raw in malformed.items():
            statuses, closed = exchange(port, raw)
            assert statuses in ([], [400], [403], [505]), (what, statuses)
            assert closed, what
        # Spellings of the probe: forwarded as the probe.
        for target in (b"//healthz", b"/./healthz", b"/%68ealthz", b"/secret/../healthz"):
            statuses, _ = exchange(port, b"GET " + target + b" HTTP/1.1\r\n" + host +
                                   b"Connection: close\r\n\r\n")
            assert statuses == [200], (target, statuses)
        paths = {path for _, path, _ in backend.requests}
        assert paths <= {"/healthz", "/ready?full=1"}, paths
        # TLS that is not a meshed client's: refused unserved.
        for alpn in (None, ["h2"], ["weft.io/mesh"]):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            if alpn:
                context.set_alpn_protocols(alpn)
            sock = connect(port)
            try:
                with context.wrap_socket(sock, server_hostname="t") as tls:
                    tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                    data = tls.recv(100)
                    assert not data, (alpn, data)
            except (ssl.SSLError, ConnectionResetError, OSError):
                pass
            finally:
                sock.close()
        wait_until(lambda: strict.server.metric("mtls_strict_refused_total",
                                                reason="plaintext") >= 2,
                   what="the non-mesh TLS connections refused")
        paths = {path for _, path, _ in backend.requests}
        assert paths <= {"/healthz", "/ready?full=1"}, paths
    finally:
        strict.close()
        backend.close()


def main():
    run_main(TESTS, "proxy.strict_attack.", __doc__)


if __name__ == "__main__":
    main()
