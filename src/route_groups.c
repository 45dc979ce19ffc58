// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "route_groups.h"

#define FORMS "give a path prefix (/api/infer) or an anchored prefix regex (^/api/infer, \\. for a dot)"

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '.' || c == '-';
}

/* What a path prefix may hold as itself: RFC 3986's pchar without the
 * characters that are regex operators, so that a regex given without its
 * '^' is refused instead of matched literally. */
static bool is_plain_path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("/-._~!&',;=:@%", c));
}

/* A path may hold these too (RFC 3986 sub-delims), but only escaped in the
 * regex form and not at all in the plain one, where they would be taken for
 * a regex missing its '^'. */
static bool is_path_char(char c)
{
	return is_plain_path_char(c) || (c && strchr("*+()$", c));
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Why a character cannot be in a prefix, or NULL if it can be, literally. */
static const char *refusal(char c, bool regex)
{
	if (c == '?')
		return regex ? "'?' (a quantifier; and the query string is never matched)"
			     : "'?' (the query string is never matched: give the path only)";
	if (c == '#')
		return "'#' (a fragment never reaches the server)";
	if (c == '$')
		return "'$' (an exact match: route groups match path prefixes, so drop it)";
	if (c == '|')
		return "'|' (alternation: one prefix per group)";
	if (c == '[' || c == ']')
		return "a character class";
	if (c == '*' || c == '+' || c == '{' || c == '}')
		return "a quantifier";
	if (c == '(' || c == ')')
		return "a group";
	if (c == '^')
		return "'^' (it anchors the whole pattern, only as its first character)";
	if (c == '\\')
		return regex ? NULL : "'\\' (escapes belong to the regex form, which starts with '^')";
	if (c == '.')
		return regex ? "an unescaped '.' (it matches any character; write \\. for a dot)" : NULL;
	return is_plain_path_char(c) ? NULL : "a character that is not in a URL path";
}

/* The prefix `pattern` (the part of `arg` after '=') stands for, into
 * group->prefix; messages quote the whole `arg`. */
static int parse_pattern(const char *arg, const char *pattern, struct route_group *group, char *error,
			 size_t error_size)
{
	bool regex = pattern[0] == '^';
	const char *p = pattern + (regex ? 1 : 0);
	size_t n = 0;

	if (*p != '/' && !(regex && p[0] == '\\' && p[1] == '/')) {
		snprintf(error, error_size, "'%.100s': the pattern does not start with '/' or '^/': %s", arg, FORMS);
		return -1;
	}
	for (; *p; p++) {
		char c = *p;
		const char *why;

		if (regex && c == '.' && p[1] == '*' && p[2] == '\0')
			break; /* ".*" at the end adds nothing to a prefix */
		if (regex && c == '\\') {
			c = *++p;
			if (!c) {
				snprintf(error, error_size, "'%.100s' ends with a lone '\\': %s", arg, FORMS);
				return -1;
			}
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
				snprintf(error, error_size,
					 "'%.100s': \\%c is a character class or escape sequence, not a prefix: %s", arg,
					 c, FORMS);
				return -1;
			}
			/* Escaped punctuation is the character itself, if it may be in a path. */
			if (!is_path_char(c)) {
				snprintf(error, error_size, "'%.100s': \\%c stands for '%c', which a URL path cannot hold",
					 arg, c, c);
				return -1;
			}
		} else if ((why = refusal(c, regex))) {
			snprintf(error, error_size, "'%.100s' has %s: %s", arg, why, FORMS);
			return -1;
		}
		if (c == '%' && !(is_hex(p[1]) && is_hex(p[2]))) {
			snprintf(error, error_size, "'%.100s': '%%' must start an escape like %%2F", arg);
			return -1;
		}
		if (n == ROUTE_GROUP_PREFIX_MAX) {
			snprintf(error, error_size, "'%.100s': the prefix is longer than %d bytes", arg,
				 ROUTE_GROUP_PREFIX_MAX);
			return -1;
		}
		group->prefix[n++] = c;
	}
	group->prefix[n] = '\0';
	group->prefix_length = n;
	return 0;
}

int route_group_parse(const char *arg, struct route_group *group, char *error, size_t error_size)
{
	const char *equals = strchr(arg, '=');
	size_t name_length, i;

	memset(group, 0, sizeof(*group));
	for (i = 0; arg[i]; i++) {
		if ((unsigned char)arg[i] <= ' ' || (unsigned char)arg[i] >= 0x7f) {
			snprintf(error, error_size,
				 "a space, control or non-ASCII character in NAME=PATTERN; percent-encode it in the "
				 "path, as the request line has it");
			return -1;
		}
	}
	if (!equals) {
		snprintf(error, error_size, "'%.100s': expected NAME=PATTERN, e.g. inference=/api/infer", arg);
		return -1;
	}
	name_length = equals - arg;
	for (i = 0; i < name_length && is_name_char(arg[i]); i++)
		;
	if (name_length == 0 || i < name_length || name_length > ROUTE_GROUP_NAME_MAX) {
		snprintf(error, error_size,
			 "'%.100s': the name before '=' is the route label: 1 to %d letters, digits, '_', '.' or '-'",
			 arg, ROUTE_GROUP_NAME_MAX);
		return -1;
	}
	memcpy(group->name, arg, name_length);
	if (!equals[1]) {
		snprintf(error, error_size, "'%.100s' has no pattern after '=': %s", arg, FORMS);
		return -1;
	}
	return parse_pattern(arg, equals + 1, group, error, error_size);
}

int route_groups_add(struct route_group *groups, size_t *count, const char *arg, char *error,
		     size_t error_size)
{
	struct route_group group;
	size_t i;

	if (*count == ROUTE_GROUPS_MAX) {
		snprintf(error, error_size, "more than %d route groups", ROUTE_GROUPS_MAX);
		return -1;
	}
	if (route_group_parse(arg, &group, error, error_size))
		return -1;
	for (i = 0; i < *count; i++) {
		const struct route_group *earlier = &groups[i];

		if (strcmp(earlier->name, group.name) == 0) {
			snprintf(error, error_size, "'%.100s': the name '%s' is given twice; each group needs its own",
				 arg, group.name);
			return -1;
		}
		if (group.prefix_length >= earlier->prefix_length &&
		    memcmp(group.prefix, earlier->prefix, earlier->prefix_length) == 0) {
			snprintf(error, error_size,
				 "'%.100s' never matches: the group '%s' (%s) comes first and matches all its paths; "
				 "give the longer prefix first",
				 arg, earlier->name, earlier->prefix);
			return -1;
		}
	}
	groups[(*count)++] = group;
	return 0;
}
