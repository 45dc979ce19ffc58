// SPDX-License-Identifier: MIT
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "exposition.h"

/* Past the label set that starts at `p` ('{'), quoted values and their
 * escapes included; NULL if it does not end on this line. */
static const char *skip_labels(const char *p)
{
	bool quoted = false;

	for (p++; *p && *p != '\n'; p++) {
		if (quoted && *p == '\\' && p[1] && p[1] != '\n')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '}')
			return p + 1;
	}
	return NULL;
}

long exposition_sum(const char *text, const char *name, double *sum)
{
	size_t name_length = strlen(name);
	const char *line = text;
	long found = 0;

	*sum = 0;
	while (line && *line) {
		const char *next = strchr(line, '\n'), *p = line + name_length;

		if (strncmp(line, name, name_length) == 0 && (*p == ' ' || *p == '\t' || *p == '{')) {
			char *end;
			double value;

			if (*p == '{')
				p = skip_labels(p);
			if (!p)
				return -1;
			while (*p == ' ' || *p == '\t')
				p++;
			value = strtod(p, &end);
			if (end == p || isnan(value))
				return -1;
			*sum += value;
			found++;
		}
		line = next ? next + 1 : NULL;
	}
	return found;
}
