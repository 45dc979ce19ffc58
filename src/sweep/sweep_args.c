// SPDX-License-Identifier: MIT
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quote.h"
#include "sweep_args.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: runway-sweep URL [options]\n"
		"\n"
		"Finds the concurrency where an HTTP server saturates: closed-loop keep-alive\n"
		"clients at concurrency 1, 2, 4, ... N, each step measured for its throughput\n"
		"and latency.  Prints the saturation point and the autoscaling threshold, or,\n"
		"when the server never saturates, the Little's-law formula with the numbers.\n"
		"\n"
		"  URL                     http://HOST[:PORT]/PATH[?QUERY] of the route to load\n"
		"  --max-concurrency N     the last step's concurrency (default %d, at most %d)\n"
		"  --step-seconds S        length of each step; its first fifth warms up and is\n"
		"                          not measured (default %g, %g to %g)\n"
		"  --method M              request method (default GET, or POST with --body)\n"
		"  --body FILE             send FILE as the request body (Content-Type\n"
		"                          application/json when FILE ends in .json)\n"
		"  --metrics URL           a runway-bpfd /metrics URL: show the daemon's mean\n"
		"                          in_flight and queued over each step beside the client's\n"
		"  --json                  print one JSON object instead of the table\n"
		"  -V, --version           print the version\n"
		"  -h, --help              this text\n"
		"\n"
		"Exit codes: 0 done (also after Ctrl-C, with the steps measured so far),\n"
		"1 runtime failure (the server stopped answering), 2 bad input.\n",
		SWEEP_DEFAULT_MAX_CONCURRENCY, SWEEP_MAX_CONCURRENCY, SWEEP_DEFAULT_STEP_SECONDS,
		SWEEP_MIN_STEP_SECONDS, SWEEP_MAX_STEP_SECONDS);
}

/* RFC 9110's token: what a method may be made of. */
static bool is_token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int parse_method(const char *text, char *error, size_t error_size)
{
	size_t i, length = strlen(text);
	char q[QUOTE_SIZE];

	for (i = 0; i < length && is_token_char(text[i]); i++)
		;
	if (length == 0 || i < length || length > SWEEP_METHOD_MAX) {
		snprintf(error, error_size, "--method '%s': expected an HTTP method such as GET or POST",
			 quote_input(text, q));
		return -1;
	}
	return 0;
}

static int parse_concurrency(const char *text, unsigned *out, char *error, size_t error_size)
{
	char *end, q[QUOTE_SIZE];
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno || end == text || *end || value < 1 || value > SWEEP_MAX_CONCURRENCY) {
		snprintf(error, error_size, "--max-concurrency '%s': expected a whole number from 1 to %d",
			 quote_input(text, q), SWEEP_MAX_CONCURRENCY);
		return -1;
	}
	*out = value;
	return 0;
}

static int parse_seconds(const char *text, double *out, char *error, size_t error_size)
{
	char *end, q[QUOTE_SIZE];
	double value;

	errno = 0;
	value = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(value) || value < SWEEP_MIN_STEP_SECONDS ||
	    value > SWEEP_MAX_STEP_SECONDS) {
		snprintf(error, error_size, "--step-seconds '%s': expected seconds from %g to %g, e.g. 5 or 2.5",
			 quote_input(text, q), SWEEP_MIN_STEP_SECONDS, SWEEP_MAX_STEP_SECONDS);
		return -1;
	}
	*out = value;
	return 0;
}

int sweep_args_parse(struct sweep_args *args, int argc, char **argv, FILE *out, char *error,
		     size_t error_size)
{
	enum { OPT_MAX_CONCURRENCY = 0x100, OPT_STEP_SECONDS, OPT_METHOD, OPT_BODY, OPT_METRICS, OPT_JSON };
	static const struct option long_options[] = {
		{ "max-concurrency", required_argument, NULL, OPT_MAX_CONCURRENCY },
		{ "step-seconds", required_argument, NULL, OPT_STEP_SECONDS },
		{ "method", required_argument, NULL, OPT_METHOD },
		{ "body", required_argument, NULL, OPT_BODY },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char url_error[512], q[QUOTE_SIZE];
	int opt;

	memset(args, 0, sizeof(*args));
	args->max_concurrency = SWEEP_DEFAULT_MAX_CONCURRENCY;
	args->step_seconds = SWEEP_DEFAULT_STEP_SECONDS;
	opterr = 0;
	optind = 1;
	/* GNU getopt permutes: options may come before or after the URL. */
	while ((opt = getopt_long(argc, argv, ":Vh", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_MAX_CONCURRENCY:
			if (parse_concurrency(optarg, &args->max_concurrency, error, error_size))
				return -1;
			break;
		case OPT_STEP_SECONDS:
			if (parse_seconds(optarg, &args->step_seconds, error, error_size))
				return -1;
			break;
		case OPT_METHOD:
			if (parse_method(optarg, error, error_size))
				return -1;
			args->method = optarg;
			break;
		case OPT_BODY:
			if (!optarg[0]) {
				snprintf(error, error_size, "--body needs a file name");
				return -1;
			}
			args->body_path = optarg;
			break;
		case OPT_METRICS:
			if (http_url_parse(optarg, &args->metrics_url, url_error, sizeof(url_error))) {
				snprintf(error, error_size, "--metrics: %s", url_error);
				return -1;
			}
			args->metrics_text = optarg;
			break;
		case OPT_JSON:
			args->json = true;
			break;
		case 'V':
			fprintf(out, "runway-sweep %s\n", RUNWAY_VERSION);
			return 1;
		case 'h':
			usage(out);
			return 1;
		case ':':
			snprintf(error, error_size, "%s needs a value; see runway-sweep --help",
				 quote_input(argv[optind - 1], q));
			return -1;
		default:
			snprintf(error, error_size, "unknown option %s; see runway-sweep --help",
				 quote_input(argv[optind - 1], q));
			return -1;
		}
	}
	if (optind >= argc) {
		snprintf(error, error_size,
			 "name the route to load, e.g. runway-sweep 'http://127.0.0.1:8000/cpu?ms=20'");
		return -1;
	}
	if (optind + 1 < argc) {
		snprintf(error, error_size, "unexpected argument '%s': give one URL; see runway-sweep --help",
			 quote_input(argv[optind + 1], q));
		return -1;
	}
	args->url_text = argv[optind];
	if (http_url_parse(args->url_text, &args->url, error, error_size))
		return -1;
	if (!args->method)
		args->method = args->body_path ? "POST" : "GET";
	return 0;
}

size_t sweep_plan(unsigned max_concurrency, unsigned levels[SWEEP_MAX_STEPS])
{
	size_t count = 0;
	unsigned level;

	for (level = 1; level <= max_concurrency && count < SWEEP_MAX_STEPS; level *= 2)
		levels[count++] = level;
	if (count && levels[count - 1] != max_concurrency && count < SWEEP_MAX_STEPS)
		levels[count++] = max_concurrency;
	return count;
}
