#!/usr/bin/env python3
"""Writes the HTTP/2 fuzz target's seeds (client byte streams, preface
included) into the folder given: valid requests, and the smuggling attempts
of test/integration/proxy/http2_test.py as raw header blocks.
Usage: make_http2_seeds.py FOLDER   (python3-h2)"""

import os
import sys

sys.path.append("/usr/lib/python3/dist-packages")
import h2.config  # noqa: E402
import h2.connection  # noqa: E402

BASE = [(":method", "GET"), (":scheme", "http"), (":authority", "web"), (":path", "/")]
SEEDS = {
    "get": BASE,
    "post_sized": [(":method", "POST"), (":scheme", "http"), (":authority", "web"),
                   (":path", "/a/./b"), ("content-length", "3")],
    "grpc": [(":method", "POST"), (":scheme", "http"), (":authority", "web"),
             (":path", "/pkg.Svc/Call"), ("content-type", "application/grpc"),
             ("te", "trailers"), ("grpc-timeout", "100m")],
    "connection": BASE + [("connection", "keep-alive")],
    "transfer_encoding": BASE + [("transfer-encoding", "chunked")],
    "te_gzip": BASE + [("te", "gzip")],
    "upper": BASE + [("X-Upper", "1")],
    "crlf": BASE + [("x-a", "1\r\nx-b: 2")],
    "nul": BASE + [("x-a", "1\x002")],
    "late_pseudo": BASE + [("x-a", "1"), (":path", "/admin")],
    "absolute": [(":method", "GET"), (":scheme", "http"), (":authority", "web"),
                 (":path", "http://other/")],
    "encoded_slash": [(":method", "GET"), (":scheme", "http"), (":authority", "web"),
                      (":path", "/a/%2f/b")],
    # Marked by a peer proxy as HTTP/1.1 (proxy/bridge/): sent to the app as HTTP/1.1.
    "marked_sized": [(":method", "POST"), (":scheme", "http"), (":authority", "web"),
                     (":path", "/up?x=1"), ("content-length", "3"), ("cookie", "a=1"),
                     ("cookie", "b=2"), ("weft-orig-proto", "HTTP/1.1")],
    "marked_streamed": [(":method", "PUT"), (":scheme", "http"), (":authority", "web"),
                        (":path", "/up"), ("te", "trailers"), ("weft-orig-proto", "HTTP/1.1")],
    "marked_two_lengths": [(":method", "POST"), (":scheme", "http"), (":authority", "web"),
                           (":path", "/"), ("content-length", "3"), ("content-length", "4"),
                           ("weft-orig-proto", "HTTP/1.1")],
}


def main():
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    for name, headers in SEEDS.items():
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False))
        conn.initiate_connection()
        body = name in ("post_sized", "marked_sized", "marked_streamed", "marked_two_lengths")
        conn.send_headers(1, headers, end_stream=not body)
        if body:
            conn.send_data(1, b"abc", end_stream=True)
        with open(os.path.join(folder, name + ".bin"), "wb") as f:
            f.write(conn.data_to_send())


if __name__ == "__main__":
    main()
