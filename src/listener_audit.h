/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_LISTENER_AUDIT_H
#define RUNWAY_LISTENER_AUDIT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "netns.h"
#include "target.h"

/*
 * Listeners of the target whose requests runway-bpfd cannot count, found so
 * that it can say so instead of reporting a silent 0:
 *
 * - a unix stream socket (uvicorn --uds): the cgroup programs see IP packets
 *   and the tracepoints TCP sockets; a unix socket carries neither;
 * - a TCP socket created in a cgroup outside the target (socket activation,
 *   uvicorn --fd): a socket belongs to the cgroup of the process that created
 *   it, and so do the connections it accepts, so the target's cgroup programs
 *   never see them.
 */
enum unwatchable_reason {
	UNWATCHABLE_UNIX_SOCKET,
	UNWATCHABLE_OTHER_CGROUP,
	UNWATCHABLE_REASON_COUNT,
};

#define LISTENER_AUDIT_MAX_REPORTED 256

struct listener_audit {
	struct netns_handles netns; /* a sock_diag socket of the audit's own */
	int netns_pid;              /* the process netns was opened from */
	unsigned counts[UNWATCHABLE_REASON_COUNT]; /* found by the last run */
	/* Socket inodes already reported: each is logged once. */
	unsigned long reported[LISTENER_AUDIT_MAX_REPORTED];
	size_t reported_count;
};

void listener_audit_init(struct listener_audit *a);
void listener_audit_close(struct listener_audit *a);

/* Looks at every listening socket of the target's processes now, logs each
 * unwatchable one the first time it is seen, and updates a->counts. */
void listener_audit_run(struct listener_audit *a, const struct target *t);

/* How many listening unix stream sockets are among `inodes` (sockets of the
 * processes of pid's network namespace); the first one's path (or
 * "@name" for an abstract one) goes into path. */
size_t listener_audit_unix_listeners(int pid, const unsigned long *inodes, size_t inode_count, char *path,
				     size_t size);

/* In runway_bpfd_listeners_unwatchable: a reason the daemon does not look
 * for (the node mode does not audit TCP listeners of other cgroups), so
 * that it is absent rather than a 0 that claims none. */
#define UNWATCHABLE_NOT_AUDITED UINT_MAX

extern const char *const unwatchable_reason_names[UNWATCHABLE_REASON_COUNT];

#endif
