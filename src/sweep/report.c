// SPDX-License-Identifier: MIT
#include <math.h>
#include <string.h>

#include "report.h"

static void print_seconds(FILE *out, double s)
{
	if (isnan(s))
		fprintf(out, " %10s", "-");
	else if (s < 0.001)
		fprintf(out, " %7.0f us", s * 1e6);
	else if (s < 10)
		fprintf(out, " %7.1f ms", s * 1e3);
	else
		fprintf(out, " %8.2f s", s);
}

static void print_mean(FILE *out, double v, int width)
{
	if (isnan(v))
		fprintf(out, " %*s", width, "-");
	else
		fprintf(out, " %*.2f", width, v);
}

void report_table(FILE *out, const struct sweep_report *r)
{
	const struct saturation *sat = r->saturation;
	size_t i;

	fprintf(out, "runway-sweep %s: steps of %g s, the first %g s of each a warm-up%s\n\n", r->url,
		r->step_seconds, r->warmup_seconds, r->interrupted ? " (interrupted)" : "");
	fprintf(out, "%11s %9s %10s %10s %10s %8s", "concurrency", "req/s", "p50", "p95", "p99", "client");
	if (r->with_metrics)
		fprintf(out, " %9s %8s", "in_flight", "queued");
	fprintf(out, " %7s\n", "errors");
	for (i = 0; i < r->step_count; i++) {
		const struct sweep_step *s = &r->steps[i];

		fprintf(out, "%11u %9.1f", s->concurrency, s->rps);
		print_seconds(out, s->p50);
		print_seconds(out, s->p95);
		print_seconds(out, s->p99);
		print_mean(out, s->client_concurrency, 8);
		if (r->with_metrics) {
			print_mean(out, s->in_flight, 9);
			print_mean(out, s->queued, 8);
		}
		fprintf(out, " %7ld%s\n", s->errors,
			sat->saturated && i == sat->step ? "  <- saturation"
			: sat->saturated && i > sat->step ? "  saturated"
							  : "");
	}
	fprintf(out, "\n");
	fprintf(out, "client: mean requests outstanding, from the clients' own timestamps.\n");
	if (r->with_metrics)
		fprintf(out, "in_flight, queued: the daemon's means over the same window, from the rate of\n"
			     "runway_requests_in_flight_seconds_total and runway_requests_queued_seconds_total.\n");
	fprintf(out, "\n");
	if (r->step_count == 0) {
		fprintf(out, "No step was measured.\n");
		return;
	}
	if (sat->saturated) {
		fprintf(out,
			"Saturation point: %u concurrent request%s. Past it, more clients bought less than\n"
			"%.0f %% of the ideal throughput gain while the p95 latency grew at least\n"
			"%.0f %% as fast as the concurrency.\n",
			sat->concurrency, sat->concurrency == 1 ? "" : "s", SATURATION_MIN_GAIN * 100,
			SATURATION_MIN_LATENCY_GROWTH * 100);
		fprintf(out,
			"Recommended autoscaling threshold: %g requests per pod (%.0f %% of the saturation\n"
			"point, so that pods keep headroom while new ones start).\n",
			sat->threshold, SATURATION_THRESHOLD_FRACTION * 100);
		return;
	}
	fprintf(out, "No saturation up to %u concurrent requests: throughput kept rising with concurrency%s.\n",
		r->steps[r->step_count - 1].concurrency,
		r->step_count < 2 ? " (one step cannot show saturation)" : "");
	if (sat->reference_step < 0) {
		fprintf(out, "No step had a successful response: nothing to compute a threshold from.\n");
		return;
	}
	{
		const struct sweep_step *s = &r->steps[sat->reference_step];

		fprintf(out,
			"Pick the threshold from your targets with Little's law:\n"
			"  threshold = target RPS per pod x target mean latency in seconds\n"
			"  measured at concurrency %u: %.1f req/s x %.3f s = %.1f\n"
			"asgi-runway's formula takes the p95 latency instead: %.1f req/s x %.3f s = %.1f,\n"
			"which lets each pod carry p95/mean = %.2f times more requests before one is added.\n",
			s->concurrency, s->rps, s->mean, s->rps * s->mean, s->rps, s->p95, s->rps * s->p95,
			s->p95 / s->mean);
	}
}

static void json_number(FILE *out, const char *name, double v, const char *separator)
{
	if (isfinite(v))
		fprintf(out, "\"%s\": %.9g%s", name, v, separator);
	else
		fprintf(out, "\"%s\": null%s", name, separator);
}

/* The URL in a JSON string: printable ASCII by construction (http_url), but
 * quotes and backslashes still need escapes. */
static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

void report_json(FILE *out, const struct sweep_report *r)
{
	const struct saturation *sat = r->saturation;
	size_t i;

	fprintf(out, "{\"url\": ");
	json_string(out, r->url);
	fprintf(out, ", \"saturated\": %s, ", sat->saturated ? "true" : "false");
	json_number(out, "saturation_concurrency", sat->saturated ? sat->concurrency : NAN, ", ");
	json_number(out, "threshold", sat->saturated ? sat->threshold : NAN, ", ");
	json_number(out, "threshold_fraction", SATURATION_THRESHOLD_FRACTION, ", ");
	json_number(out, "step_seconds", r->step_seconds, ", ");
	fprintf(out, "\"interrupted\": %s, \"steps\": [", r->interrupted ? "true" : "false");
	for (i = 0; i < r->step_count; i++) {
		const struct sweep_step *s = &r->steps[i];

		fprintf(out, "%s{\"concurrency\": %u, ", i ? ", " : "", s->concurrency);
		json_number(out, "rps", s->rps, ", ");
		json_number(out, "mean", s->mean, ", ");
		json_number(out, "p50", s->p50, ", ");
		json_number(out, "p95", s->p95, ", ");
		json_number(out, "p99", s->p99, ", ");
		json_number(out, "in_flight", s->in_flight, ", ");
		json_number(out, "queued", s->queued, ", ");
		json_number(out, "client_concurrency", s->client_concurrency, ", ");
		fprintf(out, "\"responses\": %ld, \"errors\": %ld, ", s->responses, s->errors);
		json_number(out, "seconds", s->seconds, "}");
	}
	fprintf(out, "]}\n");
}
