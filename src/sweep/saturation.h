/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_SWEEP_SATURATION_H
#define RUNWAY_SWEEP_SATURATION_H

#include <stdbool.h>
#include <stddef.h>

#include "sweep_step.h"

/*
 * Saturation: the smallest step concurrency c (not the last step) such that
 * at EVERY later step c' (r = c'/c):
 *   - throughput gained less than a quarter of the ideal:
 *       rps(c') < rps(c) * (1 + SATURATION_MIN_GAIN * (r - 1)), and
 *   - the p95 latency grew by at least half the concurrency's growth:
 *       p95(c') >= p95(c) * (1 + SATURATION_MIN_LATENCY_GROWTH * (r - 1))
 *     (a later step without any response counts as slower).
 *
 * Why: below saturation, r times the clients give r times the throughput at
 * the same latency; past it, throughput stays flat and, by Little's law,
 * latency grows r times.  Throughput alone is noisy on a shared machine, and
 * a server that answers extra clients with errors stalls without slowing;
 * requiring both, at every later step, means one slow step (a dip) neither
 * makes nor hides a saturation point.  The p95 because it is the latency
 * users set targets on (the seed's rule used it too) and because the median
 * lags when the spread widens: in the seed's own example, from 4 to 8
 * clients its p50 rose 1.3 times and its p95 1.7 times.
 */
#define SATURATION_MIN_GAIN 0.25
#define SATURATION_MIN_LATENCY_GROWTH 0.5

/* The recommended autoscaling threshold, as a fraction of the saturation
 * concurrency: at 75 % a pod still has a third more load to take while the
 * new pods start (30-60 s), and the HPA's 10 % tolerance stays inside that
 * margin. */
#define SATURATION_THRESHOLD_FRACTION 0.75

struct saturation {
	bool saturated;
	size_t step;           /* index of the saturation step, if saturated */
	unsigned concurrency;  /* its concurrency */
	double threshold;      /* SATURATION_THRESHOLD_FRACTION * concurrency, NAN if not saturated */
	/* For the Little's-law formula when not saturated: the last step that
	 * has responses, or -1 when none has. */
	long reference_step;
};

void saturation_find(const struct sweep_step *steps, size_t count, struct saturation *out);

#endif
