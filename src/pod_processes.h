/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_POD_PROCESSES_H
#define RUNWAY_POD_PROCESSES_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

/* A pod runs a handful of processes; beyond this many, the rest are not read. */
#define POD_MAX_PIDS 256
#define POD_COMMAND_TEXT 160

/* The processes of one pod's containers, as the node mode decides on them.
 * The pause (sandbox) container and CRI-O's conmon are left out: neither is
 * the pod's own code, and conmon's command line carries the pod's names. */
struct pod_processes {
	int pids[POD_MAX_PIDS];
	bool matches[POD_MAX_PIDS]; /* its command line matches --match-cmdline */
	size_t count;
	size_t containers;           /* containers with a process, pause excluded */
	int first_match;             /* pid of the first matching process, 0 if none */
	char first_match_command[POD_COMMAND_TEXT];
	/* Command lines of a few processes that do not match, for -v. */
	char others[POD_COMMAND_TEXT];
};

/* Reads the processes under the pod cgroup directory `pod_dir` (its container
 * cgroups and their children), with /proc at `proc_dir`, and matches each
 * command line (arguments joined by spaces) against `match`. */
void pod_processes_read(const char *pod_dir, const char *proc_dir, const regex_t *match,
			struct pod_processes *out);

/* The pids of `p` that match, copied into `pids`; returns their count. */
size_t pod_processes_matching(const struct pod_processes *p, int *pids, size_t max);

/* A process of one of the pod's containers (the sandbox's pause included,
 * conmon not): one in the pod's network namespace.  0 if none. */
int pod_any_pid(const char *pod_dir);

#endif
