# SPDX-License-Identifier: MIT
"""A simulated Kubernetes node for the node mode (--kubernetes): the
kubelet's pod cgroup tree under the cgroup2 mount (systemd or cgroupfs
driver), its pod log directory, and pods whose containers run in a network
namespace of their own, held by a pause process, as a CRI runtime does.

    node = SimulatedNode(logdir, "systemd")
    pod = node.add_pod("shop", "api-0", qos="guaranteed")
    app = pod.start_uvicorn("uvloop")        # port 8000, as in every pod
    pod.load([["GET", "/", 10, "keepalive"]])   # sent from inside the pod
    node.remove()

Every pod listens on the same port, each in its own network namespace; load
is sent from inside that namespace (nsenter --net=/proc/PID/ns/net).
"""

import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import env
import fixtures

HERE = os.path.dirname(os.path.abspath(__file__))
POD_PORT = 8000
PYTHON = fixtures.PYTHON

# runtime -> (systemd scope name, cgroupfs directory name) of a container id
RUNTIMES = {
    "containerd": ("cri-containerd-%s.scope", "%s"),
    "crio": ("crio-%s.scope", "crio-%s"),
    "docker": ("docker-%s.scope", "%s"),
}


def _kill_group(proc, timeout=5.0):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=timeout)


def _rmdir_tree(path, timeout=10.0):
    """rmdir a cgroup directory and its children, bottom up, killing what is
    left in them."""
    if not os.path.isdir(path):
        return
    for name in os.listdir(path):
        child = os.path.join(path, name)
        if os.path.isdir(child):
            _rmdir_tree(child, timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids = [int(p) for p in f.read().split()]
        except FileNotFoundError:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Container:
    def __init__(self, pod, name, cgroup, proc, log_path):
        self.pod = pod
        self.name = name
        self.cgroup = cgroup
        self.proc = proc
        self.log_path = log_path

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        _kill_group(self.proc)
        _rmdir_tree(self.cgroup)


class Pod:
    def __init__(self, node, namespace, name, qos, runtime, static, host_network):
        self.node = node
        # hostNetwork pods share the node's network namespace: a free port
        # there; every other pod listens on the same port in its own.
        self.host_network = host_network
        self.port = env.free_port() if host_network else POD_PORT
        self.namespace = namespace
        self.name = name
        self.qos = qos
        self.runtime = runtime
        # Static pods' UIDs are 32 hex digits, no dashes.
        self.uid = secrets.token_hex(16) if static else str(uuid.uuid4())
        self.cgroup = node.pod_dir(qos, self.uid)
        self.log_dir = os.path.join(node.log_root, "%s_%s_%s" % (namespace, name, self.uid))
        self.containers = []
        self.sandbox = None

    def labels(self):
        return {"namespace": self.namespace, "pod": self.name}

    # -- lifecycle ---------------------------------------------------------
    def _container_dir(self):
        scope, plain = RUNTIMES[self.runtime]
        name = (scope if self.node.driver == "systemd" else plain) % secrets.token_hex(32)
        return os.path.join(self.cgroup, name)

    def _spawn(self, cgroup, command, log_path):
        """`command` (a shell string) as the only process of a new container
        cgroup; returns the Popen (its pid is the command's: sh execs)."""
        os.mkdir(cgroup)
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                ["sh", "-c", "echo $$ > %s && exec %s" %
                 (shlex.quote(os.path.join(cgroup, "cgroup.procs")), command)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def start(self):
        """The pod's cgroup, its log directory (the kubelet writes it before
        the sandbox) and its sandbox: a pause process in a new network
        namespace with loopback up."""
        os.makedirs(self.log_dir)
        os.makedirs(self.cgroup)
        self.node.pods.append(self)
        log_path = os.path.join(self.node.logdir, "pod-%s-pause.log" % self.name)
        cgroup = self._container_dir()
        pause = "exec -a /pause sleep 1000000"
        if self.host_network:
            proc = self._spawn(cgroup, "bash -c %s" % shlex.quote(pause), log_path)
        else:
            proc = self._spawn(cgroup, "unshare -n bash -c %s" % shlex.quote("ip link set lo up && " + pause),
                               log_path)
        self.sandbox = Container(self, "pause", cgroup, proc, log_path)
        deadline = time.monotonic() + 10
        own = os.stat("/proc/self/ns/net").st_ino
        while True:
            try:
                with open("/proc/%d/cmdline" % proc.pid, "rb") as f:
                    ready = f.read().startswith(b"/pause\0")
                ready = ready and (self.host_network or os.stat("/proc/%d/ns/net" % proc.pid).st_ino != own)
            except OSError:
                ready = False
            if ready:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("pause of pod %s did not start:\n%s" %
                                   (self.name, fixtures.tail(log_path)))
            time.sleep(0.02)
        if self.runtime == "crio":
            # CRI-O's conmon sits beside the containers; its command line names
            # the pod and the container, so it must never count as a match.
            conmon = os.path.join(self.cgroup, os.path.basename(cgroup).replace("crio-", "crio-conmon-"))
            proc = self._spawn(conmon, "bash -c %s" % shlex.quote(
                "exec -a /usr/bin/conmon sleep 1000000 --name k8s_uvicorn_%s_%s_%s" %
                (self.name, self.namespace, self.uid)), log_path)
            self.containers.append(Container(self, "conmon", conmon, proc, log_path))
        return self

    def netns(self):
        return "/proc/%d/ns/net" % self.sandbox.pid

    def start_container(self, name, argv, ready_path="/healthz", cpu=0, timeout=30.0, uid=None):
        """A container running argv in the pod's network namespace, pinned
        to `cpu`, as user `uid` (None: root); waits until it answers
        ready_path on the pod's port (None: no wait)."""
        os.makedirs(os.path.join(self.log_dir, name), exist_ok=True)
        log_path = os.path.join(self.node.logdir, "pod-%s-%s-%d.log" %
                                (self.name, name, len(self.containers)))
        pin = "taskset -c %d " % cpu if cpu is not None and cpu < os.cpu_count() else ""
        user = "setpriv --reuid %d --regid %d --clear-groups " % (uid, uid) if uid is not None else ""
        command = "nsenter --net=%s %s%s%s" % (self.netns(), pin, user,
                                               " ".join(shlex.quote(a) for a in argv))
        cgroup = self._container_dir()
        proc = self._spawn(cgroup, command, log_path)
        c = Container(self, name, cgroup, proc, log_path)
        self.containers.append(c)
        self.node.log_paths.append(log_path)
        if ready_path is not None:
            self.wait_ready(c, ready_path, timeout)
        return c

    def wait_ready(self, c, ready_path="/healthz", timeout=30.0):
        deadline = time.monotonic() + timeout
        while self.get(ready_path) != 200:
            if c.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("container %s of pod %s did not answer:\n%s" %
                                   (c.name, self.name, fixtures.tail(c.log_path)))
            time.sleep(0.1)

    def start_uvicorn(self, stack="uvloop", name="app", uid=None):
        loop, http = fixtures.STACKS[stack]
        app_dir = fixtures.APP_DIR if uid is None else self.node.apps_for_any_user()
        return self.start_container(name, [
            PYTHON, "-m", "uvicorn", "sample_app:app", "--app-dir", app_dir,
            "--host", "127.0.0.1", "--port", str(self.port), "--loop", loop, "--http", http,
            "--log-level", "warning", "--no-access-log"], uid=uid)

    def start_uvicorn_uds(self, path, name="app"):
        """uvicorn serving on the unix socket `path` only (uvicorn --uds):
        no TCP port in the pod.  Returns once the socket exists."""
        c = self.start_container(name, [
            PYTHON, "-m", "uvicorn", "sample_app:app", "--app-dir", fixtures.APP_DIR,
            "--uds", path, "--log-level", "warning", "--no-access-log"], ready_path=None)
        deadline = time.monotonic() + 30
        while not os.path.exists(path):
            if c.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn --uds of pod %s did not start:\n%s" %
                                   (self.name, fixtures.tail(c.log_path)))
            time.sleep(0.1)
        return c

    def start_other_server(self, name="static"):
        """An HTTP server that is not uvicorn: the node mode must leave it."""
        return self.start_container(name, [
            PYTHON, "-m", "http.server", "--bind", "127.0.0.1", str(self.port)], ready_path="/")

    def delete(self):
        """What the kubelet does when the pod is deleted: containers stop,
        the sandbox goes, the cgroups are removed, then the logs."""
        for c in reversed(self.containers):
            c.stop()
        if self.sandbox:
            self.sandbox.stop()
        _rmdir_tree(self.cgroup)
        shutil.rmtree(self.log_dir, ignore_errors=True)
        if self in self.node.pods:
            self.node.pods.remove(self)

    # -- traffic -------------------------------------------------------------
    def _in_netns(self, argv):
        return ["nsenter", "--net=%s" % self.netns()] + argv

    def get(self, path):
        """Status of one GET from inside the pod, or None."""
        p = subprocess.run(self._in_netns(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                           "--max-time", "5",
                                           "http://127.0.0.1:%d%s" % (self.port, path)]),
                           capture_output=True, text=True, timeout=20)
        return int(p.stdout) if p.stdout.strip().isdigit() and p.stdout != "000" else None

    def _client(self, plan):
        return self._in_netns(["taskset", "-c", "1", PYTHON, os.path.join(HERE, "pod_client.py"),
                               "--port", str(self.port), json.dumps(plan)])

    def load(self, plan, timeout=120):
        """Runs a plan of pod_client.py inside the pod; {(method, status): n}."""
        p = subprocess.run(self._client(plan), capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise AssertionError("load in pod %s failed: %s" % (self.name, p.stderr[-2000:]))
        return {tuple(k.split()): v for k, v in json.loads(p.stdout.strip().splitlines()[-1]).items()}

    def load_in_background(self, plan):
        return subprocess.Popen(self._client(plan), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)


def remove_stale_nodes(min_age_s=600.0):
    """Trees of runs that were killed (SIGKILL leaves them, processes and
    all), once they are old enough not to be another run's."""
    root = env.cgroup2_mount()
    now = time.time()
    for name in os.listdir(root):
        path = os.path.join(root, name)
        try:
            if name.startswith("runway-test-node-") and now - os.stat(path).st_mtime > min_age_s:
                _rmdir_tree(path)
        except OSError:
            pass


class SimulatedNode:
    def __init__(self, logdir, driver):
        assert driver in ("systemd", "cgroupfs")
        remove_stale_nodes()
        self.driver = driver
        self.logdir = logdir
        self.log_paths = []
        self.root = os.path.join(env.cgroup2_mount(), "runway-test-node-" + secrets.token_hex(4))
        self.kubepods = os.path.join(self.root, "kubepods.slice" if driver == "systemd" else "kubepods")
        self.log_root = os.path.join(logdir, "var-log-pods")
        self.pods = []
        self.shared_apps = None
        os.makedirs(self.log_root)
        os.makedirs(self.kubepods)
        for qos in ("burstable", "besteffort"):
            os.mkdir(self.qos_dir(qos))
        fixtures._track(self, True)

    def qos_dir(self, qos):
        if qos == "guaranteed":
            return self.kubepods
        if self.driver == "systemd":
            return os.path.join(self.kubepods, "kubepods-%s.slice" % qos)
        return os.path.join(self.kubepods, qos)

    def pod_dir(self, qos, uid):
        if self.driver == "cgroupfs":
            return os.path.join(self.qos_dir(qos), "pod" + uid)
        middle = "" if qos == "guaranteed" else qos + "-"
        return os.path.join(self.qos_dir(qos), "kubepods-%spod%s.slice" % (middle, uid.replace("-", "_")))

    def add_pod(self, namespace, name, qos="burstable", runtime="containerd", static=False,
                host_network=False):
        return Pod(self, namespace, name, qos, runtime, static, host_network).start()

    def daemon_args(self, *extra):
        return ["--kubernetes", "--kubepods", self.kubepods, "--pod-logs", self.log_root] + list(extra)

    def stop(self):
        self.remove()

    def apps_for_any_user(self):
        """The test apps, copied where any user can read them: a container
        run as another user cannot import them from a checkout that only
        root may enter (a clone under `mktemp -d`, mode 0700)."""
        if self.shared_apps is None:
            self.shared_apps = tempfile.mkdtemp(prefix="runway-test-apps-")
            os.chmod(self.shared_apps, 0o755)
            for name in os.listdir(fixtures.APP_DIR):
                if name.endswith(".py"):
                    shutil.copy(os.path.join(fixtures.APP_DIR, name), self.shared_apps)
        return self.shared_apps

    def remove(self):
        for pod in list(self.pods):
            pod.delete()
        _rmdir_tree(self.root)
        if self.shared_apps:
            shutil.rmtree(self.shared_apps, ignore_errors=True)
        fixtures._track(self, False)
