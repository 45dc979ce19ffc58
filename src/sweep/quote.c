// SPDX-License-Identifier: MIT
#include <stdio.h>

#include "quote.h"

const char *quote_input(const char *text, char out[QUOTE_SIZE])
{
	size_t i, n = 0;

	for (i = 0; text[i] && n < QUOTE_MAX; i++) {
		unsigned char c = text[i];

		if (c < ' ' || c >= 0x7f)
			n += snprintf(out + n, 5, "\\x%02x", c);
		else
			out[n++] = c;
	}
	if (text[i])
		n += snprintf(out + n, 4, "...");
	out[n] = '\0';
	return out;
}
