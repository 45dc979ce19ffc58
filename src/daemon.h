/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_DAEMON_H
#define RUNWAY_DAEMON_H

/*
 * What every mode of the daemon shares: the kernel check, the metrics
 * endpoint, the loaded probes, the target table and the exposition, started
 * and stopped in that order, and the wait for signals.
 */

#include <stdbool.h>

#include "http_endpoint.h"
#include "kernel_features.h"
#include "metrics.h"
#include "options.h"
#include "probes.h"
#include "target_table.h"

struct daemon {
	const struct runway_options *opts;
	struct kernel_features features;
	struct http_endpoint endpoint;
	struct probes probes;
	struct target_table targets;
	struct metrics_context metrics;
	int signal_fd;
	const char *route_prefixes[ROUTE_GROUPS_MAX];
	bool targets_ready, metrics_ready;
};

struct daemon_shape {
	/* Route groups and excluded paths come from the options. */
	struct probes_config probes;
	size_t max_watched; /* targets at once; probes.max_targets slots */
	unsigned grace_s;
};

/* What the user can get wrong is checked before anything is attached: the
 * kernel and privileges here, the metrics address in daemon_bind().  Each
 * prints the line and returns EXIT_USAGE, or 0. */
int daemon_check(struct daemon *d, const struct runway_options *opts);
int daemon_bind(struct daemon *d);

/* Loads the probes and sets up the table and the exposition.  Returns 0 or
 * EXIT_RUNTIME. */
int daemon_start(struct daemon *d, const struct daemon_shape *shape);

/* Serves /metrics and /-/ready from now on: once the first targets are
 * attached, so that a client that sees the metrics knows they are watched.
 * (/healthz answers from daemon_start() on.) */
int daemon_serve(struct daemon *d);

enum daemon_wake {
	DAEMON_STOP,     /* SIGINT or SIGTERM */
	DAEMON_TIMEOUT,
	DAEMON_READABLE, /* the extra descriptor */
	DAEMON_FAILED,
};

/* Waits up to timeout_ms for a signal or for `fd` (-1: none) to be readable. */
enum daemon_wake daemon_wait(struct daemon *d, int fd, int timeout_ms);

/* Detaches everything; safe after a partial start. */
void daemon_stop(struct daemon *d);

/* Seconds on the monotonic clock. */
double daemon_now(void);

/* Sets a target's listening ports (for the accept-queue series) and the
 * families they are in (NETNS_IPV4 | NETNS_IPV6, 0 if unknown) under the
 * table's lock, and registers with the probes those not registered yet. */
void daemon_set_listen_ports(struct daemon *d, __u32 slot, const unsigned short *ports, size_t count,
			     bool register_with_probes, unsigned families);

#endif
