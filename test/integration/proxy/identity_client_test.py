#!/usr/bin/env python3
"""weft-proxy's identity client against a small HTTPS issuer written here
(Python's ssl module and the `cryptography` package): the issuer speaks the
protocol of docs/identity.md (POST /v1/certificates, a bearer token, a CSR,
a leaf chained to the anchors of the document), with lifetimes of seconds.

The proxy obtains its certificate at start (/ready flips from 503 to 200),
renews it before expiry, keeps serving on its certificate while the issuer
is down (retrying on a backoff, ready while the certificate is valid),
refuses an answer for another identity (keeping what it holds), takes an
anchor bundle that still trusts its certificate without a request and asks
again under anchors that do not, reads its token again for each request,
and stays plaintext-ready without `identity`.
issuance_latency measures proxy start -> certificate held over many starts.

    identity_client_test.py NAME     runs one test (ctest: proxy.identity_client.NAME)
    identity_client_test.py --list   lists them

Bounds on time are generous: the machine may be slow."""

import datetime
import hashlib
import http.server
import json
import os
import shutil
import ssl
import statistics
import tempfile
import threading
import time
import urllib.request

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from certificates import ca_usage, certificate, key_pem, leaf_usage, name, new_key, pem
from harness import Backend, MountedConfig, Proxy, run_main, wait_until

TESTS = {}
TRUST_DOMAIN = "cluster.local"
NAMESPACE, ACCOUNT = "test", "web"
SELF = f"spiffe://{TRUST_DOMAIN}/ns/{NAMESPACE}/sa/{ACCOUNT}"
SERVER_NAME = "weft-identity.weft-system.svc"


def test(function):
    TESTS[function.__name__] = function
    return function


# ---- a small issuer ------------------------------------------------------------

def _certificate(subject, public_key, issuer_name, issuer_key, lifetime, extensions):
    # X.509 strict (what the proxy checks) wants both key identifiers.
    return certificate(
        subject, public_key, issuer_name, issuer_key, -datetime.timedelta(seconds=1),
        datetime.timedelta(seconds=lifetime), extensions + [
            (x509.SubjectKeyIdentifier.from_public_key(public_key), False),
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False)])


class Pki:
    """A trust anchor and an issuer under it, ECDSA P-256 as weft-identity's."""

    def __init__(self):
        self.anchor_key = new_key()
        self.anchor = _certificate(
            name("weft root"), self.anchor_key.public_key(), name("weft root"),
            self.anchor_key, 3600,
            [(x509.BasicConstraints(ca=True, path_length=1), True), (ca_usage(), True)])
        self.issuer_key = new_key()
        self.issuer = _certificate(
            name("weft issuer"), self.issuer_key.public_key(), self.anchor.subject,
            self.anchor_key, 3600,
            [(x509.BasicConstraints(ca=True, path_length=0), True), (ca_usage(), True)])

    @property
    def anchors_pem(self):
        return pem(self.anchor)

    def leaf(self, public_key, uri, dns_names, lifetime, server=False):
        usages = [ExtendedKeyUsageOID.SERVER_AUTH] + ([] if server else
                                                      [ExtendedKeyUsageOID.CLIENT_AUTH])
        names = [x509.DNSName(dns_name) for dns_name in dns_names]
        if uri:
            names.append(x509.UniformResourceIdentifier(uri))
        return _certificate(
            x509.Name([]) if uri else name(dns_names[0]), public_key, self.issuer.subject,
            self.issuer_key, lifetime,
            [(x509.BasicConstraints(ca=False, path_length=None), True), (leaf_usage(), True),
             (x509.ExtendedKeyUsage(usages), False),
             (x509.SubjectAlternativeName(names), bool(uri))])


class Issuer:
    """POST /v1/certificates over TLS with a certificate for SERVER_NAME.
    mode: "ok" signs for the token's identity; "foreign" signs for another
    account; "down" answers 503; "huge" a 200 KB answer; "garbage" JSON that
    is not the answer; "hang" answers after 3 s."""

    def __init__(self, pki, token="t0ken", lifetime=60):
        self.pki, self.token, self.lifetime = pki, token, lifetime
        self.mode = "ok"
        self.issued = 0
        self.attempts = 0
        self.refused_tokens = 0
        self.lock = threading.Lock()
        self.dir = tempfile.mkdtemp(prefix="weft-identity-test-")
        key = new_key()
        serving = pki.leaf(key.public_key(), None, [SERVER_NAME], 3600, server=True)
        chain_path = os.path.join(self.dir, "serving.pem")
        key_path = os.path.join(self.dir, "serving.key")
        with open(chain_path, "w") as f:
            f.write(pem(serving) + pem(pki.issuer))
        with open(key_path, "w") as f:
            f.write(key_pem(key))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain_path, key_path)
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status, answer = issuer.answer(self.path, self.headers.get("Authorization", ""),
                                               body)
                self.reply(status, answer)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client that hangs up on a refused answer is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path, authorization, body):
        with self.lock:
            self.attempts += 1
            mode = self.mode
        if mode == "down":
            return 503, {"error": "not ready to issue"}
        if mode == "huge":
            return 200, {"certificate": "x" * 200_000}
        if mode == "garbage":
            return 200, ["not", "the", "answer"]
        if mode == "hang":
            time.sleep(3)
            return 503, {"error": "too late"}
        if path != "/v1/certificates":
            return 404, {"error": "not found"}
        if authorization != f"Bearer {self.token}":
            with self.lock:
                self.refused_tokens += 1
            return 401, {"error": "token refused"}
        try:
            csr = x509.load_pem_x509_csr(json.loads(body)["csr"].encode())
        except (ValueError, KeyError, TypeError):
            return 400, {"error": "malformed CSR"}
        if not csr.is_signature_valid:
            return 400, {"error": "bad CSR signature"}
        account = "admin" if mode == "foreign" else ACCOUNT
        uri = f"spiffe://{TRUST_DOMAIN}/ns/{NAMESPACE}/sa/{account}"
        dns = f"{account}.{NAMESPACE}.serviceaccount.identity.weft.{TRUST_DOMAIN}"
        leaf = self.pki.leaf(csr.public_key(), uri, [dns], self.lifetime)
        with self.lock:
            self.issued += 1
        return 200, {"certificate": pem(leaf), "chain": pem(self.pki.issuer),
                     "identity": uri,
                     "notAfter": leaf.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)  # its serving key


# ---- the proxy under test ----------------------------------------------------------

def identity_document(anchors_pem, services=()):
    body = {"version": 1, "namespace": NAMESPACE, "outbound": {"services": list(services)},
            "inbound": {"policies": []}}
    if anchors_pem is not None:
        body["identity"] = {"trustDomain": TRUST_DOMAIN, "trustAnchorsPem": anchors_pem}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    body["hash"] = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


class Setup:
    def __init__(self, lifetime=60, anchors=True, services=()):
        self.pki = Pki()
        self.issuer = Issuer(self.pki, lifetime=lifetime)
        self.dir = tempfile.mkdtemp(prefix="weft-proxy-identity-")
        self.mounted = MountedConfig()
        self.config = self.mounted.path
        self.mounted.write(identity_document(self.pki.anchors_pem if anchors else None, services))
        self.token_file = os.path.join(self.dir, "token")
        self.write_token("t0ken")

    def write_token(self, token):
        # Replaced whole, as the kubelet does (a new file renamed into place).
        with open(self.token_file + ".new", "w") as f:
            f.write(token + "\n")
        os.rename(self.token_file + ".new", self.token_file)

    def flags(self, *more):
        return ("--identity-address", f"127.0.0.1:{self.issuer.port}",
                "--identity-token-file", self.token_file, "--pod-namespace", NAMESPACE,
                "--service-account", ACCOUNT) + more

    def start(self, *more, **kwargs):
        return Proxy(self.config, *self.flags(*more), **kwargs)

    def close(self):
        self.issuer.close()
        self.mounted.close()
        shutil.rmtree(self.dir, ignore_errors=True)  # the token


def ready(proxy):
    return proxy.admin("/ready")[0] == 200


def refreshed(proxy):
    return proxy.metric("identity_cert_refresh_total", result="success")


def failed(proxy, reason):
    return proxy.metric("identity_cert_refresh_failure_total", reason=reason)


def log_time(line):
    return datetime.datetime.strptime(line["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def obtained_lines(proxy):
    return [json.loads(line) for line in proxy.output().splitlines()
            if '"identity certificate obtained"' in line]


# ---- tests --------------------------------------------------------------------------

@test
def obtains_certificate_at_start():
    setup = Setup(lifetime=600)
    setup.issuer.mode = "down"
    try:
        proxy = setup.start()
        # No certificate: not ready, and /ready says why.
        wait_until(lambda: failed(proxy, "status") >= 1, timeout=20, what="a refused request")
        status, body, _ = proxy.admin("/ready")
        assert status == 503 and "no identity certificate" in body, (status, body)
        setup.issuer.mode = "ok"
        wait_until(lambda: ready(proxy), timeout=60, what="ready once a certificate is held")
        assert refreshed(proxy) == 1
        assert setup.issuer.issued == 1
        line = obtained_lines(proxy)[0]
        assert line["identity"] == SELF, line
        # How long the request took and how long after the process started
        # the certificate came (after a refused first request: later than it).
        assert proxy.metric("identity_cert_issuance_duration_seconds_count") == 1
        assert 0 < line["duration_ms"] <= line["since_start_ms"], line
        assert 0 < proxy.metric("identity_cert_issuance_duration_seconds_sum") * 1000 < \
            line["duration_ms"] + 1, line
        expiry = proxy.metric("identity_cert_expiration_timestamp_seconds")
        assert abs(expiry - (time.time() + 600)) < 60, expiry
        assert line["not_after"].startswith(
            datetime.datetime.fromtimestamp(expiry, datetime.timezone.utc).strftime("%Y-%m-%dT%H"))
    finally:
        setup.close()


@test
def renews_before_expiry():
    lifetime = 3
    setup = Setup(lifetime=lifetime)
    try:
        proxy = setup.start()
        wait_until(lambda: ready(proxy), timeout=30, what="the first certificate")
        first = refreshed(proxy)
        not_ready = 0
        deadline = time.monotonic() + 4 * lifetime
        while time.monotonic() < deadline:
            not_ready += 0 if ready(proxy) else 1
            time.sleep(0.1)
        renewals = refreshed(proxy) - first
        print(f"renewals in {4 * lifetime}s with {lifetime}s certificates: {renewals:.0f}")
        # Renewed at 70 % of 3 s (about every 2.1 s): at least 4 in 12 s, and
        # no hot loop (at most one per 1 s).
        assert 4 <= renewals <= 4 * lifetime, renewals
        assert not_ready == 0, f"/ready was not 200 {not_ready} times while renewing"
        assert failed(proxy, "status") == 0
        # Each renewal is a new key: no two certificates the same.
        assert setup.issuer.issued == refreshed(proxy)
    finally:
        setup.close()


@test
def survives_issuer_down():
    lifetime = 8
    backend = Backend("app")
    setup = Setup(lifetime=lifetime)
    try:
        proxy = setup.start("--outbound-fallback", f"127.0.0.1:{backend.port}")
        wait_until(lambda: ready(proxy), timeout=30, what="the first certificate")
        held_until = proxy.metric("identity_cert_expiration_timestamp_seconds")
        setup.issuer.mode = "down"
        attempts_before = setup.issuer.attempts
        # Renewal (at ~5.6 s) fails; the certificate held still serves and
        # /ready stays 200 until its notAfter.
        wait_until(lambda: failed(proxy, "status") >= 2, timeout=30, what="failed renewals")
        while time.time() < held_until - 1.5:
            assert ready(proxy), "not ready while the certificate is still valid"
            time.sleep(0.1)
        # Past notAfter: 503, saying the certificate expired.
        wait_until(lambda: not ready(proxy), timeout=10, what="not ready after expiry")
        status, body, _ = proxy.admin("/ready")
        assert status == 503 and "expired" in body, (status, body)
        down_for = time.time() - (held_until - lifetime * 0.3)
        attempts = setup.issuer.attempts - attempts_before
        print(f"requests to the issuer (down) in the {down_for:.1f}s since renewal was due: "
              f"{attempts}")
        # A backoff, not a hot loop.
        assert attempts <= 10, attempts
        # Traffic is not the identity client's business: it still passes.
        with urllib.request.urlopen(f"http://127.0.0.1:{proxy.outbound}/x", timeout=10) as r:
            assert r.status == 200
        # Back up: a new certificate within the backoff's cap (30 s).
        setup.issuer.mode = "ok"
        wait_until(lambda: ready(proxy), timeout=60, what="ready again")
        assert proxy.metric("identity_cert_expiration_timestamp_seconds") > held_until
    finally:
        setup.close()
        backend.close()


@test
def refuses_foreign_identity():
    lifetime = 6
    setup = Setup(lifetime=lifetime)
    try:
        proxy = setup.start()
        wait_until(lambda: ready(proxy), timeout=30, what="the first certificate")
        held_until = proxy.metric("identity_cert_expiration_timestamp_seconds")
        # Renewals now answer with a certificate for sa/admin: each refused,
        # the certificate held kept.
        setup.issuer.mode = "foreign"
        wait_until(lambda: failed(proxy, "wrong_identity") >= 2, timeout=30,
                   what="refused foreign certificates")
        assert refreshed(proxy) == 1
        assert proxy.metric("identity_cert_expiration_timestamp_seconds") == held_until
        assert ready(proxy) or time.time() >= held_until
        assert all(line["identity"] == SELF for line in obtained_lines(proxy))
        assert "spiffe://cluster.local/ns/test/sa/admin" in proxy.output()
    finally:
        setup.close()


@test
def anchor_rotation():
    setup = Setup(lifetime=600)
    try:
        proxy = setup.start()
        wait_until(lambda: ready(proxy), timeout=30, what="the first certificate")
        # Step 1: a bundle of the old anchor and a new one. The certificate
        # held still verifies: the anchors are taken without a request.
        new_pki = Pki()
        setup.mounted.write(identity_document(setup.pki.anchors_pem + new_pki.anchors_pem))
        wait_until(lambda: "trust anchors updated" in proxy.output(), timeout=30,
                   what="the new anchors taken")
        assert setup.issuer.issued == 1 and ready(proxy)
        # Step 3 (the issuer moved to the new anchor, the old one removed): the
        # held chain no longer verifies, so the proxy asks at once; this issuer
        # still serves under the old anchor, so its TLS is refused.
        setup.mounted.write(identity_document(new_pki.anchors_pem))
        wait_until(lambda: failed(proxy, "tls") >= 1, timeout=30, what="a request under them")
        assert "no longer trust the certificate" in proxy.output()
        assert setup.issuer.issued == 1
    finally:
        setup.close()


@test
def refuses_bad_answers_on_the_wire():
    setup = Setup(lifetime=600)
    try:
        setup.issuer.mode = "huge"  # from the first request
        proxy = setup.start("--identity-request-timeout", "1s")
        for mode, reason in (("huge", "oversize"), ("garbage", "malformed"),
                             ("hang", "timeout")):
            setup.issuer.mode = mode
            before = failed(proxy, reason)
            wait_until(lambda: failed(proxy, reason) > before, timeout=60,
                       what=f"a {mode} answer refused as {reason}")
            assert not ready(proxy)
        setup.issuer.mode = "ok"
        wait_until(lambda: ready(proxy), timeout=60, what="ready with a good answer")
        assert refreshed(proxy) == 1
    finally:
        setup.close()


@test
def token_is_read_for_each_request():
    setup = Setup(lifetime=600)
    setup.issuer.token = "rotated"
    try:
        proxy = setup.start()
        wait_until(lambda: setup.issuer.refused_tokens >= 1, timeout=20, what="a refused token")
        assert not ready(proxy)
        # The kubelet rotates the token in place: the next request sends it.
        setup.write_token("rotated")
        wait_until(lambda: ready(proxy), timeout=60, what="ready with the rotated token")
        assert "rotated" not in proxy.output(), "the token must not be logged"
    finally:
        setup.close()


@test
def identity_off_without_document_section():
    setup = Setup(anchors=False)
    try:
        proxy = setup.start()
        wait_until(lambda: ready(proxy), timeout=20, what="ready")
        time.sleep(1.5)
        assert setup.issuer.attempts == 0
        assert proxy.output().count("identity off") == 1
        assert refreshed(proxy) == 0
    finally:
        setup.close()


@test
def issuance_latency():
    """Proxy start (the process spawned) -> certificate held (its log line),
    over 50 starts against this issuer on loopback."""
    setup = Setup(lifetime=600)
    samples, in_proxy = [], []
    try:
        for _ in range(50):
            started = time.time()
            proxy = setup.start()
            line = wait_until(lambda: (obtained_lines(proxy) or [None])[0], timeout=30,
                              what="a certificate")
            turned_on = next(json.loads(text) for text in proxy.output().splitlines()
                             if '"identity on' in text)
            samples.append((log_time(line) - started) * 1000)
            in_proxy.append((log_time(line) - log_time(turned_on)) * 1000)
            proxy.stop()
        for what, values in (("spawn -> certificate held", samples),
                             ("identity on (document read) -> certificate held", in_proxy)):
            values.sort()
            p50 = statistics.median(values)
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            print(f"{what} over {len(values)} starts: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
                  f"max {values[-1]:.1f} ms")
        assert max(samples) < 5000, samples
    finally:
        setup.close()


def main():
    run_main(TESTS, "proxy.identity_client.", __doc__)


if __name__ == "__main__":
    main()
