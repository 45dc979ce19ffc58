/* SPDX-License-Identifier: MIT */
/*
 * A driver for include/http_framing.h with the BPF programs' semantics, for
 * the unit tests and the fuzzer: feeds a stream of bytes as TCP segments,
 * in windows, with word steps or bytes only, and records every event with
 * its stream offset.  Two runs of the same stream agree when their event
 * lists are equal: that is the property every test checks over every way of
 * cutting the stream, and between word steps and bytes.
 */
#ifndef RUNWAY_FRAMING_DRIVER_H
#define RUNWAY_FRAMING_DRIVER_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "http_framing.h"

#define DRIVER_MAX_EVENTS 64

/* How a driver frames (its `words`): bytes only; word steps and the
 * whole-head fast path; those and shapes, as the programs do. */
#define DRIVER_BYTES 0
#define DRIVER_WORDS 1
#define DRIVER_SHAPES 2

enum driver_event_kind {
	DRV_START = 1,   /* a request's first byte */
	DRV_LINE,        /* HTTP_EV_REQUEST_LINE */
	DRV_COMPLETE,    /* HTTP_EV_COMPLETE */
	DRV_ERROR,       /* HTTP_EV_ERROR */
	DRV_TOO_LONG,    /* HTTP_EV_HEAD_TOO_LONG */
};

struct driver_event {
	int kind;
	size_t offset;  /* stream offset just past the byte that caused it */
	__u64 value;    /* LINE: path hash; COMPLETE: status (responses) */
	__u32 detail;   /* LINE: method | route << 8; COMPLETE: flags */
};

struct driver_outcome {
	unsigned count;
	struct driver_event events[DRIVER_MAX_EVENTS];
	int overflow;       /* more events than recorded */
	__u32 state;        /* parser state after the last byte */
	__u64 remaining;    /* parser remaining after the last byte */
	__u32 status;       /* response parser status after the last byte */
};

struct driver {
	struct http_parser p;
	int request;                  /* a request parser, else a response parser */
	unsigned no_body_mask;        /* responses: bit k set, response k answers a HEAD */
	unsigned responses;           /* responses begun */
	const struct http_route_table *routes;
	int words;                    /* take word steps where they apply */
	int shapes;                   /* match the last head's shape first (with word steps) */
	struct http_head_shape shape; /* the last head's, as a connection keeps it */
	size_t window;                /* bytes the word steps may see at once */
	size_t base;                  /* stream offset of the next segment */
	int stopped;                  /* an error: bytes are no longer framed */
	struct driver_outcome out;
};

static inline void driver_init(struct driver *d, int request, unsigned no_body_mask,
			       const struct http_route_table *routes, int words, size_t window)
{
	memset(d, 0, sizeof(*d));
	d->request = request;
	d->no_body_mask = no_body_mask;
	d->routes = routes;
	d->words = words != DRIVER_BYTES;
	d->shapes = words == DRIVER_SHAPES;
	d->window = window ? window : 256;
	if (request) {
		http_request_parser_init(&d->p);
	} else {
		http_response_begin(&d->p, no_body_mask & 1);
		d->responses = 1;
	}
}

static inline void driver_record(struct driver *d, int kind, size_t offset, __u64 value, __u32 detail)
{
	struct driver_event *e;

	if (d->out.count >= DRIVER_MAX_EVENTS) {
		d->out.overflow = 1;
		return;
	}
	e = &d->out.events[d->out.count++];
	e->kind = kind;
	e->offset = offset;
	e->value = value;
	e->detail = detail;
}

static inline void driver_event(struct driver *d, int ev, size_t offset)
{
	switch (ev) {
	case HTTP_EV_REQUEST_LINE:
		driver_record(d, DRV_LINE, offset, d->p.path_hash, d->p.method | (__u32)d->p.route << 8);
		break;
	case HTTP_EV_COMPLETE:
		driver_record(d, DRV_COMPLETE, offset, d->p.status, d->p.flags);
		if (d->p.flags & HTTP_F_UPGRADED)
			d->stopped = 1;
		break;
	case HTTP_EV_ERROR:
		driver_record(d, DRV_ERROR, offset, 0, 0);
		d->stopped = 1;
		break;
	case HTTP_EV_HEAD_TOO_LONG:
		driver_record(d, DRV_TOO_LONG, offset, 0, 0);
		d->stopped = 1;
		break;
	default:
		break;
	}
}

/*
 * The whole-head fast path at a message's start, as the BPF programs try it
 * (in a window loaded there).  Returns 1 when it took the head (events
 * recorded, *i moved past it), 0 when it did not apply.
 */
static inline int driver_head_fast(struct driver *d, const __u8 *seg, size_t len, size_t *i)
{
	struct http_fast_head f;
	size_t available = len - *i;
	__u32 taken = 0;
	int event;

	if (available > d->window)
		available = d->window;
	if (d->shapes) {
		event = http_shape_match(&d->shape, &d->p, seg + *i, (__u32)available, &d->p, &taken);
		if (event >= 0) {
			if (d->shape.line_seen)
				driver_record(d, DRV_LINE, d->base + *i + d->shape.line_seen, d->p.path_hash,
					      d->p.method | (__u32)d->p.route << 8);
			*i += taken;
			driver_event(d, event == HTTP_EV_REQUEST_LINE ? HTTP_EV_NONE : event, d->base + *i);
			return 1;
		}
	}
	if (http_fast_head_begin(&f, &d->p, d->routes, seg + *i, (__u32)available))
		return 0;
	while (!http_fast_head_word(&f, seg + *i, (__u32)available))
		;
	event = http_fast_head_end(&f, &d->p, &taken);
	if (event < 0)
		return 0;
	if (d->shapes)
		http_shape_record(&d->shape, &f, seg + *i);
	if (f.line_seen)
		driver_record(d, DRV_LINE, d->base + *i + f.line_seen, d->p.path_hash,
			      d->p.method | (__u32)d->p.route << 8);
	*i += taken;
	driver_event(d, event == HTTP_EV_REQUEST_LINE ? HTTP_EV_NONE : event, d->base + *i);
	return 1;
}

/*
 * One segment, as the BPF programs handle one packet: skip body bytes in
 * bulk; otherwise a word step where one applies within the current window,
 * else one byte.  A finished request is followed by the next one (its
 * first byte is recorded); a finished response by the next response, begun
 * lazily so that the last state can still be inspected.
 */
static inline void driver_feed(struct driver *d, const __u8 *seg, size_t len)
{
	size_t i = 0, window_end = 0;

	while (i < len && !d->stopped) {
		__u32 taken = 0;
		__u64 n;
		int ev;

		if (d->request && http_request_starts(&d->p)) {
			http_request_begin(&d->p);
			driver_record(d, DRV_START, d->base + i, 0, 0);
			if (d->words && driver_head_fast(d, seg, len, &i))
				continue;
		} else if (!d->request && d->p.state == HTTP_COMPLETE) {
			http_response_begin(&d->p, (d->no_body_mask >> d->responses) & 1);
			d->responses++;
			if (d->words && driver_head_fast(d, seg, len, &i))
				continue;
		} else if (!d->request && i == 0 && d->base == 0 && d->words && d->p.state == HTTP_STATUS_LINE &&
			   d->p.position == 0) {
			/* The first response, begun by driver_init(). */
			if (driver_head_fast(d, seg, len, &i))
				continue;
		}
		n = http_skip(&d->p, len - i, &ev);
		if (n) {
			i += n;
			if (ev == HTTP_EV_COMPLETE)
				driver_event(d, ev, d->base + i);
			continue;
		}
		if (i >= window_end)
			window_end = i + d->window;
		if (d->words)
			taken = http_word_step(&d->p, d->routes, seg + i,
					       (window_end < len ? window_end : len) - i);
		if (taken) {
			i += taken;
			continue;
		}
		ev = http_step(&d->p, d->routes, seg[i++]);
		driver_event(d, ev, d->base + i);
	}
	d->base += len;
}

static inline struct driver_outcome driver_finish(struct driver *d)
{
	d->out.state = d->p.state;
	d->out.remaining = d->p.remaining;
	d->out.status = d->p.status;
	return d->out;
}

static inline int driver_outcome_equal(const struct driver_outcome *a, const struct driver_outcome *b)
{
	unsigned k;

	if (a->count != b->count || a->overflow != b->overflow || a->state != b->state ||
	    a->remaining != b->remaining || a->status != b->status)
		return 0;
	for (k = 0; k < a->count; k++)
		if (a->events[k].kind != b->events[k].kind || a->events[k].offset != b->events[k].offset ||
		    a->events[k].value != b->events[k].value || a->events[k].detail != b->events[k].detail)
			return 0;
	return 1;
}

static inline void driver_outcome_print(const struct driver_outcome *o, FILE *out)
{
	unsigned k;

	fprintf(out, "state %u remaining %llu status %u, %u events:", o->state,
		(unsigned long long)o->remaining, o->status, o->count);
	for (k = 0; k < o->count; k++)
		fprintf(out, " [%d @%zu %llx %x]", o->events[k].kind, o->events[k].offset,
			(unsigned long long)o->events[k].value, o->events[k].detail);
	fprintf(out, "\n");
}

/* base with its first `from` replaced by `to`, into out: the length, or -1
 * if base has no `from`. */
static inline int driver_replace(char *out, size_t size, const char *base, const char *from, const char *to)
{
	const char *at = strstr(base, from);

	if (!at)
		return -1;
	return snprintf(out, size, "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
}

/* A stream run through the driver, cut before the ascending offsets cuts[]. */
struct driver_run {
	int request;
	unsigned no_body_mask;
	const struct http_route_table *routes;
	int words;
	size_t window;
};

static inline struct driver_outcome driver_run_cuts(const struct driver_run *r, const __u8 *buf, size_t len,
						    const size_t *cuts, size_t ncuts)
{
	struct driver d;
	size_t prev = 0, k;

	driver_init(&d, r->request, r->no_body_mask, r->routes, r->words, r->window);
	for (k = 0; k < ncuts; k++) {
		driver_feed(&d, buf + prev, cuts[k] - prev);
		prev = cuts[k];
	}
	driver_feed(&d, buf + prev, len - prev);
	return driver_finish(&d);
}

static inline struct driver_outcome driver_run_segments_of(const struct driver_run *r, const __u8 *buf,
							   size_t len, size_t size)
{
	struct driver d;
	size_t i;

	driver_init(&d, r->request, r->no_body_mask, r->routes, r->words, r->window);
	for (i = 0; i < len; i += size)
		driver_feed(&d, buf + i, len - i < size ? len - i : size);
	return driver_finish(&d);
}

#endif /* RUNWAY_FRAMING_DRIVER_H */
