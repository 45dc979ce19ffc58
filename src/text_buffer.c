// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !text_buffer_reserve(b, n)) {
		b->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->length, n + 1, fmt, ap);
	va_end(ap);
	b->length += n;
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
