#!/usr/bin/env python3
"""HTTP/2 denial-of-service attacks against a real weft-proxy, one test per
attack. Each shows that (a) the attack is cut (GOAWAY, RST_STREAM or the
connection closed) and counted in a metric, (b) another client, on another
connection, keeps being served while it runs (every request answered, each
within a bound), and (c) the proxy's resident memory (VmRSS) stays bounded.

The attackers write raw frames (struct, and python3-hpack for header
blocks): what a client library would refuse to send. Counts and times are
bounded; the bounds are generous, for a slow shared machine.

Usage: h2_attack_test.py --list | <test name>   (WEFT_PROXY_BINARY: the binary)"""

import os
import socket
import struct
import sys
import threading
import time

from harness import run_main, MountedConfig, Proxy, document, service, wait_until
from h2_peers import H2Backend, H2Client

try:
    import hpack
except ImportError:  # a Python of its own (pyenv): Debian's package is still there
    sys.path.append("/usr/lib/python3/dist-packages")
    import hpack

SERVICE_IP = "10.96.0.10"  # only a lookup key: the fallback destination names it
MIB = 1024 * 1024
# A request of the other client may take this long while an attack runs.
SERVED_WITHIN_SECONDS = 5.0

HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 0x1, 0x3, 0x4, 0x6, 0x7, 0x9
WINDOW_UPDATE = 0x8
ENHANCE_YOUR_CALM = 0xb
END_STREAM, END_HEADERS = 0x1, 0x4
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
CANCEL = 0x8
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

TESTS = {}


def test(function):
    TESTS[function.__name__] = function
    return function


# ---- raw frames --------------------------------------------------------------

def frame(kind, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", kind, flags, stream_id) + payload


def settings(**entries):
    """A SETTINGS frame: entries by id (SETTINGS_INITIAL_WINDOW_SIZE=0, say)."""
    ids = {"SETTINGS_INITIAL_WINDOW_SIZE": SETTINGS_INITIAL_WINDOW_SIZE}
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", ids[k], v) for k, v in entries.items()))


def request_block(encoder, path="/", extra=()):
    return encoder.encode([(":method", "GET"), (":scheme", "http"), (":authority", "web"),
                           (":path", path)] + list(extra))


class RawClient:
    """A client connection that writes frames as given and reads what comes
    back only when asked. `receive_buffer`: a small SO_RCVBUF (set before the
    connect) for an attacker that never reads."""

    def __init__(self, port, initial_settings=b"", receive_buffer=None):
        self.sock = socket.socket()
        if receive_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self.encoder = hpack.Encoder()
        self.pending = b""
        self.goaway = None  # (last stream id, error code)
        self.resets = {}    # stream id -> error code
        self.closed = False
        self.send(PREFACE + (initial_settings or frame(SETTINGS, 0, 0)))

    def send(self, data):
        """False once the proxy has cut the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            return False

    def read_until_cut(self, timeout=20):
        """Reads frames until the connection closes (or `timeout`); records
        GOAWAY and RST_STREAM frames. True if the proxy closed it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.1, min(1.0, deadline - time.monotonic())))
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.closed = True
                return True
            self.pending += chunk
            self._parse()
        return False

    def _parse(self):
        while len(self.pending) >= 9:
            length = int.from_bytes(self.pending[:3], "big")
            if len(self.pending) < 9 + length:
                return
            kind, _, stream_id = struct.unpack(">BBI", self.pending[3:9])
            payload = self.pending[9:9 + length]
            self.pending = self.pending[9 + length:]
            if kind == GOAWAY:
                self.goaway = struct.unpack(">II", payload[:8])
            elif kind == RST_STREAM:
                self.resets[stream_id & 0x7fffffff] = struct.unpack(">I", payload[:4])[0]

    def close(self):
        self.sock.close()


# ---- what each test watches ----------------------------------------------------

class OtherClient:
    """Another client on its own connection, sending requests one after the
    other while the attack runs: each must be answered 200 within the bound."""

    def __init__(self, port, path="/"):
        self.port, self.path = port, path
        self.latencies, self.failures = [], []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        client = None
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                client = client or H2Client(self.port)
                response = client.get(self.path, timeout=30)
                if response.status != 200:
                    self.failures.append(f"status {response.status}")
            except Exception as error:  # counted, then a new connection
                self.failures.append(repr(error))
                client = None
            self.latencies.append(time.monotonic() - started)
            time.sleep(0.02)
        if client:
            client.close()

    def stop_and_check(self, since, minimum=3):
        """Stops once `minimum` requests ended since request number `since`
        (the attack's start), then checks every request."""
        wait_until(lambda: len(self.latencies) - since >= minimum or self.failures,
                   timeout=60, what=f"{minimum} more requests of the other client")
        self.stopping.set()
        self.thread.join(60)
        assert not self.failures, self.failures[:5]
        slowest = max(self.latencies)
        assert slowest < SERVED_WITHIN_SECONDS, f"a request took {slowest:.1f}s"
        return len(self.latencies) - since, slowest


class MemoryWatch:
    """The proxy's VmRSS, sampled every 20 ms: the peak above the start."""

    def __init__(self, pid):
        self.pid = pid
        self.baseline = self.rss()
        self.peak = self.baseline
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def rss(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def _run(self):
        while not self.stopping.is_set():
            try:
                self.peak = max(self.peak, self.rss())
            except (OSError, AssertionError):
                return
            time.sleep(0.02)

    def stop_and_check(self, bound):
        self.stopping.set()
        self.thread.join(5)
        growth = self.peak - self.baseline
        assert growth < bound, f"VmRSS grew {growth / MIB:.1f} MiB (bound {bound / MIB:.0f} MiB)"
        return growth


class Attack:
    """A proxy in front of an HTTP/2 backend, the other client and the
    memory watch started; report() prints what the test saw."""

    def __init__(self, *flags):
        self.backend = H2Backend("a")
        self.config = MountedConfig()
        self.config.write(document([service("web", SERVICE_IP, 80,
                                            [("127.0.0.1", self.backend.port)])]))
        self.proxy = Proxy(self.config.path, "--outbound-fallback", f"{SERVICE_IP}:80",
                           "--log-level", "info", *flags)
        # Warm up: the upstream connection open, the allocator's arenas in use.
        warm = H2Client(self.proxy.outbound)
        for _ in range(20):
            assert warm.get("/big?n=100000").status == 200
        warm.close()
        self.memory = MemoryWatch(self.proxy.process.pid)
        self.other = None

    def start_other_client(self, path="/"):
        """Starts the other client; the attack starts once it is served."""
        self.other = OtherClient(self.proxy.outbound, path)
        wait_until(lambda: len(self.other.latencies) >= 2, timeout=20,
                   what="the other client's first requests")
        self.other_before_attack = len(self.other.latencies)

    def check(self, name, memory_bound):
        served, slowest = self.other.stop_and_check(self.other_before_attack)
        growth = self.memory.stop_and_check(memory_bound)
        assert self.proxy.process.poll() is None, "weft-proxy exited"
        print(f"{name}: other client served {served} requests from the attack's start "
              f"(slowest {slowest:.2f}s); "
              f"VmRSS +{growth / MIB:.1f} MiB (bound {memory_bound / MIB:.0f} MiB)")

    def close(self):
        if self.other:
            self.other.stopping.set()
        self.memory.stopping.set()
        self.proxy.stop()
        self.backend.close()
        self.config.close()


def cpu_seconds(pid):
    """The process's user and system CPU time so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def goaways(proxy, reason):
    return proxy.metric("http2_goaway_sent_total", direction="outbound", reason=reason)


# ---- the attacks -------------------------------------------------------------------

@test
def rapid_reset():
    """CVE-2023-44487: HEADERS then RST_STREAM, in a loop, on one connection."""
    attack = Attack()
    try:
        attack.start_other_client()
        attacker = RawClient(attack.proxy.outbound)
        sent, stream_id = 0, 1
        for _ in range(100):  # up to 100 batches of 200 (20,000 streams)
            batch = b""
            for _ in range(200):
                batch += frame(HEADERS, END_HEADERS | END_STREAM, stream_id,
                               request_block(attacker.encoder, "/slow?ms=200"))
                batch += frame(RST_STREAM, 0, stream_id, struct.pack(">I", CANCEL))
                stream_id += 2
            if not attacker.send(batch):
                break
            sent += 200
        assert attacker.read_until_cut(timeout=30), "the attacker's connection stayed open"
        assert attacker.goaway is not None, "no GOAWAY"
        print(f"rapid reset: {sent} streams sent before the cut; GOAWAY {attacker.goaway}")
        # The reset budget (1,000 and 33/s) cut it well before the end, and
        # the backend saw no more streams than the budget let through.
        assert sent < 20000
        assert goaways(attack.proxy, "rapid_reset") == 1
        slow = [p for p in attack.backend.paths() if p.startswith("/slow")]
        assert len(slow) <= 2000, len(slow)
        attacker.close()
        attack.check("rapid reset", memory_bound=48 * MIB)
    finally:
        attack.close()


@test
def continuation_flood_endless():
    """CVE-2024-27316: HEADERS, then CONTINUATION frames of 16 KiB without
    END_HEADERS, without end."""
    attack = Attack()
    try:
        attack.start_other_client()
        attacker = RawClient(attack.proxy.outbound)
        # A valid block that never ends: fields of 1,000 bytes, never indexed.
        field = hpack.NeverIndexedHeaderTuple("x-flood", "a" * 1000)
        piece = b"".join(attacker.encoder.encode([field], huffman=False) for _ in range(16))
        assert len(piece) <= 16384
        attacker.send(frame(HEADERS, 0, 1, request_block(attacker.encoder)))
        sent = 0
        for _ in range(4000):  # up to 64 MiB
            if not attacker.send(frame(CONTINUATION, 0, 1, piece)):
                break
            sent += 1
        assert attacker.read_until_cut(timeout=30), "the attacker's connection stayed open"
        print(f"CONTINUATION flood: {sent} frames of 16 KiB sent before the cut; "
              f"GOAWAY {attacker.goaway}")
        assert sent < 4000
        assert goaways(attack.proxy, "continuation_flood") == 1
        attacker.close()
        attack.check("CONTINUATION flood (endless)", memory_bound=32 * MIB)
    finally:
        attack.close()


@test
def continuation_flood_small_frames():
    """CVE-2024-27316's other form: many tiny CONTINUATION frames."""
    attack = Attack()
    try:
        attack.start_other_client()
        attacker = RawClient(attack.proxy.outbound)
        block = request_block(attacker.encoder, "/", [("x-a", "b" * 200000)])
        attacker.send(frame(HEADERS, 0, 1, block[:1]))
        sent = 0
        for offset in range(1, len(block), 100):  # 1-byte frames, 100 per write
            batch = b"".join(frame(CONTINUATION, 0, 1, block[i:i + 1])
                             for i in range(offset, min(offset + 100, len(block))))
            if not attacker.send(batch):
                break
            sent += 100
        assert attacker.read_until_cut(timeout=30), "the attacker's connection stayed open"
        print(f"small CONTINUATION flood: about {sent} frames sent before the cut; "
              f"GOAWAY {attacker.goaway}")
        assert sent < len(block)
        assert goaways(attack.proxy, "continuation_flood") == 1
        attacker.close()
        attack.check("CONTINUATION flood (small frames)", memory_bound=32 * MIB)
    finally:
        attack.close()


def ack_flood(one_frame, name):
    """Frames that each want an acknowledgement, from a client that never
    reads them (a small receive buffer, never read)."""
    attack = Attack()
    try:
        attack.start_other_client()
        attacker = RawClient(attack.proxy.outbound, receive_buffer=4096)
        sent = 0
        batch = one_frame * 1000
        started = time.monotonic()
        for _ in range(2000):  # up to 2,000,000 frames
            if not attacker.send(batch):
                break
            sent += 1000
        assert attacker.read_until_cut(timeout=30), "the attacker's connection stayed open"
        print(f"{name}: {sent} frames sent before the cut ({time.monotonic() - started:.1f}s); "
              f"GOAWAY {attacker.goaway}")
        assert sent < 2000000
        assert goaways(attack.proxy, "flood") == 1
        attacker.close()
        attack.check(name, memory_bound=32 * MIB)
    finally:
        attack.close()


@test
def settings_flood():
    ack_flood(frame(SETTINGS, 0, 0, struct.pack(">HI", SETTINGS_INITIAL_WINDOW_SIZE, 65535)),
              "SETTINGS flood")


@test
def ping_flood():
    ack_flood(frame(PING, 0, 0, b"12345678"), "PING flood")


@test
def zero_window_stall():
    """Streams opened with a window of 0, never updated: the responses wait
    in the proxy until the stall limit resets them and frees what they held.
    The other client fetches bodies from the same endpoint meanwhile: the
    stalled streams must not hold the upstream connection's window."""
    attack = Attack("--body-idle-timeout", "8s")
    try:
        attack.start_other_client("/big?n=200000")
        attacker = RawClient(attack.proxy.outbound,
                             settings(SETTINGS_INITIAL_WINDOW_SIZE=0))
        streams = list(range(1, 400, 2))  # 200 streams, each 1 MB to send
        attacker.send(b"".join(frame(HEADERS, END_HEADERS | END_STREAM, i,
                                     request_block(attacker.encoder, "/big?n=1000000"))
                               for i in streams))
        # Every stream is reset by the stall limit (8 s, checked each second).
        deadline = time.monotonic() + 60
        while len(attacker.resets) < len(streams) and time.monotonic() < deadline:
            attacker.sock.settimeout(1)
            try:
                chunk = attacker.sock.recv(1 << 20)
            except socket.timeout:
                continue
            if not chunk:
                break
            attacker.pending += chunk
            attacker._parse()
        assert len(attacker.resets) == len(streams), f"{len(attacker.resets)} streams reset"
        assert attack.proxy.metric("http2_stream_reset_total", direction="outbound",
                                   limit="stalled_stream") == len(streams)
        print(f"zero-window stall: {len(attacker.resets)} streams reset")
        attacker.close()
        attack.check("zero-window stall", memory_bound=48 * MIB)
    finally:
        attack.close()


@test
def unread_answers_then_half_close():
    """Many streams answered with a body (local 400s and relayed responses)
    the client never reads, then it half-closes: the reader ends while
    nghttp2 still holds those bodies' data providers, which the writer reads
    as it flushes. They must still be alive then (no use after free)."""
    attack = Attack()
    try:
        attack.start_other_client()
        for round_ in range(3):
            attacker = RawClient(attack.proxy.outbound, receive_buffer=4096)
            attacker.send(settings())
            data = b""
            for n in range(600):
                path = "/a%2Fb" if n % 2 == 0 else "/big?n=20000"
                data += frame(HEADERS, END_HEADERS | END_STREAM, 1 + 2 * n,
                              request_block(attacker.encoder, path))
            attacker.send(data)
            time.sleep(1.0)  # the answers queue; the client reads none
            attacker.sock.shutdown(socket.SHUT_WR)
            attacker.read_until_cut(timeout=15)
            attacker.close()
            assert attack.proxy.process.poll() is None, f"weft-proxy exited (round {round_})"
        attack.check("unread answers, then half-close", memory_bound=64 * MIB)
    finally:
        attack.close()


@test
def requests_never_ended_after_their_answer():
    """Streams whose request never ends (HEADERS without END_STREAM, no
    DATA) and that were answered: each is reset with NO_ERROR once its
    response is complete (RFC 9113 section 8.1), so none stays open and
    holds its head and its stream slot."""
    attack = Attack()
    try:
        attack.start_other_client()
        attacker = RawClient(attack.proxy.outbound)
        streams = list(range(1, 200, 2))
        attacker.send(settings() + b"".join(
            frame(HEADERS, END_HEADERS, i, request_block(attacker.encoder, "/a%2Fb"))
            for i in streams))
        deadline = time.monotonic() + 20
        while len(attacker.resets) < len(streams) and time.monotonic() < deadline:
            attacker.read_until_cut(timeout=0.5)
        assert sorted(attacker.resets) == streams, f"{len(attacker.resets)} streams reset"
        assert set(attacker.resets.values()) == {0}, "not NO_ERROR"
        attacker.close()
        attack.check("requests never ended after their answer", memory_bound=32 * MIB)
    finally:
        attack.close()


@test
def made_you_reset():
    """CVE-2025-8671: the client makes the proxy reset its streams
    (WINDOW_UPDATE overflowing a stream's window right after HEADERS):
    those resets spend the reset budget too, then GOAWAY ENHANCE_YOUR_CALM."""
    attack = Attack("--http2-reset-burst", "100", "--http2-reset-rate", "10")
    try:
        attack.start_other_client()
        attacker = RawClient(attack.proxy.outbound)
        attacker.send(settings())
        for batch in range(20):
            data = b""
            for n in range(50):
                stream_id = 1 + 2 * (batch * 50 + n)
                data += frame(HEADERS, END_HEADERS | END_STREAM, stream_id,
                              request_block(attacker.encoder, "/slow?ms=200"))
                data += frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", 0x7fffffff))
            if not attacker.send(data):
                break
        assert attacker.read_until_cut(timeout=30), "the attacker's connection stayed open"
        assert attacker.goaway is not None and attacker.goaway[1] == ENHANCE_YOUR_CALM, \
            attacker.goaway
        assert goaways(attack.proxy, "stream_errors") == 1
        attacker.close()
        attack.check("MadeYouReset", memory_bound=48 * MIB)
    finally:
        attack.close()


@test
def hpack_bomb():
    """A header list that references one large dynamic-table entry again and
    again: a few bytes on the wire, megabytes once decoded."""
    attack = Attack()
    try:
        attack.start_other_client()
        attacker = RawClient(attack.proxy.outbound)
        # One 4,000-byte entry in the table, then 4,000 one-byte references
        # to it per request: 16 MB of header list from 4 KB of block. The
        # pseudo-headers are literals never indexed, so the entry stays
        # entry 62 (the first of the dynamic table) for every request.
        pseudo = (b"\x82\x86"  # :method GET, :scheme http (static table)
                  + b"\x04\x05/bomb" + b"\x01\x03web")  # :path, :authority, not indexed
        big = attacker.encoder.encode([("x-bomb", "a" * 4000)])  # indexed as entry 62
        reference = bytes([0x80 | 62])
        answered = []
        for n in range(20):
            stream_id = 1 + 2 * n
            block = pseudo + (big if n == 0 else b"") + reference * 4000
            chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
            data = b""
            for index, chunk in enumerate(chunks):
                flags = END_HEADERS if index == len(chunks) - 1 else 0
                kind = HEADERS if index == 0 else CONTINUATION
                data += frame(kind, flags | (END_STREAM if index == 0 else 0), stream_id, chunk)
            if not attacker.send(data):
                break
            answered.append(stream_id)
        cpu_before = cpu_seconds(attack.proxy.process.pid)
        attacker.read_until_cut(timeout=10)
        # Each stream was reset as soon as its list passed the limit: the
        # rest of its block was skipped unchecked, and none reached the backend.
        assert "/bomb" not in attack.backend.paths()
        assert len(answered) == 20
        assert sorted(attacker.resets) == answered, attacker.resets
        assert attack.proxy.metric("http2_stream_reset_total", direction="outbound",
                                   limit="header_list_too_large") == 20
        print(f"HPACK bomb: proxy CPU {cpu_seconds(attack.proxy.process.pid) - cpu_before:.2f}s")
        attacker.close()
        attack.check("HPACK bomb", memory_bound=32 * MIB)
    finally:
        attack.close()


@test
def unread_socket_blocks_no_other_client():
    """The TCP form of the stall: windows wide open (nothing for flow control
    to hold back), a tiny receive buffer, and the client never reads. The
    proxy's writer for that connection blocks; housekeeping still runs, and
    the write timeout cuts the connection. The other client's bodies, on the
    same upstream connection, keep flowing meanwhile."""
    attack = Attack("--http2-write-timeout", "3s")
    try:
        attack.start_other_client("/big?n=200000")
        wide_open = (frame(SETTINGS, 0, 0, struct.pack(">HI", SETTINGS_INITIAL_WINDOW_SIZE,
                                                       0x7fffffff))
                     + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7fffffff - 65535)))
        attacker = RawClient(attack.proxy.outbound, wide_open, receive_buffer=4096)
        attacker.send(b"".join(frame(HEADERS, END_HEADERS | END_STREAM, i,
                                     request_block(attacker.encoder, "/big?n=1000000"))
                               for i in range(1, 100, 2)))
        started = time.monotonic()
        # Never read until the proxy cut it.
        wait_until(lambda: attack.proxy.metric("limit_reached_total", direction="outbound",
                                               limit="http2_write_timeout") == 1,
                   timeout=30, what="the write timeout to cut the attacker")
        print(f"unread socket: cut {time.monotonic() - started:.1f}s after its requests")
        assert attacker.read_until_cut(timeout=10), "the attacker's connection stayed open"
        # One upstream connection carried the attacker's streams and the other
        # client's: the stuck client held none of its window.
        assert attack.backend.connections == 1, attack.backend.connections
        attacker.close()
        attack.check("unread socket", memory_bound=64 * MIB)
    finally:
        attack.close()


@test
def open_streams_header_bytes_are_capped():
    """Finding 4's attack: one 4 KB field in the HPACK table, then many
    streams whose head references it 7 times (about 28 KiB of header list
    from 15 bytes) and whose request never ends: the heads of open streams
    together are capped per connection, the streams past it refused."""
    attack = Attack()
    try:
        attack.start_other_client()
        attacker = RawClient(attack.proxy.outbound)
        big = attacker.encoder.encode([("x-pin", "p" * 4000)])  # entry 62
        pseudo = b"\x82\x86" + b"\x04\x05/hang" + b"\x01\x03web"
        streams = list(range(1, 400, 2))  # 200 streams, each ~28 KiB of header list
        data = b""
        for n, stream_id in enumerate(streams):
            block = pseudo + (big if n == 0 else b"") + bytes([0x80 | 62]) * 7
            data += frame(HEADERS, END_HEADERS, stream_id, block)  # no END_STREAM
        attacker.send(settings() + data)
        wait_until(lambda: attack.proxy.metric("http2_stream_reset_total", direction="outbound",
                                               limit="open_header_bytes") >= 150,
                   timeout=20, what="150 streams refused")
        time.sleep(0.5)  # the rest of the 200 decided
        refused = attack.proxy.metric("http2_stream_reset_total", direction="outbound",
                                      limit="open_header_bytes")
        deadline = time.monotonic() + 20
        while len(attacker.resets) < refused and time.monotonic() < deadline:
            attacker.read_until_cut(timeout=0.5)
        # 1 MiB holds about 36 such heads: the rest were refused.
        assert 150 <= refused <= 170, refused
        assert len(attacker.resets) >= refused, len(attacker.resets)
        print(f"open header bytes: {refused:.0f} of {len(streams)} streams refused")
        attacker.close()
        attack.check("open streams' header bytes", memory_bound=32 * MIB)
    finally:
        attack.close()


def main():
    run_main(TESTS, "proxy.h2_attack.", __doc__)


if __name__ == "__main__":
    main()
