// SPDX-License-Identifier: MIT
/* Clearing a freed slot's entries from the shared maps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "slot_maps.h"

#define WORDS_OF(type) (sizeof(type) / sizeof(__u64))

/* Writes zeros for every CPU of a per-CPU array element. */
static int zero_percpu(int fd, __u32 index, size_t value_size, int cpu_count)
{
	void *zeros = calloc(cpu_count, value_size);
	int err = 0;

	if (!zeros)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, &index, zeros, BPF_EXIST))
		err = -errno;
	free(zeros);
	return err;
}

static int add_retired(int fd, __u32 slot, int cpu_count, struct target_counters *retired)
{
	__u64 *values = calloc(cpu_count, sizeof(struct target_counters));
	__u64 *sum = (__u64 *)retired;
	int cpu, err = 0;
	size_t i;

	if (!values)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &slot, values)) {
		err = -errno;
	} else {
		for (cpu = 0; cpu < cpu_count; cpu++)
			for (i = 0; i < WORDS_OF(*retired); i++)
				sum[i] += values[(size_t)cpu * WORDS_OF(*retired) + i];
	}
	free(values);
	return err;
}

/* Deletes the keys whose leading __u32 is `slot` (status and listener keys
 * both start with the target).  Collected first, deleted after: deleting
 * the key a hash walk stands on would restart the walk. */
static int delete_slot_keys(int fd, size_t key_size, __u32 slot)
{
	unsigned char *keys = NULL, *grown, next[64], current[64];
	size_t count = 0, capacity = 0, i;
	bool started = false;
	int err = 0;

	if (key_size > sizeof(next))
		return -E2BIG;
	while (bpf_map_get_next_key(fd, started ? current : NULL, next) == 0) {
		__u32 owner;

		memcpy(current, next, key_size);
		started = true;
		memcpy(&owner, next, sizeof(owner));
		if (owner != slot)
			continue;
		if (count == capacity) {
			capacity = capacity ? capacity * 2 : 64;
			grown = realloc(keys, capacity * key_size);
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			keys = grown;
		}
		memcpy(keys + count++ * key_size, next, key_size);
	}
	for (i = 0; i < count; i++)
		if (bpf_map_delete_elem(fd, keys + i * key_size) && errno != ENOENT)
			err = -errno;
	free(keys);
	return err;
}

int slot_maps_forget(const struct probe_maps *maps, int cpu_count, __u32 slot, struct target_counters *retired)
{
	int err;

	err = add_retired(maps->target_counters, slot, cpu_count, retired);
	if (!err)
		err = zero_percpu(maps->target_counters, slot, sizeof(struct target_counters), cpu_count);
	if (!err)
		err = delete_slot_keys(maps->request_durations, sizeof(struct method_key), slot);
	if (!err)
		err = zero_percpu(maps->queue_durations, slot, sizeof(struct latency_histogram), cpu_count);
	if (!err)
		err = delete_slot_keys(maps->requests_by_status, sizeof(struct status_key), slot);
	if (!err)
		err = delete_slot_keys(maps->listener_counters, sizeof(struct listener_key), slot);
	if (!err)
		err = delete_slot_keys(maps->route_events, sizeof(struct route_key), slot);
	return err;
}
