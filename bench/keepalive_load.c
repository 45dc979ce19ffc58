// SPDX-License-Identifier: MIT
/*
 * Keep-alive HTTP/1.1 load for `make bench`: exact request counts, and load
 * that alternates between several servers in short time slices.
 *
 *   keepalive_load CONNECTIONS PATH TARGET [TARGET...]
 *
 * TARGET is a TCP port on 127.0.0.1 (tcp:PORT or PORT) or a unix socket
 * (unix:PATH).  CONNECTIONS keep-alive connections are opened to each target
 * at start and kept for the whole run, so that no connection set-up or
 * tear-down falls into a measurement.  Then it prints {"ready": N} and obeys
 * one command per line of stdin, printing one JSON line when each is done:
 *
 *   count N T       exactly N requests to target T (0-based), each connection
 *                   sending its next request as soon as its response is in
 *   slices SECONDS SLICE_MS
 *                   for SECONDS, the targets take turns in slices of SLICE_MS:
 *                   in its slice, a target's connections are loaded as in
 *                   count; at the slice's end they send nothing new and the
 *                   next target's slice begins (its last responses overlap by
 *                   one round trip)
 *
 * and answers {"requests": [per target], "active_s": [per target], "elapsed_s": s}.
 * EOF on stdin closes the connections and exits 0.  A connection error, a
 * response that is not 200, or a server closing a connection ends the
 * program with status 1 and one line on stderr.
 *
 * Responses are framed by src/loadgen's parser, the one runway-sweep and
 * bench/closedloop use.
 *
 * Why slices: on a shared VM the speed of a CPU drifts by 10-40 % within a
 * second.  Servers measured in interleaved slices of a few milliseconds see
 * the same drift, so their CPU per request compares in ratios that the drift
 * cancels out of.  In C, one thread and epoll, so that one client CPU keeps
 * several saturated servers busy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http_response.h"

#define MAX_TARGETS 8
#define MAX_CONNECTIONS 256
#define RECEIVE_BUFFER 4096
#define REQUEST_BUFFER 512
#define STALL_S 30.0

struct connection {
	int fd;
	int target;
	int in_flight;
	struct http_response response;
};

struct target {
	struct sockaddr_storage address;
	socklen_t address_length;
	long requests;     /* completed in the current command */
	double active_s;   /* time its slices lasted in the current command */
};

struct load {
	struct target targets[MAX_TARGETS];
	int target_count;
	struct connection *connections;
	int connection_count;
	int per_target;
	int epoll_fd;
	char request[REQUEST_BUFFER];
	size_t request_length;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "keepalive_load: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

static int parse_target(const char *text, struct target *t)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&t->address;
	struct sockaddr_un *un = (struct sockaddr_un *)&t->address;
	char *end;
	long port;

	memset(t, 0, sizeof(*t));
	if (strncmp(text, "unix:", 5) == 0) {
		if (strlen(text + 5) >= sizeof(un->sun_path) || !text[5])
			return -1;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, text + 5);
		t->address_length = sizeof(*un);
		return 0;
	}
	if (strncmp(text, "tcp:", 4) == 0)
		text += 4;
	errno = 0;
	port = strtol(text, &end, 10);
	if (errno || *end || port <= 0 || port > 65535)
		return -1;
	in->sin_family = AF_INET;
	in->sin_port = htons((unsigned short)port);
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->address_length = sizeof(*in);
	return 0;
}

static void open_connection(struct load *l, struct connection *c, int target)
{
	struct target *t = &l->targets[target];
	struct epoll_event event = { .events = EPOLLIN };
	int one = 1;

	c->fd = socket(t->address.ss_family, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&t->address, t->address_length))
		fail("connect", strerror(errno));
	if (t->address.ss_family == AF_INET)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->target = target;
	c->in_flight = 0;
	event.data.ptr = c;
	if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, c->fd, &event))
		fail("epoll_ctl", strerror(errno));
}

static void send_request(struct load *l, struct connection *c)
{
	/* A request is far smaller than the socket buffer: one send takes it
	 * whole or the connection is broken. */
	ssize_t n = send(c->fd, l->request, l->request_length, MSG_NOSIGNAL);

	if (n != (ssize_t)l->request_length)
		fail("send", n < 0 ? strerror(errno) : "short write");
	c->in_flight = 1;
	http_response_begin(&c->response, false);
}

/* Reads what c has; 1 when its response is complete. */
static int receive(struct connection *c)
{
	char buffer[RECEIVE_BUFFER];
	ssize_t n = recv(c->fd, buffer, sizeof(buffer), 0);
	size_t used;

	if (n == 0)
		fail("the server closed a keep-alive connection", NULL);
	if (n < 0)
		fail("recv", strerror(errno));
	if (!c->in_flight)
		fail("bytes on an idle connection", NULL);
	used = http_response_feed(&c->response, buffer, (size_t)n);
	if (c->response.state == HTTP_RESPONSE_BAD)
		fail("bad response", c->response.error);
	if (c->response.state != HTTP_RESPONSE_DONE)
		return 0;
	if (used != (size_t)n)
		fail("more bytes than one response (pipelining is not used)", NULL);
	if (c->response.status != 200)
		fail("response is not 200", c->response.head);
	if (c->response.close)
		fail("the server closes the connection after a response", NULL);
	return 1;
}

static void reset_counts(struct load *l)
{
	for (int i = 0; i < l->target_count; i++) {
		l->targets[i].requests = 0;
		l->targets[i].active_s = 0;
	}
}

static int in_flight(struct load *l)
{
	int n = 0;

	for (int i = 0; i < l->connection_count; i++)
		n += l->connections[i].in_flight;
	return n;
}

/*
 * The event loop of both commands.  active is the target whose connections
 * send again after a response (-1: none, drain).  budget, when >= 0, is how
 * many requests may still be sent.  Returns when the deadline passes (slices)
 * or when nothing is in flight and nothing may be sent.
 */
static void pump(struct load *l, int active, long *budget, double deadline)
{
	struct epoll_event events[64];
	double last_progress = now_s();

	for (;;) {
		double left = deadline - now_s();
		int timeout_ms = deadline > 0 ? (left > 0 ? (int)(left * 1000) + 1 : 0) : 1000;
		int n;

		if (deadline > 0 && left <= 0)
			return;
		if (deadline <= 0 && !in_flight(l) && (active < 0 || (budget && *budget == 0)))
			return;
		n = epoll_wait(l->epoll_fd, events, 64, timeout_ms);
		if (n < 0 && errno != EINTR)
			fail("epoll_wait", strerror(errno));
		if (n <= 0 && now_s() - last_progress > STALL_S)
			fail("no response for 30 s", NULL);
		for (int i = 0; i < n; i++) {
			struct connection *c = events[i].data.ptr;

			/* An idle connection that turns readable was closed or sent
			 * bytes nobody asked for: receive() fails and says which. */
			if (!receive(c))
				continue;
			last_progress = now_s();
			c->in_flight = 0;
			l->targets[c->target].requests++;
			if (c->target == active && (!budget || *budget > 0)) {
				send_request(l, c);
				if (budget)
					(*budget)--;
			}
		}
	}
}

static void start_target(struct load *l, int target, long *budget)
{
	for (int i = 0; i < l->connection_count; i++) {
		struct connection *c = &l->connections[i];

		if (c->target != target || c->in_flight || (budget && *budget == 0))
			continue;
		send_request(l, c);
		if (budget)
			(*budget)--;
	}
}

static void command_count(struct load *l, long requests, int target)
{
	long budget = requests;
	double t0 = now_s();

	start_target(l, target, &budget);
	pump(l, target, &budget, 0);
	l->targets[target].active_s = now_s() - t0;
}

static void command_slices(struct load *l, double seconds, double slice_ms)
{
	double t0 = now_s(), end = t0 + seconds;
	long slice = 0;

	while (now_s() < end) {
		int target = (int)(slice % l->target_count);
		double slice_start = now_s(), slice_end = slice_start + slice_ms / 1000;

		if (slice_end > end)
			slice_end = end;
		start_target(l, target, NULL);
		pump(l, target, NULL, slice_end);
		l->targets[target].active_s += now_s() - slice_start;
		slice++;
	}
	/* The last slice's responses: no new requests. */
	pump(l, -1, NULL, 0);
}

static void report(struct load *l, double elapsed_s)
{
	printf("{\"requests\": [");
	for (int i = 0; i < l->target_count; i++)
		printf("%s%ld", i ? ", " : "", l->targets[i].requests);
	printf("], \"active_s\": [");
	for (int i = 0; i < l->target_count; i++)
		printf("%s%.6f", i ? ", " : "", l->targets[i].active_s);
	printf("], \"elapsed_s\": %.6f}\n", elapsed_s);
	fflush(stdout);
}

static int run_commands(struct load *l)
{
	char line[256];

	while (fgets(line, sizeof(line), stdin)) {
		double t0 = now_s(), a, b;
		long count;
		int target;

		reset_counts(l);
		if (sscanf(line, "count %ld %d", &count, &target) == 2 && count > 0 && target >= 0 &&
		    target < l->target_count)
			command_count(l, count, target);
		else if (sscanf(line, "slices %lf %lf", &a, &b) == 2 && a > 0 && b > 0)
			command_slices(l, a, b);
		else {
			fprintf(stderr, "keepalive_load: unknown command: %s", line);
			return 2;
		}
		report(l, now_s() - t0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct load l = { .epoll_fd = -1 };
	char *end;
	int err = 2;

	if (argc < 4) {
		fprintf(stderr, "usage: %s CONNECTIONS PATH TARGET [TARGET...]  (TARGET: PORT or unix:PATH)\n",
			argv[0]);
		goto cleanup;
	}
	l.per_target = (int)strtol(argv[1], &end, 10);
	l.target_count = argc - 3;
	if (*end || l.per_target <= 0 || l.target_count > MAX_TARGETS ||
	    l.per_target * l.target_count > MAX_CONNECTIONS) {
		fprintf(stderr, "keepalive_load: 1..%d connections in all, %d targets at most\n",
			MAX_CONNECTIONS, MAX_TARGETS);
		goto cleanup;
	}
	for (int i = 0; i < l.target_count; i++) {
		if (parse_target(argv[3 + i], &l.targets[i])) {
			fprintf(stderr, "keepalive_load: bad target %s: give a port or unix:PATH\n", argv[3 + i]);
			goto cleanup;
		}
	}
	l.request_length = (size_t)snprintf(l.request, sizeof(l.request),
					    "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: runway-bench\r\n\r\n",
					    argv[2]);
	if (l.request_length >= sizeof(l.request)) {
		fprintf(stderr, "keepalive_load: path too long\n");
		goto cleanup;
	}
	err = 1;
	l.epoll_fd = epoll_create1(0);
	l.connection_count = l.per_target * l.target_count;
	l.connections = calloc((size_t)l.connection_count, sizeof(*l.connections));
	if (l.epoll_fd < 0 || !l.connections) {
		perror("keepalive_load");
		goto cleanup;
	}
	for (int i = 0; i < l.connection_count; i++)
		open_connection(&l, &l.connections[i], i / l.per_target);
	printf("{\"ready\": %d}\n", l.connection_count);
	fflush(stdout);
	err = run_commands(&l);
cleanup:
	if (l.connections)
		for (int i = 0; i < l.connection_count; i++)
			if (l.connections[i].fd > 0)
				close(l.connections[i].fd);
	free(l.connections);
	if (l.epoll_fd >= 0)
		close(l.epoll_fd);
	return err;
}
