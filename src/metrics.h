/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_METRICS_H
#define RUNWAY_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "listener_audit.h"
#include "netns.h"
#include "probes.h"
#include "route_groups.h"
#include "target.h"

/* Everything the exposition is rendered from.  Rendering runs on the HTTP
 * server's thread and only reads BPF maps and /proc: a scrape never waits on
 * the target. */
struct metrics_context {
	struct probe_maps maps;
	int cpu_count;
	__u32 slot;
	const struct target *target;
	bool queue_metrics; /* the read hook is attached */
	const char *hooks;
	const struct netns_handles *netns; /* NULL: no kernel queue metrics */
	pthread_mutex_t lock;
	/* The target's listening ports, refreshed by the main loop. */
	unsigned short listen_ports[TARGET_MAX_PORTS];
	size_t listen_port_count;
	/* Listeners we cannot watch, by enum unwatchable_reason (listener_audit.h). */
	unsigned listeners_unwatchable[UNWATCHABLE_REASON_COUNT];
	/* Last integrals served: a counter must never go down, even when a
	 * snapshot of per-CPU values catches an end before its begin. */
	__u64 last_in_flight_integral_ns;
	__u64 last_queued_integral_ns;
	/* --route-group, in the order given (route label = name). */
	const struct route_group *route_groups;
	size_t route_group_count;
	__u64 last_route_in_flight_integral_ns[ROUTE_GROUPS_MAX];
	__u64 last_route_queued_integral_ns[ROUTE_GROUPS_MAX];
	/* Room for one per-CPU value of the largest map, reused by every
	 * lookup of a scrape (under `lock`). */
	__u64 *percpu_values;
	size_t percpu_words;
};

int metrics_init(struct metrics_context *m, const struct probes *p, __u32 slot,
		 const struct target *t, const char *hooks);
void metrics_destroy(struct metrics_context *m);
void metrics_set_listen_ports(struct metrics_context *m, const unsigned short *ports, size_t count);
void metrics_set_listeners_unwatchable(struct metrics_context *m, const unsigned counts[UNWATCHABLE_REASON_COUNT]);

/* The whole exposition as a malloc'd string (free() it); NULL on failure. */
char *metrics_render(struct metrics_context *m, size_t *length);

#endif
