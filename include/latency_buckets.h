/* SPDX-License-Identifier: MIT */
/*
 * Histogram buckets, shared by the BPF programs that count and the daemon that
 * prints them.  The bounds are prometheus_client's defaults, the ones
 * asgi-runway's runway_request_duration_seconds uses, so dashboards and
 * histogram_quantile() queries built on the seed keep working.
 */
#ifndef RUNWAY_LATENCY_BUCKETS_H
#define RUNWAY_LATENCY_BUCKETS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define LATENCY_FINITE_BUCKETS 14
#define LATENCY_BUCKET_COUNT (LATENCY_FINITE_BUCKETS + 1) /* + the +Inf bucket */

#define MS_NS 1000000ULL

/* Upper bounds in nanoseconds; a value equal to a bound belongs to it (le). */
#define LATENCY_BOUNDS_NS                                                      \
	{                                                                      \
		5 * MS_NS, 10 * MS_NS, 25 * MS_NS, 50 * MS_NS, 75 * MS_NS,     \
			100 * MS_NS, 250 * MS_NS, 500 * MS_NS, 750 * MS_NS,    \
			1000 * MS_NS, 2500 * MS_NS, 5000 * MS_NS,              \
			7500 * MS_NS, 10000 * MS_NS                            \
	}

/* The le="" text of each finite bound, as prometheus_client prints it. */
#define LATENCY_BOUNDS_TEXT                                                    \
	{                                                                      \
		"0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25",      \
			"0.5", "0.75", "1.0", "2.5", "5.0", "7.5", "10.0"      \
	}

/* Binary search over the 14 bounds: four comparisons, no loop for the
 * verifier to walk. */
static inline __u32 latency_bucket(__u64 ns)
{
	if (ns <= 100 * MS_NS) {
		if (ns <= 25 * MS_NS)
			return ns <= 5 * MS_NS ? 0 : ns <= 10 * MS_NS ? 1 : 2;
		return ns <= 50 * MS_NS ? 3 : ns <= 75 * MS_NS ? 4 : 5;
	}
	if (ns <= 1000 * MS_NS) {
		if (ns <= 500 * MS_NS)
			return ns <= 250 * MS_NS ? 6 : 7;
		return ns <= 750 * MS_NS ? 8 : 9;
	}
	if (ns <= 5000 * MS_NS)
		return ns <= 2500 * MS_NS ? 10 : 11;
	if (ns <= 10000 * MS_NS)
		return ns <= 7500 * MS_NS ? 12 : 13;
	return LATENCY_FINITE_BUCKETS;
}

#endif /* RUNWAY_LATENCY_BUCKETS_H */
