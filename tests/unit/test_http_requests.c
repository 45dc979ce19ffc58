/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for include/http_framing.h, request side: the request line
 * (method, path hash, route group) and the request framing (headers,
 * Content-Length and chunked bodies) that the ingress BPF program runs to
 * find where each request on a connection starts, pipelined or behind a
 * body the server never read.
 *
 * Every stream runs whole, split in two and three at every position, byte
 * by byte, and with word steps against the byte machine (framing_driver.h);
 * all must give the same events at the same offsets.
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

#define MSG(s) (const __u8 *)(s), (sizeof(s) - 1)
#define THREE_PART_MAX 400

static struct driver_run request_run(const struct http_route_table *routes, int words, size_t window)
{
	struct driver_run r = { .request = 1, .routes = routes, .words = words, .window = window };

	return r;
}

static void assert_equal_outcomes(const struct driver_outcome *a, const struct driver_outcome *b,
				  const char *how, size_t x, size_t y)
{
	if (driver_outcome_equal(a, b))
		return;
	print_error("%s at %zu,%zu differs:\n", how, x, y);
	driver_outcome_print(a, stderr);
	driver_outcome_print(b, stderr);
	fail();
}

/* Whole, in two and three at every position, byte by byte, each with word
 * steps (windows of 256, 19 and 8 bytes) and without: all agree. */
static struct driver_outcome check_requests(const __u8 *buf, size_t len, const struct http_route_table *routes)
{
	static const size_t windows[] = { 256, 19, 8 };
	struct driver_run bytes = request_run(routes, 0, 256), words = request_run(routes, 1, 256);
	struct driver_outcome whole = driver_run_cuts(&words, buf, len, NULL, 0), o;
	size_t cuts[2], w;

	assert_false(whole.overflow);
	o = driver_run_cuts(&bytes, buf, len, NULL, 0);
	assert_equal_outcomes(&whole, &o, "bytes only, whole", len, len);
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
		struct driver_run shapes = request_run(routes, DRIVER_SHAPES, 256);

		o = driver_run_cuts(&shapes, buf, len, cuts, 1);
		assert_equal_outcomes(&whole, &o, "in two, with shapes", cuts[0], cuts[0]);
	}
	o = driver_run_segments_of(&words, buf, len, 1);
	assert_equal_outcomes(&whole, &o, "byte by byte", 1, 1);
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
		o = driver_run_cuts(&words, buf, len, cuts, 1);
		assert_equal_outcomes(&whole, &o, "in two", cuts[0], cuts[0]);
		for (w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
			struct driver_run small = request_run(routes, 1, windows[w]);

			o = driver_run_cuts(&small, buf, len, cuts, 1);
			assert_equal_outcomes(&whole, &o, "in two, small window", cuts[0], windows[w]);
		}
	}
	if (len > THREE_PART_MAX)
		return whole;
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++)
		for (cuts[1] = cuts[0]; cuts[1] <= len; cuts[1]++) {
			o = driver_run_cuts(&words, buf, len, cuts, 2);
			assert_equal_outcomes(&whole, &o, "in three", cuts[0], cuts[1]);
			o = driver_run_cuts(&bytes, buf, len, cuts, 2);
			assert_equal_outcomes(&whole, &o, "in three, bytes only", cuts[0], cuts[1]);
		}
	return whole;
}

/* The k-th event of a kind, or NULL. */
static const struct driver_event *nth(const struct driver_outcome *o, int kind, unsigned k)
{
	unsigned i;

	for (i = 0; i < o->count; i++)
		if (o->events[i].kind == kind && k-- == 0)
			return &o->events[i];
	return NULL;
}

static unsigned count_of(const struct driver_outcome *o, int kind)
{
	unsigned i, n = 0;

	for (i = 0; i < o->count; i++)
		n += o->events[i].kind == kind;
	return n;
}

static void assert_request(const struct driver_outcome *o, unsigned k, size_t start, size_t end, __u32 method,
			   const char *path)
{
	const struct driver_event *s = nth(o, DRV_START, k), *l = nth(o, DRV_LINE, k), *c = nth(o, DRV_COMPLETE, k);

	assert_non_null(s);
	assert_non_null(l);
	assert_non_null(c);
	assert_int_equal(s->offset, start);
	assert_int_equal(c->offset, end);
	assert_int_equal(l->detail & 0xff, method);
	assert_true(l->value == http_path_hash(path, 1u << 20));
}

/* ---------------------------------------------------------------------
 * Request lines
 * ------------------------------------------------------------------- */

static void test_get_without_body_ends_at_head_end(void **state)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: test\r\nUser-Agent: curl/7.88.1\r\n"
				  "Accept: */*\r\n\r\n";
	struct driver_outcome o;

	(void)state;
	o = check_requests(MSG(req), NULL);
	assert_int_equal(count_of(&o, DRV_START), 1);
	assert_request(&o, 0, 0, sizeof(req) - 1, HTTP_GET, "/healthz");
	assert_int_equal(o.state, HTTP_COMPLETE);
}

static void test_query_and_fragment_do_not_change_the_path_hash(void **state)
{
	static const char a[] = "GET /items HTTP/1.1\r\n\r\n";
	static const char b[] = "GET /items?id=7&x=y HTTP/1.1\r\n\r\n";
	static const char c[] = "GET /items#frag HTTP/1.1\r\n\r\n";
	struct driver_outcome oa, ob, oc;

	(void)state;
	oa = check_requests(MSG(a), NULL);
	ob = check_requests(MSG(b), NULL);
	oc = check_requests(MSG(c), NULL);
	assert_true(nth(&oa, DRV_LINE, 0)->value == nth(&ob, DRV_LINE, 0)->value);
	assert_true(nth(&oa, DRV_LINE, 0)->value == nth(&oc, DRV_LINE, 0)->value);
}

/* The kernel's hash of a path equals the daemon's, at every length around
 * the 8-byte words the word steps take. */
static void test_path_hash_equals_the_daemons_at_every_length(void **state)
{
	static const char path[] = "/abcdefghijklmnopqrstuvwxyz0123456789/ABCDEFGHIJKLMNOP";
	char req[128];
	size_t n;

	(void)state;
	for (n = 1; n < sizeof(path) - 1; n++) {
		char prefix[sizeof(path)];
		struct driver_outcome o;
		int len;

		memcpy(prefix, path, n);
		prefix[n] = '\0';
		len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", prefix);
		o = check_requests((const __u8 *)req, (size_t)len, NULL);
		assert_int_equal(count_of(&o, DRV_LINE), 1);
		assert_true(nth(&o, DRV_LINE, 0)->value == http_path_hash(prefix, 1u << 20));
	}
	assert_true(http_path_hash("/a", 64) != http_path_hash("/b", 64));
	assert_true(http_path_hash("/abcdefgh", 64) != http_path_hash("/abcdefg", 64));
	/* A path and the same bytes with a NUL-padded word are different. */
	assert_true(http_path_hash("/abcdefg", 64) != http_path_hash("/abcdef", 64));
}

static void test_every_standard_method_maps_to_its_enum(void **state)
{
	static const struct {
		const char *name;
		__u32 method;
	} methods[] = {
		{ "GET", HTTP_GET },         { "HEAD", HTTP_HEAD },       { "POST", HTTP_POST },
		{ "PUT", HTTP_PUT },         { "DELETE", HTTP_DELETE },   { "PATCH", HTTP_PATCH },
		{ "OPTIONS", HTTP_OPTIONS }, { "TRACE", HTTP_TRACE },     { "CONNECT", HTTP_CONNECT },
		{ "PROPFIND", HTTP_OTHER },  { "QUERY", HTTP_OTHER },     { "GETX", HTTP_OTHER },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		char req[64];
		int len = snprintf(req, sizeof(req), "%s /x HTTP/1.1\r\n\r\n", methods[i].name);
		struct driver_outcome o = check_requests((const __u8 *)req, (size_t)len, NULL);

		assert_int_equal(count_of(&o, DRV_LINE), 1);
		assert_int_equal(nth(&o, DRV_LINE, 0)->detail & 0xff, methods[i].method);
	}
}

static void assert_not_http_at(const __u8 *buf, size_t len, size_t error_end)
{
	struct driver_outcome o = check_requests(buf, len, NULL);

	assert_int_equal(count_of(&o, DRV_LINE), 0);
	assert_non_null(nth(&o, DRV_ERROR, 0));
	assert_int_equal(nth(&o, DRV_ERROR, 0)->offset, error_end);
}

static void test_what_is_not_an_http1_request_is_an_error(void **state)
{
	static const char lower[] = "get / HTTP/1.1\r\n\r\n";
	static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	static const char long_method[] = "ABCDEFGHI / HTTP/1.1\r\n\r\n";
	static const char empty_method[] = " / HTTP/1.1\r\n\r\n";
	/* HTTP/2 with prior knowledge: the preface is not a request. */
	static const char h2[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

	(void)state;
	assert_not_http_at(MSG(lower), 1);
	assert_not_http_at(MSG(tls), 1);
	assert_not_http_at(MSG(long_method), 9);
	assert_not_http_at(MSG(empty_method), 1);
	assert_not_http_at(MSG(h2), 4);
}

/* ---------------------------------------------------------------------
 * Bodies, pipelines
 * ------------------------------------------------------------------- */

static void test_content_length_body_then_next_request_starts_after_it(void **state)
{
	/* The body looks like a request line on purpose: skipped body bytes
	 * are never read as a request. */
	static const char post[] = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 30\r\n\r\n"
				   "GET /fake HTTP/1.1\r\n\r\nxxxxxxxx";
	static const char stream[] = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 30\r\n\r\n"
				     "GET /fake HTTP/1.1\r\n\r\nxxxxxxxx"
				     "GET /next HTTP/1.1\r\nHost: t\r\n\r\n";
	struct driver_outcome o;

	(void)state;
	o = check_requests(MSG(stream), NULL);
	assert_int_equal(count_of(&o, DRV_START), 2);
	assert_request(&o, 0, 0, sizeof(post) - 1, HTTP_POST, "/echo");
	assert_request(&o, 1, sizeof(post) - 1, sizeof(stream) - 1, HTTP_GET, "/next");
}

static void test_chunked_body_with_trailers_then_next_request(void **state)
{
	static const char post[] = "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-sum: 1\r\n\r\n";
	static const char stream[] = "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				     "5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-sum: 1\r\n\r\n"
				     "DELETE /item/3 HTTP/1.1\r\n\r\n";
	struct driver_outcome o;

	(void)state;
	o = check_requests(MSG(stream), NULL);
	assert_int_equal(count_of(&o, DRV_START), 2);
	assert_request(&o, 0, 0, sizeof(post) - 1, HTTP_POST, "/up");
	assert_request(&o, 1, sizeof(post) - 1, sizeof(stream) - 1, HTTP_DELETE, "/item/3");
}

static void test_chunked_wins_over_content_length(void **state)
{
	static const char stream[] = "POST /a HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
				     "3\r\nabc\r\n0\r\n\r\n"
				     "GET /b HTTP/1.1\r\n\r\n";
	struct driver_outcome o;

	(void)state;
	o = check_requests(MSG(stream), NULL);
	assert_int_equal(count_of(&o, DRV_START), 2);
	assert_int_equal(nth(&o, DRV_COMPLETE, 1)->offset, sizeof(stream) - 1);
}

static void test_expect_continue_head_then_body(void **state)
{
	static const char head[] = "PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
	static const char stream[] = "PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
				     "abcd";
	struct driver_outcome o, head_only;
	struct driver_run words = request_run(NULL, 1, 256);

	(void)state;
	o = check_requests(MSG(stream), NULL);
	assert_request(&o, 0, 0, sizeof(stream) - 1, HTTP_PUT, "/f");
	/* The head alone leaves the request open, owed its 4 body bytes. */
	head_only = driver_run_cuts(&words, MSG(head), NULL, 0);
	assert_int_equal(count_of(&head_only, DRV_COMPLETE), 0);
	assert_int_equal(head_only.state, HTTP_BODY_LENGTH);
	assert_int_equal(head_only.remaining, 4);
}

static void test_five_pipelined_requests_each_framed(void **state)
{
	static const char one[] = "GET /p/1 HTTP/1.1\r\nHost: t\r\n\r\n";
	char stream[512];
	size_t len = 0, k;
	struct driver_outcome o;

	(void)state;
	for (k = 0; k < 5; k++)
		len += (size_t)snprintf(stream + len, sizeof(stream) - len, "GET /p/%zu HTTP/1.1\r\nHost: t\r\n\r\n", k + 1);
	o = check_requests((const __u8 *)stream, len, NULL);
	assert_int_equal(count_of(&o, DRV_START), 5);
	for (k = 0; k < 5; k++) {
		char path[8];

		snprintf(path, sizeof(path), "/p/%zu", k + 1);
		assert_request(&o, k, k * (sizeof(one) - 1), (k + 1) * (sizeof(one) - 1), HTTP_GET, path);
	}
}

static void test_large_bodies_over_many_segments(void **state)
{
	static const size_t sizes[] = { 1, 7, 536, 1448, 65536 };
	static const char next[] = "GET /after HTTP/1.1\r\n\r\n";
	const size_t body_len = 1 << 20;
	char head[96];
	size_t head_len, len, i;
	__u8 *buf;
	struct driver_outcome whole;
	struct driver_run words = request_run(NULL, 1, 256), bytes = request_run(NULL, 0, 256);

	(void)state;
	head_len = (size_t)snprintf(head, sizeof(head), "POST /upload HTTP/1.1\r\nContent-Length: %zu\r\n\r\n",
				    body_len);
	len = head_len + body_len + sizeof(next) - 1;
	buf = malloc(len);
	assert_non_null(buf);
	memcpy(buf, head, head_len);
	for (i = 0; i < body_len; i++)
		buf[head_len + i] = "GET / HTTP/1.1\r\n\r\n"[i % 18];
	memcpy(buf + head_len + body_len, next, sizeof(next) - 1);
	whole = driver_run_cuts(&words, buf, len, NULL, 0);
	assert_int_equal(count_of(&whole, DRV_START), 2);
	assert_request(&whole, 0, 0, head_len + body_len, HTTP_POST, "/upload");
	assert_request(&whole, 1, head_len + body_len, len, HTTP_GET, "/after");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct driver_outcome o = driver_run_segments_of(&words, buf, len, sizes[i]);

		assert_equal_outcomes(&whole, &o, "segments of", sizes[i], sizes[i]);
		o = driver_run_segments_of(&bytes, buf, len, sizes[i]);
		assert_equal_outcomes(&whole, &o, "segments of, bytes only", sizes[i], sizes[i]);
	}
	free(buf);
}

static void test_head_longer_than_the_limit_is_reported_at_the_limit(void **state)
{
	size_t len, i, name_len = 24;
	__u8 *buf;
	struct driver_outcome o;
	struct driver_run words = request_run(NULL, 1, 256), bytes = request_run(NULL, 0, 256);

	(void)state;
	len = HTTP_HEAD_MAX + 200;
	buf = malloc(len);
	assert_non_null(buf);
	memcpy(buf, "GET / HTTP/1.1\r\n", 16);
	for (i = 16; i < len; i++)
		buf[i] = (i - 16) % name_len == name_len - 1 ? '\n' : 'x';
	o = driver_run_cuts(&words, buf, len, NULL, 0);
	assert_non_null(nth(&o, DRV_TOO_LONG, 0));
	assert_int_equal(nth(&o, DRV_TOO_LONG, 0)->offset, HTTP_HEAD_MAX + 1);
	{
		struct driver_outcome b = driver_run_cuts(&bytes, buf, len, NULL, 0);

		assert_equal_outcomes(&o, &b, "bytes only", 0, 0);
	}
	/* Just under the limit it is framed. */
	memcpy(buf + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
	o = driver_run_cuts(&words, buf, HTTP_HEAD_MAX, NULL, 0);
	assert_int_equal(count_of(&o, DRV_TOO_LONG), 0);
	assert_int_equal(count_of(&o, DRV_COMPLETE), 1);
	free(buf);
}

/* ---------------------------------------------------------------------
 * Route groups
 * ------------------------------------------------------------------- */

static __u32 route_of(const char *path, const struct http_route_table *t)
{
	char req[256];
	int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
	struct driver_outcome o = check_requests((const __u8 *)req, (size_t)len, t);

	assert_int_equal(count_of(&o, DRV_LINE), 1);
	return nth(&o, DRV_LINE, 0)->detail >> 8;
}

static void test_route_groups_match_prefixes_first_listed_wins(void **state)
{
	static const char *const groups[] = {
		"/api/infer",          /* 1 */
		"/api",                /* 2: shorter, listed after */
		"/api/embedding/v1/x", /* 3: 19 bytes, past two words */
		"/12345678",           /* 4: exactly 9 bytes */
		"/1234567",            /* 5: exactly 8 bytes, listed after a longer one */
	};
	struct http_route_table t;

	(void)state;
	http_route_table_build(&t, groups, 5);
	assert_int_equal(route_of("/api/infer", &t), 1);
	assert_int_equal(route_of("/api/inference/batch?x=1", &t), 1);
	assert_int_equal(route_of("/api/embedding/v1/xyz", &t), 2); /* /api listed before group 3 */
	assert_int_equal(route_of("/api", &t), 2);
	assert_int_equal(route_of("/ap", &t), 0);
	assert_int_equal(route_of("/apix", &t), 2);
	assert_int_equal(route_of("/12345678", &t), 4);
	assert_int_equal(route_of("/1234567", &t), 5);
	assert_int_equal(route_of("/123456789/x", &t), 4);
	assert_int_equal(route_of("/other", &t), 0);
	assert_int_equal(route_of("/", &t), 0);
	/* The query string is not part of the path. */
	assert_int_equal(route_of("/ap?i/infer", &t), 0);
}

static void test_route_group_listed_before_its_longer_twin_wins(void **state)
{
	static const char *const groups[] = { "/a", "/a/b/c/d/e/f/g/h/i" };
	struct http_route_table t;

	(void)state;
	http_route_table_build(&t, groups, 2);
	assert_int_equal(route_of("/a/b/c/d/e/f/g/h/i/j", &t), 1);
	assert_int_equal(route_of("/b", &t), 0);
}

/* Requests on a keep-alive connection, each against the shape of the one
 * before it: a client's next request differs in a header value (taken),
 * and in its path, method, a Content-Length's digits, a new line inside a
 * value or chunked added (refused).  Every event, the path hash and route
 * group of each request line included, must be the byte machine's. */
static void test_request_shapes_agree_with_bytes(void **state)
{
	static const char *const prefixes[] = { "/api", "/a" };
	static const char *const bases[] = {
		"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: hey/0.0.1\r\nAccept: */*\r\n\r\n",
		"POST /api/infer HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
		"content-length: 11\r\nauthorization: Bearer 0123456789abcdef\r\n\r\n{\"x\":12345}",
		"PUT /a/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	};
	static const struct {
		const char *from, *to;
	} changes[] = {
		{ "127.0.0.1:8000", "127.0.0.1:9000" },
		{ "hey/0.0.1", "hey/0.0.2" },
		{ "0123456789abcdef", "fedcba9876543210" },  /* taken: a value past byte 18 */
		{ "Bearer 0", "Bearer\n0" },
		{ "GET / ", "GET /x" },
		{ "GET / HTTP", "HEAD / HTTP" },
		{ "/api/infer", "/api/infex" },                /* same length, another path */
		{ "/api/infer", "/b/infer" },
		{ "content-length: 11", "content-length: 12" },
		{ "content-length: 11", "content-length: 1" },
		{ "content-length: 11", "content-length: x1" },
		{ "content-type: application/json", "transfer-encoding: chunked\r\nx: y" },
		{ "chunked", "chunkex" },
		{ "Accept: */*", "accept: */*" },
	};
	struct http_route_table routes;
	char buf[2048], changed[512];
	size_t b, c, cut;

	(void)state;
	http_route_table_build(&routes, prefixes, 2);
	for (b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
		for (c = 0; c < sizeof(changes) / sizeof(changes[0]); c++) {
			const char *base = bases[b];
			size_t len;

			if (driver_replace(changed, sizeof(changed), base, changes[c].from, changes[c].to) < 0)
				continue;
			len = (size_t)snprintf(buf, sizeof(buf), "%s%s%s%s%s", base, base, changed, changed, base);
			for (cut = 0; cut <= len; cut += 7) {
				struct driver_run bytes = request_run(&routes, DRIVER_BYTES, 256);
				struct driver_run shapes = request_run(&routes, DRIVER_SHAPES, 256);
				struct driver_outcome reference = driver_run_cuts(&bytes, (const __u8 *)buf, len, &cut, 1);
				struct driver_outcome o = driver_run_cuts(&shapes, (const __u8 *)buf, len, &cut, 1);

				if (!driver_outcome_equal(&reference, &o)) {
					print_error("base %zu change %zu cut %zu:\n%s\n", b, c, cut, buf);
					driver_outcome_print(&reference, stderr);
					driver_outcome_print(&o, stderr);
					fail();
				}
				assert_int_equal(o.count, reference.count);
			}
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_without_body_ends_at_head_end),
		cmocka_unit_test(test_query_and_fragment_do_not_change_the_path_hash),
		cmocka_unit_test(test_path_hash_equals_the_daemons_at_every_length),
		cmocka_unit_test(test_every_standard_method_maps_to_its_enum),
		cmocka_unit_test(test_what_is_not_an_http1_request_is_an_error),
		cmocka_unit_test(test_content_length_body_then_next_request_starts_after_it),
		cmocka_unit_test(test_chunked_body_with_trailers_then_next_request),
		cmocka_unit_test(test_chunked_wins_over_content_length),
		cmocka_unit_test(test_expect_continue_head_then_body),
		cmocka_unit_test(test_five_pipelined_requests_each_framed),
		cmocka_unit_test(test_large_bodies_over_many_segments),
		cmocka_unit_test(test_head_longer_than_the_limit_is_reported_at_the_limit),
		cmocka_unit_test(test_route_groups_match_prefixes_first_listed_wins),
		cmocka_unit_test(test_route_group_listed_before_its_longer_twin_wins),
		cmocka_unit_test(test_request_shapes_agree_with_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
