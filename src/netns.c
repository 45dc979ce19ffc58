// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns.h"

#define TCP_LISTEN_STATE 10

struct socket_in_netns {
	int netns_fd;
	int socket_fd;
	int err;
};

/* setns() moves only the calling thread: do it on a thread of its own and
 * let the socket outlive it. */
static void *make_socket_in_netns(void *arg)
{
	struct socket_in_netns *job = arg;

	if (setns(job->netns_fd, CLONE_NEWNET)) {
		job->err = -errno;
		return NULL;
	}
	job->socket_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (job->socket_fd < 0)
		job->err = -errno;
	return NULL;
}

static bool same_netns(int pid)
{
	char path[64];
	struct stat self, other;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	return stat("/proc/self/ns/net", &self) == 0 && stat(path, &other) == 0 && self.st_ino == other.st_ino &&
	       self.st_dev == other.st_dev;
}

int netns_open(struct netns_handles *h, int pid)
{
	struct socket_in_netns job = { .netns_fd = -1, .socket_fd = -1 };
	pthread_t thread;
	char path[64];

	h->netstat_fd = -1;
	h->sock_diag_fd = -1;
	h->listen_families = 0;
	snprintf(path, sizeof(path), "/proc/%d/net/netstat", pid);
	h->netstat_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (h->netstat_fd < 0)
		return -errno;
	if (same_netns(pid)) {
		h->sock_diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
		return h->sock_diag_fd < 0 ? -errno : 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	job.netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (job.netns_fd < 0)
		return -errno;
	if (pthread_create(&thread, NULL, make_socket_in_netns, &job) == 0)
		pthread_join(thread, NULL);
	else
		job.err = -EAGAIN;
	close(job.netns_fd);
	h->sock_diag_fd = job.socket_fd;
	return job.err;
}

int netns_read_passive_opens(int pid, __u64 *out)
{
	char path[64], line[1024], names[1024] = "";
	int err = -ENODATA;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/snmp", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* "Tcp: RtoAlgorithm ... PassiveOpens ..." then "Tcp: 1 ... 42 ...". */
	while (fgets(line, sizeof(line), f)) {
		char *name_save = NULL, *value_save = NULL, *name, *value;

		if (strncmp(line, "Tcp:", 4) != 0)
			continue;
		if (!names[0]) {
			snprintf(names, sizeof(names), "%s", line + 4);
			continue;
		}
		name = strtok_r(names, " \n", &name_save);
		value = strtok_r(line + 4, " \n", &value_save);
		while (name && value) {
			if (strcmp(name, "PassiveOpens") == 0) {
				*out = strtoull(value, NULL, 10);
				err = 0;
			}
			name = strtok_r(NULL, " \n", &name_save);
			value = strtok_r(NULL, " \n", &value_save);
		}
		break;
	}
	fclose(f);
	return err;
}

unsigned long netns_id_of(int pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	return stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

void netns_close(struct netns_handles *h)
{
	if (h->netstat_fd >= 0)
		close(h->netstat_fd);
	if (h->sock_diag_fd >= 0)
		close(h->sock_diag_fd);
	h->netstat_fd = h->sock_diag_fd = -1;
}

/* /proc/net/netstat: pairs of lines, "TcpExt: Name1 Name2 ..." then
 * "TcpExt: 1 2 ...". */
int netns_read_listen_counts(const struct netns_handles *h, struct listen_overflow_counts *out)
{
	char buf[16384], *names = NULL, *values = NULL, *line, *save = NULL;
	char *name_save = NULL, *value_save = NULL, *name, *value;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	if (h->netstat_fd < 0)
		return -EBADF;
	n = pread(h->netstat_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "TcpExt:", 7) != 0)
			continue;
		if (!names) {
			names = line + 7;
		} else {
			values = line + 7;
			break;
		}
	}
	if (!names || !values)
		return -ENODATA;
	name = strtok_r(names, " ", &name_save);
	value = strtok_r(values, " ", &value_save);
	while (name && value) {
		if (strcmp(name, "ListenOverflows") == 0)
			out->listen_overflows = strtoull(value, NULL, 10);
		else if (strcmp(name, "ListenDrops") == 0)
			out->listen_drops = strtoull(value, NULL, 10);
		name = strtok_r(NULL, " ", &name_save);
		value = strtok_r(NULL, " ", &value_save);
	}
	return 0;
}

static int port_index(const unsigned short *ports, size_t count, unsigned short port)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (ports[i] == port)
			return i;
	return -1;
}

/* diag is followed by attr_len bytes of attributes. */
typedef void (*listener_fn)(void *ctx, const struct inet_diag_msg *diag, int attr_len);

/* Every listening TCP socket of one family in the namespace, through
 * sock_diag: it walks the listening hash only, where /proc/net/tcp walks
 * every bucket of the node-wide established hash (milliseconds on a large
 * machine, whatever the namespace holds). */
static int dump_listeners(int fd, int family, listener_fn fn, void *ctx)
{
	struct {
		struct nlmsghdr header;
		struct inet_diag_req_v2 request;
	} message = {
		.header = {
			.nlmsg_len = sizeof(message),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		},
		.request = {
			.sdiag_family = family,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = 1u << TCP_LISTEN_STATE,
		},
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	long buf[8192 / sizeof(long)];

	if (sendto(fd, &message, sizeof(message), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0)
			return -errno;
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -EPROTO;
			fn(ctx, NLMSG_DATA(h), (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(struct inet_diag_msg))));
		}
	}
}

struct queue_sums {
	const unsigned short *ports;
	size_t port_count;
	struct accept_queue *out;
};

static void add_queue(void *ctx, const struct inet_diag_msg *diag, int attr_len)
{
	struct queue_sums *sums = ctx;
	int index = port_index(sums->ports, sums->port_count, ntohs(diag->id.idiag_sport));

	(void)attr_len;
	if (index < 0)
		return;
	/* For a listener, rqueue is sk_ack_backlog and wqueue
	 * sk_max_ack_backlog (inet_diag.c). */
	sums->out[index].depth += diag->idiag_rqueue;
	sums->out[index].limit += diag->idiag_wqueue;
}

struct listener_list {
	struct netns_listener *out;
	size_t count, max;
};

static __u64 cgroup_id_of(const struct inet_diag_msg *diag, int attr_len)
{
	const struct rtattr *attr = (const struct rtattr *)(diag + 1);
	__u64 id = 0;

	for (; RTA_OK(attr, attr_len); attr = RTA_NEXT(attr, attr_len))
		if (attr->rta_type == INET_DIAG_CGROUP_ID && RTA_PAYLOAD(attr) >= (int)sizeof(id))
			memcpy(&id, RTA_DATA(attr), sizeof(id));
	return id;
}

static void add_listener(void *ctx, const struct inet_diag_msg *diag, int attr_len)
{
	struct listener_list *list = ctx;

	if (list->count < list->max)
		list->out[list->count++] = (struct netns_listener){
			.port = ntohs(diag->id.idiag_sport),
			.family = diag->idiag_family == AF_INET6 ? NETNS_IPV6 : NETNS_IPV4,
			.inode = diag->idiag_inode,
			.cgroup_id = cgroup_id_of(diag, attr_len),
		};
}

int netns_list_listeners(const struct netns_handles *h, struct netns_listener *out, size_t max)
{
	struct listener_list list = { .out = out, .max = max };
	int err;

	if (h->sock_diag_fd < 0)
		return -1;
	err = dump_listeners(h->sock_diag_fd, AF_INET, add_listener, &list);
	if (!err)
		err = dump_listeners(h->sock_diag_fd, AF_INET6, add_listener, &list);
	return err ? -1 : (int)list.count;
}

int netns_read_accept_queues(const struct netns_handles *h, const unsigned short *ports, size_t port_count,
			     struct accept_queue *out, size_t max)
{
	struct queue_sums sums = { .ports = ports, .out = out };
	size_t i;
	int err = 0;

	if (h->sock_diag_fd < 0)
		return -1;
	if (port_count > max)
		port_count = max;
	if (port_count == 0)
		return 0;
	sums.port_count = port_count;
	for (i = 0; i < port_count; i++) {
		out[i].port = ports[i];
		out[i].depth = 0;
		out[i].limit = 0;
	}
	if (!h->listen_families || (h->listen_families & NETNS_IPV4))
		err = dump_listeners(h->sock_diag_fd, AF_INET, add_queue, &sums);
	if (!err && (!h->listen_families || (h->listen_families & NETNS_IPV6)))
		err = dump_listeners(h->sock_diag_fd, AF_INET6, add_queue, &sums);
	return err ? -1 : (int)port_count;
}

bool netns_is_shared_with(int pid, int other_pid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat(path, &a))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", other_pid);
	return stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}
