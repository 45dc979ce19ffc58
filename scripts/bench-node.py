#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What the node mode costs a node with many pods, on a simulated node
(tests/integration/node.py): N pods running uvicorn, each in its own cgroup
and network namespace, plus pods running something else.

    scripts/bench-node.py --daemon build/runway-bpfd [--pods 110] [--driver systemd]

Measures, in one run:
  - start-up: from exec to /metrics answering with every pod attached;
  - the daemon's resident memory (steady, and its peak), its memory-cgroup
    charge (user and kernel: BPF maps, the verifier at load) at start, steady
    and peak, as a function of the node's possible CPUs for the manifest's
    limits, its descriptors, and its CPU while idle with every pod watched;
  - /metrics with every pod counted: series, bytes, scrape time (median, p99);
  - BPF: programs, links, and the maps' memory (bpftool);
  - unwatched pods: no program is attached to their cgroups (bpftool cgroup
    show), the cgroup programs' run count does not move while they serve
    requests (BPF_ENABLE_STATS), and what the node-wide tracepoints cost per
    run meanwhile (their throughput is not compared: on a shared machine
    the rounds scatter far more than any difference could be);
  - watched pods: BPF run time per request, for comparison.

Prints a Markdown table and writes it to build/bench-node.md.  Needs root;
takes about 3 minutes for 110 pods on 2 CPUs.
"""

import argparse
import ctypes
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import env  # noqa: E402
import fixtures  # noqa: E402
import node as simulated  # noqa: E402

_spec = importlib.util.spec_from_file_location("measure_memory", os.path.join(REPO, "scripts", "measure-memory.py"))
measure_memory = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(measure_memory)

# A minimal ASGI app: 110 FastAPI processes would measure FastAPI's memory.
HELLO_APP = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    status = 404 if scope["path"].startswith("/missing") else 200
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
'''


def log(fmt, *args):
    print("bench-node: " + (fmt % args if args else fmt), file=sys.stderr, flush=True)


class BpfRunTimeStats:
    """BPF_ENABLE_STATS(BPF_STATS_RUN_TIME) while the fd is open."""

    BPF_ENABLE_STATS = 32
    SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())

    def __enter__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        attr = ctypes.create_string_buffer(8)
        self.fd = libc.syscall(self.SYS_BPF, self.BPF_ENABLE_STATS, attr, 4)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "BPF_ENABLE_STATS")
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def bpftool(*args):
    out = subprocess.run(["bpftool", "-j"] + list(args), capture_output=True, text=True, check=True).stdout
    return json.loads(out or "[]")


def daemon_programs(pod_cgroup):
    """This daemon's programs: those on a pod it watches, and the tracepoint
    programs that share their maps (other daemons on the machine have maps
    of their own)."""
    attached = {p["id"] for p in bpftool("cgroup", "show", pod_cgroup) if p.get("name", "").startswith("runway_")}
    progs = bpftool("prog", "show")
    maps = {m for p in progs if p["id"] in attached for m in p.get("map_ids", [])}
    return [p for p in progs if p.get("name", "").startswith("runway_") and maps & set(p.get("map_ids", []))]


def run_counts(progs):
    """{name: (run_cnt, run_time_ns)} of the daemon's programs, now."""
    ids = {p["id"] for p in progs}
    return {p["name"]: (p.get("run_cnt", 0), p.get("run_time_ns", 0))
            for p in bpftool("prog", "show") if p["id"] in ids}


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ab_in_pod(pod, requests, concurrency=4):
    """Requests per second of ab inside the pod's network namespace (the
    rate itself is not reported: on a shared machine it is noise)."""
    out = subprocess.run(pod._in_netns(["taskset", "-c", "1", "ab", "-q", "-k", "-n", str(requests),
                                        "-c", str(concurrency),
                                        "http://127.0.0.1:%d/" % pod.port]),
                         capture_output=True, text=True, timeout=300).stdout
    m = re.search(r"Requests per second:\s+([\d.]+)", out)
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    if not m or (failed and int(failed.group(1))):
        raise RuntimeError("ab in pod %s: %s" % (pod.name, out[-500:]))
    return float(m.group(1))


def start_pods(node, count, app_dir, prefix, argv_of, ready_path):
    """Starts `count` pods without waiting, then waits for each."""
    qos_cycle = ("guaranteed", "burstable", "besteffort")
    runtimes = ("containerd", "crio", "docker")
    pods = []
    for i in range(count):
        pod = node.add_pod("bench", "%s-%03d" % (prefix, i), qos=qos_cycle[i % 3], runtime=runtimes[i % 3])
        c = pod.start_container("app", argv_of(app_dir), ready_path=None, cpu=i % os.cpu_count())
        pods.append((pod, c))
    for pod, c in pods:
        pod.wait_ready(c, ready_path, timeout=120)
    return [pod for pod, _ in pods]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--pods", type=int, default=110, help="pods running uvicorn (default 110)")
    ap.add_argument("--others", type=int, default=10, help="pods running something else (default 10)")
    ap.add_argument("--driver", choices=("systemd", "cgroupfs"), default="systemd")
    ap.add_argument("--output", default=os.path.join(REPO, "build", "bench-node.md"))
    args = ap.parse_args()

    env.pin_to(1)
    workdir = tempfile.mkdtemp(prefix="runway-bench-node-")
    app_dir = os.path.join(workdir, "app")
    os.makedirs(app_dir)
    with open(os.path.join(app_dir, "hello.py"), "w") as f:
        f.write(HELLO_APP)
    rows = []

    def row(what, value):
        rows.append((what, value))
        log("%s: %s", what, value)

    node = simulated.SimulatedNode(workdir, args.driver)
    daemon = memory = None
    try:
        t0 = time.monotonic()
        watched = start_pods(node, args.pods, app_dir, "api", lambda d: [
            fixtures.PYTHON, "-m", "uvicorn", "hello:app", "--app-dir", d, "--host", "127.0.0.1",
            "--port", str(simulated.POD_PORT), "--lifespan", "off", "--log-level", "warning",
            "--no-access-log"], "/")
        others = start_pods(node, args.others, app_dir, "static", lambda d: [
            fixtures.PYTHON, "-m", "http.server", "--bind", "127.0.0.1", str(simulated.POD_PORT),
            "--directory", d], "/")
        log("%d + %d pods started in %.0f s", len(watched), len(others), time.monotonic() - t0)

        probe_pod = others[0]
        ab_in_pod(probe_pod, 2000)  # warm-up

        daemon_args = node.daemon_args(*(["--max-pods", str(args.pods)] if args.pods > 110 else []))
        # In a memory cgroup of its own, as in a pod with a memory limit.
        memory = measure_memory.MemoryCgroup()
        start = time.monotonic()
        daemon = fixtures.Daemon("/bin/sh", ["-c", 'echo $$ > %s && exec "$0" "$@"' % memory.procs_file(),
                                             os.path.abspath(args.daemon)] + daemon_args, workdir, name="daemon")
        daemon.start(timeout=300)
        ready_s = time.monotonic() - start
        at_start = memory.sample()
        expo = daemon.scrape()
        row("pods watched / present", "%d of %d (runway_bpfd_targets %d)" %
            (len(watched), len(watched) + len(others), expo.get("runway_bpfd_targets")))
        row("start-up, exec to /metrics with every pod attached", "%.2f s" % ready_s)

        # Traffic in every watched pod: each gets its own series.
        for pod in watched:
            pod.load([["GET", "/", 20, "keepalive"], ["GET", "/missing", 2, "oneshot"],
                      ["POST", "/", 1, "oneshot"]])
        expo = daemon.scrape()
        counted = sum(s.value for s in expo.select("runway_requests_total"))
        row("requests counted after 23 in each pod", "%d of %d" % (counted, 23 * len(watched)))

        texts, times = [], []
        for _ in range(50):
            t = time.monotonic()
            texts.append(daemon.scrape_text())
            times.append(time.monotonic() - t)
        text = texts[-1]
        series = [line for line in text.splitlines() if line and not line.startswith("#")]
        per_pod = len([s for s in series if 'pod="%s"' % watched[0].name in s])
        times.sort()
        row("series / bytes per scrape", "%d series (%d per pod), %d KiB" %
            (len(series), per_pod, len(text) // 1024))
        row("scrape time (50 scrapes, client side)", "median %.1f ms, p99 %.1f ms" %
            (statistics.median(times) * 1e3, times[int(len(times) * 0.99) - 1] * 1e3))

        pid = daemon.proc.pid
        cpu0, t = cpu_seconds(pid), time.monotonic()
        time.sleep(30)
        idle_cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t)
        status = proc_status(pid)
        row("daemon resident memory", "%s steady, %s peak (VmHWM)" % (status["VmRSS"], status["VmHWM"]))
        steady = memory.sample()
        row("memory-cgroup charge (user + kernel), MiB",
            "start %s (%s + %s), steady %s (%s + %s), peak %s" % (
                measure_memory.mib(at_start["total"]), measure_memory.mib(at_start["user"]),
                measure_memory.mib(at_start["kernel"]), measure_memory.mib(steady["total"]),
                measure_memory.mib(steady["user"]), measure_memory.mib(steady["kernel"]),
                measure_memory.mib(steady["peak"])))
        maps = measure_memory.bpf_maps(pid)
        per_cpu = sum(measure_memory.per_cpu_bytes(m) for m in maps)
        cpus = measure_memory.possible_cpus()
        fixed_peak = steady["peak"] - per_cpu * cpus
        row("per-CPU maps at full size, per possible CPU (%d pods watched, 2 slots each)" % expo.get("runway_bpfd_targets", 0),
            "%.0f KiB; peak charge for N possible CPUs: %.1f MiB + %.0f KiB x N (N=16: %.0f MiB, 64: %.0f MiB, "
            "192: %.0f MiB), plus the allocation caches of the per-CPU hashes" % (
                per_cpu / 1024, fixed_peak / 2**20, per_cpu / 1024,
                (fixed_peak + per_cpu * 16) / 2**20, (fixed_peak + per_cpu * 64) / 2**20,
                (fixed_peak + per_cpu * 192) / 2**20))
        row("daemon CPU, idle, no scrapes, %d pods watched" % len(watched), "%.2f %% of a CPU" % (idle_cpu * 100))
        row("daemon file descriptors", "%d" % len(os.listdir("/proc/%d/fd" % pid)))

        progs = daemon_programs(watched[0].cgroup)
        map_ids = sorted({m for p in progs for m in p.get("map_ids", [])})
        maps = [m for m in bpftool("map", "show") if m["id"] in map_ids]
        links = [lk for lk in bpftool("link", "show") if lk.get("prog_id") in {p["id"] for p in progs}]
        row("BPF programs / links", "%d programs (%d KiB JIT), %d links (2 per pod + tracepoints)" %
            (len(progs), sum(p.get("bytes_jited", 0) for p in progs) // 1024, len(links)))
        row("BPF maps (bytes_memlock)", "%.2f MiB: %s" % (
            sum(m.get("bytes_memlock", 0) for m in maps) / 2**20,
            ", ".join("%s %d KiB" % (m["name"], m.get("bytes_memlock", 0) // 1024)
                      for m in sorted(maps, key=lambda m: -m.get("bytes_memlock", 0))[:4])))

        # Unwatched pods: nothing attached to their cgroups.
        attached = subprocess.run(["bpftool", "-j", "cgroup", "show", probe_pod.cgroup],
                                  capture_output=True, text=True).stdout.strip()
        row("programs on an unwatched pod's cgroup (bpftool cgroup show)",
            "none" if attached in ("", "[]") else attached)
        with BpfRunTimeStats():
            before = run_counts(progs)
            ab_in_pod(probe_pod, 5000)
            after = run_counts(progs)
            cgroup_runs = sum(after[n][0] - before[n][0] for n in ("runway_ingress", "runway_egress"))
            read_runs = {n: after[n][0] - before[n][0] for n in after if n not in ("runway_ingress", "runway_egress")}
            read_ns = {n: (after[n][1] - before[n][1]) / max(1, read_runs[n]) for n in read_runs}
            row("cgroup program runs for 5000 requests to an unwatched pod", "%d" % cgroup_runs)
            row("node-wide tracepoints meanwhile (every TCP read and state change of the machine)",
                ", ".join("%s %.0f ns/run" % (n, read_ns[n]) for n in sorted(read_runs)))

            before = run_counts(progs)
            watched[0].load([["GET", "/", 2000, "keepalive"]])
            after = run_counts(progs)
            per_request = {n: (after[n][1] - before[n][1]) / 2000 for n in after}
            row("BPF run time per request, watched pod (keep-alive)",
                "%.0f ns: %s" % (sum(per_request.values()),
                                 ", ".join("%s %.0f ns" % (n, v) for n, v in sorted(per_request.items()))))
    finally:
        if daemon is not None:
            daemon.stop()
        node.remove()
        if memory is not None:
            memory.remove()

    table = ["| what | measured |", "|---|---|"] + ["| %s | %s |" % r for r in rows]
    head = "Node mode, %d uvicorn pods + %d others, %s driver, %s, %d CPUs" % (
        args.pods, args.others, args.driver, platform.release(), os.cpu_count())
    out = "\n".join([head, ""] + table) + "\n"
    print(out)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
