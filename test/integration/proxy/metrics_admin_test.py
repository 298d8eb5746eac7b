#!/usr/bin/env python3
"""weft-proxy under hostile use of its metrics and admin port, each test in a
fresh network namespace of its own (needs root; exits 77 without, which ctest
reports as skipped):

  - a scan of every inbound port (a request to each, redirected to the inbound
    listener by iptables, as weft-init's rules do) leaves the proxy's memory
    and its /metrics page bounded;
  - /config (the namespace's whole document) answers on loopback only, while
    /live, /ready, /metrics and /version answer on the pod's address;
  - /version reports the version and the hash of the document served;
  - a client trickling an admin request is cut at the whole-request limit.

    metrics_admin_test.py NAME     runs one test (ctest: proxy.metrics_admin.NAME)
    metrics_admin_test.py --list   lists them

WEFT_SCAN_PORTS=N scans ports 1..N only (default: all 65,535)."""

import json
import os
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import harness
from harness import PROXY_BINARY, MountedConfig, Proxy, document, run_test, service, wait_until

TESTS = {}
PROXY_UID = 2102  # kProxyUid: the redirect below exempts it, as weft-init's rules do
POD_IP = "10.201.0.1"  # a non-loopback address of the namespace
SCAN_ADDRESS = "127.0.0.2"  # connections to it are redirected to the inbound listener
INBOUND_PORT, OUTBOUND_PORT, ADMIN_PORT = 4143, 4140, 4191
HERE = os.path.dirname(os.path.abspath(__file__))


def test(function):
    TESTS[function.__name__] = function
    return function


def sh(*args):
    subprocess.run(args, check=True, capture_output=True, text=True)


def give_pod_ip():
    # (A veth pair: the dummy link type needs a module not always loaded.)
    sh("ip", "link", "add", "weftpod0", "type", "veth", "peer", "name", "weftpod1")
    sh("ip", "addr", "add", f"{POD_IP}/24", "dev", "weftpod0")
    sh("ip", "link", "set", "weftpod0", "up")
    sh("ip", "link", "set", "weftpod1", "up")


def fixed_ports_proxy(config_path, *flags, **kwargs):
    return Proxy(config_path, "--listen-address", "0.0.0.0", "--inbound-port", str(INBOUND_PORT),
                 "--outbound-port", str(OUTBOUND_PORT), "--admin-port", str(ADMIN_PORT), *flags,
                 **kwargs)


def get(host, path, port=ADMIN_PORT):
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def scan(ports, concurrency=8):
    """One request to SCAN_ADDRESS on each port; returns {status: count}
    (0: no HTTP answer). Connections end with a reset, so no TIME_WAIT piles up."""
    ports = iter(ports)
    lock = threading.Lock()
    statuses = {}

    def worker():
        while True:
            with lock:
                port = next(ports, None)
            if port is None:
                return
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.settimeout(20)
            status = 0
            try:
                sock.connect((SCAN_ADDRESS, port))
                sock.sendall(b"GET / HTTP/1.1\r\nHost: scan\r\n\r\n")
                data = b""
                while b"\r\n" not in data:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(b"HTTP/1.1 "):
                    status = int(data[9:12])
            except OSError:
                pass
            finally:
                sock.close()
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@test
def port_scan_keeps_memory_and_metrics_bounded():
    # Every port of SCAN_ADDRESS goes to the inbound listener, which reads the
    # original destination (SO_ORIGINAL_DST) and labels its metrics by it; the
    # proxy's own upstream connections (its UID) are not redirected and find
    # nothing listening: 502.
    sh("iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", SCAN_ADDRESS, "-m", "owner",
       "!", "--uid-owner", str(PROXY_UID), "-j", "REDIRECT", "--to-ports", str(INBOUND_PORT))
    sh("sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=1024 65000")
    work = tempfile.mkdtemp(prefix="weft-scan-")
    os.chmod(work, 0o755)
    binary = os.path.join(work, "weft-proxy")
    shutil.copy(PROXY_BINARY, binary)  # readable by the proxy UID wherever the build is
    os.chmod(binary, 0o755)
    last = int(os.environ.get("WEFT_SCAN_PORTS", "65535"))
    try:
        harness.PROXY_BINARY = binary  # the copy, run as the proxy UID
        proxy = Proxy("/nonexistent/config.json", "--listen-address", "0.0.0.0",
                      "--inbound-port", str(INBOUND_PORT), "--admin-port", str(ADMIN_PORT),
                      "--log-level", "info",
                      # The scanned address is the pod's own (else inbound refuses it).
                      "--own-addresses", SCAN_ADDRESS,
                      wrapper=("setpriv", f"--reuid={PROXY_UID}", f"--regid={PROXY_UID}",
                               "--clear-groups"))
        pid = proxy.process.pid  # (setpriv execs the proxy)
        # The proxy at work: requests at the scan's concurrency, to one port.
        warm = scan([1] * 2000)
        assert warm.get(502, 0) == 2000, warm
        before = rss_kib(pid)
        started = time.monotonic()
        statuses = scan(range(1, last + 1))
        took = time.monotonic() - started
        after = rss_kib(pid)
        status, text = get("127.0.0.1", "/metrics")
        assert status == 200, status
        answered = sum(n for s, n in statuses.items() if s != 0)
        print(f"scan of ports 1-{last}: {took:.1f}s, answers {statuses}; RSS {before} KiB -> "
              f"{after} KiB ({after - before:+d} KiB); /metrics {len(text)} bytes")
        # Nearly every port reached the proxy (a few land on its own listeners).
        assert answered >= last * 0.99, statuses
        assert after - before <= 2048, f"RSS grew by {after - before} KiB"
        assert len(text) < 1024 * 1024, f"/metrics is {len(text)} bytes"
        targets = set(re.findall(r'tcp_open_total\{direction="inbound",target_service="([^"]*)"',
                                 text))
        if last > 200:
            assert "other" in targets, sorted(targets)[:10]
            assert len(targets) <= 101, len(targets)
            assert proxy.metric("metrics_target_folded_total", direction="inbound") > 0
    finally:
        harness.PROXY_BINARY = PROXY_BINARY
        shutil.rmtree(work, ignore_errors=True)


@test
def config_is_served_on_loopback_only():
    give_pod_ip()
    config = MountedConfig()
    config.write(document([service("web", "10.96.0.10", 80, [(POD_IP, 8080)])], "shop"))
    try:
        proxy = fixed_ports_proxy(config.path)
        status, text = get(POD_IP, "/config")
        assert status == 403, (status, text)
        assert "10.96.0.10" not in text and "loopback" in text, text
        for path in ("/live", "/ready", "/metrics", "/version"):
            status, _ = get(POD_IP, path)
            assert status == 200, (path, status)
        status, text = get("127.0.0.1", "/config")
        assert status == 200 and "10.96.0.10" in text, (status, text)
        assert proxy.metric("admin_forbidden_total", path="/config") == 1
    finally:
        config.close()


@test
def version_reports_the_document_hash():
    give_pod_ip()
    config = MountedConfig()
    first = document([service("web", "10.96.0.10", 80, [(POD_IP, 8080)])], "shop")
    second = document([service("web", "10.96.0.20", 80, [(POD_IP, 8080)])], "shop")
    config.write(first)
    with open(os.path.join(HERE, "..", "..", "..", "CMakeLists.txt")) as f:
        version = "v" + re.search(r"project\(weft VERSION (\S+)", f.read()).group(1)
    try:
        fixed_ports_proxy(config.path)
        status, text = get(POD_IP, "/version")
        assert status == 200, (status, text)
        assert json.loads(text) == {"version": version, "configHash": json.loads(first)["hash"]}
        config.write(second)
        wait_until(lambda: json.loads(get(POD_IP, "/version")[1])["configHash"] ==
                   json.loads(second)["hash"], what="/version to show the new document's hash")
    finally:
        config.close()


@test
def admin_request_deadline_cuts_trickling_clients():
    proxy = fixed_ports_proxy("/nonexistent/config.json", "--admin-request-timeout", "1s")
    request = b"GET /live HTTP/1.1\r\nHost: admin\r\nX-Padding: " + b"a" * 100 + b"\r\n\r\n"
    sock = socket.create_connection(("127.0.0.1", ADMIN_PORT), timeout=10)
    started = time.monotonic()
    answer, cut = b"", False
    for byte in request:  # a byte every 100 ms: the request would take 13 s
        try:
            sock.send(bytes([byte]))
        except OSError:
            cut = True
            break
        readable, _, _ = select.select([sock], [], [], 0.1)
        if readable:
            try:
                answer = sock.recv(4096)
            except ConnectionResetError:
                answer = b""
            cut = answer == b""
            break
    took = time.monotonic() - started
    sock.close()
    assert cut and answer == b"", (answer, took)
    assert 0.9 <= took < 10, took  # cut at the limit, not per byte
    assert proxy.metric("admin_request_timeout_total") == 1
    # An idle keep-alive connection is closed at the limit too, but not counted.
    idle = socket.create_connection(("127.0.0.1", ADMIN_PORT), timeout=10)
    assert idle.recv(1) == b""
    idle.close()
    assert proxy.metric("admin_request_timeout_total") == 1
    status, _ = get("127.0.0.1", "/live")
    assert status == 200


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if sys.argv[1] == "--list":
        print("\n".join(TESTS))
        return
    if not PROXY_BINARY:
        sys.exit("WEFT_PROXY_BINARY is not set")
    name = sys.argv[1]
    if os.environ.get("WEFT_TEST_NETNS"):  # inside the namespace
        sh("ip", "link", "set", "lo", "up")
        run_test(TESTS[name])
        print(f"proxy.metrics_admin.{name}: passed")
        return
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces")
        sys.exit(77)
    namespace = f"weft-ma-{os.getpid()}"
    sh("ip", "netns", "add", namespace)
    try:
        result = subprocess.run(["ip", "netns", "exec", namespace, sys.executable,
                                 os.path.abspath(__file__), name],
                                env={**os.environ, "WEFT_TEST_NETNS": namespace})
    finally:
        subprocess.run(["ip", "netns", "del", namespace])
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
