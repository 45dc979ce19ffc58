// SPDX-License-Identifier: MIT
/* Finding the pods of this node and deciding which ones to watch. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pod_discovery.h"
#include "pod_processes.h"

#define TREE_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_ONLYDIR)
#define POD_EVENTS (IN_CREATE | IN_DELETE_SELF | IN_ONLYDIR)
#define LOG_DIR_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_ONLYDIR)

typedef void (*pod_found_fn)(void *ctx, const char *dir, const char *uid, enum pod_qos qos);

/* A watch is added before its directory is read: whatever is created after
 * the read raises an event, whatever was created before is in the read. */
static int add_watch(const struct pod_discovery *d, const char *dir, uint32_t mask)
{
	if (!d || d->inotify_fd < 0)
		return -1;
	return inotify_add_watch(d->inotify_fd, dir, mask);
}

static int walk_level(struct pod_discovery *d, const char *dir, bool top, enum pod_qos qos, pod_found_fn found,
		      void *ctx)
{
	char path[POD_CGROUP_PATH_SIZE], uid[POD_UID_SIZE];
	struct dirent *entry;
	enum pod_qos level_qos;
	DIR *listing;

	if (top) {
		int wd = add_watch(d, dir, TREE_EVENTS);

		if (d && wd >= 0)
			d->root_watch = wd;
	}
	listing = opendir(dir);
	if (!listing)
		return -1;
	while ((entry = readdir(listing))) {
		if (entry->d_type != DT_DIR || entry->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name) >= sizeof(path))
			continue;
		if (kubelet_pod_dir(entry->d_name, uid)) {
			found(ctx, path, uid, qos);
		} else if (top && kubelet_qos_dir(entry->d_name, &level_qos)) {
			int wd = add_watch(d, path, TREE_EVENTS);

			if (d && wd >= 0)
				d->qos_watches[level_qos == POD_QOS_BURSTABLE ? 0 : 1] = wd;
			walk_level(d, path, false, level_qos, found, ctx);
		}
	}
	closedir(listing);
	return 0;
}

/* Pods directly under kubepods are Guaranteed; the others sit one level
 * down, under their QoS class. */
static int walk_pods(struct pod_discovery *d, const char *kubepods, pod_found_fn found, void *ctx)
{
	return walk_level(d, kubepods, true, POD_QOS_GUARANTEED, found, ctx);
}

struct scan_into_array {
	struct pod_candidate *out;
	size_t count, max;
};

static void fill_candidate(struct pod_candidate *c, const char *dir, const char *uid, enum pod_qos qos)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->uid, sizeof(c->uid), "%s", uid);
	snprintf(c->cgroup_dir, sizeof(c->cgroup_dir), "%s", dir);
	c->qos = qos;
	c->watch = -1;
}

static void found_into_array(void *ctx, const char *dir, const char *uid, enum pod_qos qos)
{
	struct scan_into_array *scan = ctx;

	if (scan->count < scan->max)
		fill_candidate(&scan->out[scan->count++], dir, uid, qos);
}

int pod_tree_scan(const char *kubepods_dir, struct pod_candidate *out, size_t max)
{
	struct scan_into_array scan = { .out = out, .max = max };

	if (walk_pods(NULL, kubepods_dir, found_into_array, &scan))
		return -1;
	return (int)scan.count;
}

int pod_discovery_default_kubepods(const char *cgroup2_mount, char *out, size_t size)
{
	static const char *const candidates[] = {
		"kubepods.slice",                       /* systemd driver */
		"kubepods",                             /* cgroupfs driver */
		"kubelet.slice/kubelet-kubepods.slice", /* kind's nodes */
	};
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		if ((size_t)snprintf(out, size, "%s/%s", cgroup2_mount, candidates[i]) >= size)
			continue;
		if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
	}
	return -1;
}

int pod_discovery_init(struct pod_discovery *d, const struct pod_discovery_config *config)
{
	memset(d, 0, sizeof(*d));
	d->config = *config;
	d->inotify_fd = -1;
	d->root_watch = d->logs_watch = -1;
	d->qos_watches[0] = d->qos_watches[1] = -1;
	d->tree_changed = true;
	if (regcomp(&d->match, config->match_pattern, REG_EXTENDED | REG_NOSUB)) {
		errno = EINVAL;
		return -1;
	}
	d->match_compiled = true;
	d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	return d->inotify_fd < 0 ? -1 : 0;
}

void pod_discovery_destroy(struct pod_discovery *d)
{
	if (d->match_compiled)
		regfree(&d->match);
	if (d->inotify_fd >= 0)
		close(d->inotify_fd);
	free(d->pods);
	free(d->names);
	d->pods = NULL;
	d->names = NULL;
	d->count = d->capacity = d->name_count = d->name_capacity = 0;
	d->match_compiled = false;
	d->inotify_fd = -1;
}

int pod_discovery_fd(const struct pod_discovery *d)
{
	return d->inotify_fd;
}

static struct pod_candidate *find_pod(const struct pod_discovery *d, const char *uid)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (strcmp(d->pods[i].uid, uid) == 0)
			return &d->pods[i];
	return NULL;
}

const struct pod_candidate *pod_discovery_find(const struct pod_discovery *d, const char *uid)
{
	return find_pod(d, uid);
}

static struct pod_candidate *pod_by_watch(const struct pod_discovery *d, int wd)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (d->pods[i].watch == wd)
			return &d->pods[i];
	return NULL;
}

struct rescan {
	struct pod_discovery *d;
	double now;
};

static void found_pod(void *ctx, const char *dir, const char *uid, enum pod_qos qos)
{
	struct rescan *r = ctx;
	struct pod_discovery *d = r->d;
	struct pod_candidate *c = find_pod(d, uid);

	if (c) {
		c->seen = true;
		return;
	}
	if (d->count == d->capacity) {
		size_t capacity = d->capacity ? d->capacity * 2 : 64;
		struct pod_candidate *grown = realloc(d->pods, capacity * sizeof(*grown));

		if (!grown)
			return; /* found again at the next rescan */
		d->pods = grown;
		d->capacity = capacity;
	}
	c = &d->pods[d->count++];
	fill_candidate(c, dir, uid, qos);
	c->seen = true;
	c->young_until = r->now + d->config.young_s;
	/* Before its processes are read: a container started after the read
	 * makes the pod young again. */
	c->watch = add_watch(d, dir, POD_EVENTS);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(((const struct pod_log_name *)a)->uid, ((const struct pod_log_name *)b)->uid);
}

static void read_pod_names(struct pod_discovery *d)
{
	struct pod_log_name name;
	struct dirent *entry;
	DIR *listing;
	int wd;

	wd = add_watch(d, d->config.pod_logs_dir, LOG_DIR_EVENTS);
	if (wd >= 0)
		d->logs_watch = wd;
	d->name_count = 0;
	listing = opendir(d->config.pod_logs_dir);
	if (!listing)
		return;
	while ((entry = readdir(listing))) {
		if (entry->d_name[0] == '.' || !kubelet_pod_log_dir(entry->d_name, &name))
			continue;
		if (d->name_count == d->name_capacity) {
			size_t capacity = d->name_capacity ? d->name_capacity * 2 : 64;
			struct pod_log_name *grown = realloc(d->names, capacity * sizeof(*grown));

			if (!grown)
				break;
			d->names = grown;
			d->name_capacity = capacity;
		}
		d->names[d->name_count++] = name;
	}
	closedir(listing);
	qsort(d->names, d->name_count, sizeof(d->names[0]), compare_names);
}

static void name_pods(struct pod_discovery *d)
{
	struct pod_log_name key;
	size_t i;

	for (i = 0; i < d->count; i++) {
		struct pod_candidate *c = &d->pods[i];
		const struct pod_log_name *name;

		if (c->named)
			continue;
		snprintf(key.uid, sizeof(key.uid), "%s", c->uid);
		name = bsearch(&key, d->names, d->name_count, sizeof(key), compare_names);
		if (!name)
			continue;
		snprintf(c->namespace_, sizeof(c->namespace_), "%s", name->namespace_);
		snprintf(c->name, sizeof(c->name), "%s", name->name);
		c->named = true;
	}
}

static void drop_gone_pods(struct pod_discovery *d)
{
	size_t i = 0;

	while (i < d->count) {
		struct pod_candidate *c = &d->pods[i];

		if (c->seen) {
			i++;
			continue;
		}
		if (c->watch >= 0)
			inotify_rm_watch(d->inotify_fd, c->watch);
		if (log_verbose())
			log_info("pod %s%s%s (uid %s): its cgroup is gone", c->named ? c->namespace_ : "",
				 c->named ? "/" : "", c->named ? c->name : "", c->uid);
		*c = d->pods[--d->count];
	}
}

static int rescan_tree(struct pod_discovery *d, double now)
{
	struct rescan r = { .d = d, .now = now };
	size_t i;
	int err;

	for (i = 0; i < d->count; i++)
		d->pods[i].seen = false;
	err = walk_pods(d, d->config.kubepods_dir, found_pod, &r);
	if (err) {
		/* Keep what we had: a transient failure must not drop every pod. */
		for (i = 0; i < d->count; i++)
			d->pods[i].seen = true;
		return -1;
	}
	drop_gone_pods(d);
	read_pod_names(d);
	name_pods(d);
	return 0;
}

/* Reads every pending event: a change of the tree asks for a rescan, a
 * container created in a pod makes that pod young. */
static void drain_events(struct pod_discovery *d, double now)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(d->inotify_fd, buf, sizeof(buf));
		char *p;

		if (n <= 0)
			return;
		for (p = buf; p < buf + n; p += sizeof(struct inotify_event) + ((struct inotify_event *)p)->len) {
			const struct inotify_event *event = (const struct inotify_event *)p;
			struct pod_candidate *c = event->wd >= 0 ? pod_by_watch(d, event->wd) : NULL;

			if (!c) {
				/* kubepods, a QoS level, the log directory, or an
				 * overflow of the queue. */
				d->tree_changed = true;
				continue;
			}
			if (event->mask & IN_IGNORED) {
				c->watch = -1;
				d->tree_changed = true;
			} else if (event->mask & IN_DELETE_SELF) {
				d->tree_changed = true;
			} else if (event->mask & IN_CREATE) {
				c->young_until = now + d->config.young_s;
			}
		}
	}
}

static void describe(struct pod_candidate *c, const char *fmt, ...) __printf(2, 3);

/* Records why the pod is or is not watched; -v prints it when it changes. */
static void describe(struct pod_candidate *c, const char *fmt, ...)
{
	char text[POD_DECISION_TEXT];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (strcmp(text, c->decision) == 0)
		return;
	snprintf(c->decision, sizeof(c->decision), "%s", text);
	/* A pod the user asked for that cannot be labelled is worth a line
	 * without -v: it is not watched until the kubelet names it. */
	if (log_verbose() || (c->matched && !c->named))
		log_info("pod %s%s%s (uid %s, %s): %s", c->named ? c->namespace_ : "", c->named ? "/" : "",
			 c->named ? c->name : "", c->uid, pod_qos_name(c->qos), c->decision);
}

static void decide(struct pod_discovery *d, struct pod_candidate *c)
{
	static struct pod_processes processes; /* 4 KiB: not on the stack */

	if (!c->matched) {
		pod_processes_read(c->cgroup_dir, d->config.proc_dir, &d->match, &processes);
		if (processes.first_match) {
			c->matched = true;
			c->matched_pid = processes.first_match;
			snprintf(c->matched_command, sizeof(c->matched_command), "%s",
				 processes.first_match_command);
		} else if (processes.count == 0) {
			describe(c, "not watched: no process in its containers yet");
		} else {
			describe(c, "not watched: no process matches --match-cmdline '%s' (it runs: %s)",
				 d->config.match_pattern, processes.others);
		}
	}
	if (c->matched && !c->named)
		describe(c, "not watched yet: pid %d matches, but %s has no <namespace>_<pod>_%s directory "
			 "to name the pod; check --pod-logs",
			 c->matched_pid, d->config.pod_logs_dir, c->uid);
	else if (c->matched)
		describe(c, "watched: pid %d matches '%s': %s", c->matched_pid, d->config.match_pattern,
			 c->matched_command);
}

int pod_discovery_update(struct pod_discovery *d, double now)
{
	bool rescanned = false;
	size_t i;
	int err = 0;

	drain_events(d, now);
	if (d->tree_changed || now >= d->next_rescan) {
		d->tree_changed = false;
		d->next_rescan = now + d->config.rescan_s;
		err = rescan_tree(d, now);
		rescanned = true;
	}
	for (i = 0; i < d->count; i++) {
		struct pod_candidate *c = &d->pods[i];

		if (rescanned || (!c->matched && now < c->young_until))
			decide(d, c);
	}
	return err;
}
