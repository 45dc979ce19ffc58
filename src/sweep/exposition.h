/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_SWEEP_EXPOSITION_H
#define RUNWAY_SWEEP_EXPOSITION_H

#include <stddef.h>

/* Sums the samples of metric `name` (every label set) in Prometheus text
 * exposition.  Returns how many samples it summed: 0 when the metric is
 * absent (then *sum is 0), -1 when a sample of it has no readable value. */
long exposition_sum(const char *text, const char *name, double *sum);

#endif
