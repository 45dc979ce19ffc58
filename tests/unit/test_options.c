// SPDX-License-Identifier: MIT
/* Command-line parsing: what a user types and what runway-bpfd makes of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "options.h"

#define ARGV(...) ((char *[]){ "runway-bpfd", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "runway-bpfd", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(opts, ...) options_parse(opts, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_pid_with_defaults(void **state)
{
	struct runway_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--pid", "1234"), 0);
	assert_int_equal(o.pid, 1234);
	assert_null(o.cgroup_path);
	assert_string_equal(o.listen_host, "0.0.0.0");
	assert_int_equal(o.listen_port, 9091);
	assert_int_equal(o.port_count, 0);
	/* The seed's defaults: health checks and the metrics route are not requests. */
	assert_int_equal(o.excluded_path_count, 3);
	assert_string_equal(o.excluded_paths[0], "/metrics");
	assert_string_equal(o.excluded_paths[1], "/healthz");
	assert_string_equal(o.excluded_paths[2], "/health");
	assert_false(o.no_read_hook);
}

static void test_exactly_one_target_is_required(void **state)
{
	struct runway_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--listen", "127.0.0.1:9000"), -1);
	assert_int_equal(PARSE(&o, "--pid", "1", "--cgroup", "/sys/fs/cgroup/x"), -1);
	assert_int_equal(PARSE(&o, "--cgroup", "/sys/fs/cgroup/x"), 0);
	assert_string_equal(o.cgroup_path, "/sys/fs/cgroup/x");
}

static void test_check_needs_no_target(void **state)
{
	struct runway_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--check"), 0);
	assert_true(o.check_only);
}

static void test_bad_numbers_are_refused(void **state)
{
	struct runway_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--pid", "12abc"), -1);
	assert_int_equal(PARSE(&o, "--pid", "0"), -1);
	assert_int_equal(PARSE(&o, "--pid", "-5"), -1);
	assert_int_equal(PARSE(&o, "--pid", "1", "--port", "0"), -1);
	assert_int_equal(PARSE(&o, "--pid", "1", "--port", "65536"), -1);
	assert_int_equal(PARSE(&o, "--pid", "1", "--port", "80x"), -1);
}

static void test_ports_accumulate(void **state)
{
	struct runway_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--pid", "1", "--port", "8000", "-P", "8001"), 0);
	assert_int_equal(o.port_count, 2);
	assert_int_equal(o.ports[0], 8000);
	assert_int_equal(o.ports[1], 8001);
}

static void test_listen_forms(void **state)
{
	struct runway_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--pid", "1", "--listen", "127.0.0.1:9555"), 0);
	assert_string_equal(o.listen_host, "127.0.0.1");
	assert_int_equal(o.listen_port, 9555);
	/* IPv6 in brackets, as in a URL. */
	assert_int_equal(PARSE(&o, "--pid", "1", "--listen", "[::1]:9091"), 0);
	assert_string_equal(o.listen_host, "::1");
	assert_int_equal(o.listen_port, 9091);
	assert_int_equal(PARSE(&o, "--pid", "1", "--listen", "nohost"), -1);
	/* ":PORT" is every address, as exporters' --web.listen-address takes it. */
	assert_int_equal(PARSE(&o, "--pid", "1", "--listen", ":9092"), 0);
	assert_string_equal(o.listen_host, "0.0.0.0");
	assert_int_equal(o.listen_port, 9092);
	assert_int_equal(PARSE(&o, "--pid", "1", "--listen", "[]:9091"), -1);
	assert_int_equal(PARSE(&o, "--pid", "1", "--listen", "0.0.0.0:notaport"), -1);
	assert_int_equal(PARSE(&o, "--pid", "1", "--listen", "0.0.0.0:70000"), -1);
}

static void test_exclude_path_replaces_the_defaults(void **state)
{
	struct runway_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--pid", "1", "--exclude-path", "/ping", "-x", "/ready"), 0);
	assert_int_equal(o.excluded_path_count, 2);
	assert_string_equal(o.excluded_paths[0], "/ping");
	assert_string_equal(o.excluded_paths[1], "/ready");
	/* An empty path excludes nothing at all. */
	assert_int_equal(PARSE(&o, "--pid", "1", "--exclude-path", ""), 0);
	assert_int_equal(o.excluded_path_count, 0);
	/* A path is a path. */
	assert_int_equal(PARSE(&o, "--pid", "1", "--exclude-path", "health"), -1);
}

static void test_unknown_and_incomplete_options(void **state)
{
	struct runway_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--pid", "1", "--bogus"), -1);
	assert_int_equal(PARSE(&o, "--pid"), -1);
	assert_int_equal(PARSE(&o, "--pid", "1", "stray"), -1);
}

static void test_no_read_hook_flag(void **state)
{
	struct runway_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--cgroup", "/x", "--no-read-hook"), 0);
	assert_true(o.no_read_hook);
}

static void test_allow_root_cgroup_flag(void **state)
{
	struct runway_options o;

	(void)state;
	/* Off by default: the root cgroup is refused unless asked for. */
	assert_int_equal(PARSE(&o, "--cgroup", ""), 0);
	assert_string_equal(o.cgroup_path, "");
	assert_false(o.allow_root_cgroup);
	assert_int_equal(PARSE(&o, "--cgroup", "", "--allow-root-cgroup"), 0);
	assert_true(o.allow_root_cgroup);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid_with_defaults),
		cmocka_unit_test(test_exactly_one_target_is_required),
		cmocka_unit_test(test_check_needs_no_target),
		cmocka_unit_test(test_bad_numbers_are_refused),
		cmocka_unit_test(test_ports_accumulate),
		cmocka_unit_test(test_listen_forms),
		cmocka_unit_test(test_exclude_path_replaces_the_defaults),
		cmocka_unit_test(test_unknown_and_incomplete_options),
		cmocka_unit_test(test_no_read_hook_flag),
		cmocka_unit_test(test_allow_root_cgroup_flag),
	};

	/* The refused cases print their one-line errors: expected output. */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
