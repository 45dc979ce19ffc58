// SPDX-License-Identifier: MIT
/* runway-sweep's command line: the URL parser, the options, the plan of
 * steps, and the request it sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http_url.h"
#include "sweep_args.h"
#include "sweep_request.h"

#define ARGV(...) ((char *[]){ "runway-sweep", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "runway-sweep", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(a, ...) sweep_args_parse(a, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), stdout, error, sizeof(error))

static char error[1024];

/* The message of a refused input names it and, where there is one, the form
 * that works. */
static void assert_refused(int rc, const char *mentions)
{
	assert_int_equal(rc, -1);
	if (!strstr(error, mentions)) {
		print_error("error '%s' does not mention '%s'\n", error, mentions);
		fail();
	}
	assert_null(strchr(error, '\n'));
}

static void test_url_forms(void **state)
{
	struct http_url u;

	(void)state;
	assert_int_equal(http_url_parse("http://127.0.0.1:8000/cpu?ms=20", &u, error, sizeof(error)), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 8000);
	assert_string_equal(u.target, "/cpu?ms=20");
	assert_string_equal(u.host_header, "127.0.0.1:8000");

	/* No port: 80.  No path: "/".  The scheme in any case. */
	assert_int_equal(http_url_parse("HTTP://example.com", &u, error, sizeof(error)), 0);
	assert_string_equal(u.host, "example.com");
	assert_int_equal(u.port, 80);
	assert_string_equal(u.target, "/");
	assert_string_equal(u.host_header, "example.com");

	/* A query without a path asks for the root. */
	assert_int_equal(http_url_parse("http://h:81?x=1", &u, error, sizeof(error)), 0);
	assert_string_equal(u.target, "/?x=1");

	/* IPv6 in brackets; the Host header keeps them. */
	assert_int_equal(http_url_parse("http://[::1]:8000/sleep", &u, error, sizeof(error)), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 8000);
	assert_string_equal(u.host_header, "[::1]:8000");
	assert_string_equal(u.target, "/sleep");

	/* The fragment is never sent. */
	assert_int_equal(http_url_parse("http://h/a?b=1#frag", &u, error, sizeof(error)), 0);
	assert_string_equal(u.target, "/a?b=1");
}

static void test_url_refusals(void **state)
{
	struct http_url u;

	(void)state;
	assert_refused(http_url_parse("https://h/x", &u, error, sizeof(error)), "https is not supported");
	assert_refused(http_url_parse("ftp://h/x", &u, error, sizeof(error)), "not an http:// URL");
	assert_refused(http_url_parse("127.0.0.1:8000/cpu", &u, error, sizeof(error)), "is not a URL");
	assert_refused(http_url_parse("", &u, error, sizeof(error)), "expected http://HOST[:PORT]/PATH");
	assert_refused(http_url_parse("http://", &u, error, sizeof(error)), "names no host");
	assert_refused(http_url_parse("http:///path", &u, error, sizeof(error)), "names no host");
	assert_refused(http_url_parse("http://h:0/", &u, error, sizeof(error)), "not a TCP port");
	assert_refused(http_url_parse("http://h:65536/", &u, error, sizeof(error)), "not a TCP port");
	assert_refused(http_url_parse("http://h:80x/", &u, error, sizeof(error)), "not a TCP port");
	assert_refused(http_url_parse("http://h:/", &u, error, sizeof(error)), "not a TCP port");
	assert_refused(http_url_parse("http://user:pw@h/", &u, error, sizeof(error)), "passwords");
	assert_refused(http_url_parse("http://[::1/", &u, error, sizeof(error)), "brackets");
	assert_refused(http_url_parse("http://[zz::1]/", &u, error, sizeof(error)), "not an IPv6 address");
	assert_refused(http_url_parse("http://[::1]x/", &u, error, sizeof(error)), "':PORT'");
	assert_refused(http_url_parse("http://bad!host/", &u, error, sizeof(error)), "not a name or an address");
	assert_refused(http_url_parse("http://h/a b", &u, error, sizeof(error)), "percent-encode");
	assert_refused(http_url_parse("http://h/caf\xc3\xa9", &u, error, sizeof(error)), "non-ASCII");
	assert_refused(http_url_parse("http://h/x#\x1b[2J", &u, error, sizeof(error)), "control");
	/* A message quotes the input on one line, control characters escaped. */
	assert_refused(http_url_parse("http://h/a\r\nX-Injected: 1", &u, error, sizeof(error)),
		       "'http://h/a\\x0d\\x0aX-Injected: 1': the URL has a space, control");
	assert_refused(http_url_parse("http://h:8\n0/", &u, error, sizeof(error)), "'http://h:8\\x0a0/': the URL has a space");
}

static void test_url_length_limits(void **state)
{
	char text[HTTP_URL_TARGET_MAX + 64];
	struct http_url u;
	size_t prefix;

	(void)state;
	prefix = (size_t)snprintf(text, sizeof(text), "http://h/");
	/* A target of HTTP_URL_TARGET_MAX - 1 characters fits, one more does not. */
	memset(text + prefix, 'a', HTTP_URL_TARGET_MAX - 2);
	text[prefix + HTTP_URL_TARGET_MAX - 2] = '\0';
	assert_int_equal(http_url_parse(text, &u, error, sizeof(error)), 0);
	assert_int_equal(strlen(u.target), HTTP_URL_TARGET_MAX - 1);
	strcat(text, "a");
	assert_refused(http_url_parse(text, &u, error, sizeof(error)), "longer than");
}

static void test_defaults(void **state)
{
	struct sweep_args a;

	(void)state;
	assert_int_equal(PARSE(&a, "http://127.0.0.1:8000/sleep"), 0);
	assert_string_equal(a.url_text, "http://127.0.0.1:8000/sleep");
	assert_int_equal(a.url.port, 8000);
	assert_int_equal(a.max_concurrency, 64);
	assert_true(a.step_seconds == 5.0);
	assert_string_equal(a.method, "GET");
	assert_null(a.body_path);
	assert_null(a.metrics_text);
	assert_false(a.json);
}

static void test_every_option(void **state)
{
	struct sweep_args a;

	(void)state;
	/* Options before and after the URL. */
	assert_int_equal(PARSE(&a, "--max-concurrency", "16", "http://h:1/x", "--step-seconds", "2.5", "--method",
			       "PUT", "--body", "b.json", "--metrics", "http://127.0.0.1:9091/metrics", "--json"),
			 0);
	assert_int_equal(a.max_concurrency, 16);
	assert_true(a.step_seconds == 2.5);
	assert_string_equal(a.method, "PUT");
	assert_string_equal(a.body_path, "b.json");
	assert_string_equal(a.metrics_text, "http://127.0.0.1:9091/metrics");
	assert_int_equal(a.metrics_url.port, 9091);
	assert_string_equal(a.metrics_url.target, "/metrics");
	assert_true(a.json);
	assert_string_equal(a.url.target, "/x");

	/* A body without --method is a POST, as with curl --data. */
	assert_int_equal(PARSE(&a, "http://h/x", "--body", "b.bin"), 0);
	assert_string_equal(a.method, "POST");
	assert_int_equal(PARSE(&a, "http://h/x", "--max-concurrency=1"), 0);
	assert_int_equal(a.max_concurrency, 1);
}

static void test_bad_numbers(void **state)
{
	struct sweep_args a;

	(void)state;
	assert_refused(PARSE(&a, "http://h/", "--max-concurrency", "0"), "from 1 to 1024");
	assert_refused(PARSE(&a, "http://h/", "--max-concurrency", "-4"), "--max-concurrency '-4'");
	assert_refused(PARSE(&a, "http://h/", "--max-concurrency", "1025"), "from 1 to 1024");
	assert_refused(PARSE(&a, "http://h/", "--max-concurrency", "8x"), "whole number");
	assert_refused(PARSE(&a, "http://h/", "--max-concurrency", "2.5"), "whole number");
	assert_refused(PARSE(&a, "http://h/", "--max-concurrency", ""), "whole number");
	assert_refused(PARSE(&a, "http://h/", "--step-seconds", "0"), "--step-seconds '0'");
	assert_refused(PARSE(&a, "http://h/", "--step-seconds", "0.4"), "from 0.5 to 3600");
	assert_refused(PARSE(&a, "http://h/", "--step-seconds", "3601"), "from 0.5 to 3600");
	assert_refused(PARSE(&a, "http://h/", "--step-seconds", "five"), "seconds");
	assert_refused(PARSE(&a, "http://h/", "--step-seconds", "nan"), "seconds");
	assert_refused(PARSE(&a, "http://h/", "--step-seconds", "inf"), "seconds");
}

static void test_bad_usage(void **state)
{
	struct sweep_args a;

	(void)state;
	assert_refused(PARSE(&a, "--json"), "name the route to load");
	assert_refused(PARSE(&a, "http://h/", "http://g/"), "unexpected argument 'http://g/'");
	assert_refused(PARSE(&a, "http://h/", "--bogus"), "unknown option --bogus");
	assert_refused(PARSE(&a, "http://h/", "--max-concurrency"), "--max-concurrency needs a value");
	assert_refused(PARSE(&a, "http://h/", "--method", "GE T"), "HTTP method");
	assert_refused(PARSE(&a, "http://h/", "--method", ""), "HTTP method");
	assert_refused(PARSE(&a, "http://h/", "--method", "AVERYLONGMETHODNAME"), "HTTP method");
	assert_refused(PARSE(&a, "http://h/", "--body", ""), "--body needs a file name");
	assert_refused(PARSE(&a, "https://h/"), "https is not supported");
	/* A bad --metrics URL says that it is the --metrics one. */
	assert_refused(PARSE(&a, "http://h/", "--metrics", "localhost:9091"), "--metrics: 'localhost:9091' is not a URL");
}

static void test_help_and_version(void **state)
{
	struct sweep_args a;
	FILE *out = tmpfile();
	char text[4096] = { 0 };

	(void)state;
	assert_non_null(out);
	assert_int_equal(sweep_args_parse(&a, ARGC("--help"), ARGV("--help"), out, error, sizeof(error)), 1);
	assert_int_equal(sweep_args_parse(&a, ARGC("-V"), ARGV("-V"), out, error, sizeof(error)), 1);
	rewind(out);
	assert_true(fread(text, 1, sizeof(text) - 1, out) > 0);
	fclose(out);
	assert_non_null(strstr(text, "Usage: runway-sweep URL"));
	assert_non_null(strstr(text, "--max-concurrency N"));
	assert_non_null(strstr(text, "runway-sweep " RUNWAY_VERSION "\n"));
}

static void test_plan(void **state)
{
	unsigned levels[SWEEP_MAX_STEPS];
	const unsigned powers[] = { 1, 2, 4, 8, 16, 32, 64 };
	const unsigned ten[] = { 1, 2, 4, 8, 10 };

	(void)state;
	assert_int_equal(sweep_plan(1, levels), 1);
	assert_int_equal(levels[0], 1);
	assert_int_equal(sweep_plan(64, levels), 7);
	assert_memory_equal(levels, powers, sizeof(powers));
	assert_int_equal(sweep_plan(10, levels), 5);
	assert_memory_equal(levels, ten, sizeof(ten));
	assert_int_equal(sweep_plan(3, levels), 3);
	assert_int_equal(levels[2], 3);
	assert_int_equal(sweep_plan(SWEEP_MAX_CONCURRENCY, levels), SWEEP_MAX_STEPS);
	assert_int_equal(levels[SWEEP_MAX_STEPS - 1], SWEEP_MAX_CONCURRENCY);
	assert_int_equal(sweep_plan(1000, levels), SWEEP_MAX_STEPS);
	assert_int_equal(levels[9], 512);
	assert_int_equal(levels[10], 1000);
}

static void test_request_bytes(void **state)
{
	struct http_url u;
	size_t length;
	char *r;

	(void)state;
	assert_int_equal(http_url_parse("http://[::1]:8000/cpu?ms=20", &u, error, sizeof(error)), 0);
	r = sweep_request_build(&u, "GET", NULL, 0, NULL, &length);
	assert_non_null(r);
	assert_int_equal(length, strlen("GET /cpu?ms=20 HTTP/1.1\r\nHost: [::1]:8000\r\nUser-Agent: runway-sweep/" RUNWAY_VERSION
					 "\r\nAccept: */*\r\n\r\n"));
	assert_memory_equal(r, "GET /cpu?ms=20 HTTP/1.1\r\nHost: [::1]:8000\r\n", 42);
	/* Keep-alive: HTTP/1.1's default, so no Connection header at all. */
	assert_null(memmem(r, length, "Connection", 10));
	free(r);

	r = sweep_request_build(&u, "POST", "{\"a\": 1}", 8, sweep_request_content_type("in.JSON"), &length);
	assert_non_null(r);
	assert_non_null(memmem(r, length, "\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\": 1}", 57));
	assert_memory_equal(r + length - 8, "{\"a\": 1}", 8);
	free(r);
	assert_string_equal(sweep_request_content_type("body.bin"), "application/octet-stream");
	assert_string_equal(sweep_request_content_type("json"), "application/octet-stream");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_forms),
		cmocka_unit_test(test_url_refusals),
		cmocka_unit_test(test_url_length_limits),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_bad_usage),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_request_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
