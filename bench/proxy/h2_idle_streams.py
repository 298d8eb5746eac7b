#!/usr/bin/python3
"""Holds idle HTTP/2 streams open through a proxy, for bench/proxy/h2.sh.

Opens CONNECTIONS cleartext HTTP/2 connections (prior knowledge) to
127.0.0.1:PORT and starts STREAMS POST requests on each, headers only: no
END_STREAM, no DATA, so every stream stays open at the proxy and at the
backend, which waits for the body. It answers SETTINGS and PING, prints
"held N streams" once every stream was sent and SETTLE seconds passed, then
holds them until SIGTERM (or HOLD seconds) and prints one JSON line: streams
opened, streams reset, connections ended (GOAWAY or closed) and responses
received (any of these means a stream did not stay idle).

Runs with Debian's python3-h2 (/usr/bin/python3): it is one socket loop in
one thread, so that the client's own cost does not depend on the proxy.
"""

import argparse
import json
import select
import signal
import socket
import time

import h2.config
import h2.connection
import h2.events


class Stopped(Exception):
    """SIGTERM: the driver measured what it needed."""


def _stop(*_):
    raise Stopped


def main():
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--streams", type=int, default=100, help="per connection")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds without a reset before the streams count as held")
    parser.add_argument("--hold", type=float, default=60.0,
                        help="seconds to hold at most (SIGTERM ends it sooner)")
    args = parser.parse_args()
    if not 1 <= args.connections <= 1000 or not 1 <= args.streams <= 1000:
        parser.error("--connections and --streams: 1 to 1000")

    config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    sessions = {}
    counts = {"streams_opened": 0, "streams_reset": 0, "connections_ended": 0, "responses": 0}
    ended = set()  # connections that sent GOAWAY or closed
    for _ in range(args.connections):
        sock = socket.create_connection(("127.0.0.1", args.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = h2.connection.H2Connection(config=config)
        session.initiate_connection()
        for _ in range(args.streams):
            stream_id = session.get_next_available_stream_id()
            session.send_headers(stream_id, [
                (":method", "POST"), (":scheme", "http"),
                (":authority", f"127.0.0.1:{args.port}"), (":path", "/idle"),
                ("content-type", "application/octet-stream"),
            ], end_stream=False)
            counts["streams_opened"] += 1
        sock.sendall(session.data_to_send())
        sessions[sock] = session

    def pump(seconds):
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select(list(sessions), [], [], left)
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    ended.add(sock)
                    del sessions[sock]
                    continue
                session = sessions[sock]
                for event in session.receive_data(data):
                    if isinstance(event, h2.events.StreamReset):
                        counts["streams_reset"] += 1
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        ended.add(sock)
                    elif isinstance(event, h2.events.ResponseReceived):
                        counts["responses"] += 1
                outgoing = session.data_to_send()
                if outgoing:
                    sock.sendall(outgoing)

    try:
        pump(args.settle)
        print(f"held {counts['streams_opened'] - counts['streams_reset'] - counts['responses']} streams",
              flush=True)
        pump(args.hold)
    except Stopped:
        pass
    counts["connections_ended"] = len(ended)
    print(json.dumps(counts), flush=True)
    for sock in list(sessions):
        sock.close()


if __name__ == "__main__":
    main()
