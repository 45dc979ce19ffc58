// SPDX-License-Identifier: MIT
/* The Prometheus text exposition (format 0.0.4). */
#include <errno.h>
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

int metrics_init(struct metrics_context *m, const struct probes *p, __u32 slot,
		 const struct target *t, const char *hooks)
{
	memset(m, 0, sizeof(*m));
	probes_maps(p, &m->maps);
	m->cpu_count = libbpf_num_possible_cpus();
	if (m->cpu_count <= 0)
		return -1;
	m->slot = slot;
	m->target = t;
	m->queue_metrics = p->read_hook;
	m->hooks = hooks;
	m->percpu_words = sizeof(struct target_counters) > sizeof(struct latency_histogram) ?
				  sizeof(struct target_counters) / sizeof(__u64) :
				  sizeof(struct latency_histogram) / sizeof(__u64);
	m->percpu_values = calloc((size_t)m->cpu_count * m->percpu_words, sizeof(__u64));
	if (!m->percpu_values)
		return -1;
	return pthread_mutex_init(&m->lock, NULL) ? -1 : 0;
}

void metrics_set_listen_ports(struct metrics_context *m, const unsigned short *ports, size_t count)
{
	if (count > TARGET_MAX_PORTS)
		count = TARGET_MAX_PORTS;
	pthread_mutex_lock(&m->lock);
	memcpy(m->listen_ports, ports, count * sizeof(ports[0]));
	m->listen_port_count = count;
	pthread_mutex_unlock(&m->lock);
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

static void render_histogram(struct text_buffer *b, const char *name, const char *labels,
			     const struct latency_histogram *h)
{
	static const char *const bounds[] = LATENCY_BOUNDS_TEXT;
	const char *comma = labels[0] ? "," : "";
	__u64 cumulative = 0;
	int i;

	for (i = 0; i < LATENCY_FINITE_BUCKETS; i++) {
		cumulative += h->buckets[i];
		text_buffer_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, comma, bounds[i],
				   (unsigned long long)cumulative);
	}
	cumulative += h->buckets[LATENCY_FINITE_BUCKETS];
	text_buffer_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, comma,
			   (unsigned long long)cumulative);
	text_buffer_printf(b, "%s_sum%s%s%s %.9f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
			   h->sum_ns / NS_PER_SECOND);
	text_buffer_printf(b, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
			   labels[0] ? "}" : "", (unsigned long long)cumulative);
}

struct status_count {
	struct status_key key;
	__u64 count;
};

static int compare_status_counts(const void *a, const void *b)
{
	const struct status_count *x = a, *y = b;

	if (x->key.method != y->key.method)
		return x->key.method - y->key.method;
	return x->key.status - y->key.status;
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
		if (key.target != m->slot)
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

		text_buffer_printf(b, "runway_requests_total{method=\"%s\",status=\"%03u\"} %llu\n",
				   method_names[method], rows[i].key.status,
				   (unsigned long long)rows[i].count);
	}
	free(rows);
}

static void render_durations(struct metrics_context *m, struct text_buffer *b)
{
	struct latency_histogram h;
	char labels[32];
	__u32 method;

	header(b, "runway_request_duration_seconds", "histogram",
	       "Server time of a request: from its first read by the server to its last response byte sent.");
	for (method = 0; method < HTTP_METHOD_COUNT; method++) {
		struct method_key key = { .target = m->slot, .method = method };
		__u64 total = 0;
		int i;

		if (lookup_percpu_sum(m, m->maps.request_durations, &key, (__u64 *)&h, WORDS_OF(h)))
			continue;
		for (i = 0; i < LATENCY_BUCKET_COUNT; i++)
			total += h.buckets[i];
		if (!total)
			continue;
		snprintf(labels, sizeof(labels), "method=\"%s\"", method_names[method]);
		render_histogram(b, "runway_request_duration_seconds", labels, &h);
	}
}

static void render_gauges(struct metrics_context *m, struct text_buffer *b, const struct target_counters *c)
{
	struct gauge_counters in_flight = in_flight_gauge(&c->requests), queued = queued_gauge(&c->requests);
	__u64 now = monotonic_now_ns();

	header(b, "runway_requests_in_flight", "gauge",
	       "Requests the server has begun to read and not finished answering.");
	text_buffer_printf(b, "runway_requests_in_flight %llu\n", (unsigned long long)gauge_value(&in_flight));
	header(b, "runway_requests_in_flight_seconds_total", "counter",
	       "Integral of runway_requests_in_flight over time: rate() of it is the exact mean.");
	text_buffer_printf(b, "runway_requests_in_flight_seconds_total %.9f\n",
			   gauge_integral_ns(&in_flight, now, &m->last_in_flight_integral_ns) / NS_PER_SECOND);
	if (!m->queue_metrics)
		return;
	header(b, "runway_requests_queued", "gauge",
	       "Requests whose bytes reached the kernel but that the server has not read yet.");
	text_buffer_printf(b, "runway_requests_queued %llu\n", (unsigned long long)gauge_value(&queued));
	header(b, "runway_requests_queued_seconds_total", "counter",
	       "Integral of runway_requests_queued over time: rate() of it is the exact mean.");
	text_buffer_printf(b, "runway_requests_queued_seconds_total %.9f\n",
			   gauge_integral_ns(&queued, now, &m->last_queued_integral_ns) / NS_PER_SECOND);
}

/* The seed's runway_requests_in_flight_by_route{route}, with the queued
 * count and the integrals beside it; every group, with traffic or not. */
static void render_route_gauges(struct metrics_context *m, struct text_buffer *b)
{
	struct request_events events[ROUTE_GROUPS_MAX];
	__u64 now = monotonic_now_ns();
	size_t i, count = m->route_group_count;

	if (!count)
		return;
	for (i = 0; i < count && i < ROUTE_GROUPS_MAX; i++) {
		struct route_key key = { .target = m->slot, .route = (__u32)i + 1 };

		if (lookup_percpu_sum(m, m->maps.route_events, &key, (__u64 *)&events[i], WORDS_OF(events[i])))
			memset(&events[i], 0, sizeof(events[i]));
	}
	header(b, "runway_requests_in_flight_by_route", "gauge",
	       "Requests in flight (see runway_requests_in_flight), by route group (--route-group).");
	for (i = 0; i < count; i++) {
		struct gauge_counters g = in_flight_gauge(&events[i]);

		text_buffer_printf(b, "runway_requests_in_flight_by_route{route=\"%s\"} %llu\n", m->route_groups[i].name,
				   (unsigned long long)gauge_value(&g));
	}
	header(b, "runway_requests_in_flight_by_route_seconds_total", "counter",
	       "Integral of runway_requests_in_flight_by_route over time: rate() of it is the exact mean.");
	for (i = 0; i < count; i++) {
		struct gauge_counters g = in_flight_gauge(&events[i]);

		text_buffer_printf(b, "runway_requests_in_flight_by_route_seconds_total{route=\"%s\"} %.9f\n",
				   m->route_groups[i].name,
				   gauge_integral_ns(&g, now, &m->last_route_in_flight_integral_ns[i]) / NS_PER_SECOND);
	}
	if (!m->queue_metrics)
		return;
	header(b, "runway_requests_queued_by_route", "gauge",
	       "Requests queued in the kernel (see runway_requests_queued), by route group (--route-group).");
	for (i = 0; i < count; i++) {
		struct gauge_counters g = queued_gauge(&events[i]);

		text_buffer_printf(b, "runway_requests_queued_by_route{route=\"%s\"} %llu\n", m->route_groups[i].name,
				   (unsigned long long)gauge_value(&g));
	}
	header(b, "runway_requests_queued_by_route_seconds_total", "counter",
	       "Integral of runway_requests_queued_by_route over time: rate() of it is the exact mean.");
	for (i = 0; i < count; i++) {
		struct gauge_counters g = queued_gauge(&events[i]);

		text_buffer_printf(b, "runway_requests_queued_by_route_seconds_total{route=\"%s\"} %.9f\n",
				   m->route_groups[i].name,
				   gauge_integral_ns(&g, now, &m->last_route_queued_integral_ns[i]) / NS_PER_SECOND);
	}
}

static void render_queue_times(struct metrics_context *m, struct text_buffer *b)
{
	struct latency_histogram h;

	if (!m->queue_metrics)
		return;
	if (lookup_percpu_sum(m, m->maps.queue_durations, &m->slot, (__u64 *)&h, WORDS_OF(h)))
		return;
	header(b, "runway_request_queue_seconds", "histogram",
	       "Kernel time of a request: from its arrival in the kernel to the server's first read of it.");
	render_histogram(b, "runway_request_queue_seconds", "", &h);
}

static void render_accept_queues(struct metrics_context *m, struct text_buffer *b)
{
	struct accept_queue queues[TARGET_MAX_PORTS];
	struct listen_overflow_counts counts;
	int count, i;

	if (!m->netns)
		return;
	count = netns_read_accept_queues(m->netns, m->listen_ports, m->listen_port_count, queues, TARGET_MAX_PORTS);
	if (count > 0) {
		header(b, "runway_accept_queue_depth", "gauge",
		       "Connections the kernel has established on the port and the server has not accepted yet.");
		for (i = 0; i < count; i++)
			text_buffer_printf(b, "runway_accept_queue_depth{port=\"%u\"} %u\n", queues[i].port,
					   queues[i].depth);
		header(b, "runway_accept_queue_limit", "gauge",
		       "Accept queue limit of the port (the listen backlog); the kernel drops new connections beyond it.");
		for (i = 0; i < count; i++)
			text_buffer_printf(b, "runway_accept_queue_limit{port=\"%u\"} %u\n", queues[i].port,
					   queues[i].limit);
	}
	if (netns_read_listen_counts(m->netns, &counts) == 0) {
		header(b, "runway_listen_overflows_total", "counter",
		       "TcpExt ListenOverflows of the target's network namespace: packets dropped at a full accept queue.");
		text_buffer_printf(b, "runway_listen_overflows_total %llu\n",
				   (unsigned long long)counts.listen_overflows);
		header(b, "runway_listen_drops_total", "counter",
		       "TcpExt ListenDrops of the target's network namespace: connection requests a listener dropped, for any reason.");
		text_buffer_printf(b, "runway_listen_drops_total %llu\n", (unsigned long long)counts.listen_drops);
	}
}

static int compare_listeners(const void *a, const void *b)
{
	const struct listener_key *x = a, *y = b;

	return x->port - y->port;
}

static void render_listener_counters(struct metrics_context *m, struct text_buffer *b)
{
	struct listener_key keys[TARGET_MAX_PORTS], key, next;
	struct listener_counters counts[TARGET_MAX_PORTS];
	size_t count = 0, i;
	void *previous = NULL;

	while (count < TARGET_MAX_PORTS &&
	       bpf_map_get_next_key(m->maps.listener_counters, previous, &next) == 0) {
		key = next;
		previous = &key;
		if (key.target == m->slot)
			keys[count++] = key;
	}
	/* Counters start at 0 for every listening port, not at the first SYN:
	 * rate() then has a first sample to start from. */
	for (i = 0; i < m->listen_port_count && count < TARGET_MAX_PORTS; i++) {
		size_t k;

		for (k = 0; k < count && keys[k].port != m->listen_ports[i]; k++)
			;
		if (k == count)
			keys[count++] = (struct listener_key){ .target = m->slot, .port = m->listen_ports[i] };
	}
	qsort(keys, count, sizeof(keys[0]), compare_listeners);
	for (i = 0; i < count; i++)
		if (lookup_percpu_sum(m, m->maps.listener_counters, &keys[i], (__u64 *)&counts[i],
				      WORDS_OF(counts[i])))
			memset(&counts[i], 0, sizeof(counts[i]));
	header(b, "runway_accept_queue_overflows_total", "counter",
	       "SYNs and handshake-completing ACKs that reached the port while its accept queue was full: the kernel drops them.");
	for (i = 0; i < count; i++)
		text_buffer_printf(b, "runway_accept_queue_overflows_total{port=\"%u\"} %llu\n", keys[i].port,
				   (unsigned long long)counts[i].overflows);
	header(b, "runway_connection_requests_total", "counter", "SYNs that reached the port's listening socket.");
	for (i = 0; i < count; i++)
		text_buffer_printf(b, "runway_connection_requests_total{port=\"%u\"} %llu\n", keys[i].port,
				   (unsigned long long)counts[i].syns);
}

static void render_self(struct metrics_context *m, struct text_buffer *b, const struct target_counters *c)
{
	int reason;

	header(b, "runway_bpfd_build_info", "gauge", "runway-bpfd version and the kernel hooks in use.");
	text_buffer_printf(b, "runway_bpfd_build_info{version=\"%s\",hooks=\"%s\"} 1\n", RUNWAY_VERSION, m->hooks);
	header(b, "runway_bpfd_targets", "gauge", "Targets (servers or pods) watched.");
	text_buffer_printf(b, "runway_bpfd_targets 1\n");
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
	struct target_counters counters;
	struct text_buffer b;
	char *out;

	text_buffer_init(&b);
	pthread_mutex_lock(&m->lock);
	if (lookup_percpu_sum(m, m->maps.target_counters, &m->slot, (__u64 *)&counters, WORDS_OF(counters)))
		memset(&counters, 0, sizeof(counters));
	render_gauges(m, &b, &counters);
	render_route_gauges(m, &b);
	render_requests_total(m, &b);
	render_durations(m, &b);
	render_queue_times(m, &b);
	render_accept_queues(m, &b);
	render_listener_counters(m, &b);
	render_self(m, &b, &counters);
	render_process(&b);
	pthread_mutex_unlock(&m->lock);
	out = text_buffer_release(&b, length);
	return out;
}
