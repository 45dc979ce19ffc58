# SPDX-License-Identifier: MIT
"""The memory limit in deploy/sidecar.yaml holds the daemon: started in a
memory cgroup with that limit, it loads, serves under load and scrapes, and
is never OOM-killed; its measured peak leaves the headroom the README states
(25 %)."""

import importlib.util
import os
import re
import subprocess
import time

import fixtures
from base import CONFIG, REQUESTS_TOTAL, RunwayCase

SIDECAR = os.path.join(fixtures.REPO, "deploy", "sidecar.yaml")
HEADROOM = 1.25

_spec = importlib.util.spec_from_file_location(
    "measure_memory", os.path.join(fixtures.REPO, "scripts", "measure-memory.py"))
measure_memory = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(measure_memory)


def sidecar_memory_limit():
    """resources.limits.memory of the runway-bpfd container, in bytes."""
    with open(SIDECAR) as f:
        text = f.read()
    m = re.search(r"limits:\s*\{\s*memory:\s*(\d+)(Mi|Gi)\s*\}", text)
    if not m:
        raise AssertionError("no limits: { memory: N(Mi|Gi) } in %s" % SIDECAR)
    return int(m.group(1)) << (20 if m.group(2) == "Mi" else 30)


class SidecarMemoryLimit(RunwayCase):
    def test_daemon_runs_within_the_manifest_limit(self):
        limit = sidecar_memory_limit()
        app = self.start_app()
        memcg = measure_memory.MemoryCgroup()
        self.addCleanup(memcg.remove)
        memcg.set_limit(limit)
        d = self.start_daemon(args=["-c", 'echo $$ > "$0" && exec "$@"', memcg.procs_file(),
                                    CONFIG.daemon, "--cgroup", app.cgroup.path], binary="sh")
        before = d.scrape()
        p = subprocess.run(["wrk", "-t1", "-c32", "-d5s", "http://%s:%d/" % (app.host, app.port)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        for _ in range(20):
            d.scrape()
            time.sleep(0.05)
        after = d.scrape()
        sample = memcg.sample()
        self.note("limit %d MiB (deploy/sidecar.yaml), peak %.1f MiB, steady %.1f MiB",
                  limit >> 20, (sample["peak"] or 0) / 2**20, sample["total"] / 2**20)
        self.assertTrue(d.alive(), "the daemon died under the manifest's memory limit")
        self.assertEqual(memcg.oom_kills(), 0, "OOM kills in the daemon's memory cgroup")
        self.assertGreater(after.sum(REQUESTS_TOTAL), before.sum(REQUESTS_TOTAL))
        if sample["peak"] is not None:
            self.assertLessEqual(sample["peak"] * HEADROOM, limit,
                                 "the limit leaves less than 25 % over the measured peak")
