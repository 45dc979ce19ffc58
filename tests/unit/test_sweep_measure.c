// SPDX-License-Identifier: MIT
/*
 * What runway-sweep computes per step: percentiles, throughput and the
 * clients' own mean concurrency (src/sweep/step_recorder.c), and the
 * daemon's counters read from its exposition (src/sweep/exposition.c).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "exposition.h"
#include "step_recorder.h"

static void test_nearest_rank_percentiles(void **state)
{
	double values[100];
	const double three[] = { 1, 2, 3 };
	size_t i;

	(void)state;
	for (i = 0; i < 100; i++)
		values[i] = i + 1;
	/* Of 1..100, the p-th percentile is p itself. */
	assert_true(percentile_of_sorted(values, 100, 50) == 50);
	assert_true(percentile_of_sorted(values, 100, 95) == 95);
	assert_true(percentile_of_sorted(values, 100, 99) == 99);
	assert_true(percentile_of_sorted(values, 100, 100) == 100);
	/* Few samples: p95 and p99 of three are the largest, p50 the middle. */
	assert_true(percentile_of_sorted(three, 3, 50) == 2);
	assert_true(percentile_of_sorted(three, 3, 95) == 3);
	assert_true(percentile_of_sorted(three, 1, 99) == 1);
	assert_true(isnan(percentile_of_sorted(three, 0, 50)));
}

static void test_a_window(void **state)
{
	struct step_recorder r = { 0 };
	struct sweep_step s;

	(void)state;
	/* Before the window: counts for nothing. */
	step_recorder_response(&r, 0.0, 0.5, 200);
	step_recorder_begin(&r, 10.0);
	/* Two clients over [10, 12]:
	 * client A: [9.5, 10.5] 200, [10.5, 11.5] 200, [11.5, open at 12]
	 * client B: [9.0, 11.0] 503, [11.0, 11.9] 302, [11.9, open at 12] */
	step_recorder_response(&r, 9.5, 10.5, 200);
	step_recorder_response(&r, 9.0, 11.0, 503);
	step_recorder_response(&r, 10.5, 11.5, 200);
	step_recorder_response(&r, 11.0, 11.9, 302);
	step_recorder_open(&r, 11.5, 12.0);
	step_recorder_open(&r, 11.9, 12.0);
	assert_int_equal(step_recorder_finish(&r, 12.0, 3, &s), 0);
	assert_true(fabs(s.seconds - 2.0) < 1e-12);
	/* 2xx and 3xx are responses; the 503 is an error beside 3 failed attempts. */
	assert_int_equal(s.responses, 3);
	assert_int_equal(s.errors, 4);
	assert_true(fabs(s.rps - 1.5) < 1e-12);
	/* Latencies 0.9, 1.0, 1.0 (whole requests, even the part before the window). */
	assert_true(fabs(s.mean - 2.9 / 3) < 1e-12);
	assert_true(fabs(s.p50 - 1.0) < 1e-12);
	assert_true(fabs(s.p95 - 1.0) < 1e-12);
	/* Both clients had a request outstanding all the time: concurrency 2. */
	assert_true(fabs(s.client_concurrency - 2.0) < 1e-12);
	/* After finish: nothing recorded until the next begin. */
	step_recorder_response(&r, 12.0, 12.5, 200);
	step_recorder_begin(&r, 20.0);
	assert_int_equal(step_recorder_finish(&r, 21.0, 0, &s), 0);
	assert_int_equal(s.responses, 0);
	assert_true(isnan(s.p50));
	assert_true(isnan(s.mean));
	assert_true(s.rps == 0);
	assert_true(s.client_concurrency == 0);
	step_recorder_free(&r);
}

/* Many responses: the latencies array grows and the order does not matter. */
static void test_many_responses(void **state)
{
	struct step_recorder r = { 0 };
	struct sweep_step s;
	int i;

	(void)state;
	step_recorder_begin(&r, 0.0);
	for (i = 10000; i >= 1; i--)
		step_recorder_response(&r, 1.0, 1.0 + i / 1e4, 200);
	assert_int_equal(step_recorder_finish(&r, 10.0, 0, &s), 0);
	assert_int_equal(s.responses, 10000);
	assert_true(fabs(s.p50 - 0.5) < 1e-9);
	assert_true(fabs(s.mean - 0.50005) < 1e-9);
	assert_true(fabs(s.p99 - 0.99) < 1e-9);
	step_recorder_free(&r);
}

static const char exposition[] =
	"# HELP runway_requests_in_flight_seconds_total Integral.\n"
	"# TYPE runway_requests_in_flight_seconds_total counter\n"
	"runway_requests_in_flight_seconds_total 12.5\n"
	"runway_requests_in_flight_seconds_total_extra 99\n"
	"runway_requests_in_flight 3\n"
	"runway_requests_queued_seconds_total{pod=\"a\",note=\"x}y \\\"q\\\"\"} 1.25\n"
	"runway_requests_queued_seconds_total{pod=\"b\"} 2e-1 1700000000000\n";

static void test_exposition_sums(void **state)
{
	double sum;

	(void)state;
	assert_int_equal(exposition_sum(exposition, "runway_requests_in_flight_seconds_total", &sum), 1);
	assert_true(sum == 12.5);
	/* Label values with braces and quotes; a timestamp after the value. */
	assert_int_equal(exposition_sum(exposition, "runway_requests_queued_seconds_total", &sum), 2);
	assert_true(fabs(sum - 1.45) < 1e-12);
	assert_int_equal(exposition_sum(exposition, "runway_requests_in_flight", &sum), 1);
	assert_true(sum == 3);
	assert_int_equal(exposition_sum(exposition, "runway_absent", &sum), 0);
	assert_true(sum == 0);
	assert_int_equal(exposition_sum("x{a=\"1\" 2\n", "x", &sum), -1);
	assert_int_equal(exposition_sum("x oops\n", "x", &sum), -1);
	assert_int_equal(exposition_sum("", "x", &sum), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nearest_rank_percentiles),
		cmocka_unit_test(test_a_window),
		cmocka_unit_test(test_many_responses),
		cmocka_unit_test(test_exposition_sums),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
