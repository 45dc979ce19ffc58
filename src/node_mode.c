// SPDX-License-Identifier: MIT
/* --kubernetes: one daemon per node, watching every pod that runs a matching
 * server, each pod's series labelled with its namespace and name. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "listener_audit.h"
#include "log.h"
#include "node_mode.h"
#include "pod_discovery.h"
#include "pod_processes.h"
#include "target.h"

/* How often the loop wakes without an event: faster while a pod is young,
 * so that its server is found soon after it execs. */
#define TICK_MS 1000
#define YOUNG_TICK_MS 250
/* A pod is young this long after its cgroup or a container appears. */
#define YOUNG_S 60.0
/* The whole tree is read again this often, whatever the watch said. */
#define RESCAN_S 10.0
#define PORT_REFRESH_S 5.0
/* Slots per watched pod: pods in their grace period keep theirs, so a
 * rollout that replaces every pod of the node does not run out. */
#define SLOTS_PER_POD 2
#define RETRY_ATTACH_S 10.0

struct node {
	const struct runway_options *opts;
	struct daemon d;
	struct pod_discovery discovery;
	bool discovery_ready;
	char kubepods[PATH_MAX];
	double next_port_refresh;
	double next_full_report;
	bool tree_error_reported;
};

static int resolve_kubepods(struct node *n)
{
	const char *mount = n->d.features.cgroup2_mount;
	char found[PATH_MAX];

	if (n->opts->kubepods_path) {
		if (!is_cgroup2_dir(n->opts->kubepods_path) || !realpath(n->opts->kubepods_path, n->kubepods)) {
			log_error("--kubepods %s is not a cgroup v2 directory: give the pods' parent cgroup under the "
				  "cgroup2 mount %s, e.g. %s/kubepods.slice",
				  n->opts->kubepods_path, mount, mount);
			return -1;
		}
		return 0;
	}
	if (pod_discovery_default_kubepods(mount, found, sizeof(found)) || !is_cgroup2_dir(found) ||
	    !realpath(found, n->kubepods)) {
		log_error("no kubepods cgroup under the cgroup2 mount %s (looked for kubepods.slice, kubepods and "
			  "kubelet.slice/kubelet-kubepods.slice): run on a Kubernetes node whose kubelet uses cgroup v2, "
			  "with the host's /sys/fs/cgroup mounted, or give the pods' parent cgroup with --kubepods PATH",
			  mount);
		return -1;
	}
	return 0;
}

static int check_pod_logs(const struct runway_options *opts)
{
	struct stat st;

	if (stat(opts->pod_logs_dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	log_error("--pod-logs %s is not a directory: the kubelet's pod log directory names the pods; mount the "
		  "node's /var/log/pods into the daemon's container, or give its path with --pod-logs DIR",
		  opts->pod_logs_dir);
	return -1;
}

static bool has_inode(const unsigned long *inodes, size_t count, unsigned long inode)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (inodes[i] == inode)
			return true;
	return false;
}

/* The ports the pod listens on, from sock_diag in its network namespace.
 * In a namespace of its own every listener is the pod's; in the node's
 * (hostNetwork), only those on sockets its processes hold. */
static size_t pod_listening_ports(struct watched_target *w, unsigned short *ports, size_t max,
				  unsigned *families)
{
	static struct netns_listener listeners[TARGET_MAX_PORTS * 4];
	static unsigned long inodes[8192];
	size_t inode_count = 0, count = 0, i, k;
	int found;

	*families = 0;
	if (!w->netns_open)
		return 0;
	found = netns_list_listeners(&w->netns, listeners, sizeof(listeners) / sizeof(listeners[0]));
	if (found <= 0)
		return 0;
	if (w->netns_shared) {
		inode_count = socket_inodes_of_cgroup(w->cgroup_dir, inodes, sizeof(inodes) / sizeof(inodes[0]));
		if (inode_count == 0 && !w->ports_unreadable_reported) {
			log_info("pod {%s} shares the node's network namespace and its sockets cannot be read "
				 "(another user's /proc/PID/fd needs CAP_DAC_READ_SEARCH): its accept-queue series are "
				 "missing",
				 w->labels);
			w->ports_unreadable_reported = true;
		}
	}
	for (i = 0; i < (size_t)found && count < max; i++) {
		if (w->netns_shared && !has_inode(inodes, inode_count, listeners[i].inode))
			continue;
		*families |= listeners[i].family;
		for (k = 0; k < count && ports[k] != listeners[i].port; k++)
			;
		if (k == count)
			ports[count++] = listeners[i].port;
	}
	return count;
}

/* A pod whose sandbox was recreated runs in a new network namespace: its
 * accept queues are read there from then on (its ListenOverflows restart,
 * as a counter does). */
static void follow_netns(struct node *n, size_t slot)
{
	struct watched_target *w = &n->d.targets.targets[slot];
	int pid = pod_any_pid(w->cgroup_dir);
	unsigned long id = pid ? netns_id_of(pid) : 0;

	if (!id || (w->netns_open && id == w->netns_id))
		return;
	target_table_reopen_netns(&n->d.targets, slot, pid);
	if (log_verbose())
		log_info("pod {%s}: now in network namespace %lu", w->labels, id);
}

/* A pod whose server listens on a unix socket and on no TCP port (uvicorn
 * --uds) would show nothing, silently: say so, in the log and in
 * runway_bpfd_listeners_unwatchable.  A pod with a TCP listener is not
 * looked at: a proxy in front of such a server is where its requests are
 * counted. */
static void audit_unix_listeners(struct node *n, size_t slot, size_t tcp_ports)
{
	static unsigned long inodes[8192];
	struct watched_target *w = &n->d.targets.targets[slot];
	char path[PATH_MAX] = "";
	size_t found = 0, inode_count;
	int pid;

	if (tcp_ports == 0 && (pid = pod_any_pid(w->cgroup_dir)) > 0) {
		inode_count = socket_inodes_of_cgroup(w->cgroup_dir, inodes, sizeof(inodes) / sizeof(inodes[0]));
		found = listener_audit_unix_listeners(pid, inodes, inode_count, path, sizeof(path));
	}
	if (found && !w->unix_listeners)
		log_info("warning: pod {%s} listens on unix socket %s and on no TCP port: its requests are not "
			 "counted (runway-bpfd sees TCP only); serve HTTP on a TCP port, or put a proxy that listens "
			 "on TCP in front of it in the pod",
			 w->labels, path);
	w->unix_listeners = (unsigned)found;
}

static void refresh_pod_ports(struct node *n, size_t slot)
{
	unsigned short ports[TARGET_MAX_PORTS];
	unsigned families;
	size_t count;

	follow_netns(n, slot);
	if (n->opts->port_count)
		return;
	count = pod_listening_ports(&n->d.targets.targets[slot], ports, TARGET_MAX_PORTS, &families);
	daemon_set_listen_ports(&n->d, slot, ports, count, true, families);
	audit_unix_listeners(n, slot, count);
}

/* The node's runway_bpfd_listeners_unwatchable: the watched pods' unix
 * listeners; TCP listeners from other cgroups are not looked for here. */
static void export_unwatchable(struct node *n)
{
	unsigned counts[UNWATCHABLE_REASON_COUNT] = { 0 };
	size_t slot;

	counts[UNWATCHABLE_OTHER_CGROUP] = UNWATCHABLE_NOT_AUDITED;
	for (slot = 0; slot < n->d.targets.capacity; slot++)
		if (n->d.targets.targets[slot].state == TARGET_WATCHED)
			counts[UNWATCHABLE_UNIX_SOCKET] += n->d.targets.targets[slot].unix_listeners;
	metrics_set_listeners_unwatchable(&n->d.metrics, counts);
}

/* Requests a pod served before it was watched are not counted; the
 * connections that carried them are, from its namespace's own count.  Not
 * for a pod in the node's namespace, whose count is everyone's. */
static void count_connections_before_watch(struct node *n, size_t slot, int pid)
{
	struct target_table *t = &n->d.targets;
	__u64 opened;

	if (!pid || t->targets[slot].netns_shared || netns_read_passive_opens(pid, &opened))
		return;
	pthread_mutex_lock(&t->lock);
	t->connections_before_watch += opened;
	pthread_mutex_unlock(&t->lock);
	if (opened && log_verbose())
		log_info("pod {%s} had accepted %llu connection(s) before it was watched", t->targets[slot].labels,
			 (unsigned long long)opened);
}

static void watch_pod(struct node *n, struct pod_candidate *c, double now)
{
	struct target_identity id = {
		.key = c->uid,
		.namespace_ = c->namespace_,
		.pod = c->name,
		.cgroup_dir = c->cgroup_dir,
		/* The matching process may have exited since (a restart): any
		 * process of the pod is in its network namespace. */
		.netns_pid = pod_any_pid(c->cgroup_dir),
		/* Without --port, its listeners are registered right after, from
		 * its network namespace. */
		.ports = n->opts->ports,
		.port_count = n->opts->port_count,
	};
	int slot;

	slot = target_table_add(&n->d.targets, &id);
	if (slot < 0 && errno == ENOSPC) {
		if (now >= n->next_full_report)
			log_info("pod %s/%s is not watched: %zu pods are watched already (--max-pods); raise it to watch "
				 "more",
				 c->namespace_, c->name, n->d.targets.max_watched);
		n->next_full_report = now + 60;
		return;
	}
	if (slot < 0) {
		log_info("pod %s/%s cannot be watched: attaching to %s failed (%s); trying again in %.0f s",
			 c->namespace_, c->name, c->cgroup_dir, strerror(errno), RETRY_ATTACH_S);
		c->retry_after = now + RETRY_ATTACH_S;
		return;
	}
	/* hostNetwork: the node's namespace is pid 1's (the DaemonSet has
	 * hostPID), or ours when the daemon runs with hostNetwork itself. */
	n->d.targets.targets[slot].netns_shared =
		netns_is_shared_with(id.netns_pid, 1) || netns_is_shared_with(id.netns_pid, getpid());
	if (!n->d.targets.targets[slot].netns_open)
		log_info("pod %s/%s: cannot open its network namespace (pid %d; needs CAP_SYS_PTRACE): its accept-queue "
			 "and ListenOverflows series are missing",
			 c->namespace_, c->name, id.netns_pid);
	else if (n->d.targets.targets[slot].netns.sock_diag_fd < 0)
		log_info("pod %s/%s: cannot enter its network namespace (pid %d; setns needs CAP_SYS_ADMIN): its "
			 "accept-queue depth and limit series are missing",
			 c->namespace_, c->name, id.netns_pid);
	if (n->opts->port_count)
		daemon_set_listen_ports(&n->d, slot, n->opts->ports, n->opts->port_count, false, 0);
	else
		refresh_pod_ports(n, slot);
	count_connections_before_watch(n, slot, id.netns_pid);
	log_info("watching pod %s/%s (uid %s, %s) in slot %d: pid %d runs %s", c->namespace_, c->name, c->uid,
		 pod_qos_name(c->qos), slot, c->matched_pid, c->matched_command);
}

static void watch_new_pods(struct node *n, double now)
{
	size_t i;

	for (i = 0; i < n->discovery.count; i++) {
		struct pod_candidate *c = &n->discovery.pods[i];

		if (!c->matched || !c->named || now < c->retry_after)
			continue;
		if (target_table_find(&n->d.targets, c->uid) >= 0)
			continue;
		watch_pod(n, c, now);
	}
}

static void release_gone_pods(struct node *n, double now)
{
	struct target_table *t = &n->d.targets;
	size_t slot, expired;

	for (slot = 0; slot < t->capacity; slot++) {
		const struct watched_target *w = &t->targets[slot];

		if (w->state != TARGET_WATCHED || pod_discovery_find(&n->discovery, w->key))
			continue;
		log_info("pod {%s} is gone: detached; its series stay %u s (--pod-grace)", w->labels, t->grace_s);
		target_table_gone(t, w->key, now);
	}
	expired = target_table_expire(t, now);
	if (expired && log_verbose())
		log_info("%zu deleted pod(s) past their grace period: their series and map entries are removed", expired);
}

/* A pod's servers may open listeners at any time: its accept-queue series
 * follow. */
static void refresh_ports(struct node *n, double now)
{
	size_t slot;

	if (now < n->next_port_refresh)
		return;
	n->next_port_refresh = now + PORT_REFRESH_S;
	for (slot = 0; slot < n->d.targets.capacity; slot++)
		if (n->d.targets.targets[slot].state == TARGET_WATCHED)
			refresh_pod_ports(n, slot);
}

static bool any_young_pod(const struct pod_discovery *d, double now)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (!d->pods[i].matched && now < d->pods[i].young_until)
			return true;
	return false;
}

static void update(struct node *n);

static int start(struct node *n)
{
	const struct runway_options *opts = n->opts;
	int level = cgroup_level(n->kubepods);
	struct daemon_shape shape = {
		.probes = {
			.max_targets = SLOTS_PER_POD * opts->max_pods < RUNWAY_MAX_TARGETS ?
					       SLOTS_PER_POD * opts->max_pods :
					       RUNWAY_MAX_TARGETS,
			/* Every port a pod listens on, learnt from its SYNs:
			 * no window between a listen() and our next look. */
			.learn_ports = opts->port_count == 0,
		},
		.max_watched = opts->max_pods,
		.grace_s = opts->pod_grace_s,
	};
	struct pod_discovery_config config = {
		.kubepods_dir = n->kubepods,
		.pod_logs_dir = opts->pod_logs_dir,
		.proc_dir = "/proc",
		.match_pattern = opts->match_cmdline,
		.young_s = YOUNG_S,
		.rescan_s = RESCAN_S,
	};
	int exit_code;

	/* Guaranteed pods sit right under kubepods, the others one level down. */
	if (level < 0) {
		log_error("%s is not under the cgroup2 mount %s", n->kubepods, n->d.features.cgroup2_mount);
		return EXIT_USAGE;
	}
	shape.probes.target_level_min = level + 1;
	shape.probes.target_level_max = level + 2;
	exit_code = daemon_start(&n->d, &shape);
	if (exit_code)
		return exit_code;
	n->d.targets.counts_before_watch = true;
	if (pod_discovery_init(&n->discovery, &config)) {
		log_error("cannot watch %s: %s", n->kubepods, strerror(errno));
		return EXIT_RUNTIME;
	}
	n->discovery_ready = true;
	/* The pods already running are watched before the endpoint answers. */
	update(n);
	exit_code = daemon_serve(&n->d);
	if (exit_code)
		return exit_code;
	log_info("node mode: pods under %s, names from %s, watching those running '%s'; serving http://%s:%u/metrics",
		 n->kubepods, opts->pod_logs_dir, opts->match_cmdline, opts->listen_host, opts->listen_port);
	return 0;
}

static void update(struct node *n)
{
	double now = daemon_now();

	if (pod_discovery_update(&n->discovery, now)) {
		if (!n->tree_error_reported)
			log_info("cannot read %s: %s; keeping the pods found so far", n->kubepods, strerror(errno));
		n->tree_error_reported = true;
	} else {
		n->tree_error_reported = false;
	}
	release_gone_pods(n, now);
	watch_new_pods(n, now);
	refresh_ports(n, now);
	export_unwatchable(n);
}

int node_mode_run(const struct runway_options *opts)
{
	static struct node n; /* the discovery and table are large: not on the stack */
	int exit_code;

	memset(&n, 0, sizeof(n));
	n.opts = opts;
	exit_code = daemon_check(&n.d, opts);
	if (exit_code)
		return exit_code;
	if (resolve_kubepods(&n) || check_pod_logs(opts))
		return EXIT_USAGE;
	exit_code = daemon_bind(&n.d);
	if (exit_code)
		return exit_code;
	exit_code = start(&n);
	if (exit_code)
		goto cleanup;
	for (;;) {
		enum daemon_wake wake;

		wake = daemon_wait(&n.d, pod_discovery_fd(&n.discovery),
				   any_young_pod(&n.discovery, daemon_now()) ? YOUNG_TICK_MS : TICK_MS);
		if (wake == DAEMON_STOP)
			break;
		if (wake == DAEMON_FAILED) {
			exit_code = EXIT_RUNTIME;
			goto cleanup;
		}
		update(&n);
	}
	exit_code = EXIT_SUCCESS;
cleanup:
	daemon_stop(&n.d);
	if (n.discovery_ready)
		pod_discovery_destroy(&n.discovery);
	return exit_code;
}
