/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_KERNEL_FEATURES_H
#define RUNWAY_KERNEL_FEATURES_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

/* What this kernel and this process can do, probed at run time: BTF and BPF
 * probes, never kernel version numbers (distributions backport). */
struct kernel_features {
	bool btf;
	bool cgroup2;
	char cgroup2_mount[PATH_MAX];
	bool privileged;
	char missing_capabilities[128];
	bool bpf_programs;     /* a trivial cgroup_skb program loads */
	bool sk_storage;       /* socket-local storage maps */
	bool bpf_loop;         /* the bpf_loop() helper (5.17) */
	bool open_coded_loops; /* bpf_iter_num_* kfuncs (6.4): loops without indirect calls */
	bool read_hook;        /* one of the two below: the server's reads are seen */
	bool tcp_read_hook;    /* tracepoint tcp:tcp_rcv_space_adjust (4.16), TCP only */
	bool recv_hook;        /* tracepoint sock:sock_recv_length (6.3), every socket */
	bool state_hook;       /* tracepoint sock:inet_sock_set_state (4.16) */
	bool kprobes;          /* informational: not used on this path */
};

void kernel_features_probe(struct kernel_features *f);

/* NULL when runway-bpfd can run; else the one-line reason with its fix. */
const char *kernel_features_blocker(const struct kernel_features *f);

/* --no-read-hook: behave as on a kernel without them. */
void kernel_features_drop_read_hooks(struct kernel_features *f);

/* --loops: "auto" keeps what the kernel offers; "bpf_loop" forces the
 * helper; "open-coded" insists on iterators.  Returns -1 (with the message
 * printed) when the kernel cannot do what is asked. */
int kernel_features_choose_loops(struct kernel_features *f, const char *mode);

/* The hooks runway-bpfd attaches on this kernel, comma-separated. */
const char *kernel_features_hooks(const struct kernel_features *f);

/* The --check report. */
void kernel_features_report(const struct kernel_features *f, FILE *out);

#endif
