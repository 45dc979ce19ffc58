// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for include/http_framing.h (make fuzz).
 *
 * The BPF programs see a message as TCP segments of any size, and take fast
 * paths when a segment has enough bytes in hand.  The property every parser
 * must keep: however the message is cut, the outcome is the same.  Each
 * parser in `parsers[]` is run on the message whole, byte by byte, and cut
 * where the input itself says; any difference in the events (what happened,
 * at which byte, with which status), the final state, status, method or
 * path hash traps.
 *
 * Input layout:
 *   byte 0     bits 0-3: parser options (for responses: bit k set means
 *              response k answers a HEAD); bits 4-7: number of cuts
 *   then       2 bytes per cut, little endian, taken modulo the message
 *              length + 1 (sorted; repeats make empty segments)
 *   the rest   the message
 *
 * Each segment is copied into a heap buffer of its own size, so that
 * AddressSanitizer catches a fast path reading past the segment it was
 * given, as the verifier would refuse to in the kernel.
 *
 * A new parser (request-body framing, a word-at-a-time fast path) is one
 * more function with the `run` signature and one more line in `parsers[]`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_framing.h"

#define FUZZ_MAX_MESSAGE 8192
#define FUZZ_MAX_CUTS 15
#define FUZZ_MAX_EVENTS 32

struct fuzz_event {
	__u32 kind;   /* parser-specific */
	__u32 status;
	__u64 offset; /* stream offset just past the byte that caused it */
	__u64 detail; /* flags, or 0 */
};

/* Everything a run is judged on; zeroed before each run, compared whole. */
struct fuzz_result {
	struct fuzz_event events[FUZZ_MAX_EVENTS];
	__u32 event_count; /* every event, also those past FUZZ_MAX_EVENTS */
	__u32 state;
	__u32 status;
	__u32 method;
	__u64 path_hash;
	__u64 remaining;
	__u64 length;
};

/* A message as segments: [start, end) pairs over msg. */
struct segments {
	const __u8 *msg;
	size_t len;
	const size_t *cuts; /* ascending offsets where a new segment starts */
	size_t cut_count;
};

typedef void (*segment_fn)(void *parser, const __u8 *seg, size_t len, struct fuzz_result *out);

static void add_event(struct fuzz_result *r, __u32 kind, __u32 status, __u64 offset, __u64 detail)
{
	if (r->event_count < FUZZ_MAX_EVENTS)
		r->events[r->event_count] = (struct fuzz_event){ kind, status, offset, detail };
	r->event_count++;
}

/* Feeds each segment from a heap copy of exactly its size. */
static void feed_segments(const struct segments *s, void *parser, segment_fn feed, struct fuzz_result *out)
{
	size_t start = 0, k;

	for (k = 0; k <= s->cut_count; k++) {
		size_t end = k < s->cut_count ? s->cuts[k] : s->len;
		__u8 *copy = malloc(end - start ? end - start : 1);

		if (!copy)
			abort();
		memcpy(copy, s->msg + start, end - start);
		feed(parser, copy, end - start, out);
		free(copy);
		start = end;
	}
}

/* ---------------------------------------------------------------------
 * Response framing, fed as runway_egress feeds it (bpf/): skip body bytes
 * in bulk, take the token fast paths when 18 bytes are in hand, jump to the
 * next LF eight bytes at a time, else step; reset after each complete
 * response (keep-alive); an error or a 101 stops the tracking.
 * ------------------------------------------------------------------- */

enum { EV_RESPONSE_COMPLETE = 1, EV_RESPONSE_ERROR = 2 };

struct response_driver {
	struct http_response_framing p;
	unsigned no_body_mask;
	unsigned completed;
	size_t base;
	int stopped;
};

static void response_segment(void *parser, const __u8 *seg, size_t len, struct fuzz_result *out)
{
	struct response_driver *d = parser;
	size_t i = 0;

	while (i < len && !d->stopped) {
		__u64 n;
		int ev;

		if (d->p.state == RESP_COMPLETE)
			http_response_reset(&d->p, (d->no_body_mask >> (d->completed & 3)) & 1);
		n = http_response_skip(&d->p, len - i, &ev);
		if (n > len - i)
			__builtin_trap();
		i += n;
		if (ev != RESP_EV_COMPLETE) {
			ev = RESP_EV_NONE;
			while (i < len && ev == RESP_EV_NONE) {
				if (i + HTTP_FAST_PATH_BYTES <= len) {
					__u32 taken = http_response_status_fast(&d->p, seg + i);

					if (!taken)
						taken = http_response_header_fast(&d->p, seg + i);
					i += taken;
					if (taken)
						continue;
				}
				if (i + 8 <= len && http_response_skips_to_lf(&d->p)) {
					__u32 before_lf = http_bytes_before_lf8(seg + i);

					i += before_lf;
					if (before_lf == 8)
						continue;
				}
				ev = http_response_step(&d->p, seg[i++]);
			}
		}
		if (ev == RESP_EV_COMPLETE) {
			add_event(out, EV_RESPONSE_COMPLETE, d->p.status, d->base + i, d->p.flags);
			d->completed++;
			if (d->p.flags & RESP_UPGRADED)
				d->stopped = 1;
		} else if (ev == RESP_EV_ERROR) {
			add_event(out, EV_RESPONSE_ERROR, d->p.status, d->base + i, 0);
			d->stopped = 1;
		}
	}
	d->base += len;
}

static void run_response(const struct segments *s, unsigned options, struct fuzz_result *out)
{
	struct response_driver d;

	memset(&d, 0, sizeof(d));
	d.no_body_mask = options;
	http_response_reset(&d.p, options & 1);
	feed_segments(s, &d, response_segment, out);
	out->state = d.p.state;
	out->status = d.p.status;
	out->remaining = d.p.remaining;
}

/* ---------------------------------------------------------------------
 * Request line, fed as runway_ingress feeds it: the method fast path when a
 * segment starts the line with 8 bytes in hand, then stepping until the
 * parser says stop.
 * ------------------------------------------------------------------- */

enum { EV_REQUEST_LINE_END = 1 };

struct request_driver {
	struct http_request_line r;
	size_t base;
	int done;
};

static void request_segment(void *parser, const __u8 *seg, size_t len, struct fuzz_result *out)
{
	struct request_driver *d = parser;
	size_t i = 0;

	if (!d->done && len >= HTTP_METHOD_MAX_LEN)
		i += http_request_line_fast(&d->r, seg);
	for (; i < len && !d->done; i++) {
		d->done = http_request_line_step(&d->r, seg[i]);
		if (d->done)
			add_event(out, EV_REQUEST_LINE_END, d->r.state, d->base + i + 1, d->r.method);
	}
	d->base += len;
}

static void run_request_line(const struct segments *s, unsigned options, struct fuzz_result *out)
{
	struct request_driver d;

	(void)options;
	memset(&d, 0, sizeof(d));
	http_request_line_reset(&d.r);
	feed_segments(s, &d, request_segment, out);
	out->state = d.r.state;
	out->method = d.r.method;
	out->path_hash = d.r.path_hash;
	out->length = d.r.length;
	out->remaining = d.r.method_bytes;
}

/* ------------------------------------------------------------------- */

struct framing_parser {
	const char *name;
	void (*run)(const struct segments *s, unsigned options, struct fuzz_result *out);
};

static const struct framing_parser parsers[] = {
	{ "response framing", run_response },
	{ "request line", run_request_line },
};

static void print_result(const char *how, const struct fuzz_result *r)
{
	__u32 k;

	fprintf(stderr, "  %-12s state %u status %u method %u path_hash %#llx remaining %llu length %llu, "
			"%u events:",
		how, r->state, r->status, r->method, (unsigned long long)r->path_hash,
		(unsigned long long)r->remaining, (unsigned long long)r->length, r->event_count);
	for (k = 0; k < r->event_count && k < FUZZ_MAX_EVENTS; k++)
		fprintf(stderr, " [kind %u status %u at %llu detail %#llx]", r->events[k].kind, r->events[k].status,
			(unsigned long long)r->events[k].offset, (unsigned long long)r->events[k].detail);
	fputc('\n', stderr);
}

static void expect_same(const struct framing_parser *parser, const struct segments *s, const char *how,
			const struct fuzz_result *whole, const struct fuzz_result *other)
{
	size_t k;

	if (memcmp(whole, other, sizeof(*whole)) == 0)
		return;
	fprintf(stderr, "%s: fed %s, the outcome differs from the whole message (%zu bytes, cuts:",
		parser->name, how, s->len);
	for (k = 0; k < s->cut_count && k < FUZZ_MAX_CUTS; k++)
		fprintf(stderr, " %zu", s->cuts[k]);
	fprintf(stderr, ")\n");
	print_result("whole", whole);
	print_result(how, other);
	__builtin_trap();
}

static int compare_sizes(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t every_byte[FUZZ_MAX_MESSAGE];
	static struct fuzz_result whole, other;
	size_t chosen[FUZZ_MAX_CUTS], cut_count, k, p;
	unsigned options;
	struct segments s;

	if (size < 1)
		return 0;
	options = data[0] & 0x0f;
	cut_count = data[0] >> 4;
	if (size < 1 + 2 * cut_count)
		return 0;
	s.msg = data + 1 + 2 * cut_count;
	s.len = size - 1 - 2 * cut_count;
	if (s.len > FUZZ_MAX_MESSAGE)
		return 0;
	for (k = 0; k < cut_count; k++)
		chosen[k] = (data[1 + 2 * k] | (size_t)data[2 + 2 * k] << 8) % (s.len + 1);
	qsort(chosen, cut_count, sizeof(chosen[0]), compare_sizes);
	for (k = 0; k + 1 < s.len; k++)
		every_byte[k] = k + 1;

	for (p = 0; p < sizeof(parsers) / sizeof(parsers[0]); p++) {
		const struct framing_parser *parser = &parsers[p];

		memset(&whole, 0, sizeof(whole));
		s.cuts = NULL;
		s.cut_count = 0;
		parser->run(&s, options, &whole);

		memset(&other, 0, sizeof(other));
		s.cuts = every_byte;
		s.cut_count = s.len ? s.len - 1 : 0;
		parser->run(&s, options, &other);
		expect_same(parser, &s, "byte by byte", &whole, &other);

		memset(&other, 0, sizeof(other));
		s.cuts = chosen;
		s.cut_count = cut_count;
		parser->run(&s, options, &other);
		expect_same(parser, &s, "at the cuts", &whole, &other);
	}
	return 0;
}
