/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_PROBES_H
#define RUNWAY_PROBES_H

#include <stdbool.h>
#include <linux/types.h>

#include "kernel_features.h"
#include "options.h"
#include "runway_abi.h"
#include "target.h"

struct runway_bpf;

/* The loaded programs: one shared copy holds the maps and the two node-wide
 * tracepoints; each target adds a copy with its cgroup programs.  Every
 * attachment is a BPF link owned by this process, so the kernel detaches it
 * when the process exits, however it exits. */
struct probes {
	struct runway_bpf *shared;
	struct runway_bpf *targets[RUNWAY_MAX_TARGETS];
	int cgroup_fds[RUNWAY_MAX_TARGETS];
	bool read_hook;
};

int probes_load_shared(struct probes *p, const struct kernel_features *f);
int probes_attach_target(struct probes *p, __u32 slot, const struct target *t,
			 const struct runway_options *opts);
void probes_destroy(struct probes *p);

struct probe_maps {
	int target_counters;
	int requests_by_status;
	int request_durations;
	int queue_durations;
	int listener_counters;
};

void probes_maps(const struct probes *p, struct probe_maps *maps);

#endif
