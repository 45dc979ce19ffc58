/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_POD_DISCOVERY_H
#define RUNWAY_POD_DISCOVERY_H

/*
 * The pods of this node, found from the kubelet's own layout: the pod cgroup
 * tree (either cgroup driver, every QoS class) for what runs, the pod log
 * directories for names.  No API server, kubelet port or token.
 *
 * It works only on the paths it is given, so the unit tests drive it with a
 * fake tree.  An inotify watch on the tree (added before each directory is
 * read, so a pod created in between is not missed) says when to look again;
 * a periodic rescan catches anything a watch could not see.
 */

#include <limits.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "kubelet_layout.h"

#define POD_CGROUP_PATH_SIZE 512
#define POD_DECISION_TEXT 256

struct pod_discovery_config {
	const char *kubepods_dir; /* the pods' parent cgroup */
	const char *pod_logs_dir; /* /var/log/pods */
	const char *proc_dir;     /* /proc */
	const char *match_pattern;
	/* Re-read a pod's processes this often while it is young (a container
	 * started in the last `young_s` seconds): its server may not have
	 * exec'd yet when its cgroup appears. */
	double young_s;
	/* Every pod is looked at again this often, watch or no watch. */
	double rescan_s;
};

/* A pod in the tree. */
struct pod_candidate {
	char uid[POD_UID_SIZE];
	char cgroup_dir[POD_CGROUP_PATH_SIZE];
	enum pod_qos qos;
	bool named;
	char namespace_[POD_NAMESPACE_SIZE];
	char name[POD_NAME_SIZE];
	/* Decided once: a pod stays watched until its cgroup is gone. */
	bool matched;
	int matched_pid;          /* a matching process when it was decided */
	char matched_command[160];
	char decision[POD_DECISION_TEXT]; /* why it is or is not watched */
	double young_until;
	int watch;                /* inotify watch on its directory, -1 if none */
	double retry_after;       /* for the caller: not before (a failed attach) */
	bool seen;                /* found by the current scan */
};

struct pod_discovery {
	struct pod_discovery_config config;
	regex_t match;
	bool match_compiled;
	int inotify_fd;
	int root_watch, logs_watch;
	int qos_watches[2];       /* burstable, besteffort levels; -1 until seen */
	bool tree_changed;        /* an event asks for a rescan */
	double next_rescan;
	struct pod_candidate *pods;
	size_t count, capacity;
	/* Names from the log directory, sorted by uid for the join. */
	struct pod_log_name *names;
	size_t name_count, name_capacity;
};

/* Returns 0, or -1 with errno (the regex or inotify could not be set up). */
int pod_discovery_init(struct pod_discovery *d, const struct pod_discovery_config *config);
void pod_discovery_destroy(struct pod_discovery *d);

/* The inotify descriptor, for poll(): readable when the tree changed. */
int pod_discovery_fd(const struct pod_discovery *d);

/*
 * Brings the pod list up to date at time `now` (seconds, monotonic): drains
 * the watch, rescans the tree when it changed or the rescan period is over,
 * and re-reads the processes of pods not matched yet when they are young or
 * the tree was rescanned.  Pods whose cgroup is gone leave the list.
 * Returns -1 if the kubepods directory cannot be read, else 0.
 */
int pod_discovery_update(struct pod_discovery *d, double now);

/* The pod with this UID, or NULL. */
const struct pod_candidate *pod_discovery_find(const struct pod_discovery *d, const char *uid);

/* Scanning one directory at a time, without the watch: what update() does,
 * for the tests.  Fills `out` with the pods under `kubepods_dir`; returns
 * their count (at most max), or -1 if the directory cannot be read. */
int pod_tree_scan(const char *kubepods_dir, struct pod_candidate *out, size_t max);

/* The kubepods cgroup under a cgroup2 mount: kubepods.slice (systemd
 * driver), kubepods (cgroupfs), or kind's kubelet.slice/kubelet-kubepods.slice. */
int pod_discovery_default_kubepods(const char *cgroup2_mount, char *out, size_t size);

#endif
