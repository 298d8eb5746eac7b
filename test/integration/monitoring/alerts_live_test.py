#!/usr/bin/env python3
"""The bundle's rules on a real component's metrics, in a real Prometheus.

    alerts_live_test.py WEFT_WEBHOOK

Starts weft-webhook on 127.0.0.1 with a serving certificate that expires in 5
days, and Debian's Prometheus (scraping it every second, evaluating every
second) with manifests/monitoring/weft-alerts.rules.yml. Then, from
Prometheus's /api/v1/alerts (an alert is "pending" until its `for` passes,
which is enough to show that the expression matched the component's series):

1. WeftWebhookCertificateExpiringSoon is active; WeftWebhookDown is not.
2. After AdmissionReviews the webhook cannot read (400, bad_request),
   WeftWebhookErrors is active.
3. After the certificate file is replaced by one valid 60 days (as a
   rotation writes it), WeftWebhookCertificateExpiringSoon goes away.

No cluster needed; everything listens on 127.0.0.1. Exits 77 when the
prometheus binary is missing and not root (scripts/install-deps installs it).
"""

import json
import os
import pathlib
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
RULES = ROOT / "manifests" / "monitoring" / "weft-alerts.rules.yml"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificate(directory, days):
    """A self-signed P-256 serving certificate for 127.0.0.1, written as the
    provisioner writes it: aside, then renamed into place."""
    for name in ("tls.key.new", "tls.crt.new"):
        (directory / name).unlink(missing_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(directory / "tls.key.new"), "-out", str(directory / "tls.crt.new"),
         "-days", str(days), "-subj", "/CN=weft-webhook", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    os.replace(directory / "tls.key.new", directory / "tls.key")
    os.replace(directory / "tls.crt.new", directory / "tls.crt")


def active_alerts(base):
    with urllib.request.urlopen(base + "/api/v1/alerts", timeout=5) as answer:
        return {a["labels"]["alertname"]: a["state"] for a in json.load(answer)["data"]["alerts"]}


def wait_for(what, condition, seconds=40):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
            if last:
                return last
        except OSError as error:
            last = error
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what} (last: {last})")


def post_garbage(port, count):
    context = ssl._create_unverified_context()  # the test's own self-signed certificate
    for _ in range(count):
        request = urllib.request.Request(
            f"https://127.0.0.1:{port}/mutate", data=b"not an AdmissionReview",
            headers={"Content-Type": "application/json"}, method="POST")
        try:
            urllib.request.urlopen(request, timeout=5, context=context)
        except urllib.error.HTTPError as error:
            assert error.code == 400, error.code


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    webhook_binary = sys.argv[1]
    prometheus = shutil.which("prometheus")
    if not prometheus:
        if os.geteuid() == 0:
            print("FAIL: prometheus not found; scripts/install-deps installs it", file=sys.stderr)
            return 1
        print("SKIP: prometheus not found (Debian package prometheus)", file=sys.stderr)
        return 77

    processes = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        try:
            make_certificate(tmp, days=5)
            webhook_port = free_port()
            processes.append(subprocess.Popen(
                [webhook_binary, "--address", "127.0.0.1", "--port", str(webhook_port),
                 "--tls-cert-file", str(tmp / "tls.crt"),
                 "--tls-private-key-file", str(tmp / "tls.key"),
                 "--kubernetes-version", "v1.30.2"],
                stdout=open(tmp / "webhook.log", "w"), stderr=subprocess.STDOUT))

            shutil.copy(RULES, tmp / RULES.name)
            config = {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [RULES.name],
                "scrape_configs": [{
                    "job_name": "weft-webhook",
                    "scheme": "https",
                    "tls_config": {"insecure_skip_verify": True},
                    "static_configs": [{"targets": [f"127.0.0.1:{webhook_port}"]}],
                }],
            }
            (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
            prometheus_port = free_port()
            base = f"http://127.0.0.1:{prometheus_port}"
            processes.append(subprocess.Popen(
                [prometheus, f"--config.file={tmp / 'prometheus.yml'}",
                 f"--storage.tsdb.path={tmp / 'data'}",
                 f"--web.listen-address=127.0.0.1:{prometheus_port}"],
                stdout=open(tmp / "prometheus.log", "w"), stderr=subprocess.STDOUT))

            # WeftWebhookDown is pending until the first scrape's up reaches
            # its group's next evaluation: wait for both.
            alerts = wait_for(
                "WeftWebhookCertificateExpiringSoon on a 5-day certificate, WeftWebhookDown not",
                lambda: (a := active_alerts(base)) and "WeftWebhookCertificateExpiringSoon" in a
                and "WeftWebhookDown" not in a and a)
            print(f"5-day certificate: {alerts}")

            post_garbage(webhook_port, 20)
            wait_for("WeftWebhookErrors after unreadable reviews",
                     lambda: "WeftWebhookErrors" in active_alerts(base))
            print("unreadable reviews: WeftWebhookErrors active")

            make_certificate(tmp, days=60)
            wait_for("WeftWebhookCertificateExpiringSoon to end after a 60-day certificate",
                     lambda: "WeftWebhookCertificateExpiringSoon" not in active_alerts(base))
            print("60-day certificate: WeftWebhookCertificateExpiringSoon gone")
            return 0
        except AssertionError as error:
            for log in ("webhook.log", "prometheus.log"):
                print(f"--- {log}", file=sys.stderr)
                print((tmp / log).read_text()[-3000:], file=sys.stderr)
            print(f"FAIL: {error}", file=sys.stderr)
            return 1
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


if __name__ == "__main__":
    sys.exit(main())
