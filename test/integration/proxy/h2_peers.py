"""HTTP/2 peers for weft-proxy's integration tests, on python3-h2 (Debian's
package): a backend that answers by path, and a client that keeps one
connection and many streams, with control over its flow-control windows and
the raw header blocks it sends (to attack the proxy with what a valid client
library would refuse to send)."""

import socket
import sys
import threading
import time

try:
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
    import h2.settings
except ImportError:  # a Python of its own (pyenv): Debian's package is still there
    sys.path.append("/usr/lib/python3/dist-packages")
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
    import h2.settings


def _headers(pairs):
    return {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in pairs}


class H2Backend:
    """An h2c server (prior knowledge) on loopback. Paths:
    /            200, body = the backend's name, header x-backend
    /echo        200, the request body back, trailers x-echo-trailer: yes and
                 x-request-trailers (the request's trailers, as text)
    /big?n=N     200, N bytes, sent as the proxy's windows allow
    /slow?ms=N   200 after N ms
    /hang        never answered
    /grpc-ok     gRPC: a message, trailers grpc-status 0
    /grpc-fail   gRPC trailers-only: grpc-status 14
    /grpc-fail-on?backend=NAME  as /grpc-fail on the backend NAME, as /grpc-ok elsewhere
    /grpc-late?ms=N  gRPC: the head now, the message and trailers grpc-status 0
                 N ms later (as a gRPC server that flushes its head first)
    /status?code=N  status N
    /goaway      200, then GOAWAY (the connection takes no new stream)
    /early       200 with a body as soon as the head came, before the
                 request ends (as a server that answers without reading)
    /noread      never reads the request body: its window stays shut
    `max_streams`: the SETTINGS_MAX_CONCURRENT_STREAMS it announces."""

    def __init__(self, name, max_streams=None):
        self.name = name
        self.max_streams = max_streams
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.requests = []  # (path, headers, body, trailers)
        self.connections = 0
        self.sockets = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closed = True
        try:
            self.listener.close()
        except OSError:
            pass

    def drop_connections(self):
        """Cuts every connection (RST), as a crashed backend would."""
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def paths(self):
        with self.lock:
            return [r[0] for r in self.requests]

    def _accept(self):
        while not self.closed:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.sockets.append(sock)
            threading.Thread(target=_BackendConnection(self, sock).run, daemon=True).start()


class _BackendConnection:
    def __init__(self, backend, sock):
        self.backend = backend
        self.sock = sock
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.lock = threading.Lock()
        self.streams = {}
        self.pending = {}  # stream id -> [bytes left, trailers]

    def send(self):
        data = self.conn.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                pass

    def run(self):
        with self.lock:
            if self.backend.max_streams is not None:
                self.conn.local_settings = h2.settings.Settings(
                    client=False, initial_values={
                        h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.backend.max_streams})
            self.conn.initiate_connection()
            self.send()
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.sock.close()
                return
            with self.lock:
                try:
                    events = self.conn.receive_data(data)
                except Exception:
                    self.send()
                    self.sock.close()
                    return
                for event in events:
                    self.on_event(event)
                self.send()

    def on_event(self, event):
        if isinstance(event, h2.events.RequestReceived):
            self.streams[event.stream_id] = {"headers": _headers(event.headers), "body": bytearray(),
                                             "trailers": None}
            if self.streams[event.stream_id]["headers"][":path"].startswith("/early"):
                self.streams[event.stream_id]["answered"] = True
                self.answer(event.stream_id, [(":status", "200")], b"early")
        elif isinstance(event, h2.events.DataReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream["body"] += event.data
                if stream["headers"][":path"].startswith("/noread"):
                    return  # neither the stream's window nor the connection's reopens
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.TrailersReceived):
            self.streams[event.stream_id]["trailers"] = _headers(event.headers)
        elif isinstance(event, h2.events.StreamEnded):
            if not self.streams[event.stream_id].get("answered"):
                self.respond(event.stream_id)
        elif isinstance(event, h2.events.WindowUpdated):
            for stream_id in list(self.pending):
                self.flush(stream_id)
        elif isinstance(event, h2.events.StreamReset):
            self.pending.pop(event.stream_id, None)

    def respond(self, stream_id):
        stream = self.streams.pop(stream_id)
        headers = stream["headers"]
        path = headers[":path"]
        with self.backend.lock:
            self.backend.requests.append((path, headers, bytes(stream["body"]), stream["trailers"]))
        query = dict(p.split("=", 1) for p in path.partition("?")[2].split("&") if "=" in p)
        name = self.backend.name.encode()
        if path.startswith("/hang"):
            return
        if path.startswith("/slow"):
            delay = int(query.get("ms", "500")) / 1000

            def later():
                with self.lock:
                    self.answer(stream_id, [(":status", "200"), ("x-backend", self.backend.name)],
                                name)
                    self.send()
            threading.Timer(delay, later).start()
            return
        if path.startswith("/grpc-late"):
            delay = int(query.get("ms", "50")) / 1000
            self.conn.send_headers(stream_id, [(":status", "200"),
                                               ("content-type", "application/grpc"),
                                               ("x-backend", self.backend.name)])

            def rest():
                with self.lock:
                    self.pending[stream_id] = [b"\0\0\0\0\2hi", [("grpc-status", "0")]]
                    self.flush(stream_id)
                    self.send()
            threading.Timer(delay, rest).start()
            return
        if path.startswith("/echo"):
            request_trailers = stream["trailers"] or {}
            text = ",".join(f"{k}={v}" for k, v in sorted(request_trailers.items()))
            self.answer(stream_id, [(":status", "200"), ("x-backend", self.backend.name),
                                    ("x-request-trailers", text)],
                        bytes(stream["body"]), [("x-echo-trailer", "yes")])
        elif path.startswith("/big"):
            self.answer(stream_id, [(":status", "200")], b"x" * int(query.get("n", "1000")))
        elif path.startswith("/grpc-ok") or (path.startswith("/grpc-fail-on") and
                                              query.get("backend") != self.backend.name):
            self.answer(stream_id, [(":status", "200"), ("content-type", "application/grpc"),
                                    ("x-backend", self.backend.name)],
                        b"\0\0\0\0\2hi", [("grpc-status", "0")])
        elif path.startswith("/grpc-fail"):
            self.conn.send_headers(stream_id, [(":status", "200"),
                                               ("content-type", "application/grpc"),
                                               ("grpc-status", "14"),
                                               ("x-backend", self.backend.name)], end_stream=True)
        elif path.startswith("/goaway"):
            self.answer(stream_id, [(":status", "200"), ("x-backend", self.backend.name)], name)
            self.conn.close_connection(last_stream_id=stream_id)
        elif path.startswith("/status"):
            self.answer(stream_id, [(":status", query.get("code", "200")),
                                    ("x-backend", self.backend.name)], name)
        else:
            self.answer(stream_id, [(":status", "200"), ("x-backend", self.backend.name)], name)

    def answer(self, stream_id, headers, body, trailers=None):
        self.conn.send_headers(stream_id, headers, end_stream=not body and not trailers)
        if body or trailers:
            self.pending[stream_id] = [bytes(body), trailers]
            self.flush(stream_id)

    def flush(self, stream_id):
        try:
            self._flush(stream_id)
        except h2.exceptions.StreamClosedError:  # reset by the proxy in this very read
            self.pending.pop(stream_id, None)

    def _flush(self, stream_id):
        left, trailers = self.pending[stream_id]
        while left:
            window = min(self.conn.local_flow_control_window(stream_id),
                         self.conn.max_outbound_frame_size)
            if window <= 0:
                self.pending[stream_id][0] = left
                return
            self.conn.send_data(stream_id, left[:window])
            left = left[window:]
        del self.pending[stream_id]
        if trailers:
            self.conn.send_headers(stream_id, trailers, end_stream=True)
        else:
            self.conn.end_stream(stream_id)


class Response:
    def __init__(self):
        self.headers = None
        self.body = bytearray()
        self.trailers = None
        self.ended = False
        self.reset = None  # the RST_STREAM error code

    @property
    def status(self):
        return int(self.headers[":status"]) if self.headers else None

    @property
    def done(self):
        return self.ended or self.reset is not None


class H2Client:
    """One prior-knowledge HTTP/2 connection. `checked=False` sends header
    blocks as given (no validation nor normalisation by the library)."""

    def __init__(self, port, checked=True, window=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8", validate_outbound_headers=checked,
            normalize_outbound_headers=checked, validate_inbound_headers=True))
        self.responses = {}
        self.held = set()  # streams whose window this client never opens again
        self.goaway = None
        self.closed = False
        self.conn.initiate_connection()
        if window is not None:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def start(self, path, method="GET", headers=(), body=None, trailers=None, end=True,
              authority="web"):
        stream_id = self.conn.get_next_available_stream_id()
        block = [(":method", method), (":scheme", "http"), (":authority", authority),
                 (":path", path)] + list(headers)
        self.responses[stream_id] = Response()
        self.conn.send_headers(stream_id, block, end_stream=end and body is None and not trailers)
        self.flush()
        if body is not None:
            self.send_body(stream_id, body, trailers, end)
        return stream_id

    def send_body(self, stream_id, body, trailers=None, end=True):
        while body:
            window = min(self.conn.local_flow_control_window(stream_id),
                         self.conn.max_outbound_frame_size)
            if window <= 0:
                self.pump(timeout=10, until=lambda: self.conn.local_flow_control_window(stream_id) > 0
                          or self.responses[stream_id].done)
                if self.responses[stream_id].done:
                    return
                continue
            self.conn.send_data(stream_id, body[:window])
            body = body[window:]
            self.flush()
        if trailers:
            self.conn.send_headers(stream_id, trailers, end_stream=True)
        elif end:
            self.conn.end_stream(stream_id)
        self.flush()

    def pump(self, until, timeout=10):
        deadline = time.monotonic() + timeout
        while not until():
            if self.closed:
                raise AssertionError("connection closed while waiting")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting on the HTTP/2 connection")
            self.sock.settimeout(min(left, 1.0))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                data = b""
            if not data:
                self.closed = True
                if until():
                    return
                raise AssertionError("connection closed while waiting")
            for event in self.conn.receive_data(data):
                self.on_event(event)
            self.flush()

    def on_event(self, event):
        response = self.responses.get(getattr(event, "stream_id", None))
        if isinstance(event, h2.events.ResponseReceived):
            response.headers = _headers(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            response.body += event.data
            if event.stream_id in self.held:
                # The connection's window only: this stream's stays shut.
                self.conn.increment_flow_control_window(event.flow_controlled_length)
            else:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.TrailersReceived):
            response.trailers = _headers(event.headers)
        elif isinstance(event, h2.events.StreamEnded):
            response.ended = True
        elif isinstance(event, h2.events.StreamReset):
            if response is not None:
                response.reset = event.error_code
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = event

    def wait(self, stream_id, timeout=10):
        self.pump(lambda: self.responses[stream_id].done, timeout)
        return self.responses[stream_id]

    def get(self, path, timeout=10, **kwargs):
        return self.wait(self.start(path, **kwargs), timeout)

    def close(self):
        try:
            self.conn.close_connection()
            self.flush()
        except Exception:
            pass
        self.sock.close()
