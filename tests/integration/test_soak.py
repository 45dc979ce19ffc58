# SPDX-License-Identifier: MIT
"""Soak: each mode (--pid, --cgroup) runs for a minute or more under real
load from several real clients, with processes starting and exiting in the
target and a server process going away, while a scraper reads /metrics four
times a second.  At the end the daemon is alive, still serving, and every
request is counted exactly.

The modes run side by side in two threads to halve the wall time; each has
its own server and daemon.  RUNWAY_SOAK_SECONDS sets the length (default 60).
"""

import http.client
import os
import re
import signal
import subprocess
import threading
import time

import env
import fixtures
import prom
from base import IN_FLIGHT, QUEUED, REQUESTS_TOTAL, RunwayCase
from client import Clients, keepalive_loop

SOAK_SECONDS = float(os.environ.get("RUNWAY_SOAK_SECONDS", "60"))
SETTLE_TIMEOUT = 20.0


class Scraper(threading.Thread):
    """Scrapes all along; counters must never go down, scrapes never fail."""

    def __init__(self, daemon, interval=0.25):
        super().__init__(daemon=True)
        self.d = daemon
        self.interval = interval
        self.count = 0
        self.errors = []
        self.halt = threading.Event()

    def run(self):
        last = None
        while not self.halt.wait(self.interval):
            try:
                expo = self.d.scrape(timeout=5.0)
            except (OSError, AssertionError, http.client.HTTPException) as e:
                self.errors.append("scrape %d: %s" % (self.count, e))
                continue
            self.count += 1
            total = expo.sum(REQUESTS_TOTAL)
            if last is not None and total < last:
                self.errors.append("runway_requests_total went down: %s -> %s" % (last, total))
            last = total

    def stop(self):
        self.halt.set()
        self.join(timeout=15)


class SoakRun:
    """One mode's minute: a cycle of load phases, each checked exactly."""

    def __init__(self, case, mode):
        self.case = case
        self.mode = mode
        self.expected_total = {}
        self.phases = []
        self.app = None
        self.cgroup = None
        self.restarted = False

    # -- set-up ----------------------------------------------------------
    def start(self):
        case = self.case
        if self.mode == "pid":
            # A supervisor and two workers: one worker is killed mid-soak.
            self.app = case.start_app(workers=2)
            self.cgroup = self.app.cgroup
            self.d = case.start_daemon(self.app, name="daemon-pid")
        else:
            self.cgroup = env.Cgroup()
            case.addCleanup(self.cgroup.remove)
            self.app = self.new_server()
            self.d = case.start_daemon(args=["--cgroup", self.cgroup.path], name="daemon-cgroup")
        self.port = self.app.port
        self.first = self.d.scrape()

    def new_server(self, port=None):
        app = fixtures.Uvicorn(self.case.logdir, name="uvicorn-%s-%d" % (self.mode, len(self.phases)),
                               cgroup=self.cgroup, port=port)
        self.case.log_paths.append(app.log_path)
        self.case.addCleanup(app.stop)
        app.start()
        return app

    # -- checks ----------------------------------------------------------
    def settle(self, before, expected, what):
        """Exactly `expected` more requests counted, gauges back to 0."""
        state = {}

        def done():
            expo = self.d.scrape()
            state["deltas"] = prom.counter_deltas(before, expo, REQUESTS_TOTAL, "method", "status")
            return (state["deltas"] == expected and expo.get(IN_FLIGHT) == 0 and
                    expo.get(QUEUED) == 0)

        if not self.case.poll(done, timeout=SETTLE_TIMEOUT, interval=0.1):
            raise AssertionError("%s, %s phase %s: counted %s, sent %s" %
                                 (self.mode, what, len(self.phases), state.get("deltas"), expected))
        time.sleep(0.3)  # late over-counting shows too
        after = self.d.scrape()
        deltas = prom.counter_deltas(before, after, REQUESTS_TOTAL, "method", "status")
        if deltas != expected:
            raise AssertionError("%s, %s: counted %s after settling, sent %s" %
                                 (self.mode, what, deltas, expected))
        for key, n in expected.items():
            self.expected_total[key] = self.expected_total.get(key, 0) + n
        self.phases.append((what, sum(expected.values())))
        return after

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    # -- phases ----------------------------------------------------------
    def phase_http_client(self, seconds=3.0):
        before = self.d.scrape()
        clients = Clients(4, keepalive_loop("127.0.0.1", self.port, "/"))
        clients.start()
        time.sleep(seconds)
        total = clients.stop()
        if clients.errors:
            raise AssertionError("%s: http.client errors: %s" % (self.mode, clients.errors[:3]))
        self.settle(before, {("GET", "200"): total}, "http.client")

    def phase_ab(self, n=1500):
        before = self.d.scrape()
        p = subprocess.run(["ab", "-q", "-k", "-n", str(n), "-c", "8", "-s", "20", self.url("/")],
                           capture_output=True, text=True, timeout=120)
        complete = re.search(r"Complete requests:\s+(\d+)", p.stdout)
        failed = re.search(r"Failed requests:\s+(\d+)", p.stdout)
        if p.returncode != 0 or not complete or int(failed.group(1)) != 0 or "Non-2xx" in p.stdout:
            raise AssertionError("%s: ab failed (%s): %s %s" % (self.mode, p.returncode, p.stdout[-800:],
                                                                p.stderr[-300:]))
        self.settle(before, {("GET", "200"): int(complete.group(1))}, "ab")

    def phase_curl(self, rounds=30):
        """One curl process, one keep-alive connection, a mix of routes."""
        before = self.d.scrape()
        args = ["curl", "-s", "--max-time", "60", "-w", "%{http_code}\\n"]
        paths = ["/", "/status/404", "/sleep?ms=5"] * (rounds // 3)
        for path in paths:
            args += ["-o", "/dev/null", self.url(path)]
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        codes = p.stdout.split()
        want = ["200" if path != "/status/404" else "404" for path in paths]
        if p.returncode != 0 or codes != want:
            raise AssertionError("%s: curl rc %s codes %s" % (self.mode, p.returncode, codes))
        self.settle(before, {("GET", "200"): want.count("200"), ("GET", "404"): want.count("404")},
                    "curl")

    def phase_wrk(self, seconds=3, conns=16):
        """wrk stops with up to one request per connection unanswered: the
        server answered it (200) or saw the connection close first (000)."""
        before = self.d.scrape()
        p = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "10s",
                            self.url("/")], capture_output=True, text=True, timeout=120)
        m = re.search(r"(\d+) requests in", p.stdout)
        if p.returncode != 0 or not m or "Non-2xx" in p.stdout:
            raise AssertionError("%s: wrk failed: %s %s" % (self.mode, p.stdout, p.stderr))
        completed = int(m.group(1))

        def done():
            e = self.d.scrape()
            return (e.sum(REQUESTS_TOTAL) - before.sum(REQUESTS_TOTAL) >= completed and
                    e.get(IN_FLIGHT) == 0 and e.get(QUEUED) == 0)
        self.case.poll(done, timeout=SETTLE_TIMEOUT, interval=0.1)
        time.sleep(0.3)
        deltas = prom.counter_deltas(before, self.d.scrape(), REQUESTS_TOTAL, "method", "status")
        if (set(deltas) - {("GET", "200"), ("GET", "000")} or
                deltas.get(("GET", "200"), 0) < completed or
                sum(deltas.values()) - completed > conns):
            raise AssertionError("%s: wrk completed %d, counted %s" % (self.mode, completed, deltas))
        # What wrk cannot tell exactly is bounded above; from here on the
        # counted values are the reference.
        self.settle(before, deltas, "wrk")

    def phase_churn(self, seconds=3.0):
        """Short-lived processes start and exit inside the target's cgroup
        (one of them opens a TCP listener for a moment) while a client
        sends requests."""
        before = self.d.scrape()
        procs_file = os.path.join(self.cgroup.path, "cgroup.procs")
        clients = Clients(2, keepalive_loop("127.0.0.1", self.port, "/"))
        clients.start()
        deadline = time.monotonic() + seconds
        spawned = 0
        listener = subprocess.Popen(
            ["sh", "-c", "echo $$ > %s && exec /usr/bin/python3 -c \"import socket, time; "
             "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); time.sleep(%.1f)\"" %
             (procs_file, seconds / 2)])
        while time.monotonic() < deadline:
            batch = [subprocess.Popen(["sh", "-c", "echo $$ > %s && exec sleep 0.%d" %
                                       (procs_file, i % 3 + 1)]) for i in range(5)]
            for p in batch:
                p.wait(timeout=30)
            spawned += len(batch)
        listener.wait(timeout=30)
        total = clients.stop()
        if clients.errors:
            raise AssertionError("%s: client errors during churn: %s" % (self.mode, clients.errors[:3]))
        self.spawned = getattr(self, "spawned", 0) + spawned
        self.settle(before, {("GET", "200"): total}, "churn")

    def phase_process_exit(self):
        """A server process goes away between requests: in --pid mode one
        of the two workers is killed (the other keeps serving on the shared
        socket); in --cgroup mode the server is stopped and a new one starts
        in the same cgroup on the same port."""
        if self.restarted:
            return
        self.restarted = True
        if self.mode == "pid":
            workers = [p for p in self.cgroup.procs() if p != self.app.pid]
            os.kill(workers[0], signal.SIGKILL)
            deadline = time.monotonic() + 10
            while workers[0] in self.cgroup.procs() and time.monotonic() < deadline:
                time.sleep(0.05)
        else:
            self.app.stop()
            self.app = self.new_server(port=self.port)
        self.phases.append(("process exit", 0))

    # -- the whole run -----------------------------------------------------
    def run(self):
        self.start()
        t0 = time.monotonic()
        scraper = Scraper(self.d)
        scraper.start()
        cycle = [self.phase_http_client, self.phase_ab, self.phase_churn, self.phase_curl,
                 self.phase_wrk]
        try:
            i = 0
            while time.monotonic() - t0 < SOAK_SECONDS:
                cycle[i % len(cycle)]()
                i += 1
                if i == len(cycle) + 2 or (time.monotonic() - t0 > SOAK_SECONDS / 2):
                    self.phase_process_exit()
        finally:
            scraper.stop()
        elapsed = time.monotonic() - t0
        if not self.d.alive():
            raise AssertionError("%s: the daemon exited during the soak (%s)" %
                                 (self.mode, self.d.proc.returncode))
        if scraper.errors:
            raise AssertionError("%s: %d scrape errors, first %s" %
                                 (self.mode, len(scraper.errors), scraper.errors[:3]))
        if env.http_get(self.d.port, "/healthz")[0] != 200:
            raise AssertionError("%s: /healthz does not answer 200 after the soak" % self.mode)
        final = self.d.scrape()
        deltas = prom.counter_deltas(self.first, final, REQUESTS_TOTAL, "method", "status")
        if deltas != self.expected_total:
            raise AssertionError("%s: over the whole soak counted %s, sent %s" %
                                 (self.mode, deltas, self.expected_total))
        for name in ("runway_bpfd_requests_lost_total", "runway_bpfd_state_refused_total"):
            if final.sum(name) != self.first.sum(name):
                raise AssertionError("%s: %s moved" % (self.mode, name))
        self.summary = ("%s: %.0f s, %d requests in %d phases, %d scrapes, %d short-lived processes, "
                        "daemon RSS %.1f MiB" %
                        (self.mode, elapsed, sum(self.expected_total.values()), len(self.phases),
                         scraper.count, getattr(self, "spawned", 0),
                         final.get("process_resident_memory_bytes", 0) / 2**20))
        if elapsed < SOAK_SECONDS:
            raise AssertionError("%s: soak ended early" % self.mode)


class Soak(RunwayCase):
    def test_pid_and_cgroup_modes_for_a_minute(self):
        runs = [SoakRun(self, "pid"), SoakRun(self, "cgroup")]
        errors = {}

        def body(run):
            try:
                run.run()
            except BaseException as e:  # noqa: BLE001 - reported below
                errors[run.mode] = e

        threads = [threading.Thread(target=body, args=(run,)) for run in runs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for run in runs:
            if hasattr(run, "summary"):
                self.note(run.summary)
        if errors:
            raise AssertionError("; ".join("%s: %s" % (mode, e) for mode, e in errors.items()))
