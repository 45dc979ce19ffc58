// SPDX-License-Identifier: MIT
/*
 * Closed-loop HTTP/1.1 clients for the accuracy part of `make bench`: the
 * ground truth of how many requests are outstanding, from the clients' view.
 *
 *   closedloop PORT PATH CLIENTS SECONDS keepalive|new OUT.json
 *
 * CLIENTS clients on one thread (epoll): each sends GET PATH to 127.0.0.1:PORT,
 * reads the whole response (Content-Length framing), and sends the next one at
 * once, on the same connection (keepalive) or on a new one (new: the request
 * starts before connect() and the client closes after the response).
 *
 * Writes {"started": t, "ended": t, "records": [[start, end], ...], "errors": n,
 * "error_kinds": [...]} to OUT.json, times in seconds of CLOCK_MONOTONIC (the
 * clock of Python's time.monotonic() and of bpf_ktime_get_ns()).  Requests
 * still open at the end are recorded as ending then.
 *
 * In C rather than Python so that the clients' own time per request (which the
 * server's kernel cannot see, and which the truth counts) stays small.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFFER_SIZE 16384

enum phase { CONNECTING, SENDING, READING, RETRY };

struct client {
	int fd;
	enum phase phase;
	double start;
	size_t sent;
	size_t have;      /* head bytes in buffer */
	size_t total;     /* response bytes received */
	long body_needed; /* -1: head not complete yet */
	size_t head_length;
	char buffer[BUFFER_SIZE];
};

struct record {
	double start, end;
};

static struct record *records;
static size_t record_count, record_capacity;
static long error_count;
static const char *error_kinds[8];
static size_t error_kind_count;
static struct sockaddr_in address;
static char request[1024];
static size_t request_length;
static int keepalive;
static int epoll_fd;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void record(double start, double end)
{
	if (record_count == record_capacity) {
		record_capacity = record_capacity ? record_capacity * 2 : 4096;
		records = realloc(records, record_capacity * sizeof(*records));
		if (!records) {
			perror("closedloop: realloc");
			exit(1);
		}
	}
	records[record_count].start = start;
	records[record_count].end = end;
	record_count++;
}

static void error(const char *kind)
{
	size_t i;

	error_count++;
	for (i = 0; i < error_kind_count; i++)
		if (strcmp(error_kinds[i], kind) == 0)
			return;
	if (error_kind_count < 8)
		error_kinds[error_kind_count++] = kind;
}

static void watch(struct client *c, unsigned events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(epoll_fd, op, c->fd, &ev)) {
		perror("closedloop: epoll_ctl");
		exit(1);
	}
}

static void close_client(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void begin_request(struct client *c);

/* After an error the client waits a millisecond, in the main loop, and its
 * request (still counted from its first start) goes on. */
static void fail(struct client *c, const char *kind)
{
	error(kind);
	close_client(c);
	c->phase = RETRY;
}

static void try_send(struct client *c)
{
	while (c->sent < request_length) {
		ssize_t n = send(c->fd, request + c->sent, request_length - c->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			watch(c, EPOLLOUT, EPOLL_CTL_MOD);
			c->phase = SENDING;
			return;
		}
		if (n <= 0) {
			fail(c, "send");
			return;
		}
		c->sent += n;
	}
	c->phase = READING;
	c->have = 0;
	c->total = 0;
	c->body_needed = -1;
	watch(c, EPOLLIN, EPOLL_CTL_MOD);
}

static void connect_and_send(struct client *c);

static void begin_request(struct client *c)
{
	c->start = now();
	connect_and_send(c);
}

static void connect_and_send(struct client *c)
{
	int one = 1;

	c->sent = 0;
	if (c->fd >= 0) {
		try_send(c);
		return;
	}
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("closedloop: socket");
		exit(1);
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	watch(c, EPOLLOUT, EPOLL_CTL_ADD);
	if (connect(c->fd, (struct sockaddr *)&address, sizeof(address)) == 0) {
		try_send(c);
	} else if (errno == EINPROGRESS) {
		c->phase = CONNECTING;
	} else {
		fail(c, "connect");
	}
}

/* Returns 1 when the response is complete. */
static int parse(struct client *c)
{
	if (c->body_needed < 0) {
		char *end, *line;

		c->buffer[c->have] = '\0';
		end = strstr(c->buffer, "\r\n\r\n");
		if (!end)
			return 0;
		c->head_length = end + 4 - c->buffer;
		c->body_needed = 0;
		for (line = strstr(c->buffer, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
			if (strncasecmp(line + 2, "content-length:", 15) == 0)
				c->body_needed = strtol(line + 17, NULL, 10);
		}
	}
	return c->total >= c->head_length + (size_t)c->body_needed;
}

static void on_readable(struct client *c)
{
	char discard[BUFFER_SIZE];

	for (;;) {
		/* Head bytes go to the buffer; once the head is parsed, the
		 * body is only counted. */
		char *into = c->body_needed < 0 ? c->buffer + c->have : discard;
		size_t room = c->body_needed < 0 ? BUFFER_SIZE - 1 - c->have : sizeof(discard);
		ssize_t n;

		if (room == 0) {
			fail(c, "head too long");
			return;
		}
		n = recv(c->fd, into, room, 0);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			fail(c, n == 0 ? "closed by server" : "recv");
			return;
		}
		c->total += n;
		if (c->body_needed < 0)
			c->have += n;
		if (parse(c)) {
			record(c->start, now());
			if (!keepalive)
				close_client(c);
			begin_request(c);
			return;
		}
	}
}

static void on_writable(struct client *c)
{
	if (c->phase == CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			fail(c, "connect");
			return;
		}
	}
	try_send(c);
}

int main(int argc, char **argv)
{
	struct epoll_event events[256];
	struct client *clients;
	double started, stop_at, ended;
	long count, i;
	struct rlimit rl;
	FILE *out;

	if (argc != 7) {
		fprintf(stderr, "usage: %s PORT PATH CLIENTS SECONDS keepalive|new OUT.json\n", argv[0]);
		return 2;
	}
	address.sin_family = AF_INET;
	address.sin_port = htons(atoi(argv[1]));
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	request_length = snprintf(request, sizeof(request),
				  "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: runway-bench\r\n%s\r\n",
				  argv[2], strcmp(argv[5], "new") == 0 ? "Connection: close\r\n" : "");
	keepalive = strcmp(argv[5], "keepalive") == 0;
	count = atol(argv[3]);
	if (count <= 0 || request_length >= sizeof(request))
		return 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	clients = calloc(count, sizeof(*clients));
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (!clients || epoll_fd < 0) {
		perror("closedloop");
		return 1;
	}
	started = now();
	stop_at = started + atof(argv[4]);
	for (i = 0; i < count; i++) {
		clients[i].fd = -1;
		begin_request(&clients[i]);
	}
	while (now() < stop_at) {
		int timeout = (int)((stop_at - now()) * 1000) + 1;
		int retrying = 0, n;

		for (i = 0; i < count; i++)
			retrying += clients[i].phase == RETRY;
		n = epoll_wait(epoll_fd, events, 256, retrying ? 1 : timeout);
		if (retrying)
			for (i = 0; i < count; i++)
				if (clients[i].phase == RETRY)
					connect_and_send(&clients[i]);

		for (int k = 0; k < n; k++) {
			struct client *c = events[k].data.ptr;

			if (c->fd < 0)
				continue;
			if (c->phase == READING)
				on_readable(c);
			else
				on_writable(c);
		}
	}
	ended = now();
	for (i = 0; i < count; i++)
		record(clients[i].start, ended);
	out = fopen(argv[6], "w");
	if (!out) {
		perror(argv[6]);
		return 1;
	}
	fprintf(out, "{\"started\": %.9f, \"ended\": %.9f, \"errors\": %ld, \"error_kinds\": [", started, ended,
		error_count);
	for (i = 0; i < (long)error_kind_count; i++)
		fprintf(out, "%s\"%s\"", i ? ", " : "", error_kinds[i]);
	fprintf(out, "], \"records\": [");
	for (size_t r = 0; r < record_count; r++)
		fprintf(out, "%s[%.9f, %.9f]", r ? ", " : "", records[r].start, records[r].end);
	fprintf(out, "]}\n");
	fclose(out);
	return 0;
}
