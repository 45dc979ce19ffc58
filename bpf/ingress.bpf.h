/* SPDX-License-Identifier: MIT */
/*
 * Ingress: where requests start, from the bytes clients send.
 *
 * The request parser frames whole requests (line, headers, Content-Length
 * or chunked body), so the next request is found exactly where the last one
 * ends: behind a pipelined one, or behind a body the server never read.
 * Each request line identified joins the connection's queue
 * (request_lifecycle.bpf.h).
 */
#ifndef RUNWAY_INGRESS_BPF_H
#define RUNWAY_INGRESS_BPF_H

#include "loops.bpf.h"
#include "request_lifecycle.bpf.h"
#include "scan.bpf.h"
#include "tcp_segment.bpf.h"

struct ingress_scan {
	struct __sk_buff *skb;
	struct conn_state *cs;
	struct bpf_sock *sk; /* NULL for a connection the kernel has not made yet */
	__u64 now;
	__u32 untrack;       /* reason + 1: stop tracking after the loop */
	__u32 pad;
	struct scan_window *window;
};

static __always_inline int path_excluded(__u64 path_hash)
{
	/* Most paths are not excluded: a one-word filter spares them the
	 * hash lookup. */
	if (!((excluded_hash_bits >> (path_hash & 63)) & 1))
		return 0;
	return bpf_map_lookup_elem(&excluded_paths, &path_hash) != NULL;
}

/* The request parser could not go on: before any request, the connection is
 * not HTTP; after one, wait for a request line at the start of a packet. */
static __always_inline void request_framing_lost(struct ingress_scan *scan, __u32 reason, const int pending)
{
	struct conn_state *cs = scan->cs;

	http_request_parser_init(&cs->request);
	if (pending) {
		/* Counted when the connection is made. */
		__sync_fetch_and_or(&cs->flags, CONN_UNTRACKED);
		return;
	}
	if (!(cs->flags & CONN_HTTP_SEEN)) {
		scan->untrack = UNTRACK_NOT_HTTP + 1;
		return;
	}
	__sync_fetch_and_or(&cs->flags, CONN_RESYNC);
	count_inexact(slot_of(cs), reason);
}

static __always_inline void request_line_seen(struct ingress_scan *scan, const int pending)
{
	struct conn_state *cs = scan->cs;
	struct http_parser *p = &cs->request;
	struct request_info r = cs->parsing;

	r.method = p->method < HTTP_METHOD_COUNT ? p->method : HTTP_OTHER;
	r.route = p->route;
	r.flags = path_excluded(p->path_hash) ? REQUEST_EXCLUDED : 0;
	if (!(cs->flags & CONN_HTTP_SEEN))
		__sync_fetch_and_or(&cs->flags, CONN_HTTP_SEEN);
	if (pending)
		request_enqueue(cs, scan->skb, &r, cs->early_read_ns, scan->now, 1);
	else
		scan->untrack = request_enqueue(cs, scan->skb, &r, cs->early_read_ns, scan->now, 0);
}

static __always_inline long ingress_step(struct ingress_scan *scan, const int pending, const int kind)
{
	struct conn_state *cs = scan->cs;
	struct http_parser *p = &cs->request;
	int frame, starts = 0;

	if (scan->untrack || (cs->flags & (CONN_UNTRACKED | CONN_RESYNC)))
		return 1;
	if (http_request_starts(p)) {
		if (cs->in.offset >= cs->in.end)
			return 1;
		http_request_begin(p);
		cs->parsing.start_seq = cs->in.seq + cs->in.offset;
		cs->parsing.arrival_ns = scan->now;
		cs->early_read_ns = 0;
		/* Most requests: the whole head at once. */
		starts = 1;
	}
	if (starts)
		frame = frame_head(scan->skb, &cs->request_shape, p, &cs->in, scan->window, kind);
	else
		frame = frame_next_kind(scan->skb, p, &cs->in, scan->window, 0, kind);
	switch (FRAME_SCAN(frame)) {
	case SCAN_DONE:
		return 1;
	case SCAN_MORE:
		return 0;
	case SCAN_FAST:
		if (!scan->window->fast.line_seen)
			return 0;
		request_line_seen(scan, pending);
		return scan->untrack || (cs->flags & CONN_UNTRACKED) ? 1 : 0;
	}
	switch (FRAME_EVENT(frame)) {
	case HTTP_EV_REQUEST_LINE:
		request_line_seen(scan, pending);
		return scan->untrack || (cs->flags & CONN_UNTRACKED) ? 1 : 0;
	case HTTP_EV_ERROR:
		request_framing_lost(scan, INEXACT_REQUEST_UNPARSABLE, pending);
		return 1;
	case HTTP_EV_HEAD_TOO_LONG:
		request_framing_lost(scan, INEXACT_REQUEST_HEAD_TOO_LONG, pending);
		return 1;
	default:
		return 0;
	}
}

/*
 * One step, as a global function: the verifier checks it once, with what
 * it is given unknown, instead of once for each state the loop around it
 * reaches (inlined, each step's branches multiplied the loop's states, and
 * the verifier's memory with them, which the kernel charges to the daemon's
 * memory cgroup).  Its arguments are what a global function may take: the
 * packet (context), memory and numbers; the socket is found from the packet
 * when a step needs it.  Returns STEP_RESULT(stop, untrack).
 */
#define INGRESS_STEP(name, pending, kind)                                                              \
	__noinline int name(struct __sk_buff *skb, struct conn_state *cs, struct scan_window *window, __u64 now) \
	{                                                                                              \
		struct ingress_scan scan = { .skb = skb, .cs = cs, .now = now, .window = window };     \
		long stop;                                                                             \
                                                                                                       \
		if (!skb || !cs || !window)                                                            \
			return STEP_RESULT(1, 0);                                                      \
		stop = ingress_step(&scan, pending, kind);                                             \
		return STEP_RESULT(stop, scan.untrack);                                                \
	}
INGRESS_STEP(ingress_step_socket_open_coded, 0, LOOP_OPEN_CODED)
INGRESS_STEP(ingress_step_socket_helper, 0, LOOP_HELPER)
INGRESS_STEP(ingress_step_pending_open_coded, 1, LOOP_OPEN_CODED)
INGRESS_STEP(ingress_step_pending_helper, 1, LOOP_HELPER)

/* The loop bodies, one per way of looping and kind of connection. */
#define INGRESS_LOOP_BODY(name, step)                                                  \
	static __noinline long name(__u32 i, void *ctx)                                \
	{                                                                              \
		struct ingress_scan *scan = ctx;                                       \
                                                                                       \
		(void)i;                                                               \
		return step_taken(step(scan->skb, scan->cs, scan->window, scan->now), &scan->untrack); \
	}
INGRESS_LOOP_BODY(ingress_body_socket_open_coded, ingress_step_socket_open_coded)
INGRESS_LOOP_BODY(ingress_body_socket_helper, ingress_step_socket_helper)
INGRESS_LOOP_BODY(ingress_body_pending_open_coded, ingress_step_pending_open_coded)
INGRESS_LOOP_BODY(ingress_body_pending_helper, ingress_step_pending_helper)

/* Looking for a request line at the start of a packet, after framing was
 * lost: one that starts with a method and a space. */
static __always_inline int packet_starts_request(struct __sk_buff *skb, __u32 offset, __u32 length)
{
	__u8 head[HTTP_METHOD_MAX_LEN + 1];

	if (length < sizeof(head) || bpf_skb_load_bytes(skb, offset, head, sizeof(head)))
		return 0;
	return http_starts_request(head);
}

/*
 * The bytes of one segment, in sequence order: retransmitted bytes are not
 * seen twice, and bytes missing before it (reordered on the way) are
 * skipped if they are body.
 */
static __always_inline void request_bytes_arrived(struct ingress_scan *scan, const struct tcp_segment *seg,
						  const int kind, const int pending)
{
	struct conn_state *cs = scan->cs;
	__u32 end = seg->seq + seg->payload_length, from = seg->payload_offset, gap;
	struct scan_scratch *scratch;

	if (!(cs->flags & CONN_RCV_SYNCED)) {
		cs->rcv_next = seg->seq;
		cs->first_seq = seg->seq;
		__sync_fetch_and_or(&cs->flags, CONN_RCV_SYNCED);
	}
	if ((__s32)(end - cs->rcv_next) <= 0)
		return; /* retransmission */
	if ((__s32)(cs->rcv_next - seg->seq) > 0) {
		from += cs->rcv_next - seg->seq;
	} else if ((gap = seg->seq - cs->rcv_next) > 0) {
		struct http_parser *p = &cs->request;

		if ((p->state == HTTP_BODY_LENGTH || p->state == HTTP_CHUNK_DATA) && p->remaining > gap) {
			/* Body bytes: their count is all we need. */
			p->remaining -= gap;
		} else if (!(cs->flags & CONN_RESYNC)) {
			http_request_parser_init(p);
			__sync_fetch_and_or(&cs->flags, CONN_RESYNC);
			if (!pending)
				count_inexact(slot_of(cs), INEXACT_REQUEST_GAP);
		}
	}
	cs->rcv_next = end;
	if (cs->flags & CONN_RESYNC) {
		if ((__s32)(cs->rcv_next - seg->seq) != (__s32)seg->payload_length ||
		    !packet_starts_request(scan->skb, from, seg->payload_offset + seg->payload_length - from))
			return;
		http_request_parser_init(&cs->request);
		__sync_fetch_and_and(&cs->flags, ~CONN_RESYNC);
	}
	scan->window = scan_window_acquire(&scratch);
	if (!scan->window) {
		scan_window_release(scratch);
		return;
	}
	scan_begin(&cs->in, from, seg->payload_offset + seg->payload_length, seg->seq - seg->payload_offset);
	scan->untrack = 0;
	/* Every step takes a byte or more. */
	run_loop(kind, seg->payload_length + 1,
		 kind == LOOP_OPEN_CODED ? (pending ? ingress_body_pending_open_coded : ingress_body_socket_open_coded) :
					   (pending ? ingress_body_pending_helper : ingress_body_socket_helper),
		 scan);
	scan_window_release(scratch);
	if (!pending && scan->untrack == ENQUEUE_CLOSED_MEANWHILE)
		closed_meanwhile(cs, scan->sk, scan->now);
	else if (!pending && scan->untrack)
		connection_untrack(cs, scan->sk, scan->untrack - 1, scan->now);
}

/*
 * Keep-alive in a straight line, without the framing loop, for the packets
 * most clients send: in sequence, either the start of a request with a head
 * of the last request's shape, or more of a Content-Length body.  The head,
 * and the body as far as the packet holds it, are taken here, and a request
 * joins the queue.  Returns 1 if that was all of the packet, 0 if the loop
 * frames the rest (or all of it: nothing was taken).  The clock is read only
 * if a request starts here (scan->now is 0 before): more of a body has no
 * event to time.
 */
static __always_inline int request_straight(struct ingress_scan *scan, const struct tcp_segment *seg)
{
	struct conn_state *cs = scan->cs;
	__u32 rest = seg->payload_length;
	int result, event, started = 0;

	if ((cs->flags & (CONN_RCV_SYNCED | CONN_RESYNC | CONN_UNTRACKED)) != CONN_RCV_SYNCED ||
	    seg->seq != cs->rcv_next)
		return 0;
	if (!http_request_starts(&cs->request)) {
		/* A request under way: more of its body? */
		if (cs->request.state != HTTP_BODY_LENGTH)
			return 0;
		event = HTTP_EV_BODY;
	} else {
		if (!fast_path_enabled || !cs->request_shape.length)
			return 0;
		result = packet_head_by_shape(scan->skb, seg, &cs->request_shape, &cs->request, BEGIN_REQUEST);
		if (result < 0)
			return 0;
		/* As ingress_step() begins a request, then frames its head. */
		scan->now = bpf_ktime_get_ns();
		cs->parsing.start_seq = seg->seq;
		cs->parsing.arrival_ns = scan->now;
		cs->early_read_ns = 0;
		event = result & 0xff;
		rest -= (__u32)result >> 8;
		started = 1;
	}
	if (event == HTTP_EV_BODY)
		rest -= (__u32)http_skip(&cs->request, rest, &event);
	cs->rcv_next = seg->seq + seg->payload_length - rest;
	if (!started)
		return rest == 0;
	scan->untrack = 0;
	request_line_seen(scan, 0);
	if (scan->untrack == ENQUEUE_CLOSED_MEANWHILE) {
		closed_meanwhile(cs, scan->sk, scan->now);
		return 1;
	}
	if (scan->untrack) {
		connection_untrack(cs, scan->sk, scan->untrack - 1, scan->now);
		return 1;
	}
	return rest == 0 || (cs->flags & CONN_UNTRACKED);
}

#endif /* RUNWAY_INGRESS_BPF_H */
