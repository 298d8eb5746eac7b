#!/usr/bin/env python3
"""weft-identity against the real API server of the test cluster.

Runs the real weft-identity binary (its kubeconfig: the cluster's admin) with
its objects in a namespace of its own, and asks it for certificates the way a
proxy does: a P-256 key and CSR made here (python `cryptography`), a real
projected-style token from `kubectl create token --audience identity.weft.io`.

    identity_test.py WEFT_IDENTITY_BINARY CASE

CASE: issue, foreign_identity, wrong_audience, deleted_bound_object, two_replicas,
expired_token, malformed, corrupted_issuer, restart, user_issuer, manifest_rbac,
issuer_renewal, latency, review_budget, serving_renewal.
Needs KUBECONFIG, KUBECTL and WEFT_CLUSTER_DIR (the service-account signing
key, for the expired token).
"""

import base64
import datetime
import http.client
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509.oid import ExtensionOID, NameOID

AUDIENCE = "identity.weft.io"
KUBECTL = os.environ.get("KUBECTL", "kubectl")
TRUST_DOMAIN = "cluster.local"


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    raise SystemExit(1)


def kubectl(*args, check=True, stdin=None):
    result = subprocess.run([KUBECTL, *args], capture_output=True, text=True, input=stdin)
    if check and result.returncode != 0:
        fail(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def get_json(*args):
    result = subprocess.run([KUBECTL, "get", *args, "-o", "json"], capture_output=True, text=True)
    return json.loads(result.stdout) if result.returncode == 0 else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    fail(f"timed out waiting for {what}")


class Identity:
    """One weft-identity process, its objects in `ns`."""

    def __init__(self, binary, ns, work):
        self.binary, self.ns, self.work = binary, ns, work
        self.process = None
        self.log_path = os.path.join(work, "identity.log")

    def start(self, *extra):
        self.port, self.metrics_port = free_port(), free_port()
        # Every request here comes from 127.0.0.1: the per-address review
        # budget is off unless the case is about it.
        if not any(a.startswith("--review-per-source") for a in extra):
            extra = ("--review-per-source-qps=0", *extra)
        serving = os.path.join(self.work, "serving")
        shutil.rmtree(serving, ignore_errors=True)
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [self.binary, f"--kubeconfig={os.environ['KUBECONFIG']}", f"--namespace={self.ns}",
             f"--listen=127.0.0.1:{self.port}", f"--metrics=127.0.0.1:{self.metrics_port}",
             f"--serving-dir={serving}", "--dns-names=localhost", "--resync-interval=500ms",
             "--service-account=weft-identity", *extra],
            stdout=self.log, stderr=self.log)
        wait_for("the metrics port", lambda: self.get("/healthz")[0] == 200 or self.dead())

    def dead(self):
        if self.process.poll() is not None:
            self.dump_log()
            fail(f"weft-identity exited with {self.process.returncode}")
        return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                fail("weft-identity did not stop on SIGTERM within 20 s")
            if self.process.returncode != 0:
                fail(f"weft-identity exited with {self.process.returncode} on SIGTERM")
        self.process = None

    def dump_log(self, lines=30):
        with open(self.log_path) as f:
            tail = f.readlines()[-lines:]
        print("--- weft-identity log (tail)\n" + "".join(tail), file=sys.stderr)

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}{path}",
                                        timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return 0, ""

    def ready(self):
        return self.get("/ready")[0] == 200

    def metric(self, name):
        """Sum of the samples of a metric (any labels)."""
        total = 0.0
        for line in self.get("/metrics")[1].splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def anchors_pem(self):
        bundle = get_json("configmap", "-n", self.ns, "weft-identity-trust-anchors")
        return bundle["data"]["ca-bundle.crt"]

    def connection(self, context=None):
        context = context or ssl.create_default_context(cadata=self.anchors_pem())
        return http.client.HTTPSConnection("localhost", self.port, context=context, timeout=10)

    def request(self, token, body, connection=None):
        own = connection is None
        connection = connection or self.connection()
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        connection.request("POST", "/v1/certificates", body=body, headers=headers)
        answer = connection.getresponse()
        status, text = answer.status, answer.read().decode()
        if own:
            connection.close()
        return status, text


def key_and_csr(ns="somewhere", sa="someone", dns=None):
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.UniformResourceIdentifier(f"spiffe://{TRUST_DOMAIN}/ns/{ns}/sa/{sa}")]
    if dns:
        names.append(x509.DNSName(dns))
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sa)]))
           .add_extension(x509.SubjectAlternativeName(names), critical=False)
           .sign(key, hashes.SHA256()))
    return key, csr.public_bytes(serialization.Encoding.PEM).decode()


def body_for(csr):
    return json.dumps({"csr": csr})


def token(ns, sa, audience=AUDIENCE, *extra):
    args = ["create", "token", sa, "-n", ns, "--duration=10m", *extra]
    if audience:
        args.append(f"--audience={audience}")
    return kubectl(*args).strip()


def check_leaf(answer_text, key, ns, sa, anchors_pem):
    answer = json.loads(answer_text)
    leaf = x509.load_pem_x509_certificate(answer["certificate"].encode())
    chain = x509.load_pem_x509_certificates(answer["chain"].encode())
    anchors = x509.load_pem_x509_certificates(anchors_pem.encode())
    expected = f"spiffe://{TRUST_DOMAIN}/ns/{ns}/sa/{sa}"
    sans = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    uris = sans.get_values_for_type(x509.UniformResourceIdentifier)
    dns = sans.get_values_for_type(x509.DNSName)
    if uris != [expected]:
        fail(f"leaf URI SANs {uris}, expected exactly [{expected}]")
    if dns != [f"{sa}.{ns}.serviceaccount.identity.weft.{TRUST_DOMAIN}"]:
        fail(f"leaf DNS SANs {dns}")
    if answer["identity"] != expected:
        fail(f"answer identity {answer['identity']}")
    if leaf.public_key().public_numbers() != key.public_key().public_numbers():
        fail("the leaf does not carry the CSR's key")
    # The chain a proxy checks: leaf <- issuer <- an anchor of the bundle.
    leaf.verify_directly_issued_by(chain[0])
    top = chain[-1]
    if not any(anchor.subject == top.issuer for anchor in anchors):
        fail("the issuer chain does not lead to an anchor of the bundle")
    anchor = next(anchor for anchor in anchors if anchor.subject == top.issuer)
    top.verify_directly_issued_by(anchor)
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    if not datetime.timedelta(hours=23) < lifetime <= datetime.timedelta(hours=24, minutes=2):
        fail(f"leaf lifetime {lifetime}, expected about 24 h")
    return leaf


class Case:
    def __init__(self, binary):
        self.work = tempfile.mkdtemp(prefix="weft-identity-it.")
        suffix = secrets.token_hex(3)
        self.ns = f"weft-identity-it-{suffix}"     # weft-identity's own objects
        self.apps = f"weft-identity-apps-{suffix}"  # the workloads asking
        for ns in (self.ns, self.apps):
            kubectl("create", "namespace", ns)
        for sa in ("a", "b"):
            kubectl("create", "serviceaccount", sa, "-n", self.apps)
        self.identity = Identity(binary, self.ns, self.work)
        self.cleanup = []  # (kind, name) of cluster-scoped objects to delete

    def close(self):
        try:
            self.identity.stop()
        finally:
            for kind, name in self.cleanup:
                kubectl("delete", kind, name, "--ignore-not-found", check=False)
            for ns in (self.ns, self.apps):
                kubectl("delete", "namespace", ns, "--wait=false", check=False)
            shutil.rmtree(self.work, ignore_errors=True)

    def start_ready(self, *extra):
        self.identity.start(*extra)
        wait_for("/ready", lambda: self.identity.ready() or self.identity.dead())

    def expect_refused(self, status, reason, token_text, body, what):
        got, text = self.identity.request(token_text, body)
        if got != status:
            fail(f"{what}: status {got} ({text}), expected {status}")
        before = self.identity.metric(f'weft_identity_refusals_total{{reason="{reason}"}}')
        if before < 1:
            fail(f"{what}: weft_identity_refusals_total{{reason=\"{reason}\"}} is {before}")
        print(f"PASS: {what}: {status} {text.strip()}")
        return text


def case_issue(c):
    c.start_ready()
    for kind, name in (("secret", "weft-identity-trust-anchor"), ("secret", "weft-identity-issuer"),
                       ("configmap", "weft-identity-trust-anchors")):
        obj = get_json(kind, "-n", c.ns, name)
        if obj is None:
            fail(f"first start did not create {kind} {name}")
        if obj["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") != "weft-identity":
            fail(f"{kind} {name} is not labelled as Weft's")
    key, csr = key_and_csr(c.apps, "a")
    status, text = c.identity.request(token(c.apps, "a"), body_for(csr))
    if status != 200:
        fail(f"issue: {status} {text}")
    check_leaf(text, key, c.apps, "a", c.identity.anchors_pem())
    if c.identity.metric("weft_identity_certificates_issued_total") != 1:
        fail("weft_identity_certificates_issued_total is not 1")
    for gauge in ("identity_issuer_expiration_timestamp_seconds",
                  "identity_trust_anchor_expiration_timestamp_seconds"):
        if c.identity.metric(gauge) < time.time():
            fail(f"{gauge} is not a future time")
    with open(c.identity.log_path) as f:
        log = f.read()
    if f"spiffe://{TRUST_DOMAIN}/ns/{c.apps}/sa/a" not in log:
        fail("the log does not name the identity issued")
    print("PASS: first start made anchor, issuer and bundle; a leaf for exactly SA a")


def case_foreign_identity(c):
    c.start_ready()
    token_a = token(c.apps, "a")
    # The CSR asks for b (URI and DNS name): the leaf still names a.
    key, csr = key_and_csr(c.apps, "b", dns=f"b.{c.apps}.serviceaccount.identity.weft.cluster.local")
    status, text = c.identity.request(token_a, body_for(csr))
    if status != 200:
        fail(f"foreign CSR: {status} {text}")
    check_leaf(text, key, c.apps, "a", c.identity.anchors_pem())
    # A's token from another namespace's point of view: still a.
    key, csr = key_and_csr("kube-system", "default")
    status, text = c.identity.request(token_a, body_for(csr))
    check_leaf(text, key, c.apps, "a", c.identity.anchors_pem())
    print("PASS: a token of SA a never yields a certificate for b, whatever the CSR asks")


def case_wrong_audience(c):
    c.start_ready()
    _, csr = key_and_csr(c.apps, "a")
    # The pod's default API token (audience: the API server): its claims say
    # so, and it is refused without a TokenReview.
    text = c.expect_refused(401, "wrong_audience", token(c.apps, "a", audience=None),
                            body_for(csr), "a token for the API server's audience")
    if "audience" not in text:
        fail(f"the refusal does not name the audience: {text}")
    c.expect_refused(401, "wrong_audience", token(c.apps, "a", audience="other.example"),
                     body_for(csr), "a token for another audience")
    c.expect_refused(401, "no_token", None, body_for(csr), "no token")
    c.expect_refused(401, "token_refused", "not-a-jwt", body_for(csr), "garbage token")
    c.expect_refused(401, "no_token", "", body_for(csr), "empty bearer")


def case_deleted_bound_object(c):
    c.start_ready()
    kubectl("create", "secret", "generic", "x", "-n", c.apps)
    bound = token(c.apps, "a", AUDIENCE, "--bound-object-kind=Secret", "--bound-object-name=x")
    key, csr = key_and_csr(c.apps, "a")
    status, text = c.identity.request(bound, body_for(csr))
    if status != 200:
        fail(f"bound token while its Secret exists: {status} {text}")
    kubectl("delete", "secret", "x", "-n", c.apps)
    # The API server checks the bound object on each review (from its cache).
    wait_for("the bound token to be refused",
             lambda: c.identity.request(bound, body_for(csr))[0] == 401, timeout=30)
    c.expect_refused(401, "token_refused", bound, body_for(csr),
                     "a token bound to a deleted Secret")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def case_expired_token(c):
    """A token exactly like a real one, signed by the cluster's real
    service-account key, but expired an hour ago (a stolen old token)."""
    c.start_ready()
    real = token(c.apps, "a")
    header_text, claims_text, _ = real.split(".")
    header = json.loads(unb64url(header_text))
    claims = json.loads(unb64url(claims_text))
    now = int(time.time())
    claims.update({"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600})
    key_path = os.path.join(os.environ["WEFT_CLUSTER_DIR"], "pki", "sa.key")
    with open(key_path, "rb") as f:
        signing_key = serialization.load_pem_private_key(f.read(), password=None)
    signed = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = signing_key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    expired = f"{signed}.{b64url(signature)}"
    # The same minting with a live expiry is accepted: the refusal below is the expiry's.
    claims.update({"iat": now, "nbf": now, "exp": now + 600})
    fresh_signed = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    fresh = f"{fresh_signed}.{b64url(signing_key.sign(fresh_signed.encode(), padding.PKCS1v15(), hashes.SHA256()))}"
    key, csr = key_and_csr(c.apps, "a")
    status, text = c.identity.request(fresh, body_for(csr))
    if status != 200:
        fail(f"the control token (same minting, not expired) was refused: {status} {text}")
    c.expect_refused(401, "token_refused", expired, body_for(csr), "an expired token")


def case_malformed(c):
    c.start_ready()
    t = token(c.apps, "a")
    c.expect_refused(400, "bad_request", t, "not json", "a body that is not JSON")
    c.expect_refused(400, "bad_request", t, json.dumps({"csr": 5}), "a csr that is not a string")
    c.expect_refused(400, "bad_request", t, body_for("A" * 9000), "an oversized CSR")
    c.expect_refused(400, "bad_csr", t, body_for("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                                                 "-----END CERTIFICATE REQUEST-----\n"),
                     "a malformed CSR")
    # A CSR whose signature does not match its key: no proof of possession.
    _, csr = key_and_csr(c.apps, "a")
    der = x509.load_pem_x509_csr(csr.encode()).public_bytes(serialization.Encoding.DER)
    tampered = bytearray(der)
    tampered[-5] ^= 0x55
    pem = ("-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(bytes(tampered)).decode()
           + "-----END CERTIFICATE REQUEST-----\n")
    c.expect_refused(400, "bad_csr", t, body_for(pem), "a CSR with a bad signature")
    connection = c.identity.connection()
    connection.request("POST", "/v1/certificates", body="x" * 20000,
                       headers={"Authorization": f"Bearer {t}"})
    if connection.getresponse().status != 413:
        fail("a 20 KB body was not refused with 413")
    print("PASS: a 20 KB body: 413")


def secret_state(ns, name):
    obj = get_json("secret", "-n", ns, name)
    return obj["metadata"]["resourceVersion"], obj["data"]


def case_corrupted_issuer(c):
    c.start_ready()
    # Another valid key in place of the issuer's, while it runs: the pair does not match.
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    original = get_json("secret", "-n", c.ns, "weft-identity-issuer")["data"]["tls.key"]
    kubectl("patch", "secret", "weft-identity-issuer", "-n", c.ns, "--type=merge", "-p",
            json.dumps({"data": {"tls.key": base64.b64encode(other).decode()}}))
    before = secret_state(c.ns, "weft-identity-issuer")
    status, text = wait_for("/ready to give the reason",
                            lambda: (lambda s: s if "tls.key" in s[1] else None)(
                                c.identity.get("/ready")))
    if status != 503:
        fail(f"/ready is {status} with a corrupted issuer")
    print(f"PASS: corrupted issuer: /ready 503: {text.strip()}")
    _, csr = key_and_csr(c.apps, "a")
    text = c.expect_refused(503, "no_issuer", token(c.apps, "a"), body_for(csr),
                            "issuing with a corrupted issuer Secret")
    if "tls.key" not in text:
        fail(f"the 503 does not say why: {text}")
    time.sleep(3)  # several resync passes
    if secret_state(c.ns, "weft-identity-issuer") != before:
        fail("the corrupted issuer Secret was changed")
    with open(c.identity.log_path) as f:
        if "not issuing" not in f.read():
            fail("the log does not say it is not issuing")
    print("PASS: the corrupted Secret is unchanged after several passes")
    # A start with the corrupted Secret: up, not ready, the reason on /ready.
    c.identity.stop()
    c.identity.start()
    wait_for("/ready to give the reason after a restart",
             lambda: "tls.key" in c.identity.get("/ready")[1] or c.identity.dead())
    time.sleep(2)
    if c.identity.ready() or secret_state(c.ns, "weft-identity-issuer") != before:
        fail("a start with a corrupted issuer became ready or changed the Secret")
    print("PASS: a start with the corrupted Secret stays up, not ready, the Secret unchanged")
    # Repaired by the user: picked up without a restart.
    kubectl("patch", "secret", "weft-identity-issuer", "-n", c.ns, "--type=merge", "-p",
            json.dumps({"data": {"tls.key": original}}))
    wait_for("/ready after the repair", c.identity.ready)
    key, csr = key_and_csr(c.apps, "a")
    status, text = wait_for("an answer after the repair", lambda: (lambda r: r if r[0] else None)(
        try_request(c.identity, token(c.apps, "a"), body_for(csr))))
    if status != 200:
        fail(f"after the repair: {status} {text}")
    print("PASS: the repaired Secret is used without a restart")
    # Garbage in tls.crt: refused the same way.
    kubectl("patch", "secret", "weft-identity-issuer", "-n", c.ns, "--type=merge", "-p",
            json.dumps({"data": {"tls.crt": base64.b64encode(b"garbage").decode()}}))
    wait_for("/ready 503 after garbage", lambda: not c.identity.ready())
    print(f"PASS: garbage tls.crt: {c.identity.get('/ready')[1].strip()}")


def try_request(identity, token_text, body):
    """(status, text), or (0, error) while the endpoint is not listening yet."""
    try:
        return identity.request(token_text, body)
    except OSError as error:
        return 0, str(error)


def case_restart(c):
    c.start_ready()
    anchor = secret_state(c.ns, "weft-identity-trust-anchor")
    issuer = secret_state(c.ns, "weft-identity-issuer")
    bundle = get_json("configmap", "-n", c.ns, "weft-identity-trust-anchors")
    c.identity.stop()
    c.start_ready()
    if secret_state(c.ns, "weft-identity-trust-anchor") != anchor:
        fail("a second start changed the anchor")
    if secret_state(c.ns, "weft-identity-issuer") != issuer:
        fail("a second start changed the issuer")
    if get_json("configmap", "-n", c.ns, "weft-identity-trust-anchors")["metadata"][
            "resourceVersion"] != bundle["metadata"]["resourceVersion"]:
        fail("a second start changed the bundle")
    key, csr = key_and_csr(c.apps, "b")
    status, text = c.identity.request(token(c.apps, "b"), body_for(csr))
    if status != 200:
        fail(f"after restart: {status} {text}")
    check_leaf(text, key, c.apps, "b", bundle["data"]["ca-bundle.crt"])
    # Two replicas at once on a fresh namespace: one chain.
    print("PASS: a second start reuses the anchor, issuer and bundle")


def case_two_replicas(c):
    """Two processes start together on an empty namespace: one anchor, one
    issuer, and both issue leaves that chain to it."""
    other = Identity(c.identity.binary, c.ns, os.path.join(c.work, "second"))
    os.makedirs(other.work)
    c.identity.start()
    other.start()
    try:
        wait_for("both ready", lambda: c.identity.ready() and other.ready())
        anchors = x509.load_pem_x509_certificates(c.identity.anchors_pem().encode())
        if len(anchors) != 1:
            fail(f"{len(anchors)} anchors in the bundle after a racing start")
        for replica in (c.identity, other):
            key, csr = key_and_csr(c.apps, "a")
            status, text = replica.request(token(c.apps, "a"), body_for(csr))
            if status != 200:
                fail(f"replica: {status} {text}")
            check_leaf(text, key, c.apps, "a", c.identity.anchors_pem())
    finally:
        other.stop()
    print("PASS: two replicas racing through a first start share one chain")


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def case_user_issuer(c):
    """An issuer Secret the user made (openssl; no anchor Secret, no label):
    used as is, the bundle made from its ca.crt, the Secret never written."""
    d = c.work
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", "30", "-subj", "/CN=user-root", "-keyout", f"{d}/root.key", "-out",
            f"{d}/root.crt", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", "/CN=user-issuer", "-keyout", f"{d}/issuer.key", "-out", f"{d}/issuer.csr")
    with open(f"{d}/ext", "w") as f:
        f.write("basicConstraints=critical,CA:TRUE,pathlen:0\n"
                "keyUsage=critical,keyCertSign,cRLSign,digitalSignature\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    openssl("x509", "-req", "-in", f"{d}/issuer.csr", "-CA", f"{d}/root.crt", "-CAkey",
            f"{d}/root.key", "-CAcreateserial", "-days", "20", "-extfile", f"{d}/ext", "-out",
            f"{d}/issuer.crt")
    kubectl("create", "secret", "tls", "weft-identity-issuer", "-n", c.ns,
            f"--cert={d}/issuer.crt", f"--key={d}/issuer.key")
    kubectl("patch", "secret", "weft-identity-issuer", "-n", c.ns, "--type=merge", "-p",
            json.dumps({"data": {"ca.crt": base64.b64encode(open(f"{d}/root.crt", "rb").read())
                                 .decode()}}))
    before = secret_state(c.ns, "weft-identity-issuer")
    c.start_ready()
    if get_json("secret", "-n", c.ns, "weft-identity-trust-anchor") is not None:
        fail("an anchor was made beside the user's issuer")
    with open(f"{d}/root.crt") as f:
        root = x509.load_pem_x509_certificate(f.read().encode())
    bundle = x509.load_pem_x509_certificates(c.identity.anchors_pem().encode())
    if bundle != [root]:
        fail("the bundle is not the user's ca.crt")
    key, csr = key_and_csr(c.apps, "a")
    status, text = c.identity.request(token(c.apps, "a"), body_for(csr))
    if status != 200:
        fail(f"user issuer: {status} {text}")
    check_leaf(text, key, c.apps, "a", c.identity.anchors_pem())
    time.sleep(2)
    if secret_state(c.ns, "weft-identity-issuer") != before:
        fail("the user's issuer Secret was written")
    print("PASS: a user's issuer Secret is used as is; the bundle made from its ca.crt")
    # A bundle of the user's that does not hold the issuer's anchor: refused.
    c.identity.stop()
    kubectl("delete", "configmap", "weft-identity-trust-anchors", "-n", c.ns)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", "30", "-subj", "/CN=other-root", "-keyout", f"{d}/other.key", "-out",
            f"{d}/other.crt")
    kubectl("create", "configmap", "weft-identity-trust-anchors", "-n", c.ns,
            f"--from-file=ca-bundle.crt={d}/other.crt")
    c.identity.start()
    status, text = wait_for("the refusal", lambda: (lambda s: s if "chain" in s[1] else None)(
        c.identity.get("/ready")))
    if status != 503:
        fail(f"an issuer outside the user's bundle: /ready {status}")
    print(f"PASS: an issuer outside the user's bundle: /ready 503: {text.strip()}")
    if get_json("configmap", "-n", c.ns, "weft-identity-trust-anchors")["data"][
            "ca-bundle.crt"] != open(f"{d}/other.crt").read():
        fail("the user's bundle was written")


def case_manifest_rbac(c):
    """weft-identity as its own ServiceAccount with exactly the manifest's
    Role and ClusterRole: it makes its objects, reviews tokens, renews its
    issuer (an 8 s issuer, renewed with half its life left)."""
    import yaml
    manifest = os.path.join(os.path.dirname(__file__), "..", "..", "..", "manifests",
                            "identity.yaml")
    cluster_role = f"weft-identity-it-{c.ns}"
    docs = [d for d in yaml.safe_load_all(open(manifest)) if d]
    kubectl("create", "serviceaccount", "weft-identity", "-n", c.ns)
    for doc in docs:
        if doc["kind"] in ("Role", "RoleBinding"):
            doc["metadata"]["namespace"] = c.ns
            for subject in doc.get("subjects", []):
                subject["namespace"] = c.ns
        elif doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            doc["metadata"]["name"] = cluster_role
            if doc["kind"] == "ClusterRoleBinding":
                doc["roleRef"]["name"] = cluster_role
                for subject in doc["subjects"]:
                    subject["namespace"] = c.ns
        else:
            continue
        kubectl("apply", "-f", "-", stdin=json.dumps(doc))
    c.cleanup.append(("clusterrole", cluster_role))
    c.cleanup.append(("clusterrolebinding", cluster_role))
    admin = yaml.safe_load(open(os.environ["KUBECONFIG"]))
    cluster = admin["clusters"][0]["cluster"]
    own = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": "c", "cluster": cluster}],
           "users": [{"name": "u", "user": {"token": kubectl(
               "create", "token", "weft-identity", "-n", c.ns, "--duration=1h").strip()}}],
           "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
           "current-context": "c"}
    kubeconfig = os.path.join(c.work, "own.kubeconfig")
    with open(kubeconfig, "w") as f:
        json.dump(own, f)
    c.start_ready(f"--kubeconfig={kubeconfig}", "--issuer-lifetime=8s",
                  "--issuer-renew-before=0.5")
    first = secret_state(c.ns, "weft-identity-issuer")
    key, csr = key_and_csr(c.apps, "a")
    status, text = c.identity.request(token(c.apps, "a"), body_for(csr))
    if status != 200:
        fail(f"as its own ServiceAccount: {status} {text}")
    check_leaf_identity(text, c.apps, "a")
    wait_for("the issuer renewed", lambda: secret_state(c.ns, "weft-identity-issuer") != first,
             timeout=40)
    with open(c.identity.log_path) as f:
        log = f.read()
    if "forbidden" in log.lower():
        fail("a request was forbidden by the manifest's RBAC")
    print("PASS: the manifest's RBAC is enough: objects made, tokens reviewed, issuer renewed")


def check_leaf_identity(answer_text, ns, sa):
    leaf = x509.load_pem_x509_certificate(json.loads(answer_text)["certificate"].encode())
    sans = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    if sans.get_values_for_type(x509.UniformResourceIdentifier) != [
            f"spiffe://{TRUST_DOMAIN}/ns/{ns}/sa/{sa}"]:
        fail("the leaf names another identity")
    return leaf


def case_issuer_renewal(c):
    """Weft's issuer renewed under steady requests: every request succeeds,
    every leaf chains to the one anchor, through three issuers."""
    # Lifetimes of seconds, with margins a loaded machine keeps: a renewal
    # is seen by the server within a resync (500 ms) and a reload (2 s).
    c.start_ready("--issuer-lifetime=24s", "--issuer-renew-before=0.5")
    anchors_pem = c.identity.anchors_pem()
    anchors = x509.load_pem_x509_certificates(anchors_pem.encode())
    context = ssl.create_default_context(cadata=anchors_pem)
    t = token(c.apps, "a")
    issuers, failures, count = set(), [], 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline or len(issuers) < 3:
        if time.monotonic() > deadline + 40:
            fail(f"only {len(issuers)} issuers seen in 70 s")
        key, csr = key_and_csr(c.apps, "a")
        connection = c.identity.connection(context)  # also checks the serving certificate
        try:
            status, text = c.identity.request(t, body_for(csr), connection)
        except (OSError, ssl.SSLError) as error:
            failures.append(str(error))
            continue
        finally:
            connection.close()
        count += 1
        if status != 200:
            failures.append(f"{status} {text}")
            continue
        answer = json.loads(text)
        issuer = x509.load_pem_x509_certificate(answer["chain"].encode())
        leaf = check_leaf_identity(text, c.apps, "a")
        leaf.verify_directly_issued_by(issuer)
        issuer.verify_directly_issued_by(anchors[0])
        issuers.add(issuer.serial_number)
    if failures:
        fail(f"{len(failures)} of {count} requests failed during renewals: {failures[:3]}")
    # A 24 s issuer renewed with 12 s left: a new one every 12 s or so, not
    # one at every pass.
    if len(issuers) > 10:
        fail(f"{len(issuers)} issuers: renewed far more often than its lifetime asks")
    if len(x509.load_pem_x509_certificates(c.identity.anchors_pem().encode())) != 1:
        fail("the bundle changed during issuer renewals")
    print(f"PASS: {count} requests through {len(issuers)} issuers, none failed, one anchor")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def case_latency(c):
    """Issuance round trips: what a proxy does at start (key, CSR, POST with a
    new TLS connection, answer), 200 times; and the POST alone on a kept-alive
    connection."""
    c.start_ready()
    t = token(c.apps, "a")
    fresh, kept = [], []
    # The anchors read once, as a proxy has them in its document.
    context = ssl.create_default_context(cadata=c.identity.anchors_pem())
    connection = c.identity.connection(context)
    for _ in range(200):
        start = time.perf_counter()
        key, csr = key_and_csr(c.apps, "a")
        fresh_connection = c.identity.connection(context)
        status, text = c.identity.request(t, body_for(csr), fresh_connection)
        fresh_connection.close()
        fresh.append(time.perf_counter() - start)
        if status != 200:
            fail(f"latency run: {status} {text}")
        _, csr = key_and_csr(c.apps, "a")
        start = time.perf_counter()
        status, text = c.identity.request(t, body_for(csr), connection)
        kept.append(time.perf_counter() - start)
        if status != 200:
            fail(f"latency run (kept-alive): {status} {text}")
    connection.close()
    review = c.identity.metric("weft_identity_token_review_duration_seconds_sum") / \
        max(1, c.identity.metric("weft_identity_token_review_duration_seconds_count"))
    print(f"RESULT: issuance round trip, new connection + key + CSR, 200 requests: "
          f"p50 {percentile(fresh, 0.5) * 1000:.2f} ms, p99 {percentile(fresh, 0.99) * 1000:.2f} ms")
    print(f"RESULT: issuance round trip, kept-alive connection, 200 requests: "
          f"p50 {percentile(kept, 0.5) * 1000:.2f} ms, p99 {percentile(kept, 0.99) * 1000:.2f} ms")
    handled = c.identity.metric("weft_identity_request_duration_seconds_sum") / \
        max(1, c.identity.metric("weft_identity_request_duration_seconds_count"))
    print(f"RESULT: TokenReview mean {review * 1000:.2f} ms; request handled in "
          f"{handled * 1000:.2f} ms on average (server side)")
    if percentile(fresh, 0.99) > 5.0:
        fail("p99 above 5 s: something is wrong, not just a slow machine")
    print("PASS: 400 certificates issued")


def case_review_budget(c):
    """One address flooding weft-identity spends its own budget of
    TokenReviews, and garbage (a bad CSR, a token that cannot be ours)
    spends none: the API server sees only what could be issued."""
    c.start_ready("--review-per-source-qps=0.01", "--review-per-source-burst=3")
    t = token(c.apps, "a")
    _, csr = key_and_csr(c.apps, "a")
    reviews = lambda: c.identity.metric("weft_identity_token_review_duration_seconds_count")
    for _ in range(30):
        for bad_token in ("not-a-jwt", token(c.apps, "a", audience=None)):
            status, text = c.identity.request(bad_token, body_for(csr))
            if status != 401:
                fail(f"garbage answered {status}: {text}")
    if reviews() != 0:
        fail(f"{reviews()} TokenReviews made for 60 requests that could not be issued")
    for i in range(3):
        _, csr = key_and_csr(c.apps, "a")
        status, text = c.identity.request(t, body_for(csr))
        if status != 200:
            fail(f"request {i + 1} of the burst: {status} {text}")
    # Past the budget, even a bad CSR is refused before its signature is checked.
    c.expect_refused(429, "too_many_from_source", t,
                     body_for("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                              "-----END CERTIFICATE REQUEST-----\n"),
                     "a fourth request from the same address in the same instant")
    if reviews() != 3:
        fail(f"{reviews()} TokenReviews made, expected 3 (the 429 must cost none)")
    print("PASS: 60 garbage tokens cost no TokenReview; the address's burst of 3, then 429")


def case_serving_renewal(c):
    """Its serving certificate renewed before it expires, though the pass over
    the Secrets comes far less often than the certificate's life: clients
    that check its expiry are never refused, and it is renewed at about 70 %
    of its life, not at every wake."""
    c.start_ready("--leaf-lifetime=15s", "--resync-interval=60s")
    context = ssl.create_default_context(cadata=c.identity.anchors_pem())
    serials, failures = set(), []
    deadline = time.monotonic() + 35
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", c.identity.port), timeout=5) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    serials.add(x509.load_der_x509_certificate(tls.getpeercert(True)).serial_number)
        except (OSError, ssl.SSLError) as error:
            failures.append(str(error))
        time.sleep(0.5)
    if failures:
        fail(f"{len(failures)} handshakes refused (expired serving certificate?): {failures[:2]}")
    # A 15 s certificate renewed at 10.5 s, served after a reload (within
    # 2 s): three or four in 35 s. Renewed at every wake (1 s), about 35;
    # never (the next pass in 60 s), one, expired after 15 s.
    with open(c.identity.log_path) as log:
        written = sum(1 for line in log if "serving certificate written" in line)
    if len(serials) < 2 or written > 10:
        fail(f"{len(serials)} serving certificates seen, {written} written in 35 s")
    print(f"PASS: {len(serials)} serving certificates seen, {written} written, no handshake refused")


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print(__doc__, file=sys.stderr)
        return 2
    c = Case(sys.argv[1])
    try:
        CASES[sys.argv[2]](c)
    except SystemExit:
        c.identity.dump_log() if os.path.exists(c.identity.log_path) else None
        raise
    finally:
        c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
