#!/ usr / bin / env python3
""
    "CPU per request that mTLS adds between two weft-proxy processes.

    fortio->client proxy->server proxy->backend(the harness's Python backend,
                                                or nginx with-- backend - port)

        Both proxies run with one worker; their user+system CPU (from /proc) is read
before and after N requests, with the proxies' link plain (no identity on the
endpoint) and then mTLS, each on kept-alive connections and then with
--pool-max-idle-per-endpoint 0 on the client proxy (a new upstream connection,
so a full handshake, per request). The difference per request is the cost.

    WEFT_PROXY_BINARY=build/bin/weft-proxy bench/proxy/mtls_cpu.py [N] [--backend-port P]
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../test/integration/proxy"))
from harness import Backend  # noqa: E402
import mtls_test  # noqa: E402

FORTIO = os.path.expanduser("~/.cache/weft/bin/fortio")


def cpu_seconds(proxy):
    with open(f"/proc/{proxy.process.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(mesh, n, keepalive):
    args = [FORTIO, "load", "-quiet", "-c", "4", "-qps", "0", "-n", str(n)]
    if not keepalive:
        args.append("-keepalive=false")
    url = f"http://127.0.0.1:{mesh.client.outbound}/"
    subprocess.run(args[:-2] + ["-n", "200", url], capture_output=True)  # warm
    before = cpu_seconds(mesh.client) + cpu_seconds(mesh.server)
    out = subprocess.run(args + [url], capture_output=True, text=True)
    after = cpu_seconds(mesh.client) + cpu_seconds(mesh.server)
    if f"Code 200 : {n} " not in out.stdout + out.stderr:
        raise SystemExit("not every request answered 200:\n" + out.stdout + out.stderr)
    return (after - before) / n * 1e6


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 10000
    backend_port = None
    if "--backend-port" in sys.argv:
        backend_port = int(sys.argv[sys.argv.index("--backend-port") + 1])
    backend = None if backend_port else Backend("app")
    port = backend_port or backend.port
    ca = mtls_test.Ca("anchor")
    results = {}
    for mode, expected in (("plain", ""), ("mtls", mtls_test.SERVER_ID)):
        for keepalive in (True, False):
            flags = ("--workers", "1") + (() if keepalive else
                                          ("--pool-max-idle-per-endpoint", "0"))
            mesh = mtls_test.Mesh(port, ca, expected=expected, client_flags=flags)
            try:
                results[(mode, keepalive)] = run(mesh, n, keepalive)
            finally:
                mesh.close()
    for keepalive in (True, False):
        name = "kept-alive" if keepalive else "new connection per request"
        plain, tls = results[("plain", keepalive)], results[("mtls", keepalive)]
        print(f"{name}: plain {plain:.1f} us, mTLS {tls:.1f} us of proxy CPU per request "
              f"(both proxies): +{tls - plain:.1f} us")
    if backend:
        backend.close()


if __name__ == "__main__":
    main()
