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
#include "target_table.h"

/* Everything the exposition is rendered from.  Rendering runs on the HTTP
 * server's thread and only reads BPF maps and /proc: a scrape never waits on
 * the target.  Every request and queue series is rendered once per target of
 * the table, with the target's labels (none for a single target). */
struct metrics_context {
	struct probe_maps maps;
	int cpu_count;
	struct target_table *targets;
	bool queue_metrics; /* the read hook is attached */
	const char *hooks;
	pthread_mutex_t lock;
	/* Listeners we cannot watch, by enum unwatchable_reason (listener_audit.h). */
	unsigned listeners_unwatchable[UNWATCHABLE_REASON_COUNT];
	/* --route-group, in the order given (route label = name), the same for
	 * every target. */
	const struct route_group *route_groups;
	size_t route_group_count;
	/* Room for one per-CPU value of the largest map, reused by every
	 * lookup of a scrape (under `lock`). */
	__u64 *percpu_values;
	size_t percpu_words;
	/* Each target's counters, read once per scrape. */
	struct target_counters *counters;
};

int metrics_init(struct metrics_context *m, const struct probes *p, struct target_table *targets,
		 const char *hooks);
void metrics_destroy(struct metrics_context *m);
void metrics_set_listeners_unwatchable(struct metrics_context *m, const unsigned counts[UNWATCHABLE_REASON_COUNT]);

/* The whole exposition as a malloc'd string (free() it); NULL on failure. */
char *metrics_render(struct metrics_context *m, size_t *length);

#endif
