/* SPDX-License-Identifier: MIT */
/* The maps every runway-bpfd program shares.  One loaded copy of the object
 * owns them; the per-target copies reuse them (bpf_map__reuse_fd). */
#ifndef RUNWAY_MAPS_BPF_H
#define RUNWAY_MAPS_BPF_H

#include "runway_abi.h"

/* Set by the daemon before load, per copy of the object. */
const volatile __u32 target_slot = 0;
const volatile __u8 watch_all_ports = 0;
/* 0 on kernels without the sock_recv_length tracepoint: no read is ever
 * seen, so a request is taken as read when it arrives (no queued metric). */
const volatile __u8 read_hook_enabled = 1;
/* Bit (hash & 63) set for the hash of each excluded path of this target. */
const volatile __u64 excluded_hash_bits = 0;

/* Per-connection request state, freed by the kernel with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct conn_state);
} connections SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RUNWAY_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct target_counters);
} target_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, RUNWAY_MAX_STATUS_SERIES);
	__type(key, struct status_key);
	__type(value, __u64);
} requests_by_status SEC(".maps");

/* Server time (first read to last response byte), per target and method. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RUNWAY_MAX_TARGETS * HTTP_METHOD_COUNT);
	__type(key, __u32);
	__type(value, struct latency_histogram);
} request_durations SEC(".maps");

/* Kernel time (arrival to first read), per target. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RUNWAY_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct latency_histogram);
} queue_durations SEC(".maps");

/* Bitmap of watched local ports: word target * RUNWAY_PORT_WORDS + port / 64.
 * An array, not a hash: it is consulted for every packet of a socket we do
 * not track yet, and an array lookup is inlined by the verifier. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RUNWAY_MAX_TARGETS * RUNWAY_PORT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} watched_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, RUNWAY_MAX_LISTENERS);
	__type(key, struct listener_key);
	__type(value, struct listener_counters);
} listener_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RUNWAY_MAX_EXCLUDED_PATHS);
	__type(key, struct excluded_path_key);
	__type(value, __u8);
} excluded_paths SEC(".maps");

#endif /* RUNWAY_MAPS_BPF_H */
