/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_OPTIONS_H
#define RUNWAY_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "route_groups.h"

#define OPTIONS_MAX_PORTS 64
#define OPTIONS_MAX_EXCLUDED_PATHS 64
#define OPTIONS_DEFAULT_LISTEN "0.0.0.0:9091"

struct runway_options {
	int pid;                 /* --pid, 0 if not given */
	const char *cgroup_path; /* --cgroup, NULL if not given */
	unsigned short ports[OPTIONS_MAX_PORTS];
	size_t port_count;
	char listen_host[64];
	unsigned short listen_port;
	const char *excluded_paths[OPTIONS_MAX_EXCLUDED_PATHS];
	size_t excluded_path_count;
	struct route_group route_groups[ROUTE_GROUPS_MAX]; /* --route-group, in the order given */
	size_t route_group_count;
	const char *loops;       /* --loops: auto, open-coded or bpf_loop */
	bool check_only;
	bool no_read_hook;
	bool allow_root_cgroup;  /* --allow-root-cgroup */
	bool verbose;
};

/* Parses argv.  Returns 0 to run, 1 when --help or --version was printed
 * (exit 0), -1 on bad usage (the error line is already printed). */
int options_parse(struct runway_options *opts, int argc, char **argv);
void options_usage(FILE *out);

#endif
