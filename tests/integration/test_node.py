# SPDX-License-Identifier: MIT
"""The node mode (--kubernetes) on a simulated node (node.py): pods found
from the kubelet's cgroup tree, named from its log directory, each counted
apart with namespace and pod labels, for both cgroup drivers."""

import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import env
import prom
from base import CONFIG, DURATION, IN_FLIGHT, QUEUED, REQUESTS_TOTAL, RunwayCase
from node import SimulatedNode
from test_cli import run_daemon

TARGETS = "runway_bpfd_targets"
UNWATCHABLE = "runway_bpfd_listeners_unwatchable"
GRACE_S = 3


def drivers(*names):
    """Class decorator: one test case per kubelet cgroup driver."""
    def wrap(cls):
        module = sys.modules[cls.__module__]
        for name in names:
            sub_name = "%s_%s" % (cls.__name__, name)
            sub = type(sub_name, (cls, RunwayCase),
                       {"driver": name, "__module__": cls.__module__, "__qualname__": sub_name})
            setattr(module, sub_name, sub)
        return cls
    return wrap


def passive_opens(pid):
    """Tcp PassiveOpens of pid's network namespace (/proc/PID/net/snmp)."""
    with open("/proc/%d/net/snmp" % pid) as f:
        tcp = [line.split()[1:] for line in f if line.startswith("Tcp:")]
    return int(dict(zip(tcp[0], tcp[1]))["PassiveOpens"])


def expected_of(plan):
    """{(method, status): n} a plan of pod_client.py must add: its answers
    minus the excluded health checks."""
    out = collections.Counter()
    for method, path, count, _ in plan:
        if path.split("?")[0] in ("/healthz", "/metrics", "/health"):
            continue
        status = re.match(r"/status/(\d+)", path)
        out[(method, status.group(1) if status else "200")] += count
    return dict(out)


class NodeCase:
    driver = "systemd"

    def make_node(self):
        node = SimulatedNode(self.logdir, self.driver)
        self.addCleanup(node.remove)
        self.log_paths.extend(node.log_paths)
        return node

    def pod_series(self, expo, pod):
        return [s for s in expo.samples if s.labels.get("pod") == pod.name]

    def deltas(self, before, after, pod):
        return prom.counter_deltas(before, after, REQUESTS_TOTAL, "method", "status", **pod.labels())

    def settle_pods(self, d, before, expected, timeout=10.0):
        """Waits until every pod's runway_requests_total grew by exactly its
        expected {(method, status): n} and its gauges read 0, then 0.5 s
        more, and asserts it."""
        def done():
            expo = d.scrape()
            return all(self.deltas(before, expo, pod) == exp and
                       expo.get(IN_FLIGHT, **pod.labels()) == 0 and
                       expo.get(QUEUED, **pod.labels()) == 0
                       for pod, exp in expected.items())
        self.poll(done, timeout=timeout)
        time.sleep(0.5)
        after = d.scrape()
        for pod, exp in expected.items():
            self.assertEqual(self.deltas(before, after, pod), exp,
                             "increase of %s for pod %s (got vs. sent)" % (REQUESTS_TOTAL, pod.name))
            self.assertEqual(after.get(IN_FLIGHT, **pod.labels()), 0.0, "%s of %s" % (IN_FLIGHT, pod.name))
            self.assertEqual(after.get(QUEUED, **pod.labels()), 0.0, "%s of %s" % (QUEUED, pod.name))
        return after

    def wait_watched(self, d, pod, timeout=20.0):
        started = time.monotonic()
        found = self.poll(lambda: d.scrape().get(IN_FLIGHT, **pod.labels()) is not None,
                          timeout=timeout, interval=0.1)
        self.assertTrue(found, "pod %s not watched within %.0f s" % (pod.name, timeout))
        return time.monotonic() - started


@drivers("systemd", "cgroupfs")
class NodePods(NodeCase):
    """Pods on different stacks and QoS classes counted apart; a pod running
    something else is left alone."""

    def test_pods_counted_apart(self):
        node = self.make_node()
        api = node.add_pod("shop", "api-7d9f8c6b5-x2x4q", qos="guaranteed", runtime="containerd")
        api.start_uvicorn("uvloop")
        worker = node.add_pod("shop", "worker-0", qos="burstable", runtime="crio")
        worker.start_uvicorn("asyncio")
        # Not uvicorn; its conmon's command line names "uvicorn" (CRI-O).
        static = node.add_pod("web", "static-0", qos="besteffort", runtime="crio")
        static.start_other_server()
        # What each pod's kernel had accepted before the daemon started
        # (its readiness checks): the daemon must report their sum.
        accepted_before = sum(passive_opens(pod.sandbox.pid) for pod in (api, worker))
        d = self.start_daemon(args=node.daemon_args("-v", "--route-group", "status=/status"))

        # The endpoint answers once the running pods are watched.
        before = d.scrape()
        for pod in (api, worker):
            self.assertEqual(before.get(IN_FLIGHT, **pod.labels()), 0.0, "pod %s not watched" % pod.name)
        self.assertEqual(before.get(TARGETS), 2.0, TARGETS)
        self.assertEqual(self.pod_series(before, static), [], "a pod that runs no uvicorn has series")
        # The watched pods had answered their readiness checks before the
        # daemon started: connections whose requests it could not count.
        self.assertGreaterEqual(accepted_before, 2)
        self.assertEqual(before.get("runway_bpfd_connections_before_watch_total"), float(accepted_before),
                         "runway_bpfd_connections_before_watch_total")

        api_plan = [["GET", "/", 30, "keepalive"], ["GET", "/status/404", 5, "oneshot"],
                    ["POST", "/echo", 3, "keepalive"], ["GET", "/healthz", 4, "keepalive"]]
        worker_plan = [["GET", "/", 20, "oneshot"], ["GET", "/status/500", 2, "keepalive"],
                       ["DELETE", "/status/204", 3, "keepalive"]]
        self.assertEqual(sum(api.load(api_plan).values()), 42)
        self.assertEqual(sum(worker.load(worker_plan).values()), 25)
        self.assertEqual(sum(static.load([["GET", "/", 10, "oneshot"]]).values()), 10)
        after = self.settle_pods(d, before, {api: expected_of(api_plan), worker: expected_of(worker_plan)})
        self.assertEqual(self.pod_series(after, static), [], "a pod that runs no uvicorn has series")
        self.assertEqual(after.get(TARGETS), 2.0, TARGETS)
        for pod, plan in ((api, api_plan), (worker, worker_plan)):
            counted = sum(h["count"] for h in after.histograms(DURATION, **pod.labels()).values())
            self.assertEqual(counted, sum(expected_of(plan).values()), "%s count of %s" % (DURATION, pod.name))
            # Its accept queue, read in its own network namespace.
            self.assertEqual(after.get("runway_accept_queue_limit", port="8000", **pod.labels()), 2048.0,
                             "accept queue limit of %s" % pod.name)
            self.assertIsNotNone(after.get("runway_listen_overflows_total", **pod.labels()),
                                 "ListenOverflows of %s" % pod.name)
            # Route groups are per pod too.
            self.assertEqual(after.get("runway_requests_in_flight_by_route", route="status", **pod.labels()), 0.0,
                             "runway_requests_in_flight_by_route of %s" % pod.name)
        # Every request and queue series carries the pod's labels.
        for s in after.samples:
            if s.name.startswith("runway_") and not s.name.startswith("runway_bpfd_"):
                self.assertIn(s.labels.get("pod"), (api.name, worker.name), "series without its pod: %r" % s)
                self.assertEqual(s.labels.get("namespace"), "shop", "series without its namespace: %r" % s)

        # Concurrent requests in flight, per pod.
        slow = {api: 6, worker: 3}
        loads = {pod: pod.load_in_background({"concurrent": n, "path": "/sleep?ms=5000"})
                 for pod, n in slow.items()}
        try:
            peak = {}

            def all_in_flight():
                expo = d.scrape()
                for pod in slow:
                    peak[pod] = expo.get(IN_FLIGHT, **pod.labels())
                # Done too once a client has finished: under a loaded
                # machine its start may take seconds, never its end.
                return (all(peak[pod] == n for pod, n in slow.items()) or
                        any(proc.poll() is not None for proc in loads.values()))
            self.poll(all_in_flight, timeout=120, interval=0.1)
            for pod, n in slow.items():
                self.assertEqual(peak[pod], n, "%s of %s while %d requests sleep" % (IN_FLIGHT, pod.name, n))
        finally:
            for proc in loads.values():
                out, err = proc.communicate(timeout=60)
                self.assertEqual(proc.returncode, 0, err)
        final = self.settle_pods(d, after, {pod: {("GET", "200"): n} for pod, n in slow.items()})

        text = d.scrape_text()
        with open(os.path.join(self.logdir, "metrics.txt"), "w") as f:
            f.write(text)
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                           timeout=30)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""), "promtool check metrics complains")
        self.assertLost0(before, final)

        # -v says why each pod is or is not watched.
        with open(d.log_path) as f:
            log = f.read()
        self.assertRegex(log, r"pod web/static-0 \(uid [0-9a-f-]+, besteffort\): not watched: no process "
                         r"matches --match-cmdline 'uvicorn\|gunicorn' \(it runs: .*http\.server")
        self.assertRegex(log, r"pod shop/worker-0 \(uid [0-9a-f-]+, burstable\): watched: pid \d+ matches")
        self.assertRegex(log, r"watching pod shop/api-7d9f8c6b5-x2x4q \(uid [0-9a-f-]+, guaranteed\)")


@drivers("systemd", "cgroupfs")
class NodeLifecycle(NodeCase):
    """A pod started later, a pod whose uvicorn restarts, a pod deleted."""

    def test_pods_come_and_go(self):
        node = self.make_node()
        first = node.add_pod("shop", "api-0", qos="burstable", runtime="containerd")
        first.start_uvicorn("uvloop")
        d = self.start_daemon(args=node.daemon_args("--pod-grace", str(GRACE_S)))
        self.assertEqual(d.scrape().get(TARGETS), 1.0)

        # A static pod (32-hex UID) started after the daemon: found, counted exactly.
        late = node.add_pod("kube-system", "late-node1", qos="besteffort", runtime="docker", static=True)
        late.start_uvicorn("asyncio")
        took = self.wait_watched(d, late)
        self.note("pod started later: watched %.1f s after it answered", took)
        before = d.scrape()
        plan = [["GET", "/", 25, "keepalive"], ["GET", "/status/404", 3, "oneshot"]]
        late.load(plan)
        first_plan = [["GET", "/", 10, "oneshot"]]
        first.load(first_plan)
        counted = self.settle_pods(d, before, {late: expected_of(plan), first: expected_of(first_plan)})
        self.assertEqual(counted.get(TARGETS), 2.0)

        # Its uvicorn restarts (a new container in the same pod): the same
        # series go on counting.
        app = [c for c in late.containers if c.name == "app"][0]
        app.stop()
        late.containers.remove(app)
        late.start_uvicorn("uvloop", name="app")
        plan2 = [["GET", "/", 12, "keepalive"], ["PUT", "/status/201", 2, "oneshot"]]
        late.load(plan2)
        restarted = self.settle_pods(d, counted, {late: expected_of(plan2)})
        self.assertEqual(self.deltas(before, restarted, late),
                         {("GET", "200"): 37, ("GET", "404"): 3, ("PUT", "201"): 2},
                         "the restarted pod's counters did not carry on")

        # The first pod is deleted: its series stay for the grace period, then go.
        first.delete()
        deleted_at = time.monotonic()
        expo = self.poll(lambda: (lambda e: e if e.get(TARGETS) == 1.0 else None)(d.scrape()), timeout=10)
        self.assertTrue(expo, "%s did not drop to 1 after the pod was deleted" % TARGETS)
        if time.monotonic() - deleted_at < GRACE_S - 0.5:
            self.assertEqual(expo.get(REQUESTS_TOTAL, method="GET", status="200", **first.labels()), 10.0,
                             "a deleted pod's series are gone before its grace period ended")
        gone = self.poll(lambda: not self.pod_series(d.scrape(), first), timeout=GRACE_S + 10)
        self.assertTrue(gone, "the deleted pod's series are still there %.0f s after --pod-grace %d" %
                        (GRACE_S + 10, GRACE_S))
        self.assertGreaterEqual(time.monotonic() - deleted_at, GRACE_S - 0.5,
                                "series removed before the grace period")
        # The other pod is untouched.
        final = d.scrape()
        self.assertEqual(self.deltas(before, final, late),
                         {("GET", "200"): 37, ("GET", "404"): 3, ("PUT", "201"): 2})
        # Daemon-wide counters keep what the deleted pod counted.
        self.assertGreaterEqual(final.get("runway_bpfd_connections_total"),
                                counted.get("runway_bpfd_connections_total"))


@drivers("systemd")
class NodeUnixSocket(NodeCase):
    """A watched pod whose uvicorn listens on a unix socket only counts
    nothing: the daemon says so, in its log and in
    runway_bpfd_listeners_unwatchable, instead of a silent 0."""

    def test_uds_only_pod_is_reported(self):
        node = self.make_node()
        tcp = node.add_pod("shop", "api-0", qos="burstable", runtime="containerd")
        tcp.start_uvicorn("uvloop")
        uds = node.add_pod("shop", "uds-0", qos="burstable", runtime="containerd")
        folder = tempfile.mkdtemp(prefix="runway-uds-")
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, "app.sock")
        uds.start_uvicorn_uds(path)
        d = self.start_daemon(args=node.daemon_args("--pod-grace", "1"))
        self.wait_watched(d, uds)
        expo = d.scrape()
        self.assertEqual(expo.get(UNWATCHABLE, reason="unix_socket"), 1.0,
                         "%s{reason=unix_socket} with one pod on a unix socket" % UNWATCHABLE)
        self.assertIsNone(expo.get(UNWATCHABLE, reason="other_cgroup"),
                          "the node mode does not look for other_cgroup listeners: absent, not 0")
        with open(d.log_path) as f:
            log = f.read()
        self.assertRegex(log, r"warning: pod \{[^}]*pod=\"uds-0\"[^}]*\} listens on unix socket %s "
                              r"and on no TCP port: its requests are not counted" % re.escape(path))
        self.assertNotRegex(log, r"pod \{[^}]*pod=\"api-0\"[^}]*\} listens on unix socket")
        # The TCP pod is counted as ever.
        before = d.scrape()
        plan = [["GET", "/", 10, "keepalive"]]
        tcp.load(plan)
        self.settle_pods(d, before, {tcp: expected_of(plan)})
        # The pod gone: it no longer counts among the unwatchable.
        uds.delete()
        self.assertTrue(self.poll(lambda: d.scrape().get(UNWATCHABLE, reason="unix_socket") == 0.0,
                                  timeout=15.0), "%s after the pod was deleted" % UNWATCHABLE)


class NodeBadInput(RunwayCase):
    """Node-mode input errors: exit 2, one line naming the problem and the fix."""

    def assertBadInput(self, args, *patterns):
        rc, out, err = run_daemon(args)
        lines = err.rstrip("\n").split("\n")
        self.assertEqual(rc, 2, "runway-bpfd %s: exit code; stderr %r" % (" ".join(args), err))
        self.assertEqual(len(lines), 1, "expected one line on stderr, got %r" % err)
        for p in patterns:
            self.assertRegex(lines[0], p)

    def test_kubepods_not_a_cgroup(self):
        self.assertBadInput(["--kubernetes", "--kubepods", CONFIG.workdir, "--pod-logs", CONFIG.workdir,
                             "--listen", "127.0.0.1:%d" % env.free_port()], re.escape(CONFIG.workdir), r"--kubepods")

    def test_no_pod_logs(self):
        node = SimulatedNode(self.logdir, "systemd")
        self.addCleanup(node.remove)
        missing = os.path.join(self.logdir, "no-such-dir")
        self.assertBadInput(["--kubernetes", "--kubepods", node.kubepods, "--pod-logs", missing,
                             "--listen", "127.0.0.1:%d" % env.free_port()], re.escape(missing), r"--pod-logs")

    def test_no_kubepods_on_this_machine(self):
        mount = [line.split()[1] for line in open("/proc/mounts") if line.split()[2] == "cgroup2"][0]
        if any(os.path.isdir(os.path.join(mount, d)) for d in ("kubepods.slice", "kubepods")):
            self.skipTest("this machine is a Kubernetes node")
        self.assertBadInput(["--kubernetes", "--listen", "127.0.0.1:%d" % env.free_port()], r"kubepods", r"--kubepods PATH")

    def test_bad_regex(self):
        self.assertBadInput(["--kubernetes", "--match-cmdline", "(unclosed", "--listen", "127.0.0.1:%d" % env.free_port()],
                            r"--match-cmdline", r"unclosed")
