/* SPDX-License-Identifier: MIT */
/*
 * Types shared by the BPF programs and the daemon: map keys and values, and
 * the limits that size the maps.  Both sides compile this file, so a layout is
 * described once; keys carry explicit padding so that the hash of a key never
 * depends on uninitialised bytes.
 */
#ifndef RUNWAY_ABI_H
#define RUNWAY_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#include "http_framing.h"
#include "latency_buckets.h"

/* Upper bound of the targets one daemon watches (pods of a node: the
 * kubelet's default limit is 110, --max-pods raises it).  The maps are sized
 * at load time for the targets actually configured (1 for --pid/--cgroup),
 * so this bound costs nothing by itself. */
#define RUNWAY_MAX_TARGETS 512

/* Distinct (method, status) combinations kept per target at once. */
#define RUNWAY_STATUS_SERIES_PER_TARGET 64

/* Listening ports per target. */
#define RUNWAY_PORTS_PER_TARGET 16

/* Cgroup ids that map to a target: each target's own directory and the
 * leaves below it that the daemon has seen (a pod's containers). */
#define RUNWAY_CGROUPS_PER_TARGET 8

/* Paths excluded from the metrics, the same for every target. */
#define RUNWAY_MAX_EXCLUDED_PATHS 64

/* A socket's target is found from its cgroup: the cgroup itself, or one of
 * its ancestors at most this many levels above it where targets sit. */
#define RUNWAY_TARGET_LEVELS 4

/* Excluded paths and route prefixes given on the command line are hashed
 * up to this many bytes. */
#define RUNWAY_REQUEST_LINE_MAX 255

/* Requests that may wait on one connection behind the one being answered
 * (HTTP/1.1 pipelining).  Past it the connection is no longer tracked and
 * says so (untracked, reason pipeline_too_deep). */
#define RUNWAY_PIPELINE_DEPTH 64

/* Connections whose first request came with the packet that completed the
 * handshake (an accept-queue overflow retried, TCP Fast Open), held until
 * the kernel makes their socket: per target, and at most RUNWAY_PENDING_MAX
 * on a node (an LRU map is allocated whole: 288 bytes an entry). */
#define RUNWAY_PENDING_PER_TARGET 256
#define RUNWAY_PENDING_MAX 4096

/* Status label of a request whose connection closed before any response. */
#define RUNWAY_STATUS_NONE 0

/* Phase of the request at the head of a connection: the one being answered. */
enum request_phase {
	PHASE_IDLE,      /* none: the last one is answered */
	PHASE_QUEUED,    /* arrived in the kernel, the server has not started on it */
	PHASE_IN_FLIGHT, /* read by the server (and its turn), not answered */
	PHASE_PROMOTING, /* becoming the head: held by one CPU for a moment */
};

/* Why a connection's requests stopped being tracked. */
enum untrack_reason {
	UNTRACK_NOT_HTTP,          /* first bytes are not an HTTP/1.x request line */
	UNTRACK_UPGRADED,          /* 101 Switching Protocols (WebSocket) */
	UNTRACK_DESYNC,            /* response bytes we could not frame */
	UNTRACK_PIPELINE_TOO_DEEP, /* more than RUNWAY_PIPELINE_DEPTH requests waiting */
	UNTRACK_REASON_COUNT,
};

/* Why a connection left the exact path: its requests are still counted, but
 * a request's begin or end is taken from the next request line or the
 * connection's close. */
enum inexact_reason {
	INEXACT_RESPONSE_HEAD_TOO_LONG, /* a response head over HTTP_HEAD_MAX */
	INEXACT_REQUEST_HEAD_TOO_LONG,  /* a request head over HTTP_HEAD_MAX */
	INEXACT_REQUEST_UNPARSABLE,     /* request bytes we could not frame */
	INEXACT_REQUEST_GAP,            /* request head bytes lost (reordered) */
	INEXACT_JOINED,                 /* claimed mid-stream (open before we started) */
	INEXACT_REASON_COUNT,
};

/* Requests whose bytes arrived but that the server never started on: not in
 * runway_requests_total. */
enum unserved_reason {
	UNSERVED_CLOSED,      /* the connection closed first (either side) */
	UNSERVED_AFTER_CLOSE, /* they arrived after the server had closed it */
	UNSERVED_REASON_COUNT,
};

/* One request on a connection, from its arrival to its end. */
struct request_info {
	__u64 arrival_ns; /* its first byte reached the kernel */
	__u32 start_seq;  /* sequence number of its first byte */
	__u8 method;      /* enum http_method */
	__u8 route;       /* route group + 1; 0 for none */
	__u8 flags;       /* REQUEST_* */
	__u8 pad;
};

#define REQUEST_EXCLUDED (1u << 0) /* its path is excluded: tracked, not counted */
#define REQUEST_JOINED (1u << 1)   /* under way when we claimed the connection */

/* Requests waiting behind the head, a ring indexed by conn_state.ring_*;
 * socket-local storage of its own, made only for connections that
 * pipeline. */
struct pipeline {
	struct request_info waiting[RUNWAY_PIPELINE_DEPTH];
};

/* Where a scan of one packet is, as offsets in the packet.  Kept in the map
 * value on purpose: the verifier does not track map values, so the states of
 * a loop over the packet converge instead of multiplying with every
 * possible position. */
struct scan_position {
	__u32 offset;        /* next byte to look at */
	__u32 end;           /* end of the payload */
	__u32 window_start;  /* packet offset of the bytes in the scan's window */
	__u32 window_length; /* bytes in the window */
	__u32 seq;           /* sequence number of packet offset 0 (wrapping) */
	__u32 pad;
};

/* Per-connection state, in socket-local storage: it lives and dies with the
 * socket, so a reused file descriptor never inherits a stale request.
 *
 * Who writes what: ingress (serialised per flow by the kernel's receive
 * path) owns `request`, `parsing`, `in` and pushes to the ring; egress
 * (serialised by the socket lock) owns `response`, `out`; the head and the
 * ring's take index change only by compare-and-swap, from either side or
 * the tracepoints.
 *
 * The fields are grouped by who writes them, because ingress, egress and
 * the read hook of one request usually run on different CPUs, and a cache
 * line written on one CPU costs the next CPU that reads it a transfer.  The
 * kernel puts a storage value 8 bytes into a cache line
 * (bpf_local_storage_data: the map pointer, then the value), so the first
 * 56 bytes, which every program reads and writes, are one line; ingress's
 * fields follow, then egress's, each written by its own side (but for the
 * read hook's early_read_ns, set only when a read beats a request line). */
struct conn_state {
	/* Every program's: one cache line. */
	__u32 phase;           /* enum request_phase of the head */
	__u32 target;          /* target slot + 1; 0 while unclaimed */
	__u32 flags;           /* CONN_* */
	__u32 head_generation; /* +1 whenever a request becomes the head */
	__u32 response_generation; /* the head the response parser was begun for */
	__u32 ring_head;       /* next waiting request to take */
	__u32 ring_tail;       /* next free place in the ring */
	__u32 pad;
	struct request_info head;
	__u64 read_ns;         /* the head became in flight */
	/* Ingress's. */
	__u32 rcv_next;        /* sequence number of the next unseen request byte */
	__u32 first_seq;       /* sequence number of the first request byte we saw */
	__u64 early_read_ns;   /* the server read the request being parsed before its line ended */
	struct request_info parsing; /* the request ingress is reading */
	struct scan_position in;
	struct http_parser request;
	/* The last request head the fast path framed: the next one is checked
	 * against it first (keep-alive; http_framing.h). */
	struct http_head_shape request_shape;
	/* Egress's: the shape first, whose first bytes change only when a
	 * response changes shape, next to the end of ingress's. */
	struct http_head_shape response_shape;
	__u32 snd_next;        /* sequence number of the next unseen response byte */
	__u32 coarse_status;   /* off the exact path: status of the head's response */
	struct scan_position out;
	struct http_parser response;
};

#define CONN_RCV_SYNCED (1u << 0)
#define CONN_SND_SYNCED (1u << 1)
#define CONN_UNTRACKED (1u << 3) /* stop looking at this connection */
#define CONN_CLOSED (1u << 4)
#define CONN_HTTP_SEEN (1u << 6) /* a valid request line was seen */
#define CONN_COARSE (1u << 7)    /* responses are no longer framed */
#define CONN_RESYNC (1u << 8)    /* ingress waits for a request line at a packet start */
#define CONN_PENDING (1u << 9)   /* state of a connection the kernel has not made yet */
#define CONN_LATE_SEEN (1u << 10) /* bytes after the server's close were counted */

/* A connection not made yet, by its addresses (the pending map's key). */
struct pending_key {
	__u8 family; /* AF_INET or AF_INET6 (the v4 fields of a v4-mapped socket) */
	__u8 pad;
	__u16 local_port;  /* host order */
	__u16 remote_port; /* network order */
	__u16 pad2;
	__u32 local[4];
	__u32 remote[4];
};

/* Per-target request counters of one route group. */
struct route_key {
	__u32 target;
	__u32 route; /* group index + 1 */
};

/*
 * The gauges are kept as counts and timestamp sums of the four events that
 * move them, per CPU:
 *
 *   queued    = arrived - read - abandoned
 *   in_flight = read - finished
 *
 * and a gauge's time integral is sum(its end times) - sum(its begin times)
 * + gauge * now.  Nothing is ever reset, so no interleaving of CPUs or scrapes
 * can make a gauge drift, and the integral is exact between events: unsigned
 * wrap-around cancels out as long as the true integral fits in 64 bits.  One
 * event per transition (a read ends queued and begins in flight) keeps the
 * atomic adds on the request path to two per transition.
 */
struct event_sum {
	__u64 count;
	__u64 ns_sum;
};

struct request_events {
	struct event_sum arrived;   /* request identified in the kernel */
	struct event_sum read;      /* the server's first read of it */
	struct event_sum finished;  /* answered, or closed, after being read */
	struct event_sum abandoned; /* closed (or answered) without a read seen */
};

struct target_counters {
	struct request_events requests;
	__u64 connections_opened;
	__u64 connections_closed;
	__u64 untracked[UNTRACK_REASON_COUNT];
	__u64 inexact[INEXACT_REASON_COUNT];
	__u64 unserved[UNSERVED_REASON_COUNT];
	__u64 joined;         /* requests under way at claim time: answered, not in requests_total */
	__u64 handshake_data; /* connections whose first request came with their handshake */
	__u64 storage_full;   /* a connection we could not give state to */
	__u64 requests_lost;  /* answered (or will be) but not in requests_total */
};

/* A listening port of a target.  Its entry in listener_counters also makes
 * the port a server port of the target: connections to it are claimed. */
struct listener_key {
	__u32 target;
	__u16 port;
	__u16 pad;
};

struct listener_counters {
	__u64 syns;      /* connection requests (SYN) that reached the socket */
	__u64 overflows; /* SYNs and handshake ACKs that met a full accept queue */
};

struct status_key {
	__u32 target;
	__u16 status;
	__u8 method;
	__u8 pad;
};

struct latency_histogram {
	__u64 buckets[LATENCY_BUCKET_COUNT]; /* not cumulative; the last is +Inf */
	__u64 sum_ns;
};

/* The histogram of one target and method: requests_durations key. */
struct method_key {
	__u32 target;
	__u32 method;
};

#endif /* RUNWAY_ABI_H */
