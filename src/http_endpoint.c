// SPDX-License-Identifier: MIT
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_endpoint.h"
#include "log.h"

#define EXPOSITION_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define LISTEN_BACKLOG 1024
/* A scraper needs one connection, a probe one more: a client address that
 * holds more is hostile or broken, and libmicrohttpd closes the excess at
 * once instead of letting it crowd out Prometheus. */
#define CONNECTIONS_PER_CLIENT_ADDRESS 16
/* Many addresses at once (a scan of the pod network) still leave room: with
 * epoll there is no FD_SETSIZE ceiling, only RLIMIT_NOFILE, raised below. */
#define CONNECTION_LIMIT 4096
/* Idle or trickling connections are closed after this: Prometheus reconnects
 * in a millisecond, a slowloris client gets nothing for its patience. */
#define CONNECTION_TIMEOUT_S 5
/* File descriptors beyond the connections: BPF maps and programs, /proc
 * files, netlink sockets, the listening socket. */
#define SPARE_FDS 256

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

static enum MHD_Result respond_text(struct MHD_Connection *connection, unsigned int status, const char *text)
{
	return respond(connection, status, (char *)text, strlen(text), MHD_RESPMEM_PERSISTENT, "text/plain");
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *connection, const char *url,
				      const char *method, const char *version, const char *upload_data,
				      size_t *upload_data_size, void **request_state)
{
	struct http_endpoint *e = cls;
	struct metrics_context *metrics;
	size_t length;
	char *body;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)request_state;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return respond_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	metrics = atomic_load(&e->metrics);
	/* Liveness: this thread answers, so the process is not wedged. */
	if (strcmp(url, "/healthz") == 0)
		return respond_text(connection, MHD_HTTP_OK, "ok\n");
	/* Readiness: the programs are attached and the metrics are real. */
	if (strcmp(url, "/-/ready") == 0)
		return metrics ? respond_text(connection, MHD_HTTP_OK, "ready\n") :
				 respond_text(connection, MHD_HTTP_SERVICE_UNAVAILABLE,
					      "not ready: attaching the BPF programs\n");
	if (strcmp(url, "/metrics") != 0)
		return respond_text(connection, MHD_HTTP_NOT_FOUND,
				    "runway-bpfd serves GET /metrics, /healthz and /-/ready\n");
	if (!metrics)
		return respond_text(connection, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "not ready: attaching the BPF programs\n");
	body = metrics_render(metrics, &length);
	if (!body) {
		static char failed[] = "rendering metrics failed\n";

		return respond(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, failed, sizeof(failed) - 1,
			       MHD_RESPMEM_PERSISTENT, "text/plain");
	}
	return respond(connection, MHD_HTTP_OK, body, length, MHD_RESPMEM_MUST_FREE, EXPOSITION_CONTENT_TYPE);
}

/* Room for CONNECTION_LIMIT sockets.  The soft limit is often 1024; the
 * hard limit, which an unprivileged process may raise to, is the ceiling. */
static unsigned int raise_open_file_limit(void)
{
	struct rlimit limit;
	rlim_t wanted = CONNECTION_LIMIT + SPARE_FDS;

	if (getrlimit(RLIMIT_NOFILE, &limit))
		return CONNECTION_LIMIT;
	if (limit.rlim_cur < wanted) {
		limit.rlim_cur = limit.rlim_max < wanted ? limit.rlim_max : wanted;
		setrlimit(RLIMIT_NOFILE, &limit);
		getrlimit(RLIMIT_NOFILE, &limit);
	}
	if (limit.rlim_cur >= wanted)
		return CONNECTION_LIMIT;
	log_info("warning: the open-file limit is %llu: the metrics endpoint takes at most %llu connections",
		 (unsigned long long)limit.rlim_cur,
		 (unsigned long long)(limit.rlim_cur > 2 * SPARE_FDS ? limit.rlim_cur - SPARE_FDS : SPARE_FDS));
	return limit.rlim_cur > 2 * SPARE_FDS ? limit.rlim_cur - SPARE_FDS : SPARE_FDS;
}

int http_endpoint_start(struct http_endpoint *e)
{
	unsigned int connection_limit = raise_open_file_limit();

	atomic_store(&e->metrics, NULL);
	/* epoll, not select(): select() cannot watch a descriptor above 1023. */
	e->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
				     handle_request, e, MHD_OPTION_LISTEN_SOCKET, e->listen_fd,
				     MHD_OPTION_CONNECTION_LIMIT, connection_limit,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)CONNECTIONS_PER_CLIENT_ADDRESS,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
				     MHD_OPTION_END);
	if (!e->daemon) {
		log_error("starting the metrics server failed");
		return -1;
	}
	/* MHD owns the listening socket now and closes it when it stops. */
	e->listen_fd = -1;
	return 0;
}

void http_endpoint_set_ready(struct http_endpoint *e, struct metrics_context *m)
{
	atomic_store(&e->metrics, m);
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
