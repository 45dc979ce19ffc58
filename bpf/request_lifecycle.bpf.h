/* SPDX-License-Identifier: MIT */
/*
 * The life of one request on one connection:
 *
 *   IDLE --bytes arrive--> LINE --request line parsed--> QUEUED
 *   QUEUED --server reads it--> IN_FLIGHT --last response byte--> IDLE
 *   any phase --connection closes--> IDLE
 *
 * Ingress, the read tracepoint, egress and the close tracepoint can run on
 * different CPUs.  HTTP/1.x causality orders them for a well-behaved client,
 * but each transition is still a compare-and-swap on `phase`, and only the
 * winner touches the counters: a begin is never counted twice nor an end
 * missed, so the gauges come back to exactly zero.
 */
#ifndef RUNWAY_REQUEST_LIFECYCLE_BPF_H
#define RUNWAY_REQUEST_LIFECYCLE_BPF_H

#include "accounting.bpf.h"

static __always_inline int phase_move(struct conn_state *cs, __u32 from, __u32 to)
{
	return __sync_val_compare_and_swap(&cs->phase, from, to) == from;
}

static __always_inline int request_counted(const struct conn_state *cs)
{
	return !(cs->flags & CONN_EXCLUDED);
}

static __always_inline __u32 slot_of(const struct conn_state *cs)
{
	return cs->target - 1;
}

/* IDLE -> LINE: the first bytes of a new request reached the kernel. */
static __always_inline int request_arrived(struct conn_state *cs, __u32 first_seq, __u64 now)
{
	if (!phase_move(cs, PHASE_IDLE, PHASE_LINE))
		return 0;
	cs->request_seq = first_seq;
	cs->arrival_ns = now;
	cs->read_ns = 0;
	if (cs->flags & (CONN_EXCLUDED | CONN_READ_SEEN))
		__sync_fetch_and_and(&cs->flags, ~(CONN_EXCLUDED | CONN_READ_SEEN));
	http_request_line_reset(&cs->request);
	/* Until the request line is parsed, response bytes are not framed. */
	cs->response.state = RESP_COMPLETE;
	return 1;
}

/* LINE -> QUEUED (or IN_FLIGHT if the server read it meanwhile). */
static __always_inline void request_identified(struct conn_state *cs, int excluded)
{
	struct target_counters *c;
	__u32 slot = slot_of(cs);

	if (excluded)
		__sync_fetch_and_or(&cs->flags, CONN_EXCLUDED);
	http_response_reset(&cs->response, cs->request.method == HTTP_HEAD);
	if (!read_hook_enabled) {
		cs->read_ns = cs->arrival_ns;
		__sync_fetch_and_or(&cs->flags, CONN_READ_SEEN);
	}

	if (!(cs->flags & CONN_READ_SEEN)) {
		if (!phase_move(cs, PHASE_LINE, PHASE_QUEUED))
			return;
		c = counters_of(slot);
		if (c && !excluded)
			event_add(&c->requests.arrived, cs->arrival_ns);
		return;
	}
	/* Already read: the arrival and the read both happened in the past,
	 * and the integrals take their true times. */
	if (!phase_move(cs, PHASE_LINE, PHASE_IN_FLIGHT))
		return;
	c = counters_of(slot);
	if (c && !excluded) {
		event_add(&c->requests.arrived, cs->arrival_ns);
		event_add(&c->requests.read, cs->read_ns);
		observe_queue_time(slot, cs->read_ns - cs->arrival_ns);
	}
}

/* QUEUED -> IN_FLIGHT: the server's first read of the request. */
static __always_inline void request_read(struct conn_state *cs, __u64 now)
{
	struct target_counters *c;
	__u32 slot = slot_of(cs);

	if (!phase_move(cs, PHASE_QUEUED, PHASE_IN_FLIGHT))
		return;
	cs->read_ns = now;
	if (!request_counted(cs))
		return;
	c = counters_of(slot);
	if (c) {
		event_add(&c->requests.read, now);
	}
	observe_queue_time(slot, now - cs->arrival_ns);
}

/* -> IDLE: answered, or the connection is gone. */
static __always_inline void request_finished(struct conn_state *cs, __u32 status, __u64 now)
{
	struct target_counters *c;
	__u32 slot = slot_of(cs);
	__u32 method = cs->request.method;

	if (method >= HTTP_METHOD_COUNT)
		method = HTTP_OTHER;
	if (phase_move(cs, PHASE_IN_FLIGHT, PHASE_IDLE)) {
		if (!request_counted(cs))
			return;
		c = counters_of(slot);
		if (c)
			event_add(&c->requests.finished, now);
		count_status(slot, method, status);
		observe_duration(slot, method, now - cs->read_ns);
	} else if (phase_move(cs, PHASE_QUEUED, PHASE_IDLE)) {
		/* Never read by the server: it counts as a request (the client
		 * sent it), but it has no server time to observe. */
		if (!request_counted(cs))
			return;
		c = counters_of(slot);
		if (c)
			event_add(&c->requests.abandoned, now);
		count_status(slot, method, status);
	} else {
		/* LINE: never identified, never counted. */
		phase_move(cs, PHASE_LINE, PHASE_IDLE);
	}
}

static __always_inline void connection_untrack(struct conn_state *cs, __u32 reason, __u64 now)
{
	if (__sync_fetch_and_or(&cs->flags, CONN_UNTRACKED) & CONN_UNTRACKED)
		return;
	count_untracked(slot_of(cs), reason);
	request_finished(cs, cs->response.status, now);
}

#endif /* RUNWAY_REQUEST_LIFECYCLE_BPF_H */
