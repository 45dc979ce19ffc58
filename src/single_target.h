/* SPDX-License-Identifier: MIT */
#ifndef RUNWAY_SINGLE_TARGET_H
#define RUNWAY_SINGLE_TARGET_H

#include "options.h"

/* --pid and --cgroup: one target, series without labels.  Returns the exit
 * code. */
int single_target_run(const struct runway_options *opts);

#endif
