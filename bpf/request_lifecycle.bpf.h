/* SPDX-License-Identifier: MIT */
/*
 * The requests of one connection, from arrival to end.
 *
 * Requests are identified at ingress, in order, and join the connection's
 * queue: the first becomes the head, later ones (pipelined: sent before the
 * head was answered) wait in a ring behind it.  Responses come in the same
 * order, so each response that egress frames ends the head, and the next
 * waiting request becomes the head.
 *
 *   head:  QUEUED --the server reads it (and it is its turn)--> IN_FLIGHT
 *          IN_FLIGHT --last response byte--> ended (requests_total)
 *          QUEUED or IN_FLIGHT --connection closes--> ended
 *
 * Ingress, egress and the tracepoints can run on different CPUs, so the
 * head's phase changes only by compare-and-swap and only the winner counts:
 * every request begins and ends exactly once, and the gauges return to zero.
 * PHASE_PROMOTING holds the head for the one CPU that is installing a new
 * one; the ring's take index is likewise taken by compare-and-swap.
 */
#ifndef RUNWAY_REQUEST_LIFECYCLE_BPF_H
#define RUNWAY_REQUEST_LIFECYCLE_BPF_H

#include "accounting.bpf.h"
#include "tcp_segment.bpf.h"

static __always_inline int phase_move(struct conn_state *cs, __u32 from, __u32 to)
{
	return __sync_val_compare_and_swap(&cs->phase, from, to) == from;
}

static __always_inline __u32 slot_of(const struct conn_state *cs)
{
	return cs->target - 1;
}

/* Whether the server has read past a byte: copied_seq moves only for bytes
 * really consumed, never for MSG_PEEK. */
static __always_inline int read_past(__u32 copied_seq, __u32 seq)
{
	return (__s32)(copied_seq - seq) > 0;
}

/* How far the server has read a socket of a packet program.  Helper calls:
 * asked only when a waiting request may become the head. */
static __always_inline __u32 copied_seq_of(struct bpf_sock *sk)
{
	struct tcp_sock *tp = sk ? bpf_skc_to_tcp_sock(sk) : NULL;

	return tp ? tp->copied_seq : 0;
}

/* Install r as the head (the caller holds PHASE_PROMOTING): in flight from
 * read_ns when the server has started on it, else queued. */
static __always_inline void head_begin(struct conn_state *cs, const struct request_info *r, __u64 read_ns)
{
	__u32 slot = slot_of(cs);

	cs->head = *r;
	cs->read_ns = read_ns;
	/* Egress begins a new response parser when this moves. */
	cs->head_generation++;
	if (!read_ns) {
		__sync_val_compare_and_swap(&cs->phase, PHASE_PROMOTING, PHASE_QUEUED);
		return;
	}
	if (!(cs->flags & CONN_PENDING)) {
		count_event(slot, r, EVENT_READ, read_ns);
		observe_queue_time(slot, r, read_ns - r->arrival_ns);
	}
	__sync_val_compare_and_swap(&cs->phase, PHASE_PROMOTING, PHASE_IN_FLIGHT);
}

/* The head ends: answered with `status`, or (answered 0) its connection
 * closed with `status` the response's so far (000 if none). */
static __always_inline void head_end(struct conn_state *cs, __u32 status, int answered, __u64 now)
{
	struct request_info r = cs->head;
	__u32 slot = slot_of(cs), method = r.method;
	__u64 read_ns;

	if (method >= HTTP_METHOD_COUNT)
		method = HTTP_OTHER;
	if (cs->phase == PHASE_QUEUED) {
		if (phase_move(cs, PHASE_QUEUED, PHASE_IDLE)) {
			/* Never started by the server: no server time. */
			count_event(slot, &r, EVENT_ABANDONED, now);
			if (r.flags & REQUEST_EXCLUDED)
				return;
			if (answered)
				account_answer(slot, method, status, ~0ULL);
			else
				count_unserved(slot, UNSERVED_CLOSED);
			return;
		}
		/* The read hook moved it to IN_FLIGHT meanwhile. */
	}
	/* read_ns is written before the phase moves to IN_FLIGHT. */
	read_ns = cs->read_ns;
	if (!phase_move(cs, PHASE_IN_FLIGHT, PHASE_IDLE))
		return;
	count_event(slot, &r, EVENT_FINISHED, now);
	if (r.flags & REQUEST_EXCLUDED)
		return;
	if (r.flags & REQUEST_JOINED)
		account_counter(slot, COUNTER_INDEX(joined));
	else
		account_answer(slot, method, status, now - read_ns);
}

/* The status a request ending now gets from its response so far. */
static __always_inline __u32 response_status(const struct conn_state *cs)
{
	__u32 status = cs->response.status;

	if (cs->flags & CONN_COARSE)
		return cs->coarse_status;
	/* Only a status line read to its end has a status, and only if the
	 * parser was begun for this head. */
	if (cs->response_generation != cs->head_generation || cs->response.state == HTTP_STATUS_LINE ||
	    status < 100 || status > 599)
		return RUNWAY_STATUS_NONE;
	return status;
}

/* The next waiting request becomes the head, if the head has ended: from
 * egress when a response completes, and from ingress after a push (the
 * head may have ended between its look and its push). */
static __always_inline void head_advance(struct conn_state *cs, struct __sk_buff *skb, __u64 now)
{
	__u32 h = cs->ring_head;
	struct request_info r;
	struct pipeline *pl;
	struct bpf_sock *sk;

	if (cs->phase != PHASE_IDLE || h == cs->ring_tail)
		return;
	if (!phase_move(cs, PHASE_IDLE, PHASE_PROMOTING))
		return;
	if (__sync_val_compare_and_swap(&cs->ring_head, h, h + 1) != h) {
		phase_move(cs, PHASE_PROMOTING, PHASE_IDLE);
		return;
	}
	/* The socket only now: most requests never wait in the ring. */
	sk = tcp_socket_of(skb);
	pl = sk ? bpf_sk_storage_get(&pipelines, sk, 0, 0) : NULL;
	if (!pl) {
		phase_move(cs, PHASE_PROMOTING, PHASE_IDLE);
		return;
	}
	r = pl->waiting[h % RUNWAY_PIPELINE_DEPTH];
	/* In flight from now if the server has read it: its turn is now. */
	head_begin(cs, &r, !read_hook_enabled || read_past(copied_seq_of(sk), r.start_seq) ? now : 0);
	if (cs->flags & CONN_CLOSED)
		/* The close ended what it saw; this head came after. */
		head_end(cs, response_status(cs), 0, now);
}

/* Every waiting request ends without having begun: the connection closed
 * (unserved) or we stopped tracking it (lost to requests_total). */
static __always_inline void ring_drain(struct conn_state *cs, void *sk, int lost, __u64 now)
{
	struct pipeline *pl;
	__u32 slot = slot_of(cs);
	int i;

	if (cs->ring_head == cs->ring_tail)
		return;
	pl = bpf_sk_storage_get(&pipelines, sk, 0, 0);
	if (!pl)
		return;
	for (i = 0; i < RUNWAY_PIPELINE_DEPTH; i++) {
		__u32 h = cs->ring_head;
		struct request_info r;

		if (h == cs->ring_tail)
			break;
		if (__sync_val_compare_and_swap(&cs->ring_head, h, h + 1) != h)
			continue;
		r = pl->waiting[h % RUNWAY_PIPELINE_DEPTH];
		count_event(slot, &r, EVENT_ABANDONED, now);
		if (r.flags & REQUEST_EXCLUDED)
			continue;
		if (lost)
			count_lost(slot);
		else
			count_unserved(slot, UNSERVED_CLOSED);
	}
}

/*
 * The connection closed while we were adding a request (on another CPU: the
 * close tracepoint and the packet programs do not wait for each other).
 * The close ended what it saw; end what came after it, the same way.
 */
static __always_inline void closed_meanwhile(struct conn_state *cs, void *sk, __u64 now)
{
	head_end(cs, response_status(cs), 0, now);
	ring_drain(cs, sk, 0, now);
}

/* Stop looking at a connection: its head ends now, its waiting requests
 * are lost to requests_total. */
static __always_inline void connection_untrack(struct conn_state *cs, void *sk, __u32 reason, __u64 now)
{
	if (__sync_fetch_and_or(&cs->flags, CONN_UNTRACKED) & CONN_UNTRACKED)
		return;
	count_untracked(slot_of(cs), reason);
	head_end(cs, response_status(cs), 0, now);
	ring_drain(cs, sk, 1, now);
}

/* Leave the exact path, for a reason counted once per connection. */
static __always_inline void connection_inexact(struct conn_state *cs, __u32 flag, __u32 reason)
{
	if (__sync_fetch_and_or(&cs->flags, flag) & flag)
		return;
	count_inexact(slot_of(cs), reason);
}

/* request_enqueue() found the connection closed after it began: see
 * closed_meanwhile(). */
#define ENQUEUE_CLOSED_MEANWHILE (UNTRACK_REASON_COUNT + 1)

/*
 * A request identified at ingress joins the connection's queue.  early_read_ns:
 * the server read it before its request line was complete (0 if not).
 * Returns 0, an untrack reason + 1 (the caller stops tracking the connection
 * after its loop over the packet: connection_untrack() has a loop of its
 * own, which the verifier should not meet inside another), or
 * ENQUEUE_CLOSED_MEANWHILE (the caller calls closed_meanwhile() after its
 * loop, likewise).
 */
static __always_inline int request_enqueue(struct conn_state *cs, struct __sk_buff *skb, const struct request_info *r,
					   __u64 early_read_ns, __u64 now, const int pending)
{
	__u32 slot = slot_of(cs), depth;
	struct pipeline *pl = NULL;
	struct bpf_sock *sk;

	if (!pending)
		count_event(slot, r, EVENT_ARRIVED, r->arrival_ns);
	if (cs->flags & CONN_COARSE)
		/* Responses are no longer framed: the request before this one
		 * ends now, with the status its response showed. */
		head_end(cs, cs->coarse_status, cs->coarse_status != 0, now);
	if (cs->ring_head == cs->ring_tail && phase_move(cs, PHASE_IDLE, PHASE_PROMOTING)) {
		if (cs->flags & CONN_COARSE)
			cs->coarse_status = 0;
		head_begin(cs, r, !read_hook_enabled ? r->arrival_ns : early_read_ns);
		return !pending && (cs->flags & CONN_CLOSED) ? ENQUEUE_CLOSED_MEANWHILE : 0;
	}
	/* Pipelined behind the head. */
	if (pending) {
		/* Several requests in the handshake's packet, and no socket to
		 * hang a ring on yet: the connection is given up when it is
		 * made (connection_claim_pending). */
		__sync_fetch_and_or(&cs->flags, CONN_UNTRACKED);
		return 0;
	}
	depth = cs->ring_tail - cs->ring_head;
	sk = tcp_socket_of(skb);
	if (sk)
		pl = bpf_sk_storage_get(&pipelines, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!pl || depth >= RUNWAY_PIPELINE_DEPTH) {
		/* It was counted as arrived: end it, then the connection. */
		count_event(slot, r, EVENT_ABANDONED, now);
		if (!(r->flags & REQUEST_EXCLUDED))
			count_lost(slot);
		if (!pl)
			account_counter(slot, COUNTER_INDEX(storage_full));
		return (pl ? UNTRACK_PIPELINE_TOO_DEEP : UNTRACK_DESYNC) + 1;
	}
	pl->waiting[cs->ring_tail % RUNWAY_PIPELINE_DEPTH] = *r;
	__sync_fetch_and_add(&cs->ring_tail, 1);
	head_advance(cs, skb, now);
	return (cs->flags & CONN_CLOSED) ? ENQUEUE_CLOSED_MEANWHILE : 0;
}

/* The server read from the connection (the read tracepoint).  The clock is
 * read only when a read is an event. */
static __always_inline void request_read(struct conn_state *cs, __u32 copied_seq)
{
	__u32 phase = cs->phase;
	__u64 now;

	if (phase == PHASE_QUEUED) {
		if (!read_past(copied_seq, cs->head.start_seq))
			return;
		now = bpf_ktime_get_ns();
		/* Written before the phase moves: whoever ends the request
		 * after it is IN_FLIGHT reads this. */
		cs->read_ns = now;
		if (phase_move(cs, PHASE_QUEUED, PHASE_IN_FLIGHT)) {
			count_event(slot_of(cs), &cs->head, EVENT_READ, now);
			observe_queue_time(slot_of(cs), &cs->head, now - cs->head.arrival_ns);
		}
		return;
	}
	/* Read before its request line was complete: when it is, it is in
	 * flight from now (if it is the head then). */
	if (phase == PHASE_IDLE && cs->ring_head == cs->ring_tail && http_in_head(&cs->request) &&
	    !cs->early_read_ns && read_past(copied_seq, cs->parsing.start_seq))
		cs->early_read_ns = bpf_ktime_get_ns();
}

/* The connection is gone (or the server closed its side). */
static __always_inline void connection_close(struct conn_state *cs, void *sk, __u64 now)
{
	if (__sync_fetch_and_or(&cs->flags, CONN_CLOSED) & CONN_CLOSED)
		return;
	head_end(cs, response_status(cs), 0, now);
	ring_drain(cs, sk, 0, now);
	account_counter(slot_of(cs), COUNTER_INDEX(connections_closed));
}

#endif /* RUNWAY_REQUEST_LIFECYCLE_BPF_H */
