// SPDX-License-Identifier: MIT
/* Finding the target's listeners that runway-bpfd cannot watch (see the header). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "listener_audit.h"
#include "log.h"

#define MAX_PIDS 4096
#define MAX_SOCKET_INODES 8192
#define MAX_TARGET_CGROUPS 1024
#define TCP_LISTEN_STATE 10
/* /proc/net/unix: __SO_ACCEPTCON in Flags marks a listening socket. */
#define UNIX_FLAG_LISTENING 0x10000
#define UNIX_TYPE_STREAM 1
#define UNIX_TYPE_SEQPACKET 5

const char *const unwatchable_reason_names[UNWATCHABLE_REASON_COUNT] = {
	[UNWATCHABLE_UNIX_SOCKET] = "unix_socket",
	[UNWATCHABLE_OTHER_CGROUP] = "other_cgroup",
};

void listener_audit_init(struct listener_audit *a)
{
	memset(a, 0, sizeof(*a));
	a->netns.netstat_fd = -1;
	a->netns.sock_diag_fd = -1;
}

void listener_audit_close(struct listener_audit *a)
{
	netns_close(&a->netns);
}

static bool contains(const unsigned long *values, size_t count, unsigned long value)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (values[i] == value)
			return true;
	return false;
}

/* True the first time an inode is passed: each finding is logged once. */
static bool first_report(struct listener_audit *a, unsigned long inode)
{
	if (contains(a->reported, a->reported_count, inode))
		return false;
	if (a->reported_count < LISTENER_AUDIT_MAX_REPORTED)
		a->reported[a->reported_count++] = inode;
	return true;
}

/* Calls found(path, inode) for each listening unix stream socket of pid's
 * network namespace that is among `inodes`; returns how many there were. */
static size_t for_each_unix_listener(int pid, const unsigned long *inodes, size_t inode_count,
				     void (*found)(void *ctx, const char *path, unsigned long inode), void *ctx)
{
	char file[64], line[PATH_MAX + 128];
	size_t count = 0;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/net/unix", pid);
	f = fopen(file, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned int flags, type, state;
		unsigned long inode;
		char path[PATH_MAX] = "";

		/* Num RefCount Protocol Flags Type St Inode [Path] */
		if (sscanf(line, "%*s %*x %*x %x %x %x %lu %4095s", &flags, &type, &state, &inode, path) < 4)
			continue;
		if (!(flags & UNIX_FLAG_LISTENING) || (type != UNIX_TYPE_STREAM && type != UNIX_TYPE_SEQPACKET))
			continue;
		if (!contains(inodes, inode_count, inode))
			continue;
		count++;
		if (found)
			found(ctx, path[0] ? path : "(unnamed)", inode);
	}
	fclose(f);
	return count;
}

struct first_path {
	char *path;
	size_t size;
	bool found;
};

static void keep_first_path(void *ctx, const char *path, unsigned long inode)
{
	struct first_path *first = ctx;

	(void)inode;
	if (!first->found)
		snprintf(first->path, first->size, "%s", path);
	first->found = true;
}

size_t listener_audit_unix_listeners(int pid, const unsigned long *inodes, size_t inode_count, char *path,
				     size_t size)
{
	struct first_path first = { .path = path, .size = size };

	return for_each_unix_listener(pid, inodes, inode_count, keep_first_path, &first);
}

static void report_unix_listener(void *ctx, const char *path, unsigned long inode)
{
	struct listener_audit *a = ctx;

	if (first_report(a, inode))
		log_info("warning: the target listens on unix socket %s: requests on it are not counted "
			 "(runway-bpfd sees TCP only: its programs hook the cgroup's IP packets, and a unix "
			 "socket has none); serve HTTP on a TCP port to have them measured",
			 path);
}

/* A cgroup v2 directory's inode number is its cgroup id (kernfs). */
static size_t cgroup_ids_under(const char *dir, unsigned long *ids, size_t count, size_t max, int depth)
{
	char path[PATH_MAX];
	struct dirent *entry;
	struct stat st;
	DIR *d;

	if (count >= max || stat(dir, &st))
		return count;
	ids[count++] = st.st_ino;
	if (depth > 16 || !(d = opendir(dir)))
		return count;
	while ((entry = readdir(d)) && count < max) {
		if (entry->d_type != DT_DIR || entry->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name) >= sizeof(path))
			continue;
		count = cgroup_ids_under(path, ids, count, max, depth + 1);
	}
	closedir(d);
	return count;
}

/* The directory of cgroup `id` under `dir`, searched depth first. */
static bool cgroup_path_of_id(const char *dir, unsigned long id, char *out, size_t size, int depth)
{
	char path[PATH_MAX];
	struct dirent *entry;
	struct stat st;
	bool found = false;
	DIR *d;

	if (stat(dir, &st))
		return false;
	if (st.st_ino == id) {
		snprintf(out, size, "%s", dir);
		return true;
	}
	if (depth > 32 || !(d = opendir(dir)))
		return false;
	while (!found && (entry = readdir(d))) {
		if (entry->d_type != DT_DIR || entry->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name) >= sizeof(path))
			continue;
		found = cgroup_path_of_id(path, id, out, size, depth + 1);
	}
	closedir(d);
	return found;
}

static unsigned audit_tcp_listeners(struct listener_audit *a, const struct target *t, const unsigned long *inodes,
				    size_t inode_count)
{
	static struct netns_listener listeners[MAX_SOCKET_INODES];
	static unsigned long target_ids[MAX_TARGET_CGROUPS];
	size_t id_count, i;
	char mount[PATH_MAX], other[PATH_MAX];
	unsigned found = 0;
	int listener_count;

	listener_count = netns_list_listeners(&a->netns, listeners, MAX_SOCKET_INODES);
	if (listener_count <= 0)
		return 0;
	id_count = cgroup_ids_under(t->cgroup_dir, target_ids, 0, MAX_TARGET_CGROUPS, 0);
	for (i = 0; i < (size_t)listener_count; i++) {
		const struct netns_listener *l = &listeners[i];

		/* Without the kernel's cgroup id there is nothing to compare. */
		if (!l->cgroup_id || !contains(inodes, inode_count, l->inode) ||
		    contains(target_ids, id_count, l->cgroup_id))
			continue;
		found++;
		if (!first_report(a, l->inode))
			continue;
		if (cgroup2_mount_point(mount, sizeof(mount)) ||
		    !cgroup_path_of_id(mount, l->cgroup_id, other, sizeof(other), 0))
			snprintf(other, sizeof(other), "with id %lu (no longer in the hierarchy)", (unsigned long)l->cgroup_id);
		log_info("warning: the target's listening socket on TCP port %u was created in cgroup %s, "
			 "outside the watched %s: its connections belong to that cgroup and are not counted "
			 "(socket activation, uvicorn --fd); watch that cgroup instead: --cgroup %s",
			 l->port, other, t->cgroup_dir, other);
	}
	return found;
}

void listener_audit_run(struct listener_audit *a, const struct target *t)
{
	static unsigned long inodes[MAX_SOCKET_INODES];
	static int pids[MAX_PIDS];
	size_t pid_count, inode_count = 0, i;

	memset(a->counts, 0, sizeof(a->counts));
	pid_count = target_pids(t, pids, MAX_PIDS);
	if (!pid_count)
		return;
	for (i = 0; i < pid_count; i++)
		inode_count = socket_inodes_of(pids[i], inodes, inode_count, MAX_SOCKET_INODES);
	/* The namespace is the pod's: opened once, from whichever process is
	 * there first (the socket keeps the namespace). */
	if (a->netns.sock_diag_fd < 0) {
		if (netns_open(&a->netns, pids[0]) == 0)
			a->netns_pid = pids[0];
		else
			netns_close(&a->netns); /* tried again next time */
	}
	a->counts[UNWATCHABLE_UNIX_SOCKET] = for_each_unix_listener(pids[0], inodes, inode_count,
								   report_unix_listener, a);
	a->counts[UNWATCHABLE_OTHER_CGROUP] = audit_tcp_listeners(a, t, inodes, inode_count);
}
