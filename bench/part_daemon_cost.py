# SPDX-License-Identifier: MIT
"""Part 3, daemon cost: what runway-bpfd itself takes.

Method.  A uvicorn hello world with the daemon attached, under wrk -c16 for
SECONDS with a scrape every second: the daemon's CPU (the sum of its threads'
/proc/PID/task/*/schedstat) per million target requests.  Then 100 scrapes of
an idle target (CPU per scrape), 3 s idle (CPU per second), and the CPU it
took to start (BPF load and verifier).  Memory: VmRSS (steady) and VmHWM
(peak, reached at start-up) from /proc/PID/status; bytes_memlock of the BPF
maps its programs use (found from /proc/PID/fdinfo, then bpftool); the value
size of the per-connection socket storage.
"""

import os
import threading
import time

from common import Daemon, Uvicorn, daemon_bpf_objects, log, wrk

NUMBER = 3
NAME = "daemon_cost"
TITLE = "the daemon's CPU and memory"


def run(bench):
    seconds = 3 if bench.quick else 10
    log("part 3: daemon cost, wrk %d s with a scrape every second" % seconds)
    hello = Uvicorn(bench, "hello_app:app", "uvloop", name="hello-cost").start()
    d = Daemon(bench, hello.pid).start()
    startup_cpu = d.cpu_ns()
    time.sleep(0.5)
    scrapes = []
    stop = threading.Event()

    def scraper():
        while not stop.wait(1.0):
            scrapes.append(d.scrape())

    c0 = d.cpu_ns()
    t = threading.Thread(target=scraper, daemon=True)
    t.start()
    res = wrk(hello.url(), 16, seconds)
    stop.set()
    t.join()
    c1 = d.cpu_ns()
    per_million = (c1 - c0) / 1e9 / res["requests"] * 1e6
    # The cost of a scrape alone, idle target.
    n_scrapes = 100
    s0 = d.cpu_ns()
    for _ in range(n_scrapes):
        d.scrape()
    s1 = d.cpu_ns()
    i0, it0 = d.cpu_ns(), time.monotonic()
    time.sleep(3.0)
    idle_ms_per_s = (d.cpu_ns() - i0) / 1e6 / (time.monotonic() - it0)
    rss, hwm = d.rss_kib(), d.hwm_kib()
    progs, maps = daemon_bpf_objects(d.pid)
    d.stop()
    hello.stop()
    map_bytes = sum(m.get("bytes_memlock", 0) for m in maps)
    prog_bytes = sum(p.get("bytes_memlock", 0) for p in progs)
    conn_map = [m for m in maps if m.get("type") == "sk_storage"]
    bench.table.raw["daemon_cost"] = {
        "cpu_s": (c1 - c0) / 1e9, "requests": res["requests"], "scrapes": len(scrapes),
        "startup_cpu_s": startup_cpu / 1e9, "scrape_cpu_ms": (s1 - s0) / 1e6 / n_scrapes,
        "idle_cpu_ms_per_s": idle_ms_per_s,
        "rss_kib": rss, "hwm_kib": hwm,
        "maps": [{k: m.get(k) for k in ("id", "name", "type", "max_entries", "bytes_value",
                                         "bytes_memlock")} for m in maps],
        "prog_bytes_memlock": prog_bytes}
    bench.table.add("3", "daemon CPU per million requests", "wrk -c16 %d s, %d req, scrape every 1 s"
                    % (seconds, res["requests"]),
                    "%.4f s" % per_million, "< 0.05 s", per_million < 0.05)
    bench.table.add("3", "daemon CPU per scrape; idle; at start-up", "idle target",
                    "%.2f ms per scrape; %.3f ms/s idle; %.0f ms to start (BPF load, verifier)" %
                    ((s1 - s0) / 1e6 / n_scrapes, idle_ms_per_s, startup_cpu / 1e6), "(info)")
    bench.table.add("3", "daemon resident memory", "steady, after the run",
                    "%.1f MiB" % (rss / 1024), "< 16 MiB", rss < 16 * 1024)
    bench.table.add("3", "daemon resident memory, peak", "VmHWM (reached at start-up)",
                    "%.1f MiB" % (hwm / 1024), "< 16 MiB", hwm < 16 * 1024)
    biggest = sorted(maps, key=lambda m: -m.get("bytes_memlock", 0))[:3]
    bench.table.add("3", "memory held by its BPF maps", "%d maps, %d possible CPUs" % (
        len(maps), os.cpu_count()),
        "%.2f MiB (%s); programs %.0f KiB" % (
            map_bytes / 2**20, ", ".join("%s %.0f KiB" % (m.get("name"), m.get("bytes_memlock", 0) / 1024)
                                         for m in biggest), prog_bytes / 1024), "(info)")
    if conn_map:
        bench.table.add("3", "per-connection state", "sk_storage, freed with the socket",
                        "%d B of value per connection (not in the map's memlock)" %
                        conn_map[0].get("bytes_value", 0), "(info)")
