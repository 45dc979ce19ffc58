/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_NETNS_H
#define RUNWAY_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Handles into the target's network namespace, opened once at start: an open
 * /proc/PID/net file and a netlink socket keep the namespace they were made
 * in, so they stay valid whichever process of the target comes and goes. */
struct netns_handles {
	int netstat_fd;   /* /proc/PID/net/netstat */
	int sock_diag_fd; /* NETLINK_SOCK_DIAG socket in that namespace */
	/* NETNS_IPV4 | NETNS_IPV6: the families with listeners to dump; 0 for
	 * both.  A dump walks the node-wide listening hash, so a family with
	 * nothing to find is worth skipping. */
	unsigned listen_families;
};

#define NETNS_IPV4 (1u << 0)
#define NETNS_IPV6 (1u << 1)

int netns_open(struct netns_handles *h, int pid);

/* Tcp PassiveOpens of pid's network namespace (/proc/PID/net/snmp):
 * connections it has accepted so far.  0 or a negative errno. */
int netns_read_passive_opens(int pid, __u64 *out);

/* The identity (inode) of a process's network namespace, 0 if unknown. */
unsigned long netns_id_of(int pid);
void netns_close(struct netns_handles *h);

struct listen_overflow_counts {
	__u64 listen_overflows; /* TcpExt ListenOverflows */
	__u64 listen_drops;     /* TcpExt ListenDrops */
};

int netns_read_listen_counts(const struct netns_handles *h, struct listen_overflow_counts *out);

struct accept_queue {
	unsigned short port;
	__u32 depth; /* connections established, not accepted yet */
	__u32 limit; /* the listen() backlog, as the kernel clamped it */
};

/* Listening TCP sockets (IPv4 and IPv6) on the given ports, summed per port.
 * Returns how many entries of `out` were filled, or -1. */
int netns_read_accept_queues(const struct netns_handles *h, const unsigned short *ports, size_t port_count,
			     struct accept_queue *out, size_t max);

struct netns_listener {
	unsigned short port;
	unsigned family; /* NETNS_IPV4 or NETNS_IPV6 */
	__u32 inode;
	/* The cgroup the socket was created in (INET_DIAG_CGROUP_ID, sent for
	 * every full socket since Linux 5.7); 0 where the kernel does not say. */
	__u64 cgroup_id;
};

/* Every listening TCP socket (IPv4 and IPv6) of the namespace, through
 * sock_diag.  Returns how many entries of `out` were filled, or -1. */
int netns_list_listeners(const struct netns_handles *h, struct netns_listener *out, size_t max);

/* Whether two processes share a network namespace (a pod with
 * hostNetwork shares the node's, pid 1's). */
bool netns_is_shared_with(int pid, int other_pid);

#endif
