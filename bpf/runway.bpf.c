// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * runway-bpfd kernel side.
 *
 * On every target's cgroup, two cgroup_skb programs see its TCP packets:
 * ingress frames requests (where each one starts: ingress.bpf.h), egress
 * frames responses (where each one ends: egress.bpf.h).  Each is built twice,
 * with open-coded loops and with bpf_loop() (loops.bpf.h); the daemon loads
 * one pair.  Node-wide, two tracepoints mark the server's reads of a request
 * (tcp_rcv_space_adjust, TCP reads only; sock_recv_length where that is
 * missing) and the connection's states (inet_sock_set_state: made, closed);
 * both return after a pointer test for sockets we do not track.
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
#include "scan.bpf.h"
#include "ingress.bpf.h"
#include "egress.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define SK_PASS 1
#define MSG_PEEK_FLAG 2

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

/* A server connection of a target, given its state.  Connections open
 * before the daemon started are claimed the same way, on their first packet
 * with payload either way. */
static __always_inline struct conn_state *connection_claim(struct bpf_sock *sk, __u32 slot)
{
	struct target_counters *c = counters_of(slot);
	struct conn_state *cs;
	struct tcp_sock *tp;

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
	if (c)
		__sync_fetch_and_add(&c->connections_opened, 1);
	/* Bytes before this packet were not seen: the next request is found
	 * at the start of a packet. */
	tp = bpf_skc_to_tcp_sock(sk);
	if (tp && tp->bytes_received > 0)
		__sync_fetch_and_or(&cs->flags, CONN_RESYNC);
	return cs;
}

/*
 * Data that reaches a listening socket: the packet that completes a
 * handshake and carries the request (a client whose handshake ACK met a
 * full accept queue sends its request with the retried ACK), or a SYN with
 * data (TCP Fast Open).  The kernel makes the connection's socket from it,
 * and the request's bytes never pass a cgroup program again: frame them
 * now, into state keyed by the connection's addresses, which becomes the
 * socket's when the kernel makes it (runway_state).
 */
static __always_inline void listener_data(struct ingress_scan *scan, int slot, const struct tcp_segment *seg,
					  const int kind)
{
	struct pending_key key;
	struct conn_state *cs;

	if (tcp_segment_pending_key(scan->skb, &key))
		return;
	cs = bpf_map_lookup_elem(&pending_connections, &key);
	if (!cs) {
		struct conn_state *fresh = zeroed_value();

		if (!fresh)
			return;
		bpf_map_update_elem(&pending_connections, &key, fresh, BPF_NOEXIST);
		cs = bpf_map_lookup_elem(&pending_connections, &key);
		if (!cs)
			return;
		if (__sync_val_compare_and_swap(&cs->target, 0, slot + 1) == 0)
			__sync_fetch_and_or(&cs->flags, CONN_PENDING);
	}
	if (!(cs->flags & CONN_PENDING))
		return;
	scan->cs = cs;
	scan->sk = NULL;
	scan->now = bpf_ktime_get_ns();
	request_bytes_arrived(scan, seg, kind, 1);
}

/*
 * A packet for a listening socket.  The kernel drops a SYN when the accept
 * queue is full (tcp_conn_request), and the ACK that would complete a
 * handshake likewise (tcp_v4_syn_recv_sock); both count ListenOverflows.
 * We see the same packets just before, on the same CPU, and compare the same
 * two fields, so the per-port count follows the kernel's own.
 */
static __always_inline void listener_packet(struct ingress_scan *scan, struct bpf_sock *sk, const int kind)
{
	struct listener_key key = { .port = sk->src_port };
	struct listener_counters *counters, fresh = {};
	struct tcp_segment seg;
	struct tcp_sock *tp;
	int slot, full;

	if (tcp_segment_parse(scan->skb, &seg))
		return;
	if (seg.rst || !(seg.syn ^ seg.ack))
		return; /* only a SYN, or an ACK completing a handshake */
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return;
	full = tp->inet_conn.icsk_inet.sk.sk_ack_backlog > tp->inet_conn.icsk_inet.sk.sk_max_ack_backlog;
	if (!seg.syn && !full && !seg.payload_length)
		return;
	slot = target_of(scan->skb);
	if (slot < 0)
		return;
	key.target = slot;
	counters = bpf_map_lookup_elem(&listener_counters, &key);
	if (!counters) {
		/* A port the daemon did not name: with learn_ports, the SYN
		 * tells us the target listens on it, before any of its
		 * connections carries data. */
		if (!learn_ports || !seg.syn)
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
	if (seg.payload_length)
		listener_data(scan, slot, &seg, kind);
}

/* Bytes from a client after the server closed the connection: a request
 * the server will never see (it answers with a reset). */
static __always_inline void late_request(struct conn_state *cs, const struct tcp_segment *seg)
{
	if (!cs->target || (cs->flags & (CONN_UNTRACKED | CONN_LATE_SEEN)) ||
	    (__s32)(seg->seq + seg->payload_length - cs->rcv_next) <= 0)
		return;
	if (!(__sync_fetch_and_or(&cs->flags, CONN_LATE_SEEN) & CONN_LATE_SEEN))
		count_unserved(slot_of(cs), UNSERVED_AFTER_CLOSE);
}

static __always_inline int ingress(struct __sk_buff *skb, const int kind)
{
	struct bpf_sock *sk = tcp_socket_of(skb);
	struct ingress_scan scan;
	struct tcp_segment seg;
	struct conn_state *cs;

	if (!sk)
		return SK_PASS;
	scan.skb = skb;
	if (sk->state == BPF_TCP_LISTEN) {
		listener_packet(&scan, sk, kind);
		return SK_PASS;
	}
	/* Pure ACKs leave before any lookup. */
	if (tcp_segment_parse(skb, &seg) || seg.payload_length == 0)
		return SK_PASS;
	cs = bpf_sk_storage_get(&connections, sk, 0, 0);
	if (cs) {
		if (cs->flags & CONN_CLOSED) {
			late_request(cs, &seg);
			return SK_PASS;
		}
		if (!cs->target || (cs->flags & CONN_UNTRACKED))
			return SK_PASS;
	} else {
		int slot = target_of(skb);

		if (slot < 0 || !server_port(slot, sk->src_port))
			return SK_PASS;
		cs = connection_claim(sk, slot);
		if (!cs || (cs->flags & (CONN_UNTRACKED | CONN_CLOSED)))
			return SK_PASS;
	}
	scan.cs = cs;
	scan.sk = sk;
	/* Read when there is something to time: a clock read is a helper
	 * call into the kernel's clock, about 60 ns on a VM's. */
	scan.now = 0;
	if (request_straight(&scan, &seg))
		return SK_PASS;
	if (!scan.now)
		scan.now = bpf_ktime_get_ns();
	request_bytes_arrived(&scan, &seg, kind, 0);
	return SK_PASS;
}

SEC("cgroup_skb/ingress")
int runway_ingress(struct __sk_buff *skb)
{
	return ingress(skb, LOOP_OPEN_CODED);
}

SEC("cgroup_skb/ingress")
int runway_ingress_loop(struct __sk_buff *skb)
{
	return ingress(skb, LOOP_HELPER);
}

/* A response under way on a connection whose request we did not see (open
 * before we started, or its framing lost): it is in flight from now, and
 * counted apart (runway_bpfd_requests_joined_total), without a method. */
static __always_inline void response_joined(struct conn_state *cs, __u64 now)
{
	struct request_info r = {
		.arrival_ns = now,
		.start_seq = cs->rcv_next,
		.method = HTTP_OTHER,
		.flags = REQUEST_JOINED,
	};

	if (!phase_move(cs, PHASE_IDLE, PHASE_PROMOTING))
		return;
	count_event(slot_of(cs), &r, EVENT_ARRIVED, now);
	head_begin(cs, &r, now);
	count_inexact(slot_of(cs), INEXACT_JOINED);
}

static __always_inline int egress(struct __sk_buff *skb, const int kind)
{
	struct bpf_sock *sk = tcp_socket_of(skb);
	struct egress_scan scan;
	struct tcp_segment seg;
	struct conn_state *cs;
	int starts_response;

	if (!sk)
		return SK_PASS;
	if (tcp_segment_parse(skb, &seg) || seg.payload_length == 0)
		return SK_PASS;
	cs = bpf_sk_storage_get(&connections, sk, 0, 0);
	if (!cs) {
		int slot;

		if (!status_line_at(skb, seg.payload_offset, seg.payload_length))
			return SK_PASS;
		slot = target_of(skb);
		if (slot < 0 || !server_port(slot, sk->src_port))
			return SK_PASS;
		cs = connection_claim(sk, slot);
		if (!cs)
			return SK_PASS;
		__sync_fetch_and_or(&cs->flags, CONN_RESYNC);
	}
	if (!cs->target || (cs->flags & (CONN_UNTRACKED | CONN_CLOSED)))
		return SK_PASS;
	scan.skb = skb;
	scan.cs = cs;
	scan.sk = sk;
	/* As at ingress: the clock when there is something to time. */
	scan.now = 0;
	if ((cs->flags & CONN_RESYNC) && cs->phase == PHASE_IDLE && cs->ring_head == cs->ring_tail) {
		starts_response = (!(cs->flags & CONN_SND_SYNCED) || seg.seq == cs->snd_next) &&
				  status_line_at(skb, seg.payload_offset, seg.payload_length);
		if (starts_response) {
			scan.now = bpf_ktime_get_ns();
			response_joined(cs, scan.now);
		}
	}
	if (response_straight(&scan, &seg))
		return SK_PASS;
	if (!scan.now)
		scan.now = bpf_ktime_get_ns();
	response_bytes_sent(&scan, &seg, kind);
	return SK_PASS;
}

SEC("cgroup_skb/egress")
int runway_egress(struct __sk_buff *skb)
{
	return egress(skb, LOOP_OPEN_CODED);
}

SEC("cgroup_skb/egress")
int runway_egress_loop(struct __sk_buff *skb)
{
	return egress(skb, LOOP_HELPER);
}

/* The server read from a socket: if it read past the head's first byte, the
 * head leaves the kernel's queue and enters the server. */
static __always_inline void server_read(struct sock *sk)
{
	struct conn_state *cs;
	struct tcp_sock *tp;

	/* Every TCP read on the node comes here: a socket with no local
	 * storage at all is not ours, and reading the pointer is cheaper than
	 * the helper call that would tell us so. */
	if (!sk->sk_bpf_storage)
		return;
	cs = bpf_sk_storage_get(&connections, sk, 0, 0);
	if (!cs || !cs->target || cs->phase == PHASE_IN_FLIGHT)
		return;
	tp = bpf_skc_to_tcp_sock(sk);
	if (tp)
		request_read(cs, tp->copied_seq);
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

static __always_inline int v4_mapped(const __u32 *addr)
{
	return addr[0] == 0 && addr[1] == 0 && addr[2] == bpf_htonl(0xffff);
}

/* The kernel made the socket of a connection whose first request we framed
 * at its listener (listener_data): the state becomes the socket's, and the
 * request is counted from its arrival. */
static __always_inline void connection_claim_pending(struct sock *sk)
{
	struct sock_common *skc = &sk->__sk_common;
	struct pending_key key = {};
	struct conn_state *pending, *cs;
	struct target_counters *c;
	struct tcp_sock *tp;
	__u32 slot;

	key.local_port = skc->skc_num;
	key.remote_port = skc->skc_dport;
	if (skc->skc_family == AF_INET_NUM ||
	    (skc->skc_family == AF_INET6_NUM && v4_mapped(skc->skc_v6_daddr.in6_u.u6_addr32))) {
		key.family = AF_INET_NUM;
		key.local[0] = skc->skc_rcv_saddr;
		key.remote[0] = skc->skc_daddr;
	} else if (skc->skc_family == AF_INET6_NUM) {
		key.family = AF_INET6_NUM;
		__builtin_memcpy(key.local, skc->skc_v6_rcv_saddr.in6_u.u6_addr32, 16);
		__builtin_memcpy(key.remote, skc->skc_v6_daddr.in6_u.u6_addr32, 16);
	} else {
		return;
	}
	pending = bpf_map_lookup_elem(&pending_connections, &key);
	if (!pending || !pending->target)
		return;
	/* The same addresses may come back with a later connection (a client
	 * port reused after one that never got a socket): the state is this
	 * connection's only if its first request byte is where the kernel
	 * starts it (rcv_nxt: at it, or past it for Fast Open data). */
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp || (__s32)(tp->rcv_nxt - pending->first_seq) < 0 ||
	    (__s32)(pending->rcv_next - tp->rcv_nxt) < 0) {
		bpf_map_delete_elem(&pending_connections, &key);
		return;
	}
	slot = pending->target - 1;
	c = counters_of(slot);
	cs = bpf_sk_storage_get(&connections, sk, pending, BPF_SK_STORAGE_GET_F_CREATE);
	bpf_map_delete_elem(&pending_connections, &key);
	if (!cs) {
		if (c)
			__sync_fetch_and_add(&c->storage_full, 1);
		return;
	}
	/* A packet on another CPU may have claimed the socket first: then the
	 * storage is its, not a copy of ours, and it counts its own requests. */
	if (!(__sync_fetch_and_and(&cs->flags, ~CONN_PENDING) & CONN_PENDING))
		return;
	if (c) {
		__sync_fetch_and_add(&c->connections_opened, 1);
		__sync_fetch_and_add(&c->handshake_data, 1);
	}
	if (cs->flags & CONN_UNTRACKED) {
		count_untracked(slot, (cs->flags & CONN_HTTP_SEEN) ? UNTRACK_DESYNC : UNTRACK_NOT_HTTP);
		if (cs->phase != PHASE_IDLE && !(cs->head.flags & REQUEST_EXCLUDED))
			count_lost(slot);
		cs->phase = PHASE_IDLE;
		return;
	}
	if (cs->phase == PHASE_QUEUED || cs->phase == PHASE_IN_FLIGHT)
		count_event(slot, &cs->head, EVENT_ARRIVED, cs->head.arrival_ns);
	if (cs->phase == PHASE_IN_FLIGHT) {
		count_event(slot, &cs->head, EVENT_READ, cs->read_ns);
		observe_queue_time(slot, &cs->head, cs->read_ns - cs->head.arrival_ns);
	}
	/* TCP Fast Open: the server may have read it already. */
	request_read(cs, tp->copied_seq);
}

/* A connection's state changed.  SYN_RECV -> ESTABLISHED: a server socket
 * is made (claim its pending state, if any).  The server closed (FIN_WAIT1,
 * LAST_ACK) or the connection is gone (CLOSE): whatever request is open
 * ends now.  A client's FIN alone (CLOSE_WAIT) does not end it: a
 * half-closed client still reads its answer. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(runway_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct conn_state *cs;

	if (newstate == TCP_ESTABLISHED) {
		if (oldstate == TCP_SYN_RECV)
			connection_claim_pending((struct sock *)sk);
		return 0;
	}
	if (newstate != TCP_FIN_WAIT1 && newstate != TCP_LAST_ACK && newstate != TCP_CLOSE)
		return 0;
	if (!sk->sk_bpf_storage)
		return 0;
	cs = bpf_sk_storage_get(&connections, (struct sock *)sk, 0, 0);
	if (!cs || !cs->target)
		return 0;
	connection_close(cs, (struct sock *)sk, bpf_ktime_get_ns());
	return 0;
}
