# SPDX-License-Identifier: MIT
"""From metric to replicas, through a real Prometheus (issue 10).

Several simulated pods of a Deployment, each a uvicorn with its own daemon
(as the sidecar runs), scraped every second by a test-owned Prometheus
(Debian's binary) through the scrape job of deploy/prometheus-scrape.yaml:
its Kubernetes discovery is replaced by static targets carrying the
__meta_kubernetes_* labels the pod role would give, so its own relabeling
makes the `namespace` and `pod` labels.  The rules of
deploy/prometheus-rules.yaml are loaded.

Closed-loop clients keep when each request was sent and answered, by their
kernel's clock (send time of the request's last byte, receive time of the
response's last segment), so when their threads get the CPU does not count:
the ground truth of how many requests each pod had outstanding, at every
instant.  The test evaluates, through the HTTP API, the query strings as
deploy/ has them (KEDA's query, prometheus-adapter's metricsQuery, the
recording rules, the alert expressions, every dashboard query) and checks
the scaling numbers against the truth within 2 %, and that the replica count
the Kubernetes HPA formula gives for them is ceil(true total / per-pod
target).
"""

import math
import random
import socket
import threading
import time

import deploy_files
import fixtures
from base import RunwayCase
from client import Clients, TimedKeepAlive

SCRAPE_INTERVAL = "1s"
# What Grafana's $__rate_interval is for a 15 s scrape interval, the usual.
RATE_INTERVAL = "1m"
ACCURACY = 0.02
# A recorded value against the same expression through the API at the
# instant it was recorded: the rule manager may not have had the scrape that
# started just before that instant, one sample of a 60 s window (about 1/59
# of the rate in the bursty load's quiet time).
RULE_ENGINE_TOLERANCE = 0.05
QUEUED_FAMILIES = ("runway_requests_queued", "runway_request_queue_seconds")


def busy_integral(intervals, start, end):
    """Request-seconds that requests [(t0, t1)...] spent between start and end."""
    total = 0.0
    for per_client in intervals:
        for t0, t1 in per_client:
            if t1 > start and t0 < end:
                total += min(t1, end) - max(t0, start)
    return total


class Truth:
    """The clients' mean requests outstanding that a rate() should report:
    `value` as if every scrape read the daemon at its timestamp, and the
    range [low, high] it can take when the daemon answered up to a scrape's
    duration after it (only on a machine too busy to answer at once)."""

    def __init__(self, value, low, high):
        self.value, self.low, self.high = value, low, high

    def __add__(self, other):
        return Truth(self.value + other.value, self.low + other.low, self.high + other.high)

    def __radd__(self, other):
        # sum() starts from 0.
        return self if other == 0 else self + other

    def admits(self, measured, accuracy):
        return self.low * (1 - accuracy) <= measured <= self.high * (1 + accuracy)

    def __str__(self):
        if self.high - self.low < 0.005:
            return "%.2f" % self.value
        return "%.2f [%.2f, %.2f]" % (self.value, self.low, self.high)


def always(now):
    return 0.0


def bursts(start, period, on):
    """A schedule: requests during the first `on` seconds of every period."""
    def pause(now):
        phase = (now - start) % period
        return 0.0 if phase < on else period - phase
    return pause


class SimulatedPod:
    """A uvicorn with a daemon watching its cgroup, a Kubernetes pod name,
    and closed-loop clients that log when each request was sent and answered."""

    def __init__(self, case, name, namespace, clients, path, stack="uvloop", daemon_args=(),
                 think=0.0):
        self.name = name
        self.namespace = namespace
        self.deployment = name.rsplit("-", 2)[0]
        self.path = path
        self.client_count = clients
        self.think = think
        self.read_hook = "--no-read-hook" not in daemon_args
        self.app = case.start_app(stack=stack)
        self.daemon = case.start_daemon(
            args=["--cgroup", self.app.cgroup.path] + list(daemon_args), name="daemon-" + name)
        self.intervals = [[] for _ in range(clients)]
        self.clients = None
        self.retries = 0
        self.untimed = 0

    def start_load(self, pause, seed):
        host, port, path, think = self.app.host, self.app.port, self.path, self.think
        intervals = self.intervals
        retries_lock = threading.Lock()

        def worker(clients, i):
            rng = random.Random(seed * 1000 + i)
            conn = TimedKeepAlive(host, port, timeout=60)
            mine = intervals[i]
            try:
                while not clients.stop_event.is_set():
                    wait = pause(time.time())
                    if wait > 0:
                        # uvicorn closes idle keep-alive connections after
                        # 5 s: start each burst on a fresh one.
                        conn.close()
                        clients.stop_event.wait(wait)
                        continue
                    status, sent, answered = conn.get(path)
                    mine.append((sent, answered))
                    clients.record(i, status)
                    if think:
                        clients.stop_event.wait(rng.uniform(0, think))
            finally:
                conn.close()
                with retries_lock:
                    self.retries += conn.retries
                    self.untimed += conn.untimed
        self.clients = Clients(self.client_count, worker).start()

    def stop_load(self):
        if self.clients is not None:
            self.clients.stop(timeout=60)

    def check_load(self, case):
        case.assertEqual(self.clients.errors, [], "client errors on %s" % self.name)
        case.assertEqual(set(self.clients.statuses), {200}, "statuses on %s" % self.name)
        if self.retries:
            case.note("%s: %d requests sent again after the server closed an idle keep-alive "
                      "connection", self.name, self.retries)
        if self.untimed:
            case.note("%s: %d segments came without a kernel receive time", self.name, self.untimed)

    def truth(self, window):
        """What rate() over `window` (from sampled_windows) should report."""
        first, last, factor, late_first, late_last = window
        span = last - first

        def mean(start, end):
            return busy_integral(self.intervals, start, end) / span * factor
        return Truth(mean(first, last), mean(first + late_first, last), mean(first, last + late_last))

    def meta(self):
        """The labels Kubernetes' pod discovery gives the sidecar's port."""
        return {"namespace": self.namespace, "pod_name": self.name,
                "pod_container_port_name": "runway-metrics", "pod_phase": "Running",
                "pod_node_name": socket.gethostname()}


class ScalingPath(RunwayCase):

    def setUp(self):
        super().setUp()
        self.keda = deploy_files.Keda()
        self.hpa = deploy_files.Hpa()
        self.version = fixtures.prometheus_version()
        self.assertGreaterEqual(self.version, (2, 0, 0), "prometheus version")
        self.note("prometheus %s", ".".join(map(str, self.version)))

    # -- fixtures --------------------------------------------------------
    def start_pods(self, specs):
        return [SimulatedPod(self, name, self.keda.namespace, **kw) for name, kw in specs]

    def start_prometheus(self, pods):
        config, job = deploy_files.scrape_job()
        targets = [("127.0.0.1:%d" % p.daemon.port, p.meta()) for p in pods]
        # The app's own port is a container port too: the job must drop it.
        decoy = dict(pods[0].meta(), pod_container_port_name="")
        targets.append(("127.0.0.1:%d" % pods[0].app.port, decoy))
        job = deploy_files.job_with_static_pods(job, targets)
        job["scrape_interval"] = SCRAPE_INTERVAL
        job["scrape_timeout"] = SCRAPE_INTERVAL
        prometheus_config = {
            "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL,
                       "evaluation_interval": SCRAPE_INTERVAL},
            "rule_files": [deploy_files.RULES],
            "scrape_configs": [job],
        }
        self.assertEqual(config.get("rule_files"), ["prometheus-rules.yaml"],
                         "rule_files of %s" % deploy_files.SCRAPE)
        server = fixtures.Prometheus(self.logdir, prometheus_config)
        self.log_paths.append(server.log_path)
        self.addCleanup(server.stop)
        server.start()
        # Every daemon scraped (and nothing else) before the load starts.
        up = 'up{job="%s"}' % job["job_name"]

        def all_up():
            result = server.query(up, time.time())
            return (len(result) == len(pods) and
                    all(r["value"][1] == "1" for r in result)) and result
        result = self.poll(all_up, timeout=30, interval=0.5)
        self.assertTrue(result, "%s: expected %d targets up, got %s" %
                        (up, len(pods), server.query(up, time.time())))
        return server

    # -- checks ----------------------------------------------------------
    def sampled_windows(self, server, at, pods):
        """{pod: (first, last sample time, extrapolation, duration of the first
        and of the last scrape)} of the integral's
        samples in the 1 m window ending at `at`.  rate() is the increase
        between the first and the last sample, extrapolated towards the
        window's ends: by the gap to an end when it is under 1.1 mean
        sample intervals, by half an interval otherwise (Prometheus'
        extrapolatedRate).  With every scrape on time the extrapolation is
        exactly 1; a machine too busy to scrape on time makes it less."""
        result = server.query("runway_requests_outstanding_seconds_total[1m]", at)
        durations = {r["metric"]["pod"]: {float(t): float(v) for t, v in r["values"]}
                     for r in server.query('scrape_duration_seconds{job="runway-bpfd"}[1m]', at)}
        windows = {}
        for series in result:
            labels = series["metric"]
            self.assertEqual(labels.get("namespace"), self.keda.namespace, "namespace label: %s" % labels)
            self.assertIn("node", labels, "node label: %s" % labels)
            times = [float(t) for t, _ in series["values"]]
            values = [float(v) for _, v in series["values"]]
            sampled = times[-1] - times[0]
            # Prometheus scrapes every second; a machine that lets it do a
            # tenth of that still gives rate() something to work with.
            self.assertGreaterEqual(len(times), 6, "samples of %s in the last minute" % labels)
            self.assertGreaterEqual(sampled, 20, "time between the first and last sample of %s" % labels)
            step = sampled / (len(times) - 1)
            to_start, to_end = times[0] - (at - 60), at - times[-1]
            if values[-1] > values[0] and values[0] >= 0:
                to_start = min(to_start, sampled * values[0] / (values[-1] - values[0]))
            extended = sampled + sum(gap if gap < 1.1 * step else step / 2 for gap in (to_start, to_end))
            # Prometheus stamps a sample when it starts the scrape; the
            # daemon computes it when the request reaches it, within the
            # scrape's duration (a few ms, unless the machine is overloaded).
            took = durations.get(labels["pod"], {})
            late = (took.get(times[0], 1.0), took.get(times[-1], 1.0))
            windows[labels["pod"]] = (times[0], times[-1], extended / 60) + late
            if abs(extended / 60 - 1) > 1e-6 or max(late) > 0.05:
                self.note("%s: %d samples in the minute, rate() extrapolates by %.4f, first and "
                          "last scrapes took %.3f s, %.3f s", labels["pod"], len(times),
                          extended / 60, late[0], late[1])
        self.assertEqual(sorted(windows), sorted(p.name for p in pods), "pods with samples")
        return windows

    def by_label(self, result, label):
        out = {}
        for r in result:
            key = r["metric"].get(label)
            self.assertNotIn(key, out, "two series with %s=%s: %s" % (label, key, result))
            out[key] = float(r["value"][1])
        return out

    def replicas_for(self, truth, target, current, label):
        """The replica counts the HPA formula may give for a measurement
        within ACCURACY of the truth: its count for the truth, and where
        that range holds a point where the count changes (a ceil boundary,
        or an edge of the HPA's tolerance) the neighbouring counts too."""
        formula = deploy_files.hpa_external_average_value
        exact = formula(truth.value, target, current)
        lowest = formula(truth.low * (1 - ACCURACY), target, current)
        highest = formula(truth.high * (1 + ACCURACY), target, current)
        counts = set(range(lowest, highest + 1))
        if abs(truth.value / (target * current) - 1) > deploy_files.HPA_TOLERANCE:
            self.assertEqual(exact, math.ceil(truth.value / target), "HPA formula outside its tolerance")
        else:
            self.note("%s: the true total %s is within the HPA's tolerance of %d pods x %g: "
                      "it keeps %d", label, truth, current, target, current)
        if len(counts) > 1:
            self.note("%s: the true total %s is within %d%% of a change of replica count: "
                      "%s accepted", label, truth, ACCURACY * 100, sorted(counts))
        return exact, counts

    def assertMeasured(self, value, truth, what):
        self.assertTrue(truth.admits(value, ACCURACY), "%s = %.3f, the clients' truth %s, not within %d%%" %
                        (what, value, truth, ACCURACY * 100))

    def check_scaling(self, server, at, pods, label):
        """Everything in deploy/ evaluated at `at` against the clients' truth."""
        ns = self.keda.namespace
        scaled = [p for p in pods if p.deployment == self.keda.deployment]
        others = [p for p in pods if p.deployment != self.keda.deployment]
        self.assertTrue(scaled and others, "the test needs pods of %s and of another Deployment" %
                        self.keda.deployment)
        windows = self.sampled_windows(server, at, pods)
        truth = {p.name: p.truth(windows[p.name]) for p in pods}
        true_total = sum(truth[p.name] for p in scaled)
        current = len(scaled)
        self.assertEqual(self.hpa.target, self.keda.threshold,
                         "per-pod target of deploy/hpa.yaml vs deploy/keda-scaledobject.yaml")
        target = self.keda.threshold
        expected_replicas, accepted = self.replicas_for(true_total, target, current, label)

        # KEDA: the query is the total; AverageValue divides it by threshold.
        self.assertEqual(self.keda.metric_type, "AverageValue", "KEDA metricType")
        result = server.query(self.keda.query, at)
        self.assertEqual(len(result), 1, "KEDA query returned %s" % result)
        keda_total = float(result[0]["value"][1])
        keda_replicas = deploy_files.hpa_external_average_value(keda_total, target, current)
        self.note("%s: truth %s requests outstanding over %s (%s); KEDA query %.2f (%+.2f%%) -> "
                  "%d replicas; the formula on the truth, ceil(truth / %g): %d", label, true_total,
                  ", ".join(p.name for p in scaled), ", ".join(str(truth[p.name]) for p in scaled),
                  keda_total, 100 * (keda_total / true_total.value - 1), keda_replicas, target,
                  expected_replicas)
        self.assertMeasured(keda_total, true_total, "KEDA query result")
        self.assertIn(keda_replicas, accepted,
                      "replicas from the KEDA query (HPA External AverageValue formula)")

        # HPA through prometheus-adapter: one value per pod, averaged.
        adapter = self.by_label(server.query(self.hpa.metric_query(ns, [p.name for p in scaled]), at),
                                "pod")
        self.assertEqual(sorted(adapter), sorted(p.name for p in scaled), "pods the adapter query returns")
        for p in scaled:
            self.assertMeasured(adapter[p.name], truth[p.name], "adapter value of %s" % p.name)
        hpa_replicas = deploy_files.hpa_pods_average_value(list(adapter.values()), self.hpa.target, current)
        self.note("%s: adapter per pod %s -> %d replicas", label,
                  ", ".join("%.2f" % adapter[p.name] for p in scaled), hpa_replicas)
        self.assertIn(hpa_replicas, accepted,
                      "replicas from the adapter metric (HPA Pods AverageValue formula)")

        # The recording rules' expressions, evaluated at the same instant.
        rules = deploy_files.recording_rules()
        per_pod = self.by_label(server.query(rules["pod:runway_requests_outstanding:rate1m"], at), "pod")
        self.assertEqual(sorted(per_pod), sorted(truth), "pods of the per-pod rule")
        for name, value in per_pod.items():
            self.assertMeasured(value, truth[name], "per-pod rule for %s" % name)
        per_deployment = self.by_label(
            server.query(rules["deployment:runway_requests_outstanding:rate1m"], at), "deployment")
        deployments = {p.deployment for p in pods}
        self.assertEqual(sorted(per_deployment), sorted(deployments), "deployments of the per-deployment rule")
        for deployment in deployments:
            want = sum(truth[p.name] for p in pods if p.deployment == deployment)
            self.assertMeasured(per_deployment[deployment], want, "per-deployment rule for %s" % deployment)
        # ... and as the rule manager recorded them.
        recorded = {"pod:runway_requests_outstanding:rate1m": ("pod", per_pod),
                    "deployment:runway_requests_outstanding:rate1m": ("deployment", per_deployment)}
        for record, (label_name, evaluated) in recorded.items():
            got = server.query(record, at)
            self.assertEqual(sorted(r["metric"][label_name] for r in got),
                             sorted(evaluated), "series recorded by %s" % record)
            for r in got:
                # The same expression through the API at the instant the
                # rule manager evaluated it (its last sample's time).
                samples = server.query("%s[10s]" % record, at)
                key = r["metric"][label_name]
                stamps = [float(t) for series in samples if series["metric"][label_name] == key
                          for t, _ in series["values"]]
                self.assertTrue(stamps, "%s{%s=%s} has no samples" % (record, label_name, key))
                evaluated_at = stamps[-1]
                again = self.by_label(server.query(rules[record], evaluated_at), label_name)
                self.assertNear(float(r["value"][1]), again[key], RULE_ENGINE_TOLERANCE,
                                "%s{%s=%s} recorded vs evaluated at %.3f" %
                                (record, label_name, key, evaluated_at))
        for group in server.api("rules")["groups"]:
            for rule in group["rules"]:
                self.assertEqual((rule["health"], rule.get("lastError", "")), ("ok", ""),
                                 "rule %s" % rule["name"])

        # Alerts: kernel queueing on the pods whose event loop is blocked,
        # where the read hook shows it; never where it cannot (a machine
        # overloaded enough makes the other pods' loops read late too).
        alerts = deploy_files.alerting_rules()
        queueing = self.by_label(server.query(alerts["RunwayKernelQueueing"], at), "pod")
        blocked = {p.name for p in pods if p.read_hook and "/block" in p.path}
        blind = {p.name for p in pods if not p.read_hook}
        self.assertEqual(blocked - set(queueing), set(),
                         "blocked pods RunwayKernelQueueing's expression misses")
        self.assertEqual(blind & set(queueing), set(), "pods without a read hook in RunwayKernelQueueing")
        if set(queueing) - blocked:
            self.note("%s: RunwayKernelQueueing's expression also selects %s (%s)", label,
                      ", ".join(sorted(set(queueing) - blocked)),
                      ", ".join("%.2f" % queueing[n] for n in sorted(set(queueing) - blocked)))
        for name, expr in alerts.items():
            if name != "RunwayKernelQueueing":
                self.assertEqual(server.query(expr, at), [], "%s's expression" % name)

        # A sampled gauge at a 15 s scrape, for comparison (not asserted).
        sampled = 0.0
        for series in server.query("runway_requests_outstanding[1m]", at):
            if series["metric"]["pod"] in {p.name for p in scaled}:
                values = [float(v) for _, v in series["values"]][::15]
                sampled += sum(values) / len(values)
        self.note("%s: a 15 s sampled gauge would read %.2f (%+.0f%%)", label, sampled,
                  100 * (sampled / true_total.value - 1))
        return true_total

    def check_dashboard(self, server, at, read_hook=True):
        defaults = deploy_files.dashboard_defaults()
        self.assertEqual(defaults.get("deployment"), self.keda.deployment, "dashboard's default deployment")
        substitutions = dict(defaults, namespace=self.keda.namespace, __rate_interval=RATE_INTERVAL)
        queries = deploy_files.dashboard_queries(substitutions)
        self.assertGreaterEqual(len(queries), 10, "dashboard queries")
        for title, ref, expr in queries:
            result = server.query(expr, at)
            needs_read_hook = any(f in expr for f in QUEUED_FAMILIES)
            if read_hook or not needs_read_hook:
                self.assertTrue(result, "dashboard panel %r query %s returned nothing: %s" %
                                (title, ref, expr))
            else:
                self.assertEqual(result, [], "panel %r query %s without the read hook" % (title, ref))

    def run_load(self, pods, schedule, seed):
        for i, p in enumerate(pods):
            p.start_load(schedule, seed + i)

    def stop_load(self, pods):
        for p in pods:
            p.stop_load()
        for p in pods:
            p.check_load(self)

    # -- tests -----------------------------------------------------------
    def test_steady_load(self):
        """Three pods of my-api under steady closed-loop load: a blocked event
        loop (requests queue in the kernel), async sleeps (in flight), and a
        blocked loop watched without the read hook; a fourth pod of another
        Deployment (my-api-worker) that the queries must leave out."""
        pods = self.start_pods([
            ("my-api-7d9f8b6c5d-x2v7q", dict(clients=15, path="/block?ms=65")),
            ("my-api-7d9f8b6c5d-k8m4z", dict(clients=16, path="/sleep?ms=1000")),
            ("my-api-7d9f8b6c5d-p5r9t", dict(clients=15, path="/block?ms=65", stack="asyncio",
                                             daemon_args=["--no-read-hook"])),
            ("my-api-worker-5f7b9c8d4-q8z2m", dict(clients=5, path="/sleep?ms=1000")),
        ])
        server = self.start_prometheus(pods)
        start = time.time()
        self.run_load(pods, always, seed=1)
        try:
            # 8 s to settle, then a whole 1 m window inside the load.
            at = start + 8 + 60
            time.sleep(max(0.0, at + 2 - time.time()))
        finally:
            self.stop_load(pods)
        self.check_scaling(server, at, pods, "steady")
        self.check_dashboard(server, at)

    def test_bursty_load(self):
        """The same pods with bursts: 6 s of closed-loop load with random
        pauses, 6 s of nothing, every 12 s.  The 1 m window holds five whole
        periods and both of its ends fall in quiet time; the burst before it
        is the warm-up."""
        period, on = 12.0, 6.0
        pods = self.start_pods([
            ("my-api-7d9f8b6c5d-x2v7q", dict(clients=30, path="/block?ms=33")),
            ("my-api-7d9f8b6c5d-k8m4z", dict(clients=40, path="/sleep?ms=1000", think=0.4)),
            ("my-api-7d9f8b6c5d-p5r9t", dict(clients=20, path="/block?ms=50", stack="asyncio",
                                             daemon_args=["--no-read-hook"])),
            ("my-api-worker-5f7b9c8d4-q8z2m", dict(clients=10, path="/sleep?ms=1000", think=0.4)),
        ])
        server = self.start_prometheus(pods)
        start = time.time() + 0.5
        self.run_load(pods, bursts(start, period, on), seed=2)
        try:
            at = start + 5 * period + on + (period - on) / 2 + 1.0
            time.sleep(max(0.0, at + 2 - time.time()))
        finally:
            self.stop_load(pods)
        # Quiet at both ends of the window, by the clients' clocks, unless
        # the machine stalled the load: then the rule manager's instant
        # matters more (RULE_ENGINE_TOLERANCE), the rest does not.
        for edge in (at - 60, at):
            for p in pods:
                busy = busy_integral(p.intervals, edge - 1, edge + 0.5)
                if busy:
                    self.note("%s: %.2f request-seconds around the window's end at %.1f: "
                              "the bursts overran the quiet time", p.name, busy, edge)
        self.check_scaling(server, at, pods, "bursty")
        self.check_dashboard(server, at)

    def test_queries_without_read_hook(self):
        """Every pod watched with --no-read-hook: the scaling queries, the
        recording rules and the dashboard (but for the queued panels) still
        return data, so the autoscaler never reads an empty result as 0."""
        pods = self.start_pods([
            ("my-api-7d9f8b6c5d-x2v7q", dict(clients=8, path="/block?ms=25",
                                             daemon_args=["--no-read-hook"])),
            ("my-api-7d9f8b6c5d-k8m4z", dict(clients=8, path="/sleep?ms=200",
                                             daemon_args=["--no-read-hook"])),
            ("my-api-worker-5f7b9c8d4-q8z2m", dict(clients=2, path="/sleep?ms=200",
                                                   daemon_args=["--no-read-hook"])),
        ])
        server = self.start_prometheus(pods)
        self.run_load(pods, always, seed=3)
        try:
            # Five scrapes of every daemon under load, whatever the time
            # that takes on a busy machine.
            started = time.time()
            scrapes = 'sum_over_time(up{job="runway-bpfd"}[%ds])'

            def scraped():
                result = server.query(scrapes % (time.time() - started + 1), time.time())
                return len(result) == len(pods) and all(float(r["value"][1]) >= 5 for r in result)
            self.assertTrue(self.poll(scraped, timeout=60, interval=0.5),
                            "five scrapes of every daemon within 60 s")
            at = time.time() - 0.5
        finally:
            self.stop_load(pods)
        scaled = [p.name for p in pods if p.deployment == self.keda.deployment]
        result = server.query(self.keda.query, at)
        self.assertEqual(len(result), 1, "KEDA query without the read hook returned %s" % result)
        self.assertGreater(float(result[0]["value"][1]), 0, "KEDA query without the read hook")
        adapter = self.by_label(server.query(self.hpa.metric_query(self.keda.namespace, scaled), at), "pod")
        self.assertEqual(sorted(adapter), sorted(scaled), "adapter query without the read hook")
        self.assertTrue(all(v > 0 for v in adapter.values()), "adapter values %s" % adapter)
        for record, expr in deploy_files.recording_rules().items():
            self.assertTrue(server.query(expr, at), "%s's expression without the read hook" % record)
            self.assertTrue(self.poll(lambda: server.query(record, time.time()), timeout=5),
                            "%s recorded without the read hook" % record)
        self.check_dashboard(server, at, read_hook=False)
