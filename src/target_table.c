// SPDX-License-Identifier: MIT
/* Slots, labels and the grace period of the targets the daemon serves. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "target_table.h"

int target_table_init(struct target_table *t, size_t capacity, size_t max_watched, unsigned grace_s,
		      const struct target_table_ops *ops, void *ops_ctx)
{
	memset(t, 0, sizeof(*t));
	t->targets = calloc(capacity, sizeof(*t->targets));
	if (!t->targets)
		return -1;
	for (size_t i = 0; i < capacity; i++)
		t->targets[i].netns = (struct netns_handles){ .netstat_fd = -1, .sock_diag_fd = -1 };
	t->capacity = capacity;
	t->max_watched = max_watched < capacity ? max_watched : capacity;
	t->grace_s = grace_s;
	t->ops = *ops;
	t->ops_ctx = ops_ctx;
	if (pthread_mutex_init(&t->lock, NULL)) {
		free(t->targets);
		t->targets = NULL;
		return -1;
	}
	return 0;
}

/* Under the lock: the scrape must see the counters either in the slot or in
 * `retired`, never in both or neither. */
static void free_slot(struct target_table *t, size_t slot)
{
	struct watched_target *w = &t->targets[slot];

	t->ops.forget(t->ops_ctx, slot, &t->retired);
	if (w->netns_open)
		netns_close(&w->netns);
	memset(w, 0, sizeof(*w));
	w->netns = (struct netns_handles){ .netstat_fd = -1, .sock_diag_fd = -1 };
	w->state = TARGET_FREE;
}

void target_table_destroy(struct target_table *t)
{
	size_t i;

	if (!t->targets)
		return;
	for (i = 0; i < t->capacity; i++) {
		if (t->targets[i].state == TARGET_WATCHED)
			t->ops.detach(t->ops_ctx, i);
		if (t->targets[i].state != TARGET_FREE) {
			pthread_mutex_lock(&t->lock);
			free_slot(t, i);
			pthread_mutex_unlock(&t->lock);
		}
	}
	pthread_mutex_destroy(&t->lock);
	free(t->targets);
	t->targets = NULL;
}

int target_table_find(struct target_table *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->capacity; i++)
		if (t->targets[i].state != TARGET_FREE && strcmp(t->targets[i].key, key) == 0)
			return (int)i;
	return -1;
}

static void escape_label_value(char *out, size_t size, const char *value)
{
	size_t used = 0;

	for (; *value && used + 3 < size; value++) {
		if (*value == '\\' || *value == '"') {
			out[used++] = '\\';
			out[used++] = *value;
		} else if (*value == '\n') {
			out[used++] = '\\';
			out[used++] = 'n';
		} else {
			out[used++] = *value;
		}
	}
	out[used] = '\0';
}

void target_labels_format(char *out, size_t size, const char *namespace_, const char *pod)
{
	char escaped_namespace[2 * POD_NAMESPACE_SIZE], escaped_pod[2 * POD_NAME_SIZE];

	escape_label_value(escaped_namespace, sizeof(escaped_namespace), namespace_);
	escape_label_value(escaped_pod, sizeof(escaped_pod), pod);
	snprintf(out, size, "namespace=\"%s\",pod=\"%s\"", escaped_namespace, escaped_pod);
}

/* Without setns() (no CAP_SYS_ADMIN) the namespace's netstat still opens:
 * its ListenOverflows are served, its accept queues are not. */
static void open_netns(struct watched_target *w, int pid)
{
	w->netns_open = pid > 0 && (netns_open(&w->netns, pid) == 0 || w->netns.netstat_fd >= 0);
	if (w->netns_open)
		w->netns_id = netns_id_of(pid);
	else
		netns_close(&w->netns);
}

void target_table_reopen_netns(struct target_table *t, size_t slot, int pid)
{
	struct watched_target *w = &t->targets[slot];
	struct watched_target fresh = { .netns = { .netstat_fd = -1, .sock_diag_fd = -1 } };
	struct netns_handles old;

	/* Opened outside the lock (setns runs on a thread of its own), swapped
	 * under it. */
	open_netns(&fresh, pid);
	pthread_mutex_lock(&t->lock);
	old = w->netns;
	w->netns = fresh.netns;
	w->netns_id = fresh.netns_id;
	if (w->netns_open)
		netns_close(&old);
	w->netns_open = fresh.netns_open;
	pthread_mutex_unlock(&t->lock);
}

/* A free slot; if none, the pod that left longest ago gives up the rest of
 * its grace period (said on stderr: its series disappear early). */
static int take_slot(struct target_table *t)
{
	size_t i, oldest = t->capacity;

	for (i = 0; i < t->capacity; i++) {
		if (t->targets[i].state == TARGET_FREE)
			return (int)i;
		if (t->targets[i].state == TARGET_GONE &&
		    (oldest == t->capacity || t->targets[i].gone_at < t->targets[oldest].gone_at))
			oldest = i;
	}
	if (oldest == t->capacity)
		return -1;
	log_info("all %zu slots are taken: the series of the deleted pod {%s} are removed before their grace "
		 "period ends",
		 t->capacity, t->targets[oldest].labels);
	pthread_mutex_lock(&t->lock);
	free_slot(t, oldest);
	t->evicted_early++;
	pthread_mutex_unlock(&t->lock);
	return (int)oldest;
}

int target_table_add(struct target_table *t, const struct target_identity *id)
{
	struct watched_target *w;
	int slot;

	if (target_table_find(t, id->key) >= 0) {
		errno = EEXIST;
		return -1;
	}
	if (t->watched >= t->max_watched) {
		errno = ENOSPC;
		return -1;
	}
	slot = take_slot(t);
	if (slot < 0) {
		errno = ENOSPC;
		return -1;
	}
	/* A free slot is invisible to the scrape: it is filled without the
	 * lock, and shown by the state change below. */
	w = &t->targets[slot];
	snprintf(w->key, sizeof(w->key), "%s", id->key);
	snprintf(w->cgroup_dir, sizeof(w->cgroup_dir), "%s", id->cgroup_dir);
	if (id->namespace_)
		target_labels_format(w->labels, sizeof(w->labels), id->namespace_, id->pod);
	open_netns(w, id->netns_pid);
	w->probe_port_count = id->port_count < TARGET_MAX_PORTS ? id->port_count : TARGET_MAX_PORTS;
	if (w->probe_port_count) /* id->ports may be NULL then */
		memcpy(w->probe_ports, id->ports, w->probe_port_count * sizeof(w->probe_ports[0]));
	if (t->ops.attach(t->ops_ctx, slot, id->cgroup_dir, id->ports, id->port_count)) {
		int saved = errno;

		pthread_mutex_lock(&t->lock);
		free_slot(t, slot);
		pthread_mutex_unlock(&t->lock);
		errno = saved;
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	w->state = TARGET_WATCHED;
	t->watched++;
	pthread_mutex_unlock(&t->lock);
	return slot;
}

void target_table_gone(struct target_table *t, const char *key, double now)
{
	int slot = target_table_find(t, key);

	if (slot < 0 || t->targets[slot].state != TARGET_WATCHED)
		return;
	t->ops.detach(t->ops_ctx, slot);
	pthread_mutex_lock(&t->lock);
	t->targets[slot].state = TARGET_GONE;
	t->targets[slot].gone_at = now;
	t->watched--;
	pthread_mutex_unlock(&t->lock);
}

size_t target_table_expire(struct target_table *t, double now)
{
	size_t i, freed = 0;

	for (i = 0; i < t->capacity; i++) {
		struct watched_target *w = &t->targets[i];

		if (w->state != TARGET_GONE || now - w->gone_at < t->grace_s)
			continue;
		pthread_mutex_lock(&t->lock);
		free_slot(t, i);
		pthread_mutex_unlock(&t->lock);
		freed++;
	}
	return freed;
}
