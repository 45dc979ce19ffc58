#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""runway-bpfd benchmarks: what it costs and how right it is, side by side
with the seed's middleware, in one run.

    make bench                                  # every part
    make bench BENCH_ARGS="--quick"             # reduced matrix, a few minutes
    make bench BENCH_ARGS="--only 7,node_cost"  # some parts, by number or name
    /usr/bin/python3 bench/run.py --daemon build/runway-bpfd --only 1

Prints the results (also written to build/bench-results.md, raw figures to
build/bench-results.json): the machine (CPU model, Spectre v2 mitigation),
the goals met or missed, the BPF time per program, then every part's rows.
The target (uvicorn) runs pinned to CPU 0 in a cgroup v2 directory of its
own; this script, the load generators and the clients run on CPU 1.  Each
part's method is in its file, bench/part_*.py; bench/README.md has them all.

Everything started here (uvicorn, daemons, clients, cgroups, network
namespaces, kernel.bpf_stats_enabled) is stopped, removed or restored on exit,
on error and on Ctrl-C.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time

import common
import part_accuracy
import part_bpf_time
import part_daemon_cost
import part_node_cost
import part_scale
import part_scrape_latency
import part_target_cpu

PARTS = [part_target_cpu, part_node_cost, part_daemon_cost, part_accuracy, part_scrape_latency,
         part_scale, part_bpf_time]


def parts_help():
    return "\n".join("  %d %-15s %s" % (p.NUMBER, p.NAME, p.TITLE) for p in PARTS)


def select_parts(text):
    """The parts named in --only (numbers or names, comma-separated), in the
    order given; None and a one-line message when one is unknown."""
    by_key = {}
    for p in PARTS:
        by_key[str(p.NUMBER)] = p
        by_key[p.NAME] = p
    known = "give numbers 1-%d or names %s (see --help)" % (len(PARTS), ", ".join(p.NAME for p in PARTS))
    chosen = []
    for key in (k.strip() for k in text.split(",")):
        if not key:
            continue
        if key not in by_key:
            return None, "bench: no part %r in --only: %s" % (key, known)
        if by_key[key] not in chosen:
            chosen.append(by_key[key])
    if not chosen:
        return None, "bench: --only names no part: " + known
    return chosen, None


def command_line():
    argv = " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    if os.environ.get("MAKELEVEL"):
        return "make bench (%s)" % argv
    return argv


def header(bench, elapsed, parts, load_start):
    try:
        import uvicorn
        uv_version = uvicorn.__version__
    except ImportError:
        uv_version = "?"
    version = subprocess.run([bench.daemon, "--version"], capture_output=True, text=True).stdout.strip()
    revision = subprocess.run(["git", "-C", common.REPO, "describe", "--always", "--dirty"],
                              capture_output=True, text=True).stdout.strip()
    if revision:
        version += " (git %s)" % revision
    lines = ["# runway-bpfd benchmarks (%s; parts %s)" % (
        "quick" if bench.quick else "full", ",".join(str(p.NUMBER) for p in parts)), ""]
    lines += common.machine_lines()
    lines += [
        "- %s; Python %s, uvicorn %s; %s" % (version, platform.python_version(), uv_version,
                                            datetime.datetime.now().strftime("%Y-%m-%d %H:%M")),
        "- command: `%s`" % command_line(),
        "- target pinned to CPU %d; load generators and clients on CPU %d; medians of alternated "
        "rounds; run took %.0f s; load average %.2f at the start, %.2f at the end" % (
            common.TARGET_CPU, common.LOAD_CPU, elapsed, load_start, os.getloadavg()[0]),
    ]
    if bench.foreign_seen:
        lines.append("- note: other runway-bpfd daemons (not ours) loaded %d programs on the node during "
                     "the run; the bench waited %.0f s for them to go, and left out alternated pairs "
                     "during which one started or stopped" % (len(bench.foreign_seen), bench.waited_s))
    return lines


def check_machine():
    if os.geteuid() != 0:
        return "bench: run as root (BPF, cgroups, sysctls)"
    if os.cpu_count() < 2:
        return "bench: needs 2 CPUs (target on one, load on the other)"
    for tool in ("wrk", "bpftool", "taskset", "cc", "nsenter", "unshare"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            return "bench: %s not found: run `make deps` (scripts/install-deps.sh)" % tool
    if not os.path.exists(common.BpfStatsEnabled.PATH):
        return "bench: no %s: this kernel cannot report BPF run times" % common.BpfStatsEnabled.PATH
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="parts:\n" + parts_help())
    p.add_argument("--daemon", default=os.path.join(common.BUILD, "runway-bpfd"))
    p.add_argument("--quick", action="store_true", help="a reduced matrix, for development (a few minutes)")
    p.add_argument("--only", default=",".join(str(x.NUMBER) for x in PARTS),
                   help="comma-separated parts to run, by number or name (default: all)")
    p.add_argument("--out", default=os.path.join(common.BUILD, "bench-results.md"))
    p.add_argument("--wait-quiet", type=float, default=None, metavar="SECONDS",
                   help="in each part, wait at most SECONDS in all for other runway-bpfd daemons on "
                        "the node to go away before a pair of alternated rounds (their node-wide hooks "
                        "slow every TCP socket; default 600, with --quick 60; 0: do not wait)")
    args = p.parse_args()
    if args.wait_quiet is None:
        args.wait_quiet = 60 if args.quick else 600
    parts, problem = select_parts(args.only)
    if problem:
        sys.stderr.write(problem + "\n")
        return 2
    problem = check_machine()
    if problem:
        sys.stderr.write(problem + "\n")
        return 2
    if not os.access(args.daemon, os.X_OK):
        sys.stderr.write("bench: no runway-bpfd at %s: run `make` first, or give --daemon PATH\n" % args.daemon)
        return 2
    common.raise_nofile()
    os.sched_setaffinity(0, {common.LOAD_CPU})
    common.remove_stale_cgroups()

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    bench = common.Run(args)
    common.log("logs in %s" % bench.logdir)
    load_start = os.getloadavg()[0]
    status = 0
    try:
        bench.build_tools()
        bench.note_foreign()
        for part in parts:
            bench.start_part()
            part.run(bench)
            bench.note_foreign()
    except KeyboardInterrupt:
        common.log("interrupted: cleaning up")
        status = 130
    except Exception:
        import traceback
        traceback.print_exc()
        for item in list(common.LIVE.items):
            if isinstance(item, common.Proc) and item.popen.poll() is not None:
                rc = item.popen.returncode
                common.log("%r had already ended: %s" % (item, "signal %d" % -rc if rc < 0 else "status %d" % rc))
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        common.LIVE.stop_all()
    text = bench.table.render(header(bench, time.monotonic() - common.T_START, parts, load_start))
    if status:
        text += "\n(incomplete run: exit status %d)\n" % status
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(bench.table.raw, f, indent=1, default=str)
    common.log("results written to %s" % args.out)
    return status


if __name__ == "__main__":
    sys.exit(main())
