#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""runway-bpfd benchmarks: overhead and accuracy, side by side with the seed.

    make bench                       # = /usr/bin/python3 scripts/bench.py --daemon build/runway-bpfd
    scripts/bench.py --quick ...     # a reduced matrix, for development
    scripts/bench.py --only 1,4 ...  # some parts only

Prints one table (also written to build/bench-results.md, raw figures to
build/bench-results.json).  The target (uvicorn) runs pinned to CPU 0 in a
cgroup v2 directory of its own; this script, the load generators and the
clients run on CPU 1.  Configurations are alternated round by round and the
table gives medians.

  1. target cost    CPU per request of a uvicorn hello world: no observer,
                    runway-bpfd attached, the seed's middleware (bench/
                    seed_middleware_app.py); uvloop+httptools and asyncio+h11
  2. node cost      an unwatched process looping on getppid() and 1-byte
                    socket send/recv, without and with the daemon
  3. daemon cost    its CPU per million target requests, RSS, BPF map memory
  4. accuracy       time-averaged gauge against the clients' ground truth
  5. scrape latency /metrics under load, daemon and the seed's metrics thread
  6. scale          10,000 idle connections, connection churn, a full map

Everything started here (uvicorn, daemons, clients, cgroups, network
namespaces) is stopped and removed on exit, on error and on Ctrl-C.
"""

import argparse
import ctypes
import datetime
import json
import os
import platform
import re
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# The integration tests' helpers for cgroups and ports serve the bench too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import env  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")
SAMPLE_APP_DIR = os.path.join(REPO, "tests", "apps")
BUILD = os.path.join(REPO, "build")
PYTHON = "/usr/bin/python3"
TARGET_CPU = 0
LOAD_CPU = 1
CGROUP_PREFIX = "runway-bench-"

STACKS = {"uvloop": ("uvloop", "httptools"), "asyncio": ("asyncio", "h11")}
STACK_LABEL = {"uvloop": "uvloop+httptools", "asyncio": "asyncio+h11"}

T_START = time.monotonic()


def log(msg):
    sys.stderr.write("[bench %6.1fs] %s\n" % (time.monotonic() - T_START, msg))
    sys.stderr.flush()


def median(xs):
    return statistics.median(xs) if xs else float("nan")


# --------------------------------------------------------------------------
# Everything we start, so that it is all stopped on the way out.

class Registry:
    def __init__(self):
        self.items = []  # objects with .stop()
        self.lock = threading.Lock()

    def add(self, item):
        with self.lock:
            self.items.append(item)
        return item

    def discard(self, item):
        with self.lock:
            if item in self.items:
                self.items.remove(item)

    def stop_all(self):
        while True:
            with self.lock:
                if not self.items:
                    return
                item = self.items.pop()
            try:
                item.stop()
            except Exception as e:  # noqa: BLE001 - best effort on the way out
                log("cleanup of %r failed: %s" % (item, e))


LIVE = Registry()


class Proc:
    """A child process in a session of its own; stop() ends its process group."""

    def __init__(self, args, name, cpus=None, stdin=None, stdout=None, stderr=None,
                 log_path=None, env=None):
        self.name = name
        self.log_path = log_path
        out = stdout
        err = stderr
        self._log = None
        if log_path is not None:
            self._log = open(log_path, "ab")
            out = out if out is not None else self._log
            err = err if err is not None else self._log

        def preexec():
            if cpus is not None:
                os.sched_setaffinity(0, cpus)

        self.popen = subprocess.Popen(args, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                      stdout=out, stderr=err, start_new_session=True,
                                      preexec_fn=preexec, env=env)
        self.pid = self.popen.pid
        LIVE.add(self)

    def alive(self):
        return self.popen.poll() is None

    def wait(self, timeout=None):
        rc = self.popen.wait(timeout=timeout)
        self._done()
        return rc

    def _done(self):
        LIVE.discard(self)
        if self._log:
            self._log.close()
            self._log = None

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=5)
        self._done()
        return self.popen.returncode

    def __repr__(self):
        return "<%s pid %d>" % (self.name, self.pid)


class Cgroup(env.Cgroup):
    """The test harness's cgroup, registered for clean-up and with its CPU use."""

    def __init__(self):
        if env.cgroup2_mount() is None:
            raise SystemExit("bench: no cgroup2 filesystem in /proc/mounts")
        super().__init__(prefix=CGROUP_PREFIX)
        LIVE.add(self)

    def usage_us(self):
        with open(os.path.join(self.path, "cpu.stat")) as f:
            for line in f:
                k, v = line.split()
                if k == "usage_usec":
                    return int(v)
        raise RuntimeError("no usage_usec in %s/cpu.stat" % self.path)

    def stop(self):
        self.remove()
        LIVE.discard(self)


def remove_stale_cgroups():
    """Empty leftovers of a bench run that was SIGKILLed."""
    env.remove_stale_cgroups(CGROUP_PREFIX)


free_port = env.free_port
http_get = env.http_get


def listening(pid, port):
    """pid's network namespace has a TCP socket listening on port."""
    for table in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except (OSError, StopIteration):
            pass
    return False


def tail(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)


# --------------------------------------------------------------------------
# The processes under test.

class Uvicorn:
    """uvicorn in a cgroup v2 directory of its own, pinned to TARGET_CPU.
    With netns=True it runs in a new network namespace (loopback only)."""

    def __init__(self, ctx, app, stack="uvloop", app_dir=BENCH, env=None, extra=(),
                 netns=False, name="uvicorn"):
        self.ctx = ctx
        self.app = app
        self.stack = stack
        self.app_dir = app_dir
        self.env = env or {}
        self.extra = list(extra)
        self.netns = netns
        self.name = name
        self.port = None
        self.proc = None
        self.cgroup = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=30.0):
        self.cgroup = Cgroup()
        self.port = free_port()
        loop, http_impl = STACKS[self.stack]
        args = [PYTHON, "-m", "uvicorn", self.app, "--app-dir", self.app_dir,
                "--host", "127.0.0.1", "--port", str(self.port), "--loop", loop,
                "--http", http_impl, "--ws", "none", "--log-level", "warning",
                "--no-access-log"] + self.extra
        env_prefix = " ".join("%s=%s" % (k, shlex.quote(str(v))) for k, v in self.env.items())
        script = "echo $$ > %s && %sexec %s taskset -c %d %s" % (
            shlex.quote(os.path.join(self.cgroup.path, "cgroup.procs")),
            "ip link set lo up && " if self.netns else "",
            ("env " + env_prefix) if env_prefix else "",
            TARGET_CPU, " ".join(shlex.quote(a) for a in args))
        argv = (["unshare", "--net"] if self.netns else []) + ["sh", "-c", script]
        self.proc = Proc(argv, self.name, log_path=self.ctx.log_path(self.name))
        deadline = time.monotonic() + timeout
        while not listening(self.pid, self.port):
            if not self.proc.alive():
                raise RuntimeError("%s exited before listening:\n%s" %
                                   (self.name, tail(self.proc.log_path)))
            if time.monotonic() > deadline:
                raise RuntimeError("%s did not listen within %.0f s:\n%s" %
                                   (self.name, timeout, tail(self.proc.log_path)))
            time.sleep(0.05)
        if not self.netns:
            status, _ = http_get(self.port, "/healthz")
            if status != 200:
                raise RuntimeError("%s answered %d on /healthz" % (self.name, status))
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
        if self.cgroup is not None:
            self.cgroup.stop()

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)


def parse_exposition(text):
    """{(name, ((label, value), ...)): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)", line)
        if not m:
            continue
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


class Metrics:
    def __init__(self, text, t_mid):
        self.series = parse_exposition(text)
        self.t = t_mid

    def get(self, name, **labels):
        """Sum of the series of `name` whose labels include `labels`."""
        want = set(labels.items())
        total, found = 0.0, False
        for (n, ls), v in self.series.items():
            if n == name and want <= set(ls):
                total += v
                found = True
        return total if found else None

    def integral(self):
        return (self.get("runway_requests_in_flight_seconds_total") or 0.0) + \
               (self.get("runway_requests_queued_seconds_total") or 0.0)

    def gauge(self):
        return (self.get("runway_requests_in_flight") or 0.0) + \
               (self.get("runway_requests_queued") or 0.0)


class Daemon:
    def __init__(self, ctx, target_pid, name="runway-bpfd"):
        self.ctx = ctx
        self.target_pid = target_pid
        self.name = name
        self.port = None
        self.proc = None
        self.start_seconds = None
        self.exit_code = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=30.0):
        self.port = free_port()
        args = [self.ctx.daemon, "--pid", str(self.target_pid),
                "--listen", "127.0.0.1:%d" % self.port]
        t0 = time.monotonic()
        # Not pinned: the daemon floats over every CPU, as it would on a node.
        self.proc = Proc(args, self.name, cpus=set(range(os.cpu_count())),
                         log_path=self.ctx.log_path(self.name))
        deadline = t0 + timeout
        while True:
            if not self.proc.alive():
                raise RuntimeError("runway-bpfd exited with %s before serving /metrics:\n%s" %
                                   (self.proc.popen.returncode, tail(self.proc.log_path)))
            try:
                if http_get(self.port, "/metrics", timeout=2.0)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("runway-bpfd did not serve /metrics within %.0f s:\n%s" %
                                   (timeout, tail(self.proc.log_path)))
            time.sleep(0.01)
        self.start_seconds = time.monotonic() - t0
        return self

    def scrape(self, timeout=10.0):
        t0 = time.monotonic()
        try:
            status, body = http_get(self.port, "/metrics", timeout=timeout)
        except OSError as e:
            rc = self.proc.popen.poll()
            if rc is not None:
                raise RuntimeError("runway-bpfd (pid %d) is gone: %s%s; its log ends:\n%s" % (
                    self.pid, "killed by signal %d" % -rc if rc < 0 else "exit status %d" % rc,
                    " (not by this bench)" if rc < 0 else "", tail(self.proc.log_path))) from e
            raise
        t1 = time.monotonic()
        if status != 200:
            raise RuntimeError("runway-bpfd /metrics answered %d" % status)
        return Metrics(body.decode(), (t0 + t1) / 2)

    def cpu_ns(self):
        return process_cpu_ns(self.pid)

    def rss_kib(self):
        return proc_status_kib(self.pid, "VmRSS")

    def hwm_kib(self):
        return proc_status_kib(self.pid, "VmHWM")

    def stop(self):
        if self.proc is None:
            return None
        self.exit_code = self.proc.stop(signal.SIGTERM, timeout=10.0)
        return self.exit_code


def process_cpu_ns(pid):
    """CPU time of every thread of pid, in ns (sum_exec_runtime)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            pass
    return total


def proc_status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def children_cpu_s():
    """CPU time of the children this process has waited for (utime + stime,
    whose sum the kernel keeps equal to the precise runtime)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def node_busy_s():
    """Non-idle time of all CPUs (user, nice, system, irq, softirq), seconds."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    user, nice, system, idle, iowait, irq, softirq = (int(x) for x in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------
# BPF objects of a daemon, from its file descriptors.

def bpf_ids_of(pid):
    progs, maps = set(), set()
    fd_dir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                text = f.read()
        except OSError:
            continue
        for m in re.finditer(r"^prog_id:\s*(\d+)", text, re.M):
            progs.add(int(m.group(1)))
        for m in re.finditer(r"^map_id:\s*(\d+)", text, re.M):
            maps.add(int(m.group(1)))
    return progs, maps


def bpftool_json(*args):
    out = subprocess.run(["bpftool", "-j"] + list(args), capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out or "[]")


def daemon_bpf_objects(pid):
    """(programs, maps) of the daemon: bpftool's JSON for each."""
    prog_ids, map_ids = bpf_ids_of(pid)
    progs = [p for p in bpftool_json("prog", "show") if p["id"] in prog_ids]
    for p in progs:
        map_ids.update(p.get("map_ids", []))
    maps = [m for m in bpftool_json("map", "show") if m["id"] in map_ids]
    return progs, maps


def foreign_runway_programs(own_ids=()):
    return [p for p in bpftool_json("prog", "show")
            if p.get("name", "").startswith("runway_") and p["id"] not in own_ids]


class BpfRunTimeStats:
    """BPF_ENABLE_STATS(BPF_STATS_RUN_TIME) for as long as the fd is open: the
    kernel counts run_time_ns and run_cnt of every program, and stops when the
    fd closes (also if we die)."""

    BPF_ENABLE_STATS = 32
    SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())

    def __enter__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        attr = ctypes.create_string_buffer(8)  # union bpf_attr: enable_stats.type = 0
        if self.SYS_BPF is None:
            raise OSError("bpf syscall number unknown on %s" % platform.machine())
        self.fd = libc.syscall(self.SYS_BPF, self.BPF_ENABLE_STATS, attr, 4)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "BPF_ENABLE_STATS")
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


# --------------------------------------------------------------------------
# Load generators.

def wrk(url, connections=16, seconds=4, headers=()):
    args = ["taskset", "-c", str(LOAD_CPU), "wrk", "-t1", "-c%d" % connections,
            "-d%ds" % seconds, "--timeout", "10s"]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", out)
    if not m:
        raise RuntimeError("cannot parse wrk's output:\n" + out)
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(3)]
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests": int(m.group(1)), "seconds": float(m.group(2)) * scale,
            "errors": errors + (int(non2xx.group(1)) if non2xx else 0)}


class BackgroundWrk:
    def __init__(self, ctx, url, connections, seconds):
        self.proc = Proc(["taskset", "-c", str(LOAD_CPU), "wrk", "-t1", "-c%d" % connections,
                          "-d%ds" % seconds, url], "wrk", stdout=subprocess.DEVNULL,
                         log_path=ctx.log_path("wrk"))

    def stop(self):
        self.proc.stop(signal.SIGINT)


def client_args(mode, port, **kw):
    args = [PYTHON, os.path.join(BENCH, "loadclient.py"), mode, "--port", str(port)]
    for k, v in kw.items():
        if v is True:
            args.append("--" + k.replace("_", "-"))
        elif v not in (None, False):
            args += ["--" + k.replace("_", "-"), str(v)]
    return args


def read_json_line(proc, timeout):
    """The next line of proc's stdout, as JSON, within timeout seconds."""
    result = {}

    def reader():
        result["line"] = proc.popen.stdout.readline()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    line = result.get("line")
    if not line:
        raise RuntimeError("%s printed nothing within %.0f s (log: %s):\n%s" %
                           (proc.name, timeout, proc.log_path, tail(proc.log_path)))
    return json.loads(line)


# --------------------------------------------------------------------------
# The table.

class Table:
    def __init__(self):
        self.rows = []   # (part, what, config, measured, goal, verdict)
        self.details = []  # extra markdown lines
        self.raw = {}

    def add(self, part, what, config, measured, goal="", ok=None):
        verdict = "" if ok is None else ("pass" if ok else "FAIL")
        self.rows.append((part, what, config, measured, goal, verdict))
        log("%s | %s | %s | %s | %s | %s" % (part, what, config, measured, goal, verdict))

    def render(self, header_lines, details=True):
        cols = ("#", "what", "configuration", "measured", "goal", "result")
        lines = list(header_lines) + [""]
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("|" + "|".join("---" for _ in cols) + "|")
        for r in self.rows:
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in r) + " |")
        if details and self.details:
            lines += [""] + self.details
        return "\n".join(lines) + "\n"


def fmt_pct(x, digits=1):
    return ("%+." + str(digits) + "f %%") % x


def median_se(xs):
    """Standard error of the median of xs (normal approximation)."""
    if len(xs) < 3:
        return float("inf")
    return 1.2533 * statistics.stdev(xs) / len(xs) ** 0.5


def pm(x):
    return "+/- %.2f" % x if x != float("inf") else "+/- ?"


# --------------------------------------------------------------------------
# The parts.

class Bench:
    def __init__(self, args):
        self.args = args
        self.daemon = os.path.abspath(args.daemon)
        self.quick = args.quick
        self.table = Table()
        self.logdir = tempfile.mkdtemp(prefix="runway-bench-")
        self.syscall_loop = os.path.join(BUILD, "bench", "syscall_loop")
        self.closedloop = os.path.join(BUILD, "bench", "closedloop")
        self.foreign_seen = set()

    def log_path(self, name):
        return os.path.join(self.logdir, name + ".log")

    # -- helpers -----------------------------------------------------------

    def note_foreign(self, own_ids=()):
        """Other runway-bpfd programs on the node (someone else's daemon):
        their node-wide tracepoints are in every configuration."""
        foreign = foreign_runway_programs(own_ids)
        for p in foreign:
            self.foreign_seen.add(p["id"])
        return foreign

    def build_tools(self):
        os.makedirs(os.path.dirname(self.syscall_loop), exist_ok=True)
        for binary in (self.syscall_loop, self.closedloop):
            subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", binary,
                            os.path.join(BENCH, os.path.basename(binary) + ".c")], check=True)

    def spinner(self, cgroup, cpu):
        """A busy loop on one CPU inside the target's cgroup."""
        script = "echo $$ > %s && exec taskset -c %d %s spin 3600000" % (
            shlex.quote(os.path.join(cgroup.path, "cgroup.procs")), cpu,
            shlex.quote(self.syscall_loop))
        return Proc(["sh", "-c", script], "spinner", log_path=self.log_path("spinner"))

    # -- 1. target cost ----------------------------------------------------

    def part1(self):
        rounds = 2 if self.quick else 10
        seconds = 2 if self.quick else 3
        conns = 16
        raw = self.table.raw.setdefault("target_cost", {})
        for stack in ("uvloop", "asyncio"):
            label = STACK_LABEL[stack]
            log("part 1: target CPU per request, %s: %d rounds of %d s" % (label, rounds, seconds))
            hello = Uvicorn(self, "hello_app:app", stack, name="hello-" + stack).start()
            seed = Uvicorn(self, "seed_middleware_app:app", stack, name="seed-" + stack).start()
            wrk(hello.url(), conns, 1)
            wrk(seed.url(), conns, 1)
            per = {"none": [], "bpfd": [], "seed": []}
            node = {"none": [], "bpfd": [], "seed": []}
            rps = {"none": [], "bpfd": [], "seed": []}
            counted = []
            configs = ["none", "bpfd", "seed"]
            for r in range(rounds):
                order = configs[r % 3:] + configs[:r % 3]
                for cfg in order:
                    target = seed if cfg == "seed" else hello
                    d = Daemon(self, hello.pid).start() if cfg == "bpfd" else None
                    m0 = d.scrape() if d else None
                    u0, n0 = target.cgroup.usage_us(), children_cpu_s()
                    res = wrk(target.url(), conns, seconds)
                    u1, n1 = target.cgroup.usage_us(), children_cpu_s()
                    if d:
                        m1 = d.scrape()
                        key = dict(method="GET", status="200")
                        counted.append((m1.get("runway_requests_total", **key) or 0) -
                                       (m0.get("runway_requests_total", **key) or 0) - res["requests"])
                        d.stop()
                    if res["errors"]:
                        log("wrk reported %d errors in config %s" % (res["errors"], cfg))
                    per[cfg].append((u1 - u0) / res["requests"])
                    # Target and load generator together: the kernel's work for
                    # the target that runs on the client's CPU (loopback
                    # ingress, in the sender's softirq) is in wrk's time.
                    node[cfg].append(((u1 - u0) + (n1 - n0) * 1e6) / res["requests"])
                    rps[cfg].append(res["requests"] / res["seconds"])
            hello.stop()
            seed.stop()
            raw[stack] = {"target_us": per, "target_and_wrk_us": node, "rps": rps, "counted_minus_wrk": counted}
            base = median(per["none"])
            rows = []
            for cfg, name in (("bpfd", "runway-bpfd"), ("seed", "seed middleware")):
                # Paired by round: each round's added cost against that round's baseline.
                diffs = [a - b for a, b in zip(per[cfg], per["none"])]
                rows.append((name, median(per[cfg]), median(diffs), median(per[cfg]) / base,
                             median_se(diffs)))
            self.table.add("1", "target CPU/request, no observer", label,
                           "%.1f us (%.0f req/s)" % (base, median(rps["none"])))
            for name, value, added, ratio, se in rows:
                text = "%.1f us: %+.2f %s us, x%.3f" % (value, added, pm(se), ratio)
                if name == "runway-bpfd":
                    # Noise larger than the goal cannot tell pass from fail.
                    if se > 1.0:
                        text += " (the noise here cannot resolve 1 us: see the BPF run time row)"
                    self.table.add("1", "target CPU/request, runway-bpfd", label, text,
                                   "<= +1 us", None if se > 1.0 else added <= 1.0)
                else:
                    self.table.add("1", "target CPU/request, seed middleware", label, text,
                                   "(seed: about +6 us)")
            nb = median(node["none"])
            nd_b = [a - b for a, b in zip(node["bpfd"], node["none"])]
            nd_s = [a - b for a, b in zip(node["seed"], node["none"])]
            self.table.add("1", "target + wrk CPU/request", label,
                           "none %.1f us; runway-bpfd %+.2f %s us; seed %+.2f %s us" % (
                               nb, median(nd_b), pm(median_se(nd_b)), median(nd_s), pm(median_se(nd_s))),
                           "(info: includes the kernel's work on the client's CPU)")
            self.table.add("1", "throughput, runway-bpfd / none", label,
                           "x%.3f (seed x%.3f)" % (median(rps["bpfd"]) / median(rps["none"]),
                                                    median(rps["seed"]) / median(rps["none"])),
                           "(info)")
            worst = max(counted, key=abs) if counted else 0
            self.table.add("1", "requests counted - wrk completed", label + ", per run",
                           "%s (worst %+d)" % (" ".join("%+d" % c for c in counted), worst),
                           "within wrk's %d open at its stop" % conns,
                           all(0 <= c <= conns for c in counted))
            self.bpf_run_time(stack)

    def bpf_run_time(self, stack):
        seconds = 2 if self.quick else 3
        label = STACK_LABEL[stack]
        log("part 1: BPF program run time per request (BPF_ENABLE_STATS), %s, %d s" % (label, seconds))
        hello = Uvicorn(self, "hello_app:app", stack, name="hello-stats").start()
        d = Daemon(self, hello.pid).start()
        wrk(hello.url(), 16, 1)
        try:
            with BpfRunTimeStats():
                progs0 = {p["id"]: p for p in daemon_bpf_objects(d.pid)[0]}
                res = wrk(hello.url(), 16, seconds)
                progs1 = {p["id"]: p for p in daemon_bpf_objects(d.pid)[0]}
        except (OSError, subprocess.CalledProcessError) as e:
            self.table.add("1", "BPF run time/request", label, "not measured: %s" % e)
            d.stop()
            hello.stop()
            return
        d.stop()
        hello.stop()
        parts, total = [], 0.0
        raw = {}
        for pid_, p1 in sorted(progs1.items(), key=lambda kv: kv[1].get("name", "")):
            p0 = progs0.get(pid_, {})
            dt = p1.get("run_time_ns", 0) - p0.get("run_time_ns", 0)
            dc = p1.get("run_cnt", 0) - p0.get("run_cnt", 0)
            per_req = dt / res["requests"]
            total += per_req
            raw[p1["name"]] = {"run_time_ns": dt, "run_cnt": dc, "requests": res["requests"]}
            parts.append("%s %.0f ns (%.1f runs, %.0f ns/run)" % (
                p1["name"].replace("runway_", ""), per_req, dc / res["requests"], dt / dc if dc else 0))
        self.table.raw.setdefault("bpf_run_time", {})[stack] = raw
        self.table.add("1", "BPF run time/request (BPF_ENABLE_STATS)", label + ", wrk -c16",
                       "%.2f us: %s" % (total / 1000, "; ".join(parts)),
                       "(info: ingress runs on the client's CPU here)")

    # -- 2. node cost ------------------------------------------------------

    def part2(self):
        alternations = 3 if self.quick else 20
        modes = [("getppid", 2000000), ("tcp", 100000), ("unix", 300000)]
        log("part 2: node cost, %d alternations" % alternations)
        target = Uvicorn(self, "hello_app:app", "uvloop", name="node-target").start()
        # CPU time of the looping thread per op (preemption and steal are
        # not in it), and wall time.
        samples = {(m, cfg): [] for m, _ in modes for cfg in ("none", "bpfd")}
        wall_samples = {(m, cfg): [] for m, _ in modes for cfg in ("none", "bpfd")}
        foreign = set()
        own = set()
        for a in range(alternations):
            for cfg in (("none", "bpfd") if a % 2 == 0 else ("bpfd", "none")):
                d = Daemon(self, target.pid).start() if cfg == "bpfd" else None
                if d:
                    own |= bpf_ids_of(d.pid)[0]
                foreign |= {p["id"] for p in self.note_foreign(own)}
                for mode, iterations in modes:
                    out = subprocess.run(["taskset", "-c", str(LOAD_CPU), self.syscall_loop, mode,
                                          str(iterations), "3"], capture_output=True, text=True,
                                         check=True).stdout
                    lines = [line.split() for line in out.splitlines()]
                    wall_samples[(mode, cfg)].append(median([float(f[1]) for f in lines]))
                    samples[(mode, cfg)].append(median([float(f[2]) for f in lines]))
                if d:
                    d.stop()
        # The run time of our programs on the unwatched sockets, exactly.
        d = Daemon(self, target.pid).start()
        per_op = {}
        try:
            for mode, iterations in modes[1:]:
                with BpfRunTimeStats():
                    p0 = {p["id"]: p for p in daemon_bpf_objects(d.pid)[0]}
                    subprocess.run(["taskset", "-c", str(LOAD_CPU), self.syscall_loop, mode,
                                    str(iterations), "3"], capture_output=True, check=True)
                    p1 = {p["id"]: p for p in daemon_bpf_objects(d.pid)[0]}
                ops = iterations * 3 + iterations // 10 + 1
                per_op[mode] = {p1[i]["name"]: ((p1[i].get("run_time_ns", 0) - p0[i].get("run_time_ns", 0)) / ops,
                                                (p1[i].get("run_cnt", 0) - p0[i].get("run_cnt", 0)) / ops)
                                for i in p1 if i in p0}
        except (OSError, subprocess.CalledProcessError) as e:
            log("BPF run time of part 2 not measured: %s" % e)
        d.stop()
        target.stop()
        self.table.raw["node_cost"] = {"%s/%s" % k: v for k, v in samples.items()}
        self.table.raw["node_cost_wall"] = {"%s/%s" % k: v for k, v in wall_samples.items()}
        self.table.raw["node_cost_bpf_run_time"] = per_op
        note = ""
        if foreign:
            note = " [another runway-bpfd was loaded on the node during this part: %d programs]" % len(foreign)
        for mode, _ in modes:
            none = median(samples[(mode, "none")])
            bpfd = median(samples[(mode, "bpfd")])
            # Paired by alternation, like part 1.
            ratios = [(b / a - 1) * 100 for a, b in zip(samples[(mode, "none")], samples[(mode, "bpfd")])]
            pct, se = median(ratios), median_se(ratios)
            wall = median([(b / a - 1) * 100 for a, b in zip(wall_samples[(mode, "none")],
                                                              wall_samples[(mode, "bpfd")])])
            text = "%.0f -> %.0f CPU ns/op: %s %s (wall time %s)" % (
                none, bpfd, fmt_pct(pct), pm(se).replace("+/- ", "+/- ") + " %", fmt_pct(wall))
            if se > 2.0:
                text += " (noise larger than the goal)"
            self.table.add("2", "unwatched process, %s" % {
                "getppid": "getppid() loop", "tcp": "1-byte send+recv, TCP loopback",
                "unix": "1-byte send+recv, unix socketpair"}[mode],
                "none vs runway-bpfd attached to a target" + note,
                text, "<= +2 %", None if se > 2.0 else pct <= 2.0)
        for mode, progs in per_op.items():
            ran = ["%s %.1f runs, %.0f ns" % (name.replace("runway_", ""), cnt, ns)
                   for name, (ns, cnt) in sorted(progs.items()) if cnt >= 0.01]
            self.table.add("2", "BPF run time per op, unwatched %s socket" % mode, "BPF_ENABLE_STATS",
                           "; ".join(ran) or "none ran", "(info: dispatch not included)")

    # -- 3. daemon cost ----------------------------------------------------

    def part3(self):
        seconds = 3 if self.quick else 10
        log("part 3: daemon cost, wrk %d s with a scrape every second" % seconds)
        hello = Uvicorn(self, "hello_app:app", "uvloop", name="hello-cost").start()
        d = Daemon(self, hello.pid).start()
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
        self.table.raw["daemon_cost"] = {
            "cpu_s": (c1 - c0) / 1e9, "requests": res["requests"], "scrapes": len(scrapes),
            "startup_cpu_s": startup_cpu / 1e9, "scrape_cpu_ms": (s1 - s0) / 1e6 / n_scrapes,
            "idle_cpu_ms_per_s": idle_ms_per_s,
            "rss_kib": rss, "hwm_kib": hwm,
            "maps": [{k: m.get(k) for k in ("id", "name", "type", "max_entries", "bytes_value",
                                             "bytes_memlock")} for m in maps],
            "prog_bytes_memlock": prog_bytes}
        self.table.add("3", "daemon CPU per million requests", "wrk -c16 %d s, %d req, scrape every 1 s"
                       % (seconds, res["requests"]),
                       "%.4f s" % per_million, "< 0.05 s", per_million < 0.05)
        self.table.add("3", "daemon CPU per scrape; idle; at start-up", "idle target",
                       "%.2f ms per scrape; %.3f ms/s idle; %.0f ms to start (BPF load, verifier)" %
                       ((s1 - s0) / 1e6 / n_scrapes, idle_ms_per_s, startup_cpu / 1e6), "(info)")
        self.table.add("3", "daemon resident memory", "steady, after the run",
                       "%.1f MiB" % (rss / 1024), "< 16 MiB", rss < 16 * 1024)
        self.table.add("3", "daemon resident memory, peak", "VmHWM (reached at start-up)",
                       "%.1f MiB" % (hwm / 1024), "< 16 MiB", hwm < 16 * 1024)
        biggest = sorted(maps, key=lambda m: -m.get("bytes_memlock", 0))[:3]
        self.table.add("3", "memory held by its BPF maps", "%d maps, %d possible CPUs" % (
            len(maps), os.cpu_count()),
            "%.2f MiB (%s); programs %.0f KiB" % (
                map_bytes / 2**20, ", ".join("%s %.0f KiB" % (m.get("name"), m.get("bytes_memlock", 0) / 1024)
                                             for m in biggest), prog_bytes / 1024), "(info)")
        if conn_map:
            self.table.add("3", "per-connection state", "sk_storage, freed with the socket",
                           "%d B of value per connection (not in the map's memlock)" %
                           conn_map[0].get("bytes_value", 0), "(info)")

    # -- 4. accuracy -------------------------------------------------------

    def accuracy_cell(self, uv, scrape, route, path, n, new_conn, warm, measure):
        out = os.path.join(self.logdir, "closed-%s-%d-%s.json" % (route, n, "new" if new_conn else "ka"))
        duration = warm + measure + 1.0
        proc = Proc([self.closedloop, str(uv.port), path, str(n), str(duration),
                     "new" if new_conn else "keepalive", out],
                    "closedloop", cpus={LOAD_CPU}, log_path=self.log_path("closedloop"))
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

    def wait_idle(self, d, timeout=30.0):
        """Seconds until the daemon's gauges are back at 0, or None."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            m = d.scrape()
            if m.gauge() == 0:
                return time.monotonic() - t0
            time.sleep(0.1)
        return None

    def part4(self):
        warm, measure = (0.8, 2.0) if self.quick else (1.0, 4.0)
        routes = [("sleep", "/sleep?ms=200"), ("sync", "/sync?ms=50"), ("block", "/block?ms=20")]
        if self.quick:
            matrix = {"uvloop": [1, 16, 256], "asyncio": [16]}
        else:
            matrix = {"uvloop": [1, 4, 16, 64, 256], "asyncio": [1, 16, 256]}
        results = self.table.raw.setdefault("accuracy", [])
        stuck = []
        for stack, ns in matrix.items():
            label = STACK_LABEL[stack]
            log("part 4: accuracy, %s, N=%s" % (label, ns))
            uv = Uvicorn(self, "sample_app:app", stack, app_dir=SAMPLE_APP_DIR,
                         name="sample-" + stack).start()
            d = Daemon(self, uv.pid).start()
            for route, path in routes:
                for new_conn in (False, True):
                    errs = []
                    for n in ns:
                        c = self.accuracy_cell(uv, d.scrape, route, path, n, new_conn, warm, measure)
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
                        drained = self.wait_idle(d)
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
                    self.table.add("4", "mean gauge error, %s route" % {
                        "sleep": "async sleep 200 ms", "sync": "thread pool 50 ms",
                        "block": "loop-blocking 20 ms"}[route],
                        "%s, %s" % (label, "keep-alive" if not new_conn else "new connection/request"),
                        ", ".join("N=%d %s" % (n, fmt_pct(e)) for n, e in errs),
                        "within 2 %", worst <= 2.0)
            d.stop()
            uv.stop()
        self.table.add("4", "gauges back at 0 after every cell", "all of part 4",
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
        self.table.details += d_lines + [""]
        if not self.quick:
            self.seed_accuracy(routes, warm, measure)

    def seed_accuracy(self, routes, warm, measure, n=16):
        """The seed's in-app gauge, sampled by its metrics thread, on the same routes."""
        log("part 4: the seed's gauge, N=%d keep-alive" % n)
        port = free_port()
        uv = Uvicorn(self, "seed_middleware_app:sample", "uvloop", env={"SEED_METRICS_PORT": port},
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

            c = self.accuracy_cell(uv, scrape, route, path, n, False, warm, measure)
            mean = sum(samples) / len(samples) if samples else float("nan")
            out.append((route, c["truth"], mean))
            self.table.raw.setdefault("seed_accuracy", []).append(
                {"route": route, "n": n, "truth": c["truth"], "seed_mean_gauge": mean,
                 "samples": len(samples)})
            time.sleep(1.0 if route != "block" else 0.5 + n * 0.02)
        uv.stop()
        self.table.add("4", "seed's in-app gauge (sampled at 20 Hz)", "uvloop+httptools, N=%d keep-alive" % n,
                       ", ".join("%s %s" % (r, fmt_pct((m / t - 1) * 100, 0)) for r, t, m in out),
                       "(info: blind to the kernel queue)")

    # -- 5. scrape latency -------------------------------------------------

    def timed_scrapes(self, port, count, gap=0.01):
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

    def part5(self):
        count = 100 if self.quick else 500
        log("part 5: %d scrapes under load, daemon and seed thread" % count)
        results = {}
        for who in ("runway-bpfd", "seed"):
            if who == "seed":
                mport = free_port()
                uv = Uvicorn(self, "seed_middleware_app:app", "uvloop",
                             env={"SEED_METRICS_PORT": mport}, name="seed-scrape").start()
            else:
                uv = Uvicorn(self, "hello_app:app", "uvloop", name="hello-scrape").start()
                d = Daemon(self, uv.pid).start()
                mport = d.port
            # The target keeps both CPUs busy: uvicorn saturated by wrk, and a
            # busy loop of the target on each CPU.
            results[who + " idle"] = self.timed_scrapes(mport, count // 2)
            spins = [self.spinner(uv.cgroup, cpu) for cpu in (TARGET_CPU, LOAD_CPU)]
            load = BackgroundWrk(self, uv.url(), 64, 600)
            time.sleep(1.0)
            busy0 = node_busy_s()
            t0 = time.monotonic()
            results[who] = self.timed_scrapes(mport, count)
            busy = (node_busy_s() - busy0) / (time.monotonic() - t0) / os.cpu_count() * 100
            results[who]["cpu_busy_pct"] = busy
            load.stop()
            for spin in spins:
                spin.stop()
            if who == "runway-bpfd":
                d.stop()
            uv.stop()
        self.table.raw["scrape_latency"] = results
        r = results["runway-bpfd"]
        self.table.add("5", "/metrics latency under load, runway-bpfd",
                       "wrk -c64 on uvicorn + a busy loop per CPU (CPUs %.0f %% busy); scraper SCHED_FIFO" % r["cpu_busy_pct"],
                       "p50 %.2f ms, p99 %.2f ms (max %.2f, n=%d)" % (r["p50"], r["p99"], r["max"], r["n"]),
                       "p99 < 5 ms", r["p99"] < 5.0)
        ri, si = results["runway-bpfd idle"], results["seed idle"]
        self.table.add("5", "/metrics latency, idle node", "runway-bpfd; seed's thread",
                       "p50 %.2f / p99 %.2f ms; p50 %.2f / p99 %.2f ms" % (ri["p50"], ri["p99"], si["p50"], si["p99"]),
                       "(info)")
        s = results["seed"]
        self.table.add("5", "/metrics latency under load, seed's metrics thread",
                       "same load on the middleware app; CPUs %.0f %% busy" % s["cpu_busy_pct"],
                       "p50 %.2f ms, p99 %.2f ms (max %.2f, n=%d)" % (s["p50"], s["p99"], s["max"], s["n"]),
                       "(seed measured: 20 ms median, 32 ms max)")

    # -- 6. scale ----------------------------------------------------------

    def part6(self):
        n_idle = 2000 if self.quick else 10000
        churn_s = 3 if self.quick else 10
        log("part 6: %d idle keep-alive connections" % n_idle)
        uv = Uvicorn(self, "hello_app:app", "uvloop", extra=["--timeout-keep-alive", "3600",
                                                            "--backlog", "4096"],
                     name="hello-scale").start()
        d = Daemon(self, uv.pid).start()
        rss0 = d.rss_kib()
        m0 = d.scrape()
        client = Proc(client_args("idle", uv.port, connections=n_idle, concurrency=200),
                      "idle-client", cpus={LOAD_CPU}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                      log_path=self.log_path("idle-client"))
        opened = read_json_line(client, 300)
        time.sleep(1.0)
        m1 = d.scrape()
        rss1 = d.rss_kib()
        maps = daemon_bpf_objects(d.pid)[1]
        conns = m1.get("runway_bpfd_connections")
        self.table.add("6", "idle keep-alive connections tracked", "%d opened (%d failed), 1 request each" % (
            opened["opened"], opened["failed"]),
            "runway_bpfd_connections %d; lost %d" % (conns, m1.get("runway_bpfd_state_refused_total")),
            "= opened", conns == opened["opened"] and opened["opened"] >= n_idle * 0.99)
        self.table.add("6", "daemon RSS and BPF maps, %d connections" % opened["opened"], "",
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
        self.table.add("6", "after the client closes them", "",
                       "runway_bpfd_connections %d after %.1f s; in flight %d, queued %d" % (
                           got, time.monotonic() - t_close, m2.get("runway_requests_in_flight") or 0,
                           m2.get("runway_requests_queued") or 0),
                       "0", got == 0 and m2.gauge() == 0)
        self.table.raw["scale_idle"] = {"opened": opened, "connections_gauge": conns, "rss_kib": [rss0, rss1],
                                        "requests_counted": (m1.get("runway_requests_total") or 0) -
                                        (m0.get("runway_requests_total") or 0)}

        log("part 6: connection churn, %d s" % churn_s)
        m0 = d.scrape()
        rss0 = d.rss_kib()
        client = Proc(client_args("churn", uv.port, clients=64, duration=churn_s),
                      "churn-client", cpus={LOAD_CPU}, stdout=subprocess.PIPE,
                      log_path=self.log_path("churn-client"))
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
        self.table.add("6", "churn: requests counted", "64 clients, new connection per request, %.0f conn/s for %.0f s"
                       % (rate, res["elapsed"]),
                       "%d of %d answered (200: %d); %d client errors" % (all_counted, res["requests"], counted,
                                                                          res["errors"]),
                       "= answered", counted == res["requests"] and all_counted == res["requests"])
        self.table.add("6", "churn: state left behind", "",
                       "connections %d (seen %d of %d), in flight %d, queued %d, lost %d, untracked %d; "
                       "RSS %.1f -> %.1f MiB" % (
                           m1.get("runway_bpfd_connections"), conns_counted, res["connections"],
                           m1.get("runway_requests_in_flight") or 0, m1.get("runway_requests_queued") or 0,
                           lost, untracked, rss0 / 1024, rss1 / 1024),
                       "all 0, RSS flat",
                       m1.get("runway_bpfd_connections") == 0 and m1.gauge() == 0 and lost == 0 and
                       rss1 < rss0 + 2048)
        self.table.raw["scale_churn"] = {"client": res, "counted_200": counted, "counted_all": all_counted,
                                         "connections_counted": conns_counted, "rss_kib": [rss0, rss1]}
        d.stop()
        uv.stop()
        self.storage_full()

    def storage_full(self, k=50, requests_each=3):
        """Connection state the kernel refuses: socket-local storage is charged
        to the socket's option memory (net.core.optmem_max, per network
        namespace).  The target gets a namespace of its own with optmem_max 0:
        no connection of it can get state."""
        log("part 6: socket storage refused (optmem_max 0 in the target's netns)")
        uv = Uvicorn(self, "hello_app:app", "uvloop", netns=True, name="hello-netns").start()
        d = Daemon(self, uv.pid).start()
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
                     log_path=self.log_path("netns-client"))
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
        self.table.add("6", "socket storage refused (optmem_max 0)", "%d connections x %d requests, kept open" % (
            o1["opened"], requests_each),
            "state_refused_total +%d, connections %d, in flight %d, requests counted %d" % (
                lost, m1.get("runway_bpfd_connections"), m1.gauge(), delta(m0, m1, "runway_requests_total")),
            "refused >= requests sent (one data packet each, retried); gauges 0",
            lost >= o1["opened"] * requests_each and m1.get("runway_bpfd_connections") == 0 and m1.gauge() == 0)
        self.table.add("6", "... then optmem_max restored", "%d more connections x 1 request" % o2["opened"],
                       "connections %d, requests counted %d; after close: connections %d, state_refused_total +%d" % (
                           m2.get("runway_bpfd_connections"), delta(m1, m2, "runway_requests_total"),
                           m3.get("runway_bpfd_connections"), delta(m1, m3, "runway_bpfd_state_refused_total")),
                       "= opened, then 0",
                       m2.get("runway_bpfd_connections") == o2["opened"] and
                       m3.get("runway_bpfd_connections") == 0)
        self.table.raw["storage_full"] = {"lost_delta": lost, "connections": k, "requests_each": requests_each}
        self.table.add("6", "other maps", "requests_by_status (per-CPU hash)",
                       "cannot fill from one target: 10 methods x 500 statuses < its 32768 entries; "
                       "a full map would count runway_bpfd_requests_lost_total", "(by construction)")

    # -- all ---------------------------------------------------------------

    def header(self, elapsed):
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
        try:
            import uvicorn
            uv_version = uvicorn.__version__
        except ImportError:
            uv_version = "?"
        version = subprocess.run([self.daemon, "--version"], capture_output=True, text=True).stdout.strip()
        revision = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"], capture_output=True,
                                  text=True).stdout.strip()
        if revision:
            version += " (git %s)" % revision
        lines = [
            "# runway-bpfd benchmarks (%s)" % ("quick" if self.quick else "full"),
            "",
            "- machine: %s, %d CPUs (%s), %.0f GiB RAM" % (
                platform.node(), os.cpu_count(), model,
                os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
            "- kernel: Linux %s %s" % (platform.release(), platform.machine()),
            "- %s; Python %s, uvicorn %s; wrk; %s" % (version, platform.python_version(), uv_version,
                                                     datetime.datetime.now().strftime("%Y-%m-%d %H:%M")),
            "- target pinned to CPU %d; load generators and clients on CPU %d; medians of alternated "
            "rounds; run took %.0f s" % (TARGET_CPU, LOAD_CPU, elapsed),
        ]
        if self.foreign_seen:
            lines.append("- note: another runway-bpfd (not ours) had %d programs loaded on the node "
                         "during the run: its node-wide tracepoints ran in every configuration" %
                         len(self.foreign_seen))
        return lines

    def run(self, parts):
        self.build_tools()
        self.note_foreign()
        steps = {1: self.part1, 2: self.part2, 3: self.part3, 4: self.part4, 5: self.part5, 6: self.part6}
        for p in parts:
            steps[p]()
            self.note_foreign()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--daemon", default=os.path.join(BUILD, "runway-bpfd"))
    p.add_argument("--quick", action="store_true", help="a reduced matrix, for development")
    p.add_argument("--only", default="1,2,3,4,5,6", help="comma-separated parts to run")
    p.add_argument("--out", default=os.path.join(BUILD, "bench-results.md"))
    p.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                   help="first wait up to SECONDS for other runway-bpfd daemons on the node to go "
                        "away (their node-wide hooks would be in every configuration)")
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (BPF, cgroups)")
    if os.cpu_count() < 2:
        raise SystemExit("bench: needs 2 CPUs (target on one, load on the other)")
    for tool in ("wrk", "bpftool", "taskset", "cc", "nsenter", "unshare"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            raise SystemExit("bench: %s not found" % tool)
    parts = [int(x) for x in args.only.split(",") if x.strip()]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.sched_setaffinity(0, {LOAD_CPU})
    remove_stale_cgroups()

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    bench = Bench(args)
    log("logs in %s" % bench.logdir)
    deadline = time.monotonic() + args.wait_quiet
    while args.wait_quiet and foreign_runway_programs():
        if time.monotonic() > deadline:
            log("other runway-bpfd programs are still loaded: measuring anyway")
            break
        time.sleep(2)
    status = 0
    try:
        bench.run(parts)
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        status = 130
    except Exception:
        import traceback
        traceback.print_exc()
        for item in list(LIVE.items):
            if isinstance(item, Proc) and item.popen.poll() is not None:
                rc = item.popen.returncode
                log("%r had already ended: %s" % (item, "signal %d" % -rc if rc < 0 else "status %d" % rc))
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        LIVE.stop_all()
    text = bench.table.render(bench.header(time.monotonic() - T_START))
    if status:
        text += "\n(incomplete run: exit status %d)\n" % status
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(bench.table.raw, f, indent=1, default=str)
    log("table written to %s" % args.out)
    return status


if __name__ == "__main__":
    sys.exit(main())
