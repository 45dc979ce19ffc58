# SPDX-License-Identifier: MIT
"""deploy/ and the Dockerfile: the manifests parse, every metric they query
is one the daemon exports, the DaemonSet's capabilities are exactly what the
node mode needs (each one verified by running without it), and the image
holds what `make` builds and the libraries it links against."""

import glob
import importlib.util
import os
import re
import shlex
import subprocess
import time

import yaml

import env
import fixtures
from base import CONFIG, RunwayCase
from node import SimulatedNode

REPO = fixtures.REPO
HEADROOM = 1.25

_spec = importlib.util.spec_from_file_location("measure_memory", os.path.join(REPO, "scripts", "measure-memory.py"))
measure_memory = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(measure_memory)
DEPLOY = os.path.join(REPO, "deploy")
METRIC_RE = re.compile(r"\b((?:runway|process)_[a-z0-9_]+)\b")


def documents(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def daemonset():
    return [d for d in documents(os.path.join(DEPLOY, "daemonset.yaml")) if d["kind"] == "DaemonSet"][0]


def daemon_container():
    return daemonset()["spec"]["template"]["spec"]["containers"][0]


def walk(node):
    """Every (key, value) pair of a parsed YAML document, at any depth."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def derived_names(path):
    """Names the manifests define rather than query: the HPA's and KEDA's
    metric names and prometheus-adapter's `name: {as: ...}`, in YAML or in
    the comments that carry an adapter rule."""
    names = set()
    with open(path) as f:
        text = f.read()
    names.update(re.findall(r"\bas:\s*\"?([a-z_:][a-z0-9_:]*)", text))
    for doc in documents(path):
        for key, value in walk(doc):
            if key == "metricName" and isinstance(value, str):
                names.add(value)
            if key == "metric" and isinstance(value, dict) and isinstance(value.get("name"), str):
                names.add(value["name"])
    return names


class ExportedFamilies:
    """What a node-mode daemon serves with one pod under load: every family,
    with its sample names (histograms' _bucket, _sum and _count)."""

    cache = None

    @classmethod
    def get(cls, case):
        if cls.cache is None:
            node = SimulatedNode(case.logdir, "systemd")
            case.addCleanup(node.remove)
            pod = node.add_pod("shop", "api-0")
            pod.start_uvicorn("uvloop")
            d = case.start_daemon(args=node.daemon_args())
            pod.load([["GET", "/", 5, "keepalive"], ["GET", "/status/404", 1, "oneshot"]])
            case.poll(lambda: d.scrape().sum("runway_requests_total") >= 6)
            expo = d.scrape()
            names = set(expo.types) | expo.names()
            cls.cache = names
        return cls.cache


# Prometheus's own files in deploy/ (a scrape job, rules, rule tests): not
# Kubernetes manifests; `make deploy-test` checks them with promtool.
PROMETHEUS_FILES = ("prometheus-scrape.yaml", "prometheus-rules.yaml", "prometheus-rules.test.yaml")


class Manifests(RunwayCase):
    def test_yaml_parses(self):
        paths = sorted(p for p in glob.glob(os.path.join(DEPLOY, "*.yaml"))
                       if os.path.basename(p) not in PROMETHEUS_FILES)
        self.assertTrue(paths, "no manifests in deploy/")
        for path in paths:
            docs = documents(path)
            self.assertTrue(docs, "%s holds no document" % path)
            for doc in docs:
                self.assertIn("apiVersion", doc, path)
                self.assertIn("kind", doc, path)

    def test_queried_metrics_are_exported(self):
        exported = ExportedFamilies.get(self)
        checked = {}
        # Every name the node mode must export for the shipped queries,
        # rules and dashboard to work on a DaemonSet's series.
        for name in ("keda-scaledobject.yaml", "hpa.yaml", "podmonitor.yaml", "prometheus-adapter*.yaml",
                     "prometheus-rules.yaml", "grafana-dashboard.json"):
            for path in glob.glob(os.path.join(DEPLOY, name)):
                with open(path) as f:
                    # A name that ends in "_" is a prefix in a comment.
                    queried = {n for n in METRIC_RE.findall(f.read()) if not n.endswith("_")}
                if path.endswith(".yaml"):
                    queried -= derived_names(path)
                checked[os.path.basename(path)] = sorted(queried)
                missing = sorted(n for n in queried if n not in exported)
                self.assertEqual(missing, [], "%s queries metrics runway-bpfd does not export" % path)
        self.assertTrue(checked.get("keda-scaledobject.yaml"), "no metric found in the KEDA ScaledObject")
        self.note("metrics queried: %s", checked)

    def test_daemonset_shape(self):
        spec = daemonset()["spec"]["template"]["spec"]
        c = daemon_container()
        self.assertTrue(spec.get("hostPID"), "hostPID: the pods' processes")
        self.assertIn({"operator": "Exists"}, spec.get("tolerations", []), "tolerations for every node")
        self.assertIn("--kubernetes", c["args"])
        sc = c["securityContext"]
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertFalse(sc.get("privileged", False))
        mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
        for path in ("/sys/fs/cgroup", "/sys/kernel/btf", "/var/log/pods"):
            self.assertTrue(mounts[path].get("readOnly"), "%s must be mounted read-only" % path)
        podmonitor = documents(os.path.join(DEPLOY, "podmonitor.yaml"))[0]
        endpoint = podmonitor["spec"]["podMetricsEndpoints"][0]
        self.assertTrue(endpoint.get("honorLabels"), "honorLabels keeps our namespace and pod labels")
        self.assertIn(endpoint["port"], [p["name"] for p in c["ports"]], "PodMonitor port is the DaemonSet's")
        self.assertEqual(podmonitor["spec"]["selector"]["matchLabels"],
                         daemonset()["spec"]["template"]["metadata"]["labels"])

    def test_probe_paths_are_served(self):
        c = daemon_container()
        paths = [c[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")]
        app = self.start_app()
        d = self.start_daemon(app)
        for path in paths:
            status, _ = env.http_get(d.port, path)
            self.assertEqual(status, 200, "probe path %s" % path)


class Capabilities(RunwayCase):
    """The node mode with exactly the DaemonSet's capabilities counts
    everything, for a pod running as another user in its own network
    namespace and for a hostNetwork pod; without any one of them, something
    is lost, and the daemon says so."""

    def run_with(self, node, caps, pods, name):
        bounding = "-all" + "".join(",+" + c.lower() for c in caps)
        d = fixtures.Daemon("/usr/bin/setpriv", ["--bounding-set", bounding, "--inh-caps", "-all", "--",
                                                 CONFIG.daemon] + node.daemon_args(), self.logdir, name=name)
        self.log_paths.append(d.log_path)
        try:
            d.start()
        except fixtures.DaemonError as e:
            return None, str(e)
        try:
            before = d.scrape()
            for pod in pods:
                pod.load([["GET", "/", 5, "keepalive"]])
            self.poll(lambda: all(d.scrape().get("runway_requests_total", method="GET", status="200",
                                                 **pod.labels()) == 5 + before.get(
                "runway_requests_total", 0, method="GET", status="200", **pod.labels())
                for pod in pods), timeout=10)
            # Ports are refreshed every 5 s.
            self.poll(lambda: all(d.scrape().get("runway_accept_queue_limit", port=str(pod.port), **pod.labels())
                                  for pod in pods), timeout=7)
            return d.scrape(), open(d.log_path).read()
        finally:
            d.stop()

    def test_daemonset_capabilities(self):
        if not os.path.exists("/usr/bin/setpriv"):
            self.skipTest("setpriv (util-linux) is not installed")
        caps = daemon_container()["securityContext"]["capabilities"]["add"]
        node = SimulatedNode(self.logdir, "cgroupfs")
        self.addCleanup(node.remove)
        own = node.add_pod("shop", "api-0")
        own.start_uvicorn("uvloop", uid=1000)
        hostnet = node.add_pod("shop", "hostnet-0", host_network=True)
        hostnet.start_uvicorn("asyncio", uid=1000)
        pods = (own, hostnet)

        def complete(expo, log):
            """What is missing from a run, as text ('' if nothing)."""
            if expo is None:
                return "the daemon did not start: %s" % log.strip().splitlines()[-1]
            lost = [line for line in log.splitlines() if "cannot" in line]
            for pod in pods:
                labels = pod.labels()
                if expo.get("runway_requests_total", method="GET", status="200", **labels) is None:
                    lost.append("no requests of %s" % pod.name)
                if expo.get("runway_accept_queue_limit", port=str(pod.port), **labels) is None:
                    lost.append("no accept queue of %s" % pod.name)
                if expo.get("runway_listen_overflows_total", **labels) is None:
                    lost.append("no ListenOverflows of %s" % pod.name)
            return "; ".join(lost)

        expo, log = self.run_with(node, caps, pods, "daemon-all")
        self.assertEqual(complete(expo, log), "", "with the DaemonSet's capabilities %s" % caps)
        for cap in caps:
            fewer = [c for c in caps if c != cap]
            expo, log = self.run_with(node, fewer, pods, "daemon-without-%s" % cap)
            lost = complete(expo, log)
            self.assertNotEqual(lost, "", "CAP_%s is listed, yet nothing is lost without it" % cap)
            self.note("without %s: %s", cap, lost[:200])


class Dockerfile(RunwayCase):
    """No Docker engine here: the Dockerfile is checked against the tree,
    `make` and the binary's own dependencies."""

    def parse(self):
        stages, current = [], None
        with open(os.path.join(REPO, "Dockerfile")) as f:
            text = f.read().replace("\\\n", " ")
        for line in text.splitlines():
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "FROM":
                current = {"from": words[1], "copy": [], "run": [], "name": words[3] if len(words) > 3 else None}
                stages.append(current)
            elif words[0] in ("COPY", "RUN"):
                current[words[0].lower()].append(words[1:])
        return stages

    def test_dockerfile(self):
        build, runtime = self.parse()
        self.assertTrue(build["from"].startswith("debian:bookworm"), build["from"])
        self.assertTrue(runtime["from"].startswith("debian:bookworm"), runtime["from"])
        # Every file the build stage copies exists, and `make` needs nothing else.
        for args in build["copy"]:
            for source in args[:-1]:
                self.assertTrue(os.path.exists(os.path.join(REPO, source)), "COPY %s: no such path" % source)
        copied = {a.rstrip("/") for args in build["copy"] for a in args[:-1]}
        for needed in ("Makefile", "VERSION", "bpf", "include", "src"):
            self.assertIn(needed, copied, "the build stage does not copy %s" % needed)
        make = [" ".join(r) for r in build["run"] if "make" in r]
        self.assertTrue(make, "the build stage runs no make")
        target = shlex.split(make[-1])[-1]
        self.assertEqual(target, "build/runway-bpfd", "the build stage's make target")
        out = subprocess.run(["make", "-n", "-C", REPO, target], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        # The runtime stage copies that binary from the build stage.
        binary = [a for a in runtime["copy"] if any(x.startswith("--from=") for x in a)]
        self.assertTrue(binary and binary[0][-2] == "/src/build/runway-bpfd", runtime["copy"])
        for args in runtime["copy"]:
            if not any(x.startswith("--from=") for x in args):
                for source in args[:-1]:
                    self.assertTrue(os.path.exists(os.path.join(REPO, source)), "COPY %s" % source)
        # Runtime libraries: every library the binary needs is in a package
        # the runtime stage installs.
        packages = {w for r in runtime["run"] for w in r if re.match(r"^[a-z0-9][a-z0-9.+-]+$", w)}
        dynamic = subprocess.run(["objdump", "-p", CONFIG.daemon], capture_output=True, text=True).stdout
        needed = re.findall(r"NEEDED\s+(\S+)", dynamic)
        self.assertTrue(needed, "objdump found no NEEDED entries")
        for lib in needed:
            if lib.startswith(("libc.so", "ld-linux")):
                continue
            path = subprocess.run(["sh", "-c", "ldconfig -p | awk '$1 == \"%s\" {print $NF; exit}'" % lib],
                                  capture_output=True, text=True).stdout.strip()
            owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True,
                                   text=True).stdout.split(":")[0]
            self.assertIn(owner, packages, "%s (package %s) is not installed in the runtime stage" % (lib, owner))
        self.note("runtime packages %s cover %s", sorted(packages & {"libbpf1", "libelf1", "zlib1g",
                                                                     "libmicrohttpd12"}), needed)


def quantity_bytes(text):
    m = re.fullmatch(r"(\d+)(Mi|Gi)", text)
    if not m:
        raise AssertionError("memory quantity %r: expected N Mi or N Gi" % text)
    return int(m.group(1)) << (20 if m.group(2) == "Mi" else 30)


class DaemonSetMemoryLimit(RunwayCase):
    """The DaemonSet's memory limit holds the node-mode daemon at its default
    --max-pods (the maps are sized for that, whatever the pods): started in a
    memory cgroup with that limit, it loads, counts and serves scrapes, is
    never OOM-killed, and its measured peak leaves 25 % on this machine."""

    def test_node_mode_within_the_manifest_limit(self):
        limit = quantity_bytes(daemon_container()["resources"]["limits"]["memory"])
        node = SimulatedNode(self.logdir, "systemd")
        self.addCleanup(node.remove)
        pods = [node.add_pod("shop", "api-%d" % i) for i in range(2)]
        for pod in pods:
            pod.start_uvicorn("uvloop")
        memcg = measure_memory.MemoryCgroup()
        self.addCleanup(memcg.remove)
        memcg.set_limit(limit)
        d = self.start_daemon(args=["-c", 'echo $$ > "$0" && exec "$@"', memcg.procs_file(), CONFIG.daemon]
                              + node.daemon_args(), binary="sh")
        for pod in pods:
            pod.load([["GET", "/", 200, "keepalive"]])
        self.poll(lambda: d.scrape().sum("runway_requests_total") == 400, timeout=10)
        for _ in range(20):
            d.scrape()
        sample = memcg.sample()
        self.note("limit %d MiB (deploy/daemonset.yaml), peak %.1f MiB, steady %.1f MiB (%d possible CPUs)",
                  limit >> 20, (sample["peak"] or 0) / 2**20, sample["total"] / 2**20,
                  measure_memory.possible_cpus())
        self.assertTrue(d.alive(), "the daemon died under the manifest's memory limit")
        self.assertEqual(memcg.oom_kills(), 0, "OOM kills in the daemon's memory cgroup")
        self.assertEqual(d.scrape().sum("runway_requests_total"), 400.0)
        if sample["peak"] is not None:
            self.assertLessEqual(sample["peak"] * HEADROOM, limit,
                                 "the limit leaves less than 25 % over the measured peak")
