// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "probes.h"
#include "runway.skel.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* The verifier log comes at debug level; show it with -v only. */
	if ((level == LIBBPF_DEBUG || level == LIBBPF_INFO) && !log_verbose())
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void report_load_failure(struct runway_bpf *skel, int err)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		if (bpf_program__autoload(prog) && bpf_program__fd(prog) < 0) {
			log_error("BPF program %s failed to load: %s; rerun with -v for the verifier log",
				  bpf_program__name(prog), strerror(-err));
			return;
		}
	}
	log_error("loading the BPF object failed: %s; rerun with -v for details", strerror(-err));
}

__u64 cgroup_id_of(const char *cgroup_dir)
{
	struct {
		struct file_handle handle;
		__u64 id;
	} fh = { .handle.handle_bytes = sizeof(__u64) };
	struct stat st;
	int mount_id;

	/* A cgroup2 directory's file handle is its 64-bit kernfs id, the id
	 * BPF sees; the inode number is the same on 64-bit kernels. */
	if (name_to_handle_at(AT_FDCWD, cgroup_dir, &fh.handle, &mount_id, 0) == 0 &&
	    fh.handle.handle_bytes == sizeof(__u64))
		return fh.id;
	return stat(cgroup_dir, &st) == 0 ? (__u64)st.st_ino : 0;
}

/* Map sizes for the configured number of targets: per-CPU memory is
 * max_entries x CPUs, so a one-target daemon must not size for a node. */
static int size_maps(struct runway_bpf *skel, unsigned targets)
{
	struct {
		struct bpf_map *map;
		unsigned per_target;
	} sizes[] = {
		{ skel->maps.target_cgroups, RUNWAY_CGROUPS_PER_TARGET },
		{ skel->maps.target_counters, 1 },
		{ skel->maps.requests_by_status, RUNWAY_STATUS_SERIES_PER_TARGET },
		{ skel->maps.request_durations, HTTP_METHOD_COUNT },
		{ skel->maps.queue_durations, 1 },
		{ skel->maps.listener_counters, RUNWAY_PORTS_PER_TARGET },
		{ skel->maps.route_events, HTTP_ROUTE_GROUPS_MAX },
		{ skel->maps.pending_connections, RUNWAY_PENDING_PER_TARGET },
	};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int err = bpf_map__set_max_entries(sizes[i].map, targets * sizes[i].per_target);

		if (err)
			return err;
	}
	return 0;
}

static int fill_excluded_paths(struct probes *p, const struct probes_config *c)
{
	int fd = bpf_map__fd(p->skel->maps.excluded_paths);
	__u8 present = 1;
	size_t i;

	for (i = 0; i < c->excluded_path_count; i++) {
		__u64 hash = http_path_hash(c->excluded_paths[i], RUNWAY_REQUEST_LINE_MAX);

		if (bpf_map_update_elem(fd, &hash, &present, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int attach_tracepoints(struct runway_bpf *skel, const struct kernel_features *f)
{
	if (f->tcp_read_hook) {
		skel->links.runway_tcp_read = bpf_program__attach(skel->progs.runway_tcp_read);
		if (!skel->links.runway_tcp_read) {
			log_error("attaching tp_btf/tcp_rcv_space_adjust failed: %s", strerror(errno));
			return -1;
		}
	} else if (f->recv_hook) {
		skel->links.runway_recv = bpf_program__attach(skel->progs.runway_recv);
		if (!skel->links.runway_recv) {
			log_error("attaching tp_btf/sock_recv_length failed: %s", strerror(errno));
			return -1;
		}
	}
	skel->links.runway_state = bpf_program__attach(skel->progs.runway_state);
	if (!skel->links.runway_state) {
		log_error("attaching tp_btf/inet_sock_set_state failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int probes_load(struct probes *p, const struct kernel_features *f, const struct probes_config *c)
{
	struct runway_bpf *skel;
	size_t i;
	int err;

	memset(p, 0, sizeof(*p));
	libbpf_set_print(libbpf_print);
	if (c->max_targets == 0 || c->max_targets > RUNWAY_MAX_TARGETS ||
	    c->target_level_max < c->target_level_min ||
	    c->target_level_max - c->target_level_min >= RUNWAY_TARGET_LEVELS) {
		log_error("internal error: bad probes configuration");
		return -1;
	}
	p->max_targets = c->max_targets;
	p->read_hook = f->read_hook;
	skel = runway_bpf__open();
	if (!skel) {
		log_error("opening the BPF object failed: %s", strerror(errno));
		return -1;
	}
	p->skel = skel;
	skel->rodata->read_hook_enabled = f->read_hook;
	skel->rodata->learn_ports = c->learn_ports;
	skel->rodata->target_level_min = c->target_level_min;
	skel->rodata->target_level_max = c->target_level_max;
	for (i = 0; i < c->excluded_path_count; i++)
		skel->rodata->excluded_hash_bits |=
			1ULL << (http_path_hash(c->excluded_paths[i], RUNWAY_REQUEST_LINE_MAX) & 63);
	http_route_table_build(&skel->bss->route_table, c->route_prefixes,
			       (__u32)c->route_count);
	p->open_coded_loops = f->open_coded_loops;
	bpf_program__set_autoload(skel->progs.runway_ingress, f->open_coded_loops);
	bpf_program__set_autoload(skel->progs.runway_egress, f->open_coded_loops);
	bpf_program__set_autoload(skel->progs.runway_ingress_loop, !f->open_coded_loops);
	bpf_program__set_autoload(skel->progs.runway_egress_loop, !f->open_coded_loops);
	bpf_program__set_autoload(skel->progs.runway_tcp_read, f->tcp_read_hook);
	bpf_program__set_autoload(skel->progs.runway_recv, !f->tcp_read_hook && f->recv_hook);
	err = size_maps(skel, c->max_targets);
	if (err) {
		log_error("sizing the BPF maps failed: %s", strerror(-err));
		return -1;
	}
	err = runway_bpf__load(skel);
	if (err) {
		report_load_failure(skel, err);
		return -1;
	}
	err = fill_excluded_paths(p, c);
	if (err) {
		log_error("filling the excluded paths failed: %s", strerror(-err));
		return -1;
	}
	return attach_tracepoints(skel, f);
}

/* Writes zeros to a per-CPU array entry. */
static int zero_percpu_entry(struct bpf_map *map, __u32 key)
{
	int cpus = libbpf_num_possible_cpus();
	size_t size = (bpf_map__value_size(map) + 7) / 8 * 8;
	void *zeros;
	int err = 0;

	if (cpus <= 0)
		return -EINVAL;
	zeros = calloc(cpus, size);
	if (!zeros)
		return -ENOMEM;
	if (bpf_map_update_elem(bpf_map__fd(map), &key, zeros, BPF_ANY))
		err = -errno;
	free(zeros);
	return err;
}

/* Deletes every entry of a hash map whose key starts with the slot (all our
 * per-target keys do).  Keys are collected first: deleting while walking
 * would restart the walk. */
static int delete_slot_keys(struct bpf_map *map, __u32 slot)
{
	int fd = bpf_map__fd(map);
	size_t key_size = bpf_map__key_size(map), count = 0, capacity = 0, i;
	char *keys = NULL, *previous = NULL, next[64];
	int err = 0;

	if (key_size > sizeof(next) || key_size < sizeof(__u32))
		return -EINVAL;
	while (bpf_map_get_next_key(fd, previous, next) == 0) {
		if (count == capacity) {
			char *grown;

			capacity = capacity ? capacity * 2 : 64;
			grown = realloc(keys, capacity * key_size);
			if (!grown) {
				err = -ENOMEM;
				goto cleanup;
			}
			keys = grown;
		}
		memcpy(keys + count * key_size, next, key_size);
		previous = keys + count * key_size;
		count++;
	}
	for (i = 0; i < count; i++) {
		__u32 target;

		memcpy(&target, keys + i * key_size, sizeof(target));
		if (target == slot)
			bpf_map_delete_elem(fd, keys + i * key_size);
	}
cleanup:
	free(keys);
	return err;
}

static int clear_slot(struct probes *p, __u32 slot)
{
	struct runway_bpf *skel = p->skel;
	int err;

	err = zero_percpu_entry(skel->maps.target_counters, slot);
	if (!err)
		err = zero_percpu_entry(skel->maps.queue_durations, slot);
	if (!err)
		err = delete_slot_keys(skel->maps.requests_by_status, slot);
	if (!err)
		err = delete_slot_keys(skel->maps.request_durations, slot);
	if (!err)
		err = delete_slot_keys(skel->maps.listener_counters, slot);
	if (!err)
		err = delete_slot_keys(skel->maps.route_events, slot);
	return err;
}

int probes_add_ports(struct probes *p, __u32 slot, const unsigned short *ports, size_t port_count)
{
	int fd = bpf_map__fd(p->skel->maps.listener_counters);
	int cpus = libbpf_num_possible_cpus();
	struct listener_counters *zeros;
	size_t i;
	int err = 0;

	if (cpus <= 0)
		return -EINVAL;
	zeros = calloc(cpus, sizeof(*zeros));
	if (!zeros)
		return -ENOMEM;
	for (i = 0; i < port_count; i++) {
		struct listener_key key = { .target = slot, .port = ports[i] };

		/* BPF_NOEXIST: a port already known keeps its counts. */
		if (bpf_map_update_elem(fd, &key, zeros, BPF_NOEXIST) && errno != EEXIST) {
			err = -errno;
			break;
		}
	}
	free(zeros);
	return err;
}

int probes_add_target(struct probes *p, __u32 slot, const char *cgroup_dir, const unsigned short *ports,
		      size_t port_count)
{
	struct probes_target *t;
	int cgroup_fd = -1, err = -1;

	if (slot >= p->max_targets || p->targets[slot].ingress) {
		log_error("internal error: target slot %u is out of range or in use", slot);
		return -1;
	}
	t = &p->targets[slot];
	if (clear_slot(p, slot) || probes_add_ports(p, slot, ports, port_count)) {
		log_error("preparing the maps for cgroup %s failed: %s", cgroup_dir, strerror(errno));
		return -1;
	}
	t->cgroup_id = cgroup_id_of(cgroup_dir);
	cgroup_fd = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroup_fd < 0 || !t->cgroup_id) {
		log_error("cannot open cgroup %s: %s", cgroup_dir, strerror(errno));
		goto cleanup;
	}
	/* Registered before the programs run there, so that no packet of the
	 * target finds its cgroup unknown. */
	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.target_cgroups), &t->cgroup_id, &slot, BPF_ANY)) {
		log_error("registering cgroup %s failed: %s", cgroup_dir, strerror(errno));
		goto cleanup;
	}
	/* Links attach with BPF_F_ALLOW_MULTI semantics: programs others have
	 * on this cgroup (CNI, systemd accounting) keep running beside ours. */
	t->ingress = bpf_program__attach_cgroup(p->open_coded_loops ? p->skel->progs.runway_ingress :
								    p->skel->progs.runway_ingress_loop,
						cgroup_fd);
	if (!t->ingress) {
		log_error("attaching cgroup_skb/ingress to %s failed: %s", cgroup_dir, strerror(errno));
		goto cleanup;
	}
	t->egress = bpf_program__attach_cgroup(p->open_coded_loops ? p->skel->progs.runway_egress :
								   p->skel->progs.runway_egress_loop,
					       cgroup_fd);
	if (!t->egress) {
		log_error("attaching cgroup_skb/egress to %s failed: %s", cgroup_dir, strerror(errno));
		goto cleanup;
	}
	if (log_verbose())
		log_info("attached to cgroup %s (id %llu) as target %u", cgroup_dir,
			 (unsigned long long)t->cgroup_id, slot);
	err = 0;
cleanup:
	if (cgroup_fd >= 0)
		close(cgroup_fd);
	if (err)
		probes_remove_target(p, slot);
	return err;
}

void probes_remove_target(struct probes *p, __u32 slot)
{
	struct probes_target *t;

	if (!p->skel || slot >= p->max_targets)
		return;
	t = &p->targets[slot];
	bpf_link__destroy(t->ingress);
	bpf_link__destroy(t->egress);
	t->ingress = t->egress = NULL;
	if (t->cgroup_id)
		bpf_map_delete_elem(bpf_map__fd(p->skel->maps.target_cgroups), &t->cgroup_id);
	t->cgroup_id = 0;
}

void probes_destroy(struct probes *p)
{
	__u32 slot;

	for (slot = 0; slot < p->max_targets; slot++)
		probes_remove_target(p, slot);
	runway_bpf__destroy(p->skel);
	p->skel = NULL;
}

void probes_maps(const struct probes *p, struct probe_maps *maps)
{
	maps->target_counters = bpf_map__fd(p->skel->maps.target_counters);
	maps->requests_by_status = bpf_map__fd(p->skel->maps.requests_by_status);
	maps->request_durations = bpf_map__fd(p->skel->maps.request_durations);
	maps->queue_durations = bpf_map__fd(p->skel->maps.queue_durations);
	maps->listener_counters = bpf_map__fd(p->skel->maps.listener_counters);
	maps->route_events = bpf_map__fd(p->skel->maps.route_events);
}
