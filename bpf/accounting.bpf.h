/* SPDX-License-Identifier: MIT */
/* Turning request transitions into counters.  Every update is an atomic add:
 * a program in process context can be interrupted by one in softirq on the
 * same CPU, so even per-CPU values need it. */
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

static __always_inline void count_untracked(__u32 slot, __u32 reason)
{
	struct target_counters *c = counters_of(slot);

	if (c && reason < UNTRACK_REASON_COUNT)
		__sync_fetch_and_add(&c->untracked[reason], 1);
}

static __always_inline void histogram_observe(struct latency_histogram *h, __u64 ns)
{
	__u32 bucket = latency_bucket(ns);

	if (bucket < LATENCY_BUCKET_COUNT)
		__sync_fetch_and_add(&h->buckets[bucket], 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
}

static __always_inline void count_status(__u32 slot, __u32 method, __u32 status)
{
	struct status_key key = {
		.target = slot,
		.status = status,
		.method = method,
	};
	__u64 one = 1, *count;

	count = bpf_map_lookup_elem(&requests_by_status, &key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return;
	}
	if (bpf_map_update_elem(&requests_by_status, &key, &one, BPF_NOEXIST) == 0)
		return;
	/* Another CPU created it first, or the map is full. */
	count = bpf_map_lookup_elem(&requests_by_status, &key);
	if (count) {
		__sync_fetch_and_add(count, 1);
	} else {
		struct target_counters *c = counters_of(slot);

		if (c)
			__sync_fetch_and_add(&c->status_series_full, 1);
	}
}

static __always_inline void observe_duration(__u32 slot, __u32 method, __u64 ns)
{
	struct method_key key = { .target = slot, .method = method };
	struct latency_histogram *h = bpf_map_lookup_elem(&request_durations, &key);

	if (!h) {
		struct latency_histogram empty = {};

		/* Another CPU may create it first: then ours fails, theirs is used. */
		bpf_map_update_elem(&request_durations, &key, &empty, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&request_durations, &key);
		if (!h)
			return;
	}
	histogram_observe(h, ns);
}

static __always_inline void observe_queue_time(__u32 slot, __u64 ns)
{
	struct latency_histogram *h = bpf_map_lookup_elem(&queue_durations, &slot);

	if (h)
		histogram_observe(h, ns);
}

#endif /* RUNWAY_ACCOUNTING_BPF_H */
