// SPDX-License-Identifier: MIT
/*
 * The response framer of the closed-loop clients (src/loadgen/http_response.c):
 * a response must end exactly at its last byte, however the bytes arrive,
 * or the next request's timing is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http_response.h"

static struct http_response r;

struct collected {
	char data[256];
	size_t length;
};

static void collect(void *context, const char *data, size_t length)
{
	struct collected *c = context;

	assert_true(c->length + length < sizeof(c->data));
	memcpy(c->data + c->length, data, length);
	c->length += length;
}

/* Feeds `text` followed by `after` (the start of the next response) split
 * at every pair of points; the response must be DONE exactly at the end of
 * `text`, leaving `after` unused, with `status` and `body`. */
static void check_every_split(const char *text, bool head_request, int status, const char *body)
{
	char all[512];
	const char *after = "HTTP/1.1 200 OK\r\n";
	size_t length = strlen(text), total, a, b;

	snprintf(all, sizeof(all), "%s%s", text, after);
	total = strlen(all);
	for (a = 0; a <= length; a++) {
		for (b = a; b <= length; b++) {
			struct collected c = { .length = 0 };
			size_t cuts[] = { 0, a, b, total }, used = 0, i;

			http_response_begin(&r, head_request);
			r.on_body = collect;
			r.body_context = &c;
			for (i = 0; i + 1 < 4 && r.state != HTTP_RESPONSE_DONE; i++) {
				size_t n = http_response_feed(&r, all + cuts[i], cuts[i + 1] - cuts[i]);

				assert_int_not_equal(r.state, HTTP_RESPONSE_BAD);
				used = cuts[i] + n;
			}
			if (r.state != HTTP_RESPONSE_DONE || used != length) {
				print_error("split at %zu/%zu: state %d, used %zu of %zu\n", a, b, r.state, used, length);
				fail();
			}
			assert_int_equal(r.status, status);
			assert_int_equal(c.length, strlen(body));
			assert_memory_equal(c.data, body, c.length);
		}
	}
	r.on_body = NULL;
}

static void test_content_length(void **state)
{
	(void)state;
	check_every_split("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello", false, 200, "hello");
	check_every_split("HTTP/1.1 201 Created\r\ncontent-length:0\r\n\r\n", false, 201, "");
	assert_false(r.close);
}

static void test_chunked(void **state)
{
	(void)state;
	check_every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n",
			  false, 200, "hello 0123456789");
	/* Trailers, and chunked after another coding. */
	check_every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
			  "3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n",
			  false, 200, "abc");
}

static void test_responses_without_a_body(void **state)
{
	(void)state;
	/* HEAD: the headers describe the body a GET would get. */
	check_every_split("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true, 200, "");
	check_every_split("HTTP/1.1 204 No Content\r\n\r\n", false, 204, "");
	check_every_split("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false, 304, "");
}

static void test_interim_responses_do_not_end_it(void **state)
{
	(void)state;
	check_every_split("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
			  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			  false, 200, "ok");
}

static void test_lf_only_heads(void **state)
{
	(void)state;
	check_every_split("HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false, 200, "ok");
}

static void test_connection_close(void **state)
{
	const char *closes = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
	const char *keeps = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok";
	const char *http10 = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";

	(void)state;
	http_response_begin(&r, false);
	http_response_feed(&r, closes, strlen(closes));
	assert_int_equal(r.state, HTTP_RESPONSE_DONE);
	assert_true(r.close);
	http_response_begin(&r, false);
	http_response_feed(&r, keeps, strlen(keeps));
	assert_false(r.close);
	http_response_begin(&r, false);
	http_response_feed(&r, http10, strlen(http10));
	assert_true(r.close);
}

/* No framing: the body ends with the connection. */
static void test_until_close(void **state)
{
	const char *text = "HTTP/1.1 200 OK\r\n\r\nall of it";
	struct collected c = { .length = 0 };

	(void)state;
	http_response_begin(&r, false);
	r.on_body = collect;
	r.body_context = &c;
	assert_int_equal(http_response_feed(&r, text, strlen(text)), strlen(text));
	assert_int_equal(r.state, HTTP_RESPONSE_UNTIL_CLOSE);
	http_response_closed(&r);
	assert_int_equal(r.state, HTTP_RESPONSE_DONE);
	assert_true(r.close);
	assert_int_equal(c.length, 9);
	r.on_body = NULL;
}

static void expect_bad(const char *text, const char *why)
{
	http_response_begin(&r, false);
	http_response_feed(&r, text, strlen(text));
	if (r.state != HTTP_RESPONSE_BAD)
		http_response_closed(&r);
	assert_int_equal(r.state, HTTP_RESPONSE_BAD);
	assert_string_equal(r.error, why);
}

static void test_bad_responses(void **state)
{
	char huge[HTTP_RESPONSE_HEAD_MAX + 64];

	(void)state;
	expect_bad("SSH-2.0-OpenSSH_9.2\r\n\r\n", "not an HTTP/1.x response");
	expect_bad("HTTP/2 200\r\n\r\n", "not an HTTP/1.x response");
	expect_bad("HTTP/1.1 99 Low\r\n\r\n", "not an HTTP/1.x response");
	expect_bad("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n", "bad Content-Length");
	expect_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size");
	expect_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "chunk data longer than its size");
	expect_bad("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "protocol upgrade (101)");
	expect_bad("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "closed by server mid-response");
	expect_bad("", "closed by server");
	memset(huge, 'x', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	memcpy(huge, "HTTP/1.1 200 OK\r\nX: ", 20);
	expect_bad(huge, "response head too long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_responses_without_a_body),
		cmocka_unit_test(test_interim_responses_do_not_end_it),
		cmocka_unit_test(test_lf_only_heads),
		cmocka_unit_test(test_connection_close),
		cmocka_unit_test(test_until_close),
		cmocka_unit_test(test_bad_responses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
