// SPDX-License-Identifier: MIT
/* The Prometheus text exposition (format 0.0.4). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "metrics.h"
#include "text_buffer.h"

#define NS_PER_SECOND 1e9

static const char *const method_names[HTTP_METHOD_COUNT] = {
	[HTTP_GET] = "GET",         [HTTP_HEAD] = "HEAD",   [HTTP_POST] = "POST",
	[HTTP_PUT] = "PUT",         [HTTP_DELETE] = "DELETE", [HTTP_PATCH] = "PATCH",
	[HTTP_OPTIONS] = "OPTIONS", [HTTP_TRACE] = "TRACE", [HTTP_CONNECT] = "CONNECT",
	[HTTP_OTHER] = "OTHER",
};

static const char *const untrack_reason_names[UNTRACK_REASON_COUNT] = {
	[UNTRACK_NOT_HTTP] = "not_http",
	[UNTRACK_UPGRADED] = "upgraded",
	[UNTRACK_DESYNC] = "unparsable_response",
	[UNTRACK_PIPELINE_TOO_DEEP] = "pipeline_too_deep",
};

static const char *const inexact_reason_names[INEXACT_REASON_COUNT] = {
	[INEXACT_RESPONSE_HEAD_TOO_LONG] = "response_head_too_long",
	[INEXACT_REQUEST_HEAD_TOO_LONG] = "request_head_too_long",
	[INEXACT_REQUEST_UNPARSABLE] = "unparsable_request",
	[INEXACT_REQUEST_GAP] = "request_bytes_missing",
	[INEXACT_JOINED] = "joined_mid_request",
};

static const char *const unserved_reason_names[UNSERVED_REASON_COUNT] = {
	[UNSERVED_CLOSED] = "closed_before_start",
	[UNSERVED_AFTER_CLOSE] = "after_server_close",
};

int metrics_init(struct metrics_context *m, const struct probes *p, struct target_table *targets,
		 const char *hooks)
{
	memset(m, 0, sizeof(*m));
	probes_maps(p, &m->maps);
	m->cpu_count = libbpf_num_possible_cpus();
	if (m->cpu_count <= 0)
		return -1;
	m->targets = targets;
	m->queue_metrics = p->read_hook;
	m->hooks = hooks;
	m->percpu_words = sizeof(struct target_counters) > sizeof(struct latency_histogram) ?
				  sizeof(struct target_counters) / sizeof(__u64) :
				  sizeof(struct latency_histogram) / sizeof(__u64);
	m->percpu_values = calloc((size_t)m->cpu_count * m->percpu_words, sizeof(__u64));
	m->counters = calloc(targets->capacity, sizeof(*m->counters));
	if (!m->percpu_values || !m->counters) {
		free(m->percpu_values);
		free(m->counters);
		return -1;
	}
	return pthread_mutex_init(&m->lock, NULL) ? -1 : 0;
}

void metrics_set_listeners_unwatchable(struct metrics_context *m, const unsigned counts[UNWATCHABLE_REASON_COUNT])
{
	pthread_mutex_lock(&m->lock);
	memcpy(m->listeners_unwatchable, counts, sizeof(m->listeners_unwatchable));
	pthread_mutex_unlock(&m->lock);
}

void metrics_destroy(struct metrics_context *m)
{
	pthread_mutex_destroy(&m->lock);
	free(m->percpu_values);
	free(m->counters);
}

/* Sums a per-CPU value made only of __u64 fields into *out. */
static int lookup_percpu_sum(struct metrics_context *m, int fd, const void *key, __u64 *out, size_t words)
{
	__u64 *values = m->percpu_values;
	int cpu;
	size_t i;

	memset(out, 0, words * sizeof(__u64));
	if (words > m->percpu_words)
		return -E2BIG;
	if (bpf_map_lookup_elem(fd, key, values))
		return -errno;
	for (cpu = 0; cpu < m->cpu_count; cpu++)
		for (i = 0; i < words; i++)
			out[i] += values[(size_t)cpu * words + i];
	return 0;
}

#define WORDS_OF(type) (sizeof(type) / sizeof(__u64))

/* btime from /proc/stat: process start times are counted from boot. */
static double boot_time_seconds(void)
{
	static double btime;
	char line[256];
	FILE *f;

	if (btime > 0)
		return btime;
	f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lf", &btime) == 1)
			break;
	fclose(f);
	return btime;
}

static __u64 monotonic_now_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* A gauge as its begin and end events, for the arithmetic below. */
struct gauge_counters {
	__u64 begun;
	__u64 ended;
	__u64 begun_ns_sum;
	__u64 ended_ns_sum;
};

static struct gauge_counters queued_gauge(const struct request_events *e)
{
	return (struct gauge_counters){
		.begun = e->arrived.count,
		.ended = e->read.count + e->abandoned.count,
		.begun_ns_sum = e->arrived.ns_sum,
		.ended_ns_sum = e->read.ns_sum + e->abandoned.ns_sum,
	};
}

static struct gauge_counters in_flight_gauge(const struct request_events *e)
{
	return (struct gauge_counters){
		.begun = e->read.count,
		.ended = e->finished.count,
		.begun_ns_sum = e->read.ns_sum,
		.ended_ns_sum = e->finished.ns_sum,
	};
}

static __u64 gauge_value(const struct gauge_counters *g)
{
	return g->begun > g->ended ? g->begun - g->ended : 0;
}

/* sum(end times) - sum(begin times) + open * now, in wrapping arithmetic. */
static __u64 gauge_integral_ns(const struct gauge_counters *g, __u64 now, __u64 *last)
{
	__u64 integral = g->ended_ns_sum - g->begun_ns_sum + (g->begun - g->ended) * now;

	if ((__s64)(integral - *last) < 0)
		integral = *last;
	*last = integral;
	return integral;
}

static void header(struct text_buffer *b, const char *name, const char *type, const char *help)
{
	text_buffer_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The targets a scrape shows: watched, and gone but in their grace period. */
#define for_each_target(m, slot) \
	for (slot = 0; slot < (m)->targets->capacity; slot++) \
		if ((m)->targets->targets[slot].state != TARGET_FREE)

/*
 * Starts a sample line: its name and label set.  The one place where a
 * target's labels (namespace and pod in node mode, none for a single target)
 * join the series' own labels, so every family carries them alike.
 */
static void sample(struct text_buffer *b, const char *name, const struct watched_target *w, const char *own_fmt, ...)
	__printf(4, 5);
static void sample(struct text_buffer *b, const char *name, const struct watched_target *w, const char *own_fmt, ...)
{
	char own[128];
	va_list ap;

	va_start(ap, own_fmt);
	vsnprintf(own, sizeof(own), own_fmt, ap);
	va_end(ap);
	if (!w->labels[0] && !own[0])
		text_buffer_printf(b, "%s ", name);
	else
		text_buffer_printf(b, "%s{%s%s%s} ", name, w->labels, w->labels[0] && own[0] ? "," : "", own);
}

static void render_histogram(struct text_buffer *b, const char *name, const struct watched_target *w,
			     const char *own_labels, const struct latency_histogram *h)
{
	static const char *const bounds[] = LATENCY_BOUNDS_TEXT;
	const char *comma = own_labels[0] ? "," : "";
	char series[128];
	__u64 cumulative = 0;
	int i;

	snprintf(series, sizeof(series), "%s_bucket", name);
	for (i = 0; i < LATENCY_FINITE_BUCKETS; i++) {
		cumulative += h->buckets[i];
		sample(b, series, w, "%s%sle=\"%s\"", own_labels, comma, bounds[i]);
		text_buffer_printf(b, "%llu\n", (unsigned long long)cumulative);
	}
	cumulative += h->buckets[LATENCY_FINITE_BUCKETS];
	sample(b, series, w, "%s%sle=\"+Inf\"", own_labels, comma);
	text_buffer_printf(b, "%llu\n", (unsigned long long)cumulative);
	snprintf(series, sizeof(series), "%s_sum", name);
	sample(b, series, w, "%s", own_labels);
	text_buffer_printf(b, "%.9f\n", h->sum_ns / NS_PER_SECOND);
	snprintf(series, sizeof(series), "%s_count", name);
	sample(b, series, w, "%s", own_labels);
	text_buffer_printf(b, "%llu\n", (unsigned long long)cumulative);
}

struct status_count {
	struct status_key key;
	__u64 count;
};

static int compare_status_counts(const void *a, const void *b)
{
	const struct status_count *x = a, *y = b;

	if (x->key.target != y->key.target)
		return x->key.target < y->key.target ? -1 : 1;
	if (x->key.method != y->key.method)
		return x->key.method - y->key.method;
	return x->key.status - y->key.status;
}

static bool slot_shown(const struct metrics_context *m, __u32 slot)
{
	return slot < m->targets->capacity && m->targets->targets[slot].state != TARGET_FREE;
}

static void render_requests_total(struct metrics_context *m, struct text_buffer *b)
{
	struct status_count *rows = NULL;
	struct status_key key, next;
	size_t count = 0, capacity = 0, i;
	void *previous = NULL;

	header(b, "runway_requests_total", "counter",
	       "Requests answered (or whose connection closed: status 000), by method and status.");
	while (bpf_map_get_next_key(m->maps.requests_by_status, previous, &next) == 0) {
		key = next;
		previous = &key;
		if (!slot_shown(m, key.target))
			continue;
		if (count == capacity) {
			struct status_count *grown;

			capacity = capacity ? capacity * 2 : 64;
			grown = realloc(rows, capacity * sizeof(*rows));
			if (!grown)
				break;
			rows = grown;
		}
		rows[count].key = key;
		if (lookup_percpu_sum(m, m->maps.requests_by_status, &key, &rows[count].count, 1) == 0)
			count++;
	}
	/* qsort(NULL, 0, ...) is undefined behaviour: before the first
	 * request there are no rows at all. */
	if (count)
		qsort(rows, count, sizeof(*rows), compare_status_counts);
	for (i = 0; i < count; i++) {
		unsigned method = rows[i].key.method < HTTP_METHOD_COUNT ? rows[i].key.method : HTTP_OTHER;

		sample(b, "runway_requests_total", &m->targets->targets[rows[i].key.target],
		       "method=\"%s\",status=\"%03u\"", method_names[method], rows[i].key.status);
		text_buffer_printf(b, "%llu\n", (unsigned long long)rows[i].count);
	}
	free(rows);
}

static void render_durations(struct metrics_context *m, struct text_buffer *b)
{
	struct latency_histogram h;
	char labels[32];
	__u32 method;
	size_t slot;

	header(b, "runway_request_duration_seconds", "histogram",
	       "Server time of a request: from its first read by the server to its last response byte sent.");
	for_each_target(m, slot) {
		for (method = 0; method < HTTP_METHOD_COUNT; method++) {
			struct method_key key = { .target = slot, .method = method };
			__u64 total = 0;
			int i;

			if (lookup_percpu_sum(m, m->maps.request_durations, &key, (__u64 *)&h, WORDS_OF(h)))
				continue;
			for (i = 0; i < LATENCY_BUCKET_COUNT; i++)
				total += h.buckets[i];
			if (!total)
				continue;
			snprintf(labels, sizeof(labels), "method=\"%s\"", method_names[method]);
			render_histogram(b, "runway_request_duration_seconds", &m->targets->targets[slot], labels, &h);
		}
	}
}

/* The request gauges of one target in this scrape, and their integrals. */
struct request_gauges {
	__u64 in_flight, queued;
	__u64 in_flight_ns, queued_ns;
};

static struct request_gauges request_gauges_of(struct metrics_context *m, size_t slot, __u64 now)
{
	struct watched_target *w = &m->targets->targets[slot];
	struct gauge_counters in_flight = in_flight_gauge(&m->counters[slot].requests);
	struct gauge_counters queued = queued_gauge(&m->counters[slot].requests);
	struct request_gauges g = {
		.in_flight = gauge_value(&in_flight),
		/* The integrals never go down: the same snapshot and `now`
		 * give the same value however often they are asked. */
		.in_flight_ns = gauge_integral_ns(&in_flight, now, &w->last_in_flight_integral_ns),
	};

	/* Without a read hook the split is unknown and requests count as in
	 * flight from their arrival: outstanding is in flight alone. */
	if (m->queue_metrics) {
		g.queued = gauge_value(&queued);
		g.queued_ns = gauge_integral_ns(&queued, now, &w->last_queued_integral_ns);
	}
	return g;
}

enum request_gauge_kind { GAUGE_OUTSTANDING, GAUGE_IN_FLIGHT, GAUGE_QUEUED };

static void render_request_gauge(struct metrics_context *m, struct text_buffer *b, __u64 now,
				 enum request_gauge_kind kind, const char *name, const char *help)
{
	char integral_name[96], integral_help[256];
	size_t slot;

	header(b, name, "gauge", help);
	for_each_target(m, slot) {
		struct request_gauges g = request_gauges_of(m, slot, now);
		__u64 value = kind == GAUGE_OUTSTANDING ? g.in_flight + g.queued :
			      kind == GAUGE_IN_FLIGHT	? g.in_flight :
							  g.queued;

		sample(b, name, &m->targets->targets[slot], "%s", "");
		text_buffer_printf(b, "%llu\n", (unsigned long long)value);
	}
	snprintf(integral_name, sizeof(integral_name), "%s_seconds_total", name);
	snprintf(integral_help, sizeof(integral_help),
		 "Integral of %s over time, in request-seconds: rate() of it is the exact mean.", name);
	header(b, integral_name, "counter", integral_help);
	for_each_target(m, slot) {
		struct request_gauges g = request_gauges_of(m, slot, now);
		__u64 ns = kind == GAUGE_OUTSTANDING ? g.in_flight_ns + g.queued_ns :
			   kind == GAUGE_IN_FLIGHT	 ? g.in_flight_ns :
						   g.queued_ns;

		sample(b, integral_name, &m->targets->targets[slot], "%s", "");
		text_buffer_printf(b, "%.9f\n", ns / NS_PER_SECOND);
	}
}

/* Outstanding is the sum of the other two as served: exactly queued +
 * in_flight in every scrape, and a monotonic integral because both of its
 * terms are. */
static void render_gauges(struct metrics_context *m, struct text_buffer *b)
{
	__u64 now = monotonic_now_ns();

	render_request_gauge(m, b, now, GAUGE_OUTSTANDING, "runway_requests_outstanding",
			     "Requests not answered yet: queued in the kernel plus in flight in the server. "
			     "The autoscaling signal.");
	render_request_gauge(m, b, now, GAUGE_IN_FLIGHT, "runway_requests_in_flight",
			     "Requests the server has begun to read and not finished answering.");
	/* Absent without a read hook. */
	if (m->queue_metrics)
		render_request_gauge(m, b, now, GAUGE_QUEUED, "runway_requests_queued",
				     "Requests whose bytes reached the kernel but that the server has not read yet.");
}

enum route_gauge_kind { ROUTE_IN_FLIGHT, ROUTE_QUEUED };

/* One per-route gauge family and its integral, for every target and group:
 * `gauge_of` picks the gauge out of a group's events. */
static void render_route_family(struct metrics_context *m, struct text_buffer *b,
				struct request_events (*events)[ROUTE_GROUPS_MAX], size_t count, __u64 now,
				struct gauge_counters (*gauge_of)(const struct request_events *),
				enum route_gauge_kind kind, const char *name, const char *help)
{
	char integral_name[96], integral_help[160];
	size_t slot, i;

	header(b, name, "gauge", help);
	for_each_target(m, slot) {
		for (i = 0; i < count; i++) {
			struct gauge_counters g = gauge_of(&events[slot][i]);

			sample(b, name, &m->targets->targets[slot], "route=\"%s\"", m->route_groups[i].name);
			text_buffer_printf(b, "%llu\n", (unsigned long long)gauge_value(&g));
		}
	}
	snprintf(integral_name, sizeof(integral_name), "%s_seconds_total", name);
	snprintf(integral_help, sizeof(integral_help), "Integral of %s over time: rate() of it is the exact mean.",
		 name);
	header(b, integral_name, "counter", integral_help);
	for_each_target(m, slot) {
		struct watched_target *w = &m->targets->targets[slot];
		__u64 *last = kind == ROUTE_IN_FLIGHT ? w->last_route_in_flight_integral_ns :
							 w->last_route_queued_integral_ns;

		for (i = 0; i < count; i++) {
			struct gauge_counters g = gauge_of(&events[slot][i]);

			sample(b, integral_name, w, "route=\"%s\"", m->route_groups[i].name);
			text_buffer_printf(b, "%.9f\n", gauge_integral_ns(&g, now, &last[i]) / NS_PER_SECOND);
		}
	}
}

/* The seed's runway_requests_in_flight_by_route{route}, with the queued
 * count and the integrals beside it; every group, with traffic or not, for
 * every target. */
static void render_route_gauges(struct metrics_context *m, struct text_buffer *b)
{
	static struct request_events events[RUNWAY_MAX_TARGETS][ROUTE_GROUPS_MAX]; /* under m->lock */
	__u64 now = monotonic_now_ns();
	size_t i, slot, count = m->route_group_count < ROUTE_GROUPS_MAX ? m->route_group_count : ROUTE_GROUPS_MAX;

	if (!count)
		return;
	for_each_target(m, slot) {
		for (i = 0; i < count; i++) {
			struct route_key key = { .target = slot, .route = (__u32)i + 1 };

			if (lookup_percpu_sum(m, m->maps.route_events, &key, (__u64 *)&events[slot][i],
					      WORDS_OF(events[slot][i])))
				memset(&events[slot][i], 0, sizeof(events[slot][i]));
		}
	}
	render_route_family(m, b, events, count, now, in_flight_gauge, ROUTE_IN_FLIGHT,
			    "runway_requests_in_flight_by_route",
			    "Requests in flight (see runway_requests_in_flight), by route group (--route-group).");
	if (m->queue_metrics)
		render_route_family(m, b, events, count, now, queued_gauge, ROUTE_QUEUED,
				    "runway_requests_queued_by_route",
				    "Requests queued in the kernel (see runway_requests_queued), by route group "
				    "(--route-group).");
}

static void render_queue_times(struct metrics_context *m, struct text_buffer *b)
{
	struct latency_histogram h;
	bool first = true;
	size_t slot;

	if (!m->queue_metrics)
		return;
	for_each_target(m, slot) {
		__u32 key = slot;

		if (lookup_percpu_sum(m, m->maps.queue_durations, &key, (__u64 *)&h, WORDS_OF(h)))
			continue;
		if (first)
			header(b, "runway_request_queue_seconds", "histogram",
			       "Kernel time of a request: from its arrival in the kernel to the server's first read of it.");
		first = false;
		render_histogram(b, "runway_request_queue_seconds", &m->targets->targets[slot], "", &h);
	}
}

static void render_accept_queues(struct metrics_context *m, struct text_buffer *b)
{
	struct accept_queue queues[TARGET_MAX_PORTS];
	struct listen_overflow_counts counts;
	bool depth_header = false, overflow_header = false;
	size_t slot;
	int count, i;

	/* Read once per target, in its own network namespace; the families
	 * are then written one after the other. */
	struct text_buffer limits, overflows, drops;

	text_buffer_init(&limits);
	text_buffer_init(&overflows);
	text_buffer_init(&drops);
	for_each_target(m, slot) {
		struct watched_target *w = &m->targets->targets[slot];

		if (!w->netns_open)
			continue;
		count = netns_read_accept_queues(&w->netns, w->listen_ports, w->listen_port_count, queues,
						 TARGET_MAX_PORTS);
		for (i = 0; i < count; i++) {
			if (!depth_header)
				header(b, "runway_accept_queue_depth", "gauge",
				       "Connections the kernel has established on the port and the server has not accepted yet.");
			depth_header = true;
			sample(b, "runway_accept_queue_depth", w, "port=\"%u\"", queues[i].port);
			text_buffer_printf(b, "%u\n", queues[i].depth);
			sample(&limits, "runway_accept_queue_limit", w, "port=\"%u\"", queues[i].port);
			text_buffer_printf(&limits, "%u\n", queues[i].limit);
		}
		if (netns_read_listen_counts(&w->netns, &counts) == 0) {
			overflow_header = true;
			sample(&overflows, "runway_listen_overflows_total", w, "%s", "");
			text_buffer_printf(&overflows, "%llu\n", (unsigned long long)counts.listen_overflows);
			sample(&drops, "runway_listen_drops_total", w, "%s", "");
			text_buffer_printf(&drops, "%llu\n", (unsigned long long)counts.listen_drops);
		}
	}
	if (depth_header) {
		header(b, "runway_accept_queue_limit", "gauge",
		       "Accept queue limit of the port (the listen backlog); the kernel drops new connections beyond it.");
		text_buffer_append(b, &limits);
	}
	if (overflow_header) {
		header(b, "runway_listen_overflows_total", "counter",
		       "TcpExt ListenOverflows of the target's network namespace: packets dropped at a full accept queue.");
		text_buffer_append(b, &overflows);
		header(b, "runway_listen_drops_total", "counter",
		       "TcpExt ListenDrops of the target's network namespace: connection requests a listener dropped, for any reason.");
		text_buffer_append(b, &drops);
	}
	text_buffer_free(&limits);
	text_buffer_free(&overflows);
	text_buffer_free(&drops);
}

static int compare_listeners(const void *a, const void *b)
{
	const struct listener_key *x = a, *y = b;

	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	return x->port - y->port;
}

static bool has_listener(const struct listener_key *keys, size_t count, __u32 slot, unsigned short port)
{
	size_t k;

	for (k = 0; k < count; k++)
		if (keys[k].target == slot && keys[k].port == port)
			return true;
	return false;
}

static void render_listener_counters(struct metrics_context *m, struct text_buffer *b)
{
	struct listener_key *keys = NULL, key, next;
	struct listener_counters *counts = NULL;
	size_t count = 0, capacity = 0, i, slot;
	void *previous = NULL;

	/* What the programs counted, then 0 for every other listening port:
	 * rate() then has a first sample to start from. */
	while (bpf_map_get_next_key(m->maps.listener_counters, previous, &next) == 0) {
		key = next;
		previous = &key;
		if (!slot_shown(m, key.target))
			continue;
		if (count == capacity) {
			struct listener_key *grown;

			capacity = capacity ? capacity * 2 : 64;
			grown = realloc(keys, capacity * sizeof(*keys));
			if (!grown)
				break;
			keys = grown;
		}
		keys[count++] = key;
	}
	for_each_target(m, slot) {
		const struct watched_target *w = &m->targets->targets[slot];

		for (i = 0; i < w->listen_port_count; i++) {
			if (has_listener(keys, count, slot, w->listen_ports[i]))
				continue;
			if (count == capacity) {
				struct listener_key *grown;

				capacity = capacity ? capacity * 2 : 64;
				grown = realloc(keys, capacity * sizeof(*keys));
				if (!grown)
					break;
				keys = grown;
			}
			keys[count++] = (struct listener_key){ .target = slot, .port = w->listen_ports[i] };
		}
	}
	counts = calloc(count ? count : 1, sizeof(*counts));
	if (!counts)
		count = 0;
	if (count)
		qsort(keys, count, sizeof(keys[0]), compare_listeners);
	for (i = 0; i < count; i++)
		if (lookup_percpu_sum(m, m->maps.listener_counters, &keys[i], (__u64 *)&counts[i],
				      WORDS_OF(counts[i])))
			memset(&counts[i], 0, sizeof(counts[i]));
	header(b, "runway_accept_queue_overflows_total", "counter",
	       "SYNs and handshake-completing ACKs that reached the port while its accept queue was full: the kernel drops them.");
	for (i = 0; i < count; i++) {
		sample(b, "runway_accept_queue_overflows_total", &m->targets->targets[keys[i].target], "port=\"%u\"",
		       keys[i].port);
		text_buffer_printf(b, "%llu\n", (unsigned long long)counts[i].overflows);
	}
	header(b, "runway_connection_requests_total", "counter", "SYNs that reached the port's listening socket.");
	for (i = 0; i < count; i++) {
		sample(b, "runway_connection_requests_total", &m->targets->targets[keys[i].target], "port=\"%u\"",
		       keys[i].port);
		text_buffer_printf(b, "%llu\n", (unsigned long long)counts[i].syns);
	}
	free(keys);
	free(counts);
}

/* The daemon's own counters: every target's, plus those of the slots
 * already freed, so that none goes down when a pod leaves. */
static void sum_self_counters(struct metrics_context *m, struct target_counters *total)
{
	__u64 *sum = (__u64 *)total;
	size_t slot, i;

	*total = m->targets->retired;
	for_each_target(m, slot) {
		const __u64 *c = (const __u64 *)&m->counters[slot];

		for (i = 0; i < WORDS_OF(*total); i++)
			sum[i] += c[i];
	}
}

static void render_self(struct metrics_context *m, struct text_buffer *b, const struct target_counters *c)
{
	int reason;

	header(b, "runway_bpfd_build_info", "gauge", "runway-bpfd version and the kernel hooks in use.");
	text_buffer_printf(b, "runway_bpfd_build_info{version=\"%s\",hooks=\"%s\"} 1\n", RUNWAY_VERSION, m->hooks);
	header(b, "runway_bpfd_targets", "gauge", "Targets (servers or pods) watched.");
	text_buffer_printf(b, "runway_bpfd_targets %zu\n", m->targets->watched);
	if (m->targets->counts_before_watch) {
		header(b, "runway_bpfd_connections_before_watch_total", "counter",
		       "Connections the watched pods had accepted when they began to be watched (TCP PassiveOpens of their "
		       "network namespaces, kubelet probes included): requests they carried until then are not counted.");
		text_buffer_printf(b, "runway_bpfd_connections_before_watch_total %llu\n",
				   (unsigned long long)m->targets->connections_before_watch);
	}
	header(b, "runway_bpfd_connections", "gauge", "Server connections with state in the kernel.");
	text_buffer_printf(b, "runway_bpfd_connections %llu\n",
			   (unsigned long long)(c->connections_opened > c->connections_closed ?
							c->connections_opened - c->connections_closed :
							0));
	header(b, "runway_bpfd_connections_total", "counter", "Server connections seen.");
	text_buffer_printf(b, "runway_bpfd_connections_total %llu\n", (unsigned long long)c->connections_opened);
	header(b, "runway_bpfd_connections_untracked_total", "counter",
	       "Connections whose requests stopped being counted, by reason.");
	for (reason = 0; reason < UNTRACK_REASON_COUNT; reason++)
		text_buffer_printf(b, "runway_bpfd_connections_untracked_total{reason=\"%s\"} %llu\n",
				   untrack_reason_names[reason], (unsigned long long)c->untracked[reason]);
	header(b, "runway_bpfd_connections_inexact_total", "counter",
	       "Times a connection left the exact path: its requests are still counted, but a request's end (or begin) is taken from the next request line or the connection's close.");
	for (reason = 0; reason < INEXACT_REASON_COUNT; reason++)
		text_buffer_printf(b, "runway_bpfd_connections_inexact_total{reason=\"%s\"} %llu\n",
				   inexact_reason_names[reason], (unsigned long long)c->inexact[reason]);
	header(b, "runway_bpfd_connections_handshake_data_total", "counter",
	       "Connections whose first request came with the packet that completed their handshake (an accept-queue overflow retried, TCP Fast Open).");
	text_buffer_printf(b, "runway_bpfd_connections_handshake_data_total %llu\n",
			   (unsigned long long)c->handshake_data);
	header(b, "runway_bpfd_requests_unserved_total", "counter",
	       "Requests whose bytes arrived but that the server never started on, by reason; not in runway_requests_total.");
	for (reason = 0; reason < UNSERVED_REASON_COUNT; reason++)
		text_buffer_printf(b, "runway_bpfd_requests_unserved_total{reason=\"%s\"} %llu\n",
				   unserved_reason_names[reason], (unsigned long long)c->unserved[reason]);
	header(b, "runway_bpfd_requests_joined_total", "counter",
	       "Responses to requests that were under way when their connection was first seen (opened before the daemon started): in the gauges from then on, not in runway_requests_total (their method is unknown).");
	text_buffer_printf(b, "runway_bpfd_requests_joined_total %llu\n", (unsigned long long)c->joined);
	header(b, "runway_bpfd_state_refused_total", "counter",
	       "Packets with data on server connections the kernel refused socket storage for (retried on each such packet): their requests are not counted.");
	text_buffer_printf(b, "runway_bpfd_state_refused_total %llu\n", (unsigned long long)c->storage_full);
	header(b, "runway_bpfd_requests_lost_total", "counter",
	       "Requests answered (or to be) but not in runway_requests_total: its series map was full, or their connection stopped being tracked.");
	text_buffer_printf(b, "runway_bpfd_requests_lost_total %llu\n", (unsigned long long)c->requests_lost);
	header(b, "runway_bpfd_listeners_unwatchable", "gauge",
	       "Listening sockets of the target whose requests are not counted: unix sockets, and TCP sockets created in another cgroup.");
	for (reason = 0; reason < UNWATCHABLE_REASON_COUNT; reason++)
		if (m->listeners_unwatchable[reason] != UNWATCHABLE_NOT_AUDITED)
			text_buffer_printf(b, "runway_bpfd_listeners_unwatchable{reason=\"%s\"} %u\n",
					   unwatchable_reason_names[reason], m->listeners_unwatchable[reason]);
}

/* The process_* metrics every Prometheus client library exports, so the
 * daemon's own cost is on the same dashboards as any exporter's. */
static void render_process(struct text_buffer *b)
{
	unsigned long long utime, stime, start_ticks;
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	char buf[1024], *after_comm;
	unsigned long resident_pages;
	FILE *f;
	size_t n;

	f = fopen("/proc/self/stat", "re");
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	after_comm = strrchr(buf, ')');
	/* Fields 14, 15 (utime, stime) and 22 (starttime), counted from 1. */
	if (!after_comm || sscanf(after_comm + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
						   "%*d %*d %*d %*d %*d %*d %llu",
				  &utime, &stime, &start_ticks) != 3)
		return;
	f = fopen("/proc/self/statm", "re");
	if (!f)
		return;
	if (fscanf(f, "%*u %lu", &resident_pages) != 1)
		resident_pages = 0;
	fclose(f);
	header(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
	text_buffer_printf(b, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / ticks);
	header(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	text_buffer_printf(b, "process_resident_memory_bytes %lu\n", resident_pages * page);
	header(b, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
	text_buffer_printf(b, "process_start_time_seconds %.2f\n", boot_time_seconds() + (double)start_ticks / ticks);
}

char *metrics_render(struct metrics_context *m, size_t *length)
{
	struct target_counters self;
	struct text_buffer b;
	size_t slot;

	text_buffer_init(&b);
	pthread_mutex_lock(&m->lock);
	pthread_mutex_lock(&m->targets->lock);
	for_each_target(m, slot) {
		__u32 key = slot;

		if (lookup_percpu_sum(m, m->maps.target_counters, &key, (__u64 *)&m->counters[slot],
				      WORDS_OF(m->counters[slot])))
			memset(&m->counters[slot], 0, sizeof(m->counters[slot]));
	}
	render_gauges(m, &b);
	render_route_gauges(m, &b);
	render_requests_total(m, &b);
	render_durations(m, &b);
	render_queue_times(m, &b);
	render_accept_queues(m, &b);
	render_listener_counters(m, &b);
	sum_self_counters(m, &self);
	render_self(m, &b, &self);
	pthread_mutex_unlock(&m->targets->lock);
	render_process(&b);
	pthread_mutex_unlock(&m->lock);
	return text_buffer_release(&b, length);
}
