# SPDX-License-Identifier: MIT
"""What the machine gives the tests: cgroup v2, free ports, CPUs, netstat."""

import errno
import http.client
import os
import secrets
import signal
import socket
import time


def _unescape_mount(path):
    # /proc/mounts escapes space, tab, newline and backslash as \ooo.
    out, i = [], 0
    while i < len(path):
        octal = path[i + 1:i + 4]
        if path[i] == "\\" and len(octal) == 3 and all(c in "01234567" for c in octal):
            out.append(chr(int(octal, 8)))
            i += 4
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def mounts(fstype):
    found = []
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3 and fields[2] == fstype:
                found.append(_unescape_mount(fields[1]))
    return found


def cgroup2_mount():
    """Where cgroup v2 is mounted (pure v2: /sys/fs/cgroup; hybrid: .../unified)."""
    found = mounts("cgroup2")
    return found[0] if found else None


def cgroup1_dir():
    """Some cgroup v1 hierarchy, if the machine has one (a directory that is a
    cgroup, but not a v2 one)."""
    found = mounts("cgroup")
    return found[0] if found else None


class Cgroup:
    """A cgroup v2 directory of our own; remove() kills what is left in it."""

    def __init__(self, prefix="runway-test-"):
        root = cgroup2_mount()
        if root is None:
            raise RuntimeError("no cgroup2 filesystem in /proc/mounts")
        self.path = os.path.join(root, prefix + secrets.token_hex(4))
        os.mkdir(self.path)

    @classmethod
    def at(cls, path):
        """An existing cgroup directory, e.g. a child of one of ours."""
        cgroup = cls.__new__(cls)
        cgroup.path = path
        return cgroup

    def procs(self):
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as f:
                return [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return []

    def kill(self):
        kill_file = os.path.join(self.path, "cgroup.kill")
        if os.path.exists(kill_file):  # kernel >= 5.14
            with open(kill_file, "w") as f:
                f.write("1")
        else:
            for pid in self.procs():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def remove(self, timeout=10.0):
        if not os.path.isdir(self.path):
            return
        deadline = time.monotonic() + timeout
        while True:
            if self.procs():
                self.kill()
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError as e:
                if e.errno != errno.EBUSY or time.monotonic() > deadline:
                    raise
            time.sleep(0.05)


def remove_stale_cgroups(prefix, min_age_s=600.0):
    """Remove empty leftovers of an earlier run that was killed.  Only those
    older than min_age_s: another run on the same machine may have just
    made one and not put its process in yet."""
    root = cgroup2_mount()
    if not root:
        return
    now = time.time()
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if not name.startswith(prefix) or not os.path.isdir(path):
            continue
        try:
            if now - os.stat(path).st_mtime < min_age_s:
                continue
            with open(os.path.join(path, "cgroup.procs")) as f:
                if f.read().strip():
                    continue
            os.rmdir(path)
        except OSError:
            pass


def http_get(port, path="/", timeout=5.0, host="127.0.0.1"):
    """(status, body) of one GET on a connection of its own."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def free_port(host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def cpus():
    return sorted(os.sched_getaffinity(0))


def pin_to(cpu):
    """Pin the calling thread (and every thread or child started after) to cpu,
    if the machine has it."""
    if cpu in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {cpu})
        return True
    return False


def netstat(pid):
    """TcpExt and friends of pid's network namespace: {"TcpExt": {name: int}}."""
    with open("/proc/%d/net/netstat" % pid) as f:
        lines = f.read().splitlines()
    out = {}
    for names, values in zip(lines[0::2], lines[1::2]):
        prefix, _, names = names.partition(":")
        _, _, values = values.partition(":")
        out[prefix] = dict(zip(names.split(), (int(v) for v in values.split())))
    return out


def unused_pid():
    """A pid that no process has right now."""
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    for pid in range(pid_max - 1, 1, -1):
        if not os.path.exists("/proc/%d" % pid):
            return pid
    raise RuntimeError("no free pid")
