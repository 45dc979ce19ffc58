/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_SWEEP_REPORT_H
#define RUNWAY_SWEEP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "saturation.h"
#include "sweep_step.h"

struct sweep_report {
	const char *url;
	double step_seconds;
	double warmup_seconds;
	bool with_metrics;     /* daemon columns */
	bool interrupted;      /* Ctrl-C: the steps measured so far */
	const struct sweep_step *steps;
	size_t step_count;
	const struct saturation *saturation;
};

/* The table, the saturation verdict and the threshold (or Little's law). */
void report_table(FILE *out, const struct sweep_report *r);

/* One JSON object:
 * {"url", "saturated", "saturation_concurrency", "threshold", "threshold_fraction",
 *  "interrupted", "steps": [{"concurrency", "rps", "p50", "p95", "p99", "in_flight",
 *  "queued", "client_concurrency", "responses", "errors", "seconds"}...]};
 * unmeasured numbers are null. */
void report_json(FILE *out, const struct sweep_report *r);

#endif
