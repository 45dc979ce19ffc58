// SPDX-License-Identifier: MIT
/*
 * runway-sweep's saturation rule (src/sweep/saturation.h) on synthetic step
 * tables: where it must find the knee, and where noise must not fake one.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "saturation.h"

#define MAX_STEPS 16

/* A table from concurrency, rps and p95 (ms) columns; every step had
 * responses unless its rps is 0. */
struct table {
	struct sweep_step steps[MAX_STEPS];
	size_t count;
};

static void make(struct table *t, size_t count, const unsigned *concurrency, const double *rps, const double *p95_ms)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->count = count;
	for (i = 0; i < count; i++) {
		struct sweep_step *s = &t->steps[i];

		s->concurrency = concurrency[i];
		s->seconds = 4;
		s->rps = rps[i];
		s->responses = (long)(rps[i] * s->seconds);
		s->p50 = s->responses ? p95_ms[i] / 1.2e3 : NAN;
		s->p95 = s->responses ? p95_ms[i] / 1e3 : NAN;
		s->p99 = s->responses ? 1.1 * p95_ms[i] / 1e3 : NAN;
		s->client_concurrency = concurrency[i];
		s->in_flight = s->queued = NAN;
	}
}

static const unsigned powers[] = { 1, 2, 4, 8, 16, 32, 64 };

static struct saturation find(const struct table *t)
{
	struct saturation s;

	saturation_find(t->steps, t->count, &s);
	return s;
}

/* A GIL-bound route: one request's worth of CPU at a time.  Throughput is
 * flat from the first step and latency doubles with every doubling. */
static void test_gil_bound_saturates_at_one(void **state)
{
	const double rps[] = { 45, 47, 46, 46, 47 };
	const double p95[] = { 22, 42, 86, 170, 340 };
	struct table t;
	struct saturation s;

	(void)state;
	make(&t, 5, powers, rps, p95);
	s = find(&t);
	assert_true(s.saturated);
	assert_int_equal(s.step, 0);
	assert_int_equal(s.concurrency, 1);
	assert_true(fabs(s.threshold - 0.75) < 1e-12);
}

/* The seed's example output for a CPU-bound endpoint: the seed says ~4
 * with threshold 3 (from p95 crossing twice its baseline); this rule finds
 * the same point from throughput and p95 together. */
static void test_seed_example_saturates_at_four(void **state)
{
	const double rps[] = { 6.6, 9.3, 11.8, 13.7, 13.5 };
	const double p95[] = { 152, 215, 340, 584, 1184 };
	struct table t;
	struct saturation s;

	(void)state;
	make(&t, 5, powers, rps, p95);
	s = find(&t);
	assert_true(s.saturated);
	assert_int_equal(s.concurrency, 4);
	assert_true(fabs(s.threshold - 3.0) < 1e-12);
}

/* A thread pool of 8: perfect scaling to 8, flat after. */
static void test_knee_at_eight(void **state)
{
	const double rps[] = { 100, 200, 400, 790, 800, 805, 798 };
	const double p95[] = { 10, 10, 10, 10.1, 20, 40, 80 };
	struct table t;
	struct saturation s;

	(void)state;
	make(&t, 7, powers, rps, p95);
	s = find(&t);
	assert_true(s.saturated);
	assert_int_equal(s.step, 3);
	assert_int_equal(s.concurrency, 8);
	assert_true(fabs(s.threshold - 6.0) < 1e-12);
}

/* Async I/O: throughput doubles, latency flat, up to the last step.  The
 * reference for Little's law is the last step. */
static void test_async_never_saturates(void **state)
{
	const double rps[] = { 10, 20, 40, 80, 160, 318, 630 };
	const double p95[] = { 100, 100, 100, 101, 101, 102, 103 };
	struct table t;
	struct saturation s;

	(void)state;
	make(&t, 7, powers, rps, p95);
	s = find(&t);
	assert_false(s.saturated);
	assert_true(isnan(s.threshold));
	assert_int_equal(s.reference_step, 6);
}

/* Async I/O measured on a busy machine: +-15 % on throughput, latency
 * jitter of a third, and still no saturation. */
static void test_noisy_async_does_not_saturate(void **state)
{
	const double rps[] = { 10, 17.5, 46, 70, 182, 280, 700 };
	const double p95[] = { 100, 133, 95, 128, 100, 131, 99 };
	struct table t;

	(void)state;
	make(&t, 7, powers, rps, p95);
	assert_false(find(&t).saturated);
}

/* Saturating at 4 with noise after the knee: throughput wanders +-10 %
 * around its plateau.  The knee is still 4. */
static void test_noisy_knee(void **state)
{
	const double rps[] = { 100, 195, 380, 410, 352, 420, 395 };
	const double p95[] = { 10, 10.3, 10.5, 19.5, 45, 76, 160 };
	struct table t;
	struct saturation s;

	(void)state;
	make(&t, 7, powers, rps, p95);
	s = find(&t);
	assert_true(s.saturated);
	assert_int_equal(s.concurrency, 4);
}

/* One slow step (a neighbour took the CPU for a while) in an unsaturated
 * sweep: throughput dips and latency rises at 4, both recover at 8.  A dip
 * is not a knee. */
static void test_a_dip_is_not_saturation(void **state)
{
	const double rps[] = { 100, 200, 150, 400, 800, 1600 };
	const double p95[] = { 10, 10, 26, 10, 10, 10 };
	struct table t;

	(void)state;
	make(&t, 6, powers, rps, p95);
	assert_false(find(&t).saturated);
}

/* A dip at the knee itself: the rule takes the next step that holds. */
static void test_a_dip_at_the_knee_moves_it_up(void **state)
{
	const double rps[] = { 100, 200, 300, 420, 410 };
	const double p95[] = { 10, 10, 13, 19, 39 };
	struct table t;
	struct saturation s;

	(void)state;
	make(&t, 5, powers, rps, p95);
	s = find(&t);
	assert_true(s.saturated);
	assert_int_equal(s.concurrency, 8);
}

/* Saturation needs a step beyond it: a knee at the last step is unseen. */
static void test_the_last_step_cannot_be_the_knee(void **state)
{
	const double rps[] = { 100, 200, 400, 800 };
	const double p95[] = { 10, 10, 10, 10 };
	const double one_rps[] = { 45 };
	const double one_p95[] = { 22 };
	struct table t;

	(void)state;
	make(&t, 4, powers, rps, p95);
	assert_false(find(&t).saturated);
	make(&t, 1, powers, one_rps, one_p95);
	assert_false(find(&t).saturated);
	assert_int_equal(find(&t).reference_step, 0);
	make(&t, 0, powers, one_rps, one_p95);
	assert_false(find(&t).saturated);
	assert_int_equal(find(&t).reference_step, -1);
}

/* Throughput flat but latency flat too: the server answers more clients
 * no slower, so it is not saturated (in a closed loop this means the extra
 * clients got errors, not responses). */
static void test_flat_throughput_without_latency_growth_is_not_saturation(void **state)
{
	const double rps[] = { 100, 200, 205, 203, 204 };
	const double p95[] = { 10, 10, 10, 10.5, 10 };
	struct table t;

	(void)state;
	make(&t, 5, powers, rps, p95);
	assert_false(find(&t).saturated);
}

/* A step with no response at all (the route is slower than the step)
 * counts as slower than anything, never as a reference. */
static void test_steps_without_responses(void **state)
{
	const double rps[] = { 0, 10, 10.5, 0 };
	const double p95[] = { 0, 100, 190, 0 };
	struct table t;
	struct saturation s;

	(void)state;
	make(&t, 4, powers, rps, p95);
	s = find(&t);
	assert_true(s.saturated);
	assert_int_equal(s.concurrency, 2);
	assert_int_equal(s.reference_step, 2);
}

/* The last step may be N itself, no power of two: the ratio is what counts.
 * From 8 to 10 (r = 1.25) a saturated server gains nothing and its latency
 * grows by a quarter: past the knee.  An unsaturated one gains a quarter. */
static void test_uneven_last_step(void **state)
{
	const unsigned levels[] = { 1, 2, 4, 8, 10 };
	const double saturated_rps[] = { 100, 200, 400, 800, 805 };
	const double saturated_p95[] = { 10, 10, 10, 10, 12.5 };
	const double scaling_rps[] = { 100, 200, 400, 800, 1000 };
	const double scaling_p95[] = { 10, 10, 10, 10, 10 };
	struct table t;

	(void)state;
	make(&t, 5, levels, saturated_rps, saturated_p95);
	assert_true(find(&t).saturated);
	assert_int_equal(find(&t).concurrency, 8);
	make(&t, 5, levels, scaling_rps, scaling_p95);
	assert_false(find(&t).saturated);
}

/* Either side of the two boundaries (doubling: a throughput gain of 25 %,
 * a p95 growth of 50 %). */
static void test_boundaries(void **state)
{
	const double scaling_rps[] = { 100, 125.1 };
	const double stalled_rps[] = { 100, 124.9 };
	const double slower_p95[] = { 10, 15.01 };
	const double not_slower_p95[] = { 10, 14.99 };
	struct table t;

	(void)state;
	make(&t, 2, powers, scaling_rps, slower_p95);
	assert_false(find(&t).saturated);
	make(&t, 2, powers, stalled_rps, slower_p95);
	assert_true(find(&t).saturated);
	make(&t, 2, powers, stalled_rps, not_slower_p95);
	assert_false(find(&t).saturated);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gil_bound_saturates_at_one),
		cmocka_unit_test(test_seed_example_saturates_at_four),
		cmocka_unit_test(test_knee_at_eight),
		cmocka_unit_test(test_async_never_saturates),
		cmocka_unit_test(test_noisy_async_does_not_saturate),
		cmocka_unit_test(test_noisy_knee),
		cmocka_unit_test(test_a_dip_is_not_saturation),
		cmocka_unit_test(test_a_dip_at_the_knee_moves_it_up),
		cmocka_unit_test(test_the_last_step_cannot_be_the_knee),
		cmocka_unit_test(test_flat_throughput_without_latency_growth_is_not_saturation),
		cmocka_unit_test(test_steps_without_responses),
		cmocka_unit_test(test_uneven_last_step),
		cmocka_unit_test(test_boundaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
