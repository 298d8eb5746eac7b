#!/usr/bin/env python3
"""Integration tests of weft-grpc-sample (samples/grpc): `serve` and `load` as
real processes on loopback, no proxy; one ctest per test function (`--list`
names them). ghz (scripts/build-go-tools) and nghttp (Debian's nghttp2-client)
call the same server as independent gRPC and HTTP/2 clients.

Statistical bounds are chosen so that a correct program fails them with a
probability below one in a million; time bounds are generous upper limits, or
lower limits that a slow machine cannot break."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SAMPLE = os.environ.get("WEFT_GRPC_SAMPLE_BINARY", "")
GHZ = os.environ.get("WEFT_GHZ_BINARY", "")
PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../samples/grpc/proto/echo.proto")
SKIPPED = 77  # ctest's SKIP_RETURN_CODE for this file


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Server:
    """`weft-grpc-sample serve` on a free loopback port, its JSON log in a file."""

    def __init__(self, *flags):
        self.log = tempfile.NamedTemporaryFile(prefix="weft-grpc-sample-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([SAMPLE, "serve", "--address", "127.0.0.1", "--port", "0", *flags],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        event = wait_until(lambda: self.log_event("listening"), what="the server to listen")
        self.target = f"127.0.0.1:{event['port']}"

    def log_lines(self):
        with open(self.log.name, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def log_event(self, msg):
        return next((line for line in self.log_lines() if line["msg"] == msg), None)

    def stop(self, timeout=15):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the server did not exit within {timeout}s of SIGTERM") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.unlink(self.log.name)


def load_args(target, *flags):
    return [SAMPLE, "load", *flags, target]


def run_load(target, *flags, timeout=120):
    result = subprocess.run(load_args(target, *flags), capture_output=True, text=True, timeout=timeout,
                            check=False)
    assert result.returncode == 0, f"weft-grpc-sample load failed ({result.returncode}): {result.stderr}"
    return json.loads(result.stdout)


def established_to(port):
    """Whether a TCP connection to 127.0.0.1:port is established (/proc/net/tcp)."""
    with open("/proc/net/tcp", encoding="ascii") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return any(row[1] == f"0100007F:{port:04X}" and row[3] == "01" for row in rows)


def binomial_bounds(n, p, sigmas=5.5):
    """[low, high] holding a Binomial(n, p) draw but for a chance below 1e-7."""
    spread = sigmas * math.sqrt(n * p * (1 - p))
    return n * p - spread, n * p + spread


# ---- tests -------------------------------------------------------------------

def test_unary_counts_codes_pods_and_versions():
    """Every call answered: counted once per code, pod and version, with
    percentiles in order."""
    with Server("--pod-name", "echo-a", "--version", "v2", "--latency", "1ms") as server:
        summary = run_load(server.target, "--requests", "500", "--rate", "0", "--concurrency", "8")
        assert summary["requests"] == 500 and summary["ok"] == 500, summary
        assert summary["codes"] == {"OK": 500}, summary
        assert summary["pods"] == {"echo-a": 500} and summary["failures_by_pod"] == {}, summary
        assert summary["versions"] == {"v2": 500} and summary["messages"] == 500, summary
        assert summary["success_rate"] == 1.0, summary
        latency = summary["latency_ms"]
        assert 1.0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"], latency
        assert not summary["latency_sampled"], summary


def test_failure_rate_answers_unavailable():
    """--failure-rate 0.3: about 30 % UNAVAILABLE, each failure still counted
    against the pod that gave it (the weft-pod trailer)."""
    with Server("--pod-name", "echo-b", "--failure-rate", "0.3") as server:
        n = 3000
        summary = run_load(server.target, "--requests", str(n), "--rate", "0", "--concurrency", "16")
        failed = summary["codes"].get("UNAVAILABLE", 0)
        low, high = binomial_bounds(n, 0.3)
        assert low <= failed <= high, (failed, low, high, summary)
        assert summary["codes"] == {"OK": n - failed, "UNAVAILABLE": failed}, summary
        assert summary["failures_by_pod"] == {"echo-b": failed}, summary
        assert summary["pods"] == {"echo-b": n - failed}, summary


def test_deadline_cuts_a_slow_call():
    """A deadline shorter than the server's latency ends the call with
    DEADLINE_EXCEEDED at the deadline; a longer one waits the latency out."""
    with Server("--latency", "400ms") as server:
        cut = run_load(server.target, "--requests", "10", "--rate", "0", "--concurrency", "10",
                       "--timeout", "50ms")
        assert cut["codes"] == {"DEADLINE_EXCEEDED": 10}, cut
        assert 50 <= cut["latency_ms"]["p50"] and cut["latency_ms"]["max"] < 400, cut
        waited = run_load(server.target, "--requests", "5", "--rate", "0", "--timeout", "5s")
        assert waited["codes"] == {"OK": 5} and waited["latency_ms"]["p50"] >= 400, waited


def test_server_streaming_replies():
    """EchoStream sends --stream-count replies per call; a count above
    --max-stream-replies is INVALID_ARGUMENT."""
    with Server("--pod-name", "echo-s", "--max-stream-replies", "8") as server:
        summary = run_load(server.target, "--method", "stream", "--stream-count", "5",
                           "--stream-interval", "2ms", "--requests", "40", "--rate", "0")
        assert summary["codes"] == {"OK": 40} and summary["messages"] == 200, summary
        assert summary["pods"] == {"echo-s": 40}, summary
        # 5 replies 2 ms apart: at least 8 ms per call.
        assert summary["latency_ms"]["p50"] >= 8, summary
        refused = run_load(server.target, "--method", "stream", "--stream-count", "9",
                           "--requests", "3", "--rate", "0")
        assert refused["codes"] == {"INVALID_ARGUMENT": 3} and refused["messages"] == 0, refused


def test_rate_paces_the_calls():
    """--rate 50: call 24 is due 480 ms after the first, whatever the latency."""
    with Server() as server:
        summary = run_load(server.target, "--requests", "25", "--rate", "50")
        assert summary["requests"] == 25 and summary["codes"] == {"OK": 25}, summary
        assert 0.48 <= summary["duration_s"] < 30, summary


def test_duration_bounds_a_run():
    """--duration 500ms at 40/s starts 20 calls (at 0, 25, ... 475 ms; fewer only
    if the machine stalls), then stops."""
    with Server() as server:
        started = time.monotonic()
        summary = run_load(server.target, "--duration", "500ms", "--rate", "40")
        assert 10 <= summary["requests"] <= 21, summary
        assert time.monotonic() - started < 30, summary


def test_health_over_plain_http2():
    """grpc.health.v1.Health/Check answers SERVING to nghttp, an HTTP/2 client
    that is not gRPC's: the sample speaks h2c with prior knowledge."""
    nghttp = shutil.which("nghttp")
    assert nghttp, "nghttp is missing (Debian's nghttp2-client, scripts/install-deps)"
    with Server() as server, tempfile.NamedTemporaryFile(suffix=".grpc") as request:
        # One gRPC message: not compressed, length 0 (an empty HealthCheckRequest: service "").
        request.write(b"\x00\x00\x00\x00\x00")
        request.flush()
        result = subprocess.run(
            [nghttp, "-v", "-H", "content-type: application/grpc", "-H", "te: trailers", "-d", request.name,
             f"http://{server.target}/grpc.health.v1.Health/Check"],
            capture_output=True, timeout=30, check=False)
        assert result.returncode == 0, result.stderr
        # The reply: length 2, HealthCheckResponse{status: SERVING (1)}, then grpc-status 0.
        assert b"\x00\x00\x00\x00\x02\x08\x01" in result.stdout, result.stdout
        assert b"grpc-status: 0" in result.stdout, result.stdout


def test_sigterm_drains_calls_in_flight():
    """SIGTERM: calls in flight finish OK, the server logs draining and
    stopped, and exits 0."""
    with Server("--latency", "2s", "--shutdown-grace", "20s") as server:
        load = subprocess.Popen(load_args(server.target, "--requests", "4", "--concurrency", "4", "--rate", "0"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # The client connects to send its first call; the 4 calls are then
            # in the server's 2 s latency well within 0.3 s.
            port = int(server.target.rsplit(":", 1)[1])
            wait_until(lambda: established_to(port), what="the load client to connect")
            time.sleep(0.3)
            assert server.stop() == 0
            out, err = load.communicate(timeout=30)
        finally:
            if load.poll() is None:
                load.kill()
                load.wait()
        assert load.returncode == 0, err
        summary = json.loads(out)
        assert summary["codes"] == {"OK": 4}, summary
        assert server.log_event("draining") and server.log_event("stopped"), server.log_lines()


def test_ghz_calls_the_sample():
    """ghz, the gRPC load generator of the benchmarks, calls Echo through the
    server's reflection and through proto/echo.proto."""
    if not GHZ or not os.access(GHZ, os.X_OK):
        print(f"skipped: ghz is not built ({GHZ or 'WEFT_GHZ_BINARY unset'}): run scripts/build-go-tools")
        sys.exit(SKIPPED)
    with Server("--pod-name", "echo-g") as server:
        for source in ([], ["--proto", PROTO]):
            result = subprocess.run(
                [GHZ, "--insecure", *source, "--call", "weft.sample.v1.Echo/Echo", "-d", '{"message":"hi"}',
                 "-n", "300", "-c", "10", "--format", "json", server.target],
                capture_output=True, text=True, timeout=120, check=False)
            assert result.returncode == 0, result.stderr
            report = json.loads(result.stdout)
            assert report["count"] == 300, report
            assert report["statusCodeDistribution"] == {"OK": 300}, report["statusCodeDistribution"]


def test_usage_errors_exit_2():
    for args, expected in [
        (["serve", "--failure-rate", "1.5"], "failure rate"),
        (["load", "--rate", "-1", "127.0.0.1:1"], "must not be negative"),
        (["load"], "want one HOST:PORT"),
        (["load", "no-such-service:80"], "NO_SUCH_SERVICE_SERVICE_HOST is not set"),
    ]:
        result = subprocess.run([SAMPLE, *args], capture_output=True, text=True, timeout=30, check=False)
        assert result.returncode == 2, (args, result.returncode, result.stderr)
        assert expected in result.stderr, (args, result.stderr)


def main():
    tests = {name[len("test_"):]: fn for name, fn in globals().items()
             if name.startswith("test_") and callable(fn)}
    if sys.argv[1:] == ["--list"]:
        print("\n".join(tests))
        return 0
    assert SAMPLE, "WEFT_GRPC_SAMPLE_BINARY is not set"
    for name in sys.argv[1:] or tests:
        tests[name]()
        print(f"ok {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
