/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_CLOSED_LOOP_H
#define RUNWAY_CLOSED_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * Closed-loop HTTP/1.1 clients on one thread (epoll): each client sends the
 * request, reads the whole response, and sends the next one at once, so the
 * number of requests outstanding is always the number of clients.  Shared by
 * bench/closedloop (the truth of `make bench`'s accuracy part) and
 * runway-sweep.
 *
 * In C rather than Python so that the clients' own time per request, which
 * the server's kernel cannot see and the truth counts, stays small.
 *
 * Times are seconds of CLOCK_MONOTONIC, the clock of Python's
 * time.monotonic() and of bpf_ktime_get_ns().
 */

#define CLOSED_LOOP_ERROR_KINDS 8

struct closed_loop_config {
	struct sockaddr_storage address;
	socklen_t address_length;
	const char *request;    /* sent as is, whole, for every request */
	size_t request_length;
	bool head_request;      /* the method is HEAD: responses carry no body */
	bool keepalive;         /* false: a new connection per request, timed from before connect() */
	/* Each response, with its request's start (its first attempt's, when
	 * errors made the client retry) and end.  status is the HTTP status. */
	void (*on_response)(void *context, double start, double end, int status);
	void *context;
};

struct loop_client;

struct closed_loop {
	struct closed_loop_config config;
	int epoll_fd;
	struct loop_client **clients;
	size_t client_count;
	long errors;            /* failed attempts; the client retries after 1 ms */
	const char *error_kinds[CLOSED_LOOP_ERROR_KINDS]; /* distinct, in order seen */
	size_t error_kind_count;
	const char *last_error; /* kind of the last failed attempt */
	int last_errno;         /* its errno, 0 if it had none (a bad response) */
};

double closed_loop_now(void);

/* Returns 0, or -1 with errno set.  `config` is copied; the request bytes
 * it points to must outlive the loop. */
int closed_loop_init(struct closed_loop *loop, const struct closed_loop_config *config);

/* `count` more clients, each starting its first request now.  Returns 0, or
 * -1 with errno set (out of memory). */
int closed_loop_add_clients(struct closed_loop *loop, size_t count);

/* Runs the clients until `stop_at` or until *stop becomes non-zero (a
 * signal handler sets it; the wait is interrupted).  Returns 0, or -1 with
 * errno set when epoll itself fails. */
int closed_loop_run(struct closed_loop *loop, double stop_at, volatile sig_atomic_t *stop);

/* Calls fn with the start of every request outstanding now: one per client. */
void closed_loop_for_each_open(const struct closed_loop *loop, void (*fn)(void *context, double start),
			       void *context);

/* Closes every connection; requests outstanding are abandoned. */
void closed_loop_destroy(struct closed_loop *loop);

#endif
