/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_HTTP_ENDPOINT_H
#define RUNWAY_HTTP_ENDPOINT_H

#include "metrics.h"

struct MHD_Daemon;

/* GET /metrics, /healthz (liveness) and /-/ready (readiness), served by
 * libmicrohttpd's own thread. */
struct http_endpoint {
	int listen_fd;
	struct MHD_Daemon *daemon;
	struct metrics_context *_Atomic metrics; /* NULL until ready */
};

/* Binds and listens now, so that a port in use is reported before anything
 * is attached.  Prints the error line and returns -1 on failure. */
int http_endpoint_bind(struct http_endpoint *e, const char *host, unsigned short port);
/* Serves from now on: /healthz answers 200, /metrics and /-/ready 503 until
 * http_endpoint_set_ready(). */
int http_endpoint_start(struct http_endpoint *e);
/* The programs are attached: serve m's metrics. */
void http_endpoint_set_ready(struct http_endpoint *e, struct metrics_context *m);
void http_endpoint_stop(struct http_endpoint *e);

#endif
