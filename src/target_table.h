/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_TARGET_TABLE_H
#define RUNWAY_TARGET_TABLE_H

/*
 * The targets the daemon serves series for, one per BPF slot: the single
 * --pid/--cgroup target (no labels), or in node mode one per pod (labels
 * namespace and pod).
 *
 * A pod whose cgroup is gone is detached at once but keeps its series for the
 * grace period, so that its last requests reach Prometheus; then its map
 * entries are removed and its slot becomes free.  A slot is reused only after
 * that: no socket of the old pod can still count into it.
 *
 * The scrape reads the table under `lock`; every change takes the same lock,
 * so a scrape sees a pod either whole or not at all.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "kubelet_layout.h"
#include "netns.h"
#include "route_groups.h"
#include "runway_abi.h"
#include "target.h"

/* namespace="<63>",pod="<253>" with room for escapes. */
#define TARGET_LABELS_SIZE 400
#define TARGET_KEY_SIZE POD_UID_SIZE
#define TARGET_DIR_SIZE 512

enum target_state {
	TARGET_FREE,
	TARGET_WATCHED,
	TARGET_GONE, /* detached, series kept until gone_at + grace */
};

struct watched_target {
	enum target_state state;
	char key[TARGET_KEY_SIZE];     /* the pod's UID; "" for a single target */
	char labels[TARGET_LABELS_SIZE]; /* label pairs without braces; "" for none */
	char cgroup_dir[TARGET_DIR_SIZE];
	double gone_at;
	/* The target's network namespace, for accept queues and ListenOverflows. */
	struct netns_handles netns;
	bool netns_open;
	unsigned long netns_id; /* which namespace the handles are in */
	/* Its listening ports (for the accept-queue series), kept up to date by
	 * the main loop. */
	unsigned short listen_ports[TARGET_MAX_PORTS];
	size_t listen_port_count;
	/* Ports registered with the probes (without learn_ports, the only ones
	 * counted). */
	unsigned short probe_ports[TARGET_MAX_PORTS];
	size_t probe_port_count;
	/* It shares the node's network namespace (hostNetwork): not every
	 * listener there is its own. */
	bool netns_shared;
	bool ports_unreadable_reported;
	/* Listening unix sockets of a pod that listens on no TCP port
	 * (uvicorn --uds): requests we cannot see.  Logged when it changes. */
	unsigned unix_listeners;
	/* Last integrals served: a counter never goes down, even when a
	 * snapshot of per-CPU values catches an end before its begin. */
	__u64 last_in_flight_integral_ns;
	__u64 last_queued_integral_ns;
	__u64 last_route_in_flight_integral_ns[ROUTE_GROUPS_MAX];
	__u64 last_route_queued_integral_ns[ROUTE_GROUPS_MAX];
};

/* What the table asks of the probes; the tests pass fakes. */
struct target_table_ops {
	/* Attach to the cgroup and register it as `slot`; 0 or -1. */
	int (*attach)(void *ctx, __u32 slot, const char *cgroup_dir, const unsigned short *ports, size_t count);
	void (*detach)(void *ctx, __u32 slot);
	/* Add the slot's self-counters to *retired, then remove the slot's
	 * map entries. */
	void (*forget)(void *ctx, __u32 slot, struct target_counters *retired);
};

struct target_table {
	pthread_mutex_t lock;
	struct watched_target *targets; /* index = slot */
	size_t capacity;                /* slots in the maps */
	size_t max_watched;             /* targets watched at once */
	size_t watched;
	unsigned grace_s;
	struct target_table_ops ops;
	void *ops_ctx;
	/* Self-counters of the slots already freed: the daemon-wide counters
	 * sum these and the live slots', so they never go down. */
	struct target_counters retired;
	__u64 evicted_early; /* pods whose grace was cut short for a new pod */
	/* Node mode: connections the pods had accepted when they began to be
	 * watched, whose requests until then are not counted. */
	bool counts_before_watch;
	__u64 connections_before_watch;
};

int target_table_init(struct target_table *t, size_t capacity, size_t max_watched, unsigned grace_s,
		      const struct target_table_ops *ops, void *ops_ctx);
/* Detaches and forgets everything. */
void target_table_destroy(struct target_table *t);

struct target_identity {
	const char *key;        /* pod UID, "" for a single target */
	const char *namespace_; /* NULL: no labels */
	const char *pod;
	const char *cgroup_dir;
	int netns_pid;          /* a process in its network namespace, 0 if none */
	const unsigned short *ports; /* known listening ports to register */
	size_t port_count;
};

/* Watches a new target.  Returns its slot, or -1: ENOSPC when max_watched
 * targets are watched already, EEXIST when the key is, or the attach failed. */
int target_table_add(struct target_table *t, const struct target_identity *id);

/* The slot of the target with this key, watched or gone; -1 if none. */
int target_table_find(struct target_table *t, const char *key);

/* The target's cgroup is gone: detach now, keep its series for the grace
 * period from `now` (monotonic seconds). */
void target_table_gone(struct target_table *t, const char *key, double now);

/* Frees every target whose grace period is over; returns how many. */
size_t target_table_expire(struct target_table *t, double now);

/* Opens the target's network namespace handles anew from `pid` (a pod whose
 * sandbox was recreated has a new namespace), under the lock. */
void target_table_reopen_netns(struct target_table *t, size_t slot, int pid);

/* Writes `namespace="ns",pod="name"` with the exposition's escapes. */
void target_labels_format(char *out, size_t size, const char *namespace_, const char *pod);

#endif
