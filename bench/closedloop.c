// SPDX-License-Identifier: MIT
/*
 * Closed-loop HTTP/1.1 clients for the accuracy part of `make bench`: the
 * ground truth of how many requests are outstanding, from the clients' view.
 *
 *   closedloop PORT PATH CLIENTS SECONDS keepalive|new OUT.json
 *
 * CLIENTS clients on one thread (src/loadgen/closed_loop.c, which
 * runway-sweep shares): each sends GET PATH to 127.0.0.1:PORT, reads the
 * whole response, and sends the next one at once, on the same connection
 * (keepalive) or on a new one (new: the request starts before connect() and
 * the client closes after the response).
 *
 * Writes {"started": t, "ended": t, "records": [[start, end], ...], "errors": n,
 * "error_kinds": [...]} to OUT.json, times in seconds of CLOCK_MONOTONIC (the
 * clock of Python's time.monotonic() and of bpf_ktime_get_ns()).  Requests
 * still open at the end are recorded as ending then.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "closed_loop.h"

struct record {
	double start, end;
};

struct records {
	struct record *items;
	size_t count, capacity;
	double ended; /* for requests still open at the end */
	int out_of_memory;
};

static void record(struct records *r, double start, double end)
{
	if (r->count == r->capacity) {
		size_t capacity = r->capacity ? r->capacity * 2 : 4096;
		struct record *grown = realloc(r->items, capacity * sizeof(*grown));

		if (!grown) {
			r->out_of_memory = 1;
			return;
		}
		r->items = grown;
		r->capacity = capacity;
	}
	r->items[r->count].start = start;
	r->items[r->count].end = end;
	r->count++;
}

static void on_response(void *context, double start, double end, int status)
{
	(void)status;
	record(context, start, end);
}

static void record_open(void *context, double start)
{
	struct records *r = context;

	record(r, start, r->ended);
}

static int write_json(const char *path, double started, double ended, const struct closed_loop *loop,
		      const struct records *r)
{
	FILE *out = fopen(path, "w");
	size_t i;

	if (!out) {
		perror(path);
		return 1;
	}
	fprintf(out, "{\"started\": %.9f, \"ended\": %.9f, \"errors\": %ld, \"error_kinds\": [", started, ended,
		loop->errors);
	for (i = 0; i < loop->error_kind_count; i++)
		fprintf(out, "%s\"%s\"", i ? ", " : "", loop->error_kinds[i]);
	fprintf(out, "], \"records\": [");
	for (i = 0; i < r->count; i++)
		fprintf(out, "%s[%.9f, %.9f]", i ? ", " : "", r->items[i].start, r->items[i].end);
	fprintf(out, "]}\n");
	return fclose(out) ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct closed_loop_config config = { .keepalive = true };
	struct sockaddr_in *address = (struct sockaddr_in *)&config.address;
	struct records records = { 0 };
	struct closed_loop loop;
	char request[1024];
	double started;
	struct rlimit rl;
	long count;
	int n, rc = 1;

	if (argc != 7) {
		fprintf(stderr, "usage: %s PORT PATH CLIENTS SECONDS keepalive|new OUT.json\n", argv[0]);
		return 2;
	}
	address->sin_family = AF_INET;
	address->sin_port = htons(atoi(argv[1]));
	address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	config.address_length = sizeof(*address);
	config.keepalive = strcmp(argv[5], "keepalive") == 0;
	n = snprintf(request, sizeof(request),
		     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: runway-bench\r\n%s\r\n", argv[2],
		     strcmp(argv[5], "new") == 0 ? "Connection: close\r\n" : "");
	count = atol(argv[3]);
	if (count <= 0 || n < 0 || (size_t)n >= sizeof(request))
		return 2;
	config.request = request;
	config.request_length = n;
	config.on_response = on_response;
	config.context = &records;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (closed_loop_init(&loop, &config)) {
		perror("closedloop: epoll");
		return 1;
	}
	started = closed_loop_now();
	if (closed_loop_add_clients(&loop, count) || closed_loop_run(&loop, started + atof(argv[4]), NULL)) {
		perror("closedloop");
		goto cleanup;
	}
	records.ended = closed_loop_now();
	closed_loop_for_each_open(&loop, record_open, &records);
	if (records.out_of_memory) {
		fprintf(stderr, "closedloop: out of memory for the records\n");
		goto cleanup;
	}
	rc = write_json(argv[6], started, records.ended, &loop, &records);
cleanup:
	closed_loop_destroy(&loop);
	free(records.items);
	return rc;
}
