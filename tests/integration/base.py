# SPDX-License-Identifier: MIT
"""The TestCase every integration test derives from."""

import math
import os
import re
import statistics
import time
import unittest

import fixtures
import prom


class Config:
    daemon = None   # path of build/runway-bpfd
    sweep = None    # path of build/runway-sweep
    workdir = None  # logs of this run, one folder per test
    version = None  # content of VERSION


CONFIG = Config()

REQUESTS_TOTAL = "runway_requests_total"
IN_FLIGHT = "runway_requests_in_flight"
QUEUED = "runway_requests_queued"
DURATION = "runway_request_duration_seconds"


def stacks(*names):
    """Class decorator for a mixin of tests: make one RunwayCase per uvicorn stack.

        @stacks("uvloop", "asyncio")
        class ExactCounts: ...

    registers ExactCounts_uvloop and ExactCounts_asyncio in the module; the
    mixin itself is no TestCase, so the loader does not run it alone."""
    def wrap(cls):
        import sys
        module = sys.modules[cls.__module__]
        for name in names:
            sub_name = "%s_%s" % (cls.__name__, name)
            sub = type(sub_name, (cls, RunwayCase),
                       {"stack": name, "__module__": cls.__module__,
                        "__qualname__": sub_name})
            setattr(module, sub_name, sub)
        return cls
    return wrap


class RunwayCase(unittest.TestCase):
    stack = "uvloop"
    daemon_extra = ()  # flags every daemon of the test case gets

    def setUp(self):
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.id())
        self.logdir = os.path.join(CONFIG.workdir, safe)
        os.makedirs(self.logdir, exist_ok=True)
        self.log_paths = []  # printed by run.py when the test fails
        self.notes = []  # measurements, printed by run.py after the test's line

    def note(self, fmt, *args):
        self.notes.append(fmt % args if args else fmt)

    # -- fixtures ------------------------------------------------------
    def start_app(self, **kw):
        kw.setdefault("stack", self.stack)
        app = fixtures.Uvicorn(self.logdir, name="uvicorn-%d" % len(self.log_paths), **kw)
        self.log_paths.append(app.log_path)
        self.addCleanup(app.stop)
        app.start()
        return app

    def start_daemon(self, app=None, args=None, name=None, binary=None):
        """The daemon on `app` (--pid) unless args say otherwise; `binary`
        runs something else that execs the daemon (with args, then
        --listen)."""
        if args is None:
            args = ["--pid", str(app.pid)]
        d = fixtures.Daemon(binary or CONFIG.daemon, list(args) + list(self.daemon_extra), self.logdir,
                            name=name or "daemon-%d" % len(self.log_paths))
        self.log_paths.append(d.log_path)
        self.addCleanup(self.stop_daemon_cleanly, d)
        d.start()
        return d

    def stop_daemon_cleanly(self, d):
        """Every test's daemon ends with SIGTERM and exit code 0; a crash or
        a sanitizer report (make sanitize-test) during the test fails it."""
        rc = d.stop()
        log = fixtures.tail(d.log_path, 400)
        for marker in fixtures.SANITIZER_MARKERS:
            if marker in log:
                raise AssertionError("the daemon's log has a sanitizer report (%s):\n%s" %
                                     (marker, log))
        if d.proc is not None and rc != 0:
            raise AssertionError("the daemon exited with %s, not 0, on SIGTERM:\n%s" % (rc, log))

    # -- waiting -------------------------------------------------------
    @staticmethod
    def poll(fn, timeout=5.0, interval=0.05):
        """Call fn() until it returns a true value or timeout; return the last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = fn()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)

    def settle(self, daemon, before, expected, timeout=5.0, quiet=0.5):
        """Wait until runway_requests_total grew by exactly `expected`
        ({(method, status): n}) and both gauges read 0, then wait `quiet`
        more seconds so that late over-counting shows too.  Returns the
        final scrape; asserts exact equality."""
        state = {}

        def done():
            expo = daemon.scrape()
            state["expo"] = expo
            return (prom.counter_deltas(before, expo, REQUESTS_TOTAL, "method", "status")
                    == expected and expo.get(IN_FLIGHT) == 0 and expo.get(QUEUED) == 0)

        self.poll(done, timeout=timeout)
        time.sleep(quiet)
        after = daemon.scrape()
        self.assertEqual(
            prom.counter_deltas(before, after, REQUESTS_TOTAL, "method", "status"),
            expected, "increase of %s{method,status} (got vs. sent)" % REQUESTS_TOTAL)
        self.assertGauges0(after)
        return after

    # -- assertions ----------------------------------------------------
    def assertGauges0(self, expo):
        self.assertEqual(expo.get(IN_FLIGHT), 0.0, "%s after the load" % IN_FLIGHT)
        self.assertEqual(expo.get(QUEUED), 0.0, "%s after the load" % QUEUED)

    def assertHistogramsSane(self, expo, family):
        hists = expo.histograms(family)
        self.assertTrue(hists, "no %s series" % family)
        for labels, h in hists.items():
            what = "%s%s" % (family, dict(labels))
            les = [le for le, _ in h["buckets"]]
            counts = [v for _, v in h["buckets"]]
            self.assertTrue(les and les[-1] == math.inf, "%s: no +Inf bucket" % what)
            finite = les[:-1]
            self.assertTrue(finite, "%s: no finite buckets" % what)
            self.assertAlmostEqual(finite[0], 0.005, msg="%s: first bucket" % what)
            self.assertAlmostEqual(finite[-1], 10.0, msg="%s: last finite bucket" % what)
            for a, b in zip(counts, counts[1:]):
                self.assertLessEqual(a, b, "%s: buckets not cumulative: %s" % (what, counts))
            self.assertIsNotNone(h["count"], "%s: no _count" % what)
            self.assertIsNotNone(h["sum"], "%s: no _sum" % what)
            self.assertEqual(counts[-1], h["count"], "%s: +Inf bucket != _count" % what)
            self.assertGreaterEqual(h["sum"], 0.0, "%s: negative _sum" % what)

    def assertLost0(self, before, after):
        """The daemon's own loss counters did not move."""
        for name in ("runway_bpfd_requests_lost_total", "runway_bpfd_state_refused_total"):
            self.assertEqual(after.sum(name) - before.sum(name), 0, "%s increase" % name)

    def assertNear(self, value, target, rel, what):
        self.assertTrue(abs(value - target) <= rel * target,
                        "%s = %.3f, expected %.3f within %d%%" %
                        (what, value, target, round(rel * 100)))


def median(values):
    return statistics.median(values) if values else float("nan")


def histogram_delta(before, after, family, **labels):
    """(count increase, sum increase) of one histogram series."""
    def get(expo):
        hs = expo.histograms(family, **labels)
        count = sum(h["count"] or 0 for h in hs.values())
        total = sum(h["sum"] or 0 for h in hs.values())
        return count, total
    c0, s0 = get(before)
    c1, s1 = get(after)
    return c1 - c0, s1 - s0
