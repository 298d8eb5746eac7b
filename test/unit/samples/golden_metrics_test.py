#!/usr/bin/env python3
"""Unit tests of samples/golden_metrics.py: parsing, quantiles, windows."""

import math
import os
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "samples"))
import golden_metrics as gm  # noqa: E402

SCRAPE_BEFORE = """# HELP response_total HTTP responses sent, by status code and class.
# TYPE response_total counter
response_total{direction="outbound",target_service="backend:8080",route="r",status_code="200",classification="success"} 100
response_total{direction="outbound",target_service="backend:8080",route="r",status_code="500",classification="failure"} 0
response_total{direction="inbound",target_service="10.0.0.1:8080",route="",status_code="200",classification="success"} 7
response_latency_ms_bucket{direction="outbound",target_service="backend:8080",route="r",le="10"} 50
response_latency_ms_bucket{direction="outbound",target_service="backend:8080",route="r",le="20"} 100
response_latency_ms_bucket{direction="outbound",target_service="backend:8080",route="r",le="+Inf"} 100
"""

SCRAPE_AFTER = """response_total{direction="outbound",target_service="backend:8080",route="r",status_code="200",classification="success"} 290
response_total{direction="outbound",target_service="backend:8080",route="r",status_code="500",classification="failure"} 10
response_total{direction="inbound",target_service="10.0.0.1:8080",route="",status_code="200",classification="success"} 9
response_latency_ms_bucket{direction="outbound",target_service="backend:8080",route="r",le="10"} 150
response_latency_ms_bucket{direction="outbound",target_service="backend:8080",route="r",le="20"} 300
response_latency_ms_bucket{direction="outbound",target_service="backend:8080",route="r",le="+Inf"} 300
"""


class ParseTest(unittest.TestCase):
    def test_samples_labels_and_escapes(self):
        samples = gm.parse_prometheus(
            '# HELP x y\nx_total{a="1",b="q\\"uote"} 3\nplain 2.5\n\nbad line\n')
        self.assertEqual(samples, [("x_total", {"a": "1", "b": 'q"uote'}, 3.0),
                                   ("plain", {}, 2.5)])

    def test_inf_bound(self):
        (_, labels, _), = gm.parse_prometheus('h_bucket{le="+Inf"} 4')
        self.assertTrue(math.isinf(float(labels["le"])))


class QuantileTest(unittest.TestCase):
    def test_interpolates_within_the_bucket(self):
        buckets = [(10.0, 100.0), (20.0, 200.0), (math.inf, 200.0)]
        self.assertAlmostEqual(gm.histogram_quantile(0.5, buckets), 10.0)
        self.assertAlmostEqual(gm.histogram_quantile(0.25, buckets), 5.0)
        self.assertAlmostEqual(gm.histogram_quantile(0.75, buckets), 15.0)
        self.assertAlmostEqual(gm.histogram_quantile(0.99, buckets), 19.8)

    def test_beyond_the_last_finite_bound(self):
        buckets = [(10.0, 1.0), (math.inf, 10.0)]
        self.assertEqual(gm.histogram_quantile(0.99, buckets), 10.0)

    def test_empty(self):
        self.assertIsNone(gm.histogram_quantile(0.5, []))
        self.assertIsNone(gm.histogram_quantile(0.5, [(10.0, 0.0), (math.inf, 0.0)]))


class WindowTest(unittest.TestCase):
    def test_deltas_between_scrapes(self):
        before = {"web-1": gm.parse_prometheus(SCRAPE_BEFORE)}
        after = {"web-1": gm.parse_prometheus(SCRAPE_AFTER)}
        groups = gm.window(before, after, lambda pod, labels: labels["target_service"], "outbound")
        self.assertEqual(set(groups), {"backend:8080"})
        rows = gm.summarize(groups, seconds=10.0)
        self.assertEqual(len(rows), 1)
        row = rows[0]
        self.assertAlmostEqual(row["rps"], 20.0)  # 200 responses in 10 s
        self.assertAlmostEqual(row["success_rate"], 0.95)  # 190 of 200
        self.assertAlmostEqual(row["p50_ms"], 10.0)  # 100 of the 200 within 10 ms
        self.assertAlmostEqual(row["p99_ms"], 19.8)

    def test_new_pod_counts_from_zero_and_direction_filters(self):
        after = {"new": gm.parse_prometheus(SCRAPE_AFTER)}
        groups = gm.window({}, after, lambda pod, labels: pod, "inbound")
        self.assertEqual(groups["new"]["requests"], 9)
        self.assertEqual(gm.summarize(gm.window({}, {}, lambda p, l: p, "inbound"), 1.0), [])

    def test_render(self):
        text = gm.render([{"service": "backend v1", "rps": 20.0, "success_rate": 0.995,
                           "p50_ms": 10.0, "p95_ms": None, "p99_ms": 19.8}])
        self.assertIn("backend v1", text)
        self.assertIn("99.50%", text)
        self.assertIn("19.8", text)
        self.assertIn("no requests", gm.render([]))


# The proxies' series carry Linkerd's TLS labels: several series per target
# (one per client identity), which the golden metrics sum.
TLS = 'tls="true",no_tls_reason="",client_id="spiffe://cluster.local/ns/demo/sa/{}",server_id=""'
PLAIN = 'tls="no_identity",no_tls_reason="no_tls_from_remote",client_id="",server_id=""'


def api_scrape(web, load, plain):
    lines = []
    for labels, count in ((TLS.format("web"), web), (TLS.format("default"), load), (PLAIN, plain)):
        head = f'direction="inbound",target_service="api:8080",route="",{labels}'
        lines.append(f"request_total{{{head}}} {count}")
        lines.append(f'response_total{{{head},status_code="200",classification="success"}} {count}')
        lines.append(f'response_latency_ms_bucket{{{head},le="10"}} {count}')
        lines.append(f'response_latency_ms_bucket{{{head},le="+Inf"}} {count}')
    return gm.parse_prometheus("\n".join(lines))


class TlsLabelsTest(unittest.TestCase):
    def test_golden_metrics_sum_over_the_tls_series(self):
        before = {"api-1": api_scrape(10, 0, 1)}
        after = {"api-1": api_scrape(110, 50, 3)}
        groups = gm.window(before, after, lambda pod, labels: "api", "inbound")
        (row,) = gm.summarize(groups, seconds=10.0)
        self.assertAlmostEqual(row["rps"], 15.2)  # 100 + 50 + 2 in 10 s
        self.assertAlmostEqual(row["success_rate"], 1.0)
        self.assertAlmostEqual(row["p99_ms"], 9.9)

    def test_who_talks_to_whom(self):
        before = {"api-1": api_scrape(10, 0, 1), "load": []}
        after = {"api-1": api_scrape(110, 50, 3), "load": []}
        pairs = gm.mtls_window(before, after, lambda pod: None if pod == "load" else "api")
        self.assertEqual(pairs, {
            ("spiffe://cluster.local/ns/demo/sa/web", "api"): 100.0,
            ("spiffe://cluster.local/ns/demo/sa/default", "api"): 50.0,
            ("no_identity:no_tls_from_remote", "api"): 2.0,
        })
        pods = {"web-1": {"labels": {"app": "web"}, "service_account": "web"},
                "web-2": {"labels": {"app": "web"}, "service_account": "web"},
                "load": {"labels": {"run": "load"}, "service_account": "default"}}
        names = gm.identity_names(pods, "demo")
        self.assertEqual(names, {"web": ["web"], "default": ["load"]})
        rows = gm.mtls_rows(pairs, 10.0, names, "demo")
        self.assertEqual([(r["client"], r["server"], r["mtls"]) for r in rows], [
            ("web (sa web)", "api", True),
            ("load (sa default)", "api", True),
            ("unmeshed (no_tls_from_remote)", "api", False),
        ])
        web = rows[0]
        self.assertAlmostEqual(web["rps"], 10.0)
        self.assertAlmostEqual(web["share"], 100 / 152)
        self.assertEqual(web["client_id"], "spiffe://cluster.local/ns/demo/sa/web")
        text = gm.render_mtls(rows)
        self.assertIn("web (sa web)", text)
        self.assertIn("mTLS", text)
        self.assertIn("plaintext", text)
        self.assertIn("65.8%", text)
        self.assertIn("no inbound requests", gm.render_mtls([]))

    def test_caller_names(self):
        names = {"web": ["web"]}
        self.assertEqual(gm.caller_name("spiffe://td/ns/demo/sa/web", names, "demo"), "web (sa web)")
        self.assertEqual(gm.caller_name("spiffe://td/ns/demo/sa/x", names, "demo"), "sa x")
        self.assertEqual(gm.caller_name("spiffe://td/ns/other/sa/web", names, "demo"),
                         "sa web, ns other")
        self.assertEqual(gm.caller_name("other", names, "demo"), "other")  # past the proxy's cap

    def test_series_without_tls_labels_count_as_no_identity(self):
        samples = gm.parse_prometheus('request_total{direction="inbound",target_service="a"} 4')
        self.assertEqual(gm.mtls_window({}, {"p": samples}, lambda pod: "a"),
                         {("no_identity:unknown", "a"): 4.0})


if __name__ == "__main__":
    unittest.main()
