// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sweep_request.h"

const char *sweep_request_content_type(const char *body_path)
{
	size_t length = strlen(body_path);

	if (length >= 5 && strcasecmp(body_path + length - 5, ".json") == 0)
		return "application/json";
	return "application/octet-stream";
}

char *sweep_request_build(const struct http_url *url, const char *method, const char *body, size_t body_length,
			  const char *content_type, size_t *length)
{
	char head[HTTP_URL_TARGET_MAX + 512];
	char *request;
	int n;

	if (body)
		n = snprintf(head, sizeof(head),
			     "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: runway-sweep/%s\r\nAccept: */*\r\n"
			     "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			     method, url->target, url->host_header, RUNWAY_VERSION, content_type, body_length);
	else
		n = snprintf(head, sizeof(head),
			     "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: runway-sweep/%s\r\nAccept: */*\r\n\r\n",
			     method, url->target, url->host_header, RUNWAY_VERSION);
	if (n < 0 || (size_t)n >= sizeof(head))
		return NULL;
	request = malloc(n + (body ? body_length : 0));
	if (!request)
		return NULL;
	memcpy(request, head, n);
	if (body)
		memcpy(request + n, body, body_length);
	*length = n + (body ? body_length : 0);
	return request;
}
