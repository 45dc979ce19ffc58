/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for include/http_framing.h, response side: the framing state
 * machine that the egress BPF program runs.
 *
 * The kernel sees a response as TCP segments of arbitrary sizes, so every
 * response test runs the same bytes through the driver in framing_driver.h,
 * which feeds them the way the BPF program does: once whole, then split into
 * two and three segments at every position, then byte by byte; each of these
 * with the word steps on (in windows of several sizes) and with bytes only.
 * All of them must give the same events at the same offsets.
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
#include "framing_driver.h"

/* A string literal or char array as (bytes, length), without its NUL. */
#define MSG(s) (const __u8 *)(s), (sizeof(s) - 1)

/* Splitting into three segments at every pair of positions is quadratic;
 * longer messages are split into two segments and byte by byte only. */
#define THREE_PART_MAX 600

/* What the response tests look at, from the driver's event list. */
struct outcome {
	unsigned completed;          /* responses that completed */
	size_t end[DRIVER_MAX_EVENTS];   /* offset just past each one's last byte */
	__u32 status[DRIVER_MAX_EVENTS]; /* status of each completed response */
	__u32 flags[DRIVER_MAX_EVENTS];  /* HTTP_F_* flags of each completed response */
	int error;                   /* HTTP_EV_ERROR was returned */
	size_t error_end;            /* offset just past the offending byte */
	__u32 state;                 /* parser state after the last byte */
	__u32 status_now;            /* parser status after the last byte */
	__u64 remaining;             /* parser remaining after the last byte */
	struct driver_outcome raw;
};

static struct outcome summarize(const struct driver_outcome *raw)
{
	struct outcome o;
	unsigned k;

	memset(&o, 0, sizeof(o));
	o.raw = *raw;
	for (k = 0; k < raw->count; k++) {
		const struct driver_event *e = &raw->events[k];

		if (e->kind == DRV_COMPLETE) {
			o.end[o.completed] = e->offset;
			o.status[o.completed] = (__u32)e->value;
			o.flags[o.completed] = e->detail;
			o.completed++;
		} else if (e->kind == DRV_ERROR) {
			o.error = 1;
			o.error_end = e->offset;
		}
	}
	o.state = raw->state;
	o.status_now = raw->status;
	o.remaining = raw->remaining;
	return o;
}

static struct driver_run response_run(unsigned no_body_mask, int words, size_t window)
{
	struct driver_run r = { .request = 0, .no_body_mask = no_body_mask, .words = words, .window = window };

	return r;
}

/* Feed buf as the segments delimited by the ascending offsets cuts[]. */
static struct outcome run_cuts(const __u8 *buf, size_t len, unsigned no_body_mask,
			       const size_t *cuts, size_t ncuts)
{
	struct driver_run r = response_run(no_body_mask, DRIVER_SHAPES, 256);
	struct driver_outcome raw = driver_run_cuts(&r, buf, len, cuts, ncuts);

	return summarize(&raw);
}

static struct outcome run_whole(const __u8 *buf, size_t len, unsigned no_body_mask)
{
	return run_cuts(buf, len, no_body_mask, NULL, 0);
}

/* Feed buf in segments of `size` bytes (the last one shorter). */
static struct outcome run_segments_of(const __u8 *buf, size_t len, unsigned no_body_mask,
				      size_t size)
{
	struct driver_run r = response_run(no_body_mask, DRIVER_SHAPES, 256);
	struct driver_outcome raw = driver_run_segments_of(&r, buf, len, size);

	return summarize(&raw);
}

static void assert_same_outcome(const struct outcome *whole, const struct outcome *split,
				const char *how, size_t a, size_t b)
{
	if (driver_outcome_equal(&whole->raw, &split->raw))
		return;
	print_error("split %s at %zu,%zu differs from whole:\n", how, a, b);
	driver_outcome_print(&whole->raw, stderr);
	driver_outcome_print(&split->raw, stderr);
	fail();
}

/* The word steps against the byte machine on the same cuts, in windows of
 * several sizes (the BPF programs' is 256 bytes; small ones put window ends
 * everywhere). */
static void assert_words_agree(const __u8 *buf, size_t len, unsigned no_body_mask, const size_t *cuts,
			       size_t ncuts)
{
	static const size_t windows[] = { 256, 19, 8 };
	struct driver_run bytes = response_run(no_body_mask, DRIVER_BYTES, 256);
	struct driver_outcome reference = driver_run_cuts(&bytes, buf, len, cuts, ncuts);
	size_t w;
	int how;

	for (w = 0; w < sizeof(windows) / sizeof(windows[0]); w++)
	for (how = DRIVER_WORDS; how <= DRIVER_SHAPES; how++) {
		struct driver_run words = response_run(no_body_mask, how, windows[w]);
		struct driver_outcome o = driver_run_cuts(&words, buf, len, cuts, ncuts);

		if (!driver_outcome_equal(&reference, &o)) {
			print_error("word steps (%s, window %zu) differ from bytes, cuts at %zu,%zu:\n",
				    how == DRIVER_SHAPES ? "shapes" : "no shapes", windows[w],
				    ncuts > 0 ? cuts[0] : len, ncuts > 1 ? cuts[1] : len);
			driver_outcome_print(&reference, stderr);
			driver_outcome_print(&o, stderr);
			fail();
		}
	}
}

/* Run buf whole, split in 2 and 3 at every position, and byte by byte; with
 * and without word steps.  All must agree.  Returns the outcome for the
 * caller's own assertions. */
static struct outcome check_every_split(const __u8 *buf, size_t len, unsigned no_body_mask)
{
	struct outcome whole = run_whole(buf, len, no_body_mask), o;
	size_t cuts[2];

	assert_false(whole.raw.overflow);
	assert_words_agree(buf, len, no_body_mask, NULL, 0);
	o = run_segments_of(buf, len, no_body_mask, 1);
	assert_same_outcome(&whole, &o, "byte by byte", 1, 1);
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
		o = run_cuts(buf, len, no_body_mask, cuts, 1);
		assert_same_outcome(&whole, &o, "in two", cuts[0], cuts[0]);
		assert_words_agree(buf, len, no_body_mask, cuts, 1);
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
	assert_int_equal(o.state, HTTP_COMPLETE);
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
	assert_int_equal(o.state, HTTP_ERROR);
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
	assert_true(o.flags[0] & HTTP_F_HAS_LENGTH);
	assert_false(o.flags[0] & HTTP_F_CHUNKED);

	/* One byte short, the parser is still in the body, owed one byte. */
	short_one = run_whole((const __u8 *)uvicorn_json_200, sizeof(uvicorn_json_200) - 2, 0);
	assert_int_equal(short_one.state, HTTP_BODY_LENGTH);
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
	assert_int_equal(o.state, HTTP_BODY_LENGTH);
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
	assert_int_equal(o.state, HTTP_BODY_UNTIL_CLOSE);
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
	assert_true(o.flags[0] & HTTP_F_CHUNKED);
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
	assert_int_equal(before_last.state, HTTP_TRAILER_START);
}

static void test_chunked_final_chunk_in_separate_segment_completes_on_last_lf(void **state)
{
	static const char body[] = CHUNKED_HEAD "5\r\nhello\r\n";
	static const char last[] = "0\r\n\r\n";
	struct driver d;
	size_t i;

	(void)state;
	driver_init(&d, 0, 0, NULL, 1, 256);
	driver_feed(&d, MSG(body));
	assert_int_equal(summarize(&d.out).completed, 0);
	assert_int_equal(d.p.state, HTTP_CHUNK_SIZE);
	/* Each byte of the last chunk but the final LF leaves it open. */
	for (i = 0; i + 1 < sizeof(last) - 1; i++) {
		driver_feed(&d, (const __u8 *)last + i, 1);
		assert_int_equal(summarize(&d.out).completed, 0);
		assert_false(summarize(&d.out).error);
	}
	driver_feed(&d, (const __u8 *)last + i, 1);
	assert_int_equal(summarize(&d.out).completed, 1);
	assert_int_equal(summarize(&d.out).end[0], sizeof(body) - 1 + sizeof(last) - 1);
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
	assert_true(o.flags[0] & HTTP_F_CHUNKED);
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
	assert_false(o.flags[0] & HTTP_F_CHUNKED);
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
	assert_int_equal(o.state, HTTP_CHUNK_DATA);
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
	assert_true(o.flags[0] & HTTP_F_NO_BODY);

	/* The same bytes answering a GET wait for 13 body bytes: it is the
	 * no_body reset that ends it. */
	o = run_whole(MSG(head_reply), 0);
	assert_int_equal(o.completed, 0);
	assert_int_equal(o.state, HTTP_BODY_LENGTH);
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
	assert_true(o.flags[0] & HTTP_F_NO_BODY);
	assert_int_equal(o.end[1], sizeof(both) - 1);
	assert_false(o.flags[1] & HTTP_F_NO_BODY);
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
	assert_int_equal(o.state, HTTP_STATUS_LINE);

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
	assert_true(o.flags[0] & HTTP_F_UPGRADED);

	o = check_every_split(MSG(stream), 0);
	assert_int_equal(o.completed, 1);
	assert_int_equal(o.end[0], sizeof(head) - 1);
	assert_true(o.flags[0] & HTTP_F_UPGRADED);
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
	assert_int_equal(o.state, HTTP_BODY_UNTIL_CLOSE);
	assert_int_equal(o.status_now, 200);

	/* Whatever is available is body. */
	driver_init(&d, 0, 0, NULL, 1, 256);
	driver_feed(&d, MSG(msg));
	assert_int_equal(http_skip(&d.p, 1 << 20, &ev), 1 << 20);
	assert_int_equal(ev, HTTP_EV_NONE);
	assert_int_equal(d.p.state, HTTP_BODY_UNTIL_CLOSE);
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
	struct http_parser p;
	int ev = -1;

	(void)state;
	http_response_begin(&p, 0);
	assert_int_equal(http_step(&p, NULL, 'X'), HTTP_EV_ERROR);
	/* Later bytes, even a valid status line, change nothing. */
	assert_int_equal(http_step(&p, NULL, 'H'), HTTP_EV_NONE);
	assert_int_equal(http_step(&p, NULL, '\n'), HTTP_EV_NONE);
	assert_int_equal(p.state, HTTP_ERROR);
	assert_int_equal(http_skip(&p, 10, &ev), 10);
	assert_int_equal(ev, HTTP_EV_NONE);
}

static void test_bytes_after_complete_do_not_reopen_it(void **state)
{
	struct driver d;
	int ev = -1;

	(void)state;
	driver_init(&d, 0, 0, NULL, 1, 256);
	driver_feed(&d, MSG(uvicorn_json_200));
	assert_int_equal(d.p.state, HTTP_COMPLETE);
	/* Without a reset, bytes after the end are not framed. */
	assert_int_equal(http_step(&d.p, NULL, 'H'), HTTP_EV_NONE);
	assert_int_equal(http_skip(&d.p, 7, &ev), 7);
	assert_int_equal(ev, HTTP_EV_NONE);
	assert_int_equal(d.p.state, HTTP_COMPLETE);
	assert_int_equal(d.p.status, 200);
}

/* ---------------------------------------------------------------------
 * Streams, long heads, and the word steps against the byte machine
 * ------------------------------------------------------------------- */

/* The fuzzer's find: the status-line word step took a line with an LF
 * among bytes 5-8, which the byte machine refuses. */
static void test_lf_inside_the_version_is_an_error_both_ways(void **state)
{
	static const char msg[] = "HTTP/1.\r\n200 OK\r\ncontent-length: 0\r\n\r\n";

	(void)state;
	assert_error_at(MSG(msg), 9);
}

/* Token streaming: many tiny chunks written back to back arrive in one
 * segment; each is framed, and the response stays open until its end. */
static void test_hundreds_of_tiny_chunks_in_one_segment(void **state)
{
	static const unsigned counts[] = { 16, 50, 400 };
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		size_t cap = 256 + counts[c] * 24, len, k;
		char *buf = malloc(cap);
		struct driver_run words = response_run(0, 1, 256), bytes = response_run(0, 0, 256);
		struct outcome o, b, open;
		struct driver_outcome raw;

		assert_non_null(buf);
		len = (size_t)snprintf(buf, cap, "%s", CHUNKED_HEAD);
		for (k = 0; k < counts[c]; k++)
			len += (size_t)snprintf(buf + len, cap - len, "%x\r\ndata: %zu\r\n", (unsigned)(7 + (k >= 10) + (k >= 100)), k);
		len += (size_t)snprintf(buf + len, cap - len, "0\r\n\r\n");
		raw = driver_run_cuts(&words, (const __u8 *)buf, len, NULL, 0);
		o = summarize(&raw);
		assert_false(o.error);
		assert_int_equal(o.completed, 1);
		assert_int_equal(o.end[0], len);
		raw = driver_run_cuts(&bytes, (const __u8 *)buf, len, NULL, 0);
		b = summarize(&raw);
		assert_same_outcome(&o, &b, "bytes only", 0, 0);
		/* Without its last chunk it is still in flight. */
		raw = driver_run_cuts(&words, (const __u8 *)buf, len - 5, NULL, 0);
		open = summarize(&raw);
		assert_int_equal(open.completed, 0);
		assert_false(open.error);
		free(buf);
	}
}

static size_t long_head(char *buf, size_t cap, size_t head_len)
{
	size_t len = (size_t)snprintf(buf, cap, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n");

	/* Cookie lines up to head_len, then the empty line and a body. */
	while (len + 40 < head_len)
		len += (size_t)snprintf(buf + len, cap - len, "set-cookie: k%05zu=vvvvvvvvvvvvvvvvv\r\n", len);
	while (len + 2 < head_len) {
		buf[len] = len % 2 ? 'w' : 'x'; /* an unfinished header line */
		len++;
	}
	if (len > 40 && buf[len - 1] != '\n') {
		buf[len++] = '\r';
		buf[len++] = '\n';
	}
	len += (size_t)snprintf(buf + len, cap - len, "\r\nok");
	return len;
}

static void test_16_kib_head_is_framed_longer_is_reported(void **state)
{
	size_t cap = HTTP_HEAD_MAX * 2, len;
	char *buf = malloc(cap);
	struct driver_run words = response_run(0, 1, 256), bytes = response_run(0, 0, 256);
	struct driver_outcome raw, raw_bytes;
	struct outcome o;

	(void)state;
	assert_non_null(buf);
	len = long_head(buf, cap, HTTP_HEAD_MAX - 8);
	raw = driver_run_cuts(&words, (const __u8 *)buf, len, NULL, 0);
	o = summarize(&raw);
	assert_int_equal(o.completed, 1);
	assert_int_equal(o.end[0], len);
	raw = driver_run_segments_of(&words, (const __u8 *)buf, len, 1448);
	assert_int_equal(summarize(&raw).completed, 1);

	len = long_head(buf, cap, HTTP_HEAD_MAX + 100);
	raw = driver_run_cuts(&words, (const __u8 *)buf, len, NULL, 0);
	raw_bytes = driver_run_cuts(&bytes, (const __u8 *)buf, len, NULL, 0);
	assert_true(driver_outcome_equal(&raw, &raw_bytes));
	assert_int_equal(raw.count, 1);
	assert_int_equal(raw.events[0].kind, DRV_TOO_LONG);
	assert_int_equal(raw.events[0].offset, HTTP_HEAD_MAX + 1);
	free(buf);
}

/* Responses of a keep-alive server, for the tests that change them. */
static const char *const keepalive_responses[] = {
	"HTTP/1.1 200 OK\r\ndate: Sun, 29 Nov 2026 18:00:00 GMT\r\nserver: uvicorn\r\n"
	"content-length: 13\r\ncontent-type: application/json\r\n\r\n{\"hello\":\"x\"}",
	"HTTP/1.1 200 OK\r\nserver: uvicorn\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nContent-Type: text/plain\r\n\r\nnot found",
	"HTTP/1.1 304 Not Modified\r\ncontent-length: 99\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n\r\ndata: 1\n\n",
};
#define KEEPALIVE_RESPONSES (sizeof(keepalive_responses) / sizeof(keepalive_responses[0]))

/* Each response of the tests above, mutated the ways a keep-alive server's
 * next response differs from its last: the word steps and the byte machine
 * must still agree on every event. */
static void test_word_steps_agree_with_bytes_on_mutated_responses(void **state)
{
	static const struct {
		const char *from, *to;
	} mutations[] = {
		{ "content-length: 13", "content-length: 1300" },      /* digit count changes */
		{ "content-length: 13", "content-length:  13" },
		{ "Content-Length: 9", "Content-Lengtx: 9" },
		{ "server: uvicorn\r\n", "" },                         /* header removed */
		{ "server: uvicorn\r\ncontent-length: 13", "content-length: 13\r\nserver: uvicorn" }, /* reordered */
		{ "transfer-encoding: chunked", "content-length: 0\r\ntransfer-encoding: chunked" },
		{ "\r\n\r\n", "\r\ntransfer-encoding: chunked\r\n\r\n" }, /* chunked after Content-Length */
		{ "HTTP/1.1 200", "HTTP/1.0 200" },
		{ "HTTP/1.1 200", "HTTP/1.1 2000" },
		{ "HTTP/1.1", "HTTP/1\n1" },
		{ "\r\n", "\n" },
		{ "content-type", "content-typ\n" },
		{ "date", "transfer" },
		{ ": ", ":" },
	};
	static const size_t windows[] = { 256, 23, 18, 9, 8 };
	char buf[1024];
	size_t b, m, w, cut;

	(void)state;
	for (b = 0; b < KEEPALIVE_RESPONSES; b++)
		for (m = 0; m <= sizeof(mutations) / sizeof(mutations[0]); m++) {
			const char *base = keepalive_responses[b];
			size_t len;
			int n;

			if (m == sizeof(mutations) / sizeof(mutations[0]))
				n = snprintf(buf, sizeof(buf), "%s", base);
			else
				n = driver_replace(buf, sizeof(buf), base, mutations[m].from, mutations[m].to);
			if (n < 0)
				continue;
			len = (size_t)n;
			/* Twice in a row: the second response on a connection. */
			memcpy(buf + len, buf, len);
			len *= 2;
			for (cut = 0; cut <= len; cut += 3) {
				struct driver_run bytes = response_run(0, 0, 256);
				struct driver_outcome reference = driver_run_cuts(&bytes, (const __u8 *)buf, len, &cut, 1);

				for (w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
					struct driver_run words = response_run(0, 1, windows[w]);
					struct driver_outcome o = driver_run_cuts(&words, (const __u8 *)buf, len, &cut, 1);

					if (!driver_outcome_equal(&reference, &o)) {
						print_error("base %zu mutation %zu window %zu cut %zu:\n%s\n", b, m,
							    windows[w], cut, buf);
						driver_outcome_print(&reference, stderr);
						driver_outcome_print(&o, stderr);
						fail();
					}
				}
			}
		}
}

/* The shape of a keep-alive connection's last response head, against the
 * byte machine: the next head differs from the last in the ways a shape
 * must take (a new date, a Content-Length of the same width) and in the
 * ways it must refuse (its digit count, a header reordered or renamed, a
 * new line inside a value, chunked after Content-Length, another status, a
 * head split over segments, a HEAD's response).  Every event must be the
 * byte machine's. */
static void test_shapes_agree_with_bytes_on_changed_keepalive_responses(void **state)
{
	static const struct {
		const char *from, *to;
	} changes[] = {
		{ "Sun, 29 Nov 2026 18:00:00", "Mon, 30 Nov 2026 12:34:56" }, /* taken */
		{ "content-length: 13", "content-length: 99" },               /* taken */
		{ "content-length: 13", "content-length: 1x" },
		{ "content-length: 13", "content-length: xx" },               /* no digit: no length */
		{ "content-length: 13", "content-length: 00" },
		{ "content-length: 13", "content-length: 1300" },             /* digit count */
		{ "Content-Length: 9", "Content-Length: 0" },
		{ "server: uvicorn", "server: nginx!!" },
		{ "server: uvicorn", "Server: uvicorn" },
		{ "uvicorn\r\n", "uvicorn \n" },
		{ "18:00:00 GMT", "18:00\n00 GMT" },                          /* a new line in a value */
		{ "application/json", "application/jso\n" },
		{ "charset=utf-8", "charset=\r\n-8" },
		{ "date: Sun, 29 Nov 2026 18:00:00 GMT", "content-length: 0000000000000000002" },
		{ "date: Sun, 29 Nov 2026 18:00:00 GMT", "transfer-encoding: chunked, chunked" },
		{ "server: uvicorn\r\ncontent-length: 13", "content-length: 13\r\nserver: uvicorn" }, /* reordered */
		{ "\r\n\r\n", "\r\ntransfer-encoding: chunked\r\n\r\n" }, /* chunked after Content-Length */
		{ "chunked", "chunkex" },
		{ "HTTP/1.1 200 OK", "HTTP/1.1 204 OK" },
		{ "HTTP/1.1 200 OK", "HTTP/1.1 101 OK" },
		{ "HTTP/1.1 200 OK", "HTTP/1.1 100 OK" },
		{ "HTTP/1.1 404", "HTTP/1.0 404" },
		{ "Not Modified", "Not Modifie\n" },
	};
	static const unsigned no_body_masks[] = { 0, 1, 2, 0xa };
	static const size_t windows[] = { 256, 100, 23, 8 };
	char buf[2048], changed[512];
	size_t b, c, k, w, cut;

	(void)state;
	for (b = 0; b < KEEPALIVE_RESPONSES; b++)
		for (c = 0; c < sizeof(changes) / sizeof(changes[0]); c++) {
			const char *base = keepalive_responses[b];
			size_t len;

			if (driver_replace(changed, sizeof(changed), base, changes[c].from, changes[c].to) < 0)
				continue;
			/* Each head meets the shape of the one before it. */
			len = (size_t)snprintf(buf, sizeof(buf), "%s%s%s%s%s", base, changed, changed, base, base);
			for (k = 0; k < sizeof(no_body_masks) / sizeof(no_body_masks[0]); k++)
				for (cut = 0; cut <= len; cut += 5) {
					struct driver_run bytes = response_run(no_body_masks[k], DRIVER_BYTES, 256);
					struct driver_outcome reference =
						driver_run_cuts(&bytes, (const __u8 *)buf, len, &cut, 1);

					for (w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
						struct driver_run shapes =
							response_run(no_body_masks[k], DRIVER_SHAPES, windows[w]);
						struct driver_outcome o =
							driver_run_cuts(&shapes, (const __u8 *)buf, len, &cut, 1);

						if (!driver_outcome_equal(&reference, &o)) {
							print_error("base %zu change %zu HEADs %x window %zu cut %zu:\n%s\n",
								    b, c, no_body_masks[k], windows[w], cut, buf);
							driver_outcome_print(&reference, stderr);
							driver_outcome_print(&o, stderr);
							fail();
						}
					}
				}
		}
}

/* The shape is taken when only free bytes changed: a new date and a new
 * Content-Length of the same width frame the second response from its
 * shape, with its own length. */
static void test_shape_takes_a_new_date_and_length(void **state)
{
	static const char stream[] =
		"HTTP/1.1 200 OK\r\ndate: Sun, 29 Nov 2026 18:00:00 GMT\r\ncontent-length: 2\r\n\r\nab"
		"HTTP/1.1 200 OK\r\ndate: Sun, 29 Nov 2026 18:00:01 GMT\r\ncontent-length: 5\r\n\r\nabcde";
	const size_t first = 77, head = 75;
	struct driver d;
	struct http_parser p;
	__u32 taken = 0;
	int event;

	(void)state;
	assert_int_equal(strlen(stream), first + head + 5);
	driver_init(&d, 0, 0, NULL, DRIVER_SHAPES, 256);
	driver_feed(&d, (const __u8 *)stream, first);
	assert_int_equal(d.shape.length, head);
	assert_int_equal(d.out.count, 1);
	assert_int_equal(d.out.events[0].offset, first);
	/* The second head has the shape: its length is read from it. */
	http_response_begin(&p, 0);
	event = http_shape_match(&d.shape, &p, (const __u8 *)stream + first, head + 5, &p, &taken);
	assert_int_equal(event, HTTP_EV_BODY);
	assert_int_equal(taken, head);
	assert_int_equal(p.remaining, 5);
	assert_int_equal(p.status, 200);
	/* Not with one byte of the head missing, nor for a HEAD's response. */
	http_response_begin(&p, 0);
	assert_int_equal(http_shape_match(&d.shape, &p, (const __u8 *)stream + first, head - 1, &p, &taken), -1);
	http_response_begin(&p, 1);
	assert_int_equal(http_shape_match(&d.shape, &p, (const __u8 *)stream + first, head + 5, &p, &taken), -1);
	driver_feed(&d, (const __u8 *)stream + first, head + 5);
	assert_int_equal(d.out.count, 2);
	assert_int_equal(d.out.events[1].offset, first + head + 5);
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
		cmocka_unit_test(test_lf_inside_the_version_is_an_error_both_ways),
		cmocka_unit_test(test_hundreds_of_tiny_chunks_in_one_segment),
		cmocka_unit_test(test_16_kib_head_is_framed_longer_is_reported),
		cmocka_unit_test(test_word_steps_agree_with_bytes_on_mutated_responses),
		cmocka_unit_test(test_shapes_agree_with_bytes_on_changed_keepalive_responses),
		cmocka_unit_test(test_shape_takes_a_new_date_and_length),
		/* request line */
	};

	/* cmocka returns the number of failures; an exit status is mod 256. */
	return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
