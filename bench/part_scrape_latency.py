# SPDX-License-Identifier: MIT
"""Part 5, scrape latency: /metrics under load, from runway-bpfd and from
the seed's metrics thread inside the app.

Method.  GETs of /metrics (a new connection each, 10 ms apart) while the
target keeps both CPUs busy: uvicorn saturated by wrk -c64, plus a busy loop
of the target on each CPU.  From runway-bpfd, and from the seed's metrics
thread (prometheus_client.start_http_server, the seed's "Option A").  The
scraper stands for a Prometheus on another machine: it runs SCHED_FIFO during
the scrapes so that its own wait for a CPU is not counted; the servers run as
deployed.
"""

import os
import time

from common import (LOAD_CPU, TARGET_CPU, BackgroundWrk, Daemon, Uvicorn, free_port, http_get, log,
                    node_busy_s)

NUMBER = 5
NAME = "scrape_latency"
TITLE = "/metrics latency under load"


def timed_scrapes(port, count, gap=0.01):
    """count GETs of /metrics, each on a new connection.  The scraper
    stands for a Prometheus on another machine: it runs SCHED_FIFO for the
    time of the scrapes, so that its own wait for a busy CPU is not
    counted; the server it scrapes runs as it would (SCHED_OTHER)."""
    lat = []
    policy = os.sched_getscheduler(0)
    param = os.sched_getparam(0)
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    except OSError as e:
        log("cannot make the scraper SCHED_FIFO (%s): its own scheduling delay is counted" % e)
    try:
        for _ in range(count):
            t0 = time.monotonic()
            status, _ = http_get(port, "/metrics", timeout=30)
            lat.append((time.monotonic() - t0) * 1000)
            if status != 200:
                raise RuntimeError("/metrics answered %d" % status)
            time.sleep(gap)
    finally:
        os.sched_setscheduler(0, policy, param)
    lat.sort()
    return {"p50": lat[len(lat) // 2], "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
            "max": lat[-1], "n": len(lat)}


def run(bench):
    count = 100 if bench.quick else 500
    log("part 5: %d scrapes under load, daemon and seed thread" % count)
    results = {}
    for who in ("runway-bpfd", "seed"):
        if who == "seed":
            mport = free_port()
            uv = Uvicorn(bench, "seed_middleware_app:app", "uvloop",
                         env={"SEED_METRICS_PORT": mport}, name="seed-scrape").start()
        else:
            uv = Uvicorn(bench, "hello_app:app", "uvloop", name="hello-scrape").start()
            d = Daemon(bench, uv.pid).start()
            mport = d.port
        # The target keeps both CPUs busy: uvicorn saturated by wrk, and a
        # busy loop of the target on each CPU.
        results[who + " idle"] = timed_scrapes(mport, count // 2)
        spins = [bench.spinner(uv.cgroup, cpu) for cpu in (TARGET_CPU, LOAD_CPU)]
        load = BackgroundWrk(bench, uv.url(), 64, 600)
        time.sleep(1.0)
        busy0 = node_busy_s()
        t0 = time.monotonic()
        results[who] = timed_scrapes(mport, count)
        busy = (node_busy_s() - busy0) / (time.monotonic() - t0) / os.cpu_count() * 100
        results[who]["cpu_busy_pct"] = busy
        load.stop()
        for spin in spins:
            spin.stop()
        if who == "runway-bpfd":
            d.stop()
        uv.stop()
    bench.table.raw["scrape_latency"] = results
    r = results["runway-bpfd"]
    bench.table.add("5", "/metrics latency under load, runway-bpfd",
                    "wrk -c64 on uvicorn + a busy loop per CPU (CPUs %.0f %% busy); scraper SCHED_FIFO" %
                    r["cpu_busy_pct"],
                    "p50 %.2f ms, p99 %.2f ms (max %.2f, n=%d)" % (r["p50"], r["p99"], r["max"], r["n"]),
                    "p99 < 5 ms", r["p99"] < 5.0)
    ri, si = results["runway-bpfd idle"], results["seed idle"]
    bench.table.add("5", "/metrics latency, idle node", "runway-bpfd; seed's thread",
                    "p50 %.2f / p99 %.2f ms; p50 %.2f / p99 %.2f ms" % (ri["p50"], ri["p99"], si["p50"], si["p99"]),
                    "(info)")
    s = results["seed"]
    bench.table.add("5", "/metrics latency under load, seed's metrics thread",
                    "same load on the middleware app; CPUs %.0f %% busy" % s["cpu_busy_pct"],
                    "p50 %.2f ms, p99 %.2f ms (max %.2f, n=%d)" % (s["p50"], s["p99"], s["max"], s["n"]),
                    "(seed measured: 20 ms median, 32 ms max)")
