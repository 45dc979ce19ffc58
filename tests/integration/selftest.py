#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks of the harness itself, no daemon and no root needed:

    /usr/bin/python3 tests/integration/selftest.py

The exposition parser against hand-made samples (and promtool, which must agree
with it on what is valid), /proc parsing, and the sample app's routes through
Starlette's in-process test client when it is importable.
"""

import math
import os
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import env  # noqa: E402
import prom  # noqa: E402

GOOD = """\
# HELP runway_requests_total Requests answered.
# TYPE runway_requests_total counter
runway_requests_total{method="GET",status="200"} 50
runway_requests_total{method="GET",status="000"} 2
# HELP runway_requests_in_flight In flight.
# TYPE runway_requests_in_flight gauge
runway_requests_in_flight 0
# HELP runway_request_duration_seconds Duration.
# TYPE runway_request_duration_seconds histogram
runway_request_duration_seconds_bucket{method="GET",le="0.005"} 40
runway_request_duration_seconds_bucket{method="GET",le="0.01"} 49
runway_request_duration_seconds_bucket{method="GET",le="10"} 52
runway_request_duration_seconds_bucket{method="GET",le="+Inf"} 52
runway_request_duration_seconds_sum{method="GET"} 0.25
runway_request_duration_seconds_count{method="GET"} 52
# HELP runway_bpfd_build_info Build.
# TYPE runway_bpfd_build_info gauge
runway_bpfd_build_info{version="0.1.0",note="a \\"quoted\\" \\\\ back\\nslash"} 1
"""


class Parser(unittest.TestCase):
    def test_good(self):
        e = prom.parse(GOOD)
        self.assertEqual(e.get("runway_requests_total", method="GET", status="200"), 50)
        self.assertEqual(e.sum("runway_requests_total"), 52)
        self.assertEqual(e.types["runway_request_duration_seconds"], "histogram")
        self.assertEqual(e.helps["runway_requests_in_flight"], "In flight.")
        h = e.histograms("runway_request_duration_seconds")[(("method", "GET"),)]
        self.assertEqual(h["buckets"][-1], (math.inf, 52))
        self.assertEqual((h["count"], h["sum"]), (52, 0.25))
        info = e.select("runway_bpfd_build_info")[0]
        self.assertEqual(info.labels["note"], 'a "quoted" \\ back\nslash')
        self.assertEqual(prom.family_of("runway_request_duration_seconds_bucket", e.types),
                         "runway_request_duration_seconds")

    def test_deltas(self):
        a = prom.parse('x_total{a="1"} 3\nx_total{a="2"} 1\n')
        b = prom.parse('x_total{a="1"} 5\nx_total{a="2"} 1\nx_total{a="3"} 4\n')
        self.assertEqual(prom.counter_deltas(a, b, "x_total", "a"), {("1",): 2, ("3",): 4})

    def test_values(self):
        e = prom.parse("a +Inf\nb -Inf\nc NaN\nd 1e-3 1700000000000\n")
        self.assertEqual(e.get("a"), math.inf)
        self.assertEqual(e.get("b"), -math.inf)
        self.assertTrue(math.isnan(e.get("c")))
        self.assertEqual(e.get("d"), 0.001)
        self.assertEqual(e.samples[-1].timestamp, 1700000000000)

    def test_bad(self):
        for text in ('a{b="c} 1\n', "a{b=c} 1\n", "a 1 2 3\n", "a\n", "1a 2\n",
                     'a{b="c",b="d"} 1\n', "a 1\na 2\n", "a{b=\"\\q\"} 1\n",
                     "# TYPE a countr\n", "a{}x 1\n"):
            with self.subTest(text=text), self.assertRaises(prom.ParseError):
                prom.parse(text)


@unittest.skipIf(shutil.which("promtool") is None, "promtool not installed")
class Promtool(unittest.TestCase):
    def check(self, text):
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr

    def test_good_sample_passes(self):
        self.assertEqual(self.check(GOOD), (0, ""))

    def test_missing_help_fails(self):
        rc, out = self.check("# TYPE x_total counter\nx_total 1\n")
        self.assertNotEqual(rc, 0)
        self.assertIn("no help text", out)


class Proc(unittest.TestCase):
    def test_netstat(self):
        ns = env.netstat(os.getpid())
        self.assertIn("ListenOverflows", ns["TcpExt"])
        self.assertIn("ListenDrops", ns["TcpExt"])

    def test_mount_unescape(self):
        self.assertEqual(env._unescape_mount(r"/a\040b\134c"), "/a b\\c")

    def test_cgroup2(self):
        root = env.cgroup2_mount()
        if root is not None:
            self.assertTrue(os.path.exists(os.path.join(root, "cgroup.procs")))


class SampleApp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            from starlette.testclient import TestClient  # needs python3-requests/httpx
        except ImportError as e:
            raise unittest.SkipTest("starlette TestClient unavailable: %s" % e)
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "apps"))
        import sample_app
        cls.client = TestClient(sample_app.app)

    def test_routes(self):
        c = self.client
        self.assertEqual(c.get("/").json(), {"hello": "runway"})
        self.assertEqual(c.head("/").status_code, 200)
        self.assertEqual(c.get("/sleep?ms=1").status_code, 200)
        self.assertEqual(c.get("/block?ms=1").status_code, 200)
        self.assertEqual(c.get("/sync?ms=1").status_code, 200)
        self.assertEqual(c.get("/stream?chunks=3&delay_ms=1").text, "chunk 0\nchunk 1\nchunk 2\n")
        for code in (200, 404, 500):
            self.assertEqual(c.get("/status/%d" % code).status_code, code)
        r = c.get("/status/204")
        self.assertEqual((r.status_code, r.content), (204, b""))
        self.assertEqual(c.delete("/status/200").status_code, 200)
        self.assertEqual(c.post("/echo", content=b"x" * 5).json(), {"length": 5})
        self.assertEqual(c.get("/metrics").text, "app metrics\n")
        self.assertEqual(c.get("/healthz").status_code, 200)

    def test_websocket(self):
        import sample_app
        if not sample_app.HAVE_WEBSOCKET:
            self.skipTest("no websocket implementation")
        with self.client.websocket_connect("/ws") as ws:
            ws.send_text("hi")
            self.assertEqual(ws.receive_text(), "hi")


if __name__ == "__main__":
    unittest.main()
