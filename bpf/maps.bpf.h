/* SPDX-License-Identifier: MIT */
/* The maps and load-time settings of the runway-bpfd programs.  One copy of
 * the object is loaded; its cgroup programs are attached to every target's
 * cgroup, and a socket's target (slot) is found from its cgroup id.
 *
 * Sizes: max_entries below are the compile-time bounds; the daemon sets the
 * real ones at load from the number of targets it is configured for, so a
 * single-target daemon does not pay for a node's worth of per-CPU memory. */
#ifndef RUNWAY_MAPS_BPF_H
#define RUNWAY_MAPS_BPF_H

#include "runway_abi.h"

/* Set by the daemon before load. */
/* 0 on kernels without a read hook (or --no-read-hook): no read is ever
 * seen, so a request is taken as read when it arrives (no queued metric). */
const volatile __u8 read_hook_enabled = 1;
/* Claim connections on every port a target listens on, learnt from the SYNs
 * its listening sockets receive; 0 with --port or --pid (fixed ports). */
const volatile __u8 learn_ports = 1;
/* Bit (hash & 63) set for the hash of each excluded path. */
const volatile __u64 excluded_hash_bits = 0;
/* Cgroup levels (the mount's root is 0) at which target cgroups sit. */
const volatile __u32 target_level_min = 1;
const volatile __u32 target_level_max = 1;
/* The route groups, the same for every target.  Not const: the framing code
 * reads it through a plain pointer, and the compiler may fold a read of a
 * const object through one to its initializer. */
struct http_route_table route_table = {};

/* Per-connection request state, freed by the kernel with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct conn_state);
} connections SEC(".maps");

/* Requests waiting behind the head, for connections that pipeline. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pipeline);
} pipelines SEC(".maps");

/* State of connections whose first request came with their handshake, until
 * the kernel makes their socket.  LRU: an entry whose socket never comes
 * (the client gave up) goes when room is needed. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RUNWAY_MAX_TARGETS * RUNWAY_PENDING_PER_TARGET);
	__type(key, struct pending_key);
	__type(value, struct conn_state);
} pending_connections SEC(".maps");

/* Cgroup id -> target slot. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RUNWAY_MAX_TARGETS * RUNWAY_CGROUPS_PER_TARGET);
	__type(key, __u64);
	__type(value, __u32);
} target_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RUNWAY_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct target_counters);
} target_counters SEC(".maps");

/* Per-CPU values are allocated per key, only for the (method, status)
 * pairs that occur: preallocating them would cost max_entries x CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RUNWAY_MAX_TARGETS * RUNWAY_STATUS_SERIES_PER_TARGET);
	__type(key, struct status_key);
	__type(value, __u64);
} requests_by_status SEC(".maps");

/* Server time (first read to last response byte), per target and method;
 * allocated for the methods that occur. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RUNWAY_MAX_TARGETS * HTTP_METHOD_COUNT);
	__type(key, struct method_key);
	__type(value, struct latency_histogram);
} request_durations SEC(".maps");

/* Kernel time (arrival to first read), per target. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RUNWAY_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct latency_histogram);
} queue_durations SEC(".maps");

/* The server ports of each target, with their listener counters.  An entry
 * exists for every port whose connections are claimed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RUNWAY_MAX_TARGETS * RUNWAY_PORTS_PER_TARGET);
	__type(key, struct listener_key);
	__type(value, struct listener_counters);
} listener_counters SEC(".maps");

/* Request events per target and route group, for the groups in use. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RUNWAY_MAX_TARGETS * HTTP_ROUTE_GROUPS_MAX);
	__type(key, struct route_key);
	__type(value, struct request_events);
} route_events SEC(".maps");

/* Zeros to create map entries from, never written: the largest value we
 * create is a conn_state, and a zeroed one on the stack would not fit. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct conn_state);
} zeros SEC(".maps");

static __always_inline void *zeroed_value(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&zeros, &zero);
}

/* Hashes of the excluded paths. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RUNWAY_MAX_EXCLUDED_PATHS);
	__type(key, __u64);
	__type(value, __u8);
} excluded_paths SEC(".maps");

#endif /* RUNWAY_MAPS_BPF_H */
