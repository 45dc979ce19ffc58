/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_SWEEP_REQUEST_H
#define RUNWAY_SWEEP_REQUEST_H

#include <stddef.h>

#include "http_url.h"

/* The bytes of the request every client sends: a keep-alive HTTP/1.1
 * request, with Content-Length and the body when there is one.  Returns a
 * malloc()ed buffer, NULL when out of memory. */
char *sweep_request_build(const struct http_url *url, const char *method, const char *body, size_t body_length,
			  const char *content_type, size_t *length);

/* application/json for a FILE ending in .json, else application/octet-stream. */
const char *sweep_request_content_type(const char *body_path);

#endif
