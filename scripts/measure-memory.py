#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The daemon's memory-cgroup charge, for a manifest's requests and limits.

    /usr/bin/python3 scripts/measure-memory.py --daemon build/runway-bpfd [--load-seconds 10]

Runs a uvicorn target in a cgroup of its own and the daemon (--cgroup mode,
as the sidecar runs it) in a memory cgroup of its own, then reads that memory
cgroup at start (the programs attached), steady (after wrk load and scrapes)
and peak (the high-water mark over the whole run, start-up included): total,
user (anon) and kernel (BPF maps, programs, sockets, slab).  Kernels with the
memory controller on cgroup v2 give memory.current / memory.peak /
memory.stat; on a hybrid hierarchy with memory on v1 it reads
memory.usage_in_bytes, memory.max_usage_in_bytes, memory.kmem.* and rss.

It then lists the daemon's BPF maps (from /proc/PID/fdinfo, names from
bpftool) with their memlock, splits each per-CPU map into its per-CPU part
(max_entries x value size rounded to 8, per possible CPU) and the rest, and
prints the charge as a function of the number of possible CPUs N:

    charge(N) = fixed + per_cpu x N

The per-CPU part is computed from the map definitions, not measured at other
CPU counts: a machine's possible CPUs cannot be changed from user space.  The
check is that fixed + per_cpu x N for this machine's N matches the memlock
the kernel reports.  Needs root.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import env  # noqa: E402
import fixtures  # noqa: E402

MIB = 1 << 20
PERCPU_MAP_TYPES = {5: "percpu_hash", 6: "percpu_array", 10: "lru_percpu_hash"}
MAP_TYPES = {1: "hash", 2: "array", 5: "percpu_hash", 6: "percpu_array", 10: "lru_percpu_hash",
             24: "sk_storage"}
BPF_F_NO_PREALLOC = 1


def possible_cpus():
    """Count of /sys/devices/system/cpu/possible ("0-191", "0,2-5")."""
    with open("/sys/devices/system/cpu/possible") as f:
        text = f.read().strip()
    count = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        count += int(hi or lo) - int(lo) + 1
    return count


class MemoryCgroup:
    """A memory cgroup of our own: on cgroup v2 if the memory controller is
    there, else under this process's own cgroup v1 memory cgroup (so that
    it stays inside whatever limits we run under)."""

    def __init__(self):
        name = "runway-mem-" + secrets.token_hex(4)
        root = env.cgroup2_mount()
        with open(os.path.join(root, "cgroup.controllers")) as f:
            v2_memory = "memory" in f.read().split()
        if v2_memory:
            self.version = 2
            with open(os.path.join(root, "cgroup.subtree_control"), "w") as f:
                f.write("+memory")
            self.path = os.path.join(root, name)
        else:
            self.version = 1
            mount = next(m for m in self._v1_mounts() if "memory" in m[1])[0]
            own = "/"
            with open("/proc/self/cgroup") as f:
                for line in f:
                    _, controllers, path = line.rstrip("\n").split(":", 2)
                    if "memory" in controllers.split(","):
                        own = path
            self.path = os.path.join(mount + own, name)
        os.mkdir(self.path)

    @staticmethod
    def _v1_mounts():
        with open("/proc/mounts") as f:
            for line in f:
                fields = line.split()
                if fields[2] == "cgroup":
                    yield fields[1], fields[3].split(",")

    def read(self, name):
        with open(os.path.join(self.path, name)) as f:
            return f.read()

    def stat(self):
        return {k: int(v) for k, v in (line.split() for line in self.read("memory.stat").splitlines())}

    def sample(self):
        """{total, user, kernel, peak, kernel_peak, percpu, slab, sock} in bytes (None: not here)."""
        s = self.stat()
        if self.version == 2:
            peak = int(self.read("memory.peak")) if os.path.exists(
                os.path.join(self.path, "memory.peak")) else None
            return {"total": int(self.read("memory.current")), "peak": peak,
                    "user": s.get("anon"), "kernel": s.get("kernel"),
                    "kernel_peak": None, "percpu": s.get("percpu"), "slab": s.get("slab"),
                    "sock": s.get("sock")}
        return {"total": int(self.read("memory.usage_in_bytes")),
                "peak": int(self.read("memory.max_usage_in_bytes")),
                "user": s.get("rss"), "kernel": int(self.read("memory.kmem.usage_in_bytes")),
                "kernel_peak": int(self.read("memory.kmem.max_usage_in_bytes")),
                "percpu": None, "slab": None,
                "sock": int(self.read("memory.kmem.tcp.usage_in_bytes"))}

    def set_limit(self, limit):
        """A hard limit, as a manifest's resources.limits.memory sets it."""
        name = "memory.max" if self.version == 2 else "memory.limit_in_bytes"
        with open(os.path.join(self.path, name), "w") as f:
            f.write(str(limit))

    def oom_kills(self):
        """Processes the kernel's OOM killer took in this cgroup."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        for line in self.read(name).splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def procs_file(self):
        return os.path.join(self.path, "cgroup.procs")

    def remove(self):
        for _ in range(100):
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)


def bpf_maps(pid):
    """The daemon's BPF maps, one entry per map id, from /proc/PID/fdinfo."""
    maps = {}
    fd_dir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                text = f.read()
        except OSError:
            continue
        if "map_type:" not in text:
            continue
        info = dict(re.findall(r"^(\w+):\s+(\S+)", text, re.M))
        map_id = int(info["map_id"])
        maps[map_id] = {"id": map_id, "type": int(info["map_type"]),
                        "key_size": int(info["key_size"]), "value_size": int(info["value_size"]),
                        "max_entries": int(info["max_entries"]),
                        "flags": int(info["map_flags"], 16), "memlock": int(info["memlock"]),
                        "name": "?"}
    if shutil.which("bpftool"):
        for m in maps.values():
            p = subprocess.run(["bpftool", "-j", "map", "show", "id", str(m["id"])],
                               capture_output=True, text=True)
            if p.returncode == 0:
                m["name"] = json.loads(p.stdout).get("name", "?")
    return sorted(maps.values(), key=lambda m: -m["memlock"])


def per_cpu_bytes(m):
    """Bytes of the map held once per possible CPU, at max_entries."""
    if m["type"] not in PERCPU_MAP_TYPES:
        return 0
    return m["max_entries"] * ((m["value_size"] + 7) // 8 * 8)


def mib(value):
    return "-" if value is None else "%.1f" % (value / MIB)


def wait_ready(port, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the daemon exited with %s" % proc.returncode)
        try:
            if env.http_get(port, "/-/ready", 2.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the daemon was not ready within %d s" % timeout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--daemon", default=os.path.join(REPO, "build", "runway-bpfd"))
    ap.add_argument("--load-seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()

    workdir = os.path.join(REPO, "build", "measure-memory")
    os.makedirs(workdir, exist_ok=True)
    app = fixtures.Uvicorn(workdir, name="uvicorn")
    memcg = None
    daemon = None
    try:
        app.start()
        memcg = MemoryCgroup()
        port = env.free_port()
        log = open(os.path.join(workdir, "daemon.log"), "wb")
        daemon = subprocess.Popen(
            ["sh", "-c", 'echo $$ > "$0" && exec "$@"', memcg.procs_file(), args.daemon,
             "--cgroup", app.cgroup.path, "--listen", "127.0.0.1:%d" % port],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        wait_ready(port, daemon)
        time.sleep(0.5)
        start = memcg.sample()

        halt = threading.Event()
        scrapes = [0]

        def scrape_loop():
            while not halt.wait(0.1):
                env.http_get(port, "/metrics", 5.0)
                scrapes[0] += 1
        scraper = threading.Thread(target=scrape_loop, daemon=True)
        scraper.start()
        wrk = subprocess.run(["wrk", "-t1", "-c%d" % args.connections, "-d%ds" % args.load_seconds,
                              "http://127.0.0.1:%d/" % app.port], capture_output=True, text=True)
        halt.set()
        scraper.join()
        requests = re.search(r"(\d+) requests in", wrk.stdout)
        time.sleep(1.0)
        steady = memcg.sample()
        maps = bpf_maps(daemon.pid)
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=30)
        app.stop()
        if memcg is not None:
            memcg.remove()

    cpus = possible_cpus()
    memlock = sum(m["memlock"] for m in maps)
    per_cpu = sum(per_cpu_bytes(m) for m in maps)
    fixed_maps = memlock - per_cpu * cpus
    other_kernel = (steady["kernel"] or 0) - memlock
    peak = steady["peak"]
    user_peak = (peak - steady["kernel_peak"]) if peak and steady["kernel_peak"] else None

    print("# runway-bpfd memory charge (memory cgroup v%d, %d possible CPUs)" % (memcg.version, cpus))
    print()
    print("Load: wrk -c%d for %d s (%s requests), %d scrapes." %
          (args.connections, args.load_seconds, requests.group(1) if requests else "?", scrapes[0]))
    print()
    print("| MiB | start | steady | peak |")
    print("|---|---|---|---|")
    print("| total charge | %s | %s | %s |" % (mib(start["total"]), mib(steady["total"]), mib(peak)))
    print("| user (anon) | %s | %s | %s |" % (mib(start["user"]), mib(steady["user"]), mib(user_peak)))
    print("| kernel | %s | %s | %s |" % (mib(start["kernel"]), mib(steady["kernel"]),
                                          mib(steady["kernel_peak"])))
    if steady["percpu"] is not None:
        print("| of which percpu | %s | %s | |" % (mib(start["percpu"]), mib(steady["percpu"])))
    print()
    print("| map | type | max_entries | value B | flags | memlock MiB | per CPU KiB |")
    print("|---|---|---|---|---|---|---|")
    for m in maps:
        print("| %s | %s | %d | %d | %s | %.2f | %s |" % (
            m["name"], MAP_TYPES.get(m["type"], m["type"]), m["max_entries"], m["value_size"],
            "no_prealloc" if m["flags"] & BPF_F_NO_PREALLOC else "-", m["memlock"] / MIB,
            "%.1f" % (per_cpu_bytes(m) / 1024) if per_cpu_bytes(m) else "-"))
    print("| **all maps** | | | | | **%.2f** | **%.1f** |" % (memlock / MIB, per_cpu / 1024))
    print()
    print("Maps: memlock = %.2f MiB fixed + %.1f KiB x N (per-CPU maps at max_entries)." %
          (fixed_maps / MIB, per_cpu / 1024))
    print("Kernel memory besides the maps (programs, BTF, sockets, slab): %.1f MiB." %
          (other_kernel / MIB))
    base = (peak or steady["total"]) - per_cpu * cpus
    print()
    print("charge(N) ~= %.1f MiB + %.1f KiB x N possible CPUs (peak at N = %d: %.1f MiB)" %
          (base / MIB, per_cpu / 1024, cpus, (peak or steady["total"]) / MIB))
    for n in (2, 8, 32, 64, 192):
        print("  N = %3d: %6.1f MiB" % (n, (base + per_cpu * n) / MIB))
    lazy = [m for m in maps if m["type"] in PERCPU_MAP_TYPES and m["flags"] & BPF_F_NO_PREALLOC]
    if lazy:
        # kernel/bpf/memalloc.c: each CPU that inserts keeps up to 96 spare
        # elements (kmalloc-96 for a hash element of an 8-byte key) and up
        # to 3 spare per-CPU values of value_size x N.
        linear = len(lazy) * 96 * 96
        square = sum(3 * ((m["value_size"] + 7) // 8 * 8) for m in lazy)
        print()
        print("Per-CPU hashes without preallocation (%s) grow with their entries: the per-CPU"
              % ", ".join(m["name"] for m in lazy))
        print("figure above is their size when full.  The kernel's allocation caches behind")
        print("them add up to %.1f KiB x N + %.2f KiB x N^2 (from kernel/bpf/memalloc.c, not"
              % (linear / 1024, square / 1024))
        print("measured; at most %.0f KiB at N = %d):" % ((linear * cpus + square * cpus * cpus) / 1024, cpus))
        for n in (2, 8, 32, 64, 192):
            print("  N = %3d: %6.1f MiB at most" % (n, (base + per_cpu * n + linear * n + square * n * n) / MIB))


if __name__ == "__main__":
    sys.exit(main())
