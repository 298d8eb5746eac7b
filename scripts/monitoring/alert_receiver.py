#!/usr/bin/env python3
"""A webhook receiver for Alertmanager that writes down what it receives.

Listens on 127.0.0.1 (a port of its own choosing, written to PORT_FILE once
it listens) and appends one JSON line per alert of each notification to
LOG_FILE: when it arrived (received_at, seconds since the epoch), the
alert's status (firing, resolved), labels, annotations, startsAt and
endsAt. Tests and the demo read that file.

  alert_receiver.py PORT_FILE LOG_FILE [--max-body-bytes N] [--max-log-bytes N]
                    [--timeout S]

Any local user can reach a loopback port, so it is bounded: a POST without a
valid Content-Length (missing, negative, not a number) is refused (411,
400), one over --max-body-bytes (1 MiB) is refused unread (413); LOG_FILE
stops growing at --max-log-bytes (64 MiB): lines past it are dropped; a
client gets --timeout (10 s) per read. GET /stats answers what was
refused and dropped (JSON), also logged on stderr.
"""

import argparse
import http.server
import json
import os
import sys
import threading
import time


def alert_lines(payload, received_at):
    """The lines one Alertmanager notification (its webhook JSON) adds."""
    return [json.dumps({
        "received_at": received_at,
        "receiver": payload.get("receiver", ""),
        "status": alert.get("status", ""),
        "labels": alert.get("labels", {}),
        "annotations": alert.get("annotations", {}),
        "startsAt": alert.get("startsAt", ""),
        "endsAt": alert.get("endsAt", ""),
    }, sort_keys=True) for alert in payload.get("alerts", [])]


def body_length(header, max_bytes):
    """(length, None) for a Content-Length header value to read, or
    (None, (status, reason)) to refuse it."""
    if header is None:
        return None, (411, "Content-Length required")
    text = header.strip()
    if not text.isdigit():  # a sign, spaces or anything else
        return None, (400, "bad Content-Length")
    length = int(text)
    if length > max_bytes:
        return None, (413, f"body over {max_bytes} bytes")
    return length, None


def lines_within(lines, size, max_bytes):
    """(the lines that fit, in order, in a log of SIZE bytes kept under
    MAX_BYTES; how many do not)."""
    kept = []
    for index, line in enumerate(lines):
        size += len(line.encode()) + 1
        if size > max_bytes:
            return kept, len(lines) - index
        kept.append(line)
    return kept, 0


class Stats:
    """What the limits refused and dropped: GET /stats, and stderr."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {"refused_length_missing": 0, "refused_length_bad": 0,
                       "refused_body_too_large": 0, "refused_not_json": 0,
                       "lines_dropped_log_full": 0, "lines_written": 0}

    def add(self, name, count=1):
        with self.lock:
            self.counts[name] += count
        if name != "lines_written" and count:
            print(f"alert_receiver: {name} +{count}", file=sys.stderr, flush=True)

    def json(self):
        with self.lock:
            return json.dumps(self.counts, sort_keys=True)


REFUSALS = {411: "refused_length_missing", 400: "refused_length_bad", 413: "refused_body_too_large"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port_file")
    parser.add_argument("log_file")
    parser.add_argument("--max-body-bytes", type=int, default=1024 * 1024)
    parser.add_argument("--max-log-bytes", type=int, default=64 * 1024 * 1024)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    stats, log_lock = Stats(), threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = args.timeout

        def answer(self, status, body=b"", content_type="text/plain"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/stats":
                self.answer(404)
                return
            self.answer(200, stats.json().encode(), "application/json")

        def do_POST(self):
            received_at = time.time()
            length, refusal = body_length(self.headers.get("Content-Length"), args.max_body_bytes)
            if refusal:
                stats.add(REFUSALS[refusal[0]])
                self.close_connection = True  # the body, if any, is not read
                self.send_error(*refusal)
                return
            body = self.rfile.read(length)
            try:
                lines = alert_lines(json.loads(body), received_at)
            except (ValueError, AttributeError, TypeError):
                stats.add("refused_not_json")
                self.send_error(400, "not Alertmanager's JSON")
                return
            with log_lock:
                size = os.path.getsize(args.log_file) if os.path.exists(args.log_file) else 0
                kept, dropped = lines_within(lines, size, args.max_log_bytes)
                with open(args.log_file, "a") as log:
                    log.write("".join(line + "\n" for line in kept))
            stats.add("lines_written", len(kept))
            stats.add("lines_dropped_log_full", dropped)
            self.answer(200)

        def log_message(self, *args):
            pass  # the log file is the record

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
