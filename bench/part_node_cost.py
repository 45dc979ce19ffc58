# SPDX-License-Identifier: MIT
"""Part 2, node cost: how much slower a process that runway-bpfd does not
watch gets when the daemon is attached to some target on the node.  The goal:
its 1-byte TCP loopback send+recv slowed by at most 1 %, shown with a noise
(standard error of the paired difference) below 1 %.

What runs for such a process: the node-wide tracepoint programs (the read
hook on every TCP read, the connection-state one on every TCP state change).
The cgroup_skb programs run only for the target's cgroup.

Method.  bench/syscall_loop.c `interleaved`, pinned to CPU 1, outside the
target's cgroup: in each chunk, TCP_OPS 1-byte send+recv on a TCP loopback
connection (both ends in the thread), then UNIX_OPS on a unix socketpair,
then GETPPID_OPS getppid() calls, each timed with the thread's CPU clock.
A round is a number of chunks with a fixed daemon state; rounds alternate
without the daemon and with it attached to an idle uvicorn (order swapped
every pair); settings() gives the chunks per round and the pairs.  Figure: the median over pairs of the change of the
round's median TCP/unix ratio; noise: the standard error of that median.

Why this way.  The CPU speed of this shared VM drifts by 10-40 % within a
second, and a daemon's start takes half a second: the raw time per TCP op of
two rounds a second apart differs by 3-15 %, so hundreds of pairs would be
needed.  Within a chunk the TCP and unix ops run 3 ms apart and see the same
drift; their ratio moves by about 0.5 % between rounds on a quiet machine,
2-3 % with other work on it.  A unix socket reaches none of runway-bpfd's
programs, so the ratio changes only by what the daemon costs the TCP op.
That the unix op itself is unaffected is checked against getppid() (the
control's control), and the raw TCP change is shown beside it.

Numbers: 250 TCP ops (about 3 ms here) and 1000 unix ops (about as long) per
chunk, so both halves see the same moment; 120 chunks per round (about a
second, so that the median of a round is steady); 40 pairs.  On this VM with
other work running, 50 such pseudo-pairs without any daemon gave a median of
-0.1 % and a standard error of 0.2 % (bootstrap; 0.55 % by the normal
approximation): under the 1 % the goal asks for even on a busy machine.
"""

import subprocess

from common import (LOAD_CPU, BpfStatsEnabled, Daemon, DaemonPrograms, FloorPrograms, Uvicorn, alternate,
                    counter_delta, fmt_pct, log, median, median_se, pm, short_name, verdict_upper)

NUMBER = 2
NAME = "node_cost"
TITLE = "an unwatched process's syscalls, without and with the daemon"

GOAL_PCT = 1.0
TCP_OPS, UNIX_OPS, GETPPID_OPS = 250, 1000, 2000


def settings(quick):
    """(pairs of rounds, chunks per round)."""
    return (10, 100) if quick else (40, 120)


def interleaved(bench, chunks):
    """Per chunk: (tcp, unix, getppid) CPU ns per op."""
    out = subprocess.run(["taskset", "-c", str(LOAD_CPU), bench.tools["syscall_loop"], "interleaved",
                          str(chunks), str(TCP_OPS), str(UNIX_OPS), str(GETPPID_OPS)],
                         capture_output=True, text=True, check=True).stdout
    return [tuple(float(x) for x in line.split()[1:4]) for line in out.splitlines()
            if line.startswith("chunk ")]


def summarise(chunks):
    return {"tcp_over_unix": median([t / u for t, u, _ in chunks]),
            "unix_over_getppid": median([u / g for _, u, g in chunks]),
            "tcp": median([t for t, _, _ in chunks]),
            "unix": median([u for _, u, _ in chunks]),
            "getppid": median([g for _, _, g in chunks])}


def run(bench):
    pairs, chunks = settings(bench.quick)
    log("part 2: node cost, %d pairs of rounds of %d chunks" % (pairs, chunks))
    target = Uvicorn(bench, "hello_app:app", "uvloop", name="node-target").start()
    interleaved(bench, 20)  # warm-up
    good, tried = alternate(bench, pairs, target.pid, lambda d: summarise(interleaved(bench, chunks)))
    rounds = {False: [off for off, _ in good], True: [on for _, on in good]}
    per_op = bpf_per_op(bench, target)
    target.stop()
    bench.table.raw["node_cost"] = {"rounds_without": rounds[False], "rounds_with": rounds[True],
                                    "pairs_tried": tried, "bpf_per_op": per_op}
    report(bench, rounds, tried, per_op)


def bpf_per_op(bench, target, ops=20000):
    """Our programs' exact run time per op on the unwatched sockets, and
    beside them, in the same counts, that of programs doing nothing on the
    same hooks (bench/empty_programs.bpf.c): for an unwatched socket ours
    return at once, so the two should be close, and what the hook itself
    costs is the part of the goal no change of ours can reach."""
    d = Daemon(bench, target.pid).start()
    floor = FloorPrograms(bench, target.pid, "empty_programs")
    sets = {"ours": DaemonPrograms(d.pid), "empty": DaemonPrograms(floor.proc.pid)}
    per_op = {}
    try:
        with BpfStatsEnabled():
            for mode in ("tcp", "unix"):
                c0 = {k: p.counters() for k, p in sets.items()}
                subprocess.run(["taskset", "-c", str(LOAD_CPU), bench.tools["syscall_loop"], mode,
                                str(ops), "1"], capture_output=True, check=True)
                c1 = {k: p.counters() for k, p in sets.items()}
                # syscall_loop runs an untimed tenth first.
                n = ops + ops // 10 + 1
                for k in sets:
                    per_op.setdefault(k, {})[mode] = {
                        name: (ns / n, cnt / n) for name, (ns, cnt) in counter_delta(c0[k], c1[k]).items()}
    except (OSError, subprocess.CalledProcessError) as e:
        log("BPF run time of part 2 not measured: %s" % e)
    floor.stop()
    d.stop()
    return per_op


def pct_changes(rounds, key):
    return [(on[key] / off[key] - 1) * 100 for off, on in zip(rounds[False], rounds[True])]


def report(bench, rounds, tried, per_op):
    table = bench.table
    n = len(rounds[False])
    note = ""
    if tried > n:
        note = " (%d more pairs left out: another runway-bpfd started or stopped during them)" % (tried - n)
    if n < 3:
        table.add("2", "unwatched process, 1-byte send+recv, TCP loopback", "none vs runway-bpfd" + note,
                  "not measured: %d pairs of rounds without another daemon starting or stopping" % n)
        table.goal("unwatched process's 1-byte TCP loopback send+recv slowed <= 1 %, noise < 1 %",
                   "not measured (other runway-bpfd daemons came and went)", None)
        return
    tcp = pct_changes(rounds, "tcp_over_unix")
    pct, se = median(tcp), median_se(tcp)
    raw = pct_changes(rounds, "tcp")
    ok, near = verdict_upper(pct, se, GOAL_PCT)
    if se >= GOAL_PCT:
        ok, near = None, " (noise not below 1 %: no verdict)"
    text = "%.0f CPU ns/op; %s %s %% against the unix op in the same chunks (%d pairs of rounds)%s; " \
           "unnormalised %s %s %%" % (median([r["tcp"] for r in rounds[False]]), fmt_pct(pct, 2),
                                       pm(se), n, near, fmt_pct(median(raw), 1), pm(median_se(raw)))
    table.add("2", "unwatched process, 1-byte send+recv, TCP loopback",
              "none vs runway-bpfd attached to a target" + note, text, "<= +1 %, noise < 1 %", ok)
    table.goal("unwatched process's 1-byte TCP loopback send+recv slowed <= 1 %, noise < 1 %",
               "%s %s %%%s" % (fmt_pct(pct, 2), pm(se), near), ok)
    ctl = pct_changes(rounds, "unix_over_getppid")
    table.add("2", "control: unix socketpair send+recv, against getppid()", "same chunks",
              "%.0f CPU ns/op; %s %s %%" % (median([r["unix"] for r in rounds[False]]),
                                            fmt_pct(median(ctl), 2), pm(median_se(ctl))),
              "(info: about 0, or the TCP figure is off by as much)")
    gp = pct_changes(rounds, "getppid")
    table.add("2", "unwatched process, getppid() loop", "same chunks, unnormalised",
              "%.0f CPU ns/op; %s %s %%" % (median([r["getppid"] for r in rounds[False]]),
                                            fmt_pct(median(gp), 1), pm(median_se(gp))), "(info)")
    for which, what in (("ours", "runway-bpfd's programs"), ("empty", "empty programs on the same hooks")):
        for mode, progs in per_op.get(which, {}).items():
            ran = ["%s %.2f runs, %.0f ns" % (short_name(name), cnt, ns)
                   for name, (ns, cnt) in sorted(progs.items()) if cnt >= 0.01]
            table.add("2", "BPF run time per op, unwatched %s socket" % mode, what + ", bpf_stats_enabled",
                      "; ".join(ran) or "none ran", "(info: dispatch not included)")
