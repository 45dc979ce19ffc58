// SPDX-License-Identifier: MIT
/*
 * --route-group NAME=PATTERN (src/route_groups.c): which patterns stand for
 * a path prefix the kernel can match, which are refused and why, and the
 * rules on a set of groups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "options.h"
#include "route_groups.h"

static char error[1024];

static void assert_prefix(const char *arg, const char *name, const char *prefix)
{
	struct route_group g;

	if (route_group_parse(arg, &g, error, sizeof(error))) {
		print_error("'%s' refused: %s\n", arg, error);
		fail();
	}
	assert_string_equal(g.name, name);
	assert_string_equal(g.prefix, prefix);
	assert_int_equal(g.prefix_length, strlen(prefix));
}

/* Refused, with a one-line message that quotes the argument and says
 * `mentions` (the reason, or the forms that work). */
static void assert_refused(const char *arg, const char *mentions)
{
	struct route_group g;

	assert_int_equal(route_group_parse(arg, &g, error, sizeof(error)), -1);
	if (!strstr(error, mentions)) {
		print_error("'%s': message '%s' does not mention '%s'\n", arg, error, mentions);
		fail();
	}
	assert_null(strchr(error, '\n'));
}

static void test_plain_prefixes(void **state)
{
	(void)state;
	assert_prefix("inference=/api/infer", "inference", "/api/infer");
	assert_prefix("root=/", "root", "/");
	/* Literal: a dot is a dot, '%' escapes stay as the request line has them. */
	assert_prefix("v1.0=/api/v1.0/", "v1.0", "/api/v1.0/");
	assert_prefix("m=/caf%C3%A9", "m", "/caf%C3%A9");
	assert_prefix("odd_name-2=/a:b@c;d=e,f!g&h'i~j_k-l", "odd_name-2", "/a:b@c;d=e,f!g&h'i~j_k-l");
	/* '=' in the pattern: the name ends at the first one. */
	assert_prefix("q=/a=b", "q", "/a=b");
}

static void test_anchored_regex_prefixes(void **state)
{
	(void)state;
	/* The seed's own examples. */
	assert_prefix("inference=^/api/infer", "inference", "/api/infer");
	assert_prefix("embedding=^/api/embed", "embedding", "/api/embed");
	/* \. is a dot; escaped punctuation is the character itself. */
	assert_prefix("v=^/api/v1\\.0/", "v", "/api/v1.0/");
	assert_prefix("s=^\\/api\\/x\\-y\\_z", "s", "/api/x-y_z");
	assert_prefix("p=^/c\\+\\+/\\(x\\)\\*\\$", "p", "/c++/(x)*$");
	/* A trailing .* adds nothing to a prefix. */
	assert_prefix("all=^/api/.*", "all", "/api/");
	assert_prefix("every=^/.*", "every", "/");
}

static void test_regexes_that_are_no_prefix(void **state)
{
	(void)state;
	assert_refused("a=^/api/v1.0", "unescaped '.'");
	assert_refused("a=^/api/v1.0", "\\. for a dot");
	assert_refused("a=^/api/(infer|embed)", "a group");
	assert_refused("a=^/api/infer|^/api/embed", "alternation");
	assert_refused("a=^/api/[ie]", "character class");
	assert_refused("a=^/api/\\d+", "\\d is a character class");
	assert_refused("a=^/api/x+", "quantifier");
	assert_refused("a=^/api/x*", "quantifier");
	assert_refused("a=^/api/x{2}", "quantifier");
	assert_refused("a=^/api/x?", "'?'");
	assert_refused("a=^/api/infer$", "exact match");
	assert_refused("a=^/api/.*/x", "unescaped '.'");
	assert_refused("a=^/api\\", "lone '\\'");
	assert_refused("a=^/a^b", "'^'");
	assert_refused("a=^/a\\?b", "\\? stands for '?', which a URL path cannot hold");
	assert_refused("a=^/a\\[b", "which a URL path cannot hold");
	/* Unanchored: it would match anywhere in the path. */
	assert_refused("a=api/infer", "does not start with '/' or '^/'");
	assert_refused("a=.*infer", "does not start with '/' or '^/'");
	assert_refused("a=^api", "does not start with '/' or '^/'");
	assert_refused("a=^", "does not start with '/' or '^/'");
	/* Every refusal names the forms that work. */
	assert_refused("a=^/x|y", "a path prefix (/api/infer) or an anchored prefix regex (^/api/infer");
}

static void test_plain_prefixes_that_look_like_regexes(void **state)
{
	(void)state;
	/* Without the '^' these would be matched literally; a user who wrote
	 * them meant a regex. */
	assert_refused("a=/api/*", "quantifier");
	assert_refused("a=/api/(x)", "a group");
	assert_refused("a=/api/x|/y", "alternation");
	assert_refused("a=/api$", "exact match");
	assert_refused("a=/api\\.x", "'\\'");
	assert_refused("a=/api?x=1", "query string is never matched");
	assert_refused("a=/api#x", "fragment");
	assert_refused("a=/a%2", "escape like %2F");
	assert_refused("a=/a%zz", "escape like %2F");
}

static void test_names_and_form(void **state)
{
	char long_name[ROUTE_GROUP_NAME_MAX + 16];

	(void)state;
	assert_refused("/api/infer", "expected NAME=PATTERN");
	assert_refused("=/api", "the name before '='");
	assert_refused("in ference=/api", "space, control or non-ASCII");
	assert_refused("in\"x=/api", "the name before '='");
	assert_refused("a{b}=/api", "the name before '='");
	assert_refused("a=", "no pattern after '='");
	assert_refused("a=/api/\n", "space, control or non-ASCII");
	assert_refused("a=/caf\xc3\xa9", "percent-encode");
	memset(long_name, 'n', ROUTE_GROUP_NAME_MAX);
	strcpy(long_name + ROUTE_GROUP_NAME_MAX, "=/x");
	assert_prefix(long_name, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", "/x");
	memset(long_name, 'n', ROUTE_GROUP_NAME_MAX + 1);
	strcpy(long_name + ROUTE_GROUP_NAME_MAX + 1, "=/x");
	assert_refused(long_name, "1 to 32 letters");
}

static void test_prefix_length_limit(void **state)
{
	char arg[4 * ROUTE_GROUP_PREFIX_MAX];

	(void)state;
	/* 64 bytes of prefix fit, whatever the escapes cost in the pattern. */
	strcpy(arg, "a=^");
	for (int i = 0; i < ROUTE_GROUP_PREFIX_MAX / 2; i++)
		strcat(arg, "/\\.");
	assert_int_equal(strlen(arg), 3 + 3 * ROUTE_GROUP_PREFIX_MAX / 2);
	{
		struct route_group g;

		assert_int_equal(route_group_parse(arg, &g, error, sizeof(error)), 0);
		assert_int_equal(g.prefix_length, ROUTE_GROUP_PREFIX_MAX);
	}
	strcat(arg, "x");
	assert_refused(arg, "longer than 64 bytes");
}

static void test_a_set_of_groups(void **state)
{
	struct route_group groups[ROUTE_GROUPS_MAX];
	char arg[64];
	size_t count = 0, i;

	(void)state;
	assert_int_equal(route_groups_add(groups, &count, "infer-long=/api/infer/long", error, sizeof(error)), 0);
	assert_int_equal(route_groups_add(groups, &count, "inference=^/api/infer", error, sizeof(error)), 0);
	assert_int_equal(route_groups_add(groups, &count, "embedding=/api/embed", error, sizeof(error)), 0);
	assert_int_equal(count, 3);
	assert_string_equal(groups[1].prefix, "/api/infer");
	/* A name twice. */
	assert_int_equal(route_groups_add(groups, &count, "inference=/other", error, sizeof(error)), -1);
	assert_non_null(strstr(error, "'inference' is given twice"));
	/* Hidden by an earlier, shorter (or equal) prefix: the first match wins. */
	assert_int_equal(route_groups_add(groups, &count, "x=/api/infer/x", error, sizeof(error)), -1);
	assert_non_null(strstr(error, "never matches: the group 'inference' (/api/infer) comes first"));
	assert_int_equal(route_groups_add(groups, &count, "y=^/api/embed", error, sizeof(error)), -1);
	assert_non_null(strstr(error, "the group 'embedding'"));
	/* A refused group adds nothing. */
	assert_int_equal(count, 3);
	/* A longer prefix after a shorter unrelated one is fine. */
	assert_int_equal(route_groups_add(groups, &count, "api=/api", error, sizeof(error)), 0);
	for (i = count; i < ROUTE_GROUPS_MAX; i++) {
		snprintf(arg, sizeof(arg), "g%zu=/g%zu/", i, i);
		assert_int_equal(route_groups_add(groups, &count, arg, error, sizeof(error)), 0);
	}
	assert_int_equal(count, ROUTE_GROUPS_MAX);
	assert_int_equal(route_groups_add(groups, &count, "one-more=/z", error, sizeof(error)), -1);
	assert_non_null(strstr(error, "more than 16 route groups"));
	assert_int_equal(count, ROUTE_GROUPS_MAX);
}

#define ARGV(...) ((char *[]){ "runway-bpfd", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "runway-bpfd", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(opts, ...) options_parse(opts, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_the_daemon_flag(void **state)
{
	struct runway_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--pid", "1"), 0);
	assert_int_equal(o.route_group_count, 0);
	assert_int_equal(PARSE(&o, "--pid", "1", "--route-group", "inference=^/api/infer", "--route-group",
			       "embedding=/api/embed"),
			 0);
	assert_int_equal(o.route_group_count, 2);
	assert_string_equal(o.route_groups[0].name, "inference");
	assert_string_equal(o.route_groups[0].prefix, "/api/infer");
	assert_string_equal(o.route_groups[1].name, "embedding");
	assert_string_equal(o.route_groups[1].prefix, "/api/embed");
	/* Bad input: -1, which main turns into exit code 2 (the line is printed). */
	assert_int_equal(PARSE(&o, "--pid", "1", "--route-group", "inference=^/api/(infer|embed)"), -1);
	assert_int_equal(PARSE(&o, "--pid", "1", "--route-group", "a=/x", "--route-group", "a=/y"), -1);
	assert_int_equal(PARSE(&o, "--pid", "1", "--route-group"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_prefixes),
		cmocka_unit_test(test_anchored_regex_prefixes),
		cmocka_unit_test(test_regexes_that_are_no_prefix),
		cmocka_unit_test(test_plain_prefixes_that_look_like_regexes),
		cmocka_unit_test(test_names_and_form),
		cmocka_unit_test(test_prefix_length_limit),
		cmocka_unit_test(test_a_set_of_groups),
		cmocka_unit_test(test_the_daemon_flag),
	};

	/* The refused daemon flags print their one-line errors: expected output. */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
