# SPDX-License-Identifier: MIT
"""Listeners the daemon cannot watch are reported, never a silent 0.

- uvicorn --uds: --pid refuses with the reason, --cgroup warns and exports
  runway_bpfd_listeners_unwatchable{reason="unix_socket"}.
- uvicorn --fd with a socket made in another cgroup (socket activation): a
  warning naming that cgroup, and {reason="other_cgroup"}; watching the named
  cgroup instead counts the requests.
"""

import os
import re
import shutil
import tempfile

import env
import fixtures
from base import REQUESTS_TOTAL, RunwayCase
from client import KeepAlive
from test_cli import run_daemon

UNWATCHABLE = "runway_bpfd_listeners_unwatchable"


class UnixSocketListener(RunwayCase):
    def start_uds_app(self):
        # A unix socket path has at most 107 bytes: not under the log folder.
        folder = tempfile.mkdtemp(prefix="runway-uds-")
        self.addCleanup(shutil.rmtree, folder, True)
        return self.start_app(uds=os.path.join(folder, "app.sock"))

    def test_pid_of_uds_server_is_refused_with_the_reason(self):
        app = self.start_uds_app()
        rc, _, err = run_daemon(["--pid", str(app.pid), "--listen", "127.0.0.1:%d" % env.free_port()])
        self.assertEqual(rc, 2, err)
        lines = err.rstrip("\n").split("\n")
        self.assertEqual(len(lines), 1, err)
        self.assertIn(app.uds, lines[0], "the message names the socket")
        self.assertRegex(lines[0], r"unix socket .* cannot watch")
        self.assertRegex(lines[0], r"TCP", "the message says what is supported")
        self.assertNotIn("start the server first", lines[0])

    def test_cgroup_with_uds_server_warns_and_exports_it(self):
        app = self.start_uds_app()
        d = self.start_daemon(args=["--cgroup", app.cgroup.path, "-v"])
        expo = d.scrape()
        self.assertEqual(expo.get(UNWATCHABLE, reason="unix_socket"), 1.0)
        self.assertEqual(expo.get(UNWATCHABLE, reason="other_cgroup"), 0.0)
        with open(d.log_path) as f:
            log = f.read()
        self.assertRegex(log, r"warning: .*unix socket %s.* not counted" % re.escape(app.uds))
        # The server is served all the same, and nothing is counted.
        for _ in range(3):
            self.assertEqual(app.get("/")[0], 200)
        self.assertEqual(d.scrape().sum(REQUESTS_TOTAL), 0)


class ListenerFromAnotherCgroup(RunwayCase):
    """The socket is created in cgroup B, uvicorn runs in cgroup A."""

    def start_activated_app(self):
        socket_cgroup = env.Cgroup()
        self.addCleanup(socket_cgroup.remove)
        app = fixtures.Uvicorn(self.logdir, name="uvicorn-fd", socket_cgroup=socket_cgroup)
        self.log_paths.append(app.log_path)
        self.addCleanup(app.stop)
        app.start()
        return app, socket_cgroup

    def assertWarnsOfOtherCgroup(self, d, app, socket_cgroup):
        expo = self.poll(lambda: (lambda e: e if e.get(UNWATCHABLE, reason="other_cgroup") else None)(
            d.scrape()), timeout=7.0)
        self.assertTrue(expo, "%s{reason=\"other_cgroup\"} did not become 1" % UNWATCHABLE)
        self.assertEqual(expo.get(UNWATCHABLE, reason="other_cgroup"), 1.0)
        self.assertEqual(expo.get(UNWATCHABLE, reason="unix_socket"), 0.0)
        with open(d.log_path) as f:
            log = f.read()
        self.assertRegex(log, r"warning: .*port %d.*created in cgroup %s.*--cgroup %s" %
                         (app.port, re.escape(socket_cgroup.path), re.escape(socket_cgroup.path)))

    def test_pid_warns_and_names_the_cgroup_to_watch(self):
        app, socket_cgroup = self.start_activated_app()
        d = self.start_daemon(app)
        self.assertWarnsOfOtherCgroup(d, app, socket_cgroup)

    def test_cgroup_warns_and_the_named_cgroup_counts(self):
        app, socket_cgroup = self.start_activated_app()
        d = self.start_daemon(args=["--cgroup", app.cgroup.path])
        self.assertWarnsOfOtherCgroup(d, app, socket_cgroup)
        # The advice is right: the cgroup named in the warning sees the requests.
        other = self.start_daemon(args=["--cgroup", socket_cgroup.path, "--port", str(app.port)])
        before = other.scrape()
        ka = KeepAlive(app.host, app.port)
        try:
            for _ in range(5):
                self.assertEqual(ka.request("GET", "/")[0], 200)
        finally:
            ka.close()
        self.settle(other, before, {("GET", "200"): 5})
        self.assertEqual(d.scrape().sum(REQUESTS_TOTAL), 0)
