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
#define RUNWAY_MAX_TARGETS 256

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

/* A request line longer than this is not parsed further: its path is not one
 * of the excluded paths and its method, if unfinished, is OTHER. */
#define RUNWAY_REQUEST_LINE_MAX 255

/* Status label of a request whose connection closed before any response. */
#define RUNWAY_STATUS_NONE 0

/* Phase of the request currently on a connection. */
enum request_phase {
	PHASE_IDLE,      /* no request, or the last one is answered */
	PHASE_LINE,      /* bytes arrived, request line not complete yet */
	PHASE_QUEUED,    /* arrived in the kernel, not read by the server */
	PHASE_IN_FLIGHT, /* read by the server, not answered */
};

/* Why a connection's requests stopped being tracked. */
enum untrack_reason {
	UNTRACK_NOT_HTTP,  /* first bytes are not an HTTP/1.x request line */
	UNTRACK_UPGRADED,  /* 101 Switching Protocols (WebSocket) */
	UNTRACK_DESYNC,    /* response bytes we could not frame */
	UNTRACK_TOO_LONG,  /* a response head longer than we parse per packet */
	UNTRACK_REASON_COUNT,
};

/* Per-connection state, in socket-local storage: it lives and dies with the
 * socket, so a reused file descriptor never inherits a stale request. */
struct conn_state {
	__u32 phase;         /* enum request_phase, changed with compare-and-swap */
	__u32 target;        /* target slot + 1; 0 while unclaimed */
	__u32 flags;         /* CONN_* */
	__u32 rcv_next;      /* sequence number of the next unseen request byte */
	__u32 snd_next;      /* sequence number of the next unseen response byte */
	__u32 request_seq;   /* sequence number of the current request's first byte */
	__u64 arrival_ns;    /* first byte of the request reached the kernel */
	__u64 read_ns;       /* the server first read the request */
	/* Where the egress parser is in its window.  Kept here, not on the
	 * stack, on purpose: the verifier does not track map values, so the
	 * bpf_loop callback's states converge instead of multiplying with every
	 * possible position (egress of one socket is serialised by its lock). */
	__u32 window_cursor;
	__u32 pad;
	struct http_request_line request;
	struct http_response_framing response;
};

#define CONN_RCV_SYNCED (1u << 0)
#define CONN_SND_SYNCED (1u << 1)
#define CONN_EXCLUDED (1u << 2)  /* the current request's path is excluded */
#define CONN_UNTRACKED (1u << 3) /* stop looking at this connection */
#define CONN_CLOSED (1u << 4)
#define CONN_READ_SEEN (1u << 5) /* read happened while the line was incomplete */
#define CONN_HTTP_SEEN (1u << 6) /* a valid request line was seen */

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
	__u64 storage_full;   /* a connection we could not give state to */
	__u64 status_series_full; /* a request not counted: status map full */
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
