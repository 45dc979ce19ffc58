/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_PROBES_K1_H
#define RUNWAY_PROBES_K1_H

/*
 * TEMPORARY, until the multi-target probes API (/work/wt/K1_API.md) lands on
 * main: its declarations, implemented in probes_k1.c on top of today's
 * probes (one copy of the programs per target).  Removed at the merge: the
 * includes of "probes_k1.h" then become "probes.h".
 */

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "kernel_features.h"
#include "probes.h"

struct probes_config {
	unsigned max_targets;      /* sizes the maps; 1 for --pid/--cgroup */
	unsigned target_level_min; /* cgroup levels (mount root = 0) where target cgroups sit */
	unsigned target_level_max; /* at most target_level_min + 3 */
	bool learn_ports;          /* claim connections on every port the target listens on */
	const char *const *excluded_paths;
	size_t excluded_path_count;
};

int probes_load(struct probes *p, const struct kernel_features *f, const struct probes_config *c);
int probes_add_target(struct probes *p, __u32 slot, const char *cgroup_dir, const unsigned short *ports,
		      size_t port_count);
int probes_add_ports(struct probes *p, __u32 slot, const unsigned short *ports, size_t count);
void probes_remove_target(struct probes *p, __u32 slot);

#endif
