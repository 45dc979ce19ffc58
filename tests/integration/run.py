#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Integration tests of runway-bpfd against real uvicorn servers.

    /usr/bin/python3 tests/integration/run.py --daemon build/runway-bpfd [-k WORD]... [-v]

runway-sweep is taken from next to the daemon unless --sweep names it.

Needs root (BPF, cgroup v2) and Debian's python3-uvicorn, -fastapi, -uvloop,
-httptools, -h11, -wsproto, plus promtool, ss and taskset.  If
`runway-bpfd --check` says this kernel cannot run the daemon, every test is
skipped with its reason; anything else that goes wrong is a failure.

The last line printed is always `integration: N passed, N failed, N skipped`;
the exit code is 1 when anything failed.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import base  # noqa: E402
import env  # noqa: E402
import fixtures  # noqa: E402


class Result(unittest.TestResult):
    """Prints one line per test, details of failures as they happen."""

    def __init__(self, verbose):
        super().__init__()
        self.verbose = verbose
        self.passed = 0
        self.failed_count = 0
        self.skipped_count = 0
        self._start = {}

    def _line(self, test, word, extra=""):
        took = time.monotonic() - self._start.get(test, time.monotonic())
        print("%-5s %s (%.1fs)%s" % (word, test.id(), took, extra), flush=True)
        for note in getattr(test, "notes", []):
            print("      %s" % note, flush=True)

    def startTest(self, test):
        super().startTest(test)
        self._start[test] = time.monotonic()
        if self.verbose:
            print("..... %s" % test.id(), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        self._line(test, "PASS")

    def _fail(self, test, err, word):
        self.failed_count += 1
        self._line(test, word)
        print(self._exc_info_to_string(err, test).rstrip("\n"))
        for path in getattr(test, "log_paths", []):
            print("--- last lines of %s" % path)
            print(fixtures.tail(path, 25).rstrip("\n"))
        print(flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err, "FAIL")

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err, "ERROR")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.skipped_count += 1
        self._line(test, "SKIP", ": " + reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.skipped_count += 1
        last = traceback.format_exception_only(err[0], err[1])[-1].strip()
        self._line(test, "XFAIL", ": expected failure: " + last)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.passed += 1
        self._line(test, "XPASS", ": marked expectedFailure but passes; remove the mark")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._fail(subtest, err, "FAIL")


def flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from flatten(item)
        else:
            yield item


def probe(daemon, shown):
    """None if the daemon can run here, else ("skip"|"fail", reason)."""
    if not os.path.isfile(daemon) or not os.access(daemon, os.X_OK):
        return "fail", "daemon binary %s not found or not executable" % shown
    try:
        p = subprocess.run([daemon, "--check"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "fail", "%s --check did not finish within 120 s" % shown
    except OSError as e:
        return "fail", "cannot run %s --check: %s" % (shown, e)
    if p.returncode != 0:
        why = (p.stderr.strip() or p.stdout.strip() or "no message").splitlines()
        return "skip", "%s --check exited %d: %s" % (shown, p.returncode, " / ".join(why))
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--daemon", required=True, help="path of runway-bpfd")
    ap.add_argument("--sweep", help="path of runway-sweep (default: next to the daemon)")
    ap.add_argument("-k", action="append", default=[], metavar="WORD",
                    help="run only tests whose id contains WORD (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="a line when a test starts")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    ap.add_argument("--keep-logs", action="store_true",
                    help="keep the log folder even when everything passed")
    ap.add_argument("-x", "--failfast", action="store_true", help="stop at the first failure")
    args = ap.parse_args()

    loader = unittest.TestLoader()
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    tests = [t for t in flatten(suite)
             if not args.k or any(k in t.id() for k in args.k)]
    if args.list:
        for t in tests:
            print(t.id())
        return 0

    # Load generators and the daemon on CPU 1, uvicorn on CPU 0 (taskset in
    # its wrapper): the server's event loop gets a core of its own.
    env.pin_to(1)

    base.CONFIG.daemon = os.path.abspath(args.daemon)
    base.CONFIG.sweep = os.path.abspath(
        args.sweep or os.path.join(os.path.dirname(args.daemon), "runway-sweep"))
    base.CONFIG.workdir = tempfile.mkdtemp(prefix="runway-it-")
    try:
        with open(os.path.join(os.path.dirname(os.path.dirname(HERE)), "VERSION")) as f:
            base.CONFIG.version = f.read().strip()
    except OSError:
        base.CONFIG.version = ""
    env.remove_stale_cgroups("runway-test-")

    result = Result(args.verbose)
    result.failfast = args.failfast
    for error in loader.errors:  # a test module that does not import
        result.failed_count += 1
        print("ERROR loading tests:\n%s" % error)

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_sigterm)

    started = time.monotonic()
    interrupted = False
    shown = args.daemon
    if os.path.isfile(base.CONFIG.daemon):
        # Test a copy: a rebuild of build/runway-bpfd during the run must not
        # mix two daemons in one report.
        copy = os.path.join(base.CONFIG.workdir, os.path.basename(base.CONFIG.daemon))
        shutil.copy2(base.CONFIG.daemon, copy)
        print("testing a copy of %s: %s" % (base.CONFIG.daemon, copy), flush=True)
        base.CONFIG.daemon = copy
    if os.path.isfile(base.CONFIG.sweep):
        copy = os.path.join(base.CONFIG.workdir, os.path.basename(base.CONFIG.sweep))
        shutil.copy2(base.CONFIG.sweep, copy)
        base.CONFIG.sweep = copy
    verdict = probe(base.CONFIG.daemon, shown)
    try:
        if verdict is None:
            unittest.TestSuite(tests).run(result)
        else:
            kind, reason = verdict
            print("%s: %s" % ("SKIPPING ALL" if kind == "skip" else "FAILING ALL", reason))
            for t in tests:
                result.startTest(t)
                if kind == "skip":
                    result.addSkip(t, reason)
                else:
                    result.addFailure(t, (AssertionError, AssertionError(reason), None))
                result.stopTest(t)
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: stopping every process the tests started", flush=True)
    finally:
        fixtures.stop_all()
        env.remove_stale_cgroups("runway-test-")

    failed = result.failed_count + (1 if interrupted else 0)
    if failed or args.keep_logs:
        logs = "logs kept in %s" % base.CONFIG.workdir
    else:
        shutil.rmtree(base.CONFIG.workdir, ignore_errors=True)
        logs = "logs removed (--keep-logs keeps them)"
    print("ran %d tests in %.0f s; %s" % (result.testsRun, time.monotonic() - started, logs))
    print("integration: %d passed, %d failed, %d skipped" %
          (result.passed, failed, result.skipped_count), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
