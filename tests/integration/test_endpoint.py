# SPDX-License-Identifier: MIT
"""The metrics endpoint against hostile clients, and the probes' routes.

Prometheus must be able to scrape while someone else holds connections open:
1,000 idle connections from one address, or from many addresses at once.
"""

import http.client
import os
import select
import socket
import time

from base import RunwayCase

HOSTILE_CONNECTIONS = 1000
PER_ADDRESS_LIMIT = 16     # CONNECTIONS_PER_CLIENT_ADDRESS in src/http_endpoint.c
IDLE_TIMEOUT_S = 5         # CONNECTION_TIMEOUT_S


def get(port, path, source="127.0.0.1", timeout=5.0, method="GET"):
    """(status, body) of one request from `source` to the daemon."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0))
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def open_idle(port, sources, count):
    """count connections to the daemon, round robin over the source addresses,
    that never send a byte."""
    socks = []
    for i in range(count):
        s = socket.socket()
        s.bind((sources[i % len(sources)], 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    # Wait until every handshake is done (the kernel completes it even for
    # connections the daemon has not accepted yet).
    deadline = time.monotonic() + 20
    pending = list(socks)
    while pending and time.monotonic() < deadline:
        _, writable, _ = select.select([], pending[:500], [], 1.0)
        pending = [s for s in pending if s not in writable]
    return socks


def closed_by_peer(socks, wait=0.0):
    """How many of socks the daemon has closed (EOF or reset)."""
    if wait:
        time.sleep(wait)
    closed = 0
    for s in socks:
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class HostileClients(RunwayCase):
    def start(self):
        app = self.start_app()
        return app, self.start_daemon(app)

    def hold(self, socks):
        self.addCleanup(lambda: [s.close() for s in socks])
        return socks

    def test_idle_connections_from_one_address_do_not_block_a_scrape(self):
        app, d = self.start()
        rss_before = rss_bytes(d.proc.pid)
        socks = self.hold(open_idle(d.port, ["127.0.0.2"], HOSTILE_CONNECTIONS))
        t0 = time.monotonic()
        status, body = get(d.port, "/metrics", source="127.0.0.1", timeout=3.0)
        took = time.monotonic() - t0
        self.assertEqual(status, 200)
        self.assertIn(b"runway_requests_in_flight", body)
        self.assertLess(took, 3.0)
        # The address over its share is turned away at once, not queued.
        closed = closed_by_peer(socks, wait=1.0)
        self.note("1,000 idle from 127.0.0.2: %d held, scrape from 127.0.0.1 in %.3f s, "
                  "RSS %.1f MiB -> %.1f MiB", len(socks) - closed, took,
                  rss_before / 2**20, rss_bytes(d.proc.pid) / 2**20)
        self.assertGreaterEqual(closed, HOSTILE_CONNECTIONS - PER_ADDRESS_LIMIT,
                                "connections from one address beyond its share are closed")
        # Even that address gets a scrape once its idle connections time out.
        remaining = [s for s in socks if closed_by_peer([s]) == 0]
        self.assertEqual(closed_by_peer(remaining, wait=IDLE_TIMEOUT_S + 3), len(remaining),
                         "idle connections are closed after the idle timeout")
        self.assertEqual(get(d.port, "/metrics", source="127.0.0.2")[0], 200)
        self.assertTrue(d.alive())

    def test_idle_connections_from_many_addresses_leave_room(self):
        app, d = self.start()
        rss_before = rss_bytes(d.proc.pid)
        # 1,000 connections the daemon keeps: 5 from each of 200 addresses.
        sources = ["127.0.1.%d" % i for i in range(1, 201)]
        socks = self.hold(open_idle(d.port, sources, HOSTILE_CONNECTIONS))
        time.sleep(1.0)
        self.assertEqual(closed_by_peer(socks), 0, "connections within the per-address share kept")
        t0 = time.monotonic()
        status, _ = get(d.port, "/metrics", timeout=3.0)
        took = time.monotonic() - t0
        self.assertEqual(status, 200)
        held_fds = len(os.listdir("/proc/%d/fd" % d.proc.pid))
        rss = rss_bytes(d.proc.pid)
        self.note("1,000 idle from 200 addresses, all held (%d fds open): scrape in %.3f s, "
                  "RSS %.1f MiB -> %.1f MiB", held_fds, took, rss_before / 2**20, rss / 2**20)
        self.assertGreater(held_fds, HOSTILE_CONNECTIONS)
        self.assertLess(rss - rss_before, 64 << 20, "RSS growth with 1,000 connections open")

    def test_probe_routes(self):
        app, d = self.start()
        self.assertEqual(get(d.port, "/healthz"), (200, b"ok\n"))
        self.assertEqual(get(d.port, "/-/ready"), (200, b"ready\n"))
        self.assertEqual(get(d.port, "/nope")[0], 404)
        self.assertEqual(get(d.port, "/metrics", method="POST")[0], 405)
        self.assertEqual(get(d.port, "/metrics", method="HEAD")[0], 200)
