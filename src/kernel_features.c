// SPDX-License-Identifier: MIT
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kernel_features.h"
#include "log.h"
#include "target.h"

#define VMLINUX_BTF_PATH "/sys/kernel/btf/vmlinux"
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_capability(const struct __user_cap_data_struct *data, int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON on any kernel;
 * CAP_NET_ADMIN attaches cgroup programs; CAP_SYS_PTRACE reads other users'
 * /proc/PID/fd to find the listening sockets. */
static void probe_privileges(struct kernel_features *f)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	bool admin;

	f->missing_capabilities[0] = '\0';
	if (syscall(SYS_capget, &header, data)) {
		snprintf(f->missing_capabilities, sizeof(f->missing_capabilities), "(capget failed)");
		return;
	}
	admin = has_capability(data, CAP_SYS_ADMIN);
	if (!admin && !has_capability(data, CAP_BPF))
		strcat(f->missing_capabilities, " CAP_BPF");
	if (!admin && !has_capability(data, CAP_PERFMON))
		strcat(f->missing_capabilities, " CAP_PERFMON");
	if (!has_capability(data, CAP_NET_ADMIN))
		strcat(f->missing_capabilities, " CAP_NET_ADMIN");
	if (!has_capability(data, CAP_SYS_PTRACE))
		strcat(f->missing_capabilities, " CAP_SYS_PTRACE");
	f->privileged = f->missing_capabilities[0] == '\0';
}

/*
 * Whether a name is among the kernel's BTF strings: a kfunc's name, or a
 * tracepoint's typedef btf_trace_NAME.  The names sit NUL-terminated in
 * BTF's string section, so a streaming search for "\0NAME\0" answers
 * without parsing 5 MB of BTF: parsing it here was the daemon's peak memory.
 */
static bool btf_has_name(const char *btf_path, const char *name)
{
	char needle[128], buf[65536];
	size_t needle_len, kept = 0;
	bool found = false;
	FILE *f;

	needle_len = (size_t)snprintf(needle + 1, sizeof(needle) - 2, "%s", name) + 2;
	needle[0] = '\0';
	needle[needle_len - 1] = '\0';
	f = fopen(btf_path, "re");
	if (!f)
		return false;
	for (;;) {
		size_t n = fread(buf + kept, 1, sizeof(buf) - kept, f);

		if (n == 0)
			break;
		n += kept;
		if (memmem(buf, n, needle, needle_len)) {
			found = true;
			break;
		}
		/* Keep the tail: the needle may straddle two reads. */
		kept = needle_len - 1 < n ? needle_len - 1 : n;
		memmove(buf, buf + n - kept, kept);
	}
	fclose(f);
	return found;
}

static bool btf_has_tracepoint(const char *btf_path, const char *name)
{
	char typedef_name[96];

	snprintf(typedef_name, sizeof(typedef_name), "btf_trace_%s", name);
	return btf_has_name(btf_path, typedef_name);
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

void kernel_features_probe(struct kernel_features *f)
{
	libbpf_print_fn_t previous = libbpf_set_print(silent_print);

	memset(f, 0, sizeof(*f));
	f->btf = access(VMLINUX_BTF_PATH, R_OK) == 0;
	f->cgroup2 = cgroup2_mount_point(f->cgroup2_mount, sizeof(f->cgroup2_mount)) == 0;
	probe_privileges(f);
	f->kprobes = access("/sys/bus/event_source/devices/kprobe", F_OK) == 0;
	if (f->privileged) {
		f->bpf_programs = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SKB, NULL) > 0;
		f->sk_storage = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SK_STORAGE, NULL) > 0;
		f->bpf_loop = libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_loop, NULL) > 0;
	}
	f->tcp_read_hook = f->btf && btf_has_tracepoint(VMLINUX_BTF_PATH, "tcp_rcv_space_adjust");
	f->recv_hook = f->btf && btf_has_tracepoint(VMLINUX_BTF_PATH, "sock_recv_length");
	f->read_hook = f->tcp_read_hook || f->recv_hook;
	f->state_hook = f->btf && btf_has_tracepoint(VMLINUX_BTF_PATH, "inet_sock_set_state");
	f->open_coded_loops = f->btf && btf_has_name(VMLINUX_BTF_PATH, "bpf_iter_num_new") &&
			      btf_has_name(VMLINUX_BTF_PATH, "bpf_iter_num_next");
	libbpf_set_print(previous);
}

const char *kernel_features_blocker(const struct kernel_features *f)
{
	static char message[256];

	if (!f->privileged) {
		snprintf(message, sizeof(message),
			 "missing privileges:%s; run as root or grant these capabilities "
			 "(securityContext.capabilities.add in the DaemonSet)",
			 f->missing_capabilities);
		return message;
	}
	if (!f->btf)
		return "this kernel has no BTF (" VMLINUX_BTF_PATH "): use a kernel built with "
		       "CONFIG_DEBUG_INFO_BTF=y";
	if (!f->cgroup2)
		return "no cgroup v2 hierarchy is mounted (see /proc/mounts): mount one, e.g. "
		       "mount -t cgroup2 none /sys/fs/cgroup/unified";
	if (!f->bpf_programs)
		return "this kernel refuses to load BPF programs (check kernel.unprivileged_bpf_disabled, "
		       "lockdown and seccomp): runway-bpfd needs BPF";
	if (!f->sk_storage)
		return "this kernel has no socket-local storage maps (BPF_MAP_TYPE_SK_STORAGE, 5.2+)";
	if (!f->bpf_loop && !f->open_coded_loops)
		return "this kernel has neither bpf_loop() (5.17+) nor open-coded iterators (6.4+): runway-bpfd "
		       "needs one of them to parse HTTP";
	if (!f->state_hook)
		return "this kernel has no sock:inet_sock_set_state tracepoint in its BTF (4.16+)";
	return NULL;
}

void kernel_features_drop_read_hooks(struct kernel_features *f)
{
	f->read_hook = f->tcp_read_hook = f->recv_hook = false;
}

int kernel_features_choose_loops(struct kernel_features *f, const char *mode)
{
	if (!mode || strcmp(mode, "auto") == 0)
		return 0;
	if (strcmp(mode, "bpf_loop") == 0) {
		if (!f->bpf_loop) {
			log_error("--loops bpf_loop: this kernel has no bpf_loop() helper (5.17+); use --loops auto");
			return -1;
		}
		f->open_coded_loops = false;
		return 0;
	}
	if (strcmp(mode, "open-coded") == 0) {
		if (!f->open_coded_loops) {
			log_error("--loops open-coded: this kernel has no open-coded iterators (bpf_iter_num_*, 6.4+); "
				  "use --loops auto");
			return -1;
		}
		return 0;
	}
	log_error("--loops %s: expected auto, open-coded or bpf_loop", mode);
	return -1;
}

const char *kernel_features_hooks(const struct kernel_features *f)
{
	static char hooks[256];
	const char *read = f->tcp_read_hook ? "tp_btf/tcp_rcv_space_adjust," :
			   f->recv_hook	    ? "tp_btf/sock_recv_length," :
						      "";

	snprintf(hooks, sizeof(hooks), "cgroup_skb/ingress,cgroup_skb/egress,%stp_btf/inet_sock_set_state,loops=%s",
		 read, f->open_coded_loops ? "open-coded" : "bpf_loop");
	return hooks;
}

static const char *yes_no(bool value)
{
	return value ? "yes" : "no";
}

void kernel_features_report(const struct kernel_features *f, FILE *out)
{
	struct utsname uts;

	if (uname(&uts) == 0)
		fprintf(out, "kernel: %s %s %s\n", uts.sysname, uts.release, uts.machine);
	fprintf(out, "privileges (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_PTRACE): %s%s%s\n",
		yes_no(f->privileged), f->privileged ? "" : ", missing:", f->missing_capabilities);
	fprintf(out, "kernel BTF (%s): %s\n", VMLINUX_BTF_PATH, yes_no(f->btf));
	fprintf(out, "cgroup v2: %s%s%s\n", yes_no(f->cgroup2), f->cgroup2 ? " at " : "",
		f->cgroup2 ? f->cgroup2_mount : "");
	fprintf(out, "BPF programs (cgroup_skb): %s\n", yes_no(f->bpf_programs));
	fprintf(out, "socket-local storage: %s\n", yes_no(f->sk_storage));
	fprintf(out, "bpf_loop helper: %s\n", yes_no(f->bpf_loop));
	fprintf(out, "open-coded iterators (bpf_iter_num_*): %s%s\n", yes_no(f->open_coded_loops),
		f->open_coded_loops ? " (used: no indirect call per framing step)" :
				      " (bpf_loop is used: one indirect call per framing step)");
	fprintf(out, "tracepoint sock:inet_sock_set_state (tp_btf): %s\n", yes_no(f->state_hook));
	fprintf(out, "tracepoint tcp:tcp_rcv_space_adjust (tp_btf): %s\n", yes_no(f->tcp_read_hook));
	fprintf(out, "tracepoint sock:sock_recv_length (tp_btf): %s%s\n", yes_no(f->recv_hook),
		f->tcp_read_hook ? " (not needed: the TCP-only hook above is cheaper for the node)" : "");
	if (!f->read_hook)
		fprintf(out, "  -> no hook sees the server's reads: runway_requests_queued, its integral and "
			     "runway_request_queue_seconds are not exported; requests count as in flight "
			     "from their arrival\n");
	fprintf(out, "kprobes: %s (not used: tracepoints and cgroup programs are enough)\n",
		yes_no(f->kprobes));
	fprintf(out, "hooks: %s\n", kernel_features_hooks(f));
}
