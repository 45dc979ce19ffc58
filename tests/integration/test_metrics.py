# SPDX-License-Identifier: MIT
"""What the daemon counts for a uvicorn server it watches.

Every test starts its own uvicorn (in its own cgroup, pinned to CPU 0) and its
own daemon, and compares the increase of the daemon's metrics with the
requests the test sent: exactly, since the daemon sees every byte.
"""

import collections
import math
import re
import subprocess
import time

import env
import fixtures
import prom
from base import (DURATION, IN_FLIGHT, QUEUED, REQUESTS_TOTAL, RunwayCase,
                  histogram_delta, median, stacks)
from client import Clients, KeepAlive, RawHTTP, keepalive_loop, one_shot

NAN = float("nan")


def _per_method(expected):
    out = collections.Counter()
    for (method, _), n in expected.items():
        out[method] += n
    return out


@stacks("uvloop", "asyncio")
class ExactCounts:
    """(a) a known mix of requests, each counted once with its method and status."""

    def test_exact_counts(self):
        app = self.start_app()
        d = self.start_daemon(app)
        before = d.scrape()
        host, port = app.host, app.port
        expected = collections.Counter()

        def sent(method, path, status, got):
            self.assertEqual(got, status, "%s %s answered %s" % (method, path, got))
            expected[(method, str(status))] += 1

        def excluded(conn=None):
            # Interleaved with counted requests; never counted themselves.
            for path in ("/healthz", "/metrics", "/healthz?probe=1"):
                if conn is None:
                    status, _ = one_shot(host, port, "GET", path)
                else:
                    status, _ = conn.request("GET", path)
                self.assertEqual(status, 200, path)

        ka1 = KeepAlive(host, port)
        ka2 = KeepAlive(host, port)
        try:
            for i in range(40):
                sent("GET", "/", 200, ka1.request("GET", "/")[0])
                if i % 10 == 3:
                    excluded(ka1)
            for _ in range(10):
                sent("GET", "/", 200, one_shot(host, port, "GET", "/")[0])
            excluded()
            for _ in range(4):
                sent("GET", "/status/404", 404, ka2.request("GET", "/status/404")[0])
            for _ in range(3):
                sent("GET", "/status/404", 404, one_shot(host, port, "GET", "/status/404")[0])
            for _ in range(3):
                sent("GET", "/status/500", 500, ka1.request("GET", "/status/500")[0])
            for _ in range(2):
                sent("GET", "/status/500", 500, one_shot(host, port, "GET", "/status/500")[0])
            excluded(ka2)
            # POST bodies in several sends: headers first, then the body in pieces.
            pieces = [b"a" * 700, b"b" * 1300, b"c" * 48]
            for conn in (ka1, ka2):
                status, body = conn.request_in_pieces("POST", "/echo", pieces)
                self.assertEqual(body, b'{"length":2048}')
                sent("POST", "/echo", 200, status)
            raw = RawHTTP(host, port)
            try:
                raw.send(raw.request_head("POST", "/echo", {"Content-Length": "2048",
                                                            "Connection": "close"}))
                for p in pieces:
                    time.sleep(0.02)
                    raw.send(p)
                status, _, body = raw.read_response()
                self.assertEqual(body, b'{"length":2048}')
                sent("POST", "/echo", 200, status)
            finally:
                raw.close()
            for _ in range(3):
                sent("HEAD", "/", 200, ka1.request("HEAD", "/")[0])
            sent("HEAD", "/", 200, one_shot(host, port, "HEAD", "/")[0])
            for _ in range(2):
                sent("GET", "/status/204", 204, ka2.request("GET", "/status/204")[0])
            sent("GET", "/status/204", 204, one_shot(host, port, "GET", "/status/204")[0])
            sent("DELETE", "/status/200", 200, ka2.request("DELETE", "/status/200")[0])
            sent("DELETE", "/status/200", 200, one_shot(host, port, "DELETE", "/status/200")[0])
            # The other handler kinds: thread pool, blocking, sleeping, streaming.
            for path in ("/sync?ms=20", "/block?ms=20", "/sleep?ms=10",
                         "/stream?chunks=3&delay_ms=10", "/status/304"):
                status = 304 if path == "/status/304" else 200
                sent("GET", path, status, ka2.request("GET", path)[0])
            excluded(ka1)
        finally:
            ka1.close()
            ka2.close()

        after = self.settle(d, before, dict(expected))
        for method, n in _per_method(expected).items():
            count, _ = histogram_delta(before, after, DURATION, method=method)
            self.assertEqual(count, n, "%s_count{method=%s} increase" % (DURATION, method))
        for method in {s.labels.get("method") for s in after.select(DURATION + "_count")}:
            if method not in _per_method(expected):
                count, _ = histogram_delta(before, after, DURATION, method=method)
                self.assertEqual(count, 0, "%s_count{method=%s} increase" % (DURATION, method))
        self.assertHistogramsSane(after, DURATION)
        # The handlers slept 80 ms in all (/sync, /block, /sleep, /stream);
        # everything else takes about a millisecond.
        _, seconds = histogram_delta(before, after, DURATION, method="GET")
        self.note("GET duration sum: %.3f s", seconds)
        self.assertGreaterEqual(seconds, 0.08, "%s_sum{method=GET} increase" % DURATION)
        self.assertLess(seconds, 2.0, "%s_sum{method=GET} increase" % DURATION)


@stacks("uvloop", "asyncio")
class IdleTime:
    """Idle connection time is neither request time nor queue time (a request
    starts when its bytes arrive, not when the connection or the previous
    request did)."""

    def test_idle_time_not_counted(self):
        app = self.start_app()
        d = self.start_daemon(app)
        before = d.scrape()
        ka = KeepAlive(app.host, app.port)
        raw = RawHTTP(app.host, app.port)
        try:
            self.assertEqual(ka.request("GET", "/")[0], 200)
            time.sleep(1.0)  # idle keep-alive connection, and a connected one that says nothing
            self.assertEqual(ka.request("GET", "/")[0], 200)
            raw.send(raw.request_head("GET", "/"))
            self.assertEqual(raw.read_response()[0], 200)
        finally:
            ka.close()
            raw.close()
        # Fresh connections in a row reuse the server's file descriptors.
        for _ in range(20):
            self.assertEqual(one_shot(app.host, app.port, "GET", "/")[0], 200)
        after = self.settle(d, before, {("GET", "200"): 23})
        count, seconds = histogram_delta(before, after, DURATION, method="GET")
        qcount, qseconds = histogram_delta(before, after, "runway_request_queue_seconds")
        self.note("sums for 23 requests: duration %.4f s, queue %.4f s", seconds, qseconds)
        self.assertEqual(count, 23)
        self.assertLess(seconds, 0.5, "%s_sum increase" % DURATION)
        self.assertLess(qseconds, 0.5, "runway_request_queue_seconds_sum increase")


@stacks("uvloop", "asyncio")
class Throughput:
    """Many small requests: none lost, none invented."""

    def test_keepalive_clients_exact(self):
        app = self.start_app()
        d = self.start_daemon(app)
        before = d.scrape()
        clients = Clients(8, keepalive_loop(app.host, app.port, "/"))
        clients.start()
        try:
            time.sleep(3.0)
        finally:
            total = clients.stop()
        self.assertEqual(clients.errors, [], "client errors")
        self.note("%d requests", total)
        after = self.settle(d, before, {("GET", "200"): total})
        self.assertLost0(before, after)

    def test_wrk(self):
        app = self.start_app()
        d = self.start_daemon(app)
        before = d.scrape()
        conns = 32
        p = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d3s", "--timeout", "5s",
                            "http://%s:%d/" % (app.host, app.port)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.search(r"(\d+) requests in", p.stdout)
        self.assertTrue(m, p.stdout)
        completed = int(m.group(1))
        self.assertNotIn("Non-2xx", p.stdout)
        self.assertNotIn("Socket errors", p.stdout)

        def done():
            e = d.scrape()
            return (e.sum(REQUESTS_TOTAL) - before.sum(REQUESTS_TOTAL) >= completed and
                    e.get(IN_FLIGHT) == 0 and e.get(QUEUED) == 0)
        self.poll(done, timeout=10.0)
        time.sleep(0.5)
        after = d.scrape()
        deltas = prom.counter_deltas(before, after, REQUESTS_TOTAL, "method", "status")
        self.note("wrk completed %d; counted %s", completed, dict(sorted(deltas.items())))
        self.assertEqual(set(deltas) - {("GET", "200"), ("GET", "000")}, set(), deltas)
        # wrk stops with up to one request per connection unread: the server
        # answered it (200) or saw the connection close first (000).
        counted = sum(deltas.values())
        self.assertGreaterEqual(deltas.get(("GET", "200"), 0), completed,
                                "fewer requests counted than wrk completed")
        self.assertLessEqual(counted - completed, conns,
                             "more requests counted than wrk sent")
        self.assertGauges0(after)
        self.assertLost0(before, after)


@stacks("uvloop", "asyncio")
class InFlight:
    """(b) 16 clients always waiting on /sleep?ms=200: the gauge reads 16."""

    def test_in_flight_gauge(self):
        app = self.start_app()
        d = self.start_daemon(app)
        before = d.scrape()
        clients = Clients(16, keepalive_loop(app.host, app.port, "/sleep?ms=200"))
        sampler = fixtures.Sampler(d, lambda e: e.get(IN_FLIGHT, NAN), interval=0.05)
        sampler.start()
        t0 = time.monotonic()
        clients.start()
        try:
            time.sleep(3.0)
            t_end = time.monotonic()
        finally:
            total = clients.stop()
            sampler.stop()
        self.assertEqual(clients.errors, [], "client errors")
        self.assertEqual(sampler.errors, [], "scrape errors")
        values = sampler.values()
        self.assertFalse([v for v in values if math.isnan(v)], "%s missing" % IN_FLIGHT)
        window = sampler.values(t0 + 0.5, t_end)
        self.assertGreater(len(window), 20, "too few samples")
        self.note("%s: median %.1f, min %.0f, max %.0f over %d samples; %d requests",
                  IN_FLIGHT, median(window), min(window), max(window), len(window), total)
        self.assertNear(median(window), 16, 0.10, "median of %s" % IN_FLIGHT)
        self.assertLessEqual(max(values), 16, "%s above the number of clients" % IN_FLIGHT)
        self.settle(d, before, {("GET", "200"): total})


@stacks("uvloop", "asyncio")
class Streaming:
    """(c) a chunked response is in flight until its last chunk."""

    def test_streaming_response(self):
        app = self.start_app()
        d = self.start_daemon(app)
        before = d.scrape()
        raw = RawHTTP(app.host, app.port)
        try:
            raw.send(raw.request_head("GET", "/stream?chunks=5&delay_ms=100"))
            status, headers = raw.read_head()
            self.assertEqual(status, 200)
            self.assertIn("chunked", headers.get("transfer-encoding", ""))
            chunks = [raw.read_chunk()]
            mid = d.scrape()
            self.assertEqual(mid.get(IN_FLIGHT), 1.0, "%s while streaming" % IN_FLIGHT)
            self.assertEqual(prom.counter_deltas(before, mid, REQUESTS_TOTAL, "method", "status"),
                             {}, "counted before the last chunk")
            while True:
                chunk = raw.read_chunk()
                if not chunk:
                    break
                chunks.append(chunk)
            self.assertEqual(len(chunks), 5)
            # The connection stays open: the terminator alone ends the request.
            after = self.settle(d, before, {("GET", "200"): 1})
        finally:
            raw.close()
        count, seconds = histogram_delta(before, after, DURATION, method="GET")
        self.note("duration of the streamed response: %.3f s", seconds)
        self.assertEqual(count, 1)
        self.assertGreaterEqual(seconds, 0.4, "%s_sum increase" % DURATION)
        self.assertLess(seconds, 5.0, "%s_sum increase" % DURATION)


@stacks("uvloop", "asyncio")
class AbortedClients:
    """(d) clients that give up mid-request leave no gauge behind."""

    def test_aborted_clients(self):
        app = self.start_app()
        d = self.start_daemon(app)
        before = d.scrape()
        conns = []
        try:
            for _ in range(20):
                raw = RawHTTP(app.host, app.port)
                conns.append(raw)
                raw.send(raw.request_head("GET", "/sleep?ms=500"))
            # All 20 are read by the server and sleeping now.
            peak = self.poll(lambda: d.scrape().get(IN_FLIGHT) == 20, timeout=0.3, interval=0.02)
        finally:
            for i, raw in enumerate(conns):
                (raw.close if i % 2 == 0 else raw.reset)()  # FIN or RST
        time.sleep(0.6)  # the handlers finish and try to answer

        def done():
            e = d.scrape()
            return (e.sum(REQUESTS_TOTAL) - before.sum(REQUESTS_TOTAL) == 20 and
                    e.get(IN_FLIGHT) == 0 and e.get(QUEUED) == 0)
        self.poll(done, timeout=5.0)
        time.sleep(0.5)
        after = d.scrape()
        deltas = prom.counter_deltas(before, after, REQUESTS_TOTAL, "method", "status")
        self.note("counted as %s", dict(sorted(deltas.items())))
        self.assertEqual(sum(deltas.values()), 20, "requests counted: %s" % deltas)
        for (method, status) in deltas:
            self.assertEqual(method, "GET", deltas)
            self.assertIn(status, ("000", "200"), deltas)
        self.assertGauges0(after)
        self.assertTrue(peak, "%s did not reach 20 while the 20 requests slept" % IN_FLIGHT)


@stacks("uvloop", "asyncio")
class ConnectionBeforeDaemon:
    """(e) a keep-alive connection opened before the daemon started."""

    def test_connection_open_before_daemon(self):
        app = self.start_app()
        ka = KeepAlive(app.host, app.port)
        try:
            self.assertEqual(ka.request("GET", "/")[0], 200)
            d = self.start_daemon(app)
            before = d.scrape()
            for _ in range(5):
                self.assertEqual(ka.request("GET", "/")[0], 200)
            self.settle(d, before, {("GET", "200"): 5})
        finally:
            ka.close()


class IPv6(RunwayCase):
    """(f) uvicorn on ::1."""

    def test_ipv6_loopback(self):
        if not env.have_ipv6_loopback():
            self.skipTest("this kernel has no IPv6 loopback (::1 cannot be bound)")
        app = self.start_app(host="::1")
        d = self.start_daemon(app)
        before = d.scrape()
        ka = KeepAlive("::1", app.port)
        try:
            for _ in range(6):
                self.assertEqual(ka.request("GET", "/")[0], 200)
            self.assertEqual(ka.request("GET", "/status/404")[0], 404)
            self.assertEqual(ka.request("GET", "/healthz")[0], 200)
        finally:
            ka.close()
        for _ in range(3):
            self.assertEqual(one_shot("::1", app.port, "POST", "/echo", body=b"x" * 10)[0], 200)
        self.settle(d, before, {("GET", "200"): 6, ("GET", "404"): 1, ("POST", "200"): 3})


@stacks("uvloop", "asyncio")
class ExpectContinue:
    """(g) a 100 Continue interim response is not a request of its own."""

    def test_expect_100_continue(self):
        app = self.start_app()
        d = self.start_daemon(app)
        before = d.scrape()
        raw = RawHTTP(app.host, app.port)
        try:
            body = b"z" * 3000
            raw.send(raw.request_head("POST", "/echo", {
                "Content-Length": str(len(body)), "Expect": "100-continue",
                "Content-Type": "application/octet-stream"}))
            status, _ = raw.read_head()
            self.assertEqual(status, 100, "no 100 Continue")
            raw.send(body[:1000])
            time.sleep(0.05)
            raw.send(body[1000:])
            status, _, resp = raw.read_response()
            self.assertEqual((status, resp), (200, b'{"length":3000}'))
            # The same connection goes on with an ordinary request.
            raw.send(raw.request_head("GET", "/"))
            self.assertEqual(raw.read_response()[0], 200)
            self.settle(d, before, {("POST", "200"): 1, ("GET", "200"): 1})
        finally:
            raw.close()


@stacks("uvloop", "asyncio")
class WebSocket:
    """(h) an upgrade is one request with status 101; frames are not requests."""

    def test_websocket_upgrade(self):
        if fixtures.ws_implementation() is None:
            self.skipTest("neither websockets nor wsproto is importable by uvicorn")
        app = self.start_app()
        d = self.start_daemon(app)
        before = d.scrape()
        raw = RawHTTP(app.host, app.port)
        try:
            status, headers = raw.ws_handshake("/ws")
            self.assertEqual(status, 101)
            self.settle(d, before, {("GET", "101"): 1})  # socket still open
            for msg in ("hello", "x" * 300):
                raw.ws_send(msg)
                self.assertEqual(raw.ws_recv(), (0x1, msg.encode()))
            self.settle(d, before, {("GET", "101"): 1}, timeout=1.0)
            raw.ws_close()
            opcode, _ = raw.ws_recv()
            self.assertEqual(opcode, 0x8)
        finally:
            raw.close()
        self.settle(d, before, {("GET", "101"): 1}, timeout=1.0)


# Families the daemon must always export, with their TYPE.  The accept-queue
# families are checked in test_queued.py.
FAMILIES = {
    "runway_requests_in_flight": "gauge",
    "runway_requests_queued": "gauge",
    "runway_requests_total": "counter",
    "runway_request_duration_seconds": "histogram",
    "runway_request_queue_seconds": "histogram",
    "runway_requests_in_flight_seconds_total": "counter",
    "runway_requests_queued_seconds_total": "counter",
}
ACCEPT_QUEUE_FAMILIES = {
    "runway_accept_queue_depth": "gauge",
    "runway_accept_queue_limit": "gauge",
    "runway_listen_overflows_total": "counter",
    "runway_listen_drops_total": "counter",
}


class Exposition(RunwayCase):
    """(i) the /metrics body is valid for promtool and has every family."""

    def test_promtool_check_metrics(self):
        app = self.start_app()
        d = self.start_daemon(app)
        ka = KeepAlive(app.host, app.port)
        try:
            for method, path in (("GET", "/"), ("GET", "/status/404"), ("HEAD", "/"),
                                 ("POST", "/echo"), ("GET", "/status/503")):
                ka.request(method, path, body=b"{}" if method == "POST" else None)
        finally:
            ka.close()
        self.poll(lambda: d.scrape().sum(REQUESTS_TOTAL) >= 5)
        text = d.scrape_text()
        with open(self.logdir + "/metrics.txt", "w") as f:
            f.write(text)
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""),
                         "promtool check metrics complains")

    def test_metric_families(self):
        app = self.start_app()
        d = self.start_daemon(app)
        self.assertEqual(one_shot(app.host, app.port, "GET", "/")[0], 200)
        self.poll(lambda: d.scrape().sum(REQUESTS_TOTAL) >= 1)
        expo = d.scrape()
        for family, kind in FAMILIES.items():
            self.assertEqual(expo.types.get(family), kind, "TYPE of %s" % family)
            self.assertTrue(expo.helps.get(family), "HELP of %s" % family)
        # Ours, plus the process_* trio every Prometheus client library
        # exports for the exporter itself.
        process_families = {"process_cpu_seconds_total": "counter",
                            "process_resident_memory_bytes": "gauge",
                            "process_start_time_seconds": "gauge"}
        for family in expo.types:
            self.assertTrue(family.startswith("runway_") or family in process_families,
                            "stray family %s" % family)
        for family, kind in process_families.items():
            self.assertEqual(expo.types.get(family), kind, "TYPE of %s" % family)
        rss = expo.get("process_resident_memory_bytes")
        self.assertTrue(rss and 1 << 20 < rss < 64 << 20, "process_resident_memory_bytes = %s" % rss)
        self.assertTrue(expo.select("runway_bpfd_build_info"), "runway_bpfd_build_info missing")
        documented = dict(FAMILIES, **ACCEPT_QUEUE_FAMILIES)
        extra = sorted({prom.family_of(n, expo.types) for n in expo.names()
                        if not n.startswith("runway_bpfd_")} - set(documented))
        if extra:
            self.note("families beyond the documented ones: %s", ", ".join(extra))
        for s in expo.select(REQUESTS_TOTAL):
            self.assertIn(s.labels.get("method"), ("GET", "HEAD", "POST", "PUT", "DELETE",
                                                   "PATCH", "OPTIONS", "TRACE", "CONNECT",
                                                   "OTHER"), s)
            self.assertRegex(s.labels.get("status", ""), r"^\d{3}$", s)


class ExcludePath(RunwayCase):
    """--exclude-path replaces the default list, and excluded means no metric at all."""

    def test_exclude_path_replaces_defaults(self):
        app = self.start_app()
        d = self.start_daemon(app, args=["--pid", str(app.pid), "--exclude-path", "/sleep",
                                         "--exclude-path", "/status/404"])
        before = d.scrape()
        ka = KeepAlive(app.host, app.port)
        slow = RawHTTP(app.host, app.port)
        try:
            slow.send(slow.request_head("GET", "/sleep?ms=600"))
            time.sleep(0.2)
            mid = d.scrape()
            self.assertEqual(mid.get(IN_FLIGHT), 0.0, "an excluded request is in flight")
            for path, status in (("/healthz", 200), ("/metrics", 200), ("/", 200),
                                 ("/status/404", 404), ("/sleep?ms=1", 200)):
                self.assertEqual(ka.request("GET", path)[0], status, path)
            self.assertEqual(slow.read_response()[0], 200)
        finally:
            ka.close()
            slow.close()
        after = self.settle(d, before, {("GET", "200"): 3})
        count, _ = histogram_delta(before, after, DURATION, method="GET")
        self.assertEqual(count, 3, "excluded requests in %s" % DURATION)


class CgroupTarget(RunwayCase):
    """--cgroup PATH instead of --pid, with and without --port."""

    def _run(self, extra):
        app = self.start_app()
        d = self.start_daemon(app, args=["--cgroup", app.cgroup.path] + extra(app))
        before = d.scrape()
        ka = KeepAlive(app.host, app.port)
        try:
            for _ in range(7):
                self.assertEqual(ka.request("GET", "/")[0], 200)
            self.assertEqual(ka.request("GET", "/status/500")[0], 500)
        finally:
            ka.close()
        self.assertEqual(one_shot(app.host, app.port, "PUT", "/status/201")[0], 201)
        self.settle(d, before, {("GET", "200"): 7, ("GET", "500"): 1, ("PUT", "201"): 1})

    def test_cgroup(self):
        self._run(lambda app: [])

    def test_cgroup_with_port(self):
        self._run(lambda app: ["--port", str(app.port)])

    def test_server_in_a_child_cgroup_created_later(self):
        """A pod's container cgroup is made after the daemon attached to
        the pod: its server is found through the pod, from its first
        connection on."""
        pod = env.Cgroup()
        self.addCleanup(pod.remove)
        d = self.start_daemon(args=["--cgroup", pod.path])
        before = d.scrape()
        app = self.start_app(cgroup=pod, subdir="container")
        for _ in range(5):
            self.assertEqual(one_shot(app.host, app.port, "GET", "/")[0], 200)
        ka = KeepAlive(app.host, app.port)
        try:
            for _ in range(3):
                self.assertEqual(ka.request("GET", "/status/404")[0], 404)
        finally:
            ka.close()
        # The readiness probe of start_app() itself went to /healthz: excluded.
        self.settle(d, before, {("GET", "200"): 5, ("GET", "404"): 3})


class Workers(RunwayCase):
    """--pid of a uvicorn supervisor: its worker processes serve the requests."""

    def test_uvicorn_workers(self):
        app = self.start_app(workers=2)
        d = self.start_daemon(app)
        before = d.scrape()
        for _ in range(12):
            self.assertEqual(one_shot(app.host, app.port, "GET", "/")[0], 200)
        ka = KeepAlive(app.host, app.port)
        try:
            for _ in range(5):
                self.assertEqual(ka.request("GET", "/status/404")[0], 404)
        finally:
            ka.close()
        self.settle(d, before, {("GET", "200"): 12, ("GET", "404"): 5})

