// SPDX-License-Identifier: MIT
/* One server (--pid) or one cgroup (--cgroup), as before the node mode. */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "listener_audit.h"
#include "log.h"
#include "single_target.h"
#include "target.h"

#define TARGET_SLOT 0
#define LISTEN_PORT_REFRESH_S 5

/* A cgroup's servers may open listeners after we start (a --pid target's
 * ports were fixed at start), and any target may open one we cannot watch.
 * The programs learn a new listener from its first SYN; registering catches
 * one whose connections were all made before we started. */
static void refresh_listeners(struct daemon *d, const struct target *t, struct listener_audit *audit)
{
	unsigned short ports[TARGET_MAX_PORTS];
	size_t count;
	int netns_pid;

	if (t->all_ports) {
		count = listening_ports_of_cgroup(t->cgroup_dir, ports, TARGET_MAX_PORTS, &netns_pid);
		daemon_set_listen_ports(d, TARGET_SLOT, ports, count, true, 0);
	}
	listener_audit_run(audit, t);
	metrics_set_listeners_unwatchable(&d->metrics, audit->counts);
}

int single_target_run(const struct runway_options *opts)
{
	struct daemon d;
	struct target target;
	struct daemon_shape shape = {
		.probes = {
			.max_targets = 1,
		},
		.max_watched = 1,
	};
	struct target_identity identity = { .key = "" };
	struct listener_audit audit;
	double next_refresh;
	int exit_code, level;

	listener_audit_init(&audit);
	exit_code = daemon_check(&d, opts);
	if (exit_code)
		return exit_code;
	if (target_resolve(opts, &target))
		return EXIT_USAGE;
	if (strcmp(target.cgroup_dir, d.features.cgroup2_mount) == 0)
		/* Correct, but not free: every packet of the node then passes
		 * through the cgroup programs (and out again at their first test). */
		log_info("warning: the target is in the root cgroup, so every packet on the node passes through "
			 "runway-bpfd's programs; run the server in a cgroup of its own "
			 "(a pod, or systemd-run --scope) to spare other processes");
	exit_code = daemon_bind(&d);
	if (exit_code)
		return exit_code;
	level = cgroup_level(target.cgroup_dir);
	shape.probes.target_level_min = shape.probes.target_level_max = level > 0 ? level : 0;
	shape.probes.learn_ports = target.all_ports;
	exit_code = daemon_start(&d, &shape);
	if (exit_code)
		goto cleanup;
	exit_code = EXIT_RUNTIME;
	identity.cgroup_dir = target.cgroup_dir;
	identity.netns_pid = target.netns_pid;
	identity.ports = target.ports;
	identity.port_count = target.port_count;
	if (target_table_add(&d.targets, &identity) != TARGET_SLOT)
		goto cleanup;
	if (!d.targets.targets[TARGET_SLOT].netns_open || d.targets.targets[TARGET_SLOT].netns.sock_diag_fd < 0)
		log_info("cannot open the network namespace of pid %d: accept-queue metrics are not exported",
			 target.netns_pid);
	if (!target.all_ports)
		daemon_set_listen_ports(&d, TARGET_SLOT, target.ports, target.port_count, false, 0);
	refresh_listeners(&d, &target, &audit);
	if (daemon_serve(&d))
		goto cleanup;
	log_info("watching cgroup %s, serving http://%s:%u/metrics", target.cgroup_dir, opts->listen_host,
		 opts->listen_port);

	next_refresh = daemon_now() + LISTEN_PORT_REFRESH_S;
	for (;;) {
		enum daemon_wake wake = daemon_wait(&d, -1, 1000);

		if (wake == DAEMON_STOP)
			break;
		if (wake == DAEMON_FAILED)
			goto cleanup;
		if (daemon_now() >= next_refresh) {
			refresh_listeners(&d, &target, &audit);
			next_refresh = daemon_now() + LISTEN_PORT_REFRESH_S;
		}
	}
	exit_code = EXIT_SUCCESS;
cleanup:
	daemon_stop(&d);
	listener_audit_close(&audit);
	return exit_code;
}
