/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_SWEEP_QUOTE_H
#define RUNWAY_SWEEP_QUOTE_H

/* Input that an error message quotes: on one line (control and non-ASCII
 * bytes as \xNN) and short enough (QUOTE_MAX characters, then "...") that
 * the message's point is not cut off. */
#define QUOTE_MAX 120
#define QUOTE_SIZE (QUOTE_MAX + 8)

const char *quote_input(const char *text, char out[QUOTE_SIZE]);

#endif
