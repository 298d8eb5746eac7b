#!/usr/bin/env python3
"""weft-proxy delivers inbound traffic only to the pod's own addresses.

    inbound_destination_test.py NAME     runs one test (ctest: proxy.inbound_destination.NAME)
    inbound_destination_test.py --list   lists them

On loopback nothing is redirected, so the inbound destination is the
--inbound-fallback; --own-addresses says which addresses are the pod's. The
redirected case (a crafted destination through real iptables capture) is in
netns_capture_test.sh."""

import os
import sys

from harness import Backend, Proxy, closed_by_peer, connect, request, run_main, run_test, wait_until

TESTS = {}


def test(function):
    TESTS[function.__name__] = function
    return function


def inbound_proxy(backend, *flags):
    return Proxy("/nonexistent/config.json", "--inbound-fallback", f"127.0.0.1:{backend.port}",
                 *flags)


@test
def foreign_destination_refused_counted_and_logged_at_a_bounded_rate():
    backend = Backend("app")
    proxy = inbound_proxy(backend, "--own-addresses", "10.1.2.3,fd00::3")
    try:
        attempts = 40
        for _ in range(attempts):
            sock = connect(proxy.inbound)
            try:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert closed_by_peer(sock), "a foreign destination got an answer"
            finally:
                sock.close()
        assert backend.connections == 0, backend.connections  # nothing was relayed
        assert wait_until(lambda: proxy.metric("inbound_foreign_destination_total") == attempts,
                          what="every refusal counted")
        lines = [line for line in proxy.output().splitlines()
                 if "an address not the pod's own" in line]
        # One line per second at most: 40 refusals in a few seconds are a few lines.
        assert 1 <= len(lines) <= 10, lines
        assert '"destination":"127.0.0.1:' in lines[0], lines[0]
    finally:
        backend.close()


@test
def own_address_delivered():
    backend = Backend("app")
    proxy = inbound_proxy(backend, "--own-addresses", "10.1.2.3,127.0.0.1")
    try:
        status, _, body = request(proxy.inbound, "/")
        assert (status, body) == (200, b"app"), (status, body)
        assert proxy.metric("inbound_foreign_destination_total") == 0
    finally:
        backend.close()


@test
def interface_addresses_by_default():
    # Without the flag the interfaces' addresses are the pod's: loopback is one.
    backend = Backend("app")
    proxy = inbound_proxy(backend)
    try:
        status, _, body = request(proxy.inbound, "/")
        assert (status, body) == (200, b"app"), (status, body)
        assert "127.0.0.1" in next(line for line in proxy.output().splitlines()
                                   if "pod's own addresses" in line)
    finally:
        backend.close()


def main():
    run_main(TESTS, "proxy.inbound_destination.", __doc__)


if __name__ == "__main__":
    main()
