// SPDX-License-Identifier: MIT
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_endpoint.h"
#include "log.h"

#define EXPOSITION_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define LISTEN_BACKLOG 64
#define CONNECTION_LIMIT 64
#define CONNECTION_TIMEOUT_S 10

int http_endpoint_bind(struct http_endpoint *e, const char *host, unsigned short port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *addresses = NULL;
	char service[8];
	int fd = -1, one = 1, err;

	memset(e, 0, sizeof(*e));
	e->listen_fd = -1;
	snprintf(service, sizeof(service), "%u", port);
	err = getaddrinfo(host, service, &hints, &addresses);
	if (err) {
		log_error("--listen %s:%u: %s; give an address of this host, e.g. 0.0.0.0:9091", host, port,
			  gai_strerror(err));
		return -1;
	}
	fd = socket(addresses->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("cannot create the metrics socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, addresses->ai_addr, addresses->ai_addrlen) || listen(fd, LISTEN_BACKLOG)) {
		if (errno == EADDRINUSE)
			log_error("metrics address %s:%u is already in use: pick a free port with --listen HOST:PORT",
				  host, port);
		else
			log_error("cannot listen on %s:%u for metrics: %s; pick another with --listen", host, port,
				  strerror(errno));
		goto fail;
	}
	freeaddrinfo(addresses);
	e->listen_fd = fd;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(addresses);
	return -1;
}

static enum MHD_Result respond(struct MHD_Connection *connection, unsigned int status, char *body,
			       size_t length, enum MHD_ResponseMemoryMode mode, const char *content_type)
{
	struct MHD_Response *response = MHD_create_response_from_buffer(length, body, mode);
	enum MHD_Result result;

	if (!response)
		return MHD_NO;
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	result = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *connection, const char *url,
				      const char *method, const char *version, const char *upload_data,
				      size_t *upload_data_size, void **request_state)
{
	static char not_found[] = "runway-bpfd serves GET /metrics\n";
	static char not_allowed[] = "only GET and HEAD\n";
	struct http_endpoint *e = cls;
	size_t length;
	char *body;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)request_state;
	if (strcmp(url, "/metrics") != 0)
		return respond(connection, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1,
			       MHD_RESPMEM_PERSISTENT, "text/plain");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed, sizeof(not_allowed) - 1,
			       MHD_RESPMEM_PERSISTENT, "text/plain");
	body = metrics_render(e->metrics, &length);
	if (!body) {
		static char failed[] = "rendering metrics failed\n";

		return respond(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, failed, sizeof(failed) - 1,
			       MHD_RESPMEM_PERSISTENT, "text/plain");
	}
	return respond(connection, MHD_HTTP_OK, body, length, MHD_RESPMEM_MUST_FREE, EXPOSITION_CONTENT_TYPE);
}

int http_endpoint_start(struct http_endpoint *e, struct metrics_context *m)
{
	e->metrics = m;
	e->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				     handle_request, e, MHD_OPTION_LISTEN_SOCKET, e->listen_fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
				     MHD_OPTION_END);
	if (!e->daemon) {
		log_error("starting the metrics server failed");
		return -1;
	}
	return 0;
}

void http_endpoint_stop(struct http_endpoint *e)
{
	if (e->daemon)
		MHD_stop_daemon(e->daemon);
	e->daemon = NULL;
	if (e->listen_fd >= 0)
		close(e->listen_fd);
	e->listen_fd = -1;
}
