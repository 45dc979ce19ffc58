// SPDX-License-Identifier: MIT
/* Start, wait and stop: what the single-target and node modes share. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "log.h"
#include "slot_maps.h"

double daemon_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The target table's hands on the probes. */
static int attach_slot(void *ctx, __u32 slot, const char *cgroup_dir, const unsigned short *ports, size_t count)
{
	struct daemon *d = ctx;

	return probes_add_target(&d->probes, slot, cgroup_dir, ports, count);
}

static void detach_slot(void *ctx, __u32 slot)
{
	struct daemon *d = ctx;

	probes_remove_target(&d->probes, slot);
}

static void forget_slot(void *ctx, __u32 slot, struct target_counters *retired)
{
	struct daemon *d = ctx;
	struct probe_maps maps;
	int err;

	probes_maps(&d->probes, &maps);
	err = slot_maps_forget(&maps, libbpf_num_possible_cpus(), slot, retired);
	if (err)
		log_info("clearing the map entries of slot %u failed: %s", slot, strerror(-err));
}

static const struct target_table_ops probe_ops = {
	.attach = attach_slot,
	.detach = detach_slot,
	.forget = forget_slot,
};

int daemon_check(struct daemon *d, const struct runway_options *opts)
{
	const char *blocker;

	memset(d, 0, sizeof(*d));
	d->opts = opts;
	d->endpoint.listen_fd = -1;
	d->signal_fd = -1;
	kernel_features_probe(&d->features);
	blocker = kernel_features_blocker(&d->features);
	if (blocker) {
		log_error("%s", blocker);
		return EXIT_USAGE;
	}
	if (opts->no_read_hook)
		kernel_features_drop_read_hooks(&d->features);
	if (kernel_features_choose_loops(&d->features, opts->loops))
		return EXIT_USAGE;
	return 0;
}

int daemon_bind(struct daemon *d)
{
	return http_endpoint_bind(&d->endpoint, d->opts->listen_host, d->opts->listen_port) ? EXIT_USAGE : 0;
}

/* Each watched pod holds a few descriptors (two links, its network
 * namespace's netstat and sock_diag): 250 pods outgrow a soft limit of 1024.
 * The hard limit is the administrator's; the soft one is ours.  Raised
 * before the endpoint sizes its connection limit from it. */
static void raise_file_limit(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		setrlimit(RLIMIT_NOFILE, &limit);
	}
}

int daemon_start(struct daemon *d, const struct daemon_shape *shape)
{
	struct probes_config config = shape->probes;
	sigset_t signals;
	size_t i;

	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	/* Blocked before any thread starts, so only the signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->signal_fd < 0) {
		log_error("signalfd failed: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	raise_file_limit();
	/* Serving before the programs load: /healthz answers during the
	 * seconds a load takes, /metrics and /-/ready once the first targets
	 * are attached (daemon_serve). */
	if (http_endpoint_start(&d->endpoint))
		return EXIT_RUNTIME;
	/* Route groups and excluded paths are the same for every target. */
	for (i = 0; i < d->opts->route_group_count && i < ROUTE_GROUPS_MAX; i++)
		d->route_prefixes[i] = d->opts->route_groups[i].prefix;
	config.route_prefixes = d->route_prefixes;
	config.route_count = i;
	config.excluded_paths = d->opts->excluded_paths;
	config.excluded_path_count = d->opts->excluded_path_count;
	config.no_fast_path = d->opts->no_fast_path;
	if (probes_load(&d->probes, &d->features, &config))
		return EXIT_RUNTIME;
	if (target_table_init(&d->targets, shape->probes.max_targets, shape->max_watched, shape->grace_s, &probe_ops,
			      d)) {
		log_error("cannot allocate the target table: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	d->targets_ready = true;
	if (metrics_init(&d->metrics, &d->probes, &d->targets, kernel_features_hooks(&d->features))) {
		log_error("cannot set up the metrics: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	d->metrics_ready = true;
	d->metrics.route_groups = d->opts->route_groups;
	d->metrics.route_group_count = d->opts->route_group_count;
	return 0;
}

int daemon_serve(struct daemon *d)
{
	http_endpoint_set_ready(&d->endpoint, &d->metrics);
	return 0;
}

enum daemon_wake daemon_wait(struct daemon *d, int fd, int timeout_ms)
{
	struct pollfd fds[2] = {
		{ .fd = d->signal_fd, .events = POLLIN },
		{ .fd = fd, .events = POLLIN },
	};
	int n = poll(fds, fd >= 0 ? 2 : 1, timeout_ms);

	if (n < 0) {
		if (errno == EINTR)
			return DAEMON_TIMEOUT;
		log_error("waiting for signals failed: %s", strerror(errno));
		return DAEMON_FAILED;
	}
	if (fds[0].revents & POLLIN) {
		struct signalfd_siginfo info;

		if (read(d->signal_fd, &info, sizeof(info)) == sizeof(info) &&
		    (info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM))
			return DAEMON_STOP;
	}
	if (fd >= 0 && (fds[1].revents & POLLIN))
		return DAEMON_READABLE;
	return DAEMON_TIMEOUT;
}

void daemon_set_listen_ports(struct daemon *d, __u32 slot, const unsigned short *ports, size_t count,
			     bool register_with_probes, unsigned families)
{
	struct watched_target *w = &d->targets.targets[slot];
	unsigned short added[TARGET_MAX_PORTS];
	size_t added_count = 0, i, k;

	if (count > TARGET_MAX_PORTS)
		count = TARGET_MAX_PORTS;
	if (register_with_probes) {
		for (i = 0; i < count; i++) {
			for (k = 0; k < w->probe_port_count && w->probe_ports[k] != ports[i]; k++)
				;
			if (k == w->probe_port_count && w->probe_port_count < TARGET_MAX_PORTS)
				added[added_count++] = ports[i];
		}
		if (added_count && probes_add_ports(&d->probes, slot, added, added_count) == 0) {
			memcpy(w->probe_ports + w->probe_port_count, added, added_count * sizeof(added[0]));
			w->probe_port_count += added_count;
		}
	}
	pthread_mutex_lock(&d->targets.lock);
	memcpy(w->listen_ports, ports, count * sizeof(ports[0]));
	w->listen_port_count = count;
	w->netns.listen_families = families;
	pthread_mutex_unlock(&d->targets.lock);
}

void daemon_stop(struct daemon *d)
{
	http_endpoint_stop(&d->endpoint);
	if (d->targets_ready)
		target_table_destroy(&d->targets);
	if (d->metrics_ready)
		metrics_destroy(&d->metrics);
	/* Also after a failed load: it may have attached the tracepoints. */
	if (d->probes.skel)
		probes_destroy(&d->probes);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	d->signal_fd = -1;
	d->targets_ready = d->metrics_ready = false;
}
