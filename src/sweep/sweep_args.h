/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_SWEEP_ARGS_H
#define RUNWAY_SWEEP_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "http_url.h"

#define SWEEP_DEFAULT_MAX_CONCURRENCY 64
/* Each client holds a socket and a response buffer of 8 KiB; a pod that
 * takes more than this many requests at once is not one to sweep from a
 * single client thread. */
#define SWEEP_MAX_CONCURRENCY 1024
#define SWEEP_DEFAULT_STEP_SECONDS 5.0
#define SWEEP_MIN_STEP_SECONDS 0.5
#define SWEEP_MAX_STEP_SECONDS 3600.0
#define SWEEP_METHOD_MAX 16
/* 1, 2, 4, ..., 512, 1024 */
#define SWEEP_MAX_STEPS 11

struct sweep_args {
	const char *url_text;
	struct http_url url;
	unsigned max_concurrency;
	double step_seconds;
	const char *method;      /* GET, or POST when a body is given without --method */
	const char *body_path;   /* NULL: no body */
	const char *metrics_text; /* NULL: no --metrics */
	struct http_url metrics_url;
	bool json;
};

/* Returns 0 to run, 1 when --help or --version was printed to `out` (exit
 * 0), -1 on bad usage with a one-line message in `error`. */
int sweep_args_parse(struct sweep_args *args, int argc, char **argv, FILE *out, char *error,
		     size_t error_size);

/* The concurrency of each step: 1, 2, 4, ... up to max, and max itself when
 * it is no power of two.  Returns how many (at most SWEEP_MAX_STEPS). */
size_t sweep_plan(unsigned max_concurrency, unsigned levels[SWEEP_MAX_STEPS]);

#endif
