// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The floor of part 7 (bench/part_bpf_time.py): programs on the same four
 * hooks as runway-bpfd's, doing nothing.  Their run time per request is
 * what the hooks and BPF_ENABLE_STATS cost on this machine before any work:
 * the part of the BPF time no change to our programs can remove.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("cgroup_skb/ingress")
int floor_ingress(struct __sk_buff *skb)
{
	return 1; /* pass */
}

SEC("cgroup_skb/egress")
int floor_egress(struct __sk_buff *skb)
{
	return 1; /* pass */
}

SEC("tp_btf/tcp_rcv_space_adjust")
int BPF_PROG(floor_tcp_read, struct sock *sk)
{
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(floor_state, const struct sock *sk, const int oldstate, const int newstate)
{
	return 0;
}
