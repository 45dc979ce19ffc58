# SPDX-License-Identifier: MIT
"""Part 4, accuracy: the time-averaged queued + in-flight gauge against the
clients' ground truth.

Method.  bench/closedloop.c: N closed-loop clients (N = 1, 4, 16, 64, 256 on
uvloop+httptools; 1, 16, 256 on asyncio+h11) on tests/apps/sample_app.py's
/sleep?ms=200 (async), /sync?ms=50 (thread pool, 40 threads: queues above
that) and /block?ms=20 (blocks the loop), keep-alive and a new connection per
request.  Ground truth: the time-averaged number of requests outstanding as
the clients saw them (each request's start and end, clipped to the interval).
Measured: the increase of runway_requests_in_flight_seconds_total +
runway_requests_queued_seconds_total between two scrapes 4 s apart, divided by
the interval.  After every cell the gauges must come back to 0.  Also: the
seed's in-app gauge, sampled at 20 Hz from its metrics thread, on the same
routes with N = 16.

The clients are in C to keep their own time per request small: what remains
(column "client-side us/req") is time the server's kernel cannot see, mostly
the client's wake-up after the last response byte left.
"""

import json
import os
import threading
import time

from common import (LOAD_CPU, SAMPLE_APP_DIR, STACK_LABEL, Daemon, Metrics, Proc, Uvicorn, fmt_pct,
                    free_port, http_get, log)

NUMBER = 4
NAME = "accuracy"
TITLE = "time-averaged gauges against the clients' truth"


def accuracy_cell(bench, uv, scrape, route, path, n, new_conn, warm, measure):
    out = os.path.join(bench.logdir, "closed-%s-%d-%s.json" % (route, n, "new" if new_conn else "ka"))
    duration = warm + measure + 1.0
    proc = Proc([bench.tools["closedloop"], str(uv.port), path, str(n), str(duration),
                 "new" if new_conn else "keepalive", out],
                "closedloop", cpus={LOAD_CPU}, log_path=bench.log_path("closedloop"))
    t_launch = time.monotonic()
    time.sleep(warm)
    m0 = scrape()
    time.sleep(measure)
    m1 = scrape()
    proc.wait(timeout=duration + 60)
    with open(out) as f:
        data = json.load(f)
    if data["started"] > m0.t:
        raise RuntimeError("the client started after the first scrape (%.2f s after launch)" %
                           (data["started"] - t_launch))
    t0, t1 = m0.t, m1.t
    truth = sum(max(0.0, min(e, t1) - max(s, t0)) for s, e in data["records"]) / (t1 - t0)
    answered = sum(1 for s, e in data["records"] if t0 <= e <= t1)
    # Mean client latency of the requests wholly inside the interval.
    inside = [e - s for s, e in data["records"] if t0 <= s and e <= t1]
    return {"truth": truth, "m0": m0, "m1": m1, "interval": t1 - t0, "answered": answered,
            "client_latency": sum(inside) / len(inside) if inside else None,
            "errors": data["errors"], "error_kinds": data["error_kinds"]}


def wait_idle(d, timeout=30.0):
    """Seconds until the daemon's gauges are back at 0, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        m = d.scrape()
        if m.gauge() == 0:
            return time.monotonic() - t0
        time.sleep(0.1)
    return None


def run(bench):
    warm, measure = (0.8, 2.0) if bench.quick else (1.0, 4.0)
    routes = [("sleep", "/sleep?ms=200"), ("sync", "/sync?ms=50"), ("block", "/block?ms=20")]
    if bench.quick:
        matrix = {"uvloop": [1, 16, 256], "asyncio": [16]}
    else:
        matrix = {"uvloop": [1, 4, 16, 64, 256], "asyncio": [1, 16, 256]}
    results = bench.table.raw.setdefault("accuracy", [])
    stuck = []
    for stack, ns in matrix.items():
        label = STACK_LABEL[stack]
        log("part 4: accuracy, %s, N=%s" % (label, ns))
        uv = Uvicorn(bench, "sample_app:app", stack, app_dir=SAMPLE_APP_DIR,
                     name="sample-" + stack).start()
        d = Daemon(bench, uv.pid).start()
        for route, path in routes:
            for new_conn in (False, True):
                errs = []
                for n in ns:
                    c = accuracy_cell(bench, uv, d.scrape, route, path, n, new_conn, warm, measure)
                    m0, m1 = c["m0"], c["m1"]
                    measured = (m1.integral() - m0.integral()) / c["interval"]
                    in_flight = ((m1.get("runway_requests_in_flight_seconds_total") or 0) -
                                 (m0.get("runway_requests_in_flight_seconds_total") or 0)) / c["interval"]
                    err = (measured / c["truth"] - 1) * 100 if c["truth"] else float("nan")
                    # Requests the daemon saw answered, and the time per
                    # request that the clients saw and the server's kernel
                    # could not (client wake-up, connect, parsing).
                    counted = (m1.get("runway_requests_total") or 0) - (m0.get("runway_requests_total") or 0)
                    unseen_us = ((c["truth"] - measured) * c["interval"] / c["answered"] * 1e6
                                 if c["answered"] else float("nan"))
                    drained = wait_idle(d)
                    if drained is None:
                        stuck.append("%s %s N=%d %s" % (label, route, n, "new" if new_conn else "ka"))
                    rec = {"stack": stack, "route": route, "n": n,
                           "connection": "new" if new_conn else "keep-alive",
                           "truth": c["truth"], "measured": measured, "in_flight": in_flight,
                           "queued": measured - in_flight, "error_pct": err,
                           "answered_per_s": c["answered"] / c["interval"],
                           "answered": c["answered"], "counted": counted,
                           "client_latency_ms": (c["client_latency"] or 0) * 1e3,
                           "client_side_us_per_request": unseen_us,
                           "client_errors": c["errors"], "client_error_kinds": c["error_kinds"],
                           "drain_s": drained}
                    results.append(rec)
                    errs.append((n, err))
                    log("  %s %-5s N=%-3d %-10s truth %7.2f runway %7.2f (in flight %7.2f, "
                        "queued %7.2f) err %+6.2f%% %5.0f req/s (counted %d/%d), client-side %.0f us/req, "
                        "client errors %d, drained in %s" % (
                            label, route, n, rec["connection"], c["truth"], measured, in_flight,
                            measured - in_flight, err, rec["answered_per_s"], counted, c["answered"],
                            unseen_us, c["errors"],
                            "%.1f s" % drained if drained is not None else "NEVER"))
                worst = max(abs(e) for _, e in errs)
                bench.table.add("4", "mean gauge error, %s route" % {
                    "sleep": "async sleep 200 ms", "sync": "thread pool 50 ms",
                    "block": "loop-blocking 20 ms"}[route],
                    "%s, %s" % (label, "keep-alive" if not new_conn else "new connection/request"),
                    ", ".join("N=%d %s" % (n, fmt_pct(e)) for n, e in errs),
                    "within 2 %", worst <= 2.0)
        d.stop()
        uv.stop()
    bench.table.add("4", "gauges back at 0 after every cell", "all of part 4",
                    "yes" if not stuck else "stuck: " + "; ".join(stuck), "0 when idle",
                    not stuck)
    d_lines = [
        "### Part 4, every cell",
        "",
        "truth: time-averaged requests outstanding as the clients saw them; runway: increase of "
        "runway_requests_in_flight_seconds_total + runway_requests_queued_seconds_total over the same "
        "interval / interval.  client-side: the time per request that the clients saw and the "
        "server's kernel cannot (client wake-up, connect, parsing), = (truth - runway) x interval / "
        "requests.",
        "",
        "| stack | route | connection | N | truth | runway (in flight + queued) | error | req/s | "
        "counted / answered | client-side us/req |",
        "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        d_lines.append("| %s | %s | %s | %d | %.2f | %.2f (%.2f + %.2f) | %s | %.0f | %d / %d | %.0f |" % (
            STACK_LABEL[r["stack"]], r["route"], r["connection"], r["n"], r["truth"], r["measured"],
            r["in_flight"], r["queued"], fmt_pct(r["error_pct"], 2), r["answered_per_s"],
            r["counted"], r["answered"], r["client_side_us_per_request"]))
    bench.table.details += d_lines + [""]
    if not bench.quick:
        seed_accuracy(bench, routes, warm, measure)


def seed_accuracy(bench, routes, warm, measure, n=16):
    """The seed's in-app gauge, sampled by its metrics thread, on the same routes."""
    log("part 4: the seed's gauge, N=%d keep-alive" % n)
    port = free_port()
    uv = Uvicorn(bench, "seed_middleware_app:sample", "uvloop", env={"SEED_METRICS_PORT": port},
                 name="seed-sample").start()
    out = []
    for route, path in routes:
        samples = []
        stop = threading.Event()

        def sampler():
            while not stop.wait(0.05):
                try:
                    status, body = http_get(port, "/metrics", timeout=5)
                    v = Metrics(body.decode(), 0).get("runway_requests_in_flight")
                    samples.append(v)
                except OSError:
                    pass

        thread = None

        def scrape():
            nonlocal thread
            m = Metrics("", time.monotonic())
            if thread is None:
                thread = threading.Thread(target=sampler, daemon=True)
                thread.start()
            else:
                stop.set()
                thread.join()
            return m

        c = accuracy_cell(bench, uv, scrape, route, path, n, False, warm, measure)
        mean = sum(samples) / len(samples) if samples else float("nan")
        out.append((route, c["truth"], mean))
        bench.table.raw.setdefault("seed_accuracy", []).append(
            {"route": route, "n": n, "truth": c["truth"], "seed_mean_gauge": mean,
             "samples": len(samples)})
        time.sleep(1.0 if route != "block" else 0.5 + n * 0.02)
    uv.stop()
    bench.table.add("4", "seed's in-app gauge (sampled at 20 Hz)", "uvloop+httptools, N=%d keep-alive" % n,
                    ", ".join("%s %s" % (r, fmt_pct((m / t - 1) * 100, 0)) for r, t, m in out),
                    "(info: blind to the kernel queue)")
