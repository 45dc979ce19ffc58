/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_ROUTE_GROUPS_H
#define RUNWAY_ROUTE_GROUPS_H

#include <stddef.h>

/*
 * --route-group NAME=PATTERN: requests whose path starts with a prefix are
 * counted under a group (the seed's route_groups, runway_requests_in_flight_by_route).
 * The kernel matches them on the request line, so PATTERN is a path prefix:
 *
 *   /api/infer            a literal prefix
 *   ^/api/infer           the seed's anchored regex, when all it says is a prefix:
 *                         literal characters, \. (and any escaped punctuation) for
 *                         the character itself, and an optional trailing .*
 *
 * Both match /api/infer, /api/infer/x, /api/inference and /api/infer?q=1; the
 * query string is never part of the match.  The first group that matches wins.
 */
#include "http_framing.h"

/* The kernel matches at most this many, this long (include/http_framing.h). */
#define ROUTE_GROUPS_MAX HTTP_ROUTE_GROUPS_MAX
#define ROUTE_GROUP_NAME_MAX 32
#define ROUTE_GROUP_PREFIX_MAX HTTP_ROUTE_PREFIX_MAX

struct route_group {
	char name[ROUTE_GROUP_NAME_MAX + 1];     /* [A-Za-z0-9_.-]+, the `route` label's value */
	char prefix[ROUTE_GROUP_PREFIX_MAX + 1]; /* the literal bytes a path starts with */
	size_t prefix_length;
};

/* Parses one NAME=PATTERN.  Returns 0, or -1 with a one-line message in
 * `error` that names the problem and the forms that work. */
int route_group_parse(const char *arg, struct route_group *group, char *error, size_t error_size);

/* Parses one NAME=PATTERN and appends it to groups[*count], refusing more
 * than ROUTE_GROUPS_MAX groups, a name given twice, and a group that an
 * earlier one hides (its prefix starts with the earlier prefix, so the
 * earlier group always matches first).  Returns 0 or -1 as above. */
int route_groups_add(struct route_group *groups, size_t *count, const char *arg, char *error,
		     size_t error_size);

#endif
