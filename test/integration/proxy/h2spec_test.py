#!/usr/bin/env python3
"""HTTP/2 conformance: h2spec (every section: generic, http2, hpack, and the
strict cases) against weft-proxy's outbound and inbound listeners, h2c with
prior knowledge, the proxy forwarding each request to a real HTTP/2 server
(nghttpd, Debian's nghttp2-server; the python3-h2 backend without it).

Every case must pass, but those that cannot apply to weft-proxy's listeners,
listed in NOT_APPLICABLE with the reason (and in docs/proxy.md, "HTTP/2
conformance"); what the proxy does instead is checked here too.

Usage: h2spec_test.py --list | <test name>
  WEFT_PROXY_BINARY: the proxy; WEFT_H2SPEC_BINARY: h2spec (scripts/build-go-tools
  builds it; without it the tests are skipped, exit 77)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree

from harness import run_main, MountedConfig, Proxy, document, free_port, service, wait_until
from h2_peers import H2Backend

H2SPEC = os.environ.get("WEFT_H2SPEC_BINARY", "")
SERVICE_IP = "10.96.0.10"  # only a lookup key: the fallback destination names it
# h2spec's own wait for each expected frame (its default is 2 s): the machine
# is shared and slow, and a passing case never waits for it.
H2SPEC_TIMEOUT_SECONDS = 10

# Case id ("http2/5.1.1/2": the section's package and the case's number in it)
# -> why it cannot apply to weft-proxy's listeners.
NOT_APPLICABLE = {
    "http2/3.5/2": "invalid connection preface: the listeners serve HTTP/1.1, HTTP/2 and "
                   "opaque TCP on one port, told apart by the first bytes, so bytes that are "
                   "not the HTTP/2 preface are not HTTP/2 at all; these ones parse as an "
                   "HTTP/1.1 request line, answered 400 before the close (checked below), "
                   "where h2spec wants the close alone",
}

TESTS = {}


def test(function):
    TESTS[function.__name__] = function
    return function


class Nghttpd:
    """nghttpd, h2c only, serving a small document root on loopback."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="weft-h2spec-root-")
        with open(os.path.join(self.root, "index.html"), "w") as f:
            f.write("served by nghttpd\n")
        for _ in range(5):  # the port is free when chosen; another may take it first
            self.port = free_port()
            self.process = subprocess.Popen(
                ["nghttpd", "--no-tls", "-a", "127.0.0.1", "-d", self.root, str(self.port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_until(self._listening, timeout=10, what="nghttpd to listen")
                return
            except AssertionError:
                self.process.kill()
                self.process.wait()
        raise AssertionError("nghttpd did not start")

    def _listening(self):
        if self.process.poll() is not None:
            raise AssertionError(f"nghttpd exited with {self.process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def close(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def h2_backend():
    return Nghttpd() if shutil.which("nghttpd") else H2Backend("h2spec")


def cases(report_path):
    """{case id: failure text or None} from h2spec's JUnit report."""
    results = {}
    for suite in ElementTree.parse(report_path).getroot().iter("testsuite"):
        package = suite.get("package")
        for number, case in enumerate(suite.iter("testcase"), start=1):
            failure = case.find("failure")
            if failure is None:
                failure = case.find("error")
            skipped = case.find("skipped")
            problem = None
            if failure is not None:
                problem = (failure.get("message") or "") + (failure.text or "")
            elif skipped is not None:
                problem = "skipped: " + ((skipped.get("message") or "") + (skipped.text or ""))
            results[f"{package}/{number}"] = (case.get("classname"), problem)
    return results


def run_h2spec(port):
    """Runs every h2spec case against 127.0.0.1:port; returns (results, output)."""
    report = tempfile.mktemp(prefix="weft-h2spec-", suffix=".xml")
    try:
        run = subprocess.run([H2SPEC, "--strict", "-h", "127.0.0.1", "-p", str(port),
                              "-o", str(H2SPEC_TIMEOUT_SECONDS), "-j", report],
                             capture_output=True, timeout=900)
        output = run.stdout.decode(errors="replace") + run.stderr.decode(errors="replace")
        assert os.path.exists(report), f"h2spec wrote no report:\n{output[-3000:]}"
        return cases(report), output
    finally:
        if os.path.exists(report):
            os.unlink(report)


def assert_every_case_passes(proxy, port, direction):
    results, output = run_h2spec(port)
    # The three sections ran: their cases are all in the report.
    sections = {case_id.split("/", 1)[0] for case_id in results}
    assert sections == {"generic", "http2", "hpack"}, sections
    assert len(results) >= 146, f"{len(results)} cases only:\n{output[-3000:]}"
    failed = {case_id: result for case_id, result in results.items()
              if result[1] is not None and case_id not in NOT_APPLICABLE}
    passed = len(results) - len(failed) - len(NOT_APPLICABLE)
    print(f"h2spec against the {direction} listener: {passed} passed, "
          f"{len(NOT_APPLICABLE)} not applicable, {len(failed)} failed")
    for section in ("generic", "http2", "hpack"):
        ids = [case_id for case_id in results if case_id.startswith(section + "/")]
        ok = [case_id for case_id in ids if results[case_id][1] is None]
        print(f"  {section}: {len(ok)}/{len(ids)} passed")
    assert not failed, "\n".join(f"{case_id} {title}:\n{problem}"
                                 for case_id, (title, problem) in sorted(failed.items()))
    check_invalid_preface_is_http1(port)
    # The proxy is still whole and serving: each case was a connection of its own.
    assert proxy.process.poll() is None, "weft-proxy exited under h2spec"
    assert proxy.metric("protocol_detect_total", direction=direction, protocol="http2") >= 100


def check_invalid_preface_is_http1(port):
    """http2/3.5/2's bytes: an HTTP/1.1 request line the proxy refuses (400), then closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"INVALID CONNECTION PREFACE\r\n\r\n")
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert b"Connection: close" in answer, answer


def skip_without_h2spec():
    if not H2SPEC or not os.access(H2SPEC, os.X_OK):
        print(f"skipped: h2spec is not built ({H2SPEC or 'WEFT_H2SPEC_BINARY unset'}): "
              "run scripts/build-go-tools")
        sys.exit(77)


@test
def outbound_passes_every_case():
    skip_without_h2spec()
    backend = h2_backend()
    config = MountedConfig()
    config.write(document([service("web", SERVICE_IP, 80, [("127.0.0.1", backend.port)])]))
    proxy = Proxy(config.path, "--outbound-fallback", f"{SERVICE_IP}:80", "--log-level", "info")
    try:
        assert_every_case_passes(proxy, proxy.outbound, "outbound")
    finally:
        proxy.stop()
        backend.close()
        config.close()


@test
def inbound_passes_every_case():
    skip_without_h2spec()
    app = h2_backend()
    config = MountedConfig()
    config.write(document([]))
    proxy = Proxy(config.path, "--inbound-fallback", f"127.0.0.1:{app.port}",
                  "--log-level", "info")
    try:
        assert_every_case_passes(proxy, proxy.inbound, "inbound")
    finally:
        proxy.stop()
        app.close()
        config.close()


def main():
    run_main(TESTS, "proxy.h2spec.", __doc__)


if __name__ == "__main__":
    main()
