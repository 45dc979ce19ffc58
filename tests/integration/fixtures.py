# SPDX-License-Identifier: MIT
"""Processes the tests start: uvicorn in a cgroup of its own, and the daemon.

Every start() is paired with a stop() that the test case registers with
addCleanup(), and every live fixture is also in LIVE so that run.py can stop
them on Ctrl-C or SIGTERM.  stop() never raises for a process that is gone.
"""

import http.client
import os
import shlex
import signal
import socket
import subprocess
import threading
import time

import env
import prom

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
APP_DIR = os.path.join(REPO, "tests", "apps")
PYTHON = "/usr/bin/python3"

# stack name -> (uvicorn --loop, uvicorn --http)
STACKS = {
    "uvloop": ("uvloop", "httptools"),
    "asyncio": ("asyncio", "h11"),
}

LIVE = set()
_live_lock = threading.Lock()


def _track(fixture, alive):
    with _live_lock:
        (LIVE.add if alive else LIVE.discard)(fixture)


def stop_all():
    with _live_lock:
        fixtures = list(LIVE)
    # Daemons first: they watch the servers.
    fixtures.sort(key=lambda f: not isinstance(f, Daemon))
    for f in fixtures:
        try:
            f.stop()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return "(cannot read %s: %s)\n" % (path, e)


def ws_implementation():
    import importlib.util
    for name in ("websockets", "wsproto"):
        if importlib.util.find_spec(name) is not None:
            return name
    return None


class Uvicorn:
    """tests/apps/sample_app.py under uvicorn, in a fresh cgroup v2 directory,
    pinned to CPU 0.  `pid` is uvicorn's own pid (the wrapper shell execs)."""

    def __init__(self, logdir, stack="uvloop", host="127.0.0.1", backlog=None,
                 workers=None, cpu=0, name="uvicorn", cgroup=None, subdir=None, port=None,
                 uds=None, socket_cgroup=None, extra_args=()):
        """cgroup: an env.Cgroup to run in (the test owns it) instead of a
        fresh one; subdir: run in a child cgroup of it, as a container runs
        under its pod's cgroup; port: a fixed port (a restart on the same
        one); uds: serve on this unix socket path instead of TCP;
        socket_cgroup: an env.Cgroup in which a helper creates the listening
        socket and hands it over (uvicorn --fd), as socket activation does;
        extra_args: more uvicorn flags."""
        self.extra_args = list(extra_args)
        self.own_cgroup = cgroup is None
        self.cgroup = cgroup
        self.subdir = subdir
        self.uds = uds
        self.socket_cgroup = socket_cgroup
        self.stack = stack
        self.host = host
        self.backlog = backlog
        self.workers = workers
        self.cpu = cpu
        self.log_path = os.path.join(logdir, name + ".log")
        self.port = port
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def command(self):
        loop, http = STACKS[self.stack]
        if self.uds:
            bind = ["--uds", self.uds]
        elif self.socket_cgroup:
            bind = ["--fd", str(HANDED_OVER_FD)]
        else:
            bind = ["--host", self.host, "--port", str(self.port)]
        args = [PYTHON, "-m", "uvicorn", "sample_app:app", "--app-dir", APP_DIR] + bind + [
                "--loop", loop, "--http", http,
                "--ws", ws_implementation() or "none",
                "--log-level", "warning", "--no-access-log"]
        if self.backlog is not None:
            args += ["--backlog", str(self.backlog)]
        if self.workers is not None:
            args += ["--workers", str(self.workers)]
        args += self.extra_args
        # Not env.cpus(): run.py has pinned itself (and so this shell) to CPU 1.
        pin = "taskset -c %d " % self.cpu if self.cpu is not None and self.cpu < os.cpu_count() else ""
        server = " ".join(shlex.quote(a) for a in args)
        if self.socket_cgroup:
            # Made in socket_cgroup, then the process moves to its own
            # cgroup and becomes uvicorn: the socket stays socket_cgroup's.
            server = "%s -c %s %s %s %d %s" % (
                PYTHON, shlex.quote(HAND_OVER_SOCKET), shlex.quote(self.socket_cgroup.path),
                shlex.quote(self.cgroup_dir()), self.port, server)
        return ("echo $$ > %s && exec %s%s" %
                (shlex.quote(os.path.join(self.cgroup_dir(), "cgroup.procs")), pin, server))

    def get(self, path, timeout=2.0):
        """(status, body) of one GET, over TCP or the unix socket."""
        if not self.uds:
            return env.http_get(self.port, path, timeout, self.host)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.uds)
            s.sendall(("GET %s HTTP/1.1\r\nHost: uds\r\nConnection: close\r\n\r\n" % path).encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return int(data.split(b" ", 2)[1]), data.partition(b"\r\n\r\n")[2]

    def cgroup_dir(self):
        """The cgroup uvicorn's processes are in."""
        return os.path.join(self.cgroup.path, self.subdir) if self.subdir else self.cgroup.path

    def start(self, timeout=30.0):
        if self.cgroup is None:
            self.cgroup = env.Cgroup()
        if self.subdir:
            os.makedirs(self.cgroup_dir(), exist_ok=True)
        _track(self, True)
        if self.port is None and not self.uds:
            self.port = env.free_port(self.host)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["sh", "-c", self.command()],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("uvicorn exited with %s before answering:\n%s" %
                                   (self.proc.returncode, tail(self.log_path)))
            try:
                status, _ = self.get("/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not answer on %s within %.0f s:\n%s" %
                                   (self.uds or "%s:%d" % (self.host, self.port), timeout,
                                    tail(self.log_path)))
            time.sleep(0.05)
        if self.workers:
            # The parent binds the socket before the workers exist; wait for
            # all of them so that the daemon sees the whole process tree.
            while len(self.cgroup.procs()) < 1 + self.workers:
                if time.monotonic() > deadline:
                    raise RuntimeError("uvicorn workers did not start:\n%s" %
                                       tail(self.log_path))
                time.sleep(0.05)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        if self.subdir and self.cgroup is not None:
            env.Cgroup.at(self.cgroup_dir()).remove()
        if self.own_cgroup and self.cgroup is not None:
            self.cgroup.remove()  # SIGKILLs whatever is left in it
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        _track(self, False)

    def netstat(self):
        return env.netstat(self.pid)


# uvicorn --fd: the listening socket a helper made in another cgroup.
HANDED_OVER_FD = 3
HAND_OVER_SOCKET = """
import os, socket, sys
socket_cgroup, own_cgroup, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
def join(cgroup):
    with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
join(socket_cgroup)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(128)
join(own_cgroup)
os.dup2(s.fileno(), %d)
os.set_inheritable(%d, True)
os.execv(sys.argv[4], sys.argv[4:])
""" % (HANDED_OVER_FD, HANDED_OVER_FD)


# What AddressSanitizer, LeakSanitizer and UBSan print when they find something.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class DaemonError(AssertionError):
    """The daemon did not start: a test failure, never a skip."""


class Daemon:
    """build/runway-bpfd with --listen on a free loopback port."""

    def __init__(self, binary, args, logdir, name="daemon", listen_port=None):
        self.binary = binary
        self.args = list(args)
        self.log_path = os.path.join(logdir, name + ".log")
        self.port = listen_port
        self.proc = None
        self.returncode = None

    def command(self):
        return [self.binary] + self.args + ["--listen", "127.0.0.1:%d" % self.port]

    def start(self, timeout=30.0):
        if self.port is None:
            self.port = env.free_port()
        with open(self.log_path, "ab") as log:
            log.write(("$ %s\n" % " ".join(shlex.quote(a) for a in self.command())).encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        _track(self, True)
        deadline = time.monotonic() + timeout
        last_error = None
        while True:
            if self.proc.poll() is not None:
                raise DaemonError("daemon exited with %s before serving /metrics:\n%s" %
                                  (self.proc.returncode, tail(self.log_path)))
            try:
                status, _ = env.http_get(self.port, "/metrics", 2.0)
                if status == 200:
                    return self
                last_error = "HTTP %d" % status
            except OSError as e:
                last_error = str(e)
            if time.monotonic() > deadline:
                raise DaemonError("daemon did not serve /metrics within %.0f s (%s):\n%s" %
                                  (timeout, last_error, tail(self.log_path)))
            time.sleep(0.05)

    def scrape_text(self, timeout=5.0):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", "/metrics")
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise AssertionError("daemon /metrics answered %d: %r" % (resp.status, body[:200]))
            return body.decode("utf-8")
        finally:
            conn.close()

    def scrape(self, timeout=5.0):
        text = self.scrape_text(timeout)
        try:
            return prom.parse(text)
        except prom.ParseError as e:
            raise AssertionError("cannot parse the daemon's /metrics: %s" % e) from None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal_and_wait(self, sig, timeout=10.0):
        """Send sig, return the exit code (None if it did not exit in time)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return None
        self.returncode = self.proc.returncode
        _track(self, False)
        return self.returncode

    def stop(self):
        if self.proc is None:
            return None
        rc = self.signal_and_wait(signal.SIGTERM)
        if rc is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        _track(self, False)
        return rc


class Sampler(threading.Thread):
    """Scrapes the daemon every `interval` seconds and keeps extract(expo)
    with the scrape's mid time."""

    def __init__(self, daemon, extract, interval=0.05):
        super().__init__(daemon=True)
        self.d = daemon
        self.extract = extract
        self.interval = interval
        self.samples = []  # (monotonic mid time, value)
        self.errors = []
        self._halt = threading.Event()

    def run(self):
        next_t = time.monotonic()
        while not self._halt.is_set():
            t0 = time.monotonic()
            try:
                expo = self.d.scrape(timeout=2.0)
                t1 = time.monotonic()
                self.samples.append(((t0 + t1) / 2, self.extract(expo)))
            except (OSError, AssertionError, http.client.HTTPException) as e:
                self.errors.append("%.3f: %s" % (t0, e))
            next_t += self.interval
            delay = next_t - time.monotonic()
            if delay > 0:
                self._halt.wait(delay)
            else:
                next_t = time.monotonic()

    def stop(self):
        self._halt.set()
        self.join(timeout=10)
        return self.samples

    def values(self, start=None, end=None):
        return [v for t, v in self.samples
                if (start is None or t >= start) and (end is None or t <= end)]


def port_open(host, port, timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
