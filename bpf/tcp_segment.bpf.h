/* SPDX-License-Identifier: MIT */
/* Where a TCP segment's payload is, as a cgroup_skb program sees the packet:
 * skb->data starts at the network header, in both directions. */
#ifndef RUNWAY_TCP_SEGMENT_BPF_H
#define RUNWAY_TCP_SEGMENT_BPF_H

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_NUM 6

struct tcp_segment {
	__u32 seq;            /* sequence number of the first payload byte */
	__u32 payload_offset;
	__u32 payload_length;
	__u8 syn;
	__u8 ack;
	__u8 fin;
	__u8 rst;
};

/* Returns 0 and fills *seg for a TCP packet, -1 otherwise.  The headers are
 * in the linear part of the skb in both directions, so they are read in
 * place (direct packet access) rather than copied out by a helper. */
static __always_inline int tcp_segment_parse(struct __sk_buff *skb, struct tcp_segment *seg)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 ip_length, tcp_length;
	struct tcphdr *tcp;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data;

		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_TCP_NUM)
			return -1;
		ip_length = ip->ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data;

		/* Extension headers before TCP are not used by TCP stacks;
		 * such packets are not ours to parse. */
		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP_NUM)
			return -1;
		ip_length = sizeof(*ip6);
	} else {
		return -1;
	}
	if (ip_length < sizeof(struct iphdr) || ip_length > 60)
		return -1;
	tcp = data + ip_length;
	if ((void *)(tcp + 1) > data_end)
		return -1;
	tcp_length = tcp->doff * 4;
	/* A SYN takes a sequence number before its data (TCP Fast Open). */
	seg->seq = bpf_ntohl(tcp->seq) + tcp->syn;
	seg->payload_offset = ip_length + tcp_length;
	seg->payload_length = skb->len > seg->payload_offset ? skb->len - seg->payload_offset : 0;
	seg->syn = tcp->syn;
	seg->ack = tcp->ack;
	seg->fin = tcp->fin;
	seg->rst = tcp->rst;
	return 0;
}

#define AF_INET_NUM 2
#define AF_INET6_NUM 10

/* The addresses of a packet for a listening socket, as the socket the
 * kernel will make for its connection will have them: the packet's
 * destination is the local side. */
static __always_inline int tcp_segment_pending_key(struct __sk_buff *skb, struct pending_key *key)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct tcphdr *tcp;

	__builtin_memset(key, 0, sizeof(*key));
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data;

		if ((void *)(ip + 1) > data_end)
			return -1;
		tcp = data + ip->ihl * 4;
		if (ip->ihl < 5 || (void *)(tcp + 1) > data_end)
			return -1;
		key->family = AF_INET_NUM;
		key->local[0] = ip->daddr;
		key->remote[0] = ip->saddr;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data;

		tcp = (void *)(ip6 + 1);
		if ((void *)(tcp + 1) > data_end)
			return -1;
		key->family = AF_INET6_NUM;
		__builtin_memcpy(key->local, &ip6->daddr, 16);
		__builtin_memcpy(key->remote, &ip6->saddr, 16);
	} else {
		return -1;
	}
	key->local_port = bpf_ntohs(tcp->dest);
	key->remote_port = tcp->source;
	return 0;
}

#endif /* RUNWAY_TCP_SEGMENT_BPF_H */
