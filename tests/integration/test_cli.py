# SPDX-License-Identifier: MIT
"""(j) the command line: bad input exits 2 with one line on stderr; signals exit 0."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import env
import fixtures
from base import CONFIG, REQUESTS_TOTAL, RunwayCase
from client import one_shot


def run_daemon(args, timeout=20.0):
    """Run the daemon to its exit; (returncode, stdout, stderr).  A daemon that
    is still running after `timeout` is killed and reported as rc None."""
    p = subprocess.Popen([CONFIG.daemon] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out.decode(errors="replace"), err.decode(errors="replace")


class BadInput(RunwayCase):
    """Each case: exit code 2, exactly one line on stderr, naming the problem."""

    @classmethod
    def setUpClass(cls):
        cls.class_logdir = os.path.join(CONFIG.workdir, "BadInput")
        os.makedirs(cls.class_logdir, exist_ok=True)
        cls.app = fixtures.Uvicorn(cls.class_logdir)
        try:
            cls.app.start()
        except BaseException:
            cls.app.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.app.stop()

    def listen(self):
        return ["--listen", "127.0.0.1:%d" % env.free_port()]

    def assertBadInput(self, args, *patterns):
        rc, out, err = run_daemon(args)
        what = "runway-bpfd %s" % " ".join(args)
        self.assertIsNotNone(rc, "%s did not exit within 20 s; stderr: %r" % (what, err))
        self.assertEqual(rc, 2, "%s: exit code; stderr: %r" % (what, err))
        lines = err.rstrip("\n").split("\n")
        self.assertTrue(err.strip(), "%s: nothing on stderr" % what)
        self.assertEqual(len(lines), 1, "%s: expected one line on stderr, got %r" % (what, err))
        self.assertTrue(any(re.search(p, lines[0], re.I) for p in patterns),
                        "%s: stderr %r mentions none of %s" % (what, lines[0], patterns))

    def test_unknown_flag(self):
        self.assertBadInput(["--pid", str(self.app.pid)] + self.listen() + ["--no-such-flag"],
                            r"no-such-flag")

    def test_no_such_pid(self):
        pid = env.unused_pid()
        self.assertBadInput(["--pid", str(pid)] + self.listen(), r"\b%d\b" % pid)

    def test_pid_not_a_number(self):
        self.assertBadInput(["--pid", "12abc"] + self.listen(), r"12abc", r"\bpid\b")

    def test_pid_without_listening_socket(self):
        sleeper = subprocess.Popen(["sleep", "60"])
        try:
            self.assertBadInput(["--pid", str(sleeper.pid)] + self.listen(),
                                r"\b%d\b" % sleeper.pid, r"listen")
        finally:
            sleeper.kill()
            sleeper.wait()

    def test_no_target(self):
        self.assertBadInput(self.listen(), r"pid", r"cgroup")

    def test_cgroup_plain_directory(self):
        path = tempfile.mkdtemp(prefix="runway-not-a-cgroup-")
        try:
            self.assertBadInput(["--cgroup", path] + self.listen(), re.escape(path))
        finally:
            os.rmdir(path)

    def test_cgroup_missing_directory(self):
        path = os.path.join(env.cgroup2_mount(), "runway-test-does-not-exist")
        self.assertBadInput(["--cgroup", path] + self.listen(), re.escape(path))

    def test_cgroup_v1_directory(self):
        path = env.cgroup1_dir()
        if path is None:
            self.skipTest("no cgroup v1 hierarchy mounted on this machine")
        self.assertBadInput(["--cgroup", path] + self.listen(), re.escape(path))

    def test_metrics_port_in_use(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            self.assertBadInput(["--pid", str(self.app.pid), "--listen", "127.0.0.1:%d" % port],
                                r"\b%d\b" % port, r"in use")

    def test_bad_listen_address(self):
        self.assertBadInput(["--pid", str(self.app.pid), "--listen", "127.0.0.1:notaport"],
                            r"notaport", r"listen")

    def test_port_zero(self):
        self.assertBadInput(["--pid", str(self.app.pid), "--port", "0"] + self.listen(),
                            r"port")

    def test_port_too_large(self):
        self.assertBadInput(["--pid", str(self.app.pid), "--port", "99999"] + self.listen(),
                            r"99999", r"port")

    def test_route_group_that_is_no_prefix(self):
        self.assertBadInput(["--pid", str(self.app.pid), "--route-group", "ml=^/api/(infer|embed)"]
                            + self.listen(), r"--route-group 'ml=\^/api/\(infer\|embed\)'",
                            re.escape("^/api/infer"))

    def test_route_group_hidden_by_an_earlier_one(self):
        self.assertBadInput(["--pid", str(self.app.pid), "--route-group", "api=/api",
                             "--route-group", "infer=/api/infer"] + self.listen(),
                            r"never matches", r"'api'")


class RootCgroup(RunwayCase):
    """The root cgroup is refused unless --allow-root-cgroup: an unset
    variable in a manifest must not put every packet of the node through
    our programs."""

    def assertRefused(self, args, *patterns):
        rc, _, err = run_daemon(args + ["--listen", "127.0.0.1:%d" % env.free_port()])
        self.assertEqual(rc, 2, "runway-bpfd %s: exit code; stderr %r" % (args, err))
        lines = err.rstrip("\n").split("\n")
        self.assertEqual(len(lines), 1, "one line on stderr: %r" % err)
        self.assertIn("--allow-root-cgroup", lines[0])
        for p in patterns:
            self.assertRegex(lines[0], p)

    def test_empty_cgroup_is_refused(self):
        self.assertRefused(["--cgroup", ""], r"root cgroup", r"unset variable")

    def test_paths_resolving_to_the_root_are_refused(self):
        root = env.cgroup2_mount()
        for path in ("/", root, root + "/", root + "/./"):
            self.assertRefused(["--cgroup", path], r"root cgroup")

    def test_pid_in_the_root_cgroup_is_refused(self):
        app = self.start_app()
        with open(os.path.join(env.cgroup2_mount(), "cgroup.procs"), "w") as f:
            f.write(str(app.pid))
        self.assertRefused(["--pid", str(app.pid)], r"\b%d\b" % app.pid, r"root cgroup")

    def test_allow_root_cgroup_runs_and_warns(self):
        d = self.start_daemon(args=["--cgroup", "", "--allow-root-cgroup"])
        self.assertTrue(d.scrape().select("runway_bpfd_build_info"))
        with open(d.log_path) as f:
            self.assertRegex(f.read(), r"warning: the target is in the root cgroup")


POD_CGROUP = os.path.join(fixtures.REPO, "scripts", "pod-cgroup.sh")


class PodCgroupScript(RunwayCase):
    """scripts/pod-cgroup.sh from inside a "container" cgroup of a "pod"."""

    def run_in_container(self, unshare_cgroupns):
        pod = env.Cgroup()
        self.addCleanup(pod.remove)
        container = os.path.join(pod.path, "container")
        os.mkdir(container)
        self.addCleanup(lambda: os.path.isdir(container) and os.rmdir(container))
        script = "echo $$ > %s/cgroup.procs && exec %s sh %s" % (
            container, "unshare --cgroup" if unshare_cgroupns else "", POD_CGROUP)
        p = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)
        return pod, p

    def test_host_cgroup_namespace_prints_the_pod(self):
        pod, p = self.run_in_container(False)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, pod.path), p.stderr)

    def test_private_cgroup_namespace_fails_clearly(self):
        _, p = self.run_in_container(True)
        self.assertEqual(p.returncode, 2, "stdout %r stderr %r" % (p.stdout, p.stderr))
        self.assertEqual(p.stdout, "", "nothing a caller could take for a cgroup")
        self.assertRegex(p.stderr, r"private cgroup namespace")
        self.assertRegex(p.stderr, r"--cgroup")


class Version(RunwayCase):
    def test_version(self):
        rc, out, err = run_daemon(["--version"])
        self.assertEqual(rc, 0, err)
        self.assertIn(CONFIG.version, out + err, "--version does not print VERSION")

    def test_check(self):
        rc, out, err = run_daemon(["--check"], timeout=60)
        self.assertEqual(rc, 0, err)


def bpf_ids(kind):
    """Ids of the loaded BPF programs / links (bpftool), or None without bpftool."""
    if shutil.which("bpftool") is None:
        return None
    p = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True,
                       timeout=30)
    if p.returncode != 0:
        return None
    return {item["id"] for item in json.loads(p.stdout or "[]")}


def held_bpf_ids(pid):
    """(program ids, link ids) that process pid holds file descriptors of:
    its own, whatever other daemons on the machine load meanwhile."""
    progs, links = set(), set()
    fdinfo = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                text = f.read()
        except OSError:
            continue
        prog = re.search(r"^prog_id:\s+(\d+)$", text, re.M)
        link = re.search(r"^link_id:\s+(\d+)$", text, re.M)
        if link:
            links.add(int(link.group(1)))
        if prog:
            progs.add(int(prog.group(1)))
    return progs, links


class Signals(RunwayCase):
    """SIGTERM and SIGINT: detach everything, exit 0; the server goes on."""

    def _check(self, sig):
        app = self.start_app()
        progs0, links0 = bpf_ids("prog"), bpf_ids("link")
        d = self.start_daemon(app)
        progs1, links1 = bpf_ids("prog"), bpf_ids("link")
        if progs1 is not None:
            # Other sessions' daemons may load programs at the same time:
            # only those this daemon holds are its own.
            held_progs, held_links = held_bpf_ids(d.proc.pid)
            progs1 = (progs1 - progs0) & held_progs
            links1 = (links1 - links0) & held_links
            self.assertTrue(progs1, "the daemon holds no BPF program")
            self.assertTrue(links1, "the daemon holds no BPF link")
        before = d.scrape()
        self.assertEqual(one_shot(app.host, app.port, "GET", "/")[0], 200)
        self.poll(lambda: d.scrape().sum(REQUESTS_TOTAL) > before.sum(REQUESTS_TOTAL))
        rc = d.signal_and_wait(sig, timeout=10)
        self.assertEqual(rc, 0, "exit code after %s" % signal.Signals(sig).name)
        if progs1 is not None:
            time.sleep(0.2)
            ours = progs1 & bpf_ids("prog")
            self.assertEqual(ours, set(), "BPF programs left loaded after exit")
            ours = links1 & bpf_ids("link")
            self.assertEqual(ours, set(), "BPF links left after exit")
        self.assertEqual(one_shot(app.host, app.port, "GET", "/")[0], 200,
                         "the server no longer answers after the daemon left")

    def test_sigterm(self):
        self._check(signal.SIGTERM)

    def test_sigint(self):
        self._check(signal.SIGINT)
