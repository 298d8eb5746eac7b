#!/usr/bin/env python3
"""Integration tests of weft-sample-app and weft-load: the real binaries as
processes on loopback, one ctest per test function (`--list` names them).

Statistical bounds are chosen so that a correct program fails them with a
probability below one in a million; time bounds are generous upper limits, or
lower limits that a slow machine cannot break."""

import http.client
import http.server
import json
import os
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

APP = os.environ.get("WEFT_SAMPLE_APP_BINARY", "")
LOAD = os.environ.get("WEFT_LOAD_BINARY", "")


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Process:
    """A sample program with its JSON-lines log captured to a file."""

    def __init__(self, args):
        self.log = tempfile.NamedTemporaryFile(prefix="weft-samples-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)

    def log_lines(self):
        with open(self.log.name, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def log_event(self, msg):
        return next((line for line in self.log_lines() if line["msg"] == msg), None)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.proc.args[0]} did not exit within {timeout}s")
        return self.proc.returncode

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        os.unlink(self.log.name)


class App(Process):
    def __init__(self, *flags):
        super().__init__([APP, "--address", "127.0.0.1", "--port", "0", *flags])
        event = wait_until(lambda: self.log_event("listening"), what="the app to listen")
        self.port = event["port"]
        self.url = f"http://127.0.0.1:{self.port}"


class Apps:
    """Starts apps and closes them all at the end of a test."""

    def __init__(self):
        self.started = []

    def __enter__(self):
        return self

    def start(self, *flags):
        app = App(*flags)
        self.started.append(app)
        return app

    def __exit__(self, *exc):
        for app in self.started:
            app.close()


def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def run_load(*args, timeout=120):
    result = subprocess.run([LOAD, "--json", *args], capture_output=True, text=True,
                            timeout=timeout, check=False)
    assert result.returncode == 0, f"weft-load failed: {result.stderr}"
    return json.loads(result.stdout)


# ---- tests -------------------------------------------------------------------

def test_chain_web_api_backend():
    """weft-load -> web -> api -> backend: every request crosses the chain and the
    backend's version is counted through it."""
    with Apps() as apps:
        backend = apps.start("--name", "backend", "--version", "v2", "--latency", "2ms±1ms")
        api = apps.start("--name", "api", "--downstream", backend.url + "/items")
        web = apps.start("--name", "web", "--downstream", api.url + "/api", "--pod-name", "web-0")

        status, body = get(web.url + "/")
        assert status == 200, body
        answer = json.loads(body)
        assert answer["name"] == "web" and answer["pod"] == "web-0", answer
        api_call = answer["downstream"][0]
        assert api_call["url"] == api.url + "/api" and api_call["status"] == 200, api_call
        backend_call = api_call["body"]["downstream"][0]
        assert backend_call["body"]["name"] == "backend", backend_call
        assert backend_call["body"]["version"] == "v2", backend_call
        assert backend_call["latency_ms"] >= 1.0, backend_call  # the injected latency

        summary = run_load("--requests", "500", "--rate", "0", "--concurrency", "8",
                           "--version-of", "backend", web.url + "/")
        assert summary["requests"] == 500, summary
        assert summary["statuses"] == {"200": 500}, summary
        assert summary["versions"] == {"v2": 500}, summary
        assert summary["latency_ms"]["p50"] >= 1.0, summary
        top = run_load("--requests", "20", "--rate", "0", web.url + "/")
        assert top["versions"] == {"v1": 20}, top  # default: the responder's version
        assert top["pods"] == {"web-0": 20}, top


def test_failure_rate_observed():
    """--failure-rate 0.2 answers 500 to 20 % of 4,000 requests, within ±3 points
    (binomial standard deviation 0.63 points: the bound is 4.7 sigma)."""
    with Apps() as apps:
        backend = apps.start("--name", "backend", "--failure-rate", "0.2")
        summary = run_load("--requests", "4000", "--rate", "0", "--concurrency", "8", backend.url)
        assert set(summary["statuses"]) <= {"200", "500"}, summary
        failed = summary["statuses"].get("500", 0) / summary["requests"]
        assert abs(failed - 0.2) <= 0.03, f"observed failure rate {failed:.4f}"
        assert abs(summary["success_rate"] - (1 - failed)) < 1e-9, summary


def test_failure_propagates_as_502():
    """A failing backend makes the caller answer 502, so load through a chain
    sees the backend's failure rate."""
    with Apps() as apps:
        backend = apps.start("--name", "backend", "--failure-rate", "1")
        web = apps.start("--name", "web", "--downstream", backend.url)
        status, body = get(web.url)
        assert status == 502, body
        assert json.loads(body)["downstream"][0]["status"] == 500


def test_downstream_timeout():
    """A downstream slower than --downstream-timeout is abandoned: the caller
    answers 502 naming the timeout, long before the downstream would answer."""
    with Apps() as apps:
        slow = apps.start("--name", "slow", "--latency", "3s")
        web = apps.start("--name", "web", "--downstream", slow.url,
                         "--downstream-timeout", "200ms")
        start = time.monotonic()
        status, body = get(web.url)
        elapsed = time.monotonic() - start
        assert status == 502, body
        call = json.loads(body)["downstream"][0]
        assert call["status"] is None and call["error"].startswith("timeout: "), call
        assert 0.19 <= call["latency_ms"] / 1000 < 2.5, call
        assert elapsed < 2.5, f"took {elapsed:.2f}s, the downstream takes 3s"
        # The timed-out connection is not reused: the next call works normally.
        fast = apps.start("--name", "fast")
        web2 = apps.start("--name", "web2", "--downstream", fast.url,
                          "--downstream-timeout", "200ms")
        assert get(web2.url)[0] == 200


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_GET(self):
        body = b'{"name":"counted","version":"v1"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _CountingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def test_downstream_connections_reused():
    """Downstream calls reuse kept-alive connections: 200 sequential requests
    through one worker thread open one connection to the downstream."""
    server = _CountingServer(("127.0.0.1", 0), _CountingHandler)
    server.lock = threading.Lock()
    server.connections = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with Apps() as apps:
            web = apps.start("--name", "web", "--threads", "1", "--downstream",
                             f"http://127.0.0.1:{server.server_address[1]}/")
            summary = run_load("--requests", "200", "--rate", "0", "--concurrency", "1", web.url)
            assert summary["statuses"] == {"200": 200}, summary
            assert server.connections == 1, f"{server.connections} connections for 200 calls"
    finally:
        server.shutdown()
        server.server_close()


def test_graceful_shutdown_finishes_in_flight_request():
    """On SIGTERM the app stops accepting and closes idle connections, while a
    request in flight (1.5s of latency) still gets its full answer."""
    with Apps() as apps:
        app = apps.start("--name", "slow", "--latency", "1500ms", "--shutdown-grace", "20s")
        idle = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
        idle.request("GET", "/healthz")
        assert idle.getresponse().read() == b"ok\n"  # now an idle keep-alive connection

        outcome = {}

        def slow_request():
            start = time.monotonic()
            outcome["status"], outcome["body"] = get(app.url + "/slow", timeout=20)
            outcome["seconds"] = time.monotonic() - start

        requester = threading.Thread(target=slow_request)
        requester.start()
        time.sleep(0.4)  # the request is now waiting out its latency
        app.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: app.log_event("draining"), what="the draining log line")

        # New connections are refused once the listener is closed.
        def refused():
            try:
                http.client.HTTPConnection("127.0.0.1", app.port, timeout=2).connect()
                return False
            except ConnectionRefusedError:
                return True
        wait_until(refused, timeout=5, what="the listener to close")

        requester.join(timeout=20)
        assert outcome.get("status") == 200, outcome
        assert json.loads(outcome["body"])["name"] == "slow"
        assert outcome["seconds"] >= 1.4, outcome
        assert app.stop(timeout=15) == 0
        assert app.log_event("stopped")["connections_cut"] == 0
        # The idle connection was closed by the server, not left open.
        idle.request("GET", "/healthz")
        try:
            idle.getresponse()
            raise AssertionError("the idle keep-alive connection was still served")
        except (http.client.RemoteDisconnected, ConnectionError):
            pass


def test_shutdown_grace_bounds_the_wait():
    """A request slower than --shutdown-grace is cut off: the process exits
    after the grace period, not after the request."""
    with Apps() as apps:
        app = apps.start("--name", "stuck", "--latency", "30s", "--shutdown-grace", "300ms")
        stuck = http.client.HTTPConnection("127.0.0.1", app.port, timeout=40)
        stuck.request("GET", "/")  # sent; its answer would take 30s
        time.sleep(1)  # ample time for the app to read it
        start = time.monotonic()
        assert app.stop(timeout=15) == 0
        assert time.monotonic() - start < 10
        assert app.log_event("stopped")["connections_cut"] == 1
        stuck.close()


def test_readyz_and_healthz():
    with Apps() as apps:
        app = apps.start("--name", "probe", "--failure-rate", "1", "--latency", "1s")
        start = time.monotonic()
        assert get(app.url + "/healthz") == (200, "ok\n")
        assert get(app.url + "/readyz") == (200, "ready\n")
        # Probes skip the injected latency and failures.
        assert time.monotonic() - start < 0.9


def test_malformed_requests_get_400():
    """Bytes that are not HTTP, and bodies over the 64 KiB limit, get 400 and a
    closed connection; the app keeps serving."""
    import socket
    with Apps() as apps:
        app = apps.start("--name", "sturdy")
        for raw in [b"NOT HTTP AT ALL\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
                    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"a" * 100000]:
            with socket.create_connection(("127.0.0.1", app.port), timeout=10) as sock:
                try:
                    sock.sendall(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # closed after the 400 while the rest was still being sent
                answer = b""
                try:
                    while chunk := sock.recv(4096):
                        answer += chunk
                except ConnectionResetError:
                    pass
                assert answer.startswith(b"HTTP/1.1 400 "), (raw[:40], answer[:80])
        assert get(app.url)[0] == 200
        assert app.proc.poll() is None


def test_load_rate_paces_requests():
    """--rate 50 --requests 100 takes at least 1.98s (request 99 is due at 1.98s)."""
    with Apps() as apps:
        app = apps.start("--name", "paced")
        start = time.monotonic()
        summary = run_load("--rate", "50", "--requests", "100", app.url)
        assert summary["requests"] == 100
        assert time.monotonic() - start >= 1.98
        assert summary["duration_s"] >= 1.98, summary


def test_load_long_running_metrics_and_sigterm():
    """--duration 0 runs until SIGTERM, serving Prometheus /metrics meanwhile,
    then prints its summary."""
    with Apps() as apps:
        app = apps.start("--name", "backend", "--version", "v3", "--pod-name", "backend-0")
        load = Process([LOAD, "--duration", "0", "--rate", "100", "--metrics-port", "0",
                        "--metrics-address", "127.0.0.1", "--json", app.url])
        try:
            event = wait_until(lambda: load.log_event("metrics listening"), what="metrics")
            metrics_url = f"http://127.0.0.1:{event['port']}/metrics"

            def counted():
                _, text = get(metrics_url)
                for line in text.splitlines():
                    if line.startswith('weft_load_requests_total{outcome="200"}'):
                        return float(line.split()[-1]) >= 20 and text
                return False
            text = wait_until(counted, timeout=20, what="20 counted requests")
            assert 'weft_load_responses_by_version_total{version="v3"}' in text
            assert 'weft_load_responses_by_pod_total{pod="backend-0"}' in text
            assert "weft_load_request_duration_ms_bucket" in text
            assert load.stop(timeout=15) == 0
            summary = json.loads(load.proc.stdout.read())
            assert summary["requests"] >= 20 and summary["versions"].keys() == {"v3"}, summary
        finally:
            load.close()


def test_bad_flags_are_usage_errors():
    for binary, args, expected in [
        (APP, ["--failure-rate", "1.5"], "--failure-rate: "),
        (APP, ["--latency", "5"], "--latency: "),
        (APP, ["--downstream", "https://x/"], "only http://"),
        (LOAD, [], "at least one target"),
        (LOAD, ["--rate", "x", "http://127.0.0.1:1/"], "--rate: "),
    ]:
        result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=10,
                                check=False)
        assert result.returncode == 2, (args, result.returncode, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
    # A flag given twice takes its last value (as in every Weft program), and
    # each value is checked.
    taken = subprocess.run([APP, "--threads", "2", "--threads", "0"],
                           capture_output=True, text=True, timeout=10, check=False)
    assert taken.returncode == 2 and "--threads: '0'" in taken.stderr, taken.stderr


def main():
    tests = {name[len("test_"):]: fn for name, fn in globals().items()
             if name.startswith("test_") and callable(fn)}
    if sys.argv[1:] == ["--list"]:
        print("\n".join(tests))
        return 0
    for name in sys.argv[1:] or tests:
        tests[name]()
        print(f"ok {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
