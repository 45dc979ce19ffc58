// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for include/http_framing.h (make fuzz).
 *
 * The BPF programs see a stream as TCP segments of any size, copy it into
 * windows, and take word steps where a window has the bytes in hand.  The
 * property every parser must keep: however the stream is cut and windowed,
 * with word steps or bytes only, the events are the same.  Each parser in
 * `parsers[]` runs the stream through tests/unit/framing_driver.h (the
 * driver the unit tests use, with the BPF programs' semantics):
 *   the reference: whole, bytes only;
 *   whole with word steps, in windows of 256, 19 and 8 bytes;
 *   whole and cut with word steps and shapes (each head checked against
 *   the shape of the one before it, as keep-alive connections are);
 *   cut where the input says, with word steps and with bytes only;
 *   byte by byte with word steps (which then never apply).
 * Any difference in the events (kind, offset, status or path hash, method
 * and route group, flags) or in the final state traps.
 *
 * Input layout:
 *   byte 0     bit 0: the parser (0 responses, 1 requests); bits 1-3: for
 *              responses, which of the first three answer a HEAD;
 *              bits 4-7: number of cuts
 *   then       2 bytes per cut, little endian, taken modulo the stream
 *              length + 1 (sorted; repeats make empty segments)
 *   the rest   the stream
 *
 * Each segment is fed from a heap buffer of its own size, so that
 * AddressSanitizer catches a word step reading past the segment it was
 * given, as the verifier would refuse to in the kernel.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_framing.h"
#include "../unit/framing_driver.h"

#define FUZZ_MAX_CUTS 15

/* Route groups for the request parser: prefixes of several lengths around
 * the 8-byte words, one listed after a longer one it prefixes. */
static const char *const route_prefixes[] = { "/api/infer", "/a", "/12345678", "/1234567", "/api" };

static struct driver_outcome run(const struct driver_run *r, const __u8 *stream, size_t len, const size_t *cuts,
				 size_t cut_count)
{
	struct driver d;
	size_t start = 0, k;

	driver_init(&d, r->request, r->no_body_mask, r->routes, r->words, r->window);
	for (k = 0; k <= cut_count; k++) {
		size_t end = k < cut_count ? cuts[k] : len, n = end - start;
		__u8 *segment = malloc(n ? n : 1);

		if (!segment)
			abort();
		memcpy(segment, stream + start, n);
		driver_feed(&d, segment, n);
		free(segment);
		start = end;
	}
	return driver_finish(&d);
}

static void expect_same(const struct driver_outcome *reference, const struct driver_outcome *o, const char *how)
{
	if (driver_outcome_equal(reference, o))
		return;
	fprintf(stderr, "fuzz_framing: %s differs from bytes only, whole:\n", how);
	driver_outcome_print(reference, stderr);
	driver_outcome_print(o, stderr);
	__builtin_trap();
}

static int compare_offsets(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t windows[] = { 256, 19, 8 };
	static struct http_route_table routes;
	static int routes_built;
	size_t cuts[FUZZ_MAX_CUTS], cut_count, len, k, *singles;
	struct driver_outcome reference, o;
	struct driver_run r = { 0 };
	const __u8 *stream;

	if (!routes_built) {
		http_route_table_build(&routes, route_prefixes, sizeof(route_prefixes) / sizeof(route_prefixes[0]));
		routes_built = 1;
	}
	if (size < 1)
		return 0;
	cut_count = data[0] >> 4;
	if (size < 1 + 2 * cut_count)
		return 0;
	stream = data + 1 + 2 * cut_count;
	len = size - 1 - 2 * cut_count;
	for (k = 0; k < cut_count; k++)
		cuts[k] = (data[1 + 2 * k] | (size_t)data[2 + 2 * k] << 8) % (len + 1);
	qsort(cuts, cut_count, sizeof(cuts[0]), compare_offsets);

	r.request = data[0] & 1;
	r.no_body_mask = r.request ? 0 : (data[0] >> 1) & 7;
	r.routes = r.request ? &routes : NULL;
	r.window = 256;
	r.words = 0;
	reference = run(&r, stream, len, NULL, 0);
	o = run(&r, stream, len, cuts, cut_count);
	expect_same(&reference, &o, "bytes only, cut");
	r.words = DRIVER_WORDS;
	for (k = 0; k < sizeof(windows) / sizeof(windows[0]); k++) {
		r.window = windows[k];
		o = run(&r, stream, len, NULL, 0);
		expect_same(&reference, &o, "word steps, whole");
		o = run(&r, stream, len, cuts, cut_count);
		expect_same(&reference, &o, "word steps, cut");
	}
	/* Each head may meet the shape of the one before it. */
	r.words = DRIVER_SHAPES;
	r.window = 256;
	o = run(&r, stream, len, NULL, 0);
	expect_same(&reference, &o, "shapes, whole");
	o = run(&r, stream, len, cuts, cut_count);
	expect_same(&reference, &o, "shapes, cut");
	r.words = DRIVER_WORDS;
	singles = malloc((len ? len : 1) * sizeof(*singles));
	if (!singles)
		abort();
	for (k = 0; k < len; k++)
		singles[k] = k;
	r.window = 256;
	o = run(&r, stream, len, singles, len);
	expect_same(&reference, &o, "byte by byte");
	free(singles);
	return 0;
}
