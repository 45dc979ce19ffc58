# SPDX-License-Identifier: MIT
"""(k) what waits before the server reads it: queued requests, the time
integrals of both gauges, and the accept queue (issue 3).

Kept apart so that it can be marked as expected to fail while the daemon's
side is not ready: put @unittest.expectedFailure on a test method (run.py
counts an expected failure as skipped, and says so).
"""

import math
import subprocess
import time

import fixtures
import prom
from base import IN_FLIGHT, QUEUED, RunwayCase, histogram_delta, median
from client import Clients, keepalive_loop, new_connection_loop
from test_metrics import ACCEPT_QUEUE_FAMILIES

NAN = float("nan")
QUEUE_SECONDS = "runway_request_queue_seconds"
IN_FLIGHT_SECONDS = "runway_requests_in_flight_seconds_total"
QUEUED_SECONDS = "runway_requests_queued_seconds_total"


def ss_listen_queue(host, port):
    """(Recv-Q, Send-Q) of the listening socket as ss shows them."""
    out = subprocess.run(["ss", "-ltnH", "sport = :%d" % port], capture_output=True,
                         text=True, check=True, timeout=10).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "LISTEN":
            return int(fields[1]), int(fields[2])
    raise AssertionError("ss shows no listening socket on port %d:\n%s" % (port, out))


def timed_scrape(d):
    t0 = time.monotonic()
    expo = d.scrape()
    return (t0 + time.monotonic()) / 2, expo


class Queued(RunwayCase):

    def sample_blocked_loop(self, d, app, value, seconds):
        """16 keep-alive clients on /block?ms=100 (the event loop blocked);
        samples value(scrape) every 50 ms and takes two timed scrapes, 1 s in
        and `seconds` later.  Returns (window of samples between them, first
        and last timed scrapes, requests the clients completed)."""
        clients = Clients(16, keepalive_loop(app.host, app.port, "/block?ms=100", timeout=60))
        sampler = fixtures.Sampler(d, value, interval=0.05)
        sampler.start()
        t_start = time.monotonic()
        clients.start()
        try:
            time.sleep(1.0)
            first = timed_scrape(d)
            time.sleep(seconds)
            last = timed_scrape(d)
        finally:
            total = clients.stop(timeout=60)
            sampler.stop()
        self.assertEqual(clients.errors, [], "client errors")
        self.assertEqual(sampler.errors, [], "scrape errors")
        values = sampler.values()
        self.assertFalse([v for v in values if math.isnan(v)], "a gauge is missing")
        self.assertLessEqual(max(values), 16, "gauge above the number of clients")
        return sampler.values(t_start + 1.0, last[0]), first, last, total

    def test_accept_queue_families(self):
        """The accept-queue families exist, typed, and agree with ss at rest."""
        app = self.start_app()
        d = self.start_daemon(app)
        expo = d.scrape()
        for family, kind in ACCEPT_QUEUE_FAMILIES.items():
            self.assertEqual(expo.types.get(family), kind, "TYPE of %s" % family)
            self.assertTrue(expo.helps.get(family), "HELP of %s" % family)
        port = str(app.port)
        depth, limit = ss_listen_queue(app.host, app.port)
        self.assertEqual(expo.get("runway_accept_queue_limit", port=port), float(limit),
                         "runway_accept_queue_limit{port=%s} (ss says %d)" % (port, limit))
        self.assertEqual(expo.get("runway_accept_queue_depth", port=port), float(depth),
                         "runway_accept_queue_depth{port=%s} (ss says %d)" % (port, depth))
        for name in ("runway_listen_overflows_total", "runway_listen_drops_total"):
            self.assertIsNotNone(expo.get(name), "%s has no unlabelled series" % name)

    def test_queued_while_event_loop_blocked(self):
        """16 clients on /block?ms=100: every request is either queued in the
        kernel or read by the server, so queued + in_flight stays at 16."""
        app = self.start_app()
        d = self.start_daemon(app)
        before = d.scrape()
        window, (t1, s1), (t2, s2), total = self.sample_blocked_loop(
            d, app, lambda e: e.get(QUEUED, NAN) + e.get(IN_FLIGHT, NAN), 3.0)
        self.assertGreater(len(window), 20, "too few samples")
        self.note("queued + in_flight: median %.1f, min %.0f, max %.0f over %d samples; "
                  "%d requests", median(window), min(window), max(window), len(window), total)
        self.assertNear(median(window), 16, 0.15, "median of queued + in_flight")
        # The integrals agree with the gauges: rate() of their sum is 16 too.
        integral = ((s2.get(QUEUED_SECONDS, NAN) + s2.get(IN_FLIGHT_SECONDS, NAN)) -
                    (s1.get(QUEUED_SECONDS, NAN) + s1.get(IN_FLIGHT_SECONDS, NAN)))
        self.note("rate of the two integrals: %.2f", integral / (t2 - t1))
        self.assertNear(integral / (t2 - t1), 16, 0.15,
                        "rate of %s + %s" % (QUEUED_SECONDS, IN_FLIGHT_SECONDS))
        after = self.settle(d, before, {("GET", "200"): total}, timeout=10)
        # Every request spent some time queued; each is observed once.
        count, seconds = histogram_delta(before, after, QUEUE_SECONDS)
        self.assertEqual(count, total, "%s_count increase" % QUEUE_SECONDS)
        self.assertGreater(seconds, 0.0, "%s_sum increase" % QUEUE_SECONDS)
        self.assertHistogramsSane(after, QUEUE_SECONDS)

    def test_in_flight_seconds_rate(self):
        """16 clients on /sleep?ms=200: d(in_flight_seconds_total)/dt = 16."""
        app = self.start_app()
        d = self.start_daemon(app)
        before = d.scrape()
        clients = Clients(16, keepalive_loop(app.host, app.port, "/sleep?ms=200"))
        clients.start()
        try:
            time.sleep(0.8)
            t1, s1 = timed_scrape(d)
            time.sleep(3.2)
            t2, s2 = timed_scrape(d)
        finally:
            total = clients.stop()
        self.assertEqual(clients.errors, [], "client errors")
        rate = (s2.get(IN_FLIGHT_SECONDS, NAN) - s1.get(IN_FLIGHT_SECONDS, NAN)) / (t2 - t1)
        queued_rate = (s2.get(QUEUED_SECONDS, NAN) - s1.get(QUEUED_SECONDS, NAN)) / (t2 - t1)
        self.note("rate of %s: %.3f, of %s: %.3f over %.2f s",
                  IN_FLIGHT_SECONDS, rate, QUEUED_SECONDS, queued_rate, t2 - t1)
        self.assertNear(rate, 16, 0.05, "rate of %s" % IN_FLIGHT_SECONDS)
        self.assertTrue(0 <= queued_rate < 1.0,
                        "rate of %s = %.3f with a free event loop" % (QUEUED_SECONDS, queued_rate))
        self.settle(d, before, {("GET", "200"): total})

    def test_accept_queue_and_listen_overflows(self):
        """backlog 4, 32 clients with a new connection per request on a blocked
        loop: the accept queue fills (limit + 1 = 5) and SYNs are dropped."""
        app = self.start_app(backlog=4)
        d = self.start_daemon(app)
        port = str(app.port)
        self.assertEqual(d.scrape().get("runway_accept_queue_limit", port=port), 4.0,
                         "runway_accept_queue_limit{port=%s}" % port)
        ns0 = app.netstat()["TcpExt"]
        m0 = d.scrape()
        sampler = fixtures.Sampler(
            d, lambda e: e.get("runway_accept_queue_depth", NAN, port=port), interval=0.05)
        sampler.start()
        # A client whose handshake ACK the full queue dropped waits for the
        # server's SYN-ACK retries; 8 s bounds that wait (and this test).
        clients = Clients(32, new_connection_loop(app.host, app.port, "/block?ms=100",
                                                  timeout=8))
        clients.start()
        try:
            time.sleep(4.0)
        finally:
            clients.stop(timeout=90)
            sampler.stop()
        self.assertGreater(clients.total, 0, "no request got through: %s" % clients.errors[:3])
        self.assertEqual(sampler.errors, [], "scrape errors")
        depths = sampler.values()
        self.assertFalse([v for v in depths if math.isnan(v)],
                         "runway_accept_queue_depth{port=%s} missing" % port)
        self.note("accept queue depth: max %.0f over %d samples; %d requests answered, "
                  "%d client errors", max(depths), len(depths), clients.total,
                  len(clients.errors))
        self.assertIn(max(depths), (4.0, 5.0),
                      "largest runway_accept_queue_depth{port=%s} seen" % port)

        # After the load: the daemon's counters match the kernel's exactly.
        def counters():
            ns = app.netstat()["TcpExt"]
            m = d.scrape()
            # This port is the namespace's only overflowing listener here,
            # so the per-port count the BPF program keeps at the listener
            # must follow ListenOverflows too.
            return ({"overflows": ns["ListenOverflows"] - ns0["ListenOverflows"],
                     "drops": ns["ListenDrops"] - ns0["ListenDrops"],
                     "port overflows": ns["ListenOverflows"] - ns0["ListenOverflows"]},
                    {"overflows": m.get("runway_listen_overflows_total", NAN) -
                     m0.get("runway_listen_overflows_total", NAN),
                     "drops": m.get("runway_listen_drops_total", NAN) -
                     m0.get("runway_listen_drops_total", NAN),
                     "port overflows": m.get("runway_accept_queue_overflows_total", NAN, port=port) -
                     m0.get("runway_accept_queue_overflows_total", 0.0, port=port)},
                    m)

        # Requests of clients that gave up are still answered (or closed) one
        # by one after the load, 100 ms of blocked loop each: wait for them.
        def settled():
            kernel, daemon, m = counters()
            return (kernel == daemon and m.get("runway_accept_queue_depth", port=port) == 0 and
                    m.get(IN_FLIGHT) == 0 and m.get(QUEUED) == 0)
        self.poll(settled, timeout=15.0, interval=0.2)
        time.sleep(0.3)
        kernel, daemon, m = counters()
        self.note("increase in the kernel %s, in the daemon %s", kernel, daemon)
        self.assertGreater(kernel["overflows"], 0, "the load caused no ListenOverflows")
        self.assertEqual(daemon, kernel, "increase of runway_listen_*_total and "
                         "runway_accept_queue_overflows_total{port} vs. /proc/<uvicorn pid>/net/netstat")
        self.assertEqual(m.get("runway_accept_queue_depth", port=port), 0.0,
                         "accept queue depth after the load")
        self.assertEqual(m.get(IN_FLIGHT), 0.0)
        self.assertEqual(m.get(QUEUED), 0.0)

    def test_no_read_hook_keeps_the_sum_and_drops_the_split(self):
        """--no-read-hook: with the event loop blocked, in_flight alone carries
        all 16 requests (they count from their arrival), its integral agrees,
        and the metrics that need the read hook are absent, not zero."""
        app = self.start_app()
        d = self.start_daemon(app, args=["--pid", str(app.pid), "--no-read-hook"])
        before = d.scrape()
        for family in (QUEUED, QUEUED_SECONDS, QUEUE_SECONDS):
            self.assertNotIn(family, before.types, "%s exported without a read hook" % family)
        hooks = before.select("runway_bpfd_build_info")[0].labels["hooks"]
        self.assertNotIn("tcp_rcv_space_adjust", hooks, "hooks with --no-read-hook")
        self.assertNotIn("sock_recv_length", hooks, "hooks with --no-read-hook")
        window, (t1, s1), (t2, s2), total = self.sample_blocked_loop(
            d, app, lambda e: e.get(IN_FLIGHT, NAN), 2.0)
        self.assertGreater(len(window), 15, "too few samples")
        self.note("in_flight without read hook: median %.1f over %d samples", median(window), len(window))
        self.assertNear(median(window), 16, 0.15, "median of in_flight")
        rate = (s2.get(IN_FLIGHT_SECONDS, NAN) - s1.get(IN_FLIGHT_SECONDS, NAN)) / (t2 - t1)
        self.assertNear(rate, 16, 0.15, "rate of %s" % IN_FLIGHT_SECONDS)
        self.poll(lambda: d.scrape().get(IN_FLIGHT) == 0, timeout=10)
        after = d.scrape()
        self.assertEqual(prom.counter_deltas(before, after, "runway_requests_total", "method", "status"),
                         {("GET", "200"): total}, "increase of runway_requests_total")
        self.assertEqual(after.get(IN_FLIGHT), 0.0, "%s after the load" % IN_FLIGHT)
        self.assertNotIn(QUEUED, after.types, "%s exported without a read hook" % QUEUED)
