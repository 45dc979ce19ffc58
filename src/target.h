/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_TARGET_H
#define RUNWAY_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "options.h"

#define TARGET_MAX_PORTS 64

/* What one watched server (--pid) or pod (--cgroup) resolves to. */
struct target {
	char cgroup_dir[PATH_MAX]; /* a cgroup v2 directory */
	int netns_pid;             /* a process in the target's network namespace */
	int root_pid;              /* --pid: the server's pid; 0 for --cgroup */
	bool all_ports;            /* every accepted TCP connection of the cgroup */
	unsigned short ports[TARGET_MAX_PORTS];
	size_t port_count;
};

/* Fills *t from the options.  On failure prints one line naming the problem
 * and the fix and returns -1 (exit code 2). */
int target_resolve(const struct runway_options *opts, struct target *t);

/* Whether `path` is a directory of a cgroup v2 hierarchy. */
bool is_cgroup2_dir(const char *path);

/* Where the cgroup v2 hierarchy is mounted, from /proc/mounts. */
int cgroup2_mount_point(char *buf, size_t size);

/* Depth of a cgroup directory below the cgroup v2 mount (the root is 0),
 * as the kernel counts cgroup levels; -1 if it is not under the mount. */
int cgroup_level(const char *dir);

/* TCP ports on which `pid` or one of its descendants has a listening socket,
 * in the network namespace of `pid`.  Returns the count (capped at max). */
size_t listening_ports_of_process_tree(int pid, unsigned short *ports, size_t max);

/* Appends the pids of a cgroup directory and its descendants to
 * pids[count..max); returns the new count. */
size_t cgroup_tree_pids(const char *dir, int *pids, size_t count, size_t max);

/* Inodes of the sockets every process of a cgroup directory and its
 * children holds open. */
size_t socket_inodes_of_cgroup(const char *dir, unsigned long *inodes, size_t max);

/* The same for every process of a cgroup v2 directory and its children;
 * *netns_pid receives one of its processes (0 if it has none). */
size_t listening_ports_of_cgroup(const char *dir, unsigned short *ports, size_t max, int *netns_pid);

/* The target's processes now: the --pid process tree, or every process of
 * the --cgroup directory and its children.  Returns the count. */
size_t target_pids(const struct target *t, int *pids, size_t max);

/* Appends the socket inodes of pid's open files to inodes[count..max);
 * returns the new count. */
size_t socket_inodes_of(int pid, unsigned long *inodes, size_t count, size_t max);

#endif
