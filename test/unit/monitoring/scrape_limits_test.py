#!/usr/bin/env python3
"""prometheus.yml's weft-proxy job against hostile pages, scraped by a real
Prometheus (Debian's server) on 127.0.0.1:

  - a pod that forged the injection seal serves the proxy's request_total and
    series of its own: only request_total is stored (metric_relabel_configs);
  - one serving more series than sample_limit: its scrape fails (up 0) and
    prometheus_target_scrapes_exceeded_sample_limit_total counts it.

The job runs as shipped, its limits and relabelling included; only its
discovery is a file_sd file and the scrape interval 1 s. Skips (77) without
the server, except as root (monitoring_test.require_tool).
"""

import copy
import http.server
import json
import pathlib
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import yaml

from monitoring_test import CONFIG, require_tool
from scrape_relabel_test import SEAL, get_json, prometheus_server


def page_server(body):
    """An HTTP server on 127.0.0.1 answering every GET with BODY; its port."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def sealed_pod(name, port):
    return {"targets": [f"127.0.0.1:{port}"], "labels": {
        "__meta_kubernetes_namespace": "attacker", "__meta_kubernetes_pod_name": name,
        "__meta_kubernetes_pod_phase": "Running", SEAL: "true",
        "__meta_kubernetes_pod_container_name": "weft-proxy",
        "__meta_kubernetes_pod_container_port_name": "weft-admin"}}


def query(base, promql):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    return get_json(url)["data"]["result"]


def main():
    server = require_tool("prometheus")
    shipped = yaml.safe_load(CONFIG.read_text())
    job = copy.deepcopy(next(j for j in shipped["scrape_configs"] if j["job_name"] == "weft-proxy"))
    limit = job["sample_limit"]
    forged = page_server(b'request_total{direction="inbound"} 1\n'
                         + b"".join(b'weft_bomb{i="%d"} 1\n' % i for i in range(100)))
    flood = page_server(b"".join(b'request_total{i="%d"} 1\n' % i for i in range(limit + 1)))
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        sd_file = tmp / "weft-proxy.json"
        sd_file.write_text(json.dumps([sealed_pod("forged", forged.server_address[1]),
                                       sealed_pod("flood", flood.server_address[1])]))
        del job["kubernetes_sd_configs"]
        job["file_sd_configs"] = [{"files": [str(sd_file)]}]
        config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                  "scrape_configs": [job]}
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        with prometheus_server(server, tmp / "prometheus.yml", tmp) as (base, process):
            deadline = time.monotonic() + 60
            up = {}
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    up = {r["metric"]["pod"]: r["value"][1]
                          for r in query(base, 'up{job="weft-proxy"}')}
                except OSError:
                    pass
                if set(up) == {"forged", "flood"}:
                    break
                time.sleep(0.5)
            if set(up) != {"forged", "flood"}:
                problems.append(f"not both scraped: up {up}")
            else:
                # Prometheus's own series of each scrape (up, scrape_*) aside.
                names = {r["metric"]["__name__"]
                         for r in query(base, '{job="weft-proxy", pod="forged"}')
                         if r["metric"]["__name__"] != "up"
                         and not r["metric"]["__name__"].startswith("scrape_")}
                if names != {"request_total"}:
                    problems.append(f"the forged page stored {sorted(names)}, not only request_total")
                if up["forged"] != "1":
                    problems.append("the forged page's scrape failed")
                if up["flood"] != "0":
                    problems.append(f"{limit + 1} series did not fail the scrape (up {up['flood']})")
                exceeded = query(base, "prometheus_target_scrapes_exceeded_sample_limit_total")
                if not exceeded or float(exceeded[0]["value"][1]) < 1:
                    # Prometheus counts its own metrics; read them from its page.
                    with urllib.request.urlopen(base + "/metrics", timeout=5) as answer:
                        own = answer.read().decode()
                    line = [l for l in own.splitlines()
                            if l.startswith("prometheus_target_scrapes_exceeded_sample_limit_total ")]
                    if not line or float(line[0].split()[1]) < 1:
                        problems.append(f"sample limit not counted: {line}")
        if problems:
            print((tmp / "prometheus.log").read_text()[-3000:], file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"FAIL: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"forged series dropped, {limit + 1} series refused and counted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
