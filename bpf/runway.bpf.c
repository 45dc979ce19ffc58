// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * runway-bpfd kernel side.
 *
 * Per target (a cgroup), two cgroup_skb programs see the target's TCP
 * packets: ingress finds where requests start, egress frames responses to
 * find where they end.  Two tracepoints that fire node-wide mark the
 * server's first read of a request (tcp_rcv_space_adjust, TCP reads only;
 * sock_recv_length where that is missing) and the end of a connection
 * (inet_sock_set_state); both return after one lookup of socket-local storage
 * for sockets we do not track.
 *
 * No program here ever drops or alters a packet: every cgroup_skb return is
 * 1 (pass), whatever path it takes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#include "runway_abi.h"
#include "maps.bpf.h"
#include "accounting.bpf.h"
#include "request_lifecycle.bpf.h"
#include "tcp_segment.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define SK_PASS 1
#define MSG_PEEK_FLAG 2
#define SCAN_WINDOW 256
/* Response head bytes parsed per packet before we give up on a connection. */
#define SCAN_MAX_WINDOWS 16

struct request_scan {
	struct http_request_line *line;
	__u32 start; /* bytes already taken by the fast path */
	__u8 bytes[SCAN_WINDOW];
};

struct response_scan {
	struct __sk_buff *skb;
	struct http_response_framing *framing;
	__u32 *consumed; /* bytes of the window parsed: conn_state.window_cursor */
	__u32 offset;    /* in the packet */
	__u32 end;
	__u32 length;    /* bytes in the window */
	int event;
	__u8 bytes[SCAN_WINDOW];
};

/* The target a packet's socket belongs to: its cgroup, or the ancestor of
 * it at a level where targets sit (a pod's container cgroups are found
 * through the pod, whenever they were created).  Returns the slot, or -1. */
static __always_inline int target_of(struct __sk_buff *skb)
{
	__u64 id = bpf_skb_cgroup_id(skb);
	__u32 *slot = bpf_map_lookup_elem(&target_cgroups, &id);
	__u32 i;

	if (slot)
		return *slot;
	for (i = 0; i < RUNWAY_TARGET_LEVELS; i++) {
		if (target_level_min + i > target_level_max)
			break;
		id = bpf_skb_ancestor_cgroup_id(skb, target_level_min + i);
		if (!id)
			break;
		slot = bpf_map_lookup_elem(&target_cgroups, &id);
		if (slot)
			return *slot;
	}
	return -1;
}

static __always_inline int server_port(__u32 slot, __u16 port)
{
	struct listener_key key = { .target = slot, .port = port };

	return bpf_map_lookup_elem(&listener_counters, &key) != NULL;
}

/* Give a server connection of a target its state.  Connections that were
 * open before the daemon started are claimed the same way, on their first
 * packet with payload. */
static __always_inline struct conn_state *connection_claim(struct bpf_sock *sk, __u32 slot)
{
	struct target_counters *c = counters_of(slot);
	struct conn_state *cs;

	if (sk->state != BPF_TCP_ESTABLISHED && sk->state != BPF_TCP_SYN_RECV)
		return NULL;
	cs = bpf_sk_storage_get(&connections, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!cs) {
		if (c)
			__sync_fetch_and_add(&c->storage_full, 1);
		return NULL;
	}
	/* Another CPU may have claimed it meanwhile: first one wins. */
	if (__sync_val_compare_and_swap(&cs->target, 0, slot + 1) != 0)
		return cs;
	cs->response.state = RESP_COMPLETE;
	if (c)
		__sync_fetch_and_add(&c->connections_opened, 1);
	return cs;
}

/* Claimed and still worth looking at. */
static __always_inline int connection_tracked(const struct conn_state *cs)
{
	return cs->target && !(cs->flags & (CONN_UNTRACKED | CONN_CLOSED));
}

/* The TCP socket a cgroup_skb program's packet belongs to, or NULL. */
static __always_inline struct bpf_sock *tcp_socket_of(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return NULL;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->protocol != IPPROTO_TCP_NUM)
		return NULL;
	return sk;
}

static long request_line_byte(__u32 i, void *ctx)
{
	struct request_scan *scan = ctx;
	__u32 index = i + scan->start;

	if (index >= SCAN_WINDOW)
		return 1;
	return http_request_line_step(scan->line, scan->bytes[index]);
}

static __always_inline int path_excluded(__u64 path_hash)
{
	/* Most paths are not excluded: a one-word filter spares them the
	 * hash lookup. */
	if (!((excluded_hash_bits >> (path_hash & 63)) & 1))
		return 0;
	return bpf_map_lookup_elem(&excluded_paths, &path_hash) != NULL;
}

/* Parse as much of the request line as this segment holds. */
static __always_inline void request_line_feed(struct __sk_buff *skb, struct conn_state *cs,
					      const struct tcp_segment *seg, __u64 now)
{
	struct request_scan scan;
	__u32 wanted_seq = cs->request_seq + cs->request.length;
	__u32 from = wanted_seq - seg->seq;
	__u32 length, room;

	if ((__s32)(wanted_seq - seg->seq) < 0 || from >= seg->payload_length)
		return;
	length = seg->payload_length - from;
	room = RUNWAY_REQUEST_LINE_MAX - (cs->request.length & 0xff);
	if (length > room)
		length = room;
	if (length > SCAN_WINDOW)
		length = SCAN_WINDOW;
	barrier_var(length);
	if (length == 0 || length > SCAN_WINDOW)
		return;
	if (bpf_skb_load_bytes(skb, seg->payload_offset + from, scan.bytes, length))
		return;
	scan.line = &cs->request;
	scan.start = length >= HTTP_METHOD_MAX_LEN ? http_request_line_fast(&cs->request, scan.bytes) : 0;
	if (scan.start < length)
		bpf_loop(length - scan.start, request_line_byte, &scan, 0);

	if (cs->request.state == REQ_LINE_PATH && cs->request.length >= RUNWAY_REQUEST_LINE_MAX)
		cs->request.state = REQ_LINE_DONE; /* too long to be an excluded path */
	if (cs->request.state == REQ_LINE_DONE) {
		if (!(cs->flags & CONN_HTTP_SEEN))
			__sync_fetch_and_or(&cs->flags, CONN_HTTP_SEEN);
		request_identified(cs, path_excluded(cs->request.path_hash));
	} else if (cs->request.state == REQ_LINE_INVALID || cs->request.length >= RUNWAY_REQUEST_LINE_MAX) {
		if (cs->flags & CONN_HTTP_SEEN)
			/* Bytes after a response that are not a request: the
			 * rest of a body the server did not wait for. */
			phase_move(cs, PHASE_LINE, PHASE_IDLE);
		else
			connection_untrack(cs, UNTRACK_NOT_HTTP, now);
	}
}

static __always_inline void request_bytes_arrived(struct __sk_buff *skb, struct conn_state *cs,
						  const struct tcp_segment *seg)
{
	__u32 end = seg->seq + seg->payload_length;
	__u64 now = bpf_ktime_get_ns();

	if (!(cs->flags & CONN_RCV_SYNCED)) {
		cs->rcv_next = seg->seq;
		__sync_fetch_and_or(&cs->flags, CONN_RCV_SYNCED);
	}
	if (cs->phase == PHASE_IDLE) {
		/* A retransmission of bytes we have seen is not a new request.
		 * After a gap, the request starts at the first missing byte. */
		if ((__s32)(end - cs->rcv_next) <= 0)
			return;
		request_arrived(cs, cs->rcv_next, now);
	}
	if ((__s32)(end - cs->rcv_next) > 0)
		cs->rcv_next = end;
	if (cs->phase == PHASE_LINE)
		request_line_feed(skb, cs, seg, now);
}

/*
 * A packet for a listening socket.  The kernel drops a SYN when the accept
 * queue is full (tcp_conn_request), and the ACK that would complete a
 * handshake likewise (tcp_v4_syn_recv_sock); both count ListenOverflows.
 * We see the same packets just before, on the same CPU, and compare the same
 * two fields, so the per-port count follows the kernel's own.
 */
static __always_inline void listener_packet(struct __sk_buff *skb, struct bpf_sock *sk)
{
	struct listener_key key = { .port = sk->src_port };
	struct listener_counters *counters, fresh = {};
	struct tcp_segment seg;
	struct tcp_sock *tp;
	int slot, full;

	if (tcp_segment_parse(skb, &seg))
		return;
	if (seg.rst || !(seg.syn ^ seg.ack))
		return; /* only a SYN, or an ACK completing a handshake */
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return;
	full = tp->inet_conn.icsk_inet.sk.sk_ack_backlog > tp->inet_conn.icsk_inet.sk.sk_max_ack_backlog;
	if (!seg.syn && !full)
		return;
	slot = target_of(skb);
	if (slot < 0)
		return;
	key.target = slot;
	counters = bpf_map_lookup_elem(&listener_counters, &key);
	if (!counters) {
		/* A port the daemon did not name: with learn_ports, the SYN
		 * tells us the target listens on it, before any of its
		 * connections carries data. */
		if (!learn_ports)
			return;
		bpf_map_update_elem(&listener_counters, &key, &fresh, BPF_NOEXIST);
		counters = bpf_map_lookup_elem(&listener_counters, &key);
		if (!counters)
			return;
	}
	if (seg.syn)
		__sync_fetch_and_add(&counters->syns, 1);
	if (full)
		__sync_fetch_and_add(&counters->overflows, 1);
}

SEC("cgroup_skb/ingress")
int runway_ingress(struct __sk_buff *skb)
{
	struct bpf_sock *sk = tcp_socket_of(skb);
	struct tcp_segment seg;
	struct conn_state *cs;

	if (!sk)
		return SK_PASS;
	if (sk->state == BPF_TCP_LISTEN) {
		listener_packet(skb, sk);
		return SK_PASS;
	}
	cs = bpf_sk_storage_get(&connections, sk, 0, 0);
	if (cs && !connection_tracked(cs))
		return SK_PASS;
	if (tcp_segment_parse(skb, &seg) || seg.payload_length == 0)
		return SK_PASS;
	if (!cs) {
		int slot = target_of(skb);

		if (slot < 0 || !server_port(slot, sk->src_port))
			return SK_PASS;
		cs = connection_claim(sk, slot);
		if (!cs || !connection_tracked(cs))
			return SK_PASS;
	}
	request_bytes_arrived(skb, cs, &seg);
	return SK_PASS;
}

static long response_byte(__u32 i, void *ctx)
{
	struct response_scan *scan = ctx;
	__u32 position = *scan->consumed;

	(void)i;
	if (position >= scan->length || position >= SCAN_WINDOW)
		return 1;
	if (position + HTTP_FAST_PATH_BYTES <= scan->length) {
		__u32 taken;

		if (position > SCAN_WINDOW - HTTP_FAST_PATH_BYTES)
			return 1;
		taken = http_response_status_fast(scan->framing, &scan->bytes[position]);
		if (!taken)
			taken = http_response_header_fast(scan->framing, &scan->bytes[position]);
		if (taken) {
			*scan->consumed = position + taken;
			return position + taken >= scan->length;
		}
	}
	if (position + 8 <= scan->length && http_response_skips_to_lf(scan->framing)) {
		__u32 skipped;

		if (position > SCAN_WINDOW - 8)
			return 1;
		skipped = http_bytes_before_lf8(&scan->bytes[position]);
		position += skipped;
		if (skipped == 8) {
			*scan->consumed = position;
			return 0;
		}
		if (position >= SCAN_WINDOW)
			return 1;
	}
	scan->event = http_response_step(scan->framing, scan->bytes[position]);
	*scan->consumed = position + 1;
	return scan->event != RESP_EV_NONE || position + 1 >= scan->length;
}

/* One window of a packet: skip body bytes, then parse up to SCAN_WINDOW
 * bytes of head or chunk framing. */
static long response_window(__u32 i, void *ctx)
{
	struct response_scan *scan = ctx;
	__u32 length;
	__u64 skipped;
	int event;

	(void)i;
	if (scan->offset >= scan->end)
		return 1;
	skipped = http_response_skip(scan->framing, scan->end - scan->offset, &event);
	scan->offset += skipped;
	if (event == RESP_EV_COMPLETE) {
		scan->event = event;
		return 1;
	}
	if (scan->offset >= scan->end)
		return 1;
	length = scan->end - scan->offset;
	if (length > SCAN_WINDOW)
		length = SCAN_WINDOW;
	/* Known non-zero from the checks above; the verifier needs it said. */
	barrier_var(length);
	if (length == 0)
		return 1;
	if (bpf_skb_load_bytes(scan->skb, scan->offset, scan->bytes, length)) {
		scan->event = RESP_EV_ERROR;
		return 1;
	}
	*scan->consumed = 0;
	scan->length = length;
	scan->event = RESP_EV_NONE;
	/* Each iteration takes one byte or more: `length` iterations suffice. */
	bpf_loop(length, response_byte, scan, 0);
	scan->offset += *scan->consumed;
	if (scan->event == RESP_EV_COMPLETE || scan->event == RESP_EV_ERROR)
		return 1;
	scan->event = RESP_EV_NONE;
	return 0;
}

static __always_inline __u32 response_status(const struct conn_state *cs)
{
	__u32 status = cs->response.status;

	/* Only a status line read to its end has a status. */
	if (cs->response.state == RESP_STATUS_LINE || status < 100 || status > 599)
		return RUNWAY_STATUS_NONE;
	return status;
}

static __always_inline void response_bytes_sent(struct __sk_buff *skb, struct conn_state *cs,
						const struct tcp_segment *seg)
{
	__u32 end = seg->seq + seg->payload_length;
	struct response_scan scan;
	__u32 already_seen = 0;
	__u64 now;

	if (!(cs->flags & CONN_SND_SYNCED)) {
		cs->snd_next = seg->seq;
		__sync_fetch_and_or(&cs->flags, CONN_SND_SYNCED);
	}
	if ((__s32)(end - cs->snd_next) <= 0)
		return; /* retransmission */
	if ((__s32)(cs->snd_next - seg->seq) > 0)
		already_seen = cs->snd_next - seg->seq;
	cs->snd_next = end;
	if (cs->phase != PHASE_QUEUED && cs->phase != PHASE_IN_FLIGHT)
		return;

	scan.skb = skb;
	scan.framing = &cs->response;
	scan.consumed = &cs->window_cursor;
	scan.offset = seg->payload_offset + already_seen;
	scan.end = seg->payload_offset + seg->payload_length;
	scan.length = 0;
	scan.event = RESP_EV_NONE;
	bpf_loop(SCAN_MAX_WINDOWS, response_window, &scan, 0);

	now = bpf_ktime_get_ns();
	if (scan.event == RESP_EV_COMPLETE) {
		request_finished(cs, response_status(cs), now);
		if (cs->response.flags & RESP_UPGRADED)
			connection_untrack(cs, UNTRACK_UPGRADED, now);
	} else if (scan.event == RESP_EV_ERROR) {
		connection_untrack(cs, UNTRACK_DESYNC, now);
	} else if (scan.offset < scan.end) {
		connection_untrack(cs, UNTRACK_TOO_LONG, now);
	}
}

SEC("cgroup_skb/egress")
int runway_egress(struct __sk_buff *skb)
{
	struct bpf_sock *sk = tcp_socket_of(skb);
	struct tcp_segment seg;
	struct conn_state *cs;

	if (!sk)
		return SK_PASS;
	cs = bpf_sk_storage_get(&connections, sk, 0, 0);
	if (!cs || !connection_tracked(cs))
		return SK_PASS;
	if (tcp_segment_parse(skb, &seg) || seg.payload_length == 0)
		return SK_PASS;
	response_bytes_sent(skb, cs, &seg);
	return SK_PASS;
}

/* The server read from a socket: if it read past the current request's first
 * byte, the request leaves the kernel's queue and enters the server. */
static __always_inline void server_read(struct sock *sk)
{
	struct conn_state *cs;
	struct tcp_sock *tp;
	__u32 phase;

	/* Every TCP read on the node comes here: a socket with no local
	 * storage at all is not ours, and reading the pointer is cheaper than
	 * the helper call that would tell us so. */
	if (!sk->sk_bpf_storage)
		return;
	cs = bpf_sk_storage_get(&connections, sk, 0, 0);
	if (!cs || !cs->target)
		return;
	phase = cs->phase;
	if (phase != PHASE_QUEUED && phase != PHASE_LINE)
		return;
	/* copied_seq moves only for bytes really consumed, never for
	 * MSG_PEEK. */
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp || (__s32)(tp->copied_seq - cs->request_seq) <= 0)
		return;
	if (phase == PHASE_QUEUED) {
		request_read(cs, bpf_ktime_get_ns());
	} else {
		cs->read_ns = bpf_ktime_get_ns();
		__sync_fetch_and_or(&cs->flags, CONN_READ_SEEN);
	}
}

/* Preferred: tcp_recvmsg calls tcp_rcv_space_adjust() after each copy to
 * user space, so this fires for TCP reads only; unix and UDP sockets on the
 * node never pay for it. */
SEC("tp_btf/tcp_rcv_space_adjust")
int BPF_PROG(runway_tcp_read, struct sock *sk)
{
	server_read(sk);
	return 0;
}

/* Fallback where that tracepoint is missing: every socket read on the node. */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(runway_recv, struct sock *sk, int ret, int flags)
{
	if (ret > 0 && !(flags & MSG_PEEK_FLAG))
		server_read(sk);
	return 0;
}

/* The server closed (FIN_WAIT1, LAST_ACK) or the connection is gone (CLOSE):
 * whatever request is open ends now.  A client's FIN alone (CLOSE_WAIT) does
 * not end it: a half-closed client still reads its answer. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(runway_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct target_counters *c;
	struct conn_state *cs;

	(void)oldstate;
	if (newstate != TCP_FIN_WAIT1 && newstate != TCP_LAST_ACK && newstate != TCP_CLOSE)
		return 0;
	if (!sk->sk_bpf_storage)
		return 0;
	cs = bpf_sk_storage_get(&connections, (struct sock *)sk, 0, 0);
	if (!cs || !cs->target)
		return 0;
	if (__sync_fetch_and_or(&cs->flags, CONN_CLOSED) & CONN_CLOSED)
		return 0;
	request_finished(cs, response_status(cs), bpf_ktime_get_ns());
	c = counters_of(slot_of(cs));
	if (c)
		__sync_fetch_and_add(&c->connections_closed, 1);
	return 0;
}
