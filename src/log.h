/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_LOG_H
#define RUNWAY_LOG_H

#define __printf(a, b) __attribute__((format(printf, a, b)))

/* Exit codes: 0 ok, 1 runtime failure, 2 bad usage or environment. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* One line on stderr, "runway-bpfd: error: " + message; the message names the
 * problem and the fix. */
void log_error(const char *fmt, ...) __printf(1, 2);
void log_info(const char *fmt, ...) __printf(1, 2);
void log_set_verbose(int verbose);
int log_verbose(void);

#endif
