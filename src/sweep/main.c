// SPDX-License-Identifier: MIT
/*
 * runway-sweep: the concurrency at which an HTTP server saturates, measured
 * with closed-loop keep-alive clients at concurrency 1, 2, 4, ... N, and the
 * autoscaling threshold that follows from it (saturation.h has the rule).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "closed_loop.h"
#include "exposition.h"
#include "http_fetch.h"
#include "quote.h"
#include "report.h"
#include "saturation.h"
#include "step_recorder.h"
#include "sweep_args.h"
#include "sweep_request.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* The first request is sent alone, to tell a wrong URL from a slow route. */
#define PREFLIGHT_TIMEOUT_S 30.0
#define SCRAPE_TIMEOUT_S 5.0
#define BODY_MAX (16u << 20)
#define PROGRESS_INTERVAL_S 0.25
/* File descriptors beyond the clients' own: stdio, epoll, scrapes. */
#define SPARE_FILES 16

static volatile sig_atomic_t interrupted;

static void on_signal(int signo)
{
	(void)signo;
	interrupted = 1;
}

static void __attribute__((format(printf, 1, 2))) error_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("runway-sweep: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

struct daemon_sample {
	double time;
	double in_flight_seconds;
	double queued_seconds;
	bool has_queued; /* absent when the daemon runs without its read hook */
};

struct sweep {
	struct sweep_args args;
	char *request;
	size_t request_length;
	struct sockaddr_storage address;
	socklen_t address_length;
	char *metrics_request;
	size_t metrics_request_length;
	struct sockaddr_storage metrics_address;
	socklen_t metrics_address_length;
	bool tty;
	struct step_recorder recorder;
	struct sweep_step steps[SWEEP_MAX_STEPS];
	size_t step_count;
};

static void on_response(void *context, double start, double end, int status)
{
	step_recorder_response(context, start, end, status);
}

struct open_requests {
	struct step_recorder *recorder;
	double end;
};

static void on_open(void *context, double start)
{
	struct open_requests *open = context;

	step_recorder_open(open->recorder, start, open->end);
}

static int read_body(const char *path, char **body, size_t *length)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	char q[QUOTE_SIZE];
	int err = -1;

	*body = NULL;
	if (!f) {
		error_line("--body %s: %s", quote_input(path, q), strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		error_line("--body %s: not a regular file", quote_input(path, q));
		goto cleanup;
	}
	if ((unsigned long long)st.st_size > BODY_MAX) {
		error_line("--body %s: larger than %u MiB", quote_input(path, q), BODY_MAX >> 20);
		goto cleanup;
	}
	*body = malloc(st.st_size ? st.st_size : 1);
	if (!*body || fread(*body, 1, st.st_size, f) != (size_t)st.st_size) {
		error_line("--body %s: cannot read it", quote_input(path, q));
		goto cleanup;
	}
	*length = st.st_size;
	err = 0;
cleanup:
	if (err) {
		free(*body);
		*body = NULL;
	}
	fclose(f);
	return err;
}

static int scrape(struct sweep *s, struct daemon_sample *sample, char *error, size_t error_size)
{
	struct http_fetch_result result;
	double t0 = closed_loop_now(), queued;
	long found;
	int err = -1;

	if (http_fetch(&s->metrics_address, s->metrics_address_length, s->metrics_request,
		       s->metrics_request_length, false, true, SCRAPE_TIMEOUT_S, &result, error, error_size))
		return -1;
	/* The daemon computes its integrals when it answers: about halfway. */
	sample->time = (t0 + closed_loop_now()) / 2;
	if (result.status != 200) {
		snprintf(error, error_size, "answered HTTP %d", result.status);
		goto cleanup;
	}
	found = exposition_sum(result.body, "runway_requests_in_flight_seconds_total", &sample->in_flight_seconds);
	if (found <= 0) {
		snprintf(error, error_size, "%s runway_requests_in_flight_seconds_total",
			 found ? "cannot read" : "has no");
		goto cleanup;
	}
	found = exposition_sum(result.body, "runway_requests_queued_seconds_total", &queued);
	if (found < 0) {
		snprintf(error, error_size, "cannot read runway_requests_queued_seconds_total");
		goto cleanup;
	}
	sample->has_queued = found > 0;
	sample->queued_seconds = queued;
	err = 0;
cleanup:
	free(result.body);
	return err;
}

/* The target answers HTTP with 2xx/3xx, and --metrics is runway-bpfd's. */
static int check_inputs(struct sweep *s)
{
	struct http_fetch_result result;
	struct daemon_sample sample;
	char error[512];

	if (s->args.metrics_text) {
		if (http_url_resolve(&s->args.metrics_url, &s->metrics_address, &s->metrics_address_length, error,
				     sizeof(error))) {
			error_line("--metrics %s: %s", s->args.metrics_text, error);
			return -1;
		}
		if (scrape(s, &sample, error, sizeof(error))) {
			error_line("--metrics %s: %s; give a runway-bpfd /metrics URL, e.g. "
				   "http://127.0.0.1:9091/metrics", s->args.metrics_text, error);
			return -1;
		}
	}
	if (http_url_resolve(&s->args.url, &s->address, &s->address_length, error, sizeof(error))) {
		error_line("%s: %s", s->args.url_text, error);
		return -1;
	}
	if (http_fetch(&s->address, s->address_length, s->request, s->request_length,
		       strcmp(s->args.method, "HEAD") == 0, false, PREFLIGHT_TIMEOUT_S, &result, error, sizeof(error))) {
		error_line("cannot load %s: %s; is an HTTP server listening there?", s->args.url_text, error);
		return -1;
	}
	if (result.status < 200 || result.status >= 400) {
		error_line("%s %s answered HTTP %d; sweep a route that answers 2xx", s->args.method, s->args.url_text,
			   result.status);
		return -1;
	}
	return 0;
}

static int raise_file_limit(unsigned clients)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)clients + SPARE_FILES) {
		error_line("--max-concurrency %u needs %u open files, the limit is %llu: lower N or raise ulimit -n",
			   clients, clients + SPARE_FILES, (unsigned long long)rl.rlim_cur);
		return -1;
	}
	return 0;
}

static void progress(const struct sweep *s, size_t index, size_t count, unsigned concurrency, double left)
{
	const struct sweep_step *last = s->step_count ? &s->steps[s->step_count - 1] : NULL;

	if (!s->tty)
		return;
	fprintf(stderr, "\r\033[Krunway-sweep: step %zu/%zu: %u client%s, %.1f s left", index + 1, count,
		concurrency, concurrency == 1 ? "" : "s", left > 0 ? left : 0);
	if (last)
		fprintf(stderr, "; at %u: %.1f req/s, p95 %.1f ms", last->concurrency, last->rps, last->p95 * 1e3);
	fflush(stderr);
}

/* Runs the loop until `until`, updating the progress line.  Returns 0, or
 * -1 when epoll failed. */
static int run_until(struct sweep *s, struct closed_loop *loop, double until, size_t index, size_t count,
		     unsigned concurrency, double step_end)
{
	while (!interrupted) {
		double now = closed_loop_now(), slice = now + PROGRESS_INTERVAL_S;

		if (now >= until)
			break;
		progress(s, index, count, concurrency, step_end - now);
		if (closed_loop_run(loop, slice < until ? slice : until, &interrupted))
			return -1;
	}
	return 0;
}

static double daemon_mean(double before, double after, double seconds)
{
	return seconds > 0 ? (after - before) / seconds : NAN;
}

/* One step; returns 0 measured, 1 interrupted, -1 failed (message printed). */
static int run_step(struct sweep *s, struct closed_loop *loop, size_t index, size_t count, unsigned concurrency)
{
	double warmup = s->args.step_seconds / 5, start = closed_loop_now();
	double step_end = start + s->args.step_seconds, window_start;
	struct daemon_sample before = { 0 }, after = { 0 };
	struct sweep_step *step = &s->steps[s->step_count];
	struct open_requests open = { .recorder = &s->recorder };
	bool have_daemon = s->args.metrics_text != NULL;
	long errors_before;
	char error[512];

	if (!s->tty)
		fprintf(stderr, "runway-sweep: step %zu/%zu: %u client%s for %g s\n", index + 1, count, concurrency,
			concurrency == 1 ? "" : "s", s->args.step_seconds);
	if (closed_loop_add_clients(loop, concurrency - loop->client_count)) {
		error_line("cannot start %u clients: %s", concurrency, strerror(errno));
		return -1;
	}
	if (run_until(s, loop, start + warmup, index, count, concurrency, step_end))
		goto epoll_failed;
	if (interrupted)
		return 1;
	if (have_daemon && scrape(s, &before, error, sizeof(error))) {
		fprintf(stderr, "%srunway-sweep: --metrics %s: %s; no daemon numbers for this step\n", s->tty ? "\n" : "",
			s->args.metrics_text, error);
		have_daemon = false;
	}
	errors_before = loop->errors;
	window_start = closed_loop_now();
	step_recorder_begin(&s->recorder, window_start);
	if (run_until(s, loop, step_end, index, count, concurrency, step_end))
		goto epoll_failed;
	open.end = closed_loop_now();
	if (interrupted)
		return 1;
	closed_loop_for_each_open(loop, on_open, &open);
	if (have_daemon && scrape(s, &after, error, sizeof(error))) {
		fprintf(stderr, "%srunway-sweep: --metrics %s: %s; no daemon numbers for this step\n", s->tty ? "\n" : "",
			s->args.metrics_text, error);
		have_daemon = false;
	}
	memset(step, 0, sizeof(*step));
	if (step_recorder_finish(&s->recorder, open.end, loop->errors - errors_before, step)) {
		error_line("out of memory for the latencies of %u clients", concurrency);
		return -1;
	}
	step->concurrency = concurrency;
	step->in_flight = have_daemon ? daemon_mean(before.in_flight_seconds, after.in_flight_seconds,
						    after.time - before.time)
				      : NAN;
	step->queued = have_daemon && after.has_queued ? daemon_mean(before.queued_seconds, after.queued_seconds,
								       after.time - before.time)
						       : NAN;
	s->step_count++;
	if (!s->tty)
		fprintf(stderr, "runway-sweep: step %zu/%zu: %u client%s: %.1f req/s, p95 %.1f ms, %ld errors\n",
			index + 1, count, concurrency, concurrency == 1 ? "" : "s", step->rps, step->p95 * 1e3,
			step->errors);
	return 0;
epoll_failed:
	error_line("epoll: %s", strerror(errno));
	return -1;
}

int main(int argc, char **argv)
{
	struct closed_loop_config config = { .keepalive = true, .on_response = on_response };
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
	struct sweep s = { 0 };
	struct closed_loop loop = { .epoll_fd = -1 };
	struct saturation saturation;
	struct sweep_report report;
	unsigned levels[SWEEP_MAX_STEPS];
	size_t count, i;
	char *body = NULL;
	size_t body_length = 0;
	char error[1024];
	int rc = EXIT_USAGE, step_rc = 0;

	switch (sweep_args_parse(&s.args, argc, argv, stdout, error, sizeof(error))) {
	case 1:
		return 0;
	case -1:
		error_line("%s", error);
		return EXIT_USAGE;
	}
	if (s.args.body_path && read_body(s.args.body_path, &body, &body_length))
		goto cleanup;
	s.request = sweep_request_build(&s.args.url, s.args.method, body, body_length,
					s.args.body_path ? sweep_request_content_type(s.args.body_path) : NULL,
					&s.request_length);
	if (s.args.metrics_text) {
		const struct http_url *m = &s.args.metrics_url;
		char head[HTTP_URL_TARGET_MAX + 256];
		int n = snprintf(head, sizeof(head),
				 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: runway-sweep/%s\r\nConnection: close\r\n\r\n",
				 m->target, m->host_header, RUNWAY_VERSION);

		s.metrics_request = n > 0 && (size_t)n < sizeof(head) ? strdup(head) : NULL;
		s.metrics_request_length = n;
		if (!s.metrics_request) {
			rc = EXIT_RUNTIME;
			error_line("out of memory");
			goto cleanup;
		}
	}
	if (!s.request) {
		rc = EXIT_RUNTIME;
		error_line("out of memory");
		goto cleanup;
	}
	if (check_inputs(&s) || raise_file_limit(s.args.max_concurrency))
		goto cleanup;

	/* Ctrl-C ends the step under way and prints the steps measured; a
	 * second one kills (SA_RESETHAND).  No SA_RESTART: epoll_wait returns. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	s.tty = isatty(STDERR_FILENO);

	config.address = s.address;
	config.address_length = s.address_length;
	config.request = s.request;
	config.request_length = s.request_length;
	config.head_request = strcmp(s.args.method, "HEAD") == 0;
	config.context = &s.recorder;
	if (closed_loop_init(&loop, &config)) {
		rc = EXIT_RUNTIME;
		error_line("epoll: %s", strerror(errno));
		goto cleanup;
	}
	count = sweep_plan(s.args.max_concurrency, levels);
	rc = 0;
	for (i = 0; i < count && !interrupted; i++) {
		const struct sweep_step *step;

		step_rc = run_step(&s, &loop, i, count, levels[i]);
		if (step_rc)
			break;
		step = &s.steps[s.step_count - 1];
		if (step->responses == 0 && step->errors > 0) {
			if (s.tty)
				fputc('\n', stderr);
			error_line("the server stopped answering at %u clients (%s%s%s)", levels[i],
				   loop.last_error ? loop.last_error : "error statuses", loop.last_errno ? ": " : "",
				   loop.last_errno ? strerror(loop.last_errno) : "");
			rc = EXIT_RUNTIME;
			break;
		}
		if (step->responses == 0 && s.tty)
			fputc('\n', stderr);
		if (step->responses == 0)
			fprintf(stderr, "runway-sweep: no response ended within the %u-client step: make --step-seconds "
					"longer than the route's latency\n", levels[i]);
	}
	if (s.tty)
		fputs("\r\033[K", stderr);
	if (step_rc < 0)
		rc = EXIT_RUNTIME;
	if (interrupted)
		fprintf(stderr, "runway-sweep: interrupted; the %zu step%s measured so far follow\n", s.step_count,
			s.step_count == 1 ? "" : "s");
	if (loop.errors)
		fprintf(stderr, "runway-sweep: note: %ld failed attempts (the last: %s%s%s); they are in the errors "
				"column\n", loop.errors, loop.last_error, loop.last_errno ? ": " : "",
			loop.last_errno ? strerror(loop.last_errno) : "");
	saturation_find(s.steps, s.step_count, &saturation);
	report = (struct sweep_report){
		.url = s.args.url_text,
		.step_seconds = s.args.step_seconds,
		.warmup_seconds = s.args.step_seconds / 5,
		.with_metrics = s.args.metrics_text != NULL,
		.interrupted = interrupted,
		.steps = s.steps,
		.step_count = s.step_count,
		.saturation = &saturation,
	};
	if (s.args.json)
		report_json(stdout, &report);
	else
		report_table(stdout, &report);
	if (fflush(stdout)) {
		rc = EXIT_RUNTIME;
		error_line("writing the report: %s", strerror(errno));
	}
cleanup:
	if (loop.epoll_fd >= 0)
		closed_loop_destroy(&loop);
	step_recorder_free(&s.recorder);
	free(s.request);
	free(s.metrics_request);
	free(body);
	return rc;
}
