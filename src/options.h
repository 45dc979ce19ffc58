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
#define OPTIONS_DEFAULT_POD_LOGS "/var/log/pods"
#define OPTIONS_DEFAULT_MATCH_CMDLINE "uvicorn|gunicorn"
#define OPTIONS_DEFAULT_POD_GRACE_S 60
#define OPTIONS_MAX_POD_GRACE_S 86400
/* The kubelet's default --max-pods; --max-pods raises it. */
#define OPTIONS_DEFAULT_MAX_PODS 110
#define OPTIONS_MAX_MAX_PODS 250

struct runway_options {
	int pid;                 /* --pid, 0 if not given */
	const char *cgroup_path; /* --cgroup, NULL if not given */
	bool kubernetes;         /* --kubernetes: every matching pod of the node */
	const char *kubepods_path;  /* --kubepods, NULL: found under the cgroup2 mount */
	const char *pod_logs_dir;   /* --pod-logs */
	const char *match_cmdline;  /* --match-cmdline, an extended regex */
	unsigned pod_grace_s;       /* --pod-grace */
	unsigned max_pods;          /* --max-pods */
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
	bool no_fast_path;
	bool allow_root_cgroup;  /* --allow-root-cgroup */
	int verbose; /* -v 1, -vv 2 (libbpf's own debug output too) */
};

/* Parses argv.  Returns 0 to run, 1 when --help or --version was printed
 * (exit 0), -1 on bad usage (the error line is already printed). */
int options_parse(struct runway_options *opts, int argc, char **argv);
void options_usage(FILE *out);

#endif
