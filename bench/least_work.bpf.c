// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The second floor of part 7 (bench/part_bpf_time.py): the least any design
 * must do at these hooks to time each request exactly, with nothing else.
 * A request's arrival (ingress), its read by the server (the read hook) and
 * its answer (egress) each need the connection's state and a clock reading:
 * here, a socket's storage lookup and one bpf_ktime_get_ns() stored in it,
 * for packets with payload and for reads of sockets with storage, as
 * runway-bpfd's programs filter them.  No framing, no counting.  Loaded by
 * bench/empty_programs.c like the empty ones.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} last_event_ns SEC(".maps");

/* Whether an IPv4 TCP packet carries payload: the headers' lengths against
 * the packet's, read in place as runway-bpfd reads them. */
static __always_inline int has_payload(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data;
	struct tcphdr *tcp;

	if (skb->protocol != bpf_htons(0x0800) || (void *)(ip + 1) > data_end || ip->ihl < 5)
		return 0;
	tcp = data + ip->ihl * 4;
	if ((void *)(tcp + 1) > data_end)
		return 0;
	return skb->len > ip->ihl * 4 + tcp->doff * 4;
}

static __always_inline void stamp_packet(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	__u64 *ns;

	if (!sk || !has_payload(skb))
		return;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return;
	ns = bpf_sk_storage_get(&last_event_ns, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (ns)
		*ns = bpf_ktime_get_ns();
}

SEC("cgroup_skb/ingress")
int least_ingress(struct __sk_buff *skb)
{
	stamp_packet(skb);
	return 1; /* pass */
}

SEC("cgroup_skb/egress")
int least_egress(struct __sk_buff *skb)
{
	stamp_packet(skb);
	return 1; /* pass */
}

SEC("tp_btf/tcp_rcv_space_adjust")
int BPF_PROG(least_tcp_read, struct sock *sk)
{
	__u64 *ns;

	if (!sk->sk_bpf_storage)
		return 0;
	ns = bpf_sk_storage_get(&last_event_ns, sk, 0, 0);
	if (ns)
		*ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(least_state, const struct sock *sk, const int oldstate, const int newstate)
{
	return 0;
}
