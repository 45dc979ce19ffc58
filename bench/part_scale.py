# SPDX-License-Identifier: MIT
"""Part 6, scale: many connections, connection churn, and a full map.

Method.  10,000 idle keep-alive connections (one request each, uvicorn
--timeout-keep-alive 3600, from bench/loadclient.py): runway_bpfd_connections,
RSS, maps; back to 0 when they close.  Churn: 64 clients, a new connection per
request, 10 s, as fast as they go: requests counted against requests answered,
nothing left behind.  A full map: socket-local storage is charged to the
socket's option memory, so the target gets a network namespace of its own
with net.core.optmem_max 0 (per namespace: the node is untouched), and every
connection's storage is refused; then it is restored.
"""

import subprocess
import time

from common import LOAD_CPU, Daemon, Proc, Uvicorn, client_args, daemon_bpf_objects, log, read_json_line

NUMBER = 6
NAME = "scale"
TITLE = "10,000 connections, churn, storage refused"


def run(bench):
    n_idle = 2000 if bench.quick else 10000
    churn_s = 3 if bench.quick else 10
    log("part 6: %d idle keep-alive connections" % n_idle)
    uv = Uvicorn(bench, "hello_app:app", "uvloop", extra=["--timeout-keep-alive", "3600",
                                                        "--backlog", "4096"],
                 name="hello-scale").start()
    d = Daemon(bench, uv.pid).start()
    rss0 = d.rss_kib()
    m0 = d.scrape()
    client = Proc(client_args("idle", uv.port, connections=n_idle, concurrency=200),
                  "idle-client", cpus={LOAD_CPU}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                  log_path=bench.log_path("idle-client"))
    opened = read_json_line(client, 300)
    time.sleep(1.0)
    m1 = d.scrape()
    rss1 = d.rss_kib()
    maps = daemon_bpf_objects(d.pid)[1]
    conns = m1.get("runway_bpfd_connections")
    bench.table.add("6", "idle keep-alive connections tracked", "%d opened (%d failed), 1 request each" % (
        opened["opened"], opened["failed"]),
        "runway_bpfd_connections %d; lost %d" % (conns, m1.get("runway_bpfd_state_refused_total")),
        "= opened", conns == opened["opened"] and opened["opened"] >= n_idle * 0.99)
    bench.table.add("6", "daemon RSS and BPF maps, %d connections" % opened["opened"], "",
                    "RSS %.1f -> %.1f MiB; maps %.2f MiB" % (
                       rss0 / 1024, rss1 / 1024, sum(m.get("bytes_memlock", 0) for m in maps) / 2**20),
                    "< 16 MiB", rss1 < 16 * 1024)
    client.popen.stdin.write(b"\n")
    client.popen.stdin.flush()
    read_json_line(client, 60)
    client.wait(timeout=30)
    t_close = time.monotonic()
    m2 = None
    while time.monotonic() - t_close < 20:
        m2 = d.scrape()
        if m2.get("runway_bpfd_connections") == 0:
            break
        time.sleep(0.1)
    got = m2.get("runway_bpfd_connections")
    bench.table.add("6", "after the client closes them", "",
                    "runway_bpfd_connections %d after %.1f s; in flight %d, queued %d" % (
                       got, time.monotonic() - t_close, m2.get("runway_requests_in_flight") or 0,
                       m2.get("runway_requests_queued") or 0),
                    "0", got == 0 and m2.gauge() == 0)
    bench.table.raw["scale_idle"] = {"opened": opened, "connections_gauge": conns, "rss_kib": [rss0, rss1],
                                     "requests_counted": (m1.get("runway_requests_total") or 0) -
                                     (m0.get("runway_requests_total") or 0)}

    log("part 6: connection churn, %d s" % churn_s)
    m0 = d.scrape()
    rss0 = d.rss_kib()
    client = Proc(client_args("churn", uv.port, clients=64, duration=churn_s),
                  "churn-client", cpus={LOAD_CPU}, stdout=subprocess.PIPE,
                  log_path=bench.log_path("churn-client"))
    res = read_json_line(client, churn_s + 120)
    client.wait(timeout=30)
    t_end = time.monotonic()
    m1 = None
    while time.monotonic() - t_end < 20:
        m1 = d.scrape()
        if m1.get("runway_bpfd_connections") == 0 and m1.gauge() == 0:
            break
        time.sleep(0.1)
    rss1 = d.rss_kib()
    key = dict(method="GET", status="200")
    counted = (m1.get("runway_requests_total", **key) or 0) - (m0.get("runway_requests_total", **key) or 0)
    all_counted = (m1.get("runway_requests_total") or 0) - (m0.get("runway_requests_total") or 0)
    conns_counted = (m1.get("runway_bpfd_connections_total") or 0) - (m0.get("runway_bpfd_connections_total") or 0)
    lost = (m1.get("runway_bpfd_state_refused_total") or 0) - (m0.get("runway_bpfd_state_refused_total") or 0)
    untracked = (m1.get("runway_bpfd_connections_untracked_total") or 0) - \
        (m0.get("runway_bpfd_connections_untracked_total") or 0)
    rate = res["connections"] / res["elapsed"]
    bench.table.add("6", "churn: requests counted", "64 clients, new connection per request, %.0f conn/s for %.0f s"
                    % (rate, res["elapsed"]),
                    "%d of %d answered (200: %d); %d client errors" % (all_counted, res["requests"], counted,
                                                                      res["errors"]),
                    "= answered", counted == res["requests"] and all_counted == res["requests"])
    bench.table.add("6", "churn: state left behind", "",
                    "connections %d (seen %d of %d), in flight %d, queued %d, lost %d, untracked %d; "
                    "RSS %.1f -> %.1f MiB" % (
                       m1.get("runway_bpfd_connections"), conns_counted, res["connections"],
                       m1.get("runway_requests_in_flight") or 0, m1.get("runway_requests_queued") or 0,
                       lost, untracked, rss0 / 1024, rss1 / 1024),
                    "all 0, RSS flat",
                    m1.get("runway_bpfd_connections") == 0 and m1.gauge() == 0 and lost == 0 and
                    rss1 < rss0 + 2048)
    bench.table.raw["scale_churn"] = {"client": res, "counted_200": counted, "counted_all": all_counted,
                                      "connections_counted": conns_counted, "rss_kib": [rss0, rss1]}
    d.stop()
    uv.stop()
    storage_full(bench)


def storage_full(bench, k=50, requests_each=3):
    """Connection state the kernel refuses: socket-local storage is charged
    to the socket's option memory (net.core.optmem_max, per network
    namespace).  The target gets a namespace of its own with optmem_max 0:
    no connection of it can get state."""
    log("part 6: socket storage refused (optmem_max 0 in the target's netns)")
    uv = Uvicorn(bench, "hello_app:app", "uvloop", netns=True, name="hello-netns").start()
    d = Daemon(bench, uv.pid).start()
    ns = ["nsenter", "--net=/proc/%d/ns/net" % uv.pid]

    def set_optmem(v):
        subprocess.run(ns + ["sh", "-c", "echo %d > /proc/sys/net/core/optmem_max" % v], check=True)

    with open("/proc/sys/net/core/optmem_max") as f:
        default_optmem = int(f.read())
    m0 = d.scrape()

    def open_idle(count, reqs):
        p = Proc(ns + client_args("idle", uv.port, connections=count, concurrency=count,
                                  requests_per_connection=reqs),
                 "netns-client", cpus={LOAD_CPU}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                 log_path=bench.log_path("netns-client"))
        return p, read_json_line(p, 60)

    set_optmem(0)
    c1, o1 = open_idle(k, requests_each)
    time.sleep(0.5)
    m1 = d.scrape()
    set_optmem(default_optmem)
    c2, o2 = open_idle(k, 1)
    time.sleep(0.5)
    m2 = d.scrape()
    for c in (c1, c2):
        c.popen.stdin.write(b"\n")
        c.popen.stdin.flush()
        read_json_line(c, 30)
        c.wait(timeout=30)
    time.sleep(0.5)
    m3 = d.scrape()
    d.stop()
    uv.stop()

    def delta(a, b, name):
        return (b.get(name) or 0) - (a.get(name) or 0)

    lost = delta(m0, m1, "runway_bpfd_state_refused_total")
    bench.table.add("6", "socket storage refused (optmem_max 0)", "%d connections x %d requests, kept open" % (
        o1["opened"], requests_each),
        "state_refused_total +%d, connections %d, in flight %d, requests counted %d" % (
            lost, m1.get("runway_bpfd_connections"), m1.gauge(), delta(m0, m1, "runway_requests_total")),
        "refused >= requests sent (one data packet each, retried); gauges 0",
        lost >= o1["opened"] * requests_each and m1.get("runway_bpfd_connections") == 0 and m1.gauge() == 0)
    bench.table.add("6", "... then optmem_max restored", "%d more connections x 1 request" % o2["opened"],
                    "connections %d, requests counted %d; after close: connections %d, state_refused_total +%d" % (
                       m2.get("runway_bpfd_connections"), delta(m1, m2, "runway_requests_total"),
                       m3.get("runway_bpfd_connections"), delta(m1, m3, "runway_bpfd_state_refused_total")),
                    "= opened, then 0",
                    m2.get("runway_bpfd_connections") == o2["opened"] and
                    m3.get("runway_bpfd_connections") == 0)
    bench.table.raw["storage_full"] = {"lost_delta": lost, "connections": k, "requests_each": requests_each}
    bench.table.add("6", "other maps", "requests_by_status (per-CPU hash)",
                    "cannot fill from one target: 10 methods x 500 statuses < its 32768 entries; "
                    "a full map would count runway_bpfd_requests_lost_total", "(by construction)")
