// SPDX-License-Identifier: MIT
#include <math.h>
#include <stdlib.h>

#include "step_recorder.h"

void step_recorder_begin(struct step_recorder *r, double start)
{
	r->active = true;
	r->start = start;
	r->count = 0;
	r->other_statuses = 0;
	r->busy = 0;
	r->out_of_memory = false;
}

/* The part of [start, end] inside the window, which is open at its end. */
static double overlap(const struct step_recorder *r, double start, double end)
{
	double from = start > r->start ? start : r->start;

	return end > from ? end - from : 0;
}

void step_recorder_response(struct step_recorder *r, double start, double end, int status)
{
	if (!r->active || end < r->start)
		return;
	r->busy += overlap(r, start, end);
	if (status < 200 || status >= 400) {
		r->other_statuses++;
		return;
	}
	if (r->count == r->capacity) {
		size_t capacity = r->capacity ? r->capacity * 2 : 4096;
		double *grown = realloc(r->latencies, capacity * sizeof(*grown));

		if (!grown) {
			r->out_of_memory = true;
			return;
		}
		r->latencies = grown;
		r->capacity = capacity;
	}
	r->latencies[r->count++] = end - start;
}

void step_recorder_open(struct step_recorder *r, double start, double end)
{
	if (r->active)
		r->busy += overlap(r, start, end);
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double percentile_of_sorted(const double *sorted, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return NAN;
	/* ceil(p/100 * n), computed so that 95 % of 100 is exactly 95. */
	rank = (size_t)ceil(p * (double)n / 100.0 - 1e-9);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static double mean_of(const double *values, size_t n)
{
	double sum = 0;
	size_t i;

	if (n == 0)
		return NAN;
	for (i = 0; i < n; i++)
		sum += values[i];
	return sum / (double)n;
}

int step_recorder_finish(struct step_recorder *r, double end, long errors, struct sweep_step *step)
{
	double seconds = end - r->start;

	r->active = false;
	qsort(r->latencies, r->count, sizeof(*r->latencies), compare_doubles);
	step->seconds = seconds;
	step->responses = r->count;
	step->errors = errors + r->other_statuses;
	step->rps = seconds > 0 ? r->count / seconds : NAN;
	step->mean = mean_of(r->latencies, r->count);
	step->p50 = percentile_of_sorted(r->latencies, r->count, 50);
	step->p95 = percentile_of_sorted(r->latencies, r->count, 95);
	step->p99 = percentile_of_sorted(r->latencies, r->count, 99);
	step->client_concurrency = seconds > 0 ? r->busy / seconds : NAN;
	return r->out_of_memory ? -1 : 0;
}

void step_recorder_free(struct step_recorder *r)
{
	free(r->latencies);
	r->latencies = NULL;
	r->count = r->capacity = 0;
}
