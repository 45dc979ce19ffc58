/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_HTTP_ENDPOINT_H
#define RUNWAY_HTTP_ENDPOINT_H

#include "metrics.h"

struct MHD_Daemon;

/* GET /metrics, served by libmicrohttpd's own thread. */
struct http_endpoint {
	int listen_fd;
	struct MHD_Daemon *daemon;
	struct metrics_context *metrics;
};

/* Binds and listens now, so that a port in use is reported before anything
 * is attached.  Prints the error line and returns -1 on failure. */
int http_endpoint_bind(struct http_endpoint *e, const char *host, unsigned short port);
int http_endpoint_start(struct http_endpoint *e, struct metrics_context *m);
void http_endpoint_stop(struct http_endpoint *e);

#endif
