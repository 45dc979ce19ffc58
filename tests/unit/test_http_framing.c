/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for include/http_framing.h: the request-line parser and the
 * response framing state machine that the BPF programs run.
 *
 * The kernel sees a response as TCP segments of arbitrary sizes, so every
 * response test runs the same bytes through a driver that feeds them the way
 * the BPF program does (see driver_feed()), once whole, then split into two
 * and three segments at every position, then byte by byte, and asserts that
 * all of these give the same outcome.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http_framing.h"

/* A string literal or char array as (bytes, length), without its NUL. */
#define MSG(s) (const __u8 *)(s), (sizeof(s) - 1)

/* Splitting into three segments at every pair of positions is quadratic;
 * longer messages are split into two segments and byte by byte only. */
#define THREE_PART_MAX 600

/* ---------------------------------------------------------------------
 * Response driver, with the BPF program's semantics
 * ------------------------------------------------------------------- */

#define MAX_RESPONSES 4

struct outcome {
	unsigned completed;            /* responses that completed */
	size_t end[MAX_RESPONSES];     /* offset just past each one's last byte */
	__u32 status[MAX_RESPONSES];   /* status of each completed response */
	__u32 flags[MAX_RESPONSES];    /* RESP_* flags of each completed response */
	int error;                     /* RESP_EV_ERROR was returned */
	size_t error_end;              /* offset just past the offending byte */
	__u32 state;                   /* parser state after the last byte */
	__u32 status_now;              /* parser status after the last byte */
	__u64 remaining;               /* parser remaining after the last byte */
};

struct driver {
	struct http_response_framing p;
	unsigned no_body_mask; /* bit k set: response k answers a HEAD */
	size_t base;           /* stream offset of the next segment */
	int stopped;           /* error or upgrade: bytes are no longer framed */
	struct outcome out;
};

static void driver_init(struct driver *d, unsigned no_body_mask)
{
	memset(d, 0, sizeof(*d));
	d->no_body_mask = no_body_mask;
	http_response_reset(&d->p, no_body_mask & 1);
}

/*
 * One segment of response bytes, as the BPF program handles it: skip body
 * bytes in bulk, then step byte by byte until an event; RESP_EV_BODY goes
 * back to skipping.  Like the BPF program, it jumps over bytes that cannot
 * change the state eight at a time, so the whole-message runs exercise that
 * fast path and the byte-by-byte runs do not: every test compares the two.
 * After a completed response the parser is reset for the
 * next one (keep-alive), lazily, so that a finished stream can still be
 * inspected in its RESP_COMPLETE state.  An error or a 101 stops tracking.
 */
static void driver_feed(struct driver *d, const __u8 *seg, size_t len)
{
	size_t i = 0;

	while (i < len && !d->stopped) {
		__u64 n;
		int ev;

		if (d->p.state == RESP_COMPLETE) {
			assert_true(d->out.completed < MAX_RESPONSES);
			http_response_reset(&d->p, (d->no_body_mask >> d->out.completed) & 1);
		}
		n = http_response_skip(&d->p, len - i, &ev);
		assert_true(n <= len - i);
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
			unsigned k = d->out.completed++;

			assert_true(k < MAX_RESPONSES);
			d->out.end[k] = d->base + i;
			d->out.status[k] = d->p.status;
			d->out.flags[k] = d->p.flags;
			if (d->p.flags & RESP_UPGRADED)
				d->stopped = 1;
		} else if (ev == RESP_EV_ERROR) {
			d->out.error = 1;
			d->out.error_end = d->base + i;
			d->stopped = 1;
		}
	}
	d->base += len;
}

static struct outcome driver_finish(struct driver *d)
{
	d->out.state = d->p.state;
	d->out.status_now = d->p.status;
	d->out.remaining = d->p.remaining;
	return d->out;
}

/* Feed buf as the segments delimited by the ascending offsets cuts[]. */
static struct outcome run_cuts(const __u8 *buf, size_t len, unsigned no_body_mask,
			       const size_t *cuts, size_t ncuts)
{
	struct driver d;
	size_t prev = 0, k;

	driver_init(&d, no_body_mask);
	for (k = 0; k < ncuts; k++) {
		driver_feed(&d, buf + prev, cuts[k] - prev);
		prev = cuts[k];
	}
	driver_feed(&d, buf + prev, len - prev);
	return driver_finish(&d);
}

static struct outcome run_whole(const __u8 *buf, size_t len, unsigned no_body_mask)
{
	return run_cuts(buf, len, no_body_mask, NULL, 0);
}

/* Feed buf in segments of `size` bytes (the last one shorter). */
static struct outcome run_segments_of(const __u8 *buf, size_t len, unsigned no_body_mask,
				      size_t size)
{
	struct driver d;
	size_t i;

	driver_init(&d, no_body_mask);
	for (i = 0; i < len; i += size)
		driver_feed(&d, buf + i, len - i < size ? len - i : size);
	return driver_finish(&d);
}

static int outcome_equal(const struct outcome *a, const struct outcome *b)
{
	unsigned k;

	if (a->completed != b->completed || a->error != b->error ||
	    a->state != b->state || a->status_now != b->status_now ||
	    a->remaining != b->remaining)
		return 0;
	if (a->error && a->error_end != b->error_end)
		return 0;
	for (k = 0; k < a->completed && k < MAX_RESPONSES; k++)
		if (a->end[k] != b->end[k] || a->status[k] != b->status[k] ||
		    a->flags[k] != b->flags[k])
			return 0;
	return 1;
}

static void assert_same_outcome(const struct outcome *whole, const struct outcome *split,
				const char *how, size_t a, size_t b)
{
	if (outcome_equal(whole, split))
		return;
	print_error("split %s at %zu,%zu differs from whole: completed %u vs %u, "
		    "error %d vs %d, state %u vs %u, first end %zu vs %zu\n",
		    how, a, b, whole->completed, split->completed, whole->error,
		    split->error, whole->state, split->state, whole->end[0], split->end[0]);
	fail();
}

/* Run buf whole, split in 2 and 3 at every position, and byte by byte;
 * all must agree.  Returns the outcome for the caller's own assertions. */
static struct outcome check_every_split(const __u8 *buf, size_t len, unsigned no_body_mask)
{
	struct outcome whole = run_whole(buf, len, no_body_mask), o;
	size_t cuts[2];

	o = run_segments_of(buf, len, no_body_mask, 1);
	assert_same_outcome(&whole, &o, "byte by byte", 1, 1);
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
		o = run_cuts(buf, len, no_body_mask, cuts, 1);
		assert_same_outcome(&whole, &o, "in two", cuts[0], cuts[0]);
	}
	if (len > THREE_PART_MAX)
		return whole;
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++)
		for (cuts[1] = cuts[0]; cuts[1] <= len; cuts[1]++) {
			o = run_cuts(buf, len, no_body_mask, cuts, 2);
			assert_same_outcome(&whole, &o, "in three", cuts[0], cuts[1]);
		}
	return whole;
}

/* The one response in buf completes exactly at its last byte. */
static struct outcome assert_completes_at_end(const __u8 *buf, size_t len, unsigned no_body_mask,
					      __u32 status)
{
	struct outcome o = check_every_split(buf, len, no_body_mask), prefix;

	assert_false(o.error);
	assert_int_equal(o.completed, 1);
	assert_int_equal(o.end[0], len);
	assert_int_equal(o.status[0], status);
	assert_int_equal(o.state, RESP_COMPLETE);
	/* ... and not one byte earlier. */
	prefix = run_whole(buf, len - 1, no_body_mask);
	assert_false(prefix.error);
	assert_int_equal(prefix.completed, 0);
	return o;
}

/* buf is an error at byte error_end - 1, however it is split. */
static void assert_error_at(const __u8 *buf, size_t len, size_t error_end)
{
	struct outcome o = check_every_split(buf, len, 0);

	assert_true(o.error);
	assert_int_equal(o.completed, 0);
	assert_int_equal(o.error_end, error_end);
	assert_int_equal(o.state, RESP_ERROR);
}

/* ---------------------------------------------------------------------
 * Content-Length framing
 * ------------------------------------------------------------------- */

static const char uvicorn_json_200[] =
	"HTTP/1.1 200 OK\r\n"
	"date: Sun, 29 Nov 2026 18:00:00 GMT\r\n"
	"server: uvicorn\r\n"
	"content-length: 13\r\n"
	"content-type: application/json\r\n"
	"\r\n"
	"{\"hello\":\"x\"}";

static void test_uvicorn_response_completes_exactly_at_last_byte(void **state)
{
	struct outcome o, short_one;

	(void)state;
	o = assert_completes_at_end(MSG(uvicorn_json_200), 0, 200);
	assert_true(o.flags[0] & RESP_HAS_LENGTH);
	assert_false(o.flags[0] & RESP_CHUNKED);

	/* One byte short, the parser is still in the body, owed one byte. */
	short_one = run_whole((const __u8 *)uvicorn_json_200, sizeof(uvicorn_json_200) - 2, 0);
	assert_int_equal(short_one.state, RESP_BODY_LENGTH);
	assert_int_equal(short_one.remaining, 1);
	assert_int_equal(short_one.status_now, 200);
}

static void test_h11_lowercase_headers_frame_by_content_length(void **state)
{
	/* What uvicorn's h11 protocol writes for a 404 from FastAPI. */
	static const char msg[] =
		"HTTP/1.1 404 Not Found\r\n"
		"date: Sun, 29 Nov 2026 18:00:00 GMT\r\n"
		"server: uvicorn\r\n"
		"content-length: 22\r\n"
		"content-type: application/json\r\n"
		"\r\n"
		"{\"detail\":\"Not Found\"}";

	(void)state;
	assert_completes_at_end(MSG(msg), 0, 404);
}

static void test_capitalized_content_length_frames_body(void **state)
{
	/* httptools and hand-written ASGI apps send canonical casing; header
	 * names are case-insensitive. */
	static const char canonical[] =
		"HTTP/1.1 201 Created\r\n"
		"Server: uvicorn\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Length: 5\r\n"
		"\r\n"
		"hello";
	static const char upper[] =
		"HTTP/1.1 200 OK\r\n"
		"CONTENT-LENGTH: 7\r\n"
		"\r\n"
		"goodbye";

	(void)state;
	assert_completes_at_end(MSG(canonical), 0, 201);
	assert_completes_at_end(MSG(upper), 0, 200);
}

static void test_content_length_zero_completes_at_head_end(void **state)
{
	static const char msg[] =
		"HTTP/1.1 200 OK\r\n"
		"server: uvicorn\r\n"
		"content-length: 0\r\n"
		"\r\n";

	(void)state;
	assert_completes_at_end(MSG(msg), 0, 200);
}

static void test_large_body_split_over_many_segments_completes_at_end(void **state)
{
	/* A 256 KiB body made of text that looks like HTTP framing: skipped
	 * body bytes must never be interpreted. */
	static const char pattern[] = "0\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
	static const size_t sizes[] = { 1, 7, 536, 1448, 4096, 65536 };
	const size_t body_len = 256 * 1024;
	char head[128];
	size_t head_len, len, i;
	__u8 *buf;
	struct outcome o;

	(void)state;
	head_len = (size_t)snprintf(head, sizeof(head),
				    "HTTP/1.1 200 OK\r\nserver: uvicorn\r\n"
				    "content-length: %zu\r\n\r\n", body_len);
	len = head_len + body_len;
	buf = malloc(len);
	assert_non_null(buf);
	memcpy(buf, head, head_len);
	for (i = 0; i < body_len; i++)
		buf[head_len + i] = (__u8)pattern[i % (sizeof(pattern) - 1)];

	o = check_every_split(buf, len, 0);
	assert_false(o.error);
	assert_int_equal(o.completed, 1);
	assert_int_equal(o.end[0], len);
	assert_int_equal(o.status[0], 200);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct outcome seg = run_segments_of(buf, len, 0, sizes[i]);

		assert_same_outcome(&o, &seg, "in fixed segments", sizes[i], sizes[i]);
	}
	o = run_whole(buf, len - 1, 0);
	assert_int_equal(o.completed, 0);
	assert_int_equal(o.remaining, 1);
	free(buf);
}

static void test_keepalive_two_responses_each_complete_at_their_own_end(void **state)
{
	/* Two responses on one connection, possibly in one segment: the first
	 * completes at its own last byte and the parser, reset, frames the
	 * second. */
	static const char first[] =
		"HTTP/1.1 200 OK\r\n"
		"content-length: 5\r\n"
		"\r\n"
		"hello";
	static const char both[] =
		"HTTP/1.1 200 OK\r\n"
		"content-length: 5\r\n"
		"\r\n"
		"hello"
		"HTTP/1.1 404 Not Found\r\n"
		"content-length: 9\r\n"
		"\r\n"
		"not found";
	struct outcome o;

	(void)state;
	o = check_every_split(MSG(both), 0);
	assert_false(o.error);
	assert_int_equal(o.completed, 2);
	assert_int_equal(o.end[0], sizeof(first) - 1);
	assert_int_equal(o.status[0], 200);
	assert_int_equal(o.end[1], sizeof(both) - 1);
	assert_int_equal(o.status[1], 404);
}

static void test_huge_content_length_is_clamped_not_wrapped(void **state)
{
	/* 2^64 + 5: without clamping it would wrap to 5 and the response would
	 * "complete" after five body bytes. */
	static const char msg[] =
		"HTTP/1.1 200 OK\r\n"
		"content-length: 18446744073709551621\r\n"
		"\r\n"
		"hello";
	struct outcome o;

	(void)state;
	o = check_every_split(MSG(msg), 0);
	assert_false(o.error);
	assert_int_equal(o.completed, 0);
	assert_int_equal(o.state, RESP_BODY_LENGTH);
	assert_int_equal(o.remaining, HTTP_BODY_LENGTH_MAX - 5);
}

static void test_header_names_resembling_content_length_do_not_frame(void **state)
{
	/* Only the exact names frame the body; prefixes and extensions of them
	 * are other headers, so this response runs until close. */
	static const char msg[] =
		"HTTP/1.1 200 OK\r\n"
		"x-content-length: 5\r\n"
		"content-length-range: 5\r\n"
		"content-lengt: 5\r\n"
		"content: 5\r\n"
		"transfer-encodings: chunked\r\n"
		"x-transfer-encoding: chunked\r\n"
		"\r\n"
		"hello";
	struct outcome o;

	(void)state;
	o = check_every_split(MSG(msg), 0);
	assert_false(o.error);
	assert_int_equal(o.completed, 0);
	assert_int_equal(o.state, RESP_BODY_UNTIL_CLOSE);
}

/* ---------------------------------------------------------------------
 * Chunked framing
 * ------------------------------------------------------------------- */

#define CHUNKED_HEAD                                                           \
	"HTTP/1.1 200 OK\r\n"                                                  \
	"date: Sun, 29 Nov 2026 18:00:00 GMT\r\n"                              \
	"server: uvicorn\r\n"                                                  \
	"content-type: text/plain; charset=utf-8\r\n"                          \
	"transfer-encoding: chunked\r\n"                                       \
	"\r\n"

static void test_chunked_several_chunks_complete_on_final_lf(void **state)
{
	/* A StreamingResponse as uvicorn writes it: no Content-Length. */
	static const char msg[] = CHUNKED_HEAD
		"5\r\nhello\r\n"
		"7\r\n, world\r\n"
		"1\r\n!\r\n"
		"0\r\n\r\n";
	struct outcome o;

	(void)state;
	o = assert_completes_at_end(MSG(msg), 0, 200);
	assert_true(o.flags[0] & RESP_CHUNKED);
}

static void test_chunked_extensions_are_ignored(void **state)
{
	static const char msg[] = CHUNKED_HEAD
		"5;name=value\r\nhello\r\n"
		"6 ; quoted=\"a;b\"\r\n world\r\n"
		"0;last\r\n\r\n";

	(void)state;
	assert_completes_at_end(MSG(msg), 0, 200);
}

static void test_chunked_uppercase_hex_sizes_are_parsed(void **state)
{
	/* 0xA = 10 and 0x1F = 31 bytes: if the hex were misread the response
	 * would end elsewhere or error on a data byte. */
	static const char upper[] = CHUNKED_HEAD
		"A\r\n0123456789\r\n"
		"1F\r\nabcdefghijklmnopqrstuvwxyz01234\r\n"
		"00C\r\n0123456789ab\r\n"
		"0\r\n\r\n";
	static const char lower[] = CHUNKED_HEAD
		"a\r\n0123456789\r\n"
		"1f\r\nabcdefghijklmnopqrstuvwxyz01234\r\n"
		"00c\r\n0123456789ab\r\n"
		"0\r\n\r\n";

	(void)state;
	assert_completes_at_end(MSG(upper), 0, 200);
	assert_completes_at_end(MSG(lower), 0, 200);
}

static void test_chunked_trailers_complete_after_their_empty_line(void **state)
{
	static const char msg[] = CHUNKED_HEAD
		"5\r\nhello\r\n"
		"0\r\n"
		"x-checksum: 5d41402abc4b2a76b9719d911017c592\r\n"
		"x-other: 1\r\n"
		"\r\n";
	struct outcome before_last;

	(void)state;
	assert_completes_at_end(MSG(msg), 0, 200);
	/* The trailers' own LFs must not complete it: only the empty line. */
	before_last = run_whole((const __u8 *)msg, sizeof(msg) - 2, 0);
	assert_int_equal(before_last.state, RESP_TRAILER_START);
}

static void test_chunked_final_chunk_in_separate_segment_completes_on_last_lf(void **state)
{
	static const char body[] = CHUNKED_HEAD "5\r\nhello\r\n";
	static const char last[] = "0\r\n\r\n";
	struct driver d;
	size_t i;

	(void)state;
	driver_init(&d, 0);
	driver_feed(&d, MSG(body));
	assert_int_equal(d.out.completed, 0);
	assert_int_equal(d.p.state, RESP_CHUNK_SIZE);
	/* Each byte of the last chunk but the final LF leaves it open. */
	for (i = 0; i + 1 < sizeof(last) - 1; i++) {
		driver_feed(&d, (const __u8 *)last + i, 1);
		assert_int_equal(d.out.completed, 0);
		assert_false(d.out.error);
	}
	driver_feed(&d, (const __u8 *)last + i, 1);
	assert_int_equal(d.out.completed, 1);
	assert_int_equal(d.out.end[0], sizeof(body) - 1 + sizeof(last) - 1);
}

static void test_chunk_data_containing_last_chunk_does_not_end_early(void **state)
{
	/* The 10 data bytes of the first chunk are "0\r\n\r\n0\r\n\r\n". */
	static const char msg[] = CHUNKED_HEAD
		"a\r\n0\r\n\r\n0\r\n\r\n\r\n"
		"3\r\nend\r\n"
		"0\r\n\r\n";

	(void)state;
	assert_completes_at_end(MSG(msg), 0, 200);
}

static void test_chunked_wins_over_content_length(void **state)
{
	/* RFC 9112 6.3: a Content-Length next to chunked is ignored. */
	static const char msg[] =
		"HTTP/1.1 200 OK\r\n"
		"content-length: 3\r\n"
		"transfer-encoding: chunked\r\n"
		"\r\n"
		"5\r\nhello\r\n"
		"0\r\n\r\n";

	(void)state;
	assert_completes_at_end(MSG(msg), 0, 200);
}

static void test_chunked_found_in_capitalized_coding_list(void **state)
{
	static const char msg[] =
		"HTTP/1.1 200 OK\r\n"
		"Transfer-Encoding: gzip, Chunked\r\n"
		"\r\n"
		"5\r\nhello\r\n"
		"0\r\n\r\n";
	struct outcome o;

	(void)state;
	o = assert_completes_at_end(MSG(msg), 0, 200);
	assert_true(o.flags[0] & RESP_CHUNKED);
}

static void test_transfer_encoding_identity_keeps_content_length(void **state)
{
	static const char msg[] =
		"HTTP/1.1 200 OK\r\n"
		"transfer-encoding: identity\r\n"
		"content-length: 5\r\n"
		"\r\n"
		"hello";
	struct outcome o;

	(void)state;
	o = assert_completes_at_end(MSG(msg), 0, 200);
	assert_false(o.flags[0] & RESP_CHUNKED);
}

static void test_huge_chunk_size_is_clamped_not_wrapped(void **state)
{
	/* 0x10000000000000005 = 2^64 + 5 would wrap to 5 without clamping. */
	static const char msg[] = CHUNKED_HEAD "10000000000000005\r\nhello";
	struct outcome o;

	(void)state;
	o = check_every_split(MSG(msg), 0);
	assert_false(o.error);
	assert_int_equal(o.completed, 0);
	assert_int_equal(o.state, RESP_CHUNK_DATA);
	assert_int_equal(o.remaining, HTTP_BODY_LENGTH_MAX - 5);
}

static void test_non_hex_chunk_size_is_error(void **state)
{
	static const char msg[] = CHUNKED_HEAD "zz\r\n";

	(void)state;
	assert_error_at(MSG(msg), sizeof(CHUNKED_HEAD) - 1 + 1);
}

static void test_missing_crlf_after_chunk_data_is_error(void **state)
{
	static const char msg[] = CHUNKED_HEAD "5\r\nhelloX\r\n0\r\n\r\n";

	(void)state;
	assert_error_at(MSG(msg), sizeof(CHUNKED_HEAD) - 1 + sizeof("5\r\nhelloX") - 1);
}

static void test_empty_chunk_size_line_after_a_chunk_is_error(void **state)
{
	/* A size line with no digits is not the last chunk "0". */
	static const char msg[] = CHUNKED_HEAD "5\r\nhello\r\n\r\n\r\n";

	(void)state;
	assert_error_at(MSG(msg), sizeof(CHUNKED_HEAD) - 1 + sizeof("5\r\nhello\r\n\r\n") - 1);
}

static void test_empty_first_chunk_size_line_is_error(void **state)
{
	/* Same as above for the first size line after the head.  (Fails with
	 * a parser that leaves the header's `position` in place at head end:
	 * it then reads the empty line as "0" and completes.) */
	static const char msg[] = CHUNKED_HEAD "\r\n\r\n";

	(void)state;
	assert_error_at(MSG(msg), sizeof(CHUNKED_HEAD) - 1 + 2);
}

/* ---------------------------------------------------------------------
 * Responses without a body
 * ------------------------------------------------------------------- */

static const char head_reply[] =
	"HTTP/1.1 200 OK\r\n"
	"date: Sun, 29 Nov 2026 18:00:00 GMT\r\n"
	"server: uvicorn\r\n"
	"content-length: 13\r\n"
	"content-type: application/json\r\n"
	"\r\n";

static void test_head_response_with_content_length_completes_at_head_end(void **state)
{
	struct outcome o;

	(void)state;
	o = assert_completes_at_end(MSG(head_reply), 1, 200);
	assert_true(o.flags[0] & RESP_NO_BODY);

	/* The same bytes answering a GET wait for 13 body bytes: it is the
	 * no_body reset that ends it. */
	o = run_whole(MSG(head_reply), 0);
	assert_int_equal(o.completed, 0);
	assert_int_equal(o.state, RESP_BODY_LENGTH);
	assert_int_equal(o.remaining, 13);
}

static void test_head_then_get_on_keepalive_frame_independently(void **state)
{
	/* Response 0 answers a HEAD, response 1 a GET (no_body mask 0b01). */
	static const char both[] =
		"HTTP/1.1 200 OK\r\n"
		"content-length: 13\r\n"
		"\r\n"
		"HTTP/1.1 200 OK\r\n"
		"content-length: 13\r\n"
		"\r\n"
		"{\"hello\":\"x\"}";
	static const char first[] =
		"HTTP/1.1 200 OK\r\n"
		"content-length: 13\r\n"
		"\r\n";
	struct outcome o;

	(void)state;
	o = check_every_split(MSG(both), 1);
	assert_false(o.error);
	assert_int_equal(o.completed, 2);
	assert_int_equal(o.end[0], sizeof(first) - 1);
	assert_true(o.flags[0] & RESP_NO_BODY);
	assert_int_equal(o.end[1], sizeof(both) - 1);
	assert_false(o.flags[1] & RESP_NO_BODY);
}

static void test_204_completes_at_head_end(void **state)
{
	static const char msg[] =
		"HTTP/1.1 204 No Content\r\n"
		"date: Sun, 29 Nov 2026 18:00:00 GMT\r\n"
		"server: uvicorn\r\n"
		"\r\n";

	(void)state;
	assert_completes_at_end(MSG(msg), 0, 204);
}

static void test_304_completes_at_head_end_despite_content_length(void **state)
{
	/* A 304 may carry the Content-Length of the representation it
	 * validates; it still has no body. */
	static const char msg[] =
		"HTTP/1.1 304 Not Modified\r\n"
		"etag: \"abc\"\r\n"
		"content-length: 42\r\n"
		"\r\n";

	(void)state;
	assert_completes_at_end(MSG(msg), 0, 304);
}

/* ---------------------------------------------------------------------
 * Interim and upgrade responses
 * ------------------------------------------------------------------- */

static void test_100_continue_then_200_completes_only_on_final_response(void **state)
{
	static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
	static const char msg[] =
		"HTTP/1.1 100 Continue\r\n"
		"\r\n"
		"HTTP/1.1 200 OK\r\n"
		"content-length: 2\r\n"
		"\r\n"
		"ok";
	struct outcome o;

	(void)state;
	/* The interim head alone: nothing completed, waiting for a status line. */
	o = check_every_split(MSG(interim), 0);
	assert_false(o.error);
	assert_int_equal(o.completed, 0);
	assert_int_equal(o.state, RESP_STATUS_LINE);

	o = assert_completes_at_end(MSG(msg), 0, 200);
	assert_int_equal(o.status_now, 200);
}

static void test_103_early_hints_then_200_completes_only_on_final_response(void **state)
{
	static const char msg[] =
		"HTTP/1.1 103 Early Hints\r\n"
		"link: </style.css>; rel=preload; as=style\r\n"
		"\r\n"
		"HTTP/1.1 200 OK\r\n"
		"content-length: 5\r\n"
		"\r\n"
		"hello";

	(void)state;
	assert_completes_at_end(MSG(msg), 0, 200);
}

static void test_100_continue_on_head_request_keeps_no_body(void **state)
{
	/* The interim response resets the parser; it must still know that the
	 * final response answers a HEAD. */
	static const char msg[] =
		"HTTP/1.1 100 Continue\r\n"
		"\r\n"
		"HTTP/1.1 200 OK\r\n"
		"content-length: 13\r\n"
		"\r\n";

	(void)state;
	assert_completes_at_end(MSG(msg), 1, 200);
}

static void test_101_switching_protocols_completes_at_head_end_upgraded(void **state)
{
	static const char head[] =
		"HTTP/1.1 101 Switching Protocols\r\n"
		"upgrade: websocket\r\n"
		"connection: Upgrade\r\n"
		"sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"\r\n";
	/* ... followed by a WebSocket text frame, which is not HTTP. */
	static const char stream[] =
		"HTTP/1.1 101 Switching Protocols\r\n"
		"upgrade: websocket\r\n"
		"connection: Upgrade\r\n"
		"sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"\r\n"
		"\x81\x05hello";
	struct outcome o;

	(void)state;
	o = assert_completes_at_end(MSG(head), 0, 101);
	assert_true(o.flags[0] & RESP_UPGRADED);

	o = check_every_split(MSG(stream), 0);
	assert_int_equal(o.completed, 1);
	assert_int_equal(o.end[0], sizeof(head) - 1);
	assert_true(o.flags[0] & RESP_UPGRADED);
}

/* ---------------------------------------------------------------------
 * Body delimited by the connection's end
 * ------------------------------------------------------------------- */

static void test_unframed_body_runs_until_close_and_never_completes(void **state)
{
	/* HTTP/1.0 style: neither Content-Length nor chunked.  The body holds
	 * a complete response's bytes, which must be skipped like any other. */
	static const char msg[] =
		"HTTP/1.0 200 OK\r\n"
		"content-type: text/plain\r\n"
		"\r\n"
		"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n0\r\n\r\n";
	struct outcome o;
	struct driver d;
	int ev = -1;

	(void)state;
	o = check_every_split(MSG(msg), 0);
	assert_false(o.error);
	assert_int_equal(o.completed, 0);
	assert_int_equal(o.state, RESP_BODY_UNTIL_CLOSE);
	assert_int_equal(o.status_now, 200);

	/* Whatever is available is body. */
	driver_init(&d, 0);
	driver_feed(&d, MSG(msg));
	assert_int_equal(http_response_skip(&d.p, 1 << 20, &ev), 1 << 20);
	assert_int_equal(ev, RESP_EV_NONE);
	assert_int_equal(d.p.state, RESP_BODY_UNTIL_CLOSE);
}

/* ---------------------------------------------------------------------
 * Not HTTP, or not a valid status line
 * ------------------------------------------------------------------- */

static void test_ssh_banner_is_error_at_first_byte(void **state)
{
	static const char msg[] = "SSH-2.0-OpenSSH_9.6\r\n";

	(void)state;
	assert_error_at(MSG(msg), 1);
}

static void test_tls_record_is_error_at_first_byte(void **state)
{
	/* A TLS handshake record header (ServerHello). */
	static const char msg[] = "\x16\x03\x01\x00\x7a\x02\x00\x00\x76\x03\x03";

	(void)state;
	assert_error_at(MSG(msg), 1);
}

static void test_http2_status_line_is_error(void **state)
{
	/* "HTTP/2 200": the status digits are not where HTTP/1.x has them. */
	static const char msg[] = "HTTP/2 200\r\n\r\n";

	(void)state;
	assert_error_at(MSG(msg), sizeof("HTTP/2 200\r") - 1);
}

static void test_two_digit_status_is_error(void **state)
{
	static const char crlf[] = "HTTP/1.1 20\r\n\r\n";
	static const char lf[] = "HTTP/1.1 20\n\n";

	(void)state;
	assert_error_at(MSG(crlf), sizeof("HTTP/1.1 20\r") - 1);
	assert_error_at(MSG(lf), sizeof("HTTP/1.1 20\n") - 1);
}

static void test_status_600_and_above_is_error(void **state)
{
	static const char s600[] = "HTTP/1.1 600 Nope\r\n\r\n";
	static const char s999[] = "HTTP/1.1 999\r\n\r\n";

	(void)state;
	/* The error is at the status code's last digit, once it is known. */
	assert_error_at(MSG(s600), sizeof("HTTP/1.1 600") - 1);
	assert_error_at(MSG(s999), sizeof("HTTP/1.1 999") - 1);
}

static void test_status_below_100_is_error(void **state)
{
	static const char msg[] = "HTTP/1.1 099 Nope\r\n\r\n";

	(void)state;
	assert_error_at(MSG(msg), sizeof("HTTP/1.1 099") - 1);
}

/* Found by the fuzzer (make fuzz): a status line that ends at byte 8, before
 * its status code.  The whole-message fast path must not read a status out of
 * the next line; stepping calls the LF at byte 8 an error, and so must every
 * split. */
static void test_status_line_ending_before_status_code_is_error(void **state)
{
	static const char msg[] = "HTTP/1.\r\n200 OK\r\ncontent-length: 0\r\n\r\n";

	(void)state;
	assert_error_at(MSG(msg), sizeof("HTTP/1.\r\n") - 1);
}

static void test_status_599_is_accepted(void **state)
{
	/* The upper edge of the valid range, next to the 600 error above. */
	static const char msg[] = "HTTP/1.1 599 Edge\r\ncontent-length: 0\r\n\r\n";

	(void)state;
	assert_completes_at_end(MSG(msg), 0, 599);
}

static void test_cr_without_lf_at_head_end_is_error(void **state)
{
	static const char msg[] = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\rX";

	(void)state;
	assert_error_at(MSG(msg), sizeof(msg) - 1);
}

static void test_error_is_sticky(void **state)
{
	struct http_response_framing p;
	int ev = -1;

	(void)state;
	http_response_reset(&p, 0);
	assert_int_equal(http_response_step(&p, 'X'), RESP_EV_ERROR);
	/* Later bytes, even a valid status line, change nothing. */
	assert_int_equal(http_response_step(&p, 'H'), RESP_EV_NONE);
	assert_int_equal(http_response_step(&p, '\n'), RESP_EV_NONE);
	assert_int_equal(p.state, RESP_ERROR);
	assert_int_equal(http_response_skip(&p, 10, &ev), 10);
	assert_int_equal(ev, RESP_EV_NONE);
}

static void test_bytes_after_complete_do_not_reopen_it(void **state)
{
	struct driver d;
	int ev = -1;

	(void)state;
	driver_init(&d, 0);
	driver_feed(&d, MSG(uvicorn_json_200));
	assert_int_equal(d.p.state, RESP_COMPLETE);
	/* Without a reset, bytes after the end are not framed. */
	assert_int_equal(http_response_step(&d.p, 'H'), RESP_EV_NONE);
	assert_int_equal(http_response_skip(&d.p, 7, &ev), 7);
	assert_int_equal(ev, RESP_EV_NONE);
	assert_int_equal(d.p.state, RESP_COMPLETE);
	assert_int_equal(d.p.status, 200);
}

/* ---------------------------------------------------------------------
 * Request line
 * ------------------------------------------------------------------- */

/* Feed the request line in the segments delimited by cuts[]; stop feeding
 * once the parser says so, as the BPF program does, including its fast path
 * for the method when a segment starts the line with 8 bytes in hand: the
 * unsplit runs take it, the split ones mostly do not, and every test
 * compares them. */
static struct http_request_line parse_line_cuts(const __u8 *buf, size_t len,
						const size_t *cuts, size_t ncuts)
{
	struct http_request_line r;
	size_t start = 0, k, i;
	int done = 0;

	http_request_line_reset(&r);
	for (k = 0; k <= ncuts && !done; k++) {
		size_t stop = k < ncuts ? cuts[k] : len;

		i = start;
		if (stop - start >= HTTP_METHOD_MAX_LEN)
			i += http_request_line_fast(&r, buf + start);
		for (; i < stop && !done; i++)
			done = http_request_line_step(&r, buf[i]);
		start = stop;
	}
	return r;
}

static struct http_request_line parse_line(const __u8 *buf, size_t len)
{
	return parse_line_cuts(buf, len, NULL, 0);
}

static void assert_same_line(const struct http_request_line *a, const struct http_request_line *b)
{
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->method, b->method);
	assert_int_equal(a->method_bytes, b->method_bytes);
	assert_int_equal(a->path_hash, b->path_hash);
	assert_int_equal(a->length, b->length);
}

/* Whole, in two and three segments at every position, and byte by byte. */
static struct http_request_line check_line_every_split(const __u8 *buf, size_t len)
{
	struct http_request_line whole = parse_line(buf, len), r;
	size_t cuts[64], a, b;

	assert_true(len < sizeof(cuts) / sizeof(cuts[0]));
	for (a = 0; a < len; a++)
		cuts[a] = a + 1;
	r = parse_line_cuts(buf, len, cuts, len);
	assert_same_line(&whole, &r);
	for (a = 0; a <= len; a++) {
		cuts[0] = a;
		r = parse_line_cuts(buf, len, cuts, 1);
		assert_same_line(&whole, &r);
		for (b = a; b <= len; b++) {
			cuts[1] = b;
			r = parse_line_cuts(buf, len, cuts, 2);
			assert_same_line(&whole, &r);
		}
	}
	return whole;
}

static void test_request_get_healthz_gives_get_and_path_hash(void **state)
{
	static const char line[] = "GET /healthz HTTP/1.1\r\nhost: pod\r\n\r\n";
	struct http_request_line r;

	(void)state;
	r = check_line_every_split(MSG(line));
	assert_int_equal(r.state, REQ_LINE_DONE);
	assert_int_equal(r.method, HTTP_GET);
	assert_int_equal(r.path_hash, http_path_hash("/healthz", 255));
	/* Parsing stops at the space after the path. */
	assert_int_equal(r.length, sizeof("GET /healthz ") - 1);
}

static void test_request_query_and_fragment_do_not_change_path_hash(void **state)
{
	static const char query[] = "GET /healthz?x=1 HTTP/1.1\r\n";
	static const char fragment[] = "GET /healthz#top HTTP/1.1\r\n";
	static const char http09[] = "GET /healthz\r\n";
	__u64 healthz = http_path_hash("/healthz", 255);

	(void)state;
	assert_int_equal(check_line_every_split(MSG(query)).path_hash, healthz);
	assert_int_equal(check_line_every_split(MSG(fragment)).path_hash, healthz);
	assert_int_equal(check_line_every_split(MSG(http09)).path_hash, healthz);
}

static void test_request_different_paths_give_different_hashes(void **state)
{
	static const char longer[] = "GET /healthzx HTTP/1.1\r\n";
	static const char deeper[] = "GET /healthz/ready HTTP/1.1\r\n";
	static const char root[] = "GET / HTTP/1.1\r\n";
	__u64 healthz = http_path_hash("/healthz", 255);

	(void)state;
	assert_int_not_equal(parse_line(MSG(longer)).path_hash, healthz);
	assert_int_not_equal(parse_line(MSG(deeper)).path_hash, healthz);
	assert_int_equal(parse_line(MSG(root)).path_hash, http_path_hash("/", 255));
	assert_int_not_equal(http_path_hash("/", 255), healthz);
}

static void test_path_hash_is_fnv1a_64(void **state)
{
	/* Published FNV-1a 64-bit test vectors: the daemon's hashes of
	 * --exclude-path values must agree with any other FNV-1a. */
	static const char line[] = "GET a HTTP/1.1\r\n";

	(void)state;
	assert_int_equal(http_path_hash("", 255), 0xcbf29ce484222325ULL);
	assert_int_equal(http_path_hash("a", 255), 0xaf63dc4c8601ec8cULL);
	assert_int_equal(http_path_hash("foobar", 255), 0x85944171f73967e8ULL);
	assert_int_equal(parse_line(MSG(line)).path_hash, 0xaf63dc4c8601ec8cULL);
}

static void test_path_hash_stops_at_max_len(void **state)
{
	(void)state;
	assert_int_equal(http_path_hash("/healthz/more", 8), http_path_hash("/healthz", 255));
	assert_int_equal(http_path_hash("/healthz", 0), FNV1A_OFFSET);
}

struct method_case {
	const char *name;
	__u32 method;
};

static const struct method_case standard_methods[] = {
	{ "GET", HTTP_GET },         { "HEAD", HTTP_HEAD },   { "POST", HTTP_POST },
	{ "PUT", HTTP_PUT },         { "DELETE", HTTP_DELETE }, { "PATCH", HTTP_PATCH },
	{ "OPTIONS", HTTP_OPTIONS }, { "TRACE", HTTP_TRACE }, { "CONNECT", HTTP_CONNECT },
};
#define STANDARD_METHODS (sizeof(standard_methods) / sizeof(standard_methods[0]))

/* The method word the parser builds: first byte in the lowest byte. */
static __u64 method_word(const char *name)
{
	__u64 word = 0;
	size_t i;

	for (i = 0; name[i]; i++)
		word |= (__u64)(__u8)name[i] << (i * 8);
	return word;
}

static void test_request_every_standard_method_maps_to_its_enum(void **state)
{
	int seen[HTTP_METHOD_COUNT] = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < STANDARD_METHODS; i++) {
		char line[64];
		int len = snprintf(line, sizeof(line), "%s /items/1 HTTP/1.1\r\n",
				   standard_methods[i].name);
		struct http_request_line r = check_line_every_split((const __u8 *)line, (size_t)len);

		assert_int_equal(r.state, REQ_LINE_DONE);
		assert_int_equal(r.method, standard_methods[i].method);
		assert_int_equal(r.path_hash, http_path_hash("/items/1", 255));
		assert_int_equal(http_method_from_word(method_word(standard_methods[i].name)),
				 standard_methods[i].method);
		seen[standard_methods[i].method]++;
	}
	/* Every enum value but OTHER has exactly one method. */
	for (i = 0; i < HTTP_OTHER; i++)
		assert_int_equal(seen[i], 1);
}

static void test_request_unknown_uppercase_method_is_other(void **state)
{
	/* Near misses of known methods included: prefixes, extensions, and an
	 * 8-letter method (the longest accepted). */
	static const char *const others[] = {
		"PROPFIND", "MKCOL", "PURGE", "GE", "GETX", "POSTS", "OPTIONSX", "CONNECTS",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		char line[64];
		int len = snprintf(line, sizeof(line), "%s / HTTP/1.1\r\n", others[i]);
		struct http_request_line r = check_line_every_split((const __u8 *)line, (size_t)len);

		assert_int_equal(r.state, REQ_LINE_DONE);
		assert_int_equal(r.method, HTTP_OTHER);
		assert_int_equal(r.path_hash, http_path_hash("/", 255));
		assert_int_equal(http_method_from_word(method_word(others[i])), HTTP_OTHER);
	}
}

static void test_request_lowercase_method_is_invalid(void **state)
{
	static const char lower[] = "get / HTTP/1.1\r\n";
	static const char mixed[] = "Get / HTTP/1.1\r\n";
	struct http_request_line r;

	(void)state;
	r = check_line_every_split(MSG(lower));
	assert_int_equal(r.state, REQ_LINE_INVALID);
	assert_int_equal(r.length, 1);
	r = check_line_every_split(MSG(mixed));
	assert_int_equal(r.state, REQ_LINE_INVALID);
	assert_int_equal(r.length, 2);
}

static void test_request_binary_bytes_are_invalid(void **state)
{
	static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	static const char nul[] = "\0\0\0\0";
	static const char high[] = "G\xc3\x89T / HTTP/1.1\r\n";
	static const char ssh[] = "SSH-2.0-OpenSSH_9.6\r\n";
	static const char digit[] = "G3T / HTTP/1.1\r\n";

	(void)state;
	assert_int_equal(check_line_every_split(MSG(tls)).state, REQ_LINE_INVALID);
	assert_int_equal(check_line_every_split(MSG(nul)).state, REQ_LINE_INVALID);
	assert_int_equal(check_line_every_split(MSG(high)).state, REQ_LINE_INVALID);
	assert_int_equal(check_line_every_split(MSG(ssh)).state, REQ_LINE_INVALID);
	assert_int_equal(check_line_every_split(MSG(digit)).state, REQ_LINE_INVALID);
}

static void test_request_method_longer_than_8_is_invalid(void **state)
{
	static const char nine[] = "PROPFINDX / HTTP/1.1\r\n";
	static const char many[] = "ABCDEFGHIJKLMNOP / HTTP/1.1\r\n";
	struct http_request_line r;

	(void)state;
	r = check_line_every_split(MSG(nine));
	assert_int_equal(r.state, REQ_LINE_INVALID);
	/* Rejected at the ninth letter. */
	assert_int_equal(r.length, HTTP_METHOD_MAX_LEN + 1);
	assert_int_equal(check_line_every_split(MSG(many)).state, REQ_LINE_INVALID);
}

static void test_request_empty_method_is_invalid(void **state)
{
	static const char msg[] = " / HTTP/1.1\r\n";

	(void)state;
	assert_int_equal(check_line_every_split(MSG(msg)).state, REQ_LINE_INVALID);
}

static void test_request_incomplete_line_is_not_done(void **state)
{
	static const char in_method[] = "POS";
	static const char in_path[] = "GET /heal";
	struct http_request_line r;

	(void)state;
	assert_int_equal(check_line_every_split(MSG(in_method)).state, REQ_LINE_METHOD);
	r = check_line_every_split(MSG(in_path));
	assert_int_equal(r.state, REQ_LINE_PATH);
	assert_int_equal(r.method, HTTP_GET);
}

static void test_request_line_done_ignores_later_bytes(void **state)
{
	static const char line[] = "GET /healthz HTTP/1.1\r\n";
	struct http_request_line r = parse_line(MSG(line)), before;

	(void)state;
	before = r;
	/* The caller may keep feeding; the result must not move. */
	assert_int_equal(http_request_line_step(&r, '/'), 1);
	assert_int_equal(http_request_line_step(&r, 'x'), 1);
	assert_int_equal(r.state, REQ_LINE_DONE);
	assert_int_equal(r.method, before.method);
	assert_int_equal(r.path_hash, before.path_hash);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* Content-Length */
		cmocka_unit_test(test_uvicorn_response_completes_exactly_at_last_byte),
		cmocka_unit_test(test_h11_lowercase_headers_frame_by_content_length),
		cmocka_unit_test(test_capitalized_content_length_frames_body),
		cmocka_unit_test(test_content_length_zero_completes_at_head_end),
		cmocka_unit_test(test_large_body_split_over_many_segments_completes_at_end),
		cmocka_unit_test(test_keepalive_two_responses_each_complete_at_their_own_end),
		cmocka_unit_test(test_huge_content_length_is_clamped_not_wrapped),
		cmocka_unit_test(test_header_names_resembling_content_length_do_not_frame),
		/* chunked */
		cmocka_unit_test(test_chunked_several_chunks_complete_on_final_lf),
		cmocka_unit_test(test_chunked_extensions_are_ignored),
		cmocka_unit_test(test_chunked_uppercase_hex_sizes_are_parsed),
		cmocka_unit_test(test_chunked_trailers_complete_after_their_empty_line),
		cmocka_unit_test(test_chunked_final_chunk_in_separate_segment_completes_on_last_lf),
		cmocka_unit_test(test_chunk_data_containing_last_chunk_does_not_end_early),
		cmocka_unit_test(test_chunked_wins_over_content_length),
		cmocka_unit_test(test_chunked_found_in_capitalized_coding_list),
		cmocka_unit_test(test_transfer_encoding_identity_keeps_content_length),
		cmocka_unit_test(test_huge_chunk_size_is_clamped_not_wrapped),
		cmocka_unit_test(test_non_hex_chunk_size_is_error),
		cmocka_unit_test(test_missing_crlf_after_chunk_data_is_error),
		cmocka_unit_test(test_empty_chunk_size_line_after_a_chunk_is_error),
		cmocka_unit_test(test_empty_first_chunk_size_line_is_error),
		/* no body */
		cmocka_unit_test(test_head_response_with_content_length_completes_at_head_end),
		cmocka_unit_test(test_head_then_get_on_keepalive_frame_independently),
		cmocka_unit_test(test_204_completes_at_head_end),
		cmocka_unit_test(test_304_completes_at_head_end_despite_content_length),
		/* interim, upgrade, until close */
		cmocka_unit_test(test_100_continue_then_200_completes_only_on_final_response),
		cmocka_unit_test(test_103_early_hints_then_200_completes_only_on_final_response),
		cmocka_unit_test(test_100_continue_on_head_request_keeps_no_body),
		cmocka_unit_test(test_101_switching_protocols_completes_at_head_end_upgraded),
		cmocka_unit_test(test_unframed_body_runs_until_close_and_never_completes),
		/* errors */
		cmocka_unit_test(test_ssh_banner_is_error_at_first_byte),
		cmocka_unit_test(test_tls_record_is_error_at_first_byte),
		cmocka_unit_test(test_http2_status_line_is_error),
		cmocka_unit_test(test_two_digit_status_is_error),
		cmocka_unit_test(test_status_600_and_above_is_error),
		cmocka_unit_test(test_status_below_100_is_error),
		cmocka_unit_test(test_status_599_is_accepted),
		cmocka_unit_test(test_status_line_ending_before_status_code_is_error),
		cmocka_unit_test(test_cr_without_lf_at_head_end_is_error),
		cmocka_unit_test(test_error_is_sticky),
		cmocka_unit_test(test_bytes_after_complete_do_not_reopen_it),
		/* request line */
		cmocka_unit_test(test_request_get_healthz_gives_get_and_path_hash),
		cmocka_unit_test(test_request_query_and_fragment_do_not_change_path_hash),
		cmocka_unit_test(test_request_different_paths_give_different_hashes),
		cmocka_unit_test(test_path_hash_is_fnv1a_64),
		cmocka_unit_test(test_path_hash_stops_at_max_len),
		cmocka_unit_test(test_request_every_standard_method_maps_to_its_enum),
		cmocka_unit_test(test_request_unknown_uppercase_method_is_other),
		cmocka_unit_test(test_request_lowercase_method_is_invalid),
		cmocka_unit_test(test_request_binary_bytes_are_invalid),
		cmocka_unit_test(test_request_method_longer_than_8_is_invalid),
		cmocka_unit_test(test_request_empty_method_is_invalid),
		cmocka_unit_test(test_request_incomplete_line_is_not_done),
		cmocka_unit_test(test_request_line_done_ignores_later_bytes),
	};

	/* cmocka returns the number of failures; an exit status is mod 256. */
	return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
