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


if __name__ == "__main__":
    unittest.main()
