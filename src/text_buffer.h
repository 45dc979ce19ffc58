/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_TEXT_BUFFER_H
#define RUNWAY_TEXT_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

/* A growable string for rendering the exposition.  After an allocation
 * failure it stays failed, so callers check once at the end. */
struct text_buffer {
	char *data;
	size_t length;
	size_t capacity;
	bool failed;
};

void text_buffer_init(struct text_buffer *b);
void text_buffer_free(struct text_buffer *b);
void text_buffer_printf(struct text_buffer *b, const char *fmt, ...) __printf(2, 3);
/* Appends what `other` holds (a failed `other` fails `b`). */
void text_buffer_append(struct text_buffer *b, const struct text_buffer *other);
/* Hands the string to the caller (free() it); NULL if anything failed. */
char *text_buffer_release(struct text_buffer *b, size_t *length);

#endif
