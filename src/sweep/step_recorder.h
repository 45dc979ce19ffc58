/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_SWEEP_STEP_RECORDER_H
#define RUNWAY_SWEEP_STEP_RECORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "sweep_step.h"

/* Collects the responses of one step's measured window [start, end]. */
struct step_recorder {
	bool active;           /* responses before step_recorder_begin() count for nothing */
	double start;
	double *latencies;     /* of the 2xx/3xx responses that ended in the window */
	size_t count, capacity;
	long other_statuses;   /* 1xx never reach here; 4xx and 5xx do */
	double busy;           /* request-seconds outstanding inside the window */
	bool out_of_memory;
};

void step_recorder_begin(struct step_recorder *r, double start);
/* A response that ended at `end`; its request started at `start`. */
void step_recorder_response(struct step_recorder *r, double start, double end, int status);
/* A request still outstanding when the window closes at `end`. */
void step_recorder_open(struct step_recorder *r, double start, double end);
/* Fills `step` (all but concurrency, in_flight and queued) for the window
 * that closed at `end`, with `errors` failed attempts, and stops recording.
 * Returns -1 if the latencies did not fit in memory. */
int step_recorder_finish(struct step_recorder *r, double end, long errors, struct sweep_step *step);
void step_recorder_free(struct step_recorder *r);

/* The nearest-rank percentile (0 < p <= 100) of n sorted values: the
 * smallest value that at least p % of them do not exceed.  NAN when n == 0. */
double percentile_of_sorted(const double *sorted, size_t n, double p);

#endif
