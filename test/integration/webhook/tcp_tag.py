#!/usr/bin/env python3
"""Tiny TCP tools for the weft-init network-namespace test.

  tcp_tag.py serve TAG:PORT [TAG:PORT...]   answer each connection with
      "TAG <original destination>" (SO_ORIGINAL_DST, so a redirected connection
      says where it was going) and close; runs until killed.
  tcp_tag.py serve6 TAG:PORT [TAG:PORT...]  the same on IPv6 (IP6T_SO_ORIGINAL_DST;
      destinations written [address]:port).
  tcp_tag.py connect HOST PORT [UID]        connect (as UID if given) and print
      the answer; prints "no answer: ..." on failure.
"""
import encodings.idna  # noqa: F401  loaded before setuid drops access to the stdlib
import os
import selectors
import socket
import struct
import sys

SO_ORIGINAL_DST = 80


def original_destination(conn):
    if conn.family == socket.AF_INET6:
        try:
            raw = conn.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
            port, address = struct.unpack("!2xH4x16s4x", raw)
            return f"[{socket.inet_ntop(socket.AF_INET6, address)}]:{port}"
        except OSError:
            return "-"
    try:
        raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        port, address = struct.unpack("!2xH4s8x", raw)
        return f"{socket.inet_ntoa(address)}:{port}"
    except OSError:
        return "-"


def serve(specs, family=socket.AF_INET):
    selector = selectors.DefaultSelector()
    for spec in specs:
        tag, port = spec.rsplit(":", 1)
        listener = socket.socket(family)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        listener.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", int(port)))
        listener.listen(16)
        selector.register(listener, selectors.EVENT_READ, tag)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            conn, _ = key.fileobj.accept()
            with conn:
                conn.sendall(f"{key.data} {original_destination(conn)}\n".encode())


def connect(host, port, uid=None):
    if uid is not None:
        os.setgid(int(uid))
        os.setuid(int(uid))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    conn = socket.socket(family)  # after setuid: iptables' owner match sees the socket's UID
    conn.settimeout(3)
    try:
        with conn:
            conn.connect((host, int(port)))
            print(conn.recv(200).decode().strip())
    except OSError as error:
        print(f"no answer: {error}")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2:])
    elif sys.argv[1] == "serve6":
        serve(sys.argv[2:], socket.AF_INET6)
    else:
        connect(*sys.argv[2:])
