/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_SWEEP_HTTP_FETCH_H
#define RUNWAY_SWEEP_HTTP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define HTTP_FETCH_BODY_MAX (64u << 20)

struct http_fetch_result {
	int status;
	char *body;          /* NUL-terminated, when asked for; free() it */
	size_t body_length;
};

/* One request on a new connection, closed after the response; the whole
 * exchange is bounded by `timeout_s`.  Returns 0, or -1 with a message in
 * `error` ("connect: Connection refused", "no response within 5 s", ...). */
int http_fetch(const struct sockaddr_storage *address, socklen_t address_length, const char *request,
	       size_t request_length, bool head_request, bool keep_body, double timeout_s,
	       struct http_fetch_result *result, char *error, size_t error_size);

#endif
