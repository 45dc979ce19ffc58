// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "closed_loop.h"
#include "http_response.h"

#define EVENTS_PER_WAIT 256
#define RETRY_AFTER_MS 1

enum phase { CONNECTING, SENDING, READING, RETRY };

struct loop_client {
	struct closed_loop *loop;
	int fd;
	enum phase phase;
	double start;
	size_t sent;
	struct http_response response;
};

double closed_loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void count_error(struct closed_loop *loop, const char *kind, int err)
{
	size_t i;

	loop->errors++;
	loop->last_error = kind;
	loop->last_errno = err;
	for (i = 0; i < loop->error_kind_count; i++)
		if (strcmp(loop->error_kinds[i], kind) == 0)
			return;
	if (loop->error_kind_count < CLOSED_LOOP_ERROR_KINDS)
		loop->error_kinds[loop->error_kind_count++] = kind;
}

static void close_client(struct loop_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* The attempt failed: the client waits a millisecond, in closed_loop_run(),
 * and its request (still counted from its first start) goes on. */
static void fail(struct loop_client *c, const char *kind, int err)
{
	count_error(c->loop, kind, err);
	close_client(c);
	c->phase = RETRY;
}

static int watch(struct loop_client *c, unsigned events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(c->loop->epoll_fd, op, c->fd, &ev)) {
		fail(c, "epoll_ctl", errno);
		return -1;
	}
	return 0;
}

static void try_send(struct loop_client *c)
{
	const struct closed_loop_config *cfg = &c->loop->config;

	while (c->sent < cfg->request_length) {
		ssize_t n = send(c->fd, cfg->request + c->sent, cfg->request_length - c->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			if (c->phase != SENDING && watch(c, EPOLLOUT, EPOLL_CTL_MOD) == 0)
				c->phase = SENDING;
			return;
		}
		if (n <= 0) {
			fail(c, "send", n < 0 ? errno : 0);
			return;
		}
		c->sent += n;
	}
	if (watch(c, EPOLLIN, EPOLL_CTL_MOD))
		return;
	c->phase = READING;
	http_response_begin(&c->response, cfg->head_request);
}

static void connect_and_send(struct loop_client *c)
{
	const struct closed_loop_config *cfg = &c->loop->config;
	int one = 1;

	c->sent = 0;
	if (c->fd >= 0) {
		try_send(c);
		return;
	}
	c->fd = socket(cfg->address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		fail(c, "socket", errno);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->phase = CONNECTING;
	if (watch(c, EPOLLOUT, EPOLL_CTL_ADD))
		return;
	if (connect(c->fd, (const struct sockaddr *)&cfg->address, cfg->address_length) == 0)
		try_send(c);
	else if (errno != EINPROGRESS)
		fail(c, "connect", errno);
}

static void begin_request(struct loop_client *c, double now)
{
	c->start = now;
	connect_and_send(c);
}

static void on_response(struct loop_client *c)
{
	const struct closed_loop_config *cfg = &c->loop->config;
	double end = closed_loop_now();

	if (cfg->on_response)
		cfg->on_response(cfg->context, c->start, end, c->response.status);
	if (!cfg->keepalive || c->response.close)
		close_client(c);
	begin_request(c, end);
}

static void on_readable(struct loop_client *c)
{
	char data[16384];

	for (;;) {
		ssize_t n = recv(c->fd, data, sizeof(data), 0);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			fail(c, "recv", errno);
			return;
		}
		if (n == 0)
			http_response_closed(&c->response);
		else
			http_response_feed(&c->response, data, n);
		if (c->response.state == HTTP_RESPONSE_DONE) {
			on_response(c);
			return;
		}
		if (c->response.state == HTTP_RESPONSE_BAD) {
			fail(c, c->response.error, 0);
			return;
		}
	}
}

static void on_writable(struct loop_client *c)
{
	if (c->phase == CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			fail(c, "connect", err);
			return;
		}
	}
	try_send(c);
}

int closed_loop_init(struct closed_loop *loop, const struct closed_loop_config *config)
{
	memset(loop, 0, sizeof(*loop));
	loop->config = *config;
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epoll_fd < 0 ? -1 : 0;
}

int closed_loop_add_clients(struct closed_loop *loop, size_t count)
{
	struct loop_client **grown;
	double now = closed_loop_now();
	size_t i, first = loop->client_count;

	grown = realloc(loop->clients, (first + count) * sizeof(*grown));
	if (!grown)
		return -1;
	loop->clients = grown;
	/* Allocate them all first: epoll holds pointers to clients, so a client
	 * never moves, and none starts unless all could be made. */
	for (i = 0; i < count; i++) {
		grown[first + i] = calloc(1, sizeof(**grown));
		if (!grown[first + i]) {
			while (i--)
				free(grown[first + i]);
			return -1;
		}
		grown[first + i]->loop = loop;
		grown[first + i]->fd = -1;
	}
	loop->client_count += count;
	for (i = first; i < loop->client_count; i++)
		begin_request(loop->clients[i], now);
	return 0;
}

int closed_loop_run(struct closed_loop *loop, double stop_at, volatile sig_atomic_t *stop)
{
	struct epoll_event events[EVENTS_PER_WAIT];
	double now;
	size_t i;

	while (!(stop && *stop) && (now = closed_loop_now()) < stop_at) {
		int timeout_ms = (int)((stop_at - now) * 1000) + 1, n, k;
		bool retrying = false;

		for (i = 0; i < loop->client_count && !retrying; i++)
			retrying = loop->clients[i]->phase == RETRY;
		n = epoll_wait(loop->epoll_fd, events, EVENTS_PER_WAIT,
			       retrying && timeout_ms > RETRY_AFTER_MS ? RETRY_AFTER_MS : timeout_ms);
		if (n < 0 && errno != EINTR)
			return -1;
		for (k = 0; k < n; k++) {
			struct loop_client *c = events[k].data.ptr;

			/* An earlier event of this batch may have failed it. */
			if (c->fd < 0 || c->phase == RETRY)
				continue;
			if (c->phase == READING)
				on_readable(c);
			else
				on_writable(c);
		}
		/* After the events, so that no event of a closed socket is
		 * taken for one of its replacement. */
		if (retrying)
			for (i = 0; i < loop->client_count; i++)
				if (loop->clients[i]->phase == RETRY)
					connect_and_send(loop->clients[i]);
	}
	return 0;
}

void closed_loop_for_each_open(const struct closed_loop *loop, void (*fn)(void *context, double start),
			       void *context)
{
	size_t i;

	for (i = 0; i < loop->client_count; i++)
		fn(context, loop->clients[i]->start);
}

void closed_loop_destroy(struct closed_loop *loop)
{
	size_t i;

	for (i = 0; i < loop->client_count; i++) {
		close_client(loop->clients[i]);
		free(loop->clients[i]);
	}
	free(loop->clients);
	loop->clients = NULL;
	loop->client_count = 0;
	if (loop->epoll_fd >= 0)
		close(loop->epoll_fd);
	loop->epoll_fd = -1;
}
