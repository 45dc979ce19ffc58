/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_PROBES_H
#define RUNWAY_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "kernel_features.h"
#include "runway_abi.h"

struct runway_bpf;
struct bpf_link;

/* What the programs are loaded for; fixed for the daemon's life. */
struct probes_config {
	unsigned max_targets;      /* sizes the maps; 1 for --pid/--cgroup */
	unsigned target_level_min; /* cgroup levels (the mount's root is 0) where */
	unsigned target_level_max; /* target cgroups sit; max - min < RUNWAY_TARGET_LEVELS */
	bool learn_ports;          /* claim connections on every port a target listens on */
	const char *const *excluded_paths;
	size_t excluded_path_count;
	const char *const *route_prefixes; /* route groups, in the user's order */
	size_t route_count;
};

/* One loaded copy of the programs: the tracepoints are attached once, the
 * cgroup programs once per target.  Every attachment is a BPF link owned by
 * this process, so the kernel detaches it when the process exits, however
 * it exits. */
struct probes {
	struct runway_bpf *skel;
	unsigned max_targets;
	bool read_hook;
	bool open_coded_loops; /* which pair of cgroup programs is loaded */
	struct probes_target {
		struct bpf_link *ingress;
		struct bpf_link *egress;
		__u64 cgroup_id;
	} targets[RUNWAY_MAX_TARGETS];
};

int probes_load(struct probes *p, const struct kernel_features *f, const struct probes_config *c);

/* Attach to a cgroup directory as `slot`, with its counters at 0, and
 * register `ports` as its server ports (the only ones without learn_ports). */
int probes_add_target(struct probes *p, __u32 slot, const char *cgroup_dir, const unsigned short *ports,
		      size_t port_count);

/* More server ports for a target (a listener found after it was added). */
int probes_add_ports(struct probes *p, __u32 slot, const unsigned short *ports, size_t port_count);

/* Detach from the slot's cgroup and forget the cgroup.  The slot's counters
 * stay readable until it is added again.  A slot must not be reused while
 * sockets of its old target may still be open. */
void probes_remove_target(struct probes *p, __u32 slot);

void probes_destroy(struct probes *p);

struct probe_maps {
	int target_counters;
	int requests_by_status;
	int request_durations;
	int queue_durations;
	int listener_counters;
	int route_events;
};

void probes_maps(const struct probes *p, struct probe_maps *maps);

/* The cgroup v2 id of a cgroup directory (what bpf_skb_cgroup_id() returns
 * for its sockets); 0 on failure. */
__u64 cgroup_id_of(const char *cgroup_dir);

#endif
