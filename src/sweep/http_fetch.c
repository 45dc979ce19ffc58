// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "closed_loop.h"
#include "http_fetch.h"
#include "http_response.h"

struct body_buffer {
	char *data;
	size_t length, capacity;
	bool too_long;
};

static void append_body(void *context, const char *data, size_t length)
{
	struct body_buffer *b = context;

	if (b->too_long || b->length + length + 1 > HTTP_FETCH_BODY_MAX) {
		b->too_long = true;
		return;
	}
	if (b->length + length + 1 > b->capacity) {
		size_t capacity = b->capacity ? b->capacity : 65536;
		char *grown;

		while (capacity < b->length + length + 1)
			capacity *= 2;
		grown = realloc(b->data, capacity);
		if (!grown) {
			b->too_long = true;
			return;
		}
		b->data = grown;
		b->capacity = capacity;
	}
	memcpy(b->data + b->length, data, length);
	b->length += length;
	b->data[b->length] = '\0';
}

/* Waits for `events` on fd until `deadline`; 1 ready, 0 timed out, -1 error. */
static int wait_for(int fd, short events, double deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		double left = deadline - closed_loop_now();
		int n;

		if (left <= 0)
			return 0;
		n = poll(&p, 1, (int)(left * 1000) + 1);
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -1 : n > 0;
	}
}

int http_fetch(const struct sockaddr_storage *address, socklen_t address_length, const char *request,
	       size_t request_length, bool head_request, bool keep_body, double timeout_s,
	       struct http_fetch_result *result, char *error, size_t error_size)
{
	double deadline = closed_loop_now() + timeout_s;
	struct body_buffer body = { 0 };
	struct http_response *response;
	size_t sent = 0;
	int fd = -1, err = -1, ready;
	char data[16384];

	memset(result, 0, sizeof(*result));
	response = calloc(1, sizeof(*response));
	if (!response) {
		snprintf(error, error_size, "out of memory");
		return -1;
	}
	http_response_begin(response, head_request);
	if (keep_body) {
		response->on_body = append_body;
		response->body_context = &body;
	}
	fd = socket(address->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(error, error_size, "socket: %s", strerror(errno));
		goto cleanup;
	}
	if (connect(fd, (const struct sockaddr *)address, address_length) && errno != EINPROGRESS) {
		snprintf(error, error_size, "connect: %s", strerror(errno));
		goto cleanup;
	}
	while (sent < request_length) {
		ssize_t n;

		ready = wait_for(fd, POLLOUT, deadline);
		if (ready < 0) {
			snprintf(error, error_size, "poll: %s", strerror(errno));
			goto cleanup;
		}
		if (ready == 0) {
			snprintf(error, error_size, "could not connect and send within %g s", timeout_s);
			goto cleanup;
		}
		n = send(fd, request + sent, request_length - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0) {
			/* A refused connect() shows here, as the send's error. */
			snprintf(error, error_size, "connect: %s", strerror(errno));
			goto cleanup;
		}
		sent += n;
	}
	while (response->state != HTTP_RESPONSE_DONE && response->state != HTTP_RESPONSE_BAD) {
		ssize_t n;

		ready = wait_for(fd, POLLIN, deadline);
		if (ready < 0) {
			snprintf(error, error_size, "poll: %s", strerror(errno));
			goto cleanup;
		}
		if (ready == 0) {
			snprintf(error, error_size, "no complete response within %g s", timeout_s);
			goto cleanup;
		}
		n = recv(fd, data, sizeof(data), 0);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0) {
			snprintf(error, error_size, "recv: %s", strerror(errno));
			goto cleanup;
		}
		if (n == 0)
			http_response_closed(response);
		else
			http_response_feed(response, data, n);
	}
	if (response->state == HTTP_RESPONSE_BAD) {
		snprintf(error, error_size, "%s", response->error);
		goto cleanup;
	}
	if (body.too_long) {
		snprintf(error, error_size, "response body over %u MiB", HTTP_FETCH_BODY_MAX >> 20);
		goto cleanup;
	}
	result->status = response->status;
	if (keep_body) {
		if (!body.data)
			append_body(&body, "", 0);
		result->body = body.data;
		result->body_length = body.length;
		body.data = NULL;
	}
	err = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	free(body.data);
	free(response);
	return err;
}
