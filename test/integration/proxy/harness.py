"""Helpers for weft-proxy's integration tests: real backends on loopback, the
real weft-proxy binary, configuration documents laid out the way the kubelet
mounts a ConfigMap (a `..data` symlink swapped atomically)."""

import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

PROXY_BINARY = os.environ.get("WEFT_PROXY_BINARY", "")


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# ---- backends ----------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body, headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length else b""

    def handle_one(self):
        server = self.server
        if server.delay:
            time.sleep(server.delay)
        with server.lock:
            server.requests.append((self.command, self.path, dict(self.headers)))
        path = self.path.split("?")[0]
        if path.startswith("/status/"):
            code = int(path.split("/")[2])
            with server.lock:
                remaining = server.fail_next
                if remaining > 0:
                    server.fail_next -= 1
            if remaining > 0 or server.fail_next < 0:
                self._read_body()
                return self._send(code, b"failing\n")
            self._read_body()
            return self._send(200, server.name.encode())
        if path == "/slow":
            time.sleep(float(self.path.split("=")[1]) / 1000)
            return self._send(200, server.name.encode())
        if path == "/echo":
            body = self._read_body()
            return self._send(200, body, {"X-Body-Sha256": hashlib.sha256(body).hexdigest(),
                                          "X-Seen-Headers": ",".join(sorted(
                                              k.lower() for k in self.headers.keys()))})
        if path == "/chunked":
            self._read_body()
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(int(self.path.split("=")[1])):
                piece = (str(i) * 1000).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return None
        if path == "/ws":
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.flush()
            while True:  # echo raw bytes until the client closes
                data = self.connection.recv(65536)
                if not data:
                    return None
                self.connection.sendall(data.upper())
        self._read_body()
        return self._send(200, server.name.encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_one


class Backend:
    """A threaded HTTP/1.1 server on 127.0.0.1 (port 0), answering with its name."""

    def __init__(self, name, host="127.0.0.1", port=0):
        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128  # the default 5 drops SYNs under concurrent connects

            def get_request(inner):
                request = super().get_request()
                with inner.lock:
                    inner.connections += 1
                return request

        self.server = Server((host, port), _Handler)
        self.server.name = name
        self.server.lock = threading.Lock()
        self.server.requests = []
        self.server.connections = 0
        self.server.fail_next = 0
        self.server.delay = 0.0  # seconds added to every response
        self.name = name
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self):
        with self.server.lock:
            return list(self.server.requests)

    @property
    def connections(self):
        with self.server.lock:
            return self.server.connections

    def fail_next(self, count):
        with self.server.lock:
            self.server.fail_next = count

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class TcpServer:
    """A TCP server on 127.0.0.1 (port 0) for the tests' own protocols: hands
    each connection it accepts to `handle(conn)` on a thread of its own (with
    no `handle` it only holds them, with no thread per connection). Every
    connection stays referenced until close(), so none is closed by the garbage
    collector behind a test's back: a handler closes its connection when done."""

    def __init__(self, handle=None, backlog=16):
        self.handle = handle
        self.lock = threading.Lock()
        self.conns = []
        self.accepted = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)
                self.accepted += 1
            if self.handle:
                threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def connections(self):
        with self.lock:
            return list(self.conns)

    def drop(self):
        """Closes the connections accepted so far."""
        with self.lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            conn.close()

    def close(self):
        self.sock.close()
        self.drop()


class EchoServer(TcpServer):
    """Opaque TCP: sends `greeting` first, if any (a server-first protocol,
    like SMTP or MySQL), then answers each read with "echo:" and the bytes;
    over TLS when given a server-side `tls_context`."""

    def __init__(self, greeting=b"", tls_context=None):
        self.greeting, self.tls_context = greeting, tls_context
        super().__init__(self._one)

    def _one(self, conn):
        try:
            if self.tls_context:
                conn = self.tls_context.wrap_socket(conn, server_side=True)
            with conn:
                if self.greeting:
                    conn.sendall(self.greeting)
                while True:
                    data = conn.recv(4096)
                    if not data:
                        return
                    conn.sendall(b"echo:" + data)
        except (OSError, ssl.SSLError):
            pass


class BannerServer(EchoServer):
    """A server-first TCP protocol: greets, then echoes."""

    def __init__(self):
        super().__init__(greeting=b"220 banner\r\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- configuration documents ---------------------------------------------------

def document(services, namespace="test"):
    """A version-1 document with its content hash (canonical: compact, sorted keys)."""
    body = {"version": 1, "namespace": namespace, "outbound": {"services": services},
            "inbound": {"policies": []}}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    body["hash"] = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def service(name, cluster_ip, port, endpoints, rules=None, matches=None, **port_fields):
    entry = {"port": port, "endpoints": [{"address": a, "port": p} for a, p in endpoints],
             "loadBalancer": {"algorithm": "PeakEWMA"}}
    entry["rules"] = rules or []
    entry["matches"] = matches or []
    entry.update(port_fields)
    return {"name": name, "clusterIPs": [cluster_ip], "ports": [entry]}


class MountedConfig:
    """A directory laid out like a kubelet ConfigMap volume:
    config.json -> ..data/config.json, ..data -> ..<timestamp>/"""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="weft-proxy-config-")
        self.path = os.path.join(self.dir, "config.json")
        self.generation = 0

    def write(self, text):
        self.generation += 1
        version_dir = f"..{time.time_ns()}_{self.generation}"
        os.mkdir(os.path.join(self.dir, version_dir))
        with open(os.path.join(self.dir, version_dir, "config.json"), "w") as f:
            f.write(text)
        tmp_link = os.path.join(self.dir, "..data_tmp")
        os.symlink(version_dir, tmp_link)
        os.rename(tmp_link, os.path.join(self.dir, "..data"))  # the atomic swap
        if not os.path.lexists(self.path):
            os.symlink("..data/config.json", self.path)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- the proxy -------------------------------------------------------------------

class Proxy:
    """weft-proxy on 127.0.0.1 with ephemeral ports (read back from its start log).

    Every Proxy is recorded in Proxy.started; run_test() stops those a test left
    running and fails the test if any exited other than cleanly."""

    started = []

    def __init__(self, config_path, *flags, env=None, expect_start=True, wrapper=()):
        self.log_path = tempfile.mktemp(prefix="weft-proxy-log-")
        self.log = open(self.log_path, "w+")
        self.returncode, self.problem = None, None
        args = list(wrapper) + [PROXY_BINARY, "--config", config_path,
                                "--listen-address", "127.0.0.1", "--outbound-port", "0",
                                "--inbound-port", "0", "--admin-port", "0",
                                "--kube-watch", "off", "--log-level", "debug"]
        args += [f for f in flags]
        # Later flags win: callers may override the defaults above.
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})})
        Proxy.started.append(self)
        self.ports = {}
        if expect_start:
            self.ports = wait_until(self._started, what="weft-proxy to start")

    def _started(self):
        if self.process.poll() is not None:
            raise AssertionError(f"weft-proxy exited with {self.process.returncode}:\n"
                                 + self.output())
        for line in self.output().splitlines():
            if '"weft-proxy started"' in line:
                event = json.loads(line)
                return {k: event[f"{k}_port"] for k in ("outbound", "inbound", "admin")}
        return None

    def output(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    @property
    def outbound(self):
        return self.ports["outbound"]

    @property
    def inbound(self):
        return self.ports["inbound"]

    def admin(self, path, method="GET"):
        request = urllib.request.Request(f"http://127.0.0.1:{self.ports['admin']}{path}",
                                         method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), dict(error.headers)

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels`."""
        _, text, _ = self.admin("/metrics")
        total = 0.0
        for line in text.splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            head, value = line.rsplit(" ", 1)
            metric = head.split("{", 1)[0]
            if metric != name:
                continue
            label_text = head[len(metric):].strip("{}")
            found = dict(part.split("=", 1) for part in _split_labels(label_text))
            if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
                total += float(value)
        return total

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the proxy (once; later calls return the same code) and returns its
        exit code. A bad exit or a sanitizer report is kept in self.problem, for
        run_test() to report after the test's own checks, never instead of them."""
        if self.returncode is not None:
            return self.returncode
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        output = self.output_after_close()
        self.final_output = output
        os.unlink(self.log_path)
        self.returncode = self.process.returncode
        for report in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            if report in output:
                self.problem = f"weft-proxy sanitizer report:\n{output}"
                break
        else:
            if self.returncode != 0:
                self.problem = f"weft-proxy exited with {self.returncode}:\n{output[-4000:]}"
        return self.returncode

    def output_after_close(self):
        with open(self.log_path) as f:
            return f.read()


def run_test(function):
    """Runs one test, then stops the proxies it left running. The test's own
    failure is the one reported; a proxy that exited non-zero (or with a sanitizer
    report) fails a test that passed otherwise."""
    Proxy.started = []
    try:
        function()
    except BaseException:
        for proxy in Proxy.started:
            try:
                proxy.stop()
            except Exception as error:  # stopping must not replace the test's failure
                print(f"(also: stopping a proxy failed: {error!r})", file=sys.stderr)
            if proxy.problem:
                print(f"(also, after the failure: {proxy.problem})", file=sys.stderr)
        raise
    for proxy in Proxy.started:
        proxy.stop()
    problems = [proxy.problem for proxy in Proxy.started if proxy.problem]
    if problems:
        raise AssertionError("\n".join(problems))


def _split_labels(text):
    parts, current, quoted = [], "", False
    for c in text:
        if c == '"' and not current.endswith("\\"):
            quoted = not quoted
        if c == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += c
    if current:
        parts.append(current)
    return parts


# ---- raw HTTP clients --------------------------------------------------------------

def connect(port, host="127.0.0.1", timeout=10):
    return socket.create_connection((host, port), timeout=timeout)


def read_response(sock, method="GET"):
    """Reads one response: (status, headers dict (lower-case names), body bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response head: {data!r}")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    if method == "HEAD" or status in (101, 204, 304) or 100 <= status < 200:
        return status, headers, b"", rest
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += _recv_or_fail(sock)
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while b"\r\n\r\n" not in b"\r\n" + rest:
                    rest += _recv_or_fail(sock)
                rest = (b"\r\n" + rest).split(b"\r\n\r\n", 1)[1]
                return status, headers, body, rest
            while len(rest) < size + 2:
                rest += _recv_or_fail(sock)
            body += rest[:size]
            rest = rest[size + 2:]
    if "content-length" in headers:
        length = int(headers["content-length"])
        while len(rest) < length:
            rest += _recv_or_fail(sock)
        return status, headers, rest[:length], rest[length:]
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return status, headers, rest, b""
        rest += chunk


def _recv_or_fail(sock):
    chunk = sock.recv(65536)
    if not chunk:
        raise AssertionError("connection closed in the middle of a body")
    return chunk


def request(port, path="/", method="GET", headers=None, body=b"", sock=None):
    """One request on `sock` (or a new connection); returns (status, headers, body)."""
    own = sock is None
    sock = sock or connect(port)
    try:
        lines = [f"{method} {path} HTTP/1.1", "Host: test"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body:
            lines.append(f"Content-Length: {len(body)}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status, response_headers, response_body, _ = read_response(sock, method)
        return status, response_headers, response_body
    finally:
        if own:
            sock.close()


def closed_by_peer(sock, timeout=5):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def run_main(tests, prefix, usage):
    """The command line every test file shares: `--list`, or one test by name."""
    if len(sys.argv) != 2:
        sys.exit(usage)
    if sys.argv[1] == "--list":
        print("\n".join(tests))
        return
    if not os.environ.get("WEFT_PROXY_BINARY"):
        sys.exit("WEFT_PROXY_BINARY is not set")
    run_test(tests[sys.argv[1]])
    print(f"{prefix}{sys.argv[1]}: passed")
