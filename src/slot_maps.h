/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_SLOT_MAPS_H
#define RUNWAY_SLOT_MAPS_H

#include <linux/types.h>

#include "probes.h"
#include "runway_abi.h"

/*
 * Removes what the programs counted for one slot, once its target is gone
 * and its grace period over: its per-CPU counters and histograms read 0
 * again, its (method, status) and per-port entries leave their hash maps, so
 * the maps hold only live pods however many come and go.  The slot's
 * self-counters are first added to *retired.
 */
int slot_maps_forget(const struct probe_maps *maps, int cpu_count, __u32 slot, struct target_counters *retired);

#endif
