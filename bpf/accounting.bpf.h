/* SPDX-License-Identifier: MIT */
/*
 * Turning request transitions into counters.  Every update is an atomic add:
 * a program in process context can be interrupted by one in softirq on the
 * same CPU, so even per-CPU values need it.
 *
 * These are global BPF functions with scalar arguments: the verifier checks
 * each once on its own rather than at every place the framing loops reach
 * them, and a call to one is a direct call.
 */
#ifndef RUNWAY_ACCOUNTING_BPF_H
#define RUNWAY_ACCOUNTING_BPF_H

#include "maps.bpf.h"

static __always_inline struct target_counters *counters_of(__u32 slot)
{
	return bpf_map_lookup_elem(&target_counters, &slot);
}

static __always_inline void event_add(struct event_sum *e, __u64 at_ns)
{
	__sync_fetch_and_add(&e->count, 1);
	__sync_fetch_and_add(&e->ns_sum, at_ns);
}

enum request_event {
	EVENT_ARRIVED,
	EVENT_READ,
	EVENT_FINISHED,
	EVENT_ABANDONED,
};

static __always_inline void request_events_add(struct request_events *e, __u32 which, __u64 at_ns)
{
	switch (which) {
	case EVENT_ARRIVED:
		event_add(&e->arrived, at_ns);
		break;
	case EVENT_READ:
		event_add(&e->read, at_ns);
		break;
	case EVENT_FINISHED:
		event_add(&e->finished, at_ns);
		break;
	default:
		event_add(&e->abandoned, at_ns);
		break;
	}
}

/* One event of a request, in its target's gauges and in its route group's
 * (route: group + 1, 0 for none). */
__noinline int account_event(__u32 slot, __u32 route, __u32 which, __u64 at_ns)
{
	struct target_counters *c = counters_of(slot);

	if (c)
		request_events_add(&c->requests, which, at_ns);
	if (route) {
		struct route_key key = { .target = slot, .route = route };
		struct request_events *e = bpf_map_lookup_elem(&route_events, &key);

		if (!e) {
			void *zero = zeroed_value();

			/* Another CPU may create it first: then ours fails, theirs is used. */
			if (zero)
				bpf_map_update_elem(&route_events, &key, zero, BPF_NOEXIST);
			e = bpf_map_lookup_elem(&route_events, &key);
		}
		if (e)
			request_events_add(e, which, at_ns);
	}
	return 0;
}

static __always_inline void count_event(__u32 slot, const struct request_info *r, __u32 which, __u64 at_ns)
{
	if (!(r->flags & REQUEST_EXCLUDED))
		account_event(slot, r->route, which, at_ns);
}

/* The self-counters of target_counters after its request events, by their
 * index among its __u64 words. */
#define COUNTER_INDEX(field) (__u32)(__builtin_offsetof(struct target_counters, field) / sizeof(__u64))
#define COUNTER_WORDS (__u32)(sizeof(struct target_counters) / sizeof(__u64))

__noinline int account_counter(__u32 slot, __u32 index)
{
	__u64 *words = (__u64 *)counters_of(slot);

	if (words && index < COUNTER_WORDS)
		__sync_fetch_and_add(&words[index], 1);
	return 0;
}

static __always_inline void count_untracked(__u32 slot, __u32 reason)
{
	if (reason < UNTRACK_REASON_COUNT)
		account_counter(slot, COUNTER_INDEX(untracked) + reason);
}

static __always_inline void count_inexact(__u32 slot, __u32 reason)
{
	if (reason < INEXACT_REASON_COUNT)
		account_counter(slot, COUNTER_INDEX(inexact) + reason);
}

static __always_inline void count_unserved(__u32 slot, __u32 reason)
{
	if (reason < UNSERVED_REASON_COUNT)
		account_counter(slot, COUNTER_INDEX(unserved) + reason);
}

static __always_inline void count_lost(__u32 slot)
{
	account_counter(slot, COUNTER_INDEX(requests_lost));
}

static __always_inline void histogram_observe(struct latency_histogram *h, __u64 ns)
{
	__u32 bucket = latency_bucket(ns);

	if (bucket < LATENCY_BUCKET_COUNT)
		__sync_fetch_and_add(&h->buckets[bucket], 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
}

/* An answered request: runway_requests_total and, if the server started on
 * it (server_ns != ~0), its server time. */
__noinline int account_answer(__u32 slot, __u32 method, __u32 status, __u64 server_ns)
{
	struct status_key skey = { .target = slot, .status = status, .method = method };
	struct method_key mkey = { .target = slot, .method = method };
	struct latency_histogram *h;
	__u64 one = 1, *count;

	count = bpf_map_lookup_elem(&requests_by_status, &skey);
	if (count) {
		__sync_fetch_and_add(count, 1);
	} else if (bpf_map_update_elem(&requests_by_status, &skey, &one, BPF_NOEXIST) != 0) {
		/* Another CPU created it first, or the map is full. */
		count = bpf_map_lookup_elem(&requests_by_status, &skey);
		if (count)
			__sync_fetch_and_add(count, 1);
		else
			count_lost(slot);
	}
	if (server_ns == ~0ULL)
		return 0;
	h = bpf_map_lookup_elem(&request_durations, &mkey);
	if (!h) {
		void *zero = zeroed_value();

		if (zero)
			bpf_map_update_elem(&request_durations, &mkey, zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&request_durations, &mkey);
	}
	if (h)
		histogram_observe(h, server_ns);
	return 0;
}

__noinline int account_queue_time(__u32 slot, __u64 ns)
{
	struct latency_histogram *h = bpf_map_lookup_elem(&queue_durations, &slot);

	if (h)
		histogram_observe(h, ns);
	return 0;
}

static __always_inline void observe_queue_time(__u32 slot, const struct request_info *r, __u64 ns)
{
	if (!(r->flags & REQUEST_EXCLUDED))
		account_queue_time(slot, ns);
}

#endif /* RUNWAY_ACCOUNTING_BPF_H */
