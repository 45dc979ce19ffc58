/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_SWEEP_STEP_H
#define RUNWAY_SWEEP_STEP_H

/* What one step of a sweep measured.  Latencies in seconds; a value that
 * was not measured is NAN (printed "-" and null). */
struct sweep_step {
	unsigned concurrency;      /* clients, each with one request outstanding at all times */
	double seconds;            /* length of the measured window */
	long responses;            /* 2xx and 3xx responses that ended in the window */
	long errors;               /* failed attempts and other statuses in the window */
	double rps;                /* responses / seconds */
	double mean;               /* of those responses' latencies: Little's law's W */
	double p50, p95, p99;      /* of those responses (from the request's start to the response's end) */
	double client_concurrency; /* mean requests outstanding over the window, from the clients' timestamps */
	double in_flight;          /* the daemon's mean runway_requests_in_flight over the window (--metrics) */
	double queued;             /* the daemon's mean runway_requests_queued (--metrics; absent without its read hook) */
};

#endif
