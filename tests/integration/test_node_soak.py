# SPDX-License-Identifier: MIT
"""The node mode for a minute under load while the node changes: processes
start and exit in every pod all the time, a pod's uvicorn restarts, pods
are created and deleted.  At the end every request answered in a watched pod
is counted exactly, deleted pods' series are gone, and the daemon's memory
and descriptors are what they were."""

import collections
import json
import os
import subprocess
import threading
import time

import prom
from base import IN_FLIGHT, REQUESTS_TOTAL, RunwayCase
from node import SimulatedNode

SOAK_S = float(os.environ.get("RUNWAY_NODE_SOAK_S", "60"))
GRACE_S = 2
PLAN = [["GET", "/", 40, "keepalive"], ["GET", "/status/404", 2, "oneshot"], ["GET", "/", 5, "oneshot"]]


class PodLoad(threading.Thread):
    """Load batches in one pod, back to back, from inside its network
    namespace; `answers` adds up what the server answered.  `lock` is held
    during a batch: whoever restarts or deletes the pod takes it first."""

    def __init__(self, pod):
        super().__init__(daemon=True)
        self.pod = pod
        self.lock = threading.Lock()
        self.answers = collections.Counter()
        self.errors = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            with self.lock:
                if self.halt.is_set():
                    break
                try:
                    self.answers.update(self.pod.load(PLAN))
                except Exception as e:  # noqa: BLE001 - reported by the test
                    self.errors.append(repr(e))
                    return
            time.sleep(0.05)

    def stop(self):
        self.halt.set()
        self.join(timeout=120)


def bpftool(*args):
    out = subprocess.run(["bpftool", "-j"] + list(args), capture_output=True, text=True, check=True).stdout
    return json.loads(out or "[]")


def daemon_map_entries(pod_cgroup, name_prefix):
    """Entries of the daemon's map whose name starts with name_prefix (bpftool
    truncates names), found from the programs on a pod it watches."""
    progs = {p["id"] for p in bpftool("cgroup", "show", pod_cgroup) if p.get("name", "").startswith("runway_")}
    map_ids = {m for p in bpftool("prog", "show") if p["id"] in progs for m in p.get("map_ids", [])}
    for m in bpftool("map", "show"):
        if m["id"] in map_ids and m.get("name", "").startswith(name_prefix):
            return len(bpftool("map", "dump", "id", str(m["id"])))
    raise AssertionError("no map %s* among the daemon's" % name_prefix)


class NodeSoak(RunwayCase):
    def test_node_mode_soak(self):
        node = SimulatedNode(self.logdir, "systemd")
        self.addCleanup(node.remove)
        stacks = {"api-0": "uvloop", "api-1": "asyncio", "api-2": "uvloop"}
        pods = {}
        for i, (name, stack) in enumerate(stacks.items()):
            pod = node.add_pod("soak", name, qos=("guaranteed", "burstable", "besteffort")[i],
                               runtime=("containerd", "crio", "docker")[i])
            pod.start_uvicorn(stack)
            # Processes that start and exit all the time, in a container of
            # their own, as probes, cron-like sidecars and shells do.
            pod.start_container("churn", ["sh", "-c", "while :; do sh -c 'sleep 0.05'; done"], ready_path=None,
                                cpu=1)
            pods[name] = pod
        other = node.add_pod("soak", "static-0", qos="besteffort")
        other.start_other_server()
        d = self.start_daemon(args=node.daemon_args("--pod-grace", str(GRACE_S)))
        self.log_paths.extend(node.log_paths)

        start = d.scrape()
        baselines = {name: start for name in pods}
        loads = {name: PodLoad(pod) for name, pod in pods.items()}
        for load in loads.values():
            load.start()

        scrapes, last = 0, {}
        decreases = []
        rss, fds = [], []
        deleted = []  # (pod, time deleted)
        extra = 0
        events = 0
        started = time.monotonic()
        next_event = started + 5
        try:
            while time.monotonic() - started < SOAK_S:
                expo = d.scrape()
                scrapes += 1
                self.assertTrue(d.alive(), "the daemon died")
                # Counters never go down while their pod is watched.
                for s in expo.samples:
                    if s.name.endswith(("_total", "_count", "_bucket")):
                        key = s.key()
                        if key in last and s.value < last[key]:
                            decreases.append("%r fell from %s" % (s, last[key]))
                        last[key] = s.value
                with open("/proc/%d/status" % d.proc.pid) as f:
                    rss.append(int([line for line in f if line.startswith("VmRSS")][0].split()[1]))
                fds.append(len(os.listdir("/proc/%d/fd" % d.proc.pid)))
                if time.monotonic() >= next_event:
                    next_event += 5
                    events += 1
                    kind = events % 3
                    if kind == 1:
                        # A uvicorn restart in a pod (its container replaced).
                        pod = pods["api-1"]
                        with loads["api-1"].lock:
                            app = [c for c in pod.containers if c.name == "app"][0]
                            app.stop()
                            pod.containers.remove(app)
                            pod.start_uvicorn("asyncio")
                    elif kind == 2:
                        # A new pod: watched, loaded, then deleted later.
                        name = "extra-%d" % extra
                        extra += 1
                        pod = node.add_pod("soak", name, qos="burstable", runtime="docker")
                        pod.start_uvicorn("uvloop")
                        self.poll(lambda: d.scrape().get(IN_FLIGHT, **pod.labels()) is not None, timeout=15)
                        baselines[name] = d.scrape()
                        pods[name] = pod
                        loads[name] = PodLoad(pod)
                        loads[name].start()
                    else:
                        # The oldest extra pod is deleted.
                        extras = [n for n in pods if n.startswith("extra-")]
                        if extras:
                            name = extras[0]
                            loads[name].stop()
                            self.assertEqual(loads[name].errors, [], "load of %s" % name)
                            pods[name].delete()
                            deleted.append((pods.pop(name), time.monotonic()))
                            loads.pop(name)
                time.sleep(0.5)
        finally:
            for load in loads.values():
                load.stop()
        for name, load in loads.items():
            self.assertEqual(load.errors, [], "load of %s" % name)
        self.assertEqual(decreases[:5], [], "counters went down")

        # Every request answered in a pod still there is counted, exactly.
        def all_counted():
            expo = d.scrape()
            for name, load in loads.items():
                pod = pods[name]
                got = sum(prom.counter_deltas(baselines[name], expo, REQUESTS_TOTAL, "method", "status",
                                              **pod.labels()).values())
                if got != sum(load.answers.values()) or expo.get(IN_FLIGHT, **pod.labels()) != 0:
                    return False
            return True
        self.poll(all_counted, timeout=10)
        final = d.scrape()
        for name, load in loads.items():
            pod = pods[name]
            got = prom.counter_deltas(baselines[name], final, REQUESTS_TOTAL, "method", "status", **pod.labels())
            self.assertEqual(got, dict(load.answers), "requests of %s (counted vs answered)" % name)
        # Deleted pods are gone after their grace period; the others stay.
        time.sleep(GRACE_S + 2)
        final = d.scrape()
        for pod, _ in deleted:
            self.assertEqual([s for s in final.samples if s.labels.get("pod") == pod.name], [],
                             "series of deleted pod %s" % pod.name)
        self.assertEqual(final.get("runway_bpfd_targets"), float(len(pods)), "runway_bpfd_targets")
        self.assertEqual([s for s in final.samples if s.labels.get("pod") == "static-0"], [])
        # The maps hold the live pods only: one (pod, method, status) entry
        # per series served, none left by the deleted pods.
        entries = daemon_map_entries(pods["api-0"].cgroup, "requests_by_sta")
        self.assertEqual(entries, len(final.select(REQUESTS_TOTAL)),
                         "requests_by_status entries vs %s series" % REQUESTS_TOTAL)
        # Flat: memory and descriptors at the end as after the first scrapes.
        early = max(rss[:10])
        self.assertLess(rss[-1] - early, 2048, "resident memory grew from %d to %d KiB" % (early, rss[-1]))
        self.assertLessEqual(max(fds), min(fds) + 12, "descriptors ranged %d..%d" % (min(fds), max(fds)))
        p = subprocess.run(["promtool", "check", "metrics"], input=d.scrape_text(), capture_output=True,
                           text=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""), "promtool check metrics")
        self.note("%d scrapes over %.0f s, %d events, %d pods deleted; RSS %d..%d KiB, fds %d..%d; requests: %s",
                  scrapes, SOAK_S, events, len(deleted), min(rss), max(rss), min(fds), max(fds),
                  {n: sum(load.answers.values()) for n, load in loads.items()})
