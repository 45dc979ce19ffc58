/* SPDX-License-Identifier: MIT */
/*
 * Egress: where requests end, from the responses the server sends.
 *
 * Responses come in the order of the requests, so the response parser is
 * begun for the head request, and its last byte ends the head; the next
 * waiting request becomes the head and the rest of the packet, if any, is
 * its response.  A response with any number of chunks per packet stays
 * framed: each chunk's data is skipped in O(1), and the loop's bound is the
 * packet's length, not a budget a stream can exhaust.
 */
#ifndef RUNWAY_EGRESS_BPF_H
#define RUNWAY_EGRESS_BPF_H

#include "loops.bpf.h"
#include "request_lifecycle.bpf.h"
#include "scan.bpf.h"
#include "tcp_segment.bpf.h"

struct egress_scan {
	struct __sk_buff *skb;
	struct conn_state *cs;
	struct bpf_sock *sk;
	__u64 now;
	__u32 untrack; /* reason + 1: stop tracking after the loop */
	__u32 pad;
	struct scan_window *window;
};

/* The response parser follows the head: a new head, a new response. */
static __always_inline int response_ready(struct egress_scan *scan)
{
	struct conn_state *cs = scan->cs;
	struct http_parser *p = &cs->response;
	__u32 phase;

	if (p->state != HTTP_COMPLETE && p->state != HTTP_IDLE &&
	    cs->response_generation == cs->head_generation)
		return SCAN_MORE;
	head_advance(cs, scan->skb, scan->now);
	phase = cs->phase;
	if (phase == PHASE_PROMOTING)
		/* Another CPU is installing the head: look again (egress_step). */
		return SCAN_EVENT;
	if ((phase != PHASE_QUEUED && phase != PHASE_IN_FLIGHT) ||
	    cs->response_generation == cs->head_generation)
		/* Bytes of no request we know (a 408 before a close). */
		return SCAN_DONE;
	http_response_begin(p, cs->head.method == HTTP_HEAD);
	cs->response_generation = cs->head_generation;
	return SCAN_EVENT; /* a response begins here */
}

static __always_inline void response_complete(struct egress_scan *scan)
{
	struct conn_state *cs = scan->cs;

	head_end(cs, cs->response.status, 1, scan->now);
	if (cs->response.flags & HTTP_F_UPGRADED)
		scan->untrack = UNTRACK_UPGRADED + 1;
}

static __always_inline long egress_step(struct egress_scan *scan, const int kind)
{
	struct conn_state *cs = scan->cs;
	int frame, result, starts = 0;

	if (scan->untrack || (cs->flags & (CONN_UNTRACKED | CONN_COARSE)))
		return 1;
	result = response_ready(scan);
	if (result == SCAN_DONE)
		return 1;
	if (result == SCAN_EVENT) {
		if (cs->phase == PHASE_PROMOTING)
			return 0; /* look again */
		/* Most responses: the whole head at once. */
		starts = 1;
	}
	if (starts)
		frame = frame_head(scan->skb, &cs->response_shape, &cs->response, &cs->out, scan->window, kind);
	else
		frame = frame_next_kind(scan->skb, &cs->response, &cs->out, scan->window, 0, kind);
	result = FRAME_SCAN(frame);
	if (result == SCAN_DONE)
		return 1;
	if (result == SCAN_MORE)
		return 0;
	if (result == SCAN_FAST && FRAME_EVENT(frame) != HTTP_EV_COMPLETE)
		return 0;
	switch (FRAME_EVENT(frame)) {
	case HTTP_EV_COMPLETE:
		response_complete(scan);
		return scan->untrack ? 1 : 0;
	case HTTP_EV_HEAD_TOO_LONG:
		if (cs->ring_head == cs->ring_tail) {
			/* Off the exact path: the head ends at the next request
			 * line or the close, with this status. */
			cs->coarse_status = cs->response.status;
			connection_inexact(cs, CONN_COARSE, INEXACT_RESPONSE_HEAD_TOO_LONG);
			return 1;
		}
		scan->untrack = UNTRACK_DESYNC + 1;
		return 1;
	case HTTP_EV_ERROR:
		scan->untrack = UNTRACK_DESYNC + 1;
		return 1;
	default:
		return 0;
	}
}

/* One step as a global function, checked once (see INGRESS_STEP). */
#define EGRESS_STEP(name, kind)                                                                        \
	__noinline int name(struct __sk_buff *skb, struct conn_state *cs, struct scan_window *window, __u64 now) \
	{                                                                                              \
		struct egress_scan scan = { .skb = skb, .cs = cs, .now = now, .window = window };      \
		long stop;                                                                             \
                                                                                                       \
		if (!skb || !cs || !window)                                                            \
			return STEP_RESULT(1, 0);                                                      \
		stop = egress_step(&scan, kind);                                                       \
		return STEP_RESULT(stop, scan.untrack);                                                \
	}
EGRESS_STEP(egress_step_open_coded, LOOP_OPEN_CODED)
EGRESS_STEP(egress_step_helper, LOOP_HELPER)

#define EGRESS_LOOP_BODY(name, step)                                                   \
	static __noinline long name(__u32 i, void *ctx)                                \
	{                                                                              \
		struct egress_scan *scan = ctx;                                        \
                                                                                       \
		(void)i;                                                               \
		return step_taken(step(scan->skb, scan->cs, scan->window, scan->now), &scan->untrack); \
	}
EGRESS_LOOP_BODY(egress_body_open_coded, egress_step_open_coded)
EGRESS_LOOP_BODY(egress_body_helper, egress_step_helper)

/*
 * Keep-alive in a straight line, without the framing loop, for the packets
 * most servers send: in sequence, on a connection with one request waiting,
 * either the start of its response with a head of the last response's shape,
 * or more of its Content-Length body.  The head, and the body as far as the
 * packet holds it, are taken here, and the request ends if its response
 * does.  Returns 1 if that was all of the packet, 0 if the loop frames the
 * rest (or all of it: nothing was taken).  The clock is read only if the
 * request ends here (scan->now is 0 before): a packet in the middle of a
 * response has no event to time.
 */
static __always_inline int response_straight(struct egress_scan *scan, const struct tcp_segment *seg)
{
	struct conn_state *cs = scan->cs;
	__u32 phase = cs->phase, rest = seg->payload_length;
	int result, event;

	if ((cs->flags & (CONN_SND_SYNCED | CONN_UNTRACKED | CONN_COARSE | CONN_CLOSED)) != CONN_SND_SYNCED ||
	    seg->seq != cs->snd_next || cs->ring_head != cs->ring_tail ||
	    (phase != PHASE_QUEUED && phase != PHASE_IN_FLIGHT))
		return 0;
	if (cs->response_generation == cs->head_generation) {
		/* The response is under way: more of its body? */
		if (cs->response.state != HTTP_BODY_LENGTH)
			return 0;
		event = HTTP_EV_BODY;
	} else {
		/* It starts here. */
		if (!fast_path_enabled || !cs->response_shape.length)
			return 0;
		result = packet_head_by_shape(scan->skb, seg, &cs->response_shape, &cs->response,
					      cs->head.method == HTTP_HEAD ? BEGIN_RESPONSE_TO_HEAD : BEGIN_RESPONSE);
		if (result < 0)
			return 0;
		cs->response_generation = cs->head_generation;
		event = result & 0xff;
		rest -= (__u32)result >> 8;
	}
	if (event == HTTP_EV_BODY)
		rest -= (__u32)http_skip(&cs->response, rest, &event);
	cs->snd_next = seg->seq + seg->payload_length - rest;
	if (event == HTTP_EV_COMPLETE) {
		scan->now = bpf_ktime_get_ns();
		scan->untrack = 0;
		response_complete(scan);
		if (scan->untrack) {
			connection_untrack(cs, scan->sk, scan->untrack - 1, scan->now);
			return 1;
		}
	}
	return rest == 0;
}

/* "HTTP/1.x NNN" at a packet offset: the status, else 0. */
static __always_inline __u32 status_line_at(struct __sk_buff *skb, __u32 offset, __u32 length)
{
	__u8 line[12];

	if (length < sizeof(line) || bpf_skb_load_bytes(skb, offset, line, sizeof(line)))
		return 0;
	return http_status_at(line);
}

static __always_inline void response_bytes_sent(struct egress_scan *scan, const struct tcp_segment *seg,
						const int kind)
{
	struct conn_state *cs = scan->cs;
	__u32 end = seg->seq + seg->payload_length, from = seg->payload_offset;
	struct scan_scratch *scratch;

	if (!(cs->flags & CONN_SND_SYNCED)) {
		cs->snd_next = seg->seq;
		__sync_fetch_and_or(&cs->flags, CONN_SND_SYNCED);
	}
	if ((__s32)(end - cs->snd_next) <= 0)
		return; /* retransmission */
	if ((__s32)(cs->snd_next - seg->seq) > 0)
		from += cs->snd_next - seg->seq;
	cs->snd_next = end;
	if (cs->phase == PHASE_IDLE && cs->ring_head == cs->ring_tail)
		return; /* no request waits for these bytes */
	if (cs->flags & CONN_COARSE) {
		/* A response starts at a packet's start, after its request. */
		if (!cs->coarse_status && from == seg->payload_offset)
			cs->coarse_status = status_line_at(scan->skb, from, seg->payload_length);
		return;
	}
	scan->window = scan_window_acquire(&scratch);
	if (!scan->window) {
		scan_window_release(scratch);
		return;
	}
	scan_begin(&cs->out, from, seg->payload_offset + seg->payload_length, seg->seq - seg->payload_offset);
	scan->untrack = 0;
	/* Every step takes a byte or more, or installs the next head. */
	run_loop(kind, 2 * seg->payload_length + 2,
		 kind == LOOP_OPEN_CODED ? egress_body_open_coded : egress_body_helper, scan);
	scan_window_release(scratch);
	if (scan->untrack)
		connection_untrack(cs, scan->sk, scan->untrack - 1, scan->now);
}

#endif /* RUNWAY_EGRESS_BPF_H */
