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

static __always_inline __u32 egress_copied_seq(struct bpf_sock *sk)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);

	return tp ? tp->copied_seq : 0;
}

/* The response parser follows the head: a new head, a new response. */
static __always_inline int response_ready(struct egress_scan *scan)
{
	struct conn_state *cs = scan->cs;
	struct http_parser *p = &cs->response;
	__u32 phase;

	if (p->state != HTTP_COMPLETE && p->state != HTTP_IDLE &&
	    cs->response_generation == cs->head_generation)
		return SCAN_MORE;
	head_advance(cs, scan->sk, egress_copied_seq(scan->sk), scan->now);
	phase = cs->phase;
	if (phase == PHASE_PROMOTING)
		/* Another CPU is installing the head: look again. */
		return SCAN_EVENT;
	if ((phase != PHASE_QUEUED && phase != PHASE_IN_FLIGHT) ||
	    cs->response_generation == cs->head_generation)
		/* Bytes of no request we know (a 408 before a close). */
		return SCAN_DONE;
	http_response_begin(p, cs->head.method == HTTP_HEAD);
	cs->response_generation = cs->head_generation;
	return SCAN_MORE;
}

static __always_inline void response_complete(struct egress_scan *scan)
{
	struct conn_state *cs = scan->cs;

	head_end(cs, cs->response.status, 1, scan->now);
	if (cs->response.flags & HTTP_F_UPGRADED)
		scan->untrack = UNTRACK_UPGRADED + 1;
}

static __always_inline long egress_step(struct egress_scan *scan)
{
	struct conn_state *cs = scan->cs;
	int event, result;

	if (scan->untrack || (cs->flags & (CONN_UNTRACKED | CONN_COARSE)))
		return 1;
	result = response_ready(scan);
	if (result == SCAN_DONE)
		return 1;
	if (result == SCAN_EVENT)
		return 0;
	result = scan_step(scan->skb, &cs->response, &cs->out, scan->window, &event);
	if (result == SCAN_DONE)
		return 1;
	if (result == SCAN_MORE)
		return 0;
	switch (event) {
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

static long egress_step_cb(__u32 i, void *ctx)
{
	(void)i;
	return egress_step(ctx);
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
	run_loop(kind, 2 * seg->payload_length + 2, egress_step_cb, scan);
	scan_window_release(scratch);
	if (scan->untrack)
		connection_untrack(cs, scan->sk, scan->untrack - 1, scan->now);
}

#endif /* RUNWAY_EGRESS_BPF_H */
