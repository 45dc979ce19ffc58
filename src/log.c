// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int verbose;

void log_set_verbose(int on)
{
	verbose = on;
}

int log_verbose(void)
{
	return verbose;
}

static void log_line(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "runway-bpfd: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("error: ", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}
