/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for include/latency_buckets.h.
 *
 * latency_bucket() is a hand-unrolled binary search (for the verifier); it
 * must agree with the plain definition of a Prometheus `le` bucket over
 * LATENCY_BOUNDS_NS: the first bound that the value is less than or equal
 * to, or the +Inf bucket (index LATENCY_FINITE_BUCKETS) past the last.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "latency_buckets.h"

static const __u64 bounds_ns[] = LATENCY_BOUNDS_NS;
static const char *const bounds_text[] = LATENCY_BOUNDS_TEXT;

#define NBOUNDS (sizeof(bounds_ns) / sizeof(bounds_ns[0]))

/* The definition, as a linear search over the bounds. */
static __u32 reference_bucket(__u64 ns)
{
	__u32 i;

	for (i = 0; i < NBOUNDS; i++)
		if (ns <= bounds_ns[i])
			return i;
	return LATENCY_FINITE_BUCKETS;
}

static void test_bounds_are_strictly_increasing_and_counted(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(NBOUNDS, LATENCY_FINITE_BUCKETS);
	assert_int_equal(sizeof(bounds_text) / sizeof(bounds_text[0]), LATENCY_FINITE_BUCKETS);
	assert_int_equal(LATENCY_BUCKET_COUNT, LATENCY_FINITE_BUCKETS + 1);
	assert_true(bounds_ns[0] > 0);
	for (i = 1; i < NBOUNDS; i++)
		assert_true(bounds_ns[i] > bounds_ns[i - 1]);
}

static void test_value_equal_to_bound_falls_in_that_bucket(void **state)
{
	__u32 i;

	(void)state;
	/* le: the bound itself is inside its bucket. */
	for (i = 0; i < NBOUNDS; i++)
		assert_int_equal(latency_bucket(bounds_ns[i]), i);
}

static void test_one_ns_above_bound_falls_in_next_bucket(void **state)
{
	__u32 i;

	(void)state;
	/* ... and one nanosecond more is in the next one; past the last
	 * bound (10 s) that is the +Inf bucket. */
	for (i = 0; i < NBOUNDS; i++)
		assert_int_equal(latency_bucket(bounds_ns[i] + 1), i + 1);
	assert_int_equal(latency_bucket(bounds_ns[NBOUNDS - 1] + 1), LATENCY_FINITE_BUCKETS);
}

static void test_one_ns_below_bound_stays_in_that_bucket(void **state)
{
	__u32 i;

	(void)state;
	for (i = 0; i < NBOUNDS; i++)
		assert_int_equal(latency_bucket(bounds_ns[i] - 1), i);
}

static void test_zero_falls_in_first_bucket(void **state)
{
	(void)state;
	assert_int_equal(latency_bucket(0), 0);
	assert_int_equal(latency_bucket(1), 0);
}

static void test_huge_values_fall_in_inf_bucket(void **state)
{
	static const __u64 huge[] = {
		10000 * MS_NS + 1,    /* just past 10 s */
		60000 * MS_NS,        /* a minute */
		3600000 * MS_NS,      /* an hour */
		1ULL << 63,           /* a negative duration read as unsigned */
		UINT64_MAX,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
		assert_int_equal(latency_bucket(huge[i]), LATENCY_FINITE_BUCKETS);
}

static void test_bucket_matches_le_definition_on_sweep(void **state)
{
	__u64 ns, x = 0x9e3779b97f4a7c15ULL;
	int i;

	(void)state;
	/* Every ~1 ms from 0 to 12 s, on an odd step so that values land
	 * everywhere relative to the bounds ... */
	for (ns = 0; ns <= 12000 * MS_NS; ns += 999983)
		assert_int_equal(latency_bucket(ns), reference_bucket(ns));
	/* ... and pseudo-random values over the whole range, in each
	 * power-of-two magnitude (xorshift64, fixed seed). */
	for (i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ns = x >> (x % 64);
		assert_int_equal(latency_bucket(ns), reference_bucket(ns));
	}
}

/* How Python's float repr (which prometheus_client prints) writes a number
 * of seconds between 1e-4 and 1e16: the fewest decimals that read back to the
 * same double, and at least one, so an integer gets ".0". */
static void python_float_repr(double seconds, char *out, size_t size)
{
	int decimals;

	for (decimals = 1; decimals <= 17; decimals++) {
		snprintf(out, size, "%.*f", decimals, seconds);
		if (strtod(out, NULL) == seconds)
			return;
	}
}

static void test_bounds_text_is_each_bound_as_prometheus_client_prints_it(void **state)
{
	size_t i;

	(void)state;
	/* The le="" labels must name the same bounds the kernel counts with,
	 * spelled as asgi-runway's prometheus_client spells them, or series
	 * from the two exporters would not line up. */
	for (i = 0; i < NBOUNDS; i++) {
		char expected[32];

		python_float_repr((double)bounds_ns[i] / 1e9, expected, sizeof(expected));
		assert_string_equal(bounds_text[i], expected);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds_are_strictly_increasing_and_counted),
		cmocka_unit_test(test_value_equal_to_bound_falls_in_that_bucket),
		cmocka_unit_test(test_one_ns_above_bound_falls_in_next_bucket),
		cmocka_unit_test(test_one_ns_below_bound_stays_in_that_bucket),
		cmocka_unit_test(test_zero_falls_in_first_bucket),
		cmocka_unit_test(test_huge_values_fall_in_inf_bucket),
		cmocka_unit_test(test_bucket_matches_le_definition_on_sweep),
		cmocka_unit_test(test_bounds_text_is_each_bound_as_prometheus_client_prints_it),
	};

	/* cmocka returns the number of failures; an exit status is mod 256. */
	return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
