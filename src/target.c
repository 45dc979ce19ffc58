// SPDX-License-Identifier: MIT
/* Resolving --pid and --cgroup into a cgroup directory and ports, from /proc. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "listener_audit.h"
#include "log.h"
#include "target.h"

#define CGROUP2_SUPER_MAGIC 0x63677270
#define TCP_LISTEN_STATE 0x0A
#define MAX_PIDS 4096
#define MAX_SOCKET_INODES 8192

int cgroup2_mount_point(char *buf, size_t size)
{
	char line[4096], device[256], dir[PATH_MAX], fstype[64];
	FILE *mounts = fopen("/proc/mounts", "re");
	int err = -1;

	if (!mounts)
		return -1;
	while (fgets(line, sizeof(line), mounts)) {
		if (sscanf(line, "%255s %4095s %63s", device, dir, fstype) != 3)
			continue;
		if (strcmp(fstype, "cgroup2") == 0 && strlen(dir) < size) {
			strcpy(buf, dir);
			err = 0;
			break;
		}
	}
	fclose(mounts);
	return err;
}

int cgroup_level(const char *dir)
{
	char mount[PATH_MAX];
	size_t length;
	const char *c;
	int level = 0;

	if (cgroup2_mount_point(mount, sizeof(mount)))
		return -1;
	length = strlen(mount);
	while (length > 0 && mount[length - 1] == '/')
		length--;
	if (strncmp(dir, mount, length) != 0 || (dir[length] != '/' && dir[length] != '\0'))
		return -1;
	for (c = dir + length; *c; c++)
		if (*c == '/' && c[1] && c[1] != '/')
			level++;
	return level;
}

bool is_cgroup2_dir(const char *path)
{
	struct statfs fs;
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && statfs(path, &fs) == 0 &&
	       (unsigned long)fs.f_type == CGROUP2_SUPER_MAGIC;
}

static int read_ppid(int pid)
{
	char path[64], buf[512], *close_paren;
	FILE *f;
	int ppid = -1;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: parse after the last ')'. */
	close_paren = strrchr(buf, ')');
	if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

/* pid and all its descendants. */
static size_t process_tree(int root, int *pids, size_t max)
{
	static int all[MAX_PIDS], parents[MAX_PIDS];
	size_t all_count = 0, count = 0, i, j;
	struct dirent *entry;
	DIR *proc = opendir("/proc");

	if (!proc)
		return 0;
	while ((entry = readdir(proc)) && all_count < MAX_PIDS) {
		char *end;
		long pid = strtol(entry->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		all[all_count] = pid;
		parents[all_count] = read_ppid(pid);
		all_count++;
	}
	closedir(proc);
	pids[count++] = root;
	/* Breadth first: each pid added is searched for children in turn. */
	for (i = 0; i < count; i++)
		for (j = 0; j < all_count && count < max; j++)
			if (parents[j] == pids[i] && all[j] != root)
				pids[count++] = all[j];
	return count;
}

size_t socket_inodes_of(int pid, unsigned long *inodes, size_t count, size_t max)
{
	char path[64], link[320], target[64];
	struct dirent *entry;
	DIR *fds;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	fds = opendir(path);
	if (!fds)
		return count;
	while ((entry = readdir(fds)) && count < max) {
		unsigned long inode;
		ssize_t n;

		if (entry->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, entry->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (sscanf(target, "socket:[%lu]", &inode) == 1)
			inodes[count++] = inode;
	}
	closedir(fds);
	return count;
}

static bool contains_inode(const unsigned long *inodes, size_t count, unsigned long inode)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (inodes[i] == inode)
			return true;
	return false;
}

static bool port_in(const unsigned short *ports, size_t count, unsigned short port)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (ports[i] == port)
			return true;
	return false;
}

static size_t add_port(unsigned short *ports, size_t count, size_t max, unsigned short port)
{
	if (!port_in(ports, count, port) && count < max)
		ports[count++] = port;
	return count;
}

/* Listening sockets in /proc/PID/net/tcp{,6} owned by one of `inodes`. */
static size_t listening_ports_in_netns(int netns_pid, const unsigned long *inodes, size_t inode_count,
				       unsigned short *ports, size_t count, size_t max)
{
	static const char *const tables[] = { "tcp", "tcp6" };
	char path[64], line[512];
	size_t t;

	for (t = 0; t < 2; t++) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/net/%s", netns_pid, tables[t]);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned int port, state;
			unsigned long inode;
			char local[64];

			/* sl local rem st tx:rx tr:tm retrnsmt uid timeout inode */
			if (sscanf(line, " %*s %63s %*s %x %*s %*s %*s %*s %*s %lu", local, &state, &inode) != 3)
				continue;
			if (state != TCP_LISTEN_STATE || !contains_inode(inodes, inode_count, inode))
				continue;
			if (sscanf(strchr(local, ':') ? strchr(local, ':') + 1 : "", "%x", &port) == 1)
				count = add_port(ports, count, max, port);
		}
		fclose(f);
	}
	return count;
}

size_t listening_ports_of_process_tree(int pid, unsigned short *ports, size_t max)
{
	static unsigned long inodes[MAX_SOCKET_INODES];
	static int pids[MAX_PIDS];
	size_t pid_count, inode_count = 0, i;

	pid_count = process_tree(pid, pids, MAX_PIDS);
	for (i = 0; i < pid_count; i++)
		inode_count = socket_inodes_of(pids[i], inodes, inode_count, MAX_SOCKET_INODES);
	return listening_ports_in_netns(pid, inodes, inode_count, ports, 0, max);
}

static size_t cgroup_pids(const char *dir, int *pids, size_t count, size_t max, int depth)
{
	char path[PATH_MAX];
	struct dirent *entry;
	FILE *procs;
	DIR *d;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	procs = fopen(path, "re");
	if (procs) {
		while (count < max && fscanf(procs, "%d", &pid) == 1)
			pids[count++] = pid;
		fclose(procs);
	}
	if (depth > 16 || !(d = opendir(dir)))
		return count;
	while ((entry = readdir(d)) && count < max) {
		if (entry->d_type != DT_DIR || entry->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name) >= sizeof(path))
			continue;
		count = cgroup_pids(path, pids, count, max, depth + 1);
	}
	closedir(d);
	return count;
}

size_t cgroup_tree_pids(const char *dir, int *pids, size_t count, size_t max)
{
	return cgroup_pids(dir, pids, count, max, 0);
}

size_t socket_inodes_of_cgroup(const char *dir, unsigned long *inodes, size_t max)
{
	static int pids[MAX_PIDS];
	size_t pid_count, count = 0, i;

	pid_count = cgroup_pids(dir, pids, 0, MAX_PIDS, 0);
	for (i = 0; i < pid_count; i++)
		count = socket_inodes_of(pids[i], inodes, count, max);
	return count;
}

size_t listening_ports_of_cgroup(const char *dir, unsigned short *ports, size_t max, int *netns_pid)
{
	static unsigned long inodes[MAX_SOCKET_INODES];
	static int pids[MAX_PIDS];
	size_t pid_count, inode_count = 0, i;

	pid_count = cgroup_pids(dir, pids, 0, MAX_PIDS, 0);
	*netns_pid = pid_count ? pids[0] : 0;
	for (i = 0; i < pid_count; i++)
		inode_count = socket_inodes_of(pids[i], inodes, inode_count, MAX_SOCKET_INODES);
	if (!pid_count)
		return 0;
	return listening_ports_in_netns(pids[0], inodes, inode_count, ports, 0, max);
}

size_t target_pids(const struct target *t, int *pids, size_t max)
{
	if (t->root_pid)
		return process_tree(t->root_pid, pids, max);
	return cgroup_pids(t->cgroup_dir, pids, 0, max, 0);
}

/* The cgroup v2 directory of a process, from the "0::" line of /proc/PID/cgroup. */
static int cgroup_of_pid(int pid, char *dir, size_t size)
{
	char path[64], line[PATH_MAX + 8], mount[PATH_MAX];
	int err = -1;
	FILE *f;

	if (cgroup2_mount_point(mount, sizeof(mount))) {
		log_error("no cgroup v2 hierarchy is mounted (see /proc/mounts): mount one, e.g. "
			  "mount -t cgroup2 none /sys/fs/cgroup/unified");
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f) {
		log_error("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		/* The root cgroup is "/": its directory is the mount itself. */
		if ((size_t)snprintf(dir, size, "%s%s", mount, strcmp(line + 3, "/") ? line + 3 : "") < size)
			err = 0;
		break;
	}
	fclose(f);
	if (err)
		log_error("pid %d has no cgroup v2 membership in %s: run the server under a cgroup v2 "
			  "hierarchy or use --cgroup",
			  pid, path);
	return err;
}

/* A server without a TCP listener is either not started yet or serving on a
 * unix socket, which we cannot watch: say which. */
static void report_no_tcp_listener(const struct target *t)
{
	static unsigned long inodes[MAX_SOCKET_INODES];
	static int pids[MAX_PIDS];
	size_t pid_count, inode_count = 0, i;
	char unix_path[PATH_MAX];

	pid_count = target_pids(t, pids, MAX_PIDS);
	for (i = 0; i < pid_count; i++)
		inode_count = socket_inodes_of(pids[i], inodes, inode_count, MAX_SOCKET_INODES);
	if (listener_audit_unix_listeners(t->root_pid, inodes, inode_count, unix_path, sizeof(unix_path)))
		log_error("pid %d listens on unix socket %s only, which runway-bpfd cannot watch: it counts "
			  "TCP connections (its programs see the IP packets of a cgroup; a unix socket has "
			  "none); serve on a TCP port instead (uvicorn --port, not --uds)",
			  t->root_pid, unix_path);
	else
		log_error("pid %d has no listening TCP socket: start the server first, and pass the pid of "
			  "the process that listens (uvicorn's master)",
			  t->root_pid);
}

static int resolve_pid(const struct runway_options *opts, struct target *t)
{
	unsigned short listening[TARGET_MAX_PORTS];
	size_t count, i;
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/%d", opts->pid);
	if (access(proc, F_OK) != 0) {
		log_error("no such process: pid %d; pass the pid of the running server, e.g. --pid $(pgrep -of uvicorn)",
			  opts->pid);
		return -1;
	}
	if (cgroup_of_pid(opts->pid, t->cgroup_dir, sizeof(t->cgroup_dir)))
		return -1;
	t->netns_pid = opts->pid;
	t->root_pid = opts->pid;
	count = listening_ports_of_process_tree(opts->pid, listening, TARGET_MAX_PORTS);
	if (count == 0) {
		report_no_tcp_listener(t);
		return -1;
	}
	if (opts->port_count == 0) {
		memcpy(t->ports, listening, count * sizeof(listening[0]));
		t->port_count = count;
		return 0;
	}
	for (i = 0; i < opts->port_count; i++) {
		if (!port_in(listening, count, opts->ports[i])) {
			log_error("pid %d does not listen on TCP port %u: drop --port %u or name a port it listens on",
				  opts->pid, opts->ports[i], opts->ports[i]);
			return -1;
		}
		t->ports[t->port_count++] = opts->ports[i];
	}
	return 0;
}

static int resolve_cgroup(const struct runway_options *opts, struct target *t)
{
	char mount[PATH_MAX], joined[PATH_MAX + 1];
	unsigned short listening[TARGET_MAX_PORTS];
	const char *dir = opts->cgroup_path;

	if (!is_cgroup2_dir(dir)) {
		/* Also accept a path relative to the cgroup v2 mount, as in /proc/PID/cgroup. */
		if (cgroup2_mount_point(mount, sizeof(mount)) == 0 &&
		    (size_t)snprintf(joined, sizeof(joined), "%s/%s", mount, dir) < sizeof(joined) &&
		    is_cgroup2_dir(joined)) {
			dir = joined;
		} else {
			log_error("--cgroup %s is not a cgroup v2 directory: give a directory under the cgroup2 "
				  "mount (see /proc/mounts), e.g. the pod's directory",
				  opts->cgroup_path);
			return -1;
		}
	}
	if (!realpath(dir, t->cgroup_dir)) {
		log_error("--cgroup %s: %s", dir, strerror(errno));
		return -1;
	}
	listening_ports_of_cgroup(t->cgroup_dir, listening, TARGET_MAX_PORTS, &t->netns_pid);
	t->all_ports = opts->port_count == 0;
	t->port_count = opts->port_count;
	memcpy(t->ports, opts->ports, opts->port_count * sizeof(opts->ports[0]));
	return 0;
}

/* The root cgroup holds every process of the node: our programs there would
 * see every packet.  That is never what an empty --cgroup or a server started
 * outside any cgroup of its own was meant to do, so it takes a flag. */
static int refuse_root_cgroup(const struct runway_options *opts, const struct target *t)
{
	char mount[PATH_MAX];

	if (opts->allow_root_cgroup || cgroup2_mount_point(mount, sizeof(mount)) ||
	    strcmp(t->cgroup_dir, mount) != 0)
		return 0;
	if (opts->pid)
		log_error("pid %d is in the root cgroup: watching it would run runway-bpfd's programs for "
			  "every packet on the node; run the server in a cgroup of its own (a pod, or "
			  "systemd-run --scope), or pass --allow-root-cgroup if you mean it",
			  opts->pid);
	else
		log_error("--cgroup '%s' is the root cgroup %s%s: every packet on the node would run "
			  "runway-bpfd's programs; give the pod's cgroup, or pass --allow-root-cgroup if you "
			  "mean it",
			  opts->cgroup_path, mount, opts->cgroup_path[0] ? "" : " (an unset variable?)");
	return -1;
}

int target_resolve(const struct runway_options *opts, struct target *t)
{
	int err;

	memset(t, 0, sizeof(*t));
	err = opts->pid ? resolve_pid(opts, t) : resolve_cgroup(opts, t);
	if (!err)
		err = refuse_root_cgroup(opts, t);
	return err;
}
