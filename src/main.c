// SPDX-License-Identifier: MIT
/* runway-bpfd: request metrics of a uvicorn server, from the kernel. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_endpoint.h"
#include "kernel_features.h"
#include "listener_audit.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "probes.h"
#include "target.h"

#define TARGET_SLOT 0
#define LISTEN_PORT_REFRESH_S 5

/* A pod's servers may open listeners after we start (a --pid target's ports
 * were fixed at start), and any target may open one we cannot watch. */
static void refresh_listeners(struct metrics_context *m, struct probes *p, const struct target *t,
			      struct listener_audit *audit)
{
	unsigned short ports[TARGET_MAX_PORTS];
	size_t count;
	int netns_pid;

	if (t->all_ports) {
		count = listening_ports_of_cgroup(t->cgroup_dir, ports, TARGET_MAX_PORTS, &netns_pid);
		metrics_set_listen_ports(m, ports, count);
		/* The programs learn a new listener from its first SYN; this
		 * catches one whose connections were all made before we started. */
		probes_add_ports(p, TARGET_SLOT, ports, count);
	}
	listener_audit_run(audit, t);
	metrics_set_listeners_unwatchable(m, audit->counts);
}

static int run_check(void)
{
	const struct probes_config check_config = { .max_targets = 1, .target_level_min = 1, .target_level_max = 1 };
	struct kernel_features features;
	struct probes probes;
	const char *blocker;
	int err;

	kernel_features_probe(&features);
	kernel_features_report(&features, stdout);
	blocker = kernel_features_blocker(&features);
	if (blocker) {
		printf("result: cannot run: %s\n", blocker);
		return EXIT_USAGE;
	}
	/* The real test: our own programs through this kernel's verifier. */
	err = probes_load(&probes, &features, &check_config);
	probes_destroy(&probes);
	if (err) {
		printf("result: cannot run: our BPF programs do not load here (see the error above)\n");
		return EXIT_RUNTIME;
	}
	printf("result: runway-bpfd can run here\n");
	return EXIT_SUCCESS;
}

static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	/* Blocked before any thread starts, so only sigtimedwait() sees them. */
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct http_endpoint endpoint = { .listen_fd = -1 };
	struct probes probes = { 0 };
	const char *route_prefixes[ROUTE_GROUPS_MAX];
	struct probes_config config;
	struct kernel_features features;
	struct runway_options opts;
	struct metrics_context metrics;
	struct netns_handles netns = { .netstat_fd = -1, .sock_diag_fd = -1 };
	struct listener_audit audit;
	bool metrics_ready = false;
	struct target target;
	const char *blocker;
	sigset_t signals;
	int err, level, exit_code = EXIT_RUNTIME;
	size_t i;
	unsigned ticks = 0;

	err = options_parse(&opts, argc, argv);
	if (err)
		return err > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	log_set_verbose(opts.verbose);
	listener_audit_init(&audit);
	if (opts.check_only)
		return run_check();

	/* Everything the user can get wrong is checked before anything is
	 * attached: a bad run leaves nothing behind. */
	kernel_features_probe(&features);
	blocker = kernel_features_blocker(&features);
	if (blocker) {
		log_error("%s", blocker);
		return EXIT_USAGE;
	}
	if (opts.no_read_hook)
		kernel_features_drop_read_hooks(&features);
	if (kernel_features_choose_loops(&features, opts.loops))
		return EXIT_USAGE;
	if (target_resolve(&opts, &target))
		return EXIT_USAGE;
	if (strcmp(target.cgroup_dir, features.cgroup2_mount) == 0)
		/* Correct, but not free: every packet of the node then passes
		 * through the cgroup programs (and out again at their first test). */
		log_info("warning: the target is in the root cgroup, so every packet on the node passes through "
			 "runway-bpfd's programs; run the server in a cgroup of its own "
			 "(a pod, or systemd-run --scope) to spare other processes");
	if (http_endpoint_bind(&endpoint, opts.listen_host, opts.listen_port))
		return EXIT_USAGE;

	block_signals(&signals);
	/* Serving before the programs load: /healthz answers during the
	 * seconds a load takes, /-/ready only once they are attached. */
	if (http_endpoint_start(&endpoint))
		goto cleanup;
	level = cgroup_level(target.cgroup_dir);
	for (i = 0; i < opts.route_group_count; i++)
		route_prefixes[i] = opts.route_groups[i].prefix;
	config = (struct probes_config){
		.max_targets = 1,
		.target_level_min = level > 0 ? level : 0,
		.target_level_max = level > 0 ? level : 0,
		.learn_ports = target.all_ports,
		.excluded_paths = opts.excluded_paths,
		.excluded_path_count = opts.excluded_path_count,
		.route_prefixes = route_prefixes,
		.route_count = opts.route_group_count,
	};
	if (probes_load(&probes, &features, &config))
		goto cleanup;
	if (probes_add_target(&probes, TARGET_SLOT, target.cgroup_dir, target.ports, target.port_count))
		goto cleanup;
	if (metrics_init(&metrics, &probes, TARGET_SLOT, &target, kernel_features_hooks(&features))) {
		log_error("cannot set up the metrics: %s", strerror(errno));
		goto cleanup;
	}
	metrics_ready = true;
	metrics.route_groups = opts.route_groups;
	metrics.route_group_count = opts.route_group_count;
	if (target.netns_pid > 0 && netns_open(&netns, target.netns_pid) == 0)
		metrics.netns = &netns;
	else
		log_info("cannot open the network namespace of pid %d: accept-queue metrics are not exported", target.netns_pid);
	if (!target.all_ports)
		metrics_set_listen_ports(&metrics, target.ports, target.port_count);
	refresh_listeners(&metrics, &probes, &target, &audit);
	http_endpoint_set_ready(&endpoint, &metrics);
	log_info("watching cgroup %s, serving http://%s:%u/metrics", target.cgroup_dir, opts.listen_host,
		 opts.listen_port);

	for (;;) {
		struct timespec timeout = { .tv_sec = 1 };
		int sig = sigtimedwait(&signals, NULL, &timeout);
		/* Saved at once: the refresh below reads /proc and sets errno. */
		int wait_errno = errno;

		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig < 0 && wait_errno != EAGAIN && wait_errno != EINTR) {
			log_error("waiting for signals failed: %s", strerror(wait_errno));
			goto cleanup;
		}
		if (++ticks % LISTEN_PORT_REFRESH_S == 0)
			refresh_listeners(&metrics, &probes, &target, &audit);
	}
	exit_code = EXIT_SUCCESS;
cleanup:
	http_endpoint_stop(&endpoint);
	if (metrics_ready)
		metrics_destroy(&metrics);
	netns_close(&netns);
	listener_audit_close(&audit);
	if (probes.skel)
		probes_destroy(&probes);
	return exit_code;
}
