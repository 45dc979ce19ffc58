// SPDX-License-Identifier: MIT
/*
 * Pod discovery on a fake node: a kubelet-style cgroup tree (both drivers,
 * every QoS class, the three runtimes, static pods, malformed names), a pod
 * log directory and a fake /proc, built in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "kubelet_layout.h"
#include "pod_discovery.h"
#include "pod_processes.h"

#define UID_G "0a1b2c3d-0000-4000-8000-000000000001"
#define UID_B "0a1b2c3d-0000-4000-8000-000000000002"
#define UID_E "0a1b2c3d-0000-4000-8000-000000000003"
#define UID_STATIC "5e8f0c1b2a3d4e5f60718293a4b5c6d7"
#define UID_NOLOG "0a1b2c3d-0000-4000-8000-000000000005"
#define UID_LATE "0a1b2c3d-0000-4000-8000-000000000006"
#define ID(c) c "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f"

static char root[256];

static void make_dirs(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void make_dirs(const char *fmt, ...)
{
	char path[1024], *p;
	va_list ap;
	int n;

	n = snprintf(path, sizeof(path), "%s/", root);
	va_start(ap, fmt);
	vsnprintf(path + n, sizeof(path) - n, fmt, ap);
	va_end(ap);
	for (p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

static void write_file(const char *relative, const void *data, size_t size)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, relative);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, size, f), size);
	fclose(f);
}

/* A process of the fake /proc: its cmdline, arguments NUL-separated. */
static void fake_process(int pid, const char *argv_nul, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "proc/%d", pid);
	make_dirs("%s", path);
	strcat(path, "/cmdline");
	write_file(path, argv_nul, size);
}

#define PROCESS(pid, literal) fake_process(pid, literal, sizeof(literal))

/* A container cgroup holding `pid`. */
static void fake_container(const char *dir, int pid)
{
	char procs[1024], line[32];

	make_dirs("%s", dir);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	snprintf(line, sizeof(line), "%d\n", pid);
	write_file(procs, line, strlen(line));
}

static int make_node(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/runway-unit-node-XXXXXX");
	assert_non_null(mkdtemp(root));

	/* The systemd driver. */
	fake_container("sd/kubepods.slice/kubepods-pod" "0a1b2c3d_0000_4000_8000_000000000001.slice/"
		       "cri-containerd-" ID("a") ".scope", 101);
	fake_container("sd/kubepods.slice/kubepods-pod" "0a1b2c3d_0000_4000_8000_000000000001.slice/"
		       "cri-containerd-" ID("b") ".scope", 100);
	fake_container("sd/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		       "0a1b2c3d_0000_4000_8000_000000000002.slice/crio-" ID("c") ".scope", 201);
	fake_container("sd/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		       "0a1b2c3d_0000_4000_8000_000000000002.slice/crio-conmon-" ID("c") ".scope", 200);
	fake_container("sd/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
		       "0a1b2c3d_0000_4000_8000_000000000003.slice/docker-" ID("d") ".scope", 301);
	fake_container("sd/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_STATIC
		       ".slice/cri-containerd-" ID("e") ".scope", 401);
	fake_container("sd/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
		       "0a1b2c3d_0000_4000_8000_000000000005.slice/cri-containerd-" ID("f") ".scope", 501);
	/* Malformed: none of these is a pod. */
	make_dirs("sd/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podnot_a_uid.slice");
	make_dirs("sd/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice");
	make_dirs("sd/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		  "0a1b2c3d_0000_4000_8000_00000000000g.slice");
	make_dirs("sd/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		  "0a1b2c3d00000_4000_8000_000000000007.slice");
	make_dirs("sd/kubepods.slice/kubepods-burstable.slice/-pod0a1b2c3d_0000_4000_8000_000000000008.slice");
	make_dirs("sd/kubepods.slice/system.slice");
	write_file("sd/kubepods.slice/kubepods-pod0a1b2c3d_0000_4000_8000_000000000009.slice", "", 0);

	/* The cgroupfs driver, same pods. */
	fake_container("fs/kubepods/pod" UID_G "/" ID("a"), 101);
	fake_container("fs/kubepods/pod" UID_G "/" ID("b"), 100);
	fake_container("fs/kubepods/burstable/pod" UID_B "/crio-" ID("c"), 201);
	fake_container("fs/kubepods/burstable/pod" UID_B "/crio-conmon-" ID("c"), 200);
	fake_container("fs/kubepods/besteffort/pod" UID_E "/" ID("d"), 301);
	fake_container("fs/kubepods/burstable/pod" UID_STATIC "/" ID("e"), 401);
	fake_container("fs/kubepods/besteffort/pod" UID_NOLOG "/" ID("f"), 501);
	make_dirs("fs/kubepods/burstable/podxyz");
	make_dirs("fs/kubepods/burstable/pod");

	make_dirs("logs/shop_api-7d9f8c6b5-x2x4q_" UID_G "/app");
	make_dirs("logs/shop_worker-0_" UID_B "/worker");
	make_dirs("logs/web_nginx-5c7b_" UID_E "/nginx");
	make_dirs("logs/kube-system_etcd-node1_" UID_STATIC "/etcd");
	make_dirs("logs/garbage");
	make_dirs("logs/a_b");

	PROCESS(100, "/pause");
	PROCESS(101, "/usr/bin/python3\0-m\0uvicorn\0app:app\0--port\0" "8000");
	/* conmon's command line names the pod and its container: never a match. */
	PROCESS(200, "/usr/bin/conmon\0-n\0k8s_uvicorn_worker-0_shop_" UID_B "_0");
	PROCESS(201, "gunicorn: master [app:app]");
	PROCESS(301, "nginx: master process nginx -g daemon off;");
	PROCESS(401, "etcd\0--data-dir=/var/lib/etcd");
	PROCESS(501, "uvicorn\0main:app");
	return 0;
}

static int remove_node(void **state)
{
	char command[512];

	(void)state;
	snprintf(command, sizeof(command), "rm -rf '%s'", root);
	assert_int_equal(system(command), 0);
	return 0;
}

static void test_uid_spellings(void **state)
{
	char uid[POD_UID_SIZE];

	(void)state;
	assert_true(kubelet_pod_dir("kubepods-burstable-pod0a1b2c3d_0000_4000_8000_000000000002.slice", uid));
	assert_string_equal(uid, UID_B);
	assert_true(kubelet_pod_dir("kubepods-pod0a1b2c3d_0000_4000_8000_000000000001.slice", uid));
	assert_string_equal(uid, UID_G);
	assert_true(kubelet_pod_dir("pod" UID_E, uid));
	assert_string_equal(uid, UID_E);
	/* kind's nested slices. */
	assert_true(kubelet_pod_dir("kubelet-kubepods-besteffort-pod0a1b2c3d_0000_4000_8000_000000000003.slice", uid));
	assert_string_equal(uid, UID_E);
	/* Static pods: 32 hex digits, no dashes. */
	assert_true(kubelet_pod_dir("kubepods-burstable-pod" UID_STATIC ".slice", uid));
	assert_string_equal(uid, UID_STATIC);
	assert_true(kubelet_pod_dir("pod" UID_STATIC, uid));
	/* Upper case is written lower case, as in the log directory. */
	assert_true(kubelet_pod_dir("pod0A1B2C3D-0000-4000-8000-000000000001", uid));
	assert_string_equal(uid, UID_G);

	assert_false(kubelet_pod_dir("kubepods-burstable.slice", uid));
	assert_false(kubelet_pod_dir("kubepods-burstable-podnot_a_uid.slice", uid));
	assert_false(kubelet_pod_dir("kubepods-burstable-pod1234.slice", uid));
	assert_false(kubelet_pod_dir("kubepods-pod0a1b2c3d_0000_4000_8000_00000000000g.slice", uid));
	assert_false(kubelet_pod_dir("-pod0a1b2c3d_0000_4000_8000_000000000001.slice", uid));
	assert_false(kubelet_pod_dir("pod", uid));
	assert_false(kubelet_pod_dir("pod" UID_G "0", uid));
	assert_false(kubelet_pod_dir("pod0a1b2c3d00000-4000-8000-000000000001", uid));
	assert_false(kubelet_pod_dir("besteffort", uid));
	assert_false(kubelet_pod_dir("", uid));
}

static void test_qos_levels(void **state)
{
	enum pod_qos qos;

	(void)state;
	assert_true(kubelet_qos_dir("burstable", &qos));
	assert_int_equal(qos, POD_QOS_BURSTABLE);
	assert_true(kubelet_qos_dir("besteffort", &qos));
	assert_int_equal(qos, POD_QOS_BESTEFFORT);
	assert_true(kubelet_qos_dir("kubepods-burstable.slice", &qos));
	assert_int_equal(qos, POD_QOS_BURSTABLE);
	assert_true(kubelet_qos_dir("kubepods-besteffort.slice", &qos));
	assert_int_equal(qos, POD_QOS_BESTEFFORT);
	assert_false(kubelet_qos_dir("guaranteed", &qos));
	assert_false(kubelet_qos_dir("kubepods-pod" UID_G ".slice", &qos));
	assert_false(kubelet_qos_dir("burstable.slice", &qos));
	assert_string_equal(pod_qos_name(POD_QOS_GUARANTEED), "guaranteed");
}

static void test_container_names(void **state)
{
	const char *runtime;

	(void)state;
	assert_int_equal(kubelet_container_dir("cri-containerd-" ID("a") ".scope", &runtime), CONTAINER_RUNTIME);
	assert_string_equal(runtime, "containerd");
	assert_int_equal(kubelet_container_dir("crio-" ID("a") ".scope", &runtime), CONTAINER_RUNTIME);
	assert_string_equal(runtime, "cri-o");
	assert_int_equal(kubelet_container_dir("crio-" ID("a"), &runtime), CONTAINER_RUNTIME);
	assert_int_equal(kubelet_container_dir("docker-" ID("a") ".scope", &runtime), CONTAINER_RUNTIME);
	assert_string_equal(runtime, "docker");
	assert_int_equal(kubelet_container_dir(ID("a"), &runtime), CONTAINER_RUNTIME);
	assert_string_equal(runtime, "");
	assert_int_equal(kubelet_container_dir("crio-conmon-" ID("a") ".scope", &runtime), CONTAINER_CONMON);
	assert_int_equal(kubelet_container_dir("crio-conmon-" ID("a"), &runtime), CONTAINER_CONMON);
	assert_int_equal(kubelet_container_dir("container", &runtime), CONTAINER_UNKNOWN);
	assert_null(runtime);
	assert_int_equal(kubelet_container_dir("docker-notanid.scope", &runtime), CONTAINER_UNKNOWN);
	assert_int_equal(kubelet_container_dir("cri-containerd-.scope", &runtime), CONTAINER_UNKNOWN);
	assert_int_equal(kubelet_container_dir("abc", &runtime), CONTAINER_UNKNOWN);
}

static void test_log_directory_names(void **state)
{
	struct pod_log_name n;

	(void)state;
	assert_true(kubelet_pod_log_dir("shop_api-7d9f8c6b5-x2x4q_" UID_G, &n));
	assert_string_equal(n.namespace_, "shop");
	assert_string_equal(n.name, "api-7d9f8c6b5-x2x4q");
	assert_string_equal(n.uid, UID_G);
	assert_true(kubelet_pod_log_dir("kube-system_etcd-node1_" UID_STATIC, &n));
	assert_string_equal(n.namespace_, "kube-system");
	assert_string_equal(n.name, "etcd-node1");
	assert_string_equal(n.uid, UID_STATIC);
	assert_false(kubelet_pod_log_dir("garbage", &n));
	assert_false(kubelet_pod_log_dir("a_b", &n));
	assert_false(kubelet_pod_log_dir("_pod_" UID_G, &n));
	assert_false(kubelet_pod_log_dir("ns__" UID_G, &n));
	assert_false(kubelet_pod_log_dir("ns_pod_notauid", &n));
}

static const struct pod_candidate *scanned(const struct pod_candidate *pods, int count, const char *uid)
{
	for (int i = 0; i < count; i++)
		if (strcmp(pods[i].uid, uid) == 0)
			return &pods[i];
	return NULL;
}

static void check_tree(const char *kubepods_relative, const char *driver)
{
	struct pod_candidate pods[16];
	char dir[512];
	const struct pod_candidate *p;
	int count;

	snprintf(dir, sizeof(dir), "%s/%s", root, kubepods_relative);
	count = pod_tree_scan(dir, pods, 16);
	print_message("%s driver: %d pods\n", driver, count);
	/* Five well-formed pods; every malformed name left out. */
	assert_int_equal(count, 5);
	assert_non_null(p = scanned(pods, count, UID_G));
	assert_int_equal(p->qos, POD_QOS_GUARANTEED);
	assert_non_null(p = scanned(pods, count, UID_B));
	assert_int_equal(p->qos, POD_QOS_BURSTABLE);
	assert_non_null(p = scanned(pods, count, UID_E));
	assert_int_equal(p->qos, POD_QOS_BESTEFFORT);
	assert_non_null(p = scanned(pods, count, UID_STATIC));
	assert_int_equal(p->qos, POD_QOS_BURSTABLE);
	assert_non_null(p = scanned(pods, count, UID_NOLOG));
	assert_int_equal(p->qos, POD_QOS_BESTEFFORT);
	assert_true(strncmp(p->cgroup_dir, dir, strlen(dir)) == 0);
}

static void test_systemd_tree(void **state)
{
	(void)state;
	check_tree("sd/kubepods.slice", "systemd");
}

static void test_cgroupfs_tree(void **state)
{
	(void)state;
	check_tree("fs/kubepods", "cgroupfs");
}

static void test_missing_tree(void **state)
{
	struct pod_candidate pods[4];
	char dir[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/nothing-here", root);
	assert_int_equal(pod_tree_scan(dir, pods, 4), -1);
}

static void test_default_kubepods(void **state)
{
	char dir[512], found[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/sd", root);
	assert_int_equal(pod_discovery_default_kubepods(dir, found, sizeof(found)), 0);
	assert_true(strstr(found, "/sd/kubepods.slice") != NULL);
	snprintf(dir, sizeof(dir), "%s/fs", root);
	assert_int_equal(pod_discovery_default_kubepods(dir, found, sizeof(found)), 0);
	assert_true(strstr(found, "/fs/kubepods") != NULL);
	snprintf(dir, sizeof(dir), "%s/logs", root);
	assert_int_equal(pod_discovery_default_kubepods(dir, found, sizeof(found)), -1);
}

static void test_processes_of_a_pod(void **state)
{
	struct pod_processes p;
	char dir[512], proc[512];
	regex_t re;

	(void)state;
	assert_int_equal(regcomp(&re, "uvicorn|gunicorn", REG_EXTENDED | REG_NOSUB), 0);
	snprintf(proc, sizeof(proc), "%s/proc", root);

	/* The sandbox's pause is not a container of the pod. */
	snprintf(dir, sizeof(dir), "%s/fs/kubepods/pod" UID_G, root);
	pod_processes_read(dir, proc, &re, &p);
	assert_int_equal(p.count, 1);
	assert_int_equal(p.containers, 1);
	assert_int_equal(p.first_match, 101);
	assert_string_equal(p.first_match_command, "/usr/bin/python3 -m uvicorn app:app --port 8000");

	/* conmon names "uvicorn" in its arguments; only gunicorn counts. */
	snprintf(dir, sizeof(dir), "%s/sd/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		 "0a1b2c3d_0000_4000_8000_000000000002.slice", root);
	pod_processes_read(dir, proc, &re, &p);
	assert_int_equal(p.count, 1);
	assert_int_equal(p.first_match, 201);

	snprintf(dir, sizeof(dir), "%s/fs/kubepods/besteffort/pod" UID_E, root);
	pod_processes_read(dir, proc, &re, &p);
	assert_int_equal(p.count, 1);
	assert_int_equal(p.first_match, 0);
	assert_non_null(strstr(p.others, "nginx: master process"));
	regfree(&re);

	/* A process in the pod's network namespace: never conmon's (the
	 * node's namespace); the sandbox's pause will do. */
	snprintf(dir, sizeof(dir), "%s/fs/kubepods/burstable/pod" UID_B, root);
	assert_int_equal(pod_any_pid(dir), 201);
	snprintf(dir, sizeof(dir), "%s/fs/kubepods/pod" UID_G, root);
	assert_true(pod_any_pid(dir) == 100 || pod_any_pid(dir) == 101);
	snprintf(dir, sizeof(dir), "%s/fs/kubepods/nothing", root);
	assert_int_equal(pod_any_pid(dir), 0);

	/* --match-cmdline replaces the default. */
	assert_int_equal(regcomp(&re, "^etcd ", REG_EXTENDED | REG_NOSUB), 0);
	snprintf(dir, sizeof(dir), "%s/fs/kubepods/burstable/pod" UID_STATIC, root);
	pod_processes_read(dir, proc, &re, &p);
	assert_int_equal(p.first_match, 401);
	regfree(&re);
}

static struct pod_discovery_config config_for(const char *kubepods_relative, char *kubepods, char *logs,
					      char *proc)
{
	sprintf(kubepods, "%s/%s", root, kubepods_relative);
	sprintf(logs, "%s/logs", root);
	sprintf(proc, "%s/proc", root);
	return (struct pod_discovery_config){
		.kubepods_dir = kubepods,
		.pod_logs_dir = logs,
		.proc_dir = proc,
		.match_pattern = "uvicorn|gunicorn",
		.young_s = 30,
		/* Nothing but the watch may find the late pod. */
		.rescan_s = 1e9,
	};
}

static void test_discovery_decides(void **state)
{
	char kubepods[512], logs[512], proc[512];
	struct pod_discovery_config config = config_for("sd/kubepods.slice", kubepods, logs, proc);
	const struct pod_candidate *p;
	struct pod_discovery d;

	(void)state;
	assert_int_equal(pod_discovery_init(&d, &config), 0);
	assert_int_equal(pod_discovery_update(&d, 0), 0);
	assert_int_equal(d.count, 5);

	assert_non_null(p = pod_discovery_find(&d, UID_G));
	assert_true(p->matched && p->named);
	assert_string_equal(p->namespace_, "shop");
	assert_string_equal(p->name, "api-7d9f8c6b5-x2x4q");
	assert_int_equal(p->matched_pid, 101);
	assert_non_null(strstr(p->decision, "watched"));

	assert_non_null(p = pod_discovery_find(&d, UID_B));
	assert_true(p->matched && p->named);
	assert_string_equal(p->namespace_, "shop");
	assert_string_equal(p->name, "worker-0");

	assert_non_null(p = pod_discovery_find(&d, UID_E));
	assert_false(p->matched);
	assert_true(p->named);
	assert_non_null(strstr(p->decision, "no process matches"));
	assert_non_null(strstr(p->decision, "nginx"));

	assert_non_null(p = pod_discovery_find(&d, UID_STATIC));
	assert_false(p->matched);
	assert_true(p->named);
	assert_string_equal(p->namespace_, "kube-system");

	/* A matching pod the kubelet has not named: not watched, and it says why. */
	assert_non_null(p = pod_discovery_find(&d, UID_NOLOG));
	assert_true(p->matched);
	assert_false(p->named);
	assert_non_null(strstr(p->decision, "--pod-logs"));

	/* Its log directory appears: named at the next update (the watch on
	 * the log directory asks for it). */
	make_dirs("logs/shop_late-log_" UID_NOLOG "/app");
	assert_int_equal(pod_discovery_update(&d, 1), 0);
	assert_non_null(p = pod_discovery_find(&d, UID_NOLOG));
	assert_true(p->named);
	assert_string_equal(p->name, "late-log");
	pod_discovery_destroy(&d);
}

static void test_discovery_follows_the_tree(void **state)
{
	char kubepods[512], logs[512], proc[512];
	struct pod_discovery_config config = config_for("fs/kubepods", kubepods, logs, proc);
	const struct pod_candidate *p;
	struct pod_discovery d;
	char dir[512];

	(void)state;
	assert_int_equal(pod_discovery_init(&d, &config), 0);
	assert_int_equal(pod_discovery_update(&d, 0), 0);
	assert_int_equal(d.count, 5);
	assert_null(pod_discovery_find(&d, UID_LATE));

	/* A pod whose cgroup comes first, its server later: seen, not matched. */
	make_dirs("fs/kubepods/burstable/pod" UID_LATE);
	make_dirs("logs/shop_late-0_" UID_LATE "/app");
	assert_int_equal(pod_discovery_update(&d, 1), 0);
	assert_non_null(p = pod_discovery_find(&d, UID_LATE));
	assert_false(p->matched);
	assert_non_null(strstr(p->decision, "no process"));

	/* Its container starts: the pod's own watch makes it young again. */
	PROCESS(601, "/usr/local/bin/uvicorn\0late:app");
	fake_container("fs/kubepods/burstable/pod" UID_LATE "/" ID("9"), 601);
	assert_int_equal(pod_discovery_update(&d, 100), 0);
	assert_non_null(p = pod_discovery_find(&d, UID_LATE));
	assert_true(p->matched && p->named);
	assert_int_equal(p->matched_pid, 601);

	/* The pod goes away: it leaves the list. */
	snprintf(dir, sizeof(dir), "rm -rf '%s/fs/kubepods/burstable/pod" UID_LATE "'", root);
	assert_int_equal(system(dir), 0);
	assert_int_equal(pod_discovery_update(&d, 101), 0);
	assert_null(pod_discovery_find(&d, UID_LATE));
	assert_int_equal(d.count, 5);

	/* Churn: memory is the high-water mark, not the history. */
	for (int round = 0; round < 200; round++) {
		size_t capacity = d.capacity;

		make_dirs("fs/kubepods/besteffort/pod" UID_LATE);
		assert_int_equal(pod_discovery_update(&d, 200 + round), 0);
		assert_int_equal(d.count, 6);
		snprintf(dir, sizeof(dir), "%s/fs/kubepods/besteffort/pod" UID_LATE, root);
		assert_int_equal(rmdir(dir), 0);
		assert_int_equal(pod_discovery_update(&d, 200 + round), 0);
		assert_int_equal(d.count, 5);
		if (round > 0)
			assert_int_equal(d.capacity, capacity);
	}
	pod_discovery_destroy(&d);
}

static void test_young_pods_only_are_reread(void **state)
{
	char kubepods[512], logs[512], proc[512];
	struct pod_discovery_config config = config_for("fs/kubepods", kubepods, logs, proc);
	const struct pod_candidate *p;
	struct pod_discovery d;

	(void)state;
	config.young_s = 5;
	assert_int_equal(pod_discovery_init(&d, &config), 0);
	make_dirs("fs/kubepods/besteffort/pod" UID_LATE);
	fake_container("fs/kubepods/besteffort/pod" UID_LATE "/" ID("8"), 701);
	PROCESS(701, "/bin/sh\0-c\0sleep 1; exec uvicorn app:app");
	assert_int_equal(pod_discovery_update(&d, 0), 0);
	assert_non_null(p = pod_discovery_find(&d, UID_LATE));
	/* "uvicorn" is in the shell's arguments: that matches, as the user asked. */
	assert_true(p->matched);
	pod_discovery_destroy(&d);

	/* A process that execs later, while the pod is young, is seen; after
	 * that, only the periodic rescan looks again. */
	PROCESS(701, "/bin/sh\0-c\0sleep 1");
	assert_int_equal(pod_discovery_init(&d, &config), 0);
	assert_int_equal(pod_discovery_update(&d, 0), 0);
	assert_false(pod_discovery_find(&d, UID_LATE)->matched);
	PROCESS(701, "/usr/bin/python3\0/usr/bin/uvicorn\0app:app");
	assert_int_equal(pod_discovery_update(&d, 4), 0);
	assert_true(pod_discovery_find(&d, UID_LATE)->matched);
	pod_discovery_destroy(&d);

	PROCESS(701, "/bin/sh\0-c\0sleep 1");
	assert_int_equal(pod_discovery_init(&d, &config), 0);
	assert_int_equal(pod_discovery_update(&d, 0), 0);
	PROCESS(701, "/usr/bin/python3\0/usr/bin/uvicorn\0app:app");
	assert_int_equal(pod_discovery_update(&d, 6), 0);
	assert_false(pod_discovery_find(&d, UID_LATE)->matched);
	d.next_rescan = 0; /* the periodic rescan is due */
	assert_int_equal(pod_discovery_update(&d, 7), 0);
	assert_true(pod_discovery_find(&d, UID_LATE)->matched);
	pod_discovery_destroy(&d);

	{
		char dir[512];

		snprintf(dir, sizeof(dir), "rm -rf '%s/fs/kubepods/besteffort/pod" UID_LATE "'", root);
		assert_int_equal(system(dir), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uid_spellings),
		cmocka_unit_test(test_qos_levels),
		cmocka_unit_test(test_container_names),
		cmocka_unit_test(test_log_directory_names),
		cmocka_unit_test(test_systemd_tree),
		cmocka_unit_test(test_cgroupfs_tree),
		cmocka_unit_test(test_missing_tree),
		cmocka_unit_test(test_default_kubepods),
		cmocka_unit_test(test_processes_of_a_pod),
		cmocka_unit_test(test_discovery_decides),
		cmocka_unit_test(test_discovery_follows_the_tree),
		cmocka_unit_test(test_young_pods_only_are_reread),
	};

	return cmocka_run_group_tests(tests, make_node, remove_node);
}
