// SPDX-License-Identifier: MIT
/* TEMPORARY: the multi-target API on today's probes; see probes_k1.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "log.h"
#include "options.h"
#include "probes_k1.h"
#include "runway.skel.h"

static struct probes_config config;

int probes_load(struct probes *p, const struct kernel_features *f, const struct probes_config *c)
{
	config = *c;
	/* Slots beyond RUNWAY_MAX_TARGETS fail in probes_add_target. */
	return probes_load_shared(p, f);
}

int probes_add_target(struct probes *p, __u32 slot, const char *cgroup_dir, const unsigned short *ports,
		      size_t port_count)
{
	struct runway_options opts = { 0 };
	struct target t = { 0 };
	size_t i;

	if (slot >= RUNWAY_MAX_TARGETS)
		return -1;
	snprintf(t.cgroup_dir, sizeof(t.cgroup_dir), "%s", cgroup_dir);
	t.all_ports = config.learn_ports;
	t.port_count = port_count < TARGET_MAX_PORTS ? port_count : TARGET_MAX_PORTS;
	memcpy(t.ports, ports, t.port_count * sizeof(ports[0]));
	for (i = 0; i < config.excluded_path_count && i < OPTIONS_MAX_EXCLUDED_PATHS; i++)
		opts.excluded_paths[i] = config.excluded_paths[i];
	opts.excluded_path_count = i;
	return probes_attach_target(p, slot, &t, &opts);
}

int probes_add_ports(struct probes *p, __u32 slot, const unsigned short *ports, size_t count)
{
	int fd = bpf_map__fd(p->shared->maps.watched_ports);
	size_t i;

	for (i = 0; i < count; i++) {
		__u32 index = slot * RUNWAY_PORT_WORDS + ports[i] / 64;
		__u64 word = 0;

		bpf_map_lookup_elem(fd, &index, &word);
		word |= 1ULL << (ports[i] % 64);
		if (bpf_map_update_elem(fd, &index, &word, BPF_ANY))
			return -errno;
	}
	return 0;
}

void probes_remove_target(struct probes *p, __u32 slot)
{
	int fd = bpf_map__fd(p->shared->maps.watched_ports);
	__u64 zero = 0;
	__u32 i;

	if (slot >= RUNWAY_MAX_TARGETS)
		return;
	if (p->targets[slot])
		runway_bpf__destroy(p->targets[slot]);
	p->targets[slot] = NULL;
	if (p->cgroup_fds[slot] >= 0)
		close(p->cgroup_fds[slot]);
	p->cgroup_fds[slot] = -1;
	for (i = 0; i < RUNWAY_PORT_WORDS; i++) {
		__u32 index = slot * RUNWAY_PORT_WORDS + i;

		bpf_map_update_elem(fd, &index, &zero, BPF_ANY);
	}
}
