// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "probes.h"
#include "runway.skel.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* The verifier log comes at debug level; show it with -v only. */
	if (level == LIBBPF_DEBUG && !log_verbose())
		return 0;
	if (level == LIBBPF_INFO && !log_verbose())
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

int probes_load_shared(struct probes *p, const struct kernel_features *f)
{
	int err;

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < RUNWAY_MAX_TARGETS; i++)
		p->cgroup_fds[i] = -1;
	libbpf_set_print(libbpf_print);
	p->read_hook = f->read_hook;
	p->shared = runway_bpf__open();
	if (!p->shared) {
		log_error("opening the BPF object failed: %s", strerror(errno));
		return -1;
	}
	p->shared->rodata->read_hook_enabled = f->read_hook;
	bpf_program__set_autoload(p->shared->progs.runway_ingress, false);
	bpf_program__set_autoload(p->shared->progs.runway_egress, false);
	bpf_program__set_autoload(p->shared->progs.runway_tcp_read, f->tcp_read_hook);
	bpf_program__set_autoload(p->shared->progs.runway_recv, !f->tcp_read_hook && f->recv_hook);
	err = runway_bpf__load(p->shared);
	if (err) {
		report_load_failure(p->shared, err);
		return -1;
	}
	if (f->tcp_read_hook) {
		p->shared->links.runway_tcp_read = bpf_program__attach(p->shared->progs.runway_tcp_read);
		if (!p->shared->links.runway_tcp_read) {
			log_error("attaching tp_btf/tcp_rcv_space_adjust failed: %s", strerror(errno));
			return -1;
		}
	} else if (f->recv_hook) {
		p->shared->links.runway_recv = bpf_program__attach(p->shared->progs.runway_recv);
		if (!p->shared->links.runway_recv) {
			log_error("attaching tp_btf/sock_recv_length failed: %s", strerror(errno));
			return -1;
		}
	}
	p->shared->links.runway_state = bpf_program__attach(p->shared->progs.runway_state);
	if (!p->shared->links.runway_state) {
		log_error("attaching tp_btf/inet_sock_set_state failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Point every shared map of a target's copy at the shared copy's map. */
static int reuse_shared_maps(struct runway_bpf *skel, struct runway_bpf *shared)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, skel->obj) {
		struct bpf_map *owner;
		int err;

		if (bpf_map__is_internal(map))
			continue;
		owner = bpf_object__find_map_by_name(shared->obj, bpf_map__name(map));
		if (!owner)
			return -ENOENT;
		err = bpf_map__reuse_fd(map, bpf_map__fd(owner));
		if (err)
			return err;
	}
	return 0;
}

static int fill_target_maps(struct probes *p, __u32 slot, const struct target *t,
			    const struct runway_options *opts)
{
	int ports_fd = bpf_map__fd(p->shared->maps.watched_ports);
	int excluded_fd = bpf_map__fd(p->shared->maps.excluded_paths);
	__u8 present = 1;
	size_t i;

	for (i = 0; i < t->port_count; i++) {
		__u32 index = slot * RUNWAY_PORT_WORDS + t->ports[i] / 64;
		__u64 word = 0;

		bpf_map_lookup_elem(ports_fd, &index, &word);
		word |= 1ULL << (t->ports[i] % 64);
		if (bpf_map_update_elem(ports_fd, &index, &word, BPF_ANY))
			return -errno;
	}
	for (i = 0; i < opts->excluded_path_count; i++) {
		struct excluded_path_key key = {
			.target = slot,
			.path_hash = http_path_hash(opts->excluded_paths[i], RUNWAY_REQUEST_LINE_MAX),
		};

		if (bpf_map_update_elem(excluded_fd, &key, &present, BPF_ANY))
			return -errno;
	}
	return 0;
}

int probes_attach_target(struct probes *p, __u32 slot, const struct target *t,
			 const struct runway_options *opts)
{
	struct runway_bpf *skel;
	int err, cgroup_fd;

	err = fill_target_maps(p, slot, t, opts);
	if (err) {
		log_error("filling the target's maps failed: %s", strerror(-err));
		return -1;
	}
	cgroup_fd = open(t->cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroup_fd < 0) {
		log_error("cannot open cgroup %s: %s", t->cgroup_dir, strerror(errno));
		return -1;
	}
	p->cgroup_fds[slot] = cgroup_fd;
	skel = runway_bpf__open();
	if (!skel) {
		log_error("opening the BPF object failed: %s", strerror(errno));
		return -1;
	}
	p->targets[slot] = skel;
	skel->rodata->target_slot = slot;
	skel->rodata->watch_all_ports = t->all_ports;
	skel->rodata->read_hook_enabled = p->read_hook;
	for (size_t i = 0; i < opts->excluded_path_count; i++)
		skel->rodata->excluded_hash_bits |=
			1ULL << (http_path_hash(opts->excluded_paths[i], RUNWAY_REQUEST_LINE_MAX) & 63);
	bpf_program__set_autoload(skel->progs.runway_tcp_read, false);
	bpf_program__set_autoload(skel->progs.runway_recv, false);
	bpf_program__set_autoload(skel->progs.runway_state, false);
	err = reuse_shared_maps(skel, p->shared);
	if (err) {
		log_error("sharing maps between BPF objects failed: %s", strerror(-err));
		return -1;
	}
	err = runway_bpf__load(skel);
	if (err) {
		report_load_failure(skel, err);
		return -1;
	}
	/* Links attach with BPF_F_ALLOW_MULTI semantics: programs others have
	 * on this cgroup (CNI, systemd accounting) keep running beside ours. */
	skel->links.runway_ingress = bpf_program__attach_cgroup(skel->progs.runway_ingress, cgroup_fd);
	if (!skel->links.runway_ingress) {
		log_error("attaching cgroup_skb/ingress to %s failed: %s", t->cgroup_dir, strerror(errno));
		return -1;
	}
	skel->links.runway_egress = bpf_program__attach_cgroup(skel->progs.runway_egress, cgroup_fd);
	if (!skel->links.runway_egress) {
		log_error("attaching cgroup_skb/egress to %s failed: %s", t->cgroup_dir, strerror(errno));
		return -1;
	}
	if (log_verbose())
		log_info("attached to cgroup %s (%s)", t->cgroup_dir, t->all_ports ? "all ports" : "listed ports");
	return 0;
}

void probes_destroy(struct probes *p)
{
	size_t i;

	for (i = 0; i < RUNWAY_MAX_TARGETS; i++) {
		if (p->targets[i])
			runway_bpf__destroy(p->targets[i]);
		if (p->cgroup_fds[i] >= 0)
			close(p->cgroup_fds[i]);
		p->targets[i] = NULL;
		p->cgroup_fds[i] = -1;
	}
	runway_bpf__destroy(p->shared);
	p->shared = NULL;
}

void probes_maps(const struct probes *p, struct probe_maps *maps)
{
	maps->target_counters = bpf_map__fd(p->shared->maps.target_counters);
	maps->requests_by_status = bpf_map__fd(p->shared->maps.requests_by_status);
	maps->request_durations = bpf_map__fd(p->shared->maps.request_durations);
	maps->queue_durations = bpf_map__fd(p->shared->maps.queue_durations);
	maps->listener_counters = bpf_map__fd(p->shared->maps.listener_counters);
}
