# SPDX-License-Identifier: MIT
"""runway-sweep against a real uvicorn: where a GIL-bound route saturates,
that an async route does not, its JSON, Ctrl-C, --metrics against a real
daemon, and bad input (exit 2, one line)."""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

import env
import fixtures
from base import CONFIG, RunwayCase

SPEC_STEP_KEYS = {"concurrency", "rps", "p50", "p95", "p99", "in_flight", "queued"}


def run_sweep(args, timeout):
    """Run runway-sweep to its exit: (returncode, stdout, stderr); rc None if
    it was still running after `timeout` (then it is killed)."""
    p = subprocess.Popen([CONFIG.sweep] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out.decode(errors="replace"), err.decode(errors="replace")


def url(app, path):
    return "http://%s:%d%s" % (app.host, app.port, path)


class SweepCase(RunwayCase):
    def setUp(self):
        super().setUp()
        if not os.path.isfile(CONFIG.sweep or ""):
            self.fail("runway-sweep not found at %s (make builds it)" % CONFIG.sweep)

    def sweep_json(self, args, steps, step_seconds):
        """Run a sweep with --json; its parsed output.  Asserts exit 0."""
        args = args + ["--step-seconds", str(step_seconds), "--json"]
        rc, out, err = run_sweep(args, timeout=steps * step_seconds + 60)
        log = os.path.join(self.logdir, "sweep-%d.log" % len(self.notes))
        with open(log, "w") as f:
            f.write("$ runway-sweep %s\n--- stdout\n%s--- stderr\n%s" % (" ".join(args), out, err))
        self.log_paths.append(log)
        self.assertEqual(rc, 0, "runway-sweep exit code; stderr: %r" % err)
        data = json.loads(out)
        for s in data["steps"]:
            self.note("c=%-3d %7.1f req/s  p50 %7.1f ms  p95 %7.1f ms  client %.2f%s" % (
                s["concurrency"], s["rps"], s["p50"] * 1e3, s["p95"] * 1e3,
                s["client_concurrency"],
                "" if s["in_flight"] is None else "  daemon in_flight %.2f queued %s" % (
                    s["in_flight"], "-" if s["queued"] is None else "%.2f" % s["queued"])))
        self.note("saturated: %s at %s, threshold %s" % (
            data["saturated"], data["saturation_concurrency"], data["threshold"]))
        return data

    def assertClosedLoop(self, data):
        """Every step kept exactly its clients busy, without errors."""
        for s in data["steps"]:
            self.assertEqual(s["errors"], 0, "errors at concurrency %d" % s["concurrency"])
            self.assertGreater(s["responses"], 0, "no response at concurrency %d" % s["concurrency"])
            self.assertNear(s["client_concurrency"], s["concurrency"], 0.02,
                            "client concurrency at %d clients" % s["concurrency"])


class SweepUvicorn(SweepCase):
    def test_gil_bound_route_saturates_at_a_small_concurrency(self):
        app = self.start_app()
        data = self.sweep_json([url(app, "/cpu?ms=20"), "--max-concurrency", "16"],
                               steps=5, step_seconds=2)
        self.assertEqual([s["concurrency"] for s in data["steps"]], [1, 2, 4, 8, 16])
        self.assertClosedLoop(data)
        # One core of Python: 16 clients get nowhere near 16 times the
        # throughput of one, and wait in line for it.
        first, last = data["steps"][0], data["steps"][-1]
        self.assertLess(last["rps"], 4 * first["rps"], "throughput grew with concurrency")
        self.assertGreater(last["p50"], 3 * first["p50"], "latency did not grow with concurrency")
        self.assertTrue(data["saturated"], "a GIL-bound route did not saturate up to 16")
        self.assertLessEqual(data["saturation_concurrency"], 8)
        self.assertEqual(data["threshold"], 0.75 * data["saturation_concurrency"])
        self.assertEqual(data["threshold_fraction"], 0.75)

    def test_async_sleep_route_does_not_saturate_up_to_64(self):
        app = self.start_app()
        data = self.sweep_json([url(app, "/sleep?ms=200")], steps=7, step_seconds=2)
        self.assertEqual([s["concurrency"] for s in data["steps"]], [1, 2, 4, 8, 16, 32, 64])
        self.assertClosedLoop(data)
        self.assertFalse(data["saturated"], "an async sleep route saturated")
        self.assertIsNone(data["threshold"])
        self.assertIsNone(data["saturation_concurrency"])
        first, last = data["steps"][0], data["steps"][-1]
        # Ideal: 64 times the throughput at the same latency.
        self.assertGreater(last["rps"], 32 * first["rps"])
        self.assertLess(last["p50"], 1.5 * first["p50"])
        for s in data["steps"]:
            self.assertGreaterEqual(s["p50"], 0.2, "a response faster than the route's sleep")

    def test_json_shape(self):
        app = self.start_app()
        args = [url(app, "/sleep?ms=20"), "--max-concurrency", "4", "--step-seconds", "1",
                "--json"]
        rc, out, err = run_sweep(args, timeout=60)
        self.assertEqual(rc, 0, err)
        data = json.loads(out)  # the whole of stdout is one object
        self.assertIsInstance(data, dict)
        self.assertIsInstance(data["saturated"], bool)
        self.assertTrue(data["threshold"] is None or isinstance(data["threshold"], (int, float)))
        self.assertIs(data["interrupted"], False)
        self.assertEqual(data["url"], args[0])
        self.assertEqual([s["concurrency"] for s in data["steps"]], [1, 2, 4])
        for s in data["steps"]:
            self.assertLessEqual(SPEC_STEP_KEYS, set(s), "step keys")
            for key in ("rps", "p50", "p95", "p99"):
                self.assertIsInstance(s[key], (int, float), key)
                self.assertGreater(s[key], 0, key)
            self.assertLessEqual(s["p50"], s["p95"])
            self.assertLessEqual(s["p95"], s["p99"])
            # Without --metrics the daemon's numbers are unknown, not 0.
            self.assertIsNone(s["in_flight"])
            self.assertIsNone(s["queued"])
        # The progress: a line per step on stderr, nothing of it on stdout.
        self.assertIn("step 1/3", err)
        self.assertIn("step 3/3", err)

    def test_table_gives_littles_law_with_the_numbers(self):
        app = self.start_app()
        rc, out, err = run_sweep([url(app, "/sleep?ms=100"), "--max-concurrency", "4",
                                  "--step-seconds", "1"], timeout=60)
        self.assertEqual(rc, 0, err)
        self.assertIn("No saturation up to 4 concurrent requests", out)
        self.assertIn("threshold = target RPS per pod x target mean latency in seconds", out)
        m = re.search(r"measured at concurrency 4: ([\d.]+) req/s x ([\d.]+) s = ([\d.]+)", out)
        self.assertIsNotNone(m, out)
        rps, mean, product = (float(x) for x in m.groups())
        self.assertAlmostEqual(product, rps * mean, delta=0.1 + 0.01 * product)
        # The seed's p95 form beside it, never below the mean's.
        seed = re.search(r"takes the p95 latency instead: ([\d.]+) req/s x ([\d.]+) s = ([\d.]+)", out)
        self.assertIsNotNone(seed, out)
        self.assertEqual(float(seed.group(1)), rps)
        self.assertGreaterEqual(float(seed.group(2)), mean)
        # By Little's law, about the 4 clients.
        self.assertGreater(product, 3.0)
        self.assertLess(product, 6.0)
        row = re.search(r"^\s+4\s+([\d.]+)\s", out, re.M)
        self.assertIsNotNone(row, out)
        self.assertEqual(float(row.group(1)), rps)

    def test_ctrl_c_prints_the_steps_measured(self):
        app = self.start_app()
        p = subprocess.Popen([CONFIG.sweep, url(app, "/sleep?ms=50"), "--step-seconds", "1",
                              "--json"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        lines = []
        third_started = threading.Event()

        def read_stderr():
            for line in p.stderr:
                lines.append(line.decode(errors="replace"))
                if "step 3/7: 4 clients for" in lines[-1]:
                    third_started.set()
        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        self.assertTrue(third_started.wait(30), "no third step; stderr: %r" % lines)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        out = p.stdout.read()
        rc = p.wait(timeout=10)
        reader.join(timeout=5)
        self.assertEqual(rc, 0, "exit code after Ctrl-C; stderr: %r" % lines)
        data = json.loads(out)
        self.assertIs(data["interrupted"], True)
        # The two steps that ended; the one under way is not half-reported.
        self.assertEqual([s["concurrency"] for s in data["steps"]], [1, 2])
        self.assertTrue(all(s["responses"] > 0 for s in data["steps"]))
        self.assertTrue(any("interrupted" in line for line in lines), lines)

    def test_metrics_show_the_daemon_beside_the_client(self):
        app = self.start_app()
        daemon = self.start_daemon(app)
        data = self.sweep_json([url(app, "/sleep?ms=100"), "--max-concurrency", "8",
                                "--metrics", "http://127.0.0.1:%d/metrics" % daemon.port],
                               steps=4, step_seconds=2)
        self.assertClosedLoop(data)
        for s in data["steps"]:
            c = s["client_concurrency"]
            self.assertIsNotNone(s["in_flight"], "no daemon numbers with --metrics")
            self.assertIsNotNone(s["queued"], "no queued mean (the read hook is on)")
            # The kernel sees every request the clients have outstanding,
            # less the loopback transit: within 5 % (and 0.1 request).
            self.assertTrue(abs(s["in_flight"] + s["queued"] - c) <= 0.05 * c + 0.1,
                            "in_flight + queued %.3f vs client %.3f at %d clients" %
                            (s["in_flight"] + s["queued"], c, s["concurrency"]))
            # An async sleep is read at once: they are in flight, not queued.
            self.assertTrue(abs(s["in_flight"] - c) <= 0.1 * c + 0.1,
                            "in_flight %.3f vs client %.3f" % (s["in_flight"], c))


class SweepBadInput(SweepCase):
    """Each case: exit code 2, exactly one line on stderr, nothing on stdout."""

    @classmethod
    def setUpClass(cls):
        cls.class_logdir = os.path.join(CONFIG.workdir, "SweepBadInput")
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

    def assertBadInput(self, args, *patterns):
        rc, out, err = run_sweep(args, timeout=60)
        what = "runway-sweep %s" % " ".join(args)
        self.assertIsNotNone(rc, "%s did not exit within 60 s; stderr: %r" % (what, err))
        self.assertEqual(rc, 2, "%s: exit code; stderr: %r" % (what, err))
        self.assertEqual(out, "", "%s: printed on stdout" % what)
        lines = err.rstrip("\n").split("\n")
        self.assertTrue(err.strip(), "%s: nothing on stderr" % what)
        self.assertEqual(len(lines), 1, "%s: expected one line on stderr, got %r" % (what, err))
        self.assertTrue(lines[0].startswith("runway-sweep: error: "), lines[0])
        for p in patterns:
            self.assertRegex(lines[0], p, what)

    def test_unreachable_url(self):
        port = env.free_port()
        self.assertBadInput(["http://127.0.0.1:%d/" % port], r"Connection refused", str(port))

    def test_unresolvable_host(self):
        self.assertBadInput(["http://no-such-host.invalid/"], r"cannot resolve host 'no-such-host\.invalid'")

    def test_not_an_http_url(self):
        self.assertBadInput(["https://127.0.0.1:%d/" % self.app.port], r"https is not supported")
        self.assertBadInput(["ftp://127.0.0.1/x"], r"not an http:// URL")
        self.assertBadInput(["127.0.0.1:%d/cpu" % self.app.port], r"is not a URL",
                            re.escape("http://HOST[:PORT]/PATH"))

    def test_server_that_does_not_speak_http(self):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(4)
            port = listener.getsockname()[1]

            def answer():
                conn, _ = listener.accept()
                with conn:
                    conn.recv(4096)
                    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
            t = threading.Thread(target=answer, daemon=True)
            t.start()
            self.assertBadInput(["http://127.0.0.1:%d/" % port], r"not an HTTP/1\.x response")
            t.join(5)

    def test_route_that_does_not_answer_2xx(self):
        self.assertBadInput([url(self.app, "/status/404")], r"answered HTTP 404", r"2xx")
        self.assertBadInput([url(self.app, "/status/503")], r"answered HTTP 503")

    def test_concurrency_below_one(self):
        for n in ("0", "-1"):
            self.assertBadInput([url(self.app, "/"), "--max-concurrency", n],
                                r"--max-concurrency '%s'" % n, r"from 1 to 1024")

    def test_bad_numbers(self):
        self.assertBadInput([url(self.app, "/"), "--max-concurrency", "many"], r"'many'",
                            r"whole number")
        self.assertBadInput([url(self.app, "/"), "--max-concurrency", "4.5"], r"'4\.5'")
        self.assertBadInput([url(self.app, "/"), "--step-seconds", "soon"], r"'soon'", r"seconds")
        self.assertBadInput([url(self.app, "/"), "--step-seconds", "0"], r"from 0\.5 to 3600")

    def test_bad_usage(self):
        self.assertBadInput([], r"name the route")
        self.assertBadInput([url(self.app, "/"), "--frobnicate"], r"unknown option --frobnicate")
        self.assertBadInput([url(self.app, "/"), "--method", "GE T"], r"HTTP method")
        self.assertBadInput([url(self.app, "/"), "--max-concurrency"], r"needs a value")

    def test_missing_body_file(self):
        path = os.path.join(tempfile.gettempdir(), "runway-no-such-body-%d.json" % os.getpid())
        self.assertBadInput([url(self.app, "/echo"), "--body", path], re.escape(path),
                            r"No such file")

    def test_metrics_url_that_is_not_runway_bpfd(self):
        # The app's own /metrics answers 200 with something else.
        self.assertBadInput([url(self.app, "/"), "--metrics", url(self.app, "/metrics")],
                            r"no runway_requests_in_flight_seconds_total", r"runway-bpfd /metrics URL")
        port = env.free_port()
        self.assertBadInput([url(self.app, "/"), "--metrics", "http://127.0.0.1:%d/metrics" % port],
                            r"--metrics", r"Connection refused")


class SweepBody(SweepCase):
    def test_body_and_method_reach_the_server(self):
        """--body FILE goes with every request, with its length and type;
        without --method the request is a POST."""
        import http.server

        seen = []

        class Recorder(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                seen.append((self.command, self.headers.get("Content-Type"), body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as f:
            f.write(b'{"x": "%s"}' % (b"y" * 5000))
        self.addCleanup(os.unlink, f.name)
        data = self.sweep_json(["http://127.0.0.1:%d/infer" % server.server_address[1],
                                "--body", f.name, "--max-concurrency", "2"],
                               steps=2, step_seconds=1)
        self.assertClosedLoop(data)
        with open(f.name, "rb") as fh:
            body = fh.read()
        self.assertGreater(len(seen), sum(s["responses"] for s in data["steps"]))
        self.assertEqual({(m, t) for m, t, _ in seen}, {("POST", "application/json")})
        self.assertTrue(all(b == body for _, _, b in seen), "a request body differs from the file")
