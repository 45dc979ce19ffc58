// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_response.h"

void http_response_begin(struct http_response *r, bool head_request)
{
	r->state = HTTP_RESPONSE_HEAD;
	r->head_request = head_request;
	r->status = 0;
	r->close = false;
	r->error = NULL;
	r->remaining = 0;
	r->head_length = 0;
	r->line_length = 0;
}

static void fail(struct http_response *r, const char *why)
{
	r->state = HTTP_RESPONSE_BAD;
	r->error = why;
}

/* Does the comma-separated header value contain `token` (case-insensitive)? */
static bool has_token(const char *value, size_t length, const char *token)
{
	size_t token_length = strlen(token), i = 0;

	while (i < length) {
		size_t start, end;

		while (i < length && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
			i++;
		start = i;
		while (i < length && value[i] != ',')
			i++;
		end = i;
		while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
			end--;
		if (end - start == token_length && strncasecmp(value + start, token, token_length) == 0)
			return true;
	}
	return false;
}

/* The last transfer coding is the one that frames the body (RFC 9112 6.3). */
static bool last_coding_is_chunked(const char *value, size_t length)
{
	size_t end = length, start;

	while (end > 0 && (value[end - 1] == ' ' || value[end - 1] == '\t' || value[end - 1] == ','))
		end--;
	start = end;
	while (start > 0 && value[start - 1] != ',' && value[start - 1] != ' ' && value[start - 1] != '\t')
		start--;
	return end - start == 7 && strncasecmp(value + start, "chunked", 7) == 0;
}

static bool parse_decimal(const char *text, size_t length, unsigned long long *out)
{
	unsigned long long value = 0;
	size_t i;

	if (length == 0 || length > 18)
		return false;
	for (i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		value = value * 10 + (unsigned)(text[i] - '0');
	}
	*out = value;
	return true;
}

/* The head is complete in r->head (NUL-terminated, CRLF or LF line ends).
 * Decides how the body is framed. */
static void end_of_head(struct http_response *r)
{
	char *line = r->head, *next;
	bool chunked = false, has_length = false, http10;
	unsigned long long length = 0;
	int status;

	if (strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
	    line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' ||
	    line[11] > '9') {
		fail(r, "not an HTTP/1.x response");
		return;
	}
	http10 = line[7] == '0';
	status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	r->close = http10;
	for (line = strchr(line, '\n'); line && line[1]; line = next) {
		char *name = line + 1, *colon, *value, *end;
		size_t value_length;

		next = strchr(name, '\n');
		if (!next)
			break;
		end = next;
		if (end > name && end[-1] == '\r')
			end--;
		if (end == name)
			break;
		colon = memchr(name, ':', end - name);
		if (!colon)
			continue;
		value = colon + 1;
		while (value < end && (*value == ' ' || *value == '\t'))
			value++;
		value_length = end - value;
		while (value_length > 0 && (value[value_length - 1] == ' ' || value[value_length - 1] == '\t'))
			value_length--;
		if (colon - name == 14 && strncasecmp(name, "content-length", 14) == 0) {
			if (!parse_decimal(value, value_length, &length)) {
				fail(r, "bad Content-Length");
				return;
			}
			has_length = true;
		} else if (colon - name == 17 && strncasecmp(name, "transfer-encoding", 17) == 0) {
			chunked = last_coding_is_chunked(value, value_length);
		} else if (colon - name == 10 && strncasecmp(name, "connection", 10) == 0) {
			if (has_token(value, value_length, "close"))
				r->close = true;
			else if (http10 && has_token(value, value_length, "keep-alive"))
				r->close = false;
		}
	}
	if (status == 101) {
		fail(r, "protocol upgrade (101)");
		return;
	}
	if (status < 200) {
		/* Interim (100 Continue, 103 Early Hints): the real response follows. */
		http_response_begin(r, r->head_request);
		return;
	}
	r->status = status;
	if (r->head_request || status == 204 || status == 304) {
		r->state = HTTP_RESPONSE_DONE;
	} else if (chunked) {
		r->state = HTTP_RESPONSE_CHUNK_SIZE;
	} else if (has_length) {
		r->remaining = length;
		r->state = length ? HTTP_RESPONSE_BODY_LENGTH : HTTP_RESPONSE_DONE;
	} else {
		r->close = true;
		r->state = HTTP_RESPONSE_UNTIL_CLOSE;
	}
}

/* Head bytes up to the empty line; returns bytes used. */
static size_t feed_head(struct http_response *r, const char *data, size_t length)
{
	size_t used = 0;

	while (used < length && r->state == HTTP_RESPONSE_HEAD) {
		char c = data[used++];
		size_t n;

		if (r->head_length + 1 >= sizeof(r->head)) {
			fail(r, "response head too long");
			break;
		}
		r->head[r->head_length++] = c;
		if (c != '\n')
			continue;
		n = r->head_length;
		if ((n >= 2 && r->head[n - 2] == '\n') || (n >= 3 && r->head[n - 3] == '\n' && r->head[n - 2] == '\r')) {
			r->head[n] = '\0';
			end_of_head(r);
		}
	}
	return used;
}

/* One line of the chunked framing (size line, data end, trailer) into
 * r->line; returns bytes used and whether the line is complete. */
static size_t feed_line(struct http_response *r, const char *data, size_t length, bool *complete)
{
	size_t used = 0;

	*complete = false;
	while (used < length) {
		char c = data[used++];

		if (c == '\n') {
			if (r->line_length > 0 && r->line[r->line_length - 1] == '\r')
				r->line_length--;
			r->line[r->line_length] = '\0';
			*complete = true;
			break;
		}
		if (r->line_length + 2 >= sizeof(r->line)) {
			fail(r, "chunked framing line too long");
			break;
		}
		r->line[r->line_length++] = c;
	}
	return used;
}

static void end_of_line(struct http_response *r)
{
	unsigned long long size = 0;
	size_t i;

	switch (r->state) {
	case HTTP_RESPONSE_CHUNK_SIZE:
		for (i = 0; i < r->line_length && r->line[i] != ';' && r->line[i] != ' '; i++) {
			char c = r->line[i];
			int digit = c >= '0' && c <= '9'   ? c - '0'
				    : c >= 'a' && c <= 'f' ? c - 'a' + 10
				    : c >= 'A' && c <= 'F' ? c - 'A' + 10
							   : -1;

			if (digit < 0 || i >= 15) {
				fail(r, "bad chunk size");
				return;
			}
			size = size * 16 + (unsigned)digit;
		}
		if (i == 0) {
			fail(r, "bad chunk size");
			return;
		}
		r->remaining = size;
		r->state = size ? HTTP_RESPONSE_CHUNK_DATA : HTTP_RESPONSE_TRAILER;
		break;
	case HTTP_RESPONSE_CHUNK_DATA_END:
		if (r->line_length) {
			fail(r, "chunk data longer than its size");
			return;
		}
		r->state = HTTP_RESPONSE_CHUNK_SIZE;
		break;
	case HTTP_RESPONSE_TRAILER:
		if (r->line_length == 0)
			r->state = HTTP_RESPONSE_DONE;
		break;
	default:
		break;
	}
	r->line_length = 0;
}

static size_t take_body(struct http_response *r, const char *data, size_t length)
{
	size_t used = r->remaining < length ? (size_t)r->remaining : length;

	if (r->on_body && used)
		r->on_body(r->body_context, data, used);
	r->remaining -= used;
	return used;
}

size_t http_response_feed(struct http_response *r, const char *data, size_t length)
{
	size_t used = 0;
	bool complete;

	while (used < length) {
		switch (r->state) {
		case HTTP_RESPONSE_HEAD:
			used += feed_head(r, data + used, length - used);
			break;
		case HTTP_RESPONSE_BODY_LENGTH:
			used += take_body(r, data + used, length - used);
			if (!r->remaining)
				r->state = HTTP_RESPONSE_DONE;
			break;
		case HTTP_RESPONSE_CHUNK_DATA:
			used += take_body(r, data + used, length - used);
			if (!r->remaining)
				r->state = HTTP_RESPONSE_CHUNK_DATA_END;
			break;
		case HTTP_RESPONSE_CHUNK_SIZE:
		case HTTP_RESPONSE_CHUNK_DATA_END:
		case HTTP_RESPONSE_TRAILER:
			used += feed_line(r, data + used, length - used, &complete);
			if (complete)
				end_of_line(r);
			break;
		case HTTP_RESPONSE_UNTIL_CLOSE:
			if (r->on_body)
				r->on_body(r->body_context, data + used, length - used);
			used = length;
			break;
		case HTTP_RESPONSE_DONE:
		case HTTP_RESPONSE_BAD:
			return used;
		}
	}
	return used;
}

void http_response_closed(struct http_response *r)
{
	if (r->state == HTTP_RESPONSE_UNTIL_CLOSE)
		r->state = HTTP_RESPONSE_DONE;
	else if (r->state != HTTP_RESPONSE_DONE && r->state != HTTP_RESPONSE_BAD)
		fail(r, r->state == HTTP_RESPONSE_HEAD && r->head_length == 0 ? "closed by server"
									       : "closed by server mid-response");
}
