# SPDX-License-Identifier: MIT
"""What every part of `make bench` shares: the processes under test (uvicorn
in a cgroup of its own, the daemon), the load generators, the daemon's BPF
programs and their exact run times, the statistics, and the results table.

The parts (bench/part_*.py) take a `Run` (the run's options, table, logs) and
add rows to its table; bench/run.py is the driver.
"""

import json
import os
import platform
import random
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

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
# The integration tests' helpers for cgroups and ports serve the bench too.
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import env  # noqa: E402

SAMPLE_APP_DIR = os.path.join(REPO, "tests", "apps")
BUILD = os.path.join(REPO, "build")
PYTHON = "/usr/bin/python3"
TARGET_CPU = 0
LOAD_CPU = 1
CGROUP_PREFIX = "runway-bench-"

STACKS = {"uvloop": ("uvloop", "httptools"), "asyncio": ("asyncio", "h11")}
STACK_LABEL = {"uvloop": "uvloop+httptools", "asyncio": "asyncio+h11"}

# The C helpers, built into build/bench/ by the Makefile at the start of a run
# (the HTTP ones link src/loadgen, shared with runway-sweep).
TOOLS = ("syscall_loop", "closedloop", "keepalive_load", "empty_programs")

T_START = time.monotonic()


def log(msg):
    sys.stderr.write("[bench %6.1fs] %s\n" % (time.monotonic() - T_START, msg))
    sys.stderr.flush()


# --------------------------------------------------------------------------
# Statistics.  Configurations alternate round by round; a figure is the
# median of per-round paired values, its noise the standard error of that
# median.

def median(xs):
    return statistics.median(xs) if xs else float("nan")


def median_se(xs, resamples=2000):
    """Standard error of the median of xs: the standard deviation of the
    medians of `resamples` bootstrap resamples (fixed seed, so a run's
    figures can be recomputed from its JSON).  Paired differences on this VM
    have heavy tails (a round that met a burst of other work), for which the
    normal approximation (1.2533 x sd / sqrt(n)) overstates the noise of a
    median by a factor of two or more."""
    if len(xs) < 3:
        return float("inf")
    rng = random.Random(0)
    return statistics.stdev(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(resamples))


def pm(x, unit=""):
    return "+/- %.2f%s" % (x, unit) if x != float("inf") else "+/- ?"


def fmt_pct(x, digits=1):
    return ("%+." + str(digits) + "f %%") % x


def verdict_upper(value, se, goal):
    """A goal of the form value <= goal: True (met), False (missed), and a
    note when the goal lies within two standard errors of the value."""
    ok = value <= goal
    near = se != float("inf") and abs(value - goal) < 2 * se
    return ok, (" (within 2 standard errors of the goal)" if near else "")


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


def unix_listening(path):
    """Some process listens on the unix socket path."""
    try:
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                fields = line.split()
                # Flags 00010000 = __SO_ACCEPTCON: a listening socket.
                if len(fields) >= 8 and fields[7] == path and fields[3] == "00010000":
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


def wait_until(predicate, timeout, what, proc):
    deadline = time.monotonic() + timeout
    while not predicate():
        if not proc.alive():
            raise RuntimeError("%s exited before %s:\n%s" % (proc.name, what, tail(proc.log_path)))
        if time.monotonic() > deadline:
            raise RuntimeError("%s not %s within %.0f s:\n%s" % (proc.name, what, timeout, tail(proc.log_path)))
        time.sleep(0.05)


# --------------------------------------------------------------------------
# The processes under test.

class Uvicorn:
    """uvicorn in a cgroup v2 directory of its own, pinned to TARGET_CPU.
    With netns=True it runs in a new network namespace (loopback only); with
    uds=True it listens on a unix socket (self.socket_path) instead of TCP."""

    def __init__(self, ctx, app, stack="uvloop", app_dir=BENCH, env=None, extra=(),
                 netns=False, uds=False, name="uvicorn"):
        self.ctx = ctx
        self.app = app
        self.stack = stack
        self.app_dir = app_dir
        self.env = env or {}
        self.extra = list(extra)
        self.netns = netns
        self.uds = uds
        self.name = name
        self.port = None
        self.socket_path = None
        self.proc = None
        self.cgroup = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=30.0):
        self.cgroup = Cgroup()
        loop, http_impl = STACKS[self.stack]
        if self.uds:
            self.socket_path = os.path.join(self.ctx.logdir, self.name + ".sock")
            where = ["--uds", self.socket_path]
        else:
            self.port = free_port()
            where = ["--host", "127.0.0.1", "--port", str(self.port)]
        args = [PYTHON, "-m", "uvicorn", self.app, "--app-dir", self.app_dir] + where + [
            "--loop", loop, "--http", http_impl, "--ws", "none", "--log-level", "warning",
            "--no-access-log"] + self.extra
        env_prefix = " ".join("%s=%s" % (k, shlex.quote(str(v))) for k, v in self.env.items())
        script = "echo $$ > %s && %sexec %s taskset -c %d %s" % (
            shlex.quote(os.path.join(self.cgroup.path, "cgroup.procs")),
            "ip link set lo up && " if self.netns else "",
            ("env " + env_prefix) if env_prefix else "",
            TARGET_CPU, " ".join(shlex.quote(a) for a in args))
        argv = (["unshare", "--net"] if self.netns else []) + ["sh", "-c", script]
        self.proc = Proc(argv, self.name, log_path=self.ctx.log_path(self.name))
        if self.uds:
            wait_until(lambda: unix_listening(self.socket_path), timeout, "listening", self.proc)
            return self
        wait_until(lambda: listening(self.pid, self.port), timeout, "listening", self.proc)
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

    def load_target(self):
        """How keepalive_load names this server."""
        return "unix:" + self.socket_path if self.uds else str(self.port)


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


def counted_delta(m0, m1, name, **labels):
    return (m1.get(name, **labels) or 0) - (m0.get(name, **labels) or 0)


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
        # /metrics answers 200 once the programs are attached.
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


def node_busy_s():
    """Non-idle time of all CPUs (user, nice, system, irq, softirq), seconds."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    user, nice, system, idle, iowait, irq, softirq = (int(x) for x in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def cpu_times_s(cpu):
    """(busy, steal) seconds of one CPU: busy is user, nice, system, irq and
    softirq; steal the time the hypervisor ran something else on it."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu%d " % cpu):
                v = [int(x) for x in line.split()[1:9]]
                hz = os.sysconf("SC_CLK_TCK")
                return (v[0] + v[1] + v[2] + v[5] + v[6]) / hz, v[7] / hz
    raise RuntimeError("no cpu%d in /proc/stat" % cpu)


# --------------------------------------------------------------------------
# The daemon's BPF programs.

def bpf_ids_of(pid):
    """(program ids, map ids) that pid holds: the prog_id: and map_id: lines
    of /proc/PID/fdinfo (program, link and map fds).  bpftool's pid column
    is no help: it is empty on this machine."""
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


class BpfStatsEnabled:
    """kernel.bpf_stats_enabled = 1 for the time of a with block: the kernel
    then keeps run_time_ns and run_cnt of every program.  Afterwards the
    sysctl gets back the value it had, also when the bench is interrupted
    (the object is in LIVE until then)."""

    PATH = "/proc/sys/kernel/bpf_stats_enabled"

    def __enter__(self):
        with open(self.PATH) as f:
            self.before = f.read().strip()
        with open(self.PATH, "w") as f:
            f.write("1")
        LIVE.add(self)
        return self

    def stop(self):
        with open(self.PATH, "w") as f:
            f.write(self.before)
        LIVE.discard(self)

    def __exit__(self, *exc):
        self.stop()


# The floor objects, built beside bench/empty_programs (their loader), with
# the row each one's figures go to.
FLOORS = {
    "empty_programs": "floor: empty programs on the same hooks, per request (runs x ns)",
    "least_work": "floor: least work of an exact design (state + clock), per request (runs x ns)",
}


class FloorPrograms:
    """A floor object's programs on our four hooks (bench/empty_programs
    loads them), the cgroup ones on the target's cgroup."""

    def __init__(self, bench, target_pid, name):
        with open("/proc/%d/cgroup" % target_pid) as f:
            path = next(line.split(":", 2)[2].strip() for line in f if line.startswith("0::"))
        cgroup = os.path.join(env.cgroup2_mount(), path.lstrip("/"))
        obj = os.path.join(os.path.dirname(bench.tools["empty_programs"]), name + ".bpf.o")
        log_path = bench.log_path(name.replace("_", "-"))
        self.proc = Proc([bench.tools["empty_programs"], obj, cgroup], name, log_path=log_path)
        deadline = time.monotonic() + 30
        while True:
            with open(log_path) as f:
                if "ready" in f.read():
                    break
            if not self.proc.alive() or time.monotonic() > deadline:
                raise RuntimeError("bench/%s did not attach: see %s" % (name, log_path))
            time.sleep(0.05)

    def stop(self):
        self.proc.stop()


class DaemonPrograms:
    """The run counters of a daemon's programs.  Their ids come from its
    fdinfo; names from bpftool, once; run_time_ns and run_cnt from the
    fdinfo of its program fds, or from bpftool for a program it holds only
    through a link."""

    def __init__(self, pid):
        self.pid = pid
        ids, _ = bpf_ids_of(pid)
        self.names = {p["id"]: p.get("name", "?") for p in bpftool_json("prog", "show") if p["id"] in ids}

    def counters(self):
        """{name: (run_time_ns, run_cnt)}."""
        out = {}
        fd_dir = "/proc/%d/fdinfo" % self.pid
        for fd in os.listdir(fd_dir):
            try:
                with open(os.path.join(fd_dir, fd)) as f:
                    text = f.read()
            except OSError:
                continue
            pid_m = re.search(r"^prog_id:\s*(\d+)", text, re.M)
            ns_m = re.search(r"^run_time_ns:\s*(\d+)", text, re.M)
            cnt_m = re.search(r"^run_cnt:\s*(\d+)", text, re.M)
            if pid_m and ns_m and cnt_m and int(pid_m.group(1)) in self.names:
                out[int(pid_m.group(1))] = (int(ns_m.group(1)), int(cnt_m.group(1)))
        missing = set(self.names) - set(out)
        if missing:
            for p in bpftool_json("prog", "show"):
                if p["id"] in missing:
                    out[p["id"]] = (p.get("run_time_ns", 0), p.get("run_cnt", 0))
        return {self.names[i]: v for i, v in out.items()}


def counter_delta(c0, c1):
    """{name: (run_time_ns, run_cnt)} increase between two counters() calls."""
    return {n: (c1[n][0] - c0.get(n, (0, 0))[0], c1[n][1] - c0.get(n, (0, 0))[1]) for n in c1}


# What each program does, for the tables (names without the runway_ prefix).
PROGRAM_ROLES = {
    "egress": "response framing (cgroup_skb egress)",
    "ingress": "request line (cgroup_skb ingress)",
    "tcp_read": "read hook (tp_btf tcp_rcv_space_adjust)",
    "recv_length": "read hook fallback (sock_recv_length)",
    "state": "connection end (tp_btf inet_sock_set_state)",
}


def short_name(name):
    return name[len("runway_"):] if name.startswith("runway_") else name


# --------------------------------------------------------------------------
# Rounds without and with the daemon.

def alternate(bench, pairs, target_pid, measure, max_pairs=None):
    """Rounds without and with runway-bpfd attached to target_pid, in pairs
    (the order swapped every pair), until `pairs` pairs ran with the same
    set of other runway-bpfd programs on the node before, between and after
    its rounds: another daemon's node-wide hooks starting or stopping
    within a pair would be measured as ours.  Before each pair it waits for
    the node to have no other runway-bpfd (Run.wait_quiet).  At most
    max_pairs (default 3 x pairs) pairs are tried.
    measure(daemon or None) -> a dict.

    Returns (pairs of (without, with) results, pairs tried)."""
    max_pairs = max_pairs or 3 * pairs
    own = set()
    good, tried = [], 0

    def foreign():
        return frozenset(p["id"] for p in bench.note_foreign(own))

    while len(good) < pairs and tried < max_pairs:
        bench.wait_quiet(own)
        result = {}
        seen = [foreign()]
        for attached in ((False, True) if tried % 2 == 0 else (True, False)):
            d = Daemon(bench, target_pid).start() if attached else None
            if d:
                own.update(bpf_ids_of(d.pid)[0])
            # The same pause after the daemon's start (BPF load, verifier) as
            # after its stop (RCU-deferred frees), so that both kinds of round
            # begin on a settled machine.
            time.sleep(0.2)
            result[attached] = measure(d)
            seen.append(foreign())
            if d:
                d.stop()
        tried += 1
        if len(set(seen)) == 1:
            good.append((result[False], result[True]))
        else:
            log("pair %d left out: another runway-bpfd started or stopped during it" % tried)
    return good, tried


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
        rc = proc.popen.poll()
        why = "exited with status %d" % rc if rc is not None else "printed nothing within %.0f s" % timeout
        raise RuntimeError("%s %s (log: %s):\n%s" % (proc.name, why, proc.log_path, tail(proc.log_path)))
    return json.loads(line)


class KeepaliveLoad:
    """bench/keepalive_load.c on LOAD_CPU: `connections` keep-alive
    connections to each server, opened once, then exact request counts or
    time slices on command."""

    def __init__(self, ctx, servers, connections=16, path="/"):
        self.servers = list(servers)
        self.proc = Proc([ctx.tools["keepalive_load"], str(connections), path] +
                         [s.load_target() for s in self.servers],
                         "keepalive_load", cpus={LOAD_CPU}, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, log_path=ctx.log_path("keepalive_load"))
        read_json_line(self.proc, 30)

    def _command(self, line, timeout):
        self.proc.popen.stdin.write(line.encode() + b"\n")
        self.proc.popen.stdin.flush()
        return read_json_line(self.proc, timeout)

    def count(self, requests, server):
        """Exactly `requests` requests to `server`; its client-side result."""
        return self._command("count %d %d" % (requests, self.servers.index(server)), 120 + requests / 200)

    def slices(self, seconds, slice_ms):
        return self._command("slices %f %f" % (seconds, slice_ms), seconds + 60)

    def stop(self):
        self.proc.stop()


def client_args(mode, port, **kw):
    args = [PYTHON, os.path.join(BENCH, "loadclient.py"), mode, "--port", str(port)]
    for k, v in kw.items():
        if v is True:
            args.append("--" + k.replace("_", "-"))
        elif v not in (None, False):
            args += ["--" + k.replace("_", "-"), str(v)]
    return args


# --------------------------------------------------------------------------
# The results.

class Table:
    """The run's results: pass/missed goal lines and markdown blocks printed
    before the main table, the main table's rows, and details after it."""

    def __init__(self):
        self.goals = []    # (goal, measured, verdict)
        self.blocks = []   # lists of markdown lines
        self.rows = []     # (part, what, config, measured, goal, verdict)
        self.details = []  # markdown lines
        self.raw = {}

    def add(self, part, what, config, measured, goal="", ok=None):
        verdict = "" if ok is None else ("pass" if ok else "FAIL")
        self.rows.append((part, what, config, measured, goal, verdict))
        log("%s | %s | %s | %s | %s | %s" % (part, what, config, measured, goal, verdict))

    def goal(self, goal, measured, ok):
        """One of the issue's goals: ok True (met), False (missed) or None
        (this run cannot tell, and measured says why)."""
        verdict = {True: "met", False: "MISSED", None: "not resolved"}[ok]
        self.goals.append((goal, measured, verdict))
        log("goal: %s: %s: %s" % (goal, measured, verdict))

    def render(self, header_lines, details=True):
        lines = list(header_lines) + [""]
        if self.goals:
            lines += ["## Goals", ""]
            lines += ["- %s: %s **%s**" % (g, m, v) for g, m, v in self.goals]
            lines.append("")
        for block in self.blocks:
            lines += block + [""]
        cols = ("#", "what", "configuration", "measured", "goal", "result")
        lines += ["## Every part", ""]
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("|" + "|".join("---" for _ in cols) + "|")
        for r in self.rows:
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in r) + " |")
        if details and self.details:
            lines += [""] + self.details
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# The run.

def cpu_model():
    with open("/proc/cpuinfo") as f:
        return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")


def vulnerability(name):
    """A line of /sys/devices/system/cpu/vulnerabilities: the kernel's
    mitigation, which sets what a call or a return costs in BPF."""
    try:
        with open(os.path.join("/sys/devices/system/cpu/vulnerabilities", name)) as f:
            return f.read().strip()
    except OSError as e:
        return "unknown (%s)" % e.strerror


def spectre_v2():
    """With retpolines, every indirect call (a BPF program's dispatch, a
    bpf_loop callback) costs more."""
    return vulnerability("spectre_v2")


def return_thunks():
    """AMD's SRSO mitigation ("Safe RET") sends every return through a
    thunk: a BPF subprogram's call and return cost more there."""
    return vulnerability("spec_rstack_overflow")


class Run:
    """What the parts share: options, the table, the log directory, the C
    helpers, and the other runway-bpfd programs seen on the node."""

    def __init__(self, args):
        self.args = args
        self.daemon = os.path.abspath(args.daemon)
        self.quick = args.quick
        self.table = Table()
        self.logdir = tempfile.mkdtemp(prefix="runway-bench-")
        self.tools = {name: os.path.join(BUILD, "bench", name) for name in TOOLS}
        self.foreign_seen = set()
        self.quiet_budget_s = 0.0
        self.waited_s = 0.0

    def start_part(self):
        self.quiet_budget_s = self.args.wait_quiet

    def wait_quiet(self, own=(), at_most_s=60.0):
        """Waits until no other runway-bpfd programs are loaded on the node
        (other people's daemons: their node-wide hooks slow every TCP socket),
        at most at_most_s and what is left of the part's --wait-quiet budget.
        True when the node is quiet."""
        t0 = time.monotonic()
        limit = min(at_most_s, self.quiet_budget_s)
        quiet = not self.note_foreign(own)
        while not quiet and time.monotonic() - t0 < limit:
            time.sleep(0.5)
            quiet = not self.note_foreign(own)
        waited = time.monotonic() - t0
        self.quiet_budget_s -= waited
        self.waited_s += waited
        return quiet

    def log_path(self, name):
        return os.path.join(self.logdir, name + ".log")

    def build_tools(self):
        subprocess.run(["make", "-s", "-C", REPO] + [os.path.relpath(self.tools[name], REPO) for name in TOOLS],
                       check=True)

    def note_foreign(self, own_ids=()):
        """Other runway-bpfd programs on the node (someone else's daemon):
        their node-wide tracepoints are in every configuration."""
        foreign = foreign_runway_programs(own_ids)
        for p in foreign:
            self.foreign_seen.add(p["id"])
        return foreign

    def spinner(self, cgroup, cpu):
        """A busy loop on one CPU inside the target's cgroup."""
        script = "echo $$ > %s && exec taskset -c %d %s spin 3600000" % (
            shlex.quote(os.path.join(cgroup.path, "cgroup.procs")), cpu,
            shlex.quote(self.tools["syscall_loop"]))
        return Proc(["sh", "-c", script], "spinner", log_path=self.log_path("spinner"))


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def machine_lines():
    """The header lines that say which machine the figures are from."""
    return [
        "- CPU: %s, %d CPUs; Spectre v2: %s; SRSO: %s" % (
            cpu_model(), os.cpu_count(), spectre_v2(), return_thunks()),
        "- machine: %s, %.0f GiB RAM; kernel Linux %s %s" % (
            platform.node(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
            platform.release(), platform.machine()),
    ]

