#!/usr/bin/env python3
"""Mutual TLS between two real weft-proxy processes on loopback: a client
proxy (outbound) and a server proxy (inbound) in front of a real backend.

    client -> client proxy --mTLS--> relay --> server proxy -> backend

The relay between the proxies keeps every byte it passes, so a test can show
that no plaintext crossed. Certificates are made here (the `cryptography`
package: a trust anchor, leaves with SPIFFE URI SANs) and given to each proxy
with the test-only --test-credentials-dir (WEFT_PROXY_ALLOW_TEST_CREDENTIALS=1).

    mtls_test.py NAME     runs one test (ctest registers each as proxy.mtls.NAME)
    mtls_test.py --list   lists them
"""

import datetime
import hashlib
import json
import os
import shutil
import socket
import ssl
import tempfile
import threading

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from certificates import ca_usage, certificate, key_pem, name, new_key, pem
from h2_peers import H2Backend, H2Client
from harness import (Backend, EchoServer, MountedConfig, Proxy, TcpServer, closed_by_peer, connect,
                     read_response, request, run_main, wait_until)

TESTS = {}
TRUST_DOMAIN = "cluster.local"
SERVER_ID = f"spiffe://{TRUST_DOMAIN}/ns/test/sa/web"
CLIENT_ID = f"spiffe://{TRUST_DOMAIN}/ns/test/sa/front"
SERVICE_IP = "10.96.0.10"
ENV = {"WEFT_PROXY_ALLOW_TEST_CREDENTIALS": "1"}


def test(function):
    TESTS[function.__name__] = function
    return function


# ---- certificates ----------------------------------------------------------------

class Ca:
    def __init__(self, common_name):
        self.key = new_key()
        self.cert = certificate(
            name(common_name), self.key.public_key(), name(common_name), self.key,
            -datetime.timedelta(hours=1), datetime.timedelta(days=1),
            [(x509.BasicConstraints(ca=True, path_length=1), True), (ca_usage(), True)])
        self.pem = pem(self.cert)

    def leaf(self, spiffe_id, valid_from_hours=-1, valid_until_hours=1):
        """(chain PEM, key PEM) of a leaf for spiffe_id."""
        key = new_key()
        cert = certificate(
            x509.Name([]), key.public_key(), self.cert.subject, self.key,
            datetime.timedelta(hours=valid_from_hours), datetime.timedelta(hours=valid_until_hours),
            [(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(spiffe_id)]), True),
             (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                     ExtendedKeyUsageOID.CLIENT_AUTH]), False)])
        return pem(cert), key_pem(key)


def credentials_dir(ca, spiffe_id, anchors=None, **validity):
    chain, key = ca.leaf(spiffe_id, **validity)
    folder = tempfile.mkdtemp(prefix="weft-proxy-credentials-")
    for file_name, text in (("chain.pem", chain), ("key.pem", key),
                            ("anchors.pem", anchors or ca.pem)):
        with open(os.path.join(folder, file_name), "w") as f:
            f.write(text)
    return folder


# ---- documents -------------------------------------------------------------------

def mesh_document(anchors_pem, endpoint=None, identity=SERVER_ID, policies=(),
                  endpoint_fields=None, extra_endpoints=(), algorithm="PeakEWMA"):
    services = []
    if endpoint:
        ep = {"address": "127.0.0.1", "port": endpoint, **(endpoint_fields or {})}
        if identity:
            ep["identity"] = identity
        services.append({"name": "web", "clusterIPs": [SERVICE_IP], "ports": [{
            "port": 80, "endpoints": [ep, *extra_endpoints],
            "loadBalancer": {"algorithm": algorithm}, "rules": [], "matches": []}]})
    body = {"version": 1, "namespace": "test", "outbound": {"services": services},
            "inbound": {"policies": list(policies)},
            "identity": {"trustDomain": TRUST_DOMAIN, "trustAnchorsPem": anchors_pem}}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    body["hash"] = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


STRICT = {"name": "strict", "podSelector": {}, "ports": [], "mtls": {"mode": "Strict"}}


# ---- a relay that keeps what crosses it --------------------------------------------

class Relay(TcpServer):
    """Forwards each connection to `target_port`, keeping every byte it passes."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.seen_lock = threading.Lock()
        self.seen = b""
        super().__init__(self._relay, backlog=64)

    def _relay(self, a):
        with a, socket.create_connection(("127.0.0.1", self.target_port)) as b:
            back = threading.Thread(target=self._pipe, args=(b, a), daemon=True)
            back.start()
            self._pipe(a, b)
            back.join()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                with self.seen_lock:
                    self.seen += data
                dst.sendall(data)
        except OSError:
            pass


# ---- the two proxies ---------------------------------------------------------------

class Mesh:
    """A server proxy in front of `app_port`, a relay, and a client proxy whose
    document sends SERVICE_IP:80 to the server proxy as a meshed endpoint."""

    def __init__(self, app_port, ca, server_ca=None, server_validity=None, expected=SERVER_ID,
                 server_policies=(), client_flags=(), server_flags=(), server_lists_itself=False,
                 client_id=CLIENT_ID, client_endpoint_fields=None, client_document=None):
        self.dirs, self.configs = [], []
        server_ca = server_ca or ca
        # As the operator writes it, the server's own document may list the
        # server pod itself (its app's address) as a meshed endpoint.
        self.server_config = self._config(mesh_document(
            ca.pem, endpoint=app_port if server_lists_itself else None, policies=server_policies))
        server_creds = self._dir(credentials_dir(server_ca, SERVER_ID, anchors=ca.pem,
                                                 **(server_validity or {})))
        self.server = Proxy(self.server_config.path, "--inbound-fallback",
                            f"127.0.0.1:{app_port}", "--test-credentials-dir", server_creds,
                            *server_flags, env=ENV)
        self.relay = Relay(self.server.inbound)
        client_config = self._config(mesh_document(ca.pem, endpoint=self.relay.port,
                                                   identity=expected,
                                                   endpoint_fields=client_endpoint_fields,
                                                   **(client_document or {})))
        client_creds = self._dir(credentials_dir(ca, client_id))
        self.client = Proxy(client_config.path, "--outbound-fallback", f"{SERVICE_IP}:80",
                            "--test-credentials-dir", client_creds, *client_flags, env=ENV)

    def _config(self, text):
        config = MountedConfig()
        config.write(text)
        self.configs.append(config)
        return config

    def _dir(self, folder):
        self.dirs.append(folder)
        return folder

    def close(self):
        self.client.stop()
        self.server.stop()
        self.relay.close()
        for config in self.configs:
            config.close()
        for folder in self.dirs:
            shutil.rmtree(folder, ignore_errors=True)


def assert_encrypted(relay, plaintext):
    seen = relay.seen
    assert seen, "nothing crossed the relay"
    assert seen[0] == 0x16, f"the first byte between the proxies is not TLS: {seen[:16]!r}"
    assert plaintext not in seen, f"{plaintext!r} crossed the relay in plaintext"


# ---- tests -----------------------------------------------------------------------

@test
def http_between_two_proxies_is_mtls():
    backend = Backend("app")
    ca = Ca("anchor")
    mesh = Mesh(backend.port, ca)
    try:
        for i in range(5):
            status, _, body = request(mesh.client.outbound, f"/secret-path-{i}")
            assert status == 200, (status, body)
        sock = connect(mesh.client.outbound)
        for i in range(20):  # kept alive: one handshake, many requests
            status, _, _ = request(mesh.client.outbound, "/kept", sock=sock)
            assert status == 200
        sock.close()
        assert len(backend.requests) == 25
        assert_encrypted(mesh.relay, b"secret-path")
        assert_encrypted(mesh.relay, b"HTTP/1.1")
        assert mesh.server.metric("tcp_tls_connections_total", direction="inbound", tls="true",
                                  client_id=CLIENT_ID) >= 1
        assert mesh.client.metric("tcp_tls_connections_total", direction="outbound",
                                  tls="true", server_id=SERVER_ID) >= 1
        # The pool reused the mTLS connection: fewer handshakes than requests.
        handshakes = mesh.server.metric("tcp_tls_connections_total", direction="inbound",
                                        tls="true")
        assert handshakes < 10, handshakes
        assert mesh.server.metric("tls_handshake_failures_total") == 0
        # The HTTP metrics name the peers too (Linkerd's labels): every request
        # on each side, under the identity the other side proved.
        for name in ("request_total", "response_total", "response_latency_ms_count"):
            assert mesh.server.metric(name, direction="inbound", tls="true", no_tls_reason="",
                                      client_id=CLIENT_ID, server_id="") == 25, name
            assert mesh.client.metric(name, direction="outbound", tls="true", no_tls_reason="",
                                      client_id="", server_id=SERVER_ID) == 25, name
        assert mesh.server.metric("request_total", tls="no_identity") == 0
        assert mesh.client.metric("request_total", tls="no_identity") == 0
        # The server proxy's requests to its own app are no outbound connections.
        assert mesh.server.metric("tcp_tls_connections_total", direction="outbound") == 0
    finally:
        mesh.close()
        backend.close()


@test
def http2_between_two_proxies_is_mtls_on_one_connection():
    app = H2Backend("app")
    ca = Ca("anchor")
    mesh = Mesh(app.port, ca)
    try:
        client = H2Client(mesh.client.outbound)
        for _ in range(3):
            ids = [client.start(f"/secret-path-{i}") for i in range(20)]
            for stream_id in ids:
                response = client.wait(stream_id)
                assert response.status == 200 and response.headers["x-backend"] == "app"
        body = os.urandom(300_000)
        response = client.wait(client.start("/echo", method="POST", body=body), timeout=30)
        assert bytes(response.body) == body and response.trailers == {"x-echo-trailer": "yes"}
        client.close()
        assert_encrypted(mesh.relay, b"secret-path")
        # One mTLS connection between the proxies carried every stream, and
        # the server proxy's HTTP/2 detection read it inside the TLS.
        assert mesh.server.metric("tcp_tls_connections_total", direction="inbound",
                                  tls="true", client_id=CLIENT_ID) == 1
        assert mesh.server.metric("protocol_detect_total", direction="inbound",
                                  protocol="http2") == 1
        assert mesh.server.metric("request_total", direction="inbound", tls="true",
                                  client_id=CLIENT_ID) == 61
        assert mesh.client.metric("request_total", direction="outbound", tls="true",
                                  server_id=SERVER_ID) == 61
        assert app.connections == 1
    finally:
        mesh.close()
        app.close()


@test
def inbound_reaches_its_app_in_plaintext_when_the_document_lists_it_as_meshed():
    backend = Backend("app")
    ca = Ca("anchor")
    mesh = Mesh(backend.port, ca, server_lists_itself=True)
    try:
        for i in range(3):
            status, _, body = request(mesh.client.outbound, f"/self-{i}")
            assert status == 200, (status, body)
        assert len(backend.requests) == 3
        assert mesh.server.metric("tcp_tls_connections_total", direction="outbound", tls="true") == 0
    finally:
        mesh.close()
        backend.close()


@test
def opaque_tcp_between_two_proxies_is_mtls():
    echo = EchoServer()
    ca = Ca("anchor")
    mesh = Mesh(echo.port, ca)
    try:
        sock = connect(mesh.client.outbound)
        sock.sendall(b"\x00opaque-secret\n")  # not HTTP: a tunnel
        received = b""
        while b"opaque-secret" not in received:
            chunk = sock.recv(4096)
            assert chunk, f"closed after {received!r}"
            received += chunk
        assert received.startswith(b"echo:")
        # A half-close passes through TLS (close_notify) and the answer still comes.
        sock.sendall(b"\x00last")
        sock.shutdown(socket.SHUT_WR)
        rest = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            rest += chunk
        assert b"last" in rest, rest
        sock.close()
        assert_encrypted(mesh.relay, b"opaque-secret")
        assert mesh.server.metric("tcp_tls_connections_total", direction="inbound", tls="true",
                                  client_id=CLIENT_ID) >= 1
        # Nor is the tunnel to its own app.
        assert mesh.server.metric("tcp_tls_connections_total", direction="outbound") == 0
    finally:
        mesh.close()
        echo.close()


@test
def an_idle_mtls_tunnel_is_closed_at_the_idle_limit():
    echo = EchoServer()
    ca = Ca("anchor")
    mesh = Mesh(echo.port, ca, server_flags=("--tunnel-idle-timeout", "1s"))
    try:
        sock = connect(mesh.client.outbound)
        sock.sendall(b"\x00ping")
        assert sock.recv(4096).startswith(b"echo:")
        # Idle both ways: the server proxy cuts its side of the TLS tunnel,
        # and the client proxy passes the end on.
        assert closed_by_peer(sock, timeout=20)
        sock.close()
        # Counted once the tunnel's coroutines ended, a moment after the close.
        wait_until(lambda: mesh.server.metric("limit_reached_total", direction="inbound",
                                              limit="tunnel_idle_timeout") == 1,
                   what="the idle cut counted")
    finally:
        mesh.close()
        echo.close()


# Each refused server, as the client proxy sees it: the Mesh's arguments (made
# when the test runs) and the reason counted in tls_handshake_failures_total.
REFUSALS = {
    "wrong_anchor_is_refused": ("unknown_authority", lambda: {"server_ca": Ca("another anchor")}),
    "wrong_identity_is_refused": (
        "wrong_identity", lambda: {"expected": f"spiffe://{TRUST_DOMAIN}/ns/test/sa/db"}),
    "expired_certificate_is_refused": (
        "expired", lambda: {"server_validity": {"valid_from_hours": -3, "valid_until_hours": -1}}),
}


def refusal_test(reason, mesh_arguments):
    def run():
        backend = Backend("app")
        mesh = Mesh(backend.port, Ca("anchor"), **mesh_arguments())
        try:
            status, _, _ = request(mesh.client.outbound, "/")
            assert status == 502, status
            wait_until(lambda: mesh.client.metric("tls_handshake_failures_total",
                                                  direction="outbound", reason=reason) >= 1,
                       what=f"outbound handshake failure {reason}")
            assert not backend.requests
        finally:
            mesh.close()
            backend.close()
    return run


for _name, (_reason, _arguments) in REFUSALS.items():
    TESTS[_name] = refusal_test(_reason, _arguments)


@test
def a_client_of_another_trust_domain_is_refused():
    # Its leaf chains to the server's anchor: only the trust domain tells.
    backend = Backend("app")
    foreign = "spiffe://other.example/ns/test/sa/front"
    mesh = Mesh(backend.port, Ca("anchor"), client_id=foreign)
    try:
        status, _, _ = request(mesh.client.outbound, "/")
        assert status >= 500, status
        wait_until(lambda: mesh.server.metric("tls_handshake_failures_total", direction="inbound",
                                              reason="wrong_trust_domain") >= 1,
                   what="inbound handshake failure wrong_trust_domain")
        assert not backend.requests
        assert mesh.server.metric("tcp_tls_connections_total", direction="inbound",
                                  tls="true") == 0
        wait_until(lambda: "another trust domain" in mesh.server.output()
                   and foreign in mesh.server.output(), what="the refusal logged")
    finally:
        mesh.close()
        backend.close()


@test
def a_client_hello_in_one_byte_records_past_the_bound_is_the_apps():
    # A handshake message announcing 3 KiB, one byte per record: past the
    # 16 KiB bound on the records, it is refused as a hello and counted, and
    # its bytes reach the app as opaque TCP (Permissive).
    echo = EchoServer()
    mesh = Mesh(echo.port, Ca("anchor"))
    try:
        message = b"\x01\x00\x0c\x00" + b"\x00" * 3072
        records = b"".join(b"\x16\x03\x01\x00\x01" + message[i:i + 1]
                           for i in range(len(message)))
        assert len(records) > 16 * 1024
        sock = connect(mesh.server.inbound)
        sock.sendall(records)
        received = b""
        while len(received) < 64:
            chunk = sock.recv(65536)
            assert chunk, f"closed after {received!r}"
            received += chunk
        assert received.startswith(b"echo:\x16\x03\x01\x00\x01\x01"), received[:16]
        sock.close()
        wait_until(lambda: mesh.server.metric("limit_reached_total", direction="inbound",
                                              limit="client_hello_size") == 1,
                   what="the oversized hello counted")
        assert mesh.server.metric("tls_handshake_failures_total") == 0
    finally:
        mesh.close()
        echo.close()


@test
def applications_own_tls_passes_through():
    ca = Ca("anchor")
    # The application's own TLS server (its certificate is not the mesh's).
    app_ca = Ca("app")
    chain, key = app_ca.leaf("spiffe://elsewhere/app")
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "c.pem"), "w") as f:
        f.write(chain)
    with open(os.path.join(folder, "k.pem"), "w") as f:
        f.write(key)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(os.path.join(folder, "c.pem"), os.path.join(folder, "k.pem"))
    echo = EchoServer(tls_context=server_tls)
    mesh = Mesh(echo.port, ca)
    try:
        client_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_tls.load_verify_locations(cadata=app_ca.pem)
        client_tls.check_hostname = False
        client_tls.set_alpn_protocols(["h2", "http/1.1"])
        raw = connect(mesh.server.inbound)
        tls = client_tls.wrap_socket(raw)
        tls.sendall(b"hello")
        assert tls.recv(4096) == b"echo:hello"
        tls.close()
        assert mesh.server.metric("tcp_tls_connections_total", direction="inbound",
                                  tls="no_identity") >= 1
        assert mesh.server.metric("tcp_tls_connections_total", direction="outbound") == 0
        assert mesh.server.metric("tls_handshake_failures_total") == 0
    finally:
        mesh.close()
        echo.close()
        shutil.rmtree(folder, ignore_errors=True)


@test
def strict_refuses_plaintext_and_permissive_accepts_it():
    backend = Backend("app")
    ca = Ca("anchor")
    permissive = Mesh(backend.port, ca)
    strict = Mesh(backend.port, ca, server_policies=[STRICT])
    try:
        status, _, _ = request(permissive.server.inbound, "/plain")
        assert status == 200
        assert len(backend.requests) == 1
        assert permissive.server.metric("response_total", direction="inbound", tls="no_identity",
                                        no_tls_reason="no_tls_from_remote", client_id="",
                                        status_code="200") == 1
        # Strict: a plaintext client is closed before any byte reaches the app.
        sock = connect(strict.server.inbound)
        sock.sendall(b"GET /plain HTTP/1.1\r\nHost: test\r\n\r\n")
        assert closed_by_peer(sock)
        sock.close()
        assert strict.server.metric("mtls_strict_refused_total", reason="plaintext") == 1
        assert len(backend.requests) == 1
        # ... and a meshed client over mTLS gets through.
        status, _, _ = request(strict.client.outbound, "/meshed")
        assert status == 200
        assert strict.server.metric("request_total", direction="inbound", tls="true",
                                    client_id=CLIENT_ID) == 1
        assert [path for _, path, _ in backend.requests] == ["/plain", "/meshed"]
    finally:
        permissive.close()
        strict.close()
        backend.close()


@test
def strict_serves_the_kubelets_probes_in_plaintext_and_nothing_else():
    backend = Backend("app")
    ca = Ca("anchor")
    probes = f"{backend.port}/healthz {backend.port}/ready?full=1"
    strict = Mesh(backend.port, ca, server_policies=[STRICT],
                  server_flags=("--inbound-probes", probes))
    try:
        # The kubelet's probes, as it sends them: plaintext, to the pod's port.
        for method, target in (("GET", "/healthz"), ("HEAD", "/healthz"),
                               ("GET", "/ready?full=1")):
            status, _, _ = request(strict.server.inbound, target, method=method)
            assert status == 200, (method, target, status)
        # A spelling of a probe path is what gets forwarded: the probe itself.
        status, _, _ = request(strict.server.inbound, "/x/../heal%74hz")
        assert status == 200, status
        assert [(m, p) for m, p, _ in backend.requests] == [
            ("GET", "/healthz"), ("HEAD", "/healthz"), ("GET", "/ready?full=1"),
            ("GET", "/healthz")]
        # Anything else in plaintext: 403, saying why, and the connection closed.
        refused = [("GET", "/healthz/admin"), ("GET", "/ready"), ("GET", "/ready?full=1&x=2"),
                   ("GET", "/health"), ("POST", "/healthz"), ("GET", "/")]
        for method, target in refused:
            sock = connect(strict.server.inbound)
            status, _, body = request(strict.server.inbound, target, method=method, sock=sock,
                                      body=b"data" if method == "POST" else b"")
            assert status == 403, (method, target, status)
            assert b"mTLS is required" in body, body
            assert closed_by_peer(sock)
            sock.close()
        # A probe after a refused request on one connection never gets the chance.
        sock = connect(strict.server.inbound)
        sock.sendall(b"GET /secret HTTP/1.1\r\nHost: t\r\n\r\n"
                     b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        status, _, _, _ = read_response(sock)
        assert status == 403
        assert closed_by_peer(sock)
        sock.close()
        assert len(backend.requests) == 4, backend.requests
        assert strict.server.metric("mtls_strict_refused_total",
                                    reason="not_a_probe") == len(refused) + 1
        # Not HTTP on a port with probes: refused as before, unserved.
        sock = connect(strict.server.inbound)
        sock.sendall(b"\x00not http\n")
        assert closed_by_peer(sock)
        sock.close()
        wait_until(lambda: strict.server.metric("mtls_strict_refused_total",
                                                reason="plaintext") == 1,
                   what="the non-HTTP connection counted")
        # A meshed client over mTLS is not limited to the probes.
        status, _, _ = request(strict.client.outbound, "/anything", method="POST", body=b"x")
        assert status == 200, status
        assert backend.requests[-1][:2] == ("POST", "/anything")
    finally:
        strict.close()
        backend.close()


@test
def strict_switched_on_under_an_open_h2c_connection_ends_it():
    """Permissive, a plaintext h2c client opens a connection; then Strict.
    The next stream on that connection is refused, the kubelet's probe
    paths included (the kubelet never probes over HTTP/2), and the
    connection gets GOAWAY: it takes no new stream."""
    app = H2Backend("app")
    ca = Ca("anchor")
    mesh = Mesh(app.port, ca, server_flags=("--inbound-probes", f"{app.port}/healthz"))
    try:
        client = H2Client(mesh.server.inbound)
        assert client.get("/healthz").status == 200
        before = mesh.server.metric("config_reload_total", result="accepted")
        mesh.server_config.write(mesh_document(ca.pem, policies=[STRICT]))
        wait_until(lambda: mesh.server.metric("config_reload_total", result="accepted") > before,
                   what="the Strict document accepted")
        served = len(app.requests)
        response = client.get("/healthz")
        assert response.status == 403, response.status
        client.pump(lambda: client.goaway is not None, timeout=5)
        assert len(app.requests) == served, app.requests[served:]
        assert mesh.server.metric("http2_goaway_sent_total", direction="inbound",
                                  reason="refused") == 1
        client.close()
    finally:
        mesh.close()
        app.close()


@test
def no_credentials_is_no_plaintext_fallback():
    backend = Backend("app")
    ca = Ca("anchor")
    mesh = Mesh(backend.port, ca)
    # A second client proxy with the same document but no credentials.
    config = MountedConfig()
    config.write(mesh_document(ca.pem, endpoint=mesh.relay.port))
    bare = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80")
    try:
        status, _, _ = request(bare.outbound, "/")
        assert status == 502, status
        assert bare.metric("tls_handshake_failures_total", direction="outbound",
                           reason="no_credentials") >= 1
        # Its metrics say why the meshed endpoint was not reached over mTLS.
        assert bare.metric("response_total", direction="outbound", tls="no_identity",
                           no_tls_reason="no_credentials", server_id="", status_code="502") == 1
        assert bare.metric("request_total", tls="true") == 0
        assert not backend.requests
        assert not mesh.relay.seen
    finally:
        bare.stop()
        config.close()
        mesh.close()
        backend.close()


def main():
    run_main(TESTS, "proxy.mtls.", __doc__)


if __name__ == "__main__":
    main()
