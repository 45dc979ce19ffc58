// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_buffer.h"

void text_buffer_init(struct text_buffer *b)
{
	b->data = NULL;
	b->length = 0;
	b->capacity = 0;
	b->failed = false;
}

void text_buffer_free(struct text_buffer *b)
{
	free(b->data);
	text_buffer_init(b);
}

static bool text_buffer_reserve(struct text_buffer *b, size_t extra)
{
	size_t wanted = b->length + extra + 1, capacity = b->capacity ? b->capacity : 4096;
	char *grown;

	if (wanted <= b->capacity)
		return true;
	while (capacity < wanted)
		capacity *= 2;
	grown = realloc(b->data, capacity);
	if (!grown) {
		b->failed = true;
		return false;
	}
	b->data = grown;
	b->capacity = capacity;
	return true;
}

void text_buffer_printf(struct text_buffer *b, const char *fmt, ...)
{
	size_t room = b->capacity > b->length ? b->capacity - b->length : 0;
	va_list ap;
	int n;

	if (b->failed)
		return;
	/* One pass when the text fits, as almost every line of a scrape does;
	 * a second after growing when it does not. */
	va_start(ap, fmt);
	n = vsnprintf(room ? b->data + b->length : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n >= room) {
		if (!text_buffer_reserve(b, n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->length, n + 1, fmt, ap);
		va_end(ap);
	}
	b->length += n;
}

void text_buffer_append(struct text_buffer *b, const struct text_buffer *other)
{
	if (b->failed || other->failed) {
		b->failed = true;
		return;
	}
	if (!other->length || !text_buffer_reserve(b, other->length))
		return;
	memcpy(b->data + b->length, other->data, other->length);
	b->length += other->length;
	b->data[b->length] = '\0';
}

char *text_buffer_release(struct text_buffer *b, size_t *length)
{
	char *data = b->data;

	if (b->failed || !data) {
		text_buffer_free(b);
		return NULL;
	}
	*length = b->length;
	text_buffer_init(b);
	return data;
}
