/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_HTTP_RESPONSE_H
#define RUNWAY_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Where one HTTP/1.x response ends, from its bytes as they arrive: what a
 * load generator needs to time a response and send the next request on the
 * same connection.  Bodies are counted, never stored.
 */

#define HTTP_RESPONSE_HEAD_MAX 8192
#define HTTP_RESPONSE_LINE_MAX 256

enum http_response_state {
	HTTP_RESPONSE_HEAD,
	HTTP_RESPONSE_BODY_LENGTH,      /* Content-Length bytes */
	HTTP_RESPONSE_CHUNK_SIZE,       /* the line "1a;ext\r\n" */
	HTTP_RESPONSE_CHUNK_DATA,
	HTTP_RESPONSE_CHUNK_DATA_END,   /* the CRLF after a chunk's data */
	HTTP_RESPONSE_TRAILER,          /* trailer lines up to an empty one */
	HTTP_RESPONSE_UNTIL_CLOSE,      /* no framing: the body ends with the connection */
	HTTP_RESPONSE_DONE,
	HTTP_RESPONSE_BAD,
};

struct http_response {
	enum http_response_state state;
	bool head_request;       /* the request was HEAD: no body whatever the headers say */
	int status;              /* of the final (non-1xx) response */
	bool close;              /* the server closes the connection after this response */
	const char *error;       /* why, in state HTTP_RESPONSE_BAD */
	/* Optional, kept by http_response_begin(): receives the body's bytes
	 * (chunked framing removed) for callers that read the body. */
	void (*on_body)(void *context, const char *data, size_t length);
	void *body_context;
	unsigned long long remaining; /* body or chunk bytes still to come */
	size_t head_length;
	size_t line_length;
	char head[HTTP_RESPONSE_HEAD_MAX]; /* the final head, NUL-terminated, once past HEAD */
	char line[HTTP_RESPONSE_LINE_MAX];
};

/* Ready for the response to a new request. */
void http_response_begin(struct http_response *r, bool head_request);

/* Feeds the next bytes of the connection.  Returns how many it used: all of
 * them, or fewer when the response ended (state DONE) or turned out bad
 * (state BAD, `error` says why) before the end of `data`. */
size_t http_response_feed(struct http_response *r, const char *data, size_t length);

/* The server closed the connection: completes a close-delimited body, and
 * turns any other unfinished response into BAD. */
void http_response_closed(struct http_response *r);

#endif
